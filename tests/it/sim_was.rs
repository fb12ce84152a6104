//! The simulated QPS WAS API through a plain HTTP client: paging by `lastId`, every criteria
//! field the connector's users filter on and every operator with its effect, the preferences,
//! QPS's words for bad values, count and get, scope, refusals, the recorded layout and the
//! saved `webapp.xsd`.

use std::collections::BTreeSet;

use qualys_harness::qualys::was::{FindingStatus, FindingType};
use qualys_harness::sim::{RunningSimulator, SimFinding, SimWebApp, Tenant, Timestamp};

use crate::helpers::*;
use crate::was_kit::*;

/// Every id a search returns, following `hasMoreRecords` by `id GREATER lastId`.
async fn all_ids(sim: &RunningSimulator, path: &str, criteria: &[(&str, &str, &str)]) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut c: Vec<(&str, &str, &str)> = criteria.to_vec();
        if let Some(a) = &after {
            c.push(("id", "GREATER", a.as_str()));
        }
        let a = read_qps(&qps(sim, path, &service_request(&[("limitResults", "1000")], &c)).await);
        assert_eq!(a.code, "SUCCESS", "{criteria:?}: {:?}", a.message);
        ids.extend(&a.ids);
        match a.last_id {
            Some(last) => after = Some(last.to_string()),
            None => return ids,
        }
    }
}

fn webapp_ids(t: &Tenant, keep: impl Fn(&SimWebApp) -> bool) -> Vec<u64> {
    t.was
        .webapps
        .iter()
        .filter(|w| keep(w))
        .map(|w| w.id)
        .collect()
}

fn finding_ids(t: &Tenant, keep: impl Fn(&SimFinding, &SimWebApp) -> bool) -> Vec<u64> {
    t.was
        .findings
        .iter()
        .filter(|f| {
            let app = t.was.webapps.iter().find(|w| w.id == f.webapp).unwrap();
            keep(f, app)
        })
        .map(|f| f.id)
        .collect()
}

fn date(t: Timestamp) -> String {
    t.to_string()
}

/// Criteria (field, operator, value) and the record ids they must select.
type CriteriaCase = (Vec<(&'static str, &'static str, String)>, Vec<u64>);

#[tokio::test]
async fn a_search_pages_by_last_id_with_count_per_page_and_last_id_only_while_more_follow() {
    let sim = spawn_demo().await;
    let t = Tenant::demo();
    let all: Vec<u64> = t.was.webapps.iter().map(|w| w.id).collect();
    let first = read_qps(
        &qps(
            &sim,
            WEBAPP_SEARCH,
            &service_request(&[("limitResults", "10")], &[]),
        )
        .await,
    );
    assert_eq!(first.count, Some(10));
    assert_eq!(first.has_more.as_deref(), Some("true"));
    assert_eq!(first.ids, all[..10]);
    assert_eq!(first.last_id, Some(all[9]));
    let mut seen = first.ids.clone();
    let mut last = first.last_id;
    let mut pages = 1;
    while let Some(l) = last {
        let a = read_qps(
            &qps(
                &sim,
                WEBAPP_SEARCH,
                &service_request(
                    &[("limitResults", "10")],
                    &[("id", "GREATER", &l.to_string())],
                ),
            )
            .await,
        );
        assert_eq!(a.count, Some(a.ids.len() as u64));
        assert!(a.ids.iter().all(|id| *id > l), "GREATER is strict");
        seen.extend(&a.ids);
        last = a.last_id;
        pages += 1;
        if last.is_none() {
            assert_eq!(a.has_more.as_deref(), Some("false"));
            assert!(a.root.child("lastId").is_none());
        }
    }
    assert_eq!(seen, all);
    assert_eq!(pages, all.len().div_ceil(10));
    // An empty body is a search with Qualys's default of 100 per page.
    let a = read_qps(&qps(&sim, FINDING_SEARCH, "").await);
    assert_eq!(a.count, Some(100));
    assert_eq!(
        a.ids,
        t.was.findings[..100]
            .iter()
            .map(|f| f.id)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn start_from_offset_and_start_from_id_move_the_first_record() {
    let sim = spawn_demo().await;
    let all: Vec<u64> = Tenant::demo().was.webapps.iter().map(|w| w.id).collect();
    let by_offset = read_qps(
        &qps(
            &sim,
            WEBAPP_SEARCH,
            &service_request(&[("limitResults", "2"), ("startFromOffset", "3")], &[]),
        )
        .await,
    );
    assert_eq!(by_offset.ids, all[2..4]);
    let by_id = read_qps(
        &qps(
            &sim,
            WEBAPP_SEARCH,
            &service_request(
                &[("limitResults", "2"), ("startFromId", &all[5].to_string())],
                &[],
            ),
        )
        .await,
    );
    assert_eq!(by_id.ids, all[5..7], "startFromId includes that id");
}

#[tokio::test]
async fn every_web_app_criteria_field_filters_as_documented() {
    let sim = spawn_demo().await;
    let t = Tenant::demo();
    let w0 = &t.was.webapps[3];
    let mid = t.was.webapps[20].created();
    let scan_mid = Timestamp(1_717_200_000 - 20 * 86_400);
    let pci = t.was.tag_id("PCI & Card");
    let cases: Vec<CriteriaCase> = vec![
        (vec![("id", "EQUALS", w0.id.to_string())], vec![w0.id]),
        (
            vec![("id", "NOT EQUALS", w0.id.to_string())],
            webapp_ids(&t, |w| w.id != w0.id),
        ),
        (
            vec![("id", "LESSER", w0.id.to_string())],
            webapp_ids(&t, |w| w.id < w0.id),
        ),
        (
            vec![(
                "id",
                "IN",
                format!("{},{}", t.was.webapps[1].id, t.was.webapps[7].id),
            )],
            vec![t.was.webapps[1].id, t.was.webapps[7].id],
        ),
        (
            vec![("name", "CONTAINS", "staging".into())],
            webapp_ids(&t, |w| w.name.to_lowercase().contains("staging")),
        ),
        (
            vec![("name", "EQUALS", "Shop & Checkout".into())],
            webapp_ids(&t, |w| w.name == "Shop & Checkout"),
        ),
        (
            vec![("url", "CONTAINS", "]]>".into())],
            webapp_ids(&t, |w| w.url.contains("]]>")),
        ),
        (
            vec![("tags.name", "EQUALS", "PCI & Card".into())],
            webapp_ids(&t, |w| w.tags.iter().any(|x| x == "PCI & Card")),
        ),
        (
            vec![("tags.name", "NOT EQUALS", "Production".into())],
            webapp_ids(&t, |w| !w.tags.iter().any(|x| x == "Production")),
        ),
        (
            vec![("tags.id", "EQUALS", pci.to_string())],
            webapp_ids(&t, |w| w.tags.iter().any(|x| x == "PCI & Card")),
        ),
        (
            vec![("createdDate", "GREATER", date(mid))],
            webapp_ids(&t, |w| w.created() > mid),
        ),
        (
            vec![("updatedDate", "LESSER", date(mid))],
            webapp_ids(&t, |w| w.updated() < mid),
        ),
        (
            vec![("isScheduled", "EQUALS", "true".into())],
            webapp_ids(&t, |w| w.is_scheduled),
        ),
        (
            vec![("isScanned", "EQUALS", "false".into())],
            webapp_ids(&t, |w| w.last_scan.is_none()),
        ),
        (
            vec![("lastScan.date", "GREATER", date(scan_mid))],
            webapp_ids(&t, |w| {
                w.last_scan.as_ref().is_some_and(|s| s.launched > scan_mid)
            }),
        ),
        (
            vec![
                ("isScheduled", "EQUALS", "true".into()),
                ("tags.name", "EQUALS", "Staging".into()),
            ],
            webapp_ids(&t, |w| {
                w.is_scheduled && w.tags.iter().any(|x| x == "Staging")
            }),
        ),
    ];
    for (criteria, want) in cases {
        let c: Vec<(&str, &str, &str)> = criteria
            .iter()
            .map(|(f, o, v)| (*f, *o, v.as_str()))
            .collect();
        assert!(!want.is_empty(), "{c:?} selects nothing: a weak case");
        assert!(
            want.len() < t.was.webapps.len(),
            "{c:?} selects everything: a weak case"
        );
        assert_eq!(all_ids(&sim, WEBAPP_SEARCH, &c).await, want, "{c:?}");
        let n = read_qps(&qps(&sim, WEBAPP_COUNT, &service_request(&[], &c)).await).count;
        assert_eq!(n, Some(want.len() as u64), "count {c:?}");
    }
}

#[tokio::test]
async fn every_finding_criteria_field_filters_as_documented() {
    let sim = spawn_demo().await;
    let t = Tenant::demo();
    let app = &t.was.webapps[5];
    let mid = Timestamp(1_717_200_000 - 250 * 86_400);
    let f0 = &t.was.findings[100];
    let cases: Vec<CriteriaCase> = vec![
        (
            vec![("id", "GREATER", f0.id.to_string())],
            finding_ids(&t, |f, _| f.id > f0.id),
        ),
        (
            vec![("qid", "EQUALS", "150001".into())],
            finding_ids(&t, |f, _| f.qid == 150001),
        ),
        (
            vec![("type", "EQUALS", "SENSITIVE_CONTENT".into())],
            finding_ids(&t, |f, _| f.kind == FindingType::SensitiveContent),
        ),
        (
            vec![("type", "NOT EQUALS", "VULNERABILITY".into())],
            finding_ids(&t, |f, _| f.kind != FindingType::Vulnerability),
        ),
        (
            vec![("status", "IN", "REOPENED,PROTECTED".into())],
            finding_ids(&t, |f, _| {
                matches!(
                    f.status,
                    Some(FindingStatus::Reopened | FindingStatus::Protected)
                )
            }),
        ),
        (
            // Information gathered has no status, so NOT EQUALS does not select it either.
            vec![("status", "NOT EQUALS", "NEW".into())],
            finding_ids(&t, |f, _| f.status.is_some_and(|s| s != FindingStatus::New)),
        ),
        (
            vec![("severity", "IN", "4,5".into())],
            finding_ids(&t, |f, _| f.severity >= 4),
        ),
        (
            vec![("webApp.id", "EQUALS", app.id.to_string())],
            finding_ids(&t, |f, _| f.webapp == app.id),
        ),
        (
            vec![("webApp.name", "CONTAINS", "PORTAL".into())],
            finding_ids(&t, |_, a| a.name.to_lowercase().contains("portal")),
        ),
        (
            vec![("webApp.tags.name", "EQUALS", "Data Center West".into())],
            finding_ids(&t, |_, a| a.tags.iter().any(|x| x == "Data Center West")),
        ),
        (
            vec![("lastDetectedDate", "GREATER", date(mid))],
            finding_ids(&t, |f, _| f.last_detected() > mid),
        ),
        (
            vec![("lastTestedDate", "LESSER", date(mid))],
            finding_ids(&t, |f, _| f.last_tested() < mid),
        ),
        (
            vec![("group", "EQUALS", "SQL".into())],
            finding_ids(&t, |f, _| f.group.as_deref() == Some("SQL")),
        ),
        (
            vec![("cwe.id", "EQUALS", "79".into())],
            finding_ids(&t, |f, _| f.cwe.contains(&79)),
        ),
        (
            vec![
                ("type", "EQUALS", "VULNERABILITY".into()),
                ("severity", "EQUALS", "5".into()),
                ("webApp.tags.name", "EQUALS", "Production".into()),
            ],
            finding_ids(&t, |f, a| {
                f.kind == FindingType::Vulnerability
                    && f.severity == 5
                    && a.tags.iter().any(|x| x == "Production")
            }),
        ),
    ];
    for (criteria, want) in cases {
        let c: Vec<(&str, &str, &str)> = criteria
            .iter()
            .map(|(f, o, v)| (*f, *o, v.as_str()))
            .collect();
        assert!(
            !want.is_empty() && want.len() < t.was.findings.len(),
            "{c:?} is a weak case"
        );
        assert_eq!(all_ids(&sim, FINDING_SEARCH, &c).await, want, "{c:?}");
        let n = read_qps(&qps(&sim, FINDING_COUNT, &service_request(&[], &c)).await).count;
        assert_eq!(n, Some(want.len() as u64), "count {c:?}");
    }
}

#[tokio::test]
async fn bad_values_get_invalid_request_inside_http_200_with_qualys_words() {
    let sim = spawn_demo().await;
    let cases = [
        (
            FINDING_SEARCH,
            service_request(&[], &[("webApp.id", "IN", "abc123")]),
            "Criteria: Invalid value format for criteria 'webApp.id' (abc123).",
            "Specify criteria value(s) as Long.",
        ),
        (
            WEBAPP_SEARCH,
            service_request(&[], &[("isScanned", "EQUALS", "undefined")]),
            "Criteria: Invalid value format for criteria 'isScanned' (undefined).",
            "Values expected: true, false.",
        ),
        (
            WEBAPP_SEARCH,
            service_request(&[("limitResults", "0")], &[]),
            "Invalid value for preference 'limitResults' (0).",
            "Specify a number from 1 to 1000.",
        ),
        (
            FINDING_SEARCH,
            service_request(&[("limitResults", "1001")], &[]),
            "Invalid value for preference 'limitResults' (1001).",
            "Specify a number from 1 to 1000.",
        ),
        (
            FINDING_SEARCH,
            service_request(&[], &[("type", "EQUALS", "VULN")]),
            "Criteria: Invalid value format for criteria 'type' (VULN).",
            "Values expected: VULNERABILITY, SENSITIVE_CONTENT, INFORMATION_GATHERED.",
        ),
        (
            WEBAPP_SEARCH,
            service_request(&[], &[("name", "GREATER", "a")]),
            "Criteria: Operator 'GREATER' is not supported for criteria 'name'.",
            "Operators expected: EQUALS, NOT EQUALS, CONTAINS.",
        ),
    ];
    for (path, body, message, resolution) in cases {
        let r = qps_as(&sim, path, USER, DEMO_PASSWORD, &body).await;
        assert_eq!(r.status(), 200, "{body}");
        let a = read_qps(&text(r).await);
        assert_eq!(a.code, "INVALID_REQUEST", "{body}");
        assert_eq!(a.message.as_deref(), Some(message), "{body}");
        assert_eq!(a.resolution.as_deref(), Some(resolution), "{body}");
    }
}

#[tokio::test]
async fn count_get_and_portal_version_answer_and_paths_work_with_a_trailing_slash() {
    let sim = spawn_demo().await;
    let t = Tenant::demo();
    let n = read_qps(&qps(&sim, &format!("{FINDING_COUNT}/"), "").await);
    assert_eq!(
        (n.code.as_str(), n.count),
        ("SUCCESS", Some(t.was.findings.len() as u64))
    );
    assert!(n.root.child("data").is_none() && n.root.child("hasMoreRecords").is_none());
    let slash = read_qps(&qps(&sim, &format!("{FINDING_SEARCH}/"), "").await);
    assert_eq!(slash.count, Some(100));

    let w = &t.was.webapps[1];
    let got = get(&sim, &format!("/qps/rest/3.0/get/was/webapp/{}", w.id), &[]).await;
    assert_eq!(got.status(), 200);
    let a = read_qps(&text(got).await);
    assert_eq!((a.count, a.ids.clone()), (Some(1), vec![w.id]));
    assert!(
        a.root.child("hasMoreRecords").is_none(),
        "a get has no paging"
    );
    let app = a.root.at("data/WebApp").unwrap();
    assert_eq!(app.text_at("url"), Some(w.url.as_str()));
    assert!(app.at("tags/list/Tag/name").is_some());
    let f = &t.was.findings[3];
    let a = read_qps(
        &text(
            get(
                &sim,
                &format!("/qps/rest/3.0/get/was/finding/{}", f.id),
                &[],
            )
            .await,
        )
        .await,
    );
    assert_eq!(a.ids, vec![f.id]);
    assert!(
        a.root.at("data/Finding/resultList").is_some(),
        "get details are verbose"
    );
    let missing = read_qps(&text(get(&sim, "/qps/rest/3.0/get/was/webapp/7", &[]).await).await);
    assert_eq!(missing.code, "NOT_FOUND");
    let v = read_qps(&text(get(&sim, "/qps/rest/portal/version", &[]).await).await);
    assert_eq!(
        v.root.text_at("data/Portal-Version/WAS-VERSION"),
        Some("1.1.0.0-2")
    );
}

#[tokio::test]
async fn a_scoped_user_sees_the_web_apps_tagged_with_its_asset_groups_and_their_findings() {
    let sim = spawn_demo().await;
    let t = Tenant::demo();
    let in_scope = |w: &SimWebApp| w.tags.iter().any(|x| x == "Data Center East");
    let want = webapp_ids(&t, in_scope);
    assert!(!want.is_empty() && want.len() < t.was.webapps.len());
    let body = service_request(&[("limitResults", "1000")], &[]);
    let r = qps_as(&sim, WEBAPP_SEARCH, "quays_scoped1", DEMO_PASSWORD, &body).await;
    assert_eq!(read_qps(&text(r).await).ids, want);
    let r = qps_as(&sim, FINDING_COUNT, "quays_scoped1", DEMO_PASSWORD, "").await;
    let n = finding_ids(&t, |_, a| in_scope(a)).len() as u64;
    assert_eq!(read_qps(&text(r).await).count, Some(n));
    let outside = t.was.webapps.iter().find(|w| !in_scope(w)).unwrap();
    let r = client()
        .get(sim.url(&format!("/qps/rest/3.0/get/was/webapp/{}", outside.id)))
        .basic_auth("quays_scoped1", Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(read_qps(&text(r).await).code, "NOT_FOUND");
}

#[tokio::test]
async fn refusals_are_service_responses_inside_http_200_without_x_powered_by() {
    let sim = spawn_demo().await;
    let cases = [
        (
            "quays_ab1",
            "wrong",
            "INVALID_CREDENTIALS",
            "Authentication failed",
        ),
        (
            "nobody",
            DEMO_PASSWORD,
            "INVALID_CREDENTIALS",
            "Authentication failed",
        ),
        (
            "quays_nowas1",
            DEMO_PASSWORD,
            "UNAUTHORIZED",
            "You are not authorized to access the application through the API.",
        ),
        (
            "quays_noapi1",
            DEMO_PASSWORD,
            "UNAUTHORIZED",
            "not authorized",
        ),
        (
            "quays_ex1",
            DEMO_PASSWORD,
            "INVALID_CREDENTIALS",
            "This account has expired.",
        ),
        (
            "quays_na1",
            DEMO_PASSWORD,
            "INVALID_CREDENTIALS",
            "Registration must be completed",
        ),
    ];
    for (user, password, code, words) in cases {
        let r = qps_as(&sim, FINDING_SEARCH, user, password, "").await;
        assert_eq!(r.status(), 200, "{user}");
        assert!(r.headers().get("x-powered-by").is_none(), "{user}");
        let a = read_qps(&text(r).await);
        assert_eq!(a.code, code, "{user}");
        assert!(
            a.message.as_deref().unwrap_or("").contains(words),
            "{user}: {a:?}"
        );
    }
}

#[tokio::test]
async fn records_follow_the_recorded_element_order_and_information_gathered_lacks_detection_elements()
 {
    let sim = spawn_demo().await;
    let basic = read_qps(
        &qps(
            &sim,
            WEBAPP_SEARCH,
            &service_request(&[("limitResults", "1")], &[]),
        )
        .await,
    );
    let names: Vec<&str> = basic
        .root
        .at("data/WebApp")
        .unwrap()
        .children
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "id",
            "name",
            "url",
            "owner",
            "tags",
            "createdDate",
            "updatedDate"
        ]
    );
    let page = read_qps(
        &qps(
            &sim,
            FINDING_SEARCH,
            &service_request(&[("limitResults", "200")], &[]),
        )
        .await,
    );
    let data = page.root.child("data").unwrap();
    let of_type = |t: &str| {
        data.children
            .iter()
            .find(|f| f.text_at("type") == Some(t) && f.child("param").is_none())
            .unwrap_or_else(|| panic!("a {t} finding"))
            .children
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of_type("VULNERABILITY"),
        [
            "id",
            "uniqueId",
            "qid",
            "name",
            "type",
            "potential",
            "findingType",
            "severity",
            "url",
            "status",
            "firstDetectedDate",
            "lastDetectedDate",
            "lastTestedDate",
            "timesDetected",
            "webApp",
            "isIgnored"
        ]
    );
    assert_eq!(
        of_type("INFORMATION_GATHERED"),
        [
            "id",
            "uniqueId",
            "qid",
            "name",
            "type",
            "potential",
            "findingType",
            "severity",
            "firstDetectedDate",
            "lastDetectedDate",
            "lastTestedDate",
            "webApp"
        ]
    );
    let verbose = qps(
        &sim,
        FINDING_SEARCH,
        &service_request(&[("limitResults", "50"), ("verbose", "true")], &[]),
    )
    .await;
    let v = read_qps(&verbose);
    let f = v
        .root
        .child("data")
        .unwrap()
        .children
        .iter()
        .find(|f| f.text_at("type") == Some("VULNERABILITY"))
        .unwrap();
    for verbose_only in ["group", "cwe", "resultList", "detectionScore", "cvssV3"] {
        assert!(
            f.child(verbose_only).is_some(),
            "verbose adds {verbose_only}"
        );
    }
    assert!(verbose.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceResponse xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\""));
    assert!(verbose.contains("/qps/xsd/3.0/was/finding.xsd\">"));
}

#[tokio::test]
async fn a_search_that_matches_nothing_answers_count_zero_alone() {
    let sim = spawn_demo().await;
    let body = qps(
        &sim,
        WEBAPP_SEARCH,
        &service_request(&[], &[("id", "EQUALS", "1234")]),
    )
    .await;
    let a = read_qps(&body);
    assert_eq!((a.code.as_str(), a.count), ("SUCCESS", Some(0)));
    let children: Vec<&str> = a.root.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(children, ["responseCode", "count"]);
}

#[tokio::test]
async fn urls_with_cdata_terminators_and_ampersands_read_back_exactly() {
    let sim = spawn_demo().await;
    let t = Tenant::demo();
    let a = read_qps(
        &qps(
            &sim,
            WEBAPP_SEARCH,
            &service_request(&[("limitResults", "1000"), ("verbose", "true")], &[]),
        )
        .await,
    );
    let urls: BTreeSet<String> = a
        .root
        .child("data")
        .unwrap()
        .children
        .iter()
        .map(|w| w.text_at("url").unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = t.was.webapps.iter().map(|w| w.url.clone()).collect();
    assert_eq!(urls, want);
    assert!(want.iter().any(|u| u.contains("]]>")) && want.iter().any(|u| u.contains('&')));
}

#[tokio::test]
async fn served_web_app_answers_validate_against_the_saved_webapp_xsd() {
    let sim = spawn_demo().await;
    let answers = [
        (
            "basic search page",
            qps(
                &sim,
                WEBAPP_SEARCH,
                &service_request(&[("limitResults", "5")], &[]),
            )
            .await,
        ),
        (
            "verbose search page",
            qps(
                &sim,
                WEBAPP_SEARCH,
                &service_request(&[("limitResults", "1000"), ("verbose", "true")], &[]),
            )
            .await,
        ),
        (
            "empty answer",
            qps(
                &sim,
                WEBAPP_SEARCH,
                &service_request(&[], &[("id", "EQUALS", "1")]),
            )
            .await,
        ),
        ("count answer", qps(&sim, WEBAPP_COUNT, "").await),
        ("finding count answer", qps(&sim, FINDING_COUNT, "").await),
        (
            "invalid request",
            qps(
                &sim,
                WEBAPP_SEARCH,
                &service_request(&[], &[("isScanned", "EQUALS", "x")]),
            )
            .await,
        ),
        (
            "get details",
            text(
                get(
                    &sim,
                    &format!(
                        "/qps/rest/3.0/get/was/webapp/{}",
                        Tenant::demo().was.webapps[0].id
                    ),
                    &[],
                )
                .await,
            )
            .await,
        ),
        (
            "refusal",
            text(qps_as(&sim, WEBAPP_SEARCH, "quays_nowas1", DEMO_PASSWORD, "").await).await,
        ),
    ];
    for (what, xml) in answers {
        assert_webapp_xsd_valid(&xml, what);
    }
}
