//! Streaming redaction of JSON bodies (the gateway's PCRS answers): a byte-level scanner that
//! copies structure and numbers as they are and replaces string values by the rule of their key.
//! Memory is bounded by the longest single string, not by the document, so a posture answer of
//! gigabytes streams through. Under a free-text key, every string of the value (an evidence
//! object or list included) becomes a placeholder.
//!
//! Input that stops being JSON is copied on with the generic scan.

use std::io::{BufRead, Write};

use super::pseudonyms::Pseudonyms;
use super::rules::{Rule, lookup};
use super::scrub::{apply, scan};
use super::{Kind, RedactOptions};

/// Redacts the JSON read from `input` into `out`.
pub fn redact<R: BufRead, W: Write>(
    mut input: R,
    out: &mut W,
    table: &[(&str, Rule)],
    p: &mut Pseudonyms,
    opts: &RedactOptions,
) -> std::io::Result<()> {
    // Per open container: is it an object, and (for objects) the key of the value being read
    // and whether the next string is a key.
    struct Level {
        object: bool,
        key: Option<String>,
        expect_key: bool,
    }
    let mut stack: Vec<Level> = Vec::new();
    let mut free_from: Option<usize> = None;
    let mut string = Vec::new();
    loop {
        let (consumed, stop) = {
            let buf = input.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let mut i = 0;
            let mut stop = Stop::End;
            while i < buf.len() {
                let b = buf[i];
                match b {
                    b'"' => {
                        stop = Stop::Quote;
                        break;
                    }
                    b'{' | b'[' => {
                        let parent_key = stack.last().and_then(|l| l.key.clone());
                        if free_from.is_none()
                            && !opts.keep_results
                            && parent_key.as_deref().and_then(|k| lookup(table, None, k))
                                == Some(Rule::FreeText)
                        {
                            free_from = Some(stack.len() + 1);
                        }
                        stack.push(Level {
                            object: b == b'{',
                            key: None,
                            expect_key: b == b'{',
                        });
                    }
                    b'}' | b']' => {
                        if free_from.is_some_and(|d| d >= stack.len()) {
                            free_from = None;
                        }
                        stack.pop();
                    }
                    b',' => {
                        if let Some(l) = stack.last_mut()
                            && l.object
                        {
                            l.expect_key = true;
                            l.key = None;
                        }
                    }
                    b':' | b' ' | b'\n' | b'\r' | b'\t' => {}
                    b'-'
                    | b'0'..=b'9'
                    | b'.'
                    | b'e'
                    | b'E'
                    | b'+'
                    | b't'
                    | b'r'
                    | b'u'
                    | b'f'
                    | b'a'
                    | b'l'
                    | b's'
                    | b'n' => {
                        // Numbers and literals pass through, except a subscription id written
                        // as a number.
                        let key = stack.last().and_then(|l| l.key.as_deref());
                        if b.is_ascii_digit()
                            && key.and_then(|k| lookup(table, None, k))
                                == Some(Rule::Map(Kind::Subscription))
                        {
                            stop = Stop::Number;
                            break;
                        }
                    }
                    _ => {
                        stop = Stop::NotJson;
                        break;
                    }
                }
                out.write_all(&buf[i..=i])?;
                i += 1;
            }
            (i, stop)
        };
        input.consume(consumed);
        match stop {
            Stop::NotJson => return super::text_stream::scrub_stream(input, out, p),
            Stop::Number => {
                let mut digits = Vec::new();
                loop {
                    let buf = input.fill_buf()?;
                    let n = buf.iter().take_while(|c| c.is_ascii_digit()).count();
                    digits.extend_from_slice(&buf[..n]);
                    let more = n == buf.len() && !buf.is_empty();
                    input.consume(n);
                    if !more {
                        break;
                    }
                }
                let n = String::from_utf8_lossy(&digits).into_owned();
                out.write_all(p.map(Kind::Subscription, &n).as_bytes())?;
                continue;
            }
            Stop::Quote | Stop::End => {}
        }
        let Some(&b'"') = input.fill_buf()?.first() else {
            continue;
        };
        input.consume(1);
        string.clear();
        if !read_string(&mut input, &mut string)? {
            out.write_all(b"\"")?;
            out.write_all(&string)?;
            return Ok(());
        }
        let raw = String::from_utf8_lossy(&string).into_owned();
        let level = stack.last_mut();
        let is_key = level.as_ref().is_some_and(|l| l.object && l.expect_key);
        if is_key {
            if let Some(l) = level {
                l.key = serde_json::from_str::<String>(&format!("\"{raw}\"")).ok();
                l.expect_key = false;
            }
            out.write_all(b"\"")?;
            out.write_all(raw.as_bytes())?;
            out.write_all(b"\"")?;
            continue;
        }
        let value: String =
            serde_json::from_str(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.clone());
        let key = stack.last().and_then(|l| l.key.clone());
        let mapped = if free_from.is_some() {
            p.map(Kind::FreeText, &value)
        } else {
            match key.as_deref().and_then(|k| lookup(table, None, k)) {
                Some(rule) => apply(p, rule, &value, opts),
                None => scan(p, &value).into_owned(),
            }
        };
        if mapped == value {
            out.write_all(b"\"")?;
            out.write_all(raw.as_bytes())?;
            out.write_all(b"\"")?;
        } else {
            serde_json::to_writer(&mut *out, &mapped)?;
        }
    }
}

/// Why the scan of a buffer stopped.
enum Stop {
    /// The buffer is used up.
    End,
    /// A string starts.
    Quote,
    /// A subscription id written as a number starts.
    Number,
    /// Not JSON.
    NotJson,
}

/// Reads a JSON string's raw content up to its closing quote (consumed, not stored); false
/// when the input ended first.
fn read_string<R: BufRead>(input: &mut R, out: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut escaped = false;
    loop {
        let (used, closed) = {
            let buf = input.fill_buf()?;
            if buf.is_empty() {
                return Ok(false);
            }
            let mut closed = false;
            let mut i = 0;
            while i < buf.len() {
                let b = buf[i];
                i += 1;
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    closed = true;
                    break;
                }
                out.push(b);
            }
            (i, closed)
        };
        input.consume(used);
        if closed {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::rules::PCRS_JSON;

    fn run(json: &str, chunk: usize) -> String {
        let mut p = Pseudonyms::for_user(Some("quays_ab1"));
        let mut out = Vec::new();
        let input = std::io::BufReader::with_capacity(chunk, json.as_bytes());
        redact(
            input,
            &mut out,
            PCRS_JSON,
            &mut p,
            &RedactOptions::default(),
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn posture_records_lose_subscription_hosts_and_evidence_in_any_chunking() {
        let json = r#"[{"id": 1, "subscriptionId": "7123456", "policyId": 99, "netBios": "WEB01",
 "ip": "10.0.0.5", "dns": "web01.acme.test", "status": "Failed", "hostId": 1234,
 "evidence": {"lines": ["uid=0 \"root\"", "x"]}, "controlStatement": "Ensure a \u0041 b"},
 {"subscriptionId": 7123456, "createdBy": "jane.doe@acme.test", "locked": 0, "ok": true}]"#;
        let want = r#"[{"id": 1, "subscriptionId": "9000001", "policyId": 99, "netBios": "HOST1",
 "ip": "192.0.2.1", "dns": "host1.example.com", "status": "Failed", "hostId": 1234,
 "evidence": {"lines": ["xxxxx xxxxxx", "x"]}, "controlStatement": "Ensure a \u0041 b"},
 {"subscriptionId": 9000001, "createdBy": "Owner 1", "locked": 0, "ok": true}]"#;
        let got = run(json, 8192);
        assert_eq!(got, want);
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(run(json, chunk), got, "chunk {chunk}");
        }
        let parsed: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(parsed[0]["evidence"]["lines"][0], "xxxxx xxxxxx");
    }
}
