//! `fetch --incremental` and `--since` against a simulator whose tenant changes over time: a full
//! run, the clock moved past scheduled changes (a detection fixed, a detection found on a known
//! host, a host added; a posture that fails, one re-evaluated, a host evaluated for the first
//! time), then an incremental run that returns exactly the changed records and asks with the
//! documented filter, read back from the simulator's journal.

use std::path::Path;

use qualys_harness::config::QualysDateTime;
use qualys_harness::sim::RunningSimulator;
use qualys_harness::sim::Timestamp;
use qualys_harness::state::{Prepared, RunState, StartClock, StateOptions, StatefulRun};
use qualys_harness::{ExitClass, Settings, StreamKind, StreamRow};
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
    records_in(&out)
}

/// The records of an NDJSON output file.
fn records_in(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Starts the next `--incremental` run (into `dir`'s `sync.state` and `changes.ndjson`, at the
/// simulator's moment) with `route` answering 503 from its `first_failing` call on (counted
/// from when the rule is added, through the admin API), and checks that it fails; the rule is
/// gone afterwards. Returns the state file.
async fn interrupt_incremental(
    sim: &RunningSimulator,
    settings: &Settings,
    dir: &Path,
    route: &str,
    first_failing: u32,
) -> std::path::PathBuf {
    let state = dir.join("sync.state");
    let options = StateOptions {
        state: state.clone(),
        out: Some(dir.join("changes.ndjson")),
        incremental: true,
        now: QualysDateTime::from_unix(sim.now().0),
        ..StateOptions::default()
    };
    let rule = format!(
        r#"{{"faults":[{{"kind":"server_error","status":503,"route":"{route}","calls":"{first_failing}.."}}]}}"#
    );
    let r = admin(sim, reqwest::Method::POST, "/__sim/faults")
        .header("Content-Type", "application/json")
        .body(rule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let Prepared::Run(run) =
        StatefulRun::prepare(settings, &options, Some(DEMO_PASSWORD.into())).unwrap()
    else {
        panic!("a run");
    };
    run.run().await.unwrap_err();
    admin(sim, reqwest::Method::DELETE, "/__sim/faults")
        .send()
        .await
        .unwrap();
    state
}

/// `fetch --resume --state STATE`, which must complete.
async fn resume(state: &Path) {
    let options = StateOptions {
        state: state.to_path_buf(),
        resume: true,
        ..StateOptions::default()
    };
    let Prepared::Run(run) =
        StatefulRun::prepare(&Settings::default(), &options, Some(DEMO_PASSWORD.into())).unwrap()
    else {
        panic!("a run");
    };
    run.run().await.unwrap();
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
async fn incremental_and_since_are_accepted_exactly_for_the_streams_with_a_changed_since_filter() {
    let sim = spawn_demo().await;
    let rows: Vec<&StreamRow> = StreamKind::names()
        .iter()
        .map(|name| name.parse::<StreamKind>().unwrap().row())
        .collect();
    let supported: Vec<&str> = rows
        .iter()
        .filter(|r| r.builtin.is_some_and(|s| s.changed_since_param().is_some()))
        .map(|r| r.name)
        .collect();
    assert!(supported.contains(&"pc-posture"), "{supported:?}");
    for row in rows {
        let Some(stream) = row.builtin else { continue };
        let filter = stream.changed_since_param();
        assert_eq!(
            row.settings.contains(&"changed_since"),
            filter.is_some(),
            "{}: the registry row lists changed_since exactly when the stream has a filter",
            row.name
        );
        let dir = tempfile::tempdir().unwrap();
        let s = settings(sim.base_url().as_str(), row.kind);
        let options = StateOptions {
            state: dir.path().join("sync.state"),
            out: Some(dir.path().join("out.ndjson")),
            incremental: true,
            ..StateOptions::default()
        };
        let prepared = StatefulRun::prepare(&s, &options, Some(DEMO_PASSWORD.into()));
        let mut since = s.clone();
        since.sync.changed_since = Some("2024-06-12".into());
        match filter {
            Some(_) => {
                let Ok(Prepared::Run(run)) = prepared else {
                    panic!("{}: --incremental was refused", row.name);
                };
                assert!(
                    run.notes()
                        .iter()
                        .any(|n| n.contains("this run is a full one")),
                    "{}: {:?}",
                    row.name,
                    run.notes()
                );
            }
            None => {
                let Err(e) = prepared else {
                    panic!("{}: --incremental was accepted", row.name);
                };
                assert_eq!(e.exit_class(), ExitClass::Config);
                let text = e.to_string();
                assert!(
                    text.contains(&format!("{} stream has no changed-since filter", row.name))
                        && supported.iter().all(|name| text.contains(name)),
                    "{text}"
                );
                let text = run_as(since, DEMO_PASSWORD).await.error().to_string();
                assert!(
                    text.contains("changed_since")
                        && supported.iter().all(|name| text.contains(name)),
                    "{text}"
                );
            }
        }
    }
    assert!(sim.journal().is_empty(), "nothing was fetched");
}

#[tokio::test]
async fn an_interrupted_incremental_run_resumes_with_its_own_changed_since() {
    let sim = spawn_tenant(CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(sim.base_url().as_str(), StreamKind::VmdrVulnerabilities);
    settings.vmdr.truncation_limit = Some(1);
    incremental(&sim, &settings, dir.path()).await;
    sim.set_clock(at("2024-06-16T00:00:00Z"));
    // Page 1 of the incremental run answers, then the endpoint breaks for good.
    let state = interrupt_incremental(&sim, &settings, dir.path(), "detection", 2).await;
    resume(&state).await;
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
    let records = records_in(&dir.path().join("changes.ndjson"));
    assert_eq!(
        detection_keys(&records),
        [
            (101, 38170, "Fixed".into()),
            (102, 38174, "New".into()),
            (103, 38175, "New".into()),
        ]
    );
}

/// Policy 101 (controls 1071, 1072) over three hosts, at 2024-06-10; posture IDs are numbered
/// host-major from 700000001 (the lowest policy ID comes first). On 2024-06-15 an evaluation
/// finds 900001's control 1071 Failed (it was Passed: 700000001), re-evaluates 900002's control
/// 1072 and finds it Failed again (700000004), and host 900003 is evaluated for the first time
/// (700000005, 700000006). 900001's 1072 and 900002's 1071 (700000002, 700000003) are not
/// evaluated again. The demo's evaluations lead up to its `evaluated_at`, 2024-06-01.
const POSTURES: &str = r#"
clock = "2024-06-10T00:00:00Z"

[[pc.policies]]
id = 101
title = "Incremental Baseline"
status = "active"
controls = [1071, 1072]
hosts = [900001, 900002, 900003]

[[pc.hosts]]
id = 900003
appears_at = "2024-06-15T00:00:00Z"

[[pc.postures]]
policy = 101
host = 900001
control = 1071
status = "Passed"
[[pc.postures.changes]]
at = "2024-06-15T00:00:00Z"
status = "Failed"

[[pc.postures]]
policy = 101
host = 900002
control = 1072
status = "Failed"
[[pc.postures.changes]]
at = "2024-06-15T00:00:00Z"
"#;

const POSTURE_INFO: &str = "/posture/postureInfo";

fn posture_settings(sim: &RunningSimulator) -> Settings {
    let mut s = settings(sim.base_url().as_str(), StreamKind::PcPosture);
    s.pc.policy_ids = Some(qualys_harness::config::PolicyIdList::Text("101".into()));
    s
}

/// `(posture_id, host_id, status, lastEvaluatedDate)` of each record.
fn postures(records: &[Value]) -> Vec<(u64, u64, String, String)> {
    records
        .iter()
        .map(|r| {
            (
                r["posture_id"].as_u64().unwrap(),
                r["host_id"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
                r["last_evaluated_date"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn hosts_of(records: &[Value]) -> Vec<(u64, u64)> {
    postures(records).into_iter().map(|p| (p.0, p.1)).collect()
}

fn posture_ids(records: &[Value]) -> Vec<u64> {
    postures(records).into_iter().map(|p| p.0).collect()
}

/// The `lastEvaluationDate` of every posture request, and whether the policy list and
/// `hostids` went out unfiltered.
fn posture_filters(sim: &RunningSimulator) -> Vec<Option<String>> {
    for path in ["/posture/policy/list", "/posture/hostids"] {
        for call in sim.journal().entries_for(path) {
            assert_eq!(
                call.param("lastEvaluationDate"),
                None,
                "{path} is unfiltered"
            );
            assert_eq!(call.param("lastScanDate"), None, "{path} is unfiltered");
        }
    }
    sim.journal()
        .entries_for(POSTURE_INFO)
        .iter()
        .map(|c| c.param("lastEvaluationDate").map(str::to_string))
        .collect()
}

#[tokio::test]
async fn an_incremental_posture_run_returns_exactly_the_postures_evaluated_since() {
    let sim = spawn_tenant(POSTURES).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = posture_settings(&sim);

    let full = incremental(&sim, &settings, dir.path()).await;
    assert_eq!(
        hosts_of(&full),
        [
            (700000001, 900001),
            (700000002, 900001),
            (700000003, 900002),
            (700000004, 900002)
        ],
        "the state at the clock: 900003 is not evaluated yet"
    );
    assert_eq!(
        (full[0]["status"].as_str(), full[3]["status"].as_str()),
        (Some("Passed"), Some("Failed"))
    );
    assert!(
        postures(&full)
            .iter()
            .all(|p| p.3.as_str() <= "2024-06-01T00:00:00Z"),
        "evaluated before the base's evaluated_at: {full:?}"
    );
    assert_eq!(posture_filters(&sim), [None], "the first run is full");

    sim.set_clock(at("2024-06-16T00:00:00Z"));
    sim.journal().reset();
    let changes = incremental(&sim, &settings, dir.path()).await;
    let evaluated = "2024-06-15T00:00:00Z";
    assert_eq!(
        hosts_of(&changes),
        [
            (700000001, 900001),
            (700000004, 900002),
            (700000005, 900003),
            (700000006, 900003)
        ],
        "the posture that failed, the one re-evaluated with the same status (its dates moved), \
         and the new host's; not the two evaluated before the last run"
    );
    assert!(
        postures(&changes).iter().all(|p| p.3 == evaluated),
        "{changes:?}"
    );
    assert_eq!(
        (changes[0]["status"].as_str(), changes[1]["status"].as_str()),
        (Some("Failed"), Some("Failed"))
    );
    let flipped = &changes[0];
    assert_eq!(flipped["first_fail_date"], evaluated);
    assert_eq!(flipped["posture_modified_date"], evaluated);
    assert_eq!(flipped["last_pass_date"], Value::Null);
    let again = &changes[1];
    assert_eq!(again["last_fail_date"], evaluated);
    assert_ne!(
        again["posture_modified_date"], evaluated,
        "the same status: the posture itself was not modified"
    );
    assert_eq!(
        posture_filters(&sim),
        [Some("2024-06-09T23:50:00Z".to_string())],
        "the last run's start minus the 10-minute overlap, on the posture request"
    );
    let state = RunState::load(&dir.path().join("sync.state"))
        .unwrap()
        .unwrap();
    assert_eq!(
        state.run.changed_since.as_deref(),
        Some("2024-06-09T23:50:00Z")
    );
}

#[tokio::test]
async fn since_asks_one_posture_run_for_the_postures_evaluated_since() {
    let sim = spawn_tenant(POSTURES).await;
    sim.set_clock(at("2024-06-16T00:00:00Z"));
    let mut s = posture_settings(&sim);
    s.pc.host_batch_size = Some(2);
    s.sync.changed_since = Some("2024-06-12".into());
    let run = run_as(s, DEMO_PASSWORD).await;
    assert_eq!(
        posture_ids(&run.records),
        [700000001, 700000004, 700000005, 700000006]
    );
    assert_eq!(
        posture_filters(&sim),
        [
            Some("2024-06-12T00:00:00Z".to_string()),
            Some("2024-06-12T00:00:00Z".to_string())
        ],
        "every posture request of the run carries the filter (two batches)"
    );
}

#[tokio::test]
async fn an_interrupted_incremental_posture_run_resumes_with_its_own_changed_since() {
    let sim = spawn_tenant(POSTURES).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = posture_settings(&sim);
    settings.pc.host_batch_size = Some(1);
    incremental(&sim, &settings, dir.path()).await;
    sim.set_clock(at("2024-06-16T00:00:00Z"));
    sim.journal().reset();
    // The first host's posture request answers, then the endpoint breaks for good.
    let state = interrupt_incremental(&sim, &settings, dir.path(), "pcrs_posture_info", 2).await;
    let interrupted = RunState::load(&state).unwrap().unwrap();
    assert_eq!(interrupted.run.records, 1, "host 900001's changed posture");
    sim.journal().reset();
    resume(&state).await;
    let resumed: Vec<String> = sim
        .journal()
        .entries_for(POSTURE_INFO)
        .iter()
        .map(|c| c.body.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        resumed.len(),
        2,
        "hosts 900002 and 900003, not 900001 again"
    );
    assert!(
        resumed[0].contains("900002") && resumed[1].contains("900003"),
        "{resumed:?}"
    );
    assert_eq!(
        posture_filters(&sim),
        [
            Some("2024-06-09T23:50:00Z".to_string()),
            Some("2024-06-09T23:50:00Z".to_string())
        ],
        "the resumed run asks with the interrupted run's changed_since"
    );
    let records = records_in(&dir.path().join("changes.ndjson"));
    assert_eq!(
        posture_ids(&records),
        [700000001, 700000004, 700000005, 700000006]
    );
}

// --- WAS: lastTestedDate GREATER for findings, updatedDate GREATER for web applications -------

const WAS_FINDING_SEARCH: &str = "/qps/rest/3.0/search/was/finding";
const WAS_WEBAPP_SEARCH: &str = "/qps/rest/3.0/search/was/webapp";

/// Four web applications and six findings at 2024-06-10. On 2024-06-15 web application 7 is
/// renamed (an edit) and a scan of it re-tests finding 70 (NEW, found again: ACTIVE), finds 71
/// fixed and finds 74 for the first time; a scan of 8 re-tests 72 (still ACTIVE) without any edit
/// of 8; web application 9 is added with its finding 75. Web application 10 and findings 73
/// (information gathered) and 76 (sensitive content) do not change.
const WAS_CHANGING: &str = r#"
clock = "2024-06-10T00:00:00Z"
replace = ["web_apps", "findings"]

[[was.webapps]]
id = 7
name = "Shop"
url = "https://shop.example.com/"
created = "2024-01-01T00:00:00Z"
[[was.webapps.changes]]
at = "2024-06-15T00:00:00Z"
name = "Shop & Checkout"

[[was.webapps]]
id = 8
name = "Portal"
url = "https://portal.example.com/"
created = "2024-01-01T00:00:00Z"
updated = "2024-03-01T00:00:00Z"

[[was.webapps]]
id = 9
name = "Careers"
url = "https://careers.example.com/"
appears_at = "2024-06-15T00:00:00Z"

[[was.webapps]]
id = 10
name = "Docs"
url = "https://docs.example.com/"
created = "2024-02-01T00:00:00Z"

[[was.findings]]
id = 70
webapp = 7
qid = 150001
name = "Reflected Cross-Site Scripting (XSS) Vulnerabilities"
type = "VULNERABILITY"
severity = 5
status = "NEW"
times_detected = 1
first_detected = "2024-05-01T00:00:00Z"
[[was.findings.changes]]
at = "2024-06-15T00:00:00Z"

[[was.findings]]
id = 71
webapp = 7
qid = 150003
name = "SQL Injection"
type = "VULNERABILITY"
severity = 5
status = "ACTIVE"
times_detected = 3
first_detected = "2024-04-01T00:00:00Z"
last_detected = "2024-05-20T00:00:00Z"
[[was.findings.changes]]
at = "2024-06-15T00:00:00Z"
status = "FIXED"

[[was.findings]]
id = 72
webapp = 8
qid = 150263
name = "Insecure Transport"
type = "VULNERABILITY"
severity = 3
status = "ACTIVE"
times_detected = 2
first_detected = "2024-04-01T00:00:00Z"
last_detected = "2024-05-20T00:00:00Z"
[[was.findings.changes]]
at = "2024-06-15T00:00:00Z"

[[was.findings]]
id = 73
webapp = 8
qid = 6
name = "DNS Host Name"
type = "INFORMATION_GATHERED"
severity = 1
first_detected = "2024-04-01T00:00:00Z"
last_tested = "2024-05-20T00:00:00Z"

[[was.findings]]
id = 74
webapp = 7
qid = 150206
name = "Content-Security-Policy Not Implemented"
type = "VULNERABILITY"
severity = 2
status = "NEW"
appears_at = "2024-06-15T00:00:00Z"

[[was.findings]]
id = 75
webapp = 9
qid = 150001
name = "Reflected Cross-Site Scripting (XSS) Vulnerabilities"
type = "VULNERABILITY"
severity = 5
status = "NEW"

[[was.findings]]
id = 76
webapp = 8
qid = 150022
name = "Credit Card Number Disclosed"
type = "SENSITIVE_CONTENT"
severity = 3
status = "ACTIVE"
first_detected = "2024-04-01T00:00:00Z"
last_tested = "2024-05-20T00:00:00Z"
"#;

fn finding_keys(records: &[Value]) -> Vec<(u64, String)> {
    records
        .iter()
        .map(|r| {
            (
                r["finding_id"].as_u64().unwrap(),
                r["status"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

fn webapp_keys(records: &[Value]) -> Vec<(u64, String)> {
    records
        .iter()
        .map(|r| {
            (
                r["webapp_id"].as_u64().unwrap(),
                r["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The `ServiceRequest` bodies of the requests to `path` journaled after the first `skip`.
fn bodies_after(sim: &RunningSimulator, path: &str, skip: usize) -> Vec<String> {
    sim.journal()
        .entries_for(path)
        .into_iter()
        .skip(skip)
        .map(|e| e.body.expect("a search request carries its ServiceRequest"))
        .collect()
}

/// `field GREATER value` as the connector writes it into a `ServiceRequest`.
fn greater(field: &str, value: &str) -> String {
    format!("<Criteria field=\"{field}\" operator=\"GREATER\">{value}</Criteria>")
}

/// Every body carries `criterion`; every one after the first pages by `id GREATER`.
fn assert_every_page_asks(bodies: &[String], criterion: &str) {
    assert!(bodies.len() >= 2, "several pages: {bodies:#?}");
    for (n, body) in bodies.iter().enumerate() {
        assert!(body.contains(criterion), "page {}: {body}", n + 1);
        assert_eq!(
            body.contains("<Criteria field=\"id\" operator=\"GREATER\">"),
            n > 0,
            "page {}: {body}",
            n + 1
        );
    }
}

#[tokio::test]
async fn an_incremental_was_findings_run_asks_for_last_tested_since_on_every_page_and_gets_exactly_the_retested()
 {
    let sim = spawn_tenant(WAS_CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(sim.base_url().as_str(), StreamKind::WasFindings);
    settings.was.page_size = Some(2);

    let full = incremental(&sim, &settings, dir.path()).await;
    assert_eq!(
        finding_keys(&full),
        [
            (70, "NEW".into()),
            (71, "ACTIVE".into()),
            (72, "ACTIVE".into()),
            (73, "-".into()),
            (76, "ACTIVE".into()),
        ],
        "the state at 2024-06-10: nothing of 2024-06-15 yet"
    );
    let full_requests = sim.journal().entries_for(WAS_FINDING_SEARCH).len();
    assert!(
        bodies_after(&sim, WAS_FINDING_SEARCH, 0)
            .iter()
            .all(|b| !b.contains("lastTestedDate")),
        "the first incremental run is a full one"
    );

    sim.set_clock(at("2024-06-16T00:00:00Z"));
    let changes = incremental(&sim, &settings, dir.path()).await;
    assert_eq!(
        finding_keys(&changes),
        [
            (70, "ACTIVE".into()),
            (71, "FIXED".into()),
            (72, "ACTIVE".into()),
            (74, "NEW".into()),
            (75, "NEW".into()),
        ],
        "re-tested (found again, found fixed), new on a known web app, new with a new web app; \
         73 and 76 were not tested again"
    );
    let fixed = &changes[1];
    assert_eq!(fixed["fixed_date"], "2024-06-15T00:00:00Z");
    assert_eq!(fixed["last_tested"], "2024-06-15T00:00:00Z");
    assert_eq!(
        fixed["last_detected"], "2024-05-20T00:00:00Z",
        "found fixed is tested, not detected"
    );
    assert_eq!(changes[2]["times_detected"], 3, "72 was detected once more");
    assert_every_page_asks(
        &bodies_after(&sim, WAS_FINDING_SEARCH, full_requests),
        &greater("lastTestedDate", "2024-06-09T23:50:00Z"),
    );
    let state = RunState::load(&dir.path().join("sync.state"))
        .unwrap()
        .unwrap();
    assert_eq!(
        state.run.changed_since.as_deref(),
        Some("2024-06-09T23:50:00Z"),
        "the last run's start minus the 10-minute overlap"
    );
}

#[tokio::test]
async fn an_incremental_was_assets_run_asks_for_updated_since_on_every_page_and_gets_the_edited_and_added()
 {
    let sim = spawn_tenant(WAS_CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(sim.base_url().as_str(), StreamKind::WasAssets);
    settings.was.page_size = Some(1);

    let full = incremental(&sim, &settings, dir.path()).await;
    assert_eq!(
        webapp_keys(&full),
        [
            (7, "Shop".into()),
            (8, "Portal".into()),
            (10, "Docs".into()),
        ]
    );
    let full_requests = sim.journal().entries_for(WAS_WEBAPP_SEARCH).len();

    // The admin API's clock (what a test outside this process moves) reaches the WAS data too.
    let moved = admin(&sim, reqwest::Method::POST, "/__sim/clock")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("now=2024-06-16T00:00:00Z")
        .send()
        .await
        .unwrap();
    assert_eq!(
        moved.status().as_u16(),
        200,
        "{}",
        moved.text().await.unwrap()
    );
    let changes = incremental(&sim, &settings, dir.path()).await;
    assert_eq!(
        webapp_keys(&changes),
        [(7, "Shop & Checkout".into()), (9, "Careers".into())],
        "the edited web app and the added one; 8 was only scanned (a scan does not move \
         updatedDate) and 10 did not change"
    );
    assert_eq!(changes[0]["updated_date"], "2024-06-15T00:00:00Z");
    assert_eq!(changes[1]["created_date"], "2024-06-15T00:00:00Z");
    assert_every_page_asks(
        &bodies_after(&sim, WAS_WEBAPP_SEARCH, full_requests),
        &greater("updatedDate", "2024-06-09T23:50:00Z"),
    );
}

#[tokio::test]
async fn since_asks_one_was_run_for_changes_without_a_state_file() {
    let sim = spawn_tenant(WAS_CHANGING).await;
    sim.set_clock(at("2024-06-16T00:00:00Z"));
    let mut s = settings(sim.base_url().as_str(), StreamKind::WasFindings);
    s.sync.changed_since = Some("2024-06-12".into());
    let findings = run_as(s, DEMO_PASSWORD).await;
    findings.summary();
    assert_eq!(
        finding_keys(&findings.records)
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>(),
        [70, 71, 72, 74, 75]
    );
    let bodies = bodies_after(&sim, WAS_FINDING_SEARCH, 0);
    assert_eq!(bodies.len(), 1);
    assert!(
        bodies[0].contains(&greater("lastTestedDate", "2024-06-12T00:00:00Z")),
        "{}",
        bodies[0]
    );

    let mut s = settings(sim.base_url().as_str(), StreamKind::WasAssets);
    s.sync.changed_since = Some("2024-06-12T02:00:00+02:00".into());
    let webapps = run_as(s, DEMO_PASSWORD).await;
    webapps.summary();
    assert_eq!(
        webapp_keys(&webapps.records),
        [(7, "Shop & Checkout".into()), (9, "Careers".into())]
    );
    let bodies = bodies_after(&sim, WAS_WEBAPP_SEARCH, 0);
    assert!(
        bodies[0].contains(&greater("updatedDate", "2024-06-12T00:00:00Z")),
        "the moment in UTC: {}",
        bodies[0]
    );
}

#[tokio::test]
async fn an_interrupted_incremental_was_run_resumes_with_its_own_changed_since() {
    let sim = spawn_tenant(WAS_CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(sim.base_url().as_str(), StreamKind::WasFindings);
    settings.was.page_size = Some(1);
    incremental(&sim, &settings, dir.path()).await;
    sim.set_clock(at("2024-06-16T00:00:00Z"));
    let before = sim.journal().entries_for(WAS_FINDING_SEARCH).len();
    // Two pages of the incremental run answer, then the search breaks for good.
    let state = interrupt_incremental(&sim, &settings, dir.path(), "was_finding_search", 3).await;
    let interrupted = sim.journal().entries_for(WAS_FINDING_SEARCH).len();
    // A day later: the resumed run must still ask from the interrupted run's moment, not from
    // a new one.
    sim.set_clock(at("2024-06-17T00:00:00Z"));
    resume(&state).await;
    let last = RunState::load(&state)
        .unwrap()
        .unwrap()
        .last_success
        .unwrap();
    assert_eq!(
        (last.started_at.as_str(), last.clock),
        ("2024-06-16T00:00:00Z", StartClock::Server),
        "the interrupted run's start by the server's clock, saved with its first page; not the resumed run's first answer (2024-06-17) nor this machine's clock"
    );
    let bodies = bodies_after(&sim, WAS_FINDING_SEARCH, before);
    let criterion = greater("lastTestedDate", "2024-06-09T23:50:00Z");
    assert!(
        bodies.iter().all(|b| b.contains(&criterion)),
        "every request, interrupted and resumed: {bodies:#?}"
    );
    let resumed = &bodies_after(&sim, WAS_FINDING_SEARCH, interrupted)[0];
    assert!(
        resumed.contains(&greater("id", "71")),
        "the resumed run went on after the two committed pages (70, 71): {resumed}"
    );
    let records = records_in(&dir.path().join("changes.ndjson"));
    assert_eq!(
        finding_keys(&records),
        [
            (70, "ACTIVE".into()),
            (71, "FIXED".into()),
            (72, "ACTIVE".into()),
            (74, "NEW".into()),
            (75, "NEW".into()),
        ],
        "no loss, no duplicate"
    );
}

/// `fetch --incremental --state` with this machine's clock at `now`, whatever the simulator's
/// says; the records and the summary.
async fn incremental_at(
    settings: &Settings,
    dir: &Path,
    now: &str,
) -> (Vec<Value>, qualys_harness::RunSummary) {
    let out = dir.join("changes.ndjson");
    let options = StateOptions {
        state: dir.join("sync.state"),
        out: Some(out.clone()),
        incremental: true,
        now: QualysDateTime::parse(now),
        ..StateOptions::default()
    };
    let Prepared::Run(run) =
        StatefulRun::prepare(settings, &options, Some(DEMO_PASSWORD.into())).unwrap()
    else {
        panic!("an incremental run is never a no-op");
    };
    let summary = run.run().await.expect("the incremental run completes");
    let records = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (records, summary)
}

fn skew_warnings(summary: &qualys_harness::RunSummary) -> Vec<&String> {
    summary
        .warnings
        .iter()
        .filter(|w| w.contains("this machine's clock is"))
        .collect()
}

#[tokio::test]
async fn a_machine_three_hours_ahead_of_qualys_asks_from_the_servers_start_and_loses_nothing() {
    let sim = spawn_tenant(CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(sim.base_url().as_str(), StreamKind::VmdrVulnerabilities);
    // The full run: an hour before the scan of 2024-06-15T00:00 by Qualys's clock, while this
    // machine already says 02:00 on the 15th. By this machine's clock the next run would ask
    // from 01:50, after the scan, and never see what it changed.
    sim.set_clock(at("2024-06-14T23:00:00Z"));
    let (full, summary) = incremental_at(&settings, dir.path(), "2024-06-15T02:00:00Z").await;
    assert_eq!(full.len(), 4);
    let warnings = skew_warnings(&summary);
    assert_eq!(warnings.len(), 1, "one warning: {:?}", summary.warnings);
    assert!(
        warnings[0].contains("3h 0m 0s ahead of the server's")
            && warnings[0].contains("2024-06-14T23:00:00Z"),
        "{}",
        warnings[0]
    );
    let state = RunState::load(&dir.path().join("sync.state"))
        .unwrap()
        .unwrap();
    assert_eq!(
        state.run.started_at, "2024-06-15T02:00:00Z",
        "kept for display"
    );
    assert_eq!(
        state.run.server_started_at.as_deref(),
        Some("2024-06-14T23:00:00Z")
    );
    let last = state.last_success.unwrap();
    assert_eq!(
        (last.started_at.as_str(), last.clock),
        ("2024-06-14T23:00:00Z", StartClock::Server)
    );

    sim.set_clock(at("2024-06-16T00:00:00Z"));
    let (changes, _) = incremental_at(&settings, dir.path(), "2024-06-16T03:00:00Z").await;
    assert_eq!(
        last_param(&sim, HLD, "detection_updated_since").as_deref(),
        Some("2024-06-14T22:50:00Z"),
        "the server's start minus the overlap, not 2024-06-15T01:50:00Z"
    );
    assert_eq!(
        detection_keys(&changes),
        [
            (101, 38170, "Fixed".into()),
            (102, 38174, "New".into()),
            (103, 38175, "New".into()),
        ],
        "the scan between the two runs is not lost"
    );
}

#[tokio::test]
async fn clocks_that_agree_draw_no_skew_warning() {
    let sim = spawn_tenant(CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(sim.base_url().as_str(), StreamKind::VmdrAssets);
    // Four minutes apart: within the tolerance (half the overlap).
    let (_, summary) = incremental_at(&settings, dir.path(), "2024-06-10T00:04:00Z").await;
    assert!(skew_warnings(&summary).is_empty(), "{:?}", summary.warnings);
    let last = RunState::load(&dir.path().join("sync.state"))
        .unwrap()
        .unwrap()
        .last_success
        .unwrap();
    assert_eq!(
        (last.started_at.as_str(), last.clock),
        ("2024-06-10T00:00:00Z", StartClock::Server)
    );
}

/// A Host List server whose answers carry `date` as their `Date` header, or none at all: hyper
/// with its own date header turned off, which the simulator and wiremock always send.
async fn host_list_server(date: Option<&'static str>) -> String {
    use http_body_util::Full;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = bytes::Bytes::from(fixture("vmdr/host_list_page2.xml"));
    tokio::spawn(async move {
        while let Ok((io, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_| {
                    let mut answer = hyper::Response::builder().header("Content-Type", "text/xml");
                    if let Some(date) = date {
                        answer = answer.header("Date", date);
                    }
                    let answer = answer.body(Full::new(body.clone()));
                    async move { answer }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .auto_date_header(false)
                    .serve_connection(hyper_util::rt::TokioIo::new(io), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_server_without_a_usable_date_leaves_the_start_on_this_machines_clock() {
    for date in [None, Some("the day after tomorrow")] {
        let base = host_list_server(date).await;
        let answer = client()
            .get(format!("{base}/api/2.0/fo/asset/host/"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.headers().get("date").map(|d| d.to_str().unwrap()),
            date,
            "the server sends what the test says"
        );
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(&base, StreamKind::VmdrAssets);
        let (records, summary) =
            incremental_at(&settings, dir.path(), "2024-06-15T02:00:00Z").await;
        assert!(!records.is_empty());
        assert!(skew_warnings(&summary).is_empty(), "{:?}", summary.warnings);
        let state = RunState::load(&dir.path().join("sync.state"))
            .unwrap()
            .unwrap();
        assert_eq!(state.run.server_started_at, None, "{date:?}");
        let last = state.last_success.unwrap();
        assert_eq!(
            (last.started_at.as_str(), last.clock),
            ("2024-06-15T02:00:00Z", StartClock::Local),
            "{date:?}"
        );
        let options = StateOptions {
            state: dir.path().join("sync.state"),
            out: Some(dir.path().join("changes.ndjson")),
            incremental: true,
            ..StateOptions::default()
        };
        let Prepared::Run(next) =
            StatefulRun::prepare(&settings, &options, Some(DEMO_PASSWORD.into())).unwrap()
        else {
            panic!("a run");
        };
        assert!(
            next.notes().iter().any(|n| n.contains(
                "since 2024-06-15T01:50:00Z (the last successful run started at 2024-06-15T02:00:00Z by this machine's clock"
            )),
            "{:?}",
            next.notes()
        );
    }
}

#[tokio::test]
async fn a_run_interrupted_before_its_first_page_is_resumed_from_its_start_by_the_servers_clock() {
    let sim = spawn_tenant(CHANGING).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(sim.base_url().as_str(), StreamKind::VmdrVulnerabilities);
    let state = dir.path().join("sync.state");
    // Every detection call fails: no page is committed, so the state has no server time yet.
    sim.set_clock(at("2024-06-14T23:00:00Z"));
    let r = admin(&sim, reqwest::Method::POST, "/__sim/faults")
        .header("Content-Type", "application/json")
        .body(r#"{"faults":[{"kind":"server_error","status":503,"route":"detection","calls":"1.."}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let options = StateOptions {
        state: state.clone(),
        out: Some(dir.path().join("changes.ndjson")),
        incremental: true,
        now: QualysDateTime::parse("2024-06-15T02:00:00Z"),
        ..StateOptions::default()
    };
    let Prepared::Run(run) =
        StatefulRun::prepare(&settings, &options, Some(DEMO_PASSWORD.into())).unwrap()
    else {
        panic!("a run");
    };
    run.run().await.unwrap_err();
    let saved = RunState::load(&state).unwrap().unwrap();
    assert_eq!((saved.run.pages, saved.run.server_started_at), (0, None));
    admin(&sim, reqwest::Method::DELETE, "/__sim/faults")
        .send()
        .await
        .unwrap();
    // Resumed an hour later by both clocks, still three hours apart: the resumed run's first
    // answer is an hour after the start, so the start is the interrupted run's, moved by the
    // difference the resumed run measures.
    sim.set_clock(at("2024-06-15T00:00:00Z"));
    let resume = StateOptions {
        state: state.clone(),
        resume: true,
        now: QualysDateTime::parse("2024-06-15T03:00:00Z"),
        ..StateOptions::default()
    };
    let Prepared::Run(run) =
        StatefulRun::prepare(&Settings::default(), &resume, Some(DEMO_PASSWORD.into())).unwrap()
    else {
        panic!("a run");
    };
    let summary = run.run().await.unwrap();
    assert_eq!(skew_warnings(&summary).len(), 1, "{:?}", summary.warnings);
    let last = RunState::load(&state)
        .unwrap()
        .unwrap()
        .last_success
        .unwrap();
    assert_eq!(
        (last.started_at.as_str(), last.clock),
        ("2024-06-14T23:00:00Z", StartClock::Server)
    );
}
