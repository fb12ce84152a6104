//! The simulated API gateway through a plain HTTP client: JWT sessions (issued, reused,
//! expired by time or by the `jwt_expired` fault), the PCRS answers in their documented shapes,
//! gzip unless `compressionRequired=0`, 204, and the documented refusals.

use std::io::Read;

use qualys_harness::sim::RunningSimulator;
use serde_json::{Value, json};

use crate::helpers::*;

const LIST: &str = "/pcrs/1.0/posture/policy/list";
const HOST_IDS: &str = "/pcrs/2.0/posture/hostids";
const POSTURE: &str = "/pcrs/1.0/posture/postureInfo";

async fn login(sim: &RunningSimulator, user: &str) -> (u16, String) {
    let r = client()
        .post(sim.url("/auth"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encode_form(&[
            ("username", user),
            ("password", DEMO_PASSWORD),
            ("token", "true"),
        ]))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), text(r).await)
}

async fn get_with(
    sim: &RunningSimulator,
    token: &str,
    path: &str,
    query: &str,
) -> reqwest::Response {
    let mut url = sim.url(path);
    if !query.is_empty() {
        url.set_query(Some(query));
    }
    client().get(url).bearer_auth(token).send().await.unwrap()
}

async fn posture(
    sim: &RunningSimulator,
    token: &str,
    query: &str,
    body: &Value,
) -> reqwest::Response {
    let mut url = sim.url(POSTURE);
    url.set_query(Some(query));
    client()
        .post(url)
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn bytes(r: reqwest::Response) -> Vec<u8> {
    r.bytes().await.unwrap().to_vec()
}

fn inflate(gz: &[u8]) -> Value {
    let mut json = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

#[tokio::test]
async fn a_session_serves_the_documented_answers_gzip_by_default() {
    let sim = spawn_demo().await;
    let (status, token) = login(&sim, USER).await;
    assert_eq!(status, 201);
    let list: Value =
        serde_json::from_slice(&bytes(get_with(&sim, &token, LIST, "").await).await).unwrap();
    let policies = list["policyList"].as_array().unwrap();
    assert_eq!(policies.len(), 15);
    assert_eq!(
        policies.iter().filter(|p| p["status"] == "active").count(),
        12
    );
    assert_eq!(list["subscriptionId"], "1981983");
    let hosts: Value = get_with(&sim, &token, HOST_IDS, "policyId=4716,4799")
        .await
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    assert_eq!(hosts[0]["policyId"], "4716");
    assert_eq!(hosts[0]["hostIds"].as_array().unwrap().len(), 60);
    assert_eq!(
        hosts[1]["error"],
        "Error: Compliance Policy does not exist."
    );
    let batch = json!([{"policyId": "4716", "subscriptionId": "1981983",
        "hostIds": hosts[0]["hostIds"].as_array().unwrap()[..2]}]);
    let r = posture(&sim, &token, "evidenceRequired=0", &batch).await;
    assert_eq!(r.status(), 200);
    let gz = bytes(r).await;
    assert_eq!(
        &gz[..2],
        &[0x1f, 0x8b],
        "gzip'd when compressionRequired is absent"
    );
    let records = inflate(&gz);
    assert_eq!(records.as_array().unwrap().len(), 8, "2 hosts x 4 controls");
    assert!(records[0].get("evidence").is_none());
    let plain = posture(
        &sim,
        &token,
        "evidenceRequired=1&compressionRequired=0",
        &batch,
    )
    .await;
    let records: Value = serde_json::from_slice(&bytes(plain).await).unwrap();
    assert!(records[0]["evidence"].is_object() || records[0]["evidence"].is_string());
    assert!(records[0]["remediation"].is_string());
}

#[tokio::test]
async fn the_documented_refusals_and_the_204() {
    let sim = spawn_demo().await;
    let (_, token) = login(&sim, USER).await;
    let r = get_with(&sim, &token, HOST_IDS, "policyId=4199751a").await;
    assert_eq!(r.status(), 400);
    let body: Value = serde_json::from_slice(&bytes(r).await).unwrap();
    assert_eq!(body[0]["response"]["code"], 1905);
    assert_eq!(
        body[0]["response"]["text"],
        "parameter policy_ids has invalid value: 4199751a (Invalid value: 4199751a)"
    );
    let eleven = (4711..4722)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let r = get_with(&sim, &token, HOST_IDS, &format!("policyId={eleven}")).await;
    assert_eq!(r.status(), 400, "at most 10 policy IDs per request");
    let r = posture(&sim, &token, "evidenceRequired=2", &json!([])).await;
    assert_eq!(r.status(), 404);
    assert_eq!(text(r).await, r#"{"message":"Invalid input Parameter."}"#);
    let r = posture(
        &sim,
        &token,
        "compressionRequired=1",
        &json!([{"policyId": "4722", "hostIds": []}]),
    )
    .await;
    assert_eq!(r.status(), 204, "nothing to report");
    let (_, nopc) = login(&sim, "quays_nopc1").await;
    let r = get_with(&sim, &nopc, LIST, "").await;
    assert_eq!(r.status(), 403);
    assert!(text(r).await.contains("Manage PC module"));
    for user in ["quays_na1", "quays_ex1", "quays_noapi1"] {
        let (status, body) = login(&sim, user).await;
        assert_eq!(status, 401, "{user}");
        assert!(body.contains("authentication_exceptions"), "{user}: {body}");
    }
}

#[tokio::test]
async fn a_token_dies_by_its_lifetime_or_by_the_fault_and_stays_dead() {
    let sim = spawn_tenant(
        "[[faults]]\nkind = \"jwt_expired\"\nroute = \"pcrs_policy_list\"\ncalls = \"2\"\n",
    )
    .await;
    let (_, token) = login(&sim, USER).await;
    assert_eq!(get_with(&sim, &token, LIST, "").await.status(), 200);
    let r = get_with(&sim, &token, LIST, "").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        text(r).await,
        r#"{"status":401,"error":"Unauthorized","message":"JWT expired"}"#
    );
    let r = get_with(&sim, &token, LIST, "").await;
    assert_eq!(r.status(), 401, "the expired token stays expired");
    let (_, fresh) = login(&sim, USER).await;
    assert_ne!(fresh, token);
    assert_eq!(get_with(&sim, &fresh, LIST, "").await.status(), 200);

    let sim = spawn_tenant("[pc]\ntoken_lifetime_secs = 1\n").await;
    let (_, token) = login(&sim, USER).await;
    assert_eq!(get_with(&sim, &token, LIST, "").await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = get_with(&sim, &token, LIST, "").await;
    assert!(text(r).await.contains("JWT expired"));
}

#[tokio::test]
async fn a_synthetic_policy_answers_hosts_times_controls_postures() {
    let sim = spawn_tenant("[pc.synthetic]\nhosts = 2000\ncontrols = 5\n").await;
    let (_, token) = login(&sim, USER).await;
    let hosts: Value = get_with(&sim, &token, HOST_IDS, "policyId=990001")
        .await
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    let ids = hosts[0]["hostIds"].as_array().unwrap();
    assert_eq!(ids.len(), 2000);
    let r = posture(
        &sim,
        &token,
        "compressionRequired=0",
        &json!([{"policyId": "990001", "hostIds": ids}]),
    )
    .await;
    let records: Value = serde_json::from_slice(&bytes(r).await).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 10_000);
    let ids: std::collections::BTreeSet<u64> =
        records.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), 10_000, "posture IDs are unique");
}

/// Policy 101 over hosts 900001 and 900002 at 2024-06-10; on 2024-06-15 an evaluation finds
/// 900001's control 1071 Failed (it was Passed) and 900002 is evaluated for the first time.
const CHANGING: &str = r#"
clock = "2024-06-10T00:00:00Z"

[[pc.policies]]
id = 101
title = "Changing Policy"
status = "active"
controls = [1071, 1072]
hosts = [900001, 900002]

[[pc.hosts]]
id = 900002
appears_at = "2024-06-15T00:00:00Z"

[[pc.postures]]
policy = 101
host = 900001
control = 1071
status = "Passed"
[[pc.postures.changes]]
at = "2024-06-15T00:00:00Z"
status = "Failed"
"#;

#[tokio::test]
async fn the_clock_and_last_evaluation_date_decide_which_postures_the_gateway_answers() {
    let sim = spawn_tenant(CHANGING).await;
    let (_, token) = login(&sim, USER).await;
    let body = json!([{"policyId": "101", "hostIds": ["900001", "900002"]}]);
    let answer = |query: &'static str| {
        let (sim, token, body) = (&sim, &token, &body);
        async move {
            let r = posture(sim, token, query, body).await;
            match r.status().as_u16() {
                204 => Vec::new(),
                200 => {
                    let v: Value = serde_json::from_slice(&bytes(r).await).unwrap();
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|p| {
                            format!(
                                "{}/{}: {} {}",
                                p["hostId"], p["controlId"], p["status"], p["lastEvaluatedDate"]
                            )
                        })
                        .collect()
                }
                other => panic!("{query}: {other} {}", text(r).await),
            }
        }
    };
    let listed = |v: Value| -> Vec<String> {
        v[0]["hostIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect()
    };
    let policy_evaluated = || async {
        let list: Value =
            serde_json::from_slice(&bytes(get_with(&sim, &token, LIST, "").await).await).unwrap();
        let p = list["policyList"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "101")
            .cloned()
            .unwrap();
        p["lastEvaluatedDate"].as_str().unwrap().to_string()
    };
    let host_ids = || async {
        let r = get_with(&sim, &token, HOST_IDS, "policyId=101").await;
        listed(serde_json::from_slice(&bytes(r).await).unwrap())
    };

    // At 2024-06-10: 900002 is not evaluated yet, nothing was evaluated after 2024-06-12.
    assert_eq!(host_ids().await, ["900001"]);
    assert_eq!(policy_evaluated().await, "2024-06-01T00:00:00Z");
    let full = answer("compressionRequired=0").await;
    assert_eq!(full.len(), 2, "{full:?}");
    assert!(full[0].starts_with("900001/1071: \"Passed\""), "{full:?}");
    assert!(
        answer("compressionRequired=0&lastEvaluationDate=2024-06-12")
            .await
            .is_empty(),
        "204: no posture was evaluated since"
    );

    let moved = admin(&sim, reqwest::Method::POST, "/__sim/clock")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("now=2024-06-16")
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    assert_eq!(host_ids().await, ["900001", "900002"]);
    assert_eq!(policy_evaluated().await, "2024-06-15T00:00:00Z");
    assert_eq!(answer("compressionRequired=0").await.len(), 4);
    let since = |at: &str| format!("{at}\"");
    let changed = answer("compressionRequired=0&lastEvaluationDate=2024-06-15T00:00:00Z").await;
    assert_eq!(changed.len(), 3, "{changed:?}");
    assert!(
        changed[0].starts_with("900001/1071: \"Failed\"")
            && changed
                .iter()
                .all(|c| c.ends_with(&since("2024-06-15T00:00:00Z"))),
        "the failed posture and the new host's two, evaluated at the moment (kept: at or after): {changed:?}"
    );
    assert_eq!(
        answer("compressionRequired=0&lastEvaluationDate=2024-06-15").await,
        changed,
        "a date is midnight UTC"
    );
    assert!(
        answer("lastEvaluationDate=2024-06-15T00:00:01Z")
            .await
            .is_empty()
    );

    for bad in ["15/06/2024", "2024-06-15T00:00:00+02:00", "yesterday"] {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("lastEvaluationDate", bad)
            .finish();
        let r = posture(&sim, &token, &query, &body).await;
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = serde_json::from_slice(&bytes(r).await).unwrap();
        assert_eq!(v[0]["response"]["code"], 1905, "{bad}");
        let text = v[0]["response"]["text"].as_str().unwrap();
        assert!(
            text.starts_with(&format!(
                "parameter lastEvaluationDate has invalid value: {bad}"
            )) && text.contains("YYYY-MM-DD[THH:MM:SSZ]"),
            "{text}"
        );
    }
    let r = posture(&sim, &token, "statusChangedSince=2024-06-15", &body).await;
    assert_eq!(r.status(), 400);
    assert!(text(r).await.contains("does not model it"));
}
