//! What the two VMDR streams share: a Host List or Host List Detection page read from a response
//! body into a spool, with the truncation WARNING that says where the next page starts.

use super::cursor::Truncation;
use super::page_loop::Parsed;
use crate::client::body_reader::BodyReader;
use crate::client::error_reader::{ResponseFacts, fo};
use crate::error::Result;
use crate::parse::xml::text::TextStats;
use crate::parse::xml::{HostListKind, HostListReader};
use crate::sink::PageSpool;

/// One host page, parsed completely and held in a spool.
pub struct HostPage<E> {
    pub spool: PageSpool,
    pub hosts: u64,
    pub text: TextStats,
    /// Stream-specific extras (QIDs seen, drop counts).
    pub extra: E,
}

/// A parsed host page and its truncation marker.
pub type ParsedHostPage<E> = Parsed<HostPage<E>, Truncation>;

/// Opens a host list from a response body; a well-formed document of another kind (an error
/// envelope inside HTTP 200) becomes the error it carries.
pub fn open(
    body: BodyReader,
    facts: &ResponseFacts,
    kind: HostListKind,
) -> Result<HostListReader<BodyReader>> {
    match HostListReader::open(body, kind, facts.exchange.to_string())? {
        Ok(page) => Ok(page),
        Err(other) => Err(fo::from_other_document(facts, other)),
    }
}
