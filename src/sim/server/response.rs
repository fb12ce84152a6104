//! `SimResponse`: what the engine answers, before the transport sends it.
//!
//! A body is either bytes already in hand or a [`ChunkSource`] that renders the next stretch of
//! the document each time it is asked. The transport pulls a source on a blocking thread and
//! sends each chunk as it comes, so a page of gigabytes streams in bounded memory.

use std::io::Read;

use bytes::Bytes;

use crate::sim::engine::fault::Delivery;
use crate::sim::engine::journal::Ticket;
use crate::sim::engine::limits::RunningGuard;

/// The content types the simulator sends, as Qualys spells them.
pub mod content_type {
    pub const XML: &str = "application/xml";
    /// What Qualys sends on login and account errors and KnowledgeBase pages (recorded).
    pub const XML_UTF8: &str = "text/xml;charset=UTF-8";
    pub const HTML: &str = "text/html; charset=iso-8859-1";
    pub const TEXT: &str = "text/plain; charset=utf-8";
    pub const JSON: &str = "application/json";
    pub const NDJSON: &str = "application/x-ndjson";
}

/// Size the sources aim for per `fill` call.
pub const CHUNK_TARGET: usize = 256 * 1024;

/// Produces a body incrementally.
pub trait ChunkSource: Send + 'static {
    /// Appends the next part of the body to `out` (about [`CHUNK_TARGET`] bytes) and returns
    /// whether more remains.
    fn fill(&mut self, out: &mut Vec<u8>) -> std::io::Result<bool>;
}

/// Bytes in hand as a source, so delivery faults treat every body alike.
pub struct BytesSource(pub Bytes);

impl ChunkSource for BytesSource {
    fn fill(&mut self, out: &mut Vec<u8>) -> std::io::Result<bool> {
        let n = self.0.len().min(CHUNK_TARGET);
        out.extend_from_slice(&self.0.split_to(n));
        Ok(!self.0.is_empty())
    }
}

/// A file streamed from disk (replayed bodies).
pub struct FileSource(pub std::fs::File);

impl ChunkSource for FileSource {
    fn fill(&mut self, out: &mut Vec<u8>) -> std::io::Result<bool> {
        let start = out.len();
        out.resize(start + CHUNK_TARGET, 0);
        let n = self.0.read(&mut out[start..])?;
        out.truncate(start + n);
        Ok(n > 0)
    }
}

/// A response body.
pub enum Body {
    Empty,
    Bytes(Bytes),
    Source(Box<dyn ChunkSource>),
    /// A source whose output is gzip'd as it is sent, after the content faults (so a
    /// `truncate` finds its place in the JSON, and the cut answer is still a complete gzip
    /// stream): the PCRS posture answer with `compressionRequired=1`.
    Gzip(Box<dyn ChunkSource>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            Body::Source(_) => f.write_str("Body::Source"),
            Body::Gzip(_) => f.write_str("Body::Gzip"),
        }
    }
}

/// What the engine answers.
#[derive(Debug)]
pub struct SimResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub delivery: Delivery,
    /// The journal entry to complete once the body is sent.
    pub ticket: Option<Ticket>,
    /// Held until the body is sent: the call counts as running until then.
    pub guard: Option<RunningGuard>,
}

impl SimResponse {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> SimResponse {
        SimResponse {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Bytes(body.into()),
            delivery: Delivery::default(),
            ticket: None,
            guard: None,
        }
    }

    /// A response whose body `source` renders as the transport sends it.
    pub fn streamed(status: u16, content_type: &str, source: impl ChunkSource) -> SimResponse {
        SimResponse {
            body: Body::Source(Box::new(source)),
            ..SimResponse::new(status, content_type, Bytes::new())
        }
    }

    /// A response whose body `source` renders and the transport gzips as it sends it.
    pub fn streamed_gzip(status: u16, content_type: &str, source: impl ChunkSource) -> SimResponse {
        SimResponse {
            body: Body::Gzip(Box::new(source)),
            ..SimResponse::new(status, content_type, Bytes::new())
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, when it is in hand (tests of the engine use this).
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Bytes(b) => Some(b),
            Body::Empty => Some(&[]),
            Body::Source(_) | Body::Gzip(_) => None,
        }
    }

    /// Renders the whole body into memory. For tests and small pages only.
    pub fn collect_body(self) -> std::io::Result<Vec<u8>> {
        match self.body {
            Body::Empty => Ok(Vec::new()),
            Body::Bytes(b) => Ok(b.to_vec()),
            Body::Source(mut s) => {
                let mut out = Vec::new();
                while s.fill(&mut out)? {}
                Ok(out)
            }
            Body::Gzip(mut s) => {
                let mut plain = Vec::new();
                while s.fill(&mut plain)? {}
                let mut gz = Gzip::default();
                let mut out = gz.compress(&plain)?;
                out.extend(gz.finish()?);
                Ok(out)
            }
        }
    }
}

/// Gzip as a stream of pieces: what goes in comes out compressed as soon as the compressor
/// lets go of it, the trailer at [`Gzip::finish`].
pub struct Gzip(flate2::write::GzEncoder<Vec<u8>>);

impl Default for Gzip {
    fn default() -> Gzip {
        // Level 1: the simulator must out-run the connector, and ratio does not matter here.
        Gzip(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ))
    }
}

impl Gzip {
    /// Compresses `plain`, returning the compressed bytes ready so far.
    pub fn compress(&mut self, plain: &[u8]) -> std::io::Result<Vec<u8>> {
        std::io::Write::write_all(&mut self.0, plain)?;
        Ok(std::mem::take(self.0.get_mut()))
    }

    /// Ends the stream: the remaining compressed bytes and the gzip trailer.
    pub fn finish(&mut self) -> std::io::Result<Vec<u8>> {
        self.0.try_finish()?;
        Ok(std::mem::take(self.0.get_mut()))
    }
}
