//! What every route of the edge answers alike: the viewer of a request's bearer credential, the
//! refusal of a credential (401 with `UNAUTHENTICATED`), and GraphQL-shaped error bodies.

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Http;
use crate::error::AppError;
use crate::http::auth;
use crate::service::viewer::Viewer;

pub(super) async fn viewer_from_headers(
    http: &Http,
    headers: &HeaderMap,
) -> Result<Viewer, AppError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        AppError::Unauthenticated("a bearer token is required (Authorization: Bearer <jwt>)".into())
    })?;
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthenticated("the Authorization header is malformed".into()))?;
    let token = auth::bearer(value).ok_or_else(|| {
        AppError::Unauthenticated("the Authorization header must be 'Bearer <jwt>'".into())
    })?;
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(auth::authenticate(&http.state, token)
        .await?
        .with_request_id(request_id))
}

pub(super) fn unauthenticated(err: &AppError) -> Response {
    let message = match err {
        AppError::Unauthenticated(m) => m.clone(),
        AppError::Internal(cause) => {
            tracing::error!(error = %cause, "authentication failed");
            "internal error".into()
        }
        other => other.message(),
    };
    let code = if matches!(err, AppError::Internal(_)) {
        "INTERNAL"
    } else {
        "UNAUTHENTICATED"
    };
    let status = if code == "INTERNAL" {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::UNAUTHORIZED
    };
    let mut response = error_response(status, &message, code);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// A GraphQL-shaped error body, so clients read `errors[0].extensions.code` as usual.
pub(super) fn error_response(status: StatusCode, message: &str, code: &str) -> Response {
    (
        status,
        Json(json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })),
    )
        .into_response()
}
