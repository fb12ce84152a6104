//! The API gateway's error reader (`/auth`, `/pcrs/...`, Policy Compliance).
//!
//! The gateway answers errors as JSON with an HTTP status. Shapes recorded in the Qualys
//! documentation (`shared/reference/api/qualys-vmdr-pc.md` section 5):
//!
//! | status | body | error |
//! |---|---|---|
//! | 401 | `{"status":401,"error":"Unauthorized","message":"JWT expired"}` | session expired: the client logs in again once |
//! | 401 | `{"status":401,"error":"Unauthorized","message":"Not authenticated"}` | session rejected |
//! | 401 on `/auth` | `{"authentication_exceptions":[["Authentication Failure: ..."]]}` | bad login |
//! | 403 | (not documented) | permission missing |
//! | 429 | (any), `Retry-After` | rate limit (25 calls per 60 s per API), retried |
//! | 400 | `[{"response":{"datetime":"...","code":1905,"text":"parameter policy_ids has invalid value: ..."}}]` | rejected, naming the parameter |
//! | 404 | `{"message":"Invalid input Parameter."}` | rejected |
//! | 5xx | (any) | server error, retried |

use serde_json::Value;

use super::ResponseFacts;
use crate::error::{AccountProblem, Error, QualysMessage, Throttle};
use crate::qualys::endpoint;

/// Classifies a complete (bounded) body of an answer that was not a 2xx.
pub fn from_body(facts: &ResponseFacts, body: &[u8]) -> Error {
    let exchange = facts.exchange.clone();
    let status = facts.status();
    let (code, text) = message_of(body, status);
    let message = Box::new(QualysMessage {
        code,
        text,
        ..QualysMessage::default()
    });
    let account = |problem| Error::Account {
        problem,
        exchange: exchange.clone(),
        message: message.clone(),
    };
    match status {
        401 if facts.endpoint == &endpoint::GATEWAY_AUTH => account(login_problem(&message.text)),
        401 if message.text.to_ascii_lowercase().contains("expired") => {
            account(AccountProblem::SessionExpired)
        }
        401 => account(AccountProblem::SessionRejected),
        403 => account(match facts.endpoint.permission {
            Some(p) => AccountProblem::PermissionMissing(p),
            None => AccountProblem::BadLogin,
        }),
        429 => Error::Throttled {
            kind: Throttle::Rate,
            exchange,
            message,
            wait: facts.retry_after,
        },
        s if s >= 500 => Error::Server { exchange, message },
        _ => {
            let parameter = super::fo::parameter_named_in(&message.text);
            Error::Rejected {
                exchange,
                message,
                parameter,
            }
        }
    }
}

/// What a refused login names: the account state behind an `AccountStatusException` (its
/// text is the API server's for the same state), else bad credentials.
fn login_problem(text: &str) -> AccountProblem {
    use crate::qualys::fo::code;
    if !text.contains("AccountStatusException") {
        return AccountProblem::BadLogin;
    }
    [
        (
            code::REGISTRATION_INCOMPLETE_TEXT,
            AccountProblem::RegistrationIncomplete,
        ),
        (code::ACCOUNT_EXPIRED_TEXT, AccountProblem::Expired),
        (code::ACCOUNT_INACTIVE_TEXT, AccountProblem::Inactive),
        (code::SECURE_ID_TEXT, AccountProblem::SecureIdRequired),
    ]
    .into_iter()
    .find(|(t, _)| text.contains(t))
    .map_or(AccountProblem::BadLogin, |(_, p)| p)
}

/// The code and text of a gateway error body, whichever documented shape it has.
fn message_of(body: &[u8], status: u16) -> (Option<u32>, String) {
    let fallback = || {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
        let text = text.trim();
        if text.is_empty() {
            format!("HTTP {status} with no body")
        } else {
            format!("HTTP {status}: {text:?}")
        }
    };
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return (None, fallback());
    };
    // [{"response": {"code": 1905, "text": "..."}}]
    if let Some(response) = json.get(0).and_then(|first| first.get("response")) {
        let code = response
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok());
        if let Some(text) = response.get("text").and_then(Value::as_str) {
            return (code, text.to_string());
        }
    }
    // {"message": "JWT expired"} and {"status": 401, "error": "Unauthorized", "message": ...}
    if let Some(text) = json.get("message").and_then(Value::as_str) {
        return (None, text.to_string());
    }
    // {"authentication_exceptions": [["Authentication Failure: ..."]]}
    if let Some(exceptions) = json.get("authentication_exceptions") {
        let mut texts = Vec::new();
        collect_strings(exceptions, &mut texts);
        if !texts.is_empty() {
            return (None, texts.join("; "));
        }
    }
    if let Some(text) = json.get("error").and_then(Value::as_str) {
        return (None, text.to_string());
    }
    (None, fallback())
}

fn collect_strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ExitClass, Retry};
    use std::time::Duration;

    fn read(endpoint: &'static endpoint::Endpoint, status: u16, body: &str) -> Error {
        let facts = ResponseFacts::for_test(endpoint, status);
        super::super::read(&facts, body.as_bytes())
    }

    #[test]
    fn jwt_expired_and_not_authenticated_are_told_apart() {
        let e = read(
            &endpoint::PCRS_POSTURE_INFO,
            401,
            r#"{"status":401,"error":"Unauthorized","message":"JWT expired"}"#,
        );
        assert!(matches!(
            e,
            Error::Account {
                problem: AccountProblem::SessionExpired,
                ..
            }
        ));
        let e = read(
            &endpoint::PCRS_POLICY_LIST,
            401,
            r#"{"status":401,"error":"Unauthorized","message":"Not authenticated"}"#,
        );
        assert!(
            matches!(
                &e,
                Error::Account {
                    problem: AccountProblem::SessionRejected,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("Not authenticated"), "{e}");
    }

    #[test]
    fn a_refused_login_is_a_bad_login_never_retried() {
        let e = read(
            &endpoint::GATEWAY_AUTH,
            401,
            r#"{"authentication_exceptions": [["Authentication Failure: 1 errors, 0 successes: authenticationFailure.InvalidCredentialsException"]]}"#,
        );
        assert!(matches!(
            e,
            Error::Account {
                problem: AccountProblem::BadLogin,
                ..
            }
        ));
        assert_eq!(e.retry(), Retry::Never);
        assert!(e.to_string().contains("InvalidCredentialsException"), "{e}");
    }

    #[test]
    fn a_login_refused_for_the_account_state_names_the_state() {
        let e = read(
            &endpoint::GATEWAY_AUTH,
            401,
            r#"{"authentication_exceptions":[["Authentication Failure: 1 errors, 0 successes: authenticationFailure.AccountStatusException: Registration must be completed before API requests will be served for this account"]]}"#,
        );
        assert!(
            matches!(
                e,
                Error::Account {
                    problem: AccountProblem::RegistrationIncomplete,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("activation"), "{e}");
    }

    #[test]
    fn a_429_waits_as_retry_after_asks() {
        let mut facts = ResponseFacts::for_test(&endpoint::PCRS_HOST_IDS, 429);
        facts.retry_after = Some(Duration::from_secs(7));
        let e = super::super::read(&facts, b"");
        assert_eq!(e.retry(), Retry::After(Duration::from_secs(7)), "{e}");
        assert_eq!(e.exit_class(), ExitClass::Transient);
    }

    #[test]
    fn code_1905_in_the_array_shape_names_the_parameter() {
        let e = read(
            &endpoint::PCRS_HOST_IDS,
            400,
            r#"[{"response":{"datetime":"2021-10-28T13:29:06Z","code":1905,"text":"parameter policy_ids has invalid value: 4199751a (Invalid value: 4199751a)"}}]"#,
        );
        assert!(
            matches!(&e, Error::Rejected { parameter: Some(p), .. } if p == "policy_ids"),
            "{e}"
        );
        assert_eq!(e.qualys_code(), Some(1905));
    }

    #[test]
    fn a_404_for_a_bad_flag_quotes_the_gateway() {
        let e = read(
            &endpoint::PCRS_POSTURE_INFO,
            404,
            r#"{"message":"Invalid input Parameter."}"#,
        );
        assert!(matches!(e, Error::Rejected { .. }), "{e}");
        assert!(e.to_string().contains("Invalid input Parameter."), "{e}");
        assert_eq!(e.exit_class(), ExitClass::Other);
    }

    #[test]
    fn server_errors_are_retried_and_bodies_that_are_not_json_are_quoted() {
        let e = read(&endpoint::PCRS_POSTURE_INFO, 502, "Bad Gateway");
        assert_eq!(e.retry(), Retry::Backoff);
        assert!(e.to_string().contains("\"Bad Gateway\""), "{e}");
    }
}
