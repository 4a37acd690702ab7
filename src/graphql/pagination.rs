//! Relay connections built from a service `Page`. `totalCount` is computed only when asked for.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::parser::types::Field;
use async_graphql::registry::{MetaType, Registry};
use async_graphql::{ContextSelectionSet, Object, OutputType, Positioned, ServerResult, Value};
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

/// A page of a list: async-graphql's Relay connection, given a description of its own.
pub struct Conn<T: OutputType>(Connection<String, T, ConnectionFields>);

impl<T: OutputType> OutputType for Conn<T> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        Connection::<String, T, ConnectionFields>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        let qualified = Connection::<String, T, ConnectionFields>::create_type_info(registry);
        let name = Self::type_name();
        if let Some(MetaType::Object { description, .. }) = registry.types.get_mut(name.as_ref())
            && description.is_none()
        {
            *description = Some(format!(
                "A page of {}, in a stable order: `nodes` (or `edges`, each with its cursor), \
                 `pageInfo` to page on, and `totalCount` across all pages. Pass \
                 `pageInfo.endCursor` as `after` for the next page.",
                T::type_name()
            ));
        }
        qualified
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        OutputType::resolve(&self.0, ctx, field).await
    }
}

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
    Conn(conn)
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
