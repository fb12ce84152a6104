//! WAS Assets: the web applications in the user's scope, one record per web application.
//!
//! POSTs a `ServiceRequest` to `/qps/rest/3.0/search/was/webapp` with `verbose` (without it a
//! web application comes back with its tag count only, and no OS, scope or last scan) and
//! `limitResults` = `page_size` (plus `updatedDate GREATER <changed_since>` in an incremental or
//! `--since` run), then pages the documented way: the same request, every criterion included,
//! plus `id GREATER <lastId>` while `hasMoreRecords` is true ([`super::qps_page`]).
//!
//! Record schema: see the README ("Record schema").

use std::io::BufRead;

use futures_util::future::LocalBoxFuture;
use serde::Serialize;

use super::qps_page::{self, QpsStream};
use super::record_value::{Flag, Num, num, serialise_error, truth};
use super::saved_response::{ParseMode, ParseSummary, SavedResponse, with_reader};
use super::{ResumePoint, RunSummary, Stream, StreamKind};
use crate::client::{Body, Operator, QualysClient, Request, ServiceRequest};
use crate::config::ConnectorConfig;
use crate::error::Result;
use crate::parse::xml::was::{ParsedRecord, WEBAPP, WebAppField as W, WebAppList};
use crate::qualys::endpoint;
use crate::sink::Sink;

/// The filter of an incremental run: web applications updated after the moment.
///
/// Qualys documents `updatedDate` as the last update of the web application itself, its
/// configuration, with `updatedBy` naming who made it: set when it is created and when a user or
/// an API call edits it. A scan does not necessarily change it, so the fields a scan moves
/// (`lastScan`, the risk score) can be older in an incremental copy than in a full pull until
/// the web application is next edited. It is the only date of a web application that means
/// "changed"; `lastScan.date` would miss every edit, and a new web application is seen either
/// way (its `updatedDate` is its creation). Run a full pull now and then if the last-scan fields
/// matter (README, "Resume and incremental sync").
const CHANGED_SINCE: &str = "updatedDate";

/// The WAS Assets stream (its row is in [`super::registry`]).
pub struct WasAssets;

impl Stream for WasAssets {
    /// Search web applications, verbose, `page_size` per page; no filter but `changed_since`:
    /// the stream is every web application the user may see.
    fn first_request(&self, config: &ConnectorConfig) -> Request {
        let mut body = ServiceRequest::default()
            .preference("limitResults", config.was.page_size.to_string())
            .preference("verbose", "true");
        if let Some(since) = config.sync.changed_since {
            body = body.criterion(CHANGED_SINCE, Operator::Greater, since.to_string());
        }
        Request::post(&endpoint::WAS_WEBAPP_SEARCH).body(Body::Xml(body))
    }

    /// Continues after the `lastId` of the last committed page (`--resume`).
    fn run_from<'a>(
        &'a self,
        client: &'a QualysClient,
        config: &'a ConnectorConfig,
        from: &'a ResumePoint,
        sink: &'a mut dyn Sink,
    ) -> LocalBoxFuture<'a, Result<RunSummary>> {
        Box::pin(qps_page::run(
            QpsStream {
                stream: StreamKind::WasAssets,
                kind: WEBAPP,
                write: write_record,
            },
            client,
            config,
            self.first_request(config),
            from,
            sink,
        ))
    }

    fn changed_since_param(&self) -> Option<&'static str> {
        Some(CHANGED_SINCE)
    }

    fn parse_saved(
        &self,
        input: SavedResponse<'_>,
        origin: &str,
        mode: ParseMode,
        sink: &mut dyn Sink,
    ) -> Result<ParseSummary> {
        with_reader!(input, r => parse_saved(r, origin, mode, sink))
    }
}

fn parse_saved<R: BufRead>(
    input: R,
    origin: &str,
    mode: ParseMode,
    sink: &mut dyn Sink,
) -> Result<ParseSummary> {
    qps_page::parse_saved(input, origin, mode, sink, WEBAPP, write_record)
}

/// One web application record. Field order is the output order.
#[derive(Serialize)]
struct WebAppRecord<'a> {
    webapp_id: u64,
    name: Option<&'a str>,
    url: Option<&'a str>,
    os: Option<&'a str>,
    owner_id: Option<Num<'a>>,
    owner_username: Option<&'a str>,
    scope: Option<&'a str>,
    tags: Vec<&'a str>,
    is_scheduled: Option<Flag<'a>>,
    last_scan_id: Option<Num<'a>>,
    last_scan_status: Option<&'a str>,
    last_scan_date: Option<&'a str>,
    created_date: Option<&'a str>,
    updated_date: Option<&'a str>,
    risk_score: Option<Num<'a>>,
}

/// Serialises a web application's record into `out`.
pub fn write_record(out: &mut Vec<u8>, r: &ParsedRecord) -> Result<()> {
    let record = WebAppRecord {
        webapp_id: r.id(),
        name: r.get(W::Name),
        url: r.get(W::Url),
        os: r.get(W::Os),
        owner_id: num(r.get(W::OwnerId)),
        owner_username: r.get(W::OwnerUsername),
        scope: r.get(W::Scope),
        tags: r.list(WebAppList::TagNames).collect(),
        is_scheduled: truth(r.get(W::IsScheduled)),
        last_scan_id: num(r.get(W::LastScanId)),
        // The recorded web application carries the outcome in `summary/resultsStatus`; a
        // `status` of the scan itself, when sent, says the same more directly.
        last_scan_status: r.get(W::LastScanStatus).or(r.get(W::LastScanResultsStatus)),
        last_scan_date: r.get(W::LastScanLaunchedDate),
        created_date: r.get(W::CreatedDate),
        updated_date: r.get(W::UpdatedDate),
        risk_score: num(r.get(W::RiskScore)),
    };
    serde_json::to_writer(&mut *out, &record).map_err(serialise_error)
}
