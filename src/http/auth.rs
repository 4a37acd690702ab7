//! Authentication at the edge: the bearer credential of a request becomes its `Viewer`. A
//! credential is a signed JWT (`crate::jwt`) whose user must exist in its organization and be
//! active, or an API client's secret (`service::api_client`).

use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::viewer::Viewer;

/// Extracts the token from an `Authorization` header value (`Bearer <jwt>`, case-insensitive).
pub fn bearer(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// Verifies a bearer credential: an API client's secret, or a JWT whose user exists in its
/// organization and is active.
pub async fn authenticate(state: &crate::state::AppState, token: &str) -> AppResult<Viewer> {
    if crate::service::api_client::is_secret(token) {
        return crate::service::api_client::authenticate(state, token).await;
    }
    let claims = state.jwt.verify(token)?;
    let org_id = Uuid::parse_str(&claims.org)
        .map_err(|_| AppError::Unauthenticated("the token's organization is malformed".into()))?;
    let user_id = Uuid::parse_str(&claims.sub)
        .map_err(|_| AppError::Unauthenticated("the token's subject is malformed".into()))?;
    let found =
        crate::service::authz::load_viewer(&state.db.read, org_id, user_id, claims.role).await?;
    match found {
        Some((viewer, true)) => Ok(viewer),
        Some((_, false)) => Err(AppError::Unauthenticated(
            "the token's user is deactivated".into(),
        )),
        None => Err(AppError::Unauthenticated(
            "the token's user does not exist in its organization".into(),
        )),
    }
}
