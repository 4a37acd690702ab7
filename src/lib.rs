//! skillgraph: a GraphQL API that keeps a company's training in step with its org chart.
//!
//! The library holds everything; the `skillgraph` binary only parses the command line and calls
//! in. `graphql::build_schema` needs no database, `http::router` serves a ready `AppState`.

pub mod clock;
mod connections;
pub mod db;
pub mod demo;
pub mod error;
pub mod graphql;
pub mod http;
pub mod jwt;
pub mod measure;
pub mod service;
pub mod state;
pub mod telemetry;

use std::sync::Arc;

use migration::{Migrator, MigratorTrait};

use crate::clock::Clock;
use crate::error::{AppError, AppResult};
use crate::jwt::JwtKeys;
use crate::state::{AppState, Settings};

pub use graphql::{build_schema, sdl};
pub use http::router as app;

/// Applies every pending migration.
pub async fn migrate(db: &db::Db) -> AppResult<()> {
    Migrator::up(&db.write, None)
        .await
        .map_err(|e| AppError::internal(format!("migration failed: {e}")))
}

/// Connects, migrates and assembles the state a server (or a test) runs on.
pub async fn build_state(
    database_url: &str,
    jwt: JwtKeys,
    clock: Arc<dyn Clock>,
    settings: Settings,
) -> AppResult<AppState> {
    measure::init();
    let db = db::connect(database_url).await?;
    migrate(&db).await?;
    let events = service::events::EventBus::new(db.read.clone(), Default::default());
    Ok(AppState {
        env: service::unit::Env { db, clock, events },
        jwt,
        limiter: state::limiter(&settings),
        settings: Arc::new(settings),
        ws_connections: Default::default(),
        ws_operations: Default::default(),
    })
}

/// Serves `state` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state
        .db
        .spawn_checkpoint_loop(std::time::Duration::from_secs(1));
    if state.settings.tick_seconds > 0 {
        // The first tick runs at once: it catches up on whatever fell due while the server was down.
        service::compliance::scheduler::spawn(
            state.env.clone(),
            std::time::Duration::from_secs(state.settings.tick_seconds),
        );
    }
    service::events::retention::spawn_prune_loop(
        &state,
        state.settings.event_retention_days,
        std::time::Duration::from_secs(3600),
    );
    let events = state.events.clone();
    let settings = state.settings.clone();
    let router = app(state);
    let limits = connections::Limits {
        max: settings.max_connections,
        per_ip: settings.max_connections_per_ip,
        header_timeout: std::time::Duration::from_secs(settings.header_timeout_secs.max(1)),
    };
    let shutdown = async move {
        shutdown.await;
        // Live subscriptions end with a "resume from your cursor" error instead of hanging.
        events.close();
    };
    connections::serve(listener, router, limits, shutdown).await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
