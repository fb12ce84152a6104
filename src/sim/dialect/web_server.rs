//! The web server in front of every API family: the HTML pages Apache (or a proxy) sends before
//! a request reaches Qualys, the same whichever family the path belongs to.

use crate::sim::server::response::{SimResponse, content_type};
use crate::sim::xml_writer::escape_into;

/// HTTP 301 to `location` with Apache's body, as for a path without its trailing slash.
pub fn moved(location: String) -> SimResponse {
    let mut r = SimResponse::new(301, content_type::HTML, html_moved(&location));
    r.headers.push(("Location".into(), location));
    r
}

/// A bare HTTP 5xx with a one-line text body (`server_error`).
pub fn bare_error(status: u16) -> SimResponse {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Server Error");
    SimResponse::new(status, content_type::TEXT, format!("{status} {reason}\n"))
}

/// A proxy's HTML error page (`html_error`).
pub fn error_page(status: u16) -> SimResponse {
    SimResponse::new(status, content_type::HTML, html_error(status))
}

/// HTTP 404 for a path no family knows, naming the paths the simulator answers.
pub fn unknown_path(method: &str, path: &str, modelled: &[String]) -> SimResponse {
    let text = format!(
        "qharness simulator: {method} {path} is not a modelled endpoint. Modelled: {}, GET /__sim/journal, POST /__sim/reset.\n",
        modelled.join(", ")
    );
    SimResponse::new(404, content_type::TEXT, text)
}

/// The Apache page for a 301 to the path with its trailing slash. As in the recording, the link
/// in the body repeats the location.
pub fn html_moved(location: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(300);
    out.extend_from_slice(b"<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>301 Moved Permanently</title>\n</head><body>\n<h1>Moved Permanently</h1>\n<p>The document has moved <a href=\"");
    escape_into(&mut out, location);
    out.extend_from_slice(b"\">here</a>.</p>\n</body></html>\n");
    out
}

/// An Apache-style error page, as a reverse proxy in front of the API sends.
pub fn html_error(status: u16) -> Vec<u8> {
    let (title, text) = match status {
        502 => (
            "Proxy Error",
            "The proxy server received an invalid\nresponse from an upstream server.<br />\nThe proxy server could not handle the request.<p>Reason: <strong>Error reading from remote server</strong></p>",
        ),
        503 => (
            "Service Unavailable",
            "The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.",
        ),
        504 => (
            "Gateway Timeout",
            "The gateway did not receive a timely response\nfrom the upstream server or application.",
        ),
        _ => (
            "Internal Server Error",
            "The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.",
        ),
    };
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or(title);
    format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} {reason}</title>\n</head><body>\n<h1>{title}</h1>\n<p>{text}</p>\n</body></html>\n"
    )
    .into_bytes()
}
