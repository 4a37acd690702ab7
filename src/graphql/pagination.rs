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
