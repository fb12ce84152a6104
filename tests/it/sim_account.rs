//! Every account state answers the way Qualys does (or, where undocumented, the documented
//! choice in fixtures/README.md).

use crate::helpers::*;

async fn hld_as(user: &str, password: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let sim = spawn_demo().await;
    let r = post_as(&sim, HLD, user, password, &[("action", "list")]).await;
    (r.status().as_u16(), r.headers().clone(), text(r).await)
}

#[tokio::test]
async fn an_active_user_with_every_permission_gets_detections() {
    let (status, headers, body) = hld_as(USER, DEMO_PASSWORD).await;
    assert_eq!(status, 200);
    assert!(headers.contains_key("x-ratelimit-remaining"));
    assert!(!read_hld(&body).0.is_empty());
}

#[tokio::test]
async fn a_wrong_password_gets_401_code_2000_without_limit_headers() {
    let (status, headers, body) = hld_as(USER, "not-demo").await;
    assert_eq!(status, 401);
    assert_eq!(read_simple_return(&body).0, Some(2000));
    assert_eq!(read_simple_return(&body).1, "Bad Login/Password");
    assert!(
        !headers.contains_key("x-ratelimit-limit"),
        "the recorded 401 carries no limit headers"
    );
}

#[tokio::test]
async fn an_unknown_user_and_a_missing_login_get_the_same_401() {
    let (status, _, body) = hld_as("quays_zz9", DEMO_PASSWORD).await;
    assert_eq!((status, read_simple_return(&body).0), (401, Some(2000)));
    let sim = spawn_demo().await;
    let r = client()
        .get(sim.url(HLD))
        .query_pairs_free("action=list")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(read_simple_return(&text(r).await).0, Some(2000));
}

#[tokio::test]
async fn a_user_without_api_access_gets_bad_login_like_a_wrong_password() {
    let (status, _, body) = hld_as("quays_noapi1", DEMO_PASSWORD).await;
    assert_eq!(status, 401);
    assert_eq!(
        read_simple_return(&body),
        (Some(2000), "Bad Login/Password".into(), vec![])
    );
}

#[tokio::test]
async fn an_unactivated_user_gets_409_code_2003() {
    let (status, _, body) = hld_as("quays_na1", DEMO_PASSWORD).await;
    assert_eq!(status, 409);
    let (code, text, _) = read_simple_return(&body);
    assert_eq!(code, Some(2003));
    assert!(text.starts_with("Registration must be completed"), "{text}");
}

#[tokio::test]
async fn an_expired_account_gets_code_2001_inside_http_200() {
    let (status, _, body) = hld_as("quays_ex1", DEMO_PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(
        read_simple_return(&body),
        (Some(2001), "This account has expired.".into(), vec![])
    );
}

#[tokio::test]
async fn a_user_without_manage_vm_gets_403_naming_the_permission_on_every_vm_endpoint() {
    let sim = spawn_demo().await;
    for path in [HLD, HOST_LIST, KB] {
        let r = post_as(
            &sim,
            path,
            "quays_novm1",
            DEMO_PASSWORD,
            &[("action", "list")],
        )
        .await;
        assert_eq!(r.status(), 403, "{path}");
        assert!(r.headers().contains_key("x-ratelimit-limit"), "{path}");
        let (code, text, _) = read_simple_return(&text(r).await);
        assert_eq!(code, None, "no CODE on the permission answer");
        assert!(text.contains("\"Manage VM module\""), "{text}");
    }
}

#[tokio::test]
async fn users_missing_was_or_pc_permissions_still_reach_vm_endpoints() {
    let sim = spawn_demo().await;
    for user in ["quays_nowas1", "quays_nopc1"] {
        let r = post_as(&sim, HLD, user, DEMO_PASSWORD, &[("action", "list")]).await;
        assert_eq!(r.status(), 200, "{user}");
    }
}

#[tokio::test]
async fn inactive_and_secure_id_accounts_get_their_409_codes() {
    let sim = spawn_tenant(
        r#"
        [[users]]
        login = "quays_in1"
        password = "p"
        state = "inactive"
        [[users]]
        login = "quays_sid1"
        password = "p"
        state = "secure_id_required"
        "#,
    )
    .await;
    for (user, code) in [("quays_in1", 2002), ("quays_sid1", 2011)] {
        let r = post_as(&sim, HLD, user, "p", &[("action", "list")]).await;
        assert_eq!(r.status(), 409, "{user}");
        assert_eq!(read_simple_return(&text(r).await).0, Some(code), "{user}");
    }
}

trait QueryFree {
    fn query_pairs_free(self, q: &str) -> Self;
}

impl QueryFree for reqwest::RequestBuilder {
    fn query_pairs_free(self, q: &str) -> Self {
        // reqwest's `query` needs a feature this crate does not enable; the tests build URLs.
        let (client, req) = self.build_split();
        let mut req = req.expect("a valid request");
        req.url_mut().set_query(Some(q));
        reqwest::RequestBuilder::from_parts(client, req)
    }
}

/// The refusals of the other two API families, each in its own dialect.
mod other_families {
    use super::*;

    const WAS_SEARCH: &str = "/qps/rest/3.0/search/was/finding";
    const POSTURE: &str = "/pcrs/1.0/posture/postureInfo";

    async fn was_as(user: &str, password: &str) -> (u16, String) {
        let sim = spawn_demo().await;
        let r = client()
            .post(sim.url(WAS_SEARCH))
            .basic_auth(user, Some(password))
            .header("Content-Type", "text/xml")
            .body("<ServiceRequest/>")
            .send()
            .await
            .unwrap();
        assert!(!r.headers().contains_key("x-powered-by"));
        (r.status().as_u16(), text(r).await)
    }

    #[tokio::test]
    async fn a_wrong_password_on_qps_is_invalid_credentials_inside_http_200() {
        let (status, body) = was_as(USER, "not-demo").await;
        assert_eq!(status, 200, "QPS says no inside HTTP 200");
        assert!(
            body.contains("<responseCode>INVALID_CREDENTIALS</responseCode>"),
            "{body}"
        );
        assert!(body.contains("<errorMessage>Authentication failed</errorMessage>"));
    }

    #[tokio::test]
    async fn a_user_without_the_was_module_is_unauthorized_on_qps() {
        let (status, body) = was_as("quays_nowas1", DEMO_PASSWORD).await;
        assert_eq!(status, 200);
        assert!(
            body.contains("<responseCode>UNAUTHORIZED</responseCode>"),
            "{body}"
        );
        let (status, body) = was_as("quays_na1", DEMO_PASSWORD).await;
        assert_eq!(status, 200);
        assert!(body.contains("Registration must be completed"), "{body}");
    }

    #[tokio::test]
    async fn a_gateway_call_without_a_session_is_not_authenticated_and_never_journals_the_token() {
        let sim = spawn_demo().await;
        let token = "eyJhbGciOi.distinctive-token.sig";
        let r = client()
            .post(sim.url(POSTURE))
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body("[]")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            text(r).await,
            r#"{"status":401,"error":"Unauthorized","message":"Not authenticated"}"#
        );
        // Basic is no way into the gateway either.
        let r = post(&sim, POSTURE, &[]).await;
        assert_eq!(r.status(), 401);
        let journal = format!("{:?}", sim.journal().entries());
        assert!(!journal.contains("distinctive-token"), "{journal}");
    }

    #[tokio::test]
    async fn a_failed_gateway_login_is_the_auth_401() {
        let sim = spawn_demo().await;
        let r = client()
            .post(sim.url("/auth"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode_form(&[("username", USER), ("password", "nope")]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = serde_json::from_str(&text(r).await).unwrap();
        assert!(
            body["authentication_exceptions"][0][0]
                .as_str()
                .unwrap()
                .ends_with("InvalidCredentialsException")
        );
    }
}

#[tokio::test]
async fn a_password_with_the_right_prefix_and_256_more_characters_is_refused() {
    // Lengths that differ by a multiple of 256 once looked equal to a `u8` comparison.
    let long = format!("{DEMO_PASSWORD}{}", "x".repeat(256));
    let (status, _, body) = hld_as(USER, &long).await;
    assert_eq!(status, 401);
    assert_eq!(read_simple_return(&body).0, Some(2000));
    let (status, _, _) = hld_as(USER, &DEMO_PASSWORD[..3]).await;
    assert_eq!(status, 401, "a prefix of the password is no password");
}

#[tokio::test]
async fn account_state_answers_with_http_409_carry_the_six_limit_headers() {
    // fixtures/README.md: only the recorded 401 and 2001 answers lack them.
    let sim = spawn_tenant(
        r#"
        [[users]]
        login = "quays_in1"
        password = "p"
        state = "inactive"
        [[users]]
        login = "quays_sid1"
        password = "p"
        state = "secure_id_required"
        "#,
    )
    .await;
    for (user, password, code) in [
        ("quays_na1", DEMO_PASSWORD, 2003),
        ("quays_in1", "p", 2002),
        ("quays_sid1", "p", 2011),
    ] {
        let r = post_as(&sim, HLD, user, password, &[("action", "list")]).await;
        assert_eq!(r.status(), 409, "{user}");
        for h in [
            "x-ratelimit-limit",
            "x-ratelimit-window-sec",
            "x-ratelimit-remaining",
            "x-ratelimit-towait-sec",
            "x-concurrency-limit-limit",
            "x-concurrency-limit-running",
        ] {
            assert!(r.headers().contains_key(h), "{user}: CODE {code} lacks {h}");
        }
        assert_eq!(read_simple_return(&text(r).await).0, Some(code));
    }
    let (_, expired, _) = hld_as("quays_ex1", DEMO_PASSWORD).await;
    assert!(
        !expired.contains_key("x-ratelimit-limit"),
        "the recorded 2001 answer carries none"
    );
}
