//! The library's one error type.
//!
//! Every variant carries what a user needs to act: the endpoint, the HTTP status, the Qualys code
//! and text, the page and byte offset. `Display` says what happened, why, and what to do. The
//! exit code of `qharness` is derived from [`Error::exit_class`], and the retry policy from
//! [`Error::retry`], so the two can never disagree with the message.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::qualys::{Permission, fo::code};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the process exit code says about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitClass {
    /// 1: anything not covered below (malformed response, I/O, a bug).
    Other = 1,
    /// 2: configuration or usage error, found before any request was sent; or a server
    /// certificate that does not verify against the configured trust (a setting to fix, found
    /// at the first connection).
    Config = 2,
    /// 3: credentials, account or permission problem; the user must act; never retried.
    Account = 3,
    /// 4: transient failure (rate limit, 5xx, timeouts) still failing after bounded retries.
    Transient = 4,
}

impl ExitClass {
    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn name(self) -> &'static str {
        match self {
            ExitClass::Other => "other",
            ExitClass::Config => "config",
            ExitClass::Account => "account",
            ExitClass::Transient => "transient",
        }
    }
}

/// How the client may retry after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Do not retry: the same request will fail the same way.
    Never,
    /// Retry after exponential backoff.
    Backoff,
    /// Retry after the server-given delay (rate limit).
    After(Duration),
}

/// Which account or permission problem Qualys reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountProblem {
    /// CODE 2000 or HTTP 401: wrong password, no API access, or wrong platform.
    BadLogin,
    /// CODE 2001.
    Expired,
    /// CODE 2002.
    Inactive,
    /// CODE 2003: a new user that has not completed activation.
    RegistrationIncomplete,
    /// CODE 2011.
    SecureIdRequired,
    /// CODE 2012.
    LicenceMissing,
    /// HTTP 403 (the simulator's choice, see fixtures/README.md): a module permission is missing.
    PermissionMissing(Permission),
    /// QPS `UNAUTHORIZED`: no API access, the module is not enabled for the user, or the module
    /// permission is missing; Qualys does not say which.
    ApiUnauthorized(Permission),
    /// The API gateway reported the session token expired (HTTP 401 "JWT expired"). The client
    /// logs in again once and repeats the request; this reaches the user only when the fresh
    /// token is refused the same way.
    SessionExpired,
    /// The API gateway did not accept the session token (HTTP 401 "Not authenticated").
    SessionRejected,
}

impl AccountProblem {
    /// Maps a Qualys code to the problem it names.
    pub fn from_code(c: u32) -> Option<AccountProblem> {
        Some(match c {
            code::BAD_LOGIN => AccountProblem::BadLogin,
            code::ACCOUNT_EXPIRED => AccountProblem::Expired,
            code::ACCOUNT_INACTIVE => AccountProblem::Inactive,
            code::REGISTRATION_INCOMPLETE => AccountProblem::RegistrationIncomplete,
            code::SECURE_ID_REQUIRED => AccountProblem::SecureIdRequired,
            code::LICENCE_MISSING => AccountProblem::LicenceMissing,
            _ => return None,
        })
    }

    fn summary(self) -> String {
        match self {
            AccountProblem::BadLogin => "Qualys rejected the login (Bad Login/Password)".into(),
            AccountProblem::Expired => "the Qualys account has expired".into(),
            AccountProblem::Inactive => "the Qualys account is inactive".into(),
            AccountProblem::RegistrationIncomplete => {
                "the Qualys user has not completed registration (account not activated)".into()
            }
            AccountProblem::SecureIdRequired => {
                "the Qualys account requires SecureID, which blocks API access".into()
            }
            AccountProblem::LicenceMissing => {
                "the subscription is not licensed for this API or module".into()
            }
            AccountProblem::PermissionMissing(p) => {
                format!("the Qualys user lacks the \"{p}\" permission")
            }
            AccountProblem::ApiUnauthorized(p) => format!(
                "Qualys refused the {} API call as unauthorized (UNAUTHORIZED)",
                module_of(p)
            ),
            AccountProblem::SessionExpired => {
                "the API gateway reported the session token expired, again right after a new login"
                    .into()
            }
            AccountProblem::SessionRejected => {
                "the API gateway did not accept the session token (Not authenticated)".into()
            }
        }
    }

    /// What the user should do, in plain words.
    pub fn remediation(self) -> String {
        match self {
            AccountProblem::BadLogin => "Qualys gives this same answer for three different causes; check each:\n    \
                 1. the username and password: log in to the Qualys web console with them;\n    \
                 2. the user has API access: in the console, Users > edit the user > User Role, \
                 enable \"API\" access;\n    \
                 3. the platform URL is the API server of the platform the account lives on \
                 (the character after the company prefix of the username names it: `_` is US1, \
                 https://qualysapi.qualys.com; see https://www.qualys.com/platform-identification/)."
                .into(),
            AccountProblem::Expired => {
                "Ask your Qualys account manager or subscription administrator to renew the \
                 subscription or extend the account; nothing in the connector can work around it."
                    .into()
            }
            AccountProblem::Inactive => {
                "Ask a Qualys Manager to activate the user (Users > edit the user > General \
                 Information > Activate)."
                    .into()
            }
            AccountProblem::RegistrationIncomplete => {
                "Complete the user activation process: log in to the Qualys console with the new \
                 user's credentials, change the initial password and accept the terms. API \
                 requests are served only after that. This is the first thing to check when the \
                 connector is still failing for a new user."
                    .into()
            }
            AccountProblem::SecureIdRequired => {
                "Use an API user without SecureID (two-factor) authentication, or ask a Qualys \
                 Manager to disable SecureID for this user."
                    .into()
            }
            AccountProblem::LicenceMissing => {
                "Ask your Qualys account manager to enable the module for the subscription, then \
                 give the user access to it."
                    .into()
            }
            AccountProblem::PermissionMissing(p) => format!(
                "Ask a Qualys Manager to give the user the \"{p}\" permission (Users > edit the \
                 user > Permissions), together with API access."
            ),
            AccountProblem::ApiUnauthorized(p) => format!(
                "Qualys gives this same answer for three causes; ask a Qualys Manager to check each:\n    \
                 1. the user has API access (Users > edit the user > User Role, enable \"API\");\n    \
                 2. the {module} module is enabled for the subscription and the user has full access \
                 to it;\n    \
                 3. the user has the \"{p}\" permission (Users > edit the user > Permissions).",
                module = module_of(p)
            ),
            AccountProblem::SessionExpired => {
                "The connector logged in again once and the new token was refused as expired too. \
                 Check that nothing between you and the gateway (a proxy, a cache) replays old \
                 Authorization headers; if it persists, contact Qualys support with the time of \
                 the failure."
                    .into()
            }
            AccountProblem::SessionRejected => {
                "Check that platform_url is the API gateway of the platform the account lives on \
                 (the same gateway issues the token at /auth and accepts it), and that no proxy \
                 strips or rewrites the Authorization header."
                    .into()
            }
        }
    }
}

/// What to do about a redirect the connector did not follow.
fn redirect_remediation(location: Option<&str>) -> String {
    let origin = location
        .and_then(|l| url::Url::parse(l).ok())
        .filter(|u| u.has_host())
        .map(|u| u.origin().ascii_serialization());
    match origin {
        Some(o) => format!(
            "if {o} is your platform's API server, set platform_url to it; otherwise check the \
             platform URL (the API server base URL without a path, e.g. \
             https://qualysapi.qualys.com) and any proxy or load balancer that rewrites URLs"
        ),
        None => "check the platform URL (the API server base URL without a path, e.g. \
                 https://qualysapi.qualys.com) and any proxy or load balancer that rewrites URLs"
            .into(),
    }
}

/// The Qualys module a permission belongs to, as the console names it.
fn module_of(p: Permission) -> &'static str {
    match p {
        Permission::ManageVm => "VM",
        Permission::ManageWebApplications => "WAS",
        Permission::ManagePc => "Policy Compliance",
    }
}

/// The endpoint and HTTP exchange an error happened on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Path of the endpoint, e.g. `/api/2.0/fo/asset/host/vm/detection/`.
    pub endpoint: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// 1-based page number within the stream, when paginating.
    pub page: Option<u32>,
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.endpoint)?;
        if let Some(p) = self.page {
            write!(f, " (page {p})")?;
        }
        if let Some(s) = self.status {
            write!(f, ", HTTP {s}")?;
        }
        Ok(())
    }
}

/// Qualys's own words from an error body: a `SIMPLE_RETURN`, a QPS `ServiceResponse`, or a
/// gateway JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QualysMessage {
    /// The numeric code (`SIMPLE_RETURN` CODE, the gateway's `code`).
    pub code: Option<u32>,
    /// The text, quoted as Qualys sent it.
    pub text: String,
    /// `ITEM_LIST` key/value pairs, e.g. `SECONDS_TO_WAIT`.
    pub items: Vec<(String, String)>,
    /// What Qualys advises (QPS `errorResolution`).
    pub resolution: Option<String>,
}

impl QualysMessage {
    pub fn item(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for QualysMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(f, "CODE {c}: {}", self.text)?,
            None => write!(f, "{}", self.text)?,
        }
        match &self.resolution {
            Some(r) => write!(f, " (Qualys advises: {r:?})"),
            None => Ok(()),
        }
    }
}

/// The longest wait a server may ask for that the client takes at its word. Waits come from
/// headers and bodies (`X-RateLimit-ToWait-Sec`, `SECONDS_TO_WAIT`, `Retry-After`), so they are
/// untrusted numbers: anything longer is clamped to this, which is still far beyond any
/// `max_wait_secs` budget, so such a wait fails the run instead of overflowing a clock.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// A server-asked wait of `secs` seconds, clamped to [`MAX_SERVER_WAIT`].
pub fn server_wait(secs: u64) -> Duration {
    Duration::from_secs(secs).min(MAX_SERVER_WAIT)
}

/// A wait for messages: its seconds, or "a day or longer" once clamped.
pub(crate) fn describe_wait(wait: Duration) -> String {
    if wait >= MAX_SERVER_WAIT {
        "a day or longer".into()
    } else {
        format!("{}s", wait.as_secs())
    }
}

/// Whether a throttle came from the rate limit or the concurrency limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// CODE 1965: too many calls in the rolling window.
    Rate,
    /// CODE 1960: too many calls running at once.
    Concurrency,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is missing, invalid or contradicts another; nothing was sent.
    #[error("invalid configuration: {setting}: {problem}\n  what to do: {remediation}")]
    Config {
        setting: String,
        problem: String,
        remediation: String,
    },

    /// Qualys refused the credentials, the account or a permission. Never retried.
    #[error("{exchange}: {}; Qualys said: {message}\n  what to do: {}", problem.summary(), problem.remediation())]
    Account {
        problem: AccountProblem,
        exchange: Exchange,
        message: Box<QualysMessage>,
    },

    /// Qualys rejected a request parameter (codes 19xx other than the limits).
    #[error("{exchange}: Qualys rejected the request{}; Qualys said: {message}\n  what to do: check the value of that setting; if the connector built it, this is a connector bug worth reporting with this message", parameter.as_ref().map(|p| format!(" (parameter `{p}`)")).unwrap_or_default())]
    Rejected {
        exchange: Exchange,
        message: Box<QualysMessage>,
        parameter: Option<String>,
    },

    /// The rate or concurrency limit answered (1965 / 1960).
    #[error("{exchange}: Qualys {} limit reached; Qualys said: {message}{}", match kind { Throttle::Rate => "API rate", Throttle::Concurrency => "API concurrency" }, wait.map(|w| format!(" (asks to wait {})", describe_wait(w))).unwrap_or_default())]
    Throttled {
        kind: Throttle,
        exchange: Exchange,
        message: Box<QualysMessage>,
        /// The wait Qualys asked for (`X-RateLimit-ToWait-Sec` or `SECONDS_TO_WAIT`).
        wait: Option<Duration>,
    },

    /// The server failed (HTTP 5xx, CODE 999, GENERIC_RETURN, maintenance).
    #[error("{exchange}: server error; {}", if message.code.is_some() { format!("Qualys said: {message}") } else { format!("the answer: {message}") })]
    Server {
        exchange: Exchange,
        message: Box<QualysMessage>,
    },

    /// An HTML page arrived where XML was expected (301 redirect, 414, a proxy's error page).
    #[error("{exchange}: expected a Qualys XML response, got an HTML page \"{title}\"{}\n  what to do: {remediation}", location.as_ref().map(|l| format!(" redirecting to {l}")).unwrap_or_default())]
    Html {
        exchange: Exchange,
        title: String,
        location: Option<String>,
        remediation: String,
    },

    /// A bare redirect (3xx without an HTML page). Redirects are never followed: the password may
    /// only go to the configured platform URL.
    #[error("{exchange}: the server redirected the request{}; redirects are not followed, on purpose: the password may only go to the configured platform URL\n  what to do: {}", location.as_ref().map(|l| format!(" to {l}")).unwrap_or_else(|| " without a Location header".into()), redirect_remediation(location.as_deref()))]
    Redirected {
        exchange: Exchange,
        /// The `Location` header, without any user name or password it carried.
        location: Option<String>,
    },

    /// The server's TLS certificate did not verify. Permanent: retrying cannot change it.
    #[error(
        "{exchange}: the server's TLS certificate was not accepted: {problem}\n  what to do: {remediation}"
    )]
    Certificate {
        exchange: Exchange,
        /// The verification failure in plain words (unknown issuer, expired, wrong name).
        problem: String,
        remediation: String,
        #[source]
        source: reqwest::Error,
    },

    /// The request did not complete within `request_timeout_secs`. Not retried: the same page
    /// over the same path would take as long again.
    #[error("{exchange}: the request did not complete within request_timeout_secs = {}s ({received} bytes of the body had arrived)\n  what to do: raise request_timeout_secs for very large pages on slow links, or lower truncation_limit so that pages are smaller", limit.as_secs())]
    Deadline {
        exchange: Exchange,
        limit: Duration,
        received: u64,
    },

    /// The body arrived slower than `min_throughput_bytes_per_sec`, averaged over
    /// `min_throughput_window_secs`: the connection is stalling (a server or proxy dribbling
    /// bytes keeps `read_timeout_secs` from ever firing).
    #[error("{exchange}: the response body arrived at {} bytes/s over the last {}s, below min_throughput_bytes_per_sec = {minimum}", received / window.as_secs().max(1), window.as_secs())]
    TooSlow {
        exchange: Exchange,
        received: u64,
        window: Duration,
        minimum: u64,
    },

    /// The HTTP exchange itself failed: connection refused, reset, TLS, timeout.
    #[error("{exchange}: {during} failed: {source}")]
    Http {
        exchange: Exchange,
        during: &'static str,
        #[source]
        source: reqwest::Error,
    },

    /// The body is not well-formed XML (or not UTF-8).
    #[error("{origin}: invalid XML at byte {offset}: {source}")]
    Xml {
        /// Endpoint and page, or a file name.
        origin: String,
        offset: u64,
        #[source]
        source: quick_xml::Error,
    },

    /// The body is not the JSON the API gateway documents (or not UTF-8), or an element of a
    /// JSON array is not what the stream reads.
    #[error("{origin}: invalid JSON at byte {offset}{}: {problem}", if *element > 0 { format!(" (element {element})") } else { String::new() })]
    Json {
        /// Endpoint and page, or a file name.
        origin: String,
        /// Byte offset in the (decompressed) JSON text.
        offset: u64,
        /// 1-based index of the array element, 0 when not inside one.
        element: u64,
        problem: String,
        #[source]
        source: Option<serde_json::Error>,
    },

    /// A gzip'd body (a PCRS posture answer) whose compression is damaged: nothing after the
    /// damage can be inflated. Where the damage lies in the JSON text is not known (the
    /// inflater drops what it decoded in the call that failed, so the place depends on how the
    /// bytes arrived), so no offset is given.
    #[error(
        "{origin}: the gzip'd body is corrupt ({problem}): it cannot be inflated past the damage\n  what to do: ask again (a proxy may have changed the bytes); for a saved file, save the answer again as it came, without converting it"
    )]
    CorruptGzip { origin: String, problem: String },

    /// The body is not UTF-8, which every Qualys XML document is.
    #[error(
        "{origin}: the document is not valid UTF-8 at byte {offset}; Qualys sends UTF-8, so the bytes were changed on the way (re-encoded, e.g. saved as Latin-1 or UTF-16, or damaged)"
    )]
    NotUtf8 { origin: String, offset: u64 },

    /// The body ended before the document did (connection closed mid-body).
    #[error(
        "{origin}: the document ends at byte {offset} before its root element closes (truncated response)"
    )]
    Truncated { origin: String, offset: u64 },

    /// A saved response ends before its document does. A file is not retried, so unlike a
    /// [`Error::Truncated`] body this is not transient.
    #[error(
        "{origin}: the file ends at byte {offset} before its root element closes: the saved response is incomplete\n  what to do: save the whole response again (a download or copy was cut short)"
    )]
    IncompleteFile { origin: String, offset: u64 },

    /// A well-formed document of the wrong kind, or a value the connector cannot use.
    #[error("{origin}: unexpected content at byte {offset}: {problem}")]
    Unexpected {
        origin: String,
        offset: u64,
        problem: String,
    },

    /// The next page would not start after this one (`id_min` or `lastId` does not move
    /// forward): the server is returning the same page again.
    #[error(
        "{exchange}: pagination cursor does not advance ({cursor} {next} after {cursor} {previous}); stopping instead of looping.\n  what to do: report this with the request journal; the server is returning the same page again"
    )]
    CursorStuck {
        exchange: Exchange,
        /// The cursor's name on the wire: `id_min`, `lastId`.
        cursor: &'static str,
        previous: u64,
        next: u64,
    },

    /// The page says more records follow but gives no usable position to continue from (a
    /// truncation WARNING without `id_min`, `hasMoreRecords` without `lastId` or records).
    #[error("{exchange}: {what}; the remaining records cannot be fetched")]
    CursorMissing { exchange: Exchange, what: String },

    /// Policy IDs the run was asked for are not in the subscription's policy list (Policy
    /// Compliance). Found before any posture request; a configuration problem.
    #[error("{exchange}: polic{} {} not in the policy list of this subscription ({listed} policies listed)\n  what to do: check policy_ids against the console (Policy Compliance > Policies) or run without policy_ids to fetch every active policy", if missing.len() == 1 { "y" } else { "ies" }, missing.iter().map(u64::to_string).collect::<Vec<_>>().join(", ") + if missing.len() == 1 { " is" } else { " are" })]
    PolicyNotFound {
        exchange: Exchange,
        missing: Vec<u64>,
        listed: usize,
    },

    /// A retryable failure kept failing until the retry budget ran out. The last failure names
    /// the endpoint and page; `endpoint` is kept for callers that match on it.
    #[error("{last}\n  still failing after {attempts} attempt{} over {}s\n  what to do: {remediation}", if *attempts == 1 { "" } else { "s" }, elapsed.as_secs())]
    RetriesExhausted {
        endpoint: String,
        attempts: u32,
        elapsed: Duration,
        remediation: String,
        #[source]
        last: Box<Error>,
    },

    /// Reading or writing a local file failed.
    #[error("{action} {}: {source}", path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "<stdout>".into()))]
    Io {
        action: &'static str,
        path: Option<PathBuf>,
        #[source]
        source: std::io::Error,
    },

    /// A tenant, fixture set or scenario file is invalid.
    #[error("{}: {problem}", path.display())]
    InvalidFile { path: PathBuf, problem: String },

    /// The simulator could not start (bind, TLS).
    #[error("simulator: {problem}")]
    Simulator {
        problem: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// An external connector command (`qharness conform --connector`) did not succeed.
    #[error("the connector command `{command}` {failure}")]
    External {
        command: String,
        failure: crate::connector::external::ExternalFailure,
        /// The kind of failure its exit status names, when it declared an exit-code convention.
        class: Option<ExitClass>,
    },

    /// `qharness conform` ran every scenario and some failed (each one's report is printed).
    #[error(
        "conform: {failed} of {total} scenarios failed; the reports above say what each expected and what happened"
    )]
    ScenariosFailed { failed: usize, total: usize },
}

impl Error {
    /// Shorthand for a configuration error.
    pub fn config(
        setting: impl Into<String>,
        problem: impl Into<String>,
        remediation: impl Into<String>,
    ) -> Error {
        Error::Config {
            setting: setting.into(),
            problem: problem.into(),
            remediation: remediation.into(),
        }
    }

    /// Shorthand for an I/O error on a path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: Some(path.into()),
            source,
        }
    }

    /// A parse error of a saved response, as the file's error: a file has no retries, so a
    /// document that ends too early is an incomplete file (exit 1), not a transient failure.
    pub(crate) fn in_saved_file(self) -> Error {
        match self {
            Error::Truncated { origin, offset } => Error::IncompleteFile { origin, offset },
            e => e,
        }
    }

    /// The exit class `qharness` reports for this error.
    pub fn exit_class(&self) -> ExitClass {
        match self {
            Error::Config { .. } | Error::Certificate { .. } | Error::PolicyNotFound { .. } => {
                ExitClass::Config
            }
            Error::Account { .. } => ExitClass::Account,
            Error::RetriesExhausted { .. }
            | Error::Throttled { .. }
            | Error::Server { .. }
            | Error::Http { .. }
            | Error::Deadline { .. }
            | Error::TooSlow { .. }
            | Error::Truncated { .. } => ExitClass::Transient,
            Error::External { class, .. } => class.unwrap_or(ExitClass::Other),
            _ => ExitClass::Other,
        }
    }

    /// Whether and how the client may retry the request that produced this error.
    pub fn retry(&self) -> Retry {
        match self {
            Error::Throttled {
                wait: Some(w),
                kind: Throttle::Rate,
                ..
            } => Retry::After(*w),
            Error::Throttled { .. }
            | Error::Server { .. }
            | Error::Truncated { .. }
            | Error::TooSlow { .. } => Retry::Backoff,
            Error::Http { source, .. } => {
                if source.is_builder() || source.is_redirect() {
                    Retry::Never
                } else {
                    Retry::Backoff
                }
            }
            // A 5xx proxy page is transient; a 301/414 page will not change on retry.
            Error::Html { exchange, .. } if exchange.status.is_some_and(|s| s >= 500) => {
                Retry::Backoff
            }
            _ => Retry::Never,
        }
    }

    /// The Qualys code carried by this error, if any.
    pub fn qualys_code(&self) -> Option<u32> {
        match self {
            Error::Account { message, .. }
            | Error::Rejected { message, .. }
            | Error::Throttled { message, .. }
            | Error::Server { message, .. } => message.code,
            Error::RetriesExhausted { last, .. } => last.qualys_code(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange() -> Exchange {
        Exchange {
            endpoint: "/api/2.0/fo/asset/host/vm/detection/".into(),
            status: Some(409),
            page: Some(1),
        }
    }

    #[test]
    fn registration_incomplete_tells_the_user_to_activate_in_the_console() {
        let e = Error::Account {
            problem: AccountProblem::from_code(2003).unwrap(),
            exchange: exchange(),
            message: Box::new(QualysMessage {
                code: Some(2003),
                text: code::REGISTRATION_INCOMPLETE_TEXT.into(),
                ..QualysMessage::default()
            }),
        };
        let msg = e.to_string();
        assert!(msg.contains("activation"), "{msg}");
        assert!(msg.contains("log in to the Qualys console"), "{msg}");
        assert_eq!(e.exit_class(), ExitClass::Account);
        assert_eq!(e.retry(), Retry::Never);
    }

    #[test]
    fn rate_limit_is_retried_after_the_given_wait() {
        let e = Error::Throttled {
            kind: Throttle::Rate,
            exchange: exchange(),
            message: Box::default(),
            wait: Some(Duration::from_secs(7)),
        };
        assert_eq!(e.retry(), Retry::After(Duration::from_secs(7)));
        assert_eq!(e.exit_class(), ExitClass::Transient);
    }
}
