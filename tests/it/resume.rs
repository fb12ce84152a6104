//! `fetch --state` and `--resume` against the simulator: a pull interrupted by a fault that never
//! clears (the run gives up, exit 4), the fault removed, the pull resumed; the final file is
//! byte-identical to an uninterrupted run's, for every stream that pages. Then the refusals:
//! changed settings, another stream, a missing or changed partial output; and the no-op of a
//! completed state.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use qualys_harness::sim::RunningSimulator;
use qualys_harness::state::{Prepared, RunState, StateOptions, StatefulRun};
use qualys_harness::{
    Connector, ExitClass, FileSink, PagePosition, RunSummary, Settings, Sink, StreamKind,
};
use serde_json::json;

use crate::helpers::*;

/// The fault route of each paged stream's paging endpoint.
fn paging_route(stream: StreamKind) -> &'static str {
    match stream {
        StreamKind::VmdrAssets => "host_list",
        StreamKind::VmdrVulnerabilities => "detection",
        StreamKind::PcPosture => "pcrs_posture_info",
        StreamKind::WasAssets => "was_webapp_search",
        StreamKind::WasFindings => "was_finding_search",
    }
}

/// Settings with `page_size` records-groups per page: hosts for VMDR, host IDs per posture
/// request for PC, records per page for WAS.
fn paged(sim: &RunningSimulator, stream: StreamKind, page_size: u32) -> Settings {
    let mut s = settings(sim.base_url().as_str(), stream);
    match stream {
        StreamKind::PcPosture => s.pc.host_batch_size = Some(page_size as usize),
        StreamKind::WasAssets | StreamKind::WasFindings => {
            s.was.page_size = Some(i64::from(page_size))
        }
        _ => s.vmdr.truncation_limit = Some(page_size),
    }
    s
}

/// The bytes `fetch --out` writes without a state file.
async fn uninterrupted(settings: &Settings, dir: &Path) -> Vec<u8> {
    let out = dir.join("reference.ndjson");
    let mut sink = FileSink::create(&out).unwrap();
    Connector::Builtin
        .run(settings, Some(DEMO_PASSWORD.into()), &mut sink)
        .await
        .expect("the uninterrupted run succeeds");
    sink.finish().unwrap();
    std::fs::read(&out).unwrap()
}

fn options(state: &Path, out: Option<&Path>, resume: bool) -> StateOptions {
    StateOptions {
        state: state.to_path_buf(),
        out: out.map(Path::to_path_buf),
        resume,
        ..StateOptions::default()
    }
}

/// `fetch --state` (or `--resume`) with `given` settings.
async fn stateful(given: &Settings, opts: &StateOptions) -> qualys_harness::Result<RunSummary> {
    match StatefulRun::prepare(given, opts, Some(DEMO_PASSWORD.into()))? {
        Prepared::Run(run) => run.run().await,
        Prepared::NothingToDo(message) => panic!("nothing to do: {message}"),
    }
}

/// From call `from` on, every call of the route fails with a 503, until the faults are removed.
async fn break_route_from(sim: &RunningSimulator, route: &str, from: u32) {
    let r = admin(sim, reqwest::Method::POST, "/__sim/faults")
        .header("Content-Type", "application/json")
        .body(
            json!({"faults": [{"kind": "server_error", "status": 503, "route": route, "calls": format!("{from}..")}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
}

async fn repair(sim: &RunningSimulator) {
    let r = admin(sim, reqwest::Method::DELETE, "/__sim/faults")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

/// What an interrupted and resumed pull left behind.
struct Interrupted {
    error: qualys_harness::Error,
    state_after_failure: RunState,
    summary: RunSummary,
    output: Vec<u8>,
}

/// Runs with a state until the paging endpoint breaks at call `break_at` for good, then repairs
/// it and resumes with no settings given.
async fn interrupt_and_resume(
    sim: &RunningSimulator,
    settings: &Settings,
    dir: &Path,
    break_at: u32,
) -> Interrupted {
    let state = dir.join("pull.state");
    let out = dir.join("out.ndjson");
    sim.reset();
    break_route_from(sim, paging_route(settings.common.stream.unwrap()), break_at).await;
    let error = stateful(settings, &options(&state, Some(&out), false))
        .await
        .expect_err("the run fails once the endpoint breaks");
    let state_after_failure = RunState::load(&state).unwrap().expect("the state is kept");
    assert!(!out.exists(), "no complete-looking output after a failure");
    repair(sim).await;
    let summary = stateful(&Settings::default(), &options(&state, None, true))
        .await
        .expect("the resumed run completes");
    assert!(
        !dir.join("out.ndjson.partial").exists(),
        "the partial output was moved into place"
    );
    let output = std::fs::read(&out).unwrap();
    Interrupted {
        error,
        state_after_failure,
        summary,
        output,
    }
}

/// The demo tenant, with a PCRS budget large enough for small host batches (the demo's is
/// Qualys's 25 calls a minute).
async fn spawn() -> RunningSimulator {
    spawn_tenant("[pc]\nlimits = { rate_limit = 1000, rate_window_secs = 60 }\n").await
}

async fn resume_gives_the_uninterrupted_bytes(stream: StreamKind, page_size: u32) {
    let sim = spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = paged(&sim, stream, page_size);
    let reference = uninterrupted(&settings, dir.path()).await;
    let r = interrupt_and_resume(&sim, &settings, dir.path(), 3).await;
    assert_eq!(r.error.exit_class(), ExitClass::Transient, "{}", r.error);
    let progress = &r.state_after_failure.run;
    assert_eq!(progress.pages, 2, "two pages completed before the break");
    assert!(progress.records > 0 && progress.completed_at.is_none());
    assert_ne!(progress.next, Some(PagePosition::Start));
    let reference_lines = reference.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(
        progress.records < reference_lines,
        "the interruption left records to fetch"
    );
    assert_eq!(
        String::from_utf8_lossy(&r.output),
        String::from_utf8_lossy(&reference)
    );
    assert_eq!(r.summary.records, reference_lines);
    let done = RunState::load(&dir.path().join("pull.state"))
        .unwrap()
        .unwrap();
    assert!(done.run.completed_at.is_some() && done.run.next.is_none());
    assert_eq!(done.run.records, reference_lines);
    assert_eq!(done.run.output_bytes, reference.len() as u64);
}

#[tokio::test]
async fn an_interrupted_assets_pull_resumes_to_the_uninterrupted_bytes() {
    resume_gives_the_uninterrupted_bytes(StreamKind::VmdrAssets, 40).await;
}

#[tokio::test]
async fn an_interrupted_vulnerabilities_pull_resumes_to_the_uninterrupted_bytes() {
    resume_gives_the_uninterrupted_bytes(StreamKind::VmdrVulnerabilities, 40).await;
}

#[tokio::test]
async fn an_interrupted_posture_pull_resumes_to_the_uninterrupted_bytes() {
    resume_gives_the_uninterrupted_bytes(StreamKind::PcPosture, 40).await;
}

#[tokio::test]
async fn an_interrupted_web_application_pull_resumes_to_the_uninterrupted_bytes() {
    resume_gives_the_uninterrupted_bytes(StreamKind::WasAssets, 4).await;
}

#[tokio::test]
async fn an_interrupted_findings_pull_resumes_to_the_uninterrupted_bytes() {
    resume_gives_the_uninterrupted_bytes(StreamKind::WasFindings, 10).await;
}

#[tokio::test]
async fn the_resumed_run_asks_for_the_page_after_the_last_completed_one() {
    let sim = spawn_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = paged(&sim, StreamKind::VmdrAssets, 50);
    let r = interrupt_and_resume(&sim, &settings, dir.path(), 2).await;
    let Some(PagePosition::IdMin { id_min }) = r.state_after_failure.run.next else {
        panic!("an id_min position: {:?}", r.state_after_failure.run.next);
    };
    let calls = sim.journal().entries_for("/api/2.0/fo/asset/host/");
    let after_repair: Vec<_> = calls.iter().filter(|e| e.status == 200).collect();
    // Page 1 of the first run, then the resumed run from id_min on.
    assert_eq!(after_repair[0].param("id_min"), None);
    assert_eq!(
        after_repair[1].param("id_min"),
        Some(id_min.to_string().as_str()),
        "the resumed run starts at the recorded id_min, not at the first page"
    );
}

#[tokio::test]
async fn a_crash_after_writing_a_page_but_before_recording_it_cuts_the_page_and_fetches_it_again() {
    let sim = spawn_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = paged(&sim, StreamKind::VmdrAssets, 60);
    let reference = uninterrupted(&settings, dir.path()).await;
    let (state, out) = (dir.path().join("pull.state"), dir.path().join("out.ndjson"));
    sim.reset();
    break_route_from(&sim, "host_list", 3).await;
    stateful(&settings, &options(&state, Some(&out), false))
        .await
        .unwrap_err();
    repair(&sim).await;
    // What a crash between the page's write and the state's save leaves: more records.
    let partial = dir.path().join("out.ndjson.partial");
    let mut bytes = std::fs::read(&partial).unwrap();
    bytes.extend_from_slice(b"{\"host_id\":1}\n{\"host_id\":2");
    std::fs::write(&partial, &bytes).unwrap();
    let Prepared::Run(run) = StatefulRun::prepare(
        &Settings::default(),
        &options(&state, None, true),
        Some(DEMO_PASSWORD.into()),
    )
    .unwrap() else {
        panic!("a run");
    };
    let notes = run.notes().join("\n");
    assert!(notes.contains("cut 26 byte(s)"), "{notes}");
    run.run().await.unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), reference);
}

/// A pull interrupted at the start of page 3, to check what resume refuses.
async fn interrupted_pull(sim: &RunningSimulator, dir: &Path) -> (PathBuf, PathBuf, Settings) {
    let settings = paged(sim, StreamKind::VmdrVulnerabilities, 60);
    let (state, out) = (dir.join("pull.state"), dir.join("out.ndjson"));
    break_route_from(sim, "detection", 3).await;
    stateful(&settings, &options(&state, Some(&out), false))
        .await
        .unwrap_err();
    repair(sim).await;
    (state, out, settings)
}

fn refusal(given: &Settings, opts: &StateOptions) -> String {
    match StatefulRun::prepare(given, opts, Some(DEMO_PASSWORD.into())) {
        Ok(_) => panic!("the resume was accepted"),
        Err(e) => {
            assert_eq!(e.exit_class(), ExitClass::Config, "{e}");
            e.to_string()
        }
    }
}

#[tokio::test]
async fn resume_refuses_changed_settings_another_stream_and_a_missing_or_changed_partial_output() {
    let sim = spawn_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let (state, out, settings) = interrupted_pull(&sim, dir.path()).await;
    let resume = options(&state, None, true);

    let mut changed = settings.clone();
    changed.vmdr.status = Some(qualys_harness::config::StatusList::Text("Fixed".into()));
    changed.vmdr.truncation_limit = Some(61);
    let e = refusal(&changed, &resume);
    assert!(
        e.contains("status: (not set) in the state, \"Fixed\" now")
            && e.contains("truncation_limit: 60 in the state, 61 now"),
        "{e}"
    );
    let mut other_stream = Settings::default();
    other_stream.common.stream = Some(StreamKind::VmdrAssets);
    let e = refusal(&other_stream, &resume);
    assert!(
        e.contains("is the state of a vmdr-vulnerabilities run, not of vmdr-assets"),
        "{e}"
    );
    let e = refusal(
        &Settings::default(),
        &options(&state, Some(&dir.path().join("elsewhere.ndjson")), true),
    );
    assert!(
        e.contains("elsewhere.ndjson") && e.contains("out.ndjson"),
        "{e}"
    );

    // The same settings given again are accepted (and so are none, below).
    assert!(matches!(
        StatefulRun::prepare(&settings, &resume, Some(DEMO_PASSWORD.into())).unwrap(),
        Prepared::Run(_)
    ));

    let partial = dir.path().join("out.ndjson.partial");
    let original = std::fs::read(&partial).unwrap();
    let mut edited = original.clone();
    edited[10] ^= 0x20;
    std::fs::write(&partial, &edited).unwrap();
    let e = refusal(&Settings::default(), &resume);
    assert!(e.contains("are not the ones the state recorded"), "{e}");
    std::fs::write(&partial, &original[..original.len() - 5]).unwrap();
    let e = refusal(&Settings::default(), &resume);
    assert!(e.contains("it is not the file this run wrote"), "{e}");
    std::fs::remove_file(&partial).unwrap();
    let e = refusal(&Settings::default(), &resume);
    assert!(e.contains("is missing"), "{e}");

    std::fs::write(&partial, &original).unwrap();
    stateful(&Settings::default(), &resume).await.unwrap();
    assert!(out.exists());
    match StatefulRun::prepare(&Settings::default(), &resume, Some(DEMO_PASSWORD.into())).unwrap() {
        Prepared::NothingToDo(m) => assert!(m.contains("nothing to resume"), "{m}"),
        Prepared::Run(_) => panic!("a completed state was run again"),
    }
}

#[tokio::test]
async fn a_new_run_over_an_interrupted_state_and_state_without_out_are_refused() {
    let sim = spawn_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let (state, out, settings) = interrupted_pull(&sim, dir.path()).await;
    let e = refusal(&settings, &options(&state, Some(&out), false));
    assert!(
        e.contains("records an interrupted run") && e.contains("--resume"),
        "{e}"
    );
    let e = refusal(
        &settings,
        &options(&dir.path().join("new.state"), None, false),
    );
    assert!(e.contains("--state needs --out"), "{e}");
    let e = refusal(
        &settings,
        &options(&dir.path().join("none.state"), None, true),
    );
    assert!(e.contains("there is no state file"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// Whatever the page size and wherever the pull breaks, the resumed file is the
    /// uninterrupted one: no record lost, none twice, same order.
    #[test]
    fn resume_after_any_interruption_gives_exactly_the_uninterrupted_output(
        page_size in 25u32..130,
        break_at in 2u32..12,
        stream in prop::sample::select(vec![StreamKind::VmdrVulnerabilities, StreamKind::VmdrAssets]),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let sim = spawn_demo().await;
            let dir = tempfile::tempdir().unwrap();
            let settings = paged(&sim, stream, page_size);
            let reference = uninterrupted(&settings, dir.path()).await;
            let pages = 240u32.div_ceil(page_size);
            sim.reset();
            break_route_from(&sim, paging_route(stream), break_at).await;
            let (state, out) = (dir.path().join("p.state"), dir.path().join("o.ndjson"));
            let first = stateful(&settings, &options(&state, Some(&out), false)).await;
            repair(&sim).await;
            if break_at > pages {
                // The break came after the last page: nothing was interrupted.
                prop_assert!(first.is_ok());
            } else {
                prop_assert!(first.is_err());
                let recorded = RunState::load(&state).unwrap().unwrap();
                prop_assert_eq!(recorded.run.pages, u64::from(break_at - 1));
                stateful(&Settings::default(), &options(&state, None, true)).await.unwrap();
            }
            prop_assert_eq!(std::fs::read(&out).unwrap(), reference);
            Ok(())
        })?;
    }
}
