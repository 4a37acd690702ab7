//! Small helpers for the hand-written SQL of the services. Statements use `$1`-style parameters,
//! which both PostgreSQL and SQLite (through sqlx) accept, so one text serves both databases.

use sea_orm::{ConnectionTrait, FromQueryResult, Statement, Value};
use uuid::Uuid;

use crate::error::AppResult;

pub fn stmt(conn: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(conn.get_database_backend(), sql, values)
}

/// Runs a statement that returns no rows; the number of rows affected.
pub async fn exec(conn: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> AppResult<u64> {
    Ok(conn
        .execute_raw(stmt(conn, sql, values))
        .await?
        .rows_affected())
}

pub async fn all<T: FromQueryResult>(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> AppResult<Vec<T>> {
    Ok(T::find_by_statement(stmt(conn, sql, values))
        .all(conn)
        .await?)
}

pub async fn one<T: FromQueryResult>(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> AppResult<Option<T>> {
    Ok(T::find_by_statement(stmt(conn, sql, values))
        .one(conn)
        .await?)
}

/// A single `BIGINT` (counts, sums; NULL → 0).
pub async fn scalar_i64(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> AppResult<i64> {
    let row = conn.query_one_raw(stmt(conn, sql, values)).await?;
    Ok(match row {
        Some(row) => row.try_get_by_index::<Option<i64>>(0)?.unwrap_or(0),
        None => 0,
    })
}

/// Ids in one column.
pub async fn ids(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> AppResult<Vec<Uuid>> {
    let rows = conn.query_all_raw(stmt(conn, sql, values)).await?;
    rows.iter()
        .map(|r| Ok(r.try_get_by_index::<Uuid>(0)?))
        .collect()
}

/// Refuses with CONFLICT when another row of `table` in the organization already has `name`
/// (case-insensitively, by `name_norm`); `except` is the row being renamed. `what` names the
/// kind of object in the message ("role", "skill" …).
pub async fn ensure_name_free(
    conn: &impl ConnectionTrait,
    table: &'static str,
    what: &str,
    org_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> AppResult<()> {
    let taken = ids(
        conn,
        &format!("SELECT id FROM {table} WHERE org_id = $1 AND name_norm = $2"),
        vec![org_id.into(), name.to_lowercase().into()],
    )
    .await?;
    if taken.iter().any(|id| Some(*id) != except) {
        return Err(crate::error::AppError::conflict(format!(
            "a {what} named '{name}' already exists"
        )));
    }
    Ok(())
}

/// `$from, $from+1, …` for `n` values: the placeholders of an `IN (…)` list.
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds a `Vec<Value>` from anything sea-orm can bind.
#[macro_export]
macro_rules! vals {
    ($($v:expr),* $(,)?) => { vec![$(sea_orm::Value::from($v)),*] };
}

/// A statement assembled from parts, numbering its `$n` parameters as they are bound.
#[derive(Debug, Default)]
pub struct Q {
    pub text: String,
    pub values: Vec<Value>,
}

impl Q {
    pub fn new() -> Q {
        Q::default()
    }

    pub fn push(&mut self, s: &str) -> &mut Q {
        self.text.push_str(s);
        self
    }

    /// Binds a value and returns its placeholder.
    pub fn bind(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        format!("${}", self.values.len())
    }

    /// Binds every id and returns the placeholders, comma-separated (for `IN (…)`).
    pub fn bind_ids(&mut self, ids: &[Uuid]) -> String {
        ids.iter()
            .map(|id| self.bind(*id))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn bind_strs(&mut self, items: &[String]) -> String {
        items
            .iter()
            .map(|s| self.bind(s.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub async fn exec(self, conn: &impl ConnectionTrait) -> AppResult<u64> {
        exec(conn, &self.text, self.values).await
    }

    pub async fn all<T: FromQueryResult>(self, conn: &impl ConnectionTrait) -> AppResult<Vec<T>> {
        all(conn, &self.text, self.values).await
    }

    /// The rows grouped by `key`, each group in the order of the query (the loaders' shape:
    /// one statement for many parents).
    pub async fn grouped<T: FromQueryResult, K: std::hash::Hash + Eq>(
        self,
        conn: &impl ConnectionTrait,
        key: impl Fn(&T) -> K,
    ) -> AppResult<std::collections::HashMap<K, Vec<T>>> {
        let mut out: std::collections::HashMap<K, Vec<T>> = std::collections::HashMap::new();
        for row in self.all::<T>(conn).await? {
            out.entry(key(&row)).or_default().push(row);
        }
        Ok(out)
    }

    pub async fn ids(self, conn: &impl ConnectionTrait) -> AppResult<Vec<Uuid>> {
        ids(conn, &self.text, self.values).await
    }

    pub async fn scalar_i64(self, conn: &impl ConnectionTrait) -> AppResult<i64> {
        scalar_i64(conn, &self.text, self.values).await
    }
}
