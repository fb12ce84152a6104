//! Streaming XML parsing of Qualys responses. No HTTP in here: everything reads a
//! [`std::io::BufRead`], so the same code parses a network body, a saved customer dump and a
//! benchmark's in-memory buffer.
//!
//! How the pieces fit:
//!
//! - [`document`] reads the prolog (XML declaration, DOCTYPE, comments) up to the root element
//!   and says which kind of document arrived. A 200 response can carry an error
//!   (`SIMPLE_RETURN`, `GENERIC_RETURN`) or an HTML page; callers branch on [`document::Root`].
//! - [`host_list`] is the hot path: a hand-written state machine over quick-xml events that
//!   streams `HOST_LIST_VM_DETECTION_OUTPUT` and `HOST_LIST_OUTPUT` one host at a time into
//!   reused buffers. Memory is bounded by the largest single host, never by the page.
//! - [`walker`] is a small generic path walker for the small envelopes: [`simple_return`]
//!   (FO error bodies), [`service_response`] (the head of every QPS answer: `responseCode`,
//!   error details, `hasMoreRecords`, `lastId`) and [`knowledge_base`] (KB batches of a few
//!   hundred QIDs).
//! - [`was`] reads the records of WAS answers (`WebApp`, `Finding`) after the `ServiceResponse`
//!   head, from a static table of the elements each record uses; everything else, the large
//!   `resultList` captures first, is read past without being copied.
//! - [`text`] assembles element text from quick-xml's separate text, CDATA and entity events,
//!   normalising line ends and replacing characters XML 1.0 forbids (counted, never silent).
//!
//! Errors carry the origin (endpoint and page, or file name) and the byte offset.

pub mod baseline;
pub mod document;
pub mod host_list;
pub mod knowledge_base;
#[cfg(test)]
mod memory_bounds;
pub mod service_response;
pub mod simple_return;
pub mod text;
pub mod walker;
pub mod was;

pub use host_list::{
    Capture, DetectionField, HostField, HostListKind, HostListReader, ParsedDetection, ParsedHost,
    TruncationWarning,
};
