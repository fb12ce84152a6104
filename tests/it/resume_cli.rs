//! `qharness fetch --state/--resume` as a user runs it: exit 4 with the resume command named,
//! no complete-looking output, exit 2 for changed settings, the resumed file equal to an
//! uninterrupted `--out`, the no-op of a completed state, and no password in the state file.

use std::path::Path;
use std::process::Output;

use qualys_harness::sim::RunningSimulator;
use serde_json::json;

use crate::helpers::*;

async fn qharness(args: Vec<String>) -> Output {
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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fetch(sim: &RunningSimulator, extra: &[&Path], flags: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "fetch",
        "--stream",
        "vmdr-vulnerabilities",
        "--platform-url",
        sim.base_url().as_str(),
        "--username",
        "quays_ci1",
        "--truncation-limit",
        "60",
        "--max-attempts",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(flags.iter().map(|s| s.to_string()));
    a.extend(extra.iter().map(|p| p.display().to_string()));
    a
}

fn words(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn an_interrupted_fetch_exits_4_and_resume_finishes_the_same_file() {
    let sim = spawn_tenant(&format!(
        "[[users]]\nlogin = \"quays_ci1\"\npassword = \"{PASSWORD}\"\n"
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (reference, out, state) = (
        dir.path().join("reference.ndjson"),
        dir.path().join("out.ndjson"),
        dir.path().join("pull.state"),
    );
    let o = qharness(fetch(&sim, &[&reference], &["--out"])).await;
    assert!(o.status.success(), "{}", stderr(&o));

    sim.reset();
    let r = admin(&sim, reqwest::Method::POST, "/__sim/faults")
        .header("Content-Type", "application/json")
        .body(json!({"faults": [{"kind": "server_error", "status": 503, "route": "detection", "calls": "3.."}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let mut flags = fetch(&sim, &[], &[]);
    flags.extend(words(&[
        "--out",
        out.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]));
    let o = qharness(flags).await;
    let text = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{text}");
    assert!(
        text.contains(&format!(
            "qharness fetch --resume --state {}",
            state.display()
        )),
        "{text}"
    );
    assert!(!out.exists(), "no complete-looking output");
    assert!(dir.path().join("out.ndjson.partial").exists());
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(
        !saved.contains(PASSWORD),
        "the password is in the state: {saved}"
    );
    assert!(saved.contains("\"kind\": \"id_min\""), "{saved}");

    admin(&sim, reqwest::Method::DELETE, "/__sim/faults")
        .send()
        .await
        .unwrap();
    let resume = words(&["fetch", "--resume", "--state", state.to_str().unwrap()]);
    let mut changed = resume.clone();
    changed.extend(words(&["--truncation-limit", "61"]));
    let o = qharness(changed).await;
    let text = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains("truncation_limit: 60 in the state, 61 now"),
        "{text}"
    );

    let o = qharness(resume.clone()).await;
    let text = stderr(&o);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("resuming vmdr-vulnerabilities after 2 page(s)"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&reference).unwrap()
    );

    let o = qharness(resume).await;
    assert!(o.status.success());
    assert!(stderr(&o).contains("nothing to resume"), "{}", stderr(&o));
}
