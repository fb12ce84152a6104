//! `qharness` for Policy Compliance: `synth` and `parse` of a posture answer, `fetch` against
//! the simulated gateway (records in the file, no password or token in any output), and the
//! URL check before any request.

use std::process::Output;

use crate::helpers::*;

async fn qharness(args: Vec<String>, password: &str) -> Output {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_qharness"))
            .args(&args)
            .env("QUALYS_PASSWORD", password)
            .env_remove("QHARNESS_LOG")
            .output()
            .expect("qharness runs")
    })
    .await
    .expect("the runner thread finishes")
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn synth_writes_a_gzip_answer_that_parse_reads_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("answer.json.gz");
    let f = file.to_str().unwrap();
    let o = qharness(
        args(&[
            "synth",
            "--stream",
            "pc-posture",
            "--hosts",
            "5",
            "--detections-per-host",
            "4",
            "--out",
            f,
        ]),
        "",
    )
    .await;
    assert!(o.status.success(), "{}", all_output(&o));
    assert!(
        all_output(&o).contains("20 posture records"),
        "{}",
        all_output(&o)
    );
    assert_eq!(&std::fs::read(&file).unwrap()[..2], &[0x1f, 0x8b], "gzip'd");
    let o = qharness(args(&["parse", "--stream", "pc-posture", "--count", f]), "").await;
    assert!(o.status.success(), "{}", all_output(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "20");
    let o = qharness(args(&["parse", "--stream", "pc-posture", f]), "").await;
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 20);
    assert!(lines.iter().all(|r| r.as_object().unwrap().len() == 25));
    assert!(
        lines.iter().all(|r| !r["evidence"].is_null()),
        "synth writes evidence"
    );
}

#[tokio::test]
async fn fetch_against_the_simulated_gateway_writes_the_records_and_never_a_secret() {
    const SECRET: &str = "pc-Secret!91-not-for-logs";
    let sim = spawn_tenant(&format!(
        "[[users]]\nlogin = \"quays_pc1\"\npassword = \"{SECRET}\"\n"
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("postures.ndjson");
    let o = qharness(
        args(&[
            "-vv",
            "fetch",
            "--stream",
            "pc-posture",
            "--platform-url",
            sim.base_url.as_str(),
            "--username",
            "quays_pc1",
            "--policy-ids",
            "4716",
            "--host-batch-size",
            "25",
            "--out",
            out.to_str().unwrap(),
        ]),
        SECRET,
    )
    .await;
    let text = all_output(&o);
    assert!(o.status.success(), "{text}");
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written.lines().count(), 240);
    assert!(text.contains("240 records from 3 page(s)"), "{text}");
    assert!(
        text.contains("pcrs/1.0/posture/postureInfo"),
        "debug logs were on: {text}"
    );
    // The password, and the tokens the gateway issued (JWTs start with `eyJ`).
    for secret in [SECRET, "eyJ"] {
        assert!(!text.contains(secret), "{secret} in the output: {text}");
    }
    let journal = sim.journal().to_ndjson();
    for secret in [SECRET, "eyJ"] {
        assert!(!journal.contains(secret), "{secret} in the journal");
    }
}

#[tokio::test]
async fn an_api_server_url_for_pc_posture_is_exit_2_naming_the_gateway() {
    let o = qharness(
        args(&[
            "fetch",
            "--stream",
            "pc-posture",
            "--platform-url",
            "https://qualysapi.qg2.apps.qualys.com",
            "--username",
            "quays2ab1",
        ]),
        "x",
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert!(
        all_output(&o).contains("https://gateway.qg2.apps.qualys.com"),
        "{}",
        all_output(&o)
    );
}
