//! The Policy Compliance scenarios' pinned numbers, recomputed from the tenant's data: for
//! every `pc-posture` scenario that runs to success, a plain reference over the scenario's
//! tenant (the demo tenant plus its inline `[server.tenant]`, resolved as the runner resolves
//! it) gives the records, pages and record keys the connector must produce, from the
//! documented semantics alone, independent of the simulator's renderer and of the connector:
//!
//! - without `policy_ids`, the active policies (and the inactive ones with
//!   `include_inactive_policies`), in ID order; with `policy_ids`, those;
//! - a policy the gateway cannot resolve (`missing_at_hostids`) has no postures;
//! - one posture per (policy, host, control); posture IDs count from 700000001 in policy-ID
//!   order, host-major, as `tenant/pc.rs` documents;
//! - one posture request per batch of `host_batch_size` hosts of a policy that has hosts.
//!
//! Set `QHARNESS_PRINT_REFERENCE=1` to print the reference values when writing a scenario.

use std::collections::BTreeSet;
use std::path::Path;

use qualys_harness::StreamKind;
use qualys_harness::config::PolicySelection;
use qualys_harness::scenario::catalogue;
use qualys_harness::sim::Tenant;

/// What a run should produce.
struct Reference {
    records: u64,
    pages: u64,
    keys: BTreeSet<String>,
}

fn reference(tenant: &Tenant, selection: &PolicySelection, batch: usize) -> Reference {
    let pc = &tenant.pc;
    // Posture IDs: numbered across every policy of the tenant, in ID order.
    let mut ids: Vec<u64> = pc.policies.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    let mut first_id = std::collections::HashMap::new();
    let mut next = 700_000_001u64;
    for id in &ids {
        let p = pc.policies.iter().find(|p| p.id == *id).expect("listed");
        first_id.insert(*id, next);
        next += (p.hosts.len() * p.controls.len()) as u64;
    }
    let chosen: Vec<u64> = match selection {
        PolicySelection::All { include_inactive } => pc
            .policies
            .iter()
            .filter(|p| *include_inactive || p.is_active())
            .map(|p| p.id)
            .collect(),
        PolicySelection::Ids(ids) => ids.clone(),
    };
    let mut r = Reference {
        records: 0,
        pages: 0,
        keys: BTreeSet::new(),
    };
    for id in chosen {
        let p = pc
            .policies
            .iter()
            .find(|p| p.id == id)
            .expect("a listed policy");
        if p.missing_at_hostids || p.hosts.is_empty() {
            continue;
        }
        r.pages += p.hosts.len().div_ceil(batch) as u64;
        for h in 0..p.hosts.len() {
            for c in 0..p.controls.len() {
                r.records += 1;
                r.keys
                    .insert((first_id[&id] + (h * p.controls.len() + c) as u64).to_string());
            }
        }
    }
    r
}

#[test]
fn pinned_policy_compliance_counts_match_a_reference_over_the_tenant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = catalogue::discover(&[dir]).expect("the catalogue loads");
    let print = std::env::var_os("QHARNESS_PRINT_REFERENCE").is_some();
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for s in scenarios
        .iter()
        .filter(|s| s.file.stream == StreamKind::PcPosture)
    {
        let server = &s.file.server;
        if s.is_throughput()
            || s.file.expect.error.is_some()
            || server.fixtures.is_some()
            || server.tenant_file.is_some()
        {
            continue;
        }
        let tenant = match &server.tenant {
            Some(spec) => Tenant::from_spec(spec.clone())
                .unwrap_or_else(|e| panic!("{}: tenant invalid: {e}", s.id())),
            None => Tenant::demo(),
        };
        if tenant.pc.synthetic.is_some() {
            continue;
        }
        let mut settings = s.file.settings.clone();
        settings.common.stream = Some(s.file.stream);
        settings.common.platform_url = Some("http://127.0.0.1:1".into());
        settings.common.username = Some("quays_ab1".into());
        let (config, _) = settings
            .validate(Some("demo".into()))
            .unwrap_or_else(|e| panic!("{}: settings invalid: {e}", s.id()));
        let r = reference(&tenant, &config.pc.policies, config.pc.host_batch_size);
        if print {
            println!("{} records={} pages={}", s.id(), r.records, r.pages);
        }
        if let Some(want) = s.file.expect.records {
            checked += 1;
            if want != r.records {
                mismatches.push(format!(
                    "{}: pins {want} records, reference says {}",
                    s.id(),
                    r.records
                ));
            }
        }
        if let Some(want) = s.file.expect.pages
            && want != r.pages
        {
            mismatches.push(format!(
                "{}: pins {want} pages, reference says {}",
                s.id(),
                r.pages
            ));
        }
        if let Some(keys) = &s.file.expect.keys {
            let want: BTreeSet<String> = keys.iter().cloned().collect();
            if want != r.keys {
                mismatches.push(format!(
                    "{}: pins {} keys, the reference's {} differ",
                    s.id(),
                    want.len(),
                    r.keys.len()
                ));
            }
            if print {
                println!("{} keys={:?}", s.id(), r.keys);
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(
        checked >= 10,
        "only {checked} pc-posture scenarios were checked against the reference"
    );
}
