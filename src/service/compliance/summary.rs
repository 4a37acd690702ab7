//! The per-user compliance summary: what a "now" report needs of each user, kept current by the
//! transactions that change it, so a report over 100,000 people reads 100,000 narrow rows instead
//! of aggregating a million assignments per request.
//!
//! Over the courses a user is required to take now (an open reason on one of their assignments):
//!
//! ```text
//! n_required          how many
//! n_incomplete        how many were never completed
//! min_due_incomplete  the earliest due date of those never completed (NEVER when none)
//! min_valid_expiry    the earliest "best expiry" of those completed (NEVER when none), where a
//!                     course's best expiry is the latest expiry of its completions
//! ```
//!
//! The timestamps are absolute, so the row stays right as time passes: at any instant `t`
//! the user is NON_COMPLIANT when an incomplete course is due by `t` or a completed one expired
//! by `t`, AT_RISK when one expires within the warning window, PENDING when one is incomplete,
//! COMPLIANT otherwise — exactly what `status` derives from history for `t = now`. Only the
//! required set and completions move it: the engine (`after_apply`, at the end of every
//! reconcile) and a recorded completion (`refresh_users`). Unlocks, overdue marks and expiries
//! of the scheduler do not.
//!
//! A reconcile that only adds requirements (a hire, a policy change reaching everyone) updates
//! the rows by delta, set-based; users whose existing requirements changed are recounted from
//! their assignments.

use sea_orm::{ConnectionTrait, DbBackend};
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::sql::Q;
use entity::assignment::OPEN_SQL as OPEN_STATUSES;

/// "Never": no due date, no expiry. Shared with `status`.
pub const NEVER: i64 = i64::MAX / 2;

fn least(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "LEAST",
        _ => "MIN",
    }
}

/// `SELECT user_id, n_required, n_incomplete, min_due_incomplete, min_valid_expiry` recounted
/// from history for the users of `users` (a SQL subquery or list of the caller's).
fn recount_sql(q: &mut Q, users: &str) -> String {
    let never = q.bind(NEVER);
    format!(
        "SELECT p.user_id, COUNT(*) AS n_required, \
                SUM(CASE WHEN p.completed_at IS NULL THEN 1 ELSE 0 END) AS n_incomplete, \
                MIN(CASE WHEN p.completed_at IS NULL THEN COALESCE(p.due_at, {never}) ELSE {never} END) AS min_due_incomplete, \
                MIN(CASE WHEN p.completed_at IS NULL THEN {never} ELSE p.best_expiry END) AS min_valid_expiry \
         FROM (SELECT r.user_id, r.course_id, \
                 (SELECT MAX(c.completed_at) FROM completions c WHERE c.user_id = r.user_id AND c.course_id = r.course_id) AS completed_at, \
                 (SELECT MAX(COALESCE(c.expires_at, {never})) FROM completions c WHERE c.user_id = r.user_id AND c.course_id = r.course_id) AS best_expiry, \
                 (SELECT MIN(o.due_at) FROM assignments o WHERE o.user_id = r.user_id AND o.course_id = r.course_id \
                    AND o.status IN {OPEN_STATUSES}) AS due_at \
               FROM (SELECT DISTINCT a.user_id, a.course_id FROM assignments a \
                     JOIN assignment_reasons ar ON ar.assignment_id = a.id AND ar.until IS NULL \
                     WHERE a.user_id IN ({users})) r) p \
         GROUP BY p.user_id"
    )
}

/// Recounts the summary rows of the users selected by `users` (SQL over the binds of `q`).
async fn recount(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    mut q: Q,
    users: &str,
) -> AppResult<()> {
    Q {
        text: format!("DELETE FROM compliance_summaries WHERE user_id IN ({users})"),
        values: q.values.clone(),
    }
    .exec(conn)
    .await?;
    let org = q.bind(org_id);
    let recounted = recount_sql(&mut q, users);
    q.text = format!(
        "INSERT INTO compliance_summaries (user_id, org_id, n_required, n_incomplete, min_due_incomplete, min_valid_expiry) \
         SELECT s.user_id, {org}, s.n_required, s.n_incomplete, s.min_due_incomplete, s.min_valid_expiry FROM ({recounted}) s"
    );
    q.exec(conn).await?;
    Ok(())
}

/// Recounts the summaries of these users of the organization.
pub async fn refresh_users(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    users: &[Uuid],
) -> AppResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    for chunk in users.chunks(500) {
        let mut q = Q::new();
        let list = q.bind_ids(chunk);
        recount(conn, org_id, q, &list).await?;
    }
    Ok(())
}

/// Recounts every summary of the organization (after a bulk load that bypassed the services).
pub async fn rebuild_org(conn: &impl ConnectionTrait, org_id: Uuid) -> AppResult<()> {
    let mut q = Q::new();
    let org = q.bind(org_id);
    let users = format!("SELECT id FROM users WHERE org_id = {org}");
    recount(conn, org_id, q, &users).await
}

/// Brings the summaries up to date at the end of a reconcile, from its staging tables
/// (`engine::stage`): `sg_new` holds the assignments it created, `sg_touched` and `sg_ended`
/// the existing ones whose reasons it changed.
///
/// A new assignment is a requirement the user did not have (had they had one on an earlier
/// cycle, its reason would have ended here and put them in `sg_ended`), so users with nothing
/// but new assignments are updated by delta; the others are recounted.
pub async fn after_apply(conn: &impl ConnectionTrait, org_id: Uuid) -> AppResult<()> {
    let backend = conn.get_database_backend();
    let changed = "SELECT a.user_id FROM assignments a WHERE a.id IN (SELECT id FROM sg_touched UNION SELECT assignment_id FROM sg_ended)";
    let mut q = Q::new();
    let (org, never) = (q.bind(org_id), q.bind(NEVER));
    let least = least(backend);
    q.text = format!(
        "INSERT INTO compliance_summaries (user_id, org_id, n_required, n_incomplete, min_due_incomplete, min_valid_expiry) \
         SELECT n.user_id, {org}, COUNT(*), \
                SUM(CASE WHEN n.kind = 'ASSIGNED' THEN 1 ELSE 0 END), \
                MIN(CASE WHEN n.kind = 'ASSIGNED' THEN COALESCE(n.due_at, {never}) ELSE {never} END), \
                MIN(CASE WHEN n.kind = 'ASSIGNED' THEN {never} ELSE \
                    (SELECT MAX(COALESCE(c.expires_at, {never})) FROM completions c WHERE c.user_id = n.user_id AND c.course_id = n.course_id) END) \
         FROM sg_new n WHERE n.user_id NOT IN ({changed}) GROUP BY n.user_id \
         ON CONFLICT (user_id) DO UPDATE SET \
            n_required = compliance_summaries.n_required + excluded.n_required, \
            n_incomplete = compliance_summaries.n_incomplete + excluded.n_incomplete, \
            min_due_incomplete = {least}(compliance_summaries.min_due_incomplete, excluded.min_due_incomplete), \
            min_valid_expiry = {least}(compliance_summaries.min_valid_expiry, excluded.min_valid_expiry)"
    );
    q.exec(conn).await?;
    let touched = Q {
        text: format!("SELECT COUNT(*) FROM ({changed} LIMIT 1) x"),
        values: vec![],
    };
    if touched.scalar_i64(conn).await? > 0 {
        recount(conn, org_id, Q::new(), changed).await?;
    }
    Ok(())
}
