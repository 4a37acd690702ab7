//! The scheduler: applies every transition whose time has come — LOCKED → ASSIGNED at the unlock
//! time once every prerequisite is completed (`UNLOCKED`), an `OVERDUE` event when the due time passes incomplete, COMPLETED → EXPIRED
//! at expiry (`EXPIRED`), and a new cycle when a renewal window opens (`RENEWAL_OPENED`, through
//! the engine, so only courses still required renew). Each step selects only what is due and
//! not yet done, so a tick is idempotent and catches up after downtime; on PostgreSQL an advisory
//! lock lets one instance tick an organization at a time.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::json;
use uuid::Uuid;

use super::progress::write_seq;
use crate::error::AppResult;
use crate::service::audit::{self, Action, Actor};
use crate::service::engine::{self, Ctx, OPEN_STATUSES, Scope};
use crate::service::sql::{self, Q};
use crate::service::{now_micros, tx};
use crate::state::AppState;

/// What one tick did in one organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub unlocked: u64,
    pub overdue: u64,
    pub expired: u64,
    pub renewals_opened: u64,
}

impl Applied {
    pub fn is_empty(&self) -> bool {
        *self == Applied::default()
    }
}

/// `column = $n` for an optional single user.
fn user_filter(q: &mut Q, user: Option<Uuid>) -> String {
    match user {
        Some(u) => format!(" AND user_id = {}", q.bind(u)),
        None => String::new(),
    }
}

/// Applies the due transitions of one organization (of one user when given) at `now`, inside
/// the caller's transaction.
pub async fn advance_in(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    now: i64,
    actor: &Actor,
    user: Option<Uuid>,
) -> AppResult<Applied> {
    let seq = write_seq(conn, org_id).await?;
    let mut applied = Applied::default();
    let events = |kind: &str, condition: &str| {
        format!(
            "INSERT INTO assignment_events (org_id, tx_seq, at, kind, assignment_id, user_id, course_id) \
             SELECT org_id, $1, $2, '{kind}', id, user_id, course_id FROM assignments WHERE {condition} ORDER BY user_id, course_id"
        )
    };

    // Unlocks: the unlock date has come and every prerequisite is completed. For one user
    // (after a completion) also those locked by prerequisites alone, with no date.
    let unlock = |q: &mut Q, org: &str, now_p: &str| {
        let date = match user {
            Some(_) => format!("(unlock_at IS NULL OR unlock_at <= {now_p})"),
            None => format!("unlock_at <= {now_p}"),
        };
        format!(
            "org_id = {org} AND status = 'LOCKED' AND {date} AND {}{}",
            engine::prerequisites_met("assignments.user_id", "assignments.course_id", now_p),
            user_filter(q, user)
        )
    };
    let mut q = Q::new();
    let (_seq, now_p, org) = (q.bind(seq), q.bind(now), q.bind(org_id));
    let cond = unlock(&mut q, &org, &now_p);
    q.text = events("UNLOCKED", &cond);
    applied.unlocked = q.exec(conn).await?;
    if applied.unlocked > 0 {
        let mut q = Q::new();
        let (seq_p, now_p, org) = (q.bind(seq), q.bind(now), q.bind(org_id));
        let cond = unlock(&mut q, &org, &now_p);
        q.text = format!(
            "UPDATE assignments SET status = 'ASSIGNED', changed_seq = {seq_p} WHERE {cond}"
        );
        q.exec(conn).await?;
    }

    // Overdue (once per cycle).
    let mut q = Q::new();
    let (_seq, now_p, org) = (q.bind(seq), q.bind(now), q.bind(org_id));
    let cond = format!(
        "org_id = {org} AND status IN {OPEN_STATUSES} AND overdue_at IS NULL AND due_at <= {now_p}{}",
        user_filter(&mut q, user)
    );
    q.text = events("OVERDUE", &cond);
    applied.overdue = q.exec(conn).await?;
    if applied.overdue > 0 {
        let mut q = Q::new();
        let (seq_p, now_p, org) = (q.bind(seq), q.bind(now), q.bind(org_id));
        let cond = format!(
            "org_id = {org} AND status IN {OPEN_STATUSES} AND overdue_at IS NULL AND due_at <= {now_p}{}",
            user_filter(&mut q, user)
        );
        q.text = format!(
            "UPDATE assignments SET overdue_at = {now_p}, changed_seq = {seq_p} WHERE {cond}"
        );
        q.exec(conn).await?;
    }

    // Expiry of completed cycles.
    let mut q = Q::new();
    let (_seq, now_p, org) = (q.bind(seq), q.bind(now), q.bind(org_id));
    let cond = format!(
        "org_id = {org} AND status = 'COMPLETED' AND expires_at <= {now_p}{}",
        user_filter(&mut q, user)
    );
    q.text = events("EXPIRED", &cond);
    applied.expired = q.exec(conn).await?;
    if applied.expired > 0 {
        let mut q = Q::new();
        let (seq_p, now_p, org) = (q.bind(seq), q.bind(now), q.bind(org_id));
        let cond = format!(
            "org_id = {org} AND status = 'COMPLETED' AND expires_at <= {now_p}{}",
            user_filter(&mut q, user)
        );
        q.text = format!(
            "UPDATE assignments SET status = 'EXPIRED', expired_at = expires_at, changed_seq = {seq_p} WHERE {cond}"
        );
        q.exec(conn).await?;
    }

    // Renewal windows: the engine opens a new cycle where the course is still required.
    let mut q = Q::new();
    let (now_p, org) = (q.bind(now), q.bind(org_id));
    let due = format!(
        "org_id = {org} AND status IN ('COMPLETED', 'EXPIRED') AND NOT renewal_done AND renew_at <= {now_p}{}",
        user_filter(&mut q, user)
    );
    q.text = format!("SELECT DISTINCT user_id FROM assignments WHERE {due}");
    let users = q.ids(conn).await?;
    if !users.is_empty() {
        let ctx = Ctx::new(org_id, now, actor, "ORGANIZATION", Some(org_id));
        for chunk in users.chunks(1000) {
            let outcome = engine::reconcile(conn, &ctx, Scope::Users(chunk.to_vec()), None).await?;
            applied.renewals_opened += outcome.created.len() as u64;
        }
        let mut q = Q::new();
        let (now_p, org) = (q.bind(now), q.bind(org_id));
        let due = format!(
            "org_id = {org} AND status IN ('COMPLETED', 'EXPIRED') AND NOT renewal_done AND renew_at <= {now_p}{}",
            user_filter(&mut q, user)
        );
        q.text = format!("UPDATE assignments SET renewal_done = TRUE WHERE {due}");
        q.exec(conn).await?;
    }

    if !applied.is_empty() {
        audit::record(
            conn,
            audit::Entry {
                org_id,
                at: now,
                actor,
                action: Action::ScheduleApplied,
                subject_type: "ORGANIZATION",
                subject_id: Some(org_id),
                before: None,
                after: Some(json!({
                    "unlocked": applied.unlocked,
                    "overdue": applied.overdue,
                    "expired": applied.expired,
                    "renewalsOpened": applied.renewals_opened,
                })),
            },
        )
        .await?;
    }
    Ok(applied)
}

/// Unlocks the open assignments of `course_id` that nothing holds any more (its prerequisites
/// changed), with an `UNLOCKED` event each.
pub async fn unlock_freed(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    now: i64,
    course_id: Uuid,
) -> AppResult<u64> {
    let seq = write_seq(conn, org_id).await?;
    let cond = |q: &mut Q| {
        let (org, now_p, course) = (q.bind(org_id), q.bind(now), q.bind(course_id));
        format!(
            "org_id = {org} AND course_id = {course} AND status = 'LOCKED' \
             AND (unlock_at IS NULL OR unlock_at <= {now_p}) AND {}",
            engine::prerequisites_met("assignments.user_id", "assignments.course_id", &now_p)
        )
    };
    let mut q = Q::new();
    let (seq_p, now_p) = (q.bind(seq), q.bind(now));
    let c = cond(&mut q);
    q.text = format!(
        "INSERT INTO assignment_events (org_id, tx_seq, at, kind, assignment_id, user_id, course_id) \
         SELECT org_id, {seq_p}, {now_p}, 'UNLOCKED', id, user_id, course_id FROM assignments WHERE {c} ORDER BY user_id"
    );
    let n = q.exec(conn).await?;
    if n > 0 {
        let mut q = Q::new();
        let seq_p = q.bind(seq);
        let c = cond(&mut q);
        q.text =
            format!("UPDATE assignments SET status = 'ASSIGNED', changed_seq = {seq_p} WHERE {c}");
        q.exec(conn).await?;
    }
    Ok(n)
}

/// One tick over every organization with due work. Returns what was applied per organization.
pub async fn tick(state: &AppState) -> AppResult<Vec<(Uuid, Applied)>> {
    let now = now_micros(state);
    let orgs = sql::ids(
        &state.db.read,
        &format!(
            "SELECT DISTINCT org_id FROM assignments WHERE \
               (status = 'LOCKED' AND unlock_at <= $1 AND {}) \
            OR (status IN {OPEN_STATUSES} AND overdue_at IS NULL AND due_at <= $1) \
            OR (status = 'COMPLETED' AND expires_at <= $1) \
            OR (status IN ('COMPLETED', 'EXPIRED') AND NOT renewal_done AND renew_at <= $1)",
            engine::prerequisites_met("assignments.user_id", "assignments.course_id", "$1")
        ),
        crate::vals![now],
    )
    .await?;
    let mut out = Vec::new();
    let actor = Actor::system();
    for org_id in orgs {
        let tx = tx::begin(state, org_id).await?;
        if tx.get_database_backend() == DbBackend::Postgres {
            // One instance ticks an organization at a time; the others skip it this round.
            let got = sql::scalar_i64(
                &tx,
                "SELECT CAST(CASE WHEN pg_try_advisory_xact_lock(hashtext('skillgraph.tick'), hashtext($1::text)) THEN 1 ELSE 0 END AS BIGINT)",
                crate::vals![org_id.to_string()],
            )
            .await?;
            if got == 0 {
                continue;
            }
        }
        let applied = advance_in(&tx, org_id, now, &actor, None).await?;
        tx.commit().await?;
        if !applied.is_empty() {
            tracing::info!(org = %org_id, ?applied, "scheduler applied due transitions");
        }
        out.push((org_id, applied));
    }
    Ok(out)
}

/// Ticks every `every` until the process ends; errors are logged and the next tick retries.
pub fn spawn(state: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(e) = tick(&state).await {
                tracing::error!(error = ?e, "scheduler tick failed");
            }
        }
    });
}
