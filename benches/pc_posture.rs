//! Policy Compliance posture parsing throughput, against a plain serde_json pass that keeps
//! nothing (`IgnoredAny`) over the same JSON in the same run. Every iteration checks its record
//! count, so a broken parser cannot post a fast time.
//!
//! The document is the gzip'd posture answer `qharness synth --stream pc-posture` writes, and
//! its inflated JSON. Throughput is stated in bytes of JSON (inflated) for every path. Set
//! `QHARNESS_BENCH_MB` to change the size (default 20 MB of JSON).
//!
//! Run: `cargo bench --bench pc_posture`; plots land in `target/criterion/`.

use std::hint::black_box;
use std::io::{BufReader, Read};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use qualys_harness::bench::ignored_any;
use qualys_harness::sim::{SynthOptions, write_page};
use qualys_harness::{CountSink, ParseMode, SavedResponse, StreamKind};

struct Document {
    gzip: Vec<u8>,
    json: Vec<u8>,
    records: u64,
}

fn document() -> Document {
    let mb: u64 = std::env::var("QHARNESS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut opts = SynthOptions::hosts(0, 1);
    opts.stream = StreamKind::PcPosture;
    opts.hosts = None;
    opts.size = Some(mb * 1_000_000);
    opts.detections_per_host = 10.0;
    let mut gzip = Vec::new();
    let summary = write_page(&opts, &mut gzip).expect("the generator writes to memory");
    let mut json = Vec::with_capacity(summary.bytes as usize);
    flate2::read::GzDecoder::new(&gzip[..])
        .read_to_end(&mut json)
        .expect("the synthetic answer inflates");
    assert_eq!(json.len() as u64, summary.bytes);
    Document {
        gzip,
        json,
        records: summary.records,
    }
}

fn parse(doc: &Document, input: SavedResponse<'_>, mode: ParseMode) -> u64 {
    let stream = StreamKind::PcPosture.builtin().expect("built in");
    let mut sink = CountSink::default();
    let s = stream
        .parse_saved(input, "bench", mode, &mut sink)
        .expect("the synthetic answer parses");
    assert_eq!(s.records, doc.records, "records parsed");
    s.records
}

fn bench(c: &mut Criterion) {
    let doc = document();
    let mut g = c.benchmark_group("pc-posture");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(doc.json.len() as u64));
    for (input, bytes) in [("gzip", &doc.gzip), ("plain", &doc.json)] {
        g.bench_with_input(
            BenchmarkId::new("serde_json IgnoredAny (baseline)", input),
            bytes,
            |b, bytes| {
                b.iter(|| {
                    let n = ignored_any(BufReader::with_capacity(64 * 1024, &bytes[..]))
                        .expect("the baseline reads the answer");
                    assert_eq!(n, doc.records);
                    black_box(n)
                })
            },
        );
        for (name, mode) in [("count", ParseMode::Count), ("ndjson", ParseMode::Records)] {
            g.bench_with_input(BenchmarkId::new(name, input), bytes, |b, bytes| {
                b.iter(|| {
                    black_box(parse(
                        &doc,
                        SavedResponse::Buffered(BufReader::with_capacity(64 * 1024, &bytes[..])),
                        mode,
                    ))
                })
            });
        }
    }
    // For information: serde_json over the inflated bytes in memory, the fastest it reads.
    g.bench_function("serde_json from_slice IgnoredAny (in memory, plain)", |b| {
        b.iter(|| {
            let v: Vec<serde::de::IgnoredAny> =
                serde_json::from_slice(&doc.json).expect("the answer is JSON");
            assert_eq!(v.len() as u64, doc.records);
            black_box(v.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
