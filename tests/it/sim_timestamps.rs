//! The detection timestamps the simulator serves obey Qualys's invariants, in the demo tenant
//! and in synthetic populations: first found <= last found <= last test, a fixed detection's
//! LAST_FIXED after its last finding and no later than its last test, a reopening inside the
//! finding history, and record updates and processing after what they record.

use qualys_harness::sim::{Engine, SimRequest, SyntheticSpec, Tenant};

use crate::helpers::*;

/// Every DETECTION of one Host List Detection page showing everything, as (host, node).
fn all_detections(tenant: Tenant) -> Vec<(u64, Node)> {
    let engine = Engine::new(tenant, None);
    let mut req = SimRequest::new("POST", HLD, "http://127.0.0.1").with_basic(USER, DEMO_PASSWORD);
    for (k, v) in [
        ("action", "list"),
        ("truncation_limit", "0"),
        ("show_igs", "1"),
        ("include_ignored", "1"),
        ("include_disabled", "1"),
        ("show_reopened_info", "1"),
    ] {
        req = req.with_param(k, v);
    }
    let resp = engine.handle(&req);
    assert_eq!(resp.status, 200);
    let body = String::from_utf8(resp.collect_body().unwrap()).unwrap();
    let root = parse(&body);
    let list = root.at("RESPONSE/HOST_LIST").expect("hosts");
    let mut out = Vec::new();
    for h in list.all("HOST") {
        let id: u64 = h.text_at("ID").unwrap().parse().unwrap();
        for d in h.at("DETECTION_LIST").unwrap().all("DETECTION") {
            out.push((id, d.clone()));
        }
    }
    out
}

fn time(d: &Node, name: &str) -> Option<qualys_harness::sim::Timestamp> {
    d.text_at(name)
        .map(|t| qualys_harness::sim::Timestamp::parse(t).expect("a Qualys datetime"))
}

/// Every broken invariant, one line each.
fn violations(detections: &[(u64, Node)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (host, d) in detections {
        let qid = d.text_at("QID").unwrap_or("?");
        let status = d.text_at("STATUS").unwrap_or("");
        let t = |n| time(d, n);
        let (Some(first), Some(found), Some(test), Some(update), Some(processed)) = (
            t("FIRST_FOUND_DATETIME"),
            t("LAST_FOUND_DATETIME"),
            t("LAST_TEST_DATETIME"),
            t("LAST_UPDATE_DATETIME"),
            t("LAST_PROCESSED_DATETIME"),
        ) else {
            bad.push(format!("{host}:{qid}: a datetime is missing"));
            continue;
        };
        let mut check = |ok: bool, what: &str| {
            if !ok {
                bad.push(format!(
                    "{host}:{qid} ({status}): {what} (first {first}, found {found}, test {test}, fixed {:?}, update {update}, processed {processed})",
                    t("LAST_FIXED_DATETIME").map(|x| x.to_string())
                ));
            }
        };
        check(first <= found, "first found after last found");
        check(found <= test, "last found after last test");
        check(first <= update, "updated before first found");
        check(test <= processed, "processed before last test");
        check(update <= processed, "updated after processed");
        match t("LAST_FIXED_DATETIME") {
            Some(fixed) => {
                check(found < fixed, "fixed before or when last found");
                check(fixed <= test, "fixed after last test");
                check(fixed <= update, "the record was not updated when fixed");
            }
            None => check(status != "Fixed", "Fixed without LAST_FIXED_DATETIME"),
        }
        if let Some(reopened) = t("LAST_REOPENED_DATETIME") {
            check(
                first <= reopened && reopened <= found,
                "reopened outside the finding history",
            );
        }
    }
    bad
}

#[test]
fn every_served_detection_of_the_demo_tenant_has_consistent_timestamps() {
    let dets = all_detections(Tenant::demo());
    assert!(dets.len() > 1000, "{} detections", dets.len());
    assert!(
        dets.iter()
            .any(|(_, d)| d.text_at("STATUS") == Some("Fixed"))
    );
    let bad = violations(&dets);
    assert!(
        bad.is_empty(),
        "{} violations:\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
}

#[test]
fn every_synthetic_detection_has_consistent_timestamps() {
    for seed in [1, 7] {
        let mut population = SyntheticSpec::new(150);
        population.seed = seed;
        population.detections_per_host = 20.0;
        let tenant = Tenant::streaming(population).expect("the population resolves");
        let dets = all_detections(tenant);
        assert!(dets.len() > 1000, "{} detections", dets.len());
        let bad = violations(&dets);
        assert!(
            bad.is_empty(),
            "seed {seed}: {} violations:\n{}",
            bad.len(),
            bad[..bad.len().min(20)].join("\n")
        );
    }
}
