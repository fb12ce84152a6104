//! Record and reproduce: a live run against the simulator is recorded (`fetch --record` through
//! the client's capture hook, or the recording proxy in front of an unchanged client), checked,
//! replayed, and the replay gives the same records modulo the set's pseudonyms, the same pages
//! and requests, or the same failure.
//!
//! Adding a stream's round trip is one call of [`assert_round_trip`] with a [`RoundTrip`]: the
//! stream, its settings, the tenant (TOML over the demo tenant) and the user.

use std::path::Path;

use qualys_harness::record::{
    self, Kind, Pseudonyms, RecordOptions, RecordedRun, RecordingProxy, RedactOptions, Rule,
};
use qualys_harness::scenario::{self, Scenario, Verdict};
use qualys_harness::sim::{FixtureSet, Simulator, SimulatorConfig};
use qualys_harness::{ExitClass, MemorySink, Settings, StreamKind};
use serde_json::Value;

use crate::helpers::{self, DEMO_PASSWORD, run_as, spawn_tenant};

/// One round trip: what runs live, against what.
pub struct RoundTrip {
    pub stream: StreamKind,
    /// Adjusts the settings (the platform URL and user are set already).
    pub settings: fn(&mut Settings),
    /// Tenant TOML over the demo tenant ("" for the demo tenant itself).
    pub tenant: &'static str,
    pub user: &'static str,
}

/// What a round trip saw.
pub struct RoundTripResult {
    /// Holds the set's directory for as long as the result lives.
    pub _dir: tempfile::TempDir,
    pub recorded: RecordedRun,
    pub live: Vec<Value>,
    pub replayed: Vec<Value>,
    pub replay_result: qualys_harness::Result<qualys_harness::RunSummary>,
}

/// Live run with `--record` -> the check finds nothing -> the generated scenario passes against
/// the replay -> the replay's records are the live records mapped by the set's pseudonyms, in
/// the same order, with the same pages and requests (or the same failure).
pub async fn assert_round_trip(case: RoundTrip) -> RoundTripResult {
    let sim = spawn_tenant(if case.tenant.is_empty() {
        ""
    } else {
        case.tenant
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let set_dir = dir.path().join("case");
    let mut settings = helpers::settings(sim.base_url.as_str(), case.stream);
    settings.common.username = Some(case.user.into());
    (case.settings)(&mut settings);
    let mut live_sink = MemorySink::default();
    let recorded = record::record_run(
        &settings,
        Some(DEMO_PASSWORD.into()),
        &mut live_sink,
        &set_dir,
        RedactOptions::default(),
    )
    .await
    .expect("the recording is written");
    assert!(
        recorded.findings.is_empty(),
        "the check found unredacted values: {:#?}",
        recorded.findings
    );
    assert_no_secrets(&set_dir, case.user);

    // The generated scenario passes against the replay, run by path from another directory.
    let scenario = Scenario::load(&recorded.scenario).expect("the scenario loads");
    let outcome = scenario::run(&scenario).await;
    assert_eq!(
        outcome.verdict,
        Verdict::Passed,
        "the generated scenario fails against its replay:\n{}",
        outcome.report
    );

    // The replay, by the same connector, with the same settings.
    let replay = Simulator::start(
        SimulatorConfig::demo().with_fixtures(FixtureSet::load(&set_dir).expect("the set loads")),
    )
    .await
    .unwrap();
    let mut replay_settings = settings.clone();
    replay_settings.common.platform_url = Some(replay.base_url.to_string());
    if let Some(include) = &settings.vmdr.tag_include {
        replay_settings.vmdr.tag_include = Some(include.clone());
    }
    let replayed = run_as(replay_settings, "any-password").await;
    let journal = replay.journal().entries();
    assert!(
        journal.iter().all(|e| e.source != "unmatched"),
        "the replay did not match every request: {:?}",
        journal
            .iter()
            .filter(|e| e.source == "unmatched")
            .map(|e| (&e.path, &e.params))
            .collect::<Vec<_>>()
    );
    let mut pseudonyms = recorded.set.pseudonyms_for_tests();
    let live: Vec<Value> = live_sink
        .records
        .iter()
        .map(|r| map_record(&mut pseudonyms, case.stream, r))
        .collect();
    match (&recorded.result, &replayed.result) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                (a.records, a.pages, a.requests, a.retries),
                (b.records, b.pages, b.requests, b.retries),
                "records, pages, requests, retries"
            );
            assert_eq!(replayed.records.len(), live.len());
            for (i, (got, want)) in replayed.records.iter().zip(&live).enumerate() {
                assert_eq!(
                    got, want,
                    "record {i} differs from the live one modulo the mapping"
                );
            }
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.exit_class(), b.exit_class(), "{a} / {b}");
            assert_eq!(a.qualys_code(), b.qualys_code(), "{a} / {b}");
        }
        (a, b) => panic!("the live run and the replay ended differently: {a:?} / {b:?}"),
    }
    RoundTripResult {
        _dir: dir,
        live,
        replayed: replayed.records,
        replay_result: replayed.result,
        recorded,
    }
}

/// A live record as the redacted set has it: each field through the rule its source element
/// has in the redaction tables (this test's stream knowledge: record field -> element).
fn map_record(p: &mut Pseudonyms, stream: StreamKind, record: &Value) -> Value {
    let opts = RedactOptions::default();
    let rule = |field: &str| match field {
        "ip" | "ipv6" => Some(Rule::Addresses),
        "dns" | "fqdn" => Some(Rule::Host),
        "netbios" => Some(Rule::Map(Kind::NetBios)),
        "results" => Some(Rule::FreeText),
        "owner" => Some(Rule::Map(Kind::Owner)),
        // WAS: a URL's host, and the names customers give their web applications (a finding's
        // own `name` is Qualys's title of the QID, kept).
        "url" | "webapp_url" => Some(Rule::Url),
        "webapp_name" => Some(Rule::Map(Kind::Name)),
        "owner_username" => Some(Rule::Map(Kind::Username)),
        "name" if stream == StreamKind::WasAssets => Some(Rule::Map(Kind::Name)),
        _ => None,
    };
    let Value::Object(fields) = record else {
        return record.clone();
    };
    let mut out = serde_json::Map::new();
    for (k, v) in fields {
        let mapped = match (v, rule(k)) {
            // A posture's evidence and cause of failure are the customer's configuration
            // values: every string in them, however nested, is free text.
            _ if matches!(k.as_str(), "evidence" | "cause_of_failure") => {
                free_text_leaves(p, v, &opts)
            }
            (Value::String(s), Some(r)) => Value::String(record::redact_value(p, r, s, &opts)),
            (Value::String(s), None) => Value::String(record::redact_text(p, s)),
            _ => v.clone(),
        };
        out.insert(k.clone(), mapped);
    }
    Value::Object(out)
}

/// `v` with every string in it replaced as free text.
fn free_text_leaves(p: &mut Pseudonyms, v: &Value, opts: &RedactOptions) -> Value {
    match v {
        Value::String(s) => Value::String(record::redact_value(p, Rule::FreeText, s, opts)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| free_text_leaves(p, i, opts)).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, i)| (k.clone(), free_text_leaves(p, i, opts)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// Nothing secret anywhere in the set: the password, a Basic header, the username.
fn assert_no_secrets(dir: &Path, user: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [DEMO_PASSWORD, "Authorization", "Basic ", user] {
            assert!(
                !text.contains(secret) || (secret == DEMO_PASSWORD && !text.contains("=demo")),
                "{secret:?} in {}",
                path.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vulnerabilities_round_trip_over_several_pages_and_knowledge_base_batches() {
    let r = assert_round_trip(RoundTrip {
        stream: StreamKind::VmdrVulnerabilities,
        settings: |s| {
            s.vmdr.truncation_limit = Some(40);
            s.vmdr.kb_batch_size = Some(10);
        },
        tenant: "",
        user: "quays_ab1",
    })
    .await;
    let summary = r.replay_result.as_ref().unwrap();
    assert!(summary.pages > 2 && summary.kb_requests > 1, "{summary:?}");
    assert!(r.replayed.iter().all(|rec| {
        rec["ip"].as_str().is_none_or(|ip| {
            ["192.0.2.", "198.51.100.", "203.0.113.", "10."]
                .iter()
                .any(|p| ip.starts_with(p))
        })
    }));
    assert_eq!(r.live.len(), r.replayed.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_round_trip() {
    let r = assert_round_trip(RoundTrip {
        stream: StreamKind::VmdrAssets,
        settings: |s| s.vmdr.truncation_limit = Some(100),
        tenant: "",
        user: "quays_ab1",
    })
    .await;
    assert!(
        r.recorded
            .set
            .report
            .iter()
            .any(|(k, n, _)| *k == Kind::Ipv4 && *n > 0)
    );
    assert!(r.replay_result.as_ref().unwrap().pages >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1965_rate_limit_and_its_retry_are_recorded_in_order_and_replayed() {
    let r = assert_round_trip(RoundTrip {
        stream: StreamKind::VmdrVulnerabilities,
        settings: |s| s.vmdr.truncation_limit = Some(120),
        tenant: "[[faults]]\nkind = \"rate_limited\"\nseconds_to_wait = 1\nroute = \"detection\"\ncalls = \"2\"\n",
        user: "quays_ab1",
    })
    .await;
    assert_eq!(r.replay_result.as_ref().unwrap().retries, 1);
    let manifest = std::fs::read_to_string(r.recorded.set.dir.join("manifest.toml")).unwrap();
    let page2 = manifest
        .split("[[fixtures]]")
        .find(|f| f.contains("id_min"))
        .expect("a fixture for page 2");
    let statuses: Vec<&str> = page2.matches("\nstatus = ").collect();
    assert_eq!(statuses.len(), 2, "the 409 and the retried 200: {page2}");
    assert!(
        page2.find("\nstatus = 409") < page2.find("\nstatus = 200"),
        "{page2}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_fails_with_2003_replays_the_same_failure() {
    let r = assert_round_trip(RoundTrip {
        stream: StreamKind::VmdrVulnerabilities,
        settings: |_| {},
        tenant: "",
        user: "quays_na1",
    })
    .await;
    let e = r.replay_result.unwrap_err();
    assert_eq!(
        (e.exit_class(), e.qualys_code()),
        (ExitClass::Account, Some(2003))
    );
    let scenario = std::fs::read_to_string(&r.recorded.scenario).unwrap();
    assert!(
        scenario.contains("exit = \"account\"") && scenario.contains("code = 2003"),
        "{scenario}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_broke_off_is_recorded_with_a_disconnect_and_the_retry_replays() {
    let r = assert_round_trip(RoundTrip {
        stream: StreamKind::VmdrAssets,
        settings: |s| s.vmdr.truncation_limit = Some(100),
        tenant: "[[faults]]\nkind = \"disconnect_after\"\nbytes = 3000\nroute = \"host_list\"\nfirst = 1\n",
        user: "quays_ab1",
    })
    .await;
    assert_eq!(r.replay_result.as_ref().unwrap().retries, 1);
    let manifest = std::fs::read_to_string(r.recorded.set.dir.join("manifest.toml")).unwrap();
    assert!(
        manifest.contains("fault = { kind = \"disconnect\" }"),
        "{manifest}"
    );
}

/// The proxy in front of the unchanged built-in connector: the client's next pages come back
/// through the proxy, and the set replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recording_proxy_serves_an_unchanged_client_and_its_set_replays() {
    let sim = helpers::spawn_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let set_dir = dir.path().join("proxy-case");
    let proxy = start_proxy(&sim.base_url, &set_dir).await;
    let mut settings = helpers::settings(proxy.base_url.as_str(), StreamKind::VmdrVulnerabilities);
    settings.vmdr.truncation_limit = Some(60);
    let live = run_as(settings.clone(), DEMO_PASSWORD).await;
    let summary = live.summary().clone();
    assert!(summary.pages > 1);
    // Every page went through the proxy: the simulator saw as many requests as the client sent.
    assert_eq!(sim.journal().entries().len() as u64, summary.requests);
    let set = proxy.finish().await.unwrap();
    assert_eq!(set.exchanges as u64, summary.requests);
    assert!(
        record::check_set(&set_dir, Some("quays_ab1"))
            .unwrap()
            .is_empty()
    );
    let mut pin = Settings::default();
    pin.vmdr.truncation_limit = Some(60);
    let scenario_path = record::pin_replay(&set_dir, None, pin)
        .await
        .unwrap()
        .unwrap();
    let scenario = Scenario::load(&scenario_path).unwrap();
    assert_eq!(scenario.file.stream, StreamKind::VmdrVulnerabilities);
    assert_eq!(scenario.file.expect.records, Some(summary.records));
    assert_eq!(scenario.file.expect.pages, Some(summary.pages));
    let outcome = scenario::run(&scenario).await;
    assert_eq!(outcome.verdict, Verdict::Passed, "{}", outcome.report);
}

async fn start_proxy(upstream: &url::Url, dir: &Path) -> RecordingProxy {
    let recording = record::Recording::create(
        dir,
        RecordOptions {
            origins: vec![upstream.origin().ascii_serialization()],
            ..RecordOptions::default()
        },
    )
    .unwrap();
    RecordingProxy::start(
        record::ProxyOptions {
            upstream: upstream.clone(),
            addr: "127.0.0.1:0".parse().unwrap(),
            tls: false,
            upstream_ca_cert: None,
        },
        recording,
    )
    .await
    .unwrap()
}

/// The Python example connector, unchanged, through the proxy: its recording pins a scenario
/// that our connector passes with the same records. Skips without python3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_connector_through_the_proxy_records_a_set_our_connector_replays() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let sim = helpers::spawn_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let set_dir = dir.path().join("python-case");
    let proxy = start_proxy(&sim.base_url, &set_dir).await;
    let settings_file = dir.path().join("settings.json");
    std::fs::write(&settings_file, r#"{"truncation_limit": 80}"#).unwrap();
    let out = dir.path().join("python.ndjson");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python-connector/connector.py");
    let base = proxy.base_url.to_string();
    let status = tokio::task::spawn_blocking({
        let (settings_file, out) = (settings_file.clone(), out.clone());
        move || {
            std::process::Command::new("python3")
                .arg(script)
                .env("QUALYS_PLATFORM_URL", base.trim_end_matches('/'))
                .env("QUALYS_USERNAME", "quays_ab1")
                .env("QUALYS_PASSWORD", DEMO_PASSWORD)
                .env("QHARNESS_STREAM", "vmdr-vulnerabilities")
                .env("QHARNESS_SETTINGS", settings_file)
                .env("QHARNESS_OUTPUT", out)
                .status()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(status.success(), "the python connector failed: {status}");
    let python_records = std::fs::read_to_string(&out).unwrap().lines().count() as u64;
    proxy.finish().await.unwrap();
    assert!(
        record::check_set(&set_dir, Some("quays_ab1"))
            .unwrap()
            .is_empty()
    );
    let mut pin = Settings::default();
    pin.vmdr.truncation_limit = Some(80);
    let scenario_path = record::pin_replay(&set_dir, None, pin)
        .await
        .unwrap()
        .unwrap_or_else(|why| panic!("{why}"));
    let scenario = Scenario::load(&scenario_path).unwrap();
    assert_eq!(scenario.file.expect.records, Some(python_records));
    assert_eq!(scenario::run(&scenario).await.verdict, Verdict::Passed);
}

mod properties {
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;
    use qualys_harness::record::{self, FO_XML, Pseudonyms, RedactOptions, Shape};

    fn documentation(ip: Ipv4Addr, spill: u32) -> bool {
        let [a, b, c, _] = ip.octets();
        matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113))
            || (a == 10 && u32::from(ip) - u32::from(Ipv4Addr::new(10, 0, 0, 0)) <= spill)
            || ip.is_loopback()
            || ip.is_unspecified()
            || ip.is_broadcast()
    }

    proptest! {
        /// Whatever addresses a body holds, none outside the documentation ranges survives,
        /// and within one set two different addresses never share a pseudonym.
        #[test]
        fn redaction_leaves_only_documentation_addresses_and_is_a_bijection(
            v4 in proptest::collection::vec(any::<u32>(), 1..1200),
            v6 in proptest::collection::vec(any::<u128>(), 0..20),
        ) {
            let mut xml = String::from("<HOSTS>");
            for ip in &v4 {
                let ip = Ipv4Addr::from(*ip);
                xml.push_str(&format!("<HOST><IP>{ip}</IP><OS>seen at {ip}</OS></HOST>"));
            }
            for ip in &v6 {
                xml.push_str(&format!("<HOST><IPV6>{}</IPV6></HOST>", Ipv6Addr::from(*ip)));
            }
            xml.push_str("</HOSTS>");
            let mut p = Pseudonyms::default();
            let mut out = Vec::new();
            record::redact_body(xml.as_bytes(), &mut out, Shape::Xml(FO_XML), &mut p, &RedactOptions::default()).unwrap();
            let out = String::from_utf8(out).unwrap();
            let spill = p.ipv4_count().saturating_sub(record::IPV4_DOC_CAPACITY);
            let mut seen: HashMap<String, String> = HashMap::new();
            for (orig, piece) in v4.iter().zip(out.split("<IP>").skip(1)) {
                let mapped = &piece[..piece.find("</IP>").unwrap()];
                let ip: Ipv4Addr = mapped.parse().unwrap();
                prop_assert!(documentation(ip, spill), "{ip} left in the set");
                let orig = Ipv4Addr::from(*orig).to_string();
                if let Some(before) = seen.insert(mapped.to_string(), orig.clone()) {
                    prop_assert_eq!(before, orig, "two addresses share {}", mapped);
                }
            }
            for piece in out.split("<IPV6>").skip(1) {
                let ip: Ipv6Addr = piece[..piece.find("</IPV6>").unwrap()].parse().unwrap();
                prop_assert!(ip.segments()[..2] == [0x2001, 0xdb8] || ip.is_loopback() || ip.is_unspecified());
            }
        }
    }
}

/// The three commands as a user types them: `fetch --record`, `record --check` (zero, then
/// non-zero naming file and offset once a leak is planted), and the warning of `--no-redact`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_records_checks_and_warns() {
    let sim = helpers::spawn_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("case-4711");
    let qharness = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_qharness"))
                .args(&args)
                .env("QUALYS_PASSWORD", DEMO_PASSWORD)
                .output()
                .unwrap()
        })
    };
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let base = sim.base_url.to_string();
    let set_arg = set.display().to_string();
    let fetch = qharness(s(&[
        "fetch",
        "--stream",
        "vmdr-assets",
        "--platform-url",
        &base,
        "--username",
        "quays_ab1",
        "--record",
        &set_arg,
        "--out",
        &dir.path().join("out.ndjson").display().to_string(),
    ]))
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&fetch.stderr);
    assert!(fetch.status.success(), "{stderr}");
    assert!(
        stderr.contains("nothing in") && stderr.contains("scenario.toml"),
        "{stderr}"
    );
    let check = qharness(s(&[
        "record",
        "--check",
        &set_arg,
        "--username",
        "quays_ab1",
    ]))
    .await
    .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let body = set.join("0001-host_list.xml");
    let mut text = std::fs::read_to_string(&body).unwrap();
    text.push_str("<!-- 10.20.30.40 -->");
    std::fs::write(&body, text).unwrap();
    let check = qharness(s(&["record", "--check", &set_arg])).await.unwrap();
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success());
    assert!(
        stderr.contains("0001-host_list.xml: byte ") && stderr.contains("10.20.30.40"),
        "{stderr}"
    );

    let raw = dir.path().join("raw");
    let fetch = qharness(s(&[
        "fetch",
        "--stream",
        "vmdr-assets",
        "--platform-url",
        &base,
        "--username",
        "quays_ab1",
        "--record",
        &raw.display().to_string(),
        "--no-redact",
        "--out",
        &dir.path().join("raw.ndjson").display().to_string(),
    ]))
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&fetch.stderr);
    assert!(
        fetch.status.success() && stderr.contains("warning: --no-redact"),
        "{stderr}"
    );
    assert!(
        std::fs::read_to_string(raw.join("redaction.toml"))
            .unwrap()
            .contains("redacted = false")
    );
}

/// HTTPS on both sides: the proxy trusts the upstream's certificate (`--upstream-ca-cert`) and
/// serves its own, which the client trusts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_records_over_tls_on_both_sides() {
    let sim = Simulator::start(SimulatorConfig::demo().tls(true))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let set_dir = dir.path().join("tls-case");
    let recording = record::Recording::create(
        &set_dir,
        RecordOptions {
            origins: vec![sim.base_url.origin().ascii_serialization()],
            ..RecordOptions::default()
        },
    )
    .unwrap();
    let proxy = RecordingProxy::start(
        record::ProxyOptions {
            upstream: sim.base_url.clone(),
            addr: "127.0.0.1:0".parse().unwrap(),
            tls: true,
            upstream_ca_cert: sim.certificate_pem().map(|p| p.as_bytes().to_vec()),
        },
        recording,
    )
    .await
    .unwrap();
    assert_eq!(proxy.base_url.scheme(), "https");
    let cert = dir.path().join("proxy.pem");
    std::fs::write(&cert, proxy.certificate_pem().unwrap()).unwrap();
    let mut settings = helpers::settings(proxy.base_url.as_str(), StreamKind::VmdrAssets);
    settings.common.ca_cert = Some(cert);
    settings.vmdr.truncation_limit = Some(100);
    let live = run_as(settings, DEMO_PASSWORD).await;
    assert!(live.summary().pages >= 2);
    let set = proxy.finish().await.unwrap();
    assert_eq!(set.exchanges as u64, live.summary().requests);
    let manifest = std::fs::read_to_string(set_dir.join("manifest.toml")).unwrap();
    assert!(
        manifest.contains("id_min"),
        "the second page went through the proxy"
    );
    assert!(
        record::check_set(&set_dir, Some("quays_ab1"))
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pc_posture_round_trip_over_the_gateway_with_evidence_and_several_host_batches() {
    let r = assert_round_trip(RoundTrip {
        stream: StreamKind::PcPosture,
        settings: |s| {
            s.pc.policy_ids = Some(qualys_harness::config::PolicyIdList::Text(
                "4711,4712".into(),
            ));
            s.pc.evidence = Some(true);
            s.pc.host_batch_size = Some(50);
        },
        tenant: "",
        user: "quays_ab1",
    })
    .await;
    let summary = r.replay_result.as_ref().unwrap();
    assert!(summary.records > 0 && summary.requests > 4, "{summary:?}");
    // The login is never part of the set: no token, no /auth form.
    for entry in std::fs::read_dir(r._dir.path().join("case")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!text.contains("eyJ"), "a JWT-looking value in the set");
        assert!(!text.contains("token=true"), "the /auth form in the set");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn was_findings_round_trip_over_several_lastid_pages() {
    let r = assert_round_trip(RoundTrip {
        stream: StreamKind::WasFindings,
        settings: |s| s.was.page_size = Some(10),
        tenant: "",
        user: "quays_ab1",
    })
    .await;
    let summary = r.replay_result.as_ref().unwrap();
    assert!(summary.pages > 2 && summary.records > 20, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn was_assets_round_trip_over_several_lastid_pages() {
    let r = assert_round_trip(RoundTrip {
        stream: StreamKind::WasAssets,
        settings: |s| s.was.page_size = Some(4),
        tenant: "",
        user: "quays_ab1",
    })
    .await;
    let summary = r.replay_result.as_ref().unwrap();
    assert!(summary.pages > 2, "{summary:?}");
}
