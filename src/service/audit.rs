//! The audit log: every mutation appends events inside its own transaction; the table refuses
//! UPDATE and DELETE (database triggers). Read newest first by OWNER and ADMIN.

use sea_orm::ConnectionTrait;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::authz::{self, Named, Permission};
use crate::service::page::{Page, PageRequest};
use crate::service::sql;
use crate::service::unit::{self, Authority, Env, Write};
use crate::service::viewer::Viewer;
use crate::vals;
use entity::audit_event;

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

/// Appends one event inside the change's transaction: its instant and actor are the change's.
pub(crate) async fn record(
    w: &Write,
    action: Action,
    subject: Subject,
    before: Option<Json>,
    after: Option<Json>,
) -> AppResult<()> {
    sql::exec(
        w,
        "INSERT INTO audit_events (id, org_id, at, actor_type, actor_id, action, subject_type, subject_id, before_json, after_json, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        vals![
            Uuid::now_v7(),
            w.org_id,
            w.now,
            w.actor.kind.as_str(),
            w.actor.id,
            action.as_str(),
            subject.kind.as_str(),
            subject.id,
            before.map(|v| v.to_string()),
            after.map(|v| v.to_string()),
            w.actor.request_id.clone(),
        ],
    )
    .await?;
    Ok(())
}

/// Audits an operation refused for lack of permission, in a transaction of its own (the refused
/// one wrote nothing): who tried which operation (`fields`) and which parts were refused
/// (`denied` paths).
pub async fn record_denial(
    env: &Env,
    viewer: &Viewer,
    fields: &[String],
    denied: &[String],
) -> AppResult<()> {
    let subject = match viewer.client {
        Some(_) => Subject::organization(viewer.org_id),
        None => Subject::user(viewer.user_id),
    };
    unit::run(env, viewer, Authority::PerObject, async |w| {
        w.audit(
            Action::AuthzDenied,
            subject,
            None,
            Some(serde_json::json!({
                "operation": fields,
                "denied": denied,
                "role": viewer.role.as_str(),
            })),
        )
        .await
    })
    .await?;
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
