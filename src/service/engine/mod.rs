//! The assignment engine: desired-state reconciliation.
//!
//! ```text
//! desired(state) = { (user, course) : some active rule requires it }, each with its reasons
//! reconcile(scope) = make the assignments of the users in scope equal desired(state)
//! ```
//!
//! Every trigger (a hire, a membership change, a rule change …) calls `reconcile` inside its own
//! transaction. Desired rows are staged in a per-connection temporary table — filled by
//! evaluating audiences in Rust for a handful of users, or by one `INSERT … SELECT` per rule for
//! bulk changes — and then applied with a fixed set of set-based statements (`apply`), so a
//! policy change reaching 100,000 people is a dozen statements, not 100,000 round trips.
//!
//! Prerequisites: a rule that requires a course also requires the course's prerequisites
//! (transitively), each with a reason naming the rule and the course that needs it; an
//! assignment stays `LOCKED` until every prerequisite of its course has a completion.

mod apply;
pub mod audience;
pub mod policy;
pub mod preview;
pub mod scope;
mod stage;

pub use scope::{Outcome, Scope};

use std::collections::{HashMap, HashSet};

use sea_orm::ConnectionTrait;
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::audit::entry::Action;
use crate::service::sql;
use crate::service::write::Write;
use crate::vals;

pub use apply::OPEN_STATUSES;

/// At most this many users are evaluated in Rust; larger scopes go through SQL.
const SMALL_SCOPE: usize = 64;

/// Makes the assignments of `scope` (restricted to `courses` when given) equal to what the
/// active rules require now. Idempotent: a second call changes nothing and emits no event.
///
/// Runs inside the change's transaction: the unit of work calls it before commit for what the
/// change asked with `Write::reconcile`; a change that must see the result at once calls it
/// itself. What it changes is part of the change's outcome.
pub async fn reconcile(w: &Write, scope: Scope, courses: Option<Vec<Uuid>>) -> AppResult<Outcome> {
    if matches!(&scope, Scope::Users(u) if u.is_empty())
        || matches!(&courses, Some(c) if c.is_empty())
    {
        return Ok(Outcome::default());
    }
    let (kind, users) = match &scope {
        Scope::Users(u) => ("users", Some(u.len())),
        Scope::Members(_) => ("members", None),
        Scope::All => ("all", None),
    };
    let span = tracing::info_span!("reconcile", scope = kind, users, courses = ?courses.as_ref().map(Vec::len));
    let started = std::time::Instant::now();
    let outcome = reconcile_scope(w, scope, courses).instrument(span).await?;
    crate::measure::reconcile(
        kind,
        users,
        outcome.created.len() + outcome.withdrawn.len(),
        started.elapsed(),
    );
    Ok(outcome)
}

async fn reconcile_scope(
    w: &Write,
    scope: Scope,
    courses: Option<Vec<Uuid>>,
) -> AppResult<Outcome> {
    let (org_id, now, seq) = (w.org_id, w.now, w.seq);
    let courses = match courses {
        Some(c) => Some(with_prerequisite_links(w, org_id, c).await?),
        None => None,
    };
    stage::prepare(w).await?;
    match &scope {
        Scope::Users(users) if users.len() <= SMALL_SCOPE => {
            stage::fill_in_rust(w, org_id, now, seq, users, courses.as_deref()).await?
        }
        _ => stage::fill_in_sql(w, org_id, now, seq, &scope, courses.as_deref()).await?,
    }
    stage::fill_manual(w, org_id, &scope, courses.as_deref()).await?;
    stage::expand_prerequisites(w).await?;
    let outcome = apply::apply(w, &scope, courses.as_deref()).await?;
    w.add_outcome(&outcome);
    if !outcome.created.is_empty() || !outcome.withdrawn.is_empty() {
        const LISTED: usize = 100;
        w.audit(
            Action::AssignmentsReconciled,
            w.subject(),
            None,
            Some(json!({
                "created": outcome.created.len(),
                "withdrawn": outcome.withdrawn.len(),
                "createdIds": outcome.created.iter().take(LISTED).collect::<Vec<_>>(),
                "withdrawnIds": outcome.withdrawn.iter().take(LISTED).collect::<Vec<_>>(),
            })),
        )
        .await?;
    }
    Ok(outcome)
}

/// SQL: every prerequisite of course `course` has a completion by user `user` at `now` (a bound
/// placeholder). Any completion counts, expired or not: a prerequisite is learnt once.
pub fn prerequisites_met(user: &str, course: &str, now: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM course_prerequisites gcp WHERE gcp.course_id = {course} \
         AND NOT EXISTS (SELECT 1 FROM completions gc WHERE gc.user_id = {user} \
                         AND gc.course_id = gcp.prerequisite_id AND gc.completed_at <= {now}))"
    )
}

/// A course restriction widened to whatever its desired rows depend on: the courses' own
/// prerequisites (a rule letting go of a course lets go of them too), and every course that
/// needs one of those (their rules hold reasons on the same prerequisites).
async fn with_prerequisite_links(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    courses: Vec<Uuid>,
) -> AppResult<Vec<Uuid>> {
    let rows = conn
        .query_all_raw(sql::stmt(
            conn,
            "SELECT course_id, prerequisite_id FROM course_prerequisites WHERE org_id = $1",
            vals![org_id],
        ))
        .await?;
    if rows.is_empty() {
        return Ok(courses);
    }
    let mut needs: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    let mut needed_by: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        let (c, p) = (
            r.try_get_by_index::<Uuid>(0)?,
            r.try_get_by_index::<Uuid>(1)?,
        );
        needs.entry(c).or_default().push(p);
        needed_by.entry(p).or_default().push(c);
    }
    let walk = |start: Vec<Uuid>, edges: &HashMap<Uuid, Vec<Uuid>>| {
        let mut seen: HashSet<Uuid> = start.iter().copied().collect();
        let mut order = start.clone();
        let mut stack = start;
        while let Some(n) = stack.pop() {
            for m in edges.get(&n).into_iter().flatten() {
                if seen.insert(*m) {
                    order.push(*m);
                    stack.push(*m);
                }
            }
        }
        order
    };
    let down = walk(courses, &needs);
    Ok(walk(down, &needed_by))
}
