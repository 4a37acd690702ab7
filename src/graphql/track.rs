//! Tracks: the `Track` type (ordered courses with shared foundations, an owner, a role), its
//! queries and mutations.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::course::Course;
use super::role::Role;
use super::scalars::DateTime;
use super::user::User;
use super::{load_opt, loaders, parse_id, parse_opt_id, parts, to_id};
use crate::engine_payload;
use crate::error::AppError;
use crate::service::authz;
use crate::service::engine::Outcome;
use crate::service::track::{self as service, NewTrack, TrackChanges};

/// A learning path owned by a person: courses in the order to take them, usually for a role.
/// Every member of the organization may read tracks; learners and reports of a track are for
/// its owner, OWNER, ADMIN and HR.
pub struct Track(pub service::Track);

/// A learning path owned by a person: courses in the order to take them, usually for a role.
/// Every member of the organization may read tracks; learners and reports of a track are for
/// its owner, OWNER, ADMIN and HR.
#[Object]
impl Track {
    /// The track's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// Unique in the organization, case-insensitively.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the track is for; null when not given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The role the track prepares for; null for a track of no particular role.
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Role>> {
        load_opt(&loaders(ctx)?.roles, self.0.role_id, Role).await
    }

    /// The track owner, who manages its courses, rubrics and assessments; null when the viewer
    /// may not see that person.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let (state, viewer) = parts(ctx)?;
        if viewer.user_id != self.0.owner_id
            && !authz::can_see_user(&state.db.read, viewer, self.0.owner_id).await?
        {
            return Ok(None);
        }
        Ok(loaders(ctx)?
            .users
            .load_one(self.0.owner_id)
            .await?
            .map(User))
    }

    /// The id of the track owner (always shown, even when `owner` is not).
    async fn owner_id(&self) -> ID {
        to_id(self.0.owner_id)
    }

    /// The steps, in order; the order respects the courses' prerequisites.
    async fn courses(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TrackStep>> {
        Ok(loaders(ctx)?
            .track_courses
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(TrackStep)
            .collect())
    }

    /// The rubrics of the track, by name.
    async fn rubrics(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::assessment::Rubric>> {
        let (state, viewer) = parts(ctx)?;
        Ok(crate::service::assessment::list_rubrics(
            &state.db.read,
            viewer.org_id,
            Some(self.0.id),
            None,
        )
        .await?
        .into_iter()
        .map(super::assessment::Rubric)
        .collect())
    }

    /// When the track was created.
    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// When the track was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime::from_micros(self.0.updated_at)
    }
}

/// One course of a track.
pub struct TrackStep(pub service::TrackCourse);

/// One course of a track.
#[Object]
impl TrackStep {
    /// 0 for the first step.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// The course.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Course> {
        loaders(ctx)?
            .courses
            .load_one(self.0.course_id)
            .await?
            .map(Course)
            .ok_or_else(|| AppError::internal("track step without course").into())
    }

    /// True for a shared-foundation course: one that several tracks build on.
    async fn foundation(&self) -> bool {
        self.0.foundation
    }
}

/// One course of a track, listed in order.
#[derive(InputObject, Clone)]
pub struct TrackCourseInput {
    /// The course.
    pub course_id: ID,
    /// Marks a shared-foundation course (one that several tracks build on).
    #[graphql(default)]
    pub foundation: bool,
}

/// A new track. OWNER, ADMIN.
#[derive(InputObject)]
pub struct CreateTrackInput {
    /// Unique in the organization, case-insensitively (else CONFLICT).
    pub name: String,
    /// What the track is for.
    pub description: Option<String>,
    /// The role the track prepares for.
    pub role_id: Option<ID>,
    /// The person who manages the track's courses, rubrics and assessments.
    pub owner_id: ID,
    /// The courses in the order to take them (1–60, each once); a course may not come before
    /// one of its prerequisites (VALIDATION).
    pub courses: Vec<TrackCourseInput>,
}

/// Changes to a track; omitted fields stay. The track's owner, OWNER or ADMIN; only OWNER and
/// ADMIN hand the track to another owner.
#[derive(InputObject)]
pub struct UpdateTrackInput {
    /// The track.
    pub id: ID,
    /// A new name.
    pub name: Option<String>,
    /// A new description; null clears it.
    pub description: MaybeUndefined<String>,
    /// A new role; null: no particular role.
    pub role_id: MaybeUndefined<ID>,
    /// A new owner (OWNER, ADMIN).
    pub owner_id: Option<ID>,
    /// Replaces the courses; rules whose bundle names the track follow at once.
    pub courses: Option<Vec<TrackCourseInput>>,
}

/// The track created.
#[derive(SimpleObject)]
pub struct CreateTrackPayload {
    /// The new track.
    pub track: Track,
}

/// The track as changed, and what rules naming it did to assignments.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct UpdateTrackPayload {
    /// The track.
    pub track: Track,
    #[graphql(skip)]
    pub outcome: Outcome,
}
engine_payload!(UpdateTrackPayload);

fn steps(list: &[TrackCourseInput]) -> Result<Vec<(uuid::Uuid, bool)>, AppError> {
    list.iter()
        .map(|c| Ok((parse_id(&c.course_id, "course")?, c.foundation)))
        .collect()
}

/// A track's progress and assessment statistics at one instant.
pub struct TrackReport(pub crate::service::track_report::TrackReport);

/// A track's progress and assessment statistics at one instant. The track's owner, OWNER,
/// ADMIN and HR.
#[Object]
impl TrackReport {
    /// The track.
    async fn track(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Track>> {
        Ok(loaders(ctx)?
            .tracks
            .load_one(self.0.track_id)
            .await?
            .map(Track))
    }

    /// The instant the numbers describe.
    async fn as_of(&self) -> DateTime {
        DateTime::from_micros(self.0.as_of)
    }

    /// Learners assigned a course of the track by then and not withdrawn from it.
    async fn enrolled(&self) -> i64 {
        self.0.enrolled
    }

    /// Enrolled learners who completed every course of the track.
    async fn completed(&self) -> i64 {
        self.0.completed
    }

    /// completed ÷ enrolled, 0..1 (0 when nobody is enrolled).
    async fn completion_rate(&self) -> f64 {
        self.0.completion_rate()
    }

    /// The funnel, one entry per course in track order.
    async fn steps(&self) -> Vec<TrackStepReport> {
        self.0.steps.iter().cloned().map(TrackStepReport).collect()
    }

    /// Scores of the assessments made with the track's rubrics by then.
    async fn scores(&self) -> ScoreStats {
        let s = &self.0.scores;
        ScoreStats {
            count: s.count,
            mean: s.mean,
            median: s.median,
            histogram: s
                .histogram
                .iter()
                .enumerate()
                .map(|(i, n)| HistogramBucket {
                    from: i as i32 * 10,
                    to: i as i32 * 10 + 10,
                    count: *n,
                })
                .collect(),
        }
    }

    /// Median whole days from a learner's first assignment in the track to their last
    /// completion, over the learners who completed it; null when nobody did.
    async fn median_days_to_complete(&self) -> Option<f64> {
        self.0.median_days_to_complete
    }

    /// Per evaluator: how many assessments, their mean and its difference from the track's
    /// mean (positive: grades high); largest difference first.
    async fn evaluators(&self) -> Vec<EvaluatorCalibration> {
        self.0
            .evaluators
            .iter()
            .cloned()
            .map(EvaluatorCalibration)
            .collect()
    }
}

/// One step of a track's funnel.
pub struct TrackStepReport(pub crate::service::track_report::StepReport);

/// One step of a track's funnel.
#[Object]
impl TrackStepReport {
    /// 0 for the first step.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// The course.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Course>> {
        Ok(loaders(ctx)?
            .courses
            .load_one(self.0.course_id)
            .await?
            .map(Course))
    }

    /// True for a shared-foundation course.
    async fn foundation(&self) -> bool {
        self.0.foundation
    }

    /// Enrolled learners who completed every earlier step.
    async fn reached(&self) -> i64 {
        self.0.reached
    }

    /// Of those, the learners who completed this step.
    async fn completed(&self) -> i64 {
        self.0.completed
    }

    /// reached − completed: the learners who stall at this step.
    async fn drop_off(&self) -> i64 {
        self.0.drop_off
    }

    /// dropOff ÷ reached, 0..1 (0 when nobody reached the step).
    async fn drop_off_rate(&self) -> f64 {
        if self.0.reached == 0 {
            0.0
        } else {
            self.0.drop_off as f64 / self.0.reached as f64
        }
    }
}

/// Statistics of assessment scores (percent, 0–100).
#[derive(SimpleObject)]
pub struct ScoreStats {
    /// How many assessments.
    pub count: i64,
    /// Mean percent; null without assessments.
    pub mean: Option<f64>,
    /// Median percent; null without assessments.
    pub median: Option<f64>,
    /// Ten buckets of ten points; the last holds 90 to 100 inclusive.
    pub histogram: Vec<HistogramBucket>,
}

/// A histogram bucket: scores from `from` (inclusive) to `to` (exclusive; 100 is in the last).
#[derive(SimpleObject)]
pub struct HistogramBucket {
    /// Lower bound, percent.
    pub from: i32,
    /// Upper bound, percent.
    pub to: i32,
    /// Assessments in the bucket.
    pub count: i64,
}

/// How one evaluator grades compared with the track.
pub struct EvaluatorCalibration(pub crate::service::track_report::EvaluatorReport);

/// How one evaluator grades compared with the track.
#[Object]
impl EvaluatorCalibration {
    /// The evaluator; null when outside the viewer's reach (as `user(id)` would be).
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

    /// Assessments they recorded.
    async fn count(&self) -> i64 {
        self.0.count
    }

    /// Their mean percent.
    async fn mean(&self) -> f64 {
        self.0.mean
    }

    /// Their mean minus the track's mean, in percentage points (positive: grades high).
    async fn difference(&self) -> f64 {
        self.0.difference
    }
}

/// The skill overlap of two roles.
pub struct RolePairOverlap(pub crate::service::track_report::RolePair);

/// The skill overlap of two roles.
#[Object]
impl RolePairOverlap {
    /// The first role (in the order given).
    async fn role_a(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Role>> {
        Ok(loaders(ctx)?.roles.load_one(self.0.a).await?.map(Role))
    }

    /// The second role.
    async fn role_b(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Role>> {
        Ok(loaders(ctx)?.roles.load_one(self.0.b).await?.map(Role))
    }

    /// The skills both roles require.
    async fn shared_skills(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::skill::Skill>> {
        let mut found = loaders(ctx)?
            .skills
            .load_many(self.0.shared.iter().copied())
            .await?;
        let mut out: Vec<super::skill::Skill> = self
            .0
            .shared
            .iter()
            .filter_map(|id| found.remove(id).map(super::skill::Skill))
            .collect();
        out.sort_by(|a, b| a.0.name_norm.cmp(&b.0.name_norm));
        Ok(out)
    }

    /// Shared skills ÷ the skills either role requires, 0–100 (rounded down).
    async fn overlap_percent(&self) -> i32 {
        self.0.percent
    }

    /// True at 70% or more: a candidate for a shared foundation track.
    async fn foundation_candidate(&self) -> bool {
        self.0.foundation_candidate
    }
}

#[derive(Default)]
pub struct TrackQuery;

#[Object]
impl TrackQuery {
    /// A track of the viewer's organization, or null.
    async fn track(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the track; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<Track>> {
        let Ok(id) = uuid::Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.tracks.load_one(id).await?.map(Track))
    }

    /// A track's report as of `asOf` (default now): enrolment, the step funnel with drop-off,
    /// assessment scores, median days to complete and evaluator calibration. The track's owner,
    /// OWNER, ADMIN, HR (anyone else: FORBIDDEN).
    #[graphql(complexity = "super::pagination::MATCH_COST + child_complexity")]
    async fn track_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The track reported on.")] track_id: ID,
        #[graphql(desc = "The instant the report describes; omitted, now.")] as_of: Option<
            DateTime,
        >,
    ) -> async_graphql::Result<TrackReport> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&track_id, "track")?;
        let at = as_of
            .map(|a| a.micros())
            .unwrap_or_else(|| crate::service::now_micros(state));
        let report =
            crate::service::track_report::track_report(&state.db.read, viewer, id, at).await?;
        Ok(TrackReport(report))
    }

    /// Skill overlap for every pair of the given roles (2–50, each visible to the viewer):
    /// shared skills and overlap percent, pairs at 70% or more flagged as candidates for a
    /// shared foundation.
    async fn skills_matrix(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The roles to compare, 2 to 50 of them, each visible to the viewer.")]
        role_ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<RolePairOverlap>> {
        let (state, viewer) = parts(ctx)?;
        let ids = role_ids
            .iter()
            .map(|r| parse_id(r, "role"))
            .collect::<Result<Vec<_>, _>>()?;
        let pairs =
            crate::service::track_report::skills_matrix(&state.db.read, viewer, &ids).await?;
        Ok(pairs.into_iter().map(RolePairOverlap).collect())
    }

    /// The organization's tracks by name, optionally those of one role or one owner.
    async fn tracks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the tracks of this role.")] role_id: Option<ID>,
        #[graphql(desc = "Only the tracks this user owns.")] owner_id: Option<ID>,
    ) -> async_graphql::Result<Vec<Track>> {
        let (state, viewer) = parts(ctx)?;
        let rows = service::list(
            &state.db.read,
            viewer.org_id,
            parse_opt_id(&role_id, "role")?,
            parse_opt_id(&owner_id, "user")?,
        )
        .await?;
        Ok(rows.into_iter().map(Track).collect())
    }
}

#[derive(Default)]
pub struct TrackMutation;

#[Object]
impl TrackMutation {
    /// Creates a track. OWNER, ADMIN.
    async fn create_track(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createTrack` does: see `CreateTrackInput`.")]
        input: CreateTrackInput,
    ) -> async_graphql::Result<CreateTrackPayload> {
        let (state, viewer) = parts(ctx)?;
        let track = service::create(
            state,
            viewer,
            NewTrack {
                name: input.name,
                description: input.description,
                role_id: parse_opt_id(&input.role_id, "role")?,
                owner_id: parse_id(&input.owner_id, "owner")?,
                courses: steps(&input.courses)?,
            },
        )
        .await?;
        Ok(CreateTrackPayload {
            track: Track(track),
        })
    }

    /// Changes a track. Its owner, OWNER or ADMIN (a track owner acting on another track is
    /// FORBIDDEN).
    async fn update_track(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `updateTrack` does: see `UpdateTrackInput`.")]
        input: UpdateTrackInput,
    ) -> async_graphql::Result<UpdateTrackPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "track")?;
        let changes = TrackChanges {
            name: input.name,
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d)),
            },
            role_id: match &input.role_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(r) => Some(Some(parse_id(r, "role")?)),
            },
            owner_id: parse_opt_id(&input.owner_id, "owner")?,
            courses: input.courses.as_deref().map(steps).transpose()?,
        };
        let (track, outcome) = service::update(state, viewer, id, changes).await?;
        Ok(UpdateTrackPayload {
            track: Track(track),
            outcome,
        })
    }
}
