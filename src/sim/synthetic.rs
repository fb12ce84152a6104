//! Synthetic responses: one deterministic answer of a stream, as large as asked, for
//! `qharness synth`, the throughput scenarios and the benches.
//!
//! Each stream's writer lives in its simulator module (`vmdr`, `pc`, `was`) and has a row in
//! the simulator's registry (`SYNTH_WRITERS` in `sim/registry.rs`); [`write_page`] finds it
//! by the stream's [`StreamKind`]. A stream without a row has no synthetic answer, and asking
//! for one is a configuration error naming the streams that have.

use std::io::Write;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::sim::registry::SYNTH_WRITERS;
use crate::sim::vmdr::synthetic::{DEFAULT_FIRST_HOST_ID, DEFAULT_MAX_PER_HOST, DEFAULT_MEAN};
use crate::stream::StreamKind;

/// What [`write_page`] generates.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// The stream whose answer is written.
    pub stream: StreamKind,
    /// Number of hosts (web applications for WAS findings); unbounded when only `size` is
    /// given.
    pub hosts: Option<u64>,
    /// Stop adding hosts once this many bytes are written.
    pub size: Option<u64>,
    /// Mean detections per host (postures per host for pc-posture, findings per web
    /// application for was-findings).
    pub detections_per_host: f64,
    pub max_detections_per_host: u32,
    pub seed: u64,
    /// Origin of the DOCTYPE and the WARNING URL.
    pub origin: String,
    pub first_host_id: u64,
}

impl SynthOptions {
    /// A vulnerabilities page of `hosts` hosts with the published anchors' defaults; set
    /// `stream` for another stream's answer.
    pub fn hosts(hosts: u64, seed: u64) -> SynthOptions {
        SynthOptions {
            stream: StreamKind::VmdrVulnerabilities,
            hosts: Some(hosts),
            size: None,
            detections_per_host: DEFAULT_MEAN,
            max_detections_per_host: DEFAULT_MAX_PER_HOST,
            seed,
            origin: "https://qualysapi.qualys.com".into(),
            first_host_id: DEFAULT_FIRST_HOST_ID,
        }
    }
}

/// What [`write_page`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SynthSummary {
    pub hosts: u64,
    pub detections: u64,
    /// Records a connector emits from the answer: the non-Info detections of a
    /// vulnerabilities page, the hosts of an assets page, the postures or findings.
    pub records: u64,
    pub bytes: u64,
}

/// One stream's synthetic writer: a row of `SYNTH_WRITERS` (`sim/registry.rs`).
pub struct SynthWriter {
    pub stream: StreamKind,
    /// Writes one answer for the options (whose `stream` is this row's).
    pub write: fn(&SynthOptions, &mut dyn Write) -> Result<SynthSummary>,
    /// What was written, for `qharness synth`'s last line ("240 hosts, 1324 detections ...").
    pub describe: fn(&SynthSummary) -> String,
}

/// The synthetic writer of `stream`, if it has one.
///
/// ```
/// use qualys_harness::StreamKind;
/// use qualys_harness::sim::{SynthOptions, synth_writer};
///
/// let writer = synth_writer(StreamKind::VmdrAssets).expect("the assets stream has a writer");
/// let mut opts = SynthOptions::hosts(3, 7);
/// opts.stream = StreamKind::VmdrAssets;
/// let summary = (writer.write)(&opts, &mut std::io::sink())?;
/// assert_eq!(summary.records, 3);
/// assert!(synth_writer(StreamKind::WasFindings).is_some());
/// assert!(synth_writer(StreamKind::WasAssets).is_none());
/// # Ok::<(), qualys_harness::Error>(())
/// ```
pub fn synth_writer(stream: StreamKind) -> Option<&'static SynthWriter> {
    SYNTH_WRITERS.iter().find(|w| w.stream == stream)
}

/// The names of the streams with a synthetic writer, for messages and help.
pub fn synth_stream_names() -> Vec<&'static str> {
    SYNTH_WRITERS.iter().map(|w| w.stream.name()).collect()
}

/// Writes one deterministic answer of `opts.stream` to `w` (for the VMDR streams a DTD-valid
/// page ending in a truncation WARNING, CODE 1980, whose URL carries the next `id_min`).
pub fn write_page(opts: &SynthOptions, mut w: impl Write) -> Result<SynthSummary> {
    let writer = synth_writer(opts.stream).ok_or_else(|| {
        Error::config(
            "stream",
            format!(
                "the simulator has no synthetic answer for the {} stream",
                opts.stream
            ),
            format!("use {}", synth_stream_names().join(", ")),
        )
    })?;
    (writer.write)(opts, &mut w)
}

/// Parses a size such as `200MB`, `1.5GB`, `512KiB` or `1000000` (bytes; MB = 10^6).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 200MB or 1GB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?}; use B, KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    Ok((n * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_writer_writes_its_own_stream_and_a_stream_without_one_is_named() {
        for w in SYNTH_WRITERS {
            let mut opts = SynthOptions::hosts(2, 1);
            opts.stream = w.stream;
            opts.detections_per_host = 3.0;
            let mut out = Vec::new();
            let s = write_page(&opts, &mut out).unwrap();
            assert!(s.records > 0, "{}", w.stream);
            assert!(!(w.describe)(&s).is_empty());
        }
        assert_eq!(
            SYNTH_WRITERS
                .iter()
                .filter(|w| w.stream == StreamKind::VmdrAssets)
                .count(),
            1
        );
        let mut opts = SynthOptions::hosts(2, 1);
        opts.stream = StreamKind::WasAssets;
        let e = write_page(&opts, std::io::sink()).unwrap_err().to_string();
        assert!(
            e.contains("was-assets") && e.contains("was-findings"),
            "{e}"
        );
    }

    #[test]
    fn sizes_parse_with_decimal_and_binary_units() {
        assert_eq!(parse_size("200MB").unwrap(), 200_000_000);
        assert_eq!(parse_size("1.5GB").unwrap(), 1_500_000_000);
        assert_eq!(parse_size("2KiB").unwrap(), 2048);
        assert_eq!(parse_size("17").unwrap(), 17);
        assert!(parse_size("5 parsecs").is_err());
    }
}
