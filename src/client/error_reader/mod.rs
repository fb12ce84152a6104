//! Turns a Qualys answer that is not what was asked for into an [`Error`] a user can act on, in
//! the words of the API family that sent it.
//!
//! | family | where the error is | reader |
//! |---|---|---|
//! | FO | a `SIMPLE_RETURN` or `GENERIC_RETURN` whatever the HTTP status, else the status | [`fo`] |
//! | QPS | `ServiceResponse/responseCode`, inside HTTP 200 or with 401/403 | [`qps`] |
//! | gateway | a JSON body with the status: 401 "JWT expired" or "Not authenticated", 429 with `Retry-After`, 400 code 1905, 404 | [`gateway`] |
//!
//! The client calls [`read`] for every answer that is not a 2xx (and for HTML pages, which look
//! the same whatever the family). An error inside a 200 is found by the stream's parser, which
//! hands the document to its family's reader (`fo::from_other_document`, `qps::from_head`).

pub mod fo;
pub mod gateway;
pub mod qps;

use std::time::Duration;

use crate::error::{Error, Exchange};
use crate::qualys::endpoint::{Endpoint, Family};

/// What the client knows about a response besides its body.
#[derive(Debug, Clone)]
pub struct ResponseFacts {
    pub exchange: Exchange,
    /// The endpoint called: its family decides the reader, its permission is named in a refusal.
    pub endpoint: &'static Endpoint,
    /// `X-RateLimit-ToWait-Sec` (FO).
    pub to_wait: Option<Duration>,
    /// `Retry-After` (gateway 429, proxies' 503).
    pub retry_after: Option<Duration>,
    /// `Location` of a redirect.
    pub location: Option<String>,
    pub content_type: Option<String>,
}

impl ResponseFacts {
    /// The status of the answer (200 when a parser found the error inside a success).
    pub fn status(&self) -> u16 {
        self.exchange.status.unwrap_or(200)
    }

    #[cfg(test)]
    pub(crate) fn for_test(endpoint: &'static Endpoint, status: u16) -> ResponseFacts {
        ResponseFacts {
            exchange: Exchange {
                endpoint: endpoint.path(),
                status: Some(status),
                page: Some(1),
            },
            endpoint,
            to_wait: None,
            retry_after: None,
            location: None,
            content_type: None,
        }
    }
}

/// Reads the complete (bounded) body of an answer that is not a success, with its family's
/// reader.
pub fn read(facts: &ResponseFacts, body: &[u8]) -> Error {
    if looks_like_html(facts.content_type.as_deref(), body) {
        return html(facts, body);
    }
    if facts
        .exchange
        .status
        .is_some_and(|s| (300..400).contains(&s))
    {
        // A bare redirect: not an error document of any family, and never followed.
        return Error::Redirected {
            exchange: facts.exchange.clone(),
            location: facts.location.clone(),
        };
    }
    match facts.endpoint.family {
        Family::Fo => fo::from_body(facts, body),
        Family::Qps => qps::from_body(facts, body),
        Family::Gateway => gateway::from_body(facts, body),
    }
}

fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if content_type.is_some_and(|c| c.to_ascii_lowercase().contains("text/html")) {
        return true;
    }
    let head = &body[..body.len().min(512)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let head = head.trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

pub(super) fn html(facts: &ResponseFacts, body: &[u8]) -> Error {
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    let lower = text.to_ascii_lowercase();
    let title = lower
        .find("<title>")
        .and_then(|start| {
            let start = start + "<title>".len();
            lower[start..]
                .find("</title>")
                .map(|end| text[start..start + end].trim().to_string())
        })
        .unwrap_or_default();
    Error::Html {
        exchange: facts.exchange.clone(),
        title,
        location: facts.location.clone(),
        remediation: html_remediation(facts),
    }
}

pub(super) fn html_remediation(facts: &ResponseFacts) -> String {
    match facts.exchange.status {
        Some(301 | 302 | 303 | 307 | 308) => {
            "Qualys redirected the request; the connector does not follow \
             redirects because credentials may only go to the configured platform URL. Check that \
             the platform URL is the API server base URL without a path (e.g. \
             https://qualysapi.qualys.com) and that nothing between you and Qualys rewrites URLs."
                .into()
        }
        Some(414) => "the request URI was too long for the server; lower kb_batch_size or \
             shorten the tag lists"
            .into(),
        Some(s) if s >= 500 => "a proxy or the Qualys front end failed; this is usually \
             temporary: retry later, and check any proxy between you and Qualys"
            .into(),
        _ => "an HTML page usually comes from a proxy, a captive portal or a wrong platform URL: \
             check the platform URL and any proxy between you and Qualys"
            .into(),
    }
}

/// What a body that is no error document of the family said, in words that claim nothing it did
/// not say (no Qualys code for a proxy's plain-text 503).
pub(super) fn snippet(facts: &ResponseFacts, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let text = text.trim();
    let status = facts.status();
    if text.is_empty() {
        return format!("an empty body with HTTP {status}, no Qualys error document");
    }
    let kind = match facts.content_type.as_deref() {
        Some(c) if c.to_ascii_lowercase().starts_with("text/plain") => "a plain-text body",
        _ => "a body that is no Qualys error document",
    };
    format!("{kind}: {text:?}")
}
