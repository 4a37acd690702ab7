//! Assignments: the `Assignment` type with its reasons, the assignment queries, and the
//! `assignmentsCreated` / `assignmentsWithdrawn` fields of every payload whose mutation runs
//! the engine.

use async_graphql::{Context, Enum, ID, InputObject, Object};

use super::course::Course;
use super::pagination::{Conn, connection};
use super::rule::Rule;
use super::scalars::DateTime;
use super::user::User;
use super::{load_opt, loaders, parse_id, parse_opt_id, parts, to_id};
use crate::service::assignment::{self as service, AssignmentFilter as Filter};
use crate::service::authz;
use crate::service::page::PageRequest;
use entity::{assignment, assignment_reason};

/// Where an assignment stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::assignment::Status")]
pub enum AssignmentStatus {
    /// Not available yet: its unlock date is ahead.
    Locked,
    /// Available and not started.
    Assigned,
    /// Started, not completed.
    InProgress,
    /// Completed (and, for a course with a validity, not expired).
    Completed,
    /// No longer required and not completed: the user left the audience of every rule that
    /// required it.
    Withdrawn,
    /// A completed cycle whose validity ended.
    Expired,
}

/// The requirement that a user take a course, and why.
pub struct Assignment(pub assignment::Model);

/// The requirement that a user take a course, and why.
#[Object]
impl Assignment {
    /// The assignment's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The learner; null when the viewer may not see them.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let user = loaders(ctx)?.users.load_one(self.0.user_id).await?;
        user.map(User)
            .ok_or_else(|| crate::error::AppError::internal("assignment without user").into())
    }

    /// The course to take.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Course> {
        let course = loaders(ctx)?.courses.load_one(self.0.course_id).await?;
        course
            .map(Course)
            .ok_or_else(|| crate::error::AppError::internal("assignment without course").into())
    }

    /// Where the learner stands with the course.
    async fn status(&self) -> AssignmentStatus {
        AssignmentStatus::from(self.0.status)
    }

    /// When the requirement arose.
    async fn assigned_at(&self) -> DateTime {
        DateTime::from_micros(self.0.assigned_at)
    }

    /// When the course becomes available; null when it was available from the start.
    async fn unlock_at(&self) -> Option<DateTime> {
        self.0.unlock_at.map(DateTime::from_micros)
    }

    /// The earliest due date any of its rules sets; null when none sets one.
    async fn due_at(&self) -> Option<DateTime> {
        self.0.due_at.map(DateTime::from_micros)
    }

    /// When the learner started the course; null until then.
    async fn started_at(&self) -> Option<DateTime> {
        self.0.started_at.map(DateTime::from_micros)
    }

    /// When the course was completed; null until then.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime::from_micros)
    }

    /// When the completion stops counting (courses with a validity).
    async fn expires_at(&self) -> Option<DateTime> {
        self.0.expires_at.map(DateTime::from_micros)
    }

    /// When the assignment was withdrawn (no rule requires it any more); null while it stands.
    async fn withdrawn_at(&self) -> Option<DateTime> {
        self.0.withdrawn_at.map(DateTime::from_micros)
    }

    /// True when no rule requires it any more but one that did said `KEEP`.
    async fn kept(&self) -> bool {
        self.0.kept
    }

    /// Why the user must take the course: the rules requiring it now, each with the moment the
    /// user entered its audience. With `includeEnded`, rules that required it earlier too.
    async fn reasons(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default_with = "Some(false)",
            desc = "Also list rules that required the course earlier and no longer do (default false)."
        )]
        include_ended: Option<bool>,
    ) -> async_graphql::Result<Vec<AssignmentReason>> {
        let l = loaders(ctx)?;
        let loader = if include_ended.unwrap_or(false) {
            &l.all_reasons
        } else {
            &l.current_reasons
        };
        Ok(loader
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(AssignmentReason)
            .collect())
    }
}

/// One rule's requirement behind an assignment.
pub struct AssignmentReason(pub assignment_reason::Model);

/// What requires an assignment: a rule, or a person by hand.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum ReasonKind {
    /// A rule's audience holds the person and its bundle names the course (or a course that
    /// needs it).
    Rule,
    /// Assigned by hand (`assignCourse`); the engine never withdraws it.
    Manual,
}

/// One requirement behind an assignment: a rule's, or a manual assignment's.
#[Object]
impl AssignmentReason {
    /// RULE or MANUAL.
    async fn kind(&self, ctx: &Context<'_>) -> async_graphql::Result<ReasonKind> {
        Ok(match loaders(ctx)?.manual.load_one(self.0.rule_id).await? {
            Some(_) => ReasonKind::Manual,
            None => ReasonKind::Rule,
        })
    }

    /// The rule (still readable after it is deleted); null for a manual assignment.
    async fn rule(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Rule>> {
        Ok(loaders(ctx)?
            .rules
            .load_one(self.0.rule_id)
            .await?
            .map(Rule))
    }

    /// The manual assignment (who assigned it, when, why); null for a rule's requirement.
    async fn manual(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::exception::ManualAssignment>> {
        Ok(loaders(ctx)?
            .manual
            .load_one(self.0.rule_id)
            .await?
            .map(super::exception::ManualAssignment))
    }

    /// For a prerequisite the engine assigned on its own: the course of the rule's bundle that
    /// needs it (the rule names that course, not this one). Null when the rule names this
    /// course itself.
    async fn needed_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Course>> {
        load_opt(&loaders(ctx)?.courses, self.0.via_course_id, Course).await
    }

    /// When the user entered the rule's audience; the bundle's offsets count from here.
    async fn since(&self) -> DateTime {
        DateTime::from_micros(self.0.since)
    }

    /// When the rule stopped requiring it; null while it still does.
    async fn until(&self) -> Option<DateTime> {
        self.0.until.map(DateTime::from_micros)
    }

    /// The unlock date this rule alone sets.
    async fn unlock_at(&self) -> Option<DateTime> {
        self.0.unlock_at.map(DateTime::from_micros)
    }

    /// The due date this rule alone sets.
    async fn due_at(&self) -> Option<DateTime> {
        self.0.due_at.map(DateTime::from_micros)
    }
}

/// Filters of `assignments`; all given parts must hold.
#[derive(InputObject, Default)]
pub struct AssignmentFilter {
    /// Only this user's assignments.
    pub user_id: Option<ID>,
    /// Assignments of the current members of this group.
    pub group_id: Option<ID>,
    /// With `groupId`: members of its subgroups too (default false).
    pub include_subgroups: Option<bool>,
    /// Only the assignments of this course.
    pub course_id: Option<ID>,
    /// Assignments this rule requires or required.
    pub rule_id: Option<ID>,
    /// Any of these statuses (default: all).
    pub status: Option<Vec<AssignmentStatus>>,
}

impl AssignmentFilter {
    fn into_service(self) -> Result<Filter, crate::error::AppError> {
        Ok(Filter {
            user_id: parse_opt_id(&self.user_id, "user")?,
            group_id: parse_opt_id(&self.group_id, "group")?,
            include_subgroups: self.include_subgroups.unwrap_or(false),
            course_id: parse_opt_id(&self.course_id, "course")?,
            rule_id: parse_opt_id(&self.rule_id, "rule")?,
            statuses: self
                .status
                .map(|s| s.into_iter().map(assignment::Status::from).collect()),
        })
    }
}

#[derive(Default)]
pub struct AssignmentQuery;

#[Object]
impl AssignmentQuery {
    /// An assignment by id; null when unknown or not visible to the viewer (a LEARNER sees its
    /// own, a MANAGER those of its reports).
    async fn assignment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the assignment; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<Assignment>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = parse_id(&id, "assignment") else {
            return Ok(None);
        };
        Ok(service::get(&state.db.read, viewer, id)
            .await?
            .map(Assignment))
    }

    /// Assignments visible to the viewer, oldest first. `first` defaults to 50 (at most 500).
    #[graphql(complexity = "super::pagination::cost(first, child_complexity)")]
    async fn assignments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<AssignmentFilter>,
        #[graphql(desc = "How many items to return: 50 when omitted, at most 500.")] first: Option<
            i32,
        >,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Assignment>> {
        let (state, viewer) = parts(ctx)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let page = PageRequest::new(first, after)?.of_org(viewer.org_id);
        let rows = service::list(&state.db.read, viewer, &filter, &page).await?;
        let (db, viewer) = (state.db.read.clone(), viewer.clone());
        Ok(connection(rows, Assignment, move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            Box::pin(async move { service::count(&db, &viewer, &filter).await })
        }))
    }
}

/// `user.assignments`: a user's assignments, oldest first, optionally by status.
pub async fn of_user(
    ctx: &Context<'_>,
    user_id: uuid::Uuid,
    status: Option<Vec<AssignmentStatus>>,
) -> async_graphql::Result<Vec<Assignment>> {
    let (state, viewer) = parts(ctx)?;
    if !authz::can_see_user(&state.db.read, viewer, user_id).await? {
        return Ok(vec![]);
    }
    let rows = loaders(ctx)?
        .user_assignments
        .load_one(user_id)
        .await?
        .unwrap_or_default();
    Ok(rows
        .into_iter()
        .filter(|a| {
            status
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| assignment::Status::from(*x) == a.status))
        })
        .map(Assignment)
        .collect())
}

/// Loads the assignments a mutation created or withdrew, in the order the engine reported.
pub async fn load_all(
    ctx: &Context<'_>,
    ids: &[uuid::Uuid],
) -> async_graphql::Result<Vec<Assignment>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let map = loaders(ctx)?
        .assignments
        .load_many(ids.iter().copied())
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| map.get(id).cloned())
        .map(Assignment)
        .collect())
}

/// Adds `assignmentsCreated` and `assignmentsWithdrawn` to a payload that holds the engine's
/// `outcome` (a `#[graphql(skip)]` field).
#[macro_export]
macro_rules! engine_payload {
    ($payload:ty) => {
        #[async_graphql::ComplexObject]
        impl $payload {
            /// Assignments this change created (the engine reconciled every rule it touched).
            async fn assignments_created(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Vec<$crate::graphql::assignment::Assignment>> {
                $crate::graphql::assignment::load_all(ctx, &self.outcome.created).await
            }

            /// Assignments this change withdrew.
            async fn assignments_withdrawn(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Vec<$crate::graphql::assignment::Assignment>> {
                $crate::graphql::assignment::load_all(ctx, &self.outcome.withdrawn).await
            }
        }
    };
}
