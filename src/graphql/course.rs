//! Courses: the `Course` type, its queries and mutations.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::scalars::DateTime;
use super::skill::{Skill, load_skill};
use super::{loaders, parse_id, parts, to_id};
use crate::service::course::{self as service, CourseChanges, NewCourse};
use entity::{course, course_skill};

/// A unit of training.
pub struct Course(pub course::Model);

/// A unit of training.
#[Object]
impl Course {
    /// The course's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The course's title, unique in the organization.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// What the course is about; null when none was given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Expected time to complete, in minutes.
    async fn duration_minutes(&self) -> Option<i32> {
        self.0.duration_minutes
    }

    /// Days a completion stays valid (certificates); null when it never expires.
    async fn validity_days(&self) -> Option<i32> {
        self.0.validity_days
    }

    /// Days before expiry when a renewal opens; null without a validity.
    async fn renewal_window_days(&self) -> Option<i32> {
        self.0.renewal_window_days
    }

    /// Where the content lives: a SCORM/xAPI id or a URL.
    async fn external_ref(&self) -> Option<&str> {
        self.0.external_ref.as_deref()
    }

    /// Courses to complete first, in the order given.
    async fn prerequisites(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Course>> {
        let l = loaders(ctx)?;
        let ids = l
            .prerequisites
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let map = l.courses.load_many(ids.iter().copied()).await?;
        Ok(ids
            .iter()
            .filter_map(|id| map.get(id).cloned())
            .map(Course)
            .collect())
    }

    /// The skills the course develops, each with the level a completion brings it to, in the
    /// order given.
    async fn skills(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CourseSkill>> {
        Ok(loaders(ctx)?
            .course_skills
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(CourseSkill)
            .collect())
    }

    /// When the course was created.
    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// When the course was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime::from_micros(self.0.updated_at)
    }
}

/// A skill a course develops.
pub struct CourseSkill(pub course_skill::Model);

/// A skill a course develops.
#[Object]
impl CourseSkill {
    /// The skill.
    async fn skill(&self, ctx: &Context<'_>) -> async_graphql::Result<Skill> {
        load_skill(ctx, self.0.skill_id).await
    }

    /// The level a completion of the course brings the skill to.
    async fn level(&self) -> i32 {
        self.0.level
    }
}

/// A skill a course develops, and to which level.
#[derive(InputObject)]
pub struct CourseSkillInput {
    /// The skill.
    pub skill_id: ID,
    /// The level on the proficiency scale a completion brings the skill to.
    pub level: i32,
}

fn course_skills(
    list: &[CourseSkillInput],
) -> Result<Vec<(uuid::Uuid, i32)>, crate::error::AppError> {
    list.iter()
        .map(|s| Ok((parse_id(&s.skill_id, "skill")?, s.level)))
        .collect()
}

/// A new course of the catalogue.
#[derive(InputObject)]
pub struct CreateCourseInput {
    /// 1–200 characters.
    pub title: String,
    /// What the course is about; omit for none.
    pub description: Option<String>,
    /// Expected time to complete, in minutes (not negative).
    pub duration_minutes: Option<i32>,
    /// Days a completion stays valid (1–36500); omit when it never expires.
    pub validity_days: Option<i32>,
    /// Days before expiry when a renewal opens (needs `validityDays`, shorter than it).
    pub renewal_window_days: Option<i32>,
    /// Courses to complete first; a set that would close a cycle is refused.
    pub prerequisite_ids: Option<Vec<ID>>,
    /// Where the content lives: a SCORM/xAPI id or a URL.
    pub external_ref: Option<String>,
    /// The skills the course develops (each once), with the level a completion brings them
    /// to; recommendations use them to close skill gaps.
    pub skills: Option<Vec<CourseSkillInput>>,
}

/// Changes to a course; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCourseInput {
    /// The course to change.
    pub id: ID,
    /// The new title, unique in the organization.
    pub title: Option<String>,
    /// null clears it.
    pub description: MaybeUndefined<String>,
    /// null clears it.
    pub duration_minutes: MaybeUndefined<i32>,
    /// null clears it (completions stop expiring).
    pub validity_days: MaybeUndefined<i32>,
    /// null clears it.
    pub renewal_window_days: MaybeUndefined<i32>,
    /// Replaces the whole set.
    pub prerequisite_ids: Option<Vec<ID>>,
    /// null clears it.
    pub external_ref: MaybeUndefined<String>,
    /// Replaces the whole set.
    pub skills: Option<Vec<CourseSkillInput>>,
}

/// The course created.
#[derive(SimpleObject)]
pub struct CreateCoursePayload {
    /// The course created.
    pub course: Course,
}

/// The course as changed.
#[derive(SimpleObject)]
pub struct UpdateCoursePayload {
    /// The course, changed.
    pub course: Course,
}

fn change<T>(m: MaybeUndefined<T>) -> Option<Option<T>> {
    match m {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

fn ids(list: &[ID], what: &str) -> Result<Vec<uuid::Uuid>, crate::error::AppError> {
    list.iter().map(|id| parse_id(id, what)).collect()
}

#[derive(Default)]
pub struct CourseQuery;

#[Object]
impl CourseQuery {
    /// A course by id; null when unknown.
    async fn course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the course; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<Course>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = parse_id(&id, "course") else {
            return Ok(None);
        };
        Ok(
            crate::service::rows::find::<entity::course::Entity>(&state.db.read, viewer.org_id, id)
                .await?
                .map(Course),
        )
    }

    /// Courses by title; `search` matches a case-insensitive part of the title.
    async fn courses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A case-insensitive part of the title.")] search: Option<String>,
    ) -> async_graphql::Result<Vec<Course>> {
        let (state, viewer) = parts(ctx)?;
        Ok(
            service::list(&state.db.read, viewer.org_id, search.as_deref())
                .await?
                .into_iter()
                .map(Course)
                .collect(),
        )
    }
}

#[derive(Default)]
pub struct CourseMutation;

#[Object]
impl CourseMutation {
    /// OWNER, ADMIN.
    async fn create_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createCourse` does: see `CreateCourseInput`.")]
        input: CreateCourseInput,
    ) -> async_graphql::Result<CreateCoursePayload> {
        let (state, viewer) = parts(ctx)?;
        let new = NewCourse {
            title: input.title,
            description: input.description,
            duration_minutes: input.duration_minutes,
            validity_days: input.validity_days,
            renewal_window_days: input.renewal_window_days,
            external_ref: input.external_ref,
            prerequisite_ids: ids(
                &input.prerequisite_ids.unwrap_or_default(),
                "prerequisite course",
            )?,
            skills: course_skills(&input.skills.unwrap_or_default())?,
        };
        let course = service::create(state, viewer, new).await?;
        Ok(CreateCoursePayload {
            course: Course(course),
        })
    }

    /// Changes a course; omitted fields stay as they are. OWNER, ADMIN.
    async fn update_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `updateCourse` does: see `UpdateCourseInput`.")]
        input: UpdateCourseInput,
    ) -> async_graphql::Result<UpdateCoursePayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "course")?;
        let changes = CourseChanges {
            title: input.title,
            description: change(input.description),
            duration_minutes: change(input.duration_minutes),
            validity_days: change(input.validity_days),
            renewal_window_days: change(input.renewal_window_days),
            external_ref: change(input.external_ref),
            prerequisite_ids: input
                .prerequisite_ids
                .as_deref()
                .map(|l| ids(l, "prerequisite course"))
                .transpose()?,
            skills: input.skills.as_deref().map(course_skills).transpose()?,
        };
        let course = service::update(state, viewer, id, changes).await?;
        Ok(UpdateCoursePayload {
            course: Course(course),
        })
    }
}
