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
            Err(e) => return Err(xml_error(reader, origin, e)),
        }
    }
}

/// Wraps a quick-xml error with its position; an input that stops inside markup is reported as a
/// truncated document because that is what a cut connection or a short file looks like.
pub fn xml_error<R>(reader: &Reader<R>, origin: &str, e: quick_xml::Error) -> Error {
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
    Error::Xml {
        origin: origin.to_string(),
        offset: reader.error_position(),
        source: e,
    }
}
