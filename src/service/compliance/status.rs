//! Compliance status, now or as of any past instant, computed from recorded history: the
//! reasons that required a course at that instant (when the engine recorded them, not the
//! back-filled `since`), the completions made by then, and the due dates of cycles still open
//! then. An answer for a past date does not move when today's org chart does.
//!
//! Per course: COMPLIANT (valid beyond the warning window), EXPIRING_SOON (valid, expires within
//! it), EXPIRED (the last completion expired, none since — even while a renewal is open),
//! OVERDUE (never completed, past due), PENDING (never completed, not due or no due date).
//! Per user: NON_COMPLIANT if any course is OVERDUE or EXPIRED, else AT_RISK if any is
//! EXPIRING_SOON, else PENDING if any is PENDING, else COMPLIANT. Users with nothing required
//! are not counted.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use crate::clock::MICROS_PER_DAY;
use crate::error::{AppError, AppResult};
use crate::service::authz;
use crate::service::page::{Page, PageRequest};
use crate::service::sql::Q;
use crate::service::viewer::Viewer;

use super::summary::NEVER;
use crate::service::rows;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CourseState {
    Compliant,
    Pending,
    ExpiringSoon,
    Overdue,
    Expired,
}

impl CourseState {
    fn from_code(code: i32) -> CourseState {
        match code {
            0 => CourseState::Compliant,
            1 => CourseState::Pending,
            2 => CourseState::ExpiringSoon,
            3 => CourseState::Overdue,
            _ => CourseState::Expired,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserState {
    Compliant,
    AtRisk,
    Pending,
    NonCompliant,
}

impl UserState {
    /// From the worst course code of the user (see `ITEM_STATE`).
    fn from_worst(code: i32) -> UserState {
        match code {
            0 => UserState::Compliant,
            1 => UserState::Pending,
            2 => UserState::AtRisk,
            _ => UserState::NonCompliant,
        }
    }

    fn codes(self) -> (i32, i32) {
        match self {
            UserState::Compliant => (0, 0),
            UserState::Pending => (1, 1),
            UserState::AtRisk => (2, 2),
            UserState::NonCompliant => (3, 4),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Item {
    pub course_id: Uuid,
    pub state: CourseState,
    pub due_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct UserCompliance {
    pub user_id: Uuid,
    pub state: UserState,
    pub items: Vec<Item>,
}

/// Who a report covers. `include_subgroups` defaults to true for reports.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub group_id: Option<Uuid>,
    pub include_subgroups: Option<bool>,
    pub role_id: Option<Uuid>,
    pub course_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: i64,
    pub compliant: i64,
    pub at_risk: i64,
    pub pending: i64,
    pub non_compliant: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CourseCounts {
    pub total: i64,
    pub compliant: i64,
    pub expiring_soon: i64,
    pub expired: i64,
    pub overdue: i64,
    pub pending: i64,
}

/// The instant and window a status is computed for. `current` (the instant is now or later)
/// lets counts and pages read the per-user summaries that commits keep current; a past instant
/// is answered from history.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub at: i64,
    pub warning: i64,
    pub current: bool,
}

impl At {
    pub fn new(as_of: Option<i64>, now: i64, warning_days: Option<i32>) -> AppResult<At> {
        let days = warning_days.unwrap_or(30);
        if days < 0 {
            return Err(AppError::validation(
                "warningDays",
                "warningDays must not be negative",
            ));
        }
        Ok(At {
            at: as_of.unwrap_or(now),
            warning: i64::from(days.min(36_500)) * MICROS_PER_DAY,
            current: as_of.is_none_or(|a| a >= now),
        })
    }
}

/// `SELECT id FROM users u` of the population at `at`: existing then, active then, visible to
/// the viewer, in the group (by membership at that instant) and with the role.
fn population(
    q: &mut Q,
    viewer: &Viewer,
    filter: &ReportFilter,
    at: At,
    only: Option<&[Uuid]>,
) -> String {
    format!(
        "SELECT u.id FROM users u WHERE {}",
        population_where(q, viewer, filter, at, only, false)
    )
}

/// The conditions of `population` on the users row `u`. `correlated` checks the group per row
/// (for pages walking users in order) instead of listing the group's members first.
fn population_where(
    q: &mut Q,
    viewer: &Viewer,
    filter: &ReportFilter,
    at: At,
    only: Option<&[Uuid]>,
    correlated: bool,
) -> String {
    let (org, t) = (q.bind(viewer.org_id), q.bind(at.at));
    let mut clauses = vec![
        format!("u.org_id = {org}"),
        format!("u.created_at <= {t}"),
        format!("(u.deactivated_at IS NULL OR u.deactivated_at > {t})"),
        authz::visible_users_sql(q, viewer, "u.id"),
    ];
    if let Some(g) = filter.group_id {
        let groups = groups_sql(q, g, filter.include_subgroups.unwrap_or(true), at);
        let current = format!("m.since <= {t} AND (m.until IS NULL OR m.until > {t})");
        clauses.push(if correlated {
            format!(
                "EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND {current} AND m.group_id IN ({groups}))"
            )
        } else {
            format!(
                "u.id IN (SELECT m.user_id FROM memberships m WHERE m.group_id IN ({groups}) AND {current})"
            )
        });
    }
    if let Some(r) = filter.role_id {
        clauses.push(format!("u.primary_role_id = {}", q.bind(r)));
    }
    if let Some(ids) = only {
        clauses.push(format!("u.id IN ({})", q.bind_ids(ids)));
    }
    clauses.join(" AND ")
}

/// `SELECT` of group `g` and, with `subgroups`, its descendants at `at`: from the closure table
/// for now, from the tree's history (`group_parents`) for a past instant, so a group moved
/// since does not change the answer for that instant.
fn groups_sql(q: &mut Q, g: Uuid, subgroups: bool, at: At) -> String {
    let g = q.bind(g);
    if !subgroups {
        return format!("SELECT {g}");
    }
    if at.current {
        return format!("SELECT gc.descendant_id FROM group_closure gc WHERE gc.ancestor_id = {g}");
    }
    let t = q.bind(at.at);
    format!(
        "WITH RECURSIVE tree(id) AS (SELECT {g} UNION SELECT gp.group_id FROM group_parents gp JOIN tree ON gp.parent_id = tree.id \
         WHERE gp.since <= {t} AND (gp.until IS NULL OR gp.until > {t})) SELECT id FROM tree"
    )
}

/// The per-(user, course) items of a population with their state code:
/// 0 COMPLIANT, 1 PENDING, 2 EXPIRING_SOON, 3 OVERDUE, 4 EXPIRED.
fn items_sql(
    q: &mut Q,
    viewer: &Viewer,
    filter: &ReportFilter,
    at: At,
    only: Option<&[Uuid]>,
) -> String {
    let pop = population(q, viewer, filter, at, only);
    let (t, soon, never) = (q.bind(at.at), q.bind(at.at + at.warning), q.bind(NEVER));
    let course = match filter.course_id {
        Some(c) => format!(" AND a.course_id = {}", q.bind(c)),
        None => String::new(),
    };
    // Driven by the population's users (their assignments by the (user, course) index, so the
    // pairs come out grouped without a sort); a pair is required when one of its assignments
    // holds a reason open at the instant. Only one cycle of a pair is open at a time, so the
    // due date of the required assignments open then is the pair's.
    format!(
        "SELECT s.*, CASE \
             WHEN s.completed_at IS NOT NULL AND s.best_expiry > {soon} THEN 0 \
             WHEN s.completed_at IS NOT NULL AND s.best_expiry > {t} THEN 2 \
             WHEN s.completed_at IS NOT NULL THEN 4 \
             WHEN s.due_at IS NOT NULL AND s.due_at <= {t} THEN 3 \
             ELSE 1 END AS state \
         FROM (SELECT a.user_id, a.course_id, \
                 MIN(CASE WHEN a.assigned_at <= {t} AND (a.completed_at IS NULL OR a.completed_at > {t}) \
                          AND (a.withdrawn_at IS NULL OR a.withdrawn_at > {t}) THEN a.due_at END) AS due_at, \
                 MAX(c.completed_at) AS completed_at, \
                 MAX(COALESCE(c.expires_at, {never})) AS best_expiry \
               FROM assignments a \
               LEFT JOIN completions c ON c.user_id = a.user_id AND c.course_id = a.course_id AND c.completed_at <= {t} \
               WHERE a.user_id IN ({pop}){course} \
                 AND EXISTS (SELECT 1 FROM assignment_reasons ar WHERE ar.assignment_id = a.id \
                             AND ar.created_at <= {t} AND (ar.until IS NULL OR ar.until > {t})) \
               GROUP BY a.user_id, a.course_id) s"
    )
}

#[derive(Debug, FromQueryResult)]
struct ItemRow {
    user_id: Uuid,
    course_id: Uuid,
    completed_at: Option<i64>,
    best_expiry: Option<i64>,
    due_at: Option<i64>,
    state: i32,
}

impl ItemRow {
    fn item(&self) -> Item {
        Item {
            course_id: self.course_id,
            state: CourseState::from_code(self.state),
            due_at: if self.completed_at.is_none() {
                self.due_at
            } else {
                None
            },
            completed_at: self.completed_at,
            expires_at: self.best_expiry.filter(|e| *e < NEVER),
        }
    }
}

async fn items_of(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &ReportFilter,
    at: At,
    users: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Item>>> {
    authz::load_scope(conn, viewer).await?;
    let mut out: HashMap<Uuid, Vec<Item>> = HashMap::new();
    if users.is_empty() {
        return Ok(out);
    }
    let mut q = Q::new();
    let inner = items_sql(&mut q, viewer, filter, at, Some(users));
    q.text = format!("SELECT * FROM ({inner}) x ORDER BY x.user_id, x.course_id");
    for row in q.all::<ItemRow>(conn).await? {
        out.entry(row.user_id).or_default().push(row.item());
    }
    Ok(out)
}

/// One user's status; NOT_FOUND when the user is unknown or not visible to the viewer.
pub async fn of_user(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
    at: At,
) -> AppResult<UserCompliance> {
    if rows::find::<entity::user::Entity>(conn, viewer.org_id, user_id)
        .await?
        .is_none()
        || !authz::can_see_user(conn, viewer, user_id).await?
    {
        return Err(AppError::not_found("user"));
    }
    let items = items_of(conn, viewer, &ReportFilter::default(), at, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    let worst = items.iter().map(|i| code_of(i.state)).max().unwrap_or(0);
    Ok(UserCompliance {
        user_id,
        state: UserState::from_worst(worst),
        items,
    })
}

fn code_of(s: CourseState) -> i32 {
    match s {
        CourseState::Compliant => 0,
        CourseState::Pending => 1,
        CourseState::ExpiringSoon => 2,
        CourseState::Overdue => 3,
        CourseState::Expired => 4,
    }
}

/// `SELECT user_id, worst` per user of the population: from the per-user summaries when the
/// instant is current and no course narrows the report, from history otherwise.
fn users_sql(q: &mut Q, viewer: &Viewer, filter: &ReportFilter, at: At, page: bool) -> String {
    if at.current && filter.course_id.is_none() {
        let pop = population_where(q, viewer, filter, at, None, page);
        let (t, soon) = (q.bind(at.at), q.bind(at.at + at.warning));
        // 3 stands for both OVERDUE and EXPIRED: the user is NON_COMPLIANT either way.
        return format!(
            "SELECT u.id AS user_id, CASE \
                 WHEN (s.n_incomplete > 0 AND s.min_due_incomplete <= {t}) OR s.min_valid_expiry <= {t} THEN 3 \
                 WHEN s.min_valid_expiry <= {soon} THEN 2 \
                 WHEN s.n_incomplete > 0 THEN 1 ELSE 0 END AS worst \
             FROM users u JOIN compliance_summaries s ON s.user_id = u.id \
             WHERE s.n_required > 0 AND {pop}"
        );
    }
    let items = items_sql(q, viewer, filter, at, None);
    format!("SELECT i.user_id, MAX(i.state) AS worst FROM ({items}) i GROUP BY i.user_id")
}

/// The summary counts of a population.
pub async fn counts(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &ReportFilter,
    at: At,
) -> AppResult<Counts> {
    authz::load_scope(conn, viewer).await?;
    let mut q = Q::new();
    let users = users_sql(&mut q, viewer, filter, at, false);
    q.text = format!(
        "SELECT COUNT(*) AS total, \
                COALESCE(SUM(CASE WHEN worst = 0 THEN 1 ELSE 0 END), 0) AS compliant, \
                COALESCE(SUM(CASE WHEN worst = 2 THEN 1 ELSE 0 END), 0) AS at_risk, \
                COALESCE(SUM(CASE WHEN worst = 1 THEN 1 ELSE 0 END), 0) AS pending, \
                COALESCE(SUM(CASE WHEN worst >= 3 THEN 1 ELSE 0 END), 0) AS non_compliant \
         FROM ({users}) w"
    );
    #[derive(FromQueryResult)]
    struct Row {
        total: i64,
        compliant: i64,
        at_risk: i64,
        pending: i64,
        non_compliant: i64,
    }
    let row: Option<Row> = q.all::<Row>(conn).await?.into_iter().next();
    Ok(row.map_or(Counts::default(), |r| Counts {
        total: r.total,
        compliant: r.compliant,
        at_risk: r.at_risk,
        pending: r.pending,
        non_compliant: r.non_compliant,
    }))
}

/// Per course of the population: how many users stand in each state.
pub async fn by_course(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &ReportFilter,
    at: At,
) -> AppResult<Vec<(Uuid, CourseCounts)>> {
    authz::load_scope(conn, viewer).await?;
    let mut q = Q::new();
    let items = items_sql(&mut q, viewer, filter, at, None);
    q.text = format!(
        "SELECT i.course_id, COUNT(*) AS total, \
                COALESCE(SUM(CASE WHEN i.state = 0 THEN 1 ELSE 0 END), 0) AS compliant, \
                COALESCE(SUM(CASE WHEN i.state = 2 THEN 1 ELSE 0 END), 0) AS expiring_soon, \
                COALESCE(SUM(CASE WHEN i.state = 4 THEN 1 ELSE 0 END), 0) AS expired, \
                COALESCE(SUM(CASE WHEN i.state = 3 THEN 1 ELSE 0 END), 0) AS overdue, \
                COALESCE(SUM(CASE WHEN i.state = 1 THEN 1 ELSE 0 END), 0) AS pending \
         FROM ({items}) i GROUP BY i.course_id ORDER BY i.course_id"
    );
    #[derive(FromQueryResult)]
    struct Row {
        course_id: Uuid,
        total: i64,
        compliant: i64,
        expiring_soon: i64,
        expired: i64,
        overdue: i64,
        pending: i64,
    }
    Ok(q.all::<Row>(conn)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.course_id,
                CourseCounts {
                    total: r.total,
                    compliant: r.compliant,
                    expiring_soon: r.expiring_soon,
                    expired: r.expired,
                    overdue: r.overdue,
                    pending: r.pending,
                },
            )
        })
        .collect())
}

/// A page of users of the population with their status, by user id; `states` keeps only those.
pub async fn users_page(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &ReportFilter,
    at: At,
    states: Option<&[UserState]>,
    page: &PageRequest,
) -> AppResult<Page<UserCompliance>> {
    authz::load_scope(conn, viewer).await?;
    let mut q = Q::new();
    let users = users_sql(&mut q, viewer, filter, at, true);
    let mut conditions = vec!["1 = 1".to_string()];
    if let Some(after) = page.after_key::<Uuid>()? {
        conditions.push(format!("w.user_id > {}", q.bind(after)));
    }
    if let Some(states) = states {
        let mut ors = vec!["1 = 0".to_string()];
        for s in states {
            let (lo, hi) = s.codes();
            ors.push(format!("(w.worst >= {lo} AND w.worst <= {hi})"));
        }
        conditions.push(format!("({})", ors.join(" OR ")));
    }
    q.text = format!(
        "SELECT w.user_id, w.worst FROM ({users}) w WHERE {} ORDER BY w.user_id LIMIT {}",
        conditions.join(" AND "),
        page.limit() + 1
    );
    #[derive(FromQueryResult)]
    struct Row {
        user_id: Uuid,
        worst: i32,
    }
    let rows = q.all::<Row>(conn).await?;
    let ids: Vec<Uuid> = rows.iter().take(page.limit()).map(|r| r.user_id).collect();
    // The page's users are the population's already: only the course narrows their items.
    let only_course = ReportFilter {
        course_id: filter.course_id,
        ..ReportFilter::default()
    };
    let mut items = items_of(conn, viewer, &only_course, at, &ids).await?;
    let list: Vec<UserCompliance> = rows
        .into_iter()
        .map(|r| UserCompliance {
            user_id: r.user_id,
            state: UserState::from_worst(r.worst),
            items: items.remove(&r.user_id).unwrap_or_default(),
        })
        .collect();
    Ok(page.finish(list, |u| u.user_id))
}

/// The population count for a users page with `states` (for `totalCount`).
pub async fn users_count(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &ReportFilter,
    at: At,
    states: Option<&[UserState]>,
) -> AppResult<i64> {
    let c = counts(conn, viewer, filter, at).await?;
    Ok(match states {
        None => c.total,
        Some(states) => states
            .iter()
            .map(|s| match s {
                UserState::Compliant => c.compliant,
                UserState::AtRisk => c.at_risk,
                UserState::Pending => c.pending,
                UserState::NonCompliant => c.non_compliant,
            })
            .sum(),
    })
}

/// The completions that count now (the latest of their user and course) expiring within
/// `within_days`, soonest first; the cursor is `(expires_at, id)`.
pub async fn expiring(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &ReportFilter,
    now: i64,
    within_days: i32,
    page: &PageRequest,
) -> AppResult<Page<entity::completion::Model>> {
    authz::load_scope(conn, viewer).await?;
    let (mut q, where_sql) = expiring_where(viewer, filter, now, within_days)?;
    let mut text = format!("SELECT c.* FROM completions c WHERE {where_sql}");
    if let Some((at, id)) = page.after_key::<(i64, Uuid)>()? {
        let (at, id) = (q.bind(at), q.bind(id));
        text.push_str(&format!(
            " AND (c.expires_at > {at} OR (c.expires_at = {at} AND c.id > {id}))"
        ));
    }
    text.push_str(&format!(
        " ORDER BY c.expires_at, c.id LIMIT {}",
        page.limit() + 1
    ));
    q.text = text;
    let rows: Vec<entity::completion::Model> = q.all(conn).await?;
    Ok(page.finish(rows, |c| (c.expires_at.unwrap_or(0), c.id)))
}

pub async fn expiring_count(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &ReportFilter,
    now: i64,
    within_days: i32,
) -> AppResult<i64> {
    authz::load_scope(conn, viewer).await?;
    let (mut q, where_sql) = expiring_where(viewer, filter, now, within_days)?;
    q.text = format!("SELECT COUNT(*) FROM completions c WHERE {where_sql}");
    q.scalar_i64(conn).await
}

fn expiring_where(
    viewer: &Viewer,
    filter: &ReportFilter,
    now: i64,
    within_days: i32,
) -> AppResult<(Q, String)> {
    if !(0..=36_500).contains(&within_days) {
        return Err(AppError::validation(
            "withinDays",
            "withinDays must be between 0 and 36500",
        ));
    }
    let mut q = Q::new();
    let at = At {
        at: now,
        warning: 0,
        current: true,
    };
    let pop = population(&mut q, viewer, filter, at, None);
    let (org, now_p, until) = (
        q.bind(viewer.org_id),
        q.bind(now),
        q.bind(now + i64::from(within_days) * MICROS_PER_DAY),
    );
    let mut text = format!(
        "c.org_id = {org} AND c.expires_at > {now_p} AND c.expires_at <= {until} AND c.user_id IN ({pop}) \
         AND NOT EXISTS (SELECT 1 FROM completions n WHERE n.user_id = c.user_id AND n.course_id = c.course_id \
                         AND n.completed_at <= {now_p} AND n.id <> c.id AND (n.expires_at IS NULL OR n.expires_at > c.expires_at))"
    );
    if let Some(course) = filter.course_id {
        text.push_str(&format!(" AND c.course_id = {}", q.bind(course)));
    }
    Ok((q, text))
}
