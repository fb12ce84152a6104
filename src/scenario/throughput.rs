//! Throughput scenarios: a synthetic scan is generated once, then the subject and its baseline
//! run interleaved (A B A B ...) on the same bytes, and the ratio of their best throughputs
//! (the fastest round of each side) is compared with the scenario's floor. Only ratios measured
//! in one run are meaningful on a shared machine; absolute MB/s are printed for information.
//! The fastest round, not the median, because interference from other work on the machine only
//! ever adds time: with few rounds, a median still takes in a round that another process slowed
//! on one side only, while the fastest round of each side is the least disturbed measurement.
//!
//! Every timed run also checks its result (record counts against the generator's), so a broken
//! parser cannot post a fast time.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::time::Instant;

use super::file::{ThroughputMode, ThroughputSpec};
use crate::config::Settings;
use crate::connector::BuiltinRun;
use crate::error::{Error, Result};
use crate::parse::json::baseline::ignored_any;
use crate::parse::xml::baseline::{raw_event_loop, raw_event_loop_counting};
use crate::sim::{
    Simulator, SimulatorConfig, SynthOptions, SynthSummary, Tenant, synth_writer, write_page,
};
use crate::sink::CountSink;
use crate::stream::{Baseline, ParseMode, STREAMS, SavedResponse, Stream, StreamKind};

/// What one throughput scenario measured.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub mode: ThroughputMode,
    pub stream: StreamKind,
    /// Growth of peak resident memory during one subject run, in MiB (parse modes, Linux).
    pub rss_growth_mib: Option<f64>,
    pub bytes: u64,
    pub records: u64,
    pub baseline_mb_s: f64,
    pub subject_mb_s: f64,
    /// Subject throughput divided by baseline throughput (fastest round of each).
    pub ratio: f64,
    pub rounds: u32,
}

impl Measurement {
    pub fn describe(&self) -> String {
        let yardstick = match self.stream.row().throughput {
            Some(Baseline::JsonIgnoredAny) => "serde_json IgnoredAny pass",
            _ => "raw quick-xml loop",
        };
        let (subject, baseline) = match self.mode {
            ThroughputMode::ParseCount => ("parse --count", yardstick),
            ThroughputMode::ParseNdjson => ("parse to NDJSON", yardstick),
            ThroughputMode::EndToEnd => ("simulator -> HTTP -> connector", "parse to NDJSON"),
        };
        let memory = match self.rss_growth_mib {
            Some(m) => format!(", peak RSS growth {m:.1} MiB"),
            None => String::new(),
        };
        format!(
            "{}: {subject} {:.0} MB/s vs {baseline} {:.0} MB/s = {:.2}x ({:.0} MB, {} records, best of {} rounds{memory})",
            self.stream,
            self.subject_mb_s,
            self.baseline_mb_s,
            self.ratio,
            self.bytes as f64 / 1e6,
            self.records,
            self.rounds
        )
    }
}

/// The fastest of the rounds' times.
fn fastest(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Generates the scan and measures.
pub async fn measure(stream: StreamKind, spec: &ThroughputSpec) -> Result<Measurement> {
    let row = stream.row();
    let (Some(baseline), Some(_), Some(subject)) =
        (row.throughput, synth_writer(stream), row.builtin)
    else {
        let measurable: Vec<String> = STREAMS
            .iter()
            .filter(|r| r.throughput.is_some())
            .map(|r| format!("\"{}\"", r.name))
            .collect();
        return Err(Error::config(
            "throughput",
            format!("no synthetic responses exist for the {stream} stream"),
            format!("use stream = {}", measurable.join(" or ")),
        ));
    };
    // End to end serves the generator's population from a tenant; only the VMDR generators
    // have one (SynthOptions::population).
    if spec.mode == ThroughputMode::EndToEnd && row.family != crate::qualys::Family::Fo {
        return Err(Error::config(
            "throughput",
            format!("end-to-end throughput is not measured for the {stream} stream"),
            "use mode = \"parse_count\" or \"parse_ndjson\"",
        ));
    }
    let dir = tempfile::tempdir()
        .map_err(|e| Error::io("creating a temporary directory in", std::env::temp_dir(), e))?;
    let path = dir.path().join("scan.xml");
    let mut opts = SynthOptions::hosts(0, spec.seed);
    opts.hosts = None;
    opts.size = Some(spec.size_mb * 1_000_000);
    opts.detections_per_host = f64::from(spec.detections_per_host);
    opts.stream = stream;
    let synth = {
        let file = File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let summary = write_page(&opts, &mut out)?;
        std::io::Write::flush(&mut out).map_err(|e| Error::io("writing", &path, e))?;
        summary
    };
    // Memory first, while the allocator holds nothing from earlier runs: growth then shows
    // every buffer the parse needs.
    let rss_growth_mib = match spec.mode {
        ThroughputMode::EndToEnd => None,
        ThroughputMode::ParseCount | ThroughputMode::ParseNdjson => {
            let mode = parse_mode(spec.mode);
            let p = path.clone();
            let expected = synth.records;
            blocking(move || {
                memory::peak_growth_mib(|| {
                    let mut sink = CountSink::default();
                    let s = subject.parse_saved(open(&p)?, "scan", mode, &mut sink)?;
                    check(s.records, expected, "records parsed")
                })
            })
            .await?
        }
    };
    let rounds = spec.rounds.max(1);
    let mut base_times = Vec::new();
    let mut subject_times = Vec::new();
    let mut subject_bytes = synth.bytes;
    for _ in 0..rounds {
        match spec.mode {
            ThroughputMode::ParseCount | ThroughputMode::ParseNdjson => {
                base_times.push(timed_baseline(baseline, &path, &synth).await?);
                subject_times
                    .push(timed_parse(subject, &path, parse_mode(spec.mode), &synth).await?);
            }
            ThroughputMode::EndToEnd => {
                base_times.push(timed_parse(subject, &path, ParseMode::Records, &synth).await?);
                let (secs, bytes) = timed_end_to_end(stream, &opts, &synth).await?;
                subject_times.push(secs);
                subject_bytes = bytes;
            }
        }
    }
    let baseline_mb_s = synth.bytes as f64 / 1e6 / fastest(&base_times);
    let subject_mb_s = subject_bytes as f64 / 1e6 / fastest(&subject_times);
    Ok(Measurement {
        mode: spec.mode,
        stream,
        rss_growth_mib,
        bytes: synth.bytes,
        records: synth.records,
        baseline_mb_s,
        subject_mb_s,
        ratio: subject_mb_s / baseline_mb_s,
        rounds,
    })
}

fn open(path: &std::path::Path) -> Result<SavedResponse<'static>> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    Ok(SavedResponse::File(BufReader::with_capacity(
        64 * 1024,
        file,
    )))
}

fn parse_mode(mode: ThroughputMode) -> ParseMode {
    match mode {
        ThroughputMode::ParseCount => ParseMode::Count,
        ThroughputMode::ParseNdjson | ThroughputMode::EndToEnd => ParseMode::Records,
    }
}

/// Times the stream's baseline on the scan, checking what it saw.
async fn timed_baseline(
    baseline: Baseline,
    path: &std::path::Path,
    synth: &SynthSummary,
) -> Result<f64> {
    let p = path.to_path_buf();
    let (detections, records) = (synth.detections, synth.records);
    blocking(move || {
        let t = Instant::now();
        let file = File::open(&p).map_err(|e| Error::io("opening", &p, e))?;
        let input = BufReader::with_capacity(64 * 1024, file);
        match baseline {
            Baseline::JsonIgnoredAny => {
                let n = ignored_any(input)?;
                let secs = t.elapsed().as_secs_f64();
                check(n, records, "array elements seen by the serde_json pass")?;
                Ok(secs)
            }
            Baseline::RawXmlEventLoop => {
                let n = raw_event_loop(input)?;
                let secs = t.elapsed().as_secs_f64();
                check(n, detections, "DETECTION elements seen by the raw loop")?;
                Ok(secs)
            }
            Baseline::RawXmlRecordLoop { record } => {
                let n = raw_event_loop_counting(input, record)?;
                let secs = t.elapsed().as_secs_f64();
                check(
                    n,
                    records,
                    &format!("{record} elements seen by the raw loop"),
                )?;
                Ok(secs)
            }
        }
    })
    .await
}

fn check(got: u64, expected: u64, what: &str) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::Unexpected {
            origin: "throughput".into(),
            offset: 0,
            problem: format!(
                "{what}: expected {expected}, got {got}; a timing of a wrong result is meaningless"
            ),
        })
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Unexpected {
            origin: "throughput".into(),
            offset: 0,
            problem: format!("the measurement thread failed: {e}"),
        })?
}

async fn timed_parse(
    subject: &'static dyn Stream,
    path: &std::path::Path,
    mode: ParseMode,
    synth: &SynthSummary,
) -> Result<f64> {
    let p = path.to_path_buf();
    let expected = synth.records;
    blocking(move || {
        let t = Instant::now();
        let mut sink = CountSink::default();
        let s = subject.parse_saved(open(&p)?, "scan", mode, &mut sink)?;
        let secs = t.elapsed().as_secs_f64();
        check(s.records, expected, "records parsed")?;
        if mode == ParseMode::Records {
            check(sink.count, expected, "records written")?;
        }
        Ok(secs)
    })
    .await
}

/// Serves the same synthetic population from the simulator and runs the connector over it.
async fn timed_end_to_end(
    stream: StreamKind,
    opts: &SynthOptions,
    synth: &SynthSummary,
) -> Result<(f64, u64)> {
    let tenant =
        Tenant::streaming(opts.population(synth.hosts)).map_err(|problem| Error::Simulator {
            problem: format!("the synthetic tenant is invalid: {problem}"),
            source: None,
        })?;
    let sim = Simulator::start(SimulatorConfig::from_tenant(tenant)).await?;
    let settings = Settings::new(stream, sim.base_url.as_str(), "quays_ab1");
    let run = BuiltinRun::prepare(&settings, Some("demo".into()))?;
    let mut sink = CountSink::default();
    let t = Instant::now();
    let summary = run.run(&mut sink).await?;
    let secs = t.elapsed().as_secs_f64();
    sim.shutdown().await;
    check(summary.records, synth.records, "records fetched end to end")?;
    Ok((secs, summary.bytes))
}

/// Peak resident memory of the process, read from Linux's /proc.
mod memory {
    use crate::error::Result;

    fn status_kib(field: &str) -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Runs `f` and returns how far the peak resident set grew above the resident set before it,
    /// in MiB. Resets the kernel's high-water mark first (writing 5 to /proc/self/clear_refs).
    /// `None` when the kernel does not offer these files.
    pub fn peak_growth_mib(f: impl FnOnce() -> Result<()>) -> Result<Option<f64>> {
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let before = status_kib("VmRSS:");
        f()?;
        let peak = status_kib("VmHWM:");
        Ok(match (reset, before, peak) {
            (true, Some(b), Some(p)) => Some((p - b).max(0.0) / 1024.0),
            _ => None,
        })
    }
}
