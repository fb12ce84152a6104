//! External connectors judged by the scenarios: the contract a command gets, how its records,
//! exit status, output and stderr are judged, and that the suite catches a broken connector.
//!
//! The contract tests use small `sh` scripts as connectors (they need no network: they write
//! canned records); the last tests run the example Python connector and its deliberately broken
//! variants, and skip with a message when `python3` is absent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use qualys_harness::scenario::{Scenario, ScenarioOutcome, Verdict, run_with};
use qualys_harness::{Capabilities, Connector, ExitCodes, ExternalConnector, RecordMap};

/// A scenario file written into `dir`.
fn scenario(dir: &Path, name: &str, text: &str) -> Scenario {
    let group = dir.join("external");
    std::fs::create_dir_all(&group).unwrap();
    let path = group.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    Scenario::load(&path).expect("the test scenario loads")
}

/// A connector that is a shell script written into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> ExternalConnector {
    let path = dir.join(format!("{name}.sh"));
    std::fs::write(&path, body).unwrap();
    ExternalConnector::new(format!("sh {}", path.display())).timeout(Duration::from_secs(30))
}

async fn judge(scenario: &Scenario, connector: ExternalConnector) -> ScenarioOutcome {
    run_with(scenario, &Connector::External(Arc::new(connector))).await
}

const TWO_HOSTS: &str = r#"
description = "two hosts, as an external connector names them"
stream = "vmdr-assets"

[expect]
records = 2
keys = ["101", "102"]

[[expect.every]]
field = "os"
equals = "Linux"
"#;

/// Records with other names: `hostId`, and the OS nested under `/system/os`.
const THEIR_RECORDS: &str = r#"printf '%s\n' '{"hostId":101,"system":{"os":"Linux"}}' '{"hostId":102,"system":{"os":"Linux"}}' > "$QHARNESS_OUTPUT"
"#;

#[tokio::test]
async fn records_with_other_names_are_judged_through_the_record_map() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "two_hosts", TWO_HOSTS);
    let unmapped = judge(&s, script(dir.path(), "theirs", THEIR_RECORDS)).await;
    assert_eq!(unmapped.verdict, Verdict::Failed);
    assert!(
        unmapped.report.contains("record keys differ"),
        "{}",
        unmapped.report
    );

    let map = RecordMap::from_toml("host_id = \"hostId\"\nos = \"/system/os\"\n").unwrap();
    let mapped = judge(
        &s,
        script(dir.path(), "theirs", THEIR_RECORDS).record_map(map),
    )
    .await;
    assert!(mapped.passed(), "{}", mapped.report);
}

#[test]
fn the_contract_reaches_the_command_and_inherited_qualys_variables_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(
        dir.path(),
        "contract",
        "description = \"the contract\"\nstream = \"vmdr-assets\"\n[settings]\ntruncation_limit = 7\ntag_include = \"Prod\"\ntag_exclude = \"Dev\"\n[expect]\nrecords = 0\n",
    );
    let seen = dir.path().join("seen");
    std::fs::create_dir_all(&seen).unwrap();
    let connector = dir.path().join("connector.sh");
    std::fs::write(
        &connector,
        format!(
            "env > {seen}/env.txt\ncp \"$QHARNESS_SETTINGS\" {seen}/settings.json\n: > \"$QHARNESS_OUTPUT\"\n",
            seen = seen.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qharness"))
        .args(["conform", "--connector"])
        .arg(format!("sh {}", connector.display()))
        .arg(&s.path)
        .env("QUALYS_PASSWORD", "inherited-password")
        .env("QUALYS_PLATFORM_URL", "https://qualysapi.qualys.com")
        .env("QHARNESS_SETTINGS", "/inherited/settings.json")
        .env("QHARNESS_INHERITED", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = std::fs::read_to_string(seen.join("env.txt")).unwrap();
    let var = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(String::from)
    };
    assert_eq!(var("QUALYS_USERNAME").as_deref(), Some("quays_ab1"));
    assert_eq!(var("QUALYS_PASSWORD").as_deref(), Some("demo"));
    assert_eq!(var("QHARNESS_STREAM").as_deref(), Some("vmdr-assets"));
    assert!(
        var("QUALYS_PLATFORM_URL").is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{env}"
    );
    assert!(
        var("QHARNESS_INHERITED").is_none(),
        "inherited QHARNESS_* variables are removed"
    );
    assert!(var("QHARNESS_CA_CERT").is_none(), "no TLS, no CA");
    assert_ne!(
        var("QHARNESS_SETTINGS").as_deref(),
        Some("/inherited/settings.json")
    );
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(seen.join("settings.json")).unwrap())
            .unwrap();
    assert_eq!(
        settings,
        serde_json::json!({
            "backoff_initial_ms": 50,
            "tag_include": "Prod",
            "tag_exclude": "Dev",
            "truncation_limit": 7
        }),
        "the scenario's settings under the config file's keys; what the environment carries is left out"
    );
}

#[tokio::test]
async fn a_scenario_over_tls_hands_the_command_the_simulators_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(
        dir.path(),
        "tls",
        "description = \"tls\"\nstream = \"vmdr-assets\"\n[server]\ntls = true\n[expect]\nrecords = 1\n",
    );
    let connector = script(
        dir.path(),
        "tls",
        "case \"$QUALYS_PLATFORM_URL\" in https://*) ;; *) exit 1 ;; esac\ngrep -q 'BEGIN CERTIFICATE' \"$QHARNESS_CA_CERT\" || exit 1\necho '{\"host_id\":1}' > \"$QHARNESS_OUTPUT\"\n",
    );
    let outcome = judge(&s, connector).await;
    assert!(outcome.passed(), "{}", outcome.report);
}

const EXPECTS_ACCOUNT_ERROR: &str = r#"
description = "an account problem"
stream = "vmdr-vulnerabilities"

[expect.error]
exit = "account"
code = 2003
contains = ["activation"]
"#;

#[tokio::test]
async fn exit_statuses_are_judged_by_the_declared_convention_and_otherwise_noted() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "account", EXPECTS_ACCOUNT_ERROR);
    let exits_7 = || script(dir.path(), "seven", "echo 'account problem' >&2\nexit 7\n");

    let undeclared = judge(&s, exits_7()).await;
    assert!(undeclared.passed(), "{}", undeclared.report);
    let notes = undeclared.notes.join("\n");
    assert!(notes.contains("the exit class account"), "{notes}");
    assert!(notes.contains("Qualys code 2003"), "{notes}");
    assert!(notes.contains("\"activation\""), "{notes}");

    let theirs: ExitCodes = "10,7,12,13".parse().unwrap();
    let declared = judge(&s, exits_7().exit_codes(theirs)).await;
    assert!(declared.passed(), "{}", declared.report);

    let wrong = judge(&s, exits_7().exit_codes(ExitCodes::default())).await;
    assert_eq!(wrong.verdict, Verdict::Failed);
    assert!(
        wrong
            .report
            .contains("expected exit status 3 (account failure"),
        "{}",
        wrong.report
    );
    assert!(
        wrong.report.contains("| account problem"),
        "the stderr tail: {}",
        wrong.report
    );

    let succeeds = judge(&s, script(dir.path(), "ok", ": > \"$QHARNESS_OUTPUT\"\n")).await;
    assert!(
        succeeds.report.contains("the command exited 0"),
        "{}",
        succeeds.report
    );
}

#[tokio::test]
async fn portable_words_are_looked_for_in_what_the_command_wrote_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(
        dir.path(),
        "portable",
        &format!("{EXPECTS_ACCOUNT_ERROR}portable = [\"exit\", \"contains\"]\n"),
    );
    let silent = judge(&s, script(dir.path(), "silent", "exit 3\n")).await;
    assert!(
        silent.report.contains("stderr lacks \"activation\""),
        "{}",
        silent.report
    );
    let says_it = judge(
        &s,
        script(
            dir.path(),
            "says",
            "echo 'complete the activation' >&2\nexit 3\n",
        ),
    )
    .await;
    assert!(says_it.passed(), "{}", says_it.report);
}

#[tokio::test]
async fn a_failed_command_that_published_records_or_a_successful_one_without_them_fails() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "account", EXPECTS_ACCOUNT_ERROR);
    let leaky = judge(
        &s,
        script(
            dir.path(),
            "leaky",
            "echo '{\"host_id\":1}' > \"$QHARNESS_OUTPUT\"\nexit 3\n",
        ),
    )
    .await;
    assert!(
        leaky
            .report
            .contains("published 1 record(s) at QHARNESS_OUTPUT"),
        "{}",
        leaky.report
    );

    let two = scenario(dir.path(), "two_hosts", TWO_HOSTS);
    let nothing = judge(&two, script(dir.path(), "nothing", "exit 0\n")).await;
    assert!(
        nothing
            .report
            .contains("wrote no records file at QHARNESS_OUTPUT"),
        "{}",
        nothing.report
    );
    let garbage = judge(
        &two,
        script(
            dir.path(),
            "garbage",
            "printf '{\"host_id\":101}\\nnot json\\n' > \"$QHARNESS_OUTPUT\"\n",
        ),
    )
    .await;
    assert!(
        garbage.report.contains("line 2 is not a JSON object"),
        "{}",
        garbage.report
    );
}

#[tokio::test]
async fn a_command_that_outlives_its_timeout_is_killed_with_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "two_hosts", TWO_HOSTS);
    let pid_file = dir.path().join("sleeper.pid");
    let hangs = script(
        dir.path(),
        "hangs",
        &format!(
            "echo 'fetching page 1, then hanging' >&2\nsleep 300 &\necho $! > {}\nwait\n",
            pid_file.display()
        ),
    )
    .timeout(Duration::from_secs(1));
    let outcome = judge(&s, hangs).await;
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert!(
        outcome
            .report
            .contains("did not finish within 1 s and was killed"),
        "{}",
        outcome.report
    );
    assert!(
        outcome.report.contains("| fetching page 1, then hanging"),
        "{}",
        outcome.report
    );
    if cfg!(target_os = "linux") {
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
        // The kill is immediate, the reaping by init a moment later.
        for _ in 0..50 {
            let zombie_or_gone = std::fs::read_to_string(proc_dir.join("stat"))
                .map(|stat| stat.contains(") Z "))
                .unwrap_or(true);
            if zombie_or_gone {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the command's child {} outlived the timeout", pid.trim());
    }
}

#[tokio::test]
async fn a_capability_file_skips_scenarios_that_need_what_the_connector_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(
        dir.path(),
        "arf",
        "description = \"arf\"\nstream = \"vmdr-vulnerabilities\"\n[settings]\narf_kernel_filter = 1\n[expect]\nrecords = 1\n",
    );
    let caps_file = dir.path().join("caps.toml");
    std::fs::write(
        &caps_file,
        "unsupported_settings = [\"arf_kernel_filter\"]\n",
    )
    .unwrap();
    let caps = Capabilities::load(&caps_file).unwrap();
    let outcome = judge(
        &s,
        script(dir.path(), "never_run", "exit 99\n").capabilities(caps),
    )
    .await;
    match outcome.verdict {
        Verdict::Skipped(why) => assert!(why.contains("arf_kernel_filter"), "{why}"),
        other => panic!("expected a skip, got {other:?}: {}", outcome.report),
    }
    std::fs::write(&caps_file, "unsupported_settings = [\"arf_kernel\"]\n").unwrap();
    let typo = Capabilities::load(&caps_file).unwrap_err().to_string();
    assert!(
        typo.contains("\"arf_kernel\", which is not a setting"),
        "{typo}"
    );
}

/// The example Python connector, or `None` (and a message) when python3 is absent.
fn python_connector(breaks: &str) -> Option<ExternalConnector> {
    let present = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        eprintln!("skipped: python3 is not installed, so the example Python connector cannot run");
        return None;
    }
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python-connector/connector.py");
    Some(
        ExternalConnector::new(format!("python3 {} {breaks}", script.display()))
            .exit_codes(ExitCodes::default())
            .timeout(Duration::from_secs(60)),
    )
}

fn catalogue_scenario(path: &str) -> Scenario {
    Scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(path),
    )
    .unwrap()
}

#[tokio::test]
async fn the_suite_catches_a_python_connector_that_ignores_pagination() {
    let Some(broken) = python_connector("--break ignore-pagination") else {
        return;
    };
    let s = catalogue_scenario("pagination/several_pages.toml");
    let outcome = judge(&s, broken).await;
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert!(
        outcome
            .report
            .contains("expected 5 pages, the simulator served 1 complete page(s) of detection: pages 2 to 5 were never requested"),
        "{}",
        outcome.report
    );
    assert!(
        outcome.report.contains("expected 1324 records"),
        "{}",
        outcome.report
    );
    if let Some(correct) = python_connector("") {
        let outcome = judge(&s, correct).await;
        assert!(
            outcome.passed(),
            "the unbroken connector passes: {}",
            outcome.report
        );
    }
}

#[tokio::test]
async fn the_suite_catches_a_python_connector_that_retries_an_unactivated_account() {
    let Some(broken) = python_connector("--break retry-2003") else {
        return;
    };
    let s = catalogue_scenario("errors/unactivated_user.toml");
    let outcome = judge(&s, broken).await;
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert!(
        outcome.report.contains("the refused request was retried, and an account problem (CODE 2003) must never be retried"),
        "{}",
        outcome.report
    );
    assert!(
        outcome
            .report
            .contains("expected exit status 3 (account failure"),
        "it also gave up as a transient failure: {}",
        outcome.report
    );
    if let Some(correct) = python_connector("") {
        let outcome = judge(&s, correct).await;
        assert!(
            outcome.passed(),
            "the unbroken connector passes: {}",
            outcome.report
        );
    }
}
