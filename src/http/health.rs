//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::Http;

pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

pub async fn readyz(State(http): State<Http>) -> impl IntoResponse {
    if http.state.db.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

pub async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "not found")
}
