//! The request journal: every exchange the simulator answered, in arrival order.
//!
//! An entry is written when the request arrives and completed when the last body byte has left
//! (or the body was cut), so `bytes` is what was actually sent. Tests read it in-process through
//! [`Journal`]; anyone else reads it as NDJSON at `GET /__sim/journal` and clears it with
//! `POST /__sim/reset`. Secrets never get here: the `Authorization` header is not kept,
//! password- and token-like parameters are dropped, and request bodies are redacted the same
//! way and cut at 64 KiB (see [`super::redaction`]), so a scenario can assert on a
//! QPS `ServiceRequest` or a PCRS posture request without the journal holding a secret.

use std::sync::{Arc, Mutex};

use serde::Serialize;

#[cfg(test)]
use super::redaction::is_secret_param;

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
    /// Position since the last reset, from 0.
    pub seq: u64,
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Query and form parameters merged, in arrival order; password-like ones removed.
    pub params: Vec<(String, String)>,
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
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<JournalEntry>,
    generation: u64,
}

/// A handle on the journal; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    inner: Arc<Mutex<Inner>>,
}

/// Where an entry sits, so the transport can complete it after a reset without touching a
/// newer entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    generation: u64,
    index: usize,
}

impl Journal {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere must not hide the journal from the test that wants to read it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every entry so far.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().entries.clone()
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

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every entry.
    pub fn reset(&self) {
        let mut g = self.lock();
        g.entries.clear();
        g.generation += 1;
    }

    /// The entries as NDJSON, one object per line.
    pub fn to_ndjson(&self) -> String {
        let mut out = String::new();
        for e in self.lock().entries.iter() {
            // Serialising plain strings and numbers cannot fail.
            if let Ok(line) = serde_json::to_string(e) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    pub(crate) fn push(&self, mut entry: JournalEntry) -> Ticket {
        let mut g = self.lock();
        entry.seq = g.entries.len() as u64;
        g.entries.push(entry);
        Ticket {
            generation: g.generation,
            index: g.entries.len() - 1,
        }
    }

    pub(crate) fn complete(&self, t: Ticket, bytes: u64, completion: Completion) {
        let mut g = self.lock();
        if g.generation != t.generation {
            return;
        }
        if let Some(e) = g.entries.get_mut(t.index) {
            e.bytes = bytes;
            e.completion = completion;
        }
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
    }
}
