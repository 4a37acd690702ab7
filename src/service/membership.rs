//! Memberships: a user in a group over a time interval. History is kept: removing ends a
//! membership (`until`), a transfer ends one and starts another at the same instant.

use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult, UniqueIndex};
use crate::service::audit::{Action, Subject};
use crate::service::authz::{Named, Permission};
use crate::service::engine::{Outcome, Scope};
use crate::service::rows;
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::viewer::Viewer;
use crate::service::{group, sql};
use crate::vals;
use entity::membership;

/// The database's backstop for a name check that raced another change.
const ALREADY_MEMBER: UniqueIndex = UniqueIndex {
    name: "ux_memberships_current",
    columns: "memberships.user_id, memberships.group_id",
    message: "the user is already a member of this group",
};

/// The outcome of `add`: the current membership and whether this call created it.
pub struct Added {
    pub membership: membership::Model,
    pub created: bool,
    pub outcome: Outcome,
}

fn names(user_id: Uuid, groups: &[Uuid]) -> Authority {
    Authority::requires(
        Permission::ManageOrg,
        std::iter::once(Named::User(user_id)).chain(groups.iter().map(|g| Named::Group(*g))),
    )
}

pub async fn add(
    env: &Env,
    viewer: &Viewer,
    user_id: Uuid,
    group_id: Uuid,
    since: Option<i64>,
) -> AppResult<Added> {
    let (added, outcome) = unit::run(env, viewer, names(user_id, &[group_id]), async |w| {
        add_in(w, user_id, group_id, since).await
    })
    .await?;
    Ok(Added { outcome, ..added })
}

/// Adds `user_id` to `group_id` (from `since`, by default now) unless they are a member
/// already; a new membership is audited and reconciled.
pub async fn add_in(
    w: &Write,
    user_id: Uuid,
    group_id: Uuid,
    since: Option<i64>,
) -> AppResult<Added> {
    let org_id = w.org_id;
    rows::require::<entity::user::Entity>(w, org_id, user_id).await?;
    group::require_live(w, org_id, group_id, "group").await?;
    if let Some(s) = since
        && s > w.now
    {
        return Err(AppError::validation(
            "since",
            "since must not be in the future",
        ));
    }
    if let Some(existing) = current(w, user_id, group_id).await? {
        return Ok(Added {
            membership: existing,
            created: false,
            outcome: Outcome::default(),
        });
    }
    let m = insert(w, user_id, group_id, since.unwrap_or(w.now)).await?;
    w.audit(
        Action::MembershipAdded,
        Subject::user(user_id),
        None,
        Some(snapshot(&m)),
    )
    .await?;
    w.reconcile(Scope::Users(vec![user_id]));
    Ok(Added {
        membership: m,
        created: true,
        outcome: Outcome::default(),
    })
}

pub async fn remove(
    env: &Env,
    viewer: &Viewer,
    user_id: Uuid,
    group_id: Uuid,
) -> AppResult<(membership::Model, Outcome)> {
    unit::run(env, viewer, names(user_id, &[group_id]), async |w| {
        remove_in(w, user_id, group_id).await
    })
    .await
}

/// Ends `user_id`'s current membership of `group_id` (NOT_FOUND when there is none).
pub async fn remove_in(w: &Write, user_id: Uuid, group_id: Uuid) -> AppResult<membership::Model> {
    rows::require::<entity::user::Entity>(w, w.org_id, user_id).await?;
    group::require_live(w, w.org_id, group_id, "group").await?;
    let before = current(w, user_id, group_id)
        .await?
        .ok_or_else(|| AppError::not_found("membership"))?;
    let after = end(w, &before).await?;
    w.audit(
        Action::MembershipRemoved,
        Subject::user(user_id),
        Some(snapshot(&before)),
        Some(snapshot(&after)),
    )
    .await?;
    w.reconcile(Scope::Users(vec![user_id]));
    Ok(after)
}

/// The outcome of a transfer: the membership that ended and the one that is now current.
pub struct Transfer {
    pub ended: membership::Model,
    pub started: membership::Model,
    pub outcome: Outcome,
}

pub async fn transfer(
    env: &Env,
    viewer: &Viewer,
    user_id: Uuid,
    from: Uuid,
    to: Uuid,
) -> AppResult<Transfer> {
    let (t, outcome) = unit::run(env, viewer, names(user_id, &[from, to]), async |w| {
        transfer_in(w, user_id, from, to).await
    })
    .await?;
    Ok(Transfer { outcome, ..t })
}

/// Moves `user_id` from `from` to `to` at one instant: one membership ends as the other starts.
pub async fn transfer_in(w: &Write, user_id: Uuid, from: Uuid, to: Uuid) -> AppResult<Transfer> {
    let org_id = w.org_id;
    rows::require::<entity::user::Entity>(w, org_id, user_id).await?;
    group::require_live(w, org_id, from, "group").await?;
    group::require_live(w, org_id, to, "group").await?;
    if from == to {
        return Err(AppError::validation(
            "toGroupId",
            "the user is already in this group",
        ));
    }
    let leaving = current(w, user_id, from).await?.ok_or_else(|| {
        AppError::validation(
            "fromGroupId",
            "the user is not a member of the group they are transferred from",
        )
    })?;
    let ended = end(w, &leaving).await?;
    let started = match current(w, user_id, to).await? {
        Some(existing) => existing,
        None => insert(w, user_id, to, w.now).await?,
    };
    w.audit(
        Action::UserTransferred,
        Subject::user(user_id),
        Some(json!({ "groupId": from, "membershipId": ended.id })),
        Some(json!({ "groupId": to, "membershipId": started.id })),
    )
    .await?;
    w.reconcile(Scope::Users(vec![user_id]));
    Ok(Transfer {
        ended,
        started,
        outcome: Outcome::default(),
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
    w: &Write,
    user_id: Uuid,
    group_id: Uuid,
    since: i64,
) -> AppResult<membership::Model> {
    let id = Uuid::now_v7();
    sql::exec(
        w,
        "INSERT INTO memberships (id, org_id, user_id, group_id, since, until, created_at, recorded_seq) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
        vals![id, w.org_id, user_id, group_id, since, w.now, w.seq],
    )
    .await
        .map_err(|e| e.on_unique(&ALREADY_MEMBER))?;
    sql::one(w, "SELECT * FROM memberships WHERE id = $1", vals![id])
        .await?
        .ok_or_else(|| AppError::internal("inserted membership vanished"))
}

async fn end(w: &Write, m: &membership::Model) -> AppResult<membership::Model> {
    // A back-filled membership may start after "now" only in tests that move the clock back;
    // never end before the start.
    let until = w.now.max(m.since);
    sql::exec(
        w,
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
