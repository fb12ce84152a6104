//! What a diagnosis found: the checks in order, the limits, one verdict per stream; printed as
//! text for a person or as JSON (schema 1, documented in the README) for a machine.
//!
//! The JSON form is stable: fields are only ever added, and `schema` changes when a field
//! changes meaning or goes away.

use std::fmt::Write as _;

use serde::Serialize;

use super::limits::Limits;

/// The JSON schema version.
pub const SCHEMA: u32 = 1;

/// The whole diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub schema: u32,
    pub platform_url: String,
    pub username: String,
    /// The gateway URL used for Policy Compliance, when a gateway stream was selected.
    pub gateway_url: Option<String>,
    /// Where the gateway URL came from.
    pub gateway_url_source: Option<GatewaySource>,
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
    /// The limits the rate-limit headers announced, when an FO answer arrived.
    pub limits: Option<Limits>,
    /// One verdict per selected stream.
    pub streams: Vec<StreamReport>,
    pub requests: Requests,
    /// 0 when every selected stream works, 3 otherwise.
    pub exit_code: u8,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GatewaySource {
    /// `--gateway-url`.
    Given,
    /// The platform table, from the API server URL.
    PlatformTable,
    /// The platform URL's own origin (a simulator, a proxy or a private cloud serving both).
    SameOrigin,
}

/// Requests sent, against the fixed budget.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Requests {
    pub sent: u32,
    pub budget: u32,
}

/// One check of the settings, the network, the account or the limits.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub step: Step,
    /// What was checked: a URL, `host:port`, an address.
    pub target: String,
    pub outcome: Outcome,
    /// How long the step took, for timed steps.
    pub millis: Option<u64>,
    pub detail: String,
    /// What to do, when the outcome is `warning` or `failed`.
    pub remedy: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Settings,
    Dns,
    Tcp,
    Tls,
    Account,
    Limits,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Settings => "settings",
            Step::Dns => "dns",
            Step::Tcp => "tcp",
            Step::Tls => "tls",
            Step::Account => "account",
            Step::Limits => "limits",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Warning,
    Failed,
}

impl Outcome {
    fn mark(self) -> &'static str {
        match self {
            Outcome::Ok => "ok  ",
            Outcome::Warning => "warn",
            Outcome::Failed => "FAIL",
        }
    }
}

/// The verdict on one stream.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StreamReport {
    pub stream: &'static str,
    pub verdict: Verdict,
    /// The probe calls made for it (none when an earlier check failed).
    pub probes: Vec<ProbeCall>,
    /// What the user can see, from the probe.
    pub visible: Option<Visible>,
    /// What went wrong, in full, when the verdict is not `works`.
    pub problem: Option<String>,
    /// One line: what to do.
    pub remedy: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Works,
    Fails,
    /// Not probed: the network (DNS, TCP, TLS) stopped the diagnosis before the account and the
    /// permissions were tested; `problem` and `remedy` say why.
    NotChecked,
    /// This build has no implementation of the stream.
    NotImplemented,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Verdict::Works => "works",
            Verdict::Fails => "FAILS",
            Verdict::NotChecked => "not checked",
            Verdict::NotImplemented => "not implemented",
        }
    }
}

/// One probe request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProbeCall {
    /// The endpoint's registry name (`host_list`, `detection`, `auth`, `pcrs_policy_list`, ...).
    pub endpoint: &'static str,
    pub path: String,
    pub http_status: Option<u16>,
    pub millis: u64,
    pub outcome: Outcome,
}

/// What a probe saw.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Visible {
    /// Records in the probe's answer, or the total when the API counts (policies, web apps).
    pub count: u64,
    /// Whether more follow beyond `count` (a one-record probe of a larger list).
    pub more: bool,
    /// `hosts`, `policies`, `web applications`.
    pub of: &'static str,
}

impl Visible {
    fn describe(&self) -> String {
        let of = if self.count == 1 {
            match self.of {
                "hosts" => "host",
                "active policies" => "active policy",
                "web applications" => "web application",
                other => other,
            }
        } else {
            self.of
        };
        if self.more {
            format!(
                "{} {of} seen, more follow (the probe reads one record; it does not count them all)",
                self.count
            )
        } else {
            format!("{} {of} visible", self.count)
        }
    }
}

impl Diagnosis {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "qharness diagnose: {} as {}",
            self.platform_url, self.username
        );
        if let (Some(url), Some(source)) = (&self.gateway_url, self.gateway_url_source) {
            let how = match source {
                GatewaySource::Given => "given",
                GatewaySource::PlatformTable => {
                    "derived from the platform table: --gateway-url was not given"
                }
                GatewaySource::SameOrigin => {
                    "the platform URL's origin: --gateway-url was not given and the host is not a shared platform"
                }
            };
            let _ = writeln!(out, "gateway: {url} ({how})");
        }
        out.push('\n');
        for c in &self.checks {
            let took = c.millis.map(|m| format!(" ({m} ms)")).unwrap_or_default();
            let _ = writeln!(
                out,
                "[{}] {:<8} {}{took}: {}",
                c.outcome.mark(),
                c.step.name(),
                c.target,
                c.detail
            );
            if let Some(r) = &c.remedy {
                let _ = writeln!(out, "                what to do: {r}");
            }
        }
        out.push('\n');
        let width = self
            .streams
            .iter()
            .map(|s| s.stream.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            out,
            "{:<width$}  {:<15}  remedy / seen",
            "stream", "verdict"
        );
        for s in &self.streams {
            let note = match (s.verdict, &s.remedy, &s.visible) {
                (Verdict::Works, _, Some(v)) => v.describe(),
                (_, Some(r), _) => r.clone(),
                (_, None, _) => s.problem.clone().unwrap_or_default(),
            };
            let _ = writeln!(
                out,
                "{:<width$}  {:<15}  {note}",
                s.stream,
                s.verdict.text()
            );
        }
        // Streams stopped by a failed check above are explained there; the probes' own
        // failures are explained here.
        let failures: Vec<_> = self
            .streams
            .iter()
            .filter(|s| s.verdict == Verdict::Fails && !s.probes.is_empty())
            .filter_map(|s| s.problem.as_ref().map(|p| (s.stream, p)))
            .collect();
        if !failures.is_empty() {
            out.push('\n');
            for (stream, problem) in failures {
                let _ = writeln!(out, "{stream}: {problem}");
            }
        }
        if self.streams.iter().any(|s| s.visible.is_some()) {
            let _ = writeln!(
                out,
                "\nnote: what a user sees is limited by the asset groups (scope) of their role; a number lower than the console's usually means a narrow scope (Users > edit the user > Asset Groups)."
            );
        }
        let _ = writeln!(
            out,
            "\n{} of at most {} requests sent; exit {}",
            self.requests.sent, self.requests.budget, self.exit_code
        );
        out
    }
}
