//! Memberships: a user in a group over a time interval. History is kept: removing ends a
//! membership (`until`), a transfer ends one and starts another at the same instant.

use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Action, Actor};
use crate::service::authz::{self, Named, Permission};
use crate::service::engine::{Outcome, Scope};
use crate::service::viewer::Viewer;
use crate::service::{group, now_micros, sql, tx, user};
use crate::state::AppState;
use crate::vals;
use entity::membership;

/// The outcome of `add`: the current membership and whether this call created it.
pub struct Added {
    pub membership: membership::Model,
    pub created: bool,
    pub outcome: Outcome,
}

pub async fn add(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    group_id: Uuid,
    since: Option<i64>,
) -> AppResult<Added> {
    authz::require_naming(
        &state.db.read,
        viewer,
        Permission::ManageOrg,
        &[Named::User(user_id), Named::Group(group_id)],
    )
    .await?;
    let now = now_micros(state);
    let tx = tx::begin(state, viewer.org_id).await?;
    let added = add_in(
        &tx,
        viewer.org_id,
        &Actor::user(viewer),
        now,
        user_id,
        group_id,
        since,
    )
    .await?;
    let outcome = if added.created {
        crate::service::engine::reconcile(
            &tx,
            &crate::service::engine::Ctx::new(
                viewer.org_id,
                now,
                &Actor::user(viewer),
                "USER",
                Some(user_id),
            ),
            Scope::Users(vec![user_id]),
            None,
        )
        .await?
    } else {
        Outcome::default()
    };
    tx.commit().await?;
    Ok(Added { outcome, ..added })
}

pub async fn add_in(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    actor: &Actor,
    now: i64,
    user_id: Uuid,
    group_id: Uuid,
    since: Option<i64>,
) -> AppResult<Added> {
    user::require_user(conn, org_id, user_id, "user").await?;
    group::require_live(conn, org_id, group_id, "group").await?;
    if let Some(s) = since
        && s > now
    {
        return Err(AppError::validation(
            "since",
            "since must not be in the future",
        ));
    }
    if let Some(existing) = current(conn, user_id, group_id).await? {
        return Ok(Added {
            membership: existing,
            created: false,
            outcome: Outcome::default(),
        });
    }
    let m = insert(conn, org_id, user_id, group_id, since.unwrap_or(now), now).await?;
    audit::record(
        conn,
        audit::Entry {
            org_id,
            at: now,
            actor,
            action: Action::MembershipAdded,
            subject_type: "USER",
            subject_id: Some(user_id),
            before: None,
            after: Some(snapshot(&m)),
        },
    )
    .await?;
    Ok(Added {
        membership: m,
        created: true,
        outcome: Outcome::default(),
    })
}

pub async fn remove(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    group_id: Uuid,
) -> AppResult<(membership::Model, Outcome)> {
    authz::require_naming(
        &state.db.read,
        viewer,
        Permission::ManageOrg,
        &[Named::User(user_id), Named::Group(group_id)],
    )
    .await?;
    let now = now_micros(state);
    let tx = tx::begin(state, viewer.org_id).await?;
    user::require_user(&tx, viewer.org_id, user_id, "user").await?;
    group::require_live(&tx, viewer.org_id, group_id, "group").await?;
    let before = current(&tx, user_id, group_id)
        .await?
        .ok_or_else(|| AppError::not_found("membership"))?;
    let after = end(&tx, &before, now).await?;
    audit::record(
        &tx,
        audit::Entry {
            org_id: viewer.org_id,
            at: now,
            actor: &Actor::user(viewer),
            action: Action::MembershipRemoved,
            subject_type: "USER",
            subject_id: Some(user_id),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
    )
    .await?;
    let outcome = crate::service::engine::reconcile(
        &tx,
        &crate::service::engine::Ctx::new(
            viewer.org_id,
            now,
            &Actor::user(viewer),
            "USER",
            Some(user_id),
        ),
        Scope::Users(vec![user_id]),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok((after, outcome))
}

/// The outcome of a transfer: the membership that ended and the one that is now current.
pub struct Transfer {
    pub ended: membership::Model,
    pub started: membership::Model,
    pub outcome: Outcome,
}

pub async fn transfer(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    from: Uuid,
    to: Uuid,
) -> AppResult<Transfer> {
    authz::require_naming(
        &state.db.read,
        viewer,
        Permission::ManageOrg,
        &[Named::User(user_id), Named::Group(from), Named::Group(to)],
    )
    .await?;
    let now = now_micros(state);
    let tx = tx::begin(state, viewer.org_id).await?;
    user::require_user(&tx, viewer.org_id, user_id, "user").await?;
    group::require_live(&tx, viewer.org_id, from, "group").await?;
    group::require_live(&tx, viewer.org_id, to, "group").await?;
    if from == to {
        return Err(AppError::validation(
            "toGroupId",
            "the user is already in this group",
        ));
    }
    let leaving = current(&tx, user_id, from).await?.ok_or_else(|| {
        AppError::validation(
            "fromGroupId",
            "the user is not a member of the group they are transferred from",
        )
    })?;
    let ended = end(&tx, &leaving, now).await?;
    let started = match current(&tx, user_id, to).await? {
        Some(existing) => existing,
        None => insert(&tx, viewer.org_id, user_id, to, now, now).await?,
    };
    audit::record(
        &tx,
        audit::Entry {
            org_id: viewer.org_id,
            at: now,
            actor: &Actor::user(viewer),
            action: Action::UserTransferred,
            subject_type: "USER",
            subject_id: Some(user_id),
            before: Some(json!({ "groupId": from, "membershipId": ended.id })),
            after: Some(json!({ "groupId": to, "membershipId": started.id })),
        },
    )
    .await?;
    let outcome = crate::service::engine::reconcile(
        &tx,
        &crate::service::engine::Ctx::new(
            viewer.org_id,
            now,
            &Actor::user(viewer),
            "USER",
            Some(user_id),
        ),
        Scope::Users(vec![user_id]),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Transfer {
        ended,
        started,
        outcome,
    })
}

pub async fn current(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    group_id: Uuid,
) -> AppResult<Option<membership::Model>> {
    sql::one(
        conn,
        "SELECT * FROM memberships WHERE user_id = $1 AND group_id = $2 AND until IS NULL",
        vals![user_id, group_id],
    )
    .await
}

/// Memberships of several users in one query; with `include_history` ended ones too.
pub async fn of_users(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user_ids: &[Uuid],
    include_history: bool,
) -> AppResult<Vec<membership::Model>> {
    if user_ids.is_empty() {
        return Ok(vec![]);
    }
    let mut values: Vec<Value> = vals![org_id];
    values.extend(user_ids.iter().map(|id| Value::from(*id)));
    let history = if include_history {
        ""
    } else {
        " AND until IS NULL"
    };
    sql::all(
        conn,
        &format!(
            "SELECT * FROM memberships WHERE org_id = $1 AND user_id IN ({}){history} ORDER BY since, id",
            sql::placeholders(2, user_ids.len())
        ),
        values,
    )
    .await
}

async fn insert(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user_id: Uuid,
    group_id: Uuid,
    since: i64,
    now: i64,
) -> AppResult<membership::Model> {
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO memberships (id, org_id, user_id, group_id, since, until, created_at, recorded_seq) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6, (SELECT write_seq FROM organizations WHERE id = $2))",
        vals![id, org_id, user_id, group_id, since, now],
    )
    .await?;
    sql::one(conn, "SELECT * FROM memberships WHERE id = $1", vals![id])
        .await?
        .ok_or_else(|| AppError::internal("inserted membership vanished"))
}

async fn end(
    conn: &impl ConnectionTrait,
    m: &membership::Model,
    now: i64,
) -> AppResult<membership::Model> {
    // A back-filled membership may start after "now" only in tests that move the clock back;
    // never end before the start.
    let until = now.max(m.since);
    sql::exec(
        conn,
        "UPDATE memberships SET until = $1 WHERE id = $2",
        vals![until, m.id],
    )
    .await?;
    Ok(membership::Model {
        until: Some(until),
        ..m.clone()
    })
}

pub fn snapshot(m: &membership::Model) -> serde_json::Value {
    json!({ "id": m.id, "userId": m.user_id, "groupId": m.group_id, "since": m.since, "until": m.until })
}
