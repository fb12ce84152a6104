//! WAS findings parsing throughput: the connector's `count` and NDJSON paths against quick-xml's
//! raw event loop over the same bytes (counting `Finding` start tags), in the same run. Every
//! iteration checks its record count, so a broken parser cannot post a fast time.
//!
//! The document is a synthetic verbose findings page from the generator `qharness synth
//! --stream was-findings` uses: every finding carries a `resultList` capture of 1-16 KB that
//! the connector reads past, so this measures how cheaply it skips as much as how fast it
//! extracts. `QHARNESS_BENCH_MB` sets its size (default 20 MB).
//!
//! Run: `cargo bench --bench was`; plots land in `target/criterion/`.

use std::hint::black_box;
use std::io::BufReader;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use qualys_harness::bench::raw_event_loop_counting;
use qualys_harness::sim::{SynthOptions, write_page};
use qualys_harness::{CountSink, ParseMode, SavedResponse, StreamKind};

fn document() -> (Vec<u8>, u64) {
    let mb: u64 = std::env::var("QHARNESS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut opts = SynthOptions::hosts(0, 3);
    opts.stream = StreamKind::WasFindings;
    opts.hosts = None;
    opts.size = Some(mb * 1_000_000);
    let mut bytes = Vec::with_capacity((mb * 1_000_000) as usize + (1 << 20));
    let summary = write_page(&opts, &mut bytes).expect("the generator writes to memory");
    (bytes, summary.records)
}

fn parse(bytes: &[u8], records: u64, input: SavedResponse<'_>, mode: ParseMode) -> u64 {
    let mut sink = CountSink::default();
    let summary = StreamKind::WasFindings
        .builtin()
        .expect("the stream is implemented")
        .parse_saved(input, "was-findings", mode, &mut sink)
        .expect("the synthetic page parses");
    assert_eq!(summary.records, records, "wrong record count");
    if mode == ParseMode::Records {
        assert_eq!(sink.count, records, "wrong records written");
    }
    assert!(summary.bytes as usize <= bytes.len());
    summary.records
}

fn bench(c: &mut Criterion) {
    let (bytes, records) = document();
    let mut group = c.benchmark_group("was_findings");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("raw_quick_xml_loop", "buffered"), |b| {
        b.iter(|| {
            let n =
                raw_event_loop_counting(BufReader::with_capacity(64 * 1024, &bytes[..]), "Finding")
                    .expect("the raw loop reads the page");
            assert_eq!(n, records);
            black_box(n)
        })
    });
    for (label, mode) in [("count", ParseMode::Count), ("ndjson", ParseMode::Records)] {
        group.bench_function(BenchmarkId::new(label, "buffered"), |b| {
            b.iter(|| {
                let input =
                    SavedResponse::Buffered(BufReader::with_capacity(64 * 1024, &bytes[..]));
                black_box(parse(&bytes, records, input, mode))
            })
        });
        group.bench_function(BenchmarkId::new(label, "in_memory"), |b| {
            b.iter(|| {
                black_box(parse(
                    &bytes,
                    records,
                    SavedResponse::Memory(&bytes[..]),
                    mode,
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
