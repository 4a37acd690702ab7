//! What an audit event records: the named action and the subject it is about. The unit of work
//! (`Write::audit`) appends them; `audit` reads them back.

use uuid::Uuid;

/// The named actions of the audit log (stored and shown as SCREAMING_SNAKE_CASE words).
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
pub enum Action {
    /// An organization was founded.
    OrganizationCreated,
    /// A person was hired (created).
    UserCreated,
    /// A person's profile changed (name, job title, hire date, attributes, manager).
    UserUpdated,
    /// A person left: deactivated, history kept.
    UserDeactivated,
    /// A group was added to the org tree.
    GroupCreated,
    /// A group was renamed.
    GroupUpdated,
    /// A group (with its subtree) moved under another parent.
    GroupMoved,
    /// An empty group was deleted.
    GroupDeleted,
    /// A person joined a group.
    MembershipAdded,
    /// A person left a group.
    MembershipRemoved,
    /// A person moved from one group to another at one instant.
    UserTransferred,
    /// A role was added to the catalogue.
    RoleCreated,
    /// A person's primary role was set or cleared.
    PrimaryRoleSet,
    /// A course was added.
    CourseCreated,
    /// A course changed.
    CourseUpdated,
    /// An assignment rule was created.
    RuleCreated,
    /// A rule's audience, bundle or exit policy changed.
    RuleUpdated,
    /// A rule was switched on.
    RuleActivated,
    /// A rule was switched off.
    RuleDeactivated,
    /// A rule was deleted.
    RuleDeleted,
    /// The engine created or withdrew assignments for a change (counts and the first ids).
    AssignmentsReconciled,
    /// A learner started an assignment.
    AssignmentStarted,
    /// A completion was recorded.
    CompletionRecorded,
    /// The scheduler applied what time brought (unlocks, overdue marks, expiries, renewals).
    ScheduleApplied,
    /// An operation was refused for lack of permission (who tried what).
    AuthzDenied,
    /// A skill was added.
    SkillCreated,
    /// A skill changed.
    SkillUpdated,
    /// The organization's proficiency scale was replaced.
    ProficiencyScaleSet,
    /// A person's skill level was rated.
    SkillRated,
    /// A role category was added.
    RoleCategoryCreated,
    /// A role category changed.
    RoleCategoryUpdated,
    /// A role changed.
    RoleUpdated,
    /// A role was deleted.
    RoleDeleted,
    /// A role's required skills were replaced.
    RoleSkillsSet,
    /// A career link was added ("B advances from A").
    RolesLinked,
    /// A career link was removed.
    RolesUnlinked,
    /// A learner set or cleared their target role.
    TargetRoleSet,
    /// Roles were imported from CSV.
    RolesImported,
    /// A skill dependency was added.
    SkillDependencyAdded,
    /// A skill dependency was removed.
    SkillDependencyRemoved,
    /// A learning track was created.
    TrackCreated,
    /// A learning track changed.
    TrackUpdated,
    /// A rubric was created.
    RubricCreated,
    /// An assessment was recorded.
    AssessmentRecorded,
    /// An API client was created.
    ApiClientCreated,
    /// An API client was revoked.
    ApiClientRevoked,
    /// An API client's secret was rotated (the old one works for 24 hours).
    ApiClientSecretRotated,
    /// A course was required of a person by hand (`assignCourse`).
    CourseAssigned,
    /// A course required by hand was no longer required (`unassignCourse`).
    CourseUnassigned,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The kinds of object an audit event is about.
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
pub enum SubjectType {
    /// The organization itself.
    Organization,
    /// A person (also for their memberships and transfers).
    User,
    /// A group of the org tree.
    Group,
    /// A role of the catalogue.
    Role,
    /// A role category.
    RoleCategory,
    /// A skill.
    Skill,
    /// A course.
    Course,
    /// An assignment rule.
    Rule,
    /// A learning track.
    Track,
    /// A rubric.
    Rubric,
    /// A partner's API client.
    ApiClient,
}

impl SubjectType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What an audit event is about: a kind of object and its id. Events about a user's memberships
/// and transfers name the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub kind: SubjectType,
    pub id: Option<Uuid>,
}

impl Subject {
    pub fn new(kind: SubjectType, id: Uuid) -> Subject {
        Subject { kind, id: Some(id) }
    }

    pub fn organization(id: Uuid) -> Subject {
        Subject::new(SubjectType::Organization, id)
    }

    pub fn user(id: Uuid) -> Subject {
        Subject::new(SubjectType::User, id)
    }

    pub fn group(id: Uuid) -> Subject {
        Subject::new(SubjectType::Group, id)
    }

    pub fn role(id: Uuid) -> Subject {
        Subject::new(SubjectType::Role, id)
    }

    pub fn skill(id: Uuid) -> Subject {
        Subject::new(SubjectType::Skill, id)
    }

    pub fn course(id: Uuid) -> Subject {
        Subject::new(SubjectType::Course, id)
    }

    pub fn rule(id: Uuid) -> Subject {
        Subject::new(SubjectType::Rule, id)
    }

    pub fn track(id: Uuid) -> Subject {
        Subject::new(SubjectType::Track, id)
    }
}
