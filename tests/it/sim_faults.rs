//! Every fault kind does what the conformance catalogue needs, scoped as written.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use qualys_harness::sim::Completion;

use crate::helpers::*;

fn faults(spec: &str) -> String {
    // Faults over the demo tenant, detection route only unless the spec says otherwise.
    spec.to_string()
}

async fn hld(sim: &qualys_harness::sim::RunningSimulator) -> reqwest::Response {
    post(sim, HLD, &[("action", "list"), ("truncation_limit", "5")]).await
}

#[tokio::test]
async fn server_errors_fail_the_first_calls_then_the_detection_page_succeeds() {
    let sim = spawn_tenant(&faults(
        "[[faults]]\nkind = \"server_error\"\nstatus = 503\nroute = \"detection\"\nfirst = 2\n",
    ))
    .await;
    assert_eq!(hld(&sim).await.status(), 503);
    assert_eq!(
        post(&sim, HOST_LIST, &[("action", "list")]).await.status(),
        200,
        "other routes are untouched"
    );
    assert_eq!(hld(&sim).await.status(), 503);
    assert_eq!(hld(&sim).await.status(), 200);
    let faults: Vec<Vec<String>> = sim
        .journal()
        .entries_for(HLD)
        .into_iter()
        .map(|e| e.faults)
        .collect();
    assert_eq!(
        faults,
        vec![
            vec!["server_error".to_string()],
            vec!["server_error".into()],
            vec![]
        ]
    );
}

#[tokio::test]
async fn generic_return_999_carries_the_internal_error_text() {
    let sim = spawn_tenant("[[faults]]\nkind = \"generic_return_999\"\n").await;
    let r = hld(&sim).await;
    assert_eq!(r.status(), 500);
    let body = text(r).await;
    let root = parse(&body);
    assert_eq!(root.name, "GENERIC_RETURN");
    let ret = root.child("RETURN").unwrap();
    assert!(ret.attrs.contains(&("number".into(), "999".into())));
    assert!(ret.text.contains("Internal error"), "{body}");
}

#[tokio::test]
async fn an_html_proxy_error_page_arrives_where_xml_was_expected() {
    let sim = spawn_tenant("[[faults]]\nkind = \"html_error\"\nstatus = 502\n").await;
    let r = hld(&sim).await;
    assert_eq!(r.status(), 502);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(text(r).await.contains("<title>502 Bad Gateway</title>"));
}

#[tokio::test]
async fn moved_permanently_as_a_fault_answers_301_with_the_html_body() {
    let sim = spawn_tenant("[[faults]]\nkind = \"moved_permanently\"\n").await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .post(sim.url(HLD))
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .body("action=list")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 301);
    assert!(r.headers().contains_key("location"));
    assert!(text(r).await.contains("<h1>Moved Permanently</h1>"));
}

#[tokio::test]
async fn an_injected_rate_limit_gives_1965_then_the_call_succeeds() {
    let sim = spawn_tenant("[[faults]]\nkind = \"rate_limited\"\nseconds_to_wait = 1\nroute = \"detection\"\nfirst = 1\n").await;
    let r = hld(&sim).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["x-ratelimit-towait-sec"], "1");
    let (code, text_, items) = read_simple_return(&text(r).await);
    assert_eq!(code, Some(1965));
    assert_eq!(text_, "This API cannot be run again for another 1 second.");
    assert_eq!(
        items,
        vec![("SECONDS_TO_WAIT".to_string(), "1".to_string())]
    );
    assert_eq!(hld(&sim).await.status(), 200);
}

#[tokio::test]
async fn an_injected_concurrency_limit_gives_1960_with_calls_to_finish() {
    let sim =
        spawn_tenant("[[faults]]\nkind = \"concurrency_busy\"\ncalls_to_finish = 2\nfirst = 1\n")
            .await;
    let r = hld(&sim).await;
    assert_eq!(r.status(), 409);
    let (code, _, items) = read_simple_return(&text(r).await);
    assert_eq!(code, Some(1960));
    assert_eq!(
        items,
        vec![("CALLS_TO_FINISH".to_string(), "2".to_string())]
    );
    assert_eq!(hld(&sim).await.status(), 200);
}

#[tokio::test]
async fn a_user_rate_limit_in_a_short_window_blocks_then_lets_the_call_through() {
    let sim = spawn_tenant(
        "[[users]]\nlogin = \"quays_rl1\"\npassword = \"p\"\nlimits = { rate_limit = 2, rate_window_secs = 1 }\n",
    )
    .await;
    let call = || {
        post_as(
            &sim,
            HLD,
            "quays_rl1",
            "p",
            &[("action", "list"), ("truncation_limit", "1")],
        )
    };
    assert_eq!(call().await.headers()["x-ratelimit-remaining"], "1");
    assert_eq!(call().await.headers()["x-ratelimit-remaining"], "0");
    let blocked = call().await;
    assert_eq!(blocked.status(), 409);
    let wait: u64 = blocked.headers()["x-ratelimit-towait-sec"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(wait, 1);
    let (code, _, items) = read_simple_return(&text(blocked).await);
    assert_eq!((code, items[0].0.as_str()), (Some(1965), "SECONDS_TO_WAIT"));
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(50)).await;
    assert_eq!(call().await.status(), 200, "the window rolled on");
}

#[tokio::test]
async fn an_exhausted_rate_limit_asks_for_a_long_wait() {
    let sim = spawn_tenant("[limits]\nrate_limit = 1\nrate_window_secs = 3600\n").await;
    assert_eq!(hld(&sim).await.status(), 200);
    let r = hld(&sim).await;
    assert_eq!(r.status(), 409);
    let wait: u64 = r.headers()["x-ratelimit-towait-sec"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 3500, "{wait}");
    assert!(
        read_simple_return(&text(r).await)
            .1
            .starts_with("This API cannot be run again for another ")
    );
}

#[tokio::test]
async fn a_slow_running_call_holds_its_concurrency_slot_until_its_body_is_sent() {
    let sim = spawn_tenant(
        "[limits]\nconcurrency_limit = 1\n[[faults]]\nkind = \"dribble\"\nchunk_bytes = 2000\ninterval_ms = 20\nroute = \"detection\"\nfirst = 1\n",
    )
    .await;
    let slow = hld(&sim).await;
    assert_eq!(slow.status(), 200);
    // The first body is still dribbling: a second call is over the concurrency limit.
    let busy = hld(&sim).await;
    assert_eq!(busy.status(), 409);
    assert_eq!(busy.headers()["x-concurrency-limit-running"], "1");
    assert_eq!(read_simple_return(&text(busy).await).0, Some(1960));
    let _ = text(slow).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(hld(&sim).await.status(), 200);
}

#[tokio::test]
async fn a_fixed_delay_holds_the_response_head() {
    let sim = spawn_tenant("[[faults]]\nkind = \"delay\"\nms = 300\n").await;
    let t = Instant::now();
    assert_eq!(hld(&sim).await.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_random_delay_stays_within_its_bounds() {
    let sim =
        spawn_tenant("[[faults]]\nkind = \"random_delay\"\nmin_ms = 100\nmax_ms = 200\n").await;
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(hld(&sim).await.status(), 200);
        let e = t.elapsed();
        assert!(
            e >= Duration::from_millis(100) && e < Duration::from_millis(1500),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn a_dribbled_body_arrives_in_small_pieces_over_time_and_whole() {
    let sim =
        spawn_tenant("[[faults]]\nkind = \"dribble\"\nchunk_bytes = 1000\ninterval_ms = 5\n").await;
    let t = Instant::now();
    let r = hld(&sim).await;
    let mut pieces = 0;
    let mut body = Vec::new();
    let mut stream = r.bytes_stream();
    while let Some(c) = stream.next().await {
        let c = c.unwrap();
        assert!(c.len() <= 1000);
        body.extend_from_slice(&c);
        pieces += 1;
    }
    assert!(pieces > 5, "{pieces}");
    assert!(t.elapsed() >= Duration::from_millis(5 * (pieces as u64 - 1)));
    assert_eq!(read_hld(std::str::from_utf8(&body).unwrap()).0.len(), 5);
}

#[tokio::test]
async fn disconnect_after_n_bytes_resets_the_connection_mid_body() {
    let sim = spawn_tenant("[[faults]]\nkind = \"disconnect_after\"\nbytes = 3000\n").await;
    let r = hld(&sim).await;
    assert_eq!(r.status(), 200);
    let mut got = 0usize;
    let mut failed = false;
    let mut stream = r.bytes_stream();
    while let Some(c) = stream.next().await {
        match c {
            Ok(c) => got += c.len(),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the client sees the body fail, not end");
    assert!(got <= 3000, "{got}");
    let e = &sim.journal().entries_for(HLD)[0];
    assert_eq!((e.bytes, e.completion), (3000, Completion::CutByFault));
    assert!(e.cut());
}

#[tokio::test]
async fn a_truncated_document_ends_cleanly_before_the_root_closes() {
    let sim = spawn_tenant("[[faults]]\nkind = \"truncate\"\n").await;
    let r = hld(&sim).await;
    let body = text(r).await;
    assert!(body.contains("<HOST_LIST>"));
    assert!(!body.contains("</RESPONSE>") && !body.contains("</HOST_LIST_VM_DETECTION_OUTPUT>"));
    let e = &sim.journal().entries_for(HLD)[0];
    assert_eq!(e.completion, Completion::CutByFault);
    assert_eq!(e.bytes, body.len() as u64);
}

#[tokio::test]
async fn truncate_after_bytes_cuts_at_exactly_that_length() {
    let sim = spawn_tenant("[[faults]]\nkind = \"truncate\"\nafter_bytes = 777\n").await;
    assert_eq!(text(hld(&sim).await).await.len(), 777);
}

#[tokio::test]
async fn invalid_xml_characters_land_in_results() {
    let sim = spawn_tenant("[[faults]]\nkind = \"invalid_xml_chars\"\n").await;
    let body = text(hld(&sim).await).await;
    assert!(
        body.contains("<RESULTS>\u{1}"),
        "a control character right after <RESULTS>"
    );
    assert!(quick_xml::Reader::from_str(&body).read_event().is_ok());
}

#[tokio::test]
async fn malformed_xml_breaks_an_end_tag() {
    let sim = spawn_tenant("[[faults]]\nkind = \"malformed_xml\"\n").await;
    let body = text(hld(&sim).await).await;
    assert!(body.contains("</DETECTOIN>"));
    let mut r = quick_xml::Reader::from_str(&body);
    let failed = loop {
        match r.read_event() {
            Err(_) => break true,
            Ok(quick_xml::events::Event::Eof) => break false,
            Ok(_) => {}
        }
    };
    assert!(failed, "a parser rejects the page");
}

#[tokio::test]
async fn a_stuck_cursor_repeats_the_same_id_min() {
    let sim = spawn_tenant("[[faults]]\nkind = \"cursor_stuck\"\n").await;
    let (_, url1) = read_hld(&text(hld(&sim).await).await);
    let first = id_min_of(&url1.unwrap());
    let page2 = post(
        &sim,
        HLD,
        &[
            ("action", "list"),
            ("truncation_limit", "5"),
            ("id_min", &first.to_string()),
        ],
    )
    .await;
    let (_, url2) = read_hld(&text(page2).await);
    assert_eq!(id_min_of(&url2.unwrap()), first);
}

#[tokio::test]
async fn any_simple_return_can_be_injected_for_one_user_and_a_range_of_calls() {
    let sim = spawn_tenant(
        "[[faults]]\nkind = \"simple_return\"\nstatus = 409\ncode = 1999\ntext = \"API access is temporarily disabled\"\nuser = \"quays_nowas1\"\ncalls = \"2..=3\"\n",
    )
    .await;
    let as_ = |u: &'static str| {
        post_as(
            &sim,
            HLD,
            u,
            DEMO_PASSWORD,
            &[("action", "list"), ("truncation_limit", "1")],
        )
    };
    let statuses = [
        as_("quays_nowas1").await.status().as_u16(),
        as_(USER).await.status().as_u16(),
        as_("quays_nowas1").await.status().as_u16(),
        as_("quays_nowas1").await.status().as_u16(),
        as_("quays_nowas1").await.status().as_u16(),
    ];
    assert_eq!(statuses, [200, 200, 409, 409, 200]);
}

const WAS_SEARCH: &str = "/qps/rest/3.0/search/was/webapp";

/// POSTs a QPS ServiceRequest as a WAS client does (Basic auth, text/xml).
async fn qps_search(sim: &qualys_harness::sim::RunningSimulator) -> reqwest::Response {
    client()
        .post(sim.url(WAS_SEARCH))
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .header("Content-Type", "text/xml")
        .body("<ServiceRequest><preferences><limitResults>100</limitResults></preferences></ServiceRequest>")
        .send()
        .await
        .unwrap()
}

/// POSTs the gateway login form.
async fn gateway_login(sim: &qualys_harness::sim::RunningSimulator) -> reqwest::Response {
    client()
        .post(sim.url("/auth"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encode_form(&[
            ("username", USER),
            ("password", DEMO_PASSWORD),
            ("token", "true"),
        ]))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn answer_faults_on_a_qps_endpoint_speak_the_qps_dialect() {
    let sim = spawn_tenant(
        "[[faults]]\nkind = \"rate_limited\"\nseconds_to_wait = 7\nroute = \"was_webapp_search\"\nfirst = 1\n\
         [[faults]]\nkind = \"simple_return\"\nstatus = 503\ncode = 1999\ntext = \"maintenance window\"\nroute = \"was_webapp_search\"\ncalls = \"2\"\n\
         [[faults]]\nkind = \"server_error\"\nroute = \"was_webapp_search\"\ncalls = \"3\"\n",
    )
    .await;
    let r = qps_search(&sim).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert!(!r.headers().contains_key("x-ratelimit-limit"));
    let body = text(r).await;
    assert!(
        body.contains("<responseCode>OTHER_ERROR</responseCode>")
            && body.contains("for another 7 seconds"),
        "{body}"
    );

    let r = qps_search(&sim).await;
    assert_eq!(r.status(), 503);
    let body = text(r).await;
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceResponse"));
    assert!(
        body.contains("<internalErrorCodeId>1999</internalErrorCodeId>"),
        "{body}"
    );

    // What the web server in front sends is the same for every family.
    let r = qps_search(&sim).await;
    assert_eq!(r.status(), 503);
    assert_eq!(text(r).await, "503 Service Unavailable\n");

    // Past the faults: the tenant's web applications.
    let r = qps_search(&sim).await;
    assert_eq!(r.status(), 200);
    assert!(
        text(r)
            .await
            .contains("<responseCode>SUCCESS</responseCode>")
    );
    let faults: Vec<Vec<String>> = sim
        .journal()
        .entries_for("/search/was/webapp")
        .into_iter()
        .map(|e| e.faults)
        .collect();
    assert_eq!(
        faults,
        vec![
            vec!["rate_limited".to_string()],
            vec!["simple_return".to_string()],
            vec!["server_error".to_string()],
            vec![]
        ]
    );
}

#[tokio::test]
async fn answer_faults_on_the_gateway_speak_json() {
    let sim = spawn_tenant(
        "[[faults]]\nkind = \"concurrency_busy\"\nroute = \"auth\"\nfirst = 1\n\
         [[faults]]\nkind = \"generic_return_999\"\nroute = \"auth\"\ncalls = \"2\"\n",
    )
    .await;
    let r = gateway_login(&sim).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(&text(r).await).unwrap();
    assert_eq!(body["error"], "Too Many Requests");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("until 1 currently running API instance has finished")
    );

    let r = gateway_login(&sim).await;
    assert_eq!(r.status(), 500);
    assert_eq!(
        text(r).await,
        r#"{"status":500,"error":"Internal Server Error","message":"Internal error. Please contact customer support."}"#
    );

    let r = gateway_login(&sim).await;
    assert_eq!(r.status(), 201, "past the faults, /auth issues a token");
    assert_eq!(text(r).await.split('.').count(), 3, "a JWT-shaped token");
}

/// Two users of the demo tenant plus one, all on the subscription's budget unless told.
fn shared_budget_tenant(extra: &str) -> String {
    format!(
        "[limits]\nrate_limit = 2\nrate_window_secs = 3600\n{extra}\n[[users]]\nlogin = \"quays_ci2\"\npassword = \"p\"\n"
    )
}

async fn hld_by(sim: &qualys_harness::sim::RunningSimulator, user: &str, password: &str) -> u16 {
    let r = post_as(
        sim,
        HLD,
        user,
        password,
        &[("action", "list"), ("truncation_limit", "1")],
    )
    .await;
    let status = r.status().as_u16();
    let _ = text(r).await;
    status
}

#[tokio::test]
async fn users_of_one_subscription_share_the_rate_budget() {
    let sim = spawn_tenant(&shared_budget_tenant("")).await;
    assert_eq!(hld_by(&sim, USER, DEMO_PASSWORD).await, 200);
    assert_eq!(hld_by(&sim, USER, DEMO_PASSWORD).await, 200);
    let r = post_as(
        &sim,
        HLD,
        "quays_ci2",
        "p",
        &[("action", "list"), ("truncation_limit", "1")],
    )
    .await;
    assert_eq!(r.status(), 409, "another tool's calls drained the budget");
    assert_eq!(read_simple_return(&text(r).await).0, Some(1965));
    assert_eq!(
        hld_by(&sim, "quays_ci2", "p").await,
        409,
        "still blocked: the rolling window has not moved"
    );
}

#[tokio::test]
async fn a_per_user_budget_keeps_users_apart() {
    let sim = spawn_tenant(&shared_budget_tenant("per_user = true")).await;
    assert_eq!(hld_by(&sim, USER, DEMO_PASSWORD).await, 200);
    assert_eq!(hld_by(&sim, USER, DEMO_PASSWORD).await, 200);
    assert_eq!(hld_by(&sim, USER, DEMO_PASSWORD).await, 409);
    assert_eq!(hld_by(&sim, "quays_ci2", "p").await, 200);
}

#[tokio::test]
async fn calls_used_by_other_tools_count_against_the_subscription_budget() {
    let sim = spawn_tenant("[limits]\nrate_limit = 5\nused_by_others = 4\n").await;
    let r = hld(&sim).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let _ = text(r).await;
    let r = hld(&sim).await;
    assert_eq!(r.status(), 409);
    assert_eq!(read_simple_return(&text(r).await).0, Some(1965));
    let kb = post(&sim, KB, &[("action", "list"), ("ids", "6")]).await;
    assert_eq!(
        kb.headers()["x-ratelimit-remaining"],
        "0",
        "other tools called every API"
    );
}
