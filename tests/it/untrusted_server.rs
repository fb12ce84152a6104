//! The connector against a server it cannot trust: waits no clock can hold, bare redirects,
//! plain-text errors, certificates that do not verify, host lists of IDs only. Each answer ends
//! in an error a user can act on (or in correct records), never in a panic or a silent zero.

use std::time::{Duration, Instant};

use qualys_harness::sim::{Simulator, SimulatorConfig};
use qualys_harness::{Error, ExitClass, StreamKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const HUGE: &str = "18446744073709551615";

fn vulns(server: &MockServer) -> qualys_harness::Settings {
    let mut s = settings(&server.uri(), StreamKind::VmdrVulnerabilities);
    s.vmdr.knowledge_base = Some(false);
    s
}

async fn mount(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn no_calls_left_with_a_u64_max_wait_lets_the_next_page_go_out_instead_of_panicking() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .and(form_param_missing("id_min"))
        .respond_with(
            xml(200, fixture("vmdr/hld_page1.xml"))
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-ToWait-Sec", HUGE),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .and(form_param("id_min", "1003"))
        .respond_with(xml(200, fixture("vmdr/hld_page2.xml")))
        .mount(&server)
        .await;
    let started = Instant::now();
    let run = run(vulns(&server)).await;
    assert_eq!(run.summary().pages, 2);
    assert_eq!(run.records.len(), 6);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a wait beyond max_wait_secs is not waited"
    );
}

#[tokio::test]
async fn u64_max_waits_in_any_header_or_body_fail_fast_as_transient() {
    let rate_limited = || xml(409, fixture("vmdr/error_1965_rate_limit.xml"));
    let body_wait = fixture("vmdr/error_1965_rate_limit.xml")
        .replace("<VALUE>2</VALUE>", &format!("<VALUE>{HUGE}</VALUE>"));
    for (what, response) in [
        (
            "X-RateLimit-ToWait-Sec",
            rate_limited().insert_header("X-RateLimit-ToWait-Sec", HUGE),
        ),
        ("SECONDS_TO_WAIT", xml(409, body_wait)),
        (
            "Retry-After",
            ResponseTemplate::new(429).insert_header("Retry-After", HUGE),
        ),
    ] {
        let server = MockServer::start().await;
        mount(&server, response).await;
        let started = Instant::now();
        let run = run(vulns(&server)).await;
        let e = run.error();
        assert_eq!(e.exit_class(), ExitClass::Transient, "{what}: {e}");
        assert!(
            matches!(e, Error::RetriesExhausted { attempts: 1, .. }),
            "{what}: {e}"
        );
        assert!(e.to_string().contains("a day or longer"), "{what}: {e}");
        assert!(started.elapsed() < Duration::from_secs(5), "{what}");
    }
}

#[tokio::test]
async fn a_plain_text_503_is_a_server_error_that_claims_no_qualys_code() {
    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(503).set_body_raw("503 Service Unavailable\n", "text/plain"),
    )
    .await;
    let run = run(vulns(&server)).await;
    let e = run.error();
    assert_eq!(e.exit_class(), ExitClass::Transient);
    assert_eq!(e.qualys_code(), None, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("a plain-text body: \"503 Service Unavailable\""),
        "{msg}"
    );
    assert!(!msg.contains("Qualys said"), "{msg}");
}

#[tokio::test]
async fn a_bare_redirect_is_reported_with_its_location_and_never_followed() {
    let elsewhere = MockServer::start().await;
    for status in [301, 302, 307, 308] {
        let server = MockServer::start().await;
        let target = format!("{}{HLD}", elsewhere.uri());
        mount(
            &server,
            ResponseTemplate::new(status).insert_header("Location", target.as_str()),
        )
        .await;
        let run = run(vulns(&server)).await;
        match run.error() {
            Error::Redirected { location, exchange } => {
                assert_eq!(location.as_deref(), Some(target.as_str()));
                assert_eq!(exchange.status, Some(status));
            }
            e => panic!("HTTP {status}: expected a redirect error, got {e}"),
        }
        assert_eq!(run.error().exit_class(), ExitClass::Other);
        assert_eq!(requests_to(&server, HLD).await.len(), 1, "not retried");
    }
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "a redirect was followed"
    );
}

#[tokio::test]
async fn the_detection_request_asks_for_the_asset_id_join_key() {
    let server = MockServer::start().await;
    mount(&server, xml(200, fixture("vmdr/hld_empty.xml"))).await;
    run(vulns(&server)).await.summary();
    let sent = requests_to(&server, HLD).await;
    assert_eq!(param(&sent[0], "show_asset_id").as_deref(), Some("1"));
}

#[tokio::test]
async fn a_host_list_of_ids_only_yields_host_id_records_and_a_warning_not_zero_records() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOST_LIST))
        .respond_with(xml(200, fixture("vmdr/host_list_id_set.xml")))
        .mount(&server)
        .await;
    let run = run(settings(&server.uri(), StreamKind::VmdrAssets)).await;
    let ids: Vec<u64> = run
        .records
        .iter()
        .map(|r| r["host_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1001, 1003, 1004, 1005, 1006, 1010]);
    assert!(
        run.summary()
            .warnings
            .iter()
            .any(|w| w.contains("host IDs only")),
        "{:?}",
        run.summary().warnings
    );
}

#[tokio::test]
async fn a_self_signed_server_without_ca_cert_is_a_certificate_error_that_is_not_retried() {
    let sim = Simulator::start(SimulatorConfig::demo().tls(true))
        .await
        .unwrap();
    let mut s = settings(sim.base_url.as_str(), StreamKind::VmdrAssets);
    // Were it retried, the backoff alone would take 20 s.
    s.common.backoff_initial_ms = Some(20_000);
    s.common.max_wait_secs = Some(100);
    let started = Instant::now();
    let run = run_as(s, DEMO_PASSWORD).await;
    let e = run.error();
    assert!(matches!(e, Error::Certificate { .. }), "{e}");
    assert_eq!(e.exit_class(), ExitClass::Config);
    let msg = e.to_string();
    assert!(
        msg.contains("unknown issuer") && msg.contains("--ca-cert"),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(sim.journal().entries().is_empty());
}

#[tokio::test]
async fn a_ca_cert_of_another_server_is_a_certificate_error_naming_the_file() {
    let sim = Simulator::start(SimulatorConfig::demo().tls(true))
        .await
        .unwrap();
    let other = Simulator::start(SimulatorConfig::demo().tls(true))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("other-ca.pem");
    std::fs::write(&wrong, other.certificate_pem().unwrap()).unwrap();
    let right = dir.path().join("sim-ca.pem");
    std::fs::write(&right, sim.certificate_pem().unwrap()).unwrap();

    let mut s = settings(sim.base_url.as_str(), StreamKind::VmdrAssets);
    s.common.ca_cert = Some(wrong.clone());
    let run = run_as(s.clone(), DEMO_PASSWORD).await;
    let e = run.error();
    assert!(matches!(e, Error::Certificate { .. }), "{e}");
    assert!(e.to_string().contains(&wrong.display().to_string()), "{e}");

    s.common.ca_cert = Some(right);
    let run = run_as(s, DEMO_PASSWORD).await;
    assert_eq!(
        run.summary().records,
        240,
        "the simulator's own certificate is trusted"
    );
}
