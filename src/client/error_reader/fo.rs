//! The FO API's error reader (`/api/N.0/fo/...`, VMDR).
//!
//! Qualys signals errors inconsistently, and the classification follows the recorded reality
//! rather than the HTTP status alone: a `SIMPLE_RETURN` is parsed whatever the status (CODE 2001
//! arrives inside HTTP 200), 409 means a rate limit (1965), a concurrency limit (1960) or an
//! account problem (2003, 2011) depending on the CODE, and 401 means one of three login
//! problems.

use std::io::BufRead;

use super::{ResponseFacts, html, html_remediation, snippet};
use crate::error::{AccountProblem, Error, QualysMessage, Throttle, server_wait};
use crate::parse::xml::document::{self, Root};
use crate::parse::xml::host_list::OtherDocument;
use crate::parse::xml::simple_return;
use crate::qualys::fo::code;

/// Classifies a complete (bounded) body of an unexpected response.
pub fn from_body(facts: &ResponseFacts, body: &[u8]) -> Error {
    let origin = facts.exchange.to_string();
    let mut reader = document::reader(body);
    let mut buf = Vec::new();
    match document::read_root(&mut reader, &mut buf, &origin) {
        Ok(root @ (Root::SimpleReturn | Root::GenericReturn)) => {
            match simple_return::read(reader, buf, &origin) {
                Ok(msg) => from_message(facts, msg, root == Root::GenericReturn),
                Err(e) => status_only(facts, Some(e.to_string())),
            }
        }
        Ok(Root::Html) => html(facts, body),
        Ok(other) => status_only(
            facts,
            Some(format!("unexpected <{}> document", other.name())),
        ),
        Err(_) => status_only(facts, Some(snippet(facts, body))),
    }
}

/// Classifies a well-formed document of the wrong kind found where a page was expected.
pub fn from_other_document<R: BufRead>(facts: &ResponseFacts, other: OtherDocument<R>) -> Error {
    let origin = facts.exchange.to_string();
    match other.root {
        Root::SimpleReturn | Root::GenericReturn => {
            let generic = other.root == Root::GenericReturn;
            match simple_return::read(other.reader, other.buf, &origin) {
                Ok(msg) => from_message(facts, msg, generic),
                Err(e) => e,
            }
        }
        Root::Html => Error::Html {
            exchange: facts.exchange.clone(),
            title: String::new(),
            location: facts.location.clone(),
            remediation: html_remediation(facts),
        },
        root => Error::Unexpected {
            origin,
            offset: other.reader.buffer_position(),
            problem: format!("expected a Qualys page, got a <{}> document", root.name()),
        },
    }
}

/// Classifies Qualys's own message.
pub fn from_message(facts: &ResponseFacts, message: QualysMessage, generic: bool) -> Error {
    let exchange = facts.exchange.clone();
    let status = exchange.status.unwrap_or(200);
    let message = Box::new(message);
    if let Some(problem) = message.code.and_then(AccountProblem::from_code) {
        return Error::Account {
            problem,
            exchange,
            message,
        };
    }
    match message.code {
        Some(code::RATE_LIMIT) => {
            let wait = facts.to_wait.filter(|d| !d.is_zero()).or_else(|| {
                message
                    .item("SECONDS_TO_WAIT")
                    .and_then(|s| s.trim().parse().ok())
                    .map(server_wait)
            });
            return Error::Throttled {
                kind: Throttle::Rate,
                exchange,
                message,
                wait,
            };
        }
        Some(code::CONCURRENCY_LIMIT) => {
            return Error::Throttled {
                kind: Throttle::Concurrency,
                exchange,
                message,
                wait: None,
            };
        }
        Some(code::INTERNAL_ERROR) | Some(code::MAINTENANCE) => {
            return Error::Server { exchange, message };
        }
        _ => {}
    }
    if generic {
        // GENERIC_RETURN is the envelope of Qualys's internal error, CODE 999, even when it
        // carries no CODE element.
        let message = Box::new(QualysMessage {
            code: message.code.or(Some(code::INTERNAL_ERROR)),
            ..*message
        });
        return Error::Server { exchange, message };
    }
    if status >= 500 {
        // A bare 5xx (a proxy's or the front end's) carries no Qualys code: none is claimed.
        return Error::Server { exchange, message };
    }
    match status {
        401 => Error::Account {
            problem: AccountProblem::BadLogin,
            exchange,
            message,
        },
        403 => match facts.endpoint.permission {
            Some(permission) => Error::Account {
                problem: AccountProblem::PermissionMissing(permission),
                exchange,
                message,
            },
            None => Error::Rejected {
                exchange,
                message,
                parameter: None,
            },
        },
        429 => Error::Throttled {
            kind: Throttle::Rate,
            exchange,
            message,
            wait: facts.retry_after.or(facts.to_wait),
        },
        _ => {
            let parameter = parameter_named_in(&message.text);
            Error::Rejected {
                exchange,
                message,
                parameter,
            }
        }
    }
}

/// A response with no usable body: classified by status alone.
fn status_only(facts: &ResponseFacts, detail: Option<String>) -> Error {
    let message = QualysMessage {
        code: None,
        text: detail.unwrap_or_else(|| "no Qualys message in the body".into()),
        ..QualysMessage::default()
    };
    from_message(facts, message, false)
}

/// The parameter a 19xx text names, e.g. `ids` in "parameter ids has invalid value: abc".
pub fn parameter_named_in(text: &str) -> Option<String> {
    if let Some(rest) = text.strip_prefix("parameter ") {
        return rest.split_whitespace().next().map(str::to_string);
    }
    for prefix in [
        "Unrecognized parameter(s):",
        "Missing required parameter(s):",
        "Please specify only one of these parameters:",
        "Please specify at least one of the following parameters:",
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return Some(rest.trim().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualys::endpoint;

    fn facts(status: u16) -> ResponseFacts {
        ResponseFacts::for_test(&endpoint::HOST_DETECTION, status)
    }

    fn simple(code: Option<u32>, text: &str) -> Vec<u8> {
        let code = code
            .map(|c| format!("<CODE>{c}</CODE>"))
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE SIMPLE_RETURN SYSTEM \"https://qualysapi.qualys.com/api/2.0/simple_return.dtd\">\n<SIMPLE_RETURN><RESPONSE><DATETIME>2026-01-01T00:00:00Z</DATETIME>{code}<TEXT>{text}</TEXT></RESPONSE></SIMPLE_RETURN>"
        )
        .into_bytes()
    }

    #[test]
    fn code_1905_names_the_rejected_parameter() {
        let e = from_body(
            &facts(400),
            &simple(
                Some(1905),
                "parameter ids has invalid value: abc123 (neither a positive integer nor a range: abc123)",
            ),
        );
        assert!(
            matches!(&e, Error::Rejected { parameter: Some(p), .. } if p == "ids"),
            "{e}"
        );
    }

    #[test]
    fn status_401_without_code_is_a_bad_login_with_three_checks() {
        let e = from_body(&facts(401), &simple(None, "Bad Login/Password"));
        assert!(matches!(
            &e,
            Error::Account {
                problem: AccountProblem::BadLogin,
                ..
            }
        ));
        let msg = e.to_string();
        assert!(
            msg.contains("API access") && msg.contains("platform URL"),
            "{msg}"
        );
    }

    #[test]
    fn status_403_names_the_missing_permission() {
        let e = from_body(&facts(403), &simple(None, "Access denied"));
        assert!(e.to_string().contains("Manage VM module"), "{e}");
    }

    #[test]
    fn html_redirect_page_is_recognised_with_its_location() {
        let mut f = facts(301);
        f.location = Some("https://qualysapi.qualys.eu/api/2.0/fo/scan/".into());
        f.content_type = Some("text/html; charset=iso-8859-1".into());
        let e = super::super::read(
            &f,
            b"<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>301 Moved Permanently</title>\n</head><body></body></html>",
        );
        match e {
            Error::Html {
                title, location, ..
            } => {
                assert_eq!(title, "301 Moved Permanently");
                assert!(location.is_some());
            }
            e => panic!("expected an HTML error, got {e}"),
        }
    }

    #[test]
    fn internal_error_in_generic_return_is_a_server_error() {
        let body = b"<GENERIC_RETURN><RETURN status=\"FAILED\">Internal error. Please contact customer support.</RETURN></GENERIC_RETURN>";
        let e = from_body(&facts(500), body);
        assert!(matches!(&e, Error::Server { .. }), "{e}");
        assert_eq!(e.qualys_code(), Some(999));
    }
}
