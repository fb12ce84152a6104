//! The `qharness` binary: exit codes per error class, atomic `--out`, and no secret in any
//! output.

use std::process::Output;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// Runs `qharness` with the test password in the environment.
pub(crate) async fn qharness(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_qharness"))
            .args(&args)
            .env("QUALYS_PASSWORD", PASSWORD)
            .env_remove("QHARNESS_LOG")
            .output()
            .expect("qharness runs")
    })
    .await
    .expect("the runner thread finishes")
}

pub(crate) fn fetch_args(server: &MockServer, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-vv",
        "fetch",
        "--stream",
        "vmdr-vulnerabilities",
        "--platform-url",
        &server.uri(),
        "--username",
        USER,
        "--max-attempts",
        "2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub(crate) async fn server_answering(status: u16, body: String) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(xml(status, body))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(KB))
        .respond_with(xml(200, fixture("vmdr/kb_batch.xml")))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn fetch_writes_ndjson_to_stdout_and_exits_0() {
    let server = server_answering(200, fixture("vmdr/hld_page2.xml")).await;
    let out = qharness(fetch_args(&server, &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON record"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["title"], "ExampleHTTPd Remote Code Execution");
    assert!(
        !text(&out).contains(PASSWORD),
        "the password leaked into the output"
    );
}

#[tokio::test]
async fn exit_codes_follow_the_error_class() {
    let cases: [(u16, String, i32); 4] = [
        (401, fixture("vmdr/error_2000_bad_login.xml"), 3),
        (409, fixture("vmdr/error_2003_registration.xml"), 3),
        (500, fixture("vmdr/generic_return_999.xml"), 4),
        (
            200,
            "<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><oops></RESPONSE>".into(),
            1,
        ),
    ];
    for (status, body, code) in cases {
        let server = server_answering(status, body).await;
        let out = qharness(fetch_args(&server, &[])).await;
        assert_eq!(
            out.status.code(),
            Some(code),
            "HTTP {status}: {}",
            text(&out)
        );
        assert!(
            !text(&out).contains(PASSWORD),
            "the password leaked into the output"
        );
    }
}

#[tokio::test]
async fn configuration_errors_exit_2_before_any_request() {
    let server = server_answering(200, fixture("vmdr/hld_empty.xml")).await;
    for extra in [
        vec!["--tag-exclude", "Decommissioned"],
        vec!["--tag-include", "Prod"],
        vec!["--status", "Open"],
        vec!["--arf-kernel-filter", "7"],
    ] {
        let out = qharness(fetch_args(&server, &extra)).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", text(&out));
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn failed_run_leaves_no_output_file_and_a_successful_one_publishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("records.ndjson");
    let out_arg = target.display().to_string();

    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(xml(200, fixture("vmdr/hld_page1.xml")))
        .mount(&failing)
        .await;
    Mock::given(method("POST"))
        .and(path(KB))
        .respond_with(xml(200, fixture("vmdr/kb_batch.xml")))
        .mount(&failing)
        .await;
    // Page 2 fails for good: page 1's records must not be published as a complete file.
    Mock::given(method("POST"))
        .and(path(HLD))
        .and(form_param("id_min", "1003"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(&failing)
        .await;
    let out = qharness(fetch_args(&failing, &["--out", &out_arg])).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        !target.exists(),
        "a failed run published its partial output"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a temporary file was left behind"
    );

    let ok = server_answering(200, fixture("vmdr/hld_page2.xml")).await;
    let out = qharness(fetch_args(&ok, &["--out", &out_arg])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap().lines().count(), 2);
    assert!(
        out.stdout.is_empty(),
        "records went to the file, not stdout"
    );
}

#[tokio::test]
async fn parse_count_prints_only_the_record_count() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.xml");
    std::fs::write(&file, fixture("vmdr/hld_page1.xml")).unwrap();
    let out = qharness(vec![
        "parse".into(),
        "--stream".into(),
        "vmdr-vulnerabilities".into(),
        "--count".into(),
        file.display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "4\n");
}

#[tokio::test]
async fn parse_reports_the_byte_offset_of_invalid_xml() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.xml");
    let body = fixture("vmdr/hld_page2.xml").replace("<QID>90001</QID>", "<QID>90001</QlD>");
    std::fs::write(&file, &body).unwrap();
    let out = qharness(vec![
        "parse".into(),
        "--stream".into(),
        "vmdr-vulnerabilities".into(),
        file.display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let offset = body.find("</QlD>").unwrap();
    assert!(
        err.contains(&format!("byte {offset}")),
        "expected byte {offset} in: {err}"
    );
}

#[tokio::test]
async fn an_output_directory_that_does_not_exist_is_an_io_error_before_any_request() {
    let server = server_answering(200, fixture("vmdr/hld_empty.xml")).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing").join("records.ndjson");
    let out = qharness(fetch_args(
        &server,
        &["--out", &target.display().to_string()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("missing"), "{}", text(&out));
    assert!(server.received_requests().await.unwrap().is_empty());
}
