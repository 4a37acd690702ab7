//! Tokens and the viewer. A request is made by a `Viewer`: a user of one organization acting in
//! one org role, proven by a signed JWT (HS256 with a shared secret). The algorithm is pinned,
//! `exp` is required and `nbf` honoured, and the user must exist in its organization and be active.

use std::collections::HashSet;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The organization-wide role a token grants (DESIGN.md, "Who may do what").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrgRole {
    Owner,
    Admin,
    Hr,
    Manager,
    Learner,
}

impl OrgRole {
    pub fn parse(s: &str) -> Option<OrgRole> {
        match s.to_ascii_uppercase().as_str() {
            "OWNER" => Some(OrgRole::Owner),
            "ADMIN" => Some(OrgRole::Admin),
            "HR" => Some(OrgRole::Hr),
            "MANAGER" => Some(OrgRole::Manager),
            "LEARNER" => Some(OrgRole::Learner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "OWNER",
            OrgRole::Admin => "ADMIN",
            OrgRole::Hr => "HR",
            OrgRole::Manager => "MANAGER",
            OrgRole::Learner => "LEARNER",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The organization id.
    pub org: String,
    pub role: OrgRole,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Verification (and, with a shared secret, signing) keys with the pinned algorithm: HS256 with
/// a shared secret, or RS256/EdDSA with the public key of a company's identity provider (such a
/// server verifies tokens but cannot mint them). Only the configured algorithm is accepted, so
/// `none` and HS/RS confusion are refused.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JwtKeys({:?}, key hidden)", self.validation.algorithms)
    }
}

fn validation(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = 30;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation
}

impl JwtKeys {
    pub fn hs256(secret: &[u8]) -> Self {
        JwtKeys {
            encoding: Some(EncodingKey::from_secret(secret)),
            decoding: DecodingKey::from_secret(secret),
            validation: validation(Algorithm::HS256),
        }
    }

    /// Verifies tokens signed by an identity provider: `algorithm` is "RS256" or "EdDSA" and
    /// `pem` its public key (PEM).
    pub fn public_key(algorithm: &str, pem: &[u8]) -> AppResult<Self> {
        let (algorithm, decoding) = match algorithm.to_ascii_uppercase().as_str() {
            "RS256" => (Algorithm::RS256, DecodingKey::from_rsa_pem(pem)),
            "EDDSA" => (Algorithm::EdDSA, DecodingKey::from_ed_pem(pem)),
            other => {
                return Err(AppError::internal(format!(
                    "unsupported JWT algorithm {other} (RS256 or EdDSA)"
                )));
            }
        };
        let decoding = decoding.map_err(|e| AppError::internal(format!("bad public key: {e}")))?;
        Ok(JwtKeys {
            encoding: None,
            decoding,
            validation: validation(algorithm),
        })
    }

    /// Also require this issuer (`iss`).
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        self
    }

    /// Also require this audience (`aud`).
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self
    }

    /// Whether this server can mint tokens (HS256 only).
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    /// A random secret for demo mode (never printed).
    pub fn random_secret() -> String {
        format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
    }

    pub fn mint(
        &self,
        org: Uuid,
        user: Uuid,
        role: OrgRole,
        ttl: chrono::Duration,
    ) -> AppResult<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            org: org.to_string(),
            role,
            exp: now + ttl.num_seconds(),
            iat: Some(now),
            nbf: None,
        };
        let key = self.encoding.as_ref().ok_or_else(|| {
            AppError::internal(
                "tokens are verified with a public key; this server cannot mint them",
            )
        })?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key)
            .map_err(AppError::internal)
    }

    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                let why = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the token has expired",
                    jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                        "the token is not valid yet"
                    }
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                        "the token's signature is invalid"
                    }
                    jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                        "the token's algorithm is not accepted"
                    }
                    _ => "the token is malformed",
                };
                AppError::Unauthenticated(why.to_string())
            })
    }
}

/// Who is asking. Built once per request (or WebSocket connection) from a verified token.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub role: OrgRole,
    pub request_id: Option<String>,
    /// A MANAGER's scope: themself and their direct and indirect reports, read at
    /// authentication (in the same statement) or on first use, then shared by the whole
    /// request. Empty for the other roles, whose scope needs no lookup.
    pub(crate) reports: Arc<tokio::sync::OnceCell<Arc<HashSet<Uuid>>>>,
    /// The roles a LEARNER or MANAGER may browse, computed on first use.
    pub(crate) visible_roles: Arc<tokio::sync::OnceCell<Arc<HashSet<Uuid>>>>,
}

impl Viewer {
    pub fn new(org_id: Uuid, user_id: Uuid, role: OrgRole) -> Self {
        Viewer {
            org_id,
            user_id,
            role,
            request_id: None,
            reports: Arc::default(),
            visible_roles: Arc::default(),
        }
    }

    /// The same identity with nothing cached: for each operation of a long-lived WebSocket
    /// connection, so that a scope never outlives the request that read it.
    pub fn for_operation(&self) -> Self {
        Viewer::new(self.org_id, self.user_id, self.role).with_request_id(self.request_id.clone())
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// OWNER, ADMIN and HR see every user of the organization.
    pub fn sees_everyone(&self) -> bool {
        matches!(self.role, OrgRole::Owner | OrgRole::Admin | OrgRole::Hr)
    }
}

/// Extracts the token from an `Authorization` header value (`Bearer <jwt>`, case-insensitive).
pub fn bearer(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// Verifies a bearer token and checks that its user exists in its organization and is active.
pub async fn authenticate(state: &crate::state::AppState, token: &str) -> AppResult<Viewer> {
    let claims = state.jwt.verify(token)?;
    let org_id = Uuid::parse_str(&claims.org)
        .map_err(|_| AppError::Unauthenticated("the token's organization is malformed".into()))?;
    let user_id = Uuid::parse_str(&claims.sub)
        .map_err(|_| AppError::Unauthenticated("the token's subject is malformed".into()))?;
    let found =
        crate::service::authz::load_viewer(&state.db.read, org_id, user_id, claims.role).await?;
    match found {
        Some((viewer, true)) => Ok(viewer),
        Some((_, false)) => Err(AppError::Unauthenticated(
            "the token's user is deactivated".into(),
        )),
        None => Err(AppError::Unauthenticated(
            "the token's user does not exist in its organization".into(),
        )),
    }
}
