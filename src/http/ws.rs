//! GraphQL over WebSocket at `/graphql`: the `graphql-transport-ws` protocol and the legacy
//! `graphql-ws` (subscriptions-transport-ws) one, picked from the client's
//! `Sec-WebSocket-Protocol`.
//!
//! Authentication: the `Authorization: Bearer …` header of the upgrade request (refused with
//! 401 when present but invalid), or the `connection_init` payload — `{"Authorization": "Bearer
//! …"}` (any case) or `{"authToken": "…"}` — which wins when both are given. A connection that
//! cannot authenticate is closed with code 4401; one whose user already holds
//! `--max-ws-connections` open connections is closed with code 4429; one that sends no
//! `connection_init` within `--ws-init-timeout` seconds is closed with 4408; a `subscribe`
//! reusing the id of a running operation closes the connection with 4409 (as
//! graphql-transport-ws says).
//!
//! After `connection_init`, every operation re-checks the connection's authority (see
//! `service::session`) and passes the rate limiter and the operation limits (see
//! `graphql::CodedSchema`).
//!
//! Built on axum's `WebSocketUpgrade` with a 4 KiB read buffer (async-graphql-axum's
//! `GraphQLSubscription` takes tungstenite's 128 KiB default per connection: 1.4 GB at 10,000
//! subscribers) and writes that go out frame by frame.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use axum::extract::FromRequestParts;
use axum::extract::Request;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt, future};
use serde_json::Value;

use super::Http;
use super::reply::{error_response, unauthenticated, viewer_from_headers};
use crate::error::AppError;
use crate::graphql::{CodedSchema, connection_data};
use crate::http::auth;
use crate::service::session::Session;
use crate::service::viewer::Viewer;
use crate::state::{AppState, WsSlot};

/// The close code for a connection that did not authenticate.
pub const UNAUTHORIZED: u16 = 4401;

/// The close code for a connection refused because its user already holds the most WebSocket
/// connections allowed (`--max-ws-connections`).
pub const TOO_MANY_CONNECTIONS: u16 = 4429;

/// The close code for a connection that sent no `connection_init` in time.
pub const INIT_TIMEOUT: u16 = 4408;

/// The close code for a `subscribe` whose id is already running.
pub const DUPLICATE_ID: u16 = 4409;

/// Whether a request asks to upgrade to a WebSocket.
pub fn is_upgrade(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

pub async fn upgrade(http: Http, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let protocol = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "a WebSocket to /graphql must offer the graphql-transport-ws (or legacy graphql-ws) subprotocol",
            "VALIDATION",
        );
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let from_header = if parts.headers.contains_key(header::AUTHORIZATION) {
        match viewer_from_headers(&http, &parts.headers).await {
            Ok(viewer) => {
                let exp = parts
                    .headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(auth::bearer)
                    .and_then(|t| http.state.jwt.verify(t).ok())
                    .map(|c| c.exp);
                Some((viewer, exp))
            }
            Err(e) => return unauthenticated(&e),
        }
    } else {
        None
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(1 << 20)
        .on_upgrade(move |socket| serve(http, socket, protocol, from_header))
}

async fn serve(
    http: Http,
    socket: WebSocket,
    protocol: WebSocketProtocols,
    from_header: Option<(Viewer, Option<i64>)>,
) {
    let (mut sink, stream) = socket.split();
    // The ids of the operations running on this connection (for duplicate ids), and the close
    // the input side asks for.
    let guard = Arc::new(std::sync::Mutex::new(Guard::default()));
    let input_guard = guard.clone();
    let input = stream
        .take_while(|m| future::ready(m.is_ok()))
        .filter_map(|m| {
            future::ready(match m {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => Some(m.into_data()),
                _ => None,
            })
        })
        .take_while(move |data| {
            let go = lock(&input_guard).inspect(data);
            future::ready(go)
        });
    let refused = Arc::new(AtomicBool::new(false));
    // Set when the user already holds the most WebSocket connections allowed (close code 4429).
    let crowded = Arc::new(AtomicBool::new(false));
    // The connection's slot among its user's connections, held until `serve` returns.
    let slot: Arc<std::sync::Mutex<Option<WsSlot>>> = Arc::default();
    let state = http.state.clone();
    let refused_in_init = refused.clone();
    let crowded_in_init = crowded.clone();
    let slot_in_init = slot.clone();
    let on_init = move |payload: Value| async move {
        let admitted = match authenticate(&state, from_header, &payload).await {
            Ok((data, key)) => {
                let limit = state.settings.max_ws_connections;
                match state.ws_connections.acquire(key, limit) {
                    Some(s) => {
                        *slot_in_init.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
                        Ok(data)
                    }
                    None => {
                        crowded_in_init.store(true, Ordering::SeqCst);
                        Err(AppError::RateLimited(format!(
                            "this user already holds {limit} WebSocket connections, the most allowed"
                        )))
                    }
                }
            }
            Err(e) => Err(e),
        };
        match admitted {
            Ok(data) => Ok(data),
            Err(e) => {
                refused_in_init.store(true, Ordering::SeqCst);
                let message = match e {
                    AppError::Internal(cause) => {
                        tracing::error!(error = %cause, "WebSocket authentication failed");
                        "internal error".to_string()
                    }
                    other => other.message(),
                };
                Err(async_graphql::Error::new(message))
            }
        }
    };
    let messages =
        async_graphql::http::WebSocket::new(CodedSchema(http.schema.clone()), input, protocol)
            .on_connection_init(on_init);
    futures_util::pin_mut!(messages);
    let mut closed = false;
    let init_deadline = tokio::time::Instant::now()
        + std::time::Duration::from_secs(http.state.settings.ws_init_timeout_secs.max(1));
    loop {
        let waiting_for_init = !lock(&guard).initialised;
        let message = tokio::select! {
            m = messages.next() => m,
            _ = tokio::time::sleep_until(init_deadline), if waiting_for_init => {
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: INIT_TIMEOUT,
                        reason: "Connection initialisation timeout".into(),
                    })))
                    .await;
                return;
            }
        };
        let Some(message) = message else { break };
        let message = match message {
            WsMessage::Text(text) => {
                lock(&guard).sent(&text);
                Message::Text(text.into())
            }
            WsMessage::Close(code, reason) => {
                // A refused connection_init, or an operation before it: 4401 Unauthorized.
                let unauthorized = refused.load(Ordering::SeqCst)
                    || (code == 1011 && reason.contains("handshake"));
                let code = if crowded.load(Ordering::SeqCst) {
                    TOO_MANY_CONNECTIONS
                } else if unauthorized {
                    UNAUTHORIZED
                } else {
                    code
                };
                closed = true;
                Message::Close(Some(CloseFrame {
                    code,
                    reason: close_reason(&reason).into(),
                }))
            }
        };
        if sink.send(message).await.is_err() {
            return;
        }
    }
    let asked = lock(&guard).close.take();
    if let Some((code, reason)) = asked
        && !closed
    {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: close_reason(&reason).into(),
            })))
            .await;
        return;
    }
    if refused.load(Ordering::SeqCst) && !closed {
        // The legacy protocol reports the refusal as a `connection_error` message; close after it.
        let (code, reason) = if crowded.load(Ordering::SeqCst) {
            (TOO_MANY_CONNECTIONS, "Too many connections")
        } else {
            (UNAUTHORIZED, "Unauthorized")
        };
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
    drop(slot);
}

/// A close frame's reason is at most 123 bytes.
fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}

/// The viewer of a connection: a token in the `connection_init` payload, else the upgrade
/// request's header.
async fn authenticate(
    state: &AppState,
    from_header: Option<(Viewer, Option<i64>)>,
    payload: &Value,
) -> Result<(async_graphql::Data, (uuid::Uuid, uuid::Uuid)), AppError> {
    let (viewer, exp) = match token_in(payload)? {
        Some(token) => {
            let viewer = auth::authenticate(state, &token).await?;
            (viewer, state.jwt.verify(&token).ok().map(|c| c.exp))
        }
        None => from_header.ok_or_else(|| {
            AppError::Unauthenticated(
                "a bearer token is required: connection_init payload {\"Authorization\": \"Bearer <jwt>\"}"
                    .into(),
            )
        })?,
    };
    let key = (viewer.org_id, viewer.user_id);
    let data = connection_data(state, Session::new(viewer, exp));
    Ok((data, key))
}

/// The token of a `connection_init` payload: `Authorization` (any case, `Bearer <jwt>`), or
/// `authToken`/`token` (the bare JWT, or `Bearer <jwt>`); also inside a `headers` object.
fn token_in(payload: &Value) -> Result<Option<String>, AppError> {
    let Some(map) = payload.as_object() else {
        return Ok(None);
    };
    if let Some(headers) = map.get("headers").filter(|h| h.is_object())
        && let Some(token) = token_in(headers)?
    {
        return Ok(Some(token));
    }
    for (key, value) in map {
        let key = key.to_ascii_lowercase();
        if !["authorization", "authtoken", "token"].contains(&key.as_str()) {
            continue;
        }
        let Some(value) = value.as_str() else {
            return Err(AppError::Unauthenticated(format!(
                "the {key} of connection_init must be a string"
            )));
        };
        let token = match auth::bearer(value) {
            Some(t) => t.to_string(),
            None if key == "authorization" => {
                return Err(AppError::Unauthenticated(
                    "the Authorization of connection_init must be 'Bearer <jwt>'".into(),
                ));
            }
            None => value.trim().to_string(),
        };
        return Ok(Some(token));
    }
    Ok(None)
}

fn lock(guard: &std::sync::Mutex<Guard>) -> std::sync::MutexGuard<'_, Guard> {
    guard.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the connection's traffic tells: whether `connection_init` came, which operation ids
/// run, and the close the client's messages call for.
#[derive(Default)]
struct Guard {
    initialised: bool,
    running: std::collections::HashSet<String>,
    close: Option<(u16, String)>,
}

/// The parts of a protocol message the guard reads.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
}

impl Guard {
    /// Looks at one client message; false ends the input (the connection closes with `close`).
    fn inspect(&mut self, data: &[u8]) -> bool {
        let Ok(msg) = serde_json::from_slice::<Envelope>(data) else {
            return true; // the protocol handler answers malformed messages
        };
        match (msg.kind.as_str(), msg.id) {
            ("connection_init", _) => self.initialised = true,
            ("subscribe" | "start", Some(id)) => {
                if self.running.contains(&id) {
                    self.close =
                        Some((DUPLICATE_ID, format!("Subscriber for {id} already exists")));
                    return false;
                }
                self.running.insert(id);
            }
            ("complete" | "stop", Some(id)) => {
                self.running.remove(&id);
            }
            _ => {}
        }
        true
    }

    /// Looks at one server message: a `complete` frees its id.
    fn sent(&mut self, text: &str) {
        if text.starts_with("{\"type\":\"complete\"")
            && let Ok(msg) = serde_json::from_str::<Envelope>(text)
            && let Some(id) = msg.id
        {
            self.running.remove(&id);
        }
    }
}
