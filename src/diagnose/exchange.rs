//! The one HTTP door of `diagnose`: every request goes through [`Prober::send`], which counts it
//! against the fixed request budget, sends it once (no retries, no redirects: a diagnosis must
//! not hide a failure behind a second attempt, nor send credentials anywhere but the configured
//! origin), times it and keeps the rate-limit headers.
//!
//! Refusals are read by the connector's own error readers ([`error_reader`]), so `diagnose` and
//! `fetch` name a refusal in the same words.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::limits::RateHeaders;
use crate::client::error_reader::{self, ResponseFacts};
use crate::error::{Error, Exchange, Result};
use crate::parse::xml::document::{self, Root};
use crate::qualys::endpoint::{Endpoint, Family};
use crate::qualys::fo::header;

/// Bodies are read up to this size: a one-record probe answer is a few kilobytes, a policy
/// list a few hundred entries.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// How a request proves who sent it.
pub(super) enum Auth<'a> {
    /// HTTP Basic with the user's credentials (API server).
    Basic,
    /// A gateway session token.
    Bearer(&'a SecretString),
    /// Nothing: the gateway login, whose form carries the credentials.
    None,
}

/// A complete answer.
pub(super) struct Answer {
    pub facts: ResponseFacts,
    pub body: Vec<u8>,
    pub millis: u64,
}

impl Answer {
    pub fn status(&self) -> u16 {
        self.facts.status()
    }

    /// The error this answer stands for, if it is not the success the endpoint documents: a
    /// status that is not 2xx, an HTML page, or (FO) a `SIMPLE_RETURN` inside a 200.
    pub fn refusal(&self) -> Option<Error> {
        let html = self
            .facts
            .content_type
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
        if !(200..300).contains(&self.status()) || html {
            return Some(error_reader::read(&self.facts, &self.body));
        }
        if self.facts.endpoint.family == Family::Fo {
            let mut reader = document::reader(self.body.as_slice());
            let mut buf = Vec::new();
            let origin = self.facts.exchange.to_string();
            if let Ok(Root::SimpleReturn | Root::GenericReturn) =
                document::read_root(&mut reader, &mut buf, &origin)
            {
                return Some(error_reader::fo::from_body(&self.facts, &self.body));
            }
        }
        None
    }
}

/// Sends the diagnosis' requests, within its budget.
pub(super) struct Prober {
    http: reqwest::Client,
    username: String,
    password: SecretString,
    budget: u32,
    sent: AtomicU32,
    rates: Mutex<Vec<RateHeaders>>,
}

impl Prober {
    pub fn new(
        ca_cert_pem: Option<&[u8]>,
        timeout: Duration,
        loopback: bool,
        username: &str,
        password: SecretString,
        budget: u32,
    ) -> Result<Prober> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!(
                "qualys-harness/",
                env!("CARGO_PKG_VERSION"),
                " diagnose"
            ));
        if loopback {
            builder = builder.no_proxy();
        }
        if let Some(pem) = ca_cert_pem {
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
                endpoint: "diagnose".into(),
                status: None,
                page: None,
            },
            during: "setting up the HTTP client",
            source: e,
        })?;
        Ok(Prober {
            http,
            username: username.to_string(),
            password,
            budget,
            sent: AtomicU32::new(0),
            rates: Mutex::new(Vec::new()),
        })
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u32 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn budget(&self) -> u32 {
        self.budget
    }

    /// The rate-limit headers of every FO answer so far, in order.
    pub fn rates(&self) -> Vec<RateHeaders> {
        self.rates.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The gateway login form: the only place the password is put in a body.
    pub fn login_form(&self) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("username", &self.username)
            .append_pair("password", self.password.expose_secret())
            .append_pair("token", "true")
            .finish()
            .into_bytes()
    }

    /// Sends one request, once.
    pub async fn send(
        &self,
        endpoint: &'static Endpoint,
        url: Url,
        method: Method,
        body: Option<(&'static str, Vec<u8>)>,
        auth: Auth<'_>,
    ) -> Result<Answer> {
        let mut exchange = Exchange {
            endpoint: endpoint.path(),
            status: None,
            page: None,
        };
        if self.sent.fetch_add(1, Ordering::Relaxed) >= self.budget {
            // The budget is computed from the probes that will run; going over it is a bug here.
            return Err(Error::Unexpected {
                origin: exchange.to_string(),
                offset: 0,
                problem: format!(
                    "diagnose would exceed its budget of {} requests; this is a bug worth reporting",
                    self.budget
                ),
            });
        }
        tracing::debug!(endpoint = %endpoint.path(), "{method} (diagnose)");
        let mut builder = self.http.request(method, url);
        builder = match auth {
            Auth::Basic => builder.basic_auth(&self.username, Some(self.password.expose_secret())),
            Auth::Bearer(token) => builder.bearer_auth(token.expose_secret()),
            Auth::None => builder,
        };
        if endpoint.family == Family::Fo {
            builder = builder.header(header::REQUESTED_WITH, "qualys-harness");
        }
        if let Some((content_type, bytes)) = body {
            builder = builder.header(CONTENT_TYPE, content_type).body(bytes);
        }
        let started = Instant::now();
        let mut response = builder.send().await.map_err(|source| Error::Http {
            exchange: exchange.clone(),
            during: "sending the request",
            source,
        })?;
        exchange.status = Some(response.status().as_u16());
        let headers = response.headers().clone();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_BODY.saturating_sub(body.len());
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= MAX_BODY {
                        break;
                    }
                }
                Ok(None) => break,
                Err(source) => {
                    return Err(Error::Http {
                        exchange,
                        during: "reading the response body",
                        source,
                    });
                }
            }
        }
        let millis = started.elapsed().as_millis() as u64;
        if endpoint.family == Family::Fo {
            let rate = RateHeaders::read(&headers);
            if rate.is_some()
                && let Ok(mut rates) = self.rates.lock()
            {
                rates.push(rate);
            }
        }
        Ok(Answer {
            facts: facts(endpoint, exchange, &headers),
            body,
            millis,
        })
    }
}

fn facts(endpoint: &'static Endpoint, exchange: Exchange, headers: &HeaderMap) -> ResponseFacts {
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
    ResponseFacts {
        exchange,
        endpoint,
        to_wait: secs(header::RATE_TO_WAIT),
        retry_after: secs(RETRY_AFTER.as_str()),
        location: text(LOCATION.as_str()),
        content_type: text(CONTENT_TYPE.as_str()),
    }
}
