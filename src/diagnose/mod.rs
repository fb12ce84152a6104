//! `qharness diagnose`: test a connection and name the cause, the way the seeds' FAQ would.
//!
//! Support teams spend their time telling apart a handful of failures that all look like "the
//! connector fails": an unactivated user, a platform URL of another platform, the API server
//! where the gateway belongs (or the reverse), a missing API checkbox or module permission, a
//! narrow asset-group scope, a rate limit used up by another tool. A diagnosis runs these checks
//! in order, stopping a branch at its first failure:
//!
//! 1. **Settings** (`settings.rs`): URL shapes and platforms against the platform table and the
//!    username; the gateway URL derived when not given.
//! 2. **Network** (`network.rs`): DNS, TCP connect and the TLS handshake, each timed.
//! 3. **Account**: one cheap authenticated call on the API server (`/msp/about.php`).
//! 4. **Limits** ([`limits`]): what the rate-limit headers say, against an estimate of the calls
//!    a full pull needs.
//! 5. **Streams** ([`probe`]): per stream, the smallest call that proves access.
//! 6. **Verdict** ([`report`]): per stream works, fails (the settings cannot work, or Qualys
//!    refused), not checked (the network stopped the diagnosis before the account was tested) or
//!    not implemented, with one line of remedy; text or JSON.
//!
//! The API server branch (account, VMDR and WAS probes) and the gateway branch (Policy
//! Compliance) are separate: a gateway URL mistake fails PC and leaves VMDR alone.
//!
//! **Request budget.** Every HTTP request goes through one counter (`exchange.rs`): 1 for the
//! account check, 1 per selected FO or QPS stream probe (shared when two streams share a probe)
//! and 2 for Policy Compliance (the gateway login and the policy list). With every stream
//! selected that is at most 7 requests; nothing is retried and no data beyond the one-record
//! probes is read. DNS, TCP and TLS checks open connections but send no request.
//!
//! The password goes only into the `Authorization` header and the gateway login form; neither
//! it nor the gateway token is ever printed, logged or put in the report.

mod exchange;
pub mod limits;
mod network;
pub mod probe;
pub mod report;
mod settings;

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use url::Url;

use self::exchange::{Auth, Prober};
use self::limits::{Limits, PageSizes};
use self::probe::Probe;
use self::report::{
    Check, Diagnosis, Outcome, ProbeCall, Requests, SCHEMA, Step, StreamReport, Verdict, Visible,
};
use crate::error::{Error, Result};
use crate::qualys::endpoint;
use crate::qualys::platform;
use crate::stream::StreamKind;

/// What to diagnose.
#[derive(Debug, Clone)]
pub struct Options {
    /// The API server URL (`--platform-url`).
    pub platform_url: Url,
    /// The API gateway URL (`--gateway-url`); derived when absent.
    pub gateway_url: Option<Url>,
    pub username: String,
    /// The selected streams, in the order of the probe table.
    pub streams: Vec<StreamKind>,
    /// Whether the streams were named one by one: then a stream this build does not implement
    /// counts as not working (with `all` it is listed and does not count).
    pub named: bool,
    /// Extra CA certificates (PEM) to trust.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Limit of each network step and each request.
    pub timeout: Duration,
    /// The number of hosts, for the estimate of calls (unknown to a one-record probe).
    pub hosts: Option<u64>,
    pub pages: PageSizes,
}

impl Options {
    /// Reads `--streams`: `all` or a comma-separated list of stream names.
    pub fn parse_streams(text: &str) -> Result<(Vec<StreamKind>, bool)> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") || text.is_empty() {
            return Ok((probe::PROBES.iter().map(|r| r.stream).collect(), false));
        }
        let mut chosen = Vec::new();
        for name in text.split(',') {
            let kind: StreamKind = name.trim().parse().map_err(|_| {
                Error::config(
                    "streams",
                    format!("{:?} is not a stream", name.trim()),
                    format!(
                        "give all, or a comma-separated list of: {}",
                        StreamKind::names().join(", ")
                    ),
                )
            })?;
            if !chosen.contains(&kind) {
                chosen.push(kind);
            }
        }
        // The order of the table, whatever the order on the command line.
        let streams = probe::PROBES
            .iter()
            .map(|r| r.stream)
            .filter(|s| chosen.contains(s))
            .collect();
        Ok((streams, true))
    }

    /// Reads a URL flag; anything but an http(s) URL with a host is a usage error.
    pub fn parse_url(flag: &str, text: &str) -> Result<Url> {
        let url = Url::parse(text.trim()).map_err(|e| {
            Error::config(
                flag,
                format!("{text:?} is not a URL ({e})"),
                "give the full URL with its scheme, e.g. https://qualysapi.qualys.com",
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::config(
                flag,
                format!("{text:?} is not an http(s) URL with a host"),
                "give the full URL with its scheme, e.g. https://qualysapi.qualys.com",
            ));
        }
        Ok(url)
    }

    /// The most requests a diagnosis of these streams sends.
    pub fn request_budget(&self) -> u32 {
        let mut probes: Vec<&Probe> = Vec::new();
        for s in self.implemented() {
            if let Some(row) = probe::row(s)
                && !probes.contains(&&row.probe)
            {
                probes.push(&row.probe);
            }
        }
        1 + probes.iter().map(|p| p.requests()).sum::<u32>()
    }

    fn implemented(&self) -> impl Iterator<Item = StreamKind> + '_ {
        self.streams
            .iter()
            .copied()
            .filter(|s| s.row().builtin.is_some() && probe::row(*s).is_some())
    }
}

/// Why a branch stopped: the problem and one line of remedy, given to every stream behind it.
#[derive(Debug, Clone)]
pub(crate) struct Blocked {
    pub problem: String,
    pub remedy: String,
    /// Whether the streams behind are known to fail (the settings cannot work, Qualys refused
    /// the account) or were not checked (the network stopped the diagnosis before the account
    /// and the permissions were tested).
    pub stream_fails: bool,
}

/// Runs the diagnosis. Never fails: every failure is a finding in the report.
pub async fn diagnose(options: &Options, password: SecretString) -> Diagnosis {
    let mut checks: Vec<Check> = Vec::new();
    let needs_gateway = options
        .implemented()
        .any(|s| probe::row(s).is_some_and(|r| r.probe.family().uses_gateway()));
    let found = settings::check(
        &options.platform_url,
        options.gateway_url.as_ref(),
        &options.username,
        needs_gateway,
    );
    checks.extend(found.checks);
    let mut api = found.api;
    let mut gateway = found.gateway;

    // 2. Network, per distinct origin.
    if api.is_ok() {
        api = network::check(
            &options.platform_url,
            options.ca_cert_pem.as_deref(),
            options.timeout,
            &mut checks,
        )
        .await;
    }
    if let Some(Ok((url, _))) = &gateway
        && url.origin() != options.platform_url.origin()
        && let Err(blocked) = network::check(
            url,
            options.ca_cert_pem.as_deref(),
            options.timeout,
            &mut checks,
        )
        .await
    {
        gateway = Some(Err(blocked));
    }

    let budget = options.request_budget();
    let prober = Prober::new(
        options.ca_cert_pem.as_deref(),
        options.timeout,
        platform::is_loopback(&options.platform_url),
        &options.username,
        password,
        budget,
    );
    let prober = match prober {
        Ok(p) => Some(p),
        Err(e) => {
            let blocked = Blocked {
                problem: e.to_string(),
                remedy: "fix the --ca-cert file".into(),
                stream_fails: false,
            };
            api = Err(blocked.clone());
            gateway = gateway.map(|_| Err(blocked));
            None
        }
    };

    // 3. Account: the same user on both branches.
    if let (Ok(()), Some(prober)) = (&api, &prober) {
        let outcome = account(prober, &options.platform_url).await;
        let target = probe::url(&options.platform_url, &endpoint::ABOUT).to_string();
        match outcome {
            Ok(millis) => checks.push(Check {
                step: Step::Account,
                target,
                outcome: Outcome::Ok,
                millis: Some(millis),
                detail: format!(
                    "{} logged in with Basic authentication: the password, the API access and the account are in order",
                    options.username
                ),
                remedy: None,
            }),
            Err((e, millis)) => {
                let remedy = probe::remedy(&e);
                checks.push(Check {
                    step: Step::Account,
                    target,
                    outcome: Outcome::Failed,
                    millis,
                    detail: without_remediation(&e),
                    remedy: Some(remedy.clone()),
                });
                api = Err(Blocked {
                    problem: format!("account: {}", without_remediation(&e)),
                    remedy,
                    stream_fails: true,
                });
            }
        }
    }
    if let (Err(blocked), Some(Ok(_))) = (&api, &gateway) {
        gateway = Some(Err(blocked.clone()));
    }

    // 5. Streams.
    let mut reports = Vec::new();
    // Streams that share a probe share its answer: (calls, visible or (problem, remedy)).
    type Answered = (
        Vec<ProbeCall>,
        std::result::Result<Visible, (String, String)>,
    );
    let mut answered: HashMap<&'static Probe, Answered> = HashMap::new();
    let mut policies = None;
    for &stream in &options.streams {
        let name = stream.row().name;
        let Some(row) = probe::row(stream).filter(|_| stream.row().builtin.is_some()) else {
            reports.push(StreamReport {
                stream: name,
                verdict: Verdict::NotImplemented,
                probes: Vec::new(),
                visible: None,
                problem: Some(format!("this build has no {name} stream yet")),
                remedy: None,
            });
            continue;
        };
        let family = row.probe.family();
        let branch = if family.uses_gateway() {
            match &gateway {
                Some(Ok((url, _))) => Ok(url.clone()),
                Some(Err(b)) => Err(b.clone()),
                None => Err(Blocked {
                    problem: "no gateway URL".into(),
                    remedy: "give --gateway-url".into(),
                    stream_fails: true,
                }),
            }
        } else {
            api.clone().map(|()| options.platform_url.clone())
        };
        let (base, prober) = match (branch, &prober) {
            (Ok(base), Some(p)) => (base, p),
            (Err(b), _) => {
                let mut report = fails(name, Vec::new(), b.problem, b.remedy);
                if !b.stream_fails {
                    report.verdict = Verdict::NotChecked;
                }
                reports.push(report);
                continue;
            }
            (Ok(_), None) => unreachable!(
                "a prober that could not be built sets every branch to Err above, so no branch is open without one"
            ),
        };
        let key: &'static Probe = &row.probe;
        let (calls, result) = match answered.get(key) {
            Some(done) => done.clone(),
            None => {
                let outcome = row.probe.run(prober, &base).await;
                let result = match outcome.result {
                    Ok(v) => Ok(v),
                    Err(e) => Err((e.to_string(), probe::remedy(&e))),
                };
                answered.insert(key, (outcome.calls.clone(), result.clone()));
                (outcome.calls, result)
            }
        };
        match result {
            Ok(visible) => {
                // The policy list's count sizes the Policy Compliance pull.
                if row.probe == probe::Probe::GatewayPolicyList {
                    policies = Some(visible.count);
                }
                reports.push(StreamReport {
                    stream: name,
                    verdict: Verdict::Works,
                    probes: calls,
                    visible: Some(visible),
                    problem: None,
                    remedy: None,
                });
            }
            Err((problem, remedy)) => reports.push(fails(name, calls, problem, remedy)),
        }
    }

    // 4. Limits, from every FO answer of the run.
    let rates = prober.as_ref().map(|p| p.rates()).unwrap_or_default();
    let limits = (!rates.is_empty()).then(|| {
        let implemented: Vec<StreamKind> = options.implemented().collect();
        Limits::from_answers(
            &rates,
            limits::estimate(&implemented, options.hosts, policies, options.pages),
        )
    });
    if let Some(l) = &limits {
        let short = l.short();
        checks.push(Check {
            step: Step::Limits,
            target: options.platform_url.to_string(),
            outcome: if short { Outcome::Warning } else { Outcome::Ok },
            millis: None,
            detail: l.describe(),
            remedy: short.then(|| {
                "fewer calls are left than a full pull needs: run it when the window has room, stop other tools using the subscription's budget, or ask Qualys for a higher limit".to_string()
            }),
        });
    }

    let works = |r: &StreamReport| {
        r.verdict == Verdict::Works || (r.verdict == Verdict::NotImplemented && !options.named)
    };
    let exit_code = if reports.iter().all(works) { 0 } else { 3 };
    Diagnosis {
        schema: SCHEMA,
        platform_url: options.platform_url.to_string(),
        username: options.username.clone(),
        gateway_url: match &gateway {
            Some(Ok((url, _))) => Some(url.to_string()),
            _ => options.gateway_url.as_ref().map(Url::to_string),
        },
        gateway_url_source: match &gateway {
            Some(Ok((_, source))) => Some(*source),
            _ => options
                .gateway_url
                .as_ref()
                .map(|_| report::GatewaySource::Given),
        },
        checks,
        limits,
        streams: reports,
        requests: Requests {
            sent: prober.as_ref().map_or(0, Prober::sent),
            budget: prober.as_ref().map_or(budget, Prober::budget),
        },
        exit_code,
    }
}

fn fails(
    stream: &'static str,
    probes: Vec<ProbeCall>,
    problem: String,
    remedy: String,
) -> StreamReport {
    StreamReport {
        stream,
        verdict: Verdict::Fails,
        probes,
        visible: None,
        problem: Some(problem),
        remedy: Some(remedy),
    }
}

/// The account check: `GET /msp/about.php` with Basic authentication. Returns its time.
async fn account(prober: &Prober, base: &Url) -> std::result::Result<u64, (Error, Option<u64>)> {
    let answer = prober
        .send(
            &endpoint::ABOUT,
            probe::url(base, &endpoint::ABOUT),
            Method::GET,
            None,
            Auth::Basic,
        )
        .await
        .map_err(|e| (e, None))?;
    match answer.refusal() {
        Some(e) => Err((e, Some(answer.millis))),
        None => Ok(answer.millis),
    }
}

/// An error's text without its "what to do" part, for a line whose remedy is given apart.
fn without_remediation(e: &Error) -> String {
    let text = e.to_string();
    match text.split_once("\n  what to do:") {
        Some((what, _)) => what.to_string(),
        None => text,
    }
}
