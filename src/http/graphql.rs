//! GraphQL over HTTP: `POST /graphql` for everything, `GET /graphql` for queries only (or a
//! WebSocket upgrade, see `ws`). Every request must carry `Authorization: Bearer <jwt>`.

use async_graphql::parser::types::OperationType;
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Http;
use crate::error::AppError;
use crate::http::auth;
use crate::service::viewer::Viewer;

pub async fn post(
    State(http): State<Http>,
    headers: HeaderMap,
    request: Result<GraphQLRequest, GraphQLRejection>,
) -> Response {
    match request {
        Ok(request) => execute(&http, &headers, request.into_inner()).await,
        Err(rejection) => bad_request(rejection),
    }
}

/// A body that is not a GraphQL request answers a GraphQL-shaped VALIDATION error.
fn bad_request(rejection: GraphQLRejection) -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        &format!("the request is not a GraphQL request: {}", rejection.0),
        "VALIDATION",
    )
}

/// `GET /graphql`: a WebSocket upgrade (subscriptions, see `ws`), or a query.
pub async fn get(State(http): State<Http>, req: Request) -> Response {
    if super::ws::is_upgrade(&req) {
        return super::ws::upgrade(http, req).await;
    }
    let headers = req.headers().clone();
    match GraphQLRequest::<GraphQLRejection>::from_request(req, &http).await {
        Ok(request) => get_query(&http, &headers, request.into_inner()).await,
        Err(rejection) => bad_request(rejection),
    }
}

/// Queries only: a mutation or subscription over GET is refused (GET must be safe to repeat).
async fn get_query(http: &Http, headers: &HeaderMap, request: async_graphql::Request) -> Response {
    if let Ok(doc) = async_graphql::parser::parse_query(&request.query) {
        let op = match &request.operation_name {
            Some(name) => doc
                .operations
                .iter()
                .find(|(n, _)| n.map(|n| n.as_str()) == Some(name.as_str()))
                .map(|(_, o)| o.node.ty),
            None => doc.operations.iter().next().map(|(_, o)| o.node.ty),
        };
        if matches!(
            op,
            Some(OperationType::Mutation | OperationType::Subscription)
        ) {
            return error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "mutations and subscriptions are not allowed over GET; use POST",
                "VALIDATION",
            );
        }
    }
    execute(http, headers, request).await
}

async fn execute(http: &Http, headers: &HeaderMap, request: async_graphql::Request) -> Response {
    let viewer = match viewer_from_headers(http, headers).await {
        Ok(v) => v,
        Err(e) => return unauthenticated(&e),
    };
    if let Some(limiter) = &http.state.limiter
        && limiter.check_key(&(viewer.org_id, viewer.user_id)).is_err()
    {
        let mut response = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "rate limited: too many requests for this token; retry shortly",
            "RATE_LIMITED",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    }
    GraphQLResponse::from(
        crate::graphql::execute_as(&http.schema, &http.state, viewer, request).await,
    )
    .into_response()
}

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
