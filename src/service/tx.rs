//! The write transaction every mutation runs in. Its first statement bumps the organization's
//! write counter: on PostgreSQL that row lock serializes the organization's writers (so the
//! engine never races itself and events commit in sequence order); on SQLite it takes the write
//! lock up front, so a transaction never has to upgrade a read snapshot and fail with BUSY.
//!
//! `WriteTx::commit` is the one place a mutation's changes become visible, so it is also where
//! the organization's live event subscribers are woken — after the commit, never before.

use std::sync::Arc;

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
    TransactionTrait,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::events::EventBus;
use crate::state::AppState;
use crate::vals;

/// A mutation's transaction: a `DatabaseTransaction` (it implements `ConnectionTrait`) that
/// wakes the organization's event subscribers when it commits.
pub struct WriteTx {
    tx: DatabaseTransaction,
    org_id: Uuid,
    events: Arc<EventBus>,
}

pub async fn begin(state: &AppState, org_id: Uuid) -> AppResult<WriteTx> {
    let tx = state.db.write.begin().await?;
    let touched = super::sql::exec(
        &tx,
        "UPDATE organizations SET write_seq = write_seq + 1 WHERE id = $1",
        vals![org_id],
    )
    .await?;
    if touched == 0 {
        return Err(AppError::Unauthenticated(
            "the token's organization does not exist".into(),
        ));
    }
    Ok(WriteTx {
        tx,
        org_id,
        events: state.events.clone(),
    })
}

impl WriteTx {
    /// Commits, then tells the live bus that the organization's event log may have grown.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.tx.commit().await?;
        self.events.notify(self.org_id);
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DbBackend {
        self.tx.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tx.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tx.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tx.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tx.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.tx.support_returning()
    }
}
