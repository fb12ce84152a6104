//! Writing XML into a byte buffer: the primitives every rendered document shares (FO list pages,
//! `SIMPLE_RETURN`, QPS `ServiceResponse`).
//!
//! Every function appends to a caller's `Vec<u8>`, so a page is rendered element by element
//! into a reused buffer that the transport sends in large chunks, never built as one string.
//! Indentation is two spaces per level, as in the recorded responses.

use crate::sim::timestamp::Timestamp;

/// Appends the XML declaration and DOCTYPE.
pub fn prologue(out: &mut Vec<u8>, root: &str, origin: &str, dtd_path: &str) {
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE ");
    out.extend_from_slice(root.as_bytes());
    out.extend_from_slice(b" SYSTEM \"");
    out.extend_from_slice(origin.as_bytes());
    out.extend_from_slice(dtd_path.as_bytes());
    out.extend_from_slice(b"\">\n");
}

/// Two spaces per level, as Qualys indents.
pub fn indent(out: &mut Vec<u8>, depth: usize) {
    const SPACES: &[u8; 32] = b"                                ";
    out.extend_from_slice(&SPACES[..(depth * 2).min(32)]);
}

/// `<NAME>` on a line of its own.
pub fn open(out: &mut Vec<u8>, depth: usize, name: &str) {
    indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b">\n");
}

/// `</NAME>` on a line of its own.
pub fn close(out: &mut Vec<u8>, depth: usize, name: &str) {
    indent(out, depth);
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b">\n");
}

/// `<NAME>` at `depth`, leaving the element open on the same line.
pub fn start(out: &mut Vec<u8>, depth: usize, name: &str) {
    indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

/// `</NAME>` and a line break.
pub fn end(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b">\n");
}

/// `<NAME>value</NAME>` for text that needs no escaping (numbers, enums, dates).
pub fn leaf_raw(out: &mut Vec<u8>, depth: usize, name: &str, value: &[u8]) {
    start(out, depth, name);
    out.extend_from_slice(value);
    end(out, name);
}

pub fn leaf_u64(out: &mut Vec<u8>, depth: usize, name: &str, v: u64) {
    let mut b = itoa::Buffer::new();
    leaf_raw(out, depth, name, b.format(v).as_bytes());
}

pub fn leaf_time(out: &mut Vec<u8>, depth: usize, name: &str, t: Timestamp) {
    leaf_raw(out, depth, name, &t.to_wire());
}

pub fn leaf_bool(out: &mut Vec<u8>, depth: usize, name: &str, v: bool) {
    leaf_raw(out, depth, name, if v { b"1" } else { b"0" });
}

/// `<NAME>escaped text</NAME>`.
pub fn leaf_text(out: &mut Vec<u8>, depth: usize, name: &str, text: &str) {
    start(out, depth, name);
    escape_into(out, text);
    end(out, name);
}

/// `<NAME><![CDATA[text]]></NAME>`.
pub fn leaf_cdata(out: &mut Vec<u8>, depth: usize, name: &str, text: &str) {
    start(out, depth, name);
    cdata_into(out, text);
    end(out, name);
}

/// Writes `text` as one or more CDATA sections (a literal `]]>` is split across two).
pub fn cdata_into(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"<![CDATA[");
    let mut rest = text.as_bytes();
    while let Some(at) = memchr::memmem::find(rest, b"]]>") {
        out.extend_from_slice(&rest[..at + 2]);
        out.extend_from_slice(b"]]><![CDATA[");
        rest = &rest[at + 2..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(b"]]>");
}

/// Escapes the five XML special characters, as Qualys does in escaped RESULTS.
pub fn escape_into(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut from = 0;
    for (i, b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&apos;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        out.extend_from_slice(rep);
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

/// Escapes `text` into a new string.
pub fn escape(text: &str) -> String {
    let mut v = Vec::with_capacity(text.len() + 16);
    escape_into(&mut v, text);
    // Escaping only replaces ASCII bytes, so UTF-8 stays valid.
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdata_splits_a_literal_terminator_so_the_text_survives() {
        let mut out = Vec::new();
        cdata_into(&mut out, "a]]>b");
        assert_eq!(out, b"<![CDATA[a]]]]><![CDATA[>b]]>");
    }

    #[test]
    fn escaping_covers_the_five_entities_qualys_uses() {
        assert_eq!(
            escape("<a href=\"x\">it's & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;it&apos;s &amp; co&lt;/a&gt;"
        );
    }
}
