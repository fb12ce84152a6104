//! The parsers hold on to memory for one host (or one KnowledgeBase entry) at a time, never for
//! the page: the same host repeated once or two hundred times leaves every reused buffer of the
//! readers the same size. Measured with the readers' own `retained_bytes`, which sums the
//! capacity of every buffer they keep between records (the workspace lints forbid the `unsafe`
//! a counting allocator would need).

use proptest::prelude::*;

use super::document::{self, Root};
use super::knowledge_base::KbReader;
use super::{Capture, HostListKind, HostListReader};

/// A host element with `{ID}` where its ID goes: random text sizes, tags, detections, CDATA,
/// entity references and an element the reader does not know.
fn host_template() -> impl Strategy<Value = String> {
    let detection = (0usize..1500, 1u8..6, any::<bool>()).prop_map(|(results, sev, cdata)| {
        let text = "r&amp;".repeat(results / 6);
        let results = if cdata {
            format!("<![CDATA[{text}]]>")
        } else {
            text
        };
        format!(
            "<DETECTION><QID>38170</QID><TYPE>Confirmed</TYPE><SEVERITY>{sev}</SEVERITY><STATUS>Active</STATUS><RESULTS>{results}</RESULTS><NEW_ELEMENT><X>1</X></NEW_ELEMENT></DETECTION>"
        )
    });
    (
        prop::collection::vec("[a-zA-Z &]{0,40}", 0..6),
        prop::collection::vec(detection, 0..8),
        0usize..300,
    )
        .prop_map(|(tags, detections, os)| {
            let tags: String = tags
                .iter()
                .map(|t| {
                    format!(
                        "<TAG><TAG_ID>1</TAG_ID><NAME><![CDATA[{t}]]></NAME></TAG>"
                    )
                })
                .collect();
            format!(
                "<HOST><ID>{{ID}}</ID><ASSET_ID>{{ID}}</ASSET_ID><IP>192.0.2.1</IP><DNS_DATA><HOSTNAME>h</HOSTNAME><FQDN>h.example.com</FQDN></DNS_DATA><OS>{}</OS><TAGS>{tags}</TAGS><DETECTION_LIST>{}</DETECTION_LIST></HOST>",
                "o".repeat(os),
                detections.concat()
            )
        })
}

fn page(root: &str, head: &str, item: &str, copies: u64) -> String {
    let mut doc = format!(
        "<?xml version=\"1.0\"?>\n<{root}><RESPONSE><DATETIME>2026-01-01T00:00:00Z</DATETIME>{head}"
    );
    for i in 0..copies {
        // Same number of digits for every copy, so the copies are the same size.
        doc.push_str(&item.replace("{ID}", &(100_000 + i).to_string()));
    }
    doc
}

/// The most any reused buffer of a host list reader held while reading `doc`.
fn host_list_peak(doc: &str, kind: HostListKind, capture: Capture) -> usize {
    let mut reader = HostListReader::open_expecting(doc.as_bytes(), kind, "t")
        .expect("a host list")
        .capture(capture);
    let mut peak = reader.retained_bytes();
    while reader.next_host().expect("the page parses").is_some() {
        peak = peak.max(reader.retained_bytes());
    }
    peak.max(reader.retained_bytes())
}

/// The same for the KnowledgeBase reader.
fn knowledge_base_peak(doc: &str) -> usize {
    let mut r = document::reader(doc.as_bytes());
    let mut buf = Vec::new();
    assert_eq!(
        document::read_root(&mut r, &mut buf, "t").unwrap(),
        Root::KnowledgeBase
    );
    let mut kb = KbReader::new(r, buf, "t");
    let mut peak = kb.retained_bytes();
    while kb.next_entry().expect("the answer parses").is_some() {
        peak = peak.max(kb.retained_bytes());
    }
    peak
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn host_list_readers_hold_one_host_however_many_hosts_a_page_has(
        host in host_template(),
        detections in any::<bool>(),
        counting in any::<bool>(),
    ) {
        let (kind, root) = if detections {
            (HostListKind::Detections, "HOST_LIST_VM_DETECTION_OUTPUT")
        } else {
            (HostListKind::Hosts, "HOST_LIST_OUTPUT")
        };
        let capture = if counting { Capture::Counting } else { Capture::All };
        let close = format!("</HOST_LIST></RESPONSE></{root}>");
        let one = page(root, "<HOST_LIST>", &host, 1) + &close;
        let many = page(root, "<HOST_LIST>", &host, 200) + &close;
        prop_assert_eq!(
            host_list_peak(&one, kind, capture),
            host_list_peak(&many, kind, capture)
        );
    }

    #[test]
    fn the_knowledge_base_reader_holds_one_entry_however_many_a_document_has(
        title in "[a-zA-Z &]{0,200}",
        diagnosis in 0usize..5000,
        cves in 0usize..20,
    ) {
        let vuln = format!(
            "<VULN><QID>{{ID}}</QID><VULN_TYPE>Vulnerability</VULN_TYPE><SEVERITY_LEVEL>3</SEVERITY_LEVEL><TITLE><![CDATA[{title}]]></TITLE><CVE_LIST>{}</CVE_LIST><DIAGNOSIS><![CDATA[{}]]></DIAGNOSIS><CVSS><BASE source=\"service\">5.0</BASE></CVSS></VULN>",
            "<CVE><ID>CVE-2000-0001</ID><URL>https://example.com</URL></CVE>".repeat(cves),
            "d".repeat(diagnosis)
        );
        let close = "</VULN_LIST></RESPONSE></KNOWLEDGE_BASE_VULN_LIST_OUTPUT>";
        let root = "KNOWLEDGE_BASE_VULN_LIST_OUTPUT";
        let one = page(root, "<VULN_LIST>", &vuln, 1) + close;
        let many = page(root, "<VULN_LIST>", &vuln, 200) + close;
        prop_assert_eq!(knowledge_base_peak(&one), knowledge_base_peak(&many));
    }
}

#[test]
fn an_id_range_is_handed_out_without_materialising_it() {
    let doc = |range: &str| {
        format!(
            "<HOST_LIST_OUTPUT><RESPONSE><ID_SET><ID_RANGE>{range}</ID_RANGE></ID_SET></RESPONSE></HOST_LIST_OUTPUT>"
        )
    };
    let small = host_list_peak(&doc("100000-100009"), HostListKind::Hosts, Capture::All);
    let large = host_list_peak(&doc("100000-199999"), HostListKind::Hosts, Capture::All);
    assert_eq!(small, large);
}

#[test]
fn repeated_head_elements_do_not_accumulate_their_text() {
    let head = "<DATETIME>2026-01-01T00:00:00Z</DATETIME><WARNING><CODE>1980</CODE><TEXT>more</TEXT><URL>https://qualysapi.qualys.com/?id_min=5</URL></WARNING>";
    let doc = |n: usize| {
        format!(
            "<HOST_LIST_OUTPUT><RESPONSE>{}</RESPONSE></HOST_LIST_OUTPUT>",
            head.repeat(n)
        )
    };
    assert_eq!(
        host_list_peak(&doc(1), HostListKind::Hosts, Capture::All),
        host_list_peak(&doc(500), HostListKind::Hosts, Capture::All)
    );
}
