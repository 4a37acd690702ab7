//! The unit of work: the one way a change is made. Every mutation (GraphQL, SCIM, xAPI, a
//! scheduler transition, the CLI) calls `run` (or `system`, `founding`, `dry_run`), which
//!
//! 1. checks the permission for the ids the change names (`Authority`),
//! 2. reads the clock once and begins the organization's write transaction,
//! 3. hands the change a `Write` (transaction, organization, actor, now) on which it audits
//!    (`Write::audit`) and asks for reconciles (`Write::reconcile`), which accumulate,
//! 4. reconciles once, before commit, everything the change asked for,
//! 5. commits, and only then wakes the live event bus.
//!
//! An error anywhere drops the transaction: nothing of the change is written.
//!
//! ```ignore
//! pub async fn add(env: &Env, viewer: &Viewer, user: Uuid, group: Uuid) -> AppResult<(Added, Outcome)> {
//!     let authority = Authority::requires(Permission::ManageOrg, [Named::User(user), Named::Group(group)]);
//!     unit::run(env, viewer, authority, async |w| add_in(w, user, group).await).await
//! }
//! ```

use sea_orm::{DatabaseTransaction, Statement, TransactionTrait};
use tracing::Instrument;
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::authz::{self, Named, Permission};
use crate::service::engine::{self, Outcome};
use crate::service::viewer::{Actor, Viewer};

pub use crate::service::write::{Env, Write};

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

/// Runs the reconciles the change asked for so far, now: for a change that goes on to act on
/// the assignments they make (record completions against them, say). Their outcome stays part
/// of the change's.
pub async fn flush(w: &Write) -> AppResult<()> {
    for (scope, courses) in w.take_reconciles() {
        engine::reconcile(w, scope, courses).await?;
    }
    Ok(())
}

/// Makes `change` in a transaction begun by `open`, reconciles what it asked for, and commits
/// (or, rehearsing, rolls back).
async fn make<T>(
    env: &Env,
    w: Write,
    change: impl AsyncFnOnce(&Write) -> AppResult<T>,
    commit: bool,
) -> AppResult<(T, Outcome)> {
    // A span per unit, inside the request's (which carries the request id).
    let span = tracing::info_span!("unit", org = %w.org_id, actor = ?w.actor, commit);
    let started = std::time::Instant::now();
    let result = async {
        let value = change(&w).await?;
        flush(&w).await?;
        let outcome = w.take_outcome();
        if commit {
            w.commit(&env.events).await?;
        } else {
            w.rollback().await?;
        }
        Ok((value, outcome))
    }
    .instrument(span)
    .await;
    let label = match (&result, commit) {
        (Err(_), _) => "failed",
        (Ok(_), true) => "committed",
        (Ok(_), false) => "rolled_back",
    };
    crate::measure::unit(label, started.elapsed());
    result
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
    let w = Write::open(env, viewer.org_id, Actor::of(viewer), None).await?;
    make(env, w, change, true).await
}

/// Makes `change` as the system (the scheduler, the CLI, the demo seed): no permission to check.
pub async fn system<T>(
    env: &Env,
    org_id: Uuid,
    change: impl AsyncFnOnce(&Write) -> AppResult<T>,
) -> AppResult<(T, Outcome)> {
    let w = Write::open(env, org_id, Actor::system(), None).await?;
    make(env, w, change, true).await
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
    make(env, w, change, true).await
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
    let w = Write::open(env, viewer.org_id, Actor::of(viewer), None).await?;
    make(env, w, change, false).await
}

/// `system`, rolled back: what the system would change, changing nothing (the engine's checks
/// and tests ask it whether a second reconcile would do anything).
pub async fn rehearse<T>(
    env: &Env,
    org_id: Uuid,
    change: impl AsyncFnOnce(&Write) -> AppResult<T>,
) -> AppResult<(T, Outcome)> {
    let w = Write::open(env, org_id, Actor::system(), None).await?;
    make(env, w, change, false).await
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
