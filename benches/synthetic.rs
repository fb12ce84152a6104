//! Rendering throughput of the synthetic population (what the simulator streams and
//! `qharness synth` writes). Each iteration asserts what it wrote, so a broken generator cannot
//! post a fast time.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qualys_harness::StreamKind;
use qualys_harness::sim::{SynthOptions, write_page};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("synthetic");
    group.sample_size(10);
    for (name, stream, hosts) in [
        (
            "vmdr-vulnerabilities 300 hosts",
            StreamKind::VmdrVulnerabilities,
            300u64,
        ),
        ("vmdr-assets 20000 hosts", StreamKind::VmdrAssets, 20_000),
    ] {
        let mut opts = SynthOptions::hosts(hosts, 1);
        opts.stream = stream;
        let bytes = write_page(&opts, std::io::sink())
            .expect("the page renders")
            .bytes;
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(name, |b| {
            b.iter(|| {
                let s = write_page(&opts, std::io::sink()).expect("the page renders");
                assert_eq!((s.hosts, s.bytes), (hosts, bytes));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
