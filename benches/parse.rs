//! Parsing throughput, as a table of named documents × parse paths, with quick-xml's raw event
//! loop over the same bytes as the in-run baseline. Every iteration checks its record count, so
//! a broken parser cannot post a fast time.
//!
//! Documents are generated in memory by the same deterministic generator `qharness synth` uses;
//! set `QHARNESS_BENCH_MB` to change the synthetic size (default 20 MB).
//!
//! Run: `cargo bench --bench parse`; plots land in `target/criterion/`.

use std::hint::black_box;
use std::io::BufReader;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use qualys_harness::bench::{
    Capture, DetectionTriage, HostListKind, HostListReader, raw_event_loop, triage,
};
use qualys_harness::sim::{SynthOptions, write_page};
use qualys_harness::{CountSink, ParseMode, SavedResponse, StreamKind};

struct Document {
    name: &'static str,
    stream: StreamKind,
    /// Which host list the document holds, for the reader-level paths.
    kind: HostListKind,
    bytes: Vec<u8>,
    /// Records the stream must emit from this document.
    records: u64,
    /// `DETECTION` elements the raw loop must see.
    detections: u64,
}

fn synthetic(
    name: &'static str,
    (stream, kind): (StreamKind, HostListKind),
    mb: u64,
    seed: u64,
) -> Document {
    let mut opts = SynthOptions::hosts(0, seed);
    opts.stream = stream;
    opts.hosts = None;
    opts.size = Some(mb * 1_000_000);
    let mut bytes = Vec::with_capacity((mb * 1_000_000) as usize + (1 << 20));
    let summary = write_page(&opts, &mut bytes).expect("the generator writes to memory");
    let records = summary.records;
    Document {
        name,
        stream,
        kind,
        bytes,
        records,
        detections: summary.detections,
    }
}

const DETECTIONS: (StreamKind, HostListKind) =
    (StreamKind::VmdrVulnerabilities, HostListKind::Detections);
const HOSTS: (StreamKind, HostListKind) = (StreamKind::VmdrAssets, HostListKind::Hosts);

fn documents() -> Vec<Document> {
    let mb = std::env::var("QHARNESS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    vec![
        synthetic("detections", DETECTIONS, mb, 1),
        synthetic("hosts", HOSTS, mb / 4 + 1, 2),
    ]
}

fn parse_count(doc: &Document, input: SavedResponse<'_>, mode: ParseMode) -> u64 {
    let mut sink = CountSink::default();
    let summary = doc
        .stream
        .builtin()
        .expect("the stream is implemented")
        .parse_saved(input, doc.name, mode, &mut sink)
        .expect("the synthetic document parses");
    assert_eq!(
        summary.records, doc.records,
        "{}: wrong record count",
        doc.name
    );
    if mode == ParseMode::Records {
        assert_eq!(
            sink.count, doc.records,
            "{}: wrong records written",
            doc.name
        );
    }
    summary.records
}

fn extract_all(doc: &Document, input: impl std::io::BufRead) -> u64 {
    let kind = doc.kind;
    let mut page = HostListReader::open_expecting(input, kind, doc.name)
        .expect("the synthetic document opens")
        .capture(Capture::All);
    let mut records = 0;
    while let Some((_, detections)) = page.next_host().expect("the synthetic document parses") {
        records += match kind {
            HostListKind::Hosts => 1,
            HostListKind::Detections => detections
                .iter()
                .filter(|d| triage(d) == DetectionTriage::Emit)
                .count() as u64,
        };
    }
    assert_eq!(records, doc.records, "{}: wrong record count", doc.name);
    records
}

fn bench(c: &mut Criterion) {
    for doc in documents() {
        let mut group = c.benchmark_group(doc.name);
        group.throughput(Throughput::Bytes(doc.bytes.len() as u64));
        group.sample_size(10);

        group.bench_function(BenchmarkId::new("raw_quick_xml_loop", "buffered"), |b| {
            b.iter(|| {
                let n = raw_event_loop(BufReader::with_capacity(64 * 1024, &doc.bytes[..]))
                    .expect("the raw loop reads the document");
                assert_eq!(n, doc.detections);
                black_box(n)
            })
        });
        // Every field copied into the reader's buffers, nothing serialised: the parser's full
        // extraction cost, between `count` (only the fields a count needs) and `ndjson`.
        group.bench_function(BenchmarkId::new("extract_all", "buffered"), |b| {
            b.iter(|| {
                let input = BufReader::with_capacity(64 * 1024, &doc.bytes[..]);
                black_box(extract_all(&doc, input))
            })
        });
        for (label, output) in [("count", ParseMode::Count), ("ndjson", ParseMode::Records)] {
            group.bench_function(BenchmarkId::new(label, "buffered"), |b| {
                b.iter(|| {
                    black_box(parse_count(
                        &doc,
                        SavedResponse::Buffered(BufReader::with_capacity(
                            64 * 1024,
                            &doc.bytes[..],
                        )),
                        output,
                    ))
                })
            });
            group.bench_function(BenchmarkId::new(label, "in_memory"), |b| {
                b.iter(|| {
                    black_box(parse_count(
                        &doc,
                        SavedResponse::Memory(&doc.bytes[..]),
                        output,
                    ))
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
