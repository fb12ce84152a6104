//! Paging, ID filters and the shapes of Host List and KnowledgeBase answers over HTTP.

use crate::helpers::*;

#[tokio::test]
async fn detection_pages_follow_truncation_limit_with_warning_url_on_own_origin() {
    let sim = spawn_demo().await;
    let all = read_hld(
        &text(post(&sim, HLD, &[("action", "list"), ("truncation_limit", "0")]).await).await,
    )
    .0;
    let mut seen = Vec::new();
    // Follow the WARNING URL verbatim, as Elastic's and Sentinel's clients do.
    let first = post(&sim, HLD, &[("action", "list"), ("truncation_limit", "50")]).await;
    let (hosts, mut url) = read_hld(&text(first).await);
    assert_eq!(hosts.len(), 50);
    seen.extend(hosts);
    while let Some(u) = url {
        assert!(
            u.starts_with(&format!(
                "{}api/2.0/fo/asset/host/vm/detection/?action=list&truncation_limit=50&id_min=",
                sim.base_url
            )),
            "{u}"
        );
        let r = client()
            .get(&u)
            .basic_auth(USER, Some(DEMO_PASSWORD))
            .header("X-Requested-With", "t")
            .send()
            .await
            .unwrap();
        let (hosts, next) = read_hld(&text(r).await);
        assert!(hosts.len() <= 50);
        seen.extend(hosts);
        url = next;
    }
    assert_eq!(seen, all);
    let warning_text = {
        let body =
            text(post(&sim, HLD, &[("action", "list"), ("truncation_limit", "10")]).await).await;
        parse(&body)
            .text_at("RESPONSE/WARNING/TEXT")
            .unwrap()
            .to_string()
    };
    assert_eq!(
        warning_text,
        "10 record limit exceeded. Use URL to get next batch of results."
    );
}

#[tokio::test]
async fn the_default_truncation_limit_is_1000_hosts() {
    let sim = spawn_tenant(
        "[synthetic]\nhosts = 1200\ndetections_per_host = 1\nmax_detections_per_host = 1\n",
    )
    .await;
    let body = text(post(&sim, HLD, &[("action", "list"), ("show_igs", "1")]).await).await;
    let (hosts, url) = read_hld(&body);
    assert_eq!(hosts.len(), 1000);
    assert!(url.is_some());
}

#[tokio::test]
async fn ids_id_min_and_id_max_select_hosts_by_id() {
    let sim = spawn_demo().await;
    let ids: Vec<u64> = sim.tenant().vmdr.hosts.iter().map(|h| h.id).collect();
    let (lo, hi) = (ids[10], ids[20]);
    let body = text(
        post(
            &sim,
            HOST_LIST,
            &[
                ("action", "list"),
                ("id_min", &lo.to_string()),
                ("id_max", &hi.to_string()),
            ],
        )
        .await,
    )
    .await;
    let got: Vec<u64> = parse(&body)
        .at("RESPONSE/HOST_LIST")
        .unwrap()
        .all("HOST")
        .iter()
        .map(|h| h.text_at("ID").unwrap().parse().unwrap())
        .collect();
    assert_eq!(got, ids[10..=20].to_vec());
    let list = format!("{},{}-{}", ids[0], ids[5], ids[6]);
    let body = text(post(&sim, HOST_LIST, &[("action", "list"), ("ids", &list)]).await).await;
    let got: Vec<u64> = parse(&body)
        .at("RESPONSE/HOST_LIST")
        .unwrap()
        .all("HOST")
        .iter()
        .map(|h| h.text_at("ID").unwrap().parse().unwrap())
        .collect();
    assert_eq!(got, vec![ids[0], ids[5], ids[6]]);
}

#[tokio::test]
async fn an_empty_answer_omits_host_list_and_warning() {
    let sim = spawn_demo().await;
    let body = text(post(&sim, HLD, &[("action", "list"), ("ids", "1")]).await).await;
    let root = parse(&body);
    let resp = root.child("RESPONSE").unwrap();
    assert_eq!(
        resp.children
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["DATETIME"]
    );
}

#[tokio::test]
async fn host_list_details_none_answers_an_id_set_with_ranges() {
    let sim = spawn_tenant("replace = [\"hosts\"]\n[[hosts]]\nid = 5\n[[hosts]]\nid = 6\n[[hosts]]\nid = 7\n[[hosts]]\nid = 9\n").await;
    let body = text(
        post(
            &sim,
            HOST_LIST,
            &[
                ("action", "list"),
                ("details", "None"),
                ("truncation_limit", "0"),
            ],
        )
        .await,
    )
    .await;
    let set = parse(&body);
    let set = set.at("RESPONSE/ID_SET").unwrap();
    let entries: Vec<(String, String)> = set
        .children
        .iter()
        .map(|c| (c.name.clone(), c.text.clone()))
        .collect();
    assert_eq!(
        entries,
        vec![("ID_RANGE".into(), "5-7".into()), ("ID".into(), "9".into())]
    );
}

#[tokio::test]
async fn host_list_all_details_show_scan_dates_asset_ids_and_tags() {
    let sim = spawn_demo().await;
    let params = [
        ("action", "list"),
        ("details", "All"),
        ("show_tags", "1"),
        ("show_asset_id", "1"),
        ("truncation_limit", "3"),
    ];
    let body = text(post(&sim, HOST_LIST, &params).await).await;
    let root = parse(&body);
    let host = root.at("RESPONSE/HOST_LIST/HOST").unwrap();
    for child in [
        "ID",
        "ASSET_ID",
        "IP",
        "TRACKING_METHOD",
        "DNS",
        "OS",
        "TAGS",
        "LAST_VULN_SCAN_DATETIME",
        "LAST_VM_SCANNED_DATE",
    ] {
        assert!(host.child(child).is_some(), "{child} in {body}");
    }
    assert!(host.child("SERIAL_NUMBER").is_none(), "not from /api/2.0");
    let basic = text(
        post(
            &sim,
            HOST_LIST,
            &[("action", "list"), ("truncation_limit", "1")],
        )
        .await,
    )
    .await;
    assert!(
        parse(&basic)
            .at("RESPONSE/HOST_LIST/HOST/LAST_VULN_SCAN_DATETIME")
            .is_none()
    );
    let v3 = text(post(&sim, "/api/3.0/fo/asset/host/", &params).await).await;
    assert!(
        parse(&v3)
            .at("RESPONSE/HOST_LIST/HOST/SERIAL_NUMBER")
            .is_some(),
        "from /api/3.0 with details=All"
    );
}

#[tokio::test]
async fn host_list_detection_shows_asset_ids_only_when_asked() {
    let sim = spawn_demo().await;
    let asset_ids = |body: &str| -> Vec<Option<String>> {
        parse(body)
            .at("RESPONSE/HOST_LIST")
            .expect("a HOST_LIST")
            .all("HOST")
            .iter()
            .map(|h| h.text_at("ASSET_ID").map(String::from))
            .collect()
    };
    let base = [("action", "list"), ("truncation_limit", "3")];
    let without = text(post(&sim, HLD, &base).await).await;
    assert_eq!(asset_ids(&without), [None, None, None], "Qualys's default");
    let with = [&base[..], &[("show_asset_id", "1")]].concat();
    let with = text(post(&sim, HLD, &with).await).await;
    assert!(asset_ids(&with).iter().all(Option::is_some), "{with}");
}

#[tokio::test]
async fn the_knowledge_base_answers_qid_lists_and_ranges_by_get_or_post() {
    let sim = spawn_demo().await;
    let qids = |body: &str| -> Vec<u32> {
        parse(body)
            .at("RESPONSE/VULN_LIST")
            .map(|l| {
                l.all("VULN")
                    .iter()
                    .map(|v| v.text_at("QID").unwrap().parse().unwrap())
                    .collect()
            })
            .unwrap_or_default()
    };
    let post_body = text(
        post(
            &sim,
            KB,
            &[
                ("action", "list"),
                ("details", "Basic"),
                ("ids", "38170,38173,90000-92004"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(qids(&post_body), vec![38170, 38173, 90043, 91850, 92004]);
    let get_body = text(
        get(
            &sim,
            KB,
            &[
                ("action", "list"),
                ("details", "Basic"),
                ("ids", "38170,38173,90000-92004"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(qids(&get_body), qids(&post_body));
    let root = parse(&post_body);
    let v = root.at("RESPONSE/VULN_LIST/VULN").unwrap();
    for child in [
        "QID",
        "VULN_TYPE",
        "SEVERITY_LEVEL",
        "TITLE",
        "CATEGORY",
        "PUBLISHED_DATETIME",
        "PATCHABLE",
        "DISCOVERY",
    ] {
        assert!(v.child(child).is_some(), "{child}");
    }
    assert!(post_body.contains("<TITLE><![CDATA["));
}

#[tokio::test]
async fn unknown_qids_get_a_response_with_only_datetime() {
    let sim = spawn_demo().await;
    let body = text(post(&sim, KB, &[("action", "list"), ("ids", "1,2,3")]).await).await;
    let root = parse(&body);
    assert_eq!(root.child("RESPONSE").unwrap().children.len(), 1);
}

#[tokio::test]
async fn kb_details_none_lists_ids() {
    let sim = spawn_demo().await;
    let none = text(
        post(
            &sim,
            KB,
            &[("action", "list"), ("details", "None"), ("ids", "38170")],
        )
        .await,
    )
    .await;
    assert_eq!(parse(&none).text_at("RESPONSE/ID_SET/ID"), Some("38170"));
}

/// `(CVSS present, CVSS_V3 present, THREAT_INTEL (id, label) pairs)` of one VULN.
fn kb_shape(body: &str) -> (bool, bool, Vec<(String, String)>) {
    let root = parse(body);
    let v = root.at("RESPONSE/VULN_LIST/VULN").expect("a VULN").clone();
    let intel = v
        .child("THREAT_INTELLIGENCE")
        .map(|t| {
            t.all("THREAT_INTEL")
                .iter()
                .map(|i| {
                    let id = i
                        .attrs
                        .iter()
                        .find(|(k, _)| k == "id")
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    (id, i.text.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    (
        v.child("CVSS").is_some(),
        v.child("CVSS_V3").is_some(),
        intel,
    )
}

#[tokio::test]
async fn the_default_kb_answer_has_threat_intelligence_and_cvss_only_with_cvss_scoring() {
    // The recorded default (details=Basic) answer has THREAT_INTELLIGENCE, with Qualys's
    // fixed label IDs, and no CVSS: that subscription had CVSS Scoring off.
    async fn kb(sim: &qualys_harness::sim::RunningSimulator, details: Option<&str>) -> String {
        let mut p = vec![("action", "list"), ("ids", "91850")];
        if let Some(d) = details {
            p.push(("details", d));
        }
        text(post(sim, KB, &p).await).await
    }
    let scoring = spawn_demo().await;
    let (cvss, cvss3, intel) = kb_shape(&kb(&scoring, None).await);
    assert!(cvss && cvss3, "the demo subscription has CVSS Scoring on");
    assert!(
        !intel.is_empty(),
        "the default answer carries THREAT_INTELLIGENCE"
    );
    for (id, label) in &intel {
        let want = match label.as_str() {
            "Easy_Exploit" => "5",
            "Denial_of_Service" => "7",
            "No_Patch" => "8",
            "Privilege_Escalation" => "13",
            "Remote_Code_Execution" => "15",
            "Exploit_Public" => "2",
            other => panic!("an unexpected label {other:?}"),
        };
        assert_eq!(id, want, "{label}");
    }
    assert_eq!(kb_shape(&kb(&scoring, Some("All")).await).2, intel);

    let no_scoring = spawn_tenant(
        "cvss_scoring = false
",
    )
    .await;
    let (cvss, cvss3, intel_off) = kb_shape(&kb(&no_scoring, Some("Basic")).await);
    assert!(!cvss && !cvss3, "no CVSS elements without CVSS Scoring");
    assert_eq!(intel_off, intel);
}
