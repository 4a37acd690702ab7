//! Rubrics and assessments: the `Rubric` (weighted dimensions, each measuring a skill) and
//! `Assessment` types, `rubric`/`rubrics`, `createRubric` and `recordAssessment`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::role::Role;
use super::scalars::DateTime;
use super::skill::{Skill, load_skill};
use super::track::Track;
use super::user::User;
use super::{load_opt, loaders, parse_id, parse_opt_id, parts, to_id};
use crate::service::assessment::{self as service, NewDimension, NewRubric};

/// A role-specific evaluation: dimensions each tied to a skill, with weights and a passing
/// percent. Every member of the organization may read rubrics.
pub struct Rubric(pub service::Rubric);

/// A role-specific evaluation: dimensions each tied to a skill, with weights and a passing
/// percent. Every member of the organization may read rubrics.
#[Object]
impl Rubric {
    /// The rubric's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The rubric's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The track whose owner manages this rubric; null for an organization-wide rubric.
    async fn track(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Track>> {
        load_opt(&loaders(ctx)?.tracks, self.0.track_id, Track).await
    }

    /// The role it evaluates for; null when not role-specific.
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Role>> {
        load_opt(&loaders(ctx)?.roles, self.0.role_id, Role).await
    }

    /// The weighted total (0–100) an assessment needs to pass; also the share of its own
    /// maximum a dimension needs for its skill to rise.
    async fn passing_percent(&self) -> i32 {
        self.0.passing_percent
    }

    /// The dimensions, in order.
    async fn dimensions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RubricDimension>> {
        Ok(loaders(ctx)?
            .rubric_dimensions
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(RubricDimension)
            .collect())
    }

    /// The assessments made with this rubric that the viewer may see, newest first: all for
    /// OWNER, ADMIN, HR and the track's owner; the viewer's own (and a manager's reports')
    /// otherwise.
    async fn assessments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Assessment>> {
        Ok(loaders(ctx)?
            .rubric_assessments
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Assessment)
            .collect())
    }

    /// When the rubric was created.
    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }
}

/// One dimension of a rubric: a skill, its weight and scale of points.
pub struct RubricDimension(pub service::Dimension);

/// One dimension of a rubric: a skill, its weight and scale of points.
#[Object]
impl RubricDimension {
    /// The skill it measures.
    async fn skill(&self, ctx: &Context<'_>) -> async_graphql::Result<Skill> {
        load_skill(ctx, self.0.skill_id).await
    }

    /// What the evaluator looks for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Its weight in the total (relative to the other dimensions' weights).
    async fn weight(&self) -> f64 {
        self.0.weight
    }

    /// The most points it can score.
    async fn max_points(&self) -> i32 {
        self.0.max_points
    }

    /// The level the skill rises to on a pass (when this dimension scored at least the
    /// passing percent of its maximum); null: a pass raises nothing here.
    async fn level_on_pass(&self) -> Option<i32> {
        self.0.level_on_pass
    }
}

/// One recorded evaluation of a user against a rubric.
pub struct Assessment(pub service::Assessment);

/// One recorded evaluation of a user against a rubric.
#[Object]
impl Assessment {
    /// The assessment's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The rubric used.
    async fn rubric(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Rubric>> {
        Ok(loaders(ctx)?
            .rubrics
            .load_one(self.0.rubric_id)
            .await?
            .map(Rubric))
    }

    /// Who was assessed.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)?
            .users
            .load_one(self.0.user_id)
            .await?
            .map(User))
    }

    /// Who assessed (the viewer who recorded it); null when that person is outside the
    /// viewer's reach (as `user(id)` would be).
    async fn evaluator(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        // The evaluator is a person like any other: null outside the viewer's reach.
        let (state, viewer) = super::parts(ctx)?;
        if !crate::service::authz::can_see_user(&state.db.read, viewer, self.0.evaluator_id).await?
        {
            return Ok(None);
        }
        Ok(loaders(ctx)?
            .users
            .load_one(self.0.evaluator_id)
            .await?
            .map(User))
    }

    /// The weighted total, 0–100 (two decimals).
    async fn percent(&self) -> f64 {
        self.0.percent
    }

    /// True when `percent` reached the rubric's passing percent.
    async fn passed(&self) -> bool {
        self.0.passed
    }

    /// The evaluator's note.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    /// When it was recorded.
    async fn assessed_at(&self) -> DateTime {
        DateTime::from_micros(self.0.assessed_at)
    }

    /// Points per dimension.
    async fn scores(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DimensionScore>> {
        Ok(loaders(ctx)?
            .assessment_scores
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(DimensionScore)
            .collect())
    }
}

/// The points one dimension scored.
pub struct DimensionScore(pub service::Score);

/// The points one dimension scored.
#[Object]
impl DimensionScore {
    /// The dimension's skill.
    async fn skill(&self, ctx: &Context<'_>) -> async_graphql::Result<Skill> {
        load_skill(ctx, self.0.skill_id).await
    }

    /// Points scored, 0 to the dimension's maximum.
    async fn points(&self) -> i32 {
        self.0.points
    }
}

/// One dimension of a new rubric.
#[derive(InputObject)]
pub struct RubricDimensionInput {
    /// The skill it measures (each skill once per rubric).
    pub skill_id: ID,
    /// What the evaluator looks for.
    pub description: Option<String>,
    /// Its weight in the total (above 0, at most 1000).
    #[graphql(default = 1.0)]
    pub weight: f64,
    /// The most points it can score (1–1000).
    pub max_points: i32,
    /// The level a pass grants (on the proficiency scale); omit: a pass raises nothing here.
    pub level_on_pass: Option<i32>,
}

/// A new rubric. OWNER and ADMIN; a track's owner for a rubric of that track.
#[derive(InputObject)]
pub struct CreateRubricInput {
    /// The rubric's name.
    pub name: String,
    /// The track whose owner manages the rubric.
    pub track_id: Option<ID>,
    /// The role it evaluates for.
    pub role_id: Option<ID>,
    /// The weighted total (0–100) a pass needs.
    pub passing_percent: i32,
    /// At least one dimension.
    pub dimensions: Vec<RubricDimensionInput>,
}

/// Points for one dimension of the rubric.
#[derive(InputObject)]
pub struct DimensionScoreInput {
    /// The dimension's skill (VALIDATION when the rubric has no such dimension).
    pub skill_id: ID,
    /// 0 to the dimension's maximum (VALIDATION above it).
    pub points: i32,
}

/// An assessment to record; the evaluator is the viewer. Score every dimension once.
#[derive(InputObject)]
pub struct RecordAssessmentInput {
    /// The rubric.
    pub rubric_id: ID,
    /// Who is assessed (NOT_FOUND outside the organization).
    pub user_id: ID,
    /// Points per dimension.
    pub scores: Vec<DimensionScoreInput>,
    /// The evaluator's note.
    pub comment: Option<String>,
}

/// The rubric created.
#[derive(SimpleObject)]
pub struct CreateRubricPayload {
    /// The new rubric.
    pub rubric: Rubric,
}

/// A skill an assessment raised.
#[derive(SimpleObject)]
pub struct RaisedSkill {
    /// The skill.
    pub skill: Skill,
    /// Its new level (source ASSESSMENT).
    pub level: i32,
}

/// The assessment recorded and the skills it raised.
#[derive(SimpleObject)]
pub struct RecordAssessmentPayload {
    /// The new assessment.
    pub assessment: Assessment,
    /// Skills raised on the user's profile by this pass (empty when it failed).
    pub raised: Vec<RaisedSkill>,
}

#[derive(Default)]
pub struct AssessmentQuery;

#[Object]
impl AssessmentQuery {
    /// A rubric of the viewer's organization, or null.
    async fn rubric(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the rubric; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<Rubric>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = uuid::Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(crate::service::rows::find_many::<entity::rubric::Entity>(
            &state.db.read,
            viewer.org_id,
            &[id],
        )
        .await?
        .pop()
        .map(Rubric))
    }

    /// The organization's rubrics by name, optionally of one track or role.
    async fn rubrics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the rubrics of this track.")] track_id: Option<ID>,
        #[graphql(desc = "Only the rubrics of this role.")] role_id: Option<ID>,
    ) -> async_graphql::Result<Vec<Rubric>> {
        let (state, viewer) = parts(ctx)?;
        Ok(service::list_rubrics(
            &state.db.read,
            viewer.org_id,
            parse_opt_id(&track_id, "track")?,
            parse_opt_id(&role_id, "role")?,
        )
        .await?
        .into_iter()
        .map(Rubric)
        .collect())
    }
}

#[derive(Default)]
pub struct AssessmentMutation;

#[Object]
impl AssessmentMutation {
    /// Creates a rubric. OWNER, ADMIN; the owner of `trackId` for that track (another track's
    /// owner is FORBIDDEN).
    async fn create_rubric(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createRubric` does: see `CreateRubricInput`.")]
        input: CreateRubricInput,
    ) -> async_graphql::Result<CreateRubricPayload> {
        let (state, viewer) = parts(ctx)?;
        let mut dimensions = Vec::with_capacity(input.dimensions.len());
        for d in input.dimensions {
            dimensions.push(NewDimension {
                skill_id: parse_id(&d.skill_id, "skill")?,
                description: d.description,
                weight: d.weight,
                max_points: d.max_points,
                level_on_pass: d.level_on_pass,
            });
        }
        let rubric = service::create_rubric(
            state,
            viewer,
            NewRubric {
                name: input.name,
                track_id: parse_opt_id(&input.track_id, "track")?,
                role_id: parse_opt_id(&input.role_id, "role")?,
                passing_percent: input.passing_percent,
                dimensions,
            },
        )
        .await?;
        Ok(CreateRubricPayload {
            rubric: Rubric(rubric),
        })
    }

    /// Records an assessment with the viewer as the evaluator: the weighted total decides the
    /// pass; a pass raises the user's skill to `levelOnPass` (source ASSESSMENT) for every
    /// dimension scored at least the passing percent of its own maximum, so match scores move.
    /// OWNER, ADMIN, HR; the owner of the rubric's track for its learners; a MANAGER for their
    /// reports.
    async fn record_assessment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `recordAssessment` does: see `RecordAssessmentInput`.")]
        input: RecordAssessmentInput,
    ) -> async_graphql::Result<RecordAssessmentPayload> {
        let (state, viewer) = parts(ctx)?;
        let rubric_id = parse_id(&input.rubric_id, "rubric")?;
        let user_id = parse_id(&input.user_id, "user")?;
        let mut scores = Vec::with_capacity(input.scores.len());
        for s in &input.scores {
            let skill = uuid::Uuid::parse_str(s.skill_id.as_str()).map_err(|_| {
                crate::error::AppError::validation(
                    "scores.skillId",
                    "a score names a skill that is not a dimension of the rubric",
                )
            })?;
            scores.push((skill, s.points));
        }
        let recorded =
            service::record(state, viewer, rubric_id, user_id, scores, input.comment).await?;
        let mut raised = Vec::new();
        for (skill, level) in recorded.raised {
            raised.push(RaisedSkill {
                skill: load_skill(ctx, skill).await?,
                level,
            });
        }
        Ok(RecordAssessmentPayload {
            assessment: Assessment(recorded.assessment),
            raised,
        })
    }
}

/// `user.assessments`: the user's assessments the viewer may see, newest first.
pub async fn of_user(
    ctx: &Context<'_>,
    user_id: uuid::Uuid,
) -> async_graphql::Result<Vec<Assessment>> {
    Ok(loaders(ctx)?
        .user_assessments
        .load_one(user_id)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(Assessment)
        .collect())
}
