//! Relay connections built from a service `Page`. `totalCount` is computed only when asked for.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Object, OutputType};
use futures_util::future::BoxFuture;

use crate::error::AppResult;
use crate::service::page::Page;

type CountFn = Arc<dyn Fn() -> BoxFuture<'static, AppResult<i64>> + Send + Sync>;

/// The extra fields of every connection.
pub struct ConnectionFields {
    count: CountFn,
}

/// The extra fields of every connection.
#[Object]
impl ConnectionFields {
    /// How many items match the filter, across all pages.
    async fn total_count(&self) -> async_graphql::Result<i64> {
        Ok((self.count)().await?)
    }
}

pub type Conn<T> = Connection<String, T, ConnectionFields>;

/// Wraps a page into a connection; `count` runs the matching `COUNT(*)` if `totalCount` is
/// selected.
pub fn connection<R, T: OutputType>(
    page: Page<R>,
    wrap: impl Fn(R) -> T,
    count: impl Fn() -> BoxFuture<'static, AppResult<i64>> + Send + Sync + 'static,
) -> Conn<T> {
    let mut conn = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        ConnectionFields {
            count: Arc::new(count),
        },
    );
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, row)| Edge::new(cursor, wrap(row))),
    );
    conn
}

/// What one page of a connection costs a request's complexity budget (`--max-complexity`):
/// a base for the statement that reads it, plus `first` (default 50, at most 500) times its
/// selection (at least 1, so `{ __typename }` pages are not free).
pub fn cost(first: Option<i32>, child_complexity: usize) -> usize {
    CONNECTION_COST + first.unwrap_or(50).clamp(1, 500) as usize * child_complexity.max(1)
}

/// Like `cost`, for match connections, which score every role (or person) before paging.
pub fn match_cost(first: Option<i32>, child_complexity: usize) -> usize {
    MATCH_COST + cost(first, child_complexity)
}

/// The base cost of reading one connection page.
pub const CONNECTION_COST: usize = 10;

/// The base cost of a computation over a whole catalogue (matches, paths, reports).
pub const MATCH_COST: usize = 100;
