//! The VMDR family's handlers, one per endpoint: each parses its parameters, binds them to the
//! tenant and the caller (asset groups, networks, the caller's asset-group scope) and opens its
//! page. Registered in `sim/registry.rs`.
//!
//! A user's scope applies to every endpoint that lists hosts: Host List and Host List
//! Detection here; the WAS handlers apply the same `User::asset_groups` to web applications by
//! their tags (`sim/tenant/was.rs`). The KnowledgeBase is the subscription's, unscoped.

use std::sync::Arc;

use crate::sim::engine::fault::Fault;
use crate::sim::engine::handler::{Call, Handler, Rejection};
use crate::sim::server::response::{SimResponse, content_type};
use crate::sim::vmdr::host_pages::{HostPage, PageContext};
use crate::sim::vmdr::kb_page::KbPage;
use crate::sim::vmdr::params::{DetectionQuery, HostListQuery, KbQuery};
use crate::sim::vmdr::render::{self, Echo};

/// Host List Detection (`/api/N.0/fo/asset/host/vm/detection/`).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostDetectionHandler;

impl Handler for HostDetectionHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        let mut query = DetectionQuery::parse(&call.request.params, call.now)?;
        query.hosts.bind(&call.tenant.vmdr, call.user)?;
        let ctx = page_context(call, query.echo_request);
        let page = HostPage::detection(Arc::clone(call.tenant), query, call.version, ctx);
        Ok(SimResponse::streamed(200, content_type::XML, page))
    }
}

/// Host List (`/api/N.0/fo/asset/host/`).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostListHandler;

impl Handler for HostListHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        let mut query = HostListQuery::parse(&call.request.params, call.now)?;
        query.hosts.bind(&call.tenant.vmdr, call.user)?;
        let ctx = page_context(call, query.echo_request);
        let page = HostPage::host_list(Arc::clone(call.tenant), query, call.version, ctx);
        Ok(SimResponse::streamed(200, content_type::XML, page))
    }
}

/// KnowledgeBase (`/api/N.0/fo/knowledge_base/vuln/`); Qualys labels it
/// `text/xml;charset=UTF-8`.
#[derive(Debug, Clone, Copy, Default)]
pub struct KnowledgeBaseHandler;

impl Handler for KnowledgeBaseHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        let query = KbQuery::parse(&call.request.params)?;
        let ctx = page_context(call, query.echo_request);
        let page = KbPage::new(Arc::clone(call.tenant), query, ctx);
        Ok(SimResponse::streamed(200, content_type::XML_UTF8, page))
    }
}

/// `/msp/about.php`: the versions document clients use as a connectivity check.
#[derive(Debug, Clone, Copy, Default)]
pub struct AboutHandler;

impl Handler for AboutHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        Ok(SimResponse::new(
            200,
            content_type::XML,
            render::about(&call.request.origin),
        ))
    }
}

/// What a page repeats of the request; `echo` adds the `REQUEST` block of `echo_request=1`.
fn page_context(call: &Call<'_>, echo: bool) -> PageContext {
    let params = call.public_params();
    PageContext {
        origin: call.request.origin.clone(),
        path: call.request.path.clone(),
        now: call.now,
        echo: echo.then(|| Echo {
            datetime: call.now,
            user: call.user.login.clone(),
            resource: call.request.path.clone(),
            params: params.clone(),
        }),
        params,
        cursor_stuck: call.has_fault(&Fault::CursorStuck),
    }
}
