//! `SimRequest`: an HTTP request as the engine sees it, independent of the transport.
//!
//! The transport builds it: query and form parameters merged in arrival order, the Basic-auth
//! credentials or bearer token decoded (held as secrets that never print), a few headers kept,
//! and the origin the client used, so URLs in responses point back at it.

use secrecy::{ExposeSecret, SecretString};

/// What a request's `Authorization` header carries: a Basic login (FO and QPS) or a bearer
/// token (the API gateway, after `POST /auth`). Neither secret ever prints.
pub enum Credentials {
    Basic {
        user: String,
        password: SecretString,
    },
    Bearer(SecretString),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .finish_non_exhaustive(),
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

impl Credentials {
    /// Decodes an `Authorization` header value: `Basic <base64 user:password>` or
    /// `Bearer <token>`; anything else is no credentials.
    pub fn from_authorization(header: &str) -> Option<Credentials> {
        use base64::Engine as _;
        let (scheme, value) = header.trim().split_once(' ')?;
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return (!value.is_empty()).then(|| Credentials::Bearer(SecretString::from(value)));
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (user, password) = text.split_once(':')?;
        Some(Credentials::Basic {
            user: user.to_string(),
            password: SecretString::from(password.to_string()),
        })
    }

    /// The Basic-auth user name; `None` for a bearer token.
    pub fn user(&self) -> Option<&str> {
        match self {
            Credentials::Basic { user, .. } => Some(user),
            Credentials::Bearer(_) => None,
        }
    }

    /// The Basic-auth password; `None` for a bearer token.
    pub fn password(&self) -> Option<&str> {
        match self {
            Credentials::Basic { password, .. } => Some(password.expose_secret()),
            Credentials::Bearer(_) => None,
        }
    }

    /// The bearer token; `None` for a Basic login.
    pub fn token(&self) -> Option<&str> {
        match self {
            Credentials::Bearer(t) => Some(t.expose_secret()),
            Credentials::Basic { .. } => None,
        }
    }
}

/// Whether a request's body is a form whose fields join the parameters. Qualys reads form
/// fields from a POST whether or not the client labels the body; XML and JSON bodies (a QPS
/// `ServiceRequest`, a PCRS posture request) are left alone.
pub fn is_form_body(method: &str, content_type: &str) -> bool {
    method == "POST"
        && (content_type.is_empty()
            || content_type.starts_with("application/x-www-form-urlencoded"))
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
        self.credentials = Some(Credentials::Basic {
            user: user.to_string(),
            password: SecretString::from(password.to_string()),
        });
        self
    }

    pub fn with_bearer(mut self, token: &str) -> SimRequest {
        self.credentials = Some(Credentials::Bearer(SecretString::from(token)));
        self
    }

    /// The Basic-auth user name, whether or not it logs in; `None` without one.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().and_then(Credentials::user)
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
        let c = Credentials::from_authorization("Basic cXVheXNfYWIxOnBhOnNz").unwrap();
        assert_eq!(c.user(), Some("quays_ab1"));
        assert_eq!(c.password(), Some("pa:ss"));
        assert!(!format!("{c:?}").contains("pa:ss"));
        assert!(Credentials::from_authorization("Basic !!!").is_none());
        assert!(Credentials::from_authorization("Digest abc").is_none());
    }

    #[test]
    fn a_bearer_token_is_read_and_never_printed() {
        let c = Credentials::from_authorization("Bearer eyJ.secret.sig").unwrap();
        assert_eq!((c.token(), c.user()), (Some("eyJ.secret.sig"), None));
        assert_eq!(format!("{c:?}"), "Bearer(<redacted>)");
        let req = SimRequest::new("GET", "/", "http://x").with_bearer("eyJ.secret.sig");
        assert!(!format!("{req:?}").contains("secret"));
        assert!(Credentials::from_authorization("Bearer ").is_none());
    }
}
