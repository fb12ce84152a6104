//! The web-server side: API versions, methods, about.php, redirects, headers, errors, TLS.

use qualys_harness::sim::{Simulator, SimulatorConfig};

use crate::helpers::*;

#[tokio::test]
async fn every_api_version_serves_the_same_hosts_and_only_v5_adds_unique_vuln_id() {
    let sim = spawn_demo().await;
    let mut pages = Vec::new();
    for v in ["2.0", "3.0", "4.0", "5.0"] {
        let body = text(
            post(
                &sim,
                &format!("/api/{v}/fo/asset/host/vm/detection/"),
                &[("action", "list"), ("truncation_limit", "3")],
            )
            .await,
        )
        .await;
        assert_eq!(body.contains("<UNIQUE_VULN_ID>"), v == "5.0", "{v}");
        pages.push(read_hld(&body).0.iter().map(|h| h.id).collect::<Vec<_>>());
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn get_and_post_answer_the_same() {
    let sim = spawn_demo().await;
    let p = [
        ("action", "list"),
        ("truncation_limit", "4"),
        ("show_tags", "1"),
        ("status", "New,Fixed"),
    ];
    let a = read_hld(&text(post(&sim, HLD, &p).await).await);
    let b = read_hld(&text(get(&sim, HLD, &p).await).await);
    assert_eq!(a.0, b.0);
}

#[tokio::test]
async fn about_php_answers_with_and_without_a_trailing_slash() {
    let sim = spawn_demo().await;
    for path in ["/msp/about.php", "/msp/about.php/"] {
        let r = get(&sim, path, &[]).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(parse(&text(r).await).name, "ABOUT");
    }
}

#[tokio::test]
async fn a_missing_trailing_slash_on_an_fo_path_answers_301_with_an_html_body() {
    let sim = spawn_demo().await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = sim.url("/api/2.0/fo/asset/host/vm/detection");
    url.set_query(Some("action=list"));
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), 301);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        location,
        format!(
            "{}api/2.0/fo/asset/host/vm/detection/?action=list",
            sim.base_url
        )
    );
    assert!(!r.headers().contains_key("x-ratelimit-limit"));
    let body = text(r).await;
    assert!(body.starts_with("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">"));
    assert!(body.contains(&format!("<a href=\"{location}\">here</a>")));
}

#[tokio::test]
async fn every_fo_answer_after_login_carries_the_six_limit_headers() {
    let sim = spawn_tenant(
        "[[users]]\nlogin = \"quays_one1\"\npassword = \"p\"\nlimits = { rate_limit = 1 }\n",
    )
    .await;
    let names = [
        "x-ratelimit-limit",
        "x-ratelimit-window-sec",
        "x-ratelimit-remaining",
        "x-ratelimit-towait-sec",
        "x-concurrency-limit-limit",
        "x-concurrency-limit-running",
    ];
    async fn head(r: reqwest::Response) -> (u16, reqwest::header::HeaderMap) {
        let out = (r.status().as_u16(), r.headers().clone());
        let _ = r.bytes().await;
        out
    }
    let ok = head(post(&sim, HLD, &[("action", "list"), ("truncation_limit", "1")]).await).await;
    let bad = head(post(&sim, HLD, &[("action", "list"), ("nonsense", "1")]).await).await;
    let denied = head(
        post_as(
            &sim,
            KB,
            "quays_novm1",
            DEMO_PASSWORD,
            &[("action", "list")],
        )
        .await,
    )
    .await;
    let _ = head(
        post_as(
            &sim,
            HLD,
            "quays_one1",
            "p",
            &[("action", "list"), ("truncation_limit", "1")],
        )
        .await,
    )
    .await;
    let limited = head(post_as(&sim, HLD, "quays_one1", "p", &[("action", "list")]).await).await;
    for (what, (_, h)) in [
        ("200", &ok),
        ("400", &bad),
        ("403", &denied),
        ("409", &limited),
    ] {
        for n in names {
            assert!(h.contains_key(n), "{what} lacks {n}");
        }
    }
    assert_eq!(ok.1["x-ratelimit-limit"], "300");
    assert_eq!(ok.1["x-ratelimit-window-sec"], "3600");
    assert_eq!(ok.1["x-concurrency-limit-limit"], "2");
    assert_eq!(limited.0, 409);
}

#[tokio::test]
async fn unknown_parameters_get_1901_and_bad_values_1905() {
    let sim = spawn_demo().await;
    let r = post(&sim, HLD, &[("action", "list"), ("show_everything", "1")]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        read_simple_return(&text(r).await),
        (
            Some(1901),
            "Unrecognized parameter(s): show_everything".into(),
            vec![]
        )
    );
    let r = post(&sim, HLD, &[("action", "list"), ("ids", "abc123")]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        read_simple_return(&text(r).await).1,
        "parameter ids has invalid value: abc123 (neither a positive integer nor a range: abc123)"
    );
    let r = post(&sim, HLD, &[("truncation_limit", "5")]).await;
    assert_eq!(
        read_simple_return(&text(r).await).1,
        "Missing required parameter(s): action"
    );
}

#[tokio::test]
async fn documented_parameters_are_accepted_and_the_request_echoed() {
    let sim = spawn_demo().await;
    let p = [
        ("action", "list"),
        ("echo_request", "1"),
        ("output_format", "XML"),
        ("show_results", "0"),
        ("show_reopened_info", "1"),
        ("include_ignored", "1"),
        ("include_disabled", "1"),
        ("qids", "38170-38800"),
        ("severities", "1-5"),
        ("ips", "192.0.2.1-203.0.113.254"),
        ("vm_processed_after", "2020-01-01"),
        ("show_qds", "1"),
        ("truncation_limit", "2"),
    ];
    let r = post(&sim, HLD, &p).await;
    assert_eq!(r.status(), 200);
    let body = text(r).await;
    let root = parse(&body);
    assert_eq!(
        root.text_at("REQUEST/USER_LOGIN"),
        Some(USER),
        "echo_request=1 adds REQUEST"
    );
    assert!(!body.contains("<RESULTS>"), "show_results=0 drops RESULTS");
}

#[tokio::test]
async fn an_unmodelled_path_gets_a_404_that_says_what_is_modelled() {
    let sim = spawn_demo().await;
    let r = get(&sim, "/api/2.0/fo/scan/", &[("action", "list")]).await;
    assert_eq!(r.status(), 404);
    assert!(text(r).await.contains("not a modelled endpoint"));
}

#[tokio::test]
async fn tls_serves_the_same_api_with_a_self_signed_certificate() {
    let sim = Simulator::start(SimulatorConfig::demo().tls(true))
        .await
        .unwrap();
    assert_eq!(sim.base_url.scheme(), "https");
    let cert = reqwest::Certificate::from_pem(sim.certificate_pem().unwrap().as_bytes()).unwrap();
    let c = reqwest::Client::builder()
        .tls_certs_only([cert])
        .build()
        .unwrap();
    let r = c
        .get(sim.url("/msp/about.php"))
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut url = sim.url(HLD);
    url.set_query(Some("action=list&truncation_limit=1"));
    let body = c
        .get(url)
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, warning) = read_hld(&body);
    assert!(
        warning.unwrap().starts_with("https://127.0.0.1:"),
        "the WARNING URL keeps the https origin"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let sim = spawn_demo().await;
    let url = sim.url("/msp/about.php");
    sim.shutdown().await;
    assert!(client().get(url).send().await.is_err());
}

/// Sends raw bytes on a fresh connection and returns the status line of the answer.
async fn raw_status_line(sim: &qualys_harness::sim::RunningSimulator, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("the simulator answers")
        .unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn bad_chunked_encoding_answers_400_not_413() {
    let sim = spawn_demo().await;
    let line = raw_status_line(
        &sim,
        &format!(
            "POST {HLD} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\naction=list\r\n0\r\n\r\n"
        ),
    )
    .await;
    assert!(line.starts_with("HTTP/1.1 400"), "{line}");
}

#[tokio::test]
async fn a_body_over_the_size_cap_still_answers_413() {
    let sim = spawn_demo().await;
    let line = raw_status_line(
        &sim,
        &format!(
            "POST {HLD} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 17000000\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\r\naction=list"
        ),
    )
    .await;
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");
}

#[tokio::test]
async fn about_php_tells_clients_the_limits_to_size_themselves() {
    let sim = spawn_tenant("[limits]\nrate_limit = 450\nconcurrency_limit = 5\n").await;
    let r = get(&sim, "/msp/about.php", &[]).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["x-ratelimit-limit"], "450");
    assert_eq!(h["x-concurrency-limit-limit"], "5");
    assert_eq!(h["x-ratelimit-window-sec"], "3600");
    assert_eq!(
        h["x-ratelimit-remaining"], "450",
        "about.php is not counted"
    );
    let _ = text(r).await;
    let _ = text(post(&sim, HLD, &[("action", "list"), ("truncation_limit", "1")]).await).await;
    let r = get(&sim, "/msp/about.php", &[]).await;
    assert_eq!(
        r.headers()["x-ratelimit-remaining"],
        "450",
        "Host List Detection has a budget of its own"
    );
}

#[tokio::test]
async fn require_requested_with_answers_400_to_api_calls_without_the_header() {
    let sim = spawn_tenant("require_requested_with = true\n").await;
    let bare = |path: &str| {
        client()
            .post(sim.url(path))
            .basic_auth(USER, Some(DEMO_PASSWORD))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("action=list&truncation_limit=1")
    };
    let r = bare(HLD).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let (code, text_, _) = read_simple_return(&text(r).await);
    assert_eq!(code, Some(1903));
    assert!(text_.contains("X-Requested-With"), "{text_}");
    assert_eq!(bare(KB).send().await.unwrap().status(), 400);
    let r = post(&sim, HLD, &[("action", "list"), ("truncation_limit", "1")]).await;
    assert_eq!(r.status(), 200, "with the header the call goes through");
    let r = client()
        .get(sim.url("/msp/about.php"))
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "about.php is not an /api/ call");
    let journal = sim.journal().entries();
    assert_eq!(journal[0].status, 400, "the refused call is journalled");
}

#[tokio::test]
async fn slow_header_connections_are_capped_and_closed_while_a_normal_request_gets_through() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = Simulator::start(
        SimulatorConfig::demo()
            .max_connections(4)
            .header_read_timeout(Duration::from_millis(800)),
    )
    .await
    .unwrap();
    // Twelve clients that start a request head and never finish it.
    let mut slow = Vec::new();
    for _ in 0..12 {
        let mut s = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
        s.write_all(b"GET /msp/about.php HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    let mut peak = 0;
    for _ in 0..20 {
        peak = peak.max(sim.open_connections());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        peak, 4,
        "the simulator serves at most 4 connections at once"
    );
    let r = client()
        .get(sim.url("/msp/about.php"))
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("a normal request gets through once the slow heads time out");
    assert_eq!(r.status(), 200);
    // Every slow client is disconnected by the server: its read ends.
    for (i, s) in slow.iter_mut().enumerate() {
        let mut buf = [0u8; 512];
        let ended = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "slow client {i} is still connected");
    }
    sim.shutdown().await;
}

/// The `Date` headers of an answer.
fn dates(answer: &reqwest::Response) -> Vec<String> {
    answer
        .headers()
        .get_all("date")
        .iter()
        .map(|d| d.to_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_answer_carries_one_date_from_the_tenants_clock() {
    let sim = spawn_tenant(r#"clock = "2024-06-10T00:00:00Z""#).await;
    let hosts = "/api/2.0/fo/asset/host/";
    let answers = [
        ("FO", post(&sim, hosts, &[("action", "list")]).await),
        (
            "an FO refusal",
            post_as(&sim, hosts, USER, "wrong", &[("action", "list")]).await,
        ),
        (
            "QPS",
            client()
                .post(sim.url("/qps/rest/3.0/search/was/webapp"))
                .basic_auth(USER, Some(DEMO_PASSWORD))
                .header("Content-Type", "text/xml")
                .body("<ServiceRequest/>")
                .send()
                .await
                .unwrap(),
        ),
        (
            "the gateway's login",
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
                .unwrap(),
        ),
        ("an unknown path", get(&sim, "/no/such/path", &[]).await),
        (
            "the admin API",
            admin(&sim, reqwest::Method::GET, "/__sim/health")
                .send()
                .await
                .unwrap(),
        ),
    ];
    for (what, answer) in &answers {
        assert_eq!(
            dates(answer),
            ["Mon, 10 Jun 2024 00:00:00 GMT"],
            "{what} ({})",
            answer.status()
        );
    }
    assert_eq!(answers[1].1.status().as_u16(), 401, "the refusal is one");

    let moved = admin(&sim, reqwest::Method::POST, "/__sim/clock")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("now=2024-06-16T12:30:05Z")
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status().as_u16(), 200);
    assert_eq!(dates(&moved), ["Sun, 16 Jun 2024 12:30:05 GMT"]);
    let after = post(&sim, hosts, &[("action", "list")]).await;
    assert_eq!(dates(&after), ["Sun, 16 Jun 2024 12:30:05 GMT"]);
}

#[tokio::test]
async fn without_a_tenant_clock_the_date_is_the_real_time() {
    let sim = spawn_demo().await;
    let before = std::time::SystemTime::now();
    let answer = post(&sim, "/api/2.0/fo/asset/host/", &[("action", "list")]).await;
    let after = std::time::SystemTime::now();
    let sent = dates(&answer);
    assert_eq!(sent.len(), 1, "exactly one Date: {sent:?}");
    let at = httpdate::parse_http_date(&sent[0]).unwrap();
    let second = std::time::Duration::from_secs(1);
    assert!(
        before - second <= at && at <= after,
        "{} is not between the request and the answer",
        sent[0]
    );
}
