//! What every fuzz target checks, for one parser on any bytes:
//!
//! - it does not panic (libFuzzer reports a panic as a crash);
//! - `parse --count` and a full parse agree: the same number of records, or the same error;
//! - reading the input in small chunks (token boundaries inside the reader's buffer) changes
//!   nothing.
//!
//! The parsers are reached through the library's public `SavedKind::parse`, the entry point of
//! `qharness parse`, so the fuzzer tries exactly what a user's saved file goes through.
//! libFuzzer's `-rss_limit_mb` (2048 by default) catches memory that grows with the input.

use std::io::{BufRead, Read};

use qualys_harness::{CountSink, ParseMode, SavedKind, SavedResponse};

/// What a parse produced: a record count, or the error's message.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Records(u64),
    Failed(String),
}

fn parse(kind: SavedKind, input: SavedResponse<'_>, mode: ParseMode) -> Outcome {
    let mut sink = CountSink::default();
    match kind.parse(input, "fuzz", mode, &mut sink) {
        Ok(summary) => {
            let written = if mode == ParseMode::Records {
                summary.records
            } else {
                0
            };
            assert_eq!(sink.count, written, "records written and counted differ");
            Outcome::Records(summary.records)
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Runs the checks of the module docs for `kind` on `data`.
pub fn check(kind: SavedKind, data: &[u8]) {
    let full = parse(kind, SavedResponse::Memory(data), ParseMode::Records);
    let counted = parse(kind, SavedResponse::Memory(data), ParseMode::Count);
    assert_eq!(counted, full, "--count and a full parse disagree");
    let step = data.first().map_or(1, |b| usize::from(b % 61) + 1);
    let chunked = parse(
        kind,
        SavedResponse::Other(Box::new(Chunks { data, step, pos: 0 })),
        ParseMode::Records,
    );
    assert_eq!(chunked, full, "reading in chunks of {step} bytes changed the outcome");
}

/// A reader that hands out `step` bytes at a time.
struct Chunks<'a> {
    data: &'a [u8],
    step: usize,
    pos: usize,
}

impl Read for Chunks<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunks<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let end = (self.pos + self.step).min(self.data.len());
        Ok(&self.data[self.pos..end])
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
    }
}
