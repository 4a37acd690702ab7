//! Roles (jobs): the `Role` type, its queries and mutations, and primary roles.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::scalars::DateTime;
use super::user::User;
use super::{parse_id, parse_opt_id, parts, to_id};
use crate::service::engine::Outcome;
use crate::service::role as service;
use entity::role;

/// A job: what a person does (primary role) or aims for.
pub struct Role(pub role::Model);

/// A job: what a person does (primary role) or aims for.
#[Object]
impl Role {
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// Unique in the organization, case-insensitively.
    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }
}

#[derive(InputObject, Default)]
pub struct RoleFilter {
    /// Case-insensitive part of the name.
    pub search: Option<String>,
}

#[derive(Default)]
pub struct RoleQuery;

#[Object]
impl RoleQuery {
    /// A role by id; null when unknown.
    async fn role(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Role>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = parse_id(&id, "role") else {
            return Ok(None);
        };
        Ok(service::find(&state.db.read, viewer.org_id, id)
            .await?
            .map(Role))
    }

    /// Roles by name.
    async fn roles(
        &self,
        ctx: &Context<'_>,
        filter: Option<RoleFilter>,
    ) -> async_graphql::Result<Vec<Role>> {
        let (state, viewer) = parts(ctx)?;
        let filter = filter.unwrap_or_default();
        Ok(
            service::list(&state.db.read, viewer.org_id, filter.search.as_deref())
                .await?
                .into_iter()
                .map(Role)
                .collect(),
        )
    }
}

#[derive(InputObject)]
pub struct CreateRoleInput {
    /// Unique in the organization, case-insensitively.
    pub name: String,
    pub description: Option<String>,
}

#[derive(InputObject)]
pub struct SetPrimaryRoleInput {
    pub user_id: ID,
    /// null clears the primary role.
    pub role_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct CreateRolePayload {
    pub role: Role,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SetPrimaryRolePayload {
    pub user: User,
    #[graphql(skip)]
    pub outcome: Outcome,
}
crate::engine_payload!(SetPrimaryRolePayload);

#[derive(Default)]
pub struct RoleMutation;

#[Object]
impl RoleMutation {
    /// OWNER, ADMIN, HR.
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        input: CreateRoleInput,
    ) -> async_graphql::Result<CreateRolePayload> {
        let (state, viewer) = parts(ctx)?;
        let role =
            service::create(state, viewer, &input.name, input.description.as_deref()).await?;
        Ok(CreateRolePayload { role: Role(role) })
    }

    /// Sets what a user does: a promotion or transfer for the rules. OWNER, ADMIN, HR.
    async fn set_primary_role(
        &self,
        ctx: &Context<'_>,
        input: SetPrimaryRoleInput,
    ) -> async_graphql::Result<SetPrimaryRolePayload> {
        let (state, viewer) = parts(ctx)?;
        let user_id = parse_id(&input.user_id, "user")?;
        let role_id = parse_opt_id(&input.role_id, "role")?;
        let (user, outcome) = service::set_primary(state, viewer, user_id, role_id).await?;
        Ok(SetPrimaryRolePayload {
            user: User(user),
            outcome,
        })
    }
}
