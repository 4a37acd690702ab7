//! The dry run of a rule change: who would gain and who would lose which assignment if a rule
//! were created (or rule `replacing` were replaced) with `spec`. Read-only: plain SELECTs on
//! the read pool, the same audience SQL the engine applies, nothing staged or written.

use entity::assignment::sql::COMPLETED;
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::Scope;
use super::apply::OPEN_STATUSES;
use super::audience;
use super::policy::{self, ExitPolicy, RuleSpec};
use crate::error::AppResult;
use crate::service::sql::Q;
use entity::rule;

/// The users of one course who would gain (or lose) it.
#[derive(Debug, Clone)]
pub struct CourseImpact {
    pub course_id: Uuid,
    pub count: i64,
    /// The first users (by id), at most the limit asked for.
    pub users: Vec<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct Impact {
    pub users_affected: i64,
    pub assign: Vec<CourseImpact>,
    pub withdraw: Vec<CourseImpact>,
}

/// The query text (with its bound values) of the users who would gain `course`.
fn gain_sql(q: &mut Q, org_id: Uuid, now: i64, spec: &RuleSpec, course: Uuid) -> String {
    let aud = audience::select(q, org_id, &spec.audience, now, -1, &Scope::All);
    let (c, now_p) = (q.bind(course), q.bind(now));
    format!(
        "SELECT aud.user_id FROM ({aud}) aud WHERE NOT EXISTS (SELECT 1 FROM assignments a WHERE a.user_id = aud.user_id \
         AND a.course_id = {c} AND (a.status IN {OPEN_STATUSES} OR (a.status = {COMPLETED} AND (a.renew_at IS NULL OR a.renew_at > {now_p}))))"
    )
}

/// The users who would lose `course` when rule `replacing` becomes `spec`.
fn loss_sql(
    q: &mut Q,
    org_id: Uuid,
    now: i64,
    spec: &RuleSpec,
    replacing: Uuid,
    course: Uuid,
) -> String {
    let (org, r, c) = (q.bind(org_id), q.bind(replacing), q.bind(course));
    let still_required = if spec.active && spec.courses.iter().any(|i| i.course_id == course) {
        let aud = audience::select(q, org_id, &spec.audience, now, -1, &Scope::All);
        format!(" AND a.user_id NOT IN (SELECT aud.user_id FROM ({aud}) aud)")
    } else {
        String::new()
    };
    format!(
        "SELECT a.user_id FROM assignments a \
         JOIN assignment_reasons ar ON ar.assignment_id = a.id AND ar.rule_id = {r} AND ar.until IS NULL \
         WHERE a.org_id = {org} AND a.course_id = {c} AND a.status IN {OPEN_STATUSES} AND NOT a.kept \
           AND NOT EXISTS (SELECT 1 FROM assignment_reasons o WHERE o.assignment_id = a.id AND o.until IS NULL AND o.rule_id <> {r}){still_required}"
    )
}

/// The count and the first `limit` users of one piece, in one statement (one evaluation of
/// the audience).
async fn impact_of(
    conn: &impl ConnectionTrait,
    build: impl Fn(&mut Q) -> String,
    course_id: Uuid,
    limit: usize,
) -> AppResult<CourseImpact> {
    #[derive(FromQueryResult)]
    struct Row {
        user_id: Uuid,
        n: i64,
    }
    let mut q = Q::new();
    let inner = build(&mut q);
    q.text = format!(
        "SELECT x.user_id, COUNT(*) OVER () AS n FROM ({inner}) x ORDER BY x.user_id LIMIT {}",
        limit.max(1)
    );
    let rows: Vec<Row> = q.all(conn).await?;
    Ok(CourseImpact {
        course_id,
        count: rows.first().map_or(0, |r| r.n),
        users: rows.into_iter().take(limit).map(|r| r.user_id).collect(),
    })
}

/// A query of affected users, built on demand into a statement.
type Piece<'a> = Box<dyn Fn(&mut Q) -> String + Send + Sync + 'a>;

pub async fn preview(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    now: i64,
    spec: &RuleSpec,
    replacing: Option<&rule::Model>,
    limit: usize,
) -> AppResult<Impact> {
    let mut impact = Impact::default();
    let mut pieces: Vec<Piece<'_>> = Vec::new();
    // Replacing an active rule that keeps its audience alters only the courses added, removed
    // or re-timed — what `rule::update` reconciles; otherwise every course of either bundle.
    let old = match replacing {
        Some(r) => policy::bundle_of(conn, &[r.id])
            .await?
            .remove(&r.id)
            .unwrap_or_default(),
        None => vec![],
    };
    let considered: Option<Vec<Uuid>> = match replacing {
        Some(o) if o.active && spec.active && policy::audience_of(o) == spec.audience => Some(
            policy::affected_courses(&spec.audience, &old, &spec.audience, &spec.courses),
        ),
        _ => None,
    };
    let considered = |c: Uuid| considered.as_ref().is_none_or(|list| list.contains(&c));
    if spec.active {
        for item in spec.courses.iter().filter(|i| considered(i.course_id)) {
            let course = item.course_id;
            let build = move |q: &mut Q| gain_sql(q, org_id, now, spec, course);
            let ci = impact_of(conn, build, course, limit).await?;
            if ci.count > 0 {
                impact.assign.push(ci);
                pieces.push(Box::new(build));
            }
        }
    }
    if let Some(rule_id) = replacing.map(|r| r.id) {
        let was_active = replacing.is_some_and(|r| r.active);
        if was_active && spec.on_exit == ExitPolicy::Withdraw {
            for item in old.iter().filter(|i| considered(i.course_id)) {
                let course = item.course_id;
                let build = move |q: &mut Q| loss_sql(q, org_id, now, spec, rule_id, course);
                let ci = impact_of(conn, build, course, limit).await?;
                if ci.count > 0 {
                    impact.withdraw.push(ci);
                    pieces.push(Box::new(build));
                }
            }
        }
    }
    if let [only] = &impact.assign[..]
        && impact.withdraw.is_empty()
    {
        impact.users_affected = only.count;
    } else if let ([], [only]) = (&impact.assign[..], &impact.withdraw[..]) {
        impact.users_affected = only.count;
    } else if !pieces.is_empty() {
        let mut q = Q::new();
        let parts: Vec<String> = pieces.iter().map(|p| p(&mut q)).collect();
        q.text = format!("SELECT COUNT(*) FROM ({}) x", parts.join(" UNION "));
        impact.users_affected = q.scalar_i64(conn).await?;
    }
    Ok(impact)
}
