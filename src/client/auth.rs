//! How a request proves who sent it.
//!
//! The API server (FO and QPS families) takes HTTP Basic on every request. The API gateway
//! takes a bearer token: the client logs in once (`POST /auth` with the form fields `username`,
//! `password` and `token=true`; the body of the 201 answer is the JWT), reuses the token for
//! every gateway request, and when the gateway answers 401 "JWT expired" logs in again exactly
//! once and repeats the request ([`QualysClient::fetch`]).
//!
//! The password and the token are [`SecretString`]s: never logged, printed, journaled or
//! stored anywhere but here. The login form is built and sent in one place so that the password
//! never sits in a [`super::Request`], whose parameters are logged at debug level.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::CONTENT_TYPE;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use super::capture::BodyEnd;
use super::deadline::Watch;
use super::{QualysClient, capture_bounded, error_reader, read_bounded};
use crate::error::{Error, Exchange, Result};
use crate::qualys::endpoint::{self, Endpoint, Family};

/// The user's credentials.
pub(crate) struct Credentials {
    pub username: String,
    pub password: SecretString,
}

/// What one request carries to authenticate.
pub(crate) enum Authorization {
    /// HTTP Basic with the credentials (API server).
    Basic,
    /// A bearer token of the gateway session; `generation` tells tokens apart when one expires.
    Bearer {
        token: SecretString,
        generation: u64,
    },
}

/// The gateway session: the current token, if logged in.
#[derive(Default)]
pub(crate) struct Session {
    token: Mutex<Option<(SecretString, u64)>>,
    logins: AtomicU64,
}

impl Session {
    /// Logins so far (each one a `POST /auth`).
    pub(crate) fn logins(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }
}

impl QualysClient {
    /// The authorization a request to `endpoint` carries, logging in to the gateway first when
    /// the session has no token yet. Concurrent requests wait for the one login.
    pub(crate) async fn authorization(&self, endpoint: &Endpoint) -> Result<Authorization> {
        if endpoint.family != Family::Gateway {
            return Ok(Authorization::Basic);
        }
        let mut current = self.session.token.lock().await;
        if let Some((token, generation)) = &*current {
            return Ok(Authorization::Bearer {
                token: token.clone(),
                generation: *generation,
            });
        }
        let token = self.login().await?;
        let generation = self.session.logins.fetch_add(1, Ordering::Relaxed) + 1;
        *current = Some((token.clone(), generation));
        Ok(Authorization::Bearer { token, generation })
    }

    /// Forgets the token of `generation` because the gateway said it expired, unless another
    /// request has already replaced it; the next [`authorization`](Self::authorization) logs in
    /// again.
    pub(crate) async fn expire_token(&self, generation: u64) {
        let mut current = self.session.token.lock().await;
        if current.as_ref().is_some_and(|(_, g)| *g == generation) {
            *current = None;
        }
    }

    /// `POST /auth` on the gateway, with the client's retries for transient failures; a refused
    /// login is an account error and is not retried.
    async fn login(&self) -> Result<SecretString> {
        let path = endpoint::GATEWAY_AUTH.path();
        self.retrying(&path, async || self.login_attempt(&path).await)
            .await
    }

    async fn login_attempt(&self, path: &str) -> Result<SecretString> {
        let mut exchange = Exchange {
            endpoint: path.to_string(),
            status: None,
            page: None,
        };
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("username", &self.credentials.username)
            .append_pair("password", self.credentials.password.expose_secret())
            .append_pair("token", "true")
            .finish();
        self.live.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(endpoint = %path, "POST (gateway login)");
        let url = self.url(path, &[]);
        // The form holds the password and the answer the token: neither is captured.
        let mut capture = self.capture_begin(
            &endpoint::GATEWAY_AUTH,
            "POST",
            &url,
            Some("application/x-www-form-urlencoded"),
            None,
        );
        let watch = Watch::start(&self.limits);
        let sent = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send();
        let mut response = match watch.within(sent).await {
            Some(Ok(r)) => r,
            Some(Err(source)) => {
                if let Some(c) = capture {
                    c.end(BodyEnd::NoResponse);
                }
                return Err(self.send_error(&exchange, "sending the login request", source));
            }
            None => {
                if let Some(c) = capture {
                    c.end(BodyEnd::NoResponse);
                }
                return Err(watch.deadline_error(&exchange, 0));
            }
        };
        let status = response.status().as_u16();
        exchange.status = Some(status);
        self.server_date.observe(response.headers());
        if let Some(c) = capture.as_mut() {
            c.response(status, response.headers());
        }
        let facts = self
            .facts(
                &endpoint::GATEWAY_AUTH,
                exchange.clone(),
                response.headers(),
            )
            .await;
        let body = read_bounded(&mut response, &exchange, &watch).await;
        if response.status().is_success() {
            if let Some(c) = capture {
                c.end(BodyEnd::Withheld);
            }
        } else {
            capture_bounded(capture, &body);
        }
        let mut body = body?;
        if !response.status().is_success() {
            return Err(error_reader::read(&facts, &body));
        }
        let token = std::str::from_utf8(&body)
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(SecretString::from);
        body.zeroize();
        token.ok_or_else(|| Error::Unexpected {
            origin: exchange.to_string(),
            offset: 0,
            problem: format!(
                "the gateway accepted the login (HTTP {status}) but its body holds no token"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Mutex as StdMutex};

    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, Request as Received, Respond, ResponseTemplate};

    use super::*;
    use crate::client::Request;
    use crate::client::body_reader::BodyReader;
    use crate::client::error_reader::ResponseFacts;
    use crate::error::AccountProblem;

    const PASSWORD: &str = "pw-Gw!7-not-for-logs";
    const POLICY_LIST: &str = "/pcrs/1.0/posture/policy/list";
    const EXPIRED: &str = r#"{"status":401,"error":"Unauthorized","message":"JWT expired"}"#;

    /// `/auth` answering 201 with `jwt-1`, `jwt-2`, ... one new token per login.
    struct Tokens(AtomicUsize);

    impl Respond for Tokens {
        fn respond(&self, _: &Received) -> ResponseTemplate {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(201).set_body_string(format!("jwt-{n}"))
        }
    }

    async fn gateway() -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/auth"))
            .respond_with(Tokens(AtomicUsize::new(0)))
            .mount(&server)
            .await;
        server
    }

    async fn requests_to(server: &MockServer, p: &str) -> Vec<Received> {
        server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == p)
            .collect()
    }

    fn bearer(r: &Received) -> String {
        r.headers["authorization"].to_str().unwrap().to_string()
    }

    fn body_text(mut body: BodyReader, _: &ResponseFacts) -> Result<String> {
        let mut text = String::new();
        body.read_to_string(&mut text)
            .map_err(|e| Error::io("reading", "body", e))?;
        Ok(text)
    }

    async fn policy_list(client: &QualysClient) -> Result<String> {
        client
            .fetch(&Request::get(&endpoint::PCRS_POLICY_LIST), body_text)
            .await
    }

    #[tokio::test]
    async fn the_session_logs_in_once_with_the_documented_form_and_reuses_the_token() {
        let server = gateway().await;
        Mock::given(method("GET"))
            .and(path(POLICY_LIST))
            .and(header("authorization", "Bearer jwt-1"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&server)
            .await;
        let client = QualysClient::for_test(&server.uri(), PASSWORD);
        for _ in 0..3 {
            assert_eq!(policy_list(&client).await.unwrap(), "{}");
        }
        let logins = requests_to(&server, "/auth").await;
        assert_eq!(logins.len(), 1, "one login serves every request");
        assert_eq!(
            logins[0].headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&logins[0].body)
            .into_owned()
            .collect();
        assert_eq!(
            form,
            [
                ("username".to_string(), "quays_ab1".to_string()),
                ("password".to_string(), PASSWORD.to_string()),
                ("token".to_string(), "true".to_string()),
            ]
        );
        assert!(
            !logins[0].headers.contains_key("authorization"),
            "the login carries no Basic credentials"
        );
        assert_eq!(requests_to(&server, POLICY_LIST).await.len(), 3);
        assert_eq!(client.logins(), 1);
    }

    #[tokio::test]
    async fn an_expired_token_logs_in_again_once_and_repeats_the_request() {
        let server = gateway().await;
        Mock::given(method("GET"))
            .and(path(POLICY_LIST))
            .and(header("authorization", "Bearer jwt-1"))
            .respond_with(ResponseTemplate::new(401).set_body_string(EXPIRED))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(POLICY_LIST))
            .and(header("authorization", "Bearer jwt-2"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&server)
            .await;
        let client = QualysClient::for_test(&server.uri(), PASSWORD);
        assert_eq!(policy_list(&client).await.unwrap(), "{}");
        let calls = requests_to(&server, POLICY_LIST).await;
        assert_eq!(
            calls.iter().map(bearer).collect::<Vec<_>>(),
            ["Bearer jwt-1", "Bearer jwt-2"]
        );
        assert_eq!(client.logins(), 2);
        assert_eq!(
            client.live().get(&client.live().retries),
            0,
            "a new login is not a retry and costs no retry budget"
        );
        // The new token serves the next request without another login.
        assert_eq!(policy_list(&client).await.unwrap(), "{}");
        assert_eq!(client.logins(), 2);
    }

    #[tokio::test]
    async fn a_token_refused_as_expired_right_after_a_new_login_fails_the_request() {
        let server = gateway().await;
        Mock::given(method("GET"))
            .and(path(POLICY_LIST))
            .respond_with(ResponseTemplate::new(401).set_body_string(EXPIRED))
            .mount(&server)
            .await;
        let client = QualysClient::for_test(&server.uri(), PASSWORD);
        let e = policy_list(&client).await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Account {
                    problem: AccountProblem::SessionExpired,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(client.logins(), 2, "exactly one new login");
        assert_eq!(requests_to(&server, POLICY_LIST).await.len(), 2);
    }

    #[tokio::test]
    async fn a_refused_login_is_an_account_error_sent_once_and_never_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/auth"))
            .respond_with(ResponseTemplate::new(401).set_body_string(
                r#"{"authentication_exceptions": [["Authentication Failure: 1 errors, 0 successes: authenticationFailure.InvalidCredentialsException"]]}"#,
            ))
            .mount(&server)
            .await;
        let client = QualysClient::for_test(&server.uri(), PASSWORD);
        let e = policy_list(&client).await.unwrap_err();
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
        assert_eq!(e.exit_class(), crate::ExitClass::Account);
        assert_eq!(requests_to(&server, "/auth").await.len(), 1);
        assert!(requests_to(&server, POLICY_LIST).await.is_empty());
    }

    #[tokio::test]
    async fn a_login_answer_without_a_token_is_an_error() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/auth"))
            .respond_with(ResponseTemplate::new(201).set_body_string("  \n"))
            .mount(&server)
            .await;
        let client = QualysClient::for_test(&server.uri(), PASSWORD);
        let e = policy_list(&client).await.unwrap_err();
        assert!(e.to_string().contains("holds no token"), "{e}");
    }

    /// Installs, once per test process, a global subscriber that keeps every event of every
    /// crate at every level. Global because tracing caches per call site whether anyone
    /// listens, and a call site another test thread reached first stays deaf to a thread-local
    /// subscriber; the other tests' events land in the buffer too, which only widens the check.
    fn capture_all_logs() -> Arc<StdMutex<Vec<u8>>> {
        static CAPTURED: std::sync::OnceLock<Arc<StdMutex<Vec<u8>>>> = std::sync::OnceLock::new();
        CAPTURED
            .get_or_init(|| {
                #[derive(Clone)]
                struct Writer(Arc<StdMutex<Vec<u8>>>);
                impl std::io::Write for Writer {
                    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                        self.0.lock().unwrap().extend_from_slice(buf);
                        Ok(buf.len())
                    }
                    fn flush(&mut self) -> std::io::Result<()> {
                        Ok(())
                    }
                }
                let buffer = Arc::new(StdMutex::new(Vec::new()));
                let writer = Writer(buffer.clone());
                let subscriber = tracing_subscriber::fmt()
                    .with_max_level(tracing::Level::TRACE)
                    .with_writer(move || writer.clone())
                    .finish();
                tracing::subscriber::set_global_default(subscriber)
                    .expect("no other test installs a global subscriber");
                buffer
            })
            .clone()
    }

    /// Everything the client logs at every level while a session logs in, expires and logs in
    /// again, and the error it ends with: no password, no token.
    #[tokio::test]
    async fn neither_the_password_nor_a_token_reaches_the_logs_or_an_error() {
        let captured = capture_all_logs();
        let server = gateway().await;
        Mock::given(method("GET"))
            .and(path(POLICY_LIST))
            .respond_with(ResponseTemplate::new(401).set_body_string(EXPIRED))
            .mount(&server)
            .await;
        let client = QualysClient::for_test(&server.uri(), PASSWORD);
        let e = policy_list(&client).await.unwrap_err();
        let logs = String::from_utf8_lossy(&captured.lock().unwrap()).into_owned();
        assert!(
            logs.contains("logging in again"),
            "the logs were captured: {logs}"
        );
        for (what, text) in [("logs", logs), ("error", format!("{e} {e:?}"))] {
            for secret in [PASSWORD, "jwt-1", "jwt-2"] {
                assert!(!text.contains(secret), "{secret} in the {what}: {text}");
            }
        }
    }
}
