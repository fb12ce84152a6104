//! The QPS dialect (WAS, `/qps/rest/`): a `ServiceResponse` whose `responseCode` says what went
//! wrong, usually inside HTTP 200.
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <ServiceResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://<host>/qps/xsd/3.0/was/webapp.xsd">
//!   <responseCode>INVALID_REQUEST</responseCode>
//!   <responseErrorDetails>
//!     <errorMessage>...</errorMessage>
//!     <errorResolution>...</errorResolution>
//!   </responseErrorDetails>
//! </ServiceResponse>
//! ```
//!
//! | situation | HTTP | responseCode | source |
//! |---|---|---|---|
//! | wrong user or password | 200 | `INVALID_CREDENTIALS` "Authentication failed" | recorded (schema location names the AM host-asset XSD, as recorded) |
//! | no API access, module permission missing | 200 | `UNAUTHORIZED` "You are not authorized to access the application through the API." | recorded on the AM API; the simulator's choice for WAS |
//! | expired, inactive, registration incomplete, SecureID | 200 | `INVALID_CREDENTIALS`, `errorMessage` = the FO text of the state | the simulator's choice |
//! | bad parameter or criteria | 200 | `INVALID_REQUEST` | recorded |
//! | rate / concurrency limit | 429 (+ `Retry-After`) | `OTHER_ERROR` | the simulator's choice (WAS documents no limit) |
//! | injected internal error / coded error | the fault's status | `OTHER_ERROR` (+ `internalErrorCodeId`) | the simulator's choice |
//! | endpoint not modelled | 404 | `OPERATION_NOT_SUPPORTED` | the simulator's |
//!
//! No `X-Powered-By` (Qualys omits it when authentication fails) and no `X-RateLimit-*`
//! headers (recorded WAS responses carry none). The choices are listed in fixtures/README.md.

use crate::qualys::endpoint::{Endpoint, PathPattern};
use crate::qualys::fo::code;
use crate::sim::engine::accounts::Refusal;
use crate::sim::engine::handler::{Rejection, RejectionKind};
use crate::sim::engine::limits::{LimitHeaders, LimitReached};
use crate::sim::server::response::{SimResponse, content_type};
use crate::sim::xml_writer::{close, escape_into, leaf_text, leaf_u64, open};

use super::{Context, Dialect, InjectedError};

/// The schema the recorded authentication failures name, whatever the path: authentication
/// happens before the request reaches a module.
const AUTH_SCHEMA: &str = "/qps/xsd/2.0/am/hostasset.xsd";

/// The QPS REST API's dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct QpsDialect;

impl Dialect for QpsDialect {
    fn refusal(&self, ctx: &Context<'_>, refusal: Refusal) -> SimResponse {
        let unauthorized = (
            "UNAUTHORIZED",
            "You are not authorized to access the application through the API.".to_string(),
            "If you think this is an error, please contact your account manager.",
        );
        let (schema, (code, message, resolution)) = match refusal {
            Refusal::BadLogin | Refusal::NotAuthenticated | Refusal::SessionExpired => (
                AUTH_SCHEMA.to_string(),
                (
                    "INVALID_CREDENTIALS",
                    "Authentication failed".to_string(),
                    "Verify both, user and password credentials.",
                ),
            ),
            Refusal::Expired => (
                AUTH_SCHEMA.to_string(),
                (
                    "INVALID_CREDENTIALS",
                    code::ACCOUNT_EXPIRED_TEXT.to_string(),
                    "Ask a manager of your Qualys subscription to extend the account.",
                ),
            ),
            Refusal::Inactive => (
                AUTH_SCHEMA.to_string(),
                (
                    "INVALID_CREDENTIALS",
                    code::ACCOUNT_INACTIVE_TEXT.to_string(),
                    "Ask a manager of your Qualys subscription to activate the account.",
                ),
            ),
            Refusal::RegistrationIncomplete => (
                AUTH_SCHEMA.to_string(),
                (
                    "INVALID_CREDENTIALS",
                    code::REGISTRATION_INCOMPLETE_TEXT.to_string(),
                    "Log in to the Qualys console once with this user to complete the registration.",
                ),
            ),
            Refusal::SecureIdRequired => (
                AUTH_SCHEMA.to_string(),
                (
                    "INVALID_CREDENTIALS",
                    code::SECURE_ID_TEXT.to_string(),
                    "Use an account without SecureID authentication for API access.",
                ),
            ),
            // The recorded wording does not name the module; the endpoint says which it needs.
            Refusal::NoApiAccess | Refusal::PermissionMissing(_) => {
                (schema_location(ctx.endpoint), unauthorized)
            }
        };
        xml(
            200,
            service_response(
                ctx.origin,
                &schema,
                code,
                Some((&message, Some(resolution))),
                None,
            ),
        )
    }

    fn limit_reached(&self, ctx: &Context<'_>, reached: &LimitReached) -> SimResponse {
        let resolution = match reached {
            LimitReached::Rate {
                seconds_to_wait, ..
            } => format!("Wait {seconds_to_wait} seconds before calling this API again."),
            LimitReached::Concurrency { .. } => {
                "Wait for the running calls of this API to finish.".to_string()
            }
        };
        let mut r = xml(
            429,
            service_response(
                ctx.origin,
                &schema_location(ctx.endpoint),
                "OTHER_ERROR",
                Some((&reached.message(), Some(&resolution))),
                None,
            ),
        );
        if let LimitReached::Rate {
            seconds_to_wait, ..
        } = reached
        {
            r.headers
                .push(("Retry-After".into(), seconds_to_wait.to_string()));
        }
        r
    }

    fn rejection(&self, ctx: &Context<'_>, rejection: &Rejection) -> SimResponse {
        let schema = schema_location(ctx.endpoint);
        let (status, code, resolution) = match rejection.kind {
            RejectionKind::UnknownParameter
            | RejectionKind::MissingParameter
            | RejectionKind::InvalidValue
            | RejectionKind::ExclusiveParameters => (200, "INVALID_REQUEST", None),
            RejectionKind::MethodNotAllowed => (200, "OPERATION_NOT_SUPPORTED", None),
            RejectionKind::NotModelled => (
                404,
                "OPERATION_NOT_SUPPORTED",
                Some(
                    "The simulator does not model this endpoint yet; serve a recorded fixture set for it (qharness serve --fixtures DIR).",
                ),
            ),
        };
        let resolution = rejection.resolution.as_deref().or(resolution);
        xml(
            status,
            service_response(
                ctx.origin,
                &schema,
                code,
                Some((&rejection.text, resolution)),
                None,
            ),
        )
    }

    fn injected(&self, ctx: &Context<'_>, error: InjectedError<'_>) -> SimResponse {
        let schema = schema_location(ctx.endpoint);
        let (status, message, internal_code) = match error {
            InjectedError::Internal { status } => (status, code::INTERNAL_ERROR_TEXT, None),
            InjectedError::Coded { status, code, text } => (status, text, code),
        };
        xml(
            status,
            service_response(
                ctx.origin,
                &schema,
                "OTHER_ERROR",
                Some((message, None)),
                internal_code,
            ),
        )
    }

    fn limit_headers(&self, _headers: LimitHeaders) -> Vec<(String, String)> {
        Vec::new()
    }
}

fn xml(status: u16, body: Vec<u8>) -> SimResponse {
    SimResponse::new(status, content_type::XML, body)
}

/// The XSD a QPS endpoint's responses name: `/qps/xsd/3.0/<module>/<object>.xsd` for
/// `/qps/rest/3.0/<verb>/<module>/<object>`, `/qps/xsd/<name>.xsd` for a portal path.
pub fn schema_location(endpoint: Option<&Endpoint>) -> String {
    match endpoint.map(|e| e.pattern) {
        Some(PathPattern::Qps { path, .. }) => {
            let mut parts = path.splitn(3, '/').skip(1);
            match (parts.next(), parts.next()) {
                (Some(module), Some(object)) => format!("/qps/xsd/3.0/{module}/{object}.xsd"),
                _ => AUTH_SCHEMA.to_string(),
            }
        }
        Some(PathPattern::Exact(p)) if p.starts_with("/qps/rest/portal/") => {
            format!("/qps/xsd/{}.xsd", p.rsplit('/').next().unwrap_or("version"))
        }
        _ => AUTH_SCHEMA.to_string(),
    }
}

/// A `ServiceResponse` as the recordings show it: XML declaration without a space before
/// `?>`, the `xsi` namespace and schema location on the root, two-space indentation, no line
/// break after the root.
pub fn service_response(
    origin: &str,
    schema: &str,
    response_code: &str,
    error: Option<(&str, Option<&str>)>,
    internal_code: Option<u32>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceResponse xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"");
    escape_into(&mut out, origin);
    escape_into(&mut out, schema);
    out.extend_from_slice(b"\">\n");
    leaf_text(&mut out, 1, "responseCode", response_code);
    if let Some((message, resolution)) = error {
        open(&mut out, 1, "responseErrorDetails");
        leaf_text(&mut out, 2, "errorMessage", message);
        if let Some(r) = resolution {
            leaf_text(&mut out, 2, "errorResolution", r);
        }
        if let Some(c) = internal_code {
            leaf_u64(&mut out, 2, "internalErrorCodeId", u64::from(c));
        }
        close(&mut out, 1, "responseErrorDetails");
    }
    out.extend_from_slice(b"</ServiceResponse>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualys::Permission;
    use crate::qualys::endpoint;
    use crate::sim::tenant::Limits;
    use crate::sim::timestamp::Timestamp;

    const ORIGIN: &str = "https://qualysapi.qg3.apps.qualys.com";

    fn ctx(endpoint: &'static Endpoint) -> Context<'static> {
        Context {
            origin: ORIGIN,
            path: "/qps/rest/3.0/search/was/webapp",
            endpoint: Some(endpoint),
            user: "quays_ab1",
            now: Timestamp(0),
            limits: Some(LimitHeaders::fresh(Limits::default())),
        }
    }

    fn body(r: &SimResponse) -> String {
        String::from_utf8(r.bytes().unwrap().to_vec()).unwrap()
    }

    #[test]
    fn a_bad_login_is_the_recorded_invalid_credentials_inside_http_200() {
        let r = QpsDialect.refusal(&ctx(&endpoint::QPS_PORTAL_VERSION), Refusal::BadLogin);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Type"), Some("application/xml"));
        assert_eq!(r.header("X-Powered-By"), None);
        assert_eq!(r.header("X-RateLimit-Limit"), None);
        // Byte for byte the recording verifyAuthenticationInaccesible_1787272724.
        assert_eq!(
            body(&r),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceResponse xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"https://qualysapi.qg3.apps.qualys.com/qps/xsd/2.0/am/hostasset.xsd\">\n  <responseCode>INVALID_CREDENTIALS</responseCode>\n  <responseErrorDetails>\n    <errorMessage>Authentication failed</errorMessage>\n    <errorResolution>Verify both, user and password credentials.</errorResolution>\n  </responseErrorDetails>\n</ServiceResponse>"
        );
    }

    #[test]
    fn account_states_and_permissions_say_which_inside_http_200() {
        let c = ctx(&endpoint::WAS_WEBAPP_SEARCH);
        let r = QpsDialect.refusal(
            &c,
            Refusal::PermissionMissing(Permission::ManageWebApplications),
        );
        assert_eq!(r.status, 200);
        let b = body(&r);
        assert!(
            b.contains("<responseCode>UNAUTHORIZED</responseCode>"),
            "{b}"
        );
        assert!(b.contains("/qps/xsd/3.0/was/webapp.xsd"), "{b}");
        assert!(b.contains("not authorized to access the application through the API"));
        let r = QpsDialect.refusal(&c, Refusal::NoApiAccess);
        assert!(body(&r).contains("<responseCode>UNAUTHORIZED</responseCode>"));
        for (refusal, text) in [
            (Refusal::Expired, "This account has expired."),
            (
                Refusal::RegistrationIncomplete,
                "Registration must be completed",
            ),
            (Refusal::Inactive, "This account is inactive."),
        ] {
            let r = QpsDialect.refusal(&c, refusal);
            let b = body(&r);
            assert_eq!(r.status, 200);
            assert!(
                b.contains("<responseCode>INVALID_CREDENTIALS</responseCode>"),
                "{b}"
            );
            assert!(b.contains(text), "{refusal:?}: {b}");
        }
    }

    #[test]
    fn a_rejected_criteria_is_invalid_request_and_an_unmodelled_endpoint_a_404() {
        let c = ctx(&endpoint::WAS_FINDING_SEARCH);
        let r = QpsDialect.rejection(
            &c,
            &Rejection::new(
                RejectionKind::InvalidValue,
                "Criteria: Invalid value format for criteria 'webApp.id' (abc123).",
            ),
        );
        assert_eq!(r.status, 200);
        let b = body(&r);
        assert!(b.contains("/qps/xsd/3.0/was/finding.xsd"), "{b}");
        assert!(b.contains("<responseCode>INVALID_REQUEST</responseCode>"));
        assert!(
            b.contains("criteria &apos;webApp.id&apos; (abc123)."),
            "{b}"
        );
        let r = QpsDialect.rejection(&c, &Rejection::not_modelled(&endpoint::WAS_FINDING_SEARCH));
        assert_eq!(r.status, 404);
        let b = body(&r);
        assert!(b.contains("<responseCode>OPERATION_NOT_SUPPORTED</responseCode>"));
        assert!(b.contains("was_finding_search endpoint (WAS search findings) is not modelled"));
    }

    #[test]
    fn throttles_are_429_with_retry_after_and_no_limit_headers() {
        let c = ctx(&endpoint::WAS_WEBAPP_SEARCH);
        let t = LimitReached::Rate {
            seconds_to_wait: 30,
            headers: LimitHeaders::fresh(Limits::default()),
        };
        let r = QpsDialect.limit_reached(&c, &t);
        assert_eq!((r.status, r.header("Retry-After")), (429, Some("30")));
        assert_eq!(r.header("X-RateLimit-Limit"), None);
        assert!(body(&r).contains("<responseCode>OTHER_ERROR</responseCode>"));
        assert!(QpsDialect.limit_headers(LimitHeaders::default()).is_empty());
    }

    #[test]
    fn injected_errors_keep_their_status_and_code() {
        let c = ctx(&endpoint::WAS_WEBAPP_SEARCH);
        let r = QpsDialect.injected(
            &c,
            InjectedError::Coded {
                status: 503,
                code: Some(1999),
                text: "maintenance",
            },
        );
        assert_eq!(r.status, 503);
        let b = body(&r);
        assert!(b.contains("<errorMessage>maintenance</errorMessage>"));
        assert!(b.contains("<internalErrorCodeId>1999</internalErrorCodeId>"));
        let r = QpsDialect.injected(&c, InjectedError::Internal { status: 500 });
        assert_eq!(r.status, 500);
        assert!(body(&r).contains("Internal error. Please contact customer support."));
    }

    #[test]
    fn schema_locations_follow_the_endpoint() {
        assert_eq!(
            schema_location(Some(&endpoint::WAS_FINDING_GET)),
            "/qps/xsd/3.0/was/finding.xsd"
        );
        assert_eq!(
            schema_location(Some(&endpoint::QPS_PORTAL_VERSION)),
            "/qps/xsd/version.xsd"
        );
    }
}
