//! The GraphQL layer: thin resolvers that read the viewer and state, call one service function
//! and map the result. One file per concept; the roots merge them.

pub mod api_client;
pub mod assessment;
pub mod assignment;
pub mod audit;
pub mod career;
pub mod compliance;
pub mod course;
pub mod enums;
pub mod event;
pub mod group;
pub mod loaders;
pub mod org;
pub mod pagination;
pub mod role;
pub mod role_import;
pub mod rule;
pub mod scalars;
pub mod scopes;
pub mod skill;
pub mod spec;
pub mod track;
pub mod user;

use async_graphql::{Context, ID, MergedObject, MergedSubscription, Schema};
use uuid::Uuid;

use crate::error::AppError;
use crate::service::viewer::Viewer;
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
    skill::SkillQuery,
    career::CareerQuery,
    course::CourseQuery,
    rule::RuleQuery,
    track::TrackQuery,
    assessment::AssessmentQuery,
    assignment::AssignmentQuery,
    compliance::ComplianceQuery,
    event::EventQuery,
    audit::AuditQuery,
    api_client::ApiClientQuery,
);

/// Every change. Each mutation takes one `input` and returns a payload naming what changed; each
/// runs in one transaction together with its audit events.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    user::UserMutation,
    group::GroupMutation,
    role::RoleMutation,
    skill::SkillMutation,
    role_import::RoleImportMutation,
    course::CourseMutation,
    rule::RuleMutation,
    track::TrackMutation,
    assessment::AssessmentMutation,
    compliance::ComplianceMutation,
    api_client::ApiClientMutation,
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
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(settings.max_depth)
    .limit_complexity(settings.max_complexity)
    .register_output_type::<scalars::BuiltinScalars>()
    .extension(spec::Spec)
    .extension(scopes::ClientScopes);
    if settings.introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
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
    let loaders = Loaders::new(state.db.read.clone(), &viewer);
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
        let session_data = session_data.unwrap_or_default();
        // A connection lives for hours; each operation gets its own viewer scope and loaders,
        // so neither a reporting line nor a cached row outlives the operation that read it.
        let request = match (
            session_data.get(&std::any::TypeId::of::<Viewer>()),
            session_data.get(&std::any::TypeId::of::<AppState>()),
        ) {
            (Some(viewer), Some(state)) => match (
                viewer.downcast_ref::<Viewer>(),
                state.downcast_ref::<AppState>(),
            ) {
                (Some(viewer), Some(state)) => {
                    let viewer = viewer.for_operation();
                    request
                        .data(Loaders::new(state.db.read.clone(), &viewer))
                        .data(viewer)
                }
                _ => request,
            },
            _ => request,
        };
        self.0
            .execute_stream_with_session_data(request, session_data)
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
    data.insert(Loaders::new(state.db.read.clone(), &viewer));
    data.insert(state.clone());
    data.insert(viewer);
    data
}

/// Runs `request` as `viewer` the way the HTTP edge does: attaches state, viewer and loaders,
/// executes, and audits a mutation refused for lack of permission (`AUTHZ_DENIED`, in its own
/// transaction, since the refused one wrote nothing).
pub async fn execute_as(
    schema: &AppSchema,
    state: &AppState,
    viewer: Viewer,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let operation = operation_fields(&request, viewer.client.is_some());
    let request = with_request_data(request, state, viewer.clone());
    let response = execute(schema, request).await;
    let denied: Vec<String> = response
        .errors
        .iter()
        .filter(|e| {
            e.extensions.as_ref().and_then(|x| x.get("code"))
                == Some(&async_graphql::Value::from("FORBIDDEN"))
        })
        .map(|e| {
            e.path
                .iter()
                .map(|p| match p {
                    async_graphql::PathSegment::Field(f) => f.clone(),
                    async_graphql::PathSegment::Index(i) => i.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    if let Some(fields) = operation
        && !denied.is_empty()
        && let Err(e) = crate::service::audit::record_denial(state, &viewer, &fields, &denied).await
    {
        tracing::error!(error = ?e, "could not audit a refused mutation");
    }
    response
}

/// The top-level fields of the operation, when it is a mutation (or, for an API client, any
/// operation: a client refused a query is audited too).
fn operation_fields(request: &async_graphql::Request, any: bool) -> Option<Vec<String>> {
    use async_graphql::parser::types::{OperationType, Selection};
    let doc = async_graphql::parser::parse_query(&request.query).ok()?;
    let op = match &request.operation_name {
        Some(name) => {
            doc.operations
                .iter()
                .find(|(n, _)| n.map(|n| n.as_str()) == Some(name.as_str()))?
                .1
        }
        None => doc.operations.iter().next()?.1,
    };
    if op.node.ty != OperationType::Mutation && !any {
        return None;
    }
    Some(
        op.node
            .selection_set
            .node
            .items
            .iter()
            .filter_map(|s| match &s.node {
                Selection::Field(f) => Some(f.node.name.node.to_string()),
                _ => None,
            })
            .collect(),
    )
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
