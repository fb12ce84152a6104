//! The engine: turns a [`SimRequest`] into a [`SimResponse`], knowing nothing of HTTP
//! connections and nothing of any API family's data.
//!
//! The order of checks follows what a real exchange goes through:
//! 1. the web server: a control path (`/__sim/...`), or a path without its trailing slash (301);
//! 2. replay, when a fixture set is loaded and a fixture matches;
//! 3. the API, for a path of the endpoint registry: the method, authentication by the
//!    endpoint's family ([`accounts::Authenticate`]), authorisation by the endpoint's
//!    permission, injected answers (tenant faults), rate and concurrency limits, and finally the
//!    endpoint's [`handler::Handler`] from the [`routing::RoutingTable`]. Every "no" on the way
//!    is rendered by the family's [`Dialect`].
//!
//! Every exchange except admin calls is journalled here; the transport completes the entry
//! with the bytes it actually sent.
//!
//! What the admin API ([`admin`]) changes while the simulator runs (the tenant, the faults in
//! force, the fixture set) sits behind locks that a request holds only long enough to take a
//! snapshot: an exchange in flight finishes with the tenant it started with.

pub mod accounts;
pub mod admin;
pub mod fault;
pub mod handler;
pub mod journal;
pub mod limits;
pub mod redaction;
pub mod replay;
pub mod routing;

use std::sync::{Arc, Mutex, RwLock};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::qualys::Endpoint;
use crate::sim::dialect::{Context, Dialect, InjectedError, web_server};
use crate::sim::server::request::SimRequest;
use crate::sim::server::response::{SimResponse, content_type};
use crate::sim::tenant::{Budget, Tenant, User};
use crate::sim::timestamp::Timestamp;

use self::accounts::Refusal;
use self::admin::AdminToken;
use self::fault::{Delivery, Fault, FaultBook, FaultRule};
use self::handler::{Call, Rejection};
use self::journal::{Completion, Journal, JournalEntry, JournalLimits, Ticket, keep_params};
use self::limits::{LimitHeaders, LimitReached, Limiter};
use self::redaction::{is_secret_param, journalled_body};
use self::replay::{FixtureSet, Unmatched, unmatched_text};
use self::routing::{Route, RoutingTable};

/// The journal's `source` of an answer from the tenant model.
const MODEL: &str = "model";

/// The simulated server's state and logic.
#[derive(Debug)]
pub struct Engine {
    /// The tenant as loaded (at start or by `PUT /__sim/tenant`).
    tenant: RwLock<Arc<Tenant>>,
    /// The faults in force: the tenant's, plus or minus what the admin API changed since; a
    /// reset puts the tenant's back.
    faults: RwLock<Arc<Vec<FaultRule>>>,
    fixtures: RwLock<Option<Arc<FixtureSet>>>,
    routes: RoutingTable,
    journal: Journal,
    limiter: Limiter,
    book: FaultBook,
    rng: Mutex<ChaCha8Rng>,
    /// The tenant's clock as it stands (`None`: the real time).
    clock: Mutex<Option<Timestamp>>,
    /// Who may call the admin API.
    admin_token: AdminToken,
}

impl Engine {
    /// An engine serving `tenant` (and `fixtures` first, when given) with the simulator's
    /// routing table (`sim/registry.rs`).
    pub fn new(tenant: Tenant, fixtures: Option<FixtureSet>) -> Engine {
        Engine::with_routes(tenant, fixtures, crate::sim::registry::routing_table())
    }

    /// An engine with another routing table (tests of the seam itself).
    ///
    /// # Panics
    ///
    /// When the table lacks a row for a family of the endpoint registry.
    pub(crate) fn with_routes(
        tenant: Tenant,
        fixtures: Option<FixtureSet>,
        routes: RoutingTable,
    ) -> Engine {
        routes.assert_covers_registry();
        let clock = Mutex::new(tenant.clock);
        Engine {
            clock,
            faults: RwLock::new(Arc::new(tenant.faults.clone())),
            tenant: RwLock::new(Arc::new(tenant)),
            fixtures: RwLock::new(fixtures.map(Arc::new)),
            routes,
            journal: Journal::default(),
            limiter: Limiter::default(),
            book: FaultBook::default(),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(0)),
            admin_token: AdminToken::random(),
        }
    }

    /// The same engine with its journal bounded by `limits`.
    pub fn with_journal_limits(mut self, limits: JournalLimits) -> Engine {
        self.journal = Journal::with_limits(limits);
        self
    }

    /// The same engine with `token` as the admin API's bearer token (a random one otherwise).
    pub fn with_admin_token(mut self, token: AdminToken) -> Engine {
        self.admin_token = token;
        self
    }

    /// The admin API's bearer token.
    pub fn admin_token(&self) -> &AdminToken {
        &self.admin_token
    }

    pub fn journal(&self) -> Journal {
        self.journal.clone()
    }

    /// The tenant being served (a snapshot: a later `PUT /__sim/tenant` does not change it).
    pub fn tenant(&self) -> Arc<Tenant> {
        Arc::clone(&self.tenant.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The fault rules in force.
    pub fn faults(&self) -> Arc<Vec<FaultRule>> {
        Arc::clone(&self.faults.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn fixtures(&self) -> Option<Arc<FixtureSet>> {
        self.fixtures
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Serves `tenant` from now on, with its faults, its clock and fresh limits and fault
    /// counters (the journal is kept: a reset clears it).
    pub fn replace_tenant(&self, tenant: Tenant) {
        let clock = tenant.clock;
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tenant.faults.clone());
        *self.tenant.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tenant);
        self.book.reset();
        self.limiter.reset();
        *self.clock.lock().unwrap_or_else(|p| p.into_inner()) = clock;
    }

    /// Adds fault rules after those in force; returns how many are in force now. A rule scoped
    /// to a user the tenant does not have is refused, naming the user.
    pub fn add_faults(&self, rules: Vec<FaultRule>) -> std::result::Result<usize, String> {
        let tenant = self.tenant();
        if let Some(user) = rules
            .iter()
            .filter_map(|r| r.user.as_deref())
            .find(|u| tenant.user(u).is_none())
        {
            return Err(format!(
                "a fault is scoped to user {user:?}, who is not a user of this tenant"
            ));
        }
        let mut faults = self.faults.write().unwrap_or_else(|p| p.into_inner());
        let mut all = Vec::clone(&faults);
        all.extend(rules);
        let n = all.len();
        // Appending keeps every rule's index, so the call counts so far still apply.
        *faults = Arc::new(all);
        Ok(n)
    }

    /// Removes every fault rule in force, the tenant's included, until the next reset.
    pub fn clear_faults(&self) {
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Vec::new());
        self.book.reset();
    }

    /// Answers from `fixtures` first from now on (`None`: from the tenant only).
    pub fn replace_fixtures(&self, fixtures: Option<FixtureSet>) {
        *self.fixtures.write().unwrap_or_else(|p| p.into_inner()) = fixtures.map(Arc::new);
    }

    /// The number of fixtures of the set loaded, if one is.
    pub fn fixture_count(&self) -> Option<usize> {
        self.fixtures().map(|f| f.manifest().fixtures.len())
    }

    /// The moment answers are given at: the tenant's clock, or the real time without one.
    pub fn now(&self) -> Timestamp {
        self.clock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(Timestamp::now)
    }

    /// Moves the tenant's clock: changes up to `now` become visible, later ones are not yet.
    pub fn set_clock(&self, now: Timestamp) {
        *self.clock.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
    }

    /// Back to the state of a fresh start: journal, the tenant's faults (what the admin API
    /// added or cleared is undone) and their counters, rate windows, session tokens, fixture
    /// sequences, the random-delay sequence and the tenant's clock.
    pub fn reset(&self) {
        let tenant = self.tenant();
        self.journal.reset();
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tenant.faults.clone());
        self.book.reset();
        self.limiter.reset();
        self.routes.reset_sessions();
        if let Some(f) = self.fixtures() {
            f.reset();
        }
        *self.clock.lock().unwrap_or_else(|p| p.into_inner()) = tenant.clock;
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = ChaCha8Rng::seed_from_u64(0);
    }

    /// The limit headers a call of `user` to `endpoint` would see now, without counting it.
    fn peek(&self, tenant: &Tenant, user: &User, endpoint: &'static Endpoint) -> LimitHeaders {
        let limits = tenant.limits_for(user);
        self.limiter.peek(tenant.budget_for(user), endpoint, limits)
    }

    fn random(&self, lo: u64, hi: u64) -> u64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random_range(lo..=hi)
    }

    fn record(&self, req: &SimRequest, status: u16, faults: &[&str], source: &str) -> Ticket {
        let (params, params_dropped) = keep_params(
            req.params
                .iter()
                .filter(|(k, _)| !is_secret_param(k))
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        self.journal.push(JournalEntry {
            seq: 0,
            method: req.method.clone(),
            path: journal::cut_text(&req.path, journal::TEXT_CAP),
            params,
            params_dropped,
            user: req.user().map(String::from),
            headers: req.headers.clone(),
            status,
            bytes: 0,
            completion: Completion::InProgress,
            faults: faults.iter().map(|f| f.to_string()).collect(),
            source: source.to_string(),
            body: journalled_body(req),
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
            Route::Admin => return self.admin(req),
            Route::MissingSlash { location } => {
                let location = match &req.query {
                    Some(q) => format!("{}{location}?{q}", req.origin),
                    None => format!("{}{location}", req.origin),
                };
                return self.journalled(req, web_server::moved(location), &[], "web-server");
            }
            _ => {}
        }
        let endpoint = match route {
            Route::Api { endpoint, .. } => Some(endpoint),
            _ => None,
        };
        let tenant = self.tenant();
        if let Some(r) = self.replay(&tenant, req, endpoint) {
            return r;
        }
        match route {
            Route::Api {
                endpoint,
                version,
                id,
            } => self.answer(&tenant, req, endpoint, version, id),
            _ => self.unknown_path(req),
        }
    }

    /// The web server's 404 for a path that is no endpoint (journalled). Also the answer to an
    /// admin path on a listener that does not serve the admin API.
    pub fn unknown_path(&self, req: &SimRequest) -> SimResponse {
        let modelled: Vec<String> = self.routes.modelled().map(|e| e.shape()).collect();
        let r = web_server::unknown_path(&req.method, &req.path, &modelled);
        self.journalled(req, r, &[], "web-server")
    }

    /// The answer of the fixture set, if one is loaded and it answers this request.
    fn replay(
        &self,
        tenant: &Arc<Tenant>,
        req: &SimRequest,
        endpoint: Option<&'static Endpoint>,
    ) -> Option<SimResponse> {
        let fx = self.fixtures()?;
        let (fixture, recorded) = match fx.answer(req) {
            Ok(found) => found,
            Err(misses) if fx.unmatched() == Unmatched::Error => {
                let r = SimResponse::new(404, content_type::TEXT, unmatched_text(req, &misses));
                return Some(self.journalled(req, r, &[], "unmatched"));
            }
            Err(_) => return None,
        };
        let source = format!("replay:{}", fixture.name);
        let mut delivery = Delivery::for_family(endpoint.map(|e| e.family));
        let mut names = Vec::new();
        if let Some(f) = &recorded.fault {
            names.push(f.name());
            if !delivery.add(f, |a, b| self.random(a, b)) {
                let user = req.user().unwrap_or("");
                let known = tenant.user(user);
                let ctx = Context {
                    origin: &req.origin,
                    path: &req.path,
                    endpoint,
                    user,
                    now: self.now(),
                    limits: Some(match (endpoint, known) {
                        (Some(e), Some(u)) => self.peek(tenant, u, e),
                        (Some(e), None) => {
                            self.limiter.peek(Budget::Subscription, e, tenant.limits)
                        }
                        (None, _) => LimitHeaders::fresh(tenant.limits),
                    }),
                };
                let dialect = &*self.routes.family_row(endpoint.map(|e| e.family)).dialect;
                let r = fault_answer(&ctx, dialect, f);
                return Some(self.journalled(req, r, &names, &source));
            }
        }
        let mut r = match fx.body(recorded, &req.origin) {
            Ok(body) => SimResponse {
                status: recorded.status,
                headers: fx.headers(recorded, &req.origin),
                body,
                delivery,
                ticket: None,
                guard: None,
            },
            Err(e) => SimResponse::new(
                500,
                content_type::TEXT,
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
        Some(self.journalled(req, r, &names, &source))
    }

    /// The answer of the tenant model to a call of a registered endpoint.
    fn answer(
        &self,
        tenant: &Arc<Tenant>,
        req: &SimRequest,
        endpoint: &'static Endpoint,
        version: u8,
        id: Option<u64>,
    ) -> SimResponse {
        let family = self.routes.family_row(Some(endpoint.family));
        let dialect = &*family.dialect;
        let mut ctx = Context {
            origin: &req.origin,
            path: &req.path,
            endpoint: Some(endpoint),
            user: req.user().unwrap_or(""),
            now: self.now(),
            limits: None,
        };
        if req.method != "GET" && req.method != "POST" {
            let r = dialect.rejection(&ctx, &Rejection::method_not_allowed(&req.method));
            return self.journalled(req, r, &[], MODEL);
        }
        let user = match family.authentication.authenticate(tenant, req, endpoint) {
            Ok(u) => u,
            Err(refusal) => {
                // A user refused for the state of their account still has a budget; the
                // answers that carry limit headers show it.
                ctx.limits = req
                    .user()
                    .and_then(|login| tenant.user(login))
                    .map(|u| self.peek(tenant, u, endpoint));
                return self.journalled(req, dialect.refusal(&ctx, refusal), &[], MODEL);
            }
        };
        let limits = tenant.limits_for_endpoint(user, endpoint);
        let budget = tenant.budget_for(user);
        let peek = self.limiter.peek(budget, endpoint, limits);
        ctx.user = &user.login;
        ctx.limits = Some(peek);
        if let Some(name) = family.required_header
            && tenant.require_requested_with
            && version > 0
            && req.header(name).is_none_or(|v| v.trim().is_empty())
        {
            let mut r = dialect.rejection(&ctx, &Rejection::missing_header(name));
            r.headers.extend(dialect.limit_headers(peek));
            return self.journalled(req, r, &[], MODEL);
        }
        if let Err(refusal) = accounts::authorize(user, endpoint) {
            return self.journalled(req, dialect.refusal(&ctx, refusal), &[], MODEL);
        }

        let mut delivery = Delivery::for_family(Some(endpoint.family));
        let mut names = Vec::new();
        let mut answer: Option<&Fault> = None;
        let mut render_faults = Vec::new();
        let faults = self.faults();
        for f in self.book.select(&faults, endpoint, Some(&user.login)) {
            names.push(f.name());
            if f.is_answer() {
                answer = answer.or(Some(f));
            } else if !delivery.add(f, |a, b| self.random(a, b)) {
                render_faults.push(f);
            }
        }
        let finish = |mut r: SimResponse, delivery: Delivery| {
            r.delivery = delivery;
            self.journalled(req, r, &names, MODEL)
        };
        if let Some(f) = answer {
            if *f == Fault::JwtExpired {
                family.authentication.expire_session(req);
            }
            return finish(fault_answer(&ctx, dialect, f), delivery);
        }
        let Some(row) = self.routes.handler(endpoint) else {
            let r = dialect.rejection(&ctx, &Rejection::not_modelled(endpoint));
            return finish(r, delivery);
        };
        let admitted = if row.limited {
            match self.limiter.admit(budget, endpoint, limits) {
                Ok(admitted) => Some(admitted),
                Err(reached) => return finish(dialect.limit_reached(&ctx, &reached), delivery),
            }
        } else {
            None
        };
        let call = Call {
            request: req,
            endpoint,
            version,
            id,
            user,
            tenant,
            now: ctx.now,
            render_faults: &render_faults,
        };
        let mut r = row
            .handler
            .respond(&call)
            .unwrap_or_else(|rejection| dialect.rejection(&ctx, &rejection));
        match admitted {
            Some((headers, guard)) => {
                r.headers.extend(dialect.limit_headers(headers));
                r.guard = Some(guard);
            }
            // Not counted (about.php), yet clients size themselves from its headers.
            None => r.headers.extend(dialect.limit_headers(peek)),
        }
        finish(r, delivery)
    }
}

/// The response an answer fault injects. What the web server in front sends looks the same for
/// every family; throttles and family errors are said in the family's dialect.
fn fault_answer(ctx: &Context<'_>, dialect: &dyn Dialect, f: &Fault) -> SimResponse {
    let peek = ctx.limits.unwrap_or_default();
    match f {
        Fault::ServerError { status } => web_server::bare_error(*status),
        Fault::HtmlError { status } => web_server::error_page(*status),
        Fault::MovedPermanently => web_server::moved(format!("{}{}", ctx.origin, ctx.path)),
        Fault::RateLimited { seconds_to_wait } => dialect.limit_reached(
            ctx,
            &LimitReached::Rate {
                seconds_to_wait: *seconds_to_wait,
                headers: LimitHeaders {
                    remaining: 0,
                    to_wait_secs: *seconds_to_wait,
                    ..peek
                },
            },
        ),
        Fault::ConcurrencyBusy { calls_to_finish } => dialect.limit_reached(
            ctx,
            &LimitReached::Concurrency {
                calls_to_finish: *calls_to_finish,
                headers: LimitHeaders {
                    running: peek.concurrency_limit.max(*calls_to_finish),
                    ..peek
                },
            },
        ),
        Fault::JwtExpired => dialect.refusal(ctx, Refusal::SessionExpired),
        Fault::GenericReturn999 { status } => {
            dialect.injected(ctx, InjectedError::Internal { status: *status })
        }
        Fault::SimpleReturn { status, code, text } => dialect.injected(
            ctx,
            InjectedError::Coded {
                status: *status,
                code: *code,
                text,
            },
        ),
        other => SimResponse::new(
            500,
            content_type::TEXT,
            format!(
                "qharness simulator: fault {} does not replace a response; this is a simulator bug\n",
                other.name()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualys::endpoint::{self, Family};
    use crate::sim::dialect::fo::FoDialect;
    use crate::sim::dialect::gateway::GatewayDialect;
    use crate::sim::dialect::qps::QpsDialect;
    use crate::sim::engine::accounts::{BasicAuth, GatewayAuth, NoSessions};
    use crate::sim::engine::handler::RejectionKind;

    fn table() -> RoutingTable {
        RoutingTable::new()
            .family(Family::Fo, BasicAuth, FoDialect)
            .family(Family::Qps, BasicAuth, QpsDialect)
            .family(
                Family::Gateway,
                GatewayAuth::new(&endpoint::GATEWAY_AUTH, Arc::new(NoSessions)),
                GatewayDialect,
            )
            .default_family(Family::Fo)
    }

    fn body(r: SimResponse) -> String {
        String::from_utf8(r.collect_body().unwrap()).unwrap()
    }

    #[test]
    fn a_handler_registered_for_an_endpoint_gets_the_call_after_every_generic_check() {
        let routes = table().answer(&endpoint::WAS_WEBAPP_GET, |call: &Call<'_>| {
            Ok(SimResponse::new(
                200,
                content_type::TEXT,
                format!(
                    "{} v{} id={:?} user={}",
                    call.endpoint.name, call.version, call.id, call.user.login
                ),
            ))
        });
        let engine = Engine::with_routes(Tenant::demo(), None, routes);
        let get = |user: &str| {
            engine.handle(
                &SimRequest::new("GET", "/qps/rest/3.0/get/was/webapp/42", "http://sim")
                    .with_basic(user, "demo"),
            )
        };
        let r = get("quays_ab1");
        assert_eq!(r.status, 200);
        assert_eq!(body(r), "was_webapp_get v3 id=Some(42) user=quays_ab1");
        let refused = get("quays_nowas1");
        assert!(body(refused).contains("<responseCode>UNAUTHORIZED</responseCode>"));
        let journal = engine.journal().entries();
        assert_eq!(
            journal.iter().map(|e| e.status).collect::<Vec<_>>(),
            vec![200, 200]
        );
    }

    #[test]
    fn a_handlers_rejection_and_the_render_faults_reach_the_right_places() {
        let routes = table().answer(&endpoint::WAS_FINDING_SEARCH, |call: &Call<'_>| {
            if call.has_fault(&Fault::CursorStuck) {
                return Ok(SimResponse::new(200, content_type::TEXT, "stuck"));
            }
            Err(Rejection::new(
                RejectionKind::InvalidValue,
                "Criteria: Invalid value format for criteria 'webApp.id' (abc123).",
            ))
        });
        let mut tenant = Tenant::demo();
        tenant.faults.push(
            crate::sim::engine::fault::FaultRule::always(Fault::CursorStuck)
                .on(endpoint::EndpointScope::One(&endpoint::WAS_FINDING_SEARCH))
                .calls(crate::sim::engine::fault::CallRange::parse("2").unwrap()),
        );
        let engine = Engine::with_routes(tenant, None, routes);
        let search = || {
            engine.handle(
                &SimRequest::new("POST", "/qps/rest/3.0/search/was/finding", "http://sim")
                    .with_basic("quays_ab1", "demo"),
            )
        };
        let rejected = search();
        assert_eq!(rejected.status, 200, "QPS rejects inside HTTP 200");
        assert!(body(rejected).contains("<responseCode>INVALID_REQUEST</responseCode>"));
        assert_eq!(body(search()), "stuck");
        assert_eq!(engine.journal().entries()[1].faults, vec!["cursor_stuck"]);
    }

    #[test]
    #[should_panic(expected = "no row for the Gateway family")]
    fn a_table_missing_a_family_fails_at_start() {
        let routes = RoutingTable::new()
            .family(Family::Fo, BasicAuth, FoDialect)
            .family(Family::Qps, BasicAuth, QpsDialect);
        let _ = Engine::with_routes(Tenant::demo(), None, routes);
    }
}
