//! Assignment events: the append-only `assignment_events` table read as a stream. This module
//! holds what both the polling query and the live subscription share — the opaque cursor, the
//! filter (checked once, then compiled to SQL or to an in-memory test), reading a batch after a
//! cursor, and retention. `bus` wakes readers after commits; `live` is one subscriber's stream.
//!
//! Ordering: every writing transaction first bumps its organization's `write_seq` (service::tx),
//! which serializes an organization's writers, and appends its events after that; so within an
//! organization `seq` order is commit order, and "every event with `seq` ≤ the largest visible
//! one" is a consistent prefix. A reader never sees an event before its transaction commits,
//! because it reads the table, never the writer's memory.

pub mod bus;
mod event;
pub mod live;
pub mod retention;

pub use event::{Event, cursor};

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::authz;
use crate::service::page::{Page, PageRequest, decode_cursor};
use crate::service::sql::{self, Q};
use crate::service::viewer::Viewer;
use crate::service::write::Write;
use crate::vals;
use entity::assignment;

pub use bus::EventBus;

/// Every kind of assignment event, as stored in `assignment_events.kind`.
pub use entity::assignment_event::Kind as EventKind;

/// Every kind's stored word.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    <EventKind as strum::VariantArray>::VARIANTS
        .iter()
        .map(|k| k.as_str())
}

/// Appends one event about assignment `a`, in the change's transaction. With `append_selected`
/// the only writer of the table, so every event carries its transaction's sequence number and
/// instant.
pub async fn append(w: &Write, kind: EventKind, a: &assignment::Model) -> AppResult<()> {
    let mut q = Q::new();
    q.text = format!(
        "SELECT {} AS kind, {} AS id, {} AS user_id, {} AS course_id",
        q.bind(kind.as_str()),
        q.bind(a.id),
        q.bind(a.user_id),
        q.bind(a.course_id)
    );
    append_selected(w, q).await?;
    Ok(())
}

/// Appends one event per row of `rows`, set-based: a SELECT (with its binds) of `kind, id,
/// user_id, course_id`, an assignment per row. Events of one change are ordered by user, then
/// course. Returns how many were appended.
pub async fn append_selected(w: &Write, mut rows: Q) -> AppResult<u64> {
    let (org, seq, now) = (rows.bind(w.org_id), rows.bind(w.seq), rows.bind(w.now));
    rows.text = format!(
        "INSERT INTO assignment_events (org_id, tx_seq, at, kind, assignment_id, user_id, course_id) \
         SELECT {org}, {seq}, {now}, r.kind, r.id, r.user_id, r.course_id FROM ({}) r ORDER BY r.user_id, r.course_id",
        rows.text
    );
    rows.exec(w).await
}

/// Decodes `after` for `viewer`: a cursor that does not decode, or names another organization,
/// is VALIDATION.
pub fn parse_cursor(viewer: &Viewer, after: &str) -> AppResult<i64> {
    let (org_id, seq): (Uuid, i64) = decode_cursor(after)?;
    if org_id != viewer.org_id {
        return Err(AppError::validation(
            "after",
            "the cursor is not from this organization",
        ));
    }
    if seq < 0 {
        return Err(AppError::validation("after", "the cursor is malformed"));
    }
    Ok(seq)
}

/// What a subscriber or a poller asked for; every part given must hold.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub user_id: Option<Uuid>,
    /// Events of users who were members of this group (and, with `include_subgroups`, of its
    /// subgroups) when the event happened.
    pub group_id: Option<Uuid>,
    pub include_subgroups: bool,
    pub course_id: Option<Uuid>,
    /// Events of assignments this rule required when the event happened.
    pub rule_id: Option<Uuid>,
    /// Any of these kinds; `None` = every kind.
    pub kinds: Option<Vec<String>>,
}

/// A filter checked against the viewer's permissions and the organization's objects, ready to
/// run as SQL or (for the parts that need no lookup) in memory.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub viewer: Viewer,
    pub filter: EventFilter,
    kinds: Option<HashSet<String>>,
}

impl Prepared {
    /// Whether `event` passes every part of the filter that needs no database lookup; `exact`
    /// tells whether that settles it (no group, rule or reporting-line part remains).
    pub fn quick_match(&self, event: &Event) -> (bool, bool) {
        let f = &self.filter;
        let passes = f.user_id.is_none_or(|u| u == event.user_id())
            && f.course_id.is_none_or(|c| c == event.course_id())
            && self.kinds.as_ref().is_none_or(|k| k.contains(&event.kind))
            && match authz::reach(&self.viewer) {
                authz::Reach::Themself => event.user_id() == self.viewer.user_id,
                authz::Reach::Everyone | authz::Reach::Reports => true,
            };
        (passes, self.is_exact_in_memory())
    }

    /// True when `quick_match` decides alone: no group or rule part, and a viewer who sees
    /// everyone or only themself.
    pub fn is_exact_in_memory(&self) -> bool {
        self.filter.group_id.is_none()
            && self.filter.rule_id.is_none()
            && authz::reach(&self.viewer) != authz::Reach::Reports
    }

    /// The SQL condition on `assignment_events e` for this filter (visibility included).
    fn sql(&self, q: &mut Q) -> String {
        let f = &self.filter;
        let mut clauses = vec![
            format!("e.org_id = {}", q.bind(self.viewer.org_id)),
            authz::visible_users_live_sql(q, &self.viewer, "e.user_id"),
        ];
        if let Some(u) = f.user_id {
            clauses.push(format!("e.user_id = {}", q.bind(u)));
        }
        if let Some(c) = f.course_id {
            clauses.push(format!("e.course_id = {}", q.bind(c)));
        }
        if let Some(kinds) = &f.kinds {
            clauses.push(format!("e.kind IN ({})", q.bind_strs(kinds)));
        }
        if let Some(g) = f.group_id {
            let g = q.bind(g);
            let groups = if f.include_subgroups {
                format!("(SELECT c.descendant_id FROM group_closure c WHERE c.ancestor_id = {g})")
            } else {
                format!("({g})")
            };
            clauses.push(format!(
                "EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = e.user_id AND m.group_id IN {groups} \
                 AND m.since <= e.at AND (m.until IS NULL OR m.until >= e.at))"
            ));
        }
        if let Some(r) = f.rule_id {
            clauses.push(format!(
                "EXISTS (SELECT 1 FROM assignment_reasons ar WHERE ar.assignment_id = e.assignment_id \
                 AND ar.rule_id = {} AND (ar.until IS NULL OR ar.until >= e.at))",
                q.bind(r)
            ));
        }
        clauses.join(" AND ")
    }
}

/// Checks a filter for `viewer`: unknown ids, and another user's events for a viewer who may
/// not see that user, are NOT_FOUND; an empty `kinds` list or an unknown kind VALIDATION.
pub async fn prepare(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: EventFilter,
) -> AppResult<Prepared> {
    // An API client reads the stream with EVENTS_READ (the live subscription asks here too).
    authz::require_operation(viewer, "assignmentEvents")?;
    let org = viewer.org_id;
    if let Some(u) = filter.user_id {
        // Someone the viewer may not see is NOT_FOUND, like an unknown id: no existence leak.
        authz::require_visible_user(conn, viewer, u).await?;
    }
    if let Some(g) = filter.group_id {
        exists(conn, "org_groups", org, g, "group").await?;
    }
    if let Some(c) = filter.course_id {
        exists(conn, "courses", org, c, "course").await?;
    }
    if let Some(r) = filter.rule_id {
        exists(conn, "rules", org, r, "rule").await?;
    }
    let kinds = match &filter.kinds {
        None => None,
        Some(k) if k.is_empty() => {
            return Err(AppError::validation(
                "kinds",
                "kinds must name at least one kind (leave it out for every kind)",
            ));
        }
        Some(k) => {
            if let Some(bad) = k.iter().find(|k| k.parse::<EventKind>().is_err()) {
                return Err(AppError::validation("kinds", format!("unknown kind {bad}")));
            }
            Some(k.iter().cloned().collect())
        }
    };
    Ok(Prepared {
        viewer: viewer.clone(),
        filter,
        kinds,
    })
}

async fn exists(
    conn: &impl ConnectionTrait,
    table: &str,
    org_id: Uuid,
    id: Uuid,
    what: &str,
) -> AppResult<()> {
    let n = sql::scalar_i64(
        conn,
        &format!("SELECT COUNT(*) FROM {table} WHERE id = $1 AND org_id = $2"),
        vals![id, org_id],
    )
    .await?;
    if n == 0 {
        return Err(AppError::not_found(what));
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct EventHead {
    ev_seq: i64,
    ev_at: i64,
    ev_kind: String,
}

/// Events of `filter` with `after < seq ≤ upto` (no upper bound when `upto` is `None`), oldest
/// first, at most `limit`.
pub async fn read(
    conn: &impl ConnectionTrait,
    filter: &Prepared,
    after: i64,
    upto: Option<i64>,
    limit: usize,
) -> AppResult<Vec<Event>> {
    let mut q = Q::new();
    let mut where_sql = filter.sql(&mut q);
    where_sql.push_str(&format!(" AND e.seq > {}", q.bind(after)));
    if let Some(upto) = upto {
        where_sql.push_str(&format!(" AND e.seq <= {}", q.bind(upto)));
    }
    q.text = format!(
        "SELECT e.seq AS ev_seq, e.at AS ev_at, e.kind AS ev_kind, a.* FROM assignment_events e \
         JOIN assignments a ON a.id = e.assignment_id WHERE {where_sql} ORDER BY e.seq LIMIT {limit}"
    );
    rows_to_events(conn, q).await
}

/// Every event of an organization after `after` (no permission filter: the live bus shares
/// these among the organization's subscribers, each of which filters for itself).
pub async fn read_org(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    after: i64,
    limit: usize,
) -> AppResult<Vec<Event>> {
    let mut q = Q::new();
    let (org, after) = (q.bind(org_id), q.bind(after));
    q.text = format!(
        "SELECT e.seq AS ev_seq, e.at AS ev_at, e.kind AS ev_kind, a.* FROM assignment_events e \
         JOIN assignments a ON a.id = e.assignment_id WHERE e.org_id = {org} AND e.seq > {after} \
         ORDER BY e.seq LIMIT {limit}"
    );
    rows_to_events(conn, q).await
}

async fn rows_to_events(conn: &impl ConnectionTrait, q: Q) -> AppResult<Vec<Event>> {
    let rows = conn
        .query_all_raw(sql::stmt(conn, &q.text, q.values))
        .await?;
    rows.iter()
        .map(|row| {
            let head = EventHead::from_query_result(row, "")?;
            let assignment = assignment::Model::from_query_result(row, "")?;
            Ok(Event {
                seq: head.ev_seq,
                cursor: cursor(assignment.org_id, head.ev_seq),
                at: head.ev_at,
                kind: head.ev_kind,
                assignment,
            })
        })
        .collect()
}

/// The organization's newest event (0 when it has none).
pub async fn head(conn: &impl ConnectionTrait, org_id: Uuid) -> AppResult<i64> {
    sql::scalar_i64(
        conn,
        "SELECT MAX(seq) FROM assignment_events WHERE org_id = $1",
        vals![org_id],
    )
    .await
}

/// Where a reader resumes: `after` checked against what the table still holds. A cursor whose
/// following events were pruned (older than the retention period) cannot be resumed: the
/// client must resync from the queries. A cursor beyond the newest event was never issued here.
pub async fn resume_point(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    after: &str,
) -> AppResult<i64> {
    let seq = parse_cursor(viewer, after)?;
    let pruned = sql::scalar_i64(
        conn,
        "SELECT pruned_through FROM assignment_event_horizons WHERE org_id = $1",
        vals![viewer.org_id],
    )
    .await?;
    if seq < pruned {
        return Err(AppError::validation(
            "after",
            "the cursor is older than the event retention period and the events after it were \
             pruned: resync from the assignments query, then subscribe again without `after`",
        ));
    }
    if seq > head(conn, viewer.org_id).await? {
        return Err(AppError::validation(
            "after",
            "the cursor names no event of this organization",
        ));
    }
    Ok(seq)
}

/// One page of the polling query, oldest first.
pub async fn page(
    conn: &impl ConnectionTrait,
    filter: &Prepared,
    page: &PageRequest,
) -> AppResult<Page<Event>> {
    let after = match &page.after {
        Some(c) => resume_point(conn, &filter.viewer, c).await?,
        None => 0,
    };
    let rows = read(conn, filter, after, None, page.limit() + 1).await?;
    let org = filter.viewer.org_id;
    Ok(page.finish(rows, |e| (org, e.seq)))
}

/// How many events match the filter (for `totalCount`).
pub async fn count(conn: &impl ConnectionTrait, filter: &Prepared) -> AppResult<i64> {
    let mut q = Q::new();
    let where_sql = filter.sql(&mut q);
    q.text = format!("SELECT COUNT(*) FROM assignment_events e WHERE {where_sql}");
    q.scalar_i64(conn).await
}
