//! The state shared by every request: database handles, the clock, token keys and settings.

use std::sync::Arc;

use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::db::Db;
use crate::service::events::EventBus;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub jwt: JwtKeys,
    pub settings: Arc<Settings>,
    /// Wakes live event subscribers after commits.
    pub events: Arc<EventBus>,
}

/// Tunables of a running server (from flags and `SKILLGRAPH_*` variables).
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_page_size: usize,
    pub request_timeout_secs: u64,
    pub max_body_bytes: usize,
    /// In demo mode GraphiQL opens with this token in its headers pane.
    pub demo_token: Option<String>,
    /// Assignment events older than this many days are pruned (0 keeps them for ever).
    pub event_retention_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_depth: 15,
            max_complexity: 10_000,
            max_page_size: 500,
            request_timeout_secs: 30,
            max_body_bytes: 8 * 1024 * 1024,
            demo_token: None,
            event_retention_days: 90,
        }
    }
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
