//! The simulator's filter semantics against a plain reference filter over the tenant, on random
//! tenants and random filter combinations; and pagination that loses and repeats nothing.
//!
//! These drive the engine in-process (no sockets) so hundreds of cases run in well under a
//! second; the transport is covered by the other files.

use proptest::prelude::*;
use qualys_harness::qualys::filter::{DetectionType, VulnStatus};
use qualys_harness::sim::{
    Engine, KernelState, LimitsSpec, SimDetection, SimHost, SimRequest, Tenant, TenantBase,
    TenantSpec, User,
};

use crate::helpers::*;

const TAGS: [&str; 4] = ["Prod", "PCI & Card", "Dev Test", "Old"];

fn arb_detection() -> impl Strategy<Value = SimDetection> {
    (
        1u32..40,
        prop_oneof![
            Just(DetectionType::Confirmed),
            Just(DetectionType::Potential),
            Just(DetectionType::Info)
        ],
        prop::sample::select(VulnStatus::ALL.to_vec()),
        prop_oneof![
            Just(None),
            Just(Some(KernelState::Running)),
            Just(Some(KernelState::NotRunning))
        ],
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(qid, kind, status, kernel, ignored, disabled)| {
            let mut d = SimDetection::new(qid, kind, status);
            d.kernel = kernel;
            d.is_ignored = ignored;
            d.is_disabled = disabled;
            d
        })
}

fn arb_tenant() -> impl Strategy<Value = Tenant> {
    prop::collection::btree_map(
        1u64..400,
        (
            prop::sample::subsequence(TAGS.to_vec(), 0..=3),
            prop::collection::vec(arb_detection(), 0..6),
        ),
        0..25,
    )
    .prop_map(|hosts| {
        let mut spec = TenantSpec {
            base: Some(TenantBase::Empty),
            users: vec![User::new("u", "p")],
            limits: Some(LimitsSpec {
                rate_limit: Some(u32::MAX),
                concurrency_limit: Some(u32::MAX),
                ..LimitsSpec::default()
            }),
            ..Default::default()
        };
        for (id, (tags, detections)) in hosts {
            let mut h = SimHost::new(id, format!("192.0.2.{}", id % 250 + 1));
            h.tags = tags.into_iter().map(String::from).collect();
            // One detection per QID per host, as Qualys lists them.
            let mut seen = std::collections::HashSet::new();
            h.detections = detections
                .into_iter()
                .filter(|d| seen.insert(d.qid))
                .collect();
            spec.hosts.push(h);
        }
        Tenant::from_spec(spec).expect("a generated tenant resolves")
    })
}

/// A filter combination, kept as plain values so the reference below does not share code with
/// the simulator.
#[derive(Debug, Clone)]
struct Filter {
    statuses: Vec<VulnStatus>,
    vuln_type: Option<&'static str>,
    show_igs: bool,
    arf: Option<u8>,
    include: Vec<&'static str>,
    include_all: bool,
    exclude: Vec<&'static str>,
    exclude_all: bool,
    id_min: Option<u64>,
    id_max: Option<u64>,
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    (
        prop::sample::subsequence(VulnStatus::ALL.to_vec(), 1..=4),
        prop_oneof![Just(None), Just(Some("confirmed")), Just(Some("potential"))],
        any::<bool>(),
        prop::option::of(0u8..=4),
        prop::sample::subsequence(TAGS.to_vec(), 0..=2),
        any::<bool>(),
        prop::sample::subsequence(TAGS.to_vec(), 0..=2),
        any::<bool>(),
        prop::option::of(1u64..400),
        prop::option::of(1u64..400),
    )
        .prop_map(
            |(
                statuses,
                vuln_type,
                show_igs,
                arf,
                include,
                include_all,
                exclude,
                exclude_all,
                id_min,
                id_max,
            )| Filter {
                statuses,
                vuln_type,
                show_igs,
                arf,
                include,
                include_all,
                exclude,
                exclude_all,
                id_min,
                id_max,
            },
        )
}

impl Filter {
    fn params(&self, truncation_limit: u64) -> Vec<(String, String)> {
        let mut p = vec![
            ("action".to_string(), "list".to_string()),
            ("show_tags".into(), "1".into()),
            (
                "status".into(),
                self.statuses
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("truncation_limit".into(), truncation_limit.to_string()),
        ];
        if let Some(t) = self.vuln_type {
            p.push(("include_vuln_type".into(), t.into()));
        }
        if self.show_igs {
            p.push(("show_igs".into(), "1".into()));
        }
        if let Some(a) = self.arf {
            p.push(("arf_kernel_filter".into(), a.to_string()));
        }
        if !self.include.is_empty() || !self.exclude.is_empty() {
            p.push(("use_tags".into(), "1".into()));
            p.push(("tag_set_by".into(), "name".into()));
        }
        if !self.include.is_empty() {
            p.push((
                "tag_include_selector".into(),
                if self.include_all { "all" } else { "any" }.into(),
            ));
            p.push(("tag_set_include".into(), self.include.join(",")));
        }
        if !self.exclude.is_empty() {
            p.push((
                "tag_exclude_selector".into(),
                if self.exclude_all { "all" } else { "any" }.into(),
            ));
            p.push(("tag_set_exclude".into(), self.exclude.join(",")));
        }
        if let Some(m) = self.id_min {
            p.push(("id_min".into(), m.to_string()));
        }
        if let Some(m) = self.id_max {
            p.push(("id_max".into(), m.to_string()));
        }
        p
    }

    /// The plain reference: what Qualys's documentation says each parameter does.
    fn expected(&self, t: &Tenant) -> Vec<(u64, Vec<u32>)> {
        let mut out = Vec::new();
        for h in &t.vmdr.hosts {
            if self.id_min.is_some_and(|m| h.id < m) || self.id_max.is_some_and(|m| h.id > m) {
                continue;
            }
            let has = |tag: &&str| h.tags.iter().any(|x| x == tag);
            if !self.include.is_empty() {
                let ok = if self.include_all {
                    self.include.iter().all(has)
                } else {
                    self.include.iter().any(has)
                };
                if !ok {
                    continue;
                }
            }
            if !self.exclude.is_empty() {
                let hit = if self.exclude_all {
                    self.exclude.iter().all(has)
                } else {
                    self.exclude.iter().any(has)
                };
                if hit {
                    continue;
                }
            }
            let qids: Vec<u32> = h
                .detections
                .iter()
                .filter(|d| match d.kind {
                    DetectionType::Info => self.show_igs,
                    DetectionType::Confirmed => self.vuln_type != Some("potential"),
                    DetectionType::Potential => self.vuln_type != Some("confirmed"),
                })
                .filter(|d| self.statuses.contains(&d.status))
                .filter(|d| match (self.arf, d.kernel) {
                    (None | Some(0), _) => true,
                    (Some(1), k) => k != Some(KernelState::NotRunning),
                    (Some(2), k) => k == Some(KernelState::NotRunning),
                    (Some(3), k) => k == Some(KernelState::Running),
                    (Some(_), k) => k.is_some(),
                })
                .filter(|d| !d.is_ignored && !d.is_disabled)
                .map(|d| d.qid)
                .collect();
            if !qids.is_empty() {
                out.push((h.id, qids));
            }
        }
        out
    }
}

/// Fetches every page, following `id_min` from each WARNING URL; returns the hosts and the
/// number of hosts on each page.
fn fetch_all(engine: &Engine, f: &Filter, limit: u64) -> (Vec<HldHost>, Vec<usize>) {
    let mut hosts = Vec::new();
    let mut pages = Vec::new();
    let mut params = f.params(limit);
    for _ in 0..500 {
        let mut req = SimRequest::new("POST", HLD, "http://sim.test").with_basic("u", "p");
        req.params = params.clone();
        let resp = engine.handle(&req);
        assert_eq!(resp.status, 200);
        let body =
            String::from_utf8(resp.collect_body().expect("the page renders")).expect("UTF-8");
        let (page, warning) = read_hld(&body);
        pages.push(page.len());
        hosts.extend(page);
        match warning {
            None => return (hosts, pages),
            Some(url) => {
                assert!(
                    url.starts_with("http://sim.test/api/2.0/fo/asset/host/vm/detection/?"),
                    "{url}"
                );
                let next = id_min_of(&url);
                params.retain(|(k, _)| k != "id_min");
                params.push(("id_min".into(), next.to_string()));
            }
        }
    }
    panic!("pagination did not end within 500 pages");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn detection_filters_match_the_reference_filter_on_random_tenants(t in arb_tenant(), f in arb_filter()) {
        let engine = Engine::new(t.clone(), None);
        let (hosts, _) = fetch_all(&engine, &f, 0);
        let got: Vec<(u64, Vec<u32>)> = hosts.iter().map(|h| (h.id, h.detections.iter().map(|d| d.0).collect())).collect();
        prop_assert_eq!(got, f.expected(&t));
        for h in &hosts {
            for d in &h.detections {
                let kernel = t.vmdr.hosts.iter().find(|x| x.id == h.id).unwrap().detections.iter().find(|x| x.qid == d.0).unwrap().kernel;
                let want = match (f.arf, kernel) {
                    (Some(_), Some(KernelState::Running)) => Some("1".to_string()),
                    (Some(_), Some(KernelState::NotRunning)) => Some("0".to_string()),
                    _ => None,
                };
                prop_assert_eq!(&d.3, &want, "AFFECT_RUNNING_KERNEL appears with arf_kernel_filter on kernel detections only");
            }
        }
    }

    #[test]
    fn any_truncation_limit_yields_the_same_hosts_with_no_loss_and_no_duplicates(t in arb_tenant(), f in arb_filter(), limit in 1u64..8) {
        let engine = Engine::new(t.clone(), None);
        let (all, _) = fetch_all(&engine, &f, 0);
        let (paged, pages) = fetch_all(&engine, &f, limit);
        prop_assert_eq!(&paged, &all);
        prop_assert!(pages.iter().all(|n| *n as u64 <= limit));
        prop_assert!(pages.len() == 1 || pages.iter().all(|n| *n > 0), "no empty page after a WARNING");
        let mut ids: Vec<u64> = paged.iter().map(|h| h.id).collect();
        let n = ids.len();
        ids.dedup();
        prop_assert_eq!(ids.len(), n);
    }
}

#[test]
fn the_demo_tenant_hides_information_gathered_unless_show_igs_is_set() {
    let engine = Engine::new(Tenant::demo(), None);
    let req = |igs: bool| {
        let mut r = SimRequest::new("POST", HLD, "http://sim.test")
            .with_basic(USER, DEMO_PASSWORD)
            .with_param("action", "list")
            .with_param("truncation_limit", "0");
        if igs {
            r = r.with_param("show_igs", "1");
        }
        let body = String::from_utf8(engine.handle(&r).collect_body().unwrap()).unwrap();
        read_hld(&body)
            .0
            .iter()
            .flat_map(|h| h.detections.iter().map(|d| d.1.clone()))
            .collect::<Vec<_>>()
    };
    assert!(!req(false).iter().any(|t| t == "Info"));
    assert!(req(true).iter().any(|t| t == "Info"));
}

#[test]
fn tag_filters_by_id_select_the_same_hosts_as_by_name() {
    let t = Tenant::demo();
    let pci = t.vmdr.tag("PCI & Card").unwrap().id.to_string();
    let engine = Engine::new(t, None);
    let hosts = |by: &str, value: &str| {
        let r = SimRequest::new("POST", HLD, "http://sim.test")
            .with_basic(USER, DEMO_PASSWORD)
            .with_param("action", "list")
            .with_param("truncation_limit", "0")
            .with_param("use_tags", "1")
            .with_param("tag_set_by", by)
            .with_param("tag_set_include", value);
        let body = String::from_utf8(engine.handle(&r).collect_body().unwrap()).unwrap();
        read_hld(&body).0.iter().map(|h| h.id).collect::<Vec<_>>()
    };
    let by_name = hosts("name", "PCI & Card");
    assert!(!by_name.is_empty());
    assert_eq!(by_name, hosts("id", &pci));
}

/// Host List: the same host filters without detections, over every page.
fn host_list_ids(engine: &Engine, f: &Filter, limit: u64) -> Vec<u64> {
    let mut params: Vec<(String, String)> = f
        .params(limit)
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "status" | "include_vuln_type" | "show_igs" | "arf_kernel_filter"
            )
        })
        .collect();
    let mut ids = Vec::new();
    for _ in 0..500 {
        let mut req = SimRequest::new("POST", HOST_LIST, "http://sim.test").with_basic("u", "p");
        req.params = params.clone();
        let resp = engine.handle(&req);
        assert_eq!(resp.status, 200);
        let body =
            String::from_utf8(resp.collect_body().expect("the page renders")).expect("UTF-8");
        let root = parse(&body);
        if let Some(list) = root.at("RESPONSE/HOST_LIST") {
            ids.extend(
                list.all("HOST")
                    .iter()
                    .map(|h| h.text_at("ID").unwrap().parse::<u64>().unwrap()),
            );
        }
        match root.text_at("RESPONSE/WARNING/URL") {
            None => return ids,
            Some(url) => {
                params.retain(|(k, _)| k != "id_min");
                params.push(("id_min".into(), id_min_of(url).to_string()));
            }
        }
    }
    panic!("pagination did not end within 500 pages");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn host_list_filters_and_pages_match_the_reference(t in arb_tenant(), f in arb_filter(), limit in 0u64..6) {
        let engine = Engine::new(t.clone(), None);
        let want: Vec<u64> = t
            .vmdr
            .hosts
            .iter()
            .filter(|h| f.id_min.is_none_or(|m| h.id >= m) && f.id_max.is_none_or(|m| h.id <= m))
            .filter(|h| {
                let has = |tag: &&str| h.tags.iter().any(|x| x == tag);
                let inc = f.include.is_empty() || if f.include_all { f.include.iter().all(has) } else { f.include.iter().any(has) };
                let exc = !f.exclude.is_empty() && if f.exclude_all { f.exclude.iter().all(has) } else { f.exclude.iter().any(has) };
                inc && !exc
            })
            .map(|h| h.id)
            .collect();
        prop_assert_eq!(host_list_ids(&engine, &f, limit), want);
    }
}
