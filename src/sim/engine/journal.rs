//! The request journal: every exchange the simulator answered, in arrival order, in a bounded
//! ring.
//!
//! An entry is written when the request arrives and completed when the last body byte has left
//! (or the body was cut), so `bytes` is what was actually sent. Tests read it in-process through
//! [`Journal`]; anyone else streams it as NDJSON from the admin API (`GET /__sim/journal`,
//! `since=N` for the entries from sequence number N on) and clears it with `POST /__sim/reset`.
//!
//! Secrets never get here: the `Authorization` header is not kept, password- and token-like
//! parameters are dropped, and request bodies are redacted the same way (see
//! [`super::redaction`]), so a scenario can assert on a QPS `ServiceRequest` or a PCRS posture
//! request without the journal holding a secret.
//!
//! Memory is bounded twice over. Each entry is bounded: the body is cut at
//! [`BODY_CAP`](super::redaction::BODY_CAP), each parameter value at [`PARAM_VALUE_CAP`], all
//! the parameters of one entry at [`PARAMS_CAP`] (further ones are counted in
//! `params_dropped`), the path and header values at [`TEXT_CAP`]. And the journal is a ring
//! ([`JournalLimits`]): past its number of entries or stored bytes the oldest entries are
//! dropped and counted ([`Journal::dropped`]). Sequence numbers keep counting, so a reader that
//! asks `since=N` learns from the first sequence number it gets that entries were dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::qualys::endpoint::EndpointScope;
use crate::sim::server::response::{CHUNK_TARGET, ChunkSource};

#[cfg(test)]
use super::redaction::is_secret_param;

/// The longest parameter value an entry keeps; longer ones are cut, with a marker naming the
/// full length. 16 KiB holds a KnowledgeBase `ids` list of 1,000 QIDs.
pub const PARAM_VALUE_CAP: usize = 16 * 1024;

/// The most bytes of parameters (names, values and their bookkeeping) one entry keeps; the
/// parameters after that are counted in [`JournalEntry::params_dropped`], not kept.
pub const PARAMS_CAP: usize = 64 * 1024;

/// The longest path or header value an entry keeps.
pub const TEXT_CAP: usize = 2 * 1024;

/// What an entry costs besides its text (the struct, vector and string headers), for the
/// ring's byte bound.
const ENTRY_OVERHEAD: usize = 256;

/// What a name-value pair costs besides its text (two string headers and their allocations).
const PAIR_OVERHEAD: usize = 48;

/// How much the journal keeps: the oldest entries are dropped past either bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalLimits {
    /// Entries kept (default 100,000).
    pub max_entries: usize,
    /// Bytes of entries kept, as estimated from their text (default 64 MiB).
    pub max_bytes: usize,
}

impl Default for JournalLimits {
    /// 100,000 entries or 64 MiB: a whole conformance run of a connector, many times over, in
    /// memory a CI machine does not notice.
    fn default() -> Self {
        JournalLimits {
            max_entries: 100_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How far the body of an exchange got: still sending, sent in full, cut by a fault, or
/// abandoned by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// Still being sent.
    InProgress,
    /// Every byte was sent.
    Complete,
    /// A fault ended the body early (truncate, disconnect).
    CutByFault,
    /// The client went away before the end.
    ClientGone,
}

/// One journalled exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// Position since the last reset, from 0. It keeps counting when the ring drops old
    /// entries, so it is what `GET /__sim/journal?since=N` is about.
    pub seq: u64,
    pub method: String,
    /// Path without the query string (cut at `TEXT_CAP` bytes).
    pub path: String,
    /// Query and form parameters merged, in arrival order; password-like ones removed; values
    /// cut at [`PARAM_VALUE_CAP`] bytes, at most [`PARAMS_CAP`] bytes in all.
    pub params: Vec<(String, String)>,
    /// Parameters not kept because the entry's parameters reached [`PARAMS_CAP`].
    #[serde(skip_serializing_if = "is_zero")]
    pub params_dropped: u64,
    /// The Basic-auth user name, whether or not the login succeeded.
    pub user: Option<String>,
    /// Selected request headers (`X-Requested-With`, `Content-Type`, `User-Agent`); never
    /// `Authorization`.
    pub headers: Vec<(String, String)>,
    pub status: u16,
    /// Response body bytes actually sent.
    pub bytes: u64,
    /// Serialised as `outcome`, the key the NDJSON journal has always used.
    #[serde(rename = "outcome")]
    pub completion: Completion,
    /// The faults applied, by kind.
    pub faults: Vec<String>,
    /// `model`, `replay:<fixture name>`, `unmatched` or `web-server` (301, 404).
    pub source: String,
    /// The request body, redacted like the parameters and cut at
    /// [`BODY_CAP`](super::redaction::BODY_CAP) bytes (with a marker saying so); `None` when
    /// the request had none. Absent from the NDJSON then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl JournalEntry {
    /// The last value of a parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A journalled request header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a fault cut the body short.
    pub fn cut(&self) -> bool {
        self.completion == Completion::CutByFault
    }

    /// The bytes this entry holds, as the ring counts them: its text plus a fixed overhead.
    pub fn stored_bytes(&self) -> usize {
        let pairs = |v: &[(String, String)]| -> usize {
            v.iter()
                .map(|(k, v)| k.len() + v.len() + PAIR_OVERHEAD)
                .sum()
        };
        ENTRY_OVERHEAD
            + self.method.len()
            + self.path.len()
            + pairs(&self.params)
            + self.user.as_ref().map_or(0, String::len)
            + pairs(&self.headers)
            + self.faults.iter().map(|f| f.len() + 24).sum::<usize>()
            + self.source.len()
            + self.body.as_ref().map_or(0, String::len)
    }

    /// Cuts what an entry keeps to the per-entry bounds (parameters are bounded when they are
    /// collected, see [`keep_params`]).
    fn bound(&mut self) {
        cut_in_place(&mut self.path, TEXT_CAP);
        for (_, v) in &mut self.headers {
            cut_in_place(v, TEXT_CAP);
        }
        if let Some(u) = &mut self.user {
            cut_in_place(u, TEXT_CAP);
        }
    }
}

/// `text` cut at `cap` bytes (on a character boundary), with a marker naming its full length.
pub fn cut_text(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_string();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}[qharness: cut at {end} of {} bytes]",
        &text[..end],
        text.len()
    )
}

fn cut_in_place(text: &mut String, cap: usize) {
    if text.len() > cap {
        *text = cut_text(text, cap);
    }
}

/// The parameters an entry keeps out of `params`: every value cut at [`PARAM_VALUE_CAP`] and
/// at most [`PARAMS_CAP`] bytes in all (a pair's overhead counted, so ten thousand empty
/// fields cost as much as their bytes suggest), copying no more than that; and the number
/// left out.
pub fn keep_params<'a>(
    params: impl Iterator<Item = (&'a str, &'a str)>,
) -> (Vec<(String, String)>, u64) {
    let mut kept = Vec::new();
    let mut bytes = 0usize;
    let mut dropped = 0u64;
    for (k, v) in params {
        let cost = k.len().min(TEXT_CAP) + v.len().min(PARAM_VALUE_CAP + 64) + PAIR_OVERHEAD;
        if bytes + cost > PARAMS_CAP {
            dropped += 1;
            continue;
        }
        bytes += cost;
        kept.push((cut_text(k, TEXT_CAP), cut_text(v, PARAM_VALUE_CAP)));
    }
    (kept, dropped)
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<JournalEntry>,
    /// The sequence number of `entries[0]`.
    first_seq: u64,
    /// The sequence number the next entry gets.
    next_seq: u64,
    /// The sum of the entries' [`JournalEntry::stored_bytes`].
    bytes: usize,
    /// Entries dropped from the front since the last reset.
    dropped: u64,
    generation: u64,
    limits: JournalLimits,
}

impl Ring {
    fn get(&self, seq: u64) -> Option<&JournalEntry> {
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.entries.get(index)
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut JournalEntry> {
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.entries.get_mut(index)
    }

    /// Drops the oldest entries until both bounds hold; the newest entry always stays.
    fn evict(&mut self) {
        while self.entries.len() > 1
            && (self.entries.len() > self.limits.max_entries || self.bytes > self.limits.max_bytes)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes = self.bytes.saturating_sub(old.stored_bytes());
                self.first_seq += 1;
                self.dropped += 1;
            }
        }
    }
}

/// A handle on the journal; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    inner: Arc<Mutex<Ring>>,
}

/// Where an entry sits, so the transport can complete it after a reset without touching a
/// newer entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    generation: u64,
    seq: u64,
}

/// What the journal holds right now, for `GET /__sim/health` and the journal's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JournalStats {
    /// Entries kept.
    pub entries: usize,
    /// The sequence number of the oldest entry kept.
    pub first: u64,
    /// The sequence number the next entry gets: `since=` this to read only newer ones.
    pub next: u64,
    /// Entries dropped by the ring since the last reset.
    pub dropped: u64,
    /// Bytes the kept entries hold (estimated from their text).
    pub bytes: usize,
    pub max_entries: usize,
    pub max_bytes: usize,
}

impl Journal {
    /// An empty journal bounded by `limits`.
    pub fn with_limits(limits: JournalLimits) -> Journal {
        Journal {
            inner: Arc::new(Mutex::new(Ring {
                limits,
                ..Ring::default()
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic elsewhere must not hide the journal from the test that wants to read it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every entry kept.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// The entries kept whose sequence number is `since` or later.
    pub fn entries_since(&self, since: u64) -> Vec<JournalEntry> {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.seq >= since)
            .cloned()
            .collect()
    }

    /// Entries whose path ends with `suffix`, e.g. `"/fo/asset/host/vm/detection/"`.
    pub fn entries_for(&self, suffix: &str) -> Vec<JournalEntry> {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.path.ends_with(suffix))
            .cloned()
            .collect()
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries the ring dropped since the last reset.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Bytes the kept entries hold, as the ring counts them.
    pub fn stored_bytes(&self) -> usize {
        self.lock().bytes
    }

    pub fn stats(&self) -> JournalStats {
        let g = self.lock();
        JournalStats {
            entries: g.entries.len(),
            first: g.first_seq,
            next: g.next_seq,
            dropped: g.dropped,
            bytes: g.bytes,
            max_entries: g.limits.max_entries,
            max_bytes: g.limits.max_bytes,
        }
    }

    /// Forgets every entry; sequence numbers start again at 0.
    pub fn reset(&self) {
        let mut g = self.lock();
        let limits = g.limits;
        let generation = g.generation + 1;
        *g = Ring {
            generation,
            limits,
            ..Ring::default()
        };
    }

    /// The entries as NDJSON, one object per line, in memory. Over HTTP the journal is
    /// streamed instead (`JournalStream`).
    pub fn to_ndjson(&self) -> String {
        let mut out = Vec::new();
        let mut all = self.stream(0, EndpointScope::Any);
        while let Ok(true) = all.fill(&mut out) {}
        String::from_utf8(out).unwrap_or_default()
    }

    /// A streamed NDJSON rendering of the entries from sequence number `since` on that are in
    /// `scope`, up to the last one journalled now (an entry arriving while it streams is left
    /// for the next read).
    pub fn stream(&self, since: u64, scope: EndpointScope) -> JournalStream {
        let g = self.lock();
        JournalStream {
            journal: self.clone(),
            next: since,
            end: g.next_seq,
            generation: g.generation,
            scope,
        }
    }

    pub(crate) fn push(&self, mut entry: JournalEntry) -> Ticket {
        entry.bound();
        let mut g = self.lock();
        entry.seq = g.next_seq;
        g.next_seq += 1;
        g.bytes += entry.stored_bytes();
        g.entries.push_back(entry);
        g.evict();
        Ticket {
            generation: g.generation,
            seq: g.next_seq - 1,
        }
    }

    pub(crate) fn complete(&self, t: Ticket, bytes: u64, completion: Completion) {
        let mut g = self.lock();
        if g.generation != t.generation {
            return;
        }
        if let Some(e) = g.get_mut(t.seq) {
            e.bytes = bytes;
            e.completion = completion;
        }
    }
}

/// The journal as NDJSON, rendered a chunk at a time while it is sent, so reading a large
/// journal costs a chunk of memory, not a copy of the journal. A reset while it streams ends
/// it.
pub struct JournalStream {
    journal: Journal,
    next: u64,
    end: u64,
    generation: u64,
    scope: EndpointScope,
}

impl ChunkSource for JournalStream {
    fn fill(&mut self, out: &mut Vec<u8>) -> std::io::Result<bool> {
        let g = self.journal.lock();
        if g.generation != self.generation {
            return Ok(false);
        }
        // Entries the ring dropped meanwhile are skipped.
        self.next = self.next.max(g.first_seq);
        let start = out.len();
        while self.next < self.end && out.len() - start < CHUNK_TARGET {
            let Some(e) = g.get(self.next) else {
                return Ok(false);
            };
            self.next += 1;
            if self.scope.covers_path(&e.path) {
                serde_json::to_writer(&mut *out, e).map_err(std::io::Error::other)?;
                out.push(b'\n');
            }
        }
        Ok(self.next < self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> JournalEntry {
        JournalEntry {
            seq: 0,
            method: "GET".into(),
            path: "/api/2.0/fo/asset/host/".into(),
            params: vec![("action".into(), "list".into())],
            params_dropped: 0,
            user: Some("u".into()),
            headers: vec![("X-Requested-With".into(), "t".into())],
            status: 200,
            bytes: 0,
            completion: Completion::InProgress,
            faults: vec![],
            source: "model".into(),
            body: None,
        }
    }

    #[test]
    fn a_completion_after_reset_does_not_touch_newer_entries() {
        let j = Journal::default();
        let t = j.push(entry());
        j.reset();
        j.push(entry());
        j.complete(t, 99, Completion::Complete);
        assert_eq!(j.entries()[0].bytes, 0);
        assert_eq!(j.entries()[0].completion, Completion::InProgress);
    }

    #[test]
    fn ndjson_has_one_line_per_entry_and_helpers_find_fields() {
        let j = Journal::default();
        let t = j.push(entry());
        j.complete(t, 10, Completion::Complete);
        j.push(entry());
        assert_eq!(j.to_ndjson().lines().count(), 2);
        let e = &j.entries_for("/asset/host/")[0];
        assert_eq!(e.param("action"), Some("list"));
        assert_eq!(e.header("x-requested-with"), Some("t"));
        assert!(is_secret_param("Password") && !is_secret_param("action"));
        assert!(
            !j.to_ndjson().contains("\"body\""),
            "no key for a bodiless request"
        );
        assert!(!j.to_ndjson().contains("params_dropped"));
    }

    #[test]
    fn the_ring_drops_the_oldest_entries_counts_them_and_keeps_sequence_numbers() {
        let j = Journal::with_limits(JournalLimits {
            max_entries: 3,
            max_bytes: usize::MAX,
        });
        let tickets: Vec<Ticket> = (0..5).map(|_| j.push(entry())).collect();
        assert_eq!(j.len(), 3);
        assert_eq!(j.dropped(), 2);
        let seqs: Vec<u64> = j.entries().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![2, 3, 4]);
        // A dropped entry's completion is a no-op; a kept one's lands on the right entry.
        j.complete(tickets[0], 7, Completion::Complete);
        j.complete(tickets[3], 9, Completion::Complete);
        assert_eq!(j.entries()[1].bytes, 9);
        assert_eq!(j.entries_since(4).len(), 1);
        let stats = j.stats();
        assert_eq!((stats.first, stats.next, stats.dropped), (2, 5, 2));
        j.reset();
        assert_eq!((j.dropped(), j.push(entry()).seq), (0, 0));
    }

    #[test]
    fn the_ring_also_drops_by_stored_bytes_but_always_keeps_the_newest_entry() {
        let one = {
            let mut e = entry();
            e.bound();
            e.stored_bytes()
        };
        let j = Journal::with_limits(JournalLimits {
            max_entries: 1000,
            max_bytes: one * 2,
        });
        for _ in 0..10 {
            j.push(entry());
        }
        assert_eq!(j.len(), 2);
        assert!(j.stored_bytes() <= one * 2);
        let tiny = Journal::with_limits(JournalLimits {
            max_entries: 1000,
            max_bytes: 1,
        });
        tiny.push(entry());
        assert_eq!(tiny.len(), 1, "the newest entry stays whatever its size");
    }

    #[test]
    fn parameters_are_cut_per_value_and_per_entry() {
        let huge = "x".repeat(PARAM_VALUE_CAP * 3);
        let many: Vec<(String, String)> =
            (0..100).map(|i| (format!("p{i}"), huge.clone())).collect();
        let (kept, dropped) = keep_params(many.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let total: usize = kept.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(total <= PARAMS_CAP, "{total}");
        assert!(kept.iter().all(|(_, v)| v.len() < PARAM_VALUE_CAP + 64));
        assert!(kept[0].1.ends_with(&format!("of {} bytes]", huge.len())));
        assert_eq!(kept.len() as u64 + dropped, 100);
        assert!(dropped > 90);
    }

    #[test]
    fn a_stream_renders_from_since_filters_by_endpoint_and_stops_at_a_reset() {
        let j = Journal::default();
        for i in 0..6 {
            let mut e = entry();
            if i % 2 == 1 {
                e.path = "/api/2.0/fo/knowledge_base/vuln/".into();
            }
            j.push(e);
        }
        let read = |mut s: JournalStream| {
            let mut out = Vec::new();
            while s.fill(&mut out).unwrap() {}
            String::from_utf8(out).unwrap()
        };
        let kb = EndpointScope::parse("knowledge_base").unwrap();
        let text = read(j.stream(2, kb));
        let seqs: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, vec![3, 5]);
        let mut s = j.stream(0, EndpointScope::Any);
        j.push(entry());
        j.reset();
        let mut out = Vec::new();
        assert!(!s.fill(&mut out).unwrap());
        assert!(out.is_empty(), "a reset ends the stream");
    }
}
