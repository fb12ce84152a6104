//! The capture hook: an optional observer the client tells about every attempt it makes, in
//! order (first tries, retries, gateway logins, attempts that failed before an answer), so that
//! `qharness fetch --record` can keep what the connector received.
//!
//! The hook never sees a credential: no `Authorization` header is passed, and a gateway login
//! passes neither its form (username and password) nor its answer (the token).

use bytes::Bytes;
use reqwest::header::HeaderMap;

use crate::qualys::endpoint::Endpoint;

/// What a request looked like on the wire, without its credentials.
#[derive(Debug)]
pub struct CapturedRequest<'a> {
    pub endpoint: &'static Endpoint,
    pub method: &'a str,
    /// The full URL, query included.
    pub url: &'a url::Url,
    pub content_type: Option<&'a str>,
    /// The body; `None` for a gateway login, whose form holds the password.
    pub body: Option<Bytes>,
}

/// How a response body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// Every byte arrived.
    Complete,
    /// The client stopped reading: the parser had what it needed (an error inside a 200), or
    /// an error body was read up to its cap.
    Stopped,
    /// The connection failed while the body was arriving.
    Broken,
    /// No answer arrived at all (refused, reset or timed out before the response head).
    NoResponse,
    /// The answer is a secret (a gateway login's token): its bytes are not passed.
    Withheld,
}

/// Something that wants to know about every exchange.
pub trait Capture: Send + Sync {
    /// A request is about to be sent.
    fn begin(&self, request: CapturedRequest<'_>) -> Box<dyn CapturedExchange>;
}

/// One exchange being captured: the response head, the body as it arrives, how it ended.
pub trait CapturedExchange: Send {
    fn response(&mut self, status: u16, headers: &HeaderMap);
    fn chunk(&mut self, chunk: &Bytes);
    fn end(self: Box<Self>, end: BodyEnd);
}
