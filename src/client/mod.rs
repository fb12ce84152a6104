//! The HTTP side of the connector, and nothing else: requests, authentication, retries, rate
//! limits, and the hand-off of response bodies to the streaming parsers.
//!
//! # How a request flows
//!
//! 1. A stream builds a [`Request`]: an endpoint of the registry ([`crate::qualys::endpoint`]),
//!    a method, a query and a [`Body`] in its family's format (a form for the FO API, a
//!    [`ServiceRequest`] for QPS, JSON for the gateway).
//! 2. [`QualysClient::fetch`] sends it to the configured platform origin, authenticated for its
//!    family ([`auth`]: Basic on the API server, a bearer session on the gateway). Redirects are
//!    never followed: credentials go to the configured origin and nowhere else.
//! 3. A 2xx body is streamed through a bounded channel ([`body_reader`]) into the caller's parse
//!    function, which runs on a blocking thread and may itself find an error inside the 200
//!    (a `SIMPLE_RETURN`, a `ServiceResponse` that is not `SUCCESS`).
//! 4. Anything else is read (bounded) and turned into an [`Error`] by its family's reader
//!    ([`error_reader`]).
//! 5. [`retry`] decides whether to try again, within the run's budget of attempts and waiting.
//!
//! Everything a server sends is untrusted: waits are clamped ([`crate::error::MAX_SERVER_WAIT`])
//! and all clock arithmetic is checked, a request has a deadline (`request_timeout_secs`) and
//! its body a minimum throughput ([`deadline`]), and a certificate that does not verify is a
//! permanent [`Error::Certificate`], not a network hiccup to retry.
//!
//! Where the next page starts is not the client's business: see [`crate::stream::cursor`].
//! The `Date` of the run's first answer, whatever its status, is kept ([`server_date`]): the
//! server's clock, which an incremental run's start is taken from ([`crate::state`]).

pub mod auth;
pub mod body_reader;
pub mod capture;
pub mod deadline;
pub mod error_reader;
pub mod request;
pub mod retry;
pub mod server_date;
pub mod service_request;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use secrecy::ExposeSecret;
use tokio::sync::{Mutex, mpsc};
use url::Url;

use self::auth::{Authorization, Credentials, Session};
use self::body_reader::{BodyReader, CHANNEL_CHUNKS};
use self::capture::{BodyEnd, Capture, CapturedExchange, CapturedRequest};
use self::deadline::{Limits, Watch};
use self::error_reader::ResponseFacts;
use self::retry::RateState;
use self::server_date::ServerDate;
use crate::config::{CommonConfig, RetryPolicy};
use crate::error::{AccountProblem, Error, Exchange, Result, server_wait};
use crate::qualys::endpoint::{Endpoint, Family};
use crate::qualys::fo::header;
use crate::qualys::platform;

pub use self::request::{Body, Request};
pub use self::service_request::{Operator, ServiceRequest};

/// Bodies of error responses are read up to this size; Qualys error pages are a few hundred
/// bytes, so anything larger is cut rather than buffered.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Counters a progress display can read while a run is going on.
#[derive(Debug, Default)]
pub struct LiveCounters {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
    pub retries: AtomicU64,
    pub pages: AtomicU64,
    pub records: AtomicU64,
}

impl LiveCounters {
    pub fn get(&self, counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A client for one Qualys platform and one user.
pub struct QualysClient {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
    session: Session,
    retry: RetryPolicy,
    limits: Limits,
    /// The `ca_cert` file, named when a certificate does not verify.
    ca_cert: Option<std::path::PathBuf>,
    rate: Mutex<RateState>,
    live: Arc<LiveCounters>,
    /// The `Date` of the run's first answer ([`server_date`]).
    server_date: Arc<ServerDate>,
    /// Told about every attempt when the run is recorded (`fetch --record`).
    capture: Option<Arc<dyn Capture>>,
}

impl QualysClient {
    /// Builds the client from the checked common settings.
    pub fn new(config: &CommonConfig) -> Result<QualysClient> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(concat!("qualys-harness/", env!("CARGO_PKG_VERSION")));
        if platform::is_loopback(&config.base_url) {
            // A simulator on 127.0.0.1 must never be reached through a proxy from the environment.
            builder = builder.no_proxy();
        }
        if let Some(ca) = &config.ca_cert {
            // The settings checked the file already; this cannot fail for a file that passed.
            let certs = reqwest::Certificate::from_pem_bundle(&ca.pem).map_err(|e| {
                Error::config(
                    "ca_cert",
                    format!("{} is not a PEM certificate bundle: {e}", ca.path.display()),
                    "give the PEM file the server's certificate was written to (e.g. qharness serve --cert-out)",
                )
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| Error::Http {
            exchange: Exchange {
                endpoint: config.base_url.to_string(),
                status: None,
                page: None,
            },
            during: "setting up the HTTP client",
            source: e,
        })?;
        let mut base = config.base_url.clone();
        let trimmed = base.path().trim_end_matches('/').to_string();
        base.set_path(&trimmed);
        Ok(QualysClient {
            http,
            base,
            credentials: Credentials {
                username: config.username.clone(),
                password: config.password.clone(),
            },
            session: Session::default(),
            retry: config.retry,
            limits: Limits {
                request: config.request_timeout,
                min_throughput: config.min_throughput,
            },
            ca_cert: config.ca_cert.as_ref().map(|c| c.path.clone()),
            rate: Mutex::new(RateState::default()),
            live: Arc::new(LiveCounters::default()),
            server_date: Arc::new(ServerDate::default()),
            capture: None,
        })
    }

    /// Tells `capture` about every attempt from now on ([`capture`]).
    pub fn set_capture(&mut self, capture: Arc<dyn Capture>) {
        self.capture = Some(capture);
    }

    /// Starts capturing one exchange, when a capture is set.
    fn capture_begin(
        &self,
        endpoint: &'static Endpoint,
        method: &str,
        url: &Url,
        content_type: Option<&str>,
        body: Option<bytes::Bytes>,
    ) -> Option<Box<dyn CapturedExchange>> {
        self.capture.as_ref().map(|c| {
            c.begin(CapturedRequest {
                endpoint,
                method,
                url,
                content_type,
                body,
            })
        })
    }

    /// Live counters for progress displays.
    pub fn live(&self) -> Arc<LiveCounters> {
        self.live.clone()
    }

    /// The server's time at the first answer of the run (its `Date` header), if it sent one.
    pub fn first_server_date(&self) -> Option<crate::config::QualysDateTime> {
        self.server_date.first()
    }

    /// The first answer's `Date`, as it becomes known, for whoever outlives a borrow of the
    /// client (the state of a `fetch --state` run).
    pub fn server_date(&self) -> Arc<ServerDate> {
        self.server_date.clone()
    }

    /// The configured platform origin.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Total time spent waiting on backoff and rate limits.
    pub async fn waited(&self) -> Duration {
        self.rate.lock().await.waited
    }

    /// Gateway logins so far.
    pub fn logins(&self) -> u64 {
        self.session.logins()
    }

    fn url(&self, path: &str, query: &[(String, String)]) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        url
    }

    /// Sends `request`, retrying transient failures, and hands a 2xx body to `parse`.
    ///
    /// `parse` runs on a blocking thread and may run more than once (once per attempt); it must
    /// not have side effects outside its return value, which is what makes retries safe. On the
    /// gateway, a 401 "JWT expired" logs in again once and repeats the request, outside the
    /// retry budget.
    pub async fn fetch<T, F>(&self, request: &Request, parse: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(BodyReader, &ResponseFacts) -> Result<T> + Send + Sync + 'static,
    {
        let parse = Arc::new(parse);
        let mut renewed = false;
        self.retrying(&request.path, async || {
            let auth = self.authorization(request.endpoint).await?;
            match self.attempt(request, &auth, parse.clone()).await {
                Err(Error::Account {
                    problem: AccountProblem::SessionExpired,
                    ..
                }) if !renewed => {
                    renewed = true;
                    if let Authorization::Bearer { generation, .. } = auth {
                        self.expire_token(generation).await;
                    }
                    tracing::info!(
                        endpoint = %request.path,
                        "the gateway says the session token expired; logging in again"
                    );
                    let auth = self.authorization(request.endpoint).await?;
                    self.attempt(request, &auth, parse.clone()).await
                }
                other => other,
            }
        })
        .await
    }

    async fn attempt<T, F>(
        &self,
        request: &Request,
        auth: &Authorization,
        parse: Arc<F>,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(BodyReader, &ResponseFacts) -> Result<T> + Send + Sync + 'static,
    {
        let mut exchange = Exchange {
            endpoint: request.path.clone(),
            status: None,
            page: request.page,
        };
        self.live.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            endpoint = %request.path,
            page = request.page,
            query = ?request.query,
            body = ?request.body,
            "{}",
            request.method
        );
        let url = self.url(&request.path, &request.query);
        let watch = Watch::start(&self.limits);
        let mut capture = self.capture_begin(
            request.endpoint,
            request.method.as_str(),
            &url,
            request.body.content_type(),
            self.capture
                .is_some()
                .then(|| request.body.to_bytes().into()),
        );
        let mut builder = self.http.request(request.method.clone(), url);
        builder = match auth {
            Authorization::Basic => builder.basic_auth(
                &self.credentials.username,
                Some(self.credentials.password.expose_secret()),
            ),
            // reqwest marks the header sensitive, so it is never printed.
            Authorization::Bearer { token, .. } => builder.bearer_auth(token.expose_secret()),
        };
        if request.endpoint.family == Family::Fo {
            builder = builder.header(header::REQUESTED_WITH, "qualys-harness");
        }
        if let Some(content_type) = request.body.content_type() {
            builder = builder
                .header(CONTENT_TYPE, content_type)
                .body(request.body.to_bytes());
        }
        let mut response = match watch.within(builder.send()).await {
            Some(Ok(r)) => r,
            Some(Err(source)) => {
                if let Some(c) = capture {
                    c.end(BodyEnd::NoResponse);
                }
                return Err(self.send_error(&exchange, "sending the request", source));
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
            .facts(request.endpoint, exchange.clone(), response.headers())
            .await;

        let is_html = facts
            .content_type
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
        if !response.status().is_success() || is_html {
            let body = read_bounded(&mut response, &exchange, &watch).await;
            capture_bounded(capture, &body);
            let body = body?;
            self.live
                .bytes
                .fetch_add(body.len() as u64, Ordering::Relaxed);
            return Err(error_reader::read(&facts, &body));
        }

        let (tx, rx) = mpsc::channel::<io::Result<bytes::Bytes>>(CHANNEL_CHUNKS);
        let parse_facts = facts.clone();
        let parser = tokio::task::spawn_blocking(move || parse(BodyReader::new(rx), &parse_facts));
        let mut body_error = None;
        let mut end = BodyEnd::Complete;
        let mut body = watch.body();
        loop {
            let chunk = match body.next(&mut response).await {
                Ok(chunk) => chunk,
                Err(stop) => {
                    end = BodyEnd::Broken;
                    // Tell the parser the body ends here, then report why.
                    let _ = tx
                        .send(Err(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            "the body stopped arriving",
                        )))
                        .await;
                    body_error = Some(stop.into_error(&exchange, "reading the response body"));
                    break;
                }
            };
            match chunk {
                Some(chunk) => {
                    self.live
                        .bytes
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if let Some(c) = capture.as_mut() {
                        c.chunk(&chunk);
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        // The parser stopped early (it found an error); the rest is not needed.
                        end = BodyEnd::Stopped;
                        break;
                    }
                }
                None => break,
            }
        }
        drop(tx);
        if let Some(c) = capture {
            c.end(end);
        }
        let parsed = match parser.await {
            Ok(result) => result,
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(join) => {
                return Err(Error::Unexpected {
                    origin: exchange.to_string(),
                    offset: 0,
                    problem: format!("the parser task was cancelled: {join}"),
                });
            }
        };
        match (parsed, body_error) {
            (Err(_), Some(e)) => Err(e),
            (result, _) => result,
        }
    }

    /// The error for a request that could not be sent or whose connection failed: a
    /// certificate that does not verify is permanent and says what to check; anything else is
    /// a network failure, retried. The URL is left out of reqwest's message: the exchange names
    /// the endpoint already.
    fn send_error(
        &self,
        exchange: &Exchange,
        during: &'static str,
        source: reqwest::Error,
    ) -> Error {
        if let Some(problem) = deadline::certificate_problem(&source) {
            let remediation = match &self.ca_cert {
                Some(path) => format!(
                    "the server's certificate does not verify against the CA certificate in ca_cert (--ca-cert {}); give the CA that signed the server's certificate (for `qharness serve --tls`, the file its --cert-out wrote), and check that platform_url names the host the certificate was issued for",
                    path.display()
                ),
                None => "if the server uses a private CA or a self-signed certificate (as `qharness serve --tls` does), pass that CA certificate with --ca-cert FILE (ca_cert); if a TLS-inspecting proxy sits between you and Qualys, pass the proxy's CA certificate; and check that platform_url names the host the certificate was issued for".into(),
            };
            return Error::Certificate {
                exchange: exchange.clone(),
                problem,
                remediation,
                source: source.without_url(),
            };
        }
        Error::Http {
            exchange: exchange.clone(),
            during,
            source: source.without_url(),
        }
    }

    /// Reads the headers that matter and records the rate-limit state they announce.
    async fn facts(
        &self,
        endpoint: &'static Endpoint,
        exchange: Exchange,
        headers: &HeaderMap,
    ) -> ResponseFacts {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        // Untrusted numbers: clamped, so no clock arithmetic below can overflow.
        let secs = |name: &str| {
            text(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(server_wait)
        };
        let to_wait = secs(header::RATE_TO_WAIT);
        let remaining = text(header::RATE_REMAINING).and_then(|v| v.trim().parse::<u64>().ok());
        if remaining == Some(0)
            && let Some(wait) = to_wait.filter(|w| !w.is_zero())
        {
            self.rate.lock().await.blocked_until = Instant::now().checked_add(wait);
        }
        ResponseFacts {
            exchange,
            endpoint,
            to_wait,
            retry_after: secs(RETRY_AFTER.as_str()),
            // Printed in messages: a user name and password in it never are.
            location: text(LOCATION.as_str()).map(|l| platform::url_for_display(&l).into_owned()),
            content_type: text(CONTENT_TYPE.as_str()),
        }
    }
}

/// Hands a body read by [`read_bounded`] to the capture: what arrived, and how it ended.
fn capture_bounded(capture: Option<Box<dyn CapturedExchange>>, body: &Result<Vec<u8>>) {
    let Some(mut c) = capture else { return };
    match body {
        Ok(bytes) => {
            c.chunk(&bytes::Bytes::copy_from_slice(bytes));
            c.end(if bytes.len() >= MAX_ERROR_BODY {
                BodyEnd::Stopped
            } else {
                BodyEnd::Complete
            });
        }
        Err(_) => c.end(BodyEnd::Broken),
    }
}

/// Reads a small body (an error page, a login token) up to [`MAX_ERROR_BODY`], within the
/// request's deadline and minimum throughput.
async fn read_bounded(
    response: &mut reqwest::Response,
    exchange: &Exchange,
    watch: &Watch,
) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut arriving = watch.body();
    loop {
        match arriving.next(response).await {
            Ok(Some(chunk)) => {
                let room = MAX_ERROR_BODY.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_ERROR_BODY {
                    break;
                }
            }
            Ok(None) => break,
            Err(stop) => return Err(stop.into_error(exchange, "reading the response body")),
        }
    }
    Ok(body)
}

#[cfg(test)]
impl QualysClient {
    /// A client for `base_url` as `quays_ab1` with `password`, retrying fast.
    pub(crate) fn for_test(base_url: &str, password: &str) -> QualysClient {
        let mut settings = crate::config::Settings::new(
            crate::stream::StreamKind::VmdrVulnerabilities,
            base_url,
            "quays_ab1",
        );
        settings.common.backoff_initial_ms = Some(5);
        settings.common.max_attempts = Some(3);
        settings.common.max_wait_secs = Some(5);
        let (config, _) = settings
            .validate(Some(password.into()))
            .expect("the test settings are valid");
        QualysClient::new(&config.common).expect("the test client builds")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::qualys::endpoint;

    fn body_text(mut body: BodyReader, _: &ResponseFacts) -> Result<String> {
        let mut text = String::new();
        body.read_to_string(&mut text)
            .map_err(|e| Error::io("reading", "body", e))?;
        Ok(text)
    }

    #[tokio::test]
    async fn each_family_sends_its_body_with_its_content_type_and_its_headers() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
            .mount(&server)
            .await;
        let client = QualysClient::for_test(&server.uri(), "pw");
        let fo = Request::post(&endpoint::HOST_LIST).form("action", "list");
        let qps = Request::post(&endpoint::WAS_WEBAPP_SEARCH).body(Body::Xml(
            ServiceRequest::default().preference("limitResults", "1000"),
        ));
        for r in [&fo, &qps] {
            client.fetch(r, body_text).await.unwrap();
        }
        let received = server.received_requests().await.unwrap();
        let fo_sent = &received[0];
        assert_eq!(fo_sent.url.path(), "/api/2.0/fo/asset/host/");
        assert_eq!(
            fo_sent.headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert!(fo_sent.headers.contains_key("x-requested-with"));
        assert!(
            fo_sent.headers["authorization"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        assert_eq!(fo_sent.body, b"action=list");
        let qps_sent = &received[1];
        assert_eq!(qps_sent.url.path(), "/qps/rest/3.0/search/was/webapp");
        assert_eq!(qps_sent.headers["content-type"], "text/xml");
        assert!(
            !qps_sent.headers.contains_key("x-requested-with"),
            "X-Requested-With is an FO requirement"
        );
        assert!(qps_sent.headers.contains_key("authorization"));
        assert_eq!(
            qps_sent.body,
            b"<ServiceRequest><preferences><limitResults>1000</limitResults></preferences></ServiceRequest>"
        );
    }

    #[tokio::test]
    async fn a_gateway_429_waits_as_retry_after_asks_then_succeeds() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/auth"))
            .respond_with(ResponseTemplate::new(201).set_body_string("jwt"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/pcrs/1.0/posture/policy/list"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/pcrs/1.0/posture/policy/list"))
            .and(header("authorization", "Bearer jwt"))
            .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
            .mount(&server)
            .await;
        let client = QualysClient::for_test(&server.uri(), "pw");
        let body = client
            .fetch(&Request::get(&endpoint::PCRS_POLICY_LIST), body_text)
            .await
            .unwrap();
        assert_eq!(body, "[]");
        assert_eq!(client.live().get(&client.live().retries), 1);
        assert_eq!(client.waited().await, Duration::from_secs(1));
        assert_eq!(client.logins(), 1);
    }

    #[tokio::test]
    async fn query_parameters_and_a_json_body_reach_the_gateway() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/auth"))
            .respond_with(ResponseTemplate::new(201).set_body_string("jwt"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/pcrs/1.0/posture/postureInfo"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        let client = QualysClient::for_test(&server.uri(), "pw");
        let request = Request::post(&endpoint::PCRS_POSTURE_INFO)
            .query("evidenceRequired", "0")
            .query("compressionRequired", "0")
            .body(Body::Json(serde_json::json!([
                {"policyId": "4711", "subscriptionId": "1", "hostIds": ["1", "2"]}
            ])));
        let (body, status) = client
            .fetch(&request, |body, facts| {
                Ok((body_text(body, facts)?, facts.status()))
            })
            .await
            .unwrap();
        assert_eq!(
            (body.as_str(), status),
            ("", 204),
            "a 204 is an empty success"
        );
        let sent = server.received_requests().await.unwrap();
        let posture = sent
            .iter()
            .find(|r| r.url.path() == "/pcrs/1.0/posture/postureInfo")
            .unwrap();
        assert_eq!(
            posture.url.query(),
            Some("evidenceRequired=0&compressionRequired=0")
        );
        assert_eq!(posture.headers["content-type"], "application/json");
        let json: serde_json::Value = serde_json::from_slice(&posture.body).unwrap();
        assert_eq!(json[0]["hostIds"][1], "2");
    }
}
