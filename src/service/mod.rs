//! Domain services: every business rule lives here, in plain Rust that knows nothing of GraphQL.
//! Public functions take the `Env` and the `Viewer`; a change runs as one unit of work
//! (`unit::run`), and its `*_in` functions take the `Write` so that they compose inside another
//! change. Reads take any connection.

pub mod api_client;
pub mod assessment;
pub mod assignment;
pub mod audit;
pub mod authz;
pub mod compliance;
pub mod course;
pub mod engine;
pub mod events;
pub mod group;
pub mod manual;
pub mod matching;
pub mod membership;
pub mod org;
pub mod page;
pub mod role;
pub mod role_import;
pub mod rows;
pub mod rule;
pub mod session;
pub mod skill;
pub mod skill_dependency;
pub mod sql;
pub mod track;
pub mod track_report;
pub mod unit;
pub mod user;
pub mod validate;
pub mod viewer;
pub mod write;

/// Microseconds since the epoch of the environment's clock: the storage format of every time
/// column.
pub fn now_micros(env: &unit::Env) -> i64 {
    env.now_micros()
}
