//! The write transaction every mutation runs in. Its first statement bumps the organization's
//! write counter: on PostgreSQL that row lock serializes the organization's writers (so the
//! engine never races itself and events commit in sequence order); on SQLite it takes the write
//! lock up front, so a transaction never has to upgrade a read snapshot and fail with BUSY.

use sea_orm::{DatabaseTransaction, TransactionTrait};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::vals;

pub async fn begin(state: &AppState, org_id: Uuid) -> AppResult<DatabaseTransaction> {
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
    Ok(tx)
}
