//! API clients: partners' own credentials (OWNER and ADMIN manage them).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::scalars::DateTime;
use super::{parse_id, parts, to_id};
use crate::service::api_client as service;
use crate::service::viewer::ApiScope;

/// A partner's credential: a name and the scopes it acts within. Its secret is shown once, when
/// it is created or rotated; send it as `Authorization: Bearer <secret>` to `/graphql`,
/// `/scim/v2` and `/xapi`.
pub struct ApiClient(pub service::ApiClient);

/// A partner's credential: a name and the scopes it acts within. Its secret is shown once, when
/// it is created or rotated; send it as `Authorization: Bearer <secret>` to `/graphql`,
/// `/scim/v2` and `/xapi`.
#[Object]
impl ApiClient {
    /// The client's id: the actor id its changes carry in the audit log.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// A name for people to recognise it by ("Workday sync", "Content vendor").
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the client may do; anything else is FORBIDDEN to it.
    async fn scopes(&self) -> Vec<ApiScope> {
        service::scopes(&self.0)
    }

    /// When the client was created.
    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }

    /// When the client last authenticated (to the minute); null if it never has.
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(DateTime::from_micros)
    }

    /// When its secret was last rotated; null if never.
    async fn rotated_at(&self) -> Option<DateTime> {
        self.0.rotated_at.map(DateTime::from_micros)
    }

    /// Until when the secret before the last rotation still works; null when none does.
    async fn previous_secret_valid_until(&self) -> Option<DateTime> {
        self.0.previous_until.map(DateTime::from_micros)
    }

    /// When it was revoked; null while it is active.
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.revoked_at.map(DateTime::from_micros)
    }

    /// False once revoked: its secrets no longer authenticate.
    async fn active(&self) -> bool {
        self.0.revoked_at.is_none()
    }
}

#[derive(Default)]
pub struct ApiClientQuery;

#[Object]
impl ApiClientQuery {
    /// The organization's API clients, newest first, revoked ones included. OWNER and ADMIN.
    async fn api_clients(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiClient>> {
        let (state, viewer) = parts(ctx)?;
        Ok(service::list(&state.db.read, viewer)
            .await?
            .into_iter()
            .map(ApiClient)
            .collect())
    }

    /// One API client; null for an unknown id or another organization's. OWNER and ADMIN.
    async fn api_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the api client; an unknown one answers null.")] id: ID,
    ) -> async_graphql::Result<Option<ApiClient>> {
        let (state, viewer) = parts(ctx)?;
        let Ok(id) = parse_id(&id, "API client") else {
            return Ok(None);
        };
        Ok(service::get(&state.db.read, viewer, id)
            .await?
            .map(ApiClient))
    }
}

/// A new API client.
#[derive(InputObject)]
pub struct CreateApiClientInput {
    /// A name for people to recognise it by.
    pub name: String,
    /// What it may do; at least one scope.
    pub scopes: Vec<ApiScope>,
}

/// The API client to revoke.
#[derive(InputObject)]
pub struct RevokeApiClientInput {
    /// The client's id; another organization's: NOT_FOUND.
    pub id: ID,
}

/// The API client to give a new secret.
#[derive(InputObject)]
pub struct RotateApiClientSecretInput {
    /// The client's id; another organization's: NOT_FOUND.
    pub id: ID,
}

/// A client with its secret: copy the secret now, it is never shown again.
#[derive(SimpleObject)]
pub struct ApiClientSecretPayload {
    /// The client whose secret was rotated.
    pub api_client: ApiClient,
    /// The secret, shown this once (skillgraph keeps only a hash of it).
    pub secret: String,
}

/// The revoked client.
#[derive(SimpleObject)]
pub struct RevokeApiClientPayload {
    /// The client, now revoked.
    pub api_client: ApiClient,
}

#[derive(Default)]
pub struct ApiClientMutation;

#[Object]
impl ApiClientMutation {
    /// Creates an API client and returns its secret, once. OWNER and ADMIN; no scopes:
    /// VALIDATION.
    async fn create_api_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `createApiClient` does: see `CreateApiClientInput`.")]
        input: CreateApiClientInput,
    ) -> async_graphql::Result<ApiClientSecretPayload> {
        let (state, viewer) = parts(ctx)?;
        let made = service::create(state, viewer, &input.name, &input.scopes).await?;
        Ok(ApiClientSecretPayload {
            api_client: ApiClient(made.client),
            secret: made.secret,
        })
    }

    /// Revokes an API client: its secrets stop working at once. OWNER and ADMIN.
    async fn revoke_api_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `revokeApiClient` does: see `RevokeApiClientInput`.")]
        input: RevokeApiClientInput,
    ) -> async_graphql::Result<RevokeApiClientPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "API client")?;
        Ok(RevokeApiClientPayload {
            api_client: ApiClient(service::revoke(state, viewer, id).await?),
        })
    }

    /// Gives an API client a new secret, returned once; the old one keeps working for 24
    /// hours, then stops. OWNER and ADMIN; a revoked client: VALIDATION.
    async fn rotate_api_client_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What `rotateApiClientSecret` does: see `RotateApiClientSecretInput`.")]
        input: RotateApiClientSecretInput,
    ) -> async_graphql::Result<ApiClientSecretPayload> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id(&input.id, "API client")?;
        let made = service::rotate(state, viewer, id).await?;
        Ok(ApiClientSecretPayload {
            api_client: ApiClient(made.client),
            secret: made.secret,
        })
    }
}
