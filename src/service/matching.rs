//! Match scores, gaps, career pathways and course recommendations (DESIGN.md, "Roles, match
//! scores and career pathways"). A skill is met when the user's level reaches the required level
//! (or 1 where the role sets none); the score is met ÷ required, rounded down to a percent, and a
//! role without skills has none. Scores are computed in set-based SQL, never per role or per user.

use std::collections::{HashMap, VecDeque};

use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::authz;
use crate::service::page::{Page, PageRequest};
use crate::service::role::{self, RoleFilter};
use crate::service::rows;
use crate::service::sql::{self, Q};
use crate::service::viewer::Viewer;
use crate::vals;
use entity::course;

/// One user's score for one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub user_id: Uuid,
    pub role_id: Uuid,
    pub required: i64,
    pub met: i64,
}

impl Match {
    /// 0–100, rounded down; `None` for a role without skills.
    pub fn percent(&self) -> Option<i32> {
        percent(self.met, self.required)
    }
}

pub fn percent(met: i64, required: i64) -> Option<i32> {
    (required > 0).then(|| (met * 100 / required) as i32)
}

/// A required skill the user has not met: the level asked for (`None`: any rating) and the
/// user's current level (`None`: unrated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub skill_id: Uuid,
    pub required: Option<i32>,
    pub current: Option<i32>,
}

/// A user's whole fit for a role: the score and every gap, in the role's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fit {
    pub required: i64,
    pub met: i64,
    pub gaps: Vec<Gap>,
}

/// What `roleMatches` filters on; all given parts must hold.
#[derive(Debug, Clone, Default)]
pub struct MatchFilter {
    pub roles: RoleFilter,
    /// Only roles with a score of at least this (roles without a score drop out).
    pub min_percent: Option<i32>,
}

fn check_min_percent(min: Option<i32>) -> AppResult<()> {
    match min {
        Some(m) if !(0..=100).contains(&m) => Err(AppError::validation(
            "minPercent",
            "minPercent must be between 0 and 100",
        )),
        _ => Ok(()),
    }
}

#[derive(Debug, FromQueryResult)]
struct RoleScoreRow {
    role_id: Uuid,
    name_norm: String,
    required: i64,
    met: i64,
    score: i64,
}

/// The user's scores for the roles `viewer` may browse, best first, roles without a score last
/// (then by name). The cursor is (score, name, id), a score of -1 standing for none.
pub async fn role_matches(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
    filter: &MatchFilter,
    page: &PageRequest,
) -> AppResult<Page<Match>> {
    authz::require_visible_user(conn, viewer, user_id).await?;
    check_min_percent(filter.min_percent)?;
    let mut q = Q::new();
    let scored = role_scores_sql(&mut q, viewer, user_id, filter);
    let mut text = format!("SELECT * FROM ({scored}) m WHERE 1 = 1");
    if let Some((score, name, id)) = page.after_key::<(i64, String, Uuid)>()? {
        let (s, n, i) = (q.bind(score), q.bind(name), q.bind(id));
        text.push_str(&format!(
            " AND (m.score < {s} OR (m.score = {s} AND (m.name_norm > {n} OR (m.name_norm = {n} AND m.role_id > {i}))))"
        ));
    }
    text.push_str(&format!(
        " ORDER BY m.score DESC, m.name_norm, m.role_id LIMIT {}",
        page.limit() + 1
    ));
    q.text = text;
    let rows: Vec<RoleScoreRow> = q.all(conn).await?;
    Ok(page
        .finish(rows, |r| (r.score, r.name_norm.clone(), r.role_id))
        .map(|r| Match {
            user_id,
            role_id: r.role_id,
            required: r.required,
            met: r.met,
        }))
}

pub async fn count_role_matches(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
    filter: &MatchFilter,
) -> AppResult<i64> {
    let mut q = Q::new();
    let scored = role_scores_sql(&mut q, viewer, user_id, filter);
    q.text = format!("SELECT COUNT(*) FROM ({scored}) m");
    q.scalar_i64(conn).await
}

/// Scores of one user against every browsable role that passes the filter: the met counts come
/// from the user's few rated skills joined to the requirements that name them, not from a
/// lookup per requirement.
fn role_scores_sql(q: &mut Q, viewer: &Viewer, user_id: Uuid, filter: &MatchFilter) -> String {
    let org = q.bind(viewer.org_id);
    let user = q.bind(user_id);
    let mut clauses = vec![format!("r.org_id = {org}")];
    clauses.push(authz::visible_roles_sql(q, viewer, "r.id"));
    role::filter_clauses(q, &filter.roles, &mut clauses);
    let min = match filter.min_percent {
        Some(m) => format!(" WHERE s.score >= {}", q.bind(m)),
        None => String::new(),
    };
    format!(
        "SELECT * FROM ( \
           SELECT r.id AS role_id, r.name_norm AS name_norm, \
                  COALESCE(req.required, 0) AS required, COALESCE(hit.met, 0) AS met, \
                  CASE WHEN req.required IS NULL THEN -1 ELSE COALESCE(hit.met, 0) * 100 / req.required END AS score \
           FROM roles r \
           LEFT JOIN (SELECT role_id, COUNT(*) AS required FROM role_skills WHERE org_id = {org} GROUP BY role_id) req \
             ON req.role_id = r.id \
           LEFT JOIN (SELECT rs.role_id, COUNT(*) AS met FROM user_skills us \
                        JOIN role_skills rs ON rs.skill_id = us.skill_id AND us.level >= COALESCE(rs.level, 1) \
                      WHERE us.user_id = {user} AND us.level IS NOT NULL GROUP BY rs.role_id) hit \
             ON hit.role_id = r.id \
           WHERE {} ) s{min}",
        clauses.join(" AND ")
    )
}

#[derive(Debug, FromQueryResult)]
struct UserScoreRow {
    user_id: Uuid,
    met: i64,
    score: i64,
}

/// The scores of every active user the viewer may see for one role, best first (then by user
/// id). The cursor is (score, user id).
pub async fn user_matches(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    role_id: Uuid,
    min_percent: Option<i32>,
    page: &PageRequest,
) -> AppResult<Page<Match>> {
    check_min_percent(min_percent)?;
    role::require_visible(conn, viewer, role_id).await?;
    let required = required_count(conn, role_id).await?;
    let mut q = Q::new();
    authz::load_scope(conn, viewer).await?;
    let scored = user_scores_sql(&mut q, viewer, role_id, required, min_percent);
    let mut text = format!("SELECT * FROM ({scored}) m WHERE 1 = 1");
    if let Some((score, id)) = page.after_key::<(i64, Uuid)>()? {
        let (s, i) = (q.bind(score), q.bind(id));
        text.push_str(&format!(
            " AND (m.score < {s} OR (m.score = {s} AND m.user_id > {i}))"
        ));
    }
    text.push_str(&format!(
        " ORDER BY m.score DESC, m.user_id LIMIT {}",
        page.limit() + 1
    ));
    q.text = text;
    let rows: Vec<UserScoreRow> = q.all(conn).await?;
    Ok(page.finish(rows, |r| (r.score, r.user_id)).map(|r| Match {
        user_id: r.user_id,
        role_id,
        required,
        met: r.met,
    }))
}

pub async fn count_user_matches(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    role_id: Uuid,
    min_percent: Option<i32>,
) -> AppResult<i64> {
    let required = required_count(conn, role_id).await?;
    let mut q = Q::new();
    authz::load_scope(conn, viewer).await?;
    let scored = user_scores_sql(&mut q, viewer, role_id, required, min_percent);
    q.text = format!("SELECT COUNT(*) FROM ({scored}) m");
    q.scalar_i64(conn).await
}

async fn required_count(conn: &impl ConnectionTrait, role_id: Uuid) -> AppResult<i64> {
    sql::scalar_i64(
        conn,
        "SELECT COUNT(*) FROM role_skills WHERE role_id = $1",
        vals![role_id],
    )
    .await
}

/// Scores of the visible active users for one role: the requirements (a handful of skills) are
/// joined to the ratings through the skill index, so only users holding a required skill are
/// touched before the outer join with the users.
fn user_scores_sql(
    q: &mut Q,
    viewer: &Viewer,
    role_id: Uuid,
    required: i64,
    min_percent: Option<i32>,
) -> String {
    let org = q.bind(viewer.org_id);
    let role = q.bind(role_id);
    let visible = authz::visible_users_sql(q, viewer, "u.id");
    let score = if required == 0 {
        "-1".to_string()
    } else {
        format!("COALESCE(hit.met, 0) * 100 / {required}")
    };
    let min = match min_percent {
        Some(m) => format!(" WHERE s.score >= {}", q.bind(m)),
        None => String::new(),
    };
    format!(
        "SELECT * FROM ( \
           SELECT u.id AS user_id, COALESCE(hit.met, 0) AS met, {score} AS score \
           FROM users u \
           LEFT JOIN (SELECT us.user_id, COUNT(*) AS met FROM role_skills rs \
                        JOIN user_skills us ON us.skill_id = rs.skill_id AND us.level >= COALESCE(rs.level, 1) \
                      WHERE rs.role_id = {role} GROUP BY us.user_id) hit \
             ON hit.user_id = u.id \
           WHERE u.org_id = {org} AND u.active = TRUE AND {visible} ) s{min}"
    )
}

#[derive(Debug, FromQueryResult)]
struct FitRow {
    user_id: Uuid,
    role_id: Uuid,
    skill_id: Uuid,
    required_level: Option<i32>,
    current_level: Option<i32>,
}

/// The fit of each (user, role) pair, in one statement for all pairs. Pairs naming an unknown
/// role get an empty fit.
pub async fn fits(
    conn: &impl ConnectionTrait,
    pairs: &[(Uuid, Uuid)],
) -> AppResult<HashMap<(Uuid, Uuid), Fit>> {
    let mut out: HashMap<(Uuid, Uuid), Fit> = pairs.iter().map(|p| (*p, Fit::default())).collect();
    // Two parameters per pair: stay well under the parameter limits.
    for chunk in pairs.chunks(5_000) {
        let mut q = Q::new();
        let values: Vec<String> = chunk
            .iter()
            .map(|(u, r)| format!("({}, {})", q.bind(*u), q.bind(*r)))
            .collect();
        q.text = format!(
            "WITH p(user_id, role_id) AS (VALUES {}) \
             SELECT p.user_id AS user_id, p.role_id AS role_id, rs.skill_id AS skill_id, \
                    rs.level AS required_level, us.level AS current_level \
             FROM p JOIN role_skills rs ON rs.role_id = p.role_id \
             LEFT JOIN user_skills us ON us.user_id = p.user_id AND us.skill_id = rs.skill_id \
             ORDER BY rs.position",
            values.join(", ")
        );
        for row in q.all::<FitRow>(conn).await? {
            let fit = out.entry((row.user_id, row.role_id)).or_default();
            fit.required += 1;
            match row.current_level {
                Some(c) if c >= row.required_level.unwrap_or(1) => fit.met += 1,
                current => fit.gaps.push(Gap {
                    skill_id: row.skill_id,
                    required: row.required_level,
                    current,
                }),
            }
        }
    }
    Ok(out)
}

/// The user's score for one role the viewer may browse.
pub async fn role_match(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
    role_id: Uuid,
) -> AppResult<Match> {
    authz::require_visible_user(conn, viewer, user_id).await?;
    role::require_visible(conn, viewer, role_id).await?;
    let fit = fits(conn, &[(user_id, role_id)])
        .await?
        .remove(&(user_id, role_id))
        .unwrap_or_default();
    Ok(Match {
        user_id,
        role_id,
        required: fit.required,
        met: fit.met,
    })
}

/// At most this many routes are returned.
pub const MAX_PATHS: usize = 5;

/// Every shortest route (at most five) from one role to another along "advances to" links,
/// through roles the viewer may browse, each as the list of its roles. The same role at both
/// ends is the one route of no links; no route is an empty list. Cycles are harmless: a
/// breadth-first search visits each role once.
pub async fn career_paths(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    from: Uuid,
    to: Uuid,
) -> AppResult<Vec<Vec<Uuid>>> {
    role::require_visible(conn, viewer, from).await?;
    role::require_visible(conn, viewer, to).await?;
    if from == to {
        return Ok(vec![vec![from]]);
    }
    let scope = authz::role_scope(conn, viewer).await?;
    #[derive(FromQueryResult)]
    struct Edge {
        from_role_id: Uuid,
        to_role_id: Uuid,
    }
    let edges: Vec<Edge> = sql::all(
        conn,
        "SELECT l.from_role_id, l.to_role_id FROM role_links l \
         JOIN roles r ON r.id = l.to_role_id WHERE l.org_id = $1 ORDER BY r.name_norm, r.id",
        vals![viewer.org_id],
    )
    .await?;
    let mut next: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    let mut prev: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for e in edges
        .iter()
        .filter(|e| scope.contains(e.from_role_id) && scope.contains(e.to_role_id))
    {
        next.entry(e.from_role_id).or_default().push(e.to_role_id);
        prev.entry(e.to_role_id).or_default().push(e.from_role_id);
    }
    let from_start = distances(from, &next);
    let Some(&length) = from_start.get(&to) else {
        return Ok(vec![]);
    };
    let to_end = distances(to, &prev);
    // A role lies on a shortest route when its distances from both ends add up to the length.
    let on_route = |id: &Uuid, at: usize| {
        from_start.get(id) == Some(&at) && to_end.get(id) == Some(&(length - at))
    };
    let mut paths = Vec::new();
    let mut stack: Vec<Vec<Uuid>> = vec![vec![from]];
    while let Some(path) = stack.pop() {
        if paths.len() == MAX_PATHS {
            break;
        }
        let last = *path.last().unwrap_or(&from);
        if last == to {
            paths.push(path);
            continue;
        }
        let at = path.len();
        // Push in reverse so that routes come out in name order.
        for n in next.get(&last).into_iter().flatten().rev() {
            if on_route(n, at) {
                let mut longer = path.clone();
                longer.push(*n);
                stack.push(longer);
            }
        }
    }
    Ok(paths)
}

fn distances(start: Uuid, edges: &HashMap<Uuid, Vec<Uuid>>) -> HashMap<Uuid, usize> {
    let mut dist = HashMap::from([(start, 0usize)]);
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let d = dist[&node];
        for n in edges.get(&node).into_iter().flatten() {
            if !dist.contains_key(n) {
                dist.insert(*n, d + 1);
                queue.push_back(*n);
            }
        }
    }
    dist
}

/// A course that closes some of the user's gaps.
#[derive(Debug, Clone)]
pub struct Recommendation {
    pub course: course::Model,
    pub closes: Vec<Gap>,
}

#[derive(Debug, FromQueryResult)]
struct ClosingRow {
    course_id: Uuid,
    skill_id: Uuid,
    required_level: Option<i32>,
    current_level: Option<i32>,
}

/// The role recommendations aim at: the user's target role, else their primary role.
pub async fn aim(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<Uuid>> {
    let user = rows::require::<entity::user::Entity>(conn, org_id, user_id).await?;
    Ok(user.target_role_id.or(user.primary_role_id))
}

/// Courses whose skills close the user's gaps for their target role (the primary role when no
/// target is set): a course closes a gap when it develops the skill to at least the required
/// level. Ranked by gaps closed, then shortest first, then by title; courses the user has
/// completed (even if since expired) are left out.
pub async fn recommendations(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
    first: usize,
) -> AppResult<Vec<Recommendation>> {
    authz::require_visible_user(conn, viewer, user_id).await?;
    let Some(role_id) = aim(conn, viewer.org_id, user_id).await? else {
        return Ok(vec![]);
    };
    let rows: Vec<ClosingRow> = sql::all(
        conn,
        "SELECT cs.course_id AS course_id, g.skill_id AS skill_id, g.required_level AS required_level, \
                g.current_level AS current_level \
         FROM (SELECT rs.skill_id, rs.level AS required_level, us.level AS current_level, rs.position \
               FROM role_skills rs LEFT JOIN user_skills us ON us.user_id = $1 AND us.skill_id = rs.skill_id \
               WHERE rs.role_id = $2 AND (us.level IS NULL OR us.level < COALESCE(rs.level, 1))) g \
         JOIN course_skills cs ON cs.skill_id = g.skill_id AND cs.level >= COALESCE(g.required_level, 1) \
         WHERE cs.org_id = $3 AND NOT EXISTS (SELECT 1 FROM assignments a \
               WHERE a.user_id = $1 AND a.course_id = cs.course_id AND a.completed_at IS NOT NULL) \
         ORDER BY g.position",
        vals![user_id, role_id, viewer.org_id],
    )
    .await?;
    let mut closes: HashMap<Uuid, Vec<Gap>> = HashMap::new();
    for r in rows {
        closes.entry(r.course_id).or_default().push(Gap {
            skill_id: r.skill_id,
            required: r.required_level,
            current: r.current_level,
        });
    }
    let ids: Vec<Uuid> = closes.keys().copied().collect();
    let mut out: Vec<Recommendation> =
        rows::find_many::<entity::course::Entity>(conn, viewer.org_id, &ids)
            .await?
            .into_iter()
            .map(|c| Recommendation {
                closes: closes.remove(&c.id).unwrap_or_default(),
                course: c,
            })
            .collect();
    out.sort_by(|a, b| {
        b.closes
            .len()
            .cmp(&a.closes.len())
            .then_with(|| {
                a.course
                    .duration_minutes
                    .unwrap_or(i32::MAX)
                    .cmp(&b.course.duration_minutes.unwrap_or(i32::MAX))
            })
            .then_with(|| a.course.title.cmp(&b.course.title))
            .then_with(|| a.course.id.cmp(&b.course.id))
    });
    out.truncate(first);
    Ok(out)
}
