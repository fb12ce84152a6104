//! The prolog of a Qualys response and the kind of document it announces.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::error::{Error, Result};

/// The root element of a response, which says what arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `HOST_LIST_VM_DETECTION_OUTPUT`.
    HostDetections,
    /// `HOST_LIST_OUTPUT`.
    HostList,
    /// `KNOWLEDGE_BASE_VULN_LIST_OUTPUT`.
    KnowledgeBase,
    /// `SIMPLE_RETURN`: an error (or a status) envelope, whatever the HTTP status.
    SimpleReturn,
    /// `GENERIC_RETURN`: Qualys's internal-error envelope (CODE 999 and friends).
    GenericReturn,
    /// `ServiceResponse`: every QPS answer (WAS), success or error.
    ServiceResponse,
    /// `html`: a redirect page, a proxy's error page, a maintenance page.
    Html,
    /// Anything else, by name.
    Other(String),
}

impl Root {
    fn from_name(name: &[u8]) -> Root {
        match name {
            b"HOST_LIST_VM_DETECTION_OUTPUT" => Root::HostDetections,
            b"HOST_LIST_OUTPUT" => Root::HostList,
            b"KNOWLEDGE_BASE_VULN_LIST_OUTPUT" => Root::KnowledgeBase,
            b"SIMPLE_RETURN" => Root::SimpleReturn,
            b"GENERIC_RETURN" => Root::GenericReturn,
            b"ServiceResponse" => Root::ServiceResponse,
            n if n.eq_ignore_ascii_case(b"html") => Root::Html,
            n => Root::Other(String::from_utf8_lossy(n).into_owned()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Root::HostDetections => "HOST_LIST_VM_DETECTION_OUTPUT",
            Root::HostList => "HOST_LIST_OUTPUT",
            Root::KnowledgeBase => "KNOWLEDGE_BASE_VULN_LIST_OUTPUT",
            Root::SimpleReturn => "SIMPLE_RETURN",
            Root::GenericReturn => "GENERIC_RETURN",
            Root::ServiceResponse => "ServiceResponse",
            Root::Html => "html",
            Root::Other(n) => n,
        }
    }
}

/// How deeply elements may nest below the root. Qualys documents nest about ten levels; the
/// limit keeps the parsers' stacks (and quick-xml's list of open names) from growing with a
/// hostile input's size.
pub const MAX_DEPTH: usize = 256;

/// The error for an element nested deeper than [`MAX_DEPTH`].
#[cold]
#[inline(never)]
pub fn too_deep(origin: &str, offset: u64) -> Error {
    Error::Unexpected {
        origin: origin.to_string(),
        offset,
        problem: format!(
            "elements are nested more than {MAX_DEPTH} levels deep; no Qualys document does that"
        ),
    }
}

/// Builds the reader every Qualys parser uses: empty elements expanded so `<HOST_LIST/>` reads
/// like an empty list, end names checked so a mangled document fails loudly.
pub fn reader<R: BufRead>(input: R) -> Reader<R> {
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.trim_text(false);
    reader
}

/// Reads the prolog (declaration, DOCTYPE, comments, whitespace) and returns the root element.
/// The reader is left just inside the root.
pub fn read_root<R: BufRead>(
    reader: &mut Reader<R>,
    buf: &mut Vec<u8>,
    origin: &str,
) -> Result<Root> {
    loop {
        buf.clear();
        let start = reader.buffer_position();
        match reader.read_event_into(buf) {
            Ok(Event::Start(e)) => return Ok(Root::from_name(e.name().as_ref().as_bytes())),
            Ok(Event::Eof) => {
                return Err(Error::Unexpected {
                    origin: origin.to_string(),
                    offset: reader.buffer_position(),
                    problem: "the response body is empty or holds no XML element".into(),
                });
            }
            Ok(Event::Text(t)) if t.trim_ascii().is_empty() => {}
            Ok(Event::Text(_)) => {
                return Err(Error::Unexpected {
                    origin: origin.to_string(),
                    offset: reader.buffer_position(),
                    problem: "text before the root element: the body is not an XML document".into(),
                });
            }
            Ok(_) => {}
            Err(e) => return Err(xml_error(reader, origin, e, start, buf)),
        }
    }
}

/// Wraps a quick-xml error with its position; an input that stops inside markup is reported as a
/// truncated document because that is what a cut connection or a short file looks like.
///
/// `event_start` is the reader's position before the failed `read_event_into` and `buf` what that
/// call left in its buffer (cleared before it): quick-xml does not record where invalid UTF-8
/// is, so it is found here, in the bytes of the event.
pub fn xml_error<R>(
    reader: &Reader<R>,
    origin: &str,
    e: quick_xml::Error,
    event_start: u64,
    buf: &[u8],
) -> Error {
    use quick_xml::errors::SyntaxError;
    if let quick_xml::Error::Syntax(
        SyntaxError::UnclosedCData
        | SyntaxError::UnclosedComment
        | SyntaxError::UnclosedTag
        | SyntaxError::UnclosedDoctype
        | SyntaxError::UnclosedPI
        | SyntaxError::UnclosedXmlDecl
        | SyntaxError::UnclosedSingleQuotedAttributeValue
        | SyntaxError::UnclosedDoubleQuotedAttributeValue
        | SyntaxError::InvalidBangMarkup,
    ) = e
    {
        return Error::Truncated {
            origin: origin.to_string(),
            offset: reader.buffer_position(),
        };
    }
    if let quick_xml::Error::Encoding(_) = e {
        // Markup (`<NAME>`, `</NAME>`, `<![CDATA[…]]>`) reaches the buffer without its `<`; text
        // reaches it whole. The bytes consumed beyond the buffer tell the two apart.
        let consumed = reader.buffer_position().saturating_sub(event_start);
        let markup = u64::from(consumed > buf.len() as u64);
        let valid = std::str::from_utf8(buf)
            .err()
            .map_or(0, |bad| bad.valid_up_to() as u64);
        return Error::NotUtf8 {
            origin: origin.to_string(),
            offset: event_start + markup + valid,
        };
    }
    Error::Xml {
        origin: origin.to_string(),
        offset: reader.error_position(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offset `read_root` plus a walk to the end reports for `doc`.
    fn error_offset(doc: &[u8]) -> Error {
        let mut reader = reader(doc);
        let mut buf = Vec::new();
        if let Err(e) = read_root(&mut reader, &mut buf, "t") {
            return e;
        }
        let mut walker = super::super::walker::Walker::new(reader, buf, "t");
        loop {
            match walker.next_node() {
                Ok(super::super::walker::Node::End) => panic!("the document parsed"),
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    }

    #[test]
    fn invalid_utf8_is_reported_at_the_bad_byte_wherever_it_is() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"<R><A>ok ", b" text</A></R>"),
            (b"<R><A><![CDATA[ok ", b"]]></A></R>"),
            (b"<R><A", b">x</A></R>"),
            (b"<R><A>x</A", b"></R>"),
            (b"<R><!-- ", b" --></R>"),
            (b"", b"<R/>"),
        ];
        for (before, after) in cases {
            for bad in [&b"\xff"[..], b"\xc3(", b"\xed\xa0\x80"] {
                let doc = [before, bad, after].concat();
                match error_offset(&doc) {
                    Error::NotUtf8 { offset, .. } => assert_eq!(
                        offset,
                        before.len() as u64,
                        "{:?}",
                        String::from_utf8_lossy(&doc)
                    ),
                    e => panic!("{:?}: {e}", String::from_utf8_lossy(&doc)),
                }
            }
        }
    }
}
