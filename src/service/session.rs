//! The authority of a long-lived connection (a WebSocket): who authenticated, until when their
//! token holds, and whether they may still act. Every operation re-checks it cheaply: the token's
//! expiry on every call, the user's row at most every `REFRESH`, and at once when this process
//! deactivates the user (the bus revokes the user's sessions after the commit).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::service::rows;
use crate::service::viewer::Viewer;

/// How long a successful re-validation of the user's row is trusted.
pub const REFRESH: Duration = Duration::from_secs(5);

/// Re-validates an authenticated viewer against the database: a user must still exist in its
/// organization and be active; an API client must not be revoked.
pub async fn revalidate(db: &Db, viewer: &Viewer) -> AppResult<()> {
    if viewer.client.is_some() {
        let client =
            rows::find::<entity::api_client::Entity>(&db.read, viewer.org_id, viewer.user_id)
                .await?;
        return match client {
            Some(c) if c.revoked_at.is_none() => Ok(()),
            _ => Err(AppError::Unauthenticated(
                "the API client was revoked".into(),
            )),
        };
    }
    let found =
        crate::service::authz::load_viewer(&db.read, viewer.org_id, viewer.user_id, viewer.role)
            .await?;
    match found {
        Some((_, true)) => Ok(()),
        Some((_, false)) => Err(AppError::Unauthenticated(
            "the user was deactivated; this connection may no longer act".into(),
        )),
        None => Err(AppError::Unauthenticated(
            "the user no longer exists in its organization".into(),
        )),
    }
}

/// One connection's authority.
#[derive(Debug)]
pub struct Session {
    pub viewer: Viewer,
    /// When the token expires (seconds since the epoch), if it says.
    pub expires_at: Option<i64>,
    /// When the user's row was last found active.
    checked: Mutex<Instant>,
    /// Set (with the reason) once the session's authority ended; it never comes back.
    ended: watch::Sender<Option<String>>,
}

impl Session {
    /// A session for `viewer`, just authenticated.
    pub fn new(viewer: Viewer, expires_at: Option<i64>) -> Arc<Session> {
        Arc::new(Session {
            viewer,
            expires_at,
            checked: Mutex::new(Instant::now()),
            ended: watch::channel(None).0,
        })
    }

    /// Whether the session may still act: its token has not expired, it was not revoked, and
    /// its user is still active (read again when the last look is older than `REFRESH`).
    pub async fn check(&self, db: &Db) -> AppResult<()> {
        if let Some(reason) = self.ended.borrow().clone() {
            return Err(AppError::Unauthenticated(reason));
        }
        if self.time_left() == Some(Duration::ZERO) {
            return Err(self.end(
                "the token expired; reconnect with a fresh token and resume from your last cursor",
            ));
        }
        let stale = self.lock_checked().elapsed() >= REFRESH;
        if stale {
            match revalidate(db, &self.viewer).await {
                Ok(()) => *self.lock_checked() = Instant::now(),
                Err(AppError::Unauthenticated(reason)) => return Err(self.end(&reason)),
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    /// Ends the session's authority (the user was deactivated, the token expired).
    pub fn end(&self, reason: &str) -> AppError {
        self.ended.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason.to_string());
                true
            } else {
                false
            }
        });
        AppError::Unauthenticated(self.ended.borrow().clone().unwrap_or_default())
    }

    /// Watches for the end of the session's authority (the reason, once it ended).
    pub fn ended(&self) -> watch::Receiver<Option<String>> {
        self.ended.subscribe()
    }

    /// How long the token still holds (None: no expiry known). A connection ends at the
    /// token's `exp` itself: the leeway for clock skew applies when a token is presented.
    pub fn time_left(&self) -> Option<Duration> {
        self.expires_at.map(|exp| {
            let left = exp - chrono::Utc::now().timestamp();
            Duration::from_secs(left.max(0) as u64)
        })
    }

    fn lock_checked(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.checked.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The open sessions of this process, by (organization, user), so that a deactivation ends
/// them at once.
#[derive(Debug, Default)]
pub struct Sessions {
    open: Mutex<OpenSessions>,
}

/// (organization, user) → that user's sessions.
type OpenSessions = HashMap<(Uuid, Uuid), Vec<Weak<Session>>>;

impl Sessions {
    /// Registers `session` until it is dropped.
    pub fn register(&self, session: &Arc<Session>) {
        let key = (session.viewer.org_id, session.viewer.user_id);
        let mut open = self.lock();
        if open.len() % 1024 == 1023 {
            open.retain(|_, list| list.iter().any(|s| s.strong_count() > 0));
        }
        let list = open.entry(key).or_default();
        list.retain(|s| s.strong_count() > 0);
        list.push(Arc::downgrade(session));
    }

    /// Ends every session of `user` in `org_id`, giving `reason`.
    pub fn revoke(&self, org_id: Uuid, user_id: Uuid, reason: &str) {
        let list = self.lock().remove(&(org_id, user_id)).unwrap_or_default();
        for session in list.iter().filter_map(Weak::upgrade) {
            session.end(reason);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OpenSessions> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}
