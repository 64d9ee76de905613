//! Optional credentials for remote write: a bearer token, or basic auth, as Prometheus'
//! `remote_write` config sends them. Compared in constant time.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Which credentials `/api/v1/write` requires.
#[derive(Clone, Default)]
pub enum WriteAuth {
    /// Open (the default: bind to localhost or put it behind a proxy).
    #[default]
    None,
    Bearer(String),
    Basic {
        username: String,
        password: String,
    },
}

impl std::fmt::Debug for WriteAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteAuth::None => write!(f, "None"),
            WriteAuth::Bearer(_) => write!(f, "Bearer(***)"),
            WriteAuth::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl WriteAuth {
    /// `None` when the request's `authorization` header is accepted, else the 401 to answer;
    /// `door` names what was refused.
    pub(crate) fn refusal(&self, headers: &HeaderMap, door: &str) -> Option<Response> {
        if self.allows(headers.get(header::AUTHORIZATION)) {
            return None;
        }
        let response = (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer, Basic realm=\"vane\"")],
            format!("missing or wrong credentials for {door}\n"),
        );
        Some(response.into_response())
    }

    pub fn allows(&self, header: Option<&HeaderValue>) -> bool {
        let presented = header.and_then(|h| h.to_str().ok()).unwrap_or("");
        match self {
            WriteAuth::None => true,
            WriteAuth::Bearer(token) => presented
                .strip_prefix("Bearer ")
                .is_some_and(|p| constant_time_eq(p.trim().as_bytes(), token.as_bytes())),
            WriteAuth::Basic { username, password } => {
                let expected = STANDARD.encode(format!("{username}:{password}"));
                presented
                    .strip_prefix("Basic ")
                    .is_some_and(|p| constant_time_eq(p.trim().as_bytes(), expected.as_bytes()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_bearer_and_basic() {
        let bearer = WriteAuth::Bearer("s3cret".into());
        assert!(bearer.allows(Some(&HeaderValue::from_static("Bearer s3cret"))));
        assert!(!bearer.allows(Some(&HeaderValue::from_static("Bearer nope"))));
        assert!(!bearer.allows(None));
        let basic = WriteAuth::Basic {
            username: "prom".into(),
            password: "pw".into(),
        };
        assert!(basic.allows(Some(&HeaderValue::from_static("Basic cHJvbTpwdw=="))));
        assert!(!basic.allows(Some(&HeaderValue::from_static("Basic cHJvbTpwdx=="))));
        assert!(WriteAuth::None.allows(None));
        assert_eq!(format!("{bearer:?}"), "Bearer(***)");
    }
}
