//! One live subscriber: a cursor that walks the organization's event log, first through the
//! table (replay after `after`, or catching up after falling behind the ring), then through
//! the ring as the feed publishes new heads. Replay and live are the same loop over the same
//! cursor, so the seam between them has no gap and no duplicate.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use super::bus::{OrgFeed, Window};
use super::{Event, Prepared, cursor};
use crate::error::{AppError, AppResult};
use crate::service::session::Session;
use crate::service::sql;
use crate::service::unit::Env;
use crate::vals;

/// Why a subscription ended early, and where the client resumes.
#[derive(Debug)]
pub struct LiveError {
    /// The client-facing reason (its code is `error.code()`).
    pub message: String,
    pub error: AppError,
    /// The cursor to pass as `after` on the next subscription: every matching event up to it
    /// was delivered.
    pub resume_after: String,
}

/// The events matching `filter` after `start` (a sequence number from `resume_point`, or the
/// head for "from now on"), then every new one as it commits. Ends with one `LiveError` when the
/// subscription cannot go on (its events were pruned, the database failed, the server is
/// shutting down, the session's authority ended: token expired, user deactivated); a
/// subscriber the client drops simply stops.
pub async fn subscribe(
    env: &Env,
    filter: Prepared,
    start: Option<i64>,
    session: Option<Arc<Session>>,
) -> AppResult<impl Stream<Item = Result<Arc<Event>, LiveError>> + Send + use<>> {
    let expires_in = session.as_ref().and_then(|s| s.time_left());
    let feed = env.events.feed(filter.viewer.org_id).await?;
    let scan = start.unwrap_or_else(|| feed.head());
    crate::measure::subscriptions(1.0);
    let sub = Subscriber {
        db: env.db.read.clone(),
        head_rx: feed.watch(),
        closing: env.events.closing(),
        batch: env.events.config.batch,
        feed,
        filter,
        scan,
        pending: VecDeque::new(),
        deadline: expires_in.map(|d| tokio::time::Instant::now() + d),
        ended: session.as_ref().map(|s| s.ended()),
        authority: session.map(|s| (s, env.clone())),
        done: false,
    };
    Ok(futures_util::stream::unfold(sub, |mut sub| async move {
        let item = sub.next().await?;
        Some((item, sub))
    }))
}

struct Subscriber {
    db: DatabaseConnection,
    feed: Arc<OrgFeed>,
    head_rx: watch::Receiver<i64>,
    closing: watch::Receiver<bool>,
    filter: Prepared,
    /// Every event with `seq ≤ scan` was either delivered (or queued in `pending`) or did not
    /// match.
    scan: i64,
    pending: VecDeque<Arc<Event>>,
    batch: usize,
    deadline: Option<tokio::time::Instant>,
    /// The session the subscription runs under: re-checked before events are delivered.
    authority: Option<(Arc<Session>, Env)>,
    /// Changes when the session's authority ends.
    ended: Option<watch::Receiver<Option<String>>>,
    done: bool,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        crate::measure::subscriptions(-1.0);
    }
}

impl Subscriber {
    async fn next(&mut self) -> Option<Result<Arc<Event>, LiveError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            let ended = self.ended.as_ref().and_then(|rx| rx.borrow().clone());
            if let Some(reason) = ended {
                return self.fail(AppError::Unauthenticated(reason));
            }
            if *self.closing.borrow() {
                return self.fail_with(
                    AppError::internal("shutdown"),
                    "the server is shutting down; reconnect (to another instance) and resume",
                );
            }
            let head = *self.head_rx.borrow_and_update();
            if self.scan >= head {
                let expiry = async {
                    match self.deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                };
                let ended = async {
                    match self.ended.as_mut() {
                        Some(rx) => {
                            if rx.wait_for(|r| r.is_some()).await.is_err() {
                                std::future::pending::<()>().await;
                            }
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    changed = self.head_rx.changed() => {
                        if changed.is_err() {
                            return self.fail(AppError::internal("the event feed stopped"));
                        }
                    }
                    _ = self.closing.changed() => {}
                    _ = expiry => {
                        return self.fail(AppError::Unauthenticated(
                            "the token expired; reconnect with a fresh token and resume from your last cursor".into(),
                        ));
                    }
                    _ = ended => {}
                }
                continue;
            }
            // Nothing is delivered past the end of the session's authority.
            if let Some((session, env)) = &self.authority
                && let Err(e) = session.check(&env.db).await
            {
                return self.fail(e);
            }
            if let Err(e) = self.fill(head).await {
                return self.fail(e);
            }
        }
    }

    /// Queues the matching events of `(scan, head]` (or of its first batch, from the table).
    async fn fill(&mut self, head: i64) -> AppResult<()> {
        match self.feed.window(self.scan, head) {
            Window::Events(events) => {
                let candidates: Vec<Arc<Event>> = events
                    .into_iter()
                    .filter(|e| self.filter.quick_match(e).0)
                    .collect();
                if self.filter.is_exact_in_memory() || candidates.is_empty() {
                    self.pending.extend(candidates);
                } else {
                    // Group, rule or reporting-line parts: the table decides among the few
                    // candidates the ring offers.
                    let rows = super::read(
                        &self.db,
                        &self.filter,
                        self.scan,
                        Some(head),
                        candidates.len(),
                    )
                    .await?;
                    self.pending.extend(rows.into_iter().map(Arc::new));
                }
                self.scan = head;
            }
            Window::Behind => {
                let from = self.scan;
                let rows =
                    super::read(&self.db, &self.filter, from, Some(head), self.batch).await?;
                // Pruning may have removed events of (from, head] before the read saw them.
                let pruned = sql::scalar_i64(
                    &self.db,
                    "SELECT pruned_through FROM assignment_event_horizons WHERE org_id = $1",
                    vals![self.filter.viewer.org_id],
                )
                .await?;
                if pruned > from {
                    return Err(AppError::validation(
                        "after",
                        "events this subscription had not received yet were pruned (older than the \
                         retention period): resync from the assignments query, then subscribe again",
                    ));
                }
                self.scan = match rows.last() {
                    Some(last) if rows.len() == self.batch => last.seq,
                    _ => head,
                };
                self.pending.extend(rows.into_iter().map(Arc::new));
            }
        }
        Ok(())
    }

    fn fail(&mut self, error: AppError) -> Option<Result<Arc<Event>, LiveError>> {
        if let AppError::Internal(cause) = &error {
            tracing::warn!(error = %cause, "a live subscription cannot be served");
            return self.fail_with(
                error,
                "this subscription cannot be served right now (internal error); resubscribe",
            );
        }
        let message = error.message();
        self.fail_with(error, &message)
    }

    fn fail_with(
        &mut self,
        error: AppError,
        message: &str,
    ) -> Option<Result<Arc<Event>, LiveError>> {
        self.done = true;
        Some(Err(LiveError {
            message: message.to_string(),
            error,
            resume_after: cursor(self.filter.viewer.org_id, self.scan),
        }))
    }
}
