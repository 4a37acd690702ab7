//! The scheduler: applies every transition whose time has come — LOCKED → ASSIGNED at the unlock
//! time once every prerequisite is completed (`UNLOCKED`), an `OVERDUE` event when the due time passes incomplete, COMPLETED → EXPIRED
//! at expiry (`EXPIRED`), and a new cycle when a renewal window opens (`RENEWAL_OPENED`, through
//! the engine, so only courses still required renew). Each step selects only what is due and
//! not yet done, so a tick is idempotent and catches up after downtime; on PostgreSQL an advisory
//! lock lets one instance tick an organization at a time.

use entity::assignment::sql::{ASSIGNED, COMPLETED, EXPIRED, LOCKED};
use std::time::Duration;

use tracing::Instrument;

use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::json;
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::audit::{Action, Subject};
use crate::service::engine::{self, OPEN_STATUSES, Scope};
use crate::service::events::{self, EventKind};
use crate::service::sql::{self, Q};
use crate::service::unit::{self, Env, Write};

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

    /// How many transitions were applied in all.
    pub fn transitions(&self) -> u64 {
        self.unlocked + self.overdue + self.expired + self.renewals_opened
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
pub async fn advance_in(w: &Write, user: Option<Uuid>) -> AppResult<Applied> {
    let (conn, org_id, now, seq) = (w, w.org_id, w.now, w.seq);
    let mut applied = Applied::default();
    // The kind is one of our own words, so it can stand in the text.
    let events = |kind: EventKind, condition: &str| {
        format!(
            "SELECT '{}' AS kind, id, user_id, course_id FROM assignments WHERE {condition}",
            kind.as_str()
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
            "org_id = {org} AND status = {LOCKED} AND {date} AND {}{}",
            engine::prerequisites_met("assignments.user_id", "assignments.course_id", now_p),
            user_filter(q, user)
        )
    };
    let mut q = Q::new();
    let (now_p, org) = (q.bind(now), q.bind(org_id));
    let cond = unlock(&mut q, &org, &now_p);
    q.text = events(EventKind::Unlocked, &cond);
    applied.unlocked = events::append_selected(w, q).await?;
    if applied.unlocked > 0 {
        let mut q = Q::new();
        let (seq_p, now_p, org) = (q.bind(seq), q.bind(now), q.bind(org_id));
        let cond = unlock(&mut q, &org, &now_p);
        q.text = format!(
            "UPDATE assignments SET status = {ASSIGNED}, changed_seq = {seq_p} WHERE {cond}"
        );
        q.exec(conn).await?;
    }

    // Overdue (once per cycle).
    let mut q = Q::new();
    let (now_p, org) = (q.bind(now), q.bind(org_id));
    let cond = format!(
        "org_id = {org} AND status IN {OPEN_STATUSES} AND overdue_at IS NULL AND due_at <= {now_p}{}",
        user_filter(&mut q, user)
    );
    q.text = events(EventKind::Overdue, &cond);
    applied.overdue = events::append_selected(w, q).await?;
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
    let (now_p, org) = (q.bind(now), q.bind(org_id));
    let cond = format!(
        "org_id = {org} AND status = {COMPLETED} AND expires_at <= {now_p}{}",
        user_filter(&mut q, user)
    );
    q.text = events(EventKind::Expired, &cond);
    applied.expired = events::append_selected(w, q).await?;
    if applied.expired > 0 {
        let mut q = Q::new();
        let (seq_p, now_p, org) = (q.bind(seq), q.bind(now), q.bind(org_id));
        let cond = format!(
            "org_id = {org} AND status = {COMPLETED} AND expires_at <= {now_p}{}",
            user_filter(&mut q, user)
        );
        q.text = format!(
            "UPDATE assignments SET status = {EXPIRED}, expired_at = expires_at, changed_seq = {seq_p} WHERE {cond}"
        );
        q.exec(conn).await?;
    }

    // Renewal windows: the engine opens a new cycle where the course is still required.
    let mut q = Q::new();
    let (now_p, org) = (q.bind(now), q.bind(org_id));
    let due = format!(
        "org_id = {org} AND status IN ({COMPLETED}, {EXPIRED}) AND NOT renewal_done AND renew_at <= {now_p}{}",
        user_filter(&mut q, user)
    );
    q.text = format!("SELECT DISTINCT user_id FROM assignments WHERE {due}");
    let users = q.ids(conn).await?;
    if !users.is_empty() {
        w.about(Subject::organization(org_id));
        for chunk in users.chunks(1000) {
            let outcome =
                crate::service::engine::reconcile(w, Scope::Users(chunk.to_vec()), None).await?;
            applied.renewals_opened += outcome.created.len() as u64;
        }
        let mut q = Q::new();
        let (now_p, org) = (q.bind(now), q.bind(org_id));
        let due = format!(
            "org_id = {org} AND status IN ({COMPLETED}, {EXPIRED}) AND NOT renewal_done AND renew_at <= {now_p}{}",
            user_filter(&mut q, user)
        );
        q.text = format!("UPDATE assignments SET renewal_done = TRUE WHERE {due}");
        q.exec(conn).await?;
    }

    if !applied.is_empty() {
        w.audit(
            Action::ScheduleApplied,
            Subject::organization(org_id),
            None,
            Some(json!({
                "unlocked": applied.unlocked,
                "overdue": applied.overdue,
                "expired": applied.expired,
                "renewalsOpened": applied.renewals_opened,
            })),
        )
        .await?;
    }
    Ok(applied)
}

/// Unlocks the open assignments of `course_id` that nothing holds any more (its prerequisites
/// changed), with an `UNLOCKED` event each.
pub async fn unlock_freed(w: &Write, course_id: Uuid) -> AppResult<u64> {
    let (conn, org_id, now, seq) = (w, w.org_id, w.now, w.seq);
    let cond = |q: &mut Q| {
        let (org, now_p, course) = (q.bind(org_id), q.bind(now), q.bind(course_id));
        format!(
            "org_id = {org} AND course_id = {course} AND status = {LOCKED} \
             AND (unlock_at IS NULL OR unlock_at <= {now_p}) AND {}",
            engine::prerequisites_met("assignments.user_id", "assignments.course_id", &now_p)
        )
    };
    let mut q = Q::new();
    let kind = q.bind(EventKind::Unlocked.as_str());
    let c = cond(&mut q);
    q.text = format!("SELECT {kind} AS kind, id, user_id, course_id FROM assignments WHERE {c}");
    let n = events::append_selected(w, q).await?;
    if n > 0 {
        let mut q = Q::new();
        let seq_p = q.bind(seq);
        let c = cond(&mut q);
        q.text =
            format!("UPDATE assignments SET status = {ASSIGNED}, changed_seq = {seq_p} WHERE {c}");
        q.exec(conn).await?;
    }
    Ok(n)
}

/// One tick over every organization with due work. Returns what was applied per organization.
pub async fn tick(env: &Env) -> AppResult<Vec<(Uuid, Applied)>> {
    let now = env.now_micros();
    let orgs = sql::ids(
        &env.db.read,
        &format!(
            "SELECT DISTINCT org_id FROM assignments WHERE \
               (status = {LOCKED} AND unlock_at <= $1 AND {}) \
            OR (status IN {OPEN_STATUSES} AND overdue_at IS NULL AND due_at <= $1) \
            OR (status = {COMPLETED} AND expires_at <= $1) \
            OR (status IN ({COMPLETED}, {EXPIRED}) AND NOT renewal_done AND renew_at <= $1)",
            engine::prerequisites_met("assignments.user_id", "assignments.course_id", "$1")
        ),
        crate::vals![now],
    )
    .await?;
    let mut out = Vec::new();
    for org_id in orgs {
        let (applied, _) = unit::system(env, org_id, async |w| {
            if w.get_database_backend() == DbBackend::Postgres {
                // One instance ticks an organization at a time; the others skip it this round.
                let got = sql::scalar_i64(
                    w,
                    "SELECT CAST(CASE WHEN pg_try_advisory_xact_lock(hashtext('skillgraph.tick'), hashtext($1::text)) THEN 1 ELSE 0 END AS BIGINT)",
                    crate::vals![org_id.to_string()],
                )
                .await?;
                if got == 0 {
                    return Ok(None);
                }
            }
            advance_in(w, None).await.map(Some)
        })
        .await?;
        let Some(applied) = applied else {
            continue;
        };
        if !applied.is_empty() {
            tracing::info!(org = %org_id, ?applied, "scheduler applied due transitions");
        }
        out.push((org_id, applied));
    }
    Ok(out)
}

/// Ticks every `every` until the process ends; errors are logged and the next tick retries.
pub fn spawn(env: Env, every: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let started = std::time::Instant::now();
            let result = tick(&env)
                .instrument(tracing::info_span!("scheduler_tick"))
                .await;
            let transitions = result.as_ref().map_or(0, |orgs| {
                orgs.iter().map(|(_, applied)| applied.transitions()).sum()
            });
            crate::measure::scheduler_tick(result.is_ok(), transitions, started.elapsed());
            if let Err(e) = result {
                tracing::error!(error = ?e, "scheduler tick failed");
            }
        }
    });
}
