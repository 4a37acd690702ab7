//! Keyset pagination shared by every connection: a request (`first`, `after`) and a page of
//! items each with its opaque cursor. Cursors are base64url JSON of the sort key, so a page is
//! one indexed range scan however deep the client goes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub first: usize,
    pub after: Option<String>,
    /// The organization the cursors belong to: set, every cursor carries it, and another
    /// organization's cursor is refused (VALIDATION).
    pub org: Option<uuid::Uuid>,
}

impl PageRequest {
    /// `first` defaults to 50 and is capped at 500; a negative `first` is refused.
    pub fn new(first: Option<i32>, after: Option<String>) -> AppResult<PageRequest> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n < 0 => {
                return Err(AppError::validation("first", "first must not be negative"));
            }
            Some(n) => (n as usize).min(MAX_PAGE_SIZE),
        };
        Ok(PageRequest {
            first,
            after,
            org: None,
        })
    }

    /// Cursors of this page carry `org_id`; a cursor of another organization is refused.
    pub fn of_org(mut self, org_id: uuid::Uuid) -> PageRequest {
        self.org = Some(org_id);
        self
    }

    pub fn limit(&self) -> usize {
        self.first
    }

    /// The decoded sort key of `after`, if any; a cursor that does not decode is refused.
    pub fn after_key<K: DeserializeOwned>(&self) -> AppResult<Option<K>> {
        match (&self.after, self.org) {
            (None, _) => Ok(None),
            (Some(c), None) => decode_cursor(c).map(Some),
            (Some(c), Some(org)) => {
                let (of, key): (uuid::Uuid, K) = decode_cursor(c)?;
                if of != org {
                    return Err(AppError::validation(
                        "after",
                        "the cursor belongs to another organization",
                    ));
                }
                Ok(Some(key))
            }
        }
    }

    /// Trims the `limit + 1` rows a query fetched to one page and gives each its cursor.
    pub fn finish<T, K: Serialize>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> Page<T> {
        let has_next = rows.len() > self.limit();
        rows.truncate(self.limit());
        let items = rows
            .into_iter()
            .map(|row| {
                let cursor = match self.org {
                    Some(org) => encode_cursor(&(org, key(&row))),
                    None => encode_cursor(&key(&row)),
                };
                (cursor, row)
            })
            .collect();
        Page {
            items,
            has_next,
            has_previous: self.after.is_some(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next: bool,
    pub has_previous: bool,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next: self.has_next,
            has_previous: self.has_previous,
        }
    }
}

pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

pub fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> AppResult<K> {
    let bad = || AppError::validation("after", "the cursor is malformed");
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}
