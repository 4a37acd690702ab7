//! The viewer and its organization.

use async_graphql::{Context, Enum, ID, Object};

use super::user::User;
use super::{parts, to_id};
use crate::error::AppError;
use crate::service::org;
use crate::service::rows;
use crate::service::viewer::OrgRole as Role;
use entity::organization;

/// The organization-wide role a token grants.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrgRole {
    /// Everything, including the audit log; the organization's first user.
    Owner,
    /// Everything but ownership: users, groups, rules, courses, roles, the audit log.
    Admin,
    /// People and the role catalogue: users, groups, memberships, roles and skills.
    Hr,
    /// Reads their direct and indirect reports.
    Manager,
    /// Reads only themself.
    Learner,
}

impl From<Role> for OrgRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => OrgRole::Owner,
            Role::Admin => OrgRole::Admin,
            Role::Hr => OrgRole::Hr,
            Role::Manager => OrgRole::Manager,
            Role::Learner => OrgRole::Learner,
        }
    }
}

/// A tenant: every object belongs to exactly one organization, and no query crosses it.
pub struct Organization(pub organization::Model);

/// A tenant: every object belongs to exactly one organization, and no query crosses it.
#[Object]
impl Organization {
    /// The organization's id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The organization's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether this is the seeded demo organization.
    async fn demo(&self) -> bool {
        self.0.demo
    }
}

#[derive(Default)]
pub struct OrgQuery;

#[Object]
impl OrgQuery {
    /// The user the bearer token belongs to.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let (state, viewer) = parts(ctx)?;
        let me = rows::require_as::<entity::user::Entity>(
            &state.db.read,
            viewer.org_id,
            viewer.user_id,
            "viewer",
        )
        .await?;
        Ok(User(me))
    }

    /// The org role the bearer token grants (decides what the viewer may see and do).
    async fn viewer_role(&self, ctx: &Context<'_>) -> async_graphql::Result<OrgRole> {
        let (_, viewer) = parts(ctx)?;
        Ok(viewer.role.into())
    }

    /// The viewer's organization.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let (state, viewer) = parts(ctx)?;
        let org = org::find(&state.db.read, viewer.org_id)
            .await?
            .ok_or_else(|| {
                AppError::Unauthenticated("the token's organization does not exist".into())
            })?;
        Ok(Organization(org))
    }
}
