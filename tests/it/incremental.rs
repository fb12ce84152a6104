//! `fetch --incremental` and `--since` against a simulator whose tenant changes over time: a full
//! run, the clock moved past scheduled changes (a detection fixed, a detection found on a known
//! host, a host added), then an incremental run that returns exactly the changed records and
//! asks with the documented filter, read back from the simulator's journal.

use std::path::Path;

use qualys_harness::config::QualysDateTime;
use qualys_harness::sim::RunningSimulator;
use qualys_harness::sim::Timestamp;
use qualys_harness::state::{Prepared, RunState, StateOptions, StatefulRun};
use qualys_harness::{ExitClass, Settings, StreamKind};
use serde_json::Value;

use crate::helpers::*;

/// Four hosts at 2024-06-10; on 2024-06-15 a scan fixes 101's QID 38170, finds QID 38174 on
/// 102 and finds host 103 for the first time. Host 104 does not change.
const CHANGING: &str = r#"
clock = "2024-06-10T00:00:00Z"
replace = ["hosts"]

[[hosts]]
id = 101
ip = "192.0.2.10"
[[hosts.detections]]
qid = 38170
status = "Active"
first_found = "2024-05-01T00:00:00Z"
last_found = "2024-05-20T00:00:00Z"
last_test = "2024-05-20T00:00:00Z"
last_update = "2024-05-20T00:00:00Z"
last_processed = "2024-05-20T00:00:00Z"
[[hosts.detections.changes]]
at = "2024-06-15T00:00:00Z"
status = "Fixed"
[[hosts.detections]]
qid = 38173
status = "Active"
first_found = "2024-05-01T00:00:00Z"
last_found = "2024-05-20T00:00:00Z"
last_test = "2024-05-20T00:00:00Z"
last_update = "2024-05-20T00:00:00Z"
last_processed = "2024-05-20T00:00:00Z"

[[hosts]]
id = 102
ip = "192.0.2.11"
[[hosts.detections]]
qid = 38170
status = "New"
first_found = "2024-05-20T00:00:00Z"
last_found = "2024-05-20T00:00:00Z"
last_test = "2024-05-20T00:00:00Z"
last_update = "2024-05-20T00:00:00Z"
last_processed = "2024-05-20T00:00:00Z"
[[hosts.detections]]
qid = 38174
status = "New"
appears_at = "2024-06-15T00:00:00Z"

[[hosts]]
id = 103
ip = "192.0.2.12"
appears_at = "2024-06-15T00:00:00Z"
[[hosts.detections]]
qid = 38175
status = "New"

[[hosts]]
id = 104
ip = "192.0.2.13"
[[hosts.detections]]
qid = 38173
status = "Active"
first_found = "2024-05-01T00:00:00Z"
last_found = "2024-05-20T00:00:00Z"
last_test = "2024-05-20T00:00:00Z"
last_update = "2024-05-20T00:00:00Z"
last_processed = "2024-05-20T00:00:00Z"
"#;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// `fetch --incremental --state` at the simulator's current moment.
async fn incremental(sim: &RunningSimulator, settings: &Settings, dir: &Path) -> Vec<Value> {
    let out = dir.join("changes.ndjson");
    let options = StateOptions {
        state: dir.join("sync.state"),
        out: Some(out.clone()),
        incremental: true,
        now: QualysDateTime::from_unix(sim.now().0),
        ..StateOptions::default()
    };
    let Prepared::Run(run) =
        StatefulRun::prepare(settings, &options, Some(DEMO_PASSWORD.into())).unwrap()
    else {
        panic!("an incremental run is never a no-op");
    };
    run.run().await.expect("the incremental run completes");
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The value of `param` on the last request to `path`.
fn last_param(sim: &RunningSimulator, path: &str, param: &str) -> Option<String> {
    let calls = sim.journal().entries_for(path);
    let last = calls.last().expect("the path was called");
    last.param(param).map(str::to_string)
}

fn detection_keys(records: &[Value]) -> Vec<(u64, u64, String)> {
    records
        .iter()
        .map(|r| {
            (
                r["host_id"].as_u64().unwrap(),
                r["qid"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_incremental_vulnerabilities_run_returns_exactly_the_changed_detections() {
    let sim = spawn_tenant(CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(sim.base_url().as_str(), StreamKind::VmdrVulnerabilities);

    let full = incremental(&sim, &settings, dir.path()).await;
    assert_eq!(
        detection_keys(&full),
        [
            (101, 38170, "Active".into()),
            (101, 38173, "Active".into()),
            (102, 38170, "New".into()),
            (104, 38173, "Active".into()),
        ]
    );
    assert_eq!(last_param(&sim, HLD, "detection_updated_since"), None);
    let state = RunState::load(&dir.path().join("sync.state"))
        .unwrap()
        .unwrap();
    assert_eq!(
        state.last_success.unwrap().started_at,
        "2024-06-10T00:00:00Z"
    );

    sim.set_clock(at("2024-06-16T00:00:00Z"));
    let changes = incremental(&sim, &settings, dir.path()).await;
    assert_eq!(
        detection_keys(&changes),
        [
            (101, 38170, "Fixed".into()),
            (102, 38174, "New".into()),
            (103, 38175, "New".into()),
        ],
        "the fixed detection, the one found on a known host and the new host's; nothing unchanged"
    );
    assert_eq!(
        last_param(&sim, HLD, "detection_updated_since").as_deref(),
        Some("2024-06-09T23:50:00Z"),
        "the last run's start minus the 10-minute overlap"
    );
    assert_eq!(
        last_param(&sim, HLD, "status").as_deref(),
        Some("New,Active,Re-Opened,Fixed"),
        "Fixed stays in the default status filter"
    );
    let state = RunState::load(&dir.path().join("sync.state"))
        .unwrap()
        .unwrap();
    assert_eq!(
        state.run.changed_since.as_deref(),
        Some("2024-06-09T23:50:00Z")
    );
    assert_eq!(
        state.last_success.unwrap().started_at,
        "2024-06-16T00:00:00Z"
    );
}

#[tokio::test]
async fn an_incremental_assets_run_returns_exactly_the_hosts_processed_since() {
    let sim = spawn_tenant(CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(sim.base_url().as_str(), StreamKind::VmdrAssets);
    let hosts = |records: &[Value]| -> Vec<u64> {
        records
            .iter()
            .map(|r| r["host_id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        hosts(&incremental(&sim, &settings, dir.path()).await),
        [101, 102, 104]
    );
    assert_eq!(last_param(&sim, HOST_LIST, "vm_processed_after"), None);
    sim.set_clock(at("2024-06-16T00:00:00Z"));
    assert_eq!(
        hosts(&incremental(&sim, &settings, dir.path()).await),
        [101, 102, 103],
        "the hosts a scan processed after the last run (104 was not scanned)"
    );
    assert_eq!(
        last_param(&sim, HOST_LIST, "vm_processed_after").as_deref(),
        Some("2024-06-09T23:50:00Z")
    );
}

#[tokio::test]
async fn since_asks_one_run_for_changes_without_a_state_file() {
    let sim = spawn_tenant(CHANGING).await;
    sim.set_clock(at("2024-06-16T00:00:00Z"));
    let mut s = settings(sim.base_url().as_str(), StreamKind::VmdrVulnerabilities);
    s.sync.changed_since = Some("2024-06-12".into());
    let run = run_as(s, DEMO_PASSWORD).await;
    assert_eq!(run.keys(), [(101, 38170), (102, 38174), (103, 38175)]);
    assert_eq!(
        last_param(&sim, HLD, "detection_updated_since").as_deref(),
        Some("2024-06-12T00:00:00Z")
    );
}

#[tokio::test]
async fn posture_has_no_changed_since_filter_so_incremental_and_since_are_refused_before_any_request()
 {
    let sim = spawn_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(sim.base_url().as_str(), StreamKind::PcPosture);
    let options = StateOptions {
        state: dir.path().join("pc.state"),
        out: Some(dir.path().join("pc.ndjson")),
        incremental: true,
        ..StateOptions::default()
    };
    let e = match StatefulRun::prepare(&s, &options, Some(DEMO_PASSWORD.into())) {
        Err(e) => e,
        Ok(_) => panic!("pc-posture --incremental was accepted"),
    };
    assert_eq!(e.exit_class(), ExitClass::Config);
    assert!(
        e.to_string()
            .contains("pc-posture stream has no changed-since filter"),
        "{e}"
    );
    let mut since = s.clone();
    since.sync.changed_since = Some("2024-06-12".into());
    let run = run_as(since, DEMO_PASSWORD).await;
    let e = run.error().to_string();
    assert!(
        e.contains("changed_since") && e.contains("vmdr-assets and vmdr-vulnerabilities"),
        "{e}"
    );
    assert!(sim.journal().is_empty(), "refused before any request");
}

#[tokio::test]
async fn an_interrupted_incremental_run_resumes_with_its_own_changed_since() {
    let sim = spawn_tenant(CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(sim.base_url().as_str(), StreamKind::VmdrVulnerabilities);
    settings.vmdr.truncation_limit = Some(1);
    incremental(&sim, &settings, dir.path()).await;
    sim.set_clock(at("2024-06-16T00:00:00Z"));
    let state = dir.path().join("sync.state");
    let options = StateOptions {
        state: state.clone(),
        out: Some(dir.path().join("changes.ndjson")),
        incremental: true,
        now: QualysDateTime::from_unix(sim.now().0),
        ..StateOptions::default()
    };
    // Page 1 of the incremental run answers, then the endpoint breaks for good (a rule added
    // through the admin API counts the calls after it was added).
    let r = admin(&sim, reqwest::Method::POST, "/__sim/faults")
        .header("Content-Type", "application/json")
        .body(r#"{"faults":[{"kind":"server_error","status":503,"route":"detection","calls":"2.."}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let Prepared::Run(run) =
        StatefulRun::prepare(&settings, &options, Some(DEMO_PASSWORD.into())).unwrap()
    else {
        panic!("a run");
    };
    run.run().await.unwrap_err();
    admin(&sim, reqwest::Method::DELETE, "/__sim/faults")
        .send()
        .await
        .unwrap();
    let resume = StateOptions {
        state: state.clone(),
        resume: true,
        ..StateOptions::default()
    };
    let Prepared::Run(run) =
        StatefulRun::prepare(&Settings::default(), &resume, Some(DEMO_PASSWORD.into())).unwrap()
    else {
        panic!("a run");
    };
    run.run().await.unwrap();
    let calls = sim.journal().entries_for(HLD);
    let last = calls.last().unwrap();
    assert_eq!(
        last.param("detection_updated_since"),
        Some("2024-06-09T23:50:00Z")
    );
    assert!(
        last.param("id_min").is_some(),
        "the resumed run went on from page 2"
    );
    let text = std::fs::read_to_string(dir.path().join("changes.ndjson")).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        detection_keys(&records),
        [
            (101, 38170, "Fixed".into()),
            (102, 38174, "New".into()),
            (103, 38175, "New".into()),
        ]
    );
}
