//! The API gateway's dialect (`/auth`, PCRS under `/pcrs/N.0/`): JSON bodies with a real HTTP
//! status.
//!
//! | situation | HTTP | body | source |
//! |---|---|---|---|
//! | no bearer token, or one the gateway did not issue | 401 | `{"status":401,"error":"Unauthorized","message":"Not authenticated"}` | Qualys PCRS docs |
//! | expired token | 401 | `{"status":401,"error":"Unauthorized","message":"JWT expired"}` | Qualys PCRS docs |
//! | `/auth` with a wrong user or password (or no API access) | 401 | `{"authentication_exceptions":[["Authentication Failure: 1 errors, 0 successes: authenticationFailure.InvalidCredentialsException"]]}` | Qualys PCRS docs (layout approximate) |
//! | `/auth` for an expired, inactive, unregistered or SecureID account | 401 | the same list, `authenticationFailure.AccountStatusException: <FO text>` | the simulator's choice |
//! | module permission missing | 403 | `{"status":403,"error":"Forbidden","message":...}` | the simulator's choice |
//! | rate / concurrency limit | 429 (+ `Retry-After`) | `{"status":429,"error":"Too Many Requests","message":...}` | status documented (PCRS: 25 calls per 60 s); body the simulator's |
//! | bad parameter | 400 | `[{"response":{"datetime":...,"code":1905,"text":...}}]` | Qualys PCRS docs (non-numeric policy ID) |
//! | not modelled, bad method, injected error | 404, 405, the fault's | `{"status":..,"error":..,"message":..}` (a coded error uses the array above) | the simulator's |
//!
//! Keys are written in the documented order, not sorted. No limit headers (none documented).

use crate::qualys::fo::code;
use crate::sim::engine::accounts::Refusal;
use crate::sim::engine::handler::{Rejection, RejectionKind};
use crate::sim::engine::limits::{LimitHeaders, LimitReached};
use crate::sim::server::response::{SimResponse, content_type};
use crate::sim::timestamp::Timestamp;

use super::fo::{permission_text, status_and_code};
use super::{Context, Dialect, InjectedError};

/// The API gateway's dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatewayDialect;

impl Dialect for GatewayDialect {
    fn refusal(&self, _ctx: &Context<'_>, refusal: Refusal) -> SimResponse {
        let state = |text: &str| format!("authenticationFailure.AccountStatusException: {text}");
        match refusal {
            Refusal::NotAuthenticated => status_body(401, "Not authenticated"),
            Refusal::SessionExpired => status_body(401, "JWT expired"),
            Refusal::BadLogin | Refusal::NoApiAccess => {
                login_failure("authenticationFailure.InvalidCredentialsException")
            }
            Refusal::Expired => login_failure(&state(code::ACCOUNT_EXPIRED_TEXT)),
            Refusal::Inactive => login_failure(&state(code::ACCOUNT_INACTIVE_TEXT)),
            Refusal::RegistrationIncomplete => {
                login_failure(&state(code::REGISTRATION_INCOMPLETE_TEXT))
            }
            Refusal::SecureIdRequired => login_failure(&state(code::SECURE_ID_TEXT)),
            Refusal::PermissionMissing(p) => status_body(403, &permission_text(p)),
        }
    }

    fn limit_reached(&self, _ctx: &Context<'_>, reached: &LimitReached) -> SimResponse {
        let mut r = status_body(429, &reached.message());
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
        match rejection.kind {
            RejectionKind::MethodNotAllowed => status_body(405, &rejection.text),
            RejectionKind::NotModelled => status_body(404, &rejection.text),
            kind => {
                let (_, code) = status_and_code(kind);
                coded(400, ctx.now, code, &rejection.text)
            }
        }
    }

    fn injected(&self, ctx: &Context<'_>, error: InjectedError<'_>) -> SimResponse {
        match error {
            InjectedError::Internal { status } => status_body(status, code::INTERNAL_ERROR_TEXT),
            InjectedError::Coded {
                status,
                code: Some(code),
                text,
            } => coded(status, ctx.now, code, text),
            InjectedError::Coded {
                status,
                code: None,
                text,
            } => status_body(status, text),
        }
    }

    fn limit_headers(&self, _headers: LimitHeaders) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    // Serialising a &str cannot fail.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn json(status: u16, body: String) -> SimResponse {
    SimResponse::new(status, content_type::JSON, body)
}

/// `{"status":401,"error":"Unauthorized","message":"..."}`, the gateway's error object.
fn status_body(status: u16, message: &str) -> SimResponse {
    let error = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    json(
        status,
        format!(
            "{{\"status\":{status},\"error\":{},\"message\":{}}}",
            json_string(error),
            json_string(message)
        ),
    )
}

/// The 401 of a failed `POST /auth`.
fn login_failure(exception: &str) -> SimResponse {
    json(
        401,
        format!(
            "{{\"authentication_exceptions\":[[{}]]}}",
            json_string(&format!(
                "Authentication Failure: 1 errors, 0 successes: {exception}"
            ))
        ),
    )
}

/// `[{"response":{"datetime":"...","code":1905,"text":"..."}}]`, PCRS's coded error.
fn coded(status: u16, now: Timestamp, code: u32, text: &str) -> SimResponse {
    json(
        status,
        format!(
            "[{{\"response\":{{\"datetime\":\"{now}\",\"code\":{code},\"text\":{}}}}}]",
            json_string(text)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualys::Permission;
    use crate::qualys::endpoint;
    use crate::sim::tenant::Limits;

    fn ctx() -> Context<'static> {
        Context {
            origin: "https://gateway.qg1.apps.qualys.com",
            path: "/pcrs/1.0/posture/postureInfo",
            endpoint: Some(&endpoint::PCRS_POSTURE_INFO),
            user: "",
            now: Timestamp(1_635_427_746),
            limits: None,
        }
    }

    fn body(r: &SimResponse) -> &str {
        std::str::from_utf8(r.bytes().unwrap()).unwrap()
    }

    #[test]
    fn bearer_refusals_are_the_documented_401_bodies() {
        let r = GatewayDialect.refusal(&ctx(), Refusal::NotAuthenticated);
        assert_eq!(r.status, 401);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(
            body(&r),
            r#"{"status":401,"error":"Unauthorized","message":"Not authenticated"}"#
        );
        let r = GatewayDialect.refusal(&ctx(), Refusal::SessionExpired);
        assert_eq!(
            body(&r),
            r#"{"status":401,"error":"Unauthorized","message":"JWT expired"}"#
        );
    }

    #[test]
    fn a_failed_login_is_the_auth_401_and_states_name_themselves() {
        let r = GatewayDialect.refusal(&ctx(), Refusal::BadLogin);
        assert_eq!(r.status, 401);
        assert_eq!(
            body(&r),
            r#"{"authentication_exceptions":[["Authentication Failure: 1 errors, 0 successes: authenticationFailure.InvalidCredentialsException"]]}"#
        );
        let r = GatewayDialect.refusal(&ctx(), Refusal::RegistrationIncomplete);
        assert_eq!(r.status, 401);
        assert!(body(&r).contains("AccountStatusException: Registration must be completed"));
        let r = GatewayDialect.refusal(&ctx(), Refusal::PermissionMissing(Permission::ManagePc));
        assert_eq!(r.status, 403);
        assert!(body(&r).starts_with(r#"{"status":403,"error":"Forbidden","message":"Access denied: this user does not have the \"Manage PC module\""#));
        serde_json::from_str::<serde_json::Value>(body(&r)).unwrap();
    }

    #[test]
    fn throttles_are_429_and_parameters_the_coded_400_array() {
        let t = LimitReached::Rate {
            seconds_to_wait: 60,
            headers: LimitHeaders::fresh(Limits::default()),
        };
        let r = GatewayDialect.limit_reached(&ctx(), &t);
        assert_eq!((r.status, r.header("Retry-After")), (429, Some("60")));
        assert!(body(&r).starts_with(r#"{"status":429,"error":"Too Many Requests","message":"This API cannot be run again for another 1 minute."#));
        let r = GatewayDialect.rejection(
            &ctx(),
            &Rejection::invalid("policy_ids", "4199751a", "Invalid value: 4199751a"),
        );
        assert_eq!(r.status, 400);
        assert_eq!(
            body(&r),
            r#"[{"response":{"datetime":"2021-10-28T13:29:06Z","code":1905,"text":"parameter policy_ids has invalid value: 4199751a (Invalid value: 4199751a)"}}]"#
        );
    }

    #[test]
    fn unmodelled_endpoints_and_injected_errors_are_status_objects() {
        let r = GatewayDialect.rejection(
            &ctx(),
            &Rejection::not_modelled(&endpoint::PCRS_POSTURE_INFO),
        );
        assert_eq!(r.status, 404);
        assert!(body(&r).starts_with(r#"{"status":404,"error":"Not Found","message":"qharness simulator: the pcrs_posture_info endpoint"#));
        let r = GatewayDialect.injected(&ctx(), InjectedError::Internal { status: 500 });
        assert_eq!(
            body(&r),
            r#"{"status":500,"error":"Internal Server Error","message":"Internal error. Please contact customer support."}"#
        );
        let r = GatewayDialect.injected(
            &ctx(),
            InjectedError::Coded {
                status: 503,
                code: None,
                text: "maintenance",
            },
        );
        assert_eq!(r.status, 503);
        assert!(
            GatewayDialect
                .limit_headers(LimitHeaders::default())
                .is_empty()
        );
    }
}
