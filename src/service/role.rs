//! Roles (jobs). This module holds their minimal form — name and description — and the primary
//! role of a user, so rules can target roles.

use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Action, Actor};
use crate::service::authz::{self, Permission};
use crate::service::engine::{Outcome, Scope};
use crate::service::validate;
use crate::service::{now_micros, sql, tx, user};
use crate::state::AppState;
use crate::vals;
use entity::{role, user as user_entity};

pub async fn create(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    description: Option<&str>,
) -> AppResult<role::Model> {
    authz::require(viewer, Permission::EditCatalog)?;
    let now = now_micros(state);
    let tx = tx::begin(state, viewer.org_id).await?;
    let role = create_in(
        &tx,
        viewer.org_id,
        &Actor::user(viewer),
        now,
        name,
        description,
    )
    .await?;
    tx.commit().await?;
    Ok(role)
}

pub async fn create_in(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    actor: &Actor,
    now: i64,
    name: &str,
    description: Option<&str>,
) -> AppResult<role::Model> {
    let name = validate::name("name", name)?;
    let description = validate::optional_text("description", description)?;
    let name_norm = name.to_lowercase();
    let taken = sql::scalar_i64(
        conn,
        "SELECT COUNT(*) FROM roles WHERE org_id = $1 AND name_norm = $2",
        vals![org_id, name_norm.clone()],
    )
    .await?;
    if taken > 0 {
        return Err(AppError::conflict(format!(
            "a role named '{name}' already exists"
        )));
    }
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO roles (id, org_id, name, name_norm, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        vals![id, org_id, name, name_norm, description, now],
    )
    .await?;
    let role = require(conn, org_id, id).await?;
    audit::record(
        conn,
        audit::Entry {
            org_id,
            at: now,
            actor,
            action: Action::RoleCreated,
            subject_type: "ROLE",
            subject_id: Some(id),
            before: None,
            after: Some(
                json!({ "id": role.id, "name": role.name, "description": role.description }),
            ),
        },
    )
    .await?;
    Ok(role)
}

/// Sets (or with `None` clears) a user's primary role.
pub async fn set_primary(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    role_id: Option<Uuid>,
) -> AppResult<(user_entity::Model, Outcome)> {
    authz::require(viewer, Permission::ManageOrg)?;
    let now = now_micros(state);
    let tx = tx::begin(state, viewer.org_id).await?;
    let user = set_primary_in(
        &tx,
        viewer.org_id,
        &Actor::user(viewer),
        now,
        user_id,
        role_id,
    )
    .await?;
    let id_for_audit = user_id;
    let outcome = crate::service::engine::reconcile(
        &tx,
        &crate::service::engine::Ctx::new(
            viewer.org_id,
            now,
            &Actor::user(viewer),
            "USER",
            Some(id_for_audit),
        ),
        Scope::Users(vec![user_id]),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok((user, outcome))
}

pub async fn set_primary_in(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    actor: &Actor,
    now: i64,
    user_id: Uuid,
    role_id: Option<Uuid>,
) -> AppResult<user_entity::Model> {
    let before = user::require_user(conn, org_id, user_id, "user").await?;
    if let Some(r) = role_id {
        require(conn, org_id, r).await?;
    }
    if before.primary_role_id == role_id {
        return Ok(before);
    }
    sql::exec(
        conn,
        "UPDATE users SET primary_role_id = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
        vals![role_id, now, user_id, org_id],
    )
    .await?;
    let after = user::require_user(conn, org_id, user_id, "user").await?;
    audit::record(
        conn,
        audit::Entry {
            org_id,
            at: now,
            actor,
            action: Action::PrimaryRoleSet,
            subject_type: "USER",
            subject_id: Some(user_id),
            before: Some(json!({ "primaryRoleId": before.primary_role_id })),
            after: Some(json!({ "primaryRoleId": after.primary_role_id })),
        },
    )
    .await?;
    Ok(after)
}

pub async fn find(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<Option<role::Model>> {
    sql::one(
        conn,
        "SELECT * FROM roles WHERE id = $1 AND org_id = $2",
        vals![id, org_id],
    )
    .await
}

pub async fn require(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<role::Model> {
    find(conn, org_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("role"))
}

pub async fn find_many(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &[Uuid],
) -> AppResult<Vec<role::Model>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut values: Vec<Value> = vals![org_id];
    values.extend(ids.iter().map(|id| Value::from(*id)));
    sql::all(
        conn,
        &format!(
            "SELECT * FROM roles WHERE org_id = $1 AND id IN ({})",
            sql::placeholders(2, ids.len())
        ),
        values,
    )
    .await
}

/// Roles by name, optionally filtered by a case-insensitive search.
pub async fn list(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    search: Option<&str>,
) -> AppResult<Vec<role::Model>> {
    let mut text = "SELECT * FROM roles WHERE org_id = $1".to_string();
    let mut values: Vec<Value> = vals![org_id];
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = search
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        values.push(format!("%{escaped}%").into());
        text.push_str(" AND name_norm LIKE $2 ESCAPE '\\'");
    }
    text.push_str(" ORDER BY name_norm, id");
    sql::all(conn, &text, values).await
}
