//! What an audit event records: the named action and the subject it is about. The unit of work
//! (`Write::audit`) appends them; `audit` reads them back.

use uuid::Uuid;

/// The named actions of the audit log (stored and shown as SCREAMING_SNAKE_CASE words).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantArray,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    OrganizationCreated,
    UserCreated,
    UserUpdated,
    UserDeactivated,
    GroupCreated,
    GroupUpdated,
    GroupMoved,
    GroupDeleted,
    MembershipAdded,
    MembershipRemoved,
    UserTransferred,
    RoleCreated,
    PrimaryRoleSet,
    CourseCreated,
    CourseUpdated,
    RuleCreated,
    RuleUpdated,
    RuleActivated,
    RuleDeactivated,
    RuleDeleted,
    AssignmentsReconciled,
    AssignmentStarted,
    CompletionRecorded,
    ScheduleApplied,
    AuthzDenied,
    SkillCreated,
    SkillUpdated,
    ProficiencyScaleSet,
    SkillRated,
    RoleCategoryCreated,
    RoleCategoryUpdated,
    RoleUpdated,
    RoleDeleted,
    RoleSkillsSet,
    RolesLinked,
    RolesUnlinked,
    TargetRoleSet,
    RolesImported,
    SkillDependencyAdded,
    SkillDependencyRemoved,
    TrackCreated,
    TrackUpdated,
    RubricCreated,
    AssessmentRecorded,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The kinds of object an audit event is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantArray,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum SubjectType {
    Organization,
    User,
    Group,
    Role,
    RoleCategory,
    Skill,
    Course,
    Rule,
    Track,
    Rubric,
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
