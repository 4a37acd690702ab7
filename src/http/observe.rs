//! Operations: `/metrics` in the Prometheus text format (`crate::measure`), and the middleware
//! that counts and times every request by its route.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::Http;

/// `GET /metrics`: with `--metrics-token`, only for `Authorization: Bearer <that token>`.
pub async fn metrics(State(http): State<Http>, headers: HeaderMap) -> Response {
    if let Some(expected) = &http.state.settings.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(super::auth::bearer)
            .unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need the metrics token",
            )
                .into_response();
        }
    }
    crate::measure::event_bus_feeds(http.state.events.live_feeds());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::measure::render(&http.state.db),
    )
        .into_response()
}

/// Counts and times a request under its route's pattern (`/graphql`, `/explorer/{file}` …). It
/// is a route layer: what no route matches is not counted, so a scanner cannot mint series.
pub async fn count(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    crate::measure::http_request(route, response.status().as_u16(), started.elapsed());
    response
}
