//! Accounts: who is calling ([`Authenticate`], one impl per way a family logs in) and whether
//! they may call this endpoint ([`authorize`]). Saying no is the dialect's job: a [`Refusal`]
//! only says why.
//!
//! | family | how the caller is known | impl |
//! |---|---|---|
//! | FO, QPS | HTTP Basic, checked against the tenant's users | [`BasicAuth`] |
//! | gateway | `Authorization: Bearer <JWT>` issued by `POST /auth`, looked up in a [`SessionStore`]; `/auth` itself takes the form's `username` and `password` | [`GatewayAuth`] |
//!
//! Either way the account state is checked the same way ([`check_state`]): an expired,
//! inactive or unregistered account is refused whatever the family.

use std::sync::Arc;

use crate::qualys::{Endpoint, Permission};
use crate::sim::server::request::SimRequest;
use crate::sim::tenant::{AccountState, Tenant, User};

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

/// The sessions `POST /auth` opens on the API gateway: the seam where Policy Compliance's JWT
/// issuing plugs in. Until then [`NoSessions`] knows no token.
pub trait SessionStore: Send + Sync + std::fmt::Debug + 'static {
    /// The login a bearer token was issued to, or why the token is no good.
    fn login_for(&self, token: &str) -> Result<String, SessionProblem>;

    /// Forgets every token issued (`POST /__sim/reset`).
    fn reset(&self) {}
}

/// Why a bearer token does not log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionProblem {
    /// Never issued (or issued by another gateway).
    Unknown,
    /// Issued, but past its lifetime.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "no store issues tokens until Policy Compliance adds JWT sessions"
        )
    )]
    Expired,
}

/// A gateway that has issued no token: every bearer call is "Not authenticated".
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSessions;

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
}
