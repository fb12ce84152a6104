//! The engine: turns a [`SimRequest`] into a [`SimResponse`], knowing nothing of HTTP
//! connections.
//!
//! The order of checks follows what a real exchange goes through:
//! 1. the web server: a control path (`/__sim/...`), or a path without its trailing slash (301);
//! 2. replay, when a fixture set is loaded and a fixture matches;
//! 3. the API: login and account state (401 / 2001 / 2003 …), module permission (403),
//!    injected answers (tenant faults), rate and concurrency limits (409 / 1965, 1960),
//!    parameters (400 / 1901, 1903, 1905), and finally the page.
//!
//! Every exchange except control calls is journalled here; the transport completes the entry
//! with the bytes it actually sent.

pub mod accounts;
pub mod fault;
pub mod journal;
pub mod limits;
pub mod replay;
pub mod routing;

use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use self::accounts::Refusal;
use crate::qualys::endpoint::{self, Family};
use crate::sim::dialect::{fo, web_server};
use crate::sim::engine::fault::{Delivery, Fault, FaultBook};
use crate::sim::engine::journal::{Completion, Journal, JournalEntry, Ticket, is_secret_param};
use crate::sim::engine::limits::{LimitHeaders, Limiter};
use crate::sim::engine::replay::{FixtureSet, Unmatched, unmatched_text};
use crate::sim::engine::routing::{Endpoint, Route};
use crate::sim::server::request::SimRequest;
use crate::sim::server::response::{Body, SimResponse};
use crate::sim::tenant::{Tenant, User};
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::host_pages::{HostPage, KbPage, PageContext};
use crate::sim::vmdr::params::{DetectionQuery, HostListQuery, KbQuery, Rejection};
use crate::sim::vmdr::render::{self, Echo};

const XML: &str = "application/xml";
/// The content type Qualys sends on login and account errors (recorded).
const XML_UTF8: &str = "text/xml;charset=UTF-8";
const HTML: &str = "text/html; charset=iso-8859-1";
const TEXT: &str = "text/plain; charset=utf-8";

/// The simulated server's state and logic.
#[derive(Debug)]
pub struct Engine {
    tenant: Arc<Tenant>,
    fixtures: Option<Arc<FixtureSet>>,
    journal: Journal,
    limiter: Limiter,
    book: FaultBook,
    rng: Mutex<ChaCha8Rng>,
}

impl Engine {
    pub fn new(tenant: Tenant, fixtures: Option<FixtureSet>) -> Engine {
        Engine {
            tenant: Arc::new(tenant),
            fixtures: fixtures.map(Arc::new),
            journal: Journal::default(),
            limiter: Limiter::default(),
            book: FaultBook::default(),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(0)),
        }
    }

    pub fn journal(&self) -> Journal {
        self.journal.clone()
    }

    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// Back to the state of a fresh start: journal, fault counters, rate windows, fixture
    /// sequences and the random-delay sequence.
    pub fn reset(&self) {
        self.journal.reset();
        self.book.reset();
        self.limiter.reset();
        if let Some(f) = &self.fixtures {
            f.reset();
        }
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = ChaCha8Rng::seed_from_u64(0);
    }

    fn random(&self, lo: u64, hi: u64) -> u64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random_range(lo..=hi)
    }

    fn record(&self, req: &SimRequest, status: u16, faults: &[&str], source: &str) -> Ticket {
        self.journal.push(JournalEntry {
            seq: 0,
            method: req.method.clone(),
            path: req.path.clone(),
            params: req
                .params
                .iter()
                .filter(|(k, _)| !is_secret_param(k))
                .cloned()
                .collect(),
            user: req.user().map(String::from),
            headers: req.headers.clone(),
            status,
            bytes: 0,
            completion: Completion::InProgress,
            faults: faults.iter().map(|f| f.to_string()).collect(),
            source: source.to_string(),
        })
    }

    fn journalled(
        &self,
        req: &SimRequest,
        mut resp: SimResponse,
        faults: &[&str],
        source: &str,
    ) -> SimResponse {
        resp.headers.push(("Server".into(), "Qualys".into()));
        resp.ticket = Some(self.record(req, resp.status, faults, source));
        resp
    }

    /// Answers one request.
    pub fn handle(&self, req: &SimRequest) -> SimResponse {
        let route = Route::of(&req.path);
        match &route {
            Route::Journal => {
                return SimResponse::new(200, "application/x-ndjson", self.journal.to_ndjson());
            }
            Route::Reset if req.method == "POST" => {
                self.reset();
                return SimResponse::new(
                    200,
                    TEXT,
                    "journal, fault counters, limits and fixture sequences reset\n",
                );
            }
            Route::Reset => {
                return SimResponse::new(405, TEXT, "POST /__sim/reset to reset the simulator\n");
            }
            Route::MissingSlash { location } => {
                let location = match &req.query {
                    Some(q) => format!("{}{location}?{q}", req.origin),
                    None => format!("{}{location}", req.origin),
                };
                let mut r = SimResponse::new(301, HTML, web_server::html_moved(&location));
                r.headers.push(("Location".into(), location));
                return self.journalled(req, r, &[], "web-server");
            }
            _ => {}
        }
        if let Some(fx) = &self.fixtures {
            match fx.answer(req) {
                Ok((fixture, recorded)) => {
                    let mut delivery = Delivery::default();
                    let mut names = Vec::new();
                    if let Some(f) = &recorded.fault {
                        names.push(f.name());
                        if !delivery.add(f, |a, b| self.random(a, b)) {
                            let endpoint = match route {
                                Route::Api { endpoint, .. } => endpoint,
                                _ => &endpoint::HOST_DETECTION,
                            };
                            let limits = self.tenant.limits;
                            let r = self.fault_answer(
                                req,
                                f,
                                endpoint,
                                req.user().unwrap_or(""),
                                limits,
                            );
                            return self.journalled(
                                req,
                                r,
                                &names,
                                &format!("replay:{}", fixture.name),
                            );
                        }
                    }
                    let mut r = match fx.body(recorded, &req.origin) {
                        Ok(body) => SimResponse {
                            status: recorded.status,
                            headers: recorded
                                .headers
                                .iter()
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                            body,
                            delivery,
                            ticket: None,
                            guard: None,
                        },
                        Err(e) => SimResponse::new(
                            500,
                            TEXT,
                            format!(
                                "qharness simulator: fixture {:?} could not read its body: {e}\n",
                                fixture.name
                            ),
                        ),
                    };
                    r.headers.retain(|(k, _)| {
                        !k.eq_ignore_ascii_case("transfer-encoding")
                            && !k.eq_ignore_ascii_case("content-length")
                    });
                    return self.journalled(req, r, &names, &format!("replay:{}", fixture.name));
                }
                Err(misses) if fx.unmatched() == Unmatched::Error => {
                    let r = SimResponse::new(404, TEXT, unmatched_text(req, &misses));
                    return self.journalled(req, r, &[], "unmatched");
                }
                Err(_) => {}
            }
        }
        match route {
            Route::Api {
                endpoint,
                api_version,
                ..
            } => self.model(req, endpoint, api_version),
            _ => {
                let text = format!(
                    "qharness simulator: {} {} is not a modelled endpoint. Modelled: /api/{{2,3,4,5}}.0/fo/asset/host/vm/detection/, /api/{{2,3,4,5}}.0/fo/asset/host/, /api/{{2,3,4,5}}.0/fo/knowledge_base/vuln/, /msp/about.php, GET /__sim/journal, POST /__sim/reset.\n",
                    req.method, req.path
                );
                self.journalled(req, SimResponse::new(404, TEXT, text), &[], "web-server")
            }
        }
    }

    fn model(&self, req: &SimRequest, endpoint: Endpoint, api_version: u8) -> SimResponse {
        let now = Timestamp::now();
        if req.method != "GET" && req.method != "POST" {
            let e = Rejection {
                status: 400,
                code: crate::qualys::fo::code::METHOD_INCOMPATIBLE,
                text: format!(
                    "Request method ({}) is not supported; use GET or POST.",
                    req.method
                ),
            };
            let r = self.simple_return(req, now, e.status, Some(e.code), &e.text, &[], XML);
            return self.journalled(req, r, &[], "model");
        }
        let user = match accounts::authenticate(&self.tenant, req.credentials.as_ref()) {
            Ok(u) => u,
            Err(refusal) => return self.refuse(req, now, refusal, endpoint, None),
        };
        if let Err(refusal) = accounts::authorize(user, endpoint) {
            return self.refuse(req, now, refusal, endpoint, Some(user));
        }
        let limits = self.tenant.limits_for(user);

        let mut delivery = Delivery::default();
        let mut names = Vec::new();
        let mut answer: Option<&Fault> = None;
        let mut stuck = false;
        for f in self
            .book
            .select(&self.tenant.faults, endpoint, Some(&user.login))
        {
            names.push(f.name());
            if f.is_answer() {
                answer = answer.or(Some(f));
            } else if *f == Fault::CursorStuck {
                stuck = true;
            } else {
                delivery.add(f, |a, b| self.random(a, b));
            }
        }
        if let Some(f) = answer {
            let mut r = self.fault_answer(req, f, endpoint, &user.login, limits);
            r.delivery = delivery;
            return self.journalled(req, r, &names, "model");
        }

        if endpoint == &endpoint::ABOUT {
            let mut r = SimResponse::new(200, XML, render::about(&req.origin));
            r.delivery = delivery;
            return self.journalled(req, r, &names, "model");
        }

        let (headers, guard) = match self.limiter.admit(&user.login, endpoint, limits) {
            Ok(x) => x,
            Err(b) => {
                let mut r = self.simple_return(
                    req,
                    now,
                    409,
                    Some(b.code),
                    &b.text,
                    &[(b.item.0, b.item.1.clone())],
                    XML,
                );
                r.headers.extend(b.headers.to_headers());
                r.delivery = delivery;
                return self.journalled(req, r, &names, "model");
            }
        };
        let ctx = |echo: bool| PageContext {
            origin: req.origin.clone(),
            path: req.path.clone(),
            params: req
                .params
                .iter()
                .filter(|(k, _)| !is_secret_param(k))
                .cloned()
                .collect(),
            now,
            echo: echo.then(|| Echo {
                datetime: now,
                user: user.login.clone(),
                resource: req.path.clone(),
                params: req
                    .params
                    .iter()
                    .filter(|(k, _)| !is_secret_param(k))
                    .cloned()
                    .collect(),
            }),
            cursor_stuck: stuck,
        };
        let page: Result<Box<dyn crate::sim::server::response::ChunkSource>, Rejection> =
            match endpoint.name {
                "detection" => DetectionQuery::parse(&req.params).map(|q| {
                    let echo = q.echo_request;
                    Box::new(HostPage::detection(
                        Arc::clone(&self.tenant),
                        q,
                        api_version,
                        ctx(echo),
                    )) as _
                }),
                "host_list" => HostListQuery::parse(&req.params).map(|q| {
                    let echo = q.echo_request;
                    Box::new(HostPage::host_list(
                        Arc::clone(&self.tenant),
                        q,
                        api_version,
                        ctx(echo),
                    )) as _
                }),
                "knowledge_base" => KbQuery::parse(&req.params).map(|q| {
                    let echo = q.echo_request;
                    Box::new(KbPage::new(Arc::clone(&self.tenant), q, ctx(echo))) as _
                }),
                other => Err(Rejection {
                    status: 404,
                    code: crate::qualys::fo::code::UNRECOGNIZED_PARAMETER,
                    text: format!(
                        "qharness simulator: the {other} endpoint ({}) is not modelled yet",
                        endpoint.title
                    ),
                }),
            };
        let mut r = match page {
            Ok(source) => {
                let content_type = if endpoint == &endpoint::KNOWLEDGE_BASE {
                    XML_UTF8
                } else {
                    XML
                };
                SimResponse {
                    status: 200,
                    headers: vec![("Content-Type".into(), content_type.into())],
                    body: Body::Source(source),
                    delivery: Delivery::default(),
                    ticket: None,
                    guard: None,
                }
            }
            Err(e) => self.simple_return(req, now, e.status, Some(e.code), &e.text, &[], XML),
        };
        r.headers.extend(headers.to_headers());
        r.delivery = delivery;
        r.guard = Some(guard);
        self.journalled(req, r, &names, "model")
    }

    #[allow(clippy::too_many_arguments)]
    fn simple_return(
        &self,
        req: &SimRequest,
        now: Timestamp,
        status: u16,
        code: Option<u32>,
        text: &str,
        items: &[(&str, String)],
        content_type: &str,
    ) -> SimResponse {
        SimResponse::new(
            status,
            content_type,
            fo::simple_return(&req.origin, now, code, text, items),
        )
    }

    fn refuse(
        &self,
        req: &SimRequest,
        now: Timestamp,
        refusal: Refusal,
        endpoint: Endpoint,
        user: Option<&User>,
    ) -> SimResponse {
        let ct = if refusal.carries_limit_headers() {
            XML
        } else {
            XML_UTF8
        };
        let mut r = self.simple_return(
            req,
            now,
            refusal.status(),
            refusal.code(),
            &refusal.text(),
            &[],
            ct,
        );
        if let (true, Some(u)) = (
            refusal.carries_limit_headers()
                && endpoint.family == Family::Fo
                && endpoint != &endpoint::ABOUT,
            user,
        ) {
            r.headers.extend(
                self.limiter
                    .peek(&u.login, endpoint, self.tenant.limits_for(u))
                    .to_headers(),
            );
        }
        self.journalled(req, r, &[], "model")
    }

    /// The response an answer fault injects (not journalled here).
    fn fault_answer(
        &self,
        req: &SimRequest,
        f: &Fault,
        endpoint: Endpoint,
        user: &str,
        limits: crate::sim::tenant::Limits,
    ) -> SimResponse {
        let now = Timestamp::now();
        let peek = || self.limiter.peek(user, endpoint, limits);
        match f {
            Fault::ServerError { status } => {
                let reason = http::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Server Error");
                SimResponse::new(*status, TEXT, format!("{status} {reason}\n"))
            }
            Fault::GenericReturn999 { status } => {
                let mut r = SimResponse::new(
                    *status,
                    XML_UTF8,
                    fo::generic_return_999(&req.origin, now, &req.path, user),
                );
                r.headers.extend(peek().to_headers());
                r
            }
            Fault::HtmlError { status } => {
                SimResponse::new(*status, HTML, web_server::html_error(*status))
            }
            Fault::MovedPermanently => {
                let location = format!("{}{}", req.origin, req.path);
                let mut r = SimResponse::new(301, HTML, web_server::html_moved(&location));
                r.headers.push(("Location".into(), location));
                r
            }
            Fault::RateLimited { seconds_to_wait } => {
                let text = format!(
                    "This API cannot be run again for another {}.",
                    crate::sim::engine::limits::wait_phrase(*seconds_to_wait)
                );
                let mut r = self.simple_return(
                    req,
                    now,
                    409,
                    Some(crate::qualys::fo::code::RATE_LIMIT),
                    &text,
                    &[("SECONDS_TO_WAIT", seconds_to_wait.to_string())],
                    XML,
                );
                r.headers.extend(
                    LimitHeaders {
                        remaining: 0,
                        to_wait_secs: *seconds_to_wait,
                        ..peek()
                    }
                    .to_headers(),
                );
                r
            }
            Fault::ConcurrencyBusy { calls_to_finish } => {
                let n = *calls_to_finish;
                let text = format!(
                    "This API cannot be run again until {n} currently running API instance{} {} finished.",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "has" } else { "have" }
                );
                let mut r = self.simple_return(
                    req,
                    now,
                    409,
                    Some(crate::qualys::fo::code::CONCURRENCY_LIMIT),
                    &text,
                    &[("CALLS_TO_FINISH", n.to_string())],
                    XML,
                );
                let h = peek();
                r.headers.extend(
                    LimitHeaders {
                        running: h.concurrency_limit.max(n),
                        ..h
                    }
                    .to_headers(),
                );
                r
            }
            Fault::SimpleReturn { status, code, text } => {
                let mut r = self.simple_return(req, now, *status, *code, text, &[], XML);
                r.headers.extend(peek().to_headers());
                r
            }
            other => SimResponse::new(
                500,
                TEXT,
                format!(
                    "qharness simulator: fault {} does not replace a response; this is a simulator bug\n",
                    other.name()
                ),
            ),
        }
    }
}
