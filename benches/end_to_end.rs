//! End-to-end throughput: the simulator streams a synthetic population over loopback HTTP, the
//! connector pages through it (KnowledgeBase join included) into a counting sink. The
//! parse-only path over the same population, in memory, is measured in the same run as the
//! baseline the end-to-end target is stated against (>= 0.5x).
//!
//! Set `QHARNESS_BENCH_MB` to change the size (default 20 MB). Run:
//! `cargo bench --bench end_to_end`; plots land in `target/criterion/`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qualys_harness::sim::{Simulator, SimulatorConfig, SynthOptions, Tenant, write_page};
use qualys_harness::{BuiltinRun, CountSink, ParseMode, SavedResponse, Settings, StreamKind};

fn bench(c: &mut Criterion) {
    let mb: u64 = std::env::var("QHARNESS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut opts = SynthOptions::hosts(0, 7);
    opts.hosts = None;
    opts.size = Some(mb * 1_000_000);
    let mut page = Vec::new();
    let synth = write_page(&opts, &mut page).expect("the generator writes to memory");

    let tenant =
        Tenant::streaming(opts.population(synth.hosts)).expect("the synthetic tenant is valid");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime starts");
    let sim = runtime
        .block_on(Simulator::start(SimulatorConfig::from_tenant(tenant)))
        .expect("the simulator starts");
    let settings = Settings::new(
        StreamKind::VmdrVulnerabilities,
        sim.base_url.as_str(),
        "quays_ab1",
    );

    let stream = StreamKind::VmdrVulnerabilities
        .builtin()
        .expect("the stream is implemented");
    let mut group = c.benchmark_group("end_to_end");
    group.throughput(Throughput::Bytes(synth.bytes));
    group.sample_size(10);
    group.bench_function("parse_only_ndjson", |b| {
        b.iter(|| {
            let mut sink = CountSink::default();
            let s = stream
                .parse_saved(
                    SavedResponse::Memory(&page[..]),
                    "synthetic",
                    ParseMode::Records,
                    &mut sink,
                )
                .expect("the page parses");
            assert_eq!(s.records, synth.records);
            black_box(sink.count)
        })
    });
    group.bench_function("simulator_http_connector", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let run = BuiltinRun::prepare(&settings, Some("demo".into()))
                    .expect("the settings are valid");
                let mut sink = CountSink::default();
                let summary = run.run(&mut sink).await.expect("the run completes");
                assert_eq!(summary.records, synth.records, "records lost or duplicated");
                black_box(summary.records)
            })
        })
    });
    group.finish();
    runtime.block_on(sim.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
