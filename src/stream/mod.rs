//! The connector streams: each turns the pages a [`QualysClient`] fetches into records for a
//! [`Sink`].
//!
//! # How the pieces fit
//!
//! ```text
//! registry (StreamKind -> StreamRow: name, family, permission, settings, record key, Stream)
//!    │
//!    └─> Stream::run ─> page_loop ─> client.fetch(request, parse page) ─> cursor ─> commit ─> sink
//!                            ▲                                              │
//!                            └──────────── next request (id_min, lastId) ───┘
//! ```
//!
//! - [`registry`] is the one table that says what each stream is. Everything outside this
//!   module reads a stream's facts from its [`StreamRow`] and runs it through the [`Stream`]
//!   trait; nothing else matches on [`StreamKind`].
//! - A [`Stream`] is one file per stream ([`vmdr_assets`], [`vmdr_vulnerabilities`],
//!   [`pc_posture`], [`was_assets`], [`was_findings`]): its first request, its page parser (from
//!   [`crate::parse`]), its cursor and what it does with a completed page. What the streams of
//!   one API family share sits beside them ([`host_list_page`] for FO, [`qps_page`] for QPS).
//! - [`page_loop`] is the loop every paged stream shares, and [`cursor`] the ways Qualys says
//!   where the next page starts: `id_min` in the FO truncation WARNING, `lastId` with
//!   `hasMoreRecords` in a QPS `ServiceResponse`.
//! - [`saved_response`] is the same parsing without HTTP (`qharness parse`, benchmarks).
//!
//! Every stream follows the same page discipline: a page's records are written to a
//! [`crate::sink::PageSpool`] while the page streams in, and reach the sink only once the page
//! parsed completely. A page that fails half-way is retried from scratch (nothing of it was
//! emitted) or fails the run; a record is never emitted twice.
//!
//! After a page is committed the stream tells the sink where the next page starts
//! ([`Sink::page_done`] with a [`PageDone`]); the sink of a `fetch --state` run
//! ([`crate::state`]) makes the page durable and records the position, and
//! [`Stream::run_from`] starts a run at such a position again (`fetch --resume`).

use futures_util::future::LocalBoxFuture;

use crate::client::{QualysClient, Request};
use crate::config::ConnectorConfig;
use crate::error::Result;
use crate::sink::Sink;

pub mod cursor;
pub mod host_list_page;
pub mod page_loop;
pub mod pc_posture;
pub mod qps_page;
pub mod record_value;
pub mod registry;
pub mod saved_response;
pub mod summary;
pub mod vmdr_assets;
pub mod vmdr_vulnerabilities;
pub mod was_assets;
pub mod was_findings;

pub use cursor::PagePosition;
pub use registry::{Baseline, STREAMS, StreamKind, StreamRow};
pub use saved_response::{ParseMode, ParseSummary, SavedKind, SavedResponse};
pub use summary::RunSummary;

/// What a stream says after committing a page: how many pages are done (those of an earlier,
/// interrupted run included) and where the next one starts (`None`: that was the last page; a
/// stream that cannot tell gives the position after the page, and the sink's `finish` says the
/// run is complete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageDone {
    pub pages: u64,
    pub next: Option<PagePosition>,
}

/// Where a run starts: at the beginning, or where an interrupted run stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumePoint {
    pub position: PagePosition,
    /// Pages committed before.
    pub pages_done: u64,
}

impl ResumePoint {
    /// The start of a fresh run.
    pub const START: ResumePoint = ResumePoint {
        position: PagePosition::Start,
        pages_done: 0,
    };
}

/// A connector stream: what the registry's [`StreamRow::builtin`] points at.
///
/// An implementation lives in its own file under `src/stream/`. A paged stream's
/// [`run_from`](Stream::run_from) is one call of `page_loop::for_each_page_from` with the
/// stream's first request, its cursor (restored at the resume point) and its page parser, plus
/// what the stream does with each completed page.
pub trait Stream: Sync {
    /// The request of the first page for a checked configuration (later pages are the cursor's
    /// business).
    fn first_request(&self, config: &ConnectorConfig) -> Request;

    /// Runs the stream from `from` (a resumed run starts where the interrupted one stopped),
    /// writing records to `sink` and telling it after each page where the next one starts. The
    /// sink is not finished here: the caller publishes the output only when this returns `Ok`.
    fn run_from<'a>(
        &'a self,
        client: &'a QualysClient,
        config: &'a ConnectorConfig,
        from: &'a ResumePoint,
        sink: &'a mut dyn Sink,
    ) -> LocalBoxFuture<'a, Result<RunSummary>>;

    /// Runs the stream to completion from its first page.
    fn run<'a>(
        &'a self,
        client: &'a QualysClient,
        config: &'a ConnectorConfig,
        sink: &'a mut dyn Sink,
    ) -> LocalBoxFuture<'a, Result<RunSummary>> {
        self.run_from(client, config, &ResumePoint::START, sink)
    }

    /// The request parameter that asks this stream's API for records changed since a moment
    /// (`changed_since`), or `None` when the stream has none; such a stream's registry row
    /// does not list `changed_since`.
    fn changed_since_param(&self) -> Option<&'static str> {
        None
    }

    /// Parses a saved response of this stream (`qharness parse`), without HTTP.
    fn parse_saved(
        &self,
        input: SavedResponse<'_>,
        origin: &str,
        mode: ParseMode,
        sink: &mut dyn Sink,
    ) -> Result<ParseSummary>;
}

/// The refusal of a resume point a stream's cursor cannot take (a state of another stream's
/// kind of paging; the state file's stream check normally catches it first).
pub(crate) fn cannot_resume(config: &ConnectorConfig, from: &ResumePoint) -> crate::error::Error {
    crate::error::Error::config(
        "resume",
        format!(
            "the {} stream cannot continue at {}: the state was written by a stream that pages differently",
            config.stream, from.position
        ),
        "start the run again without --resume, with a new state file",
    )
}
