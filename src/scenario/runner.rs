//! Runs one scenario: start the simulator it describes, run a connector against it (the
//! built-in one, or an external command), check every expectation, and explain any failure
//! with the requests the simulator received (and an external command's stderr).
//!
//! An external connector is judged on everything that does not need the built-in's insides:
//! records, keys, fields, `every`/`none`/`some`, snapshots, request expectations (from the
//! journal), pages (the complete pages the simulator served), and for `[expect.error]` a
//! non-zero exit with nothing published; the exit class and the message words where the
//! scenario marks them `portable` or the connector declared `--exit-codes` (see
//! [`super::file::Portable`]). What it is not judged on is listed in the outcome's notes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::file::{
    ErrorExpect, ExitName, Expect, Portable, Predicate, RequestExpect, ScenarioFile,
};
use super::throughput;
use crate::config::Settings;
use crate::connector::external::{ExternalConnector, ExternalFailure};
use crate::connector::{Connector, ConnectorRun};
use crate::error::{Error, Result};
use crate::qualys::Endpoint;
use crate::sim::{Completion, FixtureSet, JournalEntry, Simulator, SimulatorConfig, Tenant};
use crate::sink::MemorySink;
use crate::stream::{RunSummary, StreamKind};

/// A scenario file found on disk.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    /// The directory the scenario sits in, e.g. `filters`.
    pub group: String,
    /// The file stem, e.g. `status_new`.
    pub name: String,
    pub file: ScenarioFile,
}

impl Scenario {
    /// `group::name`, the scenario's test name.
    pub fn id(&self) -> String {
        format!("{}::{}", self.group, self.name)
    }

    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading the scenario", path, e))?;
        let file: ScenarioFile = toml::from_str(&text).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            problem: format!("not a valid scenario: {}", e.to_string().trim_end()),
        })?;
        let group = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenarios".into());
        let name = path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Scenario {
            path: path.to_path_buf(),
            group,
            name,
            file,
        })
    }

    /// Whether this is a throughput scenario (timed; release builds only).
    pub fn is_throughput(&self) -> bool {
        self.file.throughput.is_some()
    }

    fn relative(&self, p: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) => dir.join(p),
            None => p.to_path_buf(),
        }
    }
}

/// How a scenario ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Passed,
    Failed,
    Skipped(String),
}

/// The result of running one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioOutcome {
    pub verdict: Verdict,
    pub duration: Duration,
    /// Each unmet expectation, one line each.
    pub failures: Vec<String>,
    /// Measurements (throughput ratios) worth printing even on success.
    pub notes: Vec<String>,
    /// The full failure report: path, description, expected vs happened, requests received.
    pub report: String,
}

impl ScenarioOutcome {
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Passed
    }
}

/// Runs a scenario against the built-in connector. Never panics on a scenario's content.
pub async fn run(scenario: &Scenario) -> ScenarioOutcome {
    run_with(scenario, &Connector::Builtin).await
}

/// Runs a scenario against `connector` to its verdict. Never panics on a scenario's content.
pub async fn run_with(scenario: &Scenario, connector: &Connector) -> ScenarioOutcome {
    let started = Instant::now();
    let skipped = |why: String| ScenarioOutcome {
        verdict: Verdict::Skipped(why),
        duration: started.elapsed(),
        failures: Vec::new(),
        notes: Vec::new(),
        report: String::new(),
    };
    if let Some(spec) = &scenario.file.throughput {
        if connector.external().is_some() {
            return skipped(
                "throughput scenarios time the built-in connector's parser against quick-xml"
                    .into(),
            );
        }
        if cfg!(debug_assertions) {
            return skipped(
                "throughput scenarios run in release builds only (cargo run --release -- conform)"
                    .into(),
            );
        }
        return throughput_outcome(scenario, spec, started).await;
    }
    if let Some(why) = connector.unsupported(scenario.file.stream, &scenario.file.settings) {
        return skipped(why);
    }
    let judged = match run_against_simulator(scenario, connector).await {
        Ok(j) => j,
        Err(e) => Judged {
            failures: vec![format!("the scenario could not run: {e}")],
            ..Judged::default()
        },
    };
    let Judged {
        failures,
        journal,
        not_judged,
        stderr_tail,
    } = judged;
    let mut notes = Vec::new();
    if !not_judged.is_empty() {
        notes.push(format!(
            "not judged for an external connector: {}",
            not_judged.join("; ")
        ));
    }
    let verdict = if failures.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed
    };
    let report = if failures.is_empty() {
        String::new()
    } else {
        super::report::failure_report(scenario, &failures, &journal, stderr_tail.as_deref())
    };
    ScenarioOutcome {
        verdict,
        duration: started.elapsed(),
        failures,
        notes,
        report,
    }
}

async fn throughput_outcome(
    scenario: &Scenario,
    spec: &super::file::ThroughputSpec,
    started: Instant,
) -> ScenarioOutcome {
    let mut notes = Vec::new();
    let mut failures = Vec::new();
    match throughput::measure(scenario.file.stream, spec).await {
        Ok(m) => {
            notes.push(m.describe());
            if m.ratio + f64::EPSILON < spec.min_ratio {
                failures.push(format!(
                    "throughput ratio {:.2} is below the floor {:.2}",
                    m.ratio, spec.min_ratio
                ));
            }
            if let Some(limit) = spec.max_rss_growth_mib {
                match m.rss_growth_mib {
                    Some(g) if g > limit => failures.push(format!(
                        "peak RSS grew {g:.1} MiB while parsing, above the bound of {limit:.1} MiB"
                    )),
                    Some(_) => {}
                    None => notes.push(
                        "peak RSS not measured: /proc/self/clear_refs is not available here".into(),
                    ),
                }
            }
        }
        Err(e) => failures.push(format!("the measurement failed: {e}")),
    }
    let report = if failures.is_empty() {
        String::new()
    } else {
        super::report::failure_report(scenario, &failures, &[], None)
    };
    ScenarioOutcome {
        verdict: if failures.is_empty() {
            Verdict::Passed
        } else {
            Verdict::Failed
        },
        duration: started.elapsed(),
        failures,
        notes,
        report,
    }
}

/// What running a scenario against the simulator found.
#[derive(Debug, Default)]
struct Judged {
    failures: Vec<String>,
    journal: Vec<JournalEntry>,
    /// Expectations an external connector is not judged on, each with what it asked.
    not_judged: Vec<String>,
    stderr_tail: Option<String>,
}

async fn run_against_simulator(scenario: &Scenario, connector: &Connector) -> Result<Judged> {
    let file = &scenario.file;
    let tenant = match (&file.server.tenant_file, &file.server.tenant) {
        (Some(_), Some(_)) => {
            return Err(Error::InvalidFile {
                path: scenario.path.clone(),
                problem: "server.tenant and server.tenant_file are both set; keep one".into(),
            });
        }
        (Some(path), None) => Tenant::load(&scenario.relative(path))?,
        (None, Some(spec)) => {
            Tenant::from_spec(spec.clone()).map_err(|problem| Error::InvalidFile {
                path: scenario.path.clone(),
                problem: format!("server.tenant: {problem}"),
            })?
        }
        (None, None) => Tenant::demo(),
    };
    let mut sim_config = SimulatorConfig::from_tenant(tenant).tls(file.server.tls);
    if let Some(dir) = &file.server.fixtures {
        sim_config = sim_config.with_fixtures(FixtureSet::load(&scenario.relative(dir))?);
    }
    let sim = Simulator::start(sim_config).await?;

    let mut settings = file.settings.clone();
    if let Some(s) = settings.common.stream
        && s != file.stream
    {
        return Err(Error::InvalidFile {
            path: scenario.path.clone(),
            problem: format!(
                "settings.stream ({s}) contradicts stream ({}); keep one",
                file.stream
            ),
        });
    }
    settings.common.stream = Some(file.stream);
    settings.common.platform_url = settings
        .common
        .platform_url
        .or_else(|| Some(sim.base_url.to_string()));
    settings.common.username = settings.common.username.or_else(|| {
        Some(
            file.server
                .user
                .clone()
                .unwrap_or_else(|| "quays_ab1".into()),
        )
    });
    // Scenarios exercise retries; the production defaults (1 s doubling) would only slow them.
    settings.common.backoff_initial_ms = settings.common.backoff_initial_ms.or(Some(50));
    // Over TLS the connector trusts the simulator's certificate, written beside the run.
    let cert_dir = tempfile::tempdir()
        .map_err(|e| Error::io("creating a directory in", std::env::temp_dir(), e))?;
    if let Some(pem) = sim.certificate_pem()
        && settings.common.ca_cert.is_none()
    {
        let path = cert_dir.path().join("simulator-ca.pem");
        std::fs::write(&path, pem).map_err(|e| Error::io("writing the certificate", &path, e))?;
        settings.common.ca_cert = Some(path);
    }
    let password = file
        .server
        .password
        .clone()
        .unwrap_or_else(|| "demo".into());

    let mut sink = MemorySink::default();
    let run = connector
        .run_traced(&settings, Some(password), &mut sink)
        .await;
    let journal = sim.journal().entries();
    sim.shutdown().await;

    let mut judged = Judged {
        stderr_tail: run.stderr_tail.clone(),
        ..Judged::default()
    };
    let failures = &mut judged.failures;
    match connector.external() {
        None => {
            check_outcome(&file.expect, &run.result, &journal, failures);
            check_records(scenario, &sink.records, failures);
            if let Ok(summary) = &run.result {
                check_summary(&file.expect, summary, failures);
            }
        }
        Some(ext) => {
            check_external_outcome(&file.expect, &run, ext, &journal, &mut judged);
            let failures = &mut judged.failures;
            check_records(scenario, &sink.records, failures);
            if let Some(pages) = file.expect.pages {
                check_pages_served(
                    file.stream,
                    pages,
                    &journal,
                    failures,
                    &mut judged.not_judged,
                );
            }
            if !file.expect.summary.is_empty() {
                let keys: Vec<&str> = file.expect.summary.keys().map(String::as_str).collect();
                judged.not_judged.push(format!(
                    "run-summary counters ({}), which only the built-in connector reports",
                    keys.join(", ")
                ));
            }
            if !file.expect.warnings.is_empty() {
                judged.not_judged.push(format!(
                    "run warnings containing {:?}, the built-in connector's wording",
                    file.expect.warnings
                ));
            }
        }
    }
    let failures = &mut judged.failures;
    check_requests(&file.expect, &journal, failures);
    if let Some(snap) = &file.expect.snapshot {
        check_snapshot(scenario, snap, &sink.records, failures);
    }
    judged.journal = journal;
    Ok(judged)
}

fn check_outcome(
    expect: &Expect,
    result: &Result<RunSummary>,
    journal: &[JournalEntry],
    failures: &mut Vec<String>,
) {
    match (&expect.error, result) {
        (None, Ok(_)) => {}
        (None, Err(e)) => failures.push(format!("expected success, the run failed: {e}")),
        (Some(want), Ok(summary)) => failures.push(format!(
            "expected a {:?} error, the run succeeded with {} records",
            want.exit, summary.records
        )),
        (Some(want), Err(e)) => {
            if e.exit_class() != want.exit.class() {
                failures.push(format!(
                    "expected exit class {}, got {} ({e})",
                    want.exit.class().name(),
                    e.exit_class().name()
                ));
            }
            if let Some(code) = want.code
                && e.qualys_code() != Some(code)
            {
                failures.push(format!(
                    "expected Qualys code {code}, got {:?} ({e})",
                    e.qualys_code()
                ));
            }
            let msg = e.to_string();
            for word in &want.contains {
                if !msg.contains(word.as_str()) {
                    failures.push(format!("the error message lacks {word:?}: {msg}"));
                }
            }
            check_no_request_before_config_error(want, &expect.requests, journal, failures);
        }
    }
}

/// A configuration error must be found before any request. A configuration problem only the
/// server reveals (a policy ID the policy list lacks) comes after the requests that reveal it:
/// such a scenario pins what may be sent with `[[expect.requests]]`, which then judge instead.
fn check_no_request_before_config_error(
    want: &ErrorExpect,
    pinned: &[RequestExpect],
    journal: &[JournalEntry],
    failures: &mut Vec<String>,
) {
    if want.exit == ExitName::Config && pinned.is_empty() && !journal.is_empty() {
        failures.push(format!(
            "a configuration error must be found before any request, but the simulator received {}",
            journal.len()
        ));
    }
}

/// The outcome of an external command: it must fail exactly when the scenario expects an
/// error, publish nothing when it fails, and, where the scenario or its declared convention
/// says so, fail with the right exit status and words.
fn check_external_outcome(
    expect: &Expect,
    run: &ConnectorRun,
    ext: &ExternalConnector,
    journal: &[JournalEntry],
    judged: &mut Judged,
) {
    let failures = &mut judged.failures;
    if let Some(n) = run.published_on_failure {
        failures.push(format!(
            "the command failed but published {n} record(s) at QHARNESS_OUTPUT; a failed run must publish nothing, so a half-done output is never taken for a complete one"
        ));
    }
    let exit_code = match &run.result {
        Err(Error::External {
            failure: ExternalFailure::Exited(code),
            ..
        }) => Some(*code),
        _ => None,
    };
    let want = match (&expect.error, &run.result) {
        (None, Ok(_)) => return,
        (None, Err(e)) => {
            failures.push(format!("expected success, the run failed: {e}"));
            return;
        }
        (Some(want), Ok(summary)) => {
            failures.push(format!(
                "expected a {} failure (a non-zero exit, no records published), the command exited 0 with {} records",
                want.exit.class().name(),
                summary.records
            ));
            return;
        }
        (Some(_), Err(e)) if exit_code.is_none() => {
            // Killed, timed out, not started: never the failure a scenario asks for.
            failures.push(format!(
                "expected the command to exit with a failure status: {e}"
            ));
            return;
        }
        (Some(want), Err(_)) => want,
    };
    let convention = ext.declared_exit_codes();
    if convention.is_some() || want.portable.contains(&Portable::Exit) {
        let codes = convention.unwrap_or_default();
        let expected = codes.code_of(want.exit.class());
        if let Some(code) = exit_code.filter(|c| *c != expected) {
            failures.push(format!(
                "expected exit status {expected} ({} failure, by the convention {codes}), the command exited {code}{}",
                want.exit.class().name(),
                codes
                    .class_of(code)
                    .map(|c| format!(" ({} failure)", c.name()))
                    .unwrap_or_default()
            ));
        }
    } else {
        judged.not_judged.push(format!(
            "the exit class {} (declare the connector's exit codes with --exit-codes)",
            want.exit.class().name()
        ));
    }
    if let Some(code) = want.code {
        judged
            .not_judged
            .push(format!("Qualys code {code} in the error value"));
    }
    if !want.contains.is_empty() {
        if want.portable.contains(&Portable::Contains) {
            let stderr = run.stderr_tail.as_deref().unwrap_or("");
            for word in &want.contains {
                if !stderr.contains(word.as_str()) {
                    judged.failures.push(format!(
                        "what the command wrote to stderr lacks {word:?} (this scenario asks every connector to say it)"
                    ));
                }
            }
        } else {
            judged.not_judged.push(format!(
                "message words {:?}, the built-in connector's wording",
                want.contains
            ));
        }
    }
    check_no_request_before_config_error(want, &expect.requests, journal, &mut judged.failures);
}

/// `pages` for a connector that reports no summary: the complete answers of the stream's
/// paginated endpoint that the simulator sent.
fn check_pages_served(
    stream: StreamKind,
    pages: u64,
    journal: &[JournalEntry],
    failures: &mut Vec<String>,
    not_judged: &mut Vec<String>,
) {
    let Some(endpoint) = paged_endpoint(stream) else {
        not_judged.push(format!(
            "pages = {pages} (no paginated endpoint known for {stream})"
        ));
        return;
    };
    let served = journal
        .iter()
        .filter(|e| {
            endpoint.covers(&e.path) && e.status == 200 && e.completion == Completion::Complete
        })
        .count() as u64;
    if served != pages {
        let missing = if served < pages {
            match served + 1 {
                first if first == pages => format!(": page {pages} was never requested"),
                first => format!(": pages {first} to {pages} were never requested"),
            }
        } else {
            String::new()
        };
        failures.push(format!(
            "expected {pages} pages, the simulator served {served} complete page(s) of {}{missing}",
            endpoint.name
        ));
    }
}

/// The endpoint a stream pages through: that of its first request.
fn paged_endpoint(stream: StreamKind) -> Option<&'static Endpoint> {
    let settings = Settings::new(stream, "https://qualysapi.qualys.com", "quays_ab1");
    let (config, _) = settings.validate(Some("unused".into())).ok()?;
    Some(stream.builtin().ok()?.first_request(&config).endpoint)
}

/// The identity of a record, as the stream's registry row defines it (`host_id:qid`).
fn record_key(stream: StreamKind, r: &Value) -> String {
    stream.row().record_key(r)
}

fn check_records(scenario: &Scenario, records: &[Value], failures: &mut Vec<String>) {
    let expect = &scenario.file.expect;
    if let Some(n) = expect.records
        && records.len() as u64 != n
    {
        failures.push(format!("expected {n} records, got {}", records.len()));
    }
    if let Some(keys) = &expect.keys {
        let want: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
        let got_list: Vec<String> = records
            .iter()
            .map(|r| record_key(scenario.file.stream, r))
            .collect();
        let got: BTreeSet<&str> = got_list.iter().map(String::as_str).collect();
        if got.len() != got_list.len() {
            failures.push(format!(
                "duplicate records: {} records but {} distinct keys",
                got_list.len(),
                got.len()
            ));
        }
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        if !missing.is_empty() || !extra.is_empty() {
            failures.push(format!(
                "record keys differ: missing {missing:?}, unexpected {extra:?}"
            ));
        }
    }
    for (field, values) in &expect.fields {
        let want: BTreeSet<String> = values.iter().map(Value::to_string).collect();
        let mut got = BTreeSet::new();
        for r in records {
            match &r[field.as_str()] {
                Value::Array(items) => got.extend(items.iter().map(Value::to_string)),
                v => {
                    got.insert(v.to_string());
                }
            }
        }
        if want != got {
            failures.push(format!(
                "distinct values of `{field}`: expected {want:?}, got {got:?}"
            ));
        }
    }
    for p in &expect.every {
        if let Some(bad) = records.iter().find(|r| !holds(p, r)) {
            failures.push(format!(
                "every record should satisfy {}; record {} does not ({} = {})",
                describe(p),
                record_key(scenario.file.stream, bad),
                p.field,
                bad[p.field.as_str()]
            ));
        }
    }
    for p in &expect.none {
        if let Some(bad) = records.iter().find(|r| holds(p, r)) {
            failures.push(format!(
                "no record should satisfy {}; record {} does ({} = {})",
                describe(p),
                record_key(scenario.file.stream, bad),
                p.field,
                bad[p.field.as_str()]
            ));
        }
    }
    for p in &expect.some {
        if !records.iter().any(|r| holds(p, r)) {
            failures.push(format!(
                "some record should satisfy {}; none of {} does",
                describe(p),
                records.len()
            ));
        }
    }
}

/// Whether a record meets every condition of a predicate.
fn holds(p: &Predicate, record: &Value) -> bool {
    let v = &record[p.field.as_str()];
    let array = v.as_array();
    let has = |x: &Value| array.is_some_and(|a| a.contains(x));
    p.equals.as_ref().is_none_or(|e| v == e)
        && p.one_of.as_ref().is_none_or(|set| set.contains(v))
        && p.contains.as_ref().is_none_or(has)
        && p.contains_any
            .as_ref()
            .is_none_or(|set| set.iter().any(has))
        && p.contains_all
            .as_ref()
            .is_none_or(|set| set.iter().all(has))
        && p.is_null.is_none_or(|n| v.is_null() == n)
}

fn describe(p: &Predicate) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &p.equals {
        parts.push(format!("{} == {e}", p.field));
    }
    if let Some(s) = &p.one_of {
        parts.push(format!("{} in {}", p.field, Value::from(s.clone())));
    }
    if let Some(c) = &p.contains {
        parts.push(format!("{} contains {c}", p.field));
    }
    if let Some(s) = &p.contains_any {
        parts.push(format!(
            "{} contains any of {}",
            p.field,
            Value::from(s.clone())
        ));
    }
    if let Some(s) = &p.contains_all {
        parts.push(format!(
            "{} contains all of {}",
            p.field,
            Value::from(s.clone())
        ));
    }
    if let Some(n) = p.is_null {
        parts.push(format!(
            "{} is {}null",
            p.field,
            if n { "" } else { "not " }
        ));
    }
    if parts.is_empty() {
        format!("(no condition on {})", p.field)
    } else {
        parts.join(" and ")
    }
}

fn check_summary(expect: &Expect, summary: &RunSummary, failures: &mut Vec<String>) {
    if let Some(pages) = expect.pages
        && summary.pages != pages
    {
        failures.push(format!("expected {pages} pages, got {}", summary.pages));
    }
    let actual = serde_json::to_value(summary).unwrap_or(Value::Null);
    for (key, want) in &expect.summary {
        match actual.get(key) {
            None => failures.push(format!(
                "the run summary has no field `{key}`; fields: {}",
                actual
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            )),
            Some(got) if got != want => {
                failures.push(format!("summary `{key}`: expected {want}, got {got}"))
            }
            Some(_) => {}
        }
    }
    for word in &expect.warnings {
        if !summary.warnings.iter().any(|w| w.contains(word.as_str())) {
            failures.push(format!(
                "no run warning contains {word:?}; warnings: {:?}",
                summary.warnings
            ));
        }
    }
}

fn check_requests(expect: &Expect, journal: &[JournalEntry], failures: &mut Vec<String>) {
    for want in &expect.requests {
        let matching: Vec<&JournalEntry> = journal
            .iter()
            .filter(|e| want.endpoint.covers_path(&e.path))
            .collect();
        if let Some(n) = want.count
            && matching.len() != n
        {
            let retried_account_problem = matching.len() > n
                && expect
                    .error
                    .as_ref()
                    .is_some_and(|e| e.exit == ExitName::Account);
            failures.push(format!(
                "expected {n} request(s) to {}, the simulator received {}{}",
                want.endpoint.name(),
                matching.len(),
                if retried_account_problem {
                    format!(
                        ": the refused request was retried, and an account problem{} must never be retried (the same request fails the same way until the user acts)",
                        expect
                            .error
                            .as_ref()
                            .and_then(|e| e.code)
                            .map(|c| format!(" (CODE {c})"))
                            .unwrap_or_default()
                    )
                } else {
                    String::new()
                }
            ));
        }
        let selected: Vec<(usize, &JournalEntry)> = match want.nth {
            Some(n) => match matching.get(n.saturating_sub(1)) {
                Some(e) => vec![(n, *e)],
                None => {
                    failures.push(format!(
                        "expected a request #{n} to {}, only {} arrived",
                        want.endpoint.name(),
                        matching.len()
                    ));
                    continue;
                }
            },
            None => matching
                .iter()
                .enumerate()
                .map(|(i, e)| (i + 1, *e))
                .collect(),
        };
        if selected.is_empty() && want.count != Some(0) {
            failures.push(format!(
                "expected requests to {}, none arrived",
                want.endpoint.name()
            ));
        }
        for (n, entry) in selected {
            for (key, value) in &want.params {
                match entry.param(key) {
                    Some(v) if v == value => {}
                    got => failures.push(format!(
                        "{} request #{n}: parameter `{key}` expected {value:?}, got {got:?}",
                        want.endpoint.name()
                    )),
                }
            }
            for key in &want.absent {
                if let Some(v) = entry.param(key) {
                    failures.push(format!(
                        "{} request #{n}: parameter `{key}` must be absent, was {v:?}",
                        want.endpoint.name()
                    ));
                }
            }
            for header in &want.headers {
                if entry.header(header).is_none() {
                    failures.push(format!(
                        "{} request #{n}: header `{header}` was not sent",
                        want.endpoint.name()
                    ));
                }
            }
            let body = entry.body.as_deref().unwrap_or("");
            for text in &want.body_contains {
                if !body.contains(text.as_str()) {
                    failures.push(format!(
                        "{} request #{n}: the body lacks {text:?}; it was {body:?}",
                        want.endpoint.name()
                    ));
                }
            }
            for text in &want.body_lacks {
                if body.contains(text.as_str()) {
                    failures.push(format!(
                        "{} request #{n}: the body must not contain {text:?}; it was {body:?}",
                        want.endpoint.name()
                    ));
                }
            }
        }
    }
}

fn check_snapshot(
    scenario: &Scenario,
    snap: &super::file::SnapshotExpect,
    records: &[Value],
    failures: &mut Vec<String>,
) {
    // insta resolves a relative snapshot path against the crate it was built in, not the
    // working directory: a scenario run by relative path from elsewhere would look in the
    // wrong place, so the directory is made absolute first.
    let dir = match scenario.path.parent() {
        Some(d) => d.join("snapshots"),
        None => PathBuf::from("snapshots"),
    };
    // insta resolves a relative snapshot path against this crate's source directory, not the
    // working directory: `qharness conform scenarios/` would look in the wrong place.
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(scenario.file.description.clone());
    for selector in &snap.redact {
        settings.add_redaction(selector, "[redacted]");
    }
    let name = snap.name.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_json_snapshot!(name.as_str(), records));
    }));
    if outcome.is_err() {
        failures.push(format!(
            "records differ from snapshot `{}` (review with `cargo insta review`; a .snap.new was written beside it)",
            snap.name
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(toml_text: &str) -> Predicate {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn predicates_cover_equality_membership_and_arrays() {
        let r = serde_json::json!({"status": "New", "tags": ["Prod", "PCI & Card"], "last_fixed": null});
        assert!(holds(&pred("field = \"status\"\nequals = \"New\""), &r));
        assert!(!holds(
            &pred("field = \"status\"\none_of = [\"Fixed\"]"),
            &r
        ));
        assert!(holds(
            &pred("field = \"tags\"\ncontains = \"PCI & Card\""),
            &r
        ));
        assert!(holds(
            &pred("field = \"tags\"\ncontains_any = [\"x\", \"Prod\"]"),
            &r
        ));
        assert!(!holds(
            &pred("field = \"tags\"\ncontains_all = [\"x\", \"Prod\"]"),
            &r
        ));
        assert!(holds(&pred("field = \"last_fixed\"\nis_null = true"), &r));
    }
}
