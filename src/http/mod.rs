//! The HTTP edge: routes, middleware (request ids, tracing, body limit, timeout) and the
//! authentication extractor. GraphQL itself lives in `graphql/`.

pub mod auth;
pub mod cors;
mod explorer;
mod graphql;
mod health;
mod observe;
pub mod persisted;
mod reply;
mod ws;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::graphql::{AppSchema, build_schema};
use crate::state::AppState;

/// What the handlers share: the application state and the executable schema.
#[derive(Clone)]
pub struct Http {
    pub state: AppState,
    pub schema: AppSchema,
    /// Documents of automatic persisted queries (see `persisted`).
    pub persisted: std::sync::Arc<persisted::Persisted>,
}

/// Why the GraphiQL explorer's assets are not embedded in this build ("" when they are).
pub fn explorer_missing() -> &'static str {
    explorer::MISSING
}

/// The whole application as an axum router.
pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let http = Http {
        schema: build_schema(&settings),
        persisted: std::sync::Arc::new(persisted::Persisted::new(settings.persisted_queries)),
        state,
    };
    Router::new()
        .route("/", get(explorer::page))
        .route("/explorer/{file}", get(explorer::asset))
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(observe::metrics))
        .fallback(health::not_found)
        .route_layer(axum::middleware::from_fn(observe::count))
        .with_state(http)
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(settings.request_timeout_secs),
        ))
        // Refusals made by the layers below (413 body too large, 408 timeout) answer with a
        // GraphQL-shaped JSON body like every other error.
        .layer(axum::middleware::map_response(shaped_refusal))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // A client's request id is kept only when it is short and plain; otherwise the server
        // makes one (it is stored in the audit log and printed in logs).
        .layer(axum::middleware::map_request(screen_request_id))
        .layer(tower::util::option_layer(cors::layer(&settings.cors_origins)))
        .layer(axum::middleware::map_response(cors::strip_when_refused))
}

/// The longest client request id kept.
pub const MAX_REQUEST_ID: usize = 64;

/// Whether a client's `X-Request-Id` is kept: 1 to 64 characters of `A-Z a-z 0-9 - _ . :`.
pub fn acceptable_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

async fn screen_request_id(mut req: axum::extract::Request) -> axum::extract::Request {
    let bad = req
        .headers()
        .get_all("x-request-id")
        .iter()
        .enumerate()
        .any(|(i, v)| i > 0 || !acceptable_request_id(v.as_bytes()));
    if bad {
        req.headers_mut().remove("x-request-id");
    }
    req
}

async fn shaped_refusal(response: axum::response::Response) -> axum::response::Response {
    use axum::http::StatusCode;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        return response;
    }
    let (message, code) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "the request body is larger than the server accepts (--max-body-bytes)",
            "VALIDATION",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "the request took longer than the server allows (--request-timeout); ask for less",
            "INTERNAL",
        ),
        StatusCode::TOO_MANY_REQUESTS => ("rate limited; retry shortly", "RATE_LIMITED"),
        _ => return response,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let body = reply::error_response(status, message, code).into_body();
    parts.headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    axum::response::Response::from_parts(parts, body)
}
