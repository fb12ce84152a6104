//! The connector against the simulator's embedded demo tenant: the two halves agree.

use qualys_harness::StreamKind;
use qualys_harness::config::Settings;
use qualys_harness::sim::{Simulator, SimulatorConfig};

use crate::helpers::*;

fn demo_settings(base: &str, stream: StreamKind) -> Settings {
    let mut s = Settings::new(stream, base, "quays_ab1");
    s.common.backoff_initial_ms = Some(10);
    s
}

#[tokio::test]
async fn demo_tenant_vulnerabilities_stream_end_to_end() {
    let sim = Simulator::start(SimulatorConfig::demo()).await.unwrap();
    let mut s = demo_settings(sim.base_url.as_str(), StreamKind::VmdrVulnerabilities);
    s.vmdr.truncation_limit = Some(50);
    let run = run_as(s, DEMO_PASSWORD).await;
    let summary = run.summary();
    eprintln!("{}", summary.describe());
    assert!(summary.pages >= 4, "{} pages", summary.pages);
    assert!(summary.records > 0);
    assert_eq!(
        summary.info_dropped, 0,
        "the simulator must not send IGs unless asked"
    );
    assert!(
        run.records.iter().all(|r| r["title"].is_string()),
        "every QID has a KB entry"
    );
}
