//! Database rows of skillgraph, one module per table. Nothing here knows about GraphQL: the API
//! layer wraps these rows in its own types. Times are `i64` microseconds since the Unix epoch.

pub mod audit_event;
pub mod group;
pub mod membership;
pub mod organization;
pub mod role;
pub mod user;
