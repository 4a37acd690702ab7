//! Skills on the organization's proficiency scale, and what people can do: a user's current
//! level per skill (with its source) and the append-only history of ratings behind it.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, AppResult, UniqueIndex};
use crate::service::audit::{Action, Subject, SubjectType};
use crate::service::authz::{self, Named, Permission};
use crate::service::rows;
use crate::service::sql::{self, Q};
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::vals;
use entity::{skill, skill_rating, user_skill};

/// The database's backstop for a name check that raced another change.
const SKILL_NAME_TAKEN: UniqueIndex = UniqueIndex {
    name: "ux_skills_name",
    columns: "skills.org_id, skills.name_norm",
    message: "a skill with this name already exists in the organization",
};

/// The scale an organization has until it sets its own.
pub const DEFAULT_SCALE: [&str; 5] = ["Novice", "Beginner", "Competent", "Proficient", "Expert"];
/// The most levels a scale may have.
pub const MAX_LEVELS: usize = 10;

/// An organization's proficiency scale: the names of levels 1..=N.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale(pub Vec<String>);

impl Scale {
    pub fn max(&self) -> i32 {
        self.0.len() as i32
    }

    /// Checks that `level` is on the scale.
    pub fn check(&self, field: &str, level: i32) -> AppResult<i32> {
        if (1..=self.max()).contains(&level) {
            Ok(level)
        } else {
            Err(AppError::validation(
                field,
                format!(
                    "level {level} is outside the proficiency scale 1..{}",
                    self.max()
                ),
            ))
        }
    }
}

#[derive(FromQueryResult)]
struct LevelRow {
    name: String,
}

pub async fn scale(conn: &impl ConnectionTrait, org_id: Uuid) -> AppResult<Scale> {
    let rows: Vec<LevelRow> = sql::all(
        conn,
        "SELECT name FROM proficiency_levels WHERE org_id = $1 ORDER BY level",
        vals![org_id],
    )
    .await?;
    Ok(if rows.is_empty() {
        Scale(DEFAULT_SCALE.iter().map(|s| s.to_string()).collect())
    } else {
        Scale(rows.into_iter().map(|r| r.name).collect())
    })
}

/// Replaces the organization's scale. Refused (CONFLICT) while a rating, a role requirement or
/// a course sits above the new top level.
pub async fn set_scale(env: &Env, viewer: &Viewer, names: &[String]) -> AppResult<Scale> {
    if names.len() < 2 || names.len() > MAX_LEVELS {
        return Err(AppError::validation(
            "levels",
            format!("a proficiency scale has 2 to {MAX_LEVELS} levels"),
        ));
    }
    let mut clean = Vec::with_capacity(names.len());
    for n in names {
        let n = validate::name("levels", n)?;
        if clean
            .iter()
            .any(|c: &String| c.to_lowercase() == n.to_lowercase())
        {
            return Err(AppError::validation(
                "levels",
                format!("level name '{n}' appears twice"),
            ));
        }
        clean.push(n);
    }
    let (value, _) = unit::run(
        env,
        viewer,
        Authority::requires(Permission::EditCatalog, []),
        async |w| {
            let (tx, org_id) = (w, w.org_id);

            let before = scale(tx, org_id).await?;
            let top = clean.len() as i32;
            let above = sql::scalar_i64(
                tx,
                "SELECT (SELECT COUNT(*) FROM user_skills WHERE org_id = $1 AND level > $2) \
              + (SELECT COUNT(*) FROM role_skills WHERE org_id = $1 AND level > $2) \
              + (SELECT COUNT(*) FROM course_skills WHERE org_id = $1 AND level > $2)",
                vals![org_id, top],
            )
            .await?;
            if above > 0 {
                return Err(AppError::conflict(format!(
                    "{above} ratings, role requirements or course levels are above level {top}"
                )));
            }
            sql::exec(
                tx,
                "DELETE FROM proficiency_levels WHERE org_id = $1",
                vals![org_id],
            )
            .await?;
            for (i, name) in clean.iter().enumerate() {
                sql::exec(
                    tx,
                    "INSERT INTO proficiency_levels (org_id, level, name) VALUES ($1, $2, $3)",
                    vals![org_id, i as i32 + 1, name.clone()],
                )
                .await?;
            }
            w.audit(
                Action::ProficiencyScaleSet,
                Subject::new(SubjectType::Organization, org_id),
                Some(json!({ "levels": before.0 })),
                Some(json!({ "levels": clean })),
            )
            .await?;
            Ok(Scale(clean))
        },
    )
    .await?;
    Ok(value)
}

pub async fn create(
    env: &Env,
    viewer: &Viewer,
    name: &str,
    description: Option<&str>,
) -> AppResult<skill::Model> {
    let (value, _) = unit::run(
        env,
        viewer,
        Authority::requires(Permission::EditCatalog, []),
        async |w| {
            let skill = create_in(w, name, description).await?;
            Ok(skill)
        },
    )
    .await?;
    Ok(value)
}

pub async fn create_in(
    w: &Write,
    name: &str,
    description: Option<&str>,
) -> AppResult<skill::Model> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    let name = validate::name("name", name)?;
    let description = validate::optional_text("description", description)?;
    sql::ensure_name_free(conn, "skills", "skill", org_id, &name, None).await?;
    let id = Uuid::now_v7();
    sql::exec(
        conn,
        "INSERT INTO skills (id, org_id, name, name_norm, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        vals![id, org_id, name.clone(), name.to_lowercase(), description, now],
    )
    .await
        .map_err(|e| e.on_unique(&SKILL_NAME_TAKEN))?;
    let skill = w
        .read_back::<entity::skill::Entity>(
            id,
            Action::SkillCreated,
            Subject::new(SubjectType::Skill, id),
            None,
            snapshot,
        )
        .await?;
    Ok(skill)
}

/// Renames a skill or changes its description (`Some(None)` clears it).
pub async fn update(
    env: &Env,
    viewer: &Viewer,
    id: Uuid,
    name: Option<&str>,
    description: Option<Option<&str>>,
) -> AppResult<skill::Model> {
    let (value, _) = unit::run(env, viewer, Authority::requires(Permission::EditCatalog, [Named::Skill(id)]), async |w| {
 let (tx, org_id, now) = (w, w.org_id, w.now);

    let before = rows::require::<entity::skill::Entity>(tx, org_id, id).await?;
    let mut after = before.clone();
    if let Some(name) = name {
        after.name = validate::name("name", name)?;
        after.name_norm = after.name.to_lowercase();
        sql::ensure_name_free(tx, "skills", "skill", org_id, &after.name, Some(id)).await?;
    }
    if let Some(description) = description {
        after.description = validate::optional_text("description", description)?;
    }
    if after == before {
        return Ok(before);
    }
    sql::exec(
        tx,
        "UPDATE skills SET name = $1, name_norm = $2, description = $3, updated_at = $4 WHERE id = $5 AND org_id = $6",
        vals![after.name.clone(), after.name_norm.clone(), after.description.clone(), now, id, org_id],
    )
    .await
        .map_err(|e| e.on_unique(&SKILL_NAME_TAKEN))?;
    let after = w
        .read_back::<entity::skill::Entity>(id, Action::SkillUpdated, Subject::new(SubjectType::Skill, id), Some(snapshot(&before)), snapshot)
        .await?;
    Ok(after)

}).await?;
    Ok(value)
}

/// Where a skill level came from (stored as these words in `user_skills.source` and
/// `skill_ratings.source`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::EnumMessage,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum RatingSource {
    /// The user rated themself.
    #[strum(serialize = "SELF")]
    SelfRated,
    /// A manager, HR or an admin rated the user.
    Manager,
    /// A passed assessment set the level.
    Assessment,
    /// A completed course set the level.
    Course,
    /// Not rated yet: the user's primary role put the skill on the profile.
    Role,
}

/// Rates a user's skill. The viewer rates themself (source SELF); OWNER, ADMIN, HR and the
/// user's managers rate others (source MANAGER). The rating becomes the current level and is
/// kept in the history.
pub async fn rate(
    env: &Env,
    viewer: &Viewer,
    user_id: Uuid,
    skill_id: Uuid,
    level: i32,
) -> AppResult<user_skill::Model> {
    let (value, _) = unit::run(env, viewer, Authority::PerObject, async |w| {
        let (tx, org_id) = (w, w.org_id);

        let source = authz::rating_source(tx, viewer, user_id).await?;
        rows::require::<entity::skill::Entity>(tx, org_id, skill_id).await?;
        scale(tx, org_id).await?.check("level", level)?;
        let before = current(tx, user_id, skill_id).await?;
        let rated_by = viewer.client.is_none().then_some(viewer.user_id);
        record_rating_in(w, user_id, skill_id, level, source, rated_by).await?;
        let after = current(tx, user_id, skill_id)
            .await?
            .ok_or_else(|| AppError::internal("rating vanished"))?;
        w.audit(
            Action::SkillRated,
            Subject::new(SubjectType::User, user_id),
            Some(json!({ "skillId": skill_id, "level": before.and_then(|b| b.level) })),
            Some(json!({ "skillId": skill_id, "level": level, "source": source })),
        )
        .await?;
        Ok(after)
    })
    .await?;
    Ok(value)
}

/// Writes a rating by `rated_by` (history row and current level); no checks, no audit (callers
/// do both).
pub async fn record_rating_in(
    w: &Write,
    user_id: Uuid,
    skill_id: Uuid,
    level: i32,
    source: &str,
    rated_by: Option<Uuid>,
) -> AppResult<()> {
    let (conn, org_id, now) = (w, w.org_id, w.now);
    sql::exec(
        conn,
        "INSERT INTO skill_ratings (id, org_id, user_id, skill_id, level, source, rated_by, rated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vals![Uuid::now_v7(), org_id, user_id, skill_id, level, source, rated_by, now],
    )
    .await?;
    sql::exec(
        conn,
        "INSERT INTO user_skills (org_id, user_id, skill_id, level, source, rated_by, rated_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (user_id, skill_id) DO UPDATE SET level = excluded.level, source = excluded.source, \
         rated_by = excluded.rated_by, rated_at = excluded.rated_at",
        vals![org_id, user_id, skill_id, level, source, rated_by, now],
    )
    .await?;
    Ok(())
}

/// Puts the skills of `role_id` on the user's profile, unrated, where they are not yet.
pub async fn add_role_skills_in(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    now: i64,
    user_id: Uuid,
    role_id: Uuid,
) -> AppResult<u64> {
    sql::exec(
        conn,
        "INSERT INTO user_skills (org_id, user_id, skill_id, level, source, rated_by, rated_at, created_at) \
         SELECT $1, $2, rs.skill_id, NULL, 'ROLE', NULL, NULL, $3 FROM role_skills rs WHERE rs.role_id = $4 \
         ON CONFLICT (user_id, skill_id) DO NOTHING",
        vals![org_id, user_id, now, role_id],
    )
    .await
}

async fn current(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    skill_id: Uuid,
) -> AppResult<Option<user_skill::Model>> {
    sql::one(
        conn,
        "SELECT * FROM user_skills WHERE user_id = $1 AND skill_id = $2",
        vals![user_id, skill_id],
    )
    .await
}

/// The skills on several users' profiles, by skill name.
pub async fn of_users(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<user_skill::Model>>> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = Q::new();
    let org = q.bind(org_id);
    let list = q.bind_ids(user_ids);
    q.text = format!(
        "SELECT us.* FROM user_skills us JOIN skills s ON s.id = us.skill_id \
         WHERE us.org_id = {org} AND us.user_id IN ({list}) ORDER BY s.name_norm, s.id"
    );
    q.grouped(conn, |row: &user_skill::Model| row.user_id).await
}

/// The rating history of several users, newest first.
pub async fn ratings_of(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<skill_rating::Model>>> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = Q::new();
    let org = q.bind(org_id);
    let list = q.bind_ids(user_ids);
    q.text = format!(
        "SELECT * FROM skill_ratings WHERE org_id = {org} AND user_id IN ({list}) ORDER BY rated_at DESC, id DESC"
    );
    q.grouped(conn, |row: &skill_rating::Model| row.user_id)
        .await
}

/// Skills by name; `search` matches a case-insensitive part of the name.
pub async fn list(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    search: Option<&str>,
) -> AppResult<Vec<skill::Model>> {
    let mut q = Q::new();
    let org = q.bind(org_id);
    q.text = format!("SELECT * FROM skills WHERE org_id = {org}");
    if let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = q.bind(format!("%{}%", validate::like_escape(&s.to_lowercase())));
        q.text
            .push_str(&format!(" AND name_norm LIKE {pattern} ESCAPE '\\'"));
    }
    q.text.push_str(" ORDER BY name_norm, id");
    q.all(conn).await
}

pub fn snapshot(s: &skill::Model) -> serde_json::Value {
    json!({ "id": s.id, "name": s.name, "description": s.description })
}
