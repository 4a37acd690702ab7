//! The audit log: every mutation appends events inside its own transaction; the table refuses
//! UPDATE and DELETE (database triggers). Read newest first by OWNER and ADMIN.

use sea_orm::ConnectionTrait;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::authz::{self, Named, Permission};
use crate::service::page::{Page, PageRequest};
use crate::service::sql;
use crate::service::viewer::Viewer;
use crate::vals;
use entity::audit_event;

/// The named actions of the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub const ALL: &'static [Action] = &[
        Action::OrganizationCreated,
        Action::UserCreated,
        Action::UserUpdated,
        Action::UserDeactivated,
        Action::GroupCreated,
        Action::GroupUpdated,
        Action::GroupMoved,
        Action::GroupDeleted,
        Action::MembershipAdded,
        Action::MembershipRemoved,
        Action::UserTransferred,
        Action::RoleCreated,
        Action::PrimaryRoleSet,
        Action::CourseCreated,
        Action::CourseUpdated,
        Action::RuleCreated,
        Action::RuleUpdated,
        Action::RuleActivated,
        Action::RuleDeactivated,
        Action::RuleDeleted,
        Action::AssignmentsReconciled,
        Action::AssignmentStarted,
        Action::CompletionRecorded,
        Action::ScheduleApplied,
        Action::AuthzDenied,
        Action::SkillCreated,
        Action::SkillUpdated,
        Action::ProficiencyScaleSet,
        Action::SkillRated,
        Action::RoleCategoryCreated,
        Action::RoleCategoryUpdated,
        Action::RoleUpdated,
        Action::RoleDeleted,
        Action::RoleSkillsSet,
        Action::RolesLinked,
        Action::RolesUnlinked,
        Action::TargetRoleSet,
        Action::RolesImported,
        Action::SkillDependencyAdded,
        Action::SkillDependencyRemoved,
        Action::TrackCreated,
        Action::TrackUpdated,
        Action::RubricCreated,
        Action::AssessmentRecorded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::OrganizationCreated => "ORGANIZATION_CREATED",
            Action::UserCreated => "USER_CREATED",
            Action::UserUpdated => "USER_UPDATED",
            Action::UserDeactivated => "USER_DEACTIVATED",
            Action::GroupCreated => "GROUP_CREATED",
            Action::GroupUpdated => "GROUP_UPDATED",
            Action::GroupMoved => "GROUP_MOVED",
            Action::GroupDeleted => "GROUP_DELETED",
            Action::MembershipAdded => "MEMBERSHIP_ADDED",
            Action::MembershipRemoved => "MEMBERSHIP_REMOVED",
            Action::UserTransferred => "USER_TRANSFERRED",
            Action::RoleCreated => "ROLE_CREATED",
            Action::PrimaryRoleSet => "PRIMARY_ROLE_SET",
            Action::CourseCreated => "COURSE_CREATED",
            Action::CourseUpdated => "COURSE_UPDATED",
            Action::RuleCreated => "RULE_CREATED",
            Action::RuleUpdated => "RULE_UPDATED",
            Action::RuleActivated => "RULE_ACTIVATED",
            Action::RuleDeactivated => "RULE_DEACTIVATED",
            Action::RuleDeleted => "RULE_DELETED",
            Action::AssignmentsReconciled => "ASSIGNMENTS_RECONCILED",
            Action::AssignmentStarted => "ASSIGNMENT_STARTED",
            Action::CompletionRecorded => "COMPLETION_RECORDED",
            Action::ScheduleApplied => "SCHEDULE_APPLIED",
            Action::AuthzDenied => "AUTHZ_DENIED",
            Action::SkillCreated => "SKILL_CREATED",
            Action::SkillUpdated => "SKILL_UPDATED",
            Action::ProficiencyScaleSet => "PROFICIENCY_SCALE_SET",
            Action::SkillRated => "SKILL_RATED",
            Action::RoleCategoryCreated => "ROLE_CATEGORY_CREATED",
            Action::RoleCategoryUpdated => "ROLE_CATEGORY_UPDATED",
            Action::RoleUpdated => "ROLE_UPDATED",
            Action::RoleDeleted => "ROLE_DELETED",
            Action::RoleSkillsSet => "ROLE_SKILLS_SET",
            Action::RolesLinked => "ROLES_LINKED",
            Action::RolesUnlinked => "ROLES_UNLINKED",
            Action::TargetRoleSet => "TARGET_ROLE_SET",
            Action::RolesImported => "ROLES_IMPORTED",
            Action::SkillDependencyAdded => "SKILL_DEPENDENCY_ADDED",
            Action::SkillDependencyRemoved => "SKILL_DEPENDENCY_REMOVED",
            Action::TrackCreated => "TRACK_CREATED",
            Action::TrackUpdated => "TRACK_UPDATED",
            Action::RubricCreated => "RUBRIC_CREATED",
            Action::AssessmentRecorded => "ASSESSMENT_RECORDED",
        }
    }
}

/// Who made a change: a user (with the request that carried it) or the system (scheduler, CLI).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn user(viewer: &Viewer) -> Actor {
        Actor {
            user_id: Some(viewer.user_id),
            request_id: viewer.request_id.clone(),
        }
    }

    pub fn system() -> Actor {
        Actor {
            user_id: None,
            request_id: None,
        }
    }
}

/// One event to append.
pub struct Entry<'a> {
    pub org_id: Uuid,
    pub at: i64,
    pub actor: &'a Actor,
    pub action: Action,
    pub subject_type: &'static str,
    pub subject_id: Option<Uuid>,
    pub before: Option<Json>,
    pub after: Option<Json>,
}

pub async fn record(conn: &impl ConnectionTrait, entry: Entry<'_>) -> AppResult<()> {
    sql::exec(
        conn,
        "INSERT INTO audit_events (id, org_id, at, actor_type, actor_id, action, subject_type, subject_id, before_json, after_json, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        vals![
            Uuid::now_v7(),
            entry.org_id,
            entry.at,
            if entry.actor.user_id.is_some() { "USER" } else { "SYSTEM" },
            entry.actor.user_id,
            entry.action.as_str(),
            entry.subject_type,
            entry.subject_id,
            entry.before.map(|v| v.to_string()),
            entry.after.map(|v| v.to_string()),
            entry.actor.request_id.clone(),
        ],
    )
    .await?;
    Ok(())
}

/// Audits a mutation refused for lack of permission, in its own transaction: who tried which
/// operation (`fields`) and which parts were refused (`denied` paths).
pub async fn record_denial(
    state: &crate::state::AppState,
    viewer: &Viewer,
    fields: &[String],
    denied: &[String],
) -> AppResult<()> {
    let now = crate::service::now_micros(state);
    let tx = crate::service::tx::begin(state, viewer.org_id).await?;
    record(
        &tx,
        Entry {
            org_id: viewer.org_id,
            at: now,
            actor: &Actor::user(viewer),
            action: Action::AuthzDenied,
            subject_type: "USER",
            subject_id: Some(viewer.user_id),
            before: None,
            after: Some(serde_json::json!({
                "operation": fields,
                "denied": denied,
                "role": viewer.role.as_str(),
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub subject_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actions: Option<Vec<String>>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl AuditFilter {
    /// The objects the filter names (for `authz::require_naming`).
    pub fn named(&self) -> Vec<Named> {
        self.subject_id
            .map(Named::AuditSubject)
            .into_iter()
            .chain(self.actor_id.map(Named::User))
            .collect()
    }
}

/// Newest first; the cursor is `(at, id)`.
pub async fn list(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &AuditFilter,
    page: &PageRequest,
) -> AppResult<Page<audit_event::Model>> {
    let mut named = filter.named();
    if let Some((_, id)) = page.after_key::<(i64, Uuid)>()? {
        named.push(Named::AuditEvent(id));
    }
    authz::require_naming(conn, viewer, Permission::ReadAuditLog, &named).await?;
    let (where_sql, mut values) = filter_sql(viewer.org_id, filter);
    let mut sql_text = format!("SELECT * FROM audit_events WHERE {where_sql}");
    if let Some((at, id)) = page.after_key::<(i64, Uuid)>()? {
        values.push(at.into());
        values.push(id.into());
        let n = values.len();
        sql_text.push_str(&format!(
            " AND (at < ${} OR (at = ${} AND id < ${}))",
            n - 1,
            n - 1,
            n
        ));
    }
    sql_text.push_str(&format!(
        " ORDER BY at DESC, id DESC LIMIT {}",
        page.limit() + 1
    ));
    let rows: Vec<audit_event::Model> = sql::all(conn, &sql_text, values).await?;
    Ok(page.finish(rows, |e| (e.at, e.id)))
}

pub async fn count(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &AuditFilter,
) -> AppResult<i64> {
    authz::require_naming(conn, viewer, Permission::ReadAuditLog, &filter.named()).await?;
    let (where_sql, values) = filter_sql(viewer.org_id, filter);
    sql::scalar_i64(
        conn,
        &format!("SELECT COUNT(*) FROM audit_events WHERE {where_sql}"),
        values,
    )
    .await
}

fn filter_sql(org_id: Uuid, filter: &AuditFilter) -> (String, Vec<sea_orm::Value>) {
    let mut clauses = vec!["org_id = $1".to_string()];
    let mut values: Vec<sea_orm::Value> = vals![org_id];
    let mut push = |clause: &str, value: sea_orm::Value, values: &mut Vec<sea_orm::Value>| {
        values.push(value);
        clauses.push(clause.replace('?', &format!("${}", values.len())));
    };
    if let Some(s) = filter.subject_id {
        push("subject_id = ?", s.into(), &mut values);
    }
    if let Some(a) = filter.actor_id {
        push("actor_id = ?", a.into(), &mut values);
    }
    if let Some(from) = filter.from {
        push("at >= ?", from.into(), &mut values);
    }
    if let Some(to) = filter.to {
        push("at <= ?", to.into(), &mut values);
    }
    if let Some(actions) = &filter.actions {
        if actions.is_empty() {
            clauses.push("1 = 0".into());
        } else {
            let start = values.len() + 1;
            for a in actions {
                values.push(a.clone().into());
            }
            clauses.push(format!(
                "action IN ({})",
                sql::placeholders(start, actions.len())
            ));
        }
    }
    (clauses.join(" AND "), values)
}
