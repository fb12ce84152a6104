//! `SimRequest`: an HTTP request as the engine sees it, independent of the transport.
//!
//! The transport builds it: query and form parameters merged in arrival order, the Basic-auth
//! credentials decoded (the password held as a secret that never prints), a few headers kept,
//! and the origin the client used, so URLs in responses point back at it.

use secrecy::{ExposeSecret, SecretString};

/// Basic-auth credentials.
pub struct Credentials {
    pub user: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Decodes an `Authorization: Basic …` header value.
    pub fn from_basic(header: &str) -> Option<Credentials> {
        use base64::Engine as _;
        let (scheme, b64) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (user, password) = text.split_once(':')?;
        Some(Credentials {
            user: user.to_string(),
            password: SecretString::from(password.to_string()),
        })
    }

    pub fn password(&self) -> &str {
        self.password.expose_secret()
    }
}

/// Request headers the journal keeps (and the only ones the engine may look at).
pub const JOURNALLED_HEADERS: [&str; 3] = ["X-Requested-With", "Content-Type", "User-Agent"];

/// A request, ready for the engine.
#[derive(Debug)]
pub struct SimRequest {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Query and form parameters in arrival order, secrets included (the engine needs none,
    /// but a fixture may match on any parameter); the journal filters them.
    pub params: Vec<(String, String)>,
    pub credentials: Option<Credentials>,
    /// The journalled headers that were present.
    pub headers: Vec<(String, String)>,
    /// `http://127.0.0.1:8080` or whatever `Host` the client sent.
    pub origin: String,
    /// The raw query string, for redirects.
    pub query: Option<String>,
    /// The raw request body (form bodies are also merged into `params`; XML bodies such as a
    /// QPS `ServiceRequest` are only here).
    pub body: bytes::Bytes,
}

impl SimRequest {
    /// A request with no parameters, headers or credentials (handy in unit tests).
    pub fn new(method: &str, path: &str, origin: &str) -> SimRequest {
        SimRequest {
            method: method.to_string(),
            path: path.to_string(),
            params: Vec::new(),
            credentials: None,
            headers: Vec::new(),
            origin: origin.to_string(),
            query: None,
            body: bytes::Bytes::new(),
        }
    }

    pub fn with_param(mut self, k: &str, v: &str) -> SimRequest {
        self.params.push((k.to_string(), v.to_string()));
        self
    }

    pub fn with_basic(mut self, user: &str, password: &str) -> SimRequest {
        self.credentials = Some(Credentials {
            user: user.to_string(),
            password: SecretString::from(password.to_string()),
        });
        self
    }

    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.user.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode_and_the_password_stays_out_of_debug() {
        // "quays_ab1:pa:ss" — a colon in the password belongs to the password.
        let c = Credentials::from_basic("Basic cXVheXNfYWIxOnBhOnNz").unwrap();
        assert_eq!(c.user, "quays_ab1");
        assert_eq!(c.password(), "pa:ss");
        assert!(!format!("{c:?}").contains("pa:ss"));
        assert!(Credentials::from_basic("Bearer abc").is_none());
        assert!(Credentials::from_basic("Basic !!!").is_none());
    }
}
