//! The unit of work: the one way a change is made. Every mutation (GraphQL, SCIM, xAPI, a
//! scheduler transition, the CLI) calls `run` (or `system` / `dry_run`), which
//!
//! 1. checks the permission for the ids the change names (`Authority`),
//! 2. reads the clock once and begins the organization's write transaction,
//! 3. hands the change a `Write` (transaction, organization, actor, now) on which it audits
//!    (`audit`) and asks for reconciles (`reconcile`), which accumulate,
//! 4. reconciles once, before commit, everything the change asked for,
//! 5. commits, and only then wakes the live event bus.
//!
//! An error anywhere drops the transaction: nothing of the change is written.
//!
//! ```ignore
//! pub async fn add(env: &Env, viewer: &Viewer, user: Uuid, group: Uuid) -> AppResult<(Membership, Outcome)> {
//!     unit::run(env, viewer, Authority::requires(Permission::ManageOrg, [Named::User(user), Named::Group(group)]),
//!         async |w| add_in(w, user, group).await).await
//! }
//! ```

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
use crate::service::audit::{self, Action, Subject};
use crate::service::authz::{self, Named, Permission};
use crate::service::engine::{self, Outcome, Scope};
use crate::service::events::EventBus;
use crate::service::viewer::{Actor, Viewer};

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

/// What a change must be allowed before its transaction begins.
#[derive(Debug, Clone)]
pub enum Authority {
    /// The viewer's org role (or an API client's scopes) must allow the permission. When it does
    /// not, ids that name nothing in the viewer's organization answer NOT_FOUND first, so another
    /// organization's ids are never confirmed to exist.
    Requires(Permission, Vec<Named>),
    /// Any authenticated viewer; the change decides per object inside its transaction (a
    /// learner's own profile, a track's owner, one's own assignment).
    PerObject,
}

impl Authority {
    pub fn requires(permission: Permission, named: impl IntoIterator<Item = Named>) -> Self {
        Authority::Requires(permission, named.into_iter().collect())
    }

    async fn check(&self, env: &Env, viewer: &Viewer) -> AppResult<()> {
        match self {
            Authority::Requires(permission, named) => {
                authz::require_naming(&env.db.read, viewer, *permission, named).await
            }
            Authority::PerObject => Ok(()),
        }
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
}

impl Write {
    /// Begins the write transaction of `org_id`. Its first statement bumps the organization's
    /// write counter: on PostgreSQL that row lock serializes the organization's writers (so the
    /// engine never races itself and events commit in sequence order); on SQLite it takes the
    /// write lock up front, so a transaction never has to upgrade a read snapshot and fail BUSY.
    async fn begin(env: &Env, org_id: Uuid, actor: Actor) -> AppResult<Write> {
        Self::open(env, org_id, actor, None).await
    }

    /// `begin`, running `first` (the row of a new organization) before the counter's bump.
    async fn open(
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
        let backend = tx.get_database_backend();
        let row = tx
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE organizations SET write_seq = write_seq + 1 WHERE id = $1 RETURNING write_seq",
                [org_id.into()],
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

    /// Appends an audit event of this change (same transaction, same instant, same actor).
    pub async fn audit(
        &self,
        action: Action,
        subject: Subject,
        before: Option<Json>,
        after: Option<Json>,
    ) -> AppResult<()> {
        self.about(subject);
        audit::record(self, action, subject, before, after).await
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
    pub(crate) fn subject(&self) -> Subject {
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

    /// Reconciles now (for a change that must see the result before it goes on); what it
    /// changes is part of the change's outcome.
    pub async fn reconcile_now(
        &self,
        scope: Scope,
        courses: Option<Vec<Uuid>>,
    ) -> AppResult<Outcome> {
        let outcome = engine::reconcile(self, scope, courses).await?;
        self.pending().outcome.merge(outcome.clone());
        Ok(outcome)
    }

    /// Runs the reconciles asked for so far, now: for a change that goes on to act on the
    /// assignments they make (record completions against them, say). Their outcome stays part
    /// of the change's.
    pub async fn flush(&self) -> AppResult<()> {
        let asked = std::mem::take(&mut self.pending().reconciles);
        for (scope, courses) in merge(asked) {
            self.reconcile_now(scope, courses).await?;
        }
        Ok(())
    }

    /// Runs the reconciles still asked for (one per distinct scope, with every listed user of
    /// the same course restriction merged into one) and returns the change's outcome.
    async fn settle(&self) -> AppResult<Outcome> {
        self.flush().await?;
        Ok(std::mem::take(&mut self.pending().outcome))
    }

    async fn commit(self, events: &EventBus) -> AppResult<()> {
        let org_id = self.org_id;
        self.tx.commit().await?;
        events.notify(org_id);
        Ok(())
    }
}

/// Merges asked reconciles: everyone with every course absorbs all; users asked for the same
/// course restriction are reconciled together.
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

/// Makes `change` as `viewer`, in one transaction (see the module's documentation). Returns what
/// the change returned and what its reconciles changed.
pub async fn run<T>(
    env: &Env,
    viewer: &Viewer,
    authority: Authority,
    change: impl AsyncFnOnce(&Write) -> AppResult<T>,
) -> AppResult<(T, Outcome)> {
    authority.check(env, viewer).await?;
    let w = Write::begin(env, viewer.org_id, Actor::of(viewer)).await?;
    let value = change(&w).await?;
    let outcome = w.settle().await?;
    w.commit(&env.events).await?;
    Ok((value, outcome))
}

/// Makes `change` as the system (the scheduler, the CLI, the demo seed): no permission to check.
pub async fn system<T>(
    env: &Env,
    org_id: Uuid,
    change: impl AsyncFnOnce(&Write) -> AppResult<T>,
) -> AppResult<(T, Outcome)> {
    let w = Write::begin(env, org_id, Actor::system()).await?;
    let value = change(&w).await?;
    let outcome = w.settle().await?;
    w.commit(&env.events).await?;
    Ok((value, outcome))
}

/// Founds an organization: `insert` writes its row (with `write_seq` 0), then `change` is made in
/// it as the system, all in one transaction.
pub async fn founding<T>(
    env: &Env,
    org_id: Uuid,
    insert: Statement,
    change: impl AsyncFnOnce(&Write) -> AppResult<T>,
) -> AppResult<(T, Outcome)> {
    let w = Write::open(env, org_id, Actor::system(), Some(insert)).await?;
    let value = change(&w).await?;
    let outcome = w.settle().await?;
    w.commit(&env.events).await?;
    Ok((value, outcome))
}

/// Runs `job` in a transaction of its own that belongs to no organization's changes: the
/// cross-organization housekeeping of the server (event retention), which audits nothing.
pub async fn housekeeping<T>(
    env: &Env,
    job: impl AsyncFnOnce(&DatabaseTransaction) -> AppResult<T>,
) -> AppResult<T> {
    let tx = env.db.write.begin().await?;
    let value = job(&tx).await?;
    tx.commit().await?;
    Ok(value)
}

/// Makes `change` exactly as `run` would, reconciles included, then rolls it all back: a dry
/// run whose answer is what the real change does, by construction.
pub async fn dry_run<T>(
    env: &Env,
    viewer: &Viewer,
    authority: Authority,
    change: impl AsyncFnOnce(&Write) -> AppResult<T>,
) -> AppResult<(T, Outcome)> {
    authority.check(env, viewer).await?;
    let w = Write::begin(env, viewer.org_id, Actor::of(viewer)).await?;
    let value = change(&w).await?;
    let outcome = w.settle().await?;
    w.tx.rollback().await?;
    Ok((value, outcome))
}

/// `system`, rolled back: what the system would change, changing nothing (the engine's checks
/// and tests ask it whether a second reconcile would do anything).
pub async fn rehearse<T>(
    env: &Env,
    org_id: Uuid,
    change: impl AsyncFnOnce(&Write) -> AppResult<T>,
) -> AppResult<(T, Outcome)> {
    let w = Write::begin(env, org_id, Actor::system()).await?;
    let value = change(&w).await?;
    let outcome = w.settle().await?;
    w.tx.rollback().await?;
    Ok((value, outcome))
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
