//! Compliance: progress and completions (mutations), status now or as of any date, reports for
//! dashboards, and the certificates about to expire.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use tokio::sync::OnceCell;

use super::assignment::Assignment;
use super::course::Course;
use super::group::Group;
use super::pagination::{Conn, connection};
use super::scalars::DateTime;
use super::user::User;
use super::{load_opt, loaders, parse_id, parse_opt_id, parts, to_id};
use crate::error::AppError;
use crate::service::compliance::progress::{self, NewCompletion};
use crate::service::compliance::status::{self, At, CourseState, ReportFilter, UserState};
use crate::service::page::PageRequest;
use crate::service::rows;
use crate::service::{group as group_service, now_micros};
use entity::completion;

/// A user's standing on their required training.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ComplianceState {
    /// Every required course completed and valid beyond the warning window.
    Compliant,
    /// Nothing overdue or expired, but a completion expires within the warning window.
    AtRisk,
    /// Nothing overdue, expired or expiring, but a required course is not completed yet.
    Pending,
    /// A required course is overdue, or its last completion expired.
    NonCompliant,
}

impl From<UserState> for ComplianceState {
    fn from(s: UserState) -> Self {
        match s {
            UserState::Compliant => ComplianceState::Compliant,
            UserState::AtRisk => ComplianceState::AtRisk,
            UserState::Pending => ComplianceState::Pending,
            UserState::NonCompliant => ComplianceState::NonCompliant,
        }
    }
}

impl From<ComplianceState> for UserState {
    fn from(s: ComplianceState) -> Self {
        match s {
            ComplianceState::Compliant => UserState::Compliant,
            ComplianceState::AtRisk => UserState::AtRisk,
            ComplianceState::Pending => UserState::Pending,
            ComplianceState::NonCompliant => UserState::NonCompliant,
        }
    }
}

/// Where one required course stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CourseComplianceState {
    /// Completed and valid beyond the warning window.
    Compliant,
    /// Completed and valid, but expires within the warning window.
    ExpiringSoon,
    /// The last completion expired and no new one exists (also while a renewal is open).
    Expired,
    /// Never completed and past its due date.
    Overdue,
    /// Never completed; not due yet, or no due date.
    Pending,
}

impl From<CourseState> for CourseComplianceState {
    fn from(s: CourseState) -> Self {
        match s {
            CourseState::Compliant => CourseComplianceState::Compliant,
            CourseState::ExpiringSoon => CourseComplianceState::ExpiringSoon,
            CourseState::Expired => CourseComplianceState::Expired,
            CourseState::Overdue => CourseComplianceState::Overdue,
            CourseState::Pending => CourseComplianceState::Pending,
        }
    }
}

/// A record that a user completed a course. Completions are history: kept for ever.
pub struct Completion(pub completion::Model);

/// A record that a user completed a course. Completions are history: kept for ever.
#[Object]
impl Completion {
    /// The completion's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// Who completed the course; null when the viewer may not see them.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)?
            .users
            .load_one(self.0.user_id)
            .await?
            .map(User))
    }

    /// The course completed.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Course>> {
        Ok(loaders(ctx)?
            .courses
            .load_one(self.0.course_id)
            .await?
            .map(Course))
    }

    /// When the course was completed.
    async fn completed_at(&self) -> DateTime {
        DateTime::from_micros(self.0.completed_at)
    }

    /// `completedAt` plus the course's validity; null when it never expires.
    async fn expires_at(&self) -> Option<DateTime> {
        self.0.expires_at.map(DateTime::from_micros)
    }

    /// 0–100, when the content reported one.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }

    /// The partner's idempotency key.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }

    /// The assignment it satisfied when recorded; null when recorded as history only.
    async fn assignment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Assignment>> {
        load_opt(&loaders(ctx)?.assignments, self.0.assignment_id, Assignment).await
    }

    /// When it was recorded (may be after `completedAt` for back-filled completions).
    async fn recorded_at(&self) -> DateTime {
        DateTime::from_micros(self.0.recorded_at)
    }
}

/// One required course of a user and where it stands.
pub struct CourseCompliance(status::Item);

/// One required course of a user and where it stands.
#[Object]
impl CourseCompliance {
    /// The required course.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Course> {
        let c = loaders(ctx)?.courses.load_one(self.0.course_id).await?;
        c.map(Course)
            .ok_or_else(|| AppError::internal("course vanished").into())
    }

    /// Where the user stands with it.
    async fn status(&self) -> CourseComplianceState {
        self.0.state.into()
    }

    /// The due date of the open cycle, while it is not completed.
    async fn due_at(&self) -> Option<DateTime> {
        self.0.due_at.map(DateTime::from_micros)
    }

    /// The last completion (as of the instant asked about).
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime::from_micros)
    }

    /// When the completion that counts expires; null when it never does.
    async fn expires_at(&self) -> Option<DateTime> {
        self.0.expires_at.map(DateTime::from_micros)
    }
}

/// A user's compliance: the overall state and one item per required course.
pub struct UserCompliance(status::UserCompliance);

/// A user's compliance: the overall state and one item per required course.
#[Object]
impl UserCompliance {
    /// The user; null when the viewer may not see them.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let u = loaders(ctx)?.users.load_one(self.0.user_id).await?;
        u.map(User)
            .ok_or_else(|| AppError::internal("user vanished").into())
    }

    /// Their overall state: the worst of their courses'.
    async fn status(&self) -> ComplianceState {
        self.0.state.into()
    }

    /// Required courses, by course id.
    async fn items(&self) -> Vec<CourseCompliance> {
        self.0.items.iter().cloned().map(CourseCompliance).collect()
    }
}

/// Who a report covers; all given parts must hold.
#[derive(InputObject, Default, Clone)]
pub struct ComplianceFilter {
    /// Members of this group at the instant asked about.
    pub group_id: Option<ID>,
    /// With `groupId`: members of its subgroups too (default true).
    pub include_subgroups: Option<bool>,
    /// Users whose primary role is this role.
    pub role_id: Option<ID>,
    /// Only this course's requirements.
    pub course_id: Option<ID>,
}

impl ComplianceFilter {
    fn service(&self) -> Result<ReportFilter, AppError> {
        Ok(ReportFilter {
            group_id: parse_opt_id(&self.group_id, "group")?,
            include_subgroups: self.include_subgroups,
            role_id: parse_opt_id(&self.role_id, "role")?,
            course_id: parse_opt_id(&self.course_id, "course")?,
        })
    }
}

/// How many users stand where; `rate` = compliant ÷ total (0 when there is no one).
#[derive(SimpleObject, Clone, Copy)]
pub struct ComplianceCounts {
    /// Users with at least one required course.
    pub total: i64,
    /// Users who are COMPLIANT.
    pub compliant: i64,
    /// Users who are AT_RISK (a completion expires within the warning window).
    pub at_risk: i64,
    /// Users who are PENDING (a required course not completed yet, nothing overdue).
    pub pending: i64,
    /// Users who are NON_COMPLIANT (something overdue or expired).
    pub non_compliant: i64,
    /// compliant ÷ total, 0..1.
    pub rate: f64,
}

impl From<status::Counts> for ComplianceCounts {
    fn from(c: status::Counts) -> Self {
        ComplianceCounts {
            total: c.total,
            compliant: c.compliant,
            at_risk: c.at_risk,
            pending: c.pending,
            non_compliant: c.non_compliant,
            rate: if c.total == 0 {
                0.0
            } else {
                c.compliant as f64 / c.total as f64
            },
        }
    }
}

/// One course of a report: how many of its required users stand in each state.
pub struct CourseComplianceSummary(uuid::Uuid, status::CourseCounts);

/// One course of a report: how many of its required users stand in each state.
#[Object]
impl CourseComplianceSummary {
    /// The course.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Course> {
        let c = loaders(ctx)?.courses.load_one(self.0).await?;
        c.map(Course)
            .ok_or_else(|| AppError::internal("course vanished").into())
    }

    /// Users who must take it.
    async fn total(&self) -> i64 {
        self.1.total
    }

    /// Required users whose completion is valid beyond the warning window.
    async fn compliant(&self) -> i64 {
        self.1.compliant
    }

    /// Required users whose completion expires within the warning window.
    async fn expiring_soon(&self) -> i64 {
        self.1.expiring_soon
    }

    /// Required users whose last completion expired.
    async fn expired(&self) -> i64 {
        self.1.expired
    }

    /// Required users who never completed it and are past the due date.
    async fn overdue(&self) -> i64 {
        self.1.overdue
    }

    /// Required users who have not completed it and are not overdue.
    async fn pending(&self) -> i64 {
        self.1.pending
    }

    /// compliant ÷ total, 0..1 (an EXPIRING_SOON completion is not counted as compliant).
    async fn rate(&self) -> f64 {
        if self.1.total == 0 {
            0.0
        } else {
            self.1.compliant as f64 / self.1.total as f64
        }
    }
}

/// One child group of a report, with its whole subtree's counts.
#[derive(SimpleObject)]
pub struct GroupComplianceSummary {
    /// The child group.
    pub group: Group,
    /// The counts of its whole subtree.
    pub counts: ComplianceCounts,
}

/// Compliance of a population at one instant, for dashboards.
pub struct ComplianceReport {
    filter: ReportFilter,
    at: At,
    counts: OnceCell<status::Counts>,
}

impl ComplianceReport {
    async fn summary(&self, ctx: &Context<'_>) -> async_graphql::Result<status::Counts> {
        let (state, viewer) = parts(ctx)?;
        Ok(*self
            .counts
            .get_or_try_init(|| status::counts(&state.db.read, viewer, &self.filter, self.at))
            .await?)
    }
}

/// Compliance of a population at one instant, for dashboards.
#[Object]
impl ComplianceReport {
    /// The instant the report describes.
    async fn as_of(&self) -> DateTime {
        DateTime::from_micros(self.at.at)
    }

    /// Users with at least one required course.
    async fn total(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.summary(ctx).await?.total)
    }

    /// Users who are COMPLIANT.
    async fn compliant(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.summary(ctx).await?.compliant)
    }

    /// Users who are AT_RISK (a completion expires within the warning window).
    async fn at_risk(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.summary(ctx).await?.at_risk)
    }

    /// Users who are PENDING (a required course not completed yet, nothing overdue).
    async fn pending(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.summary(ctx).await?.pending)
    }

    /// Users who are NON_COMPLIANT (something overdue or expired).
    async fn non_compliant(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.summary(ctx).await?.non_compliant)
    }

    /// compliant ÷ total, 0..1 (0 when no one has a requirement).
    async fn rate(&self, ctx: &Context<'_>) -> async_graphql::Result<f64> {
        Ok(ComplianceCounts::from(self.summary(ctx).await?).rate)
    }

    /// The users, by id, each with their items; `status` keeps only users in those states.
    #[graphql(complexity = "super::pagination::cost(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items to return: 50 when omitted, at most 500.")] first: Option<
            i32,
        >,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
        #[graphql(desc = "Keep only users in these states; omitted, every user of the report.")]
        status: Option<Vec<ComplianceState>>,
    ) -> async_graphql::Result<Conn<UserCompliance>> {
        let (state, viewer) = parts(ctx)?;
        let page = PageRequest::new(first, after)?.of_org(viewer.org_id);
        let states: Option<Vec<UserState>> =
            status.map(|s| s.into_iter().map(Into::into).collect());
        let rows = status::users_page(
            &state.db.read,
            viewer,
            &self.filter,
            self.at,
            states.as_deref(),
            &page,
        )
        .await?;
        let (db, viewer, filter, at) = (
            state.db.read.clone(),
            viewer.clone(),
            self.filter.clone(),
            self.at,
        );
        Ok(connection(rows, UserCompliance, move || {
            let (db, viewer, filter, states) =
                (db.clone(), viewer.clone(), filter.clone(), states.clone());
            Box::pin(async move {
                status::users_count(&db, &viewer, &filter, at, states.as_deref()).await
            })
        }))
    }

    /// Per required course: how many users stand in each state.
    async fn by_course(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CourseComplianceSummary>> {
        let (state, viewer) = parts(ctx)?;
        Ok(
            status::by_course(&state.db.read, viewer, &self.filter, self.at)
                .await?
                .into_iter()
                .map(|(c, counts)| CourseComplianceSummary(c, counts))
                .collect(),
        )
    }

    /// Per child group of the filter's group (the top-level groups without one), with its
    /// whole subtree: the drill-down of a dashboard. As of a past instant, the children and
    /// subtrees are those of the tree then.
    async fn by_group(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<GroupComplianceSummary>> {
        let (state, viewer) = parts(ctx)?;
        let children = match self.filter.group_id {
            // As of a past instant: the children the group had then.
            Some(g) if !self.at.current => {
                group_service::children_at(&state.db.read, viewer.org_id, g, self.at.at).await?
            }
            _ => {
                group_service::list(
                    &state.db.read,
                    viewer.org_id,
                    &group_service::GroupFilter {
                        parent_id: self.filter.group_id,
                        roots_only: self.filter.group_id.is_none(),
                        search: None,
                    },
                )
                .await?
            }
        };
        let mut out = Vec::with_capacity(children.len());
        for g in children {
            let filter = ReportFilter {
                group_id: Some(g.id),
                include_subgroups: Some(true),
                ..self.filter.clone()
            };
            let counts = status::counts(&state.db.read, viewer, &filter, self.at).await?;
            out.push(GroupComplianceSummary {
                group: Group(g),
                counts: counts.into(),
            });
        }
        Ok(out)
    }
}

/// An assignment the learner starts.
#[derive(InputObject)]
pub struct StartAssignmentInput {
    /// The assignment.
    pub id: ID,
}

/// The assignment, now IN_PROGRESS.
#[derive(SimpleObject)]
pub struct StartAssignmentPayload {
    /// The assignment, now IN_PROGRESS.
    pub assignment: Assignment,
}

/// A completed course to record (from an LMS, or by hand).
#[derive(InputObject)]
pub struct RecordCompletionInput {
    /// The assignment completed; or give `userId` and `courseId`.
    pub assignment_id: Option<ID>,
    /// Who completed the course; omit for the viewer.
    pub user_id: Option<ID>,
    /// The course completed.
    pub course_id: Option<ID>,
    /// Default now; never in the future.
    pub completed_at: Option<DateTime>,
    /// 0–100.
    pub score: Option<f64>,
    /// The partner's idempotency key: the same key twice records one completion.
    pub external_id: Option<String>,
}

/// The completion and the assignment it satisfied.
#[derive(SimpleObject)]
pub struct RecordCompletionPayload {
    /// The completion recorded.
    pub completion: Completion,
    /// The assignment it satisfied; null when the user had no open assignment for the course
    /// (the completion is then recorded as history and still counts for later requirements).
    pub assignment: Option<Assignment>,
    /// True when `externalId` named an earlier completion: that one is returned, nothing new
    /// was recorded.
    pub duplicate: bool,
}

#[derive(Default)]
pub struct ComplianceQuery;

#[Object]
impl ComplianceQuery {
    /// A user's compliance (default: the viewer), now or as of `asOf`; `warningDays` (default
    /// 30) is how close an expiry makes a course EXPIRING_SOON. NOT_FOUND for users the viewer
    /// may not see.
    #[graphql(complexity = "super::pagination::MATCH_COST + child_complexity")]
    async fn compliance_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose compliance; omitted, the viewer's.")] user_id: Option<ID>,
        #[graphql(
            desc = "The instant described (history is replayed as it was then); omitted, now."
        )]
        as_of: Option<DateTime>,
        #[graphql(
            default_with = "Some(30)",
            desc = "Days before an expiry that make a course EXPIRING_SOON (default 30)."
        )]
        warning_days: Option<i32>,
    ) -> async_graphql::Result<UserCompliance> {
        let (state, viewer) = parts(ctx)?;
        let user_id = parse_opt_id(&user_id, "user")?.unwrap_or(viewer.user_id);
        let at = At::new(as_of.map(|a| a.micros()), now_micros(state), warning_days)?;
        Ok(UserCompliance(
            status::of_user(&state.db.read, viewer, user_id, at).await?,
        ))
    }

    /// Compliance of everyone the filter and the viewer's role cover, now or as of `asOf`.
    #[graphql(complexity = "super::pagination::MATCH_COST + child_complexity")]
    async fn compliance_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<ComplianceFilter>,
        #[graphql(
            desc = "The instant described (history is replayed as it was then); omitted, now."
        )]
        as_of: Option<DateTime>,
        #[graphql(
            default_with = "Some(30)",
            desc = "Days before an expiry that make a course EXPIRING_SOON (default 30)."
        )]
        warning_days: Option<i32>,
    ) -> async_graphql::Result<ComplianceReport> {
        let (state, viewer) = parts(ctx)?;
        let filter = filter.unwrap_or_default().service()?;
        if let Some(g) = filter.group_id {
            group_service::require_live(&state.db.read, viewer.org_id, g, "group").await?;
        }
        if let Some(r) = filter.role_id {
            rows::require::<entity::role::Entity>(&state.db.read, viewer.org_id, r).await?;
        }
        if let Some(c) = filter.course_id {
            rows::require::<entity::course::Entity>(&state.db.read, viewer.org_id, c).await?;
        }
        let at = At::new(as_of.map(|a| a.micros()), now_micros(state), warning_days)?;
        Ok(ComplianceReport {
            filter,
            at,
            counts: OnceCell::new(),
        })
    }

    /// Completions that count now and expire within `withinDays` (default 30), soonest first:
    /// the 30/60/90-day views of certificates.
    async fn expiring_completions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default_with = "Some(30)",
            desc = "How many days ahead to look (default 30)."
        )]
        within_days: Option<i32>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<ComplianceFilter>,
        #[graphql(desc = "How many items to return: 50 when omitted, at most 500.")] first: Option<
            i32,
        >,
        #[graphql(
            desc = "Start after this cursor (the `pageInfo.endCursor` of the previous page); omitted, from the beginning."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Completion>> {
        let (state, viewer) = parts(ctx)?;
        let filter = filter.unwrap_or_default().service()?;
        let page = PageRequest::new(first, after)?.of_org(viewer.org_id);
        let now = now_micros(state);
        let within_days = within_days.unwrap_or(30);
        let rows =
            status::expiring(&state.db.read, viewer, &filter, now, within_days, &page).await?;
        let (db, viewer) = (state.db.read.clone(), viewer.clone());
        Ok(connection(rows, Completion, move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            Box::pin(async move {
                status::expiring_count(&db, &viewer, &filter, now, within_days).await
            })
        }))
    }
}

#[derive(Default)]
pub struct ComplianceMutation;

#[Object]
impl ComplianceMutation {
    /// Marks an assignment started (IN_PROGRESS). The assignee, or OWNER, ADMIN, HR.
    async fn start_assignment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `startAssignment` does: see `StartAssignmentInput`.")]
        input: StartAssignmentInput,
    ) -> async_graphql::Result<StartAssignmentPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "assignment")?;
        let a = progress::start(state, viewer, id).await?;
        Ok(StartAssignmentPayload {
            assignment: Assignment(a),
        })
    }

    /// Records a completion (by assignment, or by user and course). It satisfies the open
    /// assignment of the course; a course with a validity expires `validityDays` later and
    /// renews in its window. OWNER, ADMIN, HR, and API clients with COMPLETIONS_WRITE.
    async fn record_completion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `recordCompletion` does: see `RecordCompletionInput`.")]
        input: RecordCompletionInput,
    ) -> async_graphql::Result<RecordCompletionPayload> {
        let (state, viewer) = parts(ctx)?;
        let new = NewCompletion {
            assignment_id: parse_opt_id(&input.assignment_id, "assignment")?,
            user_id: parse_opt_id(&input.user_id, "user")?,
            course_id: parse_opt_id(&input.course_id, "course")?,
            completed_at: input.completed_at.map(|c| c.micros()),
            score: input.score,
            external_id: input.external_id,
        };
        let r = progress::record(state, viewer, new).await?;
        Ok(RecordCompletionPayload {
            completion: Completion(r.completion),
            assignment: r.assignment.map(Assignment),
            duplicate: r.duplicate,
        })
    }
}
