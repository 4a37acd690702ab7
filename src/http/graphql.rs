//! GraphQL over HTTP, as the GraphQL foundation's GraphQL-over-HTTP spec says: `POST /graphql`
//! (JSON only; a JSON array is a batch), `GET /graphql` for queries only (or a WebSocket
//! upgrade, see `ws`), content negotiation on `Accept`, automatic persisted queries (see
//! `persisted`). Every request must carry `Authorization: Bearer <jwt>`.

use async_graphql::parser::types::OperationType;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Http;
use super::reply::{error_response, unauthenticated, viewer_from_headers};
use crate::graphql::spec::Executed;
use crate::service::viewer::Viewer;

/// The media type of the GraphQL-over-HTTP spec; `application/json` is the legacy one.
pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// What a response is sent as, from the request's `Accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Media {
    /// `application/graphql-response+json`: a request that never executed is a 4xx.
    GraphqlResponse,
    /// `application/json`: every well-formed request answers 200, errors in the body.
    Json,
}

impl Media {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the media type the client prefers (by `q`), `application/json` when `Accept` is
/// missing or says only `*/*`; None when it accepts neither.
fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    if accept.trim().is_empty() {
        return Some(Media::Json);
    }
    let (mut graphql, mut json) = (0.0f32, 0.0f32);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let ty = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match ty.as_str() {
            GRAPHQL_RESPONSE => graphql = graphql.max(q),
            "application/json" | "application/*" | "*/*" => json = json.max(q),
            _ => {}
        }
    }
    if graphql > 0.0 && graphql >= json {
        Some(Media::GraphqlResponse)
    } else if json > 0.0 {
        Some(Media::Json)
    } else {
        None
    }
}

/// One operation as the client sent it, its parameters checked.
struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

/// A request that is not a well-formed GraphQL-over-HTTP request: 400, whatever the media type.
struct Malformed(String);

fn params(value: Value) -> Result<Params, Malformed> {
    let Value::Object(mut map) = value else {
        return Err(Malformed(
            "a GraphQL request is a JSON object such as {\"query\": \"{ viewer { name } }\"} (or an array of them, a batch)".into(),
        ));
    };
    let object = |map: &mut Map<String, Value>, key: &str| match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(Malformed(format!(
            "\"{key}\" must be a JSON object (or null)"
        ))),
    };
    let string = |map: &mut Map<String, Value>, key: &str, what: &str| match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Malformed(format!("\"{key}\" must be a string: {what}"))),
    };
    let query = string(&mut map, "query", "the GraphQL document")?;
    let operation_name = string(
        &mut map,
        "operationName",
        "the name of the operation to run",
    )?;
    let variables = object(&mut map, "variables")?;
    let extensions = object(&mut map, "extensions")?;
    let persisted = extensions
        .as_ref()
        .is_some_and(|e| e.contains_key("persistedQuery"));
    if query.is_none() && !persisted {
        return Err(Malformed(
            "the request has no \"query\": send the GraphQL document as a string in \"query\" (or extensions.persistedQuery with its hash)".into(),
        ));
    }
    Ok(Params {
        query,
        operation_name,
        variables,
        extensions,
    })
}

/// Whether a `Content-Type` is JSON in UTF-8 (the charset may be left out).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|p| {
            let p = p.trim().to_ascii_lowercase();
            match p.strip_prefix("charset=") {
                Some(cs) => matches!(cs.trim_matches('"'), "utf-8" | "utf8"),
                None => true,
            }
        })
}

/// `POST /graphql`: one operation (a JSON object) or a batch (a JSON array of them).
pub async fn post(State(http): State<Http>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    if !is_json(&headers) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as JSON: Content-Type: application/json",
            "VALIDATION",
        );
    }
    // The size is bounded by the router's body limit (`max_body_bytes`), not axum's default.
    let body: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            let mut too_large = false;
            while let Some(c) = cause {
                too_large |= c.is::<http_body_util::LengthLimitError>();
                cause = c.source();
            }
            return if too_large {
                error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the request body is too large",
                    "VALIDATION",
                )
            } else {
                malformed(media, format!("the body could not be read: {e}"))
            };
        }
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return malformed(
            media,
            "the body is empty: send {\"query\": \"…\"} as JSON".into(),
        );
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return malformed(media, format!("the body is not valid JSON: {e}")),
    };
    let viewer = match authenticate(&http, &headers, 1).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    match value {
        Value::Array(items) => batch(&http, viewer, media, items).await,
        single => match params(single) {
            Ok(p) => one(&http, viewer, media, p, false).await,
            Err(Malformed(m)) => malformed(media, m),
        },
    }
}

/// A batch: each operation runs in turn (a mutation sees what the one before it changed) and
/// the answers come back in order, as a JSON array.
async fn batch(http: &Http, viewer: Viewer, media: Media, items: Vec<Value>) -> Response {
    let max = http.state.settings.max_batch;
    if items.is_empty() {
        return malformed(
            media,
            "the batch is empty: send at least one operation".into(),
        );
    }
    if items.len() > max {
        return malformed(
            media,
            format!(
                "a batch may carry at most {max} operations (--max-batch); this one has {}",
                items.len()
            ),
        );
    }
    let mut all = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match params(item) {
            Ok(p) => all.push(p),
            Err(Malformed(m)) => {
                return malformed(media, format!("operation {i} of the batch: {m}"));
            }
        }
    }
    // The first operation was counted by `authenticate`; the rest count too.
    if all.len() > 1
        && let Some(response) = rate_limit(http, &viewer, all.len() as u32 - 1)
    {
        return response;
    }
    let mut answers = Vec::with_capacity(all.len());
    for p in all {
        let (_, body, _) = run(http, viewer.clone(), p, false).await;
        answers.push(body);
    }
    let mut response = Json(Value::Array(answers)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// `GET /graphql`: a WebSocket upgrade (subscriptions, see `ws`), or a query in the URL
/// (`query`, `operationName`, and `variables`/`extensions` as URL-encoded JSON).
pub async fn get(State(http): State<Http>, req: Request) -> Response {
    if super::ws::is_upgrade(&req) {
        return super::ws::upgrade(http, req).await;
    }
    let Some(media) = negotiate(req.headers()) else {
        return not_acceptable();
    };
    let pairs: Vec<(String, String)> = match Query::try_from_uri(req.uri()) {
        Ok(Query(pairs)) => pairs,
        Err(e) => return malformed(media, format!("the query string is malformed: {e}")),
    };
    let mut map = Map::new();
    for (key, value) in pairs {
        let value = match key.as_str() {
            "variables" | "extensions" => match serde_json::from_str(&value) {
                Ok(v) => v,
                Err(e) => {
                    return malformed(media, format!("\"{key}\" must be URL-encoded JSON: {e}"));
                }
            },
            _ => Value::String(value),
        };
        map.insert(key, value);
    }
    let params = match params(Value::Object(map)) {
        Ok(p) => p,
        Err(Malformed(m)) => return malformed(media, m),
    };
    let viewer = match authenticate(&http, req.headers(), 1).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    one(&http, viewer, media, params, true).await
}

/// Runs one operation and answers it: 200, or for `application/graphql-response+json` 400 when
/// the request never executed (its `data` is then absent).
async fn one(http: &Http, viewer: Viewer, media: Media, params: Params, get: bool) -> Response {
    let (executed, body, extra) = run(http, viewer, params, get).await;
    let status = match (media, executed) {
        (_, Ran::Yes) | (Media::Json, Ran::No) => StatusCode::OK,
        (Media::GraphqlResponse, Ran::No) => StatusCode::BAD_REQUEST,
        (_, Ran::Refused(status)) => status,
    };
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    for (name, value) in extra.iter() {
        headers.append(name.clone(), value.clone());
    }
    response
}

/// How far a request got.
enum Ran {
    Yes,
    /// Refused by GraphQL before execution (parse, validation, variables, persisted query).
    No,
    /// Refused by the edge with this status (a mutation over GET).
    Refused(StatusCode),
}

/// Executes `params` as `viewer`: (how far it got, the response body, headers to add).
async fn run(http: &Http, viewer: Viewer, params: Params, get: bool) -> (Ran, Value, HeaderMap) {
    let refused = |code: &str, message: &str| json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let query =
        match http
            .persisted
            .resolve(viewer.org_id, params.query, params.extensions.as_ref())
        {
            Ok(Some(q)) => q,
            Ok(None) => {
                return (
                    Ran::No,
                    refused("VALIDATION", "the request has no \"query\""),
                    HeaderMap::new(),
                );
            }
            Err((code, message)) => return (Ran::No, refused(code, &message), HeaderMap::new()),
        };
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(vars) = params.variables {
        request = request.variables(async_graphql::Variables::from_json(Value::Object(vars)));
    }
    if get && is_mutation(&request) {
        return (
            Ran::Refused(StatusCode::METHOD_NOT_ALLOWED),
            refused(
                "VALIDATION",
                "mutations and subscriptions are not allowed over GET; use POST",
            ),
            HeaderMap::new(),
        );
    }
    let executed = Executed::default();
    let request = request.data(executed.clone());
    let response = crate::graphql::execute_as(&http.schema, &http.state, viewer, request).await;
    let mut extra = response.http_headers.clone();
    if let Some(cache) = response.cache_control.value()
        && let Ok(v) = HeaderValue::from_str(&cache)
    {
        extra.insert(header::CACHE_CONTROL, v);
    }
    let mut body = serde_json::to_value(&response).unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not serialize a response");
        refused("INTERNAL", "internal error")
    });
    let ran = if executed.get() { Ran::Yes } else { Ran::No };
    if matches!(ran, Ran::No)
        && let Some(map) = body.as_object_mut()
    {
        // The request never executed: the spec says `data` is then absent, not null.
        map.remove("data");
    }
    (ran, body, extra)
}

/// Whether the operation to run is a mutation or a subscription (GET must be safe to repeat).
fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let op = match &request.operation_name {
        Some(name) => doc
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name.as_str()))
            .map(|(_, o)| o.node.ty),
        None => doc.operations.iter().next().map(|(_, o)| o.node.ty),
    };
    matches!(
        op,
        Some(OperationType::Mutation | OperationType::Subscription)
    )
}

/// The viewer of a request, its first operation counted against the rate limit.
async fn authenticate(http: &Http, headers: &HeaderMap, n: u32) -> Result<Viewer, Response> {
    let viewer = viewer_from_headers(http, headers)
        .await
        .map_err(|e| unauthenticated(&e))?;
    match rate_limit(http, &viewer, n) {
        Some(refused) => Err(refused),
        None => Ok(viewer),
    }
}

/// Counts `n` operations of `viewer` against the rate limit: the 429 answer when over it.
fn rate_limit(http: &Http, viewer: &Viewer, n: u32) -> Option<Response> {
    let limiter = http.state.limiter.as_ref()?;
    let n = std::num::NonZeroU32::new(n)?;
    if matches!(
        limiter.check_key_n(&(viewer.org_id, viewer.user_id), n),
        Ok(Ok(()))
    ) {
        return None;
    }
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "rate limited: too many requests for this token; retry shortly",
        "RATE_LIMITED",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    Some(response)
}

/// A malformed request: 400 with a GraphQL-shaped VALIDATION error and no `data`.
fn malformed(media: Media, message: String) -> Response {
    let mut response = error_response(StatusCode::BAD_REQUEST, &message, "VALIDATION");
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

fn not_acceptable() -> Response {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        "this endpoint answers application/graphql-response+json or application/json; say so in Accept",
        "VALIDATION",
    )
}
