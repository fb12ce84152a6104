//! The pc-posture stream against a mock gateway serving the scrubbed fixtures of
//! `fixtures/pc/`: the requests it sends (login form, bearer token, host ID batches, the JSON
//! posture body), gzip'd and plain answers, per-policy errors, and each error the gateway
//! documents.

use qualys_harness::{AccountProblem, Error, ExitClass, StreamKind};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const LIST: &str = "/pcrs/1.0/posture/policy/list";
const HOST_IDS: &str = "/pcrs/1.0/posture/hostids";
const POSTURE: &str = "/pcrs/1.0/posture/postureInfo";

fn fixture_bytes(name: &str) -> Vec<u8> {
    let p = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {p} is missing: {e}"))
}

fn json(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(fixture_bytes(name), "application/json")
}

/// A gateway answering the fixtures: login, list, host IDs, and `posture` for postureInfo.
async fn gateway(posture: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth"))
        .respond_with(ResponseTemplate::new(201).set_body_string("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(json(200, "pc/policy_list.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(HOST_IDS))
        .respond_with(json(200, "pc/host_ids.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(POSTURE))
        .respond_with(posture)
        .mount(&server)
        .await;
    server
}

/// The value of a query parameter.
fn query(request: &wiremock::Request, key: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn pc(server: &MockServer) -> qualys_harness::Settings {
    settings(&server.uri(), StreamKind::PcPosture)
}

#[tokio::test]
async fn a_gzip_answer_becomes_one_record_per_posture_with_every_field() {
    let server = gateway(ResponseTemplate::new(200).set_body_raw(
        fixture_bytes("pc/posture_answer.json.gz"),
        "application/json",
    ))
    .await;
    let run = run(pc(&server)).await;
    let summary = run.summary();
    assert_eq!(summary.records, 3);
    assert_eq!(
        summary.pages, 1,
        "one posture request: 4712 could not be resolved"
    );
    assert_eq!(summary.policies, 1);
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("policy 4712") && w.contains("Compliance Policy does not exist.")),
        "{:?}",
        summary.warnings
    );
    let r = &run.records;
    assert_eq!(
        r.iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Passed", "Failed", "Error"]
    );
    assert_eq!(r[0]["posture_id"], 700000001);
    assert_eq!(r[0]["policy_id"], 4711);
    assert_eq!(r[0]["criticality"], "SERIOUS");
    assert_eq!(r[1]["first_fail_date"], "2024-03-11T06:38:46Z");
    assert_eq!(
        r[0]["rationale"],
        "Root logins over SSH bypass the audit of individual accounts; CIS says \"no\"."
    );
    assert!(r[2]["dns"].is_null() && r[2]["evidence"].is_null());
    for rec in r {
        assert_eq!(
            rec.as_object().unwrap().len(),
            25,
            "every field in every record"
        );
    }
}

#[tokio::test]
async fn the_requests_are_the_documented_ones_with_the_token_and_the_json_body() {
    let server = gateway(json(200, "pc/posture_answer.json")).await;
    let mut s = pc(&server);
    s.pc.evidence = Some(true);
    s.pc.host_batch_size = Some(2);
    let run = run(s).await;
    assert_eq!(
        run.summary().records,
        6,
        "the answer is served for each of the two batches"
    );
    let auth = requests_to(&server, "/auth").await;
    assert_eq!(auth.len(), 1);
    let form = form(&auth[0]);
    assert!(form.contains(&("username".into(), USER.into())));
    assert!(form.contains(&("token".into(), "true".into())));
    let ids = requests_to(&server, HOST_IDS).await;
    assert_eq!(query(&ids[0], "policyId").as_deref(), Some("4711,4712"));
    let postures = requests_to(&server, POSTURE).await;
    assert_eq!(postures.len(), 2);
    for p in &postures {
        assert_eq!(
            p.headers["authorization"].to_str().unwrap(),
            "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"
        );
        assert_eq!(query(p, "evidenceRequired").as_deref(), Some("1"));
        assert_eq!(query(p, "compressionRequired").as_deref(), Some("1"));
        assert_eq!(p.headers["content-type"], "application/json");
    }
    let bodies: Vec<Value> = postures
        .iter()
        .map(|p| serde_json::from_slice(&p.body).unwrap())
        .collect();
    assert_eq!(
        bodies[0],
        serde_json::json!([{"policyId": "4711", "subscriptionId": "1981983", "hostIds": ["100031", "100032"]}])
    );
    assert_eq!(bodies[1][0]["hostIds"], serde_json::json!(["100035"]));
}

#[tokio::test]
async fn evidence_is_kept_as_the_gateway_sent_it() {
    let server = gateway(json(200, "pc/posture_answer_with_evidence.json")).await;
    let mut s = pc(&server);
    s.pc.evidence = Some(true);
    let run = run(s).await;
    let r = &run.records;
    assert_eq!(r.len(), 2);
    assert_eq!(
        r[0]["evidence"],
        serde_json::json!({"actual": ["permitrootlogin=yes"], "expected": "permitrootlogin=no"})
    );
    assert_eq!(
        r[0]["cause_of_failure"]["unexpected"][0],
        "permitrootlogin=yes"
    );
    assert_eq!(
        r[1]["evidence"],
        "Error: the agent could not read /etc/ssh/sshd_config (permission denied)"
    );
}

#[tokio::test]
async fn a_204_is_no_records_and_no_error() {
    let server = gateway(ResponseTemplate::new(204)).await;
    let run = run(pc(&server)).await;
    assert_eq!((run.summary().records, run.summary().pages), (0, 1));
}

#[tokio::test]
async fn a_requested_policy_the_list_lacks_is_exit_2_before_host_ids() {
    let server = gateway(ResponseTemplate::new(204)).await;
    let mut s = pc(&server);
    s.pc.policy_ids = Some(qualys_harness::config::PolicyIdList::Text(
        "4711,4800".into(),
    ));
    let run = run(s).await;
    let e = run.error();
    assert_eq!(e.exit_class(), ExitClass::Config);
    assert!(
        e.to_string()
            .contains("policy 4800 is not in the policy list"),
        "{e}"
    );
    assert!(requests_to(&server, HOST_IDS).await.is_empty());
}

#[tokio::test]
async fn gateway_errors_read_from_their_documented_bodies() {
    // A 1905 for a policy ID, a 404 for a flag, a refused login, a rejected token.
    for (fixture, status, want) in [
        ("pc/error_400_1905_policy_ids.json", 400, "policy_ids"),
        (
            "pc/error_404_invalid_input_parameter.json",
            404,
            "Invalid input Parameter.",
        ),
    ] {
        let server = gateway(json(status, fixture)).await;
        let run = run(pc(&server)).await;
        let e = run.error();
        assert!(matches!(e, Error::Rejected { .. }), "{e}");
        assert!(e.to_string().contains(want), "{e}");
    }
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth"))
        .respond_with(json(401, "pc/auth_401_invalid_credentials.json"))
        .mount(&server)
        .await;
    let e = run(pc(&server)).await.result.unwrap_err();
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
    let server = gateway(json(401, "pc/error_401_not_authenticated.json")).await;
    let e = run(pc(&server)).await.result.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Account {
                problem: AccountProblem::SessionRejected,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_posture_request_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth"))
        .respond_with(ResponseTemplate::new(201).set_body_string("jwt-a"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth"))
        .respond_with(ResponseTemplate::new(201).set_body_string("jwt-b"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(json(200, "pc/policy_list.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(HOST_IDS))
        .respond_with(json(200, "pc/host_ids.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(POSTURE))
        .and(wiremock::matchers::header("authorization", "Bearer jwt-a"))
        .respond_with(json(401, "pc/error_401_jwt_expired.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(POSTURE))
        .and(wiremock::matchers::header("authorization", "Bearer jwt-b"))
        .respond_with(json(200, "pc/posture_answer.json"))
        .mount(&server)
        .await;
    let run = run(pc(&server)).await;
    assert_eq!(run.summary().records, 3);
    assert_eq!(run.summary().retries, 0, "a new login is not a retry");
    assert_eq!(requests_to(&server, "/auth").await.len(), 2);
    assert_eq!(requests_to(&server, POSTURE).await.len(), 2);
}
