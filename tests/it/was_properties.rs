//! Invariants of the WAS readers and streams over random inputs: any chunk split parses
//! identically; a mutated answer never panics and `parse --count` agrees with a full parse on
//! it (same count, or both fail); any page size yields every finding once.

use std::io::{BufRead, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use qualys_harness::{CountSink, MemorySink, ParseMode, SavedResponse, StreamKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::*;
use crate::was_kit::FINDING_SEARCH;

/// Hands out the data in chunks of the given sizes (cycling), so tags, CDATA sections and
/// entity references straddle buffer boundaries.
struct Split<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
    pos: usize,
}

impl Read for Split<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Split<'_> {
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

fn records(
    stream: StreamKind,
    input: SavedResponse<'_>,
) -> qualys_harness::Result<Vec<serde_json::Value>> {
    let mut sink = MemorySink::default();
    stream
        .builtin()
        .expect("the stream is implemented")
        .parse_saved(input, "test", ParseMode::Records, &mut sink)?;
    Ok(sink.records)
}

fn count(stream: StreamKind, input: &[u8]) -> qualys_harness::Result<u64> {
    let mut sink = CountSink::default();
    let s = stream
        .builtin()
        .expect("the stream is implemented")
        .parse_saved(
            SavedResponse::Memory(input),
            "test",
            ParseMode::Count,
            &mut sink,
        )?;
    assert_eq!(sink.count, 0, "counting wrote records");
    Ok(s.records)
}

const DOCUMENTS: [(&str, StreamKind); 3] = [
    ("was/findings_verbose.xml", StreamKind::WasFindings),
    ("was/webapps_page1.xml", StreamKind::WasAssets),
    ("was/webapps_page2.xml", StreamKind::WasAssets),
];

/// One change to a document: bytes that matter to XML put somewhere, a stretch deleted or
/// repeated, or the end cut off.
#[derive(Debug, Clone)]
enum Mutation {
    Put(usize, &'static str),
    Delete(usize, usize),
    Repeat(usize, usize),
    Cut(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop::sample::select(vec![
        "<",
        ">",
        "/",
        "&",
        ";",
        "]]>",
        "<![CDATA[",
        "&amp;",
        "&nbsp;",
        "&#0;",
        "\u{1}",
        "x",
        "9",
        "</Finding>",
        "<Finding>",
        "<id>",
        "</data>",
        "\"",
        "\u{e9}",
    ]);
    prop_oneof![
        (any::<usize>(), token).prop_map(|(at, t)| Mutation::Put(at, t)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), 1usize..80).prop_map(|(at, n)| Mutation::Repeat(at, n)),
        any::<usize>().prop_map(Mutation::Cut),
    ]
}

fn mutate(doc: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut v = doc.to_vec();
    for m in mutations {
        let len = v.len().max(1);
        match m {
            Mutation::Put(at, t) => {
                let at = at % len;
                v.splice(at..at, t.bytes());
            }
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(v.len());
                v.drain(at..end);
            }
            Mutation::Repeat(at, n) => {
                let at = at % len;
                let end = (at + n).min(v.len());
                let copy = v[at..end].to_vec();
                v.splice(end..end, copy);
            }
            Mutation::Cut(at) => v.truncate(at % len),
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_chunk_split_of_a_was_answer_parses_identically(
        doc in 0usize..DOCUMENTS.len(),
        chunks in prop::collection::vec(1usize..48, 1..40),
    ) {
        let (name, stream) = DOCUMENTS[doc];
        let body = fixture(name);
        let whole = records(stream, SavedResponse::Memory(body.as_bytes())).expect("the fixture parses");
        let split = records(stream, SavedResponse::Other(Box::new(Split {
            data: body.as_bytes(),
            sizes: chunks,
            next: 0,
            pos: 0,
        }))).expect("the split fixture parses");
        prop_assert_eq!(split, whole);
    }

    #[test]
    fn a_mutated_was_answer_never_panics_and_count_agrees_with_the_full_parse(
        doc in 0usize..DOCUMENTS.len(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let (name, stream) = DOCUMENTS[doc];
        let input = mutate(fixture(name).as_bytes(), &mutations);
        let full = catch_unwind(AssertUnwindSafe(|| records(stream, SavedResponse::Memory(&input))));
        let counted = catch_unwind(AssertUnwindSafe(|| count(stream, &input)));
        let (Ok(full), Ok(counted)) = (full, counted) else {
            return Err(TestCaseError::fail(format!(
                "a parser panicked on {}",
                String::from_utf8_lossy(&input)
            )));
        };
        match (full, counted) {
            (Ok(r), Ok(n)) => prop_assert_eq!(r.len() as u64, n),
            (Err(_), Err(_)) => {}
            (full, counted) => prop_assert!(
                false,
                "full parse {:?} but count {:?} on {}",
                full.map(|r| r.len()),
                counted,
                String::from_utf8_lossy(&input)
            ),
        }
    }
}

/// Answers finding searches over `ids` with pages of the request's `limitResults`, honouring
/// `id GREATER`, in the recorded layout (lastId only while more follow).
struct FindingPager {
    ids: Vec<u64>,
}

impl Respond for FindingPager {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body);
        let between = |a: &str, b: &str| {
            body.split(a)
                .nth(1)
                .and_then(|r| r.split(b).next())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let limit = between("<limitResults>", "<").unwrap_or(100) as usize;
        let after = between("operator=\"GREATER\">", "<").unwrap_or(0);
        let rest: Vec<u64> = self.ids.iter().copied().filter(|&i| i > after).collect();
        let page = &rest[..rest.len().min(limit)];
        if page.is_empty() {
            return ResponseTemplate::new(200).set_body_raw(
                "<ServiceResponse><responseCode>SUCCESS</responseCode><count>0</count></ServiceResponse>",
                "application/xml",
            );
        }
        let more = rest.len() > limit;
        let mut xml = format!(
            "<ServiceResponse><responseCode>SUCCESS</responseCode><count>{}</count><hasMoreRecords>{more}</hasMoreRecords>",
            page.len()
        );
        if more {
            xml.push_str(&format!("<lastId>{}</lastId>", page[page.len() - 1]));
        }
        xml.push_str("<data>");
        for id in page {
            xml.push_str(&format!(
                "<Finding><id>{id}</id><type>INFORMATION_GATHERED</type><resultList><count>1</count><list><Result><payloads><list><PayloadInstance><response><![CDATA[<p>{id} ]]]]><![CDATA[></p>]]></response></PayloadInstance></list></payloads></Result></list></resultList><webApp><id>7</id></webApp></Finding>"
            ));
        }
        xml.push_str("</data></ServiceResponse>");
        ResponseTemplate::new(200).set_body_raw(xml, "application/xml")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_page_size_yields_every_finding_once_in_order(
        ids in prop::collection::btree_set(1u64..100_000, 0..40),
        page_size in 1i64..9,
    ) {
        let ids: Vec<u64> = ids.into_iter().collect();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (got, pages) = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path(FINDING_SEARCH))
                .respond_with(FindingPager { ids: ids.clone() })
                .mount(&server)
                .await;
            let mut s = settings(&server.uri(), StreamKind::WasFindings);
            s.was.page_size = Some(page_size);
            let run = run(s).await;
            let got: Vec<u64> = run.records.iter().map(|r| r["finding_id"].as_u64().unwrap()).collect();
            (got, run.summary().pages)
        });
        prop_assert_eq!(got, ids.clone());
        let expected_pages = (ids.len() as u64).div_ceil(page_size as u64).max(1);
        prop_assert_eq!(pages, expected_pages);
    }
}
