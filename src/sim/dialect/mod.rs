//! Dialects: how each API family says no.
//!
//! The engine decides *that* a call is refused, throttled, rejected or hit by a fault; the
//! family's [`Dialect`] decides what that looks like on the wire: status, content type, headers
//! and body. Three families, three dialects:
//!
//! | family | dialect | a refusal looks like |
//! |---|---|---|
//! | FO (`/api/N.0/fo/`, about.php) | [`fo::FoDialect`] | `SIMPLE_RETURN` with a CODE, HTTP 401/409/403 (2001 inside HTTP 200) |
//! | QPS (`/qps/rest/`, WAS) | [`qps::QpsDialect`] | `ServiceResponse` with `responseCode` `INVALID_CREDENTIALS` / `UNAUTHORIZED` inside HTTP 200 |
//! | gateway (`/auth`, `/pcrs/`) | [`gateway::GatewayDialect`] | JSON, HTTP 401 `{"status":401,"error":"Unauthorized","message":"Not authenticated"}`, 429 |
//!
//! What comes from the web server in front of Qualys (a 301 for a missing slash, a proxy's HTML
//! error page, a bare 5xx) is the same for every family and lives in [`web_server`].

pub mod fo;
pub mod gateway;
pub mod qps;
pub mod web_server;

use crate::qualys::Endpoint;
use crate::sim::engine::accounts::Refusal;
use crate::sim::engine::handler::Rejection;
use crate::sim::engine::limits::{LimitHeaders, LimitReached};
use crate::sim::server::response::SimResponse;
use crate::sim::timestamp::Timestamp;

/// How one API family says no. The engine calls it; each method returns the whole response
/// (the engine adds the `Server` header, the delivery faults and the journal entry).
pub trait Dialect: Send + Sync + 'static {
    /// A call refused before its endpoint: bad login, account state, missing permission.
    fn refusal(&self, ctx: &Context<'_>, refusal: Refusal) -> SimResponse;

    /// A call held back by the rate or concurrency limit, real or injected.
    fn limit_reached(&self, ctx: &Context<'_>, reached: &LimitReached) -> SimResponse;

    /// A request the endpoint (or the engine, for a method or an unmodelled endpoint) rejects.
    fn rejection(&self, ctx: &Context<'_>, rejection: &Rejection) -> SimResponse;

    /// An injected error whose body is the family's own (`generic_return_999`,
    /// `simple_return`).
    fn injected(&self, ctx: &Context<'_>, error: InjectedError<'_>) -> SimResponse;

    /// The limit headers a call that went through carries (none for families without them).
    fn limit_headers(&self, headers: LimitHeaders) -> Vec<(String, String)>;
}

/// What a dialect may need to know about the call it answers.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Where the client reached the simulator, for DTD and schema URLs.
    pub origin: &'a str,
    /// The request path, without its query string.
    pub path: &'a str,
    /// The endpoint, when the path is one of the registry.
    pub endpoint: Option<&'static Endpoint>,
    /// The caller's login once authenticated, else the Basic user name sent, else empty.
    pub user: &'a str,
    pub now: Timestamp,
    /// The caller's limit headers as they stand, once the caller is known.
    pub limits: Option<LimitHeaders>,
}

/// An injected error whose body each family writes its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedError<'a> {
    /// `generic_return_999`: the family's "internal error".
    Internal { status: u16 },
    /// `simple_return`: an error with this status, optional Qualys CODE and text.
    Coded {
        status: u16,
        code: Option<u32>,
        text: &'a str,
    },
}
