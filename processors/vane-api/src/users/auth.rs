//! What authentication rests on: the password rules, argon2id hashing (slow on purpose, so it
//! runs on tokio's blocking pool), HS256 tokens with an expiry checked against the injected
//! clock, one-time link codes, and the per-username slowdown of repeated failed logins.

use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::ApiError;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Failed logins of one username allowed before the slowdown starts.
pub const FREE_FAILURES: u32 = 5;
/// The first wait after [`FREE_FAILURES`]; it doubles with every further failure ...
const FIRST_WAIT_MS: i64 = 1_000;
/// ... up to this.
const MAX_WAIT_MS: i64 = 5 * 60 * 1_000;
/// Link codes: length and alphabet (Telegram's deep-link parameter allows `A-Za-z0-9_-`, ≤ 64).
pub const LINK_CODE_LEN: usize = 16;
const LINK_CODE_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// Every problem with a new password, or none.
pub fn password_problems(password: &str) -> Vec<String> {
    let chars = password.chars().count();
    let mut problems = Vec::new();
    if chars < MIN_PASSWORD_CHARS {
        problems.push(format!("the password has {chars} characters; at least {MIN_PASSWORD_CHARS}"));
    }
    if chars > MAX_PASSWORD_CHARS {
        problems.push(format!("the password has {chars} characters; at most {MAX_PASSWORD_CHARS}"));
    }
    problems
}

/// Every problem with a username, or none: 3 to 64 characters of `A-Za-z0-9_.-`.
pub fn username_problems(username: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let chars = username.chars().count();
    if !(3..=64).contains(&chars) {
        problems.push(format!("the username has {chars} characters; 3 to 64"));
    }
    if !username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        problems.push("the username may hold only letters, digits, `_`, `-` and `.`".to_string());
    }
    problems
}

/// argon2id with the crate's defaults (OWASP's minimum: 19 MiB, 2 passes), on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        // 16 random bytes from uuid's v4 generator (the OS's random source).
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).map_err(|e| ApiError::Internal(format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?
}

/// Whether `password` matches the stored PHC hash, on the blocking pool.
pub async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| ApiError::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verifying task: {e}")))?
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// Seconds since the epoch, as RFC 7519 says.
    exp: i64,
    iat: i64,
    /// The end of the password hash the token was issued under: a password change retires
    /// every older token.
    #[serde(default)]
    pwd: String,
}

/// What of a password hash a token carries: its last 12 characters (of the random salted hash,
/// so nothing about the password).
pub fn password_stamp(password_hash: &str) -> String {
    let chars: Vec<char> = password_hash.chars().collect();
    chars.iter().skip(chars.len().saturating_sub(12)).collect()
}

/// Issues and checks HS256 tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_ms: i64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("key", &"***").field("ttl_ms", &self.ttl_ms).finish()
    }
}

impl Tokens {
    pub fn new(key: &str, ttl_ms: i64) -> Tokens {
        Tokens {
            encoding: EncodingKey::from_secret(key.as_bytes()),
            decoding: DecodingKey::from_secret(key.as_bytes()),
            ttl_ms: ttl_ms.max(1_000),
        }
    }

    /// A token for `user_id` (whose password hash has `stamp`) valid until the returned instant (ms).
    pub fn issue(&self, user_id: &str, stamp: &str, now_ms: i64) -> Result<(String, i64), ApiError> {
        let expires_at_ms = now_ms.saturating_add(self.ttl_ms);
        let claims = Claims {
            sub: user_id.to_string(),
            exp: expires_at_ms / 1_000,
            iat: now_ms / 1_000,
            pwd: stamp.to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("jwt: {e}")))?;
        Ok((token, (expires_at_ms / 1_000) * 1_000))
    }

    /// The user id and password stamp of a valid, unexpired token (expiry read against `now_ms`,
    /// not the OS clock).
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<(String, String), ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ApiError::Unauthenticated("the token is invalid; log in again with `vane user login`".into()))?;
        if data.claims.exp.saturating_mul(1_000) <= now_ms {
            return Err(ApiError::Unauthenticated(
                "the token has expired; log in again with `vane user login`".into(),
            ));
        }
        Ok((data.claims.sub, data.claims.pwd))
    }
}

/// A fresh link code: [`LINK_CODE_LEN`] characters of `A-Za-z0-9_-` from random bytes.
pub fn new_link_code() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes
        .iter()
        .take(LINK_CODE_LEN)
        .map(|b| char::from(LINK_CODE_ALPHABET.get(usize::from(b & 63)).copied().unwrap_or(b'A')))
        .collect()
}

/// Whether a code could be one of ours (checked before the store is asked).
pub fn is_link_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| LINK_CODE_ALPHABET.contains(&b))
}

/// Failed logins per username, in memory: after [`FREE_FAILURES`] failures, attempts wait
/// `FIRST_WAIT_MS × 2^(failures − FREE_FAILURES)` (capped) after the last failure. A success
/// clears the count. Per process: a restart forgets it (the hash's cost still limits guessing).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: HashMap<String, (u32, i64)>,
}

impl LoginThrottle {
    /// When the next attempt for `username` may be made, if it must wait.
    pub fn blocked_until(&self, username: &str, now_ms: i64) -> Option<i64> {
        let (count, last_ms) = *self.failures.get(username)?;
        if count < FREE_FAILURES {
            return None;
        }
        let doublings = (count - FREE_FAILURES).min(20);
        let wait = FIRST_WAIT_MS.saturating_mul(1_i64 << doublings).min(MAX_WAIT_MS);
        let until = last_ms.saturating_add(wait);
        (until > now_ms).then_some(until)
    }

    pub fn failed(&mut self, username: &str, now_ms: i64) {
        // Bounded memory: a flood of made-up usernames forgets the oldest half.
        if self.failures.len() >= 100_000 && !self.failures.contains_key(username) {
            let mut times: Vec<i64> = self.failures.values().map(|(_, at)| *at).collect();
            times.sort_unstable();
            let median = times.get(times.len() / 2).copied().unwrap_or(i64::MAX);
            self.failures.retain(|_, (_, at)| *at >= median);
        }
        let entry = self.failures.entry(username.to_string()).or_insert((0, now_ms));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now_ms;
    }

    pub fn succeeded(&mut self, username: &str) {
        self.failures.remove(username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_and_username_rules_list_every_problem() {
        assert!(password_problems("correct horse").is_empty());
        assert_eq!(password_problems("short").len(), 1);
        assert_eq!(password_problems(&"x".repeat(257)).len(), 1);
        assert!(password_problems(&"é".repeat(10)).is_empty(), "characters, not bytes");
        assert!(username_problems("ada.l_ove-1").is_empty());
        assert_eq!(username_problems("a b").len(), 1);
        assert_eq!(username_problems("a!").len(), 2);
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery".into(), hash.clone()).await.unwrap());
        assert!(!verify_password("wrong horse battery".into(), hash).await.unwrap());
    }

    #[test]
    fn tokens_expire_by_the_given_clock_and_need_the_key() {
        let tokens = Tokens::new("k".repeat(32).as_str(), 60_000);
        let (token, expires) = tokens.issue("u1", "stamp", 1_700_000_000_000).unwrap();
        assert_eq!(expires, 1_700_000_060_000);
        assert_eq!(
            tokens.verify(&token, 1_700_000_059_000).unwrap(),
            ("u1".to_string(), "stamp".to_string())
        );
        assert_eq!(password_stamp("$argon2id$v=19$abcdefghijklmnop"), "efghijklmnop");
        assert!(
            tokens
                .verify(&token, 1_700_000_060_000)
                .unwrap_err()
                .to_string()
                .contains("expired")
        );
        let other = Tokens::new("other key other key other key!!", 60_000);
        assert!(other.verify(&token, 1_700_000_000_000).is_err());
        assert!(tokens.verify("not.a.token", 1_700_000_000_000).is_err());
    }

    #[test]
    fn link_codes_use_the_deep_link_alphabet() {
        let (a, b) = (new_link_code(), new_link_code());
        assert_eq!(a.len(), LINK_CODE_LEN);
        assert!(is_link_code(&a) && is_link_code(&b));
        assert_ne!(a, b);
        assert!(!is_link_code("has space"));
        assert!(!is_link_code(&"a".repeat(65)));
    }

    #[test]
    fn failed_logins_slow_down_exponentially_up_to_a_cap() {
        let mut throttle = LoginThrottle::default();
        for i in 0..FREE_FAILURES {
            assert_eq!(throttle.blocked_until("ada", 1_000), None, "failure {i}");
            throttle.failed("ada", 1_000);
        }
        assert_eq!(throttle.blocked_until("ada", 1_000), Some(2_000));
        assert_eq!(throttle.blocked_until("ada", 2_000), None);
        throttle.failed("ada", 2_000);
        assert_eq!(throttle.blocked_until("ada", 2_000), Some(4_000));
        for _ in 0..30 {
            throttle.failed("ada", 10_000);
        }
        assert_eq!(throttle.blocked_until("ada", 10_000), Some(10_000 + MAX_WAIT_MS));
        assert_eq!(throttle.blocked_until("bob", 10_000), None);
        throttle.succeeded("ada");
        assert_eq!(throttle.blocked_until("ada", 10_000), None);
    }
}
