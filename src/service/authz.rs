//! The one place that decides who may do what (DESIGN.md, "Who may do what"). Services call
//! `require` for coarse permissions and `can_see_user` / `user_scope` for per-person reads;
//! resolvers never decide.

use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::viewer::Viewer;
use crate::service::viewer::{ApiScope, OrgRole};
use crate::vals;

/// Coarse permissions of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Users, groups, memberships, primary roles.
    ManageOrg,
    /// Rules and courses.
    ManageRules,
    /// Create and edit roles, skills, categories, the proficiency scale; import roles.
    EditCatalog,
    /// Delete roles.
    DeleteRoles,
    ReadAuditLog,
    /// API clients (and, later, webhooks).
    ManageIntegrations,
    /// Start assignments and record completions for anyone.
    RecordCompletions,
    /// Manual assignments, exemptions and due-date extensions.
    ManageExceptions,
}

/// What an org role allows.
pub fn allows(role: OrgRole, permission: Permission) -> bool {
    use OrgRole::*;
    use Permission::*;
    match permission {
        ManageOrg | EditCatalog | RecordCompletions | ManageExceptions => {
            matches!(role, Owner | Admin | Hr)
        }
        ManageRules | DeleteRoles | ReadAuditLog | ManageIntegrations => {
            matches!(role, Owner | Admin)
        }
    }
}

/// What an API client's scopes allow: people with PEOPLE_WRITE, completions with
/// COMPLETIONS_WRITE; rules, courses, the catalogue, the audit log and integrations stay with
/// people.
fn scopes_allow(scopes: &[ApiScope], permission: Permission) -> bool {
    match permission {
        Permission::ManageOrg => scopes.contains(&ApiScope::PeopleWrite),
        Permission::RecordCompletions => scopes.contains(&ApiScope::CompletionsWrite),
        _ => false,
    }
}

/// What the viewer may do: a person by their org role, an API client by its scopes.
pub fn allows_viewer(viewer: &Viewer, permission: Permission) -> bool {
    match &viewer.client {
        Some(scopes) => scopes_allow(scopes, permission),
        None => allows(viewer.role, permission),
    }
}

pub fn require(viewer: &Viewer, permission: Permission) -> AppResult<()> {
    if allows_viewer(viewer, permission) {
        Ok(())
    } else if viewer.client.is_some() {
        Err(AppError::forbidden(
            "this API client's scopes do not allow this",
        ))
    } else {
        Err(AppError::forbidden(format!(
            "the {} role may not do this",
            viewer.role.as_str()
        )))
    }
}

/// The scope an API client needs for a top-level field of the schema; `None`: no client may
/// use it (rules, courses, roles, the audit log, API clients and webhooks stay with people).
pub fn scope_for_operation(field: &str) -> Option<ApiScope> {
    const PEOPLE_WRITE: &[&str] = &[
        "createUser",
        "updateUser",
        "deactivateUser",
        "createGroup",
        "updateGroup",
        "moveGroup",
        "deleteGroup",
        "addMembership",
        "removeMembership",
        "transferUser",
        "setPrimaryRole",
        "syncPeople",
    ];
    const COMPLETIONS_WRITE: &[&str] = &["startAssignment", "recordCompletion"];
    const EVENTS_READ: &[&str] = &["assignmentEvents"];
    const REPORTS_READ: &[&str] = &[
        "user",
        "users",
        "group",
        "groups",
        "assignment",
        "assignments",
        "complianceStatus",
        "complianceReport",
        "expiringCompletions",
        "complianceTrend",
        "complianceChanges",
        "track",
        "tracks",
        "trackReport",
        "cohort",
        "cohorts",
        "node",
        "nodes",
    ];
    [
        (PEOPLE_WRITE, ApiScope::PeopleWrite),
        (COMPLETIONS_WRITE, ApiScope::CompletionsWrite),
        (EVENTS_READ, ApiScope::EventsRead),
        (REPORTS_READ, ApiScope::ReportsRead),
    ]
    .into_iter()
    .find(|(fields, _)| fields.contains(&field))
    .map(|(_, scope)| scope)
}

/// FORBIDDEN unless the viewer may use top-level field `field`: people always may (their org
/// role decides inside), an API client only within its scopes. Introspection is open to all.
pub fn require_operation(viewer: &Viewer, field: &str) -> AppResult<()> {
    let Some(scopes) = &viewer.client else {
        return Ok(());
    };
    if field.starts_with("__") {
        return Ok(());
    }
    match scope_for_operation(field) {
        Some(scope) if scopes.contains(&scope) => Ok(()),
        Some(scope) => Err(AppError::forbidden(format!(
            "{field} needs the {} scope, which this API client lacks",
            scope.as_str()
        ))),
        None => Err(AppError::forbidden(format!(
            "{field} is not open to API clients"
        ))),
    }
}

/// An object a request names by id, for `require_naming`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    User(Uuid),
    Group(Uuid),
    Role(Uuid),
    Category(Uuid),
    Skill(Uuid),
    Course(Uuid),
    Rule(Uuid),
    Track(Uuid),
    Rubric(Uuid),
    Assignment(Uuid),
    ApiClient(Uuid),
    /// The subject of audit events (any kind of object, deleted ones included).
    AuditSubject(Uuid),
    /// An audit event (a cursor of the audit log names one).
    AuditEvent(Uuid),
}

impl Named {
    /// The table, the word for NOT_FOUND, and the id.
    fn parts(self) -> (&'static str, &'static str, Uuid) {
        match self {
            Named::User(id) => ("users", "user", id),
            Named::Group(id) => ("org_groups", "group", id),
            Named::Role(id) => ("roles", "role", id),
            Named::Category(id) => ("role_categories", "role category", id),
            Named::Skill(id) => ("skills", "skill", id),
            Named::Course(id) => ("courses", "course", id),
            Named::Rule(id) => ("rules", "rule", id),
            Named::Track(id) => ("tracks", "track", id),
            Named::Rubric(id) => ("rubrics", "rubric", id),
            Named::Assignment(id) => ("assignments", "assignment", id),
            Named::ApiClient(id) => ("api_clients", "API client", id),
            Named::AuditSubject(id) => ("audit_events", "audit subject", id),
            Named::AuditEvent(id) => ("audit_events", "audit event", id),
        }
    }
}

/// Whether `named` is an object of organization `org_id`.
pub async fn exists(conn: &impl ConnectionTrait, named: Named, org_id: Uuid) -> AppResult<bool> {
    let (table, _, id) = named.parts();
    let column = match named {
        Named::AuditSubject(_) => "subject_id",
        _ => "id",
    };
    let n = super::sql::scalar_i64(
        conn,
        &format!("SELECT COUNT(*) FROM {table} WHERE org_id = $1 AND {column} = $2"),
        vals![org_id, id],
    )
    .await?;
    Ok(n > 0)
}

/// `require`, for an operation naming objects by id: when the role may not take it, an id that
/// names nothing in the viewer's organization answers NOT_FOUND before the refusal, so another
/// organization's ids are never confirmed to exist, whatever the role (README, "How a refusal
/// looks"). Allowed roles pay nothing here: the service resolves the ids as it goes.
pub async fn require_naming(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    permission: Permission,
    named: &[Named],
) -> AppResult<()> {
    if allows_viewer(viewer, permission) {
        return Ok(());
    }
    require_known(conn, viewer, named).await?;
    require(viewer, permission)
}

/// NOT_FOUND unless every named object belongs to the viewer's organization.
pub async fn require_known(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    named: &[Named],
) -> AppResult<()> {
    for n in named {
        if !exists(conn, *n, viewer.org_id).await? {
            return Err(AppError::not_found(n.parts().1));
        }
    }
    Ok(())
}

/// How far a viewer's view of people reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// OWNER, ADMIN, HR.
    Everyone,
    /// A MANAGER: themself and their direct and indirect reports.
    Reports,
    /// A LEARNER.
    Themself,
}

pub fn reach(viewer: &Viewer) -> Reach {
    match viewer.role {
        OrgRole::Owner | OrgRole::Admin | OrgRole::Hr => Reach::Everyone,
        OrgRole::Manager => Reach::Reports,
        OrgRole::Learner => Reach::Themself,
    }
}

/// A track's owner manages that track's courses, rubrics and assessments (as OWNER and ADMIN
/// manage every track); anyone else is FORBIDDEN.
pub fn require_track_manager(viewer: &Viewer, track_owner: Uuid) -> AppResult<()> {
    if allows_viewer(viewer, Permission::ManageRules) || viewer.user_id == track_owner {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only the track's owner, OWNER or ADMIN may change this track",
        ))
    }
}

/// `require_track_manager`, for a change naming objects by id: an id of another
/// organization answers NOT_FOUND before the refusal (as `require_naming`).
pub async fn require_track_manager_naming(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    track_owner: Uuid,
    named: &[Named],
) -> AppResult<()> {
    if require_track_manager(viewer, track_owner).is_err() {
        require_known(conn, viewer, named).await?;
    }
    require_track_manager(viewer, track_owner)
}

/// Who sees a track's learners and reports: OWNER, ADMIN, HR and the track's owner.
pub fn can_report_track(viewer: &Viewer, track_owner: Uuid) -> bool {
    matches!(viewer.role, OrgRole::Owner | OrgRole::Admin | OrgRole::Hr)
        || viewer.user_id == track_owner
}

pub fn require_track_reader(viewer: &Viewer, track_owner: Uuid) -> AppResult<()> {
    if can_report_track(viewer, track_owner) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only the track's owner, OWNER, ADMIN or HR may see this track's learners and reports",
        ))
    }
}

/// Which users a viewer may see: everyone (OWNER, ADMIN, HR), themself (LEARNER), or a set
/// (a MANAGER: themself and their reports). Computed once per request and shared by every
/// resolver and list of that request; the first two cost nothing, not even an allocation.
#[derive(Debug, Clone)]
pub enum UserScope {
    All,
    Themself(Uuid),
    Only(Arc<HashSet<Uuid>>),
}

impl UserScope {
    pub fn contains(&self, user_id: Uuid) -> bool {
        match self {
            UserScope::All => true,
            UserScope::Themself(me) => *me == user_id,
            UserScope::Only(set) => set.contains(&user_id),
        }
    }
}

pub async fn user_scope(conn: &impl ConnectionTrait, viewer: &Viewer) -> AppResult<UserScope> {
    match viewer.role {
        OrgRole::Owner | OrgRole::Admin | OrgRole::Hr => Ok(UserScope::All),
        OrgRole::Learner => Ok(UserScope::Themself(viewer.user_id)),
        OrgRole::Manager => {
            let reports = viewer
                .reports
                .get_or_try_init(|| async {
                    let reports = reports_of(conn, viewer.org_id, viewer.user_id).await?;
                    Ok::<_, AppError>(reporting_line(viewer.user_id, reports))
                })
                .await?;
            Ok(UserScope::Only(reports.clone()))
        }
    }
}

/// Reads a MANAGER's reporting line for the rest of the request if it is not read yet, so
/// that the statements built next bind it as ids (`visible_users_sql`) instead of walking it
/// each. Nothing for the other roles.
pub async fn load_scope(conn: &impl ConnectionTrait, viewer: &Viewer) -> AppResult<()> {
    if viewer.role == OrgRole::Manager {
        user_scope(conn, viewer).await?;
    }
    Ok(())
}

/// A manager's scope: themself and their reports.
pub(crate) fn reporting_line(
    manager: Uuid,
    reports: impl IntoIterator<Item = Uuid>,
) -> Arc<HashSet<Uuid>> {
    let mut set: HashSet<Uuid> = reports.into_iter().collect();
    set.insert(manager);
    Arc::new(set)
}

pub async fn can_see_user(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
) -> AppResult<bool> {
    match viewer.role {
        // The common case costs nothing: no lookup, no allocation.
        OrgRole::Owner | OrgRole::Admin | OrgRole::Hr => Ok(true),
        OrgRole::Learner => Ok(viewer.user_id == user_id),
        OrgRole::Manager => {
            Ok(user_id == viewer.user_id || user_scope(conn, viewer).await?.contains(user_id))
        }
    }
}

/// The recursive query of a manager's direct and indirect reports (`$1` the organization,
/// `$2` the manager).
const REPORTS_CTE: &str = "WITH RECURSIVE reports(id) AS ( \
     SELECT id FROM users WHERE org_id = $1 AND manager_id = $2 \
     UNION SELECT u.id FROM users u JOIN reports r ON u.manager_id = r.id WHERE u.org_id = $1) ";

/// Direct and indirect reports of `manager` (following `users.manager_id`).
pub async fn reports_of(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    manager: Uuid,
) -> AppResult<Vec<Uuid>> {
    super::sql::ids(
        conn,
        &format!("{REPORTS_CTE}SELECT id FROM reports"),
        vals![org_id, manager],
    )
    .await
}

/// What authentication needs to know of a token's user: whether they exist in the
/// organization and are active. `None`: no such user; else the viewer and whether the user is
/// active. A MANAGER's reporting line is not read here: requests that never look at people
/// (most of them) should not pay for it; the first check that needs it reads it once for the
/// rest of the request (`user_scope`).
pub async fn load_viewer(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    user_id: Uuid,
    role: OrgRole,
) -> AppResult<Option<(Viewer, bool)>> {
    let row = conn
        .query_one_raw(super::sql::stmt(
            conn,
            "SELECT active FROM users WHERE org_id = $1 AND id = $2",
            vals![org_id, user_id],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let active = row.try_get_by_index::<bool>(0)?;
    Ok(Some((Viewer::new(org_id, user_id, role), active)))
}

/// Past this many people, a manager's scope is written as the recursive query rather than as
/// a list of bound ids (statements stay short and under the databases' parameter limits).
const MAX_BOUND_SCOPE: usize = 1000;

/// A SQL condition restricting `col` (a user id column) to the users `viewer` may see: no
/// condition for OWNER/ADMIN/HR, themself for a LEARNER, themself and their direct and
/// indirect reports for a MANAGER. A manager's scope already computed for this request is
/// bound as a list of ids, so the reporting line is walked once per request, not once per
/// statement.
pub fn visible_users_sql(q: &mut super::sql::Q, viewer: &Viewer, col: &str) -> String {
    if viewer.role == OrgRole::Manager
        && let Some(set) = viewer.reports.get()
        && set.len() <= MAX_BOUND_SCOPE
    {
        let mut ids: Vec<Uuid> = set.iter().copied().collect();
        // A stable order keeps the statement text (and its prepared statement) the same.
        ids.sort_unstable();
        return format!("{col} IN ({})", q.bind_ids(&ids));
    }
    visible_users_live_sql(q, viewer, col)
}

/// Like `visible_users_sql`, but always walking the reporting line in the statement itself:
/// for filters that outlive a request (a live subscription), which must follow changes of
/// `managerId` while they run.
pub fn visible_users_live_sql(q: &mut super::sql::Q, viewer: &Viewer, col: &str) -> String {
    match viewer.role {
        OrgRole::Owner | OrgRole::Admin | OrgRole::Hr => "1 = 1".into(),
        OrgRole::Learner => format!("{col} = {}", q.bind(viewer.user_id)),
        OrgRole::Manager => {
            let (org, me) = (q.bind(viewer.org_id), q.bind(viewer.user_id));
            format!(
                "({col} = {me} OR {col} IN (WITH RECURSIVE r(id) AS (SELECT id FROM users WHERE org_id = {org} AND manager_id = {me} \
                 UNION SELECT x.id FROM users x JOIN r ON x.manager_id = r.id) SELECT id FROM r))"
            )
        }
    }
}

/// Which roles a viewer may browse: all of them (OWNER, ADMIN, HR), or those in featured
/// categories plus the viewer's own primary and target roles (MANAGER, LEARNER).
#[derive(Debug, Clone)]
pub enum RoleScope {
    All,
    Only(Arc<HashSet<Uuid>>),
}

impl RoleScope {
    pub fn contains(&self, role_id: Uuid) -> bool {
        match self {
            RoleScope::All => true,
            RoleScope::Only(set) => set.contains(&role_id),
        }
    }
}

pub fn sees_all_roles(viewer: &Viewer) -> bool {
    matches!(viewer.role, OrgRole::Owner | OrgRole::Admin | OrgRole::Hr)
}

/// A SQL condition restricting `col` (a role id column) to the roles `viewer` may browse.
pub fn visible_roles_sql(q: &mut super::sql::Q, viewer: &Viewer, col: &str) -> String {
    if sees_all_roles(viewer) {
        return "1 = 1".into();
    }
    let (org, me) = (q.bind(viewer.org_id), q.bind(viewer.user_id));
    format!(
        "({col} IN (SELECT vr.id FROM roles vr JOIN role_categories vc ON vc.id = vr.category_id \
           WHERE vr.org_id = {org} AND vc.featured = TRUE) \
          OR {col} IN (SELECT vu.primary_role_id FROM users vu WHERE vu.id = {me} AND vu.primary_role_id IS NOT NULL \
                       UNION SELECT vu.target_role_id FROM users vu WHERE vu.id = {me} AND vu.target_role_id IS NOT NULL))"
    )
}

pub async fn role_scope(conn: &impl ConnectionTrait, viewer: &Viewer) -> AppResult<RoleScope> {
    if sees_all_roles(viewer) {
        return Ok(RoleScope::All);
    }
    let set = viewer
        .visible_roles
        .get_or_try_init(|| async {
            let mut q = super::sql::Q::new();
            let org = q.bind(viewer.org_id);
            let cond = visible_roles_sql(&mut q, viewer, "r.id");
            q.text = format!("SELECT r.id FROM roles r WHERE r.org_id = {org} AND {cond}");
            Ok::<_, AppError>(Arc::new(q.ids(conn).await?.into_iter().collect()))
        })
        .await?;
    Ok(RoleScope::Only(set.clone()))
}

pub async fn can_see_role(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    role_id: Uuid,
) -> AppResult<bool> {
    Ok(role_scope(conn, viewer).await?.contains(role_id))
}

/// A user whom the viewer may see: NOT_FOUND both when the id names no user of the
/// organization and when it names someone outside the viewer's scope, so a refusal never
/// confirms that a person exists (README, "How a refusal looks").
pub async fn require_visible_user(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
) -> AppResult<()> {
    if !can_see_user(conn, viewer, user_id).await?
        || !exists(conn, Named::User(user_id), viewer.org_id).await?
    {
        return Err(AppError::not_found("user"));
    }
    Ok(())
}

/// Who may rate `user_id`'s skills, and the source the rating gets: anyone rates themself
/// (SELF); OWNER, ADMIN and HR rate anyone, a MANAGER their direct and indirect reports
/// (MANAGER). Someone the viewer may not see, or no user of the organization: NOT_FOUND.
pub async fn rating_source(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
) -> AppResult<&'static str> {
    require_visible_user(conn, viewer, user_id).await?;
    Ok(if user_id == viewer.user_id {
        "SELF"
    } else {
        "MANAGER"
    })
}
