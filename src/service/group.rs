//! The group tree. Groups nest; a closure table (`group_closure`: every ancestor–descendant
//! pair with its depth) answers subtree questions with one join. Moves refuse cycles; deletes
//! refuse groups with current members or children and are soft, so history keeps its names.

use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::{Action, Subject};
use crate::service::authz::{Named, Permission};
use crate::service::engine::{Outcome, Scope};
use crate::service::rows;
use crate::service::sql;
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::vals;
use entity::group;

pub async fn create(
    env: &Env,
    viewer: &Viewer,
    name: &str,
    parent_id: Option<Uuid>,
) -> AppResult<group::Model> {
    let authority = Authority::requires(Permission::ManageOrg, parent_id.map(Named::Group));
    let (group, _) = unit::run(env, viewer, authority, async |w| {
        create_in(w, name, parent_id).await
    })
    .await?;
    Ok(group)
}

pub async fn create_in(w: &Write, name: &str, parent_id: Option<Uuid>) -> AppResult<group::Model> {
    let (org_id, now) = (w.org_id, w.now);
    let name = validate::name("name", name)?;
    if let Some(parent) = parent_id {
        require_live(w, org_id, parent, "parent group").await?;
    }
    let id = Uuid::now_v7();
    sql::exec(
        w,
        "INSERT INTO org_groups (id, org_id, name, parent_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        vals![id, org_id, name, parent_id, now],
    )
    .await?;
    sql::exec(
        w,
        "INSERT INTO group_closure (org_id, ancestor_id, descendant_id, depth) VALUES ($1, $2, $2, 0)",
        vals![org_id, id],
    )
    .await?;
    if let Some(parent) = parent_id {
        sql::exec(
            w,
            "INSERT INTO group_closure (org_id, ancestor_id, descendant_id, depth) \
             SELECT org_id, ancestor_id, $1, depth + 1 FROM group_closure WHERE descendant_id = $2",
            vals![id, parent],
        )
        .await?;
        // The first parent counts from the beginning: memberships may be back-filled.
        sql::exec(
            w,
            "INSERT INTO group_parents (org_id, group_id, parent_id, since, until) VALUES ($1, $2, $3, 0, NULL)",
            vals![org_id, id, parent],
        )
        .await?;
    }
    let group = require_live(w, org_id, id, "group").await?;
    w.audit(
        Action::GroupCreated,
        Subject::group(id),
        None,
        Some(snapshot(&group)),
    )
    .await?;
    Ok(group)
}

pub async fn rename(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    name: Option<&str>,
) -> AppResult<group::Model> {
    let authority = Authority::requires(Permission::ManageOrg, [Named::Group(id)]);
    let (group, _) = unit::run(env, viewer, authority, async |w| {
        rename_in(w, id, name).await
    })
    .await?;
    Ok(group)
}

pub async fn rename_in(w: &Write, id: Uuid, name: Option<&str>) -> AppResult<group::Model> {
    let before = require_live(w, w.org_id, id, "group").await?;
    let Some(name) = name else {
        return Ok(before);
    };
    let name = validate::name("name", name)?;
    if name == before.name {
        return Ok(before);
    }
    sql::exec(
        w,
        "UPDATE org_groups SET name = $1, updated_at = $2 WHERE id = $3",
        vals![name, w.now, id],
    )
    .await?;
    let after = require_live(w, w.org_id, id, "group").await?;
    w.audit(
        Action::GroupUpdated,
        Subject::group(id),
        Some(snapshot(&before)),
        Some(snapshot(&after)),
    )
    .await?;
    Ok(after)
}

/// Moves a group (with its subtree) under `parent_id`, or to the top when `None`.
pub async fn move_group(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    parent_id: Option<Uuid>,
) -> AppResult<(group::Model, Outcome)> {
    let named = std::iter::once(Named::Group(id)).chain(parent_id.map(Named::Group));
    unit::run(
        env,
        viewer,
        Authority::requires(Permission::ManageOrg, named),
        async |w| move_in(w, id, parent_id).await,
    )
    .await
}

pub async fn move_in(w: &Write, id: Uuid, parent_id: Option<Uuid>) -> AppResult<group::Model> {
    let (org_id, now) = (w.org_id, w.now);
    let before = require_live(w, org_id, id, "group").await?;
    if let Some(parent) = parent_id {
        require_live(w, org_id, parent, "parent group").await?;
        if parent == id || is_ancestor(w, id, parent).await? {
            return Err(AppError::validation(
                "parentId",
                "a group cannot move under itself or one of its descendants",
            ));
        }
    }
    if before.parent_id == parent_id {
        return Ok(before);
    }
    // Detach the subtree from its old ancestors, then hang it under the new parent's chain.
    sql::exec(
        w,
        "DELETE FROM group_closure WHERE descendant_id IN (SELECT descendant_id FROM group_closure WHERE ancestor_id = $1) \
         AND ancestor_id NOT IN (SELECT descendant_id FROM group_closure WHERE ancestor_id = $1)",
        vals![id],
    )
    .await?;
    if let Some(parent) = parent_id {
        sql::exec(
            w,
            "INSERT INTO group_closure (org_id, ancestor_id, descendant_id, depth) \
             SELECT p.org_id, p.ancestor_id, s.descendant_id, p.depth + s.depth + 1 \
             FROM group_closure p, group_closure s WHERE p.descendant_id = $1 AND s.ancestor_id = $2",
            vals![parent, id],
        )
        .await?;
    }
    sql::exec(
        w,
        "UPDATE org_groups SET parent_id = $1, updated_at = $2 WHERE id = $3",
        vals![parent_id, now, id],
    )
    .await?;
    end_parent_period(w, id, now).await?;
    if let Some(parent) = parent_id {
        sql::exec(
            w,
            "INSERT INTO group_parents (org_id, group_id, parent_id, since, until) VALUES ($1, $2, $3, $4, NULL)",
            vals![org_id, id, parent, now],
        )
        .await?;
    }
    let after = require_live(w, org_id, id, "group").await?;
    w.audit(
        Action::GroupMoved,
        Subject::group(id),
        Some(snapshot(&before)),
        Some(snapshot(&after)),
    )
    .await?;
    // Everyone in the moved subtree may have entered or left group-based audiences.
    w.reconcile(Scope::Members(id));
    Ok(after)
}

/// Closes the open period of `group_parents` of a group that moves or goes (the history that
/// as-of reports filter by).
async fn end_parent_period(conn: &impl ConnectionTrait, id: Uuid, now: i64) -> AppResult<()> {
    sql::exec(
        conn,
        "UPDATE group_parents SET until = $1 WHERE group_id = $2 AND until IS NULL",
        vals![now, id],
    )
    .await?;
    Ok(())
}

/// Deletes an empty group. Only a group without members or children can go, so no one enters
/// or leaves an audience: rules naming the group simply have no one left to require.
pub async fn delete(env: &Env, viewer: &Viewer, id: Uuid) -> AppResult<(group::Model, Outcome)> {
    unit::run(
        env,
        viewer,
        Authority::requires(Permission::ManageOrg, [Named::Group(id)]),
        async |w| delete_in(w, id).await,
    )
    .await
}

pub async fn delete_in(w: &Write, id: Uuid) -> AppResult<group::Model> {
    let before = require_live(w, w.org_id, id, "group").await?;
    let members = sql::scalar_i64(
        w,
        "SELECT COUNT(*) FROM memberships WHERE group_id = $1 AND until IS NULL",
        vals![id],
    )
    .await?;
    if members > 0 {
        return Err(AppError::conflict(format!(
            "the group still has {members} member(s)"
        )));
    }
    let children = sql::scalar_i64(
        w,
        "SELECT COUNT(*) FROM org_groups WHERE parent_id = $1 AND deleted_at IS NULL",
        vals![id],
    )
    .await?;
    if children > 0 {
        return Err(AppError::conflict(format!(
            "the group still has {children} child group(s)"
        )));
    }
    sql::exec(
        w,
        "DELETE FROM group_closure WHERE descendant_id = $1",
        vals![id],
    )
    .await?;
    sql::exec(
        w,
        "UPDATE org_groups SET deleted_at = $1, updated_at = $1 WHERE id = $2",
        vals![w.now, id],
    )
    .await?;
    end_parent_period(w, id, w.now).await?;
    let after: group::Model = sql::one(w, "SELECT * FROM org_groups WHERE id = $1", vals![id])
        .await?
        .ok_or_else(|| AppError::internal("deleted group vanished"))?;
    w.audit(
        Action::GroupDeleted,
        Subject::group(id),
        Some(snapshot(&before)),
        None,
    )
    .await?;
    Ok(after)
}

/// A group that exists and is not deleted.
pub async fn find_live(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<Option<group::Model>> {
    Ok(rows::find::<group::Entity>(conn, org_id, id)
        .await?
        .filter(|g| g.deleted_at.is_none()))
}

pub async fn require_live(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
    what: &str,
) -> AppResult<group::Model> {
    find_live(conn, org_id, id)
        .await?
        .ok_or_else(|| AppError::not_found(what))
}

/// The children `parent` had at instant `at` (from the tree's history, deleted ones included),
/// ordered by name: the drill-down of a report as of a past date.
pub async fn children_at(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    parent: Uuid,
    at: i64,
) -> AppResult<Vec<group::Model>> {
    sql::all(
        conn,
        "SELECT g.* FROM org_groups g WHERE g.org_id = $1 AND g.id IN \
         (SELECT gp.group_id FROM group_parents gp WHERE gp.parent_id = $2 AND gp.since <= $3 AND (gp.until IS NULL OR gp.until > $3)) \
         ORDER BY g.name, g.id",
        vals![org_id, parent, at],
    )
    .await
}

#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    /// Only the direct children of this group.
    pub parent_id: Option<Uuid>,
    /// Only top-level groups.
    pub roots_only: bool,
    pub search: Option<String>,
}

/// Live groups, ordered by name.
pub async fn list(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    filter: &GroupFilter,
) -> AppResult<Vec<group::Model>> {
    let mut text = "SELECT * FROM org_groups WHERE org_id = $1 AND deleted_at IS NULL".to_string();
    let mut values: Vec<Value> = vals![org_id];
    if let Some(parent) = filter.parent_id {
        values.push(parent.into());
        text.push_str(&format!(" AND parent_id = ${}", values.len()));
    }
    if filter.roots_only {
        text.push_str(" AND parent_id IS NULL");
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let escaped = search
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        values.push(format!("%{escaped}%").into());
        text.push_str(&format!(
            " AND lower(name) LIKE ${} ESCAPE '\\'",
            values.len()
        ));
    }
    text.push_str(" ORDER BY name, id");
    sql::all(conn, &text, values).await
}

/// Ancestors of a group, nearest first (`depth` 1 = parent).
pub async fn ancestors(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<Vec<group::Model>> {
    sql::all(
        conn,
        "SELECT g.* FROM group_closure c JOIN org_groups g ON g.id = c.ancestor_id \
         WHERE c.descendant_id = $1 AND c.depth > 0 AND g.org_id = $2 ORDER BY c.depth",
        vals![id, org_id],
    )
    .await
}

/// Every group below this one, shallowest first.
pub async fn descendants(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> AppResult<Vec<group::Model>> {
    sql::all(
        conn,
        "SELECT g.* FROM group_closure c JOIN org_groups g ON g.id = c.descendant_id \
         WHERE c.ancestor_id = $1 AND c.depth > 0 AND g.org_id = $2 AND g.deleted_at IS NULL ORDER BY c.depth, g.name",
        vals![id, org_id],
    )
    .await
}

async fn is_ancestor(
    conn: &impl ConnectionTrait,
    ancestor: Uuid,
    descendant: Uuid,
) -> AppResult<bool> {
    Ok(sql::scalar_i64(
        conn,
        "SELECT COUNT(*) FROM group_closure WHERE ancestor_id = $1 AND descendant_id = $2",
        vals![ancestor, descendant],
    )
    .await?
        > 0)
}

pub fn snapshot(g: &group::Model) -> serde_json::Value {
    json!({ "id": g.id, "name": g.name, "parentId": g.parent_id })
}
