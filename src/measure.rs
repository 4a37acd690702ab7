//! What the server measures, served at `/metrics` in the Prometheus text format (the `metrics`
//! facade with `metrics-exporter-prometheus` as its recorder). One recorder per process,
//! installed on first use; every name is prefixed `skillgraph_`.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `skillgraph_http_requests_total` | counter | `route`, `status` |
//! | `skillgraph_http_request_duration_seconds` | histogram | `route` |
//! | `skillgraph_graphql_requests_total` | counter | `outcome` (`ok` or the first error's code) |
//! | `skillgraph_graphql_request_duration_seconds` | histogram | — |
//! | `skillgraph_graphql_operations_total` | counter | `operation` (top-level field), `outcome` |
//! | `skillgraph_graphql_operation_duration_seconds` | histogram | `operation` |
//! | `skillgraph_units_total` | counter | `outcome` (`committed`, `rolled_back`, `failed`) |
//! | `skillgraph_unit_duration_seconds` | histogram | — |
//! | `skillgraph_reconcile_duration_seconds` | histogram | `scope` (`users`, `members`, `all`) |
//! | `skillgraph_reconcile_users` | histogram | `scope`: how many people a reconcile looked at |
//! | `skillgraph_reconcile_changes` | histogram | `scope`: assignments created + withdrawn |
//! | `skillgraph_event_bus_lag_seconds` | histogram | — : commit of an event → its publication |
//! | `skillgraph_event_bus_feeds` | gauge | — : organizations with live subscribers |
//! | `skillgraph_subscriptions` | gauge | — : open `assignmentEvents` streams |
//! | `skillgraph_scheduler_ticks_total` | counter | `outcome` (`ok`, `failed`) |
//! | `skillgraph_scheduler_tick_duration_seconds` | histogram | — |
//! | `skillgraph_scheduler_transitions_total` | counter | — : due transitions applied |
//! | `skillgraph_db_connections` | gauge | `pool` (`read`, `write`), `state` (`idle`, `in_use`) |
//!
//! Label values come from the schema, the router or fixed lists, never from a client's text,
//! so the number of series stays bounded.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::db::Db;

/// Latency buckets, in seconds: 1 ms to 30 s.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Size buckets: 1 to a million.
const SIZES: &[f64] = &[1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use (None when another recorder was installed
/// first, as an embedding program may do).
fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_users".into()), SIZES))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_changes".into()), SIZES));
            match builder.and_then(|b| b.install_recorder()) {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are off: no recorder could be installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Installs the recorder (at start, so that the first requests are counted).
pub fn init() {
    let _ = handle();
}

/// The metrics in the Prometheus text format, with the pool gauges sampled now.
pub fn render(db: &Db) -> String {
    let Some(handle) = handle() else {
        return String::new();
    };
    for (pool, conn) in [("read", &db.read), ("write", &db.write)] {
        if let Some((size, idle)) = pool_use(conn) {
            gauge!("skillgraph_db_connections", "pool" => pool, "state" => "idle").set(idle);
            gauge!("skillgraph_db_connections", "pool" => pool, "state" => "in_use")
                .set(size - idle);
        }
    }
    handle.run_upkeep();
    handle.render()
}

/// (open connections, idle connections) of a pool.
fn pool_use(conn: &sea_orm::DatabaseConnection) -> Option<(f64, f64)> {
    match conn.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            let p = conn.get_sqlite_connection_pool();
            Some((f64::from(p.size()), p.num_idle() as f64))
        }
        sea_orm::DbBackend::Postgres => {
            let p = conn.get_postgres_connection_pool();
            Some((f64::from(p.size()), p.num_idle() as f64))
        }
        _ => None,
    }
}

pub fn http_request(route: String, status: u16, took: Duration) {
    counter!("skillgraph_http_requests_total", "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    histogram!("skillgraph_http_request_duration_seconds", "route" => route)
        .record(took.as_secs_f64());
}

pub fn graphql_request(outcome: String, took: Duration) {
    counter!("skillgraph_graphql_requests_total", "outcome" => outcome).increment(1);
    histogram!("skillgraph_graphql_request_duration_seconds").record(took.as_secs_f64());
}

pub fn graphql_operation(operation: String, outcome: String, took: Duration) {
    counter!("skillgraph_graphql_operations_total", "operation" => operation.clone(), "outcome" => outcome)
        .increment(1);
    histogram!("skillgraph_graphql_operation_duration_seconds", "operation" => operation)
        .record(took.as_secs_f64());
}

pub fn unit(outcome: &'static str, took: Duration) {
    counter!("skillgraph_units_total", "outcome" => outcome).increment(1);
    histogram!("skillgraph_unit_duration_seconds").record(took.as_secs_f64());
}

pub fn reconcile(scope: &'static str, users: Option<usize>, changes: usize, took: Duration) {
    histogram!("skillgraph_reconcile_duration_seconds", "scope" => scope)
        .record(took.as_secs_f64());
    if let Some(users) = users {
        histogram!("skillgraph_reconcile_users", "scope" => scope).record(users as f64);
    }
    histogram!("skillgraph_reconcile_changes", "scope" => scope).record(changes as f64);
}

pub fn event_bus_lag(lag: Duration) {
    histogram!("skillgraph_event_bus_lag_seconds").record(lag.as_secs_f64());
}

pub fn event_bus_feeds(feeds: usize) {
    gauge!("skillgraph_event_bus_feeds").set(feeds as f64);
}

/// One more (or, with `-1.0`, one fewer) open subscription.
pub fn subscriptions(delta: f64) {
    gauge!("skillgraph_subscriptions").increment(delta);
}

pub fn scheduler_tick(ok: bool, transitions: u64, took: Duration) {
    let outcome = if ok { "ok" } else { "failed" };
    counter!("skillgraph_scheduler_ticks_total", "outcome" => outcome).increment(1);
    histogram!("skillgraph_scheduler_tick_duration_seconds").record(took.as_secs_f64());
    counter!("skillgraph_scheduler_transitions_total").increment(transitions);
}
