//! Connector configuration: a TOML file and command-line flags merged into [`Settings`], then
//! checked into a [`ConnectorConfig`] before any request is sent.
//!
//! Every rule lives in [`Settings::validate`], so the CLI, the scenario runner and the tests all
//! get the same messages. Errors name the setting, say what is wrong and what to do; soft
//! problems (a platform URL that disagrees with the username's platform identifier, which is
//! legitimate for private clouds and simulators) come back as warnings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::qualys::filter::{ArfKernelFilter, StatusSet, TagFilter, TagSelector, parse_tag_list};
use crate::qualys::platform::{self, UrlKind};
use crate::stream::StreamKind;

/// The environment variable the password is read from when no `password_file` is set.
pub const PASSWORD_ENV: &str = "QUALYS_PASSWORD";

/// Settings as written in a config file, a scenario's `[settings]` table, or given as flags.
/// Every field is optional here; [`Settings::validate`] decides what is required.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub stream: Option<StreamKind>,
    pub platform_url: Option<String>,
    pub username: Option<String>,
    /// A file holding the password (first line). The password is never a setting itself.
    pub password_file: Option<PathBuf>,
    /// Vulnerability statuses: `"New,Active"` or `["New", "Active"]`. Default: all four.
    pub status: Option<StatusList>,
    /// Asset tag names to include, comma-separated.
    pub tag_include: Option<String>,
    /// Asset tag names to exclude, comma-separated.
    pub tag_exclude: Option<String>,
    pub tag_include_selector: Option<String>,
    pub tag_exclude_selector: Option<String>,
    /// 0-3 (see [`ArfKernelFilter`]).
    pub arf_kernel_filter: Option<i64>,
    /// Hosts per page (Qualys `truncation_limit`); 0 asks for everything in one response.
    pub truncation_limit: Option<u32>,
    /// Also return detections a user marked ignored (Qualys `include_ignored`; default false,
    /// as Qualys's own default).
    pub include_ignored: Option<bool>,
    /// Also return disabled detections (Qualys `include_disabled`; default false).
    pub include_disabled: Option<bool>,
    /// QIDs per KnowledgeBase request.
    pub kb_batch_size: Option<usize>,
    /// Join KnowledgeBase facts onto detections (default true).
    pub knowledge_base: Option<bool>,
    /// Extra CA certificate (PEM) to trust, e.g. the simulator's self-signed one.
    pub ca_cert: Option<PathBuf>,
    /// Attempts per request for transient failures (default 5).
    pub max_attempts: Option<u32>,
    /// Upper bound on the total time spent waiting on rate limits and backoff (default 300 s).
    pub max_wait_secs: Option<u64>,
    /// First backoff delay (default 1000 ms), doubled per attempt up to 30 s.
    pub backoff_initial_ms: Option<u64>,
    /// Connection timeout (default 30 s).
    pub connect_timeout_secs: Option<u64>,
    /// Longest silence while reading a response (default 300 s).
    pub read_timeout_secs: Option<u64>,
}

/// A status list written either as one comma-separated string or as a TOML array.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum StatusList {
    Text(String),
    List(Vec<String>),
}

impl StatusList {
    fn joined(&self) -> String {
        match self {
            StatusList::Text(s) => s.clone(),
            StatusList::List(v) => v.join(","),
        }
    }
}

impl Settings {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Settings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading the config file", path, e))?;
        toml::from_str(&text).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            problem: format!("{}\n  what to do: fix the TOML; valid keys are listed in the README (\"Configuration\")", e.to_string().trim_end()),
        })
    }

    /// Fields set in `over` replace those in `self` (flags override the file).
    pub fn overridden_by(self, over: Settings) -> Settings {
        macro_rules! pick {
            ($($f:ident),*) => { Settings { $($f: over.$f.or(self.$f)),* } };
        }
        pick!(
            stream,
            platform_url,
            username,
            password_file,
            status,
            tag_include,
            tag_exclude,
            tag_include_selector,
            tag_exclude_selector,
            arf_kernel_filter,
            truncation_limit,
            include_ignored,
            include_disabled,
            kb_batch_size,
            knowledge_base,
            ca_cert,
            max_attempts,
            max_wait_secs,
            backoff_initial_ms,
            connect_timeout_secs,
            read_timeout_secs
        )
    }

    /// Checks every rule and resolves the password. `password_env` is the value of
    /// `QUALYS_PASSWORD` (passed in so tests need not touch the process environment).
    pub fn validate(&self, password_env: Option<String>) -> Result<(ConnectorConfig, Vec<String>)> {
        let mut warnings = Vec::new();

        let stream = self.stream.ok_or_else(|| {
            Error::config(
                "stream",
                "no stream selected",
                format!(
                    "pass --stream with one of: {}",
                    StreamKind::names().join(", ")
                ),
            )
        })?;
        stream.builtin()?;

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

        let base_url = self.check_platform_url(stream, &username, &mut warnings)?;
        let password = self.resolve_password(password_env)?;
        let statuses = self.check_status()?;
        let tags = self.check_tags()?;

        let arf_kernel_filter = match self.arf_kernel_filter {
            None => None,
            Some(v @ 0..=3) => Some(ArfKernelFilter::try_from(v as u8).map_err(|e| {
                Error::config("arf_kernel_filter", e.to_string(), "use 0, 1, 2 or 3")
            })?),
            Some(v) => {
                return Err(Error::config(
                    "arf_kernel_filter",
                    format!("{v} is out of range"),
                    "use 0 (no kernel filtering), 1 (exclude vulnerabilities on non-running kernels), \
                     2 (only those on non-running kernels) or 3 (only those on running kernels)",
                ));
            }
        };
        if arf_kernel_filter.is_some() && stream != StreamKind::VmdrVulnerabilities {
            return Err(Error::config(
                "arf_kernel_filter",
                "only applies to the vmdr-vulnerabilities stream",
                "remove arf_kernel_filter or select --stream vmdr-vulnerabilities",
            ));
        }
        if (self.include_ignored.is_some() || self.include_disabled.is_some())
            && stream != StreamKind::VmdrVulnerabilities
        {
            return Err(Error::config(
                "include_ignored",
                "include_ignored and include_disabled only apply to the vmdr-vulnerabilities stream",
                "remove them or select --stream vmdr-vulnerabilities",
            ));
        }
        if self.status.is_some() && stream != StreamKind::VmdrVulnerabilities {
            return Err(Error::config(
                "status",
                "only applies to the vmdr-vulnerabilities stream",
                "remove the status filter or select --stream vmdr-vulnerabilities",
            ));
        }

        let kb_batch_size = self.kb_batch_size.unwrap_or(300);
        if !(1..=1000).contains(&kb_batch_size) {
            return Err(Error::config(
                "kb_batch_size",
                format!("{kb_batch_size} is out of range"),
                "use 1 to 1000 QIDs per KnowledgeBase request (300 is a safe default)",
            ));
        }
        let max_attempts = self.max_attempts.unwrap_or(5);
        if max_attempts == 0 {
            return Err(Error::config(
                "max_attempts",
                "0 attempts would never send a request",
                "use 1 or more",
            ));
        }

        let ca_cert = match &self.ca_cert {
            Some(p) => {
                Some(std::fs::read(p).map_err(|e| Error::io("reading the CA certificate", p, e))?)
            }
            None => None,
        };

        Ok((
            ConnectorConfig {
                stream,
                base_url,
                username,
                password,
                statuses,
                tags,
                arf_kernel_filter,
                truncation_limit: self.truncation_limit.unwrap_or(1000),
                include_ignored: self.include_ignored.unwrap_or(false),
                include_disabled: self.include_disabled.unwrap_or(false),
                kb_batch_size,
                knowledge_base: self.knowledge_base.unwrap_or(true),
                ca_cert_pem: ca_cert,
                retry: RetryPolicy {
                    max_attempts,
                    max_wait: Duration::from_secs(self.max_wait_secs.unwrap_or(300)),
                    initial_backoff: Duration::from_millis(self.backoff_initial_ms.unwrap_or(1000)),
                    max_backoff: Duration::from_secs(30),
                },
                connect_timeout: Duration::from_secs(self.connect_timeout_secs.unwrap_or(30)),
                read_timeout: Duration::from_secs(self.read_timeout_secs.unwrap_or(300)),
            },
            warnings,
        ))
    }

    fn check_platform_url(
        &self,
        stream: StreamKind,
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
        let url = Url::parse(raw).map_err(|e| {
            Error::config(
                "platform_url",
                format!("{raw:?} is not a URL ({e})"),
                "give the full URL with its scheme, e.g. https://qualysapi.qualys.com",
            )
        })?;
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
        let suggestion = |p: &platform::Platform| {
            format!(
                "use the API server URL of {}: {} (the API gateway {} is only for Policy Compliance)",
                p.name,
                p.api_server_url(),
                p.gateway_url()
            )
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
            UrlKind::Gateway(p) if !stream.row().family.uses_gateway() => {
                return Err(Error::config(
                    "platform_url",
                    format!(
                        "{raw} is the API gateway URL, but the {} stream calls the API server",
                        stream.name()
                    ),
                    suggestion(p),
                ));
            }
            UrlKind::PrivateGateway if !stream.row().family.uses_gateway() => {
                return Err(Error::config(
                    "platform_url",
                    format!(
                        "{raw} looks like an API gateway URL, but the {} stream calls the API server",
                        stream.name()
                    ),
                    "use the API server URL (`qualysapi.` host) for VMDR and WAS streams",
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
            warnings.push(format!(
                "{raw} uses plain HTTP: the password crosses the network unencrypted; Qualys platforms use HTTPS"
            ));
        }
        Ok(url)
    }

    fn resolve_password(&self, password_env: Option<String>) -> Result<SecretString> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io("reading the password file", path, e))?;
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

    fn check_status(&self) -> Result<StatusSet> {
        let Some(list) = &self.status else {
            return Ok(StatusSet::ALL);
        };
        let joined = list.joined();
        StatusSet::parse_list(&joined).map_err(|e| {
            Error::config(
                "status",
                e.to_string(),
                "use a comma-separated subset of New, Active, Re-Opened, Fixed (default: all four)",
            )
        })
    }

    fn check_tags(&self) -> Result<TagFilter> {
        const RULE: &str = "the connector documentation says the asset tag set to include and the \
                            asset tag set to exclude each require the other";
        let include = self
            .tag_include
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let exclude = self
            .tag_exclude
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match (include, exclude) {
            (Some(_), None) => {
                return Err(Error::config(
                    "tag_exclude",
                    format!("tag_include is set but tag_exclude is missing; {RULE}"),
                    "set tag_exclude (--tag-exclude) as well, or remove tag_include",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::config(
                    "tag_include",
                    format!("tag_exclude is set but tag_include is missing; {RULE}"),
                    "set tag_include (--tag-include) as well, or remove tag_exclude",
                ));
            }
            _ => {}
        }
        let list = |setting: &str, v: Option<&str>| -> Result<Vec<String>> {
            match v {
                None => Ok(Vec::new()),
                Some(v) => parse_tag_list(v).map_err(|e| {
                    Error::config(
                        setting,
                        e.to_string(),
                        "separate tag names with commas, e.g. \"Prod,PCI & Card\"",
                    )
                }),
            }
        };
        let selector = |setting: &str, v: &Option<String>| -> Result<TagSelector> {
            match v {
                None => Ok(TagSelector::Any),
                Some(v) => v.parse().map_err(|e: crate::qualys::filter::InvalidValue| {
                    Error::config(setting, e.to_string(), "use any or all")
                }),
            }
        };
        Ok(TagFilter {
            include: list("tag_include", include)?,
            include_selector: selector("tag_include_selector", &self.tag_include_selector)?,
            exclude: list("tag_exclude", exclude)?,
            exclude_selector: selector("tag_exclude_selector", &self.tag_exclude_selector)?,
        })
    }
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

/// A checked configuration, ready for the client.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    pub stream: StreamKind,
    /// The configured platform origin (plus an optional path prefix for proxies). Credentials go
    /// to this origin and nowhere else.
    pub base_url: Url,
    pub username: String,
    pub password: SecretString,
    pub statuses: StatusSet,
    pub tags: TagFilter,
    pub arf_kernel_filter: Option<ArfKernelFilter>,
    pub truncation_limit: u32,
    pub include_ignored: bool,
    pub include_disabled: bool,
    pub kb_batch_size: usize,
    pub knowledge_base: bool,
    pub ca_cert_pem: Option<Vec<u8>>,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Settings {
        Settings {
            stream: Some(StreamKind::VmdrVulnerabilities),
            platform_url: Some("https://qualysapi.qualys.com".into()),
            username: Some("quays_ab1".into()),
            ..Settings::default()
        }
    }

    fn check(s: Settings) -> Result<(ConnectorConfig, Vec<String>)> {
        s.validate(Some("secret".into()))
    }

    #[test]
    fn exclude_without_include_is_rejected_naming_the_missing_field_and_the_rule() {
        let err = check(Settings {
            tag_exclude: Some("Decommissioned".into()),
            ..base()
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, Error::Config { setting, .. } if setting == "tag_include"),
            "{msg}"
        );
        assert!(msg.contains("each require the other"), "{msg}");
    }

    #[test]
    fn include_without_exclude_is_rejected_naming_the_missing_field() {
        let err = check(Settings {
            tag_include: Some("Prod".into()),
            ..base()
        })
        .unwrap_err();
        assert!(matches!(&err, Error::Config { setting, .. } if setting == "tag_exclude"));
    }

    #[test]
    fn web_ui_and_gateway_urls_are_errors_with_the_api_server_suggested() {
        for url in [
            "https://qualysguard.qualys.com",
            "https://gateway.qg1.apps.qualys.com",
        ] {
            let err = check(Settings {
                platform_url: Some(url.into()),
                ..base()
            })
            .unwrap_err();
            assert!(
                err.to_string().contains("https://qualysapi.qualys.com"),
                "{err}"
            );
        }
    }

    #[test]
    fn platform_mismatch_is_only_a_warning() {
        let (_, warnings) = check(Settings {
            platform_url: Some("https://qualysapi.qg3.apps.qualys.com".into()),
            ..base()
        })
        .unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("US1"));
        let (_, warnings) = check(Settings {
            platform_url: Some("http://127.0.0.1:8080".into()),
            ..base()
        })
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn bad_status_and_arf_values_are_rejected() {
        assert!(
            check(Settings {
                status: Some(StatusList::Text("New,Open".into())),
                ..base()
            })
            .is_err()
        );
        let err = check(Settings {
            arf_kernel_filter: Some(4),
            ..base()
        })
        .unwrap_err();
        assert!(err.to_string().contains("out of range"));
    }

    #[test]
    fn missing_password_says_how_to_provide_it_without_the_command_line() {
        let err = base().validate(None).unwrap_err();
        assert!(err.to_string().contains(PASSWORD_ENV));
        assert_eq!(err.exit_class(), crate::ExitClass::Config);
    }

    #[test]
    fn flags_override_the_file() {
        let file = Settings {
            truncation_limit: Some(10),
            username: Some("a".into()),
            ..Settings::default()
        };
        let flags = Settings {
            truncation_limit: Some(20),
            ..Settings::default()
        };
        let merged = file.overridden_by(flags);
        assert_eq!(merged.truncation_limit, Some(20));
        assert_eq!(merged.username.as_deref(), Some("a"));
    }

    #[test]
    fn status_accepts_a_toml_array_or_a_string() {
        let s: Settings = toml::from_str("status = [\"New\", \"Fixed\"]").unwrap();
        let (c, _) = check(base().overridden_by(s)).unwrap();
        assert_eq!(c.statuses.to_param(), "New,Fixed");
    }
}
