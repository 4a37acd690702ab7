//! The one place that decides who may do what (DESIGN.md, "Who may do what"). Services call
//! `require` for coarse permissions and `can_see_user` / `user_scope` for per-person reads;
//! resolvers never decide.

use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::auth::{OrgRole, Viewer};
use crate::error::{AppError, AppResult};
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
}

pub fn allows(role: OrgRole, permission: Permission) -> bool {
    use OrgRole::*;
    use Permission::*;
    match permission {
        ManageOrg | EditCatalog => matches!(role, Owner | Admin | Hr),
        ManageRules | DeleteRoles | ReadAuditLog => matches!(role, Owner | Admin),
    }
}

pub fn require(viewer: &Viewer, permission: Permission) -> AppResult<()> {
    if allows(viewer.role, permission) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "the {} role may not do this",
            viewer.role.as_str()
        )))
    }
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
    if allows(viewer.role, Permission::ManageRules) || viewer.user_id == track_owner {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only the track's owner, OWNER or ADMIN may change this track",
        ))
    }
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

/// Which users a viewer may see: everyone, or a set (self, plus reports for a manager).
#[derive(Debug, Clone)]
pub enum UserScope {
    All,
    Only(Arc<HashSet<Uuid>>),
}

impl UserScope {
    pub fn contains(&self, user_id: Uuid) -> bool {
        match self {
            UserScope::All => true,
            UserScope::Only(set) => set.contains(&user_id),
        }
    }
}

pub async fn user_scope(conn: &impl ConnectionTrait, viewer: &Viewer) -> AppResult<UserScope> {
    match viewer.role {
        OrgRole::Owner | OrgRole::Admin | OrgRole::Hr => Ok(UserScope::All),
        OrgRole::Learner => Ok(UserScope::Only(Arc::new(HashSet::from([viewer.user_id])))),
        OrgRole::Manager => {
            let reports = viewer
                .reports
                .get_or_try_init(|| async {
                    let mut set: HashSet<Uuid> = reports_of(conn, viewer.org_id, viewer.user_id)
                        .await?
                        .into_iter()
                        .collect();
                    set.insert(viewer.user_id);
                    Ok::<_, AppError>(Arc::new(set))
                })
                .await?;
            Ok(UserScope::Only(reports.clone()))
        }
    }
}

pub async fn can_see_user(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
) -> AppResult<bool> {
    Ok(user_scope(conn, viewer).await?.contains(user_id))
}

/// Direct and indirect reports of `manager` (following `users.manager_id`).
pub async fn reports_of(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    manager: Uuid,
) -> AppResult<Vec<Uuid>> {
    super::sql::ids(
        conn,
        "WITH RECURSIVE reports(id) AS ( \
             SELECT id FROM users WHERE org_id = $1 AND manager_id = $2 \
             UNION SELECT u.id FROM users u JOIN reports r ON u.manager_id = r.id WHERE u.org_id = $1) \
         SELECT id FROM reports",
        vals![org_id, manager],
    )
    .await
}

/// A SQL condition restricting `col` (a user id column) to the users `viewer` may see: no
/// condition for OWNER/ADMIN/HR, themself for a LEARNER, themself and their direct and
/// indirect reports for a MANAGER.
pub fn visible_users_sql(q: &mut super::sql::Q, viewer: &Viewer, col: &str) -> String {
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

/// A user of the viewer's organization whom the viewer may see: NOT_FOUND when the id names no
/// user of the organization, FORBIDDEN when it names someone outside the viewer's scope.
pub async fn require_visible_user(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
) -> AppResult<()> {
    let exists = super::sql::scalar_i64(
        conn,
        "SELECT COUNT(*) FROM users WHERE id = $1 AND org_id = $2",
        vals![user_id, viewer.org_id],
    )
    .await?;
    if exists == 0 {
        return Err(AppError::not_found("user"));
    }
    if !can_see_user(conn, viewer, user_id).await? {
        return Err(AppError::forbidden(format!(
            "the {} role may not see this person's skills and matches",
            viewer.role.as_str()
        )));
    }
    Ok(())
}

/// Who may rate `user_id`'s skills, and the source the rating gets: anyone rates themself
/// (SELF); OWNER, ADMIN and HR rate anyone, a MANAGER their direct and indirect reports
/// (MANAGER). The user must exist in the organization (else NOT_FOUND).
pub async fn rating_source(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    user_id: Uuid,
) -> AppResult<&'static str> {
    let exists = super::sql::scalar_i64(
        conn,
        "SELECT COUNT(*) FROM users WHERE id = $1 AND org_id = $2",
        vals![user_id, viewer.org_id],
    )
    .await?;
    if exists == 0 {
        return Err(AppError::not_found("user"));
    }
    if user_id == viewer.user_id {
        return Ok("SELF");
    }
    let allowed = match viewer.role {
        OrgRole::Owner | OrgRole::Admin | OrgRole::Hr => true,
        OrgRole::Manager => can_see_user(conn, viewer, user_id).await?,
        OrgRole::Learner => false,
    };
    if allowed {
        Ok("MANAGER")
    } else {
        Err(AppError::forbidden(format!(
            "the {} role may rate only its own skills{}",
            viewer.role.as_str(),
            if viewer.role == OrgRole::Manager {
                " and those of its reports"
            } else {
                ""
            }
        )))
    }
}
