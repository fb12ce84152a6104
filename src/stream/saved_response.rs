//! Parsing a saved response (a customer's dump, a synthetic scan) with the connector's own
//! parser, without HTTP: what `qharness parse`, the throughput scenarios and the parsing
//! benchmarks run, through [`crate::stream::Stream::parse_saved`].
//!
//! Records are written straight to the sink as they complete (a file has no retries, so no page
//! spool is needed). Nothing is joined from other endpoints: the KnowledgeBase fields of
//! detection records are null.
//!
//! [`SavedKind`] names what a file holds: a stream's page, or a KnowledgeBase answer (which is
//! no stream of its own: the vulnerabilities stream joins it). [`SavedKind::parse`] is the one
//! entry point for files, so a file's errors are a file's: one that ends too early is an
//! incomplete file (exit 1), not a transient failure to retry.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, StdinLock};
use std::str::FromStr;

use super::registry::StreamKind;
use super::vmdr_vulnerabilities;
use crate::error::Result;
use crate::parse::xml::text::TextStats;
use crate::sink::Sink;

/// What to produce from a saved response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode {
    /// NDJSON records to the sink.
    Records,
    /// Only count the records the stream would emit: the same parser, keeping only the fields a
    /// count needs (see [`crate::parse::xml::Capture`]), no serialisation.
    Count,
}

/// A saved response to parse.
///
/// The parsers are generic over their reader, and this is the hot path: a `dyn BufRead` would
/// put an indirect call under every XML event. So the few kinds of input there are each get
/// their own variant, and a stream dispatches on the variant once per parse
/// (`with_reader!`), reading each through its own monomorphised parser.
pub enum SavedResponse<'a> {
    /// A file through a 64 KiB buffer.
    File(BufReader<File>),
    /// Standard input through a 64 KiB buffer.
    Stdin(BufReader<StdinLock<'static>>),
    /// A response in memory, read in place.
    Memory(&'a [u8]),
    /// A response in memory through a buffer, read as a file would be (benchmarks).
    Buffered(BufReader<&'a [u8]>),
    /// Any other reader, through dynamic dispatch (tests that split the input into odd chunks).
    Other(Box<dyn BufRead + 'a>),
}

/// Runs `$body` with `$r` bound to the reader inside a [`SavedResponse`], monomorphised per
/// variant.
macro_rules! with_reader {
    ($input:expr, $r:ident => $body:expr) => {
        match $input {
            $crate::stream::SavedResponse::File($r) => $body,
            $crate::stream::SavedResponse::Stdin($r) => $body,
            $crate::stream::SavedResponse::Memory($r) => $body,
            $crate::stream::SavedResponse::Buffered($r) => $body,
            $crate::stream::SavedResponse::Other($r) => $body,
        }
    };
}
pub(crate) use with_reader;

/// Counts from parsing one saved response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseSummary {
    /// Records emitted (or, with [`ParseMode::Count`], that would be emitted).
    pub records: u64,
    pub hosts: u64,
    pub detections: u64,
    pub info_dropped: u64,
    pub unknown_type_dropped: u64,
    pub bytes: u64,
    pub text: TextStats,
    /// Whether the response ended with a truncation WARNING (more pages exist upstream).
    pub truncated: bool,
    /// Whether the response listed IDs only (a Host List `ID_SET`, as `details=None` answers):
    /// its records carry nothing but `host_id`.
    pub ids_only: bool,
}

/// What a saved response holds: a page of a stream's endpoint, or a KnowledgeBase answer.
///
/// ```
/// use qualys_harness::{SavedKind, StreamKind};
///
/// assert_eq!("knowledge-base".parse(), Ok(SavedKind::KnowledgeBase));
/// assert_eq!("vmdr-assets".parse(), Ok(SavedKind::Stream(StreamKind::VmdrAssets)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedKind {
    /// What the stream's paged endpoint answers (Host List Detection for
    /// `vmdr-vulnerabilities`, Host List for `vmdr-assets`), as records of that stream.
    Stream(StreamKind),
    /// A KnowledgeBase answer (`/api/2.0/fo/knowledge_base/vuln/`), as one record of KB facts per
    /// QID.
    KnowledgeBase,
}

impl SavedKind {
    /// The name of the KnowledgeBase kind on the command line.
    pub const KNOWLEDGE_BASE: &'static str = "knowledge-base";

    /// Parses a saved response of this kind into `sink`, or only counts its records
    /// ([`ParseMode::Count`]). `origin` names the input in messages (a file name, `<stdin>`).
    pub fn parse(
        self,
        input: SavedResponse<'_>,
        origin: &str,
        mode: ParseMode,
        sink: &mut dyn Sink,
    ) -> Result<ParseSummary> {
        let parsed = match self {
            SavedKind::Stream(kind) => kind.builtin()?.parse_saved(input, origin, mode, sink),
            SavedKind::KnowledgeBase => with_reader!(input, r => {
                vmdr_vulnerabilities::parse_saved_knowledge_base(r, origin, mode, sink)
            }),
        };
        parsed.map_err(crate::error::Error::in_saved_file)
    }

    /// Every name `FromStr` accepts, for messages.
    pub fn names() -> Vec<&'static str> {
        let mut names = StreamKind::names();
        names.push(Self::KNOWLEDGE_BASE);
        names
    }
}

impl FromStr for SavedKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        if s.trim() == Self::KNOWLEDGE_BASE {
            return Ok(SavedKind::KnowledgeBase);
        }
        s.parse().map(SavedKind::Stream).map_err(|_| {
            format!(
                "unknown kind {s:?}; valid kinds: {}",
                SavedKind::names().join(", ")
            )
        })
    }
}

impl fmt::Display for SavedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SavedKind::Stream(kind) => kind.fmt(f),
            SavedKind::KnowledgeBase => f.write_str(Self::KNOWLEDGE_BASE),
        }
    }
}
