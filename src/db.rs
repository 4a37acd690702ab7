//! Connecting to the database. SQLite (the embedded default) gets WAL, foreign keys, a busy
//! timeout and a pool split in two: one writer connection (SQLite allows one writer at a time,
//! so writers queue in-process instead of spinning on SQLITE_BUSY) and several readers that run
//! beside it. PostgreSQL gets one pool for both.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, SqlxSqliteConnector,
};

use crate::error::AppError;

/// The database handles of one server: `read` for queries, `write` for transactions that change
/// data. On PostgreSQL both are the same pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: DatabaseConnection,
    pub write: DatabaseConnection,
    pub backend: DbBackend,
}

/// The default database: `skillgraph.db` in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://skillgraph.db";

/// Normalises what a user may pass as `--database`: a `sqlite:` or `postgres://` URL, or a plain
/// file path (taken as SQLite).
pub fn normalize_url(url: &str) -> String {
    if url.starts_with("postgres://")
        || url.starts_with("postgresql://")
        || url.starts_with("sqlite:")
    {
        url.to_string()
    } else {
        format!("sqlite://{url}")
    }
}

pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

pub async fn connect(url: &str) -> Result<Db, AppError> {
    let url = normalize_url(url);
    if is_postgres(&url) {
        let mut opts = ConnectOptions::new(url);
        opts.max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        let conn = Database::connect(opts).await.map_err(AppError::from)?;
        return Ok(Db {
            read: conn.clone(),
            write: conn,
            backend: DbBackend::Postgres,
        });
    }
    let base = SqliteConnectOptions::from_str(&url)
        .map_err(|e| AppError::internal(format!("bad SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("cache_size", "-32000")
        .pragma("temp_store", "MEMORY");
    // The writer never checkpoints on commit: a background task does it (see `checkpoint_loop`),
    // which keeps WAL checkpoints off the request path.
    let writer_opts = base.clone().pragma("wal_autocheckpoint", "0");
    let write_pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(writer_opts)
        .await
        .map_err(|e| AppError::internal(format!("cannot open SQLite database: {e}")))?;
    let readers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8) as u32
        * 2;
    let read_pool = SqlitePoolOptions::new()
        .max_connections(readers)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(base)
        .await
        .map_err(|e| AppError::internal(format!("cannot open SQLite database: {e}")))?;
    Ok(Db {
        read: SqlxSqliteConnector::from_sqlx_sqlite_pool(read_pool),
        write: SqlxSqliteConnector::from_sqlx_sqlite_pool(write_pool),
        backend: DbBackend::Sqlite,
    })
}

impl Db {
    pub fn is_postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> bool {
        self.read.execute_unprepared("SELECT 1").await.is_ok()
    }

    /// Copies the SQLite WAL back into the database file, without blocking readers or the
    /// writer. No-op on PostgreSQL.
    pub async fn checkpoint(&self) {
        if self.backend == DbBackend::Sqlite
            && let Err(e) = self
                .read
                .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
                .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }

    /// Runs `checkpoint` every `every` until the process ends.
    pub fn spawn_checkpoint_loop(&self, every: Duration) {
        if self.backend != DbBackend::Sqlite {
            return;
        }
        let db = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                db.checkpoint().await;
            }
        });
    }
}
