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
    /// Create and edit roles, skills, categories.
    EditCatalog,
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
