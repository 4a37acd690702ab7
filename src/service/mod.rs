//! Domain services: every business rule lives here, in plain Rust that knows nothing of GraphQL.
//! Public functions take the `AppState` and the `Viewer`, check permission, run one transaction
//! and return rows; `*_in` functions take any connection so they compose inside a transaction.

pub mod assessment;
pub mod assignment;
pub mod audit;
pub mod authz;
pub mod compliance;
pub mod course;
pub mod engine;
pub mod events;
pub mod group;
pub mod matching;
pub mod membership;
pub mod org;
pub mod page;
pub mod role;
pub mod role_import;
pub mod rule;
pub mod skill;
pub mod skill_dependency;
pub mod sql;
pub mod track;
pub mod track_report;
pub mod tx;
pub mod user;
pub mod validate;
pub mod viewer;

/// Microseconds since the epoch of the state's clock: the storage format of every time column.
pub fn now_micros(state: &crate::state::AppState) -> i64 {
    state.clock.now().timestamp_micros()
}
