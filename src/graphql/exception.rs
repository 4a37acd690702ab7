//! The exceptions compliance officers make by hand: manual assignments (`assignCourse`,
//! `unassignCourse`). OWNER, ADMIN and HR.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::assignment::Assignment;
use super::course::Course;
use super::scalars::DateTime;
use super::user::User;
use super::{loaders, parse_id, parse_opt_id, parts};
use crate::service::engine::Outcome;
use crate::service::manual::{self, AssignCourse, ManualRequirement};
use crate::service::viewer::ActorType;

/// A course required of one person by hand. The engine never withdraws what it holds;
/// `unassignCourse` ends it.
pub struct ManualAssignment(pub ManualRequirement);

/// A course required of one person by hand (`assignCourse`). The engine never withdraws what it
/// holds; `unassignCourse` ends it.
#[Object]
impl ManualAssignment {
    /// Its id (a MANUAL reason names it).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The person it requires the course of.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)?
            .users
            .load_one(self.0.user_id)
            .await?
            .map(User))
    }

    /// The course required.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Course>> {
        Ok(loaders(ctx)?
            .courses
            .load_one(self.0.course_id)
            .await?
            .map(Course))
    }

    /// The due date it sets; null: none (a rule's may still apply).
    async fn due_at(&self) -> Option<DateTime> {
        self.0.due_at.map(DateTime::from_micros)
    }

    /// Why it was assigned, as the assigner wrote it.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// When it was assigned.
    async fn assigned_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// Who assigned it: a person, an API client or the system.
    async fn assigned_by_type(&self) -> Option<ActorType> {
        self.0.created_by_type.parse().ok()
    }

    /// The id of the person or API client who assigned it; null for the system.
    async fn assigned_by_id(&self) -> Option<ID> {
        self.0.created_by_id.map(|id| ID(id.to_string()))
    }

    /// When `unassignCourse` ended it; null while it holds.
    async fn ended_at(&self) -> Option<DateTime> {
        self.0.ended_at.map(DateTime::from_micros)
    }
}

/// Who must take a course, by hand: people, a group's current members (and its subgroups'), or
/// both.
#[derive(InputObject)]
pub struct AssignCourseInput {
    /// People to assign (at most 500, like every input list; a group may name up to 10,000).
    pub user_ids: Option<Vec<ID>>,
    /// A group whose current members (subgroups included) are assigned, as of now.
    pub group_id: Option<ID>,
    /// The course.
    pub course_id: ID,
    /// The due date; in the future. Null: none of its own (a rule's due date still applies).
    pub due_at: Option<DateTime>,
    /// Why (shown on the assignment's reason and in the audit log).
    pub note: Option<String>,
}

/// What `assignCourse` did.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AssignCoursePayload {
    /// The manual requirements made, one per person who had none for the course.
    pub manual_assignments: Vec<ManualAssignment>,
    /// The current assignment of the course of every person named.
    pub assignments: Vec<Assignment>,
    /// People who already had the course assigned by hand (nothing changed for them).
    pub unchanged: Vec<ID>,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(AssignCoursePayload);

/// The assignment whose manual reason ends.
#[derive(InputObject)]
pub struct UnassignCourseInput {
    /// An assignment holding a manual reason; another organization's: NOT_FOUND.
    pub assignment_id: ID,
}

/// What `unassignCourse` did.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct UnassignCoursePayload {
    /// The assignment as it now stands: WITHDRAWN when nothing else required it (completed work
    /// stays completed).
    pub assignment: Assignment,
    /// The manual requirement, ended.
    pub manual_assignment: ManualAssignment,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(UnassignCoursePayload);

#[derive(Default)]
pub struct ExceptionMutation;

#[Object]
impl ExceptionMutation {
    /// Requires a course of people by hand, with a MANUAL reason naming who assigned it; the
    /// engine never withdraws it. OWNER, ADMIN, HR. Neither `userIds` nor `groupId`, a due date
    /// not in the future or a deactivated person: VALIDATION; an unknown course: NOT_FOUND.
    async fn assign_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who must take which course, and by when.")] input: AssignCourseInput,
    ) -> async_graphql::Result<AssignCoursePayload> {
        let (state, viewer) = parts(ctx)?;
        let user_ids = input
            .user_ids
            .unwrap_or_default()
            .iter()
            .map(|id| parse_id(id, "user"))
            .collect::<Result<Vec<_>, _>>()?;
        let done = manual::assign(
            state,
            viewer,
            AssignCourse {
                user_ids,
                group_id: parse_opt_id(&input.group_id, "group")?,
                course_id: parse_id(&input.course_id, "course")?,
                due_at: input.due_at.map(|d| d.micros()),
                note: input.note,
            },
        )
        .await?;
        Ok(AssignCoursePayload {
            manual_assignments: done
                .requirements
                .into_iter()
                .map(ManualAssignment)
                .collect(),
            assignments: done.assignments.into_iter().map(Assignment).collect(),
            unchanged: done.unchanged.iter().map(|id| ID(id.to_string())).collect(),
            outcome: done.outcome,
        })
    }

    /// Ends the manual reason of an assignment; it is withdrawn when nothing else requires it.
    /// OWNER, ADMIN, HR. An assignment without a manual reason: VALIDATION.
    async fn unassign_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The assignment whose manual reason ends.")] input: UnassignCourseInput,
    ) -> async_graphql::Result<UnassignCoursePayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.assignment_id, "assignment")?;
        let done = manual::unassign(state, viewer, id).await?;
        Ok(UnassignCoursePayload {
            assignment: Assignment(done.assignment),
            manual_assignment: ManualAssignment(done.requirement),
            outcome: done.outcome,
        })
    }
}
