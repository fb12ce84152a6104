//! The admin API (`/__sim/...`): each route in-process, over HTTP, behind its bearer token.

use std::path::Path;

use qualys_harness::sim::{AdminToken, JournalLimits, Simulator, SimulatorConfig, Tenant};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

async fn json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let body = r.text().await.expect("the body arrives");
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status, value)
}

/// Sends a document to an admin route.
async fn send_doc(
    sim: &qualys_harness::sim::RunningSimulator,
    method: Method,
    path: &str,
    content_type: &str,
    doc: &str,
) -> (u16, Value) {
    json(
        admin(sim, method, path)
            .header("Content-Type", content_type)
            .body(doc.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The status of one Host List Detection call as `user`.
async fn hld_status(
    sim: &qualys_harness::sim::RunningSimulator,
    user: &str,
    password: &str,
) -> u16 {
    let r = post_as(
        sim,
        HLD,
        user,
        password,
        &[("action", "list"), ("truncation_limit", "1")],
    )
    .await;
    let status = r.status().as_u16();
    let _ = r.bytes().await;
    status
}

#[tokio::test]
async fn every_admin_route_answers_401_without_the_bearer_token_and_is_not_journalled() {
    let sim = spawn_demo().await;
    for (method, path) in [
        (Method::GET, "/__sim/health"),
        (Method::GET, "/__sim/journal"),
        (Method::POST, "/__sim/reset"),
        (Method::PUT, "/__sim/tenant"),
        (Method::POST, "/__sim/faults"),
        (Method::DELETE, "/__sim/faults"),
        (Method::PUT, "/__sim/fixtures"),
        (Method::GET, "/__sim/clock"),
        (Method::GET, "/__sim/unknown"),
    ] {
        let plain = client()
            .request(method.clone(), sim.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            plain.headers()["www-authenticate"],
            "Bearer realm=\"qharness admin\""
        );
        let (status, body) = json(plain).await;
        assert_eq!(status, 401, "{method} {path}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("Authorization: Bearer"),
            "{body}"
        );
        // A connector under test sends Basic credentials: they open nothing here.
        let basic = client()
            .request(method.clone(), sim.url(path))
            .basic_auth(USER, Some(DEMO_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 401);
        let wrong = client()
            .request(method.clone(), sim.url(path))
            .bearer_auth("not-the-admin-token")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
    }
    assert!(sim.journal().is_empty(), "admin calls are not journalled");
    let (status, health) = json(
        admin(&sim, Method::GET, "/__sim/health")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ready");
    assert_eq!(health["tenant"], "demo");
    let (status, body) = json(
        admin(&sim, Method::GET, "/__sim/nothing")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("PUT /__sim/tenant")
    );
    let (status, _) = json(
        admin(&sim, Method::DELETE, "/__sim/journal")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn a_chosen_admin_token_is_the_only_one_accepted() {
    let sim = Simulator::start(
        SimulatorConfig::demo().admin_token(AdminToken::new("chosen-by-the-test-suite").unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(sim.admin_token(), "chosen-by-the-test-suite");
    let r = client()
        .get(sim.url("/__sim/health"))
        .bearer_auth("chosen-by-the-test-suite")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn put_tenant_replaces_the_tenant_from_toml_or_json_synthetic_hosts_included() {
    let sim = spawn_demo().await;
    assert_eq!(hld_status(&sim, "quays_ci1", "ci-pass").await, 401);
    let toml_tenant = "name = \"ci\"\n[[users]]\nlogin = \"quays_ci1\"\npassword = \"ci-pass\"\n\n[synthetic]\nhosts = 30\nseed = 7\n";
    let (status, body) = send_doc(
        &sim,
        Method::PUT,
        "/__sim/tenant",
        "application/toml",
        toml_tenant,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tenant"], "ci");
    assert_eq!(sim.tenant().name, "ci");
    assert_eq!(hld_status(&sim, "quays_ci1", "ci-pass").await, 200);
    assert_eq!(
        hld_status(&sim, USER, DEMO_PASSWORD).await,
        200,
        "merged over the demo tenant"
    );
    let listed = sim.tenant().vmdr.hosts.len();
    let hosts = text(
        get(
            &sim,
            HOST_LIST,
            &[("action", "list"), ("truncation_limit", "0")],
        )
        .await,
    )
    .await
    .matches("<HOST>")
    .count();
    assert_eq!(hosts, listed + 30, "the [synthetic] population is served");

    // JSON, with no Content-Type: recognised by its first character.
    let json_tenant =
        r#"{"base": "empty", "users": [{"login": "quays_js1", "password": "js-pass"}]}"#;
    let (status, body) = send_doc(&sim, Method::PUT, "/__sim/tenant", "", json_tenant).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["users"], 1);
    assert_eq!(hld_status(&sim, "quays_js1", "js-pass").await, 200);
    assert_eq!(
        hld_status(&sim, USER, DEMO_PASSWORD).await,
        401,
        "an empty base has no demo users"
    );
}

#[tokio::test]
async fn bad_documents_answer_json_errors_with_the_line_and_column() {
    let sim = spawn_demo().await;
    let toml_bad = "name = \"x\"\n[[users]]\nlogin = \"u\"\npasword = \"p\"\n";
    let (status, body) = send_doc(
        &sim,
        Method::PUT,
        "/__sim/tenant",
        "application/toml",
        toml_bad,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        (body["line"].as_u64(), body["column"].as_u64()),
        (Some(4), Some(1)),
        "{body}"
    );
    assert!(
        body["error"].as_str().unwrap().contains("pasword"),
        "{body}"
    );

    let json_bad = "{\n  \"faults\": [\n    {\"kind\": \"no_such_fault\"}\n  ]\n}";
    let (status, body) = send_doc(
        &sim,
        Method::POST,
        "/__sim/faults",
        "application/json",
        json_bad,
    )
    .await;
    assert_eq!(status, 400);
    // A fault rule is read whole, so the place is the end of the rule that is wrong.
    assert_eq!(body["line"].as_u64(), Some(4), "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("no_such_fault"),
        "{body}"
    );

    let syntax = "{\"base\": \"empty\",, }";
    let (status, body) = send_doc(
        &sim,
        Method::PUT,
        "/__sim/tenant",
        "application/json",
        syntax,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        (body["line"].as_u64(), body["column"].as_u64()),
        (Some(1), Some(18)),
        "{body}"
    );

    // Valid syntax, impossible tenant: no place to point at, the problem said in words.
    let scoped = "[[users]]\nlogin = \"u\"\npassword = \"p\"\nasset_groups = [\"Nowhere\"]\n";
    let (status, body) = send_doc(
        &sim,
        Method::PUT,
        "/__sim/tenant",
        "application/toml",
        scoped,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("Nowhere"),
        "{body}"
    );
    assert!(body.get("line").is_none());

    let (status, body) = send_doc(&sim, Method::PUT, "/__sim/tenant", "", "  ").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("needs a TOML or JSON document")
    );
    assert_eq!(
        sim.tenant().name,
        "demo",
        "a refused document changes nothing"
    );
}

#[tokio::test]
async fn faults_are_added_cleared_and_a_reset_brings_back_the_tenants_own() {
    let sim = Simulator::start(SimulatorConfig::from_tenant(tenant(
        "[[faults]]\nkind = \"server_error\"\nstatus = 503\nroute = \"knowledge_base\"\n",
    )))
    .await
    .unwrap();
    assert_eq!(hld_status(&sim, USER, DEMO_PASSWORD).await, 200);
    let add = "[[faults]]\nkind = \"rate_limited\"\nseconds_to_wait = 5\nroute = \"detection\"\nfirst = 1\n";
    let (status, body) = send_doc(&sim, Method::POST, "/__sim/faults", "", add).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["added"].as_u64(), body["faults"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(
        hld_status(&sim, USER, DEMO_PASSWORD).await,
        409,
        "the added fault applies"
    );
    assert_eq!(
        hld_status(&sim, USER, DEMO_PASSWORD).await,
        200,
        "to its first call only"
    );

    let unknown_user = r#"{"faults": [{"kind": "server_error", "user": "quays_nobody"}]}"#;
    let (status, body) = send_doc(&sim, Method::POST, "/__sim/faults", "", unknown_user).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("quays_nobody"));

    let (status, _) = json(
        admin(&sim, Method::DELETE, "/__sim/faults")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let kb = post(&sim, KB, &[("action", "list"), ("ids", "6")]).await;
    assert_eq!(kb.status(), 200, "the tenant's own fault is cleared too");

    let (status, _) = json(
        admin(&sim, Method::POST, "/__sim/reset")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let kb = post(&sim, KB, &[("action", "list"), ("ids", "6")]).await;
    assert_eq!(kb.status(), 503, "a reset puts the tenant's faults back");
}

#[tokio::test]
async fn put_fixtures_loads_a_replay_set_from_the_servers_disk_and_delete_unloads_it() {
    let sim = spawn_demo().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/replay/hld-two-pages");
    let doc = serde_json::json!({ "path": dir }).to_string();
    let (status, body) = send_doc(
        &sim,
        Method::PUT,
        "/__sim/fixtures",
        "application/json",
        &doc,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fixtures"], 4);
    let r = post(&sim, HLD, &[("action", "list"), ("truncation_limit", "2")]).await;
    assert_eq!(r.status(), 409, "the recorded first answer: a rate limit");
    let _ = r.bytes().await;
    assert_eq!(sim.journal().entries()[0].source, "replay:hld page 1");

    let (status, body) = send_doc(
        &sim,
        Method::PUT,
        "/__sim/fixtures",
        "application/toml",
        "path = \"/nonexistent/replay-set\"\n",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/replay-set"),
        "{body}"
    );

    let (status, _) = json(
        admin(&sim, Method::DELETE, "/__sim/fixtures")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let r = post(&sim, HLD, &[("action", "list"), ("truncation_limit", "2")]).await;
    assert_eq!(r.status(), 200);
    let _ = r.bytes().await;
    assert_eq!(sim.journal().entries()[1].source, "model");
}

#[tokio::test]
async fn the_journal_streams_from_since_filtered_by_endpoint_with_its_position_in_headers() {
    let sim = spawn_demo().await;
    for _ in 0..3 {
        let _ = text(post(&sim, HLD, &[("action", "list"), ("truncation_limit", "1")]).await).await;
        let _ = text(post(&sim, KB, &[("action", "list"), ("ids", "6")]).await).await;
    }
    let read = |query: &'static str| {
        let sim = &sim;
        async move {
            let mut url = sim.admin_route("/__sim/journal").unwrap();
            url.set_query(Some(query));
            let r = client()
                .get(url)
                .bearer_auth(sim.admin_token())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{query}");
            assert_eq!(r.headers()["content-type"], "application/x-ndjson");
            assert!(
                r.headers().get("content-length").is_none(),
                "streamed, not built in memory"
            );
            let next = r.headers()["x-qharness-journal-next"]
                .to_str()
                .unwrap()
                .to_string();
            let lines: Vec<Value> = r
                .text()
                .await
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            (next, lines)
        }
    };
    let (next, all) = read("").await;
    assert_eq!((next.as_str(), all.len()), ("6", 6));
    let (_, later) = read("since=4").await;
    assert_eq!(
        later
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![4, 5]
    );
    let (_, kb) = read("endpoint=knowledge_base&since=2").await;
    assert_eq!(
        kb.iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![3, 5]
    );
    let (_, none) = read("since=6").await;
    assert!(none.is_empty());

    let mut url = sim.admin_route("/__sim/journal").unwrap();
    url.set_query(Some("endpoint=nowhere"));
    let (status, body) = json(
        client()
            .get(url)
            .bearer_auth(sim.admin_token())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("valid: any, "),
        "{body}"
    );
}

#[tokio::test]
async fn a_bounded_journal_drops_the_oldest_entries_and_says_how_many() {
    let sim = Simulator::start(SimulatorConfig::demo().journal_limits(JournalLimits {
        max_entries: 4,
        max_bytes: 1 << 20,
    }))
    .await
    .unwrap();
    for _ in 0..10 {
        let _ = text(post(&sim, KB, &[("action", "list"), ("ids", "6")]).await).await;
    }
    let r = admin(&sim, Method::GET, "/__sim/journal")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-qharness-journal-dropped"], "6");
    assert_eq!(r.headers()["x-qharness-journal-first"], "6");
    let seqs: Vec<u64> = r
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, vec![6, 7, 8, 9]);
    let (_, health) = json(
        admin(&sim, Method::GET, "/__sim/health")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(health["journal"]["dropped"], 6);
    assert_eq!(health["journal"]["max_entries"], 4);
}

#[tokio::test]
async fn reset_puts_back_the_journal_the_limits_and_the_clock() {
    let sim = spawn_tenant(
        "clock = \"2024-06-10T00:00:00Z\"\n[limits]\nrate_limit = 1\nrate_window_secs = 3600\n",
    )
    .await;
    assert_eq!(hld_status(&sim, USER, DEMO_PASSWORD).await, 200);
    assert_eq!(
        hld_status(&sim, USER, DEMO_PASSWORD).await,
        409,
        "the budget of 1 is spent"
    );
    let moved = admin(&sim, Method::POST, "/__sim/clock")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("now=2024-07-01")
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let (status, body) = json(
        admin(&sim, Method::POST, "/__sim/reset")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body["reset"]
            .as_array()
            .unwrap()
            .contains(&"session tokens".into())
    );
    assert!(sim.journal().is_empty());
    assert_eq!(sim.now().to_string(), "2024-06-10T00:00:00Z");
    assert_eq!(
        hld_status(&sim, USER, DEMO_PASSWORD).await,
        200,
        "a fresh rate window"
    );
}

#[tokio::test]
async fn with_admin_addr_the_admin_api_has_its_own_listener_and_leaves_the_qualys_one() {
    let sim = Simulator::start(
        SimulatorConfig::from_tenant(Tenant::demo()).admin_addr("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .unwrap();
    let admin_url = sim.admin_url.clone().unwrap();
    assert_ne!(admin_url, sim.base_url);
    // On the Qualys listener an admin path is just an unknown path.
    let r = client()
        .get(sim.url("/__sim/health"))
        .bearer_auth(sim.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let _ = r.bytes().await;
    assert_eq!(sim.journal().entries()[0].source, "web-server");
    let (status, health) = json(
        admin(&sim, Method::GET, "/__sim/health")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ready")));
    // And the admin listener serves no Qualys path.
    let (status, body) = json(
        client()
            .post(admin_url.join(HLD.trim_start_matches('/')).unwrap())
            .basic_auth(USER, Some(DEMO_PASSWORD))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("only the simulator's admin API")
    );
}
