//! Invariants of the posture parser over random answers: any split of the body into chunks,
//! plain or gzip'd (and any chunking of the gzip stream), parses to the same records; mutated
//! answers (bytes flipped, cut short) never panic, and `parse --count` agrees with a full parse
//! on every input: the same count, or both an error.

use std::io::{BufRead, Read, Write};

use proptest::prelude::*;
use qualys_harness::{CountSink, MemorySink, ParseMode, SavedResponse, Stream, StreamKind};
use serde_json::{Value, json};

fn stream() -> &'static dyn Stream {
    StreamKind::PcPosture
        .builtin()
        .expect("pc-posture is built in")
}

/// A `BufRead` that hands out its input in the given chunk sizes (cycled).
struct Chunked {
    data: Vec<u8>,
    pos: usize,
    sizes: Vec<usize>,
    turn: usize,
}

impl Chunked {
    fn new(data: Vec<u8>, sizes: Vec<usize>) -> Chunked {
        Chunked {
            data,
            pos: 0,
            sizes,
            turn: 0,
        }
    }

    fn size(&self) -> usize {
        self.sizes[self.turn % self.sizes.len()].max(1)
    }
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunked {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let end = (self.pos + self.size()).min(self.data.len());
        Ok(&self.data[self.pos..end])
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
        self.turn += 1;
    }
}

fn records(input: SavedResponse<'_>) -> Result<Vec<Value>, String> {
    let mut sink = MemorySink::default();
    stream()
        .parse_saved(input, "prop", ParseMode::Records, &mut sink)
        .map(|_| sink.records)
        .map_err(|e| e.to_string())
}

fn count(input: SavedResponse<'_>) -> Result<u64, String> {
    let mut sink = CountSink::default();
    stream()
        .parse_saved(input, "prop", ParseMode::Count, &mut sink)
        .map(|s| s.records)
        .map_err(|e| e.to_string())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,:{}\\[\\]\"\\\\/é✓\n\t\u{1}]{0,24}"
}

fn posture() -> impl Strategy<Value = Value> {
    (
        1u64..u64::MAX / 2,
        1u64..10_000_000,
        prop::sample::select(vec!["Passed", "Failed", "Error"]),
        text(),
        prop::option::of(text()),
        any::<bool>(),
        prop::option::of(prop::collection::vec(text(), 0..3)),
    )
        .prop_map(
            |(id, host, status, title, rationale, id_as_text, evidence)| {
                let mut v = json!({
                    "id": if id_as_text { json!(id.to_string()) } else { json!(id) },
                    "hostId": host,
                    "policyId": "4711",
                    "policyTitle": title,
                    "rationale": rationale,
                    "status": status,
                    "criticality": {"label": "SERIOUS", "value": 3},
                    "lastEvaluatedDate": "2024-06-01T06:38:46.000+0000",
                    "unknownName": [1, {"nested": true}],
                });
                if let Some(e) = evidence {
                    v["evidence"] = json!({"actual": e});
                }
                v
            },
        )
}

fn answer() -> impl Strategy<Value = (Vec<u8>, usize)> {
    (prop::collection::vec(posture(), 0..12), any::<bool>()).prop_map(|(records, pretty)| {
        let n = records.len();
        let v = Value::Array(records);
        let text = if pretty {
            serde_json::to_vec_pretty(&v).unwrap()
        } else {
            serde_json::to_vec(&v).unwrap()
        };
        (text, n)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_chunking_of_a_plain_or_gzip_answer_parses_identically(
        (json, n) in answer(),
        sizes in prop::collection::vec(1usize..40, 1..8),
        gz_sizes in prop::collection::vec(1usize..40, 1..8),
    ) {
        let whole = records(SavedResponse::Memory(&json)).unwrap();
        prop_assert_eq!(whole.len(), n);
        let chunked = records(SavedResponse::Other(Box::new(Chunked::new(json.clone(), sizes)))).unwrap();
        prop_assert_eq!(&chunked, &whole);
        let packed = gzip(&json);
        let gz = records(SavedResponse::Other(Box::new(Chunked::new(packed, gz_sizes)))).unwrap();
        prop_assert_eq!(&gz, &whole);
    }

    #[test]
    fn mutated_answers_never_panic_and_count_agrees_with_a_full_parse(
        (json, _) in answer(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        cut_it in any::<bool>(),
        compress in any::<bool>(),
    ) {
        let mut bytes = if compress { gzip(&json) } else { json };
        if !bytes.is_empty() {
            for (at, b) in &flips {
                let i = at.index(bytes.len());
                bytes[i] = *b;
            }
            if cut_it {
                let end = cut.index(bytes.len());
                bytes.truncate(end);
            }
        }
        let full = records(SavedResponse::Memory(&bytes));
        let counted = count(SavedResponse::Memory(&bytes));
        match (&full, &counted) {
            (Ok(r), Ok(c)) => prop_assert_eq!(r.len() as u64, *c),
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "parse and count disagree: {:?} vs {:?}", full.as_ref().map(Vec::len), counted),
        }
        if let Ok(r) = &full {
            for rec in r {
                prop_assert_eq!(rec.as_object().map(|o| o.len()), Some(25));
            }
        }
    }
}
