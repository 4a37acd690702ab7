//! Organizations (tenants) and their first OWNER.

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Action, Actor};
use crate::service::{sql, user, validate};
use crate::state::AppState;
use crate::vals;
use entity::{organization, user as user_entity};

pub struct CreatedOrg {
    pub org: organization::Model,
    pub owner: user_entity::Model,
}

/// Creates an organization with one user, its owner (the CLI's `create-org`).
pub async fn create(
    state: &AppState,
    name: &str,
    owner_email: &str,
    owner_name: &str,
) -> AppResult<CreatedOrg> {
    let now = state.clock.now().timestamp_micros();
    let tx = state.db.write.begin().await?;
    let created = create_in(&tx, now, name, owner_email, owner_name, false).await?;
    tx.commit().await?;
    Ok(created)
}

pub async fn create_in(
    conn: &impl ConnectionTrait,
    now: i64,
    name: &str,
    owner_email: &str,
    owner_name: &str,
    demo: bool,
) -> AppResult<CreatedOrg> {
    let name = validate::name("name", name)?;
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO organizations (id, name, demo, write_seq, created_at) VALUES ($1, $2, $3, 0, $4)",
        vals![id, name.clone(), demo, now],
    )
    .await?;
    let system = Actor::system();
    audit::record(
        conn,
        audit::Entry {
            org_id: id,
            at: now,
            actor: &system,
            action: Action::OrganizationCreated,
            subject_type: "ORGANIZATION",
            subject_id: Some(id),
            before: None,
            after: Some(json!({ "id": id, "name": name })),
        },
    )
    .await?;
    let owner = user::create_in(
        conn,
        id,
        &system,
        now,
        user::NewUser {
            email: owner_email.to_string(),
            name: owner_name.to_string(),
            job_title: Some("Owner".into()),
            ..Default::default()
        },
    )
    .await?;
    let org = find(conn, id)
        .await?
        .ok_or_else(|| AppError::internal("new organization vanished"))?;
    Ok(CreatedOrg { org, owner })
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<organization::Model>> {
    sql::one(conn, "SELECT * FROM organizations WHERE id = $1", vals![id]).await
}
