//! Parsing a saved response (a customer's dump, a synthetic scan) with the connector's own
//! parser, without HTTP: what `qharness parse`, the throughput scenarios and the parsing
//! benchmarks run, through [`crate::stream::Stream::parse_saved`].
//!
//! Records are written straight to the sink as they complete (a file has no retries, so no page
//! spool is needed). Nothing is joined from other endpoints: the KnowledgeBase fields of
//! detection records are null.

use std::fs::File;
use std::io::{BufRead, BufReader, StdinLock};

use crate::parse::xml::text::TextStats;

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
}
