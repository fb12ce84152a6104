//! The WAS streams against wiremock: the `ServiceRequest` bodies they send, the records they
//! make of verbose pages, and every way a QPS answer can say no or go wrong.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use qualys_harness::{AccountProblem, Error, ExitClass, StreamKind};

use crate::helpers::*;
use crate::was_kit::{FINDING_SEARCH, WEBAPP_SEARCH};

fn qps_xml(status: u16, body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.into().into_bytes(), "application/xml")
}

fn body_of(r: &Request) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// Answers by what the request body contains: the first `(needle, response)` whose needle is
/// in the body, else the last response.
struct ByBody(Vec<(&'static str, String)>);

impl Respond for ByBody {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = body_of(request);
        let answer = self
            .0
            .iter()
            .find(|(needle, _)| body.contains(needle))
            .or(self.0.last())
            .map(|(_, a)| a.clone())
            .unwrap_or_default();
        qps_xml(200, answer)
    }
}

async fn serve(path_: &str, respond: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(path_))
        .respond_with(respond)
        .mount(&server)
        .await;
    server
}

fn record<'a>(records: &'a [Value], field: &str, id: u64) -> &'a Value {
    records
        .iter()
        .find(|r| r[field] == json!(id))
        .unwrap_or_else(|| panic!("no record with {field} {id}"))
}

#[tokio::test]
async fn was_assets_asks_verbose_pages_and_follows_last_id_with_the_same_request() {
    let server = serve(
        WEBAPP_SEARCH,
        ByBody(vec![
            (
                "operator=\"GREATER\">238483931<",
                fixture("was/webapps_page2.xml"),
            ),
            ("", fixture("was/webapps_page1.xml")),
        ]),
    )
    .await;
    let mut s = settings(&server.uri(), StreamKind::WasAssets);
    s.was.page_size = Some(2);
    let run = run(s).await;
    assert_eq!(run.summary().pages, 2);
    let ids: Vec<u64> = run
        .records
        .iter()
        .map(|r| r["webapp_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [238483924, 238483931, 251316904]);
    let shop = record(&run.records, "webapp_id", 238483924);
    assert_eq!(
        shop,
        &json!({
            "webapp_id": 238483924, "name": "Shop & Checkout",
            "url": "https://shop.example.com/?lang=en&region=eu", "os": "Linux 3.10",
            "owner_id": 17729931, "owner_username": "quays_ab1", "scope": "ALL",
            "tags": ["Production", "PCI & Card"], "is_scheduled": true,
            "last_scan_id": 5132004, "last_scan_status": "FINISHED",
            "last_scan_date": "2024-05-20T02:00:00Z", "created_date": "2023-11-02T10:00:00Z",
            "updated_date": "2024-05-20T03:10:00Z", "risk_score": 612
        })
    );
    let legacy = record(&run.records, "webapp_id", 238483931);
    assert_eq!(legacy["name"], "Legacy Orders ]]> archive", "escaped text");
    assert_eq!(
        legacy["url"],
        "https://legacy.example.com/cgi-bin/orders.pl?a=1&b=]]"
    );
    for absent in [
        "os",
        "last_scan_id",
        "last_scan_status",
        "last_scan_date",
        "risk_score",
    ] {
        assert!(legacy[absent].is_null(), "{absent}");
    }
    assert_eq!(legacy["tags"], json!([]));
    let sent = requests_to(&server, WEBAPP_SEARCH).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].headers["content-type"], "text/xml");
    assert_eq!(
        body_of(&sent[0]),
        "<ServiceRequest><preferences><limitResults>2</limitResults><verbose>true</verbose></preferences></ServiceRequest>"
    );
    assert_eq!(
        body_of(&sent[1]),
        "<ServiceRequest><preferences><limitResults>2</limitResults><verbose>true</verbose></preferences><filters><Criteria field=\"id\" operator=\"GREATER\">238483931</Criteria></filters></ServiceRequest>"
    );
}

#[tokio::test]
async fn a_verbose_finding_page_becomes_records_with_every_field_and_no_result_list() {
    let server = serve(
        FINDING_SEARCH,
        ByBody(vec![("", fixture("was/findings_verbose.xml"))]),
    )
    .await;
    let run = run(settings(&server.uri(), StreamKind::WasFindings)).await;
    assert_eq!(run.records.len(), 5);
    let xss = record(&run.records, "finding_id", 6816401);
    assert_eq!(
        xss,
        &json!({
            "finding_id": 6816401, "unique_id": "5f2c1a0e-7d3b-4c8e-a1f0-2b9d4e6a8c10",
            "qid": 150001, "name": "Reflected Cross-Site Scripting (XSS) Vulnerabilities",
            "type": "VULNERABILITY", "potential": false, "finding_type": "QUALYS", "param": "q",
            "severity": 5, "url": "https://shop.example.com/search?q=<x>&page=2]]>",
            "status": "NEW", "first_detected": "2024-04-02T02:10:00Z",
            "last_detected": "2024-05-20T02:10:00Z", "last_tested": "2024-05-20T02:10:00Z",
            "times_detected": 4, "is_ignored": false, "ignored_reason": null, "fixed_date": null,
            "group": "XSS", "cwe": [79, 113], "owasp": [7], "wasc": [8], "detection_score": 97,
            "cvss3_base": 6.1, "webapp_id": 238483924, "webapp_name": "Shop & Checkout",
            "webapp_url": "https://shop.example.com/?lang=en&region=eu"
        })
    );
    let ig = record(&run.records, "finding_id", 6816406);
    for absent in [
        "status",
        "url",
        "times_detected",
        "is_ignored",
        "cvss3_base",
        "param",
    ] {
        assert!(ig[absent].is_null(), "{absent}");
    }
    assert_eq!(ig["type"], "INFORMATION_GATHERED");
    let sql = record(&run.records, "finding_id", 6816410);
    assert_eq!(sql["name"], "SQL Injection in \"orders\" & <reports>");
    assert_eq!(sql["param"], "search&sort");
    assert_eq!(
        (sql["status"].clone(), sql["fixed_date"].clone()),
        (json!("FIXED"), json!("2024-05-20T02:10:00Z"))
    );
    assert_eq!(sql["potential"], true);
    let sc = record(&run.records, "finding_id", 6816405);
    assert_eq!(
        (sc["is_ignored"].clone(), sc["ignored_reason"].clone()),
        (json!(true), json!("RISK_ACCEPTED"))
    );
    let all = serde_json::to_string(&run.records).unwrap();
    for capture in [
        "X158290417Y1_1Z",
        "R0VUIC9zZWFyY2g",
        "not an end",
        "WebAppFindingHistory",
    ] {
        assert!(
            !all.contains(capture),
            "{capture} from the resultList or history leaked into a record"
        );
    }
}

#[tokio::test]
async fn finding_types_become_a_type_criterion_equals_for_one_and_in_for_two() {
    let server = serve(
        FINDING_SEARCH,
        ByBody(vec![("", fixture("was/findings_verbose.xml"))]),
    )
    .await;
    for (types, criterion) in [
        (
            "SENSITIVE_CONTENT",
            "<Criteria field=\"type\" operator=\"EQUALS\">SENSITIVE_CONTENT</Criteria>",
        ),
        (
            "information_gathered,VULNERABILITY",
            "<Criteria field=\"type\" operator=\"IN\">VULNERABILITY,INFORMATION_GATHERED</Criteria>",
        ),
    ] {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path(FINDING_SEARCH))
            .respond_with(ByBody(vec![("", fixture("was/findings_verbose.xml"))]))
            .mount(&server)
            .await;
        let mut s = settings(&server.uri(), StreamKind::WasFindings);
        s.was.finding_types = Some(qualys_harness::config::FindingTypeList::Text(types.into()));
        run(s).await.summary();
        let body = body_of(&requests_to(&server, FINDING_SEARCH).await[0]);
        assert!(body.contains(criterion), "{types}: {body}");
    }
}

#[tokio::test]
async fn qps_refusals_with_http_200_401_and_403_are_account_errors_never_retried() {
    let invalid_credentials = "<ServiceResponse><responseCode>INVALID_CREDENTIALS</responseCode><responseErrorDetails><errorMessage>Authentication failed</errorMessage><errorResolution>Verify both, user and password credentials.</errorResolution></responseErrorDetails></ServiceResponse>";
    let unauthorized =
        "<ServiceResponse><responseCode>UNAUTHORIZED</responseCode></ServiceResponse>";
    for (status, body, problem) in [
        (200, invalid_credentials, "bad login"),
        (401, invalid_credentials, "bad login"),
        (200, unauthorized, "unauthorized"),
        (403, unauthorized, "unauthorized"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(WEBAPP_SEARCH))
            .respond_with(qps_xml(status, body))
            .mount(&server)
            .await;
        let r = run(settings(&server.uri(), StreamKind::WasAssets)).await;
        let e = r.error();
        assert_eq!(e.exit_class(), ExitClass::Account, "{status}: {e}");
        let msg = e.to_string();
        match problem {
            "bad login" => {
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
                assert!(msg.contains("the username and password"), "{msg}");
            }
            _ => {
                for words in ["API access", "WAS module", "Manage Web Applications"] {
                    assert!(msg.contains(words), "{status}: {words:?} missing: {msg}");
                }
            }
        }
        assert!(msg.contains(&format!("HTTP {status}")), "{msg}");
        assert_eq!(
            requests_to(&server, WEBAPP_SEARCH).await.len(),
            1,
            "{status}: not retried"
        );
    }
}

#[tokio::test]
async fn invalid_request_quotes_qualys_and_fails_with_exit_1_after_one_request() {
    let body = "<ServiceResponse><responseCode>INVALID_REQUEST</responseCode><responseErrorDetails><errorMessage>Criteria: Invalid value format for criteria &apos;webApp.id&apos; (abc123).</errorMessage><errorResolution>Specify criteria value(s) as Long.</errorResolution></responseErrorDetails></ServiceResponse>";
    let server = serve(FINDING_SEARCH, ByBody(vec![("", body.into())])).await;
    let r = run(settings(&server.uri(), StreamKind::WasFindings)).await;
    let e = r.error();
    assert_eq!(e.exit_class(), ExitClass::Other);
    let msg = e.to_string();
    assert!(
        msg.contains("\"Criteria: Invalid value format for criteria 'webApp.id' (abc123).\""),
        "{msg}"
    );
    assert!(
        msg.contains("\"Specify criteria value(s) as Long.\""),
        "{msg}"
    );
    assert!(msg.contains("parameter `webApp.id`"), "{msg}");
    assert_eq!(requests_to(&server, FINDING_SEARCH).await.len(), 1);
}

fn page(ids: &[u64], more: Option<u64>) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ServiceResponse><responseCode>SUCCESS</responseCode><count>{}</count><hasMoreRecords>{}</hasMoreRecords>",
        ids.len(),
        more.is_some()
    );
    if let Some(last) = more {
        xml.push_str(&format!("<lastId>{last}</lastId>"));
    }
    xml.push_str("<data>");
    for id in ids {
        xml.push_str(&format!(
            "<WebApp><id>{id}</id><name>app {id}</name></WebApp>"
        ));
    }
    xml.push_str("</data></ServiceResponse>");
    xml
}

#[tokio::test]
async fn records_out_of_id_order_or_repeated_after_last_id_stop_the_run_before_the_sink() {
    // Unsorted within a page: paging by id would lose records.
    let server = serve(WEBAPP_SEARCH, ByBody(vec![("", page(&[5, 3], None))])).await;
    let r = run(settings(&server.uri(), StreamKind::WasAssets)).await;
    assert!(
        r.error()
            .to_string()
            .contains("not sorted by id (3 follows 5)"),
        "{}",
        r.error()
    );
    assert!(r.records.is_empty());
    // The server ignores id GREATER and repeats the first page's records on the second.
    let server = serve(
        WEBAPP_SEARCH,
        ByBody(vec![
            ("GREATER\">2<", page(&[2, 4], None)),
            ("", page(&[1, 2], Some(2))),
        ]),
    )
    .await;
    let r = run(settings(&server.uri(), StreamKind::WasAssets)).await;
    let msg = r.error().to_string();
    assert!(msg.contains("repeats records"), "{msg}");
    assert_eq!(r.records.len(), 2, "only the first page reached the sink");
}

#[tokio::test]
async fn a_count_that_disagrees_with_the_records_read_is_reported() {
    let body = page(&[1, 2], None).replace("<count>2</count>", "<count>3</count>");
    let server = serve(WEBAPP_SEARCH, ByBody(vec![("", body)])).await;
    let r = run(settings(&server.uri(), StreamKind::WasAssets)).await;
    assert_eq!(r.records.len(), 2);
    assert!(
        r.summary()
            .warnings
            .iter()
            .any(|w| w.contains("count says 3 record(s) but 2 were read")),
        "{:?}",
        r.summary().warnings
    );
}

#[tokio::test]
async fn a_simple_return_from_the_front_end_is_read_in_the_fo_dialect() {
    let server = serve(
        WEBAPP_SEARCH,
        ByBody(vec![("", fixture("vmdr/error_2003_registration.xml"))]),
    )
    .await;
    let r = run(settings(&server.uri(), StreamKind::WasAssets)).await;
    assert!(
        matches!(
            r.error(),
            Error::Account {
                problem: AccountProblem::RegistrationIncomplete,
                ..
            }
        ),
        "{}",
        r.error()
    );
}
