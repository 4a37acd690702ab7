//! The live bus: tells an organization's subscribers that its event log grew, without ever
//! carrying an event that the table does not hold.
//!
//! Per organization with subscribers, one *feed* task reads new events from the table once and
//! keeps the newest of them in a bounded ring, then publishes the new head sequence on a `watch`
//! channel. Subscribers read from the ring when their cursor is inside it and from the table
//! when it is not (a replay, or a subscriber too slow for the ring), so no subscriber can block
//! a writer, another subscriber or the feed, and memory stays bounded however slow one is.
//!
//! The feed wakes on: a commit in this process (`notify`, called by `service::tx` after every
//! commit), a PostgreSQL `NOTIFY` from any instance sharing the database (a trigger sends one on
//! commit of every transaction that appends events), and a slow poll that catches writers neither
//! of those reach (another process on the same SQLite file, a lost notification).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use super::event::Event;
use crate::error::AppResult;

/// The PostgreSQL channel the `assignment_events_notify` trigger signals (payload: org id).
pub const CHANNEL: &str = "skillgraph_assignment_events";

/// Tunables of the bus.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Newest events kept in memory per organization with subscribers.
    pub ring_capacity: usize,
    /// Rows per read, for the feed and for a subscriber catching up from the table.
    pub batch: usize,
    /// How often a feed looks at the table without having been woken.
    pub poll_interval: Duration,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            ring_capacity: 4096,
            batch: 500,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// The process-wide bus (one per `AppState`).
pub struct EventBus {
    db: DatabaseConnection,
    pub(super) config: BusConfig,
    feeds: Mutex<HashMap<Uuid, Weak<OrgFeed>>>,
    closing: watch::Sender<bool>,
    listener_started: std::sync::Once,
    /// The open sessions (WebSocket connections) of this process, ended when their user is
    /// deactivated here.
    pub sessions: crate::service::session::Sessions,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The live view of one organization's event log.
pub struct OrgFeed {
    pub org_id: Uuid,
    wake: Arc<Notify>,
    tail: RwLock<Tail>,
    head: watch::Sender<i64>,
}

/// The ring: every event with `low < seq ≤ head`, oldest first.
struct Tail {
    low: i64,
    events: VecDeque<Arc<Event>>,
}

/// What the ring holds after a cursor.
pub enum Window {
    /// Every event with `after < seq ≤ upto`.
    Events(Vec<Arc<Event>>),
    /// The ring no longer reaches back to the cursor: read the table.
    Behind,
}

impl EventBus {
    pub fn new(db: DatabaseConnection, config: BusConfig) -> Arc<EventBus> {
        Arc::new(EventBus {
            db,
            config,
            feeds: Mutex::new(HashMap::new()),
            closing: watch::channel(false).0,
            listener_started: std::sync::Once::new(),
            sessions: Default::default(),
        })
    }

    /// A transaction of `org_id` committed: wake its feed, if it has subscribers here.
    pub fn notify(&self, org_id: Uuid) {
        let feed = self.lock_feeds().get(&org_id).and_then(Weak::upgrade);
        if let Some(feed) = feed {
            feed.wake.notify_one();
        }
    }

    /// Wakes every feed (after a lost connection to the database's notifications).
    pub fn wake_all(&self) {
        let feeds: Vec<Arc<OrgFeed>> = self
            .lock_feeds()
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for feed in feeds {
            feed.wake.notify_one();
        }
    }

    /// Ends every live subscription (with an error telling the client to resume): the server
    /// is shutting down.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// The feed of `org_id`, started on first use; it stops once no subscriber holds it.
    pub async fn feed(self: &Arc<Self>, org_id: Uuid) -> AppResult<Arc<OrgFeed>> {
        if let Some(feed) = self.lock_feeds().get(&org_id).and_then(Weak::upgrade) {
            return Ok(feed);
        }
        self.start_listener();
        let head = super::head(&self.db, org_id).await?;
        let mut feeds = self.lock_feeds();
        if let Some(feed) = feeds.get(&org_id).and_then(Weak::upgrade) {
            return Ok(feed);
        }
        let feed = Arc::new(OrgFeed {
            org_id,
            wake: Arc::new(Notify::new()),
            tail: RwLock::new(Tail {
                low: head,
                events: VecDeque::new(),
            }),
            head: watch::channel(head).0,
        });
        feeds.retain(|_, f| f.strong_count() > 0);
        feeds.insert(org_id, Arc::downgrade(&feed));
        drop(feeds);
        tokio::spawn(run_feed(
            self.db.clone(),
            self.config.clone(),
            Arc::downgrade(&feed),
            feed.wake.clone(),
        ));
        // Commits between reading the head and the task's first wait are not lost: the task
        // reads from `head` on its first wake-up, which this permit makes immediate.
        feed.wake.notify_one();
        Ok(feed)
    }

    /// How many organizations have live subscribers in this process.
    pub fn live_feeds(&self) -> usize {
        self.lock_feeds()
            .values()
            .filter(|f| f.strong_count() > 0)
            .count()
    }

    fn lock_feeds(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Weak<OrgFeed>>> {
        self.feeds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// On PostgreSQL, one connection per process LISTENs for commits of other instances. It
    /// starts with the first subscriber and ends with the bus.
    fn start_listener(self: &Arc<Self>) {
        if self.db.get_database_backend() != sea_orm::DbBackend::Postgres {
            return;
        }
        self.listener_started.call_once(|| {
            let pool = self.db.get_postgres_connection_pool().clone();
            let bus = Arc::downgrade(self);
            let mut closing = self.closing();
            tokio::spawn(async move {
                tokio::select! {
                    _ = listen(pool, bus) => {}
                    _ = closing.wait_for(|c| *c) => {}
                }
            });
        });
    }
}

async fn listen(pool: sea_orm::sqlx::PgPool, bus: Weak<EventBus>) {
    use sea_orm::sqlx::postgres::PgListener;
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        }
        .await;
        match connected {
            Ok(mut listener) => {
                // Anything committed while not listening is found by reading the table.
                match bus.upgrade() {
                    Some(b) => b.wake_all(),
                    None => return,
                }
                loop {
                    let received =
                        tokio::time::timeout(Duration::from_secs(5), listener.try_recv());
                    let Some(b) = bus.upgrade() else { return };
                    match received.await {
                        Err(_) => {} // idle: look again whether the bus still exists
                        Ok(Ok(Some(n))) => match Uuid::parse_str(n.payload()) {
                            Ok(org_id) => b.notify(org_id),
                            Err(_) => tracing::warn!(payload = n.payload(), "odd event wake-up"),
                        },
                        Ok(Ok(None)) => b.wake_all(), // reconnected: notifications may be lost
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "event listener failed; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot LISTEN for event wake-ups; retrying"),
        }
        if bus.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The feed task: on every wake-up (or poll), append what the table holds beyond the head.
async fn run_feed(
    db: DatabaseConnection,
    config: BusConfig,
    feed: Weak<OrgFeed>,
    wake: Arc<Notify>,
) {
    loop {
        let _ = tokio::time::timeout(config.poll_interval, wake.notified()).await;
        let Some(feed) = feed.upgrade() else { return };
        if let Err(e) = feed.advance(&db, &config).await {
            tracing::warn!(org_id = %feed.org_id, error = %e.message(), "reading new events failed");
            drop(feed);
            tokio::time::sleep(config.poll_interval).await;
        }
    }
}

impl OrgFeed {
    /// The newest event sequence known to be committed.
    pub fn head(&self) -> i64 {
        *self.head.borrow()
    }

    pub fn watch(&self) -> watch::Receiver<i64> {
        self.head.subscribe()
    }

    /// The events after `after` up to `upto`, if the ring still holds them all.
    pub fn window(&self, after: i64, upto: i64) -> Window {
        let tail = self.tail.read().unwrap_or_else(|e| e.into_inner());
        if after < tail.low {
            return Window::Behind;
        }
        let start = tail.events.partition_point(|e| e.seq <= after);
        Window::Events(
            tail.events
                .range(start..)
                .take_while(|e| e.seq <= upto)
                .cloned()
                .collect(),
        )
    }

    async fn advance(&self, db: &DatabaseConnection, config: &BusConfig) -> AppResult<()> {
        loop {
            let rows = super::read_org(db, self.org_id, self.head(), config.batch).await?;
            let Some((last, at)) = rows.last().map(|e| (e.seq, e.at)) else {
                return Ok(());
            };
            // From the commit of the newest event read to its publication here (the clock of
            // the server, so a test's clock makes this meaningless but harmless).
            let lag = chrono::Utc::now().timestamp_micros() - at;
            crate::measure::event_bus_lag(std::time::Duration::from_micros(lag.max(0) as u64));
            let full = rows.len() == config.batch;
            {
                let mut tail = self.tail.write().unwrap_or_else(|e| e.into_inner());
                tail.events.extend(rows.into_iter().map(Arc::new));
                while tail.events.len() > config.ring_capacity {
                    if let Some(old) = tail.events.pop_front() {
                        tail.low = old.seq;
                    }
                }
            }
            self.head.send_replace(last);
            if !full {
                return Ok(());
            }
        }
    }
}
