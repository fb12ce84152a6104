//! The `qharness` binary when things go wrong: configuration problems exit 2 before any request
//! and never echo a secret; a hostile or broken server gets a sensible exit code and message
//! (never a panic); saved files that are cut short or damaged exit 1 with the right byte; and
//! SIGINT/SIGTERM during `fetch --out` leave nothing behind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cli::{fetch_args, qharness, server_answering, text};
use crate::helpers::*;

/// `fetch` against `server` without `-vv`, so that only what a user sees by default is judged.
fn quiet_fetch_args(server: &MockServer, extra: &[&str]) -> Vec<String> {
    let mut args = fetch_args(server, extra);
    assert_eq!(args.remove(0), "-vv");
    args
}

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn every_configuration_problem_exits_2_before_any_request() {
    let server = server_answering(200, fixture("vmdr/hld_empty.xml")).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing").display().to_string();
    let config = |name: &str, toml: &str| write(dir.path(), name, toml.as_bytes());
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "malformed TOML",
            vec![
                "--config".into(),
                config("a.toml", "stream = \"vmdr-assets"),
            ],
            "line 1",
        ),
        (
            "an unknown key",
            vec!["--config".into(), config("b.toml", "\n\ntruncation = 5")],
            "line 3, column 1: unknown field `truncation`",
        ),
        (
            "a wrong type",
            vec![
                "--config".into(),
                config("c.toml", "max_attempts = \"many\""),
            ],
            "line 1",
        ),
        (
            "a missing --config file",
            vec!["--config".into(), missing.clone()],
            "cannot read the config file",
        ),
        (
            "a missing password_file",
            vec![
                "--config".into(),
                config("d.toml", &format!("password_file = {missing:?}")),
            ],
            "password_file",
        ),
        (
            "a missing --ca-cert",
            vec!["--ca-cert".into(), missing.clone()],
            "ca_cert: cannot read",
        ),
        (
            "an empty --ca-cert",
            vec!["--ca-cert".into(), write(dir.path(), "empty.pem", b"")],
            "is empty",
        ),
        (
            "a --ca-cert that is no PEM",
            vec!["--ca-cert".into(), write(dir.path(), "junk.pem", b"junk\n")],
            "holds no PEM certificate",
        ),
        (
            "a --ca-cert whose PEM holds no certificate",
            vec![
                "--ca-cert".into(),
                write(
                    dir.path(),
                    "bad.pem",
                    b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
                ),
            ],
            "not a usable X.509 certificate",
        ),
    ];
    for (what, extra, says) in cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let out = qharness(quiet_fetch_args(&server, &extra)).await;
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {all}");
        assert!(all.contains(says), "{what}: expected {says:?} in {all}");
        assert!(all.contains("what to do:"), "{what}: {all}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_password_written_into_the_config_file_is_refused_and_never_echoed() {
    let server = server_answering(200, fixture("vmdr/hld_empty.xml")).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "c.toml",
        format!("username = \"{USER}\"\npassword = \"{PASSWORD}\"\n").as_bytes(),
    );
    let out = qharness(quiet_fetch_args(&server, &["--config", &file])).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(!all.contains(PASSWORD), "the password was echoed: {all}");
    assert!(
        all.contains("line 2") && all.contains("password_file"),
        "{all}"
    );
}

#[tokio::test]
async fn credentials_in_the_platform_url_exit_2_and_are_never_printed() {
    let server = server_answering(200, fixture("vmdr/hld_empty.xml")).await;
    let port = server.address().port();
    for url in [
        format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}"),
        format!("http://only-a-user@127.0.0.1:{port}"),
        format!("{USER}:{PASSWORD}@127.0.0.1:{port}"),
    ] {
        let mut args = quiet_fetch_args(&server, &[]);
        let at = args.iter().position(|a| a == "--platform-url").unwrap();
        args[at + 1] = url.clone();
        let out = qharness(args).await;
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{url}: {all}");
        assert!(!all.contains(PASSWORD), "the secret was printed: {all}");
        assert!(
            !all.contains("only-a-user"),
            "the user part was printed: {all}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// `qharness fetch` against `http://qualysapi.example.com` through an HTTP proxy (the mock):
/// plain HTTP to a host that is not this machine, with no DNS needed.
async fn through_proxy(server: &MockServer, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = [
        "fetch",
        "--stream",
        "vmdr-vulnerabilities",
        "--platform-url",
        "http://qualysapi.example.com",
        "--username",
        USER,
        "--no-knowledge-base",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let proxy = server.uri();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_qharness"))
            .args(&args)
            .env("QUALYS_PASSWORD", PASSWORD)
            .env("HTTP_PROXY", &proxy)
            .env("http_proxy", &proxy)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .env_remove("QHARNESS_LOG")
            .output()
            .expect("qharness runs")
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn plain_http_to_another_host_is_refused_unless_allowed_and_then_warned_once() {
    let server = server_answering(200, fixture("vmdr/hld_page2.xml")).await;
    let refused = through_proxy(&server, &[]).await;
    let all = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{all}");
    assert!(all.contains("--allow-insecure-http"), "{all}");
    assert!(server.received_requests().await.unwrap().is_empty());

    let allowed = through_proxy(&server, &["--allow-insecure-http"]).await;
    let stderr = String::from_utf8_lossy(&allowed.stderr);
    assert_eq!(allowed.status.code(), Some(0), "{}", text(&allowed));
    assert_eq!(
        stderr.matches("uses plain HTTP").count(),
        1,
        "the warning is said once: {stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&allowed.stdout).lines().count(), 2);
}

#[tokio::test]
async fn a_wait_of_u64_max_seconds_exits_4_with_a_sensible_message_and_no_panic() {
    const HUGE: &str = "18446744073709551615";
    // With "no calls left" (the next request would wait for the window), and after a 503 (the
    // retry path adds the wait to what was waited already).
    for after_a_503 in [false, true] {
        let server = MockServer::start().await;
        let mut limited = xml(409, fixture("vmdr/error_1965_rate_limit.xml"))
            .insert_header("X-RateLimit-ToWait-Sec", HUGE);
        if after_a_503 {
            Mock::given(method("POST"))
                .and(path(HLD))
                .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
                .up_to_n_times(1)
                .with_priority(1)
                .mount(&server)
                .await;
        } else {
            limited = limited.insert_header("X-RateLimit-Remaining", "0");
        }
        Mock::given(method("POST"))
            .and(path(HLD))
            .respond_with(limited)
            .mount(&server)
            .await;
        let mut args = quiet_fetch_args(&server, &[]);
        let at = args.iter().position(|a| a == "--max-attempts").unwrap();
        args[at + 1] = "5".into();
        let started = Instant::now();
        let out = qharness(args).await;
        let all = text(&out);
        assert_eq!(
            out.status.code(),
            Some(4),
            "after a 503: {after_a_503}: {all}"
        );
        assert!(!all.contains("panicked"), "{all}");
        assert!(
            all.contains("rate limit") && all.contains("max_wait_secs"),
            "{all}"
        );
        assert!(all.contains("a day or longer"), "{all}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "it must not wait"
        );
    }
}

#[tokio::test]
async fn exhausted_retries_name_the_endpoint_once_and_claim_no_code_qualys_did_not_send() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(
            ResponseTemplate::new(503).set_body_raw("503 Service Unavailable\n", "text/plain"),
        )
        .mount(&server)
        .await;
    let out = qharness(quiet_fetch_args(&server, &[])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    let (log, error) = stderr.split_once("error: ").expect("an error message");
    assert_eq!(error.matches(HLD).count(), 1, "{error}");
    for line in log.lines() {
        assert!(line.matches(HLD).count() <= 1, "{line}");
    }
    assert!(
        !stderr.contains("CODE"),
        "no Qualys code was sent: {stderr}"
    );
    assert!(stderr.contains("503 Service Unavailable"), "{stderr}");
    assert!(
        stderr.contains("still failing after 2 attempts"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_bare_redirect_shows_where_it_points_and_says_it_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("https://someone:{PASSWORD}@qualysapi.qg2.apps.qualys.com{HLD}").as_str(),
        ))
        .mount(&server)
        .await;
    let out = qharness(quiet_fetch_args(&server, &[])).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(&format!("https://***@qualysapi.qg2.apps.qualys.com{HLD}")),
        "{all}"
    );
    assert!(all.contains("not followed, on purpose"), "{all}");
    assert!(all.contains("set platform_url to it"), "{all}");
    assert!(!all.contains("connector bug"), "{all}");
    assert!(!all.contains(PASSWORD) && !all.contains("someone"), "{all}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_self_signed_server_without_ca_cert_exits_2_naming_the_problem_and_ca_cert() {
    let sim = qualys_harness::sim::Simulator::start(
        qualys_harness::sim::SimulatorConfig::demo().tls(true),
    )
    .await
    .unwrap();
    let out = qharness(vec![
        "fetch".into(),
        "--stream".into(),
        "vmdr-assets".into(),
        "--platform-url".into(),
        sim.base_url.to_string(),
        "--username".into(),
        USER.into(),
    ])
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("unknown issuer") && all.contains("--ca-cert"),
        "{all}"
    );
    assert!(sim.journal().entries().is_empty(), "no request got through");
}

fn parse_args(args: &[&str]) -> Vec<String> {
    std::iter::once("parse")
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn a_truncated_file_exits_1_as_an_incomplete_file_not_as_a_transient_failure() {
    let dir = tempfile::tempdir().unwrap();
    let body = fixture("vmdr/hld_page1.xml");
    let file = write(dir.path(), "cut.xml", &body.as_bytes()[..body.len() / 2]);
    for extra in [&[][..], &["--count"][..]] {
        let mut args = vec!["--stream", "vmdr-vulnerabilities", file.as_str()];
        args.extend(extra);
        let out = qharness(parse_args(&args)).await;
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{all}");
        assert!(all.contains("the saved response is incomplete"), "{all}");
    }
}

#[tokio::test]
async fn invalid_utf8_is_reported_at_its_byte_and_its_cause_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let body = fixture("vmdr/hld_page1.xml").into_bytes();
    let at = body.windows(4).position(|w| w == b"<IP>").unwrap() + 6;
    let damaged = [&body[..at], b"\xff", &body[at..]].concat();
    let file = write(dir.path(), "latin1.xml", &damaged);
    let out = qharness(parse_args(&["--stream", "vmdr-vulnerabilities", &file])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("UTF-8 at byte {at}")), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one cause, said once: {stderr}");
}

#[tokio::test]
async fn parse_kind_knowledge_base_writes_one_record_per_qid_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "kb.xml",
        fixture("vmdr/kb_batch.xml").as_bytes(),
    );
    let out = qharness(parse_args(&["--kind", "knowledge-base", &file])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record per line"))
        .collect();
    assert_eq!(records.len(), 4);
    let r = records
        .iter()
        .find(|r| r["qid"] == 105943)
        .expect("QID 105943");
    assert_eq!(
        r["cves"],
        serde_json::json!(["CVE-2019-0001", "CVE-2019-0002"])
    );
    assert_eq!(r["cvss_base"], 7.5);
    assert_eq!(r["cvss3_base"], 8.1);
    assert_eq!(r["patchable"], true);
    assert_eq!(r["title"], "Example Runtime Outdated Version Detected");
    let counted = qharness(parse_args(&["--kind", "knowledge-base", "--count", &file])).await;
    assert_eq!(String::from_utf8_lossy(&counted.stdout), "4\n");

    let wrong = qharness(parse_args(&["--stream", "vmdr-vulnerabilities", &file])).await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong).contains("expected <HOST_LIST_VM_DETECTION_OUTPUT>"),
        "{}",
        text(&wrong)
    );
}

#[tokio::test]
async fn parse_of_a_host_list_of_ids_emits_each_host_id_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "ids.xml",
        fixture("vmdr/host_list_id_set.xml").as_bytes(),
    );
    let out = qharness(parse_args(&["--kind", "vmdr-assets", &file])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<u64> = records
        .iter()
        .map(|r| r["host_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1001, 1003, 1004, 1005, 1006, 1010]);
    assert!(
        records
            .iter()
            .all(|r| r["ip"].is_null() && r["asset_id"].is_null())
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("host IDs only"),
        "{}",
        text(&out)
    );
}

/// Starts `qharness fetch --out` against a simulator that dribbles its pages, waits until the
/// run is under way, sends `signal` with `kill`, and returns the exit code and stderr.
async fn interrupted_fetch(signal: &str) -> (Option<i32>, String, tempfile::TempDir) {
    let sim = spawn_tenant(
        "[[faults]]\nkind = \"dribble\"\nchunk_bytes = 64\ninterval_ms = 50\nroute = \"detection\"\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("records.ndjson");
    let mut child = Command::new(env!("CARGO_BIN_EXE_qharness"))
        .args([
            "fetch",
            "--stream",
            "vmdr-vulnerabilities",
            "--platform-url",
            sim.base_url.as_str(),
            "--username",
            USER,
            "--out",
        ])
        .arg(&target)
        .env("QUALYS_PASSWORD", DEMO_PASSWORD)
        .env_remove("QHARNESS_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qharness starts");
    // Under way: the partial file exists and the detection page is arriving.
    let started = Instant::now();
    while sim.journal().entries_for(HLD).is_empty() || partial_files(dir.path()).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the fetch never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "qharness did not stop on {signal}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!target.exists(), "an interrupted run published its output");
    (status.code(), stderr, dir)
}

fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".qharness-partial-"))
        .collect()
}

#[tokio::test]
async fn sigint_during_fetch_out_removes_the_partial_file_and_exits_130() {
    let (code, stderr, dir) = interrupted_fetch("INT").await;
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert_eq!(partial_files(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn sigterm_during_fetch_out_removes_the_partial_file_and_exits_143() {
    let (code, stderr, dir) = interrupted_fetch("TERM").await;
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert_eq!(partial_files(dir.path()), Vec::<String>::new());
}
