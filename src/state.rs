//! The state shared by every request: what services need (`Env`: database handles, the clock,
//! the live bus), token keys, settings and the edge's limits.

use std::sync::Arc;

use crate::jwt::JwtKeys;
use crate::service::unit::Env;

#[derive(Clone)]
pub struct AppState {
    /// What services are given. `AppState` dereferences to it, so `&state` is an `&Env`.
    pub env: Env,
    pub jwt: JwtKeys,
    pub settings: Arc<Settings>,
    /// Requests per second per user (the identity behind a token); None when unlimited.
    pub limiter: Option<Arc<Limiter>>,
    /// Open WebSocket connections per user, bounded by `Settings::max_ws_connections`.
    pub ws_connections: Arc<WsConnections>,
    /// Operations (subscriptions above all) running over WebSockets per user, across all their
    /// connections, bounded by `Settings::max_subscriptions_per_user`.
    pub ws_operations: Arc<WsConnections>,
}

/// Open WebSocket connections per identity (organization, user): each authenticated connection
/// holds a `WsSlot` for its lifetime, and no identity holds more than the configured number.
#[derive(Debug, Default)]
pub struct WsConnections {
    open: std::sync::Mutex<std::collections::HashMap<(uuid::Uuid, uuid::Uuid), usize>>,
}

impl WsConnections {
    /// A slot for one more connection of `key`, or None when it already holds `limit` of them
    /// (0 = no limit).
    pub fn acquire(
        self: &Arc<Self>,
        key: (uuid::Uuid, uuid::Uuid),
        limit: usize,
    ) -> Option<WsSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key).or_insert(0);
        if limit > 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(WsSlot {
            owner: self.clone(),
            key,
        })
    }

    /// Connections `key` holds now.
    pub fn open(&self, key: (uuid::Uuid, uuid::Uuid)) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&key).copied().unwrap_or(0)
    }
}

/// One open WebSocket connection; dropping it frees the slot.
#[derive(Debug)]
pub struct WsSlot {
    owner: Arc<WsConnections>,
    key: (uuid::Uuid, uuid::Uuid),
}

impl Drop for WsSlot {
    fn drop(&mut self) {
        let mut open = self.owner.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// A per-identity token bucket: (organization, user) → allowance.
pub type Limiter = governor::DefaultKeyedRateLimiter<(uuid::Uuid, uuid::Uuid)>;

/// The limiter `settings` ask for.
pub fn limiter(settings: &Settings) -> Option<Arc<Limiter>> {
    let per_second = std::num::NonZeroU32::new(settings.rate_limit_per_second)?;
    let burst = std::num::NonZeroU32::new(
        settings
            .rate_limit_burst
            .max(settings.rate_limit_per_second),
    )?;
    let quota = governor::Quota::per_second(per_second).allow_burst(burst);
    Some(Arc::new(governor::RateLimiter::keyed(quota)))
}

/// Tunables of a running server (from flags and `SKILLGRAPH_*` variables).
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_page_size: usize,
    /// Bytes of one GraphQL document (the `query` text; variables are bounded by the body).
    pub max_document_bytes: usize,
    /// Items of any one list in a request's inputs (arguments and variables).
    pub max_list_items: usize,
    /// Characters of any one text input (a CSV file excepted: the body limit bounds it).
    pub max_text_chars: usize,
    /// Directives on one field.
    pub max_directives: usize,
    pub request_timeout_secs: u64,
    pub max_body_bytes: usize,
    /// In demo mode GraphiQL opens with this token in its headers pane.
    pub demo_token: Option<String>,
    /// Seconds between scheduler ticks (unlocks, overdue, renewals, expiry); 0 turns it off.
    pub tick_seconds: u64,
    /// Sustained requests per second per user; 0 turns the limit off.
    pub rate_limit_per_second: u32,
    /// Requests a user may send at once before the sustained rate applies.
    pub rate_limit_burst: u32,
    /// Whether `__schema`/`__type` introspection is served.
    pub introspection: bool,
    /// WebSocket connections one user (the identity behind a token) may hold open at once; 0
    /// turns the limit off.
    pub max_ws_connections: usize,
    /// Operations (subscriptions) one WebSocket connection may run at once; 0: no limit.
    pub max_subscriptions_per_connection: usize,
    /// Operations one user may run at once over all their WebSocket connections; 0: no limit.
    pub max_subscriptions_per_user: usize,
    /// Open HTTP connections the server holds at once (one more is answered 503 and closed);
    /// 0: no limit.
    pub max_connections: usize,
    /// Open HTTP connections one client address holds at once; 0: no limit.
    pub max_connections_per_ip: usize,
    /// Seconds a connection may take to send a request's headers, and may stay idle between
    /// keep-alive requests.
    pub header_timeout_secs: u64,
    /// Seconds a WebSocket may stay open without a `connection_init` (then closed with 4408).
    pub ws_init_timeout_secs: u64,
    /// Assignment events older than this many days are pruned (0 keeps them for ever).
    pub event_retention_days: u32,
    /// The bearer token `/metrics` requires; None: `/metrics` is open.
    pub metrics_token: Option<String>,
    /// Origins a browser app may call the API from (CORS); empty turns CORS off, `*` allows any.
    pub cors_origins: Vec<String>,
    /// Operations one batched request (a JSON array) may carry.
    pub max_batch: usize,
    /// Documents the automatic persisted-query cache keeps per server (least recently used go).
    pub persisted_queries: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_depth: 15,
            max_complexity: 10_000,
            max_page_size: 500,
            max_document_bytes: 100_000,
            max_list_items: 500,
            max_text_chars: 10_000,
            max_directives: 10,
            request_timeout_secs: 30,
            max_body_bytes: 8 * 1024 * 1024,
            demo_token: None,
            tick_seconds: 60,
            rate_limit_per_second: 0,
            rate_limit_burst: 0,
            introspection: true,
            max_ws_connections: 0,
            max_subscriptions_per_connection: 50,
            max_subscriptions_per_user: 200,
            ws_init_timeout_secs: 5,
            max_connections: 10_000,
            max_connections_per_ip: 0,
            header_timeout_secs: 10,
            event_retention_days: 90,
            metrics_token: None,
            cors_origins: Vec::new(),
            max_batch: 10,
            persisted_queries: 1000,
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Env;

    fn deref(&self) -> &Env {
        &self.env
    }
}
