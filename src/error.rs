//! The one error type of skillgraph. Services return `AppError`; the GraphQL layer turns it into
//! an error whose `extensions.code` is one of the codes of the API contract. Internal errors are
//! logged with their cause and shown to clients only as "internal error".

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;

/// One problem in a multi-problem validation error (CSV import): `row` is the line number in
/// the file, the header being line 1.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// Deliberately not `Display`: async-graphql converts any `Display` type into an error without
/// extensions, so with `Display` a `?` in a resolver would silently drop `extensions.code`.
/// Without it, the only conversion is ours (below), which always sets the code.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(String),
    Forbidden(String),
    /// What was not found ("user", "group" …).
    NotFound(String),
    Validation {
        field: String,
        message: String,
    },
    /// Several problems at once (CSV import), each with its row and column.
    ValidationList {
        message: String,
        errors: Vec<RowError>,
    },
    Conflict(String),
    /// A unique index refused a row. The statement's caller names what that means
    /// (`on_unique`); unnamed, clients see a generic CONFLICT. Holds the database's detail,
    /// which names the index (PostgreSQL) or its columns (SQLite).
    Unique(String),
    RateLimited(String),
    /// The cause is logged, never shown.
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    pub fn forbidden(what: impl Into<String>) -> Self {
        AppError::Forbidden(what.into())
    }

    pub fn conflict(what: impl Into<String>) -> Self {
        AppError::Conflict(what.into())
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }

    /// The message clients see.
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthenticated(m) | AppError::Forbidden(m) | AppError::Conflict(m) => {
                m.clone()
            }
            AppError::Unique(_) => "the object already exists".into(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::Validation { message, .. } | AppError::ValidationList { message, .. } => {
                message.clone()
            }
            AppError::RateLimited(m) => format!("rate limited: {m}"),
            AppError::Internal(_) => "internal error".into(),
        }
    }

    /// The `extensions.code` clients see.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Validation { .. } | AppError::ValidationList { .. } => "VALIDATION",
            AppError::Conflict(_) | AppError::Unique(_) => "CONFLICT",
            AppError::RateLimited(_) => "RATE_LIMITED",
            AppError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            return AppError::Unique(detail);
        }
        AppError::Internal(err.to_string())
    }
}

/// A unique index whose violation means something to the client: its name, which PostgreSQL
/// reports, and its columns as SQLite reports them (`table.column, …`).
#[derive(Debug, Clone, Copy)]
pub struct UniqueIndex {
    pub name: &'static str,
    pub columns: &'static str,
    pub message: &'static str,
}

impl AppError {
    /// Where a statement runs: a violation of `index` becomes CONFLICT with its message.
    pub fn on_unique(self, index: &UniqueIndex) -> AppError {
        match self {
            AppError::Unique(detail)
                if detail.contains(index.name) || detail.contains(index.columns) =>
            {
                AppError::Conflict(index.message.to_string())
            }
            other => other,
        }
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        let message = match self {
            AppError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                "internal error".to_string()
            }
            other => other.message(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                AppError::Validation { field, .. } => ext.set("field", field.as_str()),
                AppError::ValidationList { errors, .. } => {
                    let list: Vec<async_graphql::Value> = errors
                        .iter()
                        .map(|e| {
                            let mut map = async_graphql::indexmap::IndexMap::new();
                            map.insert(
                                async_graphql::Name::new("row"),
                                async_graphql::Value::from(e.row as i64),
                            );
                            map.insert(
                                async_graphql::Name::new("column"),
                                async_graphql::Value::from(e.column.as_str()),
                            );
                            map.insert(
                                async_graphql::Name::new("message"),
                                async_graphql::Value::from(e.message.as_str()),
                            );
                            async_graphql::Value::Object(map)
                        })
                        .collect();
                    ext.set("errors", async_graphql::Value::List(list));
                }
                _ => {}
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}
