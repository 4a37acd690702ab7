//! Applies the staged desired rows to the assignments of a scope, set-based:
//!
//! 1. desired (user, course) pairs without a current assignment get a new one (`ASSIGNED`
//!    event), `LOCKED` while its unlock date is ahead;
//! 2. desired reasons missing on the current assignment are added;
//! 3. reasons no longer desired end; an incomplete assignment left without reasons is withdrawn
//!    (`WITHDRAWN` event) unless a rule that just let go of it says KEEP — then it is kept;
//! 4. assignments whose reasons changed get their dates again (earliest unlock, earliest due),
//!    and unlock (`UNLOCKED` event) when no longer locked.
//!
//! A new assignment is also `LOCKED` while a prerequisite of its course has no completion by
//! the user; the completion that frees it unlocks it (see `compliance::scheduler`).
//!
//! "Current" means incomplete and open, or completed with a validity that has not reached its
//! renewal window. Completed work is never withdrawn.

use entity::assignment::sql::{ASSIGNED, COMPLETED, LOCKED, WITHDRAWN};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::audience::scope_sql;
use super::stage::uuid7_sql;
use super::{Outcome, Scope, prerequisites_met};
use crate::error::AppResult;
use crate::service::events::{self, EventKind};
use crate::service::sql::Q;
use crate::service::write::Write;

/// The statuses of an incomplete, open assignment.
pub const OPEN_STATUSES: &str = entity::assignment::OPEN_SQL;

/// SQL: assignment `a` is the current one of its (user, course) at `now` (a bound placeholder).
fn current(a: &str, now: &str) -> String {
    format!(
        "({a}.status IN {OPEN_STATUSES} OR ({a}.status = {COMPLETED} AND ({a}.renew_at IS NULL OR {a}.renew_at > {now})))"
    )
}

pub async fn apply(w: &Write, scope: &Scope, courses: Option<&[Uuid]>) -> AppResult<Outcome> {
    let (conn, org_id, now, seq) = (w, w.org_id, w.now, w.seq);
    let backend = conn.get_database_backend();

    // 1. New assignments.
    let mut q = Q::new();
    let (now_p, ms_p) = (q.bind(now), q.bind(now / 1000));
    let id = uuid7_sql(backend, &ms_p);
    q.text = format!(
        "INSERT INTO sg_new (id, user_id, course_id, unlock_at, due_at) \
         SELECT {id}, d.user_id, d.course_id, d.unlock_at, d.due_at FROM ( \
             SELECT user_id, course_id, \
                    CASE WHEN COUNT(*) > COUNT(unlock_at) THEN NULL ELSE MIN(unlock_at) END AS unlock_at, \
                    MIN(due_at) AS due_at \
             FROM sg_desired GROUP BY user_id, course_id) d \
         WHERE NOT EXISTS (SELECT 1 FROM assignments a WHERE a.user_id = d.user_id AND a.course_id = d.course_id AND {})",
        current("a", &now_p)
    );
    let created_count = q.exec(conn).await?;
    if created_count > 0 {
        credit_completions(conn, now).await?;
        let mut q = Q::new();
        let (org, now_p, seq_p) = (q.bind(org_id), q.bind(now), q.bind(seq));
        let met = prerequisites_met("sg_new.user_id", "sg_new.course_id", &now_p);
        q.text = format!(
            "INSERT INTO assignments (id, org_id, user_id, course_id, status, kept, assigned_at, unlock_at, due_at, \
                                      completed_at, expires_at, renew_at, completion_id, changed_seq) \
             SELECT id, {org}, user_id, course_id, \
                    CASE WHEN completion_id IS NOT NULL THEN {COMPLETED} \
                         WHEN unlock_at IS NOT NULL AND unlock_at > {now_p} THEN {LOCKED} \
                         WHEN NOT {met} THEN {LOCKED} ELSE {ASSIGNED} END, \
                    FALSE, {now_p}, unlock_at, due_at, completed_at, expires_at, renew_at, completion_id, {seq_p} FROM sg_new"
        );
        q.exec(conn).await?;
        events::append_selected(
            w,
            Q {
                text: "SELECT kind, id, user_id, course_id FROM sg_new".into(),
                values: vec![],
            },
        )
        .await?;
    }

    // 2. Reasons the current assignments lack. Existing assignments that gain one are
    // remembered: their dates are recomputed and a kept one is required again.
    let mut q = Q::new();
    let now_p = q.bind(now);
    // `CROSS JOIN` keeps SQLite's planner from scanning every assignment (it has no statistics
    // on the staging tables); PostgreSQL plans it as the inner join it is.
    q.text = format!(
        "INSERT INTO sg_touched (id) SELECT a.id FROM sg_desired d CROSS JOIN assignments a \
         WHERE a.user_id = d.user_id AND a.course_id = d.course_id AND {} \
           AND NOT EXISTS (SELECT 1 FROM assignment_reasons ar WHERE ar.assignment_id = a.id AND ar.rule_id = d.rule_id AND ar.until IS NULL) \
           AND NOT EXISTS (SELECT 1 FROM sg_new n WHERE n.id = a.id) \
         ON CONFLICT (id) DO NOTHING",
        current("a", &now_p)
    );
    q.exec(conn).await?;
    let mut q = Q::new();
    let (org, now_p) = (q.bind(org_id), q.bind(now));
    q.text = format!(
        "INSERT INTO assignment_reasons (org_id, assignment_id, rule_id, since, unlock_at, due_at, until, created_at, via_course_id) \
         SELECT {org}, a.id, d.rule_id, d.since, d.unlock_at, d.due_at, NULL, {now_p}, d.via_course_id FROM sg_desired d \
         CROSS JOIN assignments a WHERE a.user_id = d.user_id AND a.course_id = d.course_id AND {} \
         AND NOT EXISTS (SELECT 1 FROM assignment_reasons ar WHERE ar.assignment_id = a.id AND ar.rule_id = d.rule_id AND ar.until IS NULL)",
        current("a", &now_p)
    );
    q.exec(conn).await?;

    // 3. Reasons that no longer hold (or sit on an assignment that is no longer current).
    let mut q = Q::new();
    let now_p = q.bind(now);
    let in_scope = scope_sql(&mut q, scope, "a.user_id");
    // Courses and users imply the organization; naming it where they are given would lead
    // SQLite to walk the organization's index (a million rows) instead of theirs.
    let in_courses = match (courses, scope) {
        (Some(c), _) => format!("a.course_id IN ({})", q.bind_ids(c)),
        (None, Scope::All) => format!("a.org_id = {}", q.bind(org_id)),
        (None, _) => "1 = 1".into(),
    };
    q.text = format!(
        "INSERT INTO sg_ended (assignment_id, rule_id) \
         SELECT ar.assignment_id, ar.rule_id FROM assignments a \
         JOIN assignment_reasons ar ON ar.assignment_id = a.id AND ar.until IS NULL \
         WHERE {in_scope} AND {in_courses} \
           AND NOT ({} AND EXISTS (SELECT 1 FROM sg_desired d WHERE d.user_id = a.user_id AND d.course_id = a.course_id AND d.rule_id = ar.rule_id))",
        current("a", &now_p)
    );
    let ended = q.exec(conn).await?;
    let mut withdrawn = Vec::new();
    if ended > 0 {
        let mut q = Q::new();
        let now_p = q.bind(now);
        q.text = format!(
            "UPDATE assignment_reasons SET until = {now_p} WHERE until IS NULL \
             AND (assignment_id, rule_id) IN (SELECT assignment_id, rule_id FROM sg_ended)"
        );
        q.exec(conn).await?;
        // Incomplete assignments left without a reason: kept if a rule letting go says KEEP.
        let q = Q {
            text: format!(
                "INSERT INTO sg_exit (id, keep) \
                 SELECT a.id, CASE WHEN EXISTS (SELECT 1 FROM sg_ended e JOIN rules r ON r.id = e.rule_id \
                                                WHERE e.assignment_id = a.id AND r.on_exit = 'KEEP') THEN 1 ELSE 0 END \
                 FROM assignments a \
                 WHERE a.id IN (SELECT assignment_id FROM sg_ended) AND a.status IN {OPEN_STATUSES} AND NOT a.kept \
                   AND NOT EXISTS (SELECT 1 FROM assignment_reasons ar WHERE ar.assignment_id = a.id AND ar.until IS NULL)"
            ),
            values: vec![],
        };
        q.exec(conn).await?;
        let mut q = Q::new();
        let seq_p = q.bind(seq);
        q.text = format!(
            "UPDATE assignments SET kept = TRUE, changed_seq = {seq_p} WHERE id IN (SELECT id FROM sg_exit WHERE keep = 1)"
        );
        q.exec(conn).await?;
        let mut q = Q::new();
        q.text = format!(
            "SELECT {} AS kind, a.id, a.user_id, a.course_id FROM assignments a \
             WHERE a.id IN (SELECT id FROM sg_exit WHERE keep = 0)",
            q.bind(EventKind::Withdrawn.as_str())
        );
        events::append_selected(w, q).await?;
        let mut q = Q::new();
        let (now_p, seq_p) = (q.bind(now), q.bind(seq));
        q.text = format!(
            "UPDATE assignments SET status = {WITHDRAWN}, withdrawn_at = {now_p}, changed_seq = {seq_p} \
             WHERE id IN (SELECT id FROM sg_exit WHERE keep = 0)"
        );
        q.exec(conn).await?;
        withdrawn = Q {
            text: "SELECT id FROM sg_exit WHERE keep = 0".into(),
            values: vec![],
        }
        .ids(conn)
        .await?;
    }

    // 4. Dates (and the kept flag) of open assignments whose reasons changed.
    let changed = "(SELECT id FROM sg_touched UNION SELECT assignment_id FROM sg_ended)";
    let mut q = Q::new();
    let seq_p = q.bind(seq);
    q.text = format!(
        "UPDATE assignments SET \
            kept = FALSE, \
            unlock_at = (SELECT CASE WHEN COUNT(*) > COUNT(ar.unlock_at) THEN NULL ELSE MIN(ar.unlock_at) END \
                         FROM assignment_reasons ar WHERE ar.assignment_id = assignments.id AND ar.until IS NULL), \
            due_at = (SELECT MIN(ar.due_at) FROM assignment_reasons ar WHERE ar.assignment_id = assignments.id AND ar.until IS NULL), \
            changed_seq = {seq_p} \
         WHERE id IN {changed} AND status IN {OPEN_STATUSES} \
           AND EXISTS (SELECT 1 FROM assignment_reasons ar WHERE ar.assignment_id = assignments.id AND ar.until IS NULL)"
    );
    q.exec(conn).await?;
    let mut q = Q::new();
    let (kind, now_p) = (q.bind(EventKind::Unlocked.as_str()), q.bind(now));
    let unlockable = format!(
        "id IN {changed} AND status = {LOCKED} AND (unlock_at IS NULL OR unlock_at <= {now_p}) AND {}",
        prerequisites_met("assignments.user_id", "assignments.course_id", &now_p)
    );
    q.text = format!(
        "SELECT {kind} AS kind, id, user_id, course_id FROM assignments WHERE {unlockable}"
    );
    if events::append_selected(w, q).await? > 0 {
        let mut q = Q::new();
        let now_p = q.bind(now);
        q.text = format!(
            "UPDATE assignments SET status = {ASSIGNED} WHERE id IN {changed} AND status = {LOCKED} AND (unlock_at IS NULL OR unlock_at <= {now_p}) AND {}",
            prerequisites_met("assignments.user_id", "assignments.course_id", &now_p)
        );
        q.exec(conn).await?;
    }

    // 5. The per-user compliance summaries of the users whose requirements changed.
    crate::service::compliance::summary::after_apply(conn, org_id).await?;

    let created = if created_count > 0 {
        Q {
            text: "SELECT id FROM sg_new ORDER BY user_id, course_id".into(),
            values: vec![],
        }
        .ids(conn)
        .await?
    } else {
        vec![]
    };
    Ok(Outcome { created, withdrawn })
}

/// New requirements that an earlier completion already meets are recorded `COMPLETED` at once,
/// credited with it (a valid completion whose renewal window has not opened); a new cycle of a
/// course completed before is a renewal, due when the last completion expires.
async fn credit_completions(conn: &impl ConnectionTrait, now: i64) -> AppResult<()> {
    let mut q = Q::new();
    let now_p = q.bind(now);
    let best = format!(
        "(SELECT c.id FROM completions c WHERE c.user_id = sg_new.user_id AND c.course_id = sg_new.course_id \
          AND c.completed_at <= {now_p} AND (c.renew_at IS NULL OR c.renew_at > {now_p}) ORDER BY c.completed_at DESC, c.id DESC LIMIT 1)"
    );
    q.text = format!(
        "UPDATE sg_new SET completion_id = {best}, kind = 'COMPLETED' \
         WHERE EXISTS (SELECT 1 FROM completions c WHERE c.user_id = sg_new.user_id AND c.course_id = sg_new.course_id)"
    );
    if q.exec(conn).await? == 0 {
        return Ok(());
    }
    Q {
        text: "UPDATE sg_new SET \
                 completed_at = (SELECT c.completed_at FROM completions c WHERE c.id = sg_new.completion_id), \
                 expires_at = (SELECT c.expires_at FROM completions c WHERE c.id = sg_new.completion_id), \
                 renew_at = (SELECT c.renew_at FROM completions c WHERE c.id = sg_new.completion_id), \
                 unlock_at = NULL \
               WHERE completion_id IS NOT NULL"
            .into(),
        values: vec![],
    }
    .exec(conn)
    .await?;
    // Only rows marked above (an earlier completion exists) but left without a valid one are
    // renewals; a user who never completed the course keeps `ASSIGNED`.
    let mut q = Q::new();
    let now_p = q.bind(now);
    let last_expiry = "(SELECT c.expires_at FROM completions c WHERE c.user_id = sg_new.user_id AND c.course_id = sg_new.course_id \
                        ORDER BY c.completed_at DESC, c.id DESC LIMIT 1)";
    q.text = format!(
        "UPDATE sg_new SET kind = 'RENEWAL_OPENED', \
                due_at = CASE WHEN {last_expiry} > {now_p} THEN {last_expiry} ELSE due_at END \
         WHERE completion_id IS NULL AND kind = 'COMPLETED'"
    );
    q.exec(conn).await?;
    Ok(())
}
