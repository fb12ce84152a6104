//! Replay of the fixture sets under fixtures/replay.

use std::path::{Path, PathBuf};

use qualys_harness::sim::{FixtureSet, Simulator, SimulatorConfig, Tenant};

use crate::helpers::*;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/replay")
        .join(name)
}

async fn spawn_replay(name: &str) -> qualys_harness::sim::RunningSimulator {
    init_tracing();
    let set = FixtureSet::load(&fixture_dir(name)).expect("the fixture set loads");
    Simulator::start(SimulatorConfig::from_tenant(Tenant::empty()).with_fixtures(set))
        .await
        .expect("the simulator starts")
}

#[test]
fn every_fixture_set_and_example_tenant_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for e in std::fs::read_dir(root.join("replay")).unwrap() {
        let dir = e.unwrap().path();
        FixtureSet::load(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    }
    for e in std::fs::read_dir(root.join("tenants")).unwrap() {
        let path = e.unwrap().path();
        Tenant::load(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    }
}

#[tokio::test]
async fn a_recorded_sequence_plays_in_order_and_pages_point_at_the_simulator() {
    let sim = spawn_replay("hld-two-pages").await;
    let p = [("action", "list"), ("truncation_limit", "2")];
    let first = post(&sim, HLD, &p).await;
    assert_eq!(first.status(), 409);
    assert_eq!(first.headers()["x-ratelimit-towait-sec"], "1");
    assert_eq!(read_simple_return(&text(first).await).0, Some(1965));
    let page1 = text(post(&sim, HLD, &p).await).await;
    let (hosts, url) = read_hld(&page1);
    assert_eq!(
        hosts.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![100101, 100150]
    );
    let url = url.unwrap();
    assert!(
        url.starts_with(sim.base_url.as_str().trim_end_matches('/')),
        "{url}"
    );
    let r = client()
        .get(&url)
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    let (hosts, url) = read_hld(&text(r).await);
    assert_eq!(hosts.iter().map(|h| h.id).collect::<Vec<_>>(), vec![100203]);
    assert!(url.is_none());
    // The last response repeats.
    assert_eq!(post(&sim, HLD, &p).await.status(), 200);
    let sources: Vec<String> = sim
        .journal()
        .entries()
        .iter()
        .map(|e| e.source.clone())
        .collect();
    assert_eq!(
        sources[..3],
        [
            "replay:hld page 1",
            "replay:hld page 1",
            "replay:hld page 2"
        ]
    );
    assert_eq!(
        sim.journal().entries()[1].faults,
        vec!["dribble".to_string()]
    );
}

#[tokio::test]
async fn fixtures_match_on_user_and_the_api_version_wildcard() {
    let sim = spawn_replay("hld-two-pages").await;
    let r = post_as(
        &sim,
        "/api/5.0/fo/asset/host/vm/detection/",
        "quays_bad1",
        "whatever",
        &[("action", "list")],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert_eq!(read_simple_return(&text(r).await).0, Some(2000));
    let kb = text(
        post(
            &sim,
            "/api/4.0/fo/knowledge_base/vuln/",
            &[("action", "list"), ("ids", "38170,198752")],
        )
        .await,
    )
    .await;
    assert_eq!(
        parse(&kb)
            .at("RESPONSE/VULN_LIST")
            .unwrap()
            .all("VULN")
            .len(),
        2
    );
}

#[tokio::test]
async fn an_unmatched_request_gets_a_404_naming_the_nearest_fixtures() {
    let sim = spawn_replay("hld-two-pages").await;
    let r = post(&sim, HLD, &[("action", "list"), ("truncation_limit", "7")]).await;
    assert_eq!(r.status(), 404);
    let body = text(r).await;
    assert!(
        body.contains("no fixture matches POST /api/2.0/fo/asset/host/vm/detection/"),
        "{body}"
    );
    assert!(
        body.contains("\"hld page 1\": param truncation_limit: wanted \"2\", got \"7\""),
        "{body}"
    );
    assert_eq!(sim.journal().entries()[0].source, "unmatched");
}

#[tokio::test]
async fn replayed_pages_validate_against_the_dtds() {
    let sim = spawn_replay("hld-two-pages").await;
    let _ = text(post(&sim, HLD, &[("action", "list"), ("truncation_limit", "2")]).await).await;
    let page1 = text(post(&sim, HLD, &[("action", "list"), ("truncation_limit", "2")]).await).await;
    assert_dtd_valid(
        page1.as_bytes(),
        "host_list_vm_detection_output.reconstructed.dtd",
        "replayed page 1",
    );
    let kb = text(post(&sim, KB, &[("action", "list"), ("ids", "1")]).await).await;
    assert_dtd_valid(
        kb.as_bytes(),
        "knowledge_base_vuln_list_output.dtd",
        "replayed KB",
    );
}
