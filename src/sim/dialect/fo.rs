//! The FO API's dialect: how `/api/N.0/fo/` endpoints (and about.php) say no, as
//! `SIMPLE_RETURN` (and, for an internal error, `GENERIC_RETURN`) documents.
//!
//! | situation | HTTP | CODE | source |
//! |---|---|---|---|
//! | unknown user, wrong password, no API access | 401 | 2000 "Bad Login/Password" | recorded |
//! | account expired | 200 | 2001 | recorded |
//! | registration not completed | 409 | 2003 | client tests (graph-qualys) |
//! | account inactive | 409 | 2002 | the simulator's choice |
//! | SecureID required | 409 | 2011 | client tests (graph-qualys) |
//! | module permission missing | 403 | none; TEXT names the permission | the simulator's choice, see fixtures/README.md |
//! | rate / concurrency limit | 409 | 1965 / 1960 with `SECONDS_TO_WAIT` / `CALLS_TO_FINISH` | research note §6.2 |
//! | unknown parameter, missing, bad value, exclusive pair, bad method | 400 | 1901, 1903, 1905, 1904, 1908 | recorded (1905), research note |
//!
//! The recorded 401 and 2001 answers carry no limit headers; every other FO answer carries all
//! six (QD-HDR documents them on every answer), the 409 account states included.

use crate::qualys::fo::code;
use crate::sim::engine::accounts::Refusal;
use crate::sim::engine::handler::{Rejection, RejectionKind};
use crate::sim::engine::limits::{LimitHeaders, LimitReached};
use crate::sim::server::response::{SimResponse, content_type};
use crate::sim::timestamp::Timestamp;
use crate::sim::xml_writer::{close, escape_into, leaf_text, leaf_time, leaf_u64, open, prologue};

use super::{Context, Dialect, InjectedError};

/// The FO API's dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct FoDialect;

impl Dialect for FoDialect {
    fn refusal(&self, ctx: &Context<'_>, refusal: Refusal) -> SimResponse {
        let (status, code, text) = refusal_answer(refusal);
        // The recorded login (401) and expiry (2001) answers say text/xml;charset=UTF-8 and
        // carry no limit headers. Qualys documents the six headers on every other answer, so
        // the unrecorded 409 account states (2002, 2003, 2011) carry them; the permission
        // answer is the simulator's, shaped like a 400.
        let carries_limits = matches!(
            refusal,
            Refusal::PermissionMissing(_)
                | Refusal::Inactive
                | Refusal::RegistrationIncomplete
                | Refusal::SecureIdRequired
        );
        let ct = if matches!(refusal, Refusal::PermissionMissing(_)) {
            content_type::XML
        } else {
            content_type::XML_UTF8
        };
        let mut r = SimResponse::new(
            status,
            ct,
            simple_return(ctx.origin, ctx.now, code, &text, &[]),
        );
        if let (true, Some(h)) = (carries_limits, ctx.limits) {
            r.headers.extend(h.to_headers());
        }
        r
    }

    fn limit_reached(&self, ctx: &Context<'_>, reached: &LimitReached) -> SimResponse {
        let (code, item) = match *reached {
            LimitReached::Rate {
                seconds_to_wait, ..
            } => (
                code::RATE_LIMIT,
                ("SECONDS_TO_WAIT", seconds_to_wait.to_string()),
            ),
            LimitReached::Concurrency {
                calls_to_finish, ..
            } => (
                code::CONCURRENCY_LIMIT,
                ("CALLS_TO_FINISH", calls_to_finish.to_string()),
            ),
        };
        let mut r = SimResponse::new(
            409,
            content_type::XML,
            simple_return(ctx.origin, ctx.now, Some(code), &reached.message(), &[item]),
        );
        r.headers.extend(reached.headers().to_headers());
        r
    }

    fn rejection(&self, ctx: &Context<'_>, rejection: &Rejection) -> SimResponse {
        let (status, code) = status_and_code(rejection.kind);
        SimResponse::new(
            status,
            content_type::XML,
            simple_return(ctx.origin, ctx.now, Some(code), &rejection.text, &[]),
        )
    }

    fn injected(&self, ctx: &Context<'_>, error: InjectedError<'_>) -> SimResponse {
        let mut r = match error {
            InjectedError::Internal { status } => SimResponse::new(
                status,
                content_type::XML_UTF8,
                generic_return_999(ctx.origin, ctx.now, ctx.path, ctx.user),
            ),
            InjectedError::Coded { status, code, text } => SimResponse::new(
                status,
                content_type::XML,
                simple_return(ctx.origin, ctx.now, code, text, &[]),
            ),
        };
        if let Some(h) = ctx.limits {
            r.headers.extend(h.to_headers());
        }
        r
    }

    fn limit_headers(&self, headers: LimitHeaders) -> Vec<(String, String)> {
        headers.to_headers()
    }
}

/// HTTP status, CODE and TEXT of a refusal.
fn refusal_answer(refusal: Refusal) -> (u16, Option<u32>, String) {
    match refusal {
        // Qualys answers a role without API access exactly like a wrong password; the gateway's
        // refusals cannot reach an FO endpoint, and read as a failed login if they did.
        Refusal::BadLogin
        | Refusal::NoApiAccess
        | Refusal::NotAuthenticated
        | Refusal::SessionExpired => (401, Some(code::BAD_LOGIN), code::BAD_LOGIN_TEXT.into()),
        Refusal::Expired => (
            200,
            Some(code::ACCOUNT_EXPIRED),
            code::ACCOUNT_EXPIRED_TEXT.into(),
        ),
        Refusal::Inactive => (
            409,
            Some(code::ACCOUNT_INACTIVE),
            code::ACCOUNT_INACTIVE_TEXT.into(),
        ),
        Refusal::RegistrationIncomplete => (
            409,
            Some(code::REGISTRATION_INCOMPLETE),
            code::REGISTRATION_INCOMPLETE_TEXT.into(),
        ),
        Refusal::SecureIdRequired => (
            409,
            Some(code::SECURE_ID_REQUIRED),
            code::SECURE_ID_TEXT.into(),
        ),
        Refusal::PermissionMissing(p) => (403, None, permission_text(p)),
    }
}

/// The simulator's text for a missing module permission (Qualys's is not documented).
pub fn permission_text(p: crate::qualys::Permission) -> String {
    format!("Access denied: this user does not have the \"{p}\" permission required by this API.")
}

/// The HTTP status and `SIMPLE_RETURN` CODE of a rejection.
pub fn status_and_code(kind: RejectionKind) -> (u16, u32) {
    match kind {
        RejectionKind::UnknownParameter => (400, code::UNRECOGNIZED_PARAMETER),
        RejectionKind::MissingParameter => (400, code::MISSING_PARAMETER),
        RejectionKind::InvalidValue => (400, code::INVALID_VALUE),
        RejectionKind::ExclusiveParameters => (400, code::EXCLUSIVE_PARAMETERS),
        RejectionKind::MethodNotAllowed => (400, code::METHOD_INCOMPATIBLE),
        // 404 because there is nothing to call; 1901 because the simulator did not recognise
        // the request, which is the truth.
        RejectionKind::NotModelled => (404, code::UNRECOGNIZED_PARAMETER),
    }
}

/// DTD system paths of the FO error documents, below the origin.
pub mod dtd {
    pub const SIMPLE_RETURN: &str = "/api/2.0/simple_return.dtd";
    pub const GENERIC_RETURN: &str = "/generic_return.dtd";
}

/// A `SIMPLE_RETURN` document.
pub fn simple_return(
    origin: &str,
    now: Timestamp,
    code: Option<u32>,
    text: &str,
    items: &[(&str, String)],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    prologue(&mut out, "SIMPLE_RETURN", origin, dtd::SIMPLE_RETURN);
    open(&mut out, 0, "SIMPLE_RETURN");
    open(&mut out, 1, "RESPONSE");
    leaf_time(&mut out, 2, "DATETIME", now);
    if let Some(c) = code {
        leaf_u64(&mut out, 2, "CODE", u64::from(c));
    }
    leaf_text(&mut out, 2, "TEXT", text);
    if !items.is_empty() {
        open(&mut out, 2, "ITEM_LIST");
        for (k, v) in items {
            open(&mut out, 3, "ITEM");
            leaf_text(&mut out, 4, "KEY", k);
            leaf_text(&mut out, 4, "VALUE", v);
            close(&mut out, 3, "ITEM");
        }
        close(&mut out, 2, "ITEM_LIST");
    }
    close(&mut out, 1, "RESPONSE");
    close(&mut out, 0, "SIMPLE_RETURN");
    out
}

/// The `GENERIC_RETURN` document of an internal error (CODE 999).
pub fn generic_return_999(origin: &str, now: Timestamp, api: &str, user: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    prologue(&mut out, "GENERIC_RETURN", origin, dtd::GENERIC_RETURN);
    out.extend_from_slice(b"<GENERIC_RETURN>\n  <API name=\"");
    escape_into(&mut out, api);
    out.extend_from_slice(b"\" username=\"");
    escape_into(&mut out, user);
    out.extend_from_slice(b"\" at=\"");
    out.extend_from_slice(&now.to_wire());
    out.extend_from_slice(b"\" />\n  <RETURN status=\"FAILED\" number=\"999\">");
    escape_into(&mut out, crate::qualys::fo::code::INTERNAL_ERROR_TEXT);
    out.extend_from_slice(b"</RETURN>\n</GENERIC_RETURN>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualys::Permission;
    use crate::sim::tenant::Limits;

    fn ctx(limits: Option<LimitHeaders>) -> Context<'static> {
        Context {
            origin: "https://qualysapi.example.com",
            path: "/api/2.0/fo/asset/host/vm/detection/",
            endpoint: None,
            user: "quays_ab1",
            now: Timestamp(0),
            limits,
        }
    }

    fn text(r: SimResponse) -> String {
        String::from_utf8(r.bytes().unwrap().to_vec()).unwrap()
    }

    #[test]
    fn refusals_carry_the_recorded_status_code_and_content_type() {
        let limits = Some(LimitHeaders::fresh(Limits::default()));
        for (refusal, status, code) in [
            (Refusal::BadLogin, 401, Some("2000")),
            (Refusal::NoApiAccess, 401, Some("2000")),
            (Refusal::Expired, 200, Some("2001")),
            (Refusal::Inactive, 409, Some("2002")),
            (Refusal::RegistrationIncomplete, 409, Some("2003")),
            (Refusal::SecureIdRequired, 409, Some("2011")),
            (Refusal::PermissionMissing(Permission::ManageVm), 403, None),
        ] {
            let r = FoDialect.refusal(&ctx(limits), refusal);
            assert_eq!(r.status, status, "{refusal:?}");
            let permission = matches!(refusal, Refusal::PermissionMissing(_));
            assert_eq!(
                r.header("Content-Type"),
                Some(if permission {
                    "application/xml"
                } else {
                    "text/xml;charset=UTF-8"
                })
            );
            assert_eq!(
                r.header("X-RateLimit-Limit").is_some(),
                status != 401 && status != 200,
                "{refusal:?}: only the recorded 401 and 2001 answers lack the limit headers"
            );
            let body = text(r);
            match code {
                Some(c) => assert!(body.contains(&format!("<CODE>{c}</CODE>")), "{body}"),
                None => assert!(!body.contains("<CODE>") && body.contains("Manage VM module")),
            }
        }
    }

    #[test]
    fn rejections_map_to_their_simple_return_codes() {
        assert_eq!(
            status_and_code(RejectionKind::UnknownParameter),
            (400, 1901)
        );
        assert_eq!(
            status_and_code(RejectionKind::MissingParameter),
            (400, 1903)
        );
        assert_eq!(status_and_code(RejectionKind::InvalidValue), (400, 1905));
        assert_eq!(
            status_and_code(RejectionKind::MethodNotAllowed),
            (400, 1908)
        );
        let r = FoDialect.rejection(&ctx(None), &Rejection::unknown(&["foo"]));
        assert_eq!((r.status, r.header("X-RateLimit-Limit")), (400, None));
        assert!(text(r).contains("<TEXT>Unrecognized parameter(s): foo</TEXT>"));
    }

    #[test]
    fn a_throttle_is_409_with_its_code_item_and_headers() {
        let headers = LimitHeaders {
            remaining: 0,
            to_wait_secs: 86_274,
            ..LimitHeaders::fresh(Limits::default())
        };
        let r = FoDialect.limit_reached(
            &ctx(None),
            &LimitReached::Rate {
                seconds_to_wait: 86_274,
                headers,
            },
        );
        assert_eq!(r.status, 409);
        assert_eq!(r.header("X-RateLimit-ToWait-Sec"), Some("86274"));
        let body = text(r);
        assert!(body.contains("<CODE>1965</CODE>"));
        assert!(body.contains("another 23 hours, 57 minutes and 54 seconds."));
        assert!(body.contains("<KEY>SECONDS_TO_WAIT</KEY>"));
    }

    #[test]
    fn simple_return_matches_the_recorded_shape() {
        let body = simple_return(
            "https://qualysapi.example.com",
            Timestamp(0),
            Some(2000),
            "Bad Login/Password",
            &[],
        );
        let s = String::from_utf8(body).unwrap();
        assert!(s.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE SIMPLE_RETURN SYSTEM \"https://qualysapi.example.com/api/2.0/simple_return.dtd\">\n<SIMPLE_RETURN>\n  <RESPONSE>\n    <DATETIME>1970-01-01T00:00:00Z</DATETIME>\n    <CODE>2000</CODE>\n    <TEXT>Bad Login/Password</TEXT>\n"), "{s}");
    }
}
