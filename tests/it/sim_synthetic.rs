//! A tenant's synthetic population streams over HTTP: generated as sent, paged like any host.

use futures_util::StreamExt;

use crate::helpers::*;

#[tokio::test]
async fn a_synthetic_population_streams_chunked_and_the_journal_counts_every_byte() {
    let sim = spawn_tenant("replace = [\"hosts\"]\n[synthetic]\nhosts = 400\nseed = 5\n").await;
    let r = post(
        &sim,
        HLD,
        &[
            ("action", "list"),
            ("truncation_limit", "0"),
            ("show_igs", "1"),
            ("show_tags", "1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("content-length").is_none(),
        "streamed, not sized in advance"
    );
    assert_eq!(r.headers()["transfer-encoding"], "chunked");
    let mut bytes = 0u64;
    let mut chunks = 0;
    let mut tail = Vec::new();
    let mut s = r.bytes_stream();
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        bytes += c.len() as u64;
        chunks += 1;
        tail = c.to_vec();
    }
    assert!(bytes > 15_000_000, "{bytes} bytes for 400 hosts");
    assert!(chunks > 10, "sent in many chunks, as rendered");
    assert!(String::from_utf8_lossy(&tail).contains("</HOST_LIST_VM_DETECTION_OUTPUT>"));
    assert_eq!(sim.journal().entries()[0].bytes, bytes);
}

#[tokio::test]
async fn synthetic_hosts_page_by_id_like_listed_ones() {
    let sim = spawn_tenant("[synthetic]\nhosts = 120\ndetections_per_host = 3\nseed = 2\n").await;
    let listed = sim.tenant().vmdr.hosts.len();
    let mut ids = Vec::new();
    let mut params = vec![
        ("action".to_string(), "list".to_string()),
        ("truncation_limit".into(), "70".into()),
        ("details".into(), "None".into()),
    ];
    loop {
        let p: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body = text(post(&sim, HOST_LIST, &p).await).await;
        let root = parse(&body);
        for n in &root.at("RESPONSE/ID_SET").unwrap().children {
            match n.name.as_str() {
                "ID" => ids.push(n.text.parse::<u64>().unwrap()),
                _ => {
                    let (a, b) = n.text.split_once('-').unwrap();
                    ids.extend(a.parse::<u64>().unwrap()..=b.parse::<u64>().unwrap());
                }
            }
        }
        match root.text_at("RESPONSE/WARNING/URL") {
            Some(u) => {
                params.retain(|(k, _)| k != "id_min");
                params.push(("id_min".into(), id_min_of(u).to_string()));
            }
            None => break,
        }
    }
    assert_eq!(ids.len(), listed + 120);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}
