//! Host List Detection and Host List apply the date filters, the incremental filters and the
//! host filters with Qualys's semantics, against a plain reference over the tenant's data:
//! `*_since` keeps from the date on, `*_after` and `*_before` are strict, a date is
//! `YYYY-MM-DD[THH:MM:SSZ]` in UTC. A malformed date is CODE 1905, a documented exclusive pair
//! CODE 1904; nothing is silently ignored.

use std::collections::BTreeSet;

use qualys_harness::sim::{Engine, SimDetection, SimHost, SimRequest, Tenant, Timestamp};

use crate::helpers::*;

/// One in-process request as the demo manager: (status, body).
fn ask(engine: &Engine, path: &str, params: &[(&str, &str)]) -> (u16, String) {
    let mut req = SimRequest::new("POST", path, "http://127.0.0.1").with_basic(USER, DEMO_PASSWORD);
    for (k, v) in params {
        req = req.with_param(k, v);
    }
    let r = engine.handle(&req);
    let status = r.status;
    (
        status,
        String::from_utf8(r.collect_body().unwrap()).unwrap(),
    )
}

/// Every (host, QID) Host List Detection serves with `extra`, all types and flags shown.
fn served(engine: &Engine, extra: &[(&str, &str)]) -> BTreeSet<(u64, u32)> {
    let mut p = vec![
        ("action", "list"),
        ("truncation_limit", "0"),
        ("show_igs", "1"),
        ("include_ignored", "1"),
        ("include_disabled", "1"),
    ];
    p.extend_from_slice(extra);
    let (status, body) = ask(engine, HLD, &p);
    assert_eq!(status, 200, "{extra:?}: {body}");
    read_hld(&body)
        .0
        .into_iter()
        .flat_map(|h| h.detections.into_iter().map(move |d| (h.id, d.0)))
        .collect()
}

/// Host IDs Host List serves with `extra`.
fn served_hosts(engine: &Engine, extra: &[(&str, &str)]) -> BTreeSet<u64> {
    let mut p = vec![
        ("action", "list"),
        ("truncation_limit", "0"),
        ("details", "All"),
    ];
    p.extend_from_slice(extra);
    let (status, body) = ask(engine, HOST_LIST, &p);
    assert_eq!(status, 200, "{extra:?}: {body}");
    parse(&body)
        .at("RESPONSE/HOST_LIST")
        .map(|l| {
            l.all("HOST")
                .iter()
                .map(|h| h.text_at("ID").unwrap().parse().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// The reference: every (host, QID) of the tenant whose detection passes `keep`.
fn reference(
    tenant: &Tenant,
    keep: impl Fn(&SimHost, &SimDetection) -> bool,
) -> BTreeSet<(u64, u32)> {
    tenant
        .vmdr
        .hosts
        .iter()
        .flat_map(|h| h.detections.iter().map(move |d| (h, d)))
        .filter(|(h, d)| keep(h, d))
        .map(|(h, d)| (h.id, d.qid))
        .collect()
}

/// Checks that the filter selects exactly the reference, and that the reference is a strict,
/// non-empty part of everything (so the case shows the filter's effect).
fn check(
    engine: &Engine,
    tenant: &Tenant,
    params: &[(&str, &str)],
    keep: impl Fn(&SimHost, &SimDetection) -> bool,
) {
    let all = reference(tenant, |_, _| true);
    let want = reference(tenant, keep);
    assert!(
        !want.is_empty() && want.len() < all.len(),
        "{params:?}: the case must select some but not all ({} of {})",
        want.len(),
        all.len()
    );
    let got = served(engine, params);
    let missing: Vec<_> = want.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&want).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{params:?}: {} served, {} expected; missing {missing:?}, unexpected {extra:?}",
        got.len(),
        want.len()
    );
}

#[test]
fn every_detection_date_filter_selects_what_its_field_says() {
    let tenant = Tenant::demo();
    let engine = Engine::new(Tenant::demo(), None);
    let when = |d: Option<Timestamp>| d.expect("the demo tenant writes every detection date");
    check(
        &engine,
        &tenant,
        &[("detection_updated_since", "2024-01-01")],
        |_, d| when(d.last_update) >= t("2024-01-01T00:00:00Z"),
    );
    check(
        &engine,
        &tenant,
        &[("detection_updated_before", "2024-01-01")],
        |_, d| when(d.last_update) < t("2024-01-01T00:00:00Z"),
    );
    check(
        &engine,
        &tenant,
        &[
            ("detection_updated_since", "2023-10-01T00:00:00Z"),
            ("detection_updated_before", "2024-02-01T12:00:00Z"),
        ],
        |_, d| {
            let u = when(d.last_update);
            u >= t("2023-10-01T00:00:00Z") && u < t("2024-02-01T12:00:00Z")
        },
    );
    // A detection processed exactly at the date is not "after" it.
    let edge = tenant.vmdr.hosts[3].detections[0].last_processed.unwrap();
    let edge_s = edge.to_string();
    check(
        &engine,
        &tenant,
        &[("detection_processed_after", &edge_s)],
        |_, d| when(d.last_processed) > edge,
    );
    check(
        &engine,
        &tenant,
        &[("detection_processed_before", &edge_s)],
        |_, d| when(d.last_processed) < edge,
    );
    check(
        &engine,
        &tenant,
        &[("detection_last_tested_since", "2024-02-01")],
        |_, d| when(d.last_test) >= t("2024-02-01T00:00:00Z"),
    );
    check(
        &engine,
        &tenant,
        &[("detection_last_tested_before", "2024-02-01")],
        |_, d| when(d.last_test) < t("2024-02-01T00:00:00Z"),
    );
}

#[test]
fn a_date_after_every_detection_selects_nothing() {
    let engine = Engine::new(Tenant::demo(), None);
    for p in [
        "detection_updated_since",
        "detection_processed_after",
        "detection_last_tested_since",
        "vm_scan_since",
        "vm_processed_after",
    ] {
        let (status, body) = ask(&engine, HLD, &[("action", "list"), (p, "2030-01-01")]);
        assert_eq!(status, 200, "{p}");
        assert!(
            read_hld(&body).0.is_empty(),
            "{p}=2030-01-01 selects no host"
        );
    }
}

#[test]
fn host_date_filters_select_hosts_by_their_scan_and_processing_dates() {
    let tenant = Tenant::demo();
    let engine = Engine::new(Tenant::demo(), None);
    let hosts = |keep: &dyn Fn(&SimHost) -> bool| -> BTreeSet<u64> {
        tenant
            .vmdr
            .hosts
            .iter()
            .filter(|h| keep(h))
            .map(|h| h.id)
            .collect()
    };
    // When a host's last scan was processed: the latest of its scan dates and its detections'
    // processing (the demo tenant writes no processing date of its own).
    let processed = |h: &SimHost| {
        h.detections
            .iter()
            .filter_map(|d| d.last_processed)
            .chain(h.last_vm_scanned)
            .chain(h.last_vm_auth_scanned)
            .max()
    };
    let scanned = t("2024-05-20T00:00:00Z");
    type Case<'a> = (Vec<(&'a str, &'a str)>, BTreeSet<u64>);
    let cases: Vec<Case> = vec![
        (
            vec![("vm_scan_since", "2024-05-20")],
            hosts(&|h| h.last_vm_scanned.is_some_and(|s| s >= scanned)),
        ),
        (
            vec![("no_vm_scan_since", "2024-05-20")],
            hosts(&|h| h.last_vm_scanned.is_none_or(|s| s < scanned)),
        ),
        (
            vec![("vm_scan_date_after", "2024-05-20")],
            hosts(&|h| h.last_vm_scanned.is_some_and(|s| s > scanned)),
        ),
        (
            vec![("vm_scan_date_before", "2024-05-20")],
            hosts(&|h| h.last_vm_scanned.is_some_and(|s| s < scanned)),
        ),
        (
            vec![("vm_auth_scan_date_after", "2024-05-20")],
            hosts(&|h| h.last_vm_auth_scanned.is_some_and(|s| s > scanned)),
        ),
        (
            vec![("vm_auth_scan_date_before", "2024-05-20")],
            hosts(&|h| h.last_vm_auth_scanned.is_some_and(|s| s < scanned)),
        ),
        (
            vec![("vm_processed_after", "2024-05-25T06:00:00Z")],
            hosts(&|h| processed(h).is_some_and(|p| p > t("2024-05-25T06:00:00Z"))),
        ),
        (
            vec![("vm_processed_before", "2024-05-25T06:00:00Z")],
            hosts(&|h| processed(h).is_some_and(|p| p < t("2024-05-25T06:00:00Z"))),
        ),
    ];
    for (params, want) in cases {
        assert!(
            !want.is_empty() && want.len() < tenant.vmdr.hosts.len(),
            "{params:?} must select some hosts but not all ({})",
            want.len()
        );
        assert_eq!(served_hosts(&engine, &params), want, "Host List {params:?}");
        // Host List Detection applies the same host filter (every demo host has detections).
        let hld: BTreeSet<u64> = served(&engine, &params)
            .into_iter()
            .map(|(h, _)| h)
            .collect();
        assert_eq!(hld, want, "Host List Detection {params:?}");
    }
}

#[test]
fn qids_severities_and_os_pattern_select_what_they_say() {
    let tenant = Tenant::demo();
    let engine = Engine::new(Tenant::demo(), None);
    check(
        &engine,
        &tenant,
        &[("qids", "38170,90000-92004")],
        |_, d| d.qid == 38170 || (90_000..=92_004).contains(&d.qid),
    );
    check(&engine, &tenant, &[("severities", "4-5")], |_, d| {
        d.severity.is_some_and(|s| s >= 4)
    });
    check(
        &engine,
        &tenant,
        &[("os_pattern", "^Windows Server")],
        |h, _| {
            h.os.as_deref()
                .is_some_and(|o| o.starts_with("Windows Server"))
        },
    );
    check(
        &engine,
        &tenant,
        &[("os_pattern", "Linux|Debian")],
        |h, _| {
            h.os.as_deref()
                .is_some_and(|o| o.contains("Linux") || o.contains("Debian"))
        },
    );
}

/// CODE and TEXT of a 400 answer.
fn refused(engine: &Engine, path: &str, params: &[(&str, &str)]) -> (Option<u32>, String) {
    let mut p = vec![("action", "list")];
    p.extend_from_slice(params);
    let (status, body) = ask(engine, path, &p);
    assert_eq!(status, 400, "{params:?} must be refused: {body}");
    let (code, text, _) = read_simple_return(&body);
    (code, text)
}

#[test]
fn malformed_dates_get_1905_naming_the_parameter() {
    let engine = Engine::new(Tenant::demo(), None);
    for (path, p) in [
        (HLD, "detection_updated_since"),
        (HLD, "detection_processed_after"),
        (HLD, "detection_last_tested_before"),
        (HLD, "vm_processed_after"),
        (HOST_LIST, "vm_scan_since"),
        (HOST_LIST, "vm_processed_before"),
        (HOST_LIST, "no_vm_scan_since"),
    ] {
        for bad in [
            "notadate",
            "2024-13-01",
            "2024-06-01T25:00:00Z",
            "2024-06-01 10:00",
            "06/01/2024",
        ] {
            let (code, text) = refused(&engine, path, &[(p, bad)]);
            assert_eq!(code, Some(1905), "{p}={bad}");
            assert!(
                text.starts_with(&format!("parameter {p} has invalid value: {bad}")),
                "{text}"
            );
        }
    }
    for (p, bad) in [
        ("max_days_since_detection_updated", "ten"),
        ("qds_min", "0"),
        ("qds_max", "101"),
    ] {
        assert_eq!(
            refused(&engine, HLD, &[(p, bad)]).0,
            Some(1905),
            "{p}={bad}"
        );
    }
}

#[test]
fn the_documented_exclusive_pairs_get_1904() {
    let engine = Engine::new(Tenant::demo(), None);
    for (path, a, av, b, bv) in [
        (
            HLD,
            "detection_updated_since",
            "2024-01-01",
            "max_days_since_detection_updated",
            "30",
        ),
        (HLD, "ag_ids", "3001", "ag_titles", "Data Center East"),
        (HOST_LIST, "ag_ids", "3001", "ag_titles", "Data Center East"),
        (
            HLD,
            "detection_last_tested_since",
            "2024-01-01",
            "detection_last_tested_since_days",
            "3",
        ),
        (
            HLD,
            "detection_last_tested_before",
            "2024-01-01",
            "detection_last_tested_before_days",
            "3",
        ),
        (
            HLD,
            "vm_scan_since",
            "2024-01-01",
            "max_days_since_last_vm_scan",
            "3",
        ),
        (
            HLD,
            "include_search_list_ids",
            "1",
            "include_search_list_titles",
            "x",
        ),
    ] {
        let (code, text) = refused(&engine, path, &[(a, av), (b, bv)]);
        assert_eq!(code, Some(1904), "{a} with {b}: {text}");
        assert!(text.contains(a) && text.contains(b), "{text}");
    }
}

#[test]
fn filters_the_simulator_does_not_model_are_refused_never_ignored() {
    let engine = Engine::new(Tenant::demo(), None);
    for (path, p, v) in [
        (HLD, "include_search_list_ids", "7"),
        (HLD, "arf_service_filter", "1"),
        (HLD, "ipv6", "2001:db8::1"),
        (HLD, "show_cloud_tags", "1"),
        (HOST_LIST, "trurisk_min", "700"),
        (HOST_LIST, "show_trurisk", "1"),
        (KB, "discovery_method", "Remote"),
    ] {
        let (code, text) = refused(&engine, path, &[(p, v)]);
        assert_eq!(code, Some(1905), "{p}");
        assert!(text.contains("does not model"), "{p}: {text}");
    }
    // Switched off, a display option asks for nothing the simulator lacks.
    let (status, _) = ask(
        &engine,
        HLD,
        &[
            ("action", "list"),
            ("show_cloud_tags", "0"),
            ("truncation_limit", "1"),
        ],
    );
    assert_eq!(status, 200);
}

/// A tenant whose detections change after its clock: 101 has a detection fixed on 06-15, 103
/// is first scanned on 06-15; 102 does not change.
const HISTORY: &str = r#"
base = "empty"
clock = "2024-06-10T00:00:00Z"

[[users]]
login = "quays_ab1"
password = "demo"

[[hosts]]
id = 101
ip = "192.0.2.1"
last_vm_scanned = "2024-06-01T00:00:00Z"
[[hosts.detections]]
qid = 1
status = "Active"
first_found = "2024-05-01T00:00:00Z"
last_found = "2024-06-01T00:00:00Z"
last_update = "2024-05-01T00:05:00Z"
last_processed = "2024-06-01T00:10:00Z"
[[hosts.detections]]
qid = 2
status = "Active"
first_found = "2024-05-01T00:00:00Z"
last_found = "2024-06-01T00:00:00Z"
last_update = "2024-05-01T00:05:00Z"
last_processed = "2024-06-01T00:10:00Z"
[[hosts.detections.changes]]
at = "2024-06-15T00:00:00Z"
status = "Fixed"

[[hosts]]
id = 102
ip = "192.0.2.2"
last_vm_scanned = "2024-06-01T00:00:00Z"
[[hosts.detections]]
qid = 3
status = "Active"
first_found = "2024-05-01T00:00:00Z"
last_found = "2024-06-01T00:00:00Z"
last_update = "2024-05-01T00:05:00Z"
last_processed = "2024-06-01T00:10:00Z"

[[hosts]]
id = 103
ip = "192.0.2.3"
appears_at = "2024-06-15T00:00:00Z"
[[hosts.detections]]
qid = 4
status = "New"
"#;

/// (host, QID, STATUS, LAST_FIXED) of every detection Host List Detection serves with `extra`.
async fn detections_at(
    sim: &qualys_harness::sim::RunningSimulator,
    extra: &[(&str, &str)],
) -> Vec<(u64, u32, String, Option<String>)> {
    let mut p = vec![("action", "list"), ("truncation_limit", "0")];
    p.extend_from_slice(extra);
    let body = text(post(sim, HLD, &p).await).await;
    let root = parse(&body);
    let Some(list) = root.at("RESPONSE/HOST_LIST") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for h in list.all("HOST") {
        let id = h.text_at("ID").unwrap().parse().unwrap();
        for d in h.at("DETECTION_LIST").unwrap().all("DETECTION") {
            out.push((
                id,
                d.text_at("QID").unwrap().parse().unwrap(),
                d.text_at("STATUS").unwrap().to_string(),
                d.text_at("LAST_FIXED_DATETIME").map(String::from),
            ));
        }
    }
    out
}

fn row(
    host: u64,
    qid: u32,
    status: &str,
    fixed: Option<&str>,
) -> (u64, u32, String, Option<String>) {
    (host, qid, status.into(), fixed.map(String::from))
}

#[tokio::test]
async fn an_incremental_run_after_changes_returns_exactly_the_changed_detections() {
    let sim = spawn_tenant(HISTORY).await;
    // The full run at the tenant's clock sees the state before the changes.
    assert_eq!(
        detections_at(&sim, &[]).await,
        vec![
            row(101, 1, "Active", None),
            row(101, 2, "Active", None),
            row(102, 3, "Active", None),
        ]
    );
    assert!(
        text(get(&sim, HOST_LIST, &[("action", "list")]).await)
            .await
            .contains("<ID>102</ID>")
    );
    // Time passes: QID 2 on 101 was found fixed and host 103 appeared on 06-15.
    sim.set_clock(Timestamp::parse("2024-06-20T00:00:00Z").unwrap());
    let since = [("detection_updated_since", "2024-06-10T00:00:00Z")];
    assert_eq!(
        detections_at(&sim, &since).await,
        vec![
            row(101, 2, "Fixed", Some("2024-06-15T00:00:00Z")),
            row(103, 4, "New", None),
        ],
        "exactly the changed and the new detections"
    );
    // A host-level incremental filter returns the changed hosts with all their detections.
    let hosts: BTreeSet<(u64, u32)> =
        detections_at(&sim, &[("vm_processed_after", "2024-06-10T00:00:00Z")])
            .await
            .into_iter()
            .map(|(h, q, _, _)| (h, q))
            .collect();
    assert_eq!(hosts, BTreeSet::from([(101, 1), (101, 2), (103, 4)]));
    let scanned = text(
        get(
            &sim,
            HOST_LIST,
            &[
                ("action", "list"),
                ("details", "All"),
                ("vm_scan_since", "2024-06-10"),
            ],
        )
        .await,
    )
    .await;
    let ids: Vec<&str> = scanned
        .match_indices("<ID>")
        .map(|(i, _)| &scanned[i + 4..i + 7])
        .collect();
    assert_eq!(
        ids,
        ["101", "103"],
        "the changes moved the hosts' scan dates"
    );
    // The fixed detection's dates still obey the invariants.
    let body = text(
        post(
            &sim,
            HLD,
            &[("action", "list"), ("ids", "101"), ("qids", "2")],
        )
        .await,
    )
    .await;
    let d = parse(&body);
    let d = d
        .at("RESPONSE/HOST_LIST/HOST/DETECTION_LIST/DETECTION")
        .unwrap();
    let when = |n: &str| Timestamp::parse(d.text_at(n).unwrap()).unwrap();
    assert!(when("LAST_FOUND_DATETIME") < when("LAST_FIXED_DATETIME"));
    assert!(when("LAST_FIXED_DATETIME") <= when("LAST_TEST_DATETIME"));
    assert_eq!(
        d.text_at("LAST_UPDATE_DATETIME"),
        Some("2024-06-15T00:00:00Z")
    );
}

#[tokio::test]
async fn the_clock_moves_over_http_and_a_reset_puts_it_back() {
    let sim = spawn_tenant(HISTORY).await;
    let clock = |method: reqwest::Method, form: Option<&'static str>| {
        let mut r = admin(&sim, method, "/__sim/clock");
        if let Some(f) = form {
            r = r
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(f);
        }
        async move { r.send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(
        clock(reqwest::Method::GET, None).await.trim(),
        "2024-06-10T00:00:00Z"
    );
    assert_eq!(
        clock(reqwest::Method::POST, Some("now=2024-06-16"))
            .await
            .trim(),
        "2024-06-16T00:00:00Z"
    );
    assert_eq!(
        detections_at(&sim, &[("ids", "103")]).await,
        vec![row(103, 4, "New", None)]
    );
    let bad = admin(&sim, reqwest::Method::POST, "/__sim/clock")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("now=tomorrow")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let _ = admin(&sim, reqwest::Method::POST, "/__sim/reset")
        .send()
        .await
        .unwrap();
    assert_eq!(sim.now(), Timestamp::parse("2024-06-10T00:00:00Z").unwrap());
    assert!(detections_at(&sim, &[("ids", "103")]).await.is_empty());
}

#[test]
fn day_counts_are_counted_back_from_the_tenants_clock() {
    let clock = t("2024-06-01T00:00:00Z");
    let tenant = Tenant::from_spec(qualys_harness::sim::TenantSpec {
        clock: Some(clock),
        ..Default::default()
    })
    .unwrap();
    let engine = Engine::new(tenant.clone(), None);
    let days = |n: i64| Timestamp(clock.0 - n * 86_400);
    check(
        &engine,
        &tenant,
        &[("max_days_since_detection_updated", "120")],
        |_, d| d.last_update.unwrap() >= days(120),
    );
    check(
        &engine,
        &tenant,
        &[("detection_last_tested_since_days", "120")],
        |_, d| d.last_test.unwrap() >= days(120),
    );
    check(
        &engine,
        &tenant,
        &[("detection_last_tested_before_days", "120")],
        |_, d| d.last_test.unwrap() < days(120),
    );
    check(
        &engine,
        &tenant,
        &[("max_days_since_last_vm_scan", "7")],
        |h, _| h.last_vm_scanned.unwrap() >= days(7),
    );
}

#[test]
fn networks_and_qds_select_what_they_say() {
    let tenant = tenant(
        r#"
        base = "empty"
        [[users]]
        login = "quays_ab1"
        password = "demo"
        [[hosts]]
        id = 201
        network_id = 7
        [[hosts.detections]]
        qid = 1
        qds = 35
        [[hosts.detections]]
        qid = 2
        qds = 75
        [[hosts]]
        id = 202
        [[hosts.detections]]
        qid = 3
        qds = 95
        [[hosts.detections]]
        qid = 4
        type = "Info"
        "#,
    );
    let engine = Engine::new(tenant, None);
    let got = |p: &[(&str, &str)]| -> Vec<(u64, u32)> { served(&engine, p).into_iter().collect() };
    assert_eq!(got(&[("network_ids", "7")]), [(201, 1), (201, 2)]);
    assert_eq!(
        got(&[("network_ids", "0")]),
        [(202, 3), (202, 4)],
        "0 is the default network"
    );
    assert_eq!(got(&[("qds_min", "70")]), [(201, 2), (202, 3)]);
    assert_eq!(
        got(&[("qds_min", "30"), ("qds_max", "80")]),
        [(201, 1), (201, 2)]
    );
    assert_eq!(refused(&engine, HLD, &[("network_ids", "8")]).0, Some(1905));
    let (_, body) = ask(
        &engine,
        HLD,
        &[("action", "list"), ("ids", "201"), ("show_qds", "1")],
    );
    assert!(body.contains("<QDS severity=\"HIGH\">75</QDS>"), "{body}");
    assert!(body.contains("<QDS severity=\"LOW\">35</QDS>"));
}

#[test]
fn knowledge_base_filters_on_content_select_what_they_say() {
    let tenant = Tenant::demo();
    let engine = Engine::new(Tenant::demo(), None);
    let qids = |p: &[(&str, &str)]| -> BTreeSet<u32> {
        let mut all = vec![("action", "list")];
        all.extend_from_slice(p);
        let (status, body) = ask(&engine, KB, &all);
        assert_eq!(status, 200, "{body}");
        parse(&body)
            .at("RESPONSE/VULN_LIST")
            .map(|l| {
                l.all("VULN")
                    .iter()
                    .map(|v| v.text_at("QID").unwrap().parse().unwrap())
                    .collect()
            })
            .unwrap_or_default()
    };
    let kb = &tenant.vmdr.knowledge_base;
    let want = |keep: &dyn Fn(&qualys_harness::sim::SimVuln) -> bool| -> BTreeSet<u32> {
        kb.values().filter(|v| keep(v)).map(|v| v.qid).collect()
    };
    let cut = t("2021-01-01T00:00:00Z");
    for (p, keep) in [
        (
            ("is_patchable", "1"),
            Box::new(|v: &qualys_harness::sim::SimVuln| v.patchable) as Box<dyn Fn(&_) -> bool>,
        ),
        (
            ("is_patchable", "0"),
            Box::new(|v: &qualys_harness::sim::SimVuln| !v.patchable),
        ),
        (
            ("published_after", "2021-01-01"),
            Box::new(move |v: &qualys_harness::sim::SimVuln| v.published > cut),
        ),
        (
            ("published_before", "2021-01-01"),
            Box::new(move |v: &qualys_harness::sim::SimVuln| v.published < cut),
        ),
    ] {
        let expected = want(&keep);
        assert!(!expected.is_empty() && expected.len() < kb.len(), "{p:?}");
        assert_eq!(qids(&[p]), expected, "{p:?}");
    }
}

#[tokio::test]
async fn the_example_tenant_file_loads_and_its_history_applies() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tenants/example.toml");
    let tenant = Tenant::load(&path).expect("the example tenant loads");
    let sim = qualys_harness::sim::Simulator::start(
        qualys_harness::sim::SimulatorConfig::from_tenant(tenant),
    )
    .await
    .unwrap();
    sim.set_clock(t("2024-06-01T00:00:00Z"));
    let before = detections_at(&sim, &[("ids", "99001")]).await;
    assert_eq!(before, vec![row(99001, 198752, "Re-Opened", None)]);
    sim.set_clock(t("2024-07-01T00:00:00Z"));
    let after = detections_at(
        &sim,
        &[("ids", "99001"), ("detection_updated_since", "2024-06-01")],
    )
    .await;
    assert_eq!(
        after,
        vec![row(99001, 198752, "Fixed", Some("2024-06-15T00:00:00Z"))]
    );
    let r = post_as(
        &sim,
        HOST_LIST,
        "quays_pay1",
        "pay-only",
        &[("action", "list")],
    )
    .await;
    let body = text(r).await;
    assert_eq!(body.matches("<HOST>").count(), 1, "{body}");
    assert!(body.contains("<ID>99001</ID>"));
}
