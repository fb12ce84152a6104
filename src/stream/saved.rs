//! Parsing a saved response (a customer's dump, a synthetic scan) with the connector's own
//! parser, without HTTP: what `qharness parse` and the parsing benchmarks run.
//!
//! Records are written straight to the sink as each host completes (a file has no retries, so
//! no page spool is needed). There is no KnowledgeBase here: the KB fields of detection records
//! are null.

use std::io::BufRead;

use super::vmdr_vulnerabilities::{self, DetectionTriage};
use super::{StreamKind, vmdr_assets};
use crate::error::{Error, Result};
use crate::parse::xml::text::TextStats;
use crate::parse::xml::{Capture, HostListKind, HostListReader};
use crate::sink::Sink;

/// What to produce from a saved response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// NDJSON records to the sink.
    Records,
    /// Only count the records the stream would emit: the same parser, keeping only the fields a
    /// count needs (see [`crate::parse::xml::Capture`]), no serialisation.
    Count,
}

/// Counts from parsing one saved response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseSummary {
    /// Records emitted (or, with [`Output::Count`], that would be emitted).
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

/// Parses `input` as a response of `stream`.
pub fn parse<R: BufRead>(
    stream: StreamKind,
    input: R,
    origin: &str,
    output: Output,
    sink: &mut dyn Sink,
) -> Result<ParseSummary> {
    let kind = match stream {
        StreamKind::VmdrVulnerabilities => HostListKind::Detections,
        StreamKind::VmdrAssets => HostListKind::Hosts,
        other => {
            return Err(Error::config(
                "stream",
                format!("parsing saved {other} responses is not supported"),
                "use --stream vmdr-vulnerabilities or vmdr-assets",
            ));
        }
    };
    let capture = match output {
        Output::Records => Capture::All,
        Output::Count => Capture::Counting,
    };
    let mut page = HostListReader::open_expecting(input, kind, origin)?.capture(capture);
    let mut summary = ParseSummary::default();
    let mut json = Vec::with_capacity(8 * 1024);
    // No KnowledgeBase here: every QID gets the null tail.
    let no_kb = vmdr_vulnerabilities::KnowledgeBaseJoin::new(false);
    while let Some((host, detections)) = page.next_host()? {
        summary.hosts += 1;
        if kind == HostListKind::Hosts {
            summary.records += 1;
            if output == Output::Records {
                json.clear();
                vmdr_assets::write_record(&mut json, host)?;
                sink.record(&json)?;
            }
            continue;
        }
        for d in detections {
            summary.detections += 1;
            match vmdr_vulnerabilities::triage(d) {
                DetectionTriage::Emit => {}
                DetectionTriage::DropInfo => {
                    summary.info_dropped += 1;
                    continue;
                }
                DetectionTriage::DropUnknown => {
                    summary.unknown_type_dropped += 1;
                    continue;
                }
            }
            summary.records += 1;
            if output == Output::Records {
                json.clear();
                vmdr_vulnerabilities::write_open_record(&mut json, host, d)?;
                json.extend_from_slice(no_kb.suffix(d.qid()));
                sink.record(&json)?;
            }
        }
    }
    summary.bytes = page.position();
    summary.text = page.text_stats();
    summary.truncated = page.warning().is_some();
    Ok(summary)
}
