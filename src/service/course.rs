//! Courses: the units of training that rules assign. Prerequisites are stored as a DAG (a link
//! that would close a cycle is refused, naming the cycle); the engine assigns them with the
//! course that needs them and keeps that course LOCKED until they are completed.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::{Action, Subject};
use crate::service::authz::{Named, Permission};
use crate::service::rows;
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::viewer::Viewer;
use crate::service::{sql, validate};
use crate::vals;
use entity::course;

/// The most days a validity, window or offset may span (100 years).
pub const MAX_DAYS: i32 = 36_500;

#[derive(Debug, Clone, Default)]
pub struct NewCourse {
    pub title: String,
    pub description: Option<String>,
    pub duration_minutes: Option<i32>,
    pub validity_days: Option<i32>,
    pub renewal_window_days: Option<i32>,
    pub external_ref: Option<String>,
    pub prerequisite_ids: Vec<Uuid>,
    /// The skills the course develops, each with the level a completion brings it to.
    pub skills: Vec<(Uuid, i32)>,
}

/// A field to change: `None` keeps it, `Some(None)` clears it.
pub type Change<T> = Option<Option<T>>;

#[derive(Debug, Clone, Default)]
pub struct CourseChanges {
    pub title: Option<String>,
    pub description: Change<String>,
    pub duration_minutes: Change<i32>,
    pub validity_days: Change<i32>,
    pub renewal_window_days: Change<i32>,
    pub external_ref: Change<String>,
    pub prerequisite_ids: Option<Vec<Uuid>>,
    /// Replaces the whole set.
    pub skills: Option<Vec<(Uuid, i32)>>,
}

pub async fn create(env: &Env, viewer: &Viewer, input: NewCourse) -> AppResult<course::Model> {
    let named: Vec<Named> = input
        .prerequisite_ids
        .iter()
        .map(|c| Named::Course(*c))
        .chain(input.skills.iter().map(|s| Named::Skill(s.0)))
        .collect();
    let authority = Authority::requires(Permission::ManageRules, named);
    let (course, _) =
        unit::run(env, viewer, authority, async |w| create_in(w, input).await).await?;
    Ok(course)
}

pub async fn create_in(w: &Write, input: NewCourse) -> AppResult<course::Model> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let title = validate::name("title", &input.title)?;
    let description = validate::optional_text("description", input.description.as_deref())?;
    let external_ref = validate::optional_text("externalRef", input.external_ref.as_deref())?;
    check_numbers(
        input.duration_minutes,
        input.validity_days,
        input.renewal_window_days,
    )?;
    let id = Uuid::now_v7();
    let prerequisites = dedup(&input.prerequisite_ids);
    check_prerequisites(conn, org_id, id, &prerequisites).await?;
    check_skills(conn, org_id, &input.skills).await?;
    sql::exec(
        conn,
        "INSERT INTO courses (id, org_id, title, description, duration_minutes, validity_days, renewal_window_days, external_ref, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        vals![
            id,
            org_id,
            title,
            description,
            input.duration_minutes,
            input.validity_days,
            input.renewal_window_days,
            external_ref,
            now
        ],
    )
    .await?;
    write_prerequisites(conn, org_id, id, &prerequisites).await?;
    write_skills(conn, org_id, id, &input.skills).await?;
    let course = rows::require::<entity::course::Entity>(conn, org_id, id).await?;
    let mut after = snapshot(&course, &prerequisites);
    after["skills"] = skills_json(&input.skills);
    w.audit(
        Action::CourseCreated,
        Subject::course(id),
        None,
        Some(after),
    )
    .await?;
    Ok(course)
}

pub async fn update(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    changes: CourseChanges,
) -> AppResult<course::Model> {
    let named: Vec<Named> = std::iter::once(Named::Course(id))
        .chain(
            changes
                .prerequisite_ids
                .iter()
                .flatten()
                .map(|c| Named::Course(*c)),
        )
        .chain(changes.skills.iter().flatten().map(|s| Named::Skill(s.0)))
        .collect();
    let authority = Authority::requires(Permission::ManageRules, named);
    let (course, _) = unit::run(env, viewer, authority, async |w| {
        update_in(w, id, changes).await
    })
    .await?;
    Ok(course)
}

pub async fn update_in(w: &Write, id: Uuid, changes: CourseChanges) -> AppResult<course::Model> {
    let (tx, org_id, now) = (w, w.org_id, w.now);
    w.about(Subject::course(id));
    let before = rows::require::<entity::course::Entity>(tx, org_id, id).await?;
    let before_prereqs = prerequisites_of(tx, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let title = match &changes.title {
        Some(t) => validate::name("title", t)?,
        None => before.title.clone(),
    };
    let description = match &changes.description {
        Some(d) => validate::optional_text("description", d.as_deref())?,
        None => before.description.clone(),
    };
    let external_ref = match &changes.external_ref {
        Some(r) => validate::optional_text("externalRef", r.as_deref())?,
        None => before.external_ref.clone(),
    };
    let duration = changes.duration_minutes.unwrap_or(before.duration_minutes);
    let validity = changes.validity_days.unwrap_or(before.validity_days);
    let window = changes
        .renewal_window_days
        .unwrap_or(before.renewal_window_days);
    check_numbers(duration, validity, window)?;
    sql::exec(
        tx,
        "UPDATE courses SET title = $1, description = $2, duration_minutes = $3, validity_days = $4, renewal_window_days = $5, external_ref = $6, updated_at = $7 WHERE id = $8",
        vals![title, description, duration, validity, window, external_ref, now, id],
    )
    .await?;
    let prerequisites = match &changes.prerequisite_ids {
        Some(ids) => {
            let ids = dedup(ids);
            check_prerequisites(tx, org_id, id, &ids).await?;
            sql::exec(
                tx,
                "DELETE FROM course_prerequisites WHERE course_id = $1",
                vals![id],
            )
            .await?;
            write_prerequisites(tx, org_id, id, &ids).await?;
            ids
        }
        None => before_prereqs.clone(),
    };
    let before_skills: Vec<(Uuid, i32)> = skills_of(tx, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.skill_id, s.level))
        .collect();
    let skills = match &changes.skills {
        Some(list) => {
            check_skills(tx, org_id, list).await?;
            write_skills(tx, org_id, id, list).await?;
            list.clone()
        }
        None => before_skills.clone(),
    };
    if prerequisites != before_prereqs {
        // Rules requiring the course now require other prerequisites; and assignments held
        // only by a prerequisite that is gone unlock.
        crate::service::engine::reconcile(w, crate::service::engine::Scope::All, Some(vec![id]))
            .await?;
        crate::service::compliance::scheduler::unlock_freed(w, id).await?;
    }
    let after = rows::require::<entity::course::Entity>(tx, org_id, id).await?;
    let mut before_json = snapshot(&before, &before_prereqs);
    before_json["skills"] = skills_json(&before_skills);
    let mut after_json = snapshot(&after, &prerequisites);
    after_json["skills"] = skills_json(&skills);
    w.audit(
        Action::CourseUpdated,
        Subject::course(id),
        Some(before_json),
        Some(after_json),
    )
    .await?;
    Ok(after)
}

fn check_numbers(
    duration: Option<i32>,
    validity: Option<i32>,
    window: Option<i32>,
) -> AppResult<()> {
    if let Some(d) = duration
        && d < 0
    {
        return Err(AppError::validation(
            "durationMinutes",
            "durationMinutes must not be negative",
        ));
    }
    if let Some(v) = validity
        && !(1..=MAX_DAYS).contains(&v)
    {
        return Err(AppError::validation(
            "validityDays",
            format!("validityDays must be between 1 and {MAX_DAYS}"),
        ));
    }
    if let Some(w) = window {
        let Some(v) = validity else {
            return Err(AppError::validation(
                "renewalWindowDays",
                "a renewal window needs validityDays",
            ));
        };
        if w < 0 || w >= v {
            return Err(AppError::validation(
                "renewalWindowDays",
                "renewalWindowDays must be at least 0 and shorter than validityDays",
            ));
        }
    }
    Ok(())
}

/// Each skill once, of the organization, at a level on its scale.
async fn check_skills(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    skills: &[(Uuid, i32)],
) -> AppResult<()> {
    if skills.is_empty() {
        return Ok(());
    }
    let scale = crate::service::skill::scale(conn, org_id).await?;
    let mut seen = HashSet::new();
    for (skill, level) in skills {
        if !seen.insert(*skill) {
            return Err(AppError::validation(
                "skills",
                "a skill is listed twice; list each skill once",
            ));
        }
        scale.check("skills.level", *level)?;
    }
    let ids: Vec<Uuid> = skills.iter().map(|(s, _)| *s).collect();
    rows::require_all::<entity::skill::Entity>(conn, org_id, &ids).await
}

async fn write_skills(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    course_id: Uuid,
    skills: &[(Uuid, i32)],
) -> AppResult<()> {
    sql::exec(
        conn,
        "DELETE FROM course_skills WHERE course_id = $1",
        vals![course_id],
    )
    .await?;
    for (i, (skill, level)) in skills.iter().enumerate() {
        sql::exec(
            conn,
            "INSERT INTO course_skills (org_id, course_id, skill_id, level, position) VALUES ($1, $2, $3, $4, $5)",
            vals![org_id, course_id, *skill, *level, i as i32],
        )
        .await?;
    }
    Ok(())
}

fn skills_json(skills: &[(Uuid, i32)]) -> serde_json::Value {
    json!(
        skills
            .iter()
            .map(|(s, l)| json!({ "skillId": s, "level": l }))
            .collect::<Vec<_>>()
    )
}

/// The skills of several courses, in the order given.
pub async fn skills_of(
    conn: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<entity::course_skill::Model>>> {
    let mut out: HashMap<Uuid, Vec<entity::course_skill::Model>> = HashMap::new();
    if course_ids.is_empty() {
        return Ok(out);
    }
    let values: Vec<Value> = course_ids.iter().map(|id| Value::from(*id)).collect();
    let rows: Vec<entity::course_skill::Model> = sql::all(
        conn,
        &format!(
            "SELECT * FROM course_skills WHERE course_id IN ({}) ORDER BY course_id, position",
            sql::placeholders(1, course_ids.len())
        ),
        values,
    )
    .await?;
    for r in rows {
        out.entry(r.course_id).or_default().push(r);
    }
    Ok(out)
}

fn dedup(ids: &[Uuid]) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// Every prerequisite exists in the organization, is not the course itself, and adding the
/// links closes no cycle (a cycle is named in the message).
async fn check_prerequisites(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    course_id: Uuid,
    prerequisites: &[Uuid],
) -> AppResult<()> {
    if prerequisites.is_empty() {
        return Ok(());
    }
    if prerequisites.contains(&course_id) {
        return Err(AppError::validation(
            "prerequisiteIds",
            "a course cannot be its own prerequisite",
        ));
    }
    let found = rows::find_many::<entity::course::Entity>(conn, org_id, prerequisites).await?;
    if found.len() != prerequisites.len() {
        return Err(AppError::not_found("prerequisite course"));
    }
    // Walk the existing graph from each new prerequisite; reaching the course closes a cycle.
    let edges: Vec<(Uuid, Uuid)> = {
        let rows = conn
            .query_all_raw(sql::stmt(
                conn,
                "SELECT course_id, prerequisite_id FROM course_prerequisites WHERE org_id = $1",
                vals![org_id],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get_by_index::<Uuid>(0)?,
                    r.try_get_by_index::<Uuid>(1)?,
                ))
            })
            .collect::<AppResult<_>>()?
    };
    let mut graph: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (course, prereq) in edges {
        if course != course_id {
            graph.entry(course).or_default().push(prereq);
        }
    }
    for start in prerequisites {
        if let Some(path) = path_to(&graph, *start, course_id) {
            let mut titles = Vec::new();
            let mut all = vec![course_id];
            all.extend(path);
            let names = titles_of(conn, org_id, &all).await?;
            for id in &all {
                titles.push(
                    names
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| "this course".into()),
                );
            }
            return Err(AppError::validation(
                "prerequisiteIds",
                format!("prerequisites would form a cycle: {}", titles.join(" → ")),
            ));
        }
    }
    Ok(())
}

/// A path from `from` to `to` along prerequisite links, if one exists (both ends included).
fn path_to(graph: &HashMap<Uuid, Vec<Uuid>>, from: Uuid, to: Uuid) -> Option<Vec<Uuid>> {
    let mut parent: HashMap<Uuid, Uuid> = HashMap::new();
    let mut stack = vec![from];
    let mut seen = HashSet::from([from]);
    while let Some(node) = stack.pop() {
        if node == to {
            let mut path = vec![to];
            let mut at = to;
            while let Some(p) = parent.get(&at) {
                path.push(*p);
                at = *p;
            }
            path.reverse();
            return Some(path);
        }
        for next in graph.get(&node).into_iter().flatten() {
            if seen.insert(*next) {
                parent.insert(*next, node);
                stack.push(*next);
            }
        }
    }
    None
}

async fn titles_of(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, String>> {
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    Ok(
        rows::find_many::<entity::course::Entity>(conn, org_id, &unique)
            .await?
            .into_iter()
            .map(|c| (c.id, c.title))
            .collect(),
    )
}

async fn write_prerequisites(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    course_id: Uuid,
    prerequisites: &[Uuid],
) -> AppResult<()> {
    for p in prerequisites {
        sql::exec(
            conn,
            "INSERT INTO course_prerequisites (org_id, course_id, prerequisite_id) VALUES ($1, $2, $3)",
            vals![org_id, course_id, *p],
        )
        .await?;
    }
    Ok(())
}

/// The prerequisites of several courses, in the order they were given.
pub async fn prerequisites_of(
    conn: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    if course_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let values: Vec<Value> = course_ids.iter().map(|id| Value::from(*id)).collect();
    let rows = conn
        .query_all_raw(sql::stmt(
            conn,
            &format!(
                "SELECT course_id, prerequisite_id FROM course_prerequisites WHERE course_id IN ({})",
                sql::placeholders(1, course_ids.len())
            ),
            values,
        ))
        .await?;
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get_by_index::<Uuid>(0)?)
            .or_default()
            .push(r.try_get_by_index::<Uuid>(1)?);
    }
    Ok(out)
}

/// Courses by title; `search` matches a case-insensitive part of the title.
pub async fn list(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    search: Option<&str>,
) -> AppResult<Vec<course::Model>> {
    match search.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => {
            sql::all(
                conn,
                "SELECT * FROM courses WHERE org_id = $1 AND LOWER(title) LIKE $2 ESCAPE '\\' ORDER BY title, id",
                vals![org_id, format!("%{}%", validate::like_escape(&s.to_lowercase()))],
            )
            .await
        }
        None => sql::all(conn, "SELECT * FROM courses WHERE org_id = $1 ORDER BY title, id", vals![org_id]).await,
    }
}

pub fn snapshot(c: &course::Model, prerequisites: &[Uuid]) -> serde_json::Value {
    json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "durationMinutes": c.duration_minutes,
        "validityDays": c.validity_days,
        "renewalWindowDays": c.renewal_window_days,
        "externalRef": c.external_ref,
        "prerequisiteIds": prerequisites,
    })
}
