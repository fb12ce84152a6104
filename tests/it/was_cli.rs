//! `qharness` with the WAS streams: `synth` and `parse` for was-findings, the WAS flags and
//! their exit codes.

use std::process::{Command, Output};

fn qharness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qharness"))
        .args(args)
        .env("QUALYS_PASSWORD", "not-used")
        .env_remove("QHARNESS_LOG")
        .output()
        .expect("qharness runs")
}

#[test]
fn synth_writes_was_findings_that_parse_counts_and_parses_to_ndjson() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("findings.xml");
    let file = file.to_str().unwrap();
    let out = qharness(&[
        "synth",
        "--stream",
        "was-findings",
        "--hosts",
        "3",
        "--detections-per-host",
        "4",
        "--seed",
        "2",
        "--out",
        file,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 web applications, 12 findings (12 records)"),
        "{stdout}"
    );
    let counted = qharness(&["parse", "--stream", "was-findings", "--count", file]);
    assert!(counted.status.success());
    assert_eq!(String::from_utf8_lossy(&counted.stdout).trim(), "12");
    let parsed = qharness(&["parse", "--stream", "was-findings", file]);
    assert!(parsed.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&parsed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    assert_eq!(lines.len(), 12);
    assert!(lines.iter().all(|r| {
        r["webapp_name"]
            .as_str()
            .is_some_and(|n| n.contains(" & Co"))
    }));
    // The web application stream's parser refuses a findings page, saying what it found.
    let wrong = qharness(&["parse", "--stream", "was-assets", "--count", file]);
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("holds <Finding> where WebApp records were expected"),
        "{stderr}"
    );
}

#[test]
fn was_flags_out_of_range_exit_2_before_any_request() {
    for (flag, value, words) in [
        ("--page-size", "0", "page_size: 0 is out of range"),
        ("--page-size", "1001", "page_size: 1001 is out of range"),
        (
            "--finding-types",
            "VULNERABILITY,CSRF",
            "\"CSRF\" is not a valid finding type",
        ),
    ] {
        let out = qharness(&[
            "fetch",
            "--stream",
            "was-findings",
            "--platform-url",
            "http://127.0.0.1:9",
            "--username",
            "quays_ab1",
            flag,
            value,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(words), "{stderr}");
    }
}
