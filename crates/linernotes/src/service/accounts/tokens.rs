//! Tokens: short-lived JWT access tokens (HS256, `iss`/`aud`/`exp` checked, no leeway) and opaque
//! random tokens (refresh tokens and mailed single-use tokens) that are stored only as SHA-256 hashes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub sub: Uuid,
    /// The session (checked on every request, so logout and revocation take effect at once).
    pub sid: Uuid,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Not valid before (seconds since the epoch); never written by linernotes, checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    ttl: Duration,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("issuer", &self.issuer)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Signs with `key` (the configured secret, or the one kept in the database).
    pub fn new(key: &[u8], issuer: &str, ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            issuer: issuer.to_owned(),
            ttl,
        }
    }

    /// The lifetime of an access token.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs a token for a session, issued at `now`.
    pub fn issue(
        &self,
        user: Uuid,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = AccessClaims {
            sub: user,
            sid: session,
            iss: self.issuer.clone(),
            aud: self.issuer.clone(),
            iat: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
            nbf: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// Checks signature, algorithm, issuer and audience, and the times against `now` (the service
    /// clock, so tests can let tokens expire): not expired, not issued or valid only in the future, and
    /// no longer-lived than a token this server issues; `None` when any check fails.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<AccessClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked below against the service clock.
        validation.validate_exp = false;
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        let now = now.timestamp();
        let longest = self.ttl.num_seconds();
        let believable = claims.exp > now
            && claims.iat <= now
            && claims.exp - claims.iat <= longest
            && claims.exp <= now + longest
            && claims.nbf.is_none_or(|nbf| nbf <= now);
        believable.then_some(claims)
    }
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A new opaque token (256 random bits, URL-safe base64) and the hash to store.
pub fn new_opaque_token() -> (String, Vec<u8>) {
    let token = URL_SAFE_NO_PAD.encode(random_bytes(32));
    let hash = hash_token(&token);
    (token, hash)
}

/// The SHA-256 of a token as presented (what the store keeps and looks up).
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_verify_until_they_expire_and_only_with_their_key() {
        let tokens = AccessTokens::new(&random_bytes(32), "linernotes", Duration::minutes(15));
        let now = Utc::now();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = tokens.issue(user, session, now).unwrap();
        let claims = tokens.verify(&token, now).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert!(tokens.verify(&token, now + Duration::minutes(15)).is_none());
        let other = AccessTokens::new(&[7u8; 32], "linernotes", Duration::minutes(15));
        assert!(other.verify(&token, now).is_none());
        assert!(tokens.verify("not.a.token", now).is_none());
    }

    /// Signed with the right key, yet not believable: a lifetime longer than this server gives, a
    /// validity that starts in the future, an issue time in the future.
    #[test]
    fn tokens_with_impossible_times_are_refused() {
        let key = [9u8; 32];
        let tokens = AccessTokens::new(&key, "linernotes", Duration::minutes(15));
        let now = Utc::now();
        let sign = |iat: DateTime<Utc>, exp: DateTime<Utc>, nbf: Option<DateTime<Utc>>| {
            let claims = AccessClaims {
                sub: Uuid::new_v4(),
                sid: Uuid::new_v4(),
                iss: "linernotes".into(),
                aud: "linernotes".into(),
                iat: iat.timestamp(),
                exp: exp.timestamp(),
                nbf: nbf.map(|t| t.timestamp()),
            };
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(&key),
            )
            .unwrap()
        };
        let fine = sign(now, now + Duration::minutes(15), Some(now));
        assert!(tokens.verify(&fine, now).is_some());
        let long_lived = sign(now, now + Duration::days(365), None);
        assert!(tokens.verify(&long_lived, now).is_none());
        let later = sign(
            now,
            now + Duration::minutes(10),
            Some(now + Duration::minutes(5)),
        );
        assert!(tokens.verify(&later, now).is_none());
        let from_the_future = sign(
            now + Duration::minutes(5),
            now + Duration::minutes(10),
            None,
        );
        assert!(tokens.verify(&from_the_future, now).is_none());
    }

    #[test]
    fn opaque_tokens_are_random_and_hashed() {
        let (a, ha) = new_opaque_token();
        let (b, _) = new_opaque_token();
        assert_ne!(a, b);
        assert_eq!(ha, hash_token(&a));
        assert_eq!(ha.len(), 32);
    }
}
