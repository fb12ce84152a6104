//! The settings every stream shares: which stream, the platform and the user, the password, TLS,
//! retries and timeouts.
//!
//! Every file a setting names (`password_file`, `ca_cert`) is read here, so a missing or
//! unusable one is a configuration error (exit 2) before any request, never a failure half-way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::PASSWORD_ENV;
use crate::error::{Error, Result};
use crate::qualys::platform::{self, UrlKind};
use crate::stream::{StreamKind, StreamRow};

settings_section! {
    /// The common section of the settings: the keys every stream reads.
    pub struct CommonSettings {
        stream: StreamKind,
        platform_url: String,
        username: String,
        /// A file holding the password (first line). The password is never a setting itself.
        password_file: PathBuf,
        /// Extra CA certificate (PEM) to trust, e.g. the simulator's self-signed one.
        ca_cert: PathBuf,
        /// Attempts per request for transient failures (default 5).
        max_attempts: u32,
        /// Upper bound on the total time spent waiting on rate limits and backoff (default 300 s).
        max_wait_secs: u64,
        /// First backoff delay (default 1000 ms), doubled per attempt up to 30 s.
        backoff_initial_ms: u64,
        /// Connection timeout (default 30 s).
        connect_timeout_secs: u64,
        /// Longest silence while reading a response (default 300 s).
        read_timeout_secs: u64,
        /// Longest time one request may take, from sending it to the end of its body (default
        /// 3600 s, room for multi-gigabyte pages).
        request_timeout_secs: u64,
        /// Slowest acceptable body, in bytes per second averaged over
        /// `min_throughput_window_secs` (default 1024; 0 turns the guard off).
        min_throughput_bytes_per_sec: u64,
        /// The window the minimum throughput is averaged over (default 300 s).
        min_throughput_window_secs: u64,
        /// Allow `http://` to a host that is not loopback: the password then crosses the network
        /// unencrypted (default false).
        allow_insecure_http: bool,
    }
}

/// The longest timeout a setting may ask for: a week. Longer ones are a typo, and a clock
/// cannot add an unbounded duration.
const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 60 * 60;

/// The checked common settings: where to connect, as whom, and how patiently.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    /// The configured platform origin (plus an optional path prefix for proxies). Credentials go
    /// to this origin and nowhere else.
    pub base_url: Url,
    pub username: String,
    pub password: SecretString,
    /// The extra CA certificate(s) to trust, checked to hold at least one certificate.
    pub ca_cert: Option<CaCert>,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// The deadline of one request, body included.
    pub request_timeout: Duration,
    /// The slowest acceptable body; `None` when the guard is off.
    pub min_throughput: Option<MinThroughput>,
}

/// A CA certificate file (`ca_cert`): where it came from, for messages, and its PEM text.
#[derive(Debug, Clone)]
pub struct CaCert {
    pub path: PathBuf,
    pub pem: Vec<u8>,
}

/// The minimum-throughput guard: fewer than `bytes_per_sec * window` bytes of body within any
/// `window` fails the attempt (retried, as a stall may pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinThroughput {
    pub bytes_per_sec: u64,
    pub window: Duration,
}

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, including the first.
    pub max_attempts: u32,
    /// Total time the run may spend waiting (backoff and rate-limit waits together).
    pub max_wait: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The backoff before attempt `attempt` (1-based count of failures so far).
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

impl CommonSettings {
    /// The selected stream; `None` is the "no stream selected" error listing every name.
    pub(super) fn check_stream(&self) -> Result<StreamKind> {
        self.stream.ok_or_else(|| {
            Error::config(
                "stream",
                "no stream selected",
                format!(
                    "pass --stream with one of: {}",
                    StreamKind::names().join(", ")
                ),
            )
        })
    }

    /// Checks the common keys for `stream` and resolves the password.
    pub(super) fn check(
        &self,
        stream: &StreamRow,
        password_env: Option<String>,
        warnings: &mut Vec<String>,
    ) -> Result<CommonConfig> {
        let username = match self.username.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => {
                return Err(Error::config(
                    "username",
                    "no username given",
                    "pass --username (the Qualys API user, e.g. quays_ab1) or set `username` in the config file",
                ));
            }
        };
        let base_url = self.check_platform_url(stream, &username, warnings)?;
        let password = self.resolve_password(password_env)?;
        let max_attempts = self.max_attempts.unwrap_or(5);
        if max_attempts == 0 {
            return Err(Error::config(
                "max_attempts",
                "0 attempts would never send a request",
                "use 1 or more",
            ));
        }
        let ca_cert = match &self.ca_cert {
            Some(p) => Some(read_ca_cert(p)?),
            None => None,
        };
        let min_throughput = match self.min_throughput_bytes_per_sec.unwrap_or(1024) {
            0 => None,
            bytes_per_sec => Some(MinThroughput {
                bytes_per_sec,
                window: timeout(
                    "min_throughput_window_secs",
                    self.min_throughput_window_secs,
                    300,
                )?,
            }),
        };
        Ok(CommonConfig {
            base_url,
            username,
            password,
            ca_cert,
            retry: RetryPolicy {
                max_attempts,
                max_wait: Duration::from_secs(self.max_wait_secs.unwrap_or(300)),
                initial_backoff: Duration::from_millis(self.backoff_initial_ms.unwrap_or(1000)),
                max_backoff: Duration::from_secs(30),
            },
            connect_timeout: timeout("connect_timeout_secs", self.connect_timeout_secs, 30)?,
            read_timeout: timeout("read_timeout_secs", self.read_timeout_secs, 300)?,
            request_timeout: timeout("request_timeout_secs", self.request_timeout_secs, 3600)?,
            min_throughput,
        })
    }

    fn check_platform_url(
        &self,
        stream: &StreamRow,
        username: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Url> {
        let raw = match self.platform_url.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => u,
            _ => {
                return Err(Error::config(
                    "platform_url",
                    "no platform URL given",
                    "pass --platform-url with your platform's API server URL, e.g. https://qualysapi.qualys.com (US1)",
                ));
            }
        };
        // The URL is echoed in messages; a user name and password in it never are.
        let userinfo = || {
            Error::config(
                "platform_url",
                "the URL carries a user name or password (user:password@host); it is not echoed here, and credentials never go in the URL",
                "remove the user:password@ part: give the user with --username (username) and the password with QUALYS_PASSWORD or password_file",
            )
        };
        let shown = platform::url_for_display(raw);
        if shown != raw {
            return Err(userinfo());
        }
        let url = Url::parse(raw).map_err(|e| {
            Error::config(
                "platform_url",
                format!("{raw:?} is not a URL ({e})"),
                "give the full URL with its scheme, e.g. https://qualysapi.qualys.com",
            )
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(userinfo());
        }
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::config(
                "platform_url",
                format!("{raw:?} is not an http(s) URL with a host"),
                "give the full URL with its scheme, e.g. https://qualysapi.qualys.com",
            ));
        }
        if url.query().is_some() || url.path().contains("/api/") || url.path().contains("/fo/") {
            return Err(Error::config(
                "platform_url",
                format!("{raw:?} points at an endpoint, not at the platform"),
                "give only the server part, e.g. https://qualysapi.qualys.com; the connector adds the API paths",
            ));
        }
        let calls_api_server = !stream.family.uses_gateway();
        let suggestion = |p: &platform::Platform| {
            if calls_api_server {
                format!(
                    "use the API server URL of {}: {} (the API gateway {} is only for Policy Compliance)",
                    p.name,
                    p.api_server_url(),
                    p.gateway_url()
                )
            } else {
                format!(
                    "use the API gateway URL of {}: {} (the {} stream logs in at /auth there; the API server {} is for VMDR and WAS)",
                    p.name,
                    p.gateway_url(),
                    stream.name,
                    p.api_server_url()
                )
            }
        };
        match platform::classify(&url) {
            UrlKind::WebUi(p) => {
                return Err(Error::config(
                    "platform_url",
                    format!("{raw} is the Qualys web UI (qualysguard), not an API server"),
                    suggestion(p),
                ));
            }
            UrlKind::PrivateWebUi => {
                return Err(Error::config(
                    "platform_url",
                    format!(
                        "{raw} looks like a Qualys web UI URL (qualysguard), not an API server"
                    ),
                    "use the API server URL: the same domain with `qualysapi.` instead of `qualysguard.`",
                ));
            }
            UrlKind::Gateway(p) if calls_api_server => {
                return Err(Error::config(
                    "platform_url",
                    format!(
                        "{raw} is the API gateway URL, but the {} stream calls the API server",
                        stream.name
                    ),
                    suggestion(p),
                ));
            }
            UrlKind::PrivateGateway if calls_api_server => {
                return Err(Error::config(
                    "platform_url",
                    format!(
                        "{raw} looks like an API gateway URL, but the {} stream calls the API server",
                        stream.name
                    ),
                    "use the API server URL (`qualysapi.` host) for VMDR and WAS streams",
                ));
            }
            UrlKind::ApiServer(p) if !calls_api_server => {
                return Err(Error::config(
                    "platform_url",
                    format!(
                        "{raw} is the API server URL, but the {} stream calls the API gateway",
                        stream.name
                    ),
                    suggestion(p),
                ));
            }
            UrlKind::ApiServer(p) | UrlKind::Gateway(p) => {
                if let Some(user_platform) = platform::platform_of_username(username)
                    && user_platform.name != p.name
                {
                    warnings.push(format!(
                        "the username {username:?} names platform {} but the platform URL is {}'s ({raw}); \
                         if the login fails with \"Bad Login/Password\", use {}",
                        user_platform.name,
                        p.name,
                        user_platform.api_server_url()
                    ));
                }
            }
            UrlKind::PrivateGateway | UrlKind::Other => {}
        }
        if url.scheme() == "http" && !platform::is_loopback(&url) {
            if !self.allow_insecure_http.unwrap_or(false) {
                return Err(Error::config(
                    "platform_url",
                    format!(
                        "{raw} uses plain HTTP to a host that is not this machine: the password would cross the network unencrypted"
                    ),
                    "use https:// (every Qualys platform does); for a test server you trust on your network, pass --allow-insecure-http (allow_insecure_http = true)",
                ));
            }
            warnings.push(format!(
                "{raw} uses plain HTTP (allowed by allow_insecure_http): the password crosses the network unencrypted"
            ));
        }
        Ok(url)
    }

    /// The password: the first line of `password_file`, else the environment variable's value.
    pub fn resolve_password(&self, password_env: Option<String>) -> Result<SecretString> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::config(
                    "password_file",
                    format!("cannot read {}: {e}", path.display()),
                    "give a file this user can read, with the password on its first line (or unset password_file and export QUALYS_PASSWORD)",
                )
            })?;
            let line = text.lines().next().unwrap_or("").to_string();
            if line.is_empty() {
                return Err(Error::config(
                    "password_file",
                    format!("{} is empty", path.display()),
                    "put the password on the first line of the file",
                ));
            }
            return Ok(SecretString::from(line));
        }
        match password_env {
            Some(p) if !p.is_empty() => Ok(SecretString::from(p)),
            _ => Err(Error::config(
                "password",
                format!(
                    "no password: {PASSWORD_ENV} is not set and no password_file is configured"
                ),
                format!(
                    "export {PASSWORD_ENV}=... (never put the password on the command line) or set password_file in the config file"
                ),
            )),
        }
    }
}

/// A timeout setting in seconds, between 1 s and a week.
fn timeout(setting: &str, value: Option<u64>, default: u64) -> Result<Duration> {
    match value.unwrap_or(default) {
        secs @ 1..=MAX_TIMEOUT_SECS => Ok(Duration::from_secs(secs)),
        secs => Err(Error::config(
            setting,
            format!("{secs} s is out of range"),
            format!("use 1 to {MAX_TIMEOUT_SECS} seconds (a week); the default is {default}"),
        )),
    }
}

/// Reads the `ca_cert` file and checks that it holds at least one PEM certificate a TLS client
/// can use, so that a wrong file fails here and not as a certificate error at the first request.
fn read_ca_cert(path: &Path) -> Result<CaCert> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    const WHAT: &str = "give the PEM file of the CA certificate that signed the server's \
                        certificate (for `qharness serve --tls`, the file --cert-out wrote)";
    let problem = |p: String| Error::config("ca_cert", p, WHAT);
    let pem =
        std::fs::read(path).map_err(|e| problem(format!("cannot read {}: {e}", path.display())))?;
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Err(problem(format!("{} is empty", path.display())));
    }
    let mut roots = rustls::RootCertStore::empty();
    for (n, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.map_err(|e| {
            problem(format!(
                "{} is not a readable PEM file (certificate {}: {e})",
                path.display(),
                n + 1
            ))
        })?;
        roots.add(cert).map_err(|e| {
            problem(format!(
                "certificate {} in {} is not a usable X.509 certificate: {e}",
                n + 1,
                path.display()
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(problem(format!(
            "{} holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)",
            path.display()
        )));
    }
    Ok(CaCert {
        path: path.to_path_buf(),
        pem,
    })
}
