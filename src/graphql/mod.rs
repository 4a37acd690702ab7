//! The GraphQL layer: thin resolvers that read the viewer and state, call one service function
//! and map the result. One file per concept; the roots merge them.

pub mod assignment;
pub mod audit;
pub mod course;
pub mod event;
pub mod group;
pub mod loaders;
pub mod org;
pub mod pagination;
pub mod role;
pub mod rule;
pub mod scalars;
pub mod user;

use async_graphql::{Context, ID, MergedObject, MergedSubscription, Schema};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::AppError;
use crate::state::{AppState, Settings};
use loaders::Loaders;

/// Everything a client can read. Every field sees only the viewer's organization, and within it
/// only what the viewer's org role allows.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    org::OrgQuery,
    user::UserQuery,
    group::GroupQuery,
    role::RoleQuery,
    course::CourseQuery,
    rule::RuleQuery,
    assignment::AssignmentQuery,
    event::EventQuery,
    audit::AuditQuery,
);

/// Every change. Each mutation takes one `input` and returns a payload naming what changed; each
/// runs in one transaction together with its audit events.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    user::UserMutation,
    group::GroupMutation,
    role::RoleMutation,
    course::CourseMutation,
    rule::RuleMutation,
);

/// Live streams, over WebSocket at `/graphql` (`graphql-transport-ws` or the legacy
/// `graphql-ws` subprotocol).
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct Subscription(event::EventSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema, without any database: state and viewer travel with each request
/// (`with_request_data`), so `skillgraph schema` and the SDL test need nothing else.
pub fn build_schema(settings: &Settings) -> AppSchema {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(settings.max_depth)
    .limit_complexity(settings.max_complexity)
    .finish()
}

/// The SDL of the served schema (what `schema.graphql` must equal).
pub fn sdl() -> String {
    build_schema(&Settings::default()).sdl()
}

/// Attaches what every resolver needs to a request: the state, the viewer and fresh loaders.
pub fn with_request_data(
    request: async_graphql::Request,
    state: &AppState,
    viewer: Viewer,
) -> async_graphql::Request {
    let loaders = Loaders::new(state.db.read.clone(), viewer.org_id);
    request.data(state.clone()).data(viewer).data(loaders)
}

/// Executes a request and makes sure every error carries an `extensions.code`: errors raised by
/// async-graphql itself (syntax, unknown fields, wrong variable types, depth and complexity
/// limits) are the client's mistake, so they become VALIDATION.
pub async fn execute(
    schema: &AppSchema,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let mut response = schema.execute(request).await;
    add_codes(&mut response);
    response
}

/// Gives every error without an `extensions.code` the code VALIDATION (see `execute`).
pub fn add_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if !has_code {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", "VALIDATION");
        }
    }
}

/// The schema as the WebSocket endpoint runs it: like `execute`, every error of every streamed
/// response carries an `extensions.code`.
#[derive(Clone)]
pub struct CodedSchema(pub AppSchema);

impl async_graphql::Executor for CodedSchema {
    async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        execute(&self.0, request).await
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<std::sync::Arc<async_graphql::Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        use futures_util::StreamExt;
        self.0
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(|mut response| {
                add_codes(&mut response);
                response
            })
            .boxed()
    }
}

/// The data of a WebSocket connection: like `with_request_data`, for every operation the
/// connection runs.
pub fn connection_data(state: &AppState, viewer: Viewer) -> async_graphql::Data {
    let mut data = async_graphql::Data::default();
    data.insert(Loaders::new(state.db.read.clone(), viewer.org_id));
    data.insert(state.clone());
    data.insert(viewer);
    data
}

/// The state, viewer and loaders of the current request.
pub(crate) fn parts<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a AppState, &'a Viewer)> {
    let state = ctx
        .data::<AppState>()
        .map_err(|_| AppError::internal("request without state"))?;
    let viewer = ctx
        .data::<Viewer>()
        .map_err(|_| AppError::Unauthenticated("a bearer token is required".into()))?;
    Ok((state, viewer))
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Loaders> {
    Ok(ctx
        .data::<Loaders>()
        .map_err(|_| AppError::internal("request without loaders"))?)
}

/// Parses an id argument; an id that is not a UUID names nothing, so it is NOT_FOUND.
pub(crate) fn parse_id(id: &ID, what: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::not_found(what))
}

pub(crate) fn parse_opt_id(id: &Option<ID>, what: &str) -> Result<Option<Uuid>, AppError> {
    id.as_ref().map(|i| parse_id(i, what)).transpose()
}

pub(crate) fn to_id(id: Uuid) -> ID {
    ID(id.to_string())
}
