//! The WAS handlers of the QPS family, one per endpoint (registered in `sim/registry.rs`):
//! search, count and get for web applications and findings, and the portal version.
//!
//! A search reads its `ServiceRequest` ([`super::service_request`]), checks its criteria
//! ([`super::criteria`]), keeps the records in the caller's scope that meet them, sorted by id,
//! from the tenant's WAS section as it stands at the tenant's clock ([`WasData::at`]: records
//! that appear later are absent, changes up to the clock applied, dates derived from them),
//! and answers one page: from `startFromId` and `startFromOffset` on, `limitResults` records.
//! `count` is the number of records in this answer; `hasMoreRecords` says whether more match,
//! and `lastId` (the id of the page's last record) comes only when they do. A search that
//! matches nothing answers `count` 0 alone, the 2022 recorded form. Successful answers carry the
//! recorded `evaluation: false` header; `X-Powered-By` is not sent (a subscription option).
//!
//! The `cursor_stuck` fault makes a search repeat the `id GREATER` value it was asked for as
//! its `lastId` (0 on a first page), so a client that follows `lastId` would never advance.

use std::borrow::Cow;

use crate::qualys::endpoint::{self, Endpoint};
use crate::sim::dialect::qps::{schema_location, service_response};
use crate::sim::engine::fault::Fault;
use crate::sim::engine::handler::{Call, Handler, Rejection};
use crate::sim::server::response::{SimResponse, content_type};
use crate::sim::tenant::{SimFinding, SimWebApp, WasData};

use super::criteria::{Filter, Object};
use super::render;
use super::service_request::{ServiceRequestBody, invalid};

/// `search/was/webapp`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebAppSearchHandler;

/// `search/was/finding`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FindingSearchHandler;

/// `count/was/webapp`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebAppCountHandler;

/// `count/was/finding`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FindingCountHandler;

/// `get/was/webapp/<id>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebAppGetHandler;

/// `get/was/finding/<id>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FindingGetHandler;

/// `/qps/rest/portal/version`: the module versions clients use as a connectivity check.
#[derive(Debug, Clone, Copy, Default)]
pub struct PortalVersionHandler;

fn ok(body: Vec<u8>) -> SimResponse {
    let mut r = SimResponse::new(200, content_type::XML, body);
    r.headers.push(("evaluation".into(), "false".into()));
    r
}

/// The request's `ServiceRequest`, or why it cannot be read.
fn service_request(call: &Call<'_>) -> Result<ServiceRequestBody, Rejection> {
    if call
        .request
        .header("Content-Type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"))
    {
        return Err(invalid(
            "the qharness simulator does not model JSON ServiceRequest bodies.",
            "Send the ServiceRequest as XML with Content-Type: text/xml.",
        ));
    }
    ServiceRequestBody::parse(&call.request.body)
}

/// The records of one page: from `startFromId` and `startFromOffset` on, at most
/// `limitResults`; and whether more match after them.
fn page<'a, T>(
    all: &'a [&'a T],
    id: impl Fn(&T) -> u64,
    body: &ServiceRequestBody,
) -> (&'a [&'a T], bool) {
    let from_id = body.start_from_id.unwrap_or(0);
    let start = all.partition_point(|r| id(r) < from_id);
    let skip = body.start_from_offset.map_or(0, |o| o.saturating_sub(1));
    let start = start.saturating_add(usize::try_from(skip).unwrap_or(usize::MAX));
    let rest = &all[start.min(all.len())..];
    let n = rest.len().min(body.limit as usize);
    (&rest[..n], rest.len() > n)
}

/// The `lastId` of a page with more records after it.
fn last_id(call: &Call<'_>, filter: &Filter, last_on_page: u64) -> u64 {
    if call.has_fault(&Fault::CursorStuck) {
        filter.id_greater().unwrap_or(0)
    } else {
        last_on_page
    }
}

/// The tenant's WAS section as it stands at the call's moment (the tenant's clock): what
/// appeared by then, with the changes up to then applied.
fn was_now<'t>(call: &Call<'t>) -> Cow<'t, WasData> {
    call.tenant.was.at(call.now)
}

/// The web applications in the caller's scope that meet the criteria, by id.
fn webapps<'w>(call: &Call<'_>, was: &'w WasData, filter: &Filter) -> Vec<&'w SimWebApp> {
    was.webapps
        .iter()
        .filter(|w| WasData::sees(call.user, w) && filter.keeps_webapp(w, was))
        .collect()
}

/// The findings of web applications in the caller's scope that meet the criteria, by id, with
/// their web applications.
fn findings<'w>(call: &Call<'_>, was: &'w WasData, filter: &Filter) -> Vec<&'w SimFinding> {
    was.findings
        .iter()
        .filter(|f| {
            was.webapp(f.webapp).is_some_and(|app| {
                WasData::sees(call.user, app) && filter.keeps_finding(f, app, was)
            })
        })
        .collect()
}

impl Handler for WebAppSearchHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        let body = service_request(call)?;
        let filter = Filter::compile(Object::WebApp, &body.criteria)?;
        let schema = schema_location(Some(&endpoint::WAS_WEBAPP_SEARCH));
        let was = &*was_now(call);
        let all = webapps(call, was, &filter);
        let (records, more) = page(&all, |w| w.id, &body);
        let Some(last) = records.last() else {
            return Ok(ok(render::count_only(&call.request.origin, &schema, 0)));
        };
        let mut out = Vec::with_capacity(records.len() * 2048);
        render::open_page(
            &mut out,
            &call.request.origin,
            &schema,
            records.len() as u64,
            more.then(|| last_id(call, &filter, last.id)),
        );
        for w in records {
            render::webapp(&mut out, w, was, body.verbose);
        }
        render::close_page(&mut out);
        Ok(ok(out))
    }
}

impl Handler for FindingSearchHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        let body = service_request(call)?;
        let filter = Filter::compile(Object::Finding, &body.criteria)?;
        let schema = schema_location(Some(&endpoint::WAS_FINDING_SEARCH));
        let was = &*was_now(call);
        let all = findings(call, was, &filter);
        let (records, more) = page(&all, |f| f.id, &body);
        let Some(last) = records.last() else {
            return Ok(ok(render::count_only(&call.request.origin, &schema, 0)));
        };
        let mut out = Vec::with_capacity(records.len() * 4096);
        render::open_page(
            &mut out,
            &call.request.origin,
            &schema,
            records.len() as u64,
            more.then(|| last_id(call, &filter, last.id)),
        );
        for f in records {
            if let Some(app) = was.webapp(f.webapp) {
                render::finding(
                    &mut out,
                    f,
                    app,
                    was,
                    body.verbose,
                    &render::demo_response(f),
                );
            }
        }
        render::close_page(&mut out);
        Ok(ok(out))
    }
}

impl Handler for WebAppCountHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        let body = service_request(call)?;
        let filter = Filter::compile(Object::WebApp, &body.criteria)?;
        let schema = schema_location(Some(&endpoint::WAS_WEBAPP_COUNT));
        let n = webapps(call, &was_now(call), &filter).len() as u64;
        Ok(ok(render::count_only(&call.request.origin, &schema, n)))
    }
}

impl Handler for FindingCountHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        let body = service_request(call)?;
        let filter = Filter::compile(Object::Finding, &body.criteria)?;
        let schema = schema_location(Some(&endpoint::WAS_FINDING_COUNT));
        let n = findings(call, &was_now(call), &filter).len() as u64;
        Ok(ok(render::count_only(&call.request.origin, &schema, n)))
    }
}

/// `NOT_FOUND` inside HTTP 200 for an id the caller cannot see (the simulator's choice; no
/// recording shows one).
fn not_found(call: &Call<'_>, endpoint: &'static Endpoint, object: Object, id: u64) -> SimResponse {
    let schema = schema_location(Some(endpoint));
    SimResponse::new(
        200,
        content_type::XML,
        service_response(
            &call.request.origin,
            &schema,
            "NOT_FOUND",
            Some((
                &format!("{} with id {id} was not found.", object.name()),
                Some(
                    "Check the id; a user sees only the web applications in its scope and their findings.",
                ),
            )),
            None,
        ),
    )
}

impl Handler for WebAppGetHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        let endpoint = &endpoint::WAS_WEBAPP_GET;
        let id = call.id.unwrap_or_default();
        let was = &*was_now(call);
        let Some(w) = was.webapp(id).filter(|w| WasData::sees(call.user, w)) else {
            return Ok(not_found(call, endpoint, Object::WebApp, id));
        };
        let mut out = Vec::with_capacity(4096);
        render::open_single(
            &mut out,
            &call.request.origin,
            &schema_location(Some(endpoint)),
        );
        render::webapp(&mut out, w, was, true);
        render::close_page(&mut out);
        Ok(ok(out))
    }
}

impl Handler for FindingGetHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        let endpoint = &endpoint::WAS_FINDING_GET;
        let id = call.id.unwrap_or_default();
        let was = &*was_now(call);
        let found = was
            .findings
            .binary_search_by_key(&id, |f| f.id)
            .ok()
            .map(|i| &was.findings[i])
            .and_then(|f| Some((f, was.webapp(f.webapp)?)))
            .filter(|(_, app)| WasData::sees(call.user, app));
        let Some((f, app)) = found else {
            return Ok(not_found(call, endpoint, Object::Finding, id));
        };
        let mut out = Vec::with_capacity(8192);
        render::open_single(
            &mut out,
            &call.request.origin,
            &schema_location(Some(endpoint)),
        );
        render::finding(&mut out, f, app, was, true, &render::demo_response(f));
        render::close_page(&mut out);
        Ok(ok(out))
    }
}

impl Handler for PortalVersionHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        Ok(SimResponse::new(
            200,
            content_type::XML,
            render::portal_version(
                &call.request.origin,
                &schema_location(Some(&endpoint::QPS_PORTAL_VERSION)),
            ),
        ))
    }
}
