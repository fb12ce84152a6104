//! Accounts: who may call what, and how Qualys says no.
//!
//! | situation | HTTP | CODE | source |
//! |---|---|---|---|
//! | unknown user, wrong password, no API access | 401 | 2000 "Bad Login/Password" | recorded |
//! | account expired | 200 | 2001 | recorded |
//! | registration not completed | 409 | 2003 | client tests (graph-qualys) |
//! | account inactive | 409 | 2002 | the simulator's choice |
//! | SecureID required | 409 | 2011 | client tests (graph-qualys) |
//! | module permission missing | 403 | none; TEXT names the permission | the simulator's choice, see fixtures/README.md |

use crate::qualys::{Permission, fo::code};

#[cfg(test)]
use crate::qualys::endpoint;
use crate::sim::engine::routing::Endpoint;
use crate::sim::server::request::Credentials;
use crate::sim::tenant::{AccountState, Tenant, User};

/// Why a call was refused before reaching its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadLogin,
    Expired,
    Inactive,
    RegistrationIncomplete,
    SecureIdRequired,
    PermissionMissing(Permission),
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadLogin => 401,
            Refusal::Expired => 200,
            Refusal::Inactive | Refusal::RegistrationIncomplete | Refusal::SecureIdRequired => 409,
            Refusal::PermissionMissing(_) => 403,
        }
    }

    pub fn code(self) -> Option<u32> {
        match self {
            Refusal::BadLogin => Some(code::BAD_LOGIN),
            Refusal::Expired => Some(code::ACCOUNT_EXPIRED),
            Refusal::Inactive => Some(code::ACCOUNT_INACTIVE),
            Refusal::RegistrationIncomplete => Some(code::REGISTRATION_INCOMPLETE),
            Refusal::SecureIdRequired => Some(code::SECURE_ID_REQUIRED),
            Refusal::PermissionMissing(_) => None,
        }
    }

    pub fn text(self) -> String {
        match self {
            Refusal::BadLogin => code::BAD_LOGIN_TEXT.into(),
            Refusal::Expired => code::ACCOUNT_EXPIRED_TEXT.into(),
            Refusal::Inactive => code::ACCOUNT_INACTIVE_TEXT.into(),
            Refusal::RegistrationIncomplete => code::REGISTRATION_INCOMPLETE_TEXT.into(),
            Refusal::SecureIdRequired => code::SECURE_ID_TEXT.into(),
            Refusal::PermissionMissing(p) => {
                format!(
                    "Access denied: this user does not have the \"{p}\" permission required by this API."
                )
            }
        }
    }

    /// Whether the limit headers accompany this answer. The recorded 401 and 2001 answers
    /// carry none: Qualys refuses them before counting the call.
    pub fn carries_limit_headers(self) -> bool {
        matches!(self, Refusal::PermissionMissing(_))
    }
}

/// Checks the credentials and the account state.
pub fn authenticate<'t>(
    tenant: &'t Tenant,
    creds: Option<&Credentials>,
) -> Result<&'t User, Refusal> {
    let creds = creds.ok_or(Refusal::BadLogin)?;
    let user = tenant
        .user(creds.user().ok_or(Refusal::BadLogin)?)
        .ok_or(Refusal::BadLogin)?;
    if !user.password_matches(creds.password().unwrap_or_default()) {
        return Err(Refusal::BadLogin);
    }
    match user.state {
        AccountState::Active => Ok(user),
        AccountState::NoApiAccess => Err(Refusal::BadLogin),
        AccountState::Expired => Err(Refusal::Expired),
        AccountState::Inactive => Err(Refusal::Inactive),
        AccountState::RegistrationIncomplete => Err(Refusal::RegistrationIncomplete),
        AccountState::SecureIdRequired => Err(Refusal::SecureIdRequired),
    }
}

/// Checks the module permission an endpoint needs.
pub fn authorize(user: &User, endpoint: Endpoint) -> Result<(), Refusal> {
    match endpoint.permission {
        Some(p) if !user.has(p) => Err(Refusal::PermissionMissing(p)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::server::request::SimRequest;

    fn creds(u: &str, p: &str) -> Option<Credentials> {
        SimRequest::new("GET", "/", "http://x")
            .with_basic(u, p)
            .credentials
    }

    #[test]
    fn every_demo_account_state_maps_to_its_answer() {
        let t = Tenant::demo();
        let r = |u: &str, p: &str| authenticate(&t, creds(u, p).as_ref()).map(|u| u.login.clone());
        assert_eq!(r("quays_ab1", "demo"), Ok("quays_ab1".into()));
        assert_eq!(r("quays_ab1", "wrong"), Err(Refusal::BadLogin));
        assert_eq!(r("nobody", "demo"), Err(Refusal::BadLogin));
        assert_eq!(r("quays_noapi1", "demo"), Err(Refusal::BadLogin));
        assert_eq!(r("quays_ex1", "demo"), Err(Refusal::Expired));
        assert_eq!(r("quays_na1", "demo"), Err(Refusal::RegistrationIncomplete));
        assert_eq!(authenticate(&t, None).unwrap_err(), Refusal::BadLogin);
        let novm = t.user("quays_novm1").unwrap();
        assert_eq!(
            authorize(novm, &endpoint::KNOWLEDGE_BASE),
            Err(Refusal::PermissionMissing(Permission::ManageVm))
        );
        assert!(authorize(t.user("quays_nowas1").unwrap(), &endpoint::HOST_DETECTION).is_ok());
        assert_eq!(
            (
                Refusal::Expired.status(),
                Refusal::RegistrationIncomplete.status()
            ),
            (200, 409)
        );
        assert!(
            Refusal::PermissionMissing(Permission::ManageVm)
                .text()
                .contains("Manage VM module")
        );
    }
}
