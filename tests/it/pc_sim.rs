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
