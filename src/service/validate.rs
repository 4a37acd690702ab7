//! Validated values: parsed once at the service boundary, trusted afterwards.

use std::collections::BTreeMap;

use crate::error::{AppError, AppResult};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 10_000;

/// A lower-cased, syntactically plausible email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub display: String,
    pub normalized: String,
}

impl Email {
    pub fn parse(field: &str, raw: &str) -> AppResult<Email> {
        let email = raw.trim();
        let bad = || {
            AppError::validation(
                field,
                format!("'{}' is not a valid email address", truncate(email, 80)),
            )
        };
        if email.is_empty()
            || email.chars().count() > 254
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || local.contains('@')
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || !domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        {
            return Err(bad());
        }
        Ok(Email {
            display: email.to_string(),
            normalized: email.to_lowercase(),
        })
    }
}

/// A required, trimmed name of 1..=200 characters without control characters.
pub fn name(field: &str, raw: &str) -> AppResult<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(AppError::validation(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::validation(
            field,
            format!("{field} must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(AppError::validation(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// An optional short text: empty after trimming means "none".
pub fn optional_name(field: &str, raw: Option<&str>) -> AppResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => name(field, s).map(Some),
    }
}

/// An optional long text (descriptions).
pub fn optional_text(field: &str, raw: Option<&str>) -> AppResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > MAX_TEXT_CHARS => Err(AppError::validation(
            field,
            format!("{field} must be at most {MAX_TEXT_CHARS} characters"),
        )),
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// User attributes: a JSON object whose values are all strings. Keys are trimmed, non-empty and
/// at most 100 characters; values at most 1,000.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes(pub BTreeMap<String, String>);

impl Attributes {
    pub fn parse(field: &str, value: &serde_json::Value) -> AppResult<Attributes> {
        let object = match value {
            serde_json::Value::Null => return Ok(Attributes::default()),
            serde_json::Value::Object(o) => o,
            _ => {
                return Err(AppError::validation(
                    field,
                    "attributes must be a JSON object of string values",
                ));
            }
        };
        if object.len() > 100 {
            return Err(AppError::validation(field, "at most 100 attributes"));
        }
        let mut map = BTreeMap::new();
        for (key, value) in object {
            let key_trimmed = key.trim();
            if key_trimmed.is_empty()
                || key_trimmed.chars().count() > 100
                || key_trimmed.chars().any(char::is_control)
            {
                return Err(AppError::validation(
                    field,
                    format!("attribute name '{}' is not allowed", truncate(key, 40)),
                ));
            }
            let serde_json::Value::String(text) = value else {
                return Err(AppError::validation(
                    field,
                    format!("attribute '{key_trimmed}' must be a string"),
                ));
            };
            if text.chars().count() > 1_000 {
                return Err(AppError::validation(
                    field,
                    format!("attribute '{key_trimmed}' is too long"),
                ));
            }
            map.insert(key_trimmed.to_string(), text.clone());
        }
        Ok(Attributes(map))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }
}

/// The most responsibilities a role lists, and the longest one.
pub const MAX_RESPONSIBILITIES: usize = 50;
pub const MAX_RESPONSIBILITY_CHARS: usize = 1_000;

/// A role's key responsibilities: trimmed, empty ones dropped, at most 50 of at most 1,000
/// characters each, without control characters.
pub fn responsibilities(field: &str, raw: &[String]) -> AppResult<Vec<String>> {
    let list: Vec<String> = raw
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if list.len() > MAX_RESPONSIBILITIES {
        return Err(AppError::validation(
            field,
            format!("at most {MAX_RESPONSIBILITIES} responsibilities"),
        ));
    }
    for r in &list {
        if r.chars().count() > MAX_RESPONSIBILITY_CHARS {
            return Err(AppError::validation(
                field,
                format!("a responsibility must be at most {MAX_RESPONSIBILITY_CHARS} characters"),
            ));
        }
        if r.chars().any(char::is_control) {
            return Err(AppError::validation(
                field,
                "a responsibility must not contain control characters",
            ));
        }
    }
    Ok(list)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Escapes `\`, `%` and `_` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("email", " Ann@Example.COM ")
                .unwrap()
                .normalized,
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@exa mple.com",
            "ann@@example.com",
            "ann@.com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attributes_must_be_an_object_of_strings() {
        assert!(Attributes::parse("attributes", &serde_json::json!({"a": "b"})).is_ok());
        assert!(Attributes::parse("attributes", &serde_json::json!({"a": 1})).is_err());
        assert!(Attributes::parse("attributes", &serde_json::json!(["a"])).is_err());
        assert!(Attributes::parse("attributes", &serde_json::json!("x")).is_err());
        assert!(Attributes::parse("attributes", &serde_json::json!({"": "x"})).is_err());
    }

    #[test]
    fn names() {
        assert!(name("name", "   ").is_err());
        assert!(name("name", &"x".repeat(201)).is_err());
        assert_eq!(name("name", " Ann ").unwrap(), "Ann");
    }
}
