//! Signed tokens (JWT): verification keys with a pinned algorithm, the claims a token carries,
//! and minting for servers that hold a shared secret.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::viewer::OrgRole;

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
    /// The longest lifetime a token may claim (`exp` − `iat`, or `exp` − now without `iat`).
    max_ttl: Option<i64>,
}

/// The shortest HS256 secret a server accepts (bytes): HS256 keys should be as long as the
/// hash (RFC 7518, section 3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// The default of `--max-token-ttl`: 30 days.
pub const DEFAULT_MAX_TTL_SECS: i64 = 30 * 24 * 3600;

/// Parses a lifetime such as `30d`, `12h`, `90m`, `3600s` or `3600` (seconds).
pub fn parse_ttl(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a lifetime (like 30d, 12h, 90m or 3600s)"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?} is not a lifetime (like 30d, 12h, 90m or 3600s)"
            ));
        }
    };
    n.checked_mul(scale)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{text:?} is not a positive lifetime"))
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JwtKeys({:?}, key hidden)", self.validation.algorithms)
    }
}

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 30;

fn validation(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = LEEWAY_SECS as u64;
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
            max_ttl: None,
        }
    }

    /// Like `hs256`, for a server: a secret shorter than `MIN_SECRET_BYTES` is refused.
    pub fn hs256_checked(secret: &[u8]) -> AppResult<Self> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AppError::validation(
                "jwt-secret",
                format!(
                    "the JWT secret is {} bytes; at least {MIN_SECRET_BYTES} are required \
                     (for example: openssl rand -hex 32)",
                    secret.len()
                ),
            ));
        }
        Ok(Self::hs256(secret))
    }

    /// Refuses tokens that claim to live longer than `secs` (and refuses to mint them).
    pub fn with_max_ttl(mut self, secs: i64) -> Self {
        self.max_ttl = Some(secs);
        self
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
            max_ttl: None,
        })
    }

    /// Also require this issuer (`iss`): a token without the claim is refused too.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        self.validation.required_spec_claims.insert("iss".into());
        self
    }

    /// Also require this audience (`aud`): a token without the claim is refused too.
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self.validation.required_spec_claims.insert("aud".into());
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
        if let Some(max) = self.max_ttl
            && ttl.num_seconds() > max
        {
            return Err(AppError::validation(
                "ttl",
                format!("a token may live at most {max} seconds (--max-token-ttl)"),
            ));
        }
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
        let claims = self.decode(token)?;
        if let Some(max) = self.max_ttl {
            let from = claims.iat.unwrap_or_else(|| chrono::Utc::now().timestamp());
            if claims.exp.saturating_sub(from) > max {
                return Err(AppError::Unauthenticated(format!(
                    "the token lives longer than the {max} seconds this server accepts \
                     (--max-token-ttl)"
                )));
            }
        }
        Ok(claims)
    }

    fn decode(&self, token: &str) -> AppResult<Claims> {
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
                    jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                        "the token's issuer is not accepted"
                    }
                    jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                        "the token's audience is not accepted"
                    }
                    jsonwebtoken::errors::ErrorKind::MissingRequiredClaim(_) => {
                        "the token lacks a required claim (exp, sub, or the configured iss/aud)"
                    }
                    _ => "the token is malformed",
                };
                AppError::Unauthenticated(why.to_string())
            })
    }
}
