//! A change in progress: the `Write` that the unit of work (`unit`) hands each change. It holds
//! the organization's write transaction and the change's context (organization, actor, the
//! instant it happens at, its sequence number), appends the change's audit events, and collects
//! what the change asks to be reconciled. It knows nothing of the engine: `unit` runs the
//! reconciles before commit.

use std::sync::{Arc, Mutex};

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
    TransactionTrait,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::clock::Clock;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::service::audit::entry::{Action, Subject};
use crate::service::engine::scope::{Outcome, Scope};
use crate::service::events::bus::EventBus;
use crate::service::rows::{self, OrgRow};
use crate::service::sql;
use crate::service::viewer::Actor;
use crate::vals;

/// What services need of the running server: database handles, the clock and the live bus.
#[derive(Clone)]
pub struct Env {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub events: Arc<EventBus>,
}

impl Env {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Microseconds since the epoch: the storage format of every time column.
    pub fn now_micros(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }
}

/// A change in progress: its transaction (a `Write` is a `ConnectionTrait`, so every query of
/// the change runs on it), who makes it, the instant it happens at, and the organization's
/// write sequence number it commits under.
pub struct Write {
    tx: DatabaseTransaction,
    pub org_id: Uuid,
    pub actor: Actor,
    /// Microseconds since the epoch, read once for the whole change.
    pub now: i64,
    /// The organization's `write_seq` of this transaction: events and memberships record it.
    pub seq: i64,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    /// Reconciles asked for and not yet run: (scope, courses; None = every course).
    reconciles: Vec<(Scope, Option<Vec<Uuid>>)>,
    /// The subject of the change's first audit event: what its reconcile is audited about.
    subject: Option<Subject>,
    outcome: Outcome,
    /// Users whose open sessions end once the change commits (deactivated).
    ended_sessions: Vec<Uuid>,
}

impl Write {
    /// Begins the write transaction of `org_id`, running `first` (the row of a new
    /// organization) before anything else. Its first own statement bumps the organization's
    /// write counter: on PostgreSQL that row lock serializes the organization's writers (so the
    /// engine never races itself and events commit in sequence order); on SQLite it takes the
    /// write lock up front, so a transaction never has to upgrade a read snapshot and fail BUSY.
    pub(crate) async fn open(
        env: &Env,
        org_id: Uuid,
        actor: Actor,
        first: Option<Statement>,
    ) -> AppResult<Write> {
        let now = env.now_micros();
        let tx = env.db.write.begin().await?;
        if let Some(first) = first {
            tx.execute_raw(first).await?;
        }
        let row = tx
            .query_one_raw(sql::stmt(
                &tx,
                "UPDATE organizations SET write_seq = write_seq + 1 WHERE id = $1 RETURNING write_seq",
                vals![org_id],
            ))
            .await?;
        let Some(row) = row else {
            return Err(AppError::Unauthenticated(
                "the token's organization does not exist".into(),
            ));
        };
        let seq = row.try_get_by_index::<i64>(0)?;
        Ok(Write {
            tx,
            org_id,
            actor,
            now,
            seq,
            pending: Mutex::default(),
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads row `id` of `E` back (as this change left it) and audits `action` on `subject`, from
    /// `before` to the row as `after` describes it: the end of most creations and updates.
    pub async fn read_back<E: OrgRow>(
        &self,
        id: Uuid,
        action: Action,
        subject: Subject,
        before: Option<Json>,
        after: impl FnOnce(&E::Model) -> Json,
    ) -> AppResult<E::Model> {
        let row = rows::require::<E>(self, self.org_id, id).await?;
        self.audit(action, subject, before, Some(after(&row)))
            .await?;
        Ok(row)
    }

    /// Appends an audit event of this change (same transaction, same instant, same actor).
    pub async fn audit(
        &self,
        action: Action,
        subject: Subject,
        before: Option<Json>,
        after: Option<Json>,
    ) -> AppResult<()> {
        self.about(subject);
        sql::exec(
            self,
            "INSERT INTO audit_events (id, org_id, at, actor_type, actor_id, action, subject_type, subject_id, before_json, after_json, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            vals![
                Uuid::now_v7(),
                self.org_id,
                self.now,
                self.actor.kind.as_str(),
                self.actor.id,
                action.as_str(),
                subject.kind.as_str(),
                subject.id,
                before.map(|v| v.to_string()),
                after.map(|v| v.to_string()),
                self.actor.request_id.clone(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Names what the change is about before its first audit event (for a change that
    /// reconciles before it audits).
    pub fn about(&self, subject: Subject) {
        let mut pending = self.pending();
        if pending.subject.is_none() {
            pending.subject = Some(subject);
        }
    }

    /// The subject the change's reconcile is audited about: its first audit event's subject.
    pub fn subject(&self) -> Subject {
        self.pending()
            .subject
            .unwrap_or(Subject::organization(self.org_id))
    }

    /// Asks for the assignments of `scope` to be reconciled before commit (once, however many
    /// times the change asks).
    pub fn reconcile(&self, scope: Scope) {
        self.pending().reconciles.push((scope, None));
    }

    /// Like `reconcile`, for these courses only (a rule's bundle changed, not its audience).
    pub fn reconcile_courses(&self, scope: Scope, courses: Vec<Uuid>) {
        self.pending().reconciles.push((scope, Some(courses)));
    }

    /// The reconciles asked for so far, merged (see `merge`), and no longer pending.
    pub(crate) fn take_reconciles(&self) -> Vec<(Scope, Option<Vec<Uuid>>)> {
        merge(std::mem::take(&mut self.pending().reconciles))
    }

    /// Adds what a reconcile changed to the change's outcome.
    pub(crate) fn add_outcome(&self, outcome: &Outcome) {
        self.pending().outcome.merge(outcome.clone());
    }

    pub(crate) fn take_outcome(&self) -> Outcome {
        std::mem::take(&mut self.pending().outcome)
    }

    /// Asks for the open sessions (WebSocket connections) of `user_id` to end once the change
    /// commits: the user may no longer act.
    pub fn end_sessions(&self, user_id: Uuid) {
        self.pending().ended_sessions.push(user_id);
    }

    /// Commits, then tells the live bus that the organization's event log may have grown (and
    /// ends the sessions the change revoked).
    pub(crate) async fn commit(self, events: &EventBus) -> AppResult<()> {
        let org_id = self.org_id;
        let ended = std::mem::take(&mut self.pending().ended_sessions);
        self.tx.commit().await?;
        events.notify(org_id);
        for user_id in ended {
            events.sessions.revoke(
                org_id,
                user_id,
                "the user was deactivated; this connection may no longer act",
            );
        }
        Ok(())
    }

    pub(crate) async fn rollback(self) -> AppResult<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// Merges asked reconciles: everyone with every course absorbs all; users asked for the same
/// course restriction are reconciled together; the same scope twice runs once.
fn merge(asked: Vec<(Scope, Option<Vec<Uuid>>)>) -> Vec<(Scope, Option<Vec<Uuid>>)> {
    if asked
        .iter()
        .any(|(s, c)| matches!(s, Scope::All) && c.is_none())
    {
        return vec![(Scope::All, None)];
    }
    let mut out: Vec<(Scope, Option<Vec<Uuid>>)> = Vec::new();
    for (scope, courses) in asked {
        if let Scope::Users(users) = &scope
            && let Some((Scope::Users(into), _)) = out
                .iter_mut()
                .find(|(s, c)| matches!(s, Scope::Users(_)) && *c == courses)
        {
            for u in users {
                if !into.contains(u) {
                    into.push(*u);
                }
            }
            continue;
        }
        if !out
            .iter()
            .any(|(s, c)| same_scope(s, &scope) && *c == courses)
        {
            out.push((scope, courses));
        }
    }
    out
}

fn same_scope(a: &Scope, b: &Scope) -> bool {
    match (a, b) {
        (Scope::All, Scope::All) => true,
        (Scope::Members(x), Scope::Members(y)) => x == y,
        (Scope::Users(x), Scope::Users(y)) => x == y,
        _ => false,
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Write {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_reconciles_unites_users_and_lets_everyone_absorb_all() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let merged = merge(vec![
            (Scope::Users(vec![a]), None),
            (Scope::Users(vec![b, a]), None),
            (Scope::Users(vec![c]), Some(vec![a])),
            (Scope::Members(b), None),
            (Scope::Members(b), None),
        ]);
        assert_eq!(merged.len(), 3);
        assert!(matches!(&merged[0], (Scope::Users(u), None) if *u == vec![a, b]));
        assert!(matches!(&merged[1], (Scope::Users(u), Some(_)) if *u == vec![c]));
        assert!(matches!(&merged[2], (Scope::Members(g), None) if *g == b));
        let all = merge(vec![(Scope::Users(vec![a]), None), (Scope::All, None)]);
        assert!(matches!(all.as_slice(), [(Scope::All, None)]));
    }
}
