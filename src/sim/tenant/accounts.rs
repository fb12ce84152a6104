//! The tenant's accounts section: users, their state and permissions, and the API limits.
//!
//! Every API family shares it: a user logs in to the FO API, QPS and the gateway with the same
//! login, and the engine's authentication and authorisation read only this section.

use serde::{Deserialize, Serialize};

use crate::qualys::Permission;

/// An account state, as Qualys reports it when the user calls the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    #[default]
    Active,
    /// New user who never logged in to the console: HTTP 409, CODE 2003.
    RegistrationIncomplete,
    /// HTTP 200 with CODE 2001 (recorded).
    Expired,
    /// HTTP 409 with CODE 2002 (the simulator's choice; not recorded).
    Inactive,
    /// The user role lacks API access: HTTP 401, CODE 2000 "Bad Login/Password", like a wrong
    /// password (Qualys gives the same answer for both).
    NoApiAccess,
    /// HTTP 409 with CODE 2011.
    SecureIdRequired,
}

/// A Qualys user of the tenant.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub login: String,
    /// Compared in constant time; never journalled or logged.
    pub password: String,
    #[serde(default)]
    pub state: AccountState,
    /// Module permissions; all three when absent.
    #[serde(default = "all_permissions")]
    pub permissions: Vec<Permission>,
    /// Limits of this user's own, overriding the subscription's field by field; a user with
    /// them counts on a budget of their own.
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
    /// The asset groups (titles) whose hosts this user sees, on every endpoint that lists
    /// hosts; every host when absent (a Manager). An admin picks them for a connector's user,
    /// and then the connector "returns fewer hosts than the console".
    #[serde(default)]
    pub asset_groups: Option<Vec<String>>,
}

fn all_permissions() -> Vec<Permission> {
    Permission::ALL.to_vec()
}

impl std::fmt::Debug for User {
    // The password stays out of every debug print, so a failing assertion cannot leak it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("state", &self.state)
            .field("permissions", &self.permissions)
            .field("limits", &self.limits)
            .field("asset_groups", &self.asset_groups)
            .finish()
    }
}

impl User {
    /// An active user with every permission.
    pub fn new(login: impl Into<String>, password: impl Into<String>) -> User {
        User {
            login: login.into(),
            password: password.into(),
            state: AccountState::Active,
            permissions: all_permissions(),
            limits: None,
            asset_groups: None,
        }
    }

    /// Scopes the user to these asset groups (titles).
    pub fn with_asset_groups(mut self, titles: &[&str]) -> User {
        self.asset_groups = Some(titles.iter().map(|t| (*t).to_string()).collect());
        self
    }

    pub fn with_state(mut self, state: AccountState) -> User {
        self.state = state;
        self
    }

    pub fn with_permissions(mut self, permissions: &[Permission]) -> User {
        self.permissions = permissions.to_vec();
        self
    }

    pub fn with_limits(mut self, limits: LimitsSpec) -> User {
        self.limits = Some(limits);
        self
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// Whether `password` is this user's, compared in constant time: every byte of the longer
    /// of the two is visited and the full lengths are compared, so neither where the first
    /// difference is nor a length that differs by a multiple of 256 changes the work done.
    pub fn password_matches(&self, password: &str) -> bool {
        use subtle::ConstantTimeEq;
        let (a, b) = (self.password.as_bytes(), password.as_bytes());
        let mut same = (a.len() as u64).ct_eq(&(b.len() as u64));
        for i in 0..a.len().max(b.len()) {
            let x = a.get(i).copied().unwrap_or(0);
            let y = b.get(i).copied().unwrap_or(0);
            same &= x.ct_eq(&y);
        }
        same.into()
    }
}

/// API limits: Qualys counts calls per API over a rolling window and calls running at once,
/// per subscription: every user (every tool) of the subscription draws on the same budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Calls allowed per window (`X-RateLimit-Limit`).
    pub rate_limit: u32,
    /// Window length (`X-RateLimit-Window-Sec`).
    pub rate_window_secs: u64,
    /// Calls allowed at once (`X-Concurrency-Limit-Limit`).
    pub concurrency_limit: u32,
    /// Count each user's calls on a budget of their own instead of the subscription's.
    pub per_user: bool,
    /// Calls of each API that other tools of the subscription made just before the simulator
    /// started (or was reset): they occupy the shared budget and age out with the window.
    pub used_by_others: u32,
}

impl Default for Limits {
    /// Qualys's "Standard" service level, the values seen in every recording.
    fn default() -> Self {
        Limits {
            rate_limit: 300,
            rate_window_secs: 3600,
            concurrency_limit: 2,
            per_user: false,
            used_by_others: 0,
        }
    }
}

impl Limits {
    /// These limits with the fields `spec` sets replaced.
    pub fn merged(self, spec: &LimitsSpec) -> Limits {
        Limits {
            rate_limit: spec.rate_limit.unwrap_or(self.rate_limit),
            rate_window_secs: spec.rate_window_secs.unwrap_or(self.rate_window_secs),
            concurrency_limit: spec.concurrency_limit.unwrap_or(self.concurrency_limit),
            per_user: spec.per_user.unwrap_or(self.per_user),
            used_by_others: spec.used_by_others.unwrap_or(self.used_by_others),
        }
    }
}

/// Limits as written in a tenant file: each field overrides the one below it.
///
/// ```toml
/// [limits]                 # the subscription's budget, shared by its users
/// rate_limit = 300
/// rate_window_secs = 3600
/// concurrency_limit = 2
/// per_user = false         # true: every user counts on a budget of their own
/// used_by_others = 0       # calls per API other tools made just before the simulator started
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    #[serde(default)]
    pub rate_limit: Option<u32>,
    #[serde(default)]
    pub rate_window_secs: Option<u64>,
    #[serde(default)]
    pub concurrency_limit: Option<u32>,
    /// Subscription-level only (`[limits]`), never in a user's `limits`.
    #[serde(default)]
    pub per_user: Option<bool>,
    /// Subscription-level only (`[limits]`), never in a user's `limits`.
    #[serde(default)]
    pub used_by_others: Option<u32>,
}

impl LimitsSpec {
    /// Why this spec cannot be a user's own limits, if it cannot.
    pub fn user_level_problem(&self) -> Option<&'static str> {
        if self.per_user.is_some() {
            Some("per_user")
        } else if self.used_by_others.is_some() {
            Some("used_by_others")
        } else {
            None
        }
    }
}

/// Whose calls a call is counted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget<'a> {
    /// The subscription's budget, shared by every user without limits of their own.
    Subscription,
    /// One user's own budget (`[limits] per_user = true`, or a user with a `limits` table).
    User(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_password_matches_whatever_the_length_difference() {
        let u = User::new("u", "demo");
        assert!(u.password_matches("demo"));
        for wrong in ["", "dem", "demO", "demo ", "xdemo"] {
            assert!(!u.password_matches(wrong), "{wrong:?}");
        }
        for extra in [1, 255, 256, 512, 65_536] {
            let long = format!("demo{}", "x".repeat(extra));
            assert!(!u.password_matches(&long), "demo + {extra} characters");
        }
        assert!(!User::new("u", "").password_matches(&"\0".repeat(256)));
    }
}
