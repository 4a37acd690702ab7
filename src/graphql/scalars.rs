//! The API's own scalars: `DateTime` (RFC 3339, always UTC with `Z`) and `Date` (YYYY-MM-DD).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

/// An instant, RFC 3339 in UTC (e.g. `2026-03-01T09:00:00Z`). Inputs may carry any offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant, written in RFC 3339 (e.g. `2026-03-01T09:00:00Z`). Answers are always in UTC
/// with `Z` and whole seconds unless finer precision was stored; inputs may carry any offset
/// (`2026-03-01T10:00:00+01:00` is the same instant).
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(format!("'{s}' is not an RFC 3339 date-time"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl DateTime {
    pub fn from_micros(micros: i64) -> Self {
        DateTime(crate::clock::from_micros(micros))
    }

    /// Microseconds since the epoch (the storage format), truncating finer precision.
    pub fn micros(&self) -> i64 {
        self.0.timestamp_micros()
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date with no time of day or zone, `YYYY-MM-DD` (ISO 8601's full-date, as in RFC
/// 3339), e.g. `2024-09-01` for a hire date.
#[Scalar(
    name = "Date",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom(format!("'{s}' is not a YYYY-MM-DD date"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// Registers nothing of its own: it describes the scalars async-graphql brings (`ID`, `JSON`)
/// so that every type of the schema carries a description (`build_schema` registers it).
pub struct BuiltinScalars;

impl async_graphql::OutputType for BuiltinScalars {
    fn type_name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("ID")
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        use async_graphql::registry::MetaType;
        let notes = [
            (
                "ID",
                "An opaque identifier. Ids of this API are UUIDs (e.g. \
                 `0193c5a2-6f1e-7c3a-9d2b-1a2b3c4d5e6f`); treat them as strings, never parse them.",
                None,
            ),
            (
                "JSON",
                "Any JSON value (RFC 8259): an object, array, string, number, boolean or null.",
                Some("https://www.rfc-editor.org/rfc/rfc8259"),
            ),
        ];
        for (name, text, url) in notes {
            if let Some(MetaType::Scalar {
                description,
                specified_by_url,
                ..
            }) = registry.types.get_mut(name)
            {
                *description = Some(text.to_string());
                if let Some(url) = url {
                    *specified_by_url = Some(url.to_string());
                }
            }
        }
        "ID".to_string()
    }

    async fn resolve(
        &self,
        _: &async_graphql::ContextSelectionSet<'_>,
        _: &async_graphql::Positioned<async_graphql::parser::types::Field>,
    ) -> async_graphql::ServerResult<Value> {
        Ok(Value::Null)
    }
}
