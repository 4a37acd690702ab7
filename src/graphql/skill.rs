//! Skills: the `Skill` type, the proficiency scale, what a user can do (`UserSkill`, the rating
//! history) and the mutations that change them.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::scalars::DateTime;
use super::user::User;
use super::{loaders, parse_id, parts, to_id};
use crate::error::AppError;
use crate::service::skill as service;
use crate::service::skill::RatingSource;
use entity::{skill, skill_rating, user_skill};

/// A competency, rated on the organization's proficiency scale.
pub struct Skill(pub skill::Model);

/// A competency, rated on the organization's proficiency scale.
#[Object]
impl Skill {
    /// The skill's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// Unique in the organization, case-insensitively.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the skill covers; null when not given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// When the skill was created.
    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// When the skill was last renamed or described.
    async fn updated_at(&self) -> DateTime {
        DateTime::from_micros(self.0.updated_at)
    }

    /// The skills this one builds on (direct dependencies only), by name. Learn those first.
    async fn requires(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Skill>> {
        let ids = loaders(ctx)?.skill_requires.load_one(self.0.id).await?;
        skills_in_order(ctx, ids.unwrap_or_default()).await
    }

    /// The skills that build on this one (direct dependents only), by name.
    async fn required_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Skill>> {
        let ids = loaders(ctx)?.skill_required_by.load_one(self.0.id).await?;
        skills_in_order(ctx, ids.unwrap_or_default()).await
    }
}

async fn skills_in_order(
    ctx: &Context<'_>,
    ids: Vec<uuid::Uuid>,
) -> async_graphql::Result<Vec<Skill>> {
    let mut found = loaders(ctx)?.skills.load_many(ids.iter().copied()).await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(id).map(Skill))
        .collect())
}

/// Loads a skill that must exist (a row referring to it holds its id).
pub(crate) async fn load_skill(ctx: &Context<'_>, id: uuid::Uuid) -> async_graphql::Result<Skill> {
    loaders(ctx)?
        .skills
        .load_one(id)
        .await?
        .map(Skill)
        .ok_or_else(|| AppError::internal("dangling skill id").into())
}

/// One level of the organization's proficiency scale.
#[derive(SimpleObject)]
pub struct ProficiencyLevel {
    /// 1 for the lowest level, up to the number of levels.
    pub level: i32,
    /// What the organization calls the level, e.g. "Competent".
    pub name: String,
}

fn levels(scale: service::Scale) -> Vec<ProficiencyLevel> {
    scale
        .0
        .into_iter()
        .enumerate()
        .map(|(i, name)| ProficiencyLevel {
            level: i as i32 + 1,
            name,
        })
        .collect()
}

/// A skill on a user's profile: the current level and where it came from.
pub struct UserSkill(pub user_skill::Model);

/// A skill on a user's profile: the current level and where it came from.
#[Object]
impl UserSkill {
    /// The skill.
    async fn skill(&self, ctx: &Context<'_>) -> async_graphql::Result<Skill> {
        load_skill(ctx, self.0.skill_id).await
    }

    /// The current level on the proficiency scale; null while unrated (a skill the user's
    /// primary role added to the profile).
    async fn level(&self) -> Option<i32> {
        self.0.level
    }

    /// Where the level came from: `SELF` (the user rated it), `MANAGER` (a manager, HR or an
    /// admin did), `ASSESSMENT`, `COURSE`, or `ROLE` while unrated (added by a primary role).
    async fn source(&self) -> async_graphql::Result<RatingSource> {
        rating_source(&self.0.source)
    }

    /// When it was last rated; null while unrated.
    async fn rated_at(&self) -> Option<DateTime> {
        self.0.rated_at.map(DateTime::from_micros)
    }

    /// Who gave the current rating, when the viewer may see them; null while unrated.
    async fn rated_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        rater(ctx, self.0.rated_by).await
    }
}

/// A stored source word as the enum; another word is a fault of the data, not of the client.
fn rating_source(word: &str) -> async_graphql::Result<RatingSource> {
    Ok(word
        .parse()
        .map_err(|_| AppError::internal(format!("unknown rating source {word:?}")))?)
}

async fn rater(ctx: &Context<'_>, id: Option<uuid::Uuid>) -> async_graphql::Result<Option<User>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let (state, viewer) = parts(ctx)?;
    if !crate::service::authz::can_see_user(&state.db.read, viewer, id).await? {
        return Ok(None);
    }
    Ok(loaders(ctx)?.users.load_one(id).await?.map(User))
}

/// One rating in the history of a user's skill.
pub struct SkillRating(pub skill_rating::Model);

/// One rating in the history of a user's skill.
#[Object]
impl SkillRating {
    /// The skill rated.
    async fn skill(&self, ctx: &Context<'_>) -> async_graphql::Result<Skill> {
        load_skill(ctx, self.0.skill_id).await
    }

    /// The level given.
    async fn level(&self) -> i32 {
        self.0.level
    }

    /// Who or what gave the rating: `SELF`, `MANAGER`, `ASSESSMENT` or `COURSE` (never `ROLE`).
    async fn source(&self) -> async_graphql::Result<RatingSource> {
        rating_source(&self.0.source)
    }

    /// When it was given.
    async fn rated_at(&self) -> DateTime {
        DateTime::from_micros(self.0.rated_at)
    }

    /// Who gave it, when the viewer may see them.
    async fn rated_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        rater(ctx, self.0.rated_by).await
    }
}

#[derive(Default)]
pub struct SkillQuery;

#[Object]
impl SkillQuery {
    /// A skill by id; null when unknown (or of another organization).
    async fn skill(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the skill; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<Skill>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = parse_id(&id, "skill") else {
            return Ok(None);
        };
        Ok(
            crate::service::rows::find::<entity::skill::Entity>(&state.db.read, viewer.org_id, id)
                .await?
                .map(Skill),
        )
    }

    /// The organization's skills by name; `search` matches a case-insensitive part of the name.
    async fn skills(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A case-insensitive part of the name.")] search: Option<String>,
    ) -> async_graphql::Result<Vec<Skill>> {
        let (state, viewer) = parts(ctx)?;
        Ok(
            service::list(&state.db.read, viewer.org_id, search.as_deref())
                .await?
                .into_iter()
                .map(Skill)
                .collect(),
        )
    }

    /// The organization's proficiency scale, lowest level first (by default five levels:
    /// Novice, Beginner, Competent, Proficient, Expert).
    async fn proficiency_scale(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ProficiencyLevel>> {
        let (state, viewer) = parts(ctx)?;
        Ok(levels(service::scale(&state.db.read, viewer.org_id).await?))
    }
}

/// A new skill.
#[derive(InputObject)]
pub struct CreateSkillInput {
    /// 1–200 characters, unique in the organization regardless of case.
    pub name: String,
    /// What the skill covers.
    pub description: Option<String>,
}

/// Changes to a skill; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateSkillInput {
    /// The skill to change.
    pub id: ID,
    /// A new name, unique in the organization regardless of case.
    pub name: Option<String>,
    /// A new description; null clears it.
    pub description: MaybeUndefined<String>,
}

/// A rating of one user's skill.
#[derive(InputObject)]
pub struct RateSkillInput {
    /// Whose skill: the viewer themself (source SELF), or for OWNER, ADMIN, HR and the user's
    /// managers anyone they may see (source MANAGER).
    pub user_id: ID,
    /// The skill rated.
    pub skill_id: ID,
    /// A level on the organization's proficiency scale (1..N).
    pub level: i32,
}

/// A new proficiency scale.
#[derive(InputObject)]
pub struct SetProficiencyScaleInput {
    /// The names of the levels, lowest first: 2 to 10 distinct names. Refused while a rating,
    /// a role requirement or a course sits above the new top level.
    pub levels: Vec<String>,
}

/// A dependency between skills: `skillId` builds on `requiresSkillId`.
#[derive(InputObject)]
pub struct AddSkillDependencyInput {
    /// The dependent skill.
    pub skill_id: ID,
    /// The skill it requires. A link that would close a cycle is refused (VALIDATION naming
    /// the cycle).
    pub requires_skill_id: ID,
}

/// The dependency to remove.
#[derive(InputObject)]
pub struct RemoveSkillDependencyInput {
    /// The dependent skill.
    pub skill_id: ID,
    /// The skill it no longer requires.
    pub requires_skill_id: ID,
}

/// The dependent skill after the change (read `requires` for its dependencies).
#[derive(SimpleObject)]
pub struct SkillDependencyPayload {
    /// The dependent skill.
    pub skill: Skill,
}

/// The skill created.
#[derive(SimpleObject)]
pub struct CreateSkillPayload {
    /// The new skill.
    pub skill: Skill,
}

/// The skill as changed.
#[derive(SimpleObject)]
pub struct UpdateSkillPayload {
    /// The skill after the change.
    pub skill: Skill,
}

/// The rating recorded.
#[derive(SimpleObject)]
pub struct RateSkillPayload {
    /// The user's skill with its new current level.
    pub user_skill: UserSkill,
}

/// The scale now in force.
#[derive(SimpleObject)]
pub struct SetProficiencyScalePayload {
    /// The levels, lowest first.
    pub levels: Vec<ProficiencyLevel>,
}

#[derive(Default)]
pub struct SkillMutation;

#[Object]
impl SkillMutation {
    /// Adds a skill to the organization's catalogue. OWNER, ADMIN, HR.
    async fn create_skill(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createSkill` does: see `CreateSkillInput`.")]
        input: CreateSkillInput,
    ) -> async_graphql::Result<CreateSkillPayload> {
        let (state, viewer) = parts(ctx)?;
        let skill =
            service::create(state, viewer, &input.name, input.description.as_deref()).await?;
        Ok(CreateSkillPayload {
            skill: Skill(skill),
        })
    }

    /// Makes a skill depend on another (a DAG: learn the required skill first). Adding a link
    /// that exists changes nothing. OWNER, ADMIN, HR.
    async fn add_skill_dependency(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `addSkillDependency` does: see `AddSkillDependencyInput`.")]
        input: AddSkillDependencyInput,
    ) -> async_graphql::Result<SkillDependencyPayload> {
        let (state, viewer) = parts(ctx)?;
        let skill_id = parse_id(&input.skill_id, "skill")?;
        let requires = parse_id(&input.requires_skill_id, "skill")?;
        let skill =
            crate::service::skill_dependency::add(state, viewer, skill_id, requires).await?;
        Ok(SkillDependencyPayload {
            skill: Skill(skill),
        })
    }

    /// Removes a dependency between skills (NOT_FOUND when there is none). OWNER, ADMIN, HR.
    async fn remove_skill_dependency(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `removeSkillDependency` does: see `RemoveSkillDependencyInput`.")]
        input: RemoveSkillDependencyInput,
    ) -> async_graphql::Result<SkillDependencyPayload> {
        let (state, viewer) = parts(ctx)?;
        let skill_id = parse_id(&input.skill_id, "skill")?;
        let requires = parse_id(&input.requires_skill_id, "skill")?;
        let skill =
            crate::service::skill_dependency::remove(state, viewer, skill_id, requires).await?;
        Ok(SkillDependencyPayload {
            skill: Skill(skill),
        })
    }

    /// Renames a skill or changes its description. OWNER, ADMIN, HR.
    async fn update_skill(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `updateSkill` does: see `UpdateSkillInput`.")]
        input: UpdateSkillInput,
    ) -> async_graphql::Result<UpdateSkillPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "skill")?;
        let description = match &input.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(d) => Some(Some(d.as_str())),
        };
        let skill = service::update(state, viewer, id, input.name.as_deref(), description).await?;
        Ok(UpdateSkillPayload {
            skill: Skill(skill),
        })
    }

    /// Rates a user's skill: the level becomes the current one and joins the history. Anyone
    /// rates their own skills; OWNER, ADMIN, HR and a MANAGER (for their reports) rate others'.
    async fn rate_skill(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `rateSkill` does: see `RateSkillInput`.")] input: RateSkillInput,
    ) -> async_graphql::Result<RateSkillPayload> {
        let (state, viewer) = parts(ctx)?;
        let user_id = parse_id(&input.user_id, "user")?;
        let skill_id = parse_id(&input.skill_id, "skill")?;
        let row = service::rate(state, viewer, user_id, skill_id, input.level).await?;
        Ok(RateSkillPayload {
            user_skill: UserSkill(row),
        })
    }

    /// Replaces the organization's proficiency scale. OWNER, ADMIN, HR.
    async fn set_proficiency_scale(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `setProficiencyScale` does: see `SetProficiencyScaleInput`.")] input: SetProficiencyScaleInput,
    ) -> async_graphql::Result<SetProficiencyScalePayload> {
        let (state, viewer) = parts(ctx)?;
        let scale = service::set_scale(state, viewer, &input.levels).await?;
        Ok(SetProficiencyScalePayload {
            levels: levels(scale),
        })
    }
}
