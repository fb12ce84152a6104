//! `qharness diagnose` against the simulator: every demo user gets the verdict the seeds' FAQ
//! gives, and the settings, network, certificate and rate-limit failures are each named with
//! their remedy, within the request budget and without the password in any output.

use std::process::Output;
use std::time::Duration;

use qualys_harness::diagnose::limits::PageSizes;
use qualys_harness::diagnose::report::{Diagnosis, Outcome, Step, Verdict};
use qualys_harness::diagnose::{Options, diagnose};
use qualys_harness::sim::{RunningSimulator, Simulator, SimulatorConfig};
use secrecy::SecretString;
use url::Url;

use crate::helpers::*;

const VMDR_ASSETS: &str = "vmdr-assets";
const VMDR_VULNS: &str = "vmdr-vulnerabilities";
const PC: &str = "pc-posture";

fn options(platform_url: &str, user: &str) -> Options {
    let (streams, named) = Options::parse_streams("all").expect("all is a selection");
    Options {
        platform_url: Url::parse(platform_url).expect("a test URL"),
        gateway_url: None,
        username: user.into(),
        streams,
        named,
        ca_cert_pem: None,
        timeout: Duration::from_secs(5),
        hosts: None,
        pages: PageSizes::default(),
    }
}

async fn diagnose_as(sim: &RunningSimulator, user: &str) -> Diagnosis {
    diagnose(
        &options(sim.base_url().as_str(), user),
        SecretString::from(DEMO_PASSWORD),
    )
    .await
}

fn verdict(d: &Diagnosis, stream: &str) -> Verdict {
    d.streams
        .iter()
        .find(|s| s.stream == stream)
        .unwrap_or_else(|| panic!("no verdict for {stream} in {}", d.to_text()))
        .verdict
}

fn remedy(d: &Diagnosis, stream: &str) -> String {
    d.streams
        .iter()
        .find(|s| s.stream == stream)
        .and_then(|s| s.remedy.clone())
        .unwrap_or_default()
}

fn check(d: &Diagnosis, step: Step) -> &qualys_harness::diagnose::report::Check {
    d.checks
        .iter()
        .find(|c| c.step == step)
        .unwrap_or_else(|| panic!("no {step:?} check in {}", d.to_text()))
}

#[tokio::test]
async fn every_demo_user_gets_the_verdict_the_faq_gives() {
    use Verdict::{Fails, Works};
    // (user, vmdr-assets, vmdr-vulnerabilities, pc-posture, both WAS streams, words the
    // failing remedy holds)
    let cases: &[(&str, Verdict, Verdict, Verdict, Verdict, &str)] = &[
        ("quays_ab1", Works, Works, Works, Works, ""),
        (
            "quays_na1",
            Fails,
            Fails,
            Fails,
            Fails,
            "log in to the Qualys console with the new user's credentials",
        ),
        ("quays_ex1", Fails, Fails, Fails, Fails, "renew"),
        (
            "quays_noapi1",
            Fails,
            Fails,
            Fails,
            Fails,
            "API access checkbox",
        ),
        (
            "quays_novm1",
            Fails,
            Fails,
            Works,
            Works,
            "\"Manage VM module\" permission",
        ),
        (
            "quays_nopc1",
            Works,
            Works,
            Fails,
            Works,
            "\"Manage PC module\" permission",
        ),
        (
            "quays_nowas1",
            Works,
            Works,
            Works,
            Fails,
            "Manage Web Applications",
        ),
        ("quays_scoped1", Works, Works, Works, Works, ""),
    ];
    let sim = spawn_demo().await;
    for &(user, assets, vulns, pc, was, words) in cases {
        let d = diagnose_as(&sim, user).await;
        let text = d.to_text();
        assert_eq!(
            (
                verdict(&d, VMDR_ASSETS),
                verdict(&d, VMDR_VULNS),
                verdict(&d, PC),
                verdict(&d, "was-assets"),
                verdict(&d, "was-findings"),
            ),
            (assets, vulns, pc, was, was),
            "{user}:\n{text}"
        );
        for s in &d.streams {
            if s.verdict == Fails {
                assert!(
                    s.remedy.as_deref().is_some_and(|r| r.contains(words)),
                    "{user} {}: the remedy should say {words:?}:\n{text}",
                    s.stream
                );
            }
        }
        let all_work = [assets, vulns, pc, was].iter().all(|v| *v == Works);
        assert_eq!(d.exit_code, if all_work { 0 } else { 3 }, "{user}:\n{text}");
        assert!(d.requests.sent <= d.requests.budget, "{user}: over budget");
        assert_eq!(
            d.requests.budget, 6,
            "1 account + 1 + 1 + 2 for PC + 1 shared by the WAS streams"
        );
    }
    // The account-level failures are named at the account check, with Qualys's code.
    let na = diagnose_as(&sim, "quays_na1").await;
    let account = check(&na, Step::Account);
    assert_eq!(account.outcome, Outcome::Failed);
    assert!(account.detail.contains("CODE 2003"), "{}", account.detail);
    assert_eq!(
        na.requests.sent, 1,
        "nothing is probed after the account fails"
    );
    let ex = diagnose_as(&sim, "quays_ex1").await;
    assert!(check(&ex, Step::Account).detail.contains("CODE 2001"));
}

#[tokio::test]
async fn the_probes_read_one_record_and_the_server_sees_exactly_the_budgeted_requests() {
    let sim = spawn_demo().await;
    let d = diagnose_as(&sim, "quays_ab1").await;
    assert_eq!(d.exit_code, 0, "{}", d.to_text());
    let journal = sim.journal().entries();
    assert_eq!(journal.len() as u32, d.requests.sent);
    assert_eq!(d.requests.sent, 6);
    let paths: Vec<&str> = journal.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/msp/about.php",
            "/api/2.0/fo/asset/host/",
            "/api/2.0/fo/asset/host/vm/detection/",
            "/auth",
            "/pcrs/1.0/posture/policy/list",
            "/qps/rest/3.0/count/was/webapp"
        ]
    );
    for fo in &journal[1..3] {
        assert!(
            fo.params
                .contains(&("truncation_limit".to_string(), "1".to_string())),
            "{:?}",
            fo.params
        );
    }
    let assets = d.streams.iter().find(|s| s.stream == VMDR_ASSETS).unwrap();
    let seen = assets.visible.as_ref().expect("a visible count");
    assert_eq!(
        (seen.count, seen.more),
        (1, true),
        "one host read, more follow"
    );
    let pc = d.streams.iter().find(|s| s.stream == PC).unwrap();
    assert!(pc.visible.as_ref().is_some_and(|v| v.count > 0));
    let limits = d.limits.as_ref().expect("the FO answers carry limits");
    assert_eq!(limits.rate_limit, Some(300));
    assert!(limits.estimate_basis.contains("lower bound"));
    assert!(d.to_text().contains("asset groups"), "the scope reminder");
}

#[tokio::test]
async fn a_rate_limit_used_up_by_other_tools_fails_the_probes_and_says_to_wait() {
    let sim = spawn_tenant("[limits]\nrate_limit = 5\nused_by_others = 5\n").await;
    let d = diagnose_as(&sim, "quays_ab1").await;
    let text = d.to_text();
    // Qualys counts per API: each VMDR probe asks its own API, and both are refused.
    for stream in [VMDR_ASSETS, VMDR_VULNS] {
        assert_eq!(verdict(&d, stream), Verdict::Fails, "{text}");
        assert!(
            remedy(&d, stream).contains("rate limit is used up"),
            "{text}"
        );
        let wait = limits_wait(&remedy(&d, stream));
        assert!(wait > 3500, "the window's wait is passed on: {text}");
    }
    let limits = d.limits.as_ref().expect("limits from the headers");
    assert_eq!(limits.remaining, Some(0), "{text}");
    let step = check(&d, Step::Limits);
    assert_eq!(step.outcome, Outcome::Warning, "{text}");
    assert!(step.detail.contains("estimate"), "{}", step.detail);
    assert_eq!(d.exit_code, 3);
}

/// The seconds in "... wait N s ...".
fn limits_wait(remedy: &str) -> u64 {
    remedy
        .split("wait ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no wait in {remedy:?}"))
}

#[tokio::test]
async fn an_unreachable_port_is_named_at_the_tcp_step_and_nothing_is_sent() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let d = diagnose(
        &options(&format!("http://127.0.0.1:{port}"), "quays_ab1"),
        SecretString::from(DEMO_PASSWORD),
    )
    .await;
    let tcp = check(&d, Step::Tcp);
    assert_eq!(tcp.outcome, Outcome::Failed);
    assert!(tcp.detail.contains("refused"), "{}", tcp.detail);
    assert!(tcp.millis.is_some(), "the step is timed");
    assert_eq!(d.requests.sent, 0);
    assert!(
        d.streams
            .iter()
            .filter(|s| s.verdict != Verdict::NotImplemented)
            .all(|s| s.verdict == Verdict::NotChecked
                && s.remedy.as_deref().is_some_and(|r| r.contains("firewall"))),
        "Qualys was never asked, so no stream is known to fail:\n{}",
        d.to_text()
    );
    assert_eq!(d.exit_code, 3);
}

#[tokio::test]
async fn a_certificate_nobody_vouches_for_names_the_certificate_and_ca_cert() {
    let sim = Simulator::start(SimulatorConfig::demo().tls(true))
        .await
        .expect("the TLS simulator starts");
    let url = sim.base_url().to_string();
    let untrusted = diagnose(
        &options(&url, "quays_ab1"),
        SecretString::from(DEMO_PASSWORD),
    )
    .await;
    let tls = check(&untrusted, Step::Tls);
    assert_eq!(tls.outcome, Outcome::Failed, "{}", untrusted.to_text());
    assert!(tls.detail.contains("certificate"), "{}", tls.detail);
    assert!(
        tls.remedy
            .as_deref()
            .is_some_and(|r| r.contains("--ca-cert")),
        "{tls:?}"
    );
    assert_eq!(
        untrusted.requests.sent, 0,
        "no credentials to an unverified server"
    );
    assert_eq!(
        verdict(&untrusted, VMDR_ASSETS),
        Verdict::NotChecked,
        "the account was never tested"
    );
    assert!(remedy(&untrusted, VMDR_ASSETS).contains("--ca-cert"));
    assert_eq!(untrusted.exit_code, 3);

    let mut trusted = options(&url, "quays_ab1");
    trusted.ca_cert_pem = sim.certificate_pem().map(|p| p.as_bytes().to_vec());
    let d = diagnose(&trusted, SecretString::from(DEMO_PASSWORD)).await;
    assert_eq!(check(&d, Step::Tls).outcome, Outcome::Ok, "{}", d.to_text());
    assert_eq!(d.exit_code, 0, "{}", d.to_text());
}

#[tokio::test]
async fn a_platform_url_of_another_platform_is_named_before_anything_is_sent() {
    let d = diagnose(
        &options("https://qualysapi.qualys.eu", "quays_ab1"),
        SecretString::from(DEMO_PASSWORD),
    )
    .await;
    let settings = check(&d, Step::Settings);
    assert_eq!(settings.outcome, Outcome::Failed);
    assert!(
        settings.detail.contains("names platform US1"),
        "{}",
        settings.detail
    );
    assert!(
        settings
            .remedy
            .as_deref()
            .is_some_and(|r| r.contains("https://qualysapi.qualys.com")),
        "{settings:?}"
    );
    assert!(
        d.checks.iter().all(|c| c.step == Step::Settings),
        "no network step"
    );
    assert_eq!(d.exit_code, 3);
}

#[tokio::test]
async fn a_gateway_given_as_platform_url_and_a_server_given_as_gateway_are_both_named() {
    let d = diagnose(
        &options("https://gateway.qg1.apps.qualys.com", "quays_ab1"),
        SecretString::from(DEMO_PASSWORD),
    )
    .await;
    let settings = check(&d, Step::Settings);
    assert!(
        settings.detail.contains("API gateway"),
        "{}",
        settings.detail
    );
    assert!(
        settings.remedy.as_deref().is_some_and(|r| r
            .contains("--platform-url https://qualysapi.qualys.com")
            && r.contains("--gateway-url https://gateway.qg1.apps.qualys.com")),
        "{settings:?}"
    );
    assert_eq!(d.requests.sent, 0);

    // The reverse, with a working API server: only Policy Compliance fails.
    let sim = spawn_demo().await;
    let mut swapped = options(sim.base_url().as_str(), "quays_ab1");
    swapped.gateway_url = Some(Url::parse("https://qualysapi.qualys.com").unwrap());
    let d = diagnose(&swapped, SecretString::from(DEMO_PASSWORD)).await;
    let text = d.to_text();
    assert_eq!(verdict(&d, VMDR_ASSETS), Verdict::Works, "{text}");
    assert_eq!(verdict(&d, PC), Verdict::Fails, "{text}");
    assert!(
        remedy(&d, PC).contains("--gateway-url https://gateway.qg1.apps.qualys.com"),
        "{text}"
    );
    assert!(text.contains("mixed up"), "{text}");
}

// --- the binary ------------------------------------------------------------------------------

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

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn the_exit_code_is_0_when_all_work_3_when_one_fails_and_2_for_bad_arguments() {
    let sim = spawn_demo().await;
    let url = sim.base_url().to_string();
    let run = |user: &'static str, extra: &'static [&'static str]| {
        let mut a = args(&["diagnose", "--platform-url", &url, "--username", user]);
        a.extend(args(extra));
        qharness(a, DEMO_PASSWORD)
    };
    assert_eq!(run("quays_ab1", &[]).await.status.code(), Some(0));
    let na = run("quays_na1", &[]).await;
    assert_eq!(na.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&na.stdout).contains("complete the user activation process"),
        "{}",
        all_output(&na)
    );
    // One stream named on its own: it works for a user who has it, fails for one who lacks it.
    assert_eq!(
        run("quays_ab1", &["--streams", "was-assets"])
            .await
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run("quays_nowas1", &["--streams", "was-assets"])
            .await
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        run("quays_ab1", &["--streams", "vmdr-assets,pc-posture"])
            .await
            .status
            .code(),
        Some(0)
    );
    let bad = run("quays_ab1", &["--streams", "vmdr-everything"]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", all_output(&bad));
    assert!(
        all_output(&bad).contains("vmdr-assets"),
        "the valid names are listed"
    );
    let not_url = qharness(
        args(&[
            "diagnose",
            "--platform-url",
            "qualysapi",
            "--username",
            "quays_ab1",
        ]),
        DEMO_PASSWORD,
    )
    .await;
    assert_eq!(not_url.status.code(), Some(2), "{}", all_output(&not_url));
    let no_password = qharness(
        args(&[
            "diagnose",
            "--platform-url",
            &url,
            "--username",
            "quays_ab1",
        ]),
        "",
    )
    .await;
    assert_eq!(
        no_password.status.code(),
        Some(2),
        "{}",
        all_output(&no_password)
    );
}

#[tokio::test]
async fn json_output_follows_the_documented_schema() {
    let sim = spawn_demo().await;
    let url = sim.base_url().to_string();
    let out = qharness(
        args(&[
            "diagnose",
            "--platform-url",
            &url,
            "--username",
            "quays_nopc1",
            "--json",
        ]),
        DEMO_PASSWORD,
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["schema"], 1);
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["username"], "quays_nopc1");
    assert_eq!(v["gateway_url_source"], "same_origin");
    assert_eq!(v["requests"]["budget"], 6);
    let steps: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["settings", "settings", "dns", "tcp", "account", "limits"]
    );
    let pc = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == PC)
        .unwrap();
    assert_eq!(pc["verdict"], "fails");
    assert_eq!(pc["probes"][1]["endpoint"], "pcrs_policy_list");
    assert_eq!(pc["probes"][1]["http_status"], 403);
    assert!(pc["remedy"].as_str().unwrap().contains("Manage PC module"));
    let assets = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == VMDR_ASSETS)
        .unwrap();
    assert_eq!(assets["verdict"], "works");
    assert_eq!(assets["visible"]["of"], "hosts");
    for key in [
        "rate_limit",
        "window_secs",
        "remaining",
        "to_wait_secs",
        "concurrency_limit",
        "concurrency_running",
        "calls_needed_estimate",
        "estimate_basis",
    ] {
        assert!(v["limits"].get(key).is_some(), "limits.{key} is documented");
    }
}

#[tokio::test]
async fn the_password_is_in_no_output_whatever_happens() {
    let sim = spawn_tenant(&format!(
        "[[users]]\nlogin = \"quays_ci1\"\npassword = \"{PASSWORD}\"\n"
    ))
    .await;
    let url = sim.base_url().to_string();
    for (user, json) in [
        ("quays_ci1", false),
        ("quays_ci1", true),
        ("quays_ab1", false), // the wrong password for this user
        ("quays_na1", true),
        ("quays_nopc1", false),
    ] {
        let mut a = args(&[
            "-vv",
            "diagnose",
            "--platform-url",
            &url,
            "--username",
            user,
        ]);
        if json {
            a.push("--json".into());
        }
        let out = qharness(a, PASSWORD).await;
        let all = all_output(&out);
        assert!(
            !all.contains(PASSWORD),
            "{user}: the password leaked:\n{all}"
        );
        assert!(!all.is_empty());
    }
    let ok = qharness(
        args(&[
            "diagnose",
            "--platform-url",
            &url,
            "--username",
            "quays_ci1",
        ]),
        PASSWORD,
    )
    .await;
    assert_eq!(ok.status.code(), Some(0), "{}", all_output(&ok));
}
