//! The request journal: every exchange the simulator answered, in arrival order.
//!
//! An entry is written when the request arrives and completed when the last body byte has left
//! (or the body was cut), so `bytes` is what was actually sent. Tests read it in-process through
//! [`Journal`]; anyone else reads it as NDJSON at `GET /__sim/journal` and clears it with
//! `POST /__sim/reset`. Secrets never get here: the `Authorization` header is not kept,
//! password- and token-like parameters are dropped, and request bodies are redacted the same
//! way ([`journalled_body`]) and cut at [`BODY_CAP`] bytes, so a scenario can assert on a QPS
//! `ServiceRequest` or a PCRS posture request without the journal holding a secret.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::sim::server::request::{SimRequest, is_form_body};

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
    /// The request body, redacted like the parameters and cut at [`BODY_CAP`] bytes (with a
    /// marker saying so); `None` when the request had none. Absent from the NDJSON then.
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

/// Parameter (and body field) names that are never journalled: passwords and tokens.
pub fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "passwd", "secret", "token", "jwt"]
        .iter()
        .any(|s| n.contains(s))
}

/// How much of a request body an entry keeps.
pub const BODY_CAP: usize = 64 * 1024;

/// What replaces a secret value in a journalled body.
const REDACTED: &str = "[redacted]";

/// The body of `req` as the journal keeps it, `None` when there is none.
///
/// - A form keeps its fields in the order sent, without the secret ones; a form that carries
///   a password is a login (the gateway's `/auth`) and keeps only its `username`.
/// - JSON keeps its text, unless an object has a secret-named key: then every such value is
///   `"[redacted]"` and the document is re-serialised.
/// - XML keeps its text with the content of secret-named elements replaced by `[redacted]`.
/// - Anything else that is UTF-8 is kept as is; other bytes are described, not copied.
///
/// The result is cut at [`BODY_CAP`] bytes with a marker naming the full size.
pub fn journalled_body(req: &SimRequest) -> Option<String> {
    if req.body.is_empty() {
        return None;
    }
    let content_type = req
        .header("Content-Type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return Some(format!(
            "[qharness: {} bytes of {}, not UTF-8 text]",
            req.body.len(),
            if content_type.is_empty() {
                "unlabelled data"
            } else {
                &content_type
            }
        ));
    };
    let redacted = if is_form_body(&req.method, &content_type) {
        redact_form(text)
    } else if content_type.contains("json") {
        redact_json(text)
    } else if content_type.contains("xml") || text.trim_start().starts_with('<') {
        redact_xml(text)
    } else {
        text.to_string()
    };
    Some(cap(redacted))
}

fn redact_form(text: &str) -> String {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect();
    if !fields.iter().any(|(k, _)| is_secret_param(k)) {
        return text.to_string();
    }
    let login_form = fields
        .iter()
        .any(|(k, _)| k.to_ascii_lowercase().contains("password"));
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &fields {
        let keep = if login_form {
            k == "username"
        } else {
            !is_secret_param(k)
        };
        if keep {
            out.append_pair(k, v);
        }
    }
    out.finish()
}

fn redact_json(text: &str) -> String {
    fn walk(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(map) => {
                let mut hit = false;
                for (k, v) in map.iter_mut() {
                    if is_secret_param(k) {
                        *v = serde_json::Value::String(REDACTED.into());
                        hit = true;
                    } else {
                        hit |= walk(v);
                    }
                }
                hit
            }
            serde_json::Value::Array(items) => items.iter_mut().fold(false, |h, v| walk(v) | h),
            _ => false,
        }
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut v) => {
            if walk(&mut v) {
                serde_json::to_string(&v).unwrap_or_default()
            } else {
                text.to_string()
            }
        }
        Err(_) => text.to_string(),
    }
}

fn redact_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let self_closing = after[..tag_end].ends_with('/');
        let close = format!("</{name}>");
        let secret = !name.is_empty()
            && !name.starts_with(['/', '?', '!'])
            && !self_closing
            && is_secret_param(name.rsplit(':').next().unwrap_or(name));
        match (secret, after[tag_end + 1..].find(&close)) {
            (true, Some(content_len)) => {
                out.push_str(&rest[..open + 1 + tag_end + 1]);
                out.push_str(REDACTED);
                rest = &after[tag_end + 1 + content_len..];
            }
            _ => {
                out.push_str(&rest[..open + 1 + tag_end + 1]);
                rest = &after[tag_end + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` cut at [`BODY_CAP`] bytes (on a character boundary), with a marker when cut.
fn cap(text: String) -> String {
    if text.len() <= BODY_CAP {
        return text;
    }
    let mut end = BODY_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[qharness: body cut at {end} of {} bytes]",
        &text[..end],
        text.len()
    )
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

    fn with_body(content_type: &str, body: &str) -> SimRequest {
        let mut r = SimRequest::new("POST", "/x", "http://o");
        r.headers.push(("Content-Type".into(), content_type.into()));
        r.body = bytes::Bytes::from(body.to_string());
        r
    }

    #[test]
    fn a_login_form_keeps_only_its_user_name_and_other_forms_lose_only_secrets() {
        let login = with_body(
            "application/x-www-form-urlencoded",
            "username=quays_ab1&password=hunter2&token=true&permissions=true",
        );
        assert_eq!(
            journalled_body(&login).as_deref(),
            Some("username=quays_ab1")
        );
        let form = with_body("", "action=list&ids=1%2C2&api_token=abc");
        assert_eq!(
            journalled_body(&form).as_deref(),
            Some("action=list&ids=1%2C2")
        );
        let plain = with_body("", "action=list&ids=1%2C2");
        assert_eq!(
            journalled_body(&plain).as_deref(),
            Some("action=list&ids=1%2C2"),
            "a form with nothing to hide is kept as sent"
        );
        assert_eq!(journalled_body(&SimRequest::new("GET", "/", "o")), None);
    }

    #[test]
    fn xml_and_json_bodies_keep_their_text_with_secret_values_redacted() {
        let service_request = "<ServiceRequest><filters><Criteria field=\"id\" operator=\"GREATER\">42</Criteria></filters></ServiceRequest>";
        assert_eq!(
            journalled_body(&with_body("text/xml", service_request)).as_deref(),
            Some(service_request)
        );
        let auth_record = "<ServiceRequest><data><WebAppAuthRecord><formRecord><username>u</username><password>hunter2</password></formRecord></WebAppAuthRecord></data></ServiceRequest>";
        let kept = journalled_body(&with_body("application/xml", auth_record)).unwrap();
        assert!(!kept.contains("hunter2"), "{kept}");
        assert!(
            kept.contains("<password>[redacted]</password>")
                && kept.contains("<username>u</username>")
        );

        let posture = r#"[{"policyId":"1","subscriptionId":"2","hostIds":["3","4"]}]"#;
        assert_eq!(
            journalled_body(&with_body("application/json", posture)).as_deref(),
            Some(posture)
        );
        let secret = r#"{"user":"u","credentials":{"password":"hunter2","accessToken":"t0k"}}"#;
        let kept = journalled_body(&with_body("application/json", secret)).unwrap();
        assert!(!kept.contains("hunter2") && !kept.contains("t0k"), "{kept}");
        assert!(kept.contains(r#""user":"u""#));
    }

    #[test]
    fn a_large_body_is_cut_with_a_marker_naming_its_size() {
        let big = format!("<ServiceRequest>{}</ServiceRequest>", "é".repeat(BODY_CAP));
        let kept = journalled_body(&with_body("text/xml", &big)).unwrap();
        assert!(kept.len() < BODY_CAP + 100);
        assert!(
            kept.ends_with(&format!("of {} bytes]", big.len())),
            "{}",
            &kept[kept.len() - 60..]
        );
        let mut binary = SimRequest::new("POST", "/x", "http://o");
        binary.body = bytes::Bytes::from_static(&[0x1f, 0x8b, 0xff, 0x00]);
        assert_eq!(
            journalled_body(&binary).as_deref(),
            Some("[qharness: 4 bytes of unlabelled data, not UTF-8 text]")
        );
    }
}
