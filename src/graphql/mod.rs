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
pub mod exception;
pub mod group;
pub mod limits;
pub mod loaders;
pub mod org;
pub mod pagination;
pub mod role;
pub mod role_import;
pub mod rule;
pub mod scalars;
pub mod skill;
pub mod spec;
pub mod top_level;
pub mod track;
pub mod user;

use async_graphql::{Context, ID, MergedObject, MergedSubscription, Schema};
use uuid::Uuid;

use crate::error::AppError;
use crate::service::session::Session;
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
    exception::ExceptionMutation,
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
    .register_output_type::<scalars::BuiltinScalars>()
    // Depth and complexity are checked by `limits::Limits`, whose refusals say the cost and
    // the limit; async-graphql still computes both.
    .extension(limits::Limits::of(settings))
    .extension(spec::Spec)
    .extension(top_level::TopLevel)
    .limit_directives(settings.max_directives);
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
    limits::bound_errors(response);
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

/// The schema as the WebSocket endpoint runs it. Every operation of a connection goes through
/// what an HTTP request goes through: the session's authority is re-checked (token unexpired,
/// user still active), the rate limiter, the operation limits (per connection and per user),
/// the cost limits of the schema, and the `AUTHZ_DENIED` audit of refused mutations; every
/// error carries an `extensions.code`.
#[derive(Clone)]
pub struct CodedSchema(pub AppSchema);

/// The operations one WebSocket connection runs at the moment.
#[derive(Debug, Default)]
pub struct RunningOperations(std::sync::atomic::AtomicUsize);

/// One running operation of a connection; dropping it (the operation ended, the client
/// completed it, the connection closed) frees its places.
struct OperationSlot {
    running: std::sync::Arc<RunningOperations>,
    _user: crate::state::WsSlot,
}

impl Drop for OperationSlot {
    fn drop(&mut self) {
        self.running
            .0
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A response made of one error.
pub fn error_response(error: AppError) -> async_graphql::Response {
    use async_graphql::ErrorExtensions;
    let mut e = error
        .extend()
        .into_server_error(async_graphql::Pos::default());
    e.locations.clear();
    async_graphql::Response::from_errors(vec![e])
}

impl CodedSchema {
    /// The limits an operation passes before it runs (in the order the client sent them), and
    /// the places it holds while it runs.
    fn admit(
        state: &AppState,
        session: &Session,
        running: &std::sync::Arc<RunningOperations>,
    ) -> Result<OperationSlot, AppError> {
        use std::sync::atomic::Ordering;
        let viewer = &session.viewer;
        let key = (viewer.org_id, viewer.user_id);
        if let Some(limiter) = &state.limiter
            && limiter.check_key(&key).is_err()
        {
            return Err(AppError::RateLimited(
                "rate limited: too many requests for this token; retry shortly".into(),
            ));
        }
        let per_connection = state.settings.max_subscriptions_per_connection;
        let now = running.0.fetch_add(1, Ordering::SeqCst);
        if per_connection > 0 && now >= per_connection {
            running.0.fetch_sub(1, Ordering::SeqCst);
            return Err(AppError::RateLimited(format!(
                "this connection already runs {per_connection} operations, the most allowed; \
                 complete one first"
            )));
        }
        let per_user = state.settings.max_subscriptions_per_user;
        let Some(user) = state.ws_operations.acquire(key, per_user) else {
            running.0.fetch_sub(1, Ordering::SeqCst);
            return Err(AppError::RateLimited(format!(
                "this user already runs {per_user} operations over WebSockets, the most allowed; \
                 complete one first"
            )));
        };
        Ok(OperationSlot {
            running: running.clone(),
            _user: user,
        })
    }
}

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
        let found = (
            session_data
                .get(&std::any::TypeId::of::<AppState>())
                .and_then(|s| s.downcast_ref::<AppState>())
                .cloned(),
            session_data
                .get(&std::any::TypeId::of::<std::sync::Arc<Session>>())
                .and_then(|s| s.downcast_ref::<std::sync::Arc<Session>>())
                .cloned(),
            session_data
                .get(&std::any::TypeId::of::<std::sync::Arc<RunningOperations>>())
                .and_then(|s| s.downcast_ref::<std::sync::Arc<RunningOperations>>())
                .cloned(),
        );
        let (Some(state), Some(session), Some(running)) = found else {
            // In process, without a connection (tests): the request carries its own data.
            return self
                .0
                .execute_stream_with_session_data(request, session_data)
                .map(|mut response| {
                    add_codes(&mut response);
                    response
                })
                .boxed();
        };
        let slot = match Self::admit(&state, &session, &running) {
            Ok(slot) => slot,
            Err(e) => return futures_util::stream::once(async { error_response(e) }).boxed(),
        };
        let schema = self.0.clone();
        futures_util::stream::once(async move {
            if let Err(e) = session.check(&state.db).await {
                return futures_util::stream::once(async { error_response(e) }).boxed();
            }
            // A connection lives for hours; each operation gets its own viewer scope and
            // loaders, so neither a reporting line nor a cached row outlives the operation.
            let viewer = session.viewer.for_operation();
            let mutation = operation_fields(&request, viewer.client.is_some());
            let request = request
                .data(Loaders::new(state.db.read.clone(), &viewer))
                .data(viewer.clone());
            schema
                .execute_stream_with_session_data(request, session_data)
                .then(move |mut response| {
                    let (state, viewer, mutation) =
                        (state.clone(), viewer.clone(), mutation.clone());
                    let _held = &slot;
                    async move {
                        add_codes(&mut response);
                        if let Some(fields) = mutation {
                            audit_denials(&state, &viewer, &fields, &response).await;
                        }
                        response
                    }
                })
                .boxed()
        })
        .flatten()
        .boxed()
    }
}

/// The data of a WebSocket connection: its session (whose authority every operation
/// re-checks) and the state; each operation gets its own viewer and loaders.
pub fn connection_data(state: &AppState, session: std::sync::Arc<Session>) -> async_graphql::Data {
    state.events.sessions.register(&session);
    let mut data = async_graphql::Data::default();
    data.insert(state.clone());
    data.insert(session);
    data.insert(std::sync::Arc::new(RunningOperations::default()));
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
    if let Some(fields) = operation {
        audit_denials(state, &viewer, &fields, &response).await;
    }
    response
}

/// Audits the FORBIDDEN errors of a mutation's response, or of any operation of an API client
/// (`AUTHZ_DENIED`).
async fn audit_denials(
    state: &AppState,
    viewer: &Viewer,
    fields: &[String],
    response: &async_graphql::Response,
) {
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
    if !denied.is_empty()
        && let Err(e) = crate::service::audit::record_denial(state, viewer, fields, &denied).await
    {
        tracing::error!(error = ?e, "could not audit a refused mutation");
    }
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

/// The object an optional id names, through `loader`, wrapped for the schema; None for no id.
pub(crate) async fn load_opt<L, T>(
    loader: &async_graphql::dataloader::DataLoader<L>,
    id: Option<Uuid>,
    wrap: impl FnOnce(L::Value) -> T,
) -> async_graphql::Result<Option<T>>
where
    L: async_graphql::dataloader::Loader<Uuid, Error = async_graphql::Error>,
{
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(loader.load_one(id).await?.map(wrap))
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
