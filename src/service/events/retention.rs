//! Retention: assignment events older than the configured number of days are pruned, and each
//! organization remembers how far, so a cursor from before that point must resync.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::sql;
use crate::service::unit::{self, Env};
use crate::vals;

/// Deletes every event older than `retention_days` (by the state's clock) and records, per
/// organization, how far pruning went. Returns how many events were deleted. Safe with several
/// instances: a second pruner waits for the first and then finds less to do.
pub async fn prune(env: &Env, retention_days: u32) -> AppResult<u64> {
    let cutoff = env.now_micros() - i64::from(retention_days) * 86_400_000_000;
    let now = env.now_micros();
    unit::housekeeping(env, async |tx| prune_in(tx, cutoff, now).await).await
}

async fn prune_in(tx: &sea_orm::DatabaseTransaction, cutoff: i64, now: i64) -> AppResult<u64> {
    let horizons: Vec<(Uuid, i64)> = {
        let rows = tx
            .query_all_raw(sql::stmt(
                tx,
                "SELECT org_id, MAX(seq) FROM assignment_events WHERE at < $1 GROUP BY org_id",
                vals![cutoff],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
            .collect::<AppResult<_>>()?
    };
    if horizons.is_empty() {
        return Ok(0);
    }
    sql::exec(
        tx,
        "INSERT INTO assignment_event_prune_permits (id) VALUES (1)",
        vec![],
    )
    .await?;
    let mut deleted = 0;
    for (org_id, through) in horizons {
        deleted += sql::exec(
            tx,
            "DELETE FROM assignment_events WHERE org_id = $1 AND seq <= $2",
            vals![org_id, through],
        )
        .await?;
        sql::exec(
            tx,
            "INSERT INTO assignment_event_horizons (org_id, pruned_through, pruned_at) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id) DO UPDATE SET pruned_through = excluded.pruned_through, pruned_at = excluded.pruned_at",
            vals![org_id, through, now],
        )
        .await?;
    }
    sql::exec(tx, "DELETE FROM assignment_event_prune_permits", vec![]).await?;
    Ok(deleted)
}

/// Prunes every `every` (when the retention is not 0) until the process ends.
pub fn spawn_prune_loop(env: &Env, days: u32, every: std::time::Duration) {
    if days == 0 {
        return;
    }
    let env = env.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match prune(&env, days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, days, "pruned old assignment events"),
                Err(e) => tracing::warn!(error = %e.message(), "pruning assignment events failed"),
            }
        }
    });
}
