//! Accounts: who is calling ([`Authenticate`], one impl per way a family logs in) and whether
//! they may call this endpoint ([`authorize`]). Saying no is the dialect's job: a [`Refusal`]
//! only says why.
//!
//! | family | how the caller is known | impl |
//! |---|---|---|
//! | FO, QPS | HTTP Basic, checked against the tenant's users | [`BasicAuth`] |
//! | gateway | `Authorization: Bearer <JWT>` issued by `POST /auth` ([`JwtSessions`]), looked up in a [`SessionStore`]; `/auth` itself takes the form's `username` and `password` | [`GatewayAuth`] |
//!
//! Either way the account state is checked the same way ([`check_state`]): an expired,
//! inactive or unregistered account is refused whatever the family.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::qualys::{Endpoint, Permission};
use crate::sim::server::request::SimRequest;
use crate::sim::tenant::{AccountState, Tenant, User};
use crate::sim::timestamp::Timestamp;

/// Why a call was refused before reaching its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials, an unknown user or a wrong password.
    BadLogin,
    /// The user's role has no API access.
    NoApiAccess,
    Expired,
    Inactive,
    RegistrationIncomplete,
    SecureIdRequired,
    PermissionMissing(Permission),
    /// A gateway call without a token the gateway issued.
    NotAuthenticated,
    /// A gateway call whose token has expired.
    SessionExpired,
}

/// How an API family knows who calls. The engine asks once per call, before authorisation.
pub trait Authenticate: Send + Sync + 'static {
    /// The calling user, or why there is none.
    fn authenticate<'t>(
        &self,
        tenant: &'t Tenant,
        request: &SimRequest,
        endpoint: &'static Endpoint,
    ) -> Result<&'t User, Refusal>;

    /// Ends the session the request authenticated with, for families that have sessions (the
    /// `jwt_expired` fault); nothing for the others.
    fn expire_session(&self, _request: &SimRequest) {}

    /// Forgets the sessions opened so far (`POST /__sim/reset`); nothing to forget for Basic
    /// authentication.
    fn reset(&self) {}
}

/// HTTP Basic against the tenant's users: the FO API and QPS.
#[derive(Debug, Clone, Copy, Default)]
pub struct BasicAuth;

impl Authenticate for BasicAuth {
    fn authenticate<'t>(
        &self,
        tenant: &'t Tenant,
        request: &SimRequest,
        _endpoint: &'static Endpoint,
    ) -> Result<&'t User, Refusal> {
        let creds = request.credentials.as_ref().ok_or(Refusal::BadLogin)?;
        let (Some(login), Some(password)) = (creds.user(), creds.password()) else {
            return Err(Refusal::BadLogin);
        };
        check_state(log_in(tenant, login, password)?)
    }
}

/// The sessions `POST /auth` opens on the API gateway: [`JwtSessions`] issues and checks them;
/// [`NoSessions`] (tests of the seam) knows no token.
pub trait SessionStore: Send + Sync + std::fmt::Debug + 'static {
    /// The login a bearer token was issued to, or why the token is no good.
    fn login_for(&self, token: &str) -> Result<String, SessionProblem>;

    /// Ends a token's life now (the `jwt_expired` fault); later calls with it are "JWT expired".
    fn expire(&self, _token: &str) {}

    /// Forgets every token issued (`POST /__sim/reset`).
    fn reset(&self) {}
}

/// Why a bearer token does not log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionProblem {
    /// Never issued (or issued by another gateway).
    Unknown,
    /// Issued, but past its lifetime.
    Expired,
}

/// The gateway's JWT sessions: `POST /auth` issues a token that names its user and lives for
/// the tenant's `[pc] token_lifetime_secs` (Qualys: 4 hours), on the real clock, so a test can
/// let one run out in a second. The tokens look like JWTs (three base64url parts, the middle
/// one `{"sub":..,"iat":..,"exp":..}`) but are checked by lookup, not by signature; the
/// signature part is random, so a token cannot be guessed from its user.
#[derive(Debug, Default)]
pub struct JwtSessions {
    live: Mutex<HashMap<String, Session>>,
    issued: AtomicU64,
}

#[derive(Debug, Clone)]
struct Session {
    login: String,
    expires: Instant,
}

impl JwtSessions {
    /// Issues a token for `login`, valid for `lifetime`.
    pub fn issue(&self, login: &str, lifetime: Duration, now: Timestamp) -> String {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "sub": login,
            "iat": now.0,
            "exp": now.0 + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2),
            "jti": n,
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut signature = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut signature[..]);
        let token = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(signature));
        let session = Session {
            login: login.to_string(),
            expires: Instant::now() + lifetime,
        };
        let mut sessions = self.sessions();
        // A long-running simulator issues a token per login: a token dead for over an hour is
        // forgotten, so the map does not grow with the run (it then reads "Not authenticated"
        // rather than "JWT expired").
        let now_instant = Instant::now();
        sessions.retain(|_, s| s.expires + Duration::from_secs(3600) > now_instant);
        sessions.insert(token.clone(), session);
        token
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SessionStore for JwtSessions {
    fn login_for(&self, token: &str) -> Result<String, SessionProblem> {
        let sessions = self.sessions();
        let session = sessions.get(token).ok_or(SessionProblem::Unknown)?;
        if Instant::now() >= session.expires {
            return Err(SessionProblem::Expired);
        }
        Ok(session.login.clone())
    }

    fn expire(&self, token: &str) {
        if let Some(s) = self.sessions().get_mut(token) {
            s.expires = Instant::now();
        }
    }

    fn reset(&self) {
        self.sessions().clear();
    }
}

/// A gateway that has issued no token: every bearer call is "Not authenticated" (tests of the
/// seam).
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSessions;

#[cfg(test)]
impl SessionStore for NoSessions {
    fn login_for(&self, _token: &str) -> Result<String, SessionProblem> {
        Err(SessionProblem::Unknown)
    }
}

/// The API gateway's authentication: a bearer token on every endpoint but the login endpoint,
/// which reads `username` and `password` from its form.
#[derive(Debug, Clone)]
pub struct GatewayAuth {
    login: &'static Endpoint,
    sessions: Arc<dyn SessionStore>,
}

impl GatewayAuth {
    /// `login` is the endpoint that takes a username and password (`/auth`); `sessions` knows
    /// the tokens issued, and is shared with the handler of `login` that issues them.
    pub fn new(login: &'static Endpoint, sessions: Arc<dyn SessionStore>) -> GatewayAuth {
        GatewayAuth { login, sessions }
    }
}

impl Authenticate for GatewayAuth {
    fn authenticate<'t>(
        &self,
        tenant: &'t Tenant,
        request: &SimRequest,
        endpoint: &'static Endpoint,
    ) -> Result<&'t User, Refusal> {
        if endpoint == self.login {
            let param = |name: &str| {
                request
                    .params
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            let (Some(login), Some(password)) = (param("username"), param("password")) else {
                return Err(Refusal::BadLogin);
            };
            return check_state(log_in(tenant, login, password)?);
        }
        let token = request
            .credentials
            .as_ref()
            .and_then(|c| c.token())
            .ok_or(Refusal::NotAuthenticated)?;
        let login = self.sessions.login_for(token).map_err(|p| match p {
            SessionProblem::Unknown => Refusal::NotAuthenticated,
            SessionProblem::Expired => Refusal::SessionExpired,
        })?;
        check_state(tenant.user(&login).ok_or(Refusal::NotAuthenticated)?)
    }

    fn expire_session(&self, request: &SimRequest) {
        if let Some(token) = request.credentials.as_ref().and_then(|c| c.token()) {
            self.sessions.expire(token);
        }
    }

    fn reset(&self) {
        self.sessions.reset();
    }
}

/// The user whose login and password these are.
fn log_in<'t>(tenant: &'t Tenant, login: &str, password: &str) -> Result<&'t User, Refusal> {
    let user = tenant.user(login).ok_or(Refusal::BadLogin)?;
    if !user.password_matches(password) {
        return Err(Refusal::BadLogin);
    }
    Ok(user)
}

/// The user, if the account may call the API at all.
pub fn check_state(user: &User) -> Result<&User, Refusal> {
    match user.state {
        AccountState::Active => Ok(user),
        AccountState::NoApiAccess => Err(Refusal::NoApiAccess),
        AccountState::Expired => Err(Refusal::Expired),
        AccountState::Inactive => Err(Refusal::Inactive),
        AccountState::RegistrationIncomplete => Err(Refusal::RegistrationIncomplete),
        AccountState::SecureIdRequired => Err(Refusal::SecureIdRequired),
    }
}

/// Checks the module permission an endpoint needs.
pub fn authorize(user: &User, endpoint: &Endpoint) -> Result<(), Refusal> {
    match endpoint.permission {
        Some(p) if !user.has(p) => Err(Refusal::PermissionMissing(p)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualys::endpoint;

    #[test]
    fn reset_forgets_every_jwt_and_expire_ends_one() {
        let sessions = JwtSessions::default();
        let a = sessions.issue("quays_ab1", Duration::from_secs(60), Timestamp(0));
        let b = sessions.issue("quays_ab1", Duration::from_secs(60), Timestamp(0));
        assert_eq!(sessions.login_for(&a).as_deref(), Ok("quays_ab1"));
        sessions.expire(&a);
        assert_eq!(sessions.login_for(&a), Err(SessionProblem::Expired));
        assert_eq!(sessions.login_for(&b).as_deref(), Ok("quays_ab1"));
        sessions.reset();
        assert_eq!(sessions.login_for(&b), Err(SessionProblem::Unknown));
    }

    fn basic(u: &str, p: &str) -> Result<String, Refusal> {
        let t = Tenant::demo();
        let req = SimRequest::new("GET", "/", "http://x").with_basic(u, p);
        BasicAuth
            .authenticate(&t, &req, &endpoint::WAS_WEBAPP_SEARCH)
            .map(|u| u.login.clone())
    }

    #[test]
    fn every_demo_account_state_maps_to_its_refusal() {
        assert_eq!(basic("quays_ab1", "demo"), Ok("quays_ab1".into()));
        assert_eq!(basic("quays_ab1", "wrong"), Err(Refusal::BadLogin));
        assert_eq!(basic("nobody", "demo"), Err(Refusal::BadLogin));
        assert_eq!(basic("quays_noapi1", "demo"), Err(Refusal::NoApiAccess));
        assert_eq!(basic("quays_ex1", "demo"), Err(Refusal::Expired));
        assert_eq!(
            basic("quays_na1", "demo"),
            Err(Refusal::RegistrationIncomplete)
        );
        let t = Tenant::demo();
        let anonymous = SimRequest::new("GET", "/", "http://x");
        assert_eq!(
            BasicAuth
                .authenticate(&t, &anonymous, &endpoint::WAS_WEBAPP_SEARCH)
                .unwrap_err(),
            Refusal::BadLogin
        );
        assert_eq!(
            authorize(t.user("quays_nopc1").unwrap(), &endpoint::PCRS_POSTURE_INFO),
            Err(Refusal::PermissionMissing(Permission::ManagePc))
        );
        assert!(
            authorize(
                t.user("quays_nowas1").unwrap(),
                &endpoint::PCRS_POSTURE_INFO
            )
            .is_ok()
        );
        assert!(authorize(t.user("quays_nopc1").unwrap(), &endpoint::ABOUT).is_ok());
    }

    #[test]
    fn a_bearer_token_is_no_basic_login_and_basic_is_no_gateway_session() {
        let t = Tenant::demo();
        let bearer = SimRequest::new("POST", "/", "http://x").with_bearer("eyJ.a.b");
        assert_eq!(
            BasicAuth
                .authenticate(&t, &bearer, &endpoint::WAS_WEBAPP_SEARCH)
                .unwrap_err(),
            Refusal::BadLogin
        );
        let gateway = GatewayAuth::new(&endpoint::GATEWAY_AUTH, Arc::new(NoSessions));
        let basic = SimRequest::new("POST", "/", "http://x").with_basic("quays_ab1", "demo");
        for req in [&bearer, &basic] {
            assert_eq!(
                gateway
                    .authenticate(&t, req, &endpoint::PCRS_POSTURE_INFO)
                    .unwrap_err(),
                Refusal::NotAuthenticated
            );
        }
    }

    #[derive(Debug)]
    struct OneExpiredToken;

    impl SessionStore for OneExpiredToken {
        fn login_for(&self, token: &str) -> Result<String, SessionProblem> {
            match token {
                "live" => Ok("quays_ab1".into()),
                "old" => Err(SessionProblem::Expired),
                _ => Err(SessionProblem::Unknown),
            }
        }
    }

    #[test]
    fn the_gateway_logs_in_at_auth_with_the_form_and_elsewhere_with_a_session() {
        let t = Tenant::demo();
        let gateway = GatewayAuth::new(&endpoint::GATEWAY_AUTH, Arc::new(OneExpiredToken));
        let login = |u: &str, p: &str| {
            let req = SimRequest::new("POST", "/auth", "http://x")
                .with_param("username", u)
                .with_param("password", p);
            gateway
                .authenticate(&t, &req, &endpoint::GATEWAY_AUTH)
                .map(|u| u.login.clone())
        };
        assert_eq!(login("quays_ab1", "demo"), Ok("quays_ab1".into()));
        assert_eq!(login("quays_ab1", "nope"), Err(Refusal::BadLogin));
        assert_eq!(login("quays_ex1", "demo"), Err(Refusal::Expired));
        let bearer = |token: &str| {
            let req = SimRequest::new("GET", "/pcrs/1.0/posture/policy/list", "http://x")
                .with_bearer(token);
            gateway
                .authenticate(&t, &req, &endpoint::PCRS_POLICY_LIST)
                .map(|u| u.login.clone())
        };
        assert_eq!(bearer("live"), Ok("quays_ab1".into()));
        assert_eq!(bearer("old"), Err(Refusal::SessionExpired));
        assert_eq!(bearer("forged"), Err(Refusal::NotAuthenticated));
    }

    #[test]
    fn jwt_sessions_issue_tokens_that_expire_with_time_or_on_demand() {
        let store = JwtSessions::default();
        let now = Timestamp(1_717_200_000);
        let a = store.issue("quays_ab1", Duration::from_secs(3600), now);
        let b = store.issue("quays_ab1", Duration::from_secs(3600), now);
        assert_ne!(a, b, "every login gets its own token");
        assert_eq!(a.split('.').count(), 3, "shaped like a JWT");
        assert_eq!(store.login_for(&a), Ok("quays_ab1".into()));
        store.expire(&a);
        assert_eq!(store.login_for(&a), Err(SessionProblem::Expired));
        assert_eq!(store.login_for(&b), Ok("quays_ab1".into()));
        let short = store.issue("quays_ab1", Duration::ZERO, now);
        assert_eq!(store.login_for(&short), Err(SessionProblem::Expired));
        assert_eq!(store.login_for("forged"), Err(SessionProblem::Unknown));
    }
}
