//! Asset groups and user scope: a user sees only the hosts of their asset groups, on every
//! endpoint that lists hosts (the "connector returns fewer hosts than the console" failure),
//! and `ag_ids` / `ag_titles` select hosts by group.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use qualys_harness::sim::{SimHost, Tenant};

use crate::helpers::*;

const SCOPED: &str = "quays_scoped1";

/// Host IDs a Host List page lists.
fn host_list_ids(body: &str) -> BTreeSet<u64> {
    parse(body)
        .at("RESPONSE/HOST_LIST")
        .map(|l| {
            l.all("HOST")
                .iter()
                .map(|h| h.text_at("ID").unwrap().parse().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// The reference for group membership, written from the tenant format: a host is in a group
/// when it lists the group's title, or its IP is in the group's range.
fn in_group(h: &SimHost, title: &str, range: Option<(Ipv4Addr, Ipv4Addr)>) -> bool {
    h.asset_groups.iter().any(|t| t == title)
        || range.is_some_and(|(a, b)| {
            h.ip.as_deref()
                .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
                .is_some_and(|ip| a <= ip && ip <= b)
        })
}

fn demo_hosts_in(title: &str, range: Option<(Ipv4Addr, Ipv4Addr)>) -> BTreeSet<u64> {
    Tenant::demo()
        .vmdr
        .hosts
        .iter()
        .filter(|h| in_group(h, title, range))
        .map(|h| h.id)
        .collect()
}

async fn list_as(
    sim: &qualys_harness::sim::RunningSimulator,
    user: &str,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let mut p = vec![("action", "list"), ("truncation_limit", "0")];
    p.extend_from_slice(extra);
    let r = post_as(sim, HOST_LIST, user, DEMO_PASSWORD, &p).await;
    (r.status().as_u16(), text(r).await)
}

#[tokio::test]
async fn a_scoped_user_sees_only_the_hosts_of_their_asset_groups_on_every_host_endpoint() {
    let sim = spawn_demo().await;
    let east = demo_hosts_in("Data Center East", None);
    assert_eq!(east.len(), 120);
    let (status, body) = list_as(&sim, SCOPED, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(host_list_ids(&body), east, "Host List");
    let (_, all) = list_as(&sim, USER, &[]).await;
    assert_eq!(host_list_ids(&all).len(), 240, "a manager sees every host");

    let hld = text(
        post_as(
            &sim,
            HLD,
            SCOPED,
            DEMO_PASSWORD,
            &[("action", "list"), ("truncation_limit", "0")],
        )
        .await,
    )
    .await;
    let seen: BTreeSet<u64> = read_hld(&hld).0.iter().map(|h| h.id).collect();
    assert!(
        !seen.is_empty() && seen.is_subset(&east),
        "Host List Detection"
    );
    let manager: BTreeSet<u64> = read_hld(
        &text(post(&sim, HLD, &[("action", "list"), ("truncation_limit", "0")]).await).await,
    )
    .0
    .iter()
    .map(|h| h.id)
    .filter(|id| east.contains(id))
    .collect();
    assert_eq!(
        seen, manager,
        "the same hosts as a manager sees in that group"
    );

    // The KnowledgeBase is the subscription's: not scoped.
    let kb = |user: &'static str| {
        let sim = &sim;
        async move {
            text(
                post_as(
                    sim,
                    KB,
                    user,
                    DEMO_PASSWORD,
                    &[("action", "list"), ("ids", "1-400000")],
                )
                .await,
            )
            .await
        }
    };
    assert_eq!(
        kb(SCOPED).await.matches("<VULN>").count(),
        kb(USER).await.matches("<VULN>").count()
    );
}

#[tokio::test]
async fn ag_titles_and_ag_ids_select_hosts_by_title_and_by_ip_range() {
    let sim = spawn_demo().await;
    let range = Some((Ipv4Addr::new(192, 0, 2, 200), Ipv4Addr::new(192, 0, 2, 240)));
    let dmz = demo_hosts_in("DMZ Segment", range);
    assert!(!dmz.is_empty() && dmz.len() < 240);
    let (_, by_title) = list_as(&sim, USER, &[("ag_titles", "DMZ Segment")]).await;
    assert_eq!(host_list_ids(&by_title), dmz);
    let (_, by_id) = list_as(&sim, USER, &[("ag_ids", "3003")]).await;
    assert_eq!(host_list_ids(&by_id), dmz);
    let (_, two) = list_as(&sim, USER, &[("ag_titles", "DMZ Segment,Data Center West")]).await;
    let west = demo_hosts_in("Data Center West", None);
    assert_eq!(host_list_ids(&two), dmz.union(&west).copied().collect());
    // Scope and filter both apply.
    let (_, scoped_dmz) = list_as(&sim, SCOPED, &[("ag_ids", "3001")]).await;
    assert_eq!(
        host_list_ids(&scoped_dmz),
        demo_hosts_in("Data Center East", None)
    );
}

#[tokio::test]
async fn asset_groups_outside_the_account_or_unknown_are_refused_with_1905() {
    let sim = spawn_demo().await;
    for (user, p, v) in [
        (SCOPED, "ag_titles", "Data Center West"),
        (SCOPED, "ag_ids", "3002"),
        (USER, "ag_titles", "No Such Group"),
        (USER, "ag_ids", "999"),
    ] {
        let (status, body) = list_as(&sim, user, &[(p, v)]).await;
        assert_eq!(status, 400, "{user} {p}={v}");
        let (code, text, _) = read_simple_return(&body);
        assert_eq!(code, Some(1905), "{text}");
        assert!(text.contains("asset group"), "{text}");
    }
}

#[tokio::test]
async fn the_ags_details_list_each_hosts_asset_group_ids() {
    let sim = spawn_demo().await;
    let (_, body) = list_as(
        &sim,
        USER,
        &[("details", "Basic/AGs"), ("ids", "100031-100100")],
    )
    .await;
    let root = parse(&body);
    let hosts = root.at("RESPONSE/HOST_LIST").unwrap().all("HOST");
    assert!(!hosts.is_empty());
    for h in hosts {
        let ids = h
            .text_at("ASSET_GROUP_IDS")
            .expect("ASSET_GROUP_IDS with /AGs");
        assert!(ids == "3001" || ids == "3002", "{ids}");
    }
    let (_, plain) = list_as(&sim, USER, &[("details", "Basic"), ("ids", "100031")]).await;
    assert!(!plain.contains("ASSET_GROUP_IDS"));
    assert_dtd_valid(
        body.as_bytes(),
        "host_list_output.dtd",
        "a Basic/AGs Host List page",
    );
}

#[test]
fn a_user_scoped_to_a_group_the_tenant_lacks_is_a_tenant_error() {
    let spec = qualys_harness::sim::TenantSpec::from_toml(
        "[[users]]\nlogin = \"u\"\npassword = \"p\"\nasset_groups = [\"Nowhere\"]\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    let err = Tenant::from_spec(spec).unwrap_err();
    assert!(
        err.contains("Nowhere") && err.contains("[[asset_groups]]"),
        "{err}"
    );
}
