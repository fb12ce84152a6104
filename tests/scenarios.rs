//! The scenario catalogue as tests: one test per `scenarios/<group>/<name>.toml`, named
//! `<group>::<name>`. Throughput scenarios are ignored in debug builds (they time release code);
//! run them with `cargo test --release --test scenarios -- --include-ignored` or
//! `cargo run --release -- conform`.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use qualys_harness::scenario::{Verdict, catalogue, run};

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = match catalogue::discover(&[dir]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(101);
        }
    };
    let trials = scenarios
        .into_iter()
        .map(|scenario| {
            let ignored = scenario.is_throughput() && cfg!(debug_assertions);
            let kind = if scenario.is_throughput() {
                "throughput"
            } else {
                ""
            };
            Trial::test(scenario.id(), move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| Failed::from(format!("cannot start a runtime: {e}")))?;
                let outcome = runtime.block_on(run(&scenario));
                for note in &outcome.notes {
                    println!("{}: {note}", scenario.id());
                }
                match outcome.verdict {
                    Verdict::Passed | Verdict::Skipped(_) => Ok(()),
                    Verdict::Failed => Err(outcome.report.into()),
                }
            })
            .with_kind(kind)
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
