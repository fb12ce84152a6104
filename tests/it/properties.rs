//! Invariants over random inputs: any truncation limit yields the same records (no loss, no
//! duplicates); any split of the body into chunks parses identically.

use std::io::{BufRead, Read};

use proptest::prelude::*;
use qualys_harness::{CountSink, MemorySink, ParseMode, SavedResponse, StreamKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::*;

/// A host of the generated tenant: its ID and the QIDs of its detections.
#[derive(Debug, Clone)]
struct GenHost {
    id: u64,
    qids: Vec<u64>,
}

fn hosts() -> impl Strategy<Value = Vec<GenHost>> {
    prop::collection::btree_map(1u64..5000, prop::collection::vec(1u64..400, 0..4), 0..25).prop_map(
        |m| {
            m.into_iter()
                .map(|(id, qids)| GenHost { id, qids })
                .collect()
        },
    )
}

/// Answers Host List Detection requests from `hosts` with Qualys pagination semantics.
struct Paginator {
    hosts: Vec<GenHost>,
}

impl Respond for Paginator {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let limit: usize = param(request, "truncation_limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let id_min: u64 = param(request, "id_min")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let remaining: Vec<&GenHost> = self.hosts.iter().filter(|h| h.id >= id_min).collect();
        let (page, more) = if limit > 0 && remaining.len() > limit {
            (&remaining[..limit], true)
        } else {
            (&remaining[..], false)
        };
        let mut body = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>2026-01-01T00:00:00Z</DATETIME>",
        );
        if !page.is_empty() {
            body.push_str("<HOST_LIST>");
            for h in page {
                body.push_str(&format!(
                    "<HOST><ID>{}</ID><IP>192.0.2.1</IP><DETECTION_LIST>",
                    h.id
                ));
                for q in &h.qids {
                    body.push_str(&format!(
                        "<DETECTION><QID>{q}</QID><TYPE>Confirmed</TYPE><STATUS>Active</STATUS></DETECTION>"
                    ));
                }
                body.push_str("</DETECTION_LIST></HOST>");
            }
            body.push_str("</HOST_LIST>");
        }
        if more {
            let next = page.last().map(|h| h.id + 1).unwrap_or(0);
            body.push_str(&format!(
                "<WARNING><CODE>1980</CODE><TEXT>{limit} record limit exceeded. Use URL to get next batch of results.</TEXT><URL><![CDATA[https://qualysapi.qualys.com{HLD}?action=list&truncation_limit={limit}&id_min={next}]]></URL></WARNING>"
            ));
        }
        body.push_str("</RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>");
        xml(200, body)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_truncation_limit_yields_the_same_records_without_loss_or_duplicates(
        hosts in hosts(),
        limit in 0u32..8,
    ) {
        let expected: Vec<(u64, u64)> = hosts
            .iter()
            .flat_map(|h| h.qids.iter().map(move |q| (h.id, *q)))
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (keys, pages) = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path(HLD))
                .respond_with(Paginator { hosts: hosts.clone() })
                .mount(&server)
                .await;
            let mut s = settings(&server.uri(), StreamKind::VmdrVulnerabilities);
            s.vmdr.truncation_limit = Some(limit);
            s.vmdr.knowledge_base = Some(false);
            let run = run(s).await;
            (run.keys(), run.summary().pages)
        });
        prop_assert_eq!(keys, expected);
        let host_count = hosts.len() as u64;
        let expected_pages = if limit == 0 || host_count == 0 {
            1
        } else {
            host_count.div_ceil(u64::from(limit)).max(1)
        };
        prop_assert_eq!(pages, expected_pages);
    }

    #[test]
    fn any_chunk_split_parses_identically(
        chunks in prop::collection::vec(1usize..64, 1..40),
    ) {
        let body = fixture("vmdr/hld_page1.xml");
        let whole = parse_all(SavedResponse::Memory(body.as_bytes()));
        let split = parse_all(SavedResponse::Other(Box::new(Chunked { data: body.as_bytes(), sizes: chunks, next: 0, pos: 0 })));
        prop_assert_eq!(split, whole);
    }
}

#[test]
fn counting_keeps_only_what_a_count_needs_and_counts_the_same_records() {
    for name in [
        "vmdr/hld_page1.xml",
        "vmdr/hld_page2.xml",
        "vmdr/hld_with_info.xml",
        "vmdr/host_list_page1.xml",
    ] {
        let body = fixture(name);
        let stream = if name.contains("host_list") {
            StreamKind::VmdrAssets
        } else {
            StreamKind::VmdrVulnerabilities
        };
        let mut records = MemorySink::default();
        let parser = stream.builtin().expect("the stream is implemented");
        let full = parser
            .parse_saved(
                SavedResponse::Memory(body.as_bytes()),
                name,
                ParseMode::Records,
                &mut records,
            )
            .expect("the fixture parses");
        let mut counted = CountSink::default();
        let count = parser
            .parse_saved(
                SavedResponse::Memory(body.as_bytes()),
                name,
                ParseMode::Count,
                &mut counted,
            )
            .expect("the fixture parses");
        assert_eq!(count.records, full.records, "{name}");
        assert_eq!(count.records, records.records.len() as u64, "{name}");
        assert_eq!(counted.count, 0, "{name}: counting wrote records");
    }
}

fn parse_all<'a>(input: SavedResponse<'a>) -> Vec<serde_json::Value> {
    let mut sink = MemorySink::default();
    StreamKind::VmdrVulnerabilities
        .builtin()
        .expect("the stream is implemented")
        .parse_saved(input, "test", ParseMode::Records, &mut sink)
        .expect("the fixture parses");
    sink.records
}

/// A reader that hands out the data in chunks of the given sizes (cycling), so tokens, CDATA
/// sections and entity references straddle buffer boundaries.
pub(crate) struct Chunked<'a> {
    pub data: &'a [u8],
    pub sizes: Vec<usize>,
    pub next: usize,
    pub pos: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunked<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let size = self.sizes[self.next % self.sizes.len()];
        let end = (self.pos + size).min(self.data.len());
        Ok(&self.data[self.pos..end])
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
        self.next += 1;
    }
}
