//! The WAS scenarios' pinned numbers are not just observed: for every WAS scenario served by
//! the demo tenant's data, a plain reference over `Tenant::demo().was` (written from the
//! documented semantics, independent of the simulator's criteria and renderer and of the
//! connector) must give the record and page counts the scenario pins, for the scenario's user.
//!
//! The semantics restated here: a user sees every web application, or with asset groups the
//! ones tagged with one of them (Qualys mirrors asset groups as tags), and the findings of the
//! web applications it sees; the findings stream asks for the configured types; a search
//! answers `page_size` records per page, and an empty answer is one page.
//!
//! Set `QHARNESS_PRINT_REFERENCE=1` to print the reference values when writing a scenario.

use std::path::Path;

use qualys_harness::StreamKind;
use qualys_harness::scenario::{Scenario, catalogue};
use qualys_harness::sim::{SimWebApp, Tenant};

fn user_sees(tenant: &Tenant, user: &str, app: &SimWebApp) -> bool {
    match tenant.user(user).and_then(|u| u.asset_groups.as_ref()) {
        None => true,
        Some(groups) => app.tags.iter().any(|t| groups.contains(t)),
    }
}

/// Whether the scenario's data is the demo tenant's (faults change delivery, not data).
fn serves_demo_data(s: &Scenario) -> bool {
    let server = &s.file.server;
    server.fixtures.is_none()
        && server.tenant_file.is_none()
        && server.tenant.as_ref().is_none_or(|t| {
            t.base.is_none() && t.replace.is_empty() && t.users.is_empty() && t.was.is_none()
        })
}

#[test]
fn pinned_was_record_and_page_counts_match_a_reference_over_the_demo_tenant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = catalogue::discover(&[dir]).expect("the catalogue loads");
    let tenant = Tenant::demo();
    let print = std::env::var_os("QHARNESS_PRINT_REFERENCE").is_some();
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for s in &scenarios {
        let stream = s.file.stream;
        if !matches!(stream, StreamKind::WasAssets | StreamKind::WasFindings)
            || s.is_throughput()
            || s.file.expect.error.is_some()
            || !serves_demo_data(s)
        {
            continue;
        }
        let mut settings = s.file.settings.clone();
        settings.common.stream = Some(stream);
        settings.common.platform_url = Some("http://127.0.0.1:1".into());
        settings.common.username = Some("quays_ab1".into());
        let (config, _) = settings
            .validate(Some("demo".into()))
            .unwrap_or_else(|e| panic!("{}: settings invalid: {e}", s.id()));
        let user = s.file.server.user.as_deref().unwrap_or("quays_ab1");
        let visible: Vec<&SimWebApp> = tenant
            .was
            .webapps
            .iter()
            .filter(|w| user_sees(&tenant, user, w))
            .collect();
        let records = if stream == StreamKind::WasAssets {
            visible.len() as u64
        } else {
            tenant
                .was
                .findings
                .iter()
                .filter(|f| visible.iter().any(|w| w.id == f.webapp))
                .filter(|f| config.was.finding_types.contains(f.kind))
                .count() as u64
        };
        let pages = records.div_ceil(u64::from(config.was.page_size)).max(1);
        if print {
            println!("{} records={records} pages={pages}", s.id());
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
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(
        checked >= 12,
        "only {checked} WAS scenarios were checked against the reference"
    );
}
