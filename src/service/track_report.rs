//! Reports over tracks: `track_report` (enrolment, the step funnel with drop-off, assessment
//! scores with a histogram, median days to complete, evaluator calibration) as of any instant,
//! in three aggregate statements; and `skills_matrix`, the skill overlap of pairs of roles.

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use crate::clock::MICROS_PER_DAY;
use crate::error::{AppError, AppResult};
use crate::service::rows;
use crate::service::sql::Q;
use crate::service::viewer::Viewer;
use crate::service::{authz, role, track};

/// One step of the funnel.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    pub course_id: Uuid,
    pub position: i32,
    pub foundation: bool,
    /// Enrolled learners who completed every earlier step.
    pub reached: i64,
    /// Of those, the ones who completed this step.
    pub completed: i64,
    /// reached − completed: learners who stall here.
    pub drop_off: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorReport {
    pub evaluator_id: Uuid,
    pub count: i64,
    pub mean: f64,
    /// This evaluator's mean minus the track's mean: positive grades high.
    pub difference: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreReport {
    pub count: i64,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    /// Ten buckets of ten percentage points: [0, 10), [10, 20) … [90, 100].
    pub histogram: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrackReport {
    pub track_id: Uuid,
    pub as_of: i64,
    pub enrolled: i64,
    pub completed: i64,
    pub steps: Vec<StepReport>,
    pub scores: ScoreReport,
    pub median_days_to_complete: Option<f64>,
    pub evaluators: Vec<EvaluatorReport>,
}

impl TrackReport {
    /// completed ÷ enrolled, 0 when nobody is enrolled.
    pub fn completion_rate(&self) -> f64 {
        if self.enrolled == 0 {
            0.0
        } else {
            self.completed as f64 / self.enrolled as f64
        }
    }
}

#[derive(FromQueryResult)]
struct MaskRow {
    mask: i64,
    days: Option<i64>,
    n: i64,
}

#[derive(FromQueryResult)]
struct BucketRow {
    bucket: i64,
    n: i64,
    total: f64,
}

#[derive(FromQueryResult)]
struct EvaluatorRow {
    evaluator_id: Uuid,
    n: i64,
    total: f64,
}

#[derive(FromQueryResult)]
struct PercentRow {
    percent: f64,
}

/// Who is enrolled at `as_of`: assigned a course of the track by then and not withdrawn from
/// it by then. A learner's progress: the steps with a completion by then.
pub async fn track_report(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    track_id: Uuid,
    as_of: i64,
) -> AppResult<TrackReport> {
    let t = rows::require::<entity::track::Entity>(conn, viewer.org_id, track_id).await?;
    authz::require_track_reader(viewer, t.owner_id)?;
    let steps = track::courses_of(conn, &[track_id])
        .await?
        .remove(&track_id)
        .unwrap_or_default();
    let full: i64 = steps.iter().map(|s| 1i64 << s.position).sum();

    // 1. Progress: learners grouped by the set of steps completed (a bit per position), with
    // whole days from first assignment to last completion for those who finished.
    let mut q = Q::new();
    let (org, tr, at, full_p, day) = (
        q.bind(viewer.org_id),
        q.bind(track_id),
        q.bind(as_of),
        q.bind(full),
        q.bind(MICROS_PER_DAY),
    );
    q.text = format!(
        "WITH enrolled AS ( \
             SELECT a.user_id, MIN(a.assigned_at) AS first_at FROM assignments a \
             JOIN track_courses tc ON tc.course_id = a.course_id AND tc.track_id = {tr} \
             WHERE a.org_id = {org} AND a.assigned_at <= {at} AND (a.withdrawn_at IS NULL OR a.withdrawn_at > {at}) \
             GROUP BY a.user_id), \
         done AS ( \
             SELECT c.user_id, (CAST(1 AS BIGINT) << tc.position) AS bit, MIN(c.completed_at) AS done_at FROM completions c \
             JOIN track_courses tc ON tc.course_id = c.course_id AND tc.track_id = {tr} \
             WHERE c.org_id = {org} AND c.completed_at <= {at} \
             GROUP BY c.user_id, tc.position), \
         progress AS ( \
             SELECT e.user_id, CAST(COALESCE(SUM(d.bit), 0) AS BIGINT) AS mask, MIN(e.first_at) AS first_at, MAX(d.done_at) AS last_at \
             FROM enrolled e LEFT JOIN done d ON d.user_id = e.user_id GROUP BY e.user_id) \
         SELECT mask, CASE WHEN mask = {full_p} THEN (CASE WHEN last_at > first_at THEN last_at - first_at ELSE 0 END) / {day} END AS days, \
                COUNT(*) AS n \
         FROM progress GROUP BY mask, CASE WHEN mask = {full_p} THEN (CASE WHEN last_at > first_at THEN last_at - first_at ELSE 0 END) / {day} END"
    );
    let rows: Vec<MaskRow> = q.all(conn).await?;
    let enrolled: i64 = rows.iter().map(|r| r.n).sum();
    let completed: i64 = rows.iter().filter(|r| r.mask == full).map(|r| r.n).sum();
    let mut step_reports = Vec::with_capacity(steps.len());
    for s in &steps {
        let before: i64 = (1i64 << s.position) - 1;
        let bit = 1i64 << s.position;
        let reached: i64 = rows
            .iter()
            .filter(|r| r.mask & before == before)
            .map(|r| r.n)
            .sum();
        let done: i64 = rows
            .iter()
            .filter(|r| r.mask & before == before && r.mask & bit != 0)
            .map(|r| r.n)
            .sum();
        step_reports.push(StepReport {
            course_id: s.course_id,
            position: s.position,
            foundation: s.foundation,
            reached,
            completed: done,
            drop_off: reached - done,
        });
    }
    let mut days: BTreeMap<i64, i64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.mask == full) {
        *days.entry(r.days.unwrap_or(0)).or_default() += r.n;
    }
    let median_days_to_complete = median_of_counts(&days);

    // 2. Assessment scores: ten buckets with their sums (count and mean follow), then the
    // median by position.
    let mut q = Q::new();
    let (org, tr, at) = (q.bind(viewer.org_id), q.bind(track_id), q.bind(as_of));
    let bucket = (1..10)
        .map(|b| format!("WHEN percent < {} THEN {}", b * 10, b - 1))
        .collect::<Vec<_>>()
        .join(" ");
    q.text = format!(
        "SELECT CAST(CASE {bucket} ELSE 9 END AS BIGINT) AS bucket, COUNT(*) AS n, CAST(SUM(percent) AS DOUBLE PRECISION) AS total \
         FROM assessments WHERE org_id = {org} AND track_id = {tr} AND assessed_at <= {at} \
         GROUP BY CASE {bucket} ELSE 9 END"
    );
    let buckets: Vec<BucketRow> = q.all(conn).await?;
    let mut histogram = vec![0i64; 10];
    let (mut count, mut total) = (0i64, 0f64);
    for b in &buckets {
        histogram[b.bucket.clamp(0, 9) as usize] += b.n;
        count += b.n;
        total += b.total;
    }
    let mean = (count > 0).then(|| total / count as f64);
    let median = if count > 0 {
        let mut q = Q::new();
        let (org, tr, at) = (q.bind(viewer.org_id), q.bind(track_id), q.bind(as_of));
        let offset = q.bind((count - 1) / 2);
        q.text = format!(
            "SELECT percent FROM assessments WHERE org_id = {org} AND track_id = {tr} AND assessed_at <= {at} \
             ORDER BY percent LIMIT 2 OFFSET {offset}"
        );
        let mid: Vec<PercentRow> = q.all(conn).await?;
        match (count % 2, mid.as_slice()) {
            (1, [m, ..]) => Some(m.percent),
            (0, [a, b]) => Some((a.percent + b.percent) / 2.0),
            (_, [m, ..]) => Some(m.percent),
            _ => None,
        }
    } else {
        None
    };

    // 3. Evaluator calibration.
    let mut q = Q::new();
    let (org, tr, at) = (q.bind(viewer.org_id), q.bind(track_id), q.bind(as_of));
    q.text = format!(
        "SELECT evaluator_id, COUNT(*) AS n, CAST(SUM(percent) AS DOUBLE PRECISION) AS total FROM assessments \
         WHERE org_id = {org} AND track_id = {tr} AND assessed_at <= {at} GROUP BY evaluator_id"
    );
    let rows: Vec<EvaluatorRow> = q.all(conn).await?;
    let track_mean = mean.unwrap_or(0.0);
    let mut evaluators: Vec<EvaluatorReport> = rows
        .into_iter()
        .map(|r| {
            let m = r.total / r.n as f64;
            EvaluatorReport {
                evaluator_id: r.evaluator_id,
                count: r.n,
                mean: m,
                difference: m - track_mean,
            }
        })
        .collect();
    // Largest deviation first: the evaluators to calibrate.
    evaluators.sort_by(|a, b| {
        b.difference
            .abs()
            .total_cmp(&a.difference.abs())
            .then(a.evaluator_id.cmp(&b.evaluator_id))
    });

    Ok(TrackReport {
        track_id,
        as_of,
        enrolled,
        completed,
        steps: step_reports,
        scores: ScoreReport {
            count,
            mean,
            median,
            histogram,
        },
        median_days_to_complete,
        evaluators,
    })
}

/// The median of values given as (value → how many), or None when empty.
fn median_of_counts(counts: &BTreeMap<i64, i64>) -> Option<f64> {
    let n: i64 = counts.values().sum();
    if n == 0 {
        return None;
    }
    let nth = |k: i64| -> i64 {
        let mut seen = 0;
        for (v, c) in counts {
            seen += c;
            if seen > k {
                return *v;
            }
        }
        0
    };
    Some(if n % 2 == 1 {
        nth(n / 2) as f64
    } else {
        (nth(n / 2 - 1) + nth(n / 2)) as f64 / 2.0
    })
}

/// The skills two roles share.
#[derive(Debug, Clone, PartialEq)]
pub struct RolePair {
    pub a: Uuid,
    pub b: Uuid,
    pub shared: Vec<Uuid>,
    /// shared ÷ the skills either role requires (union), 0–100, rounded down.
    pub percent: i32,
    /// At least `FOUNDATION_PERCENT`: a candidate for a shared foundation.
    pub foundation_candidate: bool,
}

pub const FOUNDATION_PERCENT: i32 = 70;
pub const MAX_MATRIX_ROLES: usize = 50;

/// Every pair of `role_ids` (each visible to the viewer, else NOT_FOUND), in the order given.
pub async fn skills_matrix(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    role_ids: &[Uuid],
) -> AppResult<Vec<RolePair>> {
    let mut seen = HashSet::new();
    let ids: Vec<Uuid> = role_ids
        .iter()
        .copied()
        .filter(|r| seen.insert(*r))
        .collect();
    if ids.len() < 2 || ids.len() > MAX_MATRIX_ROLES {
        return Err(AppError::validation(
            "roleIds",
            format!("give 2 to {MAX_MATRIX_ROLES} different roles"),
        ));
    }
    let found = rows::find_many::<entity::role::Entity>(conn, viewer.org_id, &ids).await?;
    let scope = authz::role_scope(conn, viewer).await?;
    if found.len() != ids.len() || ids.iter().any(|r| !scope.contains(*r)) {
        return Err(AppError::not_found("role"));
    }
    let skills: HashMap<Uuid, Vec<Uuid>> = role::skills_of(conn, &ids)
        .await?
        .into_iter()
        .map(|(r, list)| (r, list.into_iter().map(|s| s.skill_id).collect()))
        .collect();
    let empty = Vec::new();
    let mut out = Vec::new();
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            let sa = skills.get(a).unwrap_or(&empty);
            let sb: HashSet<Uuid> = skills.get(b).unwrap_or(&empty).iter().copied().collect();
            let shared: Vec<Uuid> = sa.iter().copied().filter(|s| sb.contains(s)).collect();
            let union = sa.len() + sb.len() - shared.len();
            let percent = (shared.len() * 100).checked_div(union).unwrap_or(0) as i32;
            out.push(RolePair {
                a: *a,
                b: *b,
                shared,
                percent,
                foundation_candidate: percent >= FOUNDATION_PERCENT,
            });
        }
    }
    Ok(out)
}
