//! Rules: the `Rule` type, rule queries (with the preview), and the rule mutations, whose
//! payloads report what the engine changed.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::course::Course;
use super::group::Group;
use super::role::Role;
use super::scalars::DateTime;
use super::user::User;
use super::{load_opt, loaders, parse_id, parse_opt_id, parts, to_id};
use crate::engine_payload;
use crate::service::engine::Outcome;
use crate::service::engine::preview::CourseImpact as ServiceImpact;
use crate::service::rule::{self as service, RuleChanges, RuleSpec};
use entity::rule;

/// What happens to a member's incomplete assignments when they leave the audience and no other
/// rule still requires the course. Completed work is never withdrawn.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExitPolicy {
    /// Withdraw them (the default).
    Withdraw,
    /// Keep them open.
    Keep,
}

impl From<ExitPolicy> for service::ExitPolicy {
    fn from(p: ExitPolicy) -> Self {
        match p {
            ExitPolicy::Withdraw => service::ExitPolicy::Withdraw,
            ExitPolicy::Keep => service::ExitPolicy::Keep,
        }
    }
}

/// How a criterion compares a user attribute. A user without the attribute satisfies `NEQ`,
/// `NOT_IN` and `NOT_EXISTS` only.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CriterionOp {
    /// Equals the one value.
    Eq,
    /// Differs from the one value (or is missing).
    Neq,
    /// Equals one of the values.
    In,
    /// Equals none of the values (or is missing).
    NotIn,
    /// Has the attribute, whatever its value.
    Exists,
    /// Lacks the attribute.
    NotExists,
}

impl From<CriterionOp> for service::CriterionOp {
    fn from(op: CriterionOp) -> Self {
        match op {
            CriterionOp::Eq => service::CriterionOp::Eq,
            CriterionOp::Neq => service::CriterionOp::Neq,
            CriterionOp::In => service::CriterionOp::In,
            CriterionOp::NotIn => service::CriterionOp::NotIn,
            CriterionOp::Exists => service::CriterionOp::Exists,
            CriterionOp::NotExists => service::CriterionOp::NotExists,
        }
    }
}

impl From<service::CriterionOp> for CriterionOp {
    fn from(op: service::CriterionOp) -> Self {
        match op {
            service::CriterionOp::Eq => CriterionOp::Eq,
            service::CriterionOp::Neq => CriterionOp::Neq,
            service::CriterionOp::In => CriterionOp::In,
            service::CriterionOp::NotIn => CriterionOp::NotIn,
            service::CriterionOp::Exists => CriterionOp::Exists,
            service::CriterionOp::NotExists => CriterionOp::NotExists,
        }
    }
}

/// An auto-assignment policy: who (audience) must take what (bundle).
pub struct Rule(pub rule::Model);

/// An auto-assignment policy: who (audience) must take what (bundle).
#[Object]
impl Rule {
    /// The rule's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The rule's name, unique in the organization.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// An inactive rule requires nothing.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// What happens to open assignments of someone who leaves the audience.
    async fn on_exit(&self) -> ExitPolicy {
        if self.0.on_exit == "KEEP" {
            ExitPolicy::Keep
        } else {
            ExitPolicy::Withdraw
        }
    }

    /// Who the rule is for.
    async fn audience(&self) -> RuleAudience {
        RuleAudience(service::audience_of(&self.0))
    }

    /// The bundle: courses in order, with their offsets.
    async fn courses(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RuleCourse>> {
        let items = loaders(ctx)?
            .bundles
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, item)| RuleCourse {
                position: i as i32,
                item,
            })
            .collect())
    }

    /// The track whose courses are the bundle; null when the rule lists its courses itself.
    async fn track(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<super::track::Track>> {
        load_opt(&loaders(ctx)?.tracks, self.0.track_id, super::track::Track).await
    }

    /// How many users are in the audience now (whether or not the rule is active).
    async fn audience_size(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let (state, viewer) = parts(ctx)?;
        let now = crate::service::now_micros(state);
        Ok(
            crate::service::assignment::audience_size(&state.db.read, viewer.org_id, now, &self.0)
                .await?,
        )
    }

    /// When the rule was created.
    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// When the rule was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime::from_micros(self.0.updated_at)
    }

    /// Set once the rule is deleted (it stays readable as the reason of past assignments).
    async fn deleted_at(&self) -> Option<DateTime> {
        self.0.deleted_at.map(DateTime::from_micros)
    }
}

/// Who a rule is for: every given part must hold; deactivated users never qualify.
pub struct RuleAudience(service::Audience);

/// Who a rule is for: every given part must hold; deactivated users never qualify.
#[Object]
impl RuleAudience {
    /// Members of this group.
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Group>> {
        load_opt(&loaders(ctx)?.groups, self.0.group_id, Group).await
    }

    /// Whether members of the group's subgroups count too.
    async fn include_subgroups(&self) -> bool {
        self.0.include_subgroups
    }

    /// Users whose primary role is this role.
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Role>> {
        load_opt(&loaders(ctx)?.roles, self.0.role_id, Role).await
    }

    /// Attribute conditions a member must meet, all of them; empty for none.
    async fn criteria(&self) -> Vec<Criterion> {
        self.0.criteria.iter().cloned().map(Criterion).collect()
    }
}

/// A condition on a user attribute (`jobTitle` means the job title).
pub struct Criterion(service::Criterion);

/// A condition on a user attribute (`jobTitle` means the job title).
#[Object]
impl Criterion {
    /// The user attribute compared (`jobTitle` means the job title).
    async fn attribute(&self) -> &str {
        &self.0.attribute
    }

    /// How it is compared.
    async fn op(&self) -> CriterionOp {
        self.0.op.into()
    }

    /// The values compared with (empty for EXISTS and NOT_EXISTS).
    async fn values(&self) -> &[String] {
        &self.0.values
    }
}

/// One course of a rule's bundle.
pub struct RuleCourse {
    position: i32,
    item: service::BundleItem,
}

/// One course of a rule's bundle.
#[Object]
impl RuleCourse {
    /// The course.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Course> {
        let c = loaders(ctx)?.courses.load_one(self.item.course_id).await?;
        c.map(Course)
            .ok_or_else(|| crate::error::AppError::internal("bundle course vanished").into())
    }

    /// 0-based place in the bundle.
    async fn position(&self) -> i32 {
        self.position
    }

    /// Days after entering the audience when the course unlocks; null: at once.
    async fn unlock_after_days(&self) -> Option<i32> {
        self.item.unlock_after_days
    }

    /// Days after entering the audience when the course is due; null: no due date.
    async fn due_after_days(&self) -> Option<i32> {
        self.item.due_after_days
    }
}

/// Who a rule is for: members of a group (with or without its subgroups), people matching attribute criteria, or both (both must hold).
#[derive(InputObject, Clone)]
pub struct AudienceInput {
    /// Members of this group.
    pub group_id: Option<ID>,
    /// With `groupId`: members of its subgroups too.
    #[graphql(default = true)]
    pub include_subgroups: bool,
    /// Users whose primary role is this role.
    pub role_id: Option<ID>,
    /// Conditions on user attributes, all of which must hold.
    pub criteria: Option<Vec<CriterionInput>>,
}

/// A condition on a user attribute, for a rule's audience.
#[derive(InputObject, Clone)]
pub struct CriterionInput {
    /// A user attribute name, or `jobTitle` for the job title.
    pub attribute: String,
    /// How the attribute is compared.
    pub op: CriterionOp,
    /// `EQ`/`NEQ`: exactly one; `IN`/`NOT_IN`: at least one; `EXISTS`/`NOT_EXISTS`: none.
    pub values: Option<Vec<String>>,
}

/// One course of a rule's bundle, with its timing.
#[derive(InputObject, Clone)]
pub struct RuleCourseInput {
    /// The course.
    pub course_id: ID,
    /// Days after entering the audience when the course unlocks (0–36500); omit: at once.
    pub unlock_after_days: Option<i32>,
    /// Days after entering the audience when the course is due (not before it unlocks).
    pub due_after_days: Option<i32>,
}

/// A new assignment rule: who (the audience) must take what (the courses).
#[derive(InputObject, Clone)]
pub struct CreateRuleInput {
    /// The rule's name, unique in the organization.
    pub name: String,
    /// Who the rule is for.
    pub audience: AudienceInput,
    /// The bundle, in order (at least one course, each once). Leave empty when `trackId`
    /// names the bundle.
    #[graphql(default)]
    pub courses: Vec<RuleCourseInput>,
    /// A track whose courses are the bundle (in the track's order, no date offsets); the
    /// rule follows later changes to the track. Give either this or `courses`.
    pub track_id: Option<ID>,
    /// What happens to open assignments of someone who leaves the audience (default WITHDRAW).
    #[graphql(default_with = "ExitPolicy::Withdraw")]
    pub on_exit: ExitPolicy,
    /// Whether the rule assigns from now on (default true); an inactive rule assigns nothing.
    #[graphql(default = true)]
    pub active: bool,
}

/// Changes to a rule; omitted fields stay as they are. The change is reconciled at once.
#[derive(InputObject)]
pub struct UpdateRuleInput {
    /// The rule to change.
    pub id: ID,
    /// The new name, unique in the organization.
    pub name: Option<String>,
    /// Replaces the whole audience.
    pub audience: Option<AudienceInput>,
    /// Replaces the whole bundle (the rule then names no track).
    pub courses: Option<Vec<RuleCourseInput>>,
    /// Makes a track the bundle; null lets go of the track (then give `courses`).
    pub track_id: MaybeUndefined<ID>,
    /// The new exit policy.
    pub on_exit: Option<ExitPolicy>,
}

/// A rule to switch on or off.
#[derive(InputObject)]
pub struct SetRuleActiveInput {
    /// The rule.
    pub id: ID,
    /// True to assign from now on, false to stop (open assignments follow the rule's onExit).
    pub active: bool,
}

/// A rule to delete.
#[derive(InputObject)]
pub struct DeleteRuleInput {
    /// The rule to delete.
    pub id: ID,
}

/// Filters of `rules`; all given parts must hold.
#[derive(InputObject, Default)]
pub struct RuleFilter {
    /// Only active (true) or inactive (false) rules; omitted, both.
    pub active: Option<bool>,
    /// Rules whose audience names this group.
    pub group_id: Option<ID>,
    /// Rules whose audience names this role.
    pub role_id: Option<ID>,
    /// Rules whose bundle holds this course.
    pub course_id: Option<ID>,
}

fn audience(input: &AudienceInput) -> Result<service::Audience, crate::error::AppError> {
    Ok(service::Audience {
        group_id: parse_opt_id(&input.group_id, "group")?,
        include_subgroups: input.include_subgroups,
        role_id: parse_opt_id(&input.role_id, "role")?,
        criteria: input
            .criteria
            .iter()
            .flatten()
            .map(|c| service::Criterion {
                attribute: c.attribute.clone(),
                op: c.op.into(),
                values: c.values.clone().unwrap_or_default(),
            })
            .collect(),
    })
}

fn bundle(items: &[RuleCourseInput]) -> Result<Vec<service::BundleItem>, crate::error::AppError> {
    items
        .iter()
        .map(|i| {
            Ok(service::BundleItem {
                course_id: parse_id(&i.course_id, "course")?,
                unlock_after_days: i.unlock_after_days,
                due_after_days: i.due_after_days,
            })
        })
        .collect()
}

fn spec(input: &CreateRuleInput) -> Result<RuleSpec, crate::error::AppError> {
    Ok(RuleSpec {
        name: input.name.clone(),
        audience: audience(&input.audience)?,
        courses: bundle(&input.courses)?,
        track_id: parse_opt_id(&input.track_id, "track")?,
        on_exit: input.on_exit.into(),
        active: input.active,
    })
}

/// The rule created, and the assignments it made.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CreateRulePayload {
    /// The rule created.
    pub rule: Rule,
    #[graphql(skip)]
    pub outcome: Outcome,
}
engine_payload!(CreateRulePayload);

/// The rule as changed, and what the change did to assignments.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct UpdateRulePayload {
    /// The rule, changed.
    pub rule: Rule,
    #[graphql(skip)]
    pub outcome: Outcome,
}
engine_payload!(UpdateRulePayload);

/// The rule, and what (de)activating it did to assignments.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SetRuleActivePayload {
    /// The rule, switched.
    pub rule: Rule,
    #[graphql(skip)]
    pub outcome: Outcome,
}
engine_payload!(SetRuleActivePayload);

/// The rule as deleted (`deletedAt` set), and the assignments its exit policy withdrew.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DeleteRulePayload {
    /// The rule as it was deleted.
    pub rule: Rule,
    #[graphql(skip)]
    pub outcome: Outcome,
}
engine_payload!(DeleteRulePayload);

/// What a rule change would do, before it is made.
#[derive(SimpleObject)]
pub struct RuleImpact {
    /// Users who would gain or lose at least one assignment.
    pub users_affected: i64,
    /// Per course: who would be assigned it.
    pub assign: Vec<CourseImpact>,
    /// Per course: whose incomplete assignment would be withdrawn.
    pub withdraw: Vec<CourseImpact>,
}

/// The users of one course a rule change would reach.
pub struct CourseImpact(ServiceImpact);

/// The users of one course a rule change would reach.
#[Object]
impl CourseImpact {
    /// The course.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Course> {
        let c = loaders(ctx)?.courses.load_one(self.0.course_id).await?;
        c.map(Course)
            .ok_or_else(|| crate::error::AppError::internal("course vanished").into())
    }

    /// How many users.
    async fn count(&self) -> i64 {
        self.0.count
    }

    /// The first users (by id; default 20, at most 500).
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default = 20,
            desc = "How many users to list: 20 when omitted, at most 500."
        )]
        first: i32,
    ) -> async_graphql::Result<Vec<User>> {
        let n = first.clamp(0, PREVIEW_USERS as i32) as usize;
        let ids: Vec<uuid::Uuid> = self.0.users.iter().take(n).copied().collect();
        let map = loaders(ctx)?.users.load_many(ids.iter().copied()).await?;
        Ok(ids
            .iter()
            .filter_map(|id| map.get(id).cloned())
            .map(User)
            .collect())
    }
}

const PREVIEW_USERS: usize = 500;

#[derive(Default)]
pub struct RuleQuery;

#[Object]
impl RuleQuery {
    /// A rule by id; null when unknown or deleted.
    async fn rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the rule; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<Rule>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = parse_id(&id, "rule") else {
            return Ok(None);
        };
        Ok(service::find(&state.db.read, viewer.org_id, id)
            .await?
            .map(Rule))
    }

    /// Rules, oldest first.
    async fn rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted, everything the viewer may see.")]
        filter: Option<RuleFilter>,
    ) -> async_graphql::Result<Vec<Rule>> {
        let (state, viewer) = parts(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = service::RuleFilter {
            active: f.active,
            group_id: parse_opt_id(&f.group_id, "group")?,
            role_id: parse_opt_id(&f.role_id, "role")?,
            course_id: parse_opt_id(&f.course_id, "course")?,
        };
        Ok(service::list(&state.db.read, viewer.org_id, &filter)
            .await?
            .into_iter()
            .map(Rule)
            .collect())
    }

    /// The dry run of creating a rule from `input`, or of replacing rule `ruleId` with `input`:
    /// who would gain and who would lose which assignment. Writes nothing. OWNER, ADMIN.
    #[graphql(complexity = "super::pagination::MATCH_COST + child_complexity")]
    async fn preview_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `previewRule` does: see `CreateRuleInput`.")] input: CreateRuleInput,
        #[graphql(desc = "The rule `input` would replace; omitted, the preview is of a new rule.")]
        rule_id: Option<ID>,
    ) -> async_graphql::Result<RuleImpact> {
        let (state, viewer) = parts(ctx)?;
        let replacing = parse_opt_id(&rule_id, "rule")?;
        let impact =
            service::preview(state, viewer, spec(&input)?, replacing, PREVIEW_USERS).await?;
        Ok(RuleImpact {
            users_affected: impact.users_affected,
            assign: impact.assign.into_iter().map(CourseImpact).collect(),
            withdraw: impact.withdraw.into_iter().map(CourseImpact).collect(),
        })
    }
}

#[derive(Default)]
pub struct RuleMutation;

#[Object]
impl RuleMutation {
    /// Creates a rule; when active, every current member of its audience is assigned its bundle
    /// at once. OWNER, ADMIN.
    async fn create_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createRule` does: see `CreateRuleInput`.")] input: CreateRuleInput,
    ) -> async_graphql::Result<CreateRulePayload> {
        let (state, viewer) = parts(ctx)?;
        let (rule, outcome) = service::create(state, viewer, spec(&input)?).await?;
        Ok(CreateRulePayload {
            rule: Rule(rule),
            outcome,
        })
    }

    /// Changes a rule (a policy change): assignments follow at once — new courses are assigned
    /// to every member, and people who left the audience lose what no other rule requires.
    /// Omitted fields stay as they are. OWNER, ADMIN.
    async fn update_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `updateRule` does: see `UpdateRuleInput`.")] input: UpdateRuleInput,
    ) -> async_graphql::Result<UpdateRulePayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "rule")?;
        let changes = RuleChanges {
            name: input.name,
            audience: input.audience.as_ref().map(audience).transpose()?,
            courses: input.courses.as_deref().map(bundle).transpose()?,
            track_id: match &input.track_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(t) => Some(Some(parse_id(t, "track")?)),
            },
            on_exit: input.on_exit.map(Into::into),
        };
        let (rule, outcome) = service::update(state, viewer, id, changes).await?;
        Ok(UpdateRulePayload {
            rule: Rule(rule),
            outcome,
        })
    }

    /// Activates or deactivates a rule; deactivating applies its exit policy to every member.
    /// OWNER, ADMIN.
    async fn set_rule_active(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `setRuleActive` does: see `SetRuleActiveInput`.")]
        input: SetRuleActiveInput,
    ) -> async_graphql::Result<SetRuleActivePayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "rule")?;
        let (rule, outcome) = service::set_active(state, viewer, id, input.active).await?;
        Ok(SetRuleActivePayload {
            rule: Rule(rule),
            outcome,
        })
    }

    /// Deletes a rule; its exit policy applies to every member. OWNER, ADMIN.
    async fn delete_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `deleteRule` does: see `DeleteRuleInput`.")] input: DeleteRuleInput,
    ) -> async_graphql::Result<DeleteRulePayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "rule")?;
        let (rule, outcome) = service::delete(state, viewer, id).await?;
        Ok(DeleteRulePayload {
            rule: Rule(rule),
            outcome,
        })
    }
}
