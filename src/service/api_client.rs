//! API clients: a partner's own credential (DESIGN.md, "Who acts"). OWNER and ADMIN create,
//! rotate and revoke them; a client authenticates with `Authorization: Bearer <secret>` and acts
//! only within its scopes (`authz`).
//!
//! A secret is `sgk_` + the client's id + 32 random bytes; it is shown once and stored as its
//! SHA-256 (the secret is random, so a fast hash is as good as a slow one), compared in constant
//! time. A rotated-out secret keeps working for 24 hours. `lastUsedAt` is written at most once a
//! minute, not on every request.

use base64::Engine;
use sea_orm::ConnectionTrait;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::{Action, Subject, SubjectType};
use crate::service::authz::{self, Named, Permission};
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::viewer::{ApiScope, Viewer};
use crate::service::{rows, sql, validate};
use crate::vals;
use entity::api_client;

pub type ApiClient = api_client::Model;

/// How long a rotated-out secret keeps working.
pub const ROTATION_OVERLAP_MICROS: i64 = 24 * 3600 * 1_000_000;

/// `lastUsedAt` is refreshed when it is older than this.
const LAST_USED_GRANULARITY_MICROS: i64 = 60 * 1_000_000;

const PREFIX: &str = "sgk_";

/// Whether a bearer credential is an API client's secret (rather than a JWT).
pub fn is_secret(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// The scopes of a stored client.
pub fn scopes(client: &ApiClient) -> Vec<ApiScope> {
    serde_json::from_str::<Vec<String>>(&client.scopes)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// A client and its secret, shown this once.
pub struct WithSecret {
    pub client: ApiClient,
    pub secret: String,
}

fn new_secret(id: Uuid) -> AppResult<String> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| AppError::internal(format!("no randomness: {e}")))?;
    Ok(format!(
        "{PREFIX}{}_{}",
        id.simple(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
    ))
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn snapshot(c: &ApiClient) -> serde_json::Value {
    let scopes: Vec<&str> = scopes(c).into_iter().map(ApiScope::as_str).collect();
    json!({ "id": c.id, "name": c.name, "scopes": scopes, "revokedAt": c.revoked_at })
}

fn check_scopes(list: &[ApiScope]) -> AppResult<Vec<ApiScope>> {
    let mut out = list.to_vec();
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(AppError::validation(
            "scopes",
            "an API client needs at least one scope",
        ));
    }
    Ok(out)
}

fn scopes_json(list: &[ApiScope]) -> String {
    json!(list.iter().map(|s| s.as_str()).collect::<Vec<_>>()).to_string()
}

/// Creates a client with `scopes`. OWNER and ADMIN.
pub async fn create(
    env: &Env,
    viewer: &Viewer,
    name: &str,
    scopes: &[ApiScope],
) -> AppResult<WithSecret> {
    let authority = Authority::requires(Permission::ManageIntegrations, []);
    let (made, _) = unit::run(env, viewer, authority, async |w| {
        let name = validate::name("name", name)?;
        let scopes = check_scopes(scopes)?;
        let id = Uuid::now_v7();
        let secret = new_secret(id)?;
        sql::exec(
            w,
            "INSERT INTO api_clients (id, org_id, name, scopes, secret_hash, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vals![
                id,
                w.org_id,
                name,
                scopes_json(&scopes),
                hash(&secret),
                w.now,
                w.actor.user_id()
            ],
        )
        .await?;
        let client = w
            .read_back::<api_client::Entity>(id, Action::ApiClientCreated, Subject::new(SubjectType::ApiClient, id), None, snapshot)
            .await?;
        Ok(WithSecret { client, secret })
    })
    .await?;
    Ok(made)
}

/// The organization's clients, newest first (revoked ones included). OWNER and ADMIN.
pub async fn list(conn: &impl ConnectionTrait, viewer: &Viewer) -> AppResult<Vec<ApiClient>> {
    authz::require(viewer, Permission::ManageIntegrations)?;
    sql::all(
        conn,
        "SELECT * FROM api_clients WHERE org_id = $1 ORDER BY created_at DESC, id DESC",
        vals![viewer.org_id],
    )
    .await
}

/// One client, for OWNER and ADMIN; another organization's id is None whatever the role (the
/// refusal rule: what the viewer's organization does not hold is not found, not forbidden).
pub async fn get(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Option<ApiClient>> {
    let Some(client) = rows::find::<api_client::Entity>(conn, viewer.org_id, id).await? else {
        return Ok(None);
    };
    authz::require(viewer, Permission::ManageIntegrations)?;
    Ok(Some(client))
}

async fn live(w: &Write, id: Uuid) -> AppResult<ApiClient> {
    let client = rows::require::<api_client::Entity>(w, w.org_id, id).await?;
    if client.revoked_at.is_some() {
        return Err(AppError::validation(
            "id",
            "the API client is revoked; create a new one",
        ));
    }
    Ok(client)
}

/// Revokes a client: its secrets stop working at once. Revoking it again changes nothing.
pub async fn revoke(env: &Env, viewer: &Viewer, id: Uuid) -> AppResult<ApiClient> {
    let authority = Authority::requires(Permission::ManageIntegrations, [Named::ApiClient(id)]);
    let (client, _) = unit::run(env, viewer, authority, async |w| {
        let before = rows::require::<api_client::Entity>(w, w.org_id, id).await?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        sql::exec(
            w,
            "UPDATE api_clients SET revoked_at = $1 WHERE id = $2",
            vals![w.now, id],
        )
        .await?;
        // Its open WebSockets end when this commits.
        w.end_sessions(id);
        let after = w
            .read_back::<api_client::Entity>(
                id,
                Action::ApiClientRevoked,
                Subject::new(SubjectType::ApiClient, id),
                Some(snapshot(&before)),
                snapshot,
            )
            .await?;
        Ok(after)
    })
    .await?;
    Ok(client)
}

/// Gives a client a new secret; the old one keeps working for 24 hours, then stops.
pub async fn rotate(env: &Env, viewer: &Viewer, id: Uuid) -> AppResult<WithSecret> {
    let authority = Authority::requires(Permission::ManageIntegrations, [Named::ApiClient(id)]);
    let (made, _) = unit::run(env, viewer, authority, async |w| {
        let before = live(w, id).await?;
        let secret = new_secret(id)?;
        sql::exec(
            w,
            "UPDATE api_clients SET previous_secret_hash = secret_hash, previous_until = $1, \
             secret_hash = $2, rotated_at = $3 WHERE id = $4",
            vals![w.now + ROTATION_OVERLAP_MICROS, hash(&secret), w.now, id],
        )
        .await?;
        let client = rows::require::<api_client::Entity>(w, w.org_id, id).await?;
        w.audit(
            Action::ApiClientSecretRotated,
            Subject::new(SubjectType::ApiClient, id),
            Some(snapshot(&before)),
            Some(json!({ "previousSecretUntil": client.previous_until })),
        )
        .await?;
        Ok(WithSecret { client, secret })
    })
    .await?;
    Ok(made)
}

/// The viewer a client's secret stands for, at `now`: UNAUTHENTICATED for a malformed, unknown,
/// revoked or rotated-out secret (all alike, so a refusal says nothing of which).
pub async fn authenticate(env: &Env, secret: &str) -> AppResult<Viewer> {
    let refused = || AppError::Unauthenticated("the API client secret is not valid".into());
    let rest = secret.strip_prefix(PREFIX).ok_or_else(refused)?;
    let (id, _) = rest.split_once('_').ok_or_else(refused)?;
    let id = Uuid::try_parse(id).map_err(|_| refused())?;
    let found: Option<ApiClient> = sql::one(
        &env.db.read,
        "SELECT * FROM api_clients WHERE id = $1",
        vals![id],
    )
    .await?;
    let client = found.ok_or_else(refused)?;
    let now = env.now_micros();
    let given = hash(secret);
    let current = given.as_bytes().ct_eq(client.secret_hash.as_bytes());
    let previous = match (&client.previous_secret_hash, client.previous_until) {
        (Some(h), Some(until)) if until > now => given.as_bytes().ct_eq(h.as_bytes()),
        _ => subtle::Choice::from(0),
    };
    if client.revoked_at.is_some() || !bool::from(current | previous) {
        return Err(refused());
    }
    if client
        .last_used_at
        .is_none_or(|t| t < now - LAST_USED_GRANULARITY_MICROS)
    {
        // One statement, no change of the organization's: not audited, not a unit of work.
        sql::exec(
            &env.db.write,
            "UPDATE api_clients SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
            vals![now, id, now - LAST_USED_GRANULARITY_MICROS],
        )
        .await?;
    }
    Ok(Viewer::client(client.org_id, client.id, scopes(&client)))
}
