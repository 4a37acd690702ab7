//! Organizations (tenants) and their first OWNER.

use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult, UniqueIndex};
use crate::service::audit::{Action, Subject};
use crate::service::unit::{self, Env, Write};
use crate::service::{sql, user, validate};
use crate::vals;
use entity::{organization, user as user_entity};

/// Only one demo organization exists (two servers seeding at once: one wins).
const DEMO_EXISTS: UniqueIndex = UniqueIndex {
    name: "ux_organizations_demo",
    columns: "organizations.demo",
    message: "the demo organization exists already",
};

pub struct CreatedOrg {
    pub org: organization::Model,
    pub owner: user_entity::Model,
}

/// Creates an organization with one user, its owner (the CLI's `create-org`).
pub async fn create(
    env: &Env,
    name: &str,
    owner_email: &str,
    owner_name: &str,
) -> AppResult<CreatedOrg> {
    found(env, name, false, async |w, org| {
        let owner = owner_in(w, owner_email, owner_name).await?;
        Ok(CreatedOrg { org, owner })
    })
    .await
}

/// Founds an organization named `name` and makes `then` in it as the system, in one
/// transaction: the organization's row, its audit event, then whatever `then` adds.
pub async fn found<T>(
    env: &Env,
    name: &str,
    demo: bool,
    then: impl AsyncFnOnce(&Write, organization::Model) -> AppResult<T>,
) -> AppResult<T> {
    let name = validate::name("name", name)?;
    let id = Uuid::now_v7();
    let insert = sql::stmt(
        &env.db.write,
        "INSERT INTO organizations (id, name, demo, write_seq, created_at) VALUES ($1, $2, $3, 0, $4)",
        vals![id, name.clone(), demo, env.now_micros()],
    );
    let (value, _) = unit::founding(env, id, insert, async |w| {
        w.audit(
            Action::OrganizationCreated,
            Subject::organization(id),
            None,
            Some(json!({ "id": id, "name": name })),
        )
        .await?;
        let org = find(w, id)
            .await?
            .ok_or_else(|| AppError::internal("new organization vanished"))?;
        then(w, org).await
    })
    .await
    .map_err(|e| e.on_unique(&DEMO_EXISTS))?;
    Ok(value)
}

/// The organization's first user, its OWNER.
pub async fn owner_in(w: &Write, email: &str, name: &str) -> AppResult<user_entity::Model> {
    user::create_in(
        w,
        user::NewUser {
            email: email.to_string(),
            name: name.to_string(),
            job_title: Some("Owner".into()),
            ..Default::default()
        },
    )
    .await
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<organization::Model>> {
    sql::one(conn, "SELECT * FROM organizations WHERE id = $1", vals![id]).await
}
