//! Reading assignments and their reasons. Assignments are written only by the engine (and, with
//! compliance, by progress and completions); a viewer reads those of the users they may see.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::authz;
use crate::service::page::{Page, PageRequest};
use crate::service::rows;
use crate::service::sql::{self, Q};
use crate::service::viewer::Viewer;
use entity::{assignment, assignment_reason};

#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub include_subgroups: bool,
    pub course_id: Option<Uuid>,
    pub rule_id: Option<Uuid>,
    pub statuses: Option<Vec<assignment::Status>>,
}

/// An assignment the viewer may see; `None` when unknown or not visible.
pub async fn get(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Option<assignment::Model>> {
    let Some(a) = rows::find::<entity::assignment::Entity>(conn, viewer.org_id, id).await? else {
        return Ok(None);
    };
    Ok(authz::can_see_user(conn, viewer, a.user_id)
        .await?
        .then_some(a))
}

fn filter_sql(q: &mut Q, viewer: &Viewer, filter: &AssignmentFilter) -> AppResult<String> {
    // The organization: through the user, course or group the filter names when it names one
    // (a constant check), otherwise on the rows. `a.org_id = ?` beside a user or course filter
    // leads SQLite (without statistics) to walk the organization's index — a million rows —
    // instead of the user's or course's.
    let org = q.bind(viewer.org_id);
    let mut clauses = vec![match (filter.user_id, filter.course_id, filter.group_id) {
        (Some(u), _, _) => format!(
            "EXISTS (SELECT 1 FROM users fu WHERE fu.id = {} AND fu.org_id = {org})",
            q.bind(u)
        ),
        (None, Some(c), _) => format!(
            "EXISTS (SELECT 1 FROM courses fc WHERE fc.id = {} AND fc.org_id = {org})",
            q.bind(c)
        ),
        (None, None, Some(g)) => format!(
            "EXISTS (SELECT 1 FROM org_groups fg WHERE fg.id = {} AND fg.org_id = {org})",
            q.bind(g)
        ),
        (None, None, None) => format!("a.org_id = {org}"),
    }];
    clauses.push(authz::visible_users_sql(q, viewer, "a.user_id"));
    if let Some(u) = filter.user_id {
        clauses.push(format!("a.user_id = {}", q.bind(u)));
    }
    if let Some(g) = filter.group_id {
        let g = q.bind(g);
        clauses.push(if filter.include_subgroups {
            format!(
                "a.user_id IN (SELECT m.user_id FROM memberships m JOIN group_closure c ON c.descendant_id = m.group_id \
                 WHERE c.ancestor_id = {g} AND m.until IS NULL)"
            )
        } else {
            format!("a.user_id IN (SELECT m.user_id FROM memberships m WHERE m.group_id = {g} AND m.until IS NULL)")
        });
    }
    if let Some(c) = filter.course_id {
        clauses.push(format!("a.course_id = {}", q.bind(c)));
    }
    if let Some(r) = filter.rule_id {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM assignment_reasons ar WHERE ar.assignment_id = a.id AND ar.rule_id = {})",
            q.bind(r)
        ));
    }
    if let Some(statuses) = &filter.statuses {
        if statuses.is_empty() {
            clauses.push("1 = 0".into());
        } else {
            let words: Vec<String> = statuses.iter().map(|s| s.as_str().to_string()).collect();
            clauses.push(format!("a.status IN ({})", q.bind_strs(&words)));
        }
    }
    Ok(clauses.join(" AND "))
}

/// Assignments oldest first; the cursor is `(assigned_at, id)`.
pub async fn list(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &AssignmentFilter,
    page: &PageRequest,
) -> AppResult<Page<assignment::Model>> {
    let mut q = Q::new();
    authz::load_scope(conn, viewer).await?;
    let mut where_sql = filter_sql(&mut q, viewer, filter)?;
    if let Some((at, id)) = page.after_key::<(i64, Uuid)>()? {
        let (at, id) = (q.bind(at), q.bind(id));
        where_sql.push_str(&format!(
            " AND (a.assigned_at > {at} OR (a.assigned_at = {at} AND a.id > {id}))"
        ));
    }
    q.text = format!(
        "SELECT a.* FROM assignments a WHERE {where_sql} ORDER BY a.assigned_at, a.id LIMIT {}",
        page.limit() + 1
    );
    let rows: Vec<assignment::Model> = q.all(conn).await?;
    Ok(page.finish(rows, |a| (a.assigned_at, a.id)))
}

pub async fn count(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &AssignmentFilter,
) -> AppResult<i64> {
    let mut q = Q::new();
    authz::load_scope(conn, viewer).await?;
    let where_sql = filter_sql(&mut q, viewer, filter)?;
    q.text = format!("SELECT COUNT(*) FROM assignments a WHERE {where_sql}");
    q.scalar_i64(conn).await
}

/// The assignments of several users (for `user.assignments`), oldest first.
pub async fn of_users(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<assignment::Model>>> {
    let mut out: HashMap<Uuid, Vec<assignment::Model>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    // By user only, the organization checked here (see `find_many`).
    let mut q = Q::new();
    let list = q.bind_ids(user_ids);
    q.text =
        format!("SELECT * FROM assignments WHERE user_id IN ({list}) ORDER BY assigned_at, id");
    for a in q.all::<assignment::Model>(conn).await? {
        if a.org_id == org_id {
            out.entry(a.user_id).or_default().push(a);
        }
    }
    Ok(out)
}

/// Reasons of several assignments, oldest first: the current ones, or all with `include_ended`.
pub async fn reasons_of(
    conn: &impl ConnectionTrait,
    assignment_ids: &[Uuid],
    include_ended: bool,
) -> AppResult<HashMap<Uuid, Vec<assignment_reason::Model>>> {
    let mut out: HashMap<Uuid, Vec<assignment_reason::Model>> = HashMap::new();
    if assignment_ids.is_empty() {
        return Ok(out);
    }
    let values: Vec<Value> = assignment_ids.iter().map(|id| Value::from(*id)).collect();
    let ended = if include_ended {
        ""
    } else {
        " AND until IS NULL"
    };
    let rows: Vec<assignment_reason::Model> = sql::all(
        conn,
        &format!(
            "SELECT * FROM assignment_reasons WHERE assignment_id IN ({}){ended} ORDER BY since",
            sql::placeholders(1, assignment_ids.len())
        ),
        values,
    )
    .await?;
    for r in rows {
        out.entry(r.assignment_id).or_default().push(r);
    }
    Ok(out)
}

/// How many users a rule's audience holds now.
pub async fn audience_size(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    now: i64,
    rule: &entity::rule::Model,
) -> AppResult<i64> {
    if rule.deleted_at.is_some() {
        return Ok(0);
    }
    let audience = crate::service::rule::audience_of(rule);
    let mut q = Q::new();
    let inner = crate::service::engine::audience::select(
        &mut q,
        org_id,
        &audience,
        now,
        -1,
        &crate::service::engine::Scope::All,
    );
    q.text = format!("SELECT COUNT(*) FROM ({inner}) x");
    q.scalar_i64(conn).await
}
