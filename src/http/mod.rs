//! The HTTP edge: routes, middleware (request ids, tracing, body limit, timeout) and the
//! authentication extractor. GraphQL itself lives in `graphql/`.

pub mod auth;
pub mod cors;
mod explorer;
mod graphql;
mod health;
pub mod persisted;
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
        .fallback(health::not_found)
        .with_state(http)
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(settings.request_timeout_secs),
        ))
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
        .layer(tower::util::option_layer(cors::layer(&settings.cors_origins)))
        .layer(axum::middleware::map_response(cors::strip_when_refused))
}
