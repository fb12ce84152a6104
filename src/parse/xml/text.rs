//! Element text assembly.
//!
//! Since quick-xml 0.38 an element's text arrives as several events: plain text, CDATA sections
//! and entity references (`&amp;`, `&#10;`) each separately. [`TextAssembler`] appends them to a
//! field buffer, normalising `\r\n` to `\n` as XML 1.0 requires.
//!
//! Real Qualys output sometimes carries control characters that XML 1.0 forbids (qualysdk issue
//! #1, graph-qualys CHANGELOG). Rejecting the whole page would lose every record on it, so the
//! decision here is to replace each forbidden character with U+FFFD and count it; the count
//! reaches the run summary so the repair is never silent.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::BytesRef;

/// Counts of repairs made while assembling text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextStats {
    /// Characters forbidden by XML 1.0 (C0 controls other than tab, LF, CR) replaced by U+FFFD.
    pub invalid_chars_replaced: u64,
}

/// Appends text fragments to a field, tracking repairs.
#[derive(Debug, Default)]
pub struct TextAssembler {
    pub stats: TextStats,
}

impl TextAssembler {
    /// Appends raw text or CDATA content as it appeared in the document; `\r` is normalised here
    /// (XML 1.0 end-of-line handling), so callers need not normalise first.
    #[inline]
    pub fn push(&mut self, out: &mut String, fragment: &str) {
        if !needs_repair(fragment.as_bytes()) {
            out.push_str(fragment);
            return;
        }
        self.push_slow(out, fragment);
    }

    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, out: &mut String, fragment: &str) {
        let mut chars = fragment.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    // XML 1.0 end-of-line handling: "\r\n" and a lone "\r" both become "\n".
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    out.push('\n');
                }
                '\t' | '\n' => out.push(c),
                c if (c as u32) < 0x20 => {
                    self.stats.invalid_chars_replaced += 1;
                    out.push('\u{FFFD}');
                }
                c => out.push(c),
            }
        }
    }

    /// Checks a reference whose text nobody keeps (inside a skipped element) the way
    /// [`push_ref`](Self::push_ref) would, so that keeping a field or not never decides whether
    /// a document parses.
    #[inline]
    pub fn check_ref(r: &BytesRef<'_>) -> Result<(), String> {
        // The five predefined entities are nearly every reference a Qualys page holds (escaped
        // RESULTS): known by their bytes, without decoding the name.
        if matches!(&**r, "amp" | "lt" | "gt" | "quot" | "apos") {
            return Ok(());
        }
        Self::check_other_ref(r)
    }

    #[cold]
    #[inline(never)]
    fn check_other_ref(r: &BytesRef<'_>) -> Result<(), String> {
        match r.resolve_char_ref() {
            Ok(Some(_)) => Ok(()),
            Ok(None) if resolve_predefined_entity(r).is_some() => Ok(()),
            _ => Err(r.to_string()),
        }
    }

    /// Appends the expansion of an entity or character reference.
    ///
    /// Returns `Err(name)` for an entity that is neither predefined nor a valid character
    /// reference: Qualys declares no entities, so such a document is not well-formed.
    pub fn push_ref(&mut self, out: &mut String, r: &BytesRef<'_>) -> Result<(), String> {
        match r.resolve_char_ref() {
            Ok(Some(c)) => {
                let mut tmp = [0u8; 4];
                self.push(out, c.encode_utf8(&mut tmp));
                Ok(())
            }
            Ok(None) => match resolve_predefined_entity(r) {
                Some(s) => {
                    out.push_str(s);
                    Ok(())
                }
                None => Err(r.to_string()),
            },
            Err(_) => Err(r.to_string()),
        }
    }
}

/// Whether `bytes` holds a carriage return or a C0 control character other than tab and line
/// feed. This runs over every byte of every kept field (RESULTS included), so it works on
/// fixed 32-byte blocks that the compiler turns into SIMD compares.
#[inline]
fn needs_repair(bytes: &[u8]) -> bool {
    #[inline(always)]
    fn bad(b: u8) -> u8 {
        ((b < 0x20) & (b != b'\t') & (b != b'\n')) as u8
    }
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        let mut acc = 0u8;
        for &b in block {
            acc |= bad(b);
        }
        if acc != 0 {
            return true;
        }
    }
    blocks.remainder().iter().any(|&b| bad(b) != 0)
}

/// Trims XML whitespace around a scalar value.
#[inline]
pub fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r')
}

/// Returns the text with Qualys's `0`/`1` booleans read as `bool`, `None` for anything else.
#[inline]
pub fn flag(s: &str) -> Option<bool> {
    match trim(s) {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_control_characters_are_replaced_and_counted() {
        let mut t = TextAssembler::default();
        let mut out = String::new();
        t.push(&mut out, "a\u{1}b\r\nc\rd\te");
        assert_eq!(out, "a\u{FFFD}b\nc\nd\te");
        assert_eq!(t.stats.invalid_chars_replaced, 1);
    }

    #[test]
    fn references_expand_and_unknown_entities_are_rejected() {
        let mut t = TextAssembler::default();
        let mut out = String::new();
        t.push_ref(&mut out, &BytesRef::new("amp")).unwrap();
        t.push_ref(&mut out, &BytesRef::new("#x41")).unwrap();
        t.push_ref(&mut out, &BytesRef::new("#10")).unwrap();
        assert_eq!(out, "&A\n");
        assert_eq!(
            t.push_ref(&mut out, &BytesRef::new("nbsp")).unwrap_err(),
            "nbsp"
        );
    }

    #[test]
    fn a_reference_nobody_keeps_is_judged_as_one_that_is_kept() {
        for name in [
            "amp", "lt", "#x41", "#10", "nbsp", "#xD800", "#0", "", "#x", "copy",
        ] {
            let r = BytesRef::new(name);
            let kept = TextAssembler::default().push_ref(&mut String::new(), &r);
            assert_eq!(TextAssembler::check_ref(&r), kept.map(|_| ()), "&{name};");
        }
    }
}
