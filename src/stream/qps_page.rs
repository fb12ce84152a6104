//! What the WAS streams share: a QPS search page read from a response body into a spool, its
//! `ServiceResponse` head saying whether more records follow and after which `lastId`, and the
//! loop that pages by `id GREATER lastId` and commits each page whole.
//!
//! Beside what the cursor checks (a `lastId` that moves forward, records on a page that says more
//! follow), two facts of the documented paging are checked here, because paging by id relies on
//! them: records arrive sorted by id within a page, and each page starts after the last record
//! of the previous one. A server that breaks either would make the connector lose or repeat
//! records; the run stops instead, before the page reaches the sink.

use std::io::BufRead;
use std::sync::atomic::Ordering;

use super::cursor::{LastIdCursor, MoreRecords, PagePosition};
use super::page_loop::{self, Parsed};
use super::saved_response::{ParseMode, ParseSummary};
use super::{PageDone, ResumePoint, RunSummary, StreamKind, cannot_resume};
use crate::client::body_reader::BodyReader;
use crate::client::error_reader::{ResponseFacts, fo, qps};
use crate::client::{QualysClient, Request};
use crate::config::ConnectorConfig;
use crate::error::{Error, Result};
use crate::parse::xml::Capture;
use crate::parse::xml::text::TextStats;
use crate::parse::xml::was::{ParsedRecord, RecordKind, WasDocument, WasReader};
use crate::sink::{PageSpool, Sink};

/// Serialises one record into a buffer.
pub type RecordWriter = fn(&mut Vec<u8>, &ParsedRecord) -> Result<()>;

/// One QPS page, parsed completely and held in a spool.
pub struct QpsPage {
    pub spool: PageSpool,
    pub records: u64,
    pub first_id: Option<u64>,
    /// The page's `count` (the records in this answer, as Qualys counts them).
    pub declared: Option<u64>,
    pub text: TextStats,
    /// Where the page came from, for messages.
    pub origin: String,
}

/// Reads a whole page of `kind` records into a spool. An error inside the answer becomes the
/// error it carries (QPS `responseCode`, or an FO document from the front end).
pub fn parse_page(
    body: BodyReader,
    facts: &ResponseFacts,
    kind: &'static RecordKind,
    write: RecordWriter,
) -> Result<Parsed<QpsPage, MoreRecords>> {
    let origin = facts.exchange.to_string();
    let mut page = match WasReader::open(body, kind, Capture::All, origin.clone())? {
        WasDocument::Records(page) => *page,
        WasDocument::Refused(head) => return Err(qps::from_head(facts, head)),
        WasDocument::Other(other) => return Err(fo::from_other_document(facts, other)),
    };
    let mut spool = PageSpool::new();
    let mut json = Vec::with_capacity(4 * 1024);
    let mut first_id = None;
    let mut last_id: Option<u64> = None;
    while let Some(record) = page.next_record()? {
        let id = record.id();
        if let Some(previous) = last_id.filter(|&p| id <= p) {
            return Err(Error::Unexpected {
                origin,
                offset: page.position(),
                problem: format!(
                    "{} records are not sorted by id ({id} follows {previous}); paging by \
                     `id GREATER lastId` would lose or repeat records, so the run stops",
                    kind.element
                ),
            });
        }
        first_id.get_or_insert(id);
        last_id = Some(id);
        json.clear();
        write(&mut json, record)?;
        spool.push(id, &json)?;
    }
    let records = page.records_read();
    Ok(Parsed {
        next: MoreRecords::new(page.head(), records, last_id),
        page: QpsPage {
            spool,
            records,
            first_id,
            declared: page.head().count,
            text: page.text_stats(),
            origin,
        },
    })
}

/// What a WAS run reads: the stream, its record element and how a record is written.
pub struct QpsStream {
    pub stream: StreamKind,
    pub kind: &'static RecordKind,
    pub write: RecordWriter,
}

/// Runs a WAS stream from `from`: `first` and every page after it by `id GREATER lastId`, each
/// committed whole to `sink` once it parsed completely, then reported to the sink as done (the
/// state of a `--state` run is the `lastId` of the last committed page).
pub async fn run(
    qps: QpsStream,
    client: &QualysClient,
    config: &ConnectorConfig,
    first: Request,
    from: &ResumePoint,
    sink: &mut dyn Sink,
) -> Result<RunSummary> {
    let QpsStream {
        stream,
        kind,
        write,
    } = qps;
    let mut summary = RunSummary {
        stream: Some(stream),
        ..RunSummary::default()
    };
    let live = client.live();
    let cursor = LastIdCursor::resume(&from.position).ok_or_else(|| cannot_resume(config, from))?;
    // A resumed run has committed every record up to the saved lastId.
    let mut committed_up_to: Option<u64> = match from.position {
        PagePosition::LastId { last_id } => Some(last_id),
        _ => None,
    };
    let pages = page_loop::for_each_page_from(
        client,
        first,
        cursor,
        from.pages_done,
        move |body, facts| parse_page(body, facts, kind, write),
        async |page: QpsPage, done: PageDone| {
            if let (Some(first), Some(previous)) = (page.first_id, committed_up_to)
                && first <= previous
            {
                return Err(Error::Unexpected {
                    origin: page.origin,
                    offset: 0,
                    problem: format!(
                        "the page starts at {} id {first}, not after the last record already \
                         read (id {previous}): the server repeats records although the request \
                         asked for `id GREATER {previous}`; stopping instead of emitting them twice",
                        kind.element
                    ),
                });
            }
            if let Some(declared) = page.declared
                && declared != page.records
            {
                summary.warnings.push(format!(
                    "{}: the answer's count says {declared} record(s) but {} were read",
                    page.origin, page.records
                ));
            }
            summary.invalid_chars_replaced += page.text.invalid_chars_replaced;
            page.spool.drain(|id, json| {
                committed_up_to = Some(id);
                sink.record(json)?;
                live.records.fetch_add(1, Ordering::Relaxed);
                Ok(())
            })?;
            sink.page_done(&done)
        },
    )
    .await?;
    summary.pages = pages;
    summary.records = sink.count();
    summary.finish(client).await;
    Ok(summary)
}

/// Parses a saved WAS answer straight to the sink (no spool: a file has no retries).
pub fn parse_saved<R: BufRead>(
    input: R,
    origin: &str,
    mode: ParseMode,
    sink: &mut dyn Sink,
    kind: &'static RecordKind,
    write: RecordWriter,
) -> Result<ParseSummary> {
    let capture = match mode {
        ParseMode::Records => Capture::All,
        ParseMode::Count => Capture::Counting,
    };
    let mut page = WasReader::open_expecting(input, kind, capture, origin)?;
    let mut summary = ParseSummary::default();
    let mut json = Vec::with_capacity(8 * 1024);
    while let Some(record) = page.next_record()? {
        summary.records += 1;
        if mode == ParseMode::Records {
            json.clear();
            write(&mut json, record)?;
            sink.record(&json)?;
        }
    }
    summary.bytes = page.position();
    summary.text = page.text_stats();
    summary.truncated = page.head().has_more_records == Some(true);
    Ok(summary)
}
