//! The catalogue's pinned numbers are not just observed: for every scenario served by the demo
//! tenant's data, a plain reference filter over `Tenant::demo()` (written from the documented
//! semantics, independent of the simulator's renderer and the connector) must give the same
//! record count and page count the scenario pins, for the scenario's user (whose asset groups
//! limit the hosts they see).
//!
//! Set `QHARNESS_PRINT_REFERENCE=1` to print the reference values when writing a scenario.

use std::path::Path;

use qualys_harness::StreamKind;
use qualys_harness::config::ConnectorConfig;
use qualys_harness::qualys::filter::DetectionType;
use qualys_harness::scenario::{Scenario, catalogue};
use qualys_harness::sim::{SimHost, Tenant};

/// Whether `user` sees `host`: a user with asset groups sees the hosts that list one of them
/// or whose IP is in one's range; a user without sees every host.
fn user_sees(tenant: &Tenant, user: &str, host: &SimHost) -> bool {
    let Some(titles) = tenant.user(user).and_then(|u| u.asset_groups.as_ref()) else {
        return true;
    };
    titles.iter().any(|title| {
        host.asset_groups.contains(title)
            || tenant
                .vmdr
                .asset_groups
                .get(title)
                .and_then(|g| g.ips.as_ref())
                .is_some_and(|ips| ips.contains(host.ip.as_deref()))
    })
}

/// Records, hosts and distinct QIDs the stream should return from `tenant` under `config`,
/// for the connector logged in as `user`.
fn reference(tenant: &Tenant, config: &ConnectorConfig, user: &str) -> (u64, u64, u64) {
    let mut records = 0;
    let mut hosts = 0;
    let mut qids = std::collections::BTreeSet::new();
    for host in &tenant.vmdr.hosts {
        if !config.vmdr.tags.keeps(&host.tags) || !user_sees(tenant, user, host) {
            continue;
        }
        // The one place outside the registry that asks which stream this is, on purpose: this
        // is the reference each stream's semantics are checked against, written independently
        // of the connector (a host per record here, a detection per record below).
        if config.stream == StreamKind::VmdrAssets {
            records += 1;
            hosts += 1;
            continue;
        }
        let kept: Vec<_> = host
            .detections
            .iter()
            .filter(|d| d.kind != DetectionType::Info)
            // Qualys's defaults: include_ignored=0, include_disabled=0.
            .filter(|d| config.vmdr.include_ignored || !d.is_ignored)
            .filter(|d| config.vmdr.include_disabled || !d.is_disabled)
            .filter(|d| config.vmdr.statuses.contains(d.status))
            .filter(|d| {
                config
                    .vmdr
                    .arf_kernel_filter
                    .is_none_or(|f| f.keeps(d.kernel_running()))
            })
            .collect();
        // Host List Detection lists only hosts with at least one matching detection.
        if !kept.is_empty() {
            records += kept.len() as u64;
            hosts += 1;
            qids.extend(kept.iter().map(|d| d.qid));
        }
    }
    (records, hosts, qids.len() as u64)
}

/// Whether the scenario's data is the demo tenant's (faults and limits change delivery, not data).
fn serves_demo_data(s: &Scenario) -> bool {
    let server = &s.file.server;
    server.fixtures.is_none()
        && server.tenant_file.is_none()
        && server.tenant.as_ref().is_none_or(|t| {
            t.base.is_none()
                && t.replace.is_empty()
                && t.hosts.is_empty()
                && t.users.is_empty()
                && t.knowledge_base.is_empty()
                && t.synthetic.is_none()
                && t.tags.is_empty()
                && t.asset_groups.is_empty()
                && t.pc.is_none()
        })
}

#[test]
fn pinned_record_and_page_counts_match_a_reference_filter_over_the_demo_tenant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = catalogue::discover(&[dir]).expect("the catalogue loads");
    let tenant = Tenant::demo();
    let print = std::env::var_os("QHARNESS_PRINT_REFERENCE").is_some();
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for s in &scenarios {
        // The VMDR streams' reference; the WAS streams have theirs in was_catalogue.rs.
        let vmdr = matches!(
            s.file.stream,
            StreamKind::VmdrAssets | StreamKind::VmdrVulnerabilities
        );
        if !vmdr || s.is_throughput() || s.file.expect.error.is_some() || !serves_demo_data(s) {
            continue;
        }
        // The VMDR streams only: other modules' scenarios have references of their own
        // (pc_catalogue.rs for Policy Compliance).
        if !matches!(
            s.file.stream,
            StreamKind::VmdrAssets | StreamKind::VmdrVulnerabilities
        ) {
            continue;
        }
        let mut settings = s.file.settings.clone();
        settings.common.stream = Some(s.file.stream);
        settings.common.platform_url = Some("http://127.0.0.1:1".into());
        settings.common.username = Some("quays_ab1".into());
        let (config, _) = settings
            .validate(Some("demo".into()))
            .unwrap_or_else(|e| panic!("{}: settings invalid: {e}", s.id()));
        let user = s.file.server.user.as_deref().unwrap_or("quays_ab1");
        let (records, hosts, qids) = reference(&tenant, &config, user);
        let limit = u64::from(config.vmdr.truncation_limit);
        let pages = if limit == 0 || hosts == 0 {
            1
        } else {
            hosts.div_ceil(limit)
        };
        if print {
            println!("{} records={records} pages={pages} qids={qids}", s.id());
        }
        if let Some(want) = s.file.expect.records {
            checked += 1;
            if want != records {
                mismatches.push(format!(
                    "{}: pins {want} records, reference says {records}",
                    s.id()
                ));
            }
        }
        if let Some(want) = s.file.expect.pages
            && want != pages
        {
            mismatches.push(format!(
                "{}: pins {want} pages, reference says {pages}",
                s.id()
            ));
        }
        if let Some(want) = s.file.expect.summary.get("kb_qids")
            && want.as_u64() != Some(qids)
        {
            mismatches.push(format!(
                "{}: pins kb_qids = {want}, reference says {qids}",
                s.id()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(
        checked >= 20,
        "only {checked} scenarios were checked against the reference"
    );
}
