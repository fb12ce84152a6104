//! The connector's HTTP layer against a mock Qualys: request parameters for every filter,
//! pagination, KnowledgeBase batching, and every error class.

use std::collections::BTreeSet;

use qualys_harness::config::StatusList;
use qualys_harness::qualys::Permission;
use qualys_harness::{AccountProblem, Error, ExitClass, StreamKind, Throttle};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

async fn mount_kb(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(KB))
        .respond_with(xml(200, fixture("vmdr/kb_batch.xml")))
        .mount(server)
        .await;
}

/// Page 1 answers the first request, page 2 the one carrying `id_min=1003`.
async fn mount_two_detection_pages(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(HLD))
        .and(form_param_missing("id_min"))
        .respond_with(xml(200, fixture("vmdr/hld_page1.xml")))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .and(form_param("id_min", "1003"))
        .respond_with(xml(200, fixture("vmdr/hld_page2.xml")))
        .mount(server)
        .await;
}

async fn single_page(server: &MockServer, endpoint: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(endpoint))
        .respond_with(response)
        .mount(server)
        .await;
}

fn vulns(server: &MockServer) -> qualys_harness::config::Settings {
    settings(&server.uri(), StreamKind::VmdrVulnerabilities)
}

#[tokio::test]
async fn detection_request_sends_auth_headers_and_documented_defaults() {
    let server = MockServer::start().await;
    single_page(&server, HLD, xml(200, fixture("vmdr/hld_empty.xml"))).await;

    let run = run(vulns(&server)).await;
    run.summary();

    let requests = requests_to(&server, HLD).await;
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    let auth = r.headers.get("authorization").expect("Basic auth is sent");
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{USER}:{PASSWORD}")
        )
    );
    assert_eq!(auth.to_str().unwrap(), expected);
    assert!(
        r.headers.get("x-requested-with").is_some(),
        "X-Requested-With is mandatory on FO calls"
    );
    assert_eq!(param(r, "action").as_deref(), Some("list"));
    assert_eq!(param(r, "show_tags").as_deref(), Some("1"));
    assert_eq!(
        param(r, "status").as_deref(),
        Some("New,Active,Re-Opened,Fixed")
    );
    assert_eq!(param(r, "truncation_limit").as_deref(), Some("1000"));
    for absent in [
        "show_igs",
        "arf_kernel_filter",
        "use_tags",
        "id_min",
        "include_vuln_type",
    ] {
        assert_eq!(
            param(r, absent),
            None,
            "{absent} must not be sent by default"
        );
    }
}

#[tokio::test]
async fn status_filter_is_sent_in_documented_order() {
    let server = MockServer::start().await;
    single_page(&server, HLD, xml(200, fixture("vmdr/hld_empty.xml"))).await;
    let mut s = vulns(&server);
    s.vmdr.status = Some(StatusList::Text("fixed,Re-Opened".into()));
    run(s).await.summary();
    let r = &requests_to(&server, HLD).await[0];
    assert_eq!(param(r, "status").as_deref(), Some("Re-Opened,Fixed"));
}

#[tokio::test]
async fn arf_kernel_filter_values_0_to_3_are_sent_as_configured() {
    for value in 0..=3 {
        let server = MockServer::start().await;
        single_page(&server, HLD, xml(200, fixture("vmdr/hld_empty.xml"))).await;
        let mut s = vulns(&server);
        s.vmdr.arf_kernel_filter = Some(value);
        run(s).await.summary();
        let r = &requests_to(&server, HLD).await[0];
        assert_eq!(param(r, "arf_kernel_filter"), Some(value.to_string()));
    }
}

#[tokio::test]
async fn tag_filters_are_sent_by_name_with_selectors_and_special_characters_intact() {
    let server = MockServer::start().await;
    single_page(&server, HLD, xml(200, fixture("vmdr/hld_empty.xml"))).await;
    let mut s = vulns(&server);
    s.vmdr.tag_include = Some("Prod, PCI & Card".into());
    s.vmdr.tag_exclude = Some("Decommissioned".into());
    s.vmdr.tag_include_selector = Some("all".into());
    run(s).await.summary();
    let r = &requests_to(&server, HLD).await[0];
    assert_eq!(param(r, "use_tags").as_deref(), Some("1"));
    assert_eq!(param(r, "tag_set_by").as_deref(), Some("name"));
    assert_eq!(
        param(r, "tag_set_include").as_deref(),
        Some("Prod,PCI & Card")
    );
    assert_eq!(param(r, "tag_include_selector").as_deref(), Some("all"));
    assert_eq!(
        param(r, "tag_set_exclude").as_deref(),
        Some("Decommissioned")
    );
    assert_eq!(param(r, "tag_exclude_selector").as_deref(), Some("any"));
    let raw = String::from_utf8_lossy(&r.body);
    assert!(
        raw.contains("PCI+%26+Card"),
        "the & is form-encoded, not a separator: {raw}"
    );
}

#[tokio::test]
async fn detection_stream_follows_truncation_cursor_until_exhausted() {
    let server = MockServer::start().await;
    mount_two_detection_pages(&server).await;
    mount_kb(&server).await;
    let mut s = vulns(&server);
    s.vmdr.truncation_limit = Some(2);

    let run = run(s).await;
    let summary = run.summary();

    assert_eq!(summary.pages, 2);
    assert_eq!(summary.hosts, 3);
    assert_eq!(
        run.keys(),
        [
            (1001, 38170),
            (1001, 105943),
            (1002, 370001),
            (1002, 38170),
            (1005, 90001),
            (1005, 999999)
        ]
    );
    let pages = requests_to(&server, HLD).await;
    assert_eq!(pages.len(), 2);
    assert_eq!(param(&pages[0], "id_min"), None);
    assert_eq!(param(&pages[1], "id_min").as_deref(), Some("1003"));
    assert_eq!(param(&pages[1], "truncation_limit").as_deref(), Some("2"));
    assert_eq!(
        form(&pages[0])
            .into_iter()
            .filter(|(k, _)| k != "id_min")
            .collect::<Vec<_>>(),
        form(&pages[1])
            .into_iter()
            .filter(|(k, _)| k != "id_min")
            .collect::<Vec<_>>(),
        "the next page repeats the same request with id_min"
    );
}

#[tokio::test]
async fn knowledge_base_facts_are_joined_and_each_qid_is_looked_up_once() {
    let server = MockServer::start().await;
    mount_two_detection_pages(&server).await;
    mount_kb(&server).await;

    let run = run(vulns(&server)).await;
    let summary = run.summary();

    let kb_requests = requests_to(&server, KB).await;
    let mut asked = Vec::new();
    for r in &kb_requests {
        assert_eq!(param(r, "action").as_deref(), Some("list"));
        asked.extend(
            param(r, "ids")
                .unwrap()
                .split(',')
                .map(|q| q.parse::<u64>().unwrap()),
        );
    }
    let distinct: BTreeSet<u64> = asked.iter().copied().collect();
    assert_eq!(
        asked.len(),
        distinct.len(),
        "a QID was looked up twice: {asked:?}"
    );
    assert_eq!(
        distinct,
        BTreeSet::from([38170, 105943, 370001, 90001, 999999])
    );
    assert_eq!(summary.kb_missing, 1);

    let rec = &run.records[1];
    assert_eq!(rec["qid"], 105943);
    assert_eq!(rec["title"], "Example Runtime Outdated Version Detected");
    assert_eq!(
        rec["cves"],
        serde_json::json!(["CVE-2019-0001", "CVE-2019-0002"])
    );
    assert_eq!(rec["cvss_base"], 7.5);
    assert_eq!(rec["cvss3_base"], 8.1);
    assert_eq!(rec["category"], "Windows");
    assert_eq!(rec["patchable"], true);
    assert_eq!(
        rec["results"],
        "HKLM\\Software\\Example <Version> = 1.2 & \"patched\" isn't set"
    );
    let unknown = run.records.iter().find(|r| r["qid"] == 999999).unwrap();
    assert!(unknown["title"].is_null());
}

#[tokio::test]
async fn kb_batches_respect_the_configured_batch_size() {
    let server = MockServer::start().await;
    mount_two_detection_pages(&server).await;
    mount_kb(&server).await;
    let mut s = vulns(&server);
    s.vmdr.kb_batch_size = Some(2);
    run(s).await.summary();
    let kb = requests_to(&server, KB).await;
    // Page 1 has 3 new QIDs (2 + 1), page 2 has 2 new ones.
    assert_eq!(kb.len(), 3);
    assert!(
        kb.iter()
            .all(|r| param(r, "ids").unwrap().split(',').count() <= 2)
    );
}

#[tokio::test]
async fn detection_record_carries_host_context_and_typed_fields() {
    let server = MockServer::start().await;
    mount_two_detection_pages(&server).await;
    mount_kb(&server).await;
    let run = run(vulns(&server)).await;
    let r = &run.records[3];
    assert_eq!(r["host_id"], 1002);
    assert_eq!(r["ip"], "192.0.2.12");
    assert_eq!(r["dns"], "pay-db-12.example.com");
    assert_eq!(r["netbios"], "PAY-DB-12");
    assert_eq!(r["os"], "Ubuntu 22.04.4 LTS");
    assert_eq!(r["tags"], serde_json::json!(["Prod", "PCI & Card"]));
    assert_eq!(r["status"], "Re-Opened");
    assert_eq!(r["port"], 5432);
    assert_eq!(r["ssl"], true);
    assert_eq!(r["severity"], 2);
    let fixed = &run.records[2];
    assert_eq!(fixed["last_fixed"], "2026-10-01T00:00:00Z");
    assert_eq!(fixed["affect_running_kernel"], false);
}

#[tokio::test]
async fn information_gathered_detections_are_dropped_and_counted() {
    let server = MockServer::start().await;
    single_page(&server, HLD, xml(200, fixture("vmdr/hld_with_info.xml"))).await;
    mount_kb(&server).await;
    let run = run(vulns(&server)).await;
    let summary = run.summary();
    assert_eq!(run.keys(), [(2001, 90001)]);
    assert_eq!(summary.info_dropped, 1);
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("information-gathered"))
    );
}

#[tokio::test]
async fn empty_result_without_host_list_yields_no_records_and_no_kb_call() {
    let server = MockServer::start().await;
    single_page(&server, HLD, xml(200, fixture("vmdr/hld_empty.xml"))).await;
    let run = run(vulns(&server)).await;
    assert_eq!(run.summary().records, 0);
    assert_eq!(run.summary().pages, 1);
    assert!(requests_to(&server, KB).await.is_empty());
}

#[tokio::test]
async fn assets_stream_emits_one_record_per_host_across_pages() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOST_LIST))
        .and(form_param_missing("id_min"))
        .respond_with(xml(200, fixture("vmdr/host_list_page1.xml")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(HOST_LIST))
        .and(form_param("id_min", "1003"))
        .respond_with(xml(200, fixture("vmdr/host_list_page2.xml")))
        .mount(&server)
        .await;
    let run = run(settings(&server.uri(), StreamKind::VmdrAssets)).await;
    assert_eq!(run.summary().pages, 2);
    let ids: Vec<u64> = run
        .records
        .iter()
        .map(|r| r["host_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1001, 1002, 1005]);
    let r = &run.records[1];
    assert_eq!(r["asset_id"], 5002);
    assert_eq!(r["ipv6"], "2001:db8::12");
    assert_eq!(r["tags"], serde_json::json!(["Prod", "PCI & Card"]));
    assert_eq!(run.records[0]["fqdn"], "win-app-11.example.com");
    assert_eq!(run.records[0]["last_vuln_scan"], "2026-10-30T03:49:05Z");
    assert_eq!(
        run.records[0]["last_compliance_scan"],
        "2026-10-01T01:00:00Z"
    );
    let first = &requests_to(&server, HOST_LIST).await[0];
    assert_eq!(param(first, "details").as_deref(), Some("All"));
    assert_eq!(param(first, "show_asset_id").as_deref(), Some("1"));
    assert_eq!(param(first, "show_tags").as_deref(), Some("1"));
}

// ---------------------------------------------------------------------------------------------
// Errors

async fn failing_run(response: ResponseTemplate) -> (crate::helpers::Run, MockServer) {
    let server = MockServer::start().await;
    single_page(&server, HLD, response).await;
    let run = run(vulns(&server)).await;
    (run, server)
}

#[tokio::test]
async fn bad_login_401_is_not_retried_and_lists_the_three_checks() {
    let (run, server) = failing_run(xml(401, fixture("vmdr/error_2000_bad_login.xml"))).await;
    let e = run.error();
    assert!(
        matches!(
            e,
            Error::Account {
                problem: AccountProblem::BadLogin,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.exit_class(), ExitClass::Account);
    let msg = e.to_string();
    for check in ["password", "API access", "platform URL"] {
        assert!(msg.contains(check), "missing `{check}` in: {msg}");
    }
    assert_eq!(
        requests_to(&server, HLD).await.len(),
        1,
        "account errors are never retried"
    );
}

#[tokio::test]
async fn unactivated_user_2003_in_409_is_not_retried_and_explains_activation() {
    let (run, server) = failing_run(xml(409, fixture("vmdr/error_2003_registration.xml"))).await;
    let e = run.error();
    assert!(matches!(
        e,
        Error::Account {
            problem: AccountProblem::RegistrationIncomplete,
            ..
        }
    ));
    let msg = e.to_string();
    assert!(
        msg.contains("activation") && msg.contains("log in to the Qualys console"),
        "{msg}"
    );
    assert_eq!(e.qualys_code(), Some(2003));
    assert_eq!(requests_to(&server, HLD).await.len(), 1);
}

#[tokio::test]
async fn expired_account_2001_inside_http_200_is_an_account_error() {
    let (run, _server) = failing_run(xml(200, fixture("vmdr/error_2001_expired.xml"))).await;
    let e = run.error();
    assert!(
        matches!(
            e,
            Error::Account {
                problem: AccountProblem::Expired,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.exit_class(), ExitClass::Account);
}

#[tokio::test]
async fn inactive_2002_and_secureid_2011_are_account_errors() {
    for (file, problem) in [
        ("vmdr/error_2002_inactive.xml", AccountProblem::Inactive),
        (
            "vmdr/error_2011_secureid.xml",
            AccountProblem::SecureIdRequired,
        ),
    ] {
        let (run, _server) = failing_run(xml(409, fixture(file))).await;
        match run.error() {
            Error::Account { problem: p, .. } => assert_eq!(*p, problem),
            e => panic!("{file}: expected an account error, got {e}"),
        }
    }
}

#[tokio::test]
async fn missing_permission_403_names_the_manage_vm_module() {
    let (run, _server) = failing_run(xml(403, fixture("vmdr/error_403_permission.xml"))).await;
    let e = run.error();
    assert!(matches!(
        e,
        Error::Account {
            problem: AccountProblem::PermissionMissing(Permission::ManageVm),
            ..
        }
    ));
    assert!(e.to_string().contains("Manage VM module"));
}

#[tokio::test]
async fn rate_limit_1965_waits_the_time_qualys_asks_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(
            xml(409, fixture("vmdr/error_1965_rate_limit.xml"))
                .insert_header("X-RateLimit-ToWait-Sec", "1")
                .insert_header("X-RateLimit-Remaining", "0"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    single_page(&server, HLD, xml(200, fixture("vmdr/hld_empty.xml"))).await;
    let started = std::time::Instant::now();
    let run = run(vulns(&server)).await;
    let summary = run.summary();
    assert_eq!(summary.retries, 1);
    assert!(summary.waited_ms >= 1000, "waited {} ms", summary.waited_ms);
    assert!(started.elapsed().as_millis() >= 1000);
    assert_eq!(requests_to(&server, HLD).await.len(), 2);
}

#[tokio::test]
async fn rate_limit_longer_than_the_wait_budget_fails_as_transient_without_waiting() {
    let server = MockServer::start().await;
    single_page(
        &server,
        HLD,
        xml(409, fixture("vmdr/error_1965_rate_limit.xml"))
            .insert_header("X-RateLimit-ToWait-Sec", "3600"),
    )
    .await;
    let started = std::time::Instant::now();
    let run = run(vulns(&server)).await;
    let e = run.error();
    assert_eq!(e.exit_class(), ExitClass::Transient);
    match e {
        Error::RetriesExhausted {
            last, remediation, ..
        } => {
            assert!(matches!(
                **last,
                Error::Throttled {
                    kind: Throttle::Rate,
                    ..
                }
            ));
            assert!(remediation.contains("3600"), "{remediation}");
        }
        e => panic!("expected exhausted retries, got {e}"),
    }
    assert!(started.elapsed().as_secs() < 5, "it must not sleep an hour");
    assert_eq!(requests_to(&server, HLD).await.len(), 1);
}

#[tokio::test]
async fn concurrency_limit_1960_backs_off_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(xml(409, fixture("vmdr/error_1960_concurrency.xml")))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    single_page(&server, HLD, xml(200, fixture("vmdr/hld_empty.xml"))).await;
    let run = run(vulns(&server)).await;
    assert_eq!(run.summary().retries, 2);
}

#[tokio::test]
async fn server_error_5xx_is_retried_then_succeeds_without_duplicates() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html><title>503</title></html>"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    single_page(&server, HLD, xml(200, fixture("vmdr/hld_page2.xml"))).await;
    mount_kb(&server).await;
    let run = run(vulns(&server)).await;
    assert_eq!(run.keys(), [(1005, 90001), (1005, 999999)]);
    assert_eq!(run.summary().retries, 1);
}

#[tokio::test]
async fn internal_error_999_is_retried_until_attempts_run_out() {
    let (run, server) = failing_run(xml(500, fixture("vmdr/generic_return_999.xml"))).await;
    let e = run.error();
    assert_eq!(e.exit_class(), ExitClass::Transient);
    assert_eq!(e.qualys_code(), Some(999));
    assert_eq!(requests_to(&server, HLD).await.len(), 3, "max_attempts = 3");
}

#[tokio::test]
async fn parameter_error_1905_names_the_parameter_and_is_not_retried() {
    let (run, server) = failing_run(xml(400, fixture("vmdr/error_1905_invalid_value.xml"))).await;
    match run.error() {
        Error::Rejected { parameter, .. } => {
            assert_eq!(parameter.as_deref(), Some("truncation_limit"))
        }
        e => panic!("expected a rejected parameter, got {e}"),
    }
    assert_eq!(requests_to(&server, HLD).await.len(), 1);
}

#[tokio::test]
async fn html_301_is_reported_with_its_location_and_never_followed() {
    let foreign = MockServer::start().await;
    let target = format!("{}{HLD}", foreign.uri());
    let (run, _server) = failing_run(
        ResponseTemplate::new(301)
            .insert_header("Location", target.as_str())
            .set_body_raw(
                fixture("vmdr/html_301.html").into_bytes(),
                "text/html; charset=iso-8859-1",
            ),
    )
    .await;
    match run.error() {
        Error::Html {
            title, location, ..
        } => {
            assert_eq!(title, "301 Moved Permanently");
            assert_eq!(location.as_deref(), Some(target.as_str()));
        }
        e => panic!("expected an HTML error, got {e}"),
    }
    assert!(
        foreign.received_requests().await.unwrap().is_empty(),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn malformed_xml_fails_with_the_byte_offset_and_page() {
    let body = fixture("vmdr/hld_page2.xml").replace("</SEVERITY>", "</SEVERITI>");
    let (run, _server) = failing_run(xml(200, body)).await;
    let e = run.error();
    let msg = e.to_string();
    assert!(matches!(e, Error::Xml { .. }), "{msg}");
    assert!(msg.contains("page 1") && msg.contains("byte"), "{msg}");
    assert_eq!(e.exit_class(), ExitClass::Other);
}

#[tokio::test]
async fn truncated_body_is_retried_and_never_duplicates_records() {
    let server = MockServer::start().await;
    let page = fixture("vmdr/hld_page1.xml");
    // A single last page: drop the WARNING so the stream ends after it.
    let start = page.find("    <WARNING>").unwrap();
    let end = page.find("</WARNING>").unwrap() + "</WARNING>\n".len();
    let full = format!("{}{}", &page[..start], &page[end..]);
    // Cut inside the second host: the first host parsed completely before the cut.
    let cut = full.find("<ID>1002</ID>").unwrap() + 40;
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(xml(200, full[..cut].to_string()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    single_page(&server, HLD, xml(200, full.clone())).await;
    mount_kb(&server).await;
    let run = run(vulns(&server)).await;
    assert_eq!(
        run.keys(),
        [(1001, 38170), (1001, 105943), (1002, 370001), (1002, 38170)],
        "each record exactly once although host 1001 parsed before the cut"
    );
    assert_eq!(run.summary().retries, 1);
    assert_eq!(requests_to(&server, HLD).await.len(), 2);
}

#[tokio::test]
async fn truncated_body_every_time_fails_as_transient() {
    let body = fixture("vmdr/hld_page2.xml");
    let (run, server) = failing_run(xml(200, body[..body.len() / 2].to_string())).await;
    let e = run.error();
    assert_eq!(e.exit_class(), ExitClass::Transient);
    assert!(
        matches!(e, Error::RetriesExhausted { last, .. } if matches!(**last, Error::Truncated { .. }))
    );
    assert!(run.records.is_empty());
    assert_eq!(requests_to(&server, HLD).await.len(), 3);
}

#[tokio::test]
async fn cursor_that_does_not_advance_fails_instead_of_looping() {
    let server = MockServer::start().await;
    let stuck = fixture("vmdr/hld_page1.xml").replace("id_min=1003", "id_min=1001");
    single_page(&server, HLD, xml(200, stuck)).await;
    mount_kb(&server).await;
    let run = run(vulns(&server)).await;
    assert!(
        matches!(run.error(), Error::CursorStuck { next: 1001, .. }),
        "{}",
        run.error()
    );
    assert!(
        run.records.is_empty(),
        "the repeated page was not committed"
    );
    assert_eq!(requests_to(&server, HLD).await.len(), 1);
}

#[tokio::test]
async fn warning_without_url_is_an_error_not_a_silent_stop() {
    let server = MockServer::start().await;
    let body = fixture("vmdr/hld_page1.xml");
    let start = body.find("<URL>").unwrap();
    let end = body.find("</URL>").unwrap() + "</URL>".len();
    let body = format!("{}{}", &body[..start], &body[end..]);
    single_page(&server, HLD, xml(200, body)).await;
    let run = run(vulns(&server)).await;
    assert!(
        matches!(run.error(), Error::CursorMissing { .. }),
        "{}",
        run.error()
    );
}

#[tokio::test]
async fn foreign_origin_warning_url_never_receives_a_request() {
    let server = MockServer::start().await;
    let foreign = MockServer::start().await;
    let page1 =
        fixture("vmdr/hld_page1.xml").replace("https://qualysapi.qualys.com", &foreign.uri());
    Mock::given(method("POST"))
        .and(path(HLD))
        .and(form_param_missing("id_min"))
        .respond_with(xml(200, page1))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .and(form_param("id_min", "1003"))
        .respond_with(xml(200, fixture("vmdr/hld_page2.xml")))
        .mount(&server)
        .await;
    mount_kb(&server).await;
    let run = run(vulns(&server)).await;
    assert_eq!(run.summary().pages, 2);
    assert!(
        foreign.received_requests().await.unwrap().is_empty(),
        "credentials went to a foreign origin"
    );
    assert_eq!(requests_to(&server, HLD).await.len(), 2);
}

#[tokio::test]
async fn forbidden_control_characters_in_results_are_replaced_and_counted() {
    let body =
        fixture("vmdr/hld_page2.xml").replace("ExampleHTTPd/2.4.1", "ExampleHTTPd/2.4.1\u{1}\u{7}");
    let server = MockServer::start().await;
    single_page(&server, HLD, xml(200, body)).await;
    mount_kb(&server).await;
    let run = run(vulns(&server)).await;
    assert_eq!(run.summary().invalid_chars_replaced, 2);
    assert_eq!(
        run.records[0]["results"],
        "Server: ExampleHTTPd/2.4.1\u{FFFD}\u{FFFD}"
    );
    assert!(run.summary().warnings.iter().any(|w| w.contains("U+FFFD")));
}

#[tokio::test]
async fn slow_response_times_out_and_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HLD))
        .respond_with(xml(200, fixture("vmdr/hld_empty.xml")).set_delay(SLOW))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    single_page(&server, HLD, xml(200, fixture("vmdr/hld_empty.xml"))).await;
    let mut s = vulns(&server);
    s.common.read_timeout_secs = Some(1);
    let run = run(s).await;
    assert_eq!(run.summary().retries, 1);
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported_as_a_network_error() {
    // A port that was free a moment ago and has no listener now.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let run = run(settings(
        &format!("http://127.0.0.1:{port}"),
        StreamKind::VmdrVulnerabilities,
    ))
    .await;
    match run.error() {
        Error::RetriesExhausted { last, attempts, .. } => {
            assert_eq!(*attempts, 3);
            assert!(matches!(**last, Error::Http { .. }), "{last}");
        }
        e => panic!("expected exhausted retries over a network error, got {e}"),
    }
    assert_eq!(run.error().exit_class(), ExitClass::Transient);
}

#[tokio::test]
async fn a_qid_that_is_not_a_number_fails_with_its_offset() {
    let body = fixture("vmdr/hld_page2.xml").replace("<QID>90001</QID>", "<QID>9x001</QID>");
    let offset = body.find("9x001").unwrap();
    let (run, _server) = failing_run(xml(200, body)).await;
    match run.error() {
        Error::Unexpected {
            offset: at,
            problem,
            ..
        } => {
            assert!(
                problem.contains("QID") && problem.contains("9x001"),
                "{problem}"
            );
            assert!(
                (*at as usize) >= offset,
                "offset {at} before the value at {offset}"
            );
        }
        e => panic!("expected an unexpected-content error, got {e}"),
    }
}
