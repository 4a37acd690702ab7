//! Rubrics and assessments: a rubric is a role-specific evaluation whose dimensions each measure
//! one skill (weight, maximum points, the level a pass grants); an assessment scores a user on
//! every dimension. On a pass the user's skill rises to the dimension's `levelOnPass` (source
//! ASSESSMENT) for each dimension scored at least the passing percent of its own maximum.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::audit::{Action, Subject, SubjectType};
use crate::service::authz::{self, Named, Permission};
use crate::service::rows;
use crate::service::sql::{self, Q};
use crate::service::track::{self, Track};
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::viewer::OrgRole;
use crate::service::viewer::Viewer;
use crate::service::{skill, validate};
use crate::vals;

/// A rubric: the `rubrics` row.
pub type Rubric = entity::rubric::Model;

#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Dimension {
    pub rubric_id: Uuid,
    pub skill_id: Uuid,
    pub description: Option<String>,
    pub weight: f64,
    pub max_points: i32,
    pub level_on_pass: Option<i32>,
    pub position: i32,
}

/// An assessment: the `assessments` row.
pub type Assessment = entity::assessment::Model;

#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Score {
    pub assessment_id: Uuid,
    pub skill_id: Uuid,
    pub points: i32,
}

#[derive(Debug, Clone)]
pub struct NewDimension {
    pub skill_id: Uuid,
    pub description: Option<String>,
    pub weight: f64,
    pub max_points: i32,
    pub level_on_pass: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct NewRubric {
    pub name: String,
    pub track_id: Option<Uuid>,
    pub role_id: Option<Uuid>,
    pub passing_percent: i32,
    pub dimensions: Vec<NewDimension>,
}

/// The most points a dimension may have.
pub const MAX_POINTS: i32 = 1000;

/// Creates a rubric. OWNER and ADMIN; the owner of `track_id` for a rubric of that track.
pub async fn create_rubric(env: &Env, viewer: &Viewer, input: NewRubric) -> AppResult<Rubric> {
    let (value, _) = unit::run(env, viewer, Authority::PerObject, async |w| {
        let (tx, org_id) = (w, w.org_id);

        let named: Vec<Named> = input
            .role_id
            .map(Named::Role)
            .into_iter()
            .chain(input.dimensions.iter().map(|d| Named::Skill(d.skill_id)))
            .collect();
        match input.track_id {
            Some(t) => {
                let tr = rows::require::<entity::track::Entity>(tx, org_id, t).await?;
                authz::require_track_manager_naming(tx, viewer, tr.owner_id, &named).await?;
            }
            None => authz::require_naming(tx, viewer, Permission::ManageRules, &named).await?,
        }
        let rubric = create_rubric_in(w, input).await?;
        Ok(rubric)
    })
    .await?;
    Ok(value)
}

pub async fn create_rubric_in(w: &Write, input: NewRubric) -> AppResult<Rubric> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let name = validate::name("name", &input.name)?;
    if !(0..=100).contains(&input.passing_percent) {
        return Err(AppError::validation(
            "passingPercent",
            "passingPercent must be between 0 and 100",
        ));
    }
    if let Some(t) = input.track_id {
        rows::require::<entity::track::Entity>(conn, org_id, t).await?;
    }
    if let Some(r) = input.role_id {
        rows::require::<entity::role::Entity>(conn, org_id, r).await?;
    }
    if input.dimensions.is_empty() {
        return Err(AppError::validation(
            "dimensions",
            "a rubric needs at least one dimension",
        ));
    }
    let scale = skill::scale(conn, org_id).await?;
    let mut seen = HashSet::new();
    for d in &input.dimensions {
        if !seen.insert(d.skill_id) {
            return Err(AppError::validation(
                "dimensions.skillId",
                "a skill is measured by two dimensions; list each skill once",
            ));
        }
        if !(d.weight.is_finite() && d.weight > 0.0 && d.weight <= 1000.0) {
            return Err(AppError::validation(
                "dimensions.weight",
                "a weight must be above 0 and at most 1000",
            ));
        }
        if !(1..=MAX_POINTS).contains(&d.max_points) {
            return Err(AppError::validation(
                "dimensions.maxPoints",
                format!("maxPoints must be between 1 and {MAX_POINTS}"),
            ));
        }
        if let Some(l) = d.level_on_pass {
            scale.check("dimensions.levelOnPass", l)?;
        }
        validate::optional_text("dimensions.description", d.description.as_deref())?;
    }
    let skills: Vec<Uuid> = input.dimensions.iter().map(|d| d.skill_id).collect();
    rows::require_all::<entity::skill::Entity>(conn, org_id, &skills).await?;
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO rubrics (id, org_id, name, track_id, role_id, passing_percent, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        vals![id, org_id, name, input.track_id, input.role_id, input.passing_percent, now],
    )
    .await?;
    for (i, d) in input.dimensions.iter().enumerate() {
        sql::exec(
            conn,
            "INSERT INTO rubric_dimensions (org_id, rubric_id, skill_id, description, weight, max_points, level_on_pass, position) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vals![
                org_id,
                id,
                d.skill_id,
                validate::optional_text("dimensions.description", d.description.as_deref())?,
                d.weight,
                d.max_points,
                d.level_on_pass,
                i as i32
            ],
        )
        .await?;
    }
    let rubric = rows::require::<entity::rubric::Entity>(conn, org_id, id).await?;
    w.audit(
        Action::RubricCreated,
        Subject::new(SubjectType::Rubric, id),
        None,
        Some(json!({
            "id": id,
            "name": rubric.name,
            "trackId": rubric.track_id,
            "roleId": rubric.role_id,
            "passingPercent": rubric.passing_percent,
            "dimensions": input.dimensions.iter().map(|d| json!({
                "skillId": d.skill_id, "weight": d.weight, "maxPoints": d.max_points,
                "levelOnPass": d.level_on_pass,
            })).collect::<Vec<_>>(),
        })),
    )
    .await?;
    Ok(rubric)
}

/// What an assessment recorded, and the skills it raised.
pub struct Recorded {
    pub assessment: Assessment,
    /// (skill, level) raised on the user's profile (source ASSESSMENT).
    pub raised: Vec<(Uuid, i32)>,
}

/// Records an assessment; the viewer is the evaluator. OWNER, ADMIN and HR assess anyone; the
/// owner of the rubric's track assesses that track's learners; a MANAGER their reports.
pub async fn record(
    env: &Env,
    viewer: &Viewer,
    rubric_id: Uuid,
    user_id: Uuid,
    scores: Vec<(Uuid, i32)>,
    comment: Option<String>,
) -> AppResult<Recorded> {
    let (value, _) = unit::run(env, viewer, Authority::PerObject, async |w| {
        let (tx, org_id) = (w, w.org_id);

        let rubric = rows::require::<entity::rubric::Entity>(tx, org_id, rubric_id).await?;
        rows::require::<entity::user::Entity>(tx, org_id, user_id).await?;
        let track = match rubric.track_id {
            Some(t) => Some(rows::require::<entity::track::Entity>(tx, org_id, t).await?),
            None => None,
        };
        require_assessor(tx, viewer, track.as_ref(), user_id).await?;
        let comment = validate::optional_text("comment", comment.as_deref())?;
        let recorded = record_in(w, &rubric, user_id, viewer.user_id, &scores, comment).await?;
        Ok(recorded)
    })
    .await?;
    Ok(value)
}

/// Checks the scores against the rubric, writes the assessment and raises skills on a pass.
#[allow(clippy::too_many_arguments)]
pub async fn record_in(
    w: &Write,
    rubric: &Rubric,
    user_id: Uuid,
    evaluator_id: Uuid,
    scores: &[(Uuid, i32)],
    comment: Option<String>,
) -> AppResult<Recorded> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let dims = dimensions_of(conn, &[rubric.id])
        .await?
        .remove(&rubric.id)
        .unwrap_or_default();
    let by_skill: HashMap<Uuid, &Dimension> = dims.iter().map(|d| (d.skill_id, d)).collect();
    let mut given: HashMap<Uuid, i32> = HashMap::new();
    for (skill_id, points) in scores {
        let Some(d) = by_skill.get(skill_id) else {
            return Err(AppError::validation(
                "scores.skillId",
                "a score names a skill that is not a dimension of the rubric",
            ));
        };
        if *points < 0 || *points > d.max_points {
            return Err(AppError::validation(
                "scores.points",
                format!(
                    "points must be between 0 and the dimension's maximum of {}",
                    d.max_points
                ),
            ));
        }
        if given.insert(*skill_id, *points).is_some() {
            return Err(AppError::validation(
                "scores.skillId",
                "a dimension is scored twice",
            ));
        }
    }
    if given.len() != dims.len() {
        return Err(AppError::validation(
            "scores",
            "score every dimension of the rubric",
        ));
    }
    let total_weight: f64 = dims.iter().map(|d| d.weight).sum();
    let percent = dims
        .iter()
        .map(|d| d.weight * f64::from(given[&d.skill_id]) / f64::from(d.max_points))
        .sum::<f64>()
        / total_weight
        * 100.0;
    // Rounded to 1/100 of a percent so both databases hold and compare the same number.
    let percent = (percent * 100.0).round() / 100.0;
    let passing = f64::from(rubric.passing_percent);
    let passed = percent >= passing;
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO assessments (id, org_id, rubric_id, track_id, user_id, evaluator_id, percent, passed, comment, assessed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        vals![id, org_id, rubric.id, rubric.track_id, user_id, evaluator_id, percent, passed, comment, now],
    )
    .await?;
    for d in &dims {
        sql::exec(
            conn,
            "INSERT INTO assessment_scores (org_id, assessment_id, skill_id, points) VALUES ($1, $2, $3, $4)",
            vals![org_id, id, d.skill_id, given[&d.skill_id]],
        )
        .await?;
    }
    let mut raised = Vec::new();
    if passed {
        for d in &dims {
            let Some(level) = d.level_on_pass else {
                continue;
            };
            if f64::from(given[&d.skill_id]) * 100.0 < passing * f64::from(d.max_points) {
                continue;
            }
            let current = sql::scalar_i64(
                conn,
                "SELECT CAST(level AS BIGINT) FROM user_skills WHERE user_id = $1 AND skill_id = $2",
                vals![user_id, d.skill_id],
            )
            .await?;
            // A pass raises a level, never lowers one.
            if current >= i64::from(level) {
                continue;
            }
            skill::record_rating_in(
                w,
                user_id,
                d.skill_id,
                level,
                "ASSESSMENT",
                Some(evaluator_id),
            )
            .await?;
            raised.push((d.skill_id, level));
        }
    }
    w.audit(
Action::AssessmentRecorded,
Subject::new(SubjectType::User, user_id),
None,
Some(json!({
                "assessmentId": id,
                "rubricId": rubric.id,
                "percent": percent,
                "passed": passed,
                "scores": dims.iter().map(|d| json!({ "skillId": d.skill_id, "points": given[&d.skill_id] })).collect::<Vec<_>>(),
                "raised": raised.iter().map(|(s, l)| json!({ "skillId": s, "level": l })).collect::<Vec<_>>(),
            })),
)
    .await?;
    let assessment = sql::one(conn, "SELECT * FROM assessments WHERE id = $1", vals![id])
        .await?
        .ok_or_else(|| AppError::internal("recorded assessment vanished"))?;
    Ok(Recorded { assessment, raised })
}

pub async fn dimensions_of(
    conn: &impl ConnectionTrait,
    rubric_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Dimension>>> {
    if rubric_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = Q::new();
    let list = q.bind_ids(rubric_ids);
    q.text = format!(
        "SELECT rubric_id, skill_id, description, weight, max_points, level_on_pass, position FROM rubric_dimensions \
         WHERE rubric_id IN ({list}) ORDER BY rubric_id, position"
    );
    q.grouped(conn, |d: &Dimension| d.rubric_id).await
}

pub async fn scores_of(
    conn: &impl ConnectionTrait,
    assessment_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Score>>> {
    if assessment_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = Q::new();
    let list = q.bind_ids(assessment_ids);
    q.text = format!(
        "SELECT assessment_id, skill_id, points FROM assessment_scores WHERE assessment_id IN ({list})"
    );
    q.grouped(conn, |s: &Score| s.assessment_id).await
}

/// Rubrics by name, optionally of one track or one role.
pub async fn list_rubrics(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    track_id: Option<Uuid>,
    role_id: Option<Uuid>,
) -> AppResult<Vec<Rubric>> {
    let mut q = Q::new();
    let org = q.bind(org_id);
    q.text = format!("SELECT * FROM rubrics WHERE org_id = {org}");
    if let Some(t) = track_id {
        let p = q.bind(t);
        q.push(&format!(" AND track_id = {p}"));
    }
    if let Some(r) = role_id {
        let p = q.bind(r);
        q.push(&format!(" AND role_id = {p}"));
    }
    q.push(" ORDER BY name, id");
    q.all(conn).await
}

/// Whose assessments `list_visible` reads: those of some users, or made with some rubrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssessmentsOf {
    Users,
    Rubrics,
}

/// Assessments of the given users (or made with the given rubrics), newest first, grouped by
/// user (or rubric), in one statement, restricted to what `viewer` may see: OWNER, ADMIN, HR
/// everything; a track owner those of its track; anyone their own; a MANAGER those of their
/// reports.
pub async fn list_visible(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    of: AssessmentsOf,
    keys: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Assessment>>> {
    authz::load_scope(conn, viewer).await?;
    let mut out: HashMap<Uuid, Vec<Assessment>> = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let mut q = Q::new();
    let org = q.bind(viewer.org_id);
    let list = q.bind_ids(keys);
    let column = match of {
        AssessmentsOf::Users => "user_id",
        AssessmentsOf::Rubrics => "rubric_id",
    };
    q.text =
        format!("SELECT a.* FROM assessments a WHERE a.org_id = {org} AND a.{column} IN ({list})");
    if !matches!(viewer.role, OrgRole::Owner | OrgRole::Admin | OrgRole::Hr) {
        let users = authz::visible_users_sql(&mut q, viewer, "a.user_id");
        let me = q.bind(viewer.user_id);
        q.push(&format!(
            " AND ({users} OR a.track_id IN (SELECT t.id FROM tracks t WHERE t.owner_id = {me}))"
        ));
    }
    q.push(" ORDER BY a.assessed_at DESC, a.id DESC");
    for a in q.all::<Assessment>(conn).await? {
        let key = match of {
            AssessmentsOf::Users => a.user_id,
            AssessmentsOf::Rubrics => a.rubric_id,
        };
        out.entry(key).or_default().push(a);
    }
    Ok(out)
}

/// Who may assess `user_id` with a rubric of `track` (None: an organization-wide rubric):
/// OWNER, ADMIN and HR anyone; the track's owner its learners; a MANAGER their reports. A
/// viewer who may assess someone, asking about a person outside their reach (not a learner of
/// their track, not a report), gets NOT_FOUND; anyone else FORBIDDEN, and so is anyone
/// (OWNER, ADMIN and HR included) assessing themself.
async fn require_assessor(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    track: Option<&Track>,
    user_id: Uuid,
) -> AppResult<()> {
    if user_id == viewer.user_id && viewer.client.is_none() {
        return Err(AppError::forbidden(
            "nobody may assess themself: ask another evaluator",
        ));
    }
    if viewer.sees_everyone() {
        return Ok(());
    }
    let owns_track = track.is_some_and(|t| t.owner_id == viewer.user_id);
    let learner_of_track = match track {
        Some(t) if owns_track => track::is_learner(conn, t.id, user_id).await?,
        _ => false,
    };
    let sees = learner_of_track || authz::can_see_user(conn, viewer, user_id).await?;
    let manages = viewer.role == OrgRole::Manager && sees && user_id != viewer.user_id;
    if learner_of_track || manages {
        return Ok(());
    }
    if (owns_track || viewer.role == OrgRole::Manager) && !sees {
        return Err(AppError::not_found("user"));
    }
    Err(AppError::forbidden(
        "only OWNER, ADMIN, HR, the owner of the rubric's track (for its learners) or the user's manager may assess",
    ))
}
