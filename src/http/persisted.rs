//! Automatic persisted queries, the Apollo protocol: a client sends
//! `extensions.persistedQuery = { version: 1, sha256Hash }` with no `query`; when the server
//! knows the hash it runs that document, otherwise it answers PERSISTED_QUERY_NOT_FOUND and the
//! client sends the document once with its hash, which the server checks and keeps. Documents
//! are kept per organization (one tenant cannot learn which documents another runs) in a
//! bounded least-recently-used cache.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Documents by (organization, SHA-256 of the document).
type Documents = LruCache<(Uuid, [u8; 32]), String>;

/// The documents seen.
pub struct Persisted {
    cache: Option<Mutex<Documents>>,
}

/// Why a persisted query could not be resolved: (code, message).
pub type Refusal = (&'static str, String);

impl Persisted {
    /// A cache of `capacity` documents; 0 keeps none (every hash alone is then not found).
    pub fn new(capacity: usize) -> Self {
        Persisted {
            cache: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
        }
    }

    /// The document to run: `query` itself (kept under its hash when `extensions` carries one),
    /// or the document kept under the hash.
    pub fn resolve(
        &self,
        org: Uuid,
        query: Option<String>,
        extensions: Option<&serde_json::Map<String, Value>>,
    ) -> Result<Option<String>, Refusal> {
        let Some(persisted) = extensions.and_then(|e| e.get("persistedQuery")) else {
            return Ok(query);
        };
        let invalid = |m: &str| ("VALIDATION", m.to_string());
        let version = persisted.get("version").and_then(Value::as_i64);
        if version != Some(1) {
            return Err(invalid(
                "extensions.persistedQuery.version must be 1 (the only version of the protocol)",
            ));
        }
        let hash = persisted
            .get("sha256Hash")
            .and_then(Value::as_str)
            .and_then(|h| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(h, &mut out).ok().map(|_| out)
            })
            .ok_or_else(|| {
                invalid("extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits")
            })?;
        match query {
            Some(query) => {
                let actual: [u8; 32] = Sha256::digest(query.as_bytes()).into();
                if actual != hash {
                    return Err(invalid(&format!(
                        "extensions.persistedQuery.sha256Hash does not match the query (its SHA-256 is {})",
                        hex::encode(actual)
                    )));
                }
                if let Some(cache) = &self.cache {
                    cache
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .put((org, hash), query.clone());
                }
                Ok(Some(query))
            }
            None => {
                let found = self.cache.as_ref().and_then(|cache| {
                    cache
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&(org, hash))
                        .cloned()
                });
                // The message is the protocol's: Apollo's clients look for it.
                found.map(Some).ok_or((
                    "PERSISTED_QUERY_NOT_FOUND",
                    "PersistedQueryNotFound".to_string(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ext(hash: &str) -> serde_json::Map<String, Value> {
        json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn a_document_is_found_by_its_hash_within_its_organization_only() {
        let p = Persisted::new(2);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let query = "{ viewer { name } }";
        let hash = hex::encode(Sha256::digest(query.as_bytes()));
        assert_eq!(
            p.resolve(a, None, Some(&ext(&hash))).unwrap_err().0,
            "PERSISTED_QUERY_NOT_FOUND"
        );
        assert_eq!(
            p.resolve(a, Some(query.into()), Some(&ext(&hash)))
                .unwrap()
                .as_deref(),
            Some(query)
        );
        assert_eq!(
            p.resolve(a, None, Some(&ext(&hash))).unwrap().as_deref(),
            Some(query)
        );
        assert!(p.resolve(b, None, Some(&ext(&hash))).is_err());
        let wrong = hex::encode([0u8; 32]);
        assert_eq!(
            p.resolve(a, Some(query.into()), Some(&ext(&wrong)))
                .unwrap_err()
                .0,
            "VALIDATION"
        );
        assert_eq!(
            p.resolve(a, None, Some(&ext("xyz"))).unwrap_err().0,
            "VALIDATION"
        );
    }
}
