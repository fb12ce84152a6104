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
//! - at the tenant's clock, a host (`[[pc.hosts]]`) or posture (`[[pc.postures]]`) whose
//!   `appears_at` is later does not exist yet; with `changed_since`, a posture comes back when
//!   its last evaluation (its latest appearance or change up to the clock) is at or after the
//!   moment, and a posture without either was last evaluated before `[pc] evaluated_at`, so a
//!   scenario whose `changed_since` is not after `evaluated_at` cannot be decided here and is
//!   skipped.
//!
//! Set `QHARNESS_PRINT_REFERENCE=1` to print the reference values when writing a scenario.

use std::collections::BTreeSet;
use std::path::Path;

use qualys_harness::StreamKind;
use qualys_harness::config::PolicySelection;
use qualys_harness::scenario::catalogue;
use qualys_harness::sim::{Tenant, Timestamp};

/// What a run should produce.
struct Reference {
    records: u64,
    pages: u64,
    keys: BTreeSet<String>,
}

/// The moment of the last evaluation of (policy, host, control) at `now` that the tenant's
/// history says (`None`: no history visible, so before `evaluated_at`); `Err` before the
/// posture exists.
fn last_evaluation(
    tenant: &Tenant,
    (policy, host, control): (u64, u64, u64),
    now: Timestamp,
) -> Result<Option<Timestamp>, ()> {
    let pc = &tenant.pc;
    let history = pc.postures.get(&(policy, host, control));
    let appears = history
        .and_then(|h| h.appears_at)
        .or_else(|| pc.host_appears_at.get(&host).copied());
    if appears.is_some_and(|a| a > now) {
        return Err(());
    }
    let changes = history
        .into_iter()
        .flat_map(|h| h.changes.iter().map(|c| c.at));
    Ok(appears
        .into_iter()
        .chain(changes)
        .filter(|t| *t <= now)
        .max())
}

/// `None` when the scenario's `changed_since` cannot be decided from the tenant (see the
/// module documentation).
fn reference(
    tenant: &Tenant,
    selection: &PolicySelection,
    batch: usize,
    changed_since: Option<Timestamp>,
) -> Option<Reference> {
    if changed_since.is_some_and(|t| t <= tenant.pc.evaluated_at) {
        return None;
    }
    let now = tenant.clock.unwrap_or_else(Timestamp::now);
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
        let visible = p
            .hosts
            .iter()
            .filter(|h| pc.host_appears_at.get(h).is_none_or(|a| *a <= now))
            .count();
        r.pages += visible.div_ceil(batch) as u64;
        for (h, host) in p.hosts.iter().enumerate() {
            for (c, control) in p.controls.iter().enumerate() {
                let Ok(last) = last_evaluation(tenant, (id, *host, *control), now) else {
                    continue;
                };
                if changed_since.is_some_and(|t| last.is_none_or(|last| last < t)) {
                    continue;
                }
                r.records += 1;
                r.keys
                    .insert((first_id[&id] + (h * p.controls.len() + c) as u64).to_string());
            }
        }
    }
    Some(r)
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
        let since = config.sync.changed_since.map(|t| Timestamp(t.unix()));
        let Some(r) = reference(
            &tenant,
            &config.pc.policies,
            config.pc.host_batch_size,
            since,
        ) else {
            continue;
        };
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
