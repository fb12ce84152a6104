//! The HTTP side of the connector: authentication, mandatory headers, retries, rate limits and
//! the hand-off of response bodies to the streaming parsers.
//!
//! How a request flows:
//!
//! 1. [`QualysClient::fetch`] sends a form POST to the configured platform origin with Basic
//!    auth and `X-Requested-With`. Redirects are never followed: credentials go to the
//!    configured origin and nowhere else.
//! 2. A 200 with an XML body is streamed through a bounded channel ([`body`]) into the caller's
//!    parse function, which runs on a blocking thread and may itself find an error envelope
//!    (Qualys sends some errors inside HTTP 200).
//! 3. Anything else is read (bounded) and turned into an [`Error`] by [`classify`].
//! 4. [`Error::retry`] decides whether to try again: rate limits wait the time Qualys asks for,
//!    5xx/999/timeouts/truncated bodies back off exponentially, account problems never retry.
//!    Attempts and the total waiting time are bounded by the [`RetryPolicy`]; the budget is
//!    shared by the whole run.
//!
//! Pagination cursors live in [`cursor`].

pub mod body;
pub mod classify;
pub mod cursor;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, mpsc};
use url::Url;

use self::body::{BodyReader, CHANNEL_CHUNKS};
use self::classify::ResponseFacts;
use crate::config::{ConnectorConfig, RetryPolicy};
use crate::error::{Error, Exchange, Result, Retry, Throttle};
use crate::qualys::platform;
use crate::qualys::{Permission, fo::header};

/// Bodies of error responses are read up to this size; Qualys error pages are a few hundred
/// bytes, so anything larger is cut rather than buffered.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// One request: an endpoint path below the platform URL and its form parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Path such as `/api/2.0/fo/asset/host/vm/detection/`.
    pub path: String,
    pub params: Vec<(String, String)>,
    /// 1-based page number, for messages.
    pub page: Option<u32>,
}

impl Request {
    pub fn new(path: impl Into<String>) -> Self {
        Request {
            path: path.into(),
            params: Vec::new(),
            page: None,
        }
    }

    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((key.into(), value.into()));
        self
    }

    /// Sets a parameter, replacing an earlier value of the same key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.params.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.params.push((key.to_string(), value)),
        }
    }
}

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

/// What the rate-limit headers of the last response said.
#[derive(Debug, Default)]
struct RateState {
    /// Time spent waiting (backoff and rate limits) so far in this run.
    waited: Duration,
    /// Qualys said no calls remain until this instant.
    blocked_until: Option<Instant>,
}

/// A client for one Qualys platform and one user.
pub struct QualysClient {
    http: reqwest::Client,
    base: Url,
    username: String,
    password: SecretString,
    retry: RetryPolicy,
    permission: Permission,
    rate: Mutex<RateState>,
    live: Arc<LiveCounters>,
}

impl QualysClient {
    /// Builds the client from a checked configuration.
    pub fn new(config: &ConnectorConfig) -> Result<QualysClient> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.common.connect_timeout)
            .read_timeout(config.common.read_timeout)
            .user_agent(concat!("qualys-harness/", env!("CARGO_PKG_VERSION")));
        if platform::is_loopback(&config.common.base_url) {
            // A simulator on 127.0.0.1 must never be reached through a proxy from the environment.
            builder = builder.no_proxy();
        }
        if let Some(pem) = &config.common.ca_cert_pem {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
                Error::config(
                    "ca_cert",
                    format!("not a PEM certificate: {e}"),
                    "give the PEM file the server's certificate was written to (e.g. qharness serve --cert-out)",
                )
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().map_err(|e| Error::Http {
            exchange: Exchange {
                endpoint: config.common.base_url.to_string(),
                status: None,
                page: None,
            },
            during: "setting up the HTTP client",
            source: e,
        })?;
        let mut base = config.common.base_url.clone();
        let trimmed = base.path().trim_end_matches('/').to_string();
        base.set_path(&trimmed);
        Ok(QualysClient {
            http,
            base,
            username: config.common.username.clone(),
            password: config.common.password.clone(),
            retry: config.common.retry,
            permission: config.stream.row().permission,
            rate: Mutex::new(RateState::default()),
            live: Arc::new(LiveCounters::default()),
        })
    }

    /// LiveCounters counters for progress displays.
    pub fn live(&self) -> Arc<LiveCounters> {
        self.live.clone()
    }

    /// The configured platform origin.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Total time spent waiting on backoff and rate limits.
    pub async fn waited(&self) -> Duration {
        self.rate.lock().await.waited
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    /// Sends `request`, retrying transient failures, and hands a 200 XML body to `parse`.
    ///
    /// `parse` runs on a blocking thread and may run more than once (once per attempt); it must
    /// not have side effects outside its return value, which is what makes retries safe.
    pub async fn fetch<T, F>(&self, request: &Request, parse: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(BodyReader, &ResponseFacts) -> Result<T> + Send + Sync + 'static,
    {
        let parse = Arc::new(parse);
        let started = Instant::now();
        let mut failures = 0u32;
        loop {
            self.wait_for_rate_window().await?;
            let error = match self.attempt(request, parse.clone()).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let delay = match error.retry() {
                Retry::Never => return Err(error),
                Retry::Backoff => self.retry.backoff(failures + 1),
                Retry::After(d) => d,
            };
            failures += 1;
            let mut rate = self.rate.lock().await;
            if failures >= self.retry.max_attempts || rate.waited + delay > self.retry.max_wait {
                let remediation = exhausted_remediation(&error, delay, &self.retry);
                return Err(Error::RetriesExhausted {
                    endpoint: request.path.clone(),
                    attempts: failures,
                    elapsed: started.elapsed(),
                    remediation,
                    last: Box::new(error),
                });
            }
            rate.waited += delay;
            drop(rate);
            self.live.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                endpoint = %request.path,
                page = request.page,
                attempt = failures + 1,
                delay_ms = delay.as_millis() as u64,
                "retrying after: {error}"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Honours a rate window that the previous response said was used up.
    async fn wait_for_rate_window(&self) -> Result<()> {
        let mut rate = self.rate.lock().await;
        let Some(until) = rate.blocked_until.take() else {
            return Ok(());
        };
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return Ok(());
        }
        if rate.waited + wait > self.retry.max_wait {
            // Let the request go out: Qualys will answer 1965 and the retry logic reports it.
            return Ok(());
        }
        rate.waited += wait;
        drop(rate);
        tracing::info!(
            wait_s = wait.as_secs_f64(),
            "X-RateLimit-Remaining is 0; waiting as X-RateLimit-ToWait-Sec asks"
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    async fn attempt<T, F>(&self, request: &Request, parse: Arc<F>) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(BodyReader, &ResponseFacts) -> Result<T> + Send + Sync + 'static,
    {
        let mut exchange = Exchange {
            endpoint: request.path.clone(),
            status: None,
            page: request.page,
        };
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(request.params.iter())
            .finish();
        self.live.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(endpoint = %request.path, page = request.page, params = ?request.params, "POST");
        let mut response = self
            .http
            .post(self.url(&request.path))
            .basic_auth(&self.username, Some(self.password.expose_secret()))
            .header(header::REQUESTED_WITH, "qualys-harness")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|source| Error::Http {
                exchange: exchange.clone(),
                during: "sending the request",
                source,
            })?;
        let status = response.status().as_u16();
        exchange.status = Some(status);
        let facts = self.facts(exchange.clone(), response.headers()).await;

        let is_html = facts
            .content_type
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
        if status != 200 || is_html {
            let body = read_bounded(&mut response, &exchange).await?;
            self.live
                .bytes
                .fetch_add(body.len() as u64, Ordering::Relaxed);
            return Err(classify::from_body(&facts, &body));
        }

        let (tx, rx) = mpsc::channel::<io::Result<bytes::Bytes>>(CHANNEL_CHUNKS);
        let parse_facts = facts.clone();
        let parser = tokio::task::spawn_blocking(move || parse(BodyReader::new(rx), &parse_facts));
        let mut network_error = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    self.live
                        .bytes
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if tx.send(Ok(chunk)).await.is_err() {
                        // The parser stopped early (it found an error); the rest is not needed.
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = tx
                        .send(Err(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            "the connection failed while the body was being read",
                        )))
                        .await;
                    network_error = Some(e);
                    break;
                }
            }
        }
        drop(tx);
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
        match (parsed, network_error) {
            (Err(_), Some(source)) => Err(Error::Http {
                exchange,
                during: "reading the response body",
                source,
            }),
            (result, _) => result,
        }
    }

    /// Reads the headers that matter and records the rate-limit state they announce.
    async fn facts(&self, exchange: Exchange, headers: &HeaderMap) -> ResponseFacts {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let secs = |name: &str| {
            text(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        };
        let to_wait = secs(header::RATE_TO_WAIT);
        let remaining = text(header::RATE_REMAINING).and_then(|v| v.trim().parse::<u64>().ok());
        if remaining == Some(0)
            && let Some(wait) = to_wait.filter(|w| !w.is_zero())
        {
            self.rate.lock().await.blocked_until = Some(Instant::now() + wait);
        }
        ResponseFacts {
            exchange,
            to_wait,
            retry_after: secs(RETRY_AFTER.as_str()),
            location: text(LOCATION.as_str()),
            content_type: text(CONTENT_TYPE.as_str()),
            permission: self.permission,
        }
    }
}

async fn read_bounded(response: &mut reqwest::Response, exchange: &Exchange) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ERROR_BODY.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_ERROR_BODY {
                    break;
                }
            }
            Ok(None) => break,
            Err(source) => {
                return Err(Error::Http {
                    exchange: exchange.clone(),
                    during: "reading the error response body",
                    source,
                });
            }
        }
    }
    Ok(body)
}

fn exhausted_remediation(error: &Error, next_delay: Duration, policy: &RetryPolicy) -> String {
    let budget = format!(
        "(limits: max_attempts = {}, max_wait_secs = {})",
        policy.max_attempts,
        policy.max_wait.as_secs()
    );
    match error {
        Error::Throttled {
            kind: Throttle::Rate,
            ..
        } => format!(
            "the subscription's API rate limit is used up and Qualys asks to wait {}s; the limit is \
             shared by every script using this subscription. Run again after the window passes or \
             raise max_wait_secs {budget}",
            next_delay.as_secs()
        ),
        Error::Throttled {
            kind: Throttle::Concurrency,
            ..
        } => format!(
            "other API calls of this subscription keep the concurrency limit busy; run again when \
             they finish, or ask Qualys to raise the limit {budget}"
        ),
        Error::Server { .. } | Error::Html { .. } => format!(
            "Qualys kept failing on its side; try again later and, if it persists, contact Qualys \
             support with the time of the failure {budget}"
        ),
        Error::Truncated { .. } => format!(
            "responses kept arriving cut short; check proxies between you and Qualys, or lower \
             truncation_limit so pages are smaller {budget}"
        ),
        _ => format!(
            "check the network path to the platform URL; for very large pages raise \
             read_timeout_secs or lower truncation_limit {budget}"
        ),
    }
}
