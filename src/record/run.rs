//! `qharness fetch --record DIR`: run the built-in connector with the client's capture hook
//! pointed at a [`Recording`], then write the set, pin the run as `scenario.toml` and check the
//! set for anything unredacted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::RedactOptions;
use super::check::{Finding, check_set};
use super::recording::{RecordOptions, RecordedSet, Recording};
use super::rules::Kind;
use super::scenario::{RunOutcome, ScenarioPins, write_scenario};
use crate::config::Settings;
use crate::connector::BuiltinRun;
use crate::error::{Error, Result};
use crate::sink::Sink;
use crate::stream::RunSummary;

/// A recorded run: how the run went (a failed run is recorded all the same) and what was
/// written.
#[derive(Debug)]
pub struct RecordedRun {
    pub result: Result<RunSummary>,
    pub set: RecordedSet,
    pub scenario: PathBuf,
    /// What the check found still looking unredacted (empty when all is well).
    pub findings: Vec<Finding>,
}

/// Runs the stream `settings` select into `sink`, recording every exchange into `dir`.
/// Configuration errors come back as `Err` before anything is recorded.
pub async fn record_run(
    settings: &Settings,
    password_env: Option<String>,
    sink: &mut dyn Sink,
    dir: &Path,
    redact: RedactOptions,
) -> Result<RecordedRun> {
    let mut run = BuiltinRun::prepare(settings, password_env)?;
    let config = run.config();
    let stream = config.stream;
    let username = config.common.username.clone();
    let origin = config.common.base_url.origin().ascii_serialization();
    let recording = Recording::create(
        dir,
        RecordOptions {
            redact,
            origins: vec![origin],
            username: Some(username.clone()),
        },
    )?;
    run.capture_into(Arc::new(recording.clone()));
    let result = run.run(sink).await;
    let mut set = tokio::task::spawn_blocking(move || recording.finish())
        .await
        .map_err(|e| Error::Unexpected {
            origin: "fetch --record".into(),
            offset: 0,
            problem: format!("writing the recording failed: {e}"),
        })??;
    let mut table = settings.to_table();
    if redact.enabled && redact.redact_tags {
        for (key, value) in table.iter_mut() {
            if key.starts_with("tag_")
                && !key.ends_with("_selector")
                && let Some(text) = value.as_str()
            {
                let mapped: Vec<String> = text
                    .split(',')
                    .map(|t| set.pseudonyms.map(Kind::Tag, t.trim()))
                    .collect();
                *value = mapped.join(",").into();
            }
        }
    }
    let outcome = match &result {
        Ok(s) => RunOutcome::Succeeded {
            records: s.records,
            pages: s.pages,
            requests: s.requests,
            retries: s.retries,
        },
        Err(e) => RunOutcome::Failed {
            exit: e.exit_class(),
            code: e.qualys_code(),
            message: e.to_string(),
        },
    };
    let scenario = write_scenario(
        dir,
        &ScenarioPins {
            stream,
            settings: table,
            outcome,
        },
    )?;
    let findings = if redact.enabled {
        check_set(dir, Some(&username))?
    } else {
        Vec::new()
    };
    Ok(RecordedRun {
        result,
        set,
        scenario,
        findings,
    })
}

/// Pins a set recorded by the proxy, whose client is not ours: the built-in connector runs
/// `stream` (inferred from the recorded endpoints when `None`) with `settings` against the
/// replay, and the scenario pins what it gets. Returns `None` with the reason when the
/// connector's requests do not match the recording (the client used other settings).
pub async fn pin_replay(
    dir: &Path,
    stream: Option<crate::stream::StreamKind>,
    settings: Settings,
) -> Result<std::result::Result<PathBuf, String>> {
    use crate::sim::{FixtureSet, Simulator, SimulatorConfig, Tenant};
    let fixtures = FixtureSet::load(dir)?;
    let stream = match stream {
        Some(s) => s,
        None => match infer_stream(&fixtures) {
            Some(s) => s,
            None => {
                return Ok(Err(
                    "no built-in stream starts with an endpoint this recording holds; pass --stream".into(),
                ));
            }
        },
    };
    let sim =
        Simulator::start(SimulatorConfig::from_tenant(Tenant::demo()).with_fixtures(fixtures))
            .await?;
    let mut run_settings = settings.clone();
    run_settings.common.stream = Some(stream);
    run_settings.common.platform_url = Some(sim.base_url.to_string());
    run_settings.common.username = Some("quays_ab1".into());
    run_settings.common.backoff_initial_ms = run_settings.common.backoff_initial_ms.or(Some(50));
    let mut sink = crate::sink::MemorySink::default();
    let result = crate::Connector::Builtin
        .run(&run_settings, Some("replay".into()), &mut sink)
        .await;
    let journal = sim.journal().entries();
    sim.shutdown().await;
    if let Some(miss) = journal.iter().find(|e| e.source == "unmatched") {
        return Ok(Err(format!(
            "the built-in {stream} connector sent {} {} with parameters the recording does not hold; \
             pass the recorded client's settings (--stream, --config) to pin the recording as a scenario",
            miss.method, miss.path
        )));
    }
    let outcome = match &result {
        Ok(s) => RunOutcome::Succeeded {
            records: s.records,
            pages: s.pages,
            requests: s.requests,
            retries: s.retries,
        },
        Err(e) => RunOutcome::Failed {
            exit: e.exit_class(),
            code: e.qualys_code(),
            message: e.to_string(),
        },
    };
    let path = write_scenario(
        dir,
        &ScenarioPins {
            stream,
            settings: settings.to_table(),
            outcome,
        },
    )?;
    Ok(Ok(path))
}

/// The built-in stream whose first request goes to an endpoint the recording holds.
fn infer_stream(fixtures: &crate::sim::FixtureSet) -> Option<crate::stream::StreamKind> {
    crate::stream::STREAMS.iter().find_map(|row| {
        let stream = row.builtin?;
        let (config, _) = Settings::new(row.kind, "http://127.0.0.1", "quays_ab1")
            .validate(Some("x".into()))
            .ok()?;
        let first = stream.first_request(&config).endpoint;
        fixtures
            .manifest()
            .fixtures
            .iter()
            .any(|f| first.covers(&f.path))
            .then_some(row.kind)
    })
}
