//! WAS Vulnerabilities: the findings of the web applications in the user's scope, one record
//! per finding: vulnerabilities, sensitive content and information gathered.
//!
//! POSTs a `ServiceRequest` to `/qps/rest/3.0/search/was/finding` with `verbose` (so that the
//! group, CWE, OWASP, WASC, detection score and CVSS v3 come back), `limitResults` =
//! `page_size`, a `type` criterion when `finding_types` is not all three, and
//! `lastTestedDate GREATER <changed_since>` in an incremental or `--since` run, then pages by
//! `id GREATER <lastId>` ([`super::qps_page`]): every page repeats every criterion, the date
//! one included, and adds the id one. The `resultList` a verbose finding carries (the
//! request and response captures of the customer's application) is read past, never copied into
//! a record.
//!
//! Record schema: see the README ("Record schema").

use std::io::BufRead;

use futures_util::future::LocalBoxFuture;
use serde::Serialize;

use super::qps_page::{self, QpsStream};
use super::record_value::{Flag, Num, Real, num, real, serialise_error, truth};
use super::saved_response::{ParseMode, ParseSummary, SavedResponse, with_reader};
use super::{ResumePoint, RunSummary, Stream, StreamKind};
use crate::client::{Body, Operator, QualysClient, Request, ServiceRequest};
use crate::config::ConnectorConfig;
use crate::error::Result;
use crate::parse::xml::was::{FINDING, FindingField as F, FindingList, ParsedRecord};
use crate::qualys::endpoint;
use crate::sink::Sink;

/// The filter of an incremental run: findings a scan tested after the moment.
///
/// `lastTestedDate` moves whenever a scan tests the finding, whatever the scan concluded: found
/// again (still open), found for the first time (a new finding is tested when it is found), or
/// found fixed, which comes back with status `FIXED` and its `fixedDate`. `lastDetectedDate`
/// would miss the fixed ones (a fixed finding is no longer detected) and `fixedDate` all the
/// others; `firstDetectedDate` only sees new ones. What a scan does not touch is not seen: a
/// finding ignored or un-ignored by hand between scans keeps its `lastTestedDate`, so such
/// edits reach an incremental copy with the next scan of the web application (README, "Resume
/// and incremental sync"). Elastic's Qualys WAS integration pulls the same way.
const CHANGED_SINCE: &str = "lastTestedDate";

/// The WAS Vulnerabilities stream (its row is in [`super::registry`]).
pub struct WasFindings;

impl Stream for WasFindings {
    /// Search findings, verbose, `page_size` per page, of the configured types: no criterion for
    /// all three, `type EQUALS` for one (how real clients ask), `type IN` for two; with
    /// `changed_since`, only those tested after it.
    fn first_request(&self, config: &ConnectorConfig) -> Request {
        let types = config.was.finding_types;
        let mut body = ServiceRequest::default()
            .preference("limitResults", config.was.page_size.to_string())
            .preference("verbose", "true");
        if !types.is_all() {
            let operator = if types.iter().count() == 1 {
                Operator::Equals
            } else {
                Operator::In
            };
            body = body.criterion("type", operator, types.to_wire_list());
        }
        if let Some(since) = config.sync.changed_since {
            body = body.criterion(CHANGED_SINCE, Operator::Greater, since.to_string());
        }
        Request::post(&endpoint::WAS_FINDING_SEARCH).body(Body::Xml(body))
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
                stream: StreamKind::WasFindings,
                kind: FINDING,
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
    qps_page::parse_saved(input, origin, mode, sink, FINDING, write_record)
}

/// One finding record. Field order is the output order.
#[derive(Serialize)]
struct FindingRecord<'a> {
    finding_id: u64,
    unique_id: Option<&'a str>,
    qid: Option<Num<'a>>,
    name: Option<&'a str>,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    potential: Option<Flag<'a>>,
    finding_type: Option<&'a str>,
    param: Option<&'a str>,
    severity: Option<Num<'a>>,
    url: Option<&'a str>,
    status: Option<&'a str>,
    first_detected: Option<&'a str>,
    last_detected: Option<&'a str>,
    last_tested: Option<&'a str>,
    times_detected: Option<Num<'a>>,
    is_ignored: Option<Flag<'a>>,
    ignored_reason: Option<&'a str>,
    fixed_date: Option<&'a str>,
    group: Option<&'a str>,
    cwe: Vec<Num<'a>>,
    owasp: Vec<Num<'a>>,
    wasc: Vec<Num<'a>>,
    detection_score: Option<Num<'a>>,
    cvss3_base: Option<Real<'a>>,
    webapp_id: Option<Num<'a>>,
    webapp_name: Option<&'a str>,
    webapp_url: Option<&'a str>,
}

/// Numbers of a list as JSON numbers where they parse, else their text.
fn numbers<'a>(items: impl Iterator<Item = &'a str>) -> Vec<Num<'a>> {
    items.filter_map(|s| num(Some(s))).collect()
}

/// Serialises a finding's record into `out`.
pub fn write_record(out: &mut Vec<u8>, r: &ParsedRecord) -> Result<()> {
    let record = FindingRecord {
        finding_id: r.id(),
        unique_id: r.get(F::UniqueId),
        qid: num(r.get(F::Qid)),
        name: r.get(F::Name),
        kind: r.get(F::Type),
        potential: truth(r.get(F::Potential)),
        finding_type: r.get(F::FindingType),
        param: r.get(F::Param),
        severity: num(r.get(F::Severity)),
        url: r.get(F::Url),
        status: r.get(F::Status),
        first_detected: r.get(F::FirstDetectedDate),
        last_detected: r.get(F::LastDetectedDate),
        last_tested: r.get(F::LastTestedDate),
        times_detected: num(r.get(F::TimesDetected)),
        is_ignored: truth(r.get(F::IsIgnored)),
        ignored_reason: r.get(F::IgnoredReason),
        fixed_date: r.get(F::FixedDate),
        group: r.get(F::Group),
        cwe: numbers(r.list(FindingList::Cwe)),
        owasp: numbers(r.list(FindingList::OwaspCodes)),
        wasc: numbers(r.list(FindingList::WascCodes)),
        detection_score: num(r.get(F::DetectionScore)),
        cvss3_base: real(r.get(F::Cvss3Base)),
        webapp_id: num(r.get(F::WebAppId)),
        webapp_name: r.get(F::WebAppName),
        webapp_url: r.get(F::WebAppUrl),
    };
    serde_json::to_writer(&mut *out, &record).map_err(serialise_error)
}
