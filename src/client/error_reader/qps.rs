//! The QPS REST API's error reader (`/qps/rest/...`, WAS).
//!
//! QPS answers every call with a `ServiceResponse` whose `responseCode` says whether it worked,
//! usually inside HTTP 200 ("Qualys may return a 200 even though the request was
//! unauthorized"), sometimes with 401 or 403. So the code is read on every answer, and anything
//! but `SUCCESS` is an error:
//!
//! | responseCode | error | exit |
//! |---|---|---|
//! | `INVALID_CREDENTIALS`, `AUTH_CREDENTIALS_NEEDED` | account: bad login, or the account state its `errorMessage` names in the FO API's words (expired, inactive, registration incomplete, SecureID) | 3 |
//! | `UNAUTHORIZED`, `UNAUTHORIZED_DESTINATION_APPS` | account: API access, module, permission | 3 |
//! | `EVALUATION_EXPIRED` | account: expired | 3 |
//! | `OTHER_ERROR`, `JMS_SERVER_DOWN`, `RMI_SERVER_DOWN`, `STILL_PROCESSING` | server (retried) | 4 |
//! | `INVALID_REQUEST` and every other code | rejected, with `errorMessage` and `errorResolution` quoted | 1 |
//!
//! Facts: `shared/reference/api/qualys-was.md` section 4 and the recorded bodies in
//! `shared/reference/was/graph-qualys/bodies/`.

use super::{ResponseFacts, snippet};
use crate::error::{AccountProblem, Error, QualysMessage, Throttle};
use crate::parse::xml::document::{self, Root};
use crate::parse::xml::service_response::{self, ServiceResponseHead};
use crate::qualys::Permission;
use crate::qualys::fo::code;

/// Classifies a complete (bounded) body of an answer that was not a 2xx.
pub fn from_body(facts: &ResponseFacts, body: &[u8]) -> Error {
    let origin = facts.exchange.to_string();
    let mut reader = document::reader(body);
    let mut buf = Vec::new();
    let detail = match document::read_root(&mut reader, &mut buf, &origin) {
        Ok(Root::ServiceResponse) => match service_response::read_head(reader, buf, &origin) {
            Ok((head, _)) if !head.is_success() => return from_head(facts, head),
            Ok(_) => "a ServiceResponse saying SUCCESS".to_string(),
            Err(e) => e.to_string(),
        },
        // The API server's front end answers some QPS failures in the FO dialect.
        Ok(Root::SimpleReturn | Root::GenericReturn) => return super::fo::from_body(facts, body),
        Ok(other) => format!("a <{}> document", other.name()),
        Err(_) if body.is_empty() => "no body".to_string(),
        Err(_) => snippet(facts, body),
    };
    status_only(facts, detail)
}

/// The error a `ServiceResponse` head that is not `SUCCESS` stands for: what the client calls
/// for a 401/403, and what a stream's parser calls when it finds one inside HTTP 200.
pub fn from_head(facts: &ResponseFacts, head: ServiceResponseHead) -> Error {
    let exchange = facts.exchange.clone();
    let parameter = head.error_message.as_deref().and_then(criteria_named_in);
    let state = head.error_message.clone();
    let message = Box::new(QualysMessage {
        code: None,
        text: match &head.error_message {
            Some(m) => format!("{}: {m:?}", head.response_code),
            None => head.response_code.clone(),
        },
        resolution: head.error_resolution,
        ..QualysMessage::default()
    });
    let account = |problem| Error::Account {
        problem,
        exchange: exchange.clone(),
        message: message.clone(),
    };
    match head.response_code.as_str() {
        "SUCCESS" => Error::Unexpected {
            origin: exchange.to_string(),
            offset: 0,
            problem: "a ServiceResponse saying SUCCESS was read as an error; this is a connector \
                      bug worth reporting"
                .into(),
        },
        "INVALID_CREDENTIALS" | "AUTH_CREDENTIALS_NEEDED" => account(
            state
                .as_deref()
                .and_then(account_state_named_in)
                .unwrap_or(AccountProblem::BadLogin),
        ),
        "UNAUTHORIZED" | "UNAUTHORIZED_DESTINATION_APPS" => {
            account(AccountProblem::ApiUnauthorized(permission(facts)))
        }
        "EVALUATION_EXPIRED" => account(AccountProblem::Expired),
        "OTHER_ERROR" | "JMS_SERVER_DOWN" | "RMI_SERVER_DOWN" | "STILL_PROCESSING" => {
            Error::Server { exchange, message }
        }
        _ => Error::Rejected {
            exchange,
            message,
            parameter,
        },
    }
}

/// An answer without a usable `ServiceResponse`: classified by its status.
fn status_only(facts: &ResponseFacts, detail: String) -> Error {
    let exchange = facts.exchange.clone();
    let status = facts.status();
    let message = Box::new(QualysMessage {
        text: format!("HTTP {status} with {detail}"),
        ..QualysMessage::default()
    });
    match status {
        401 => Error::Account {
            problem: AccountProblem::BadLogin,
            exchange,
            message,
        },
        403 => Error::Account {
            problem: AccountProblem::ApiUnauthorized(permission(facts)),
            exchange,
            message,
        },
        // WAS documents no rate limit, but a 409 or 429 from the front end means the same.
        409 | 429 => Error::Throttled {
            kind: Throttle::Rate,
            exchange,
            message,
            wait: facts.retry_after,
        },
        s if s >= 500 => Error::Server { exchange, message },
        _ => Error::Rejected {
            exchange,
            message,
            parameter: None,
        },
    }
}

fn permission(facts: &ResponseFacts) -> Permission {
    facts
        .endpoint
        .permission
        .unwrap_or(Permission::ManageWebApplications)
}

/// The account state an `INVALID_CREDENTIALS` names in its message, when it uses the FO API's
/// words for it. QPS has no code per state; a login refused because the account expired, is
/// inactive or was never activated says so only in `errorMessage` (how the simulator answers,
/// see fixtures/README.md), and the user needs that state's remedy, not the bad-login one.
fn account_state_named_in(text: &str) -> Option<AccountProblem> {
    [
        (code::ACCOUNT_EXPIRED_TEXT, AccountProblem::Expired),
        (code::ACCOUNT_INACTIVE_TEXT, AccountProblem::Inactive),
        (
            code::REGISTRATION_INCOMPLETE_TEXT,
            AccountProblem::RegistrationIncomplete,
        ),
        (code::SECURE_ID_TEXT, AccountProblem::SecureIdRequired),
    ]
    .into_iter()
    .find(|(words, _)| text.trim() == *words)
    .map(|(_, problem)| problem)
}

/// The criteria field an `INVALID_REQUEST` names: `isScanned` in "Criteria: Invalid value
/// format for criteria 'isScanned' (undefined)."
fn criteria_named_in(text: &str) -> Option<String> {
    let rest = &text[text.find("criteria '")? + "criteria '".len()..];
    Some(rest[..rest.find('\'')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitClass;
    use crate::parse::xml::service_response::recorded;
    use crate::qualys::endpoint;

    fn facts(status: u16) -> ResponseFacts {
        ResponseFacts::for_test(&endpoint::WAS_WEBAPP_SEARCH, status)
    }

    fn read(status: u16, body: &str) -> Error {
        super::super::read(&facts(status), body.as_bytes())
    }

    #[test]
    fn invalid_credentials_is_an_account_error_with_http_200_or_401() {
        for status in [200, 401] {
            let e = read(status, recorded::INVALID_CREDENTIALS);
            assert!(
                matches!(
                    &e,
                    Error::Account {
                        problem: AccountProblem::BadLogin,
                        ..
                    }
                ),
                "{e}"
            );
            assert_eq!(e.exit_class(), ExitClass::Account);
            assert!(e.to_string().contains("username and password"), "{e}");
        }
    }

    #[test]
    fn invalid_credentials_naming_an_account_state_gets_that_states_remedy() {
        let body = |text: &str| {
            format!(
                "<ServiceResponse><responseCode>INVALID_CREDENTIALS</responseCode><responseErrorDetails><errorMessage>{text}</errorMessage></responseErrorDetails></ServiceResponse>"
            )
        };
        let e = read(200, &body(code::REGISTRATION_INCOMPLETE_TEXT));
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
        let e = read(200, &body(code::ACCOUNT_EXPIRED_TEXT));
        assert!(e.to_string().contains("renew"), "{e}");
    }

    #[test]
    fn unauthorized_names_api_access_the_was_module_and_the_permission() {
        let body = "<ServiceResponse><responseCode>UNAUTHORIZED</responseCode><responseErrorDetails><errorMessage>You are not authorized to access the application through the API.</errorMessage><errorResolution>If you think this is an error, please contact your account manager.</errorResolution></responseErrorDetails></ServiceResponse>";
        for status in [200, 401, 403] {
            let e = read(status, body);
            let msg = e.to_string();
            assert_eq!(e.exit_class(), ExitClass::Account, "{msg}");
            for words in ["API access", "WAS module", "Manage Web Applications"] {
                assert!(msg.contains(words), "{words:?} missing: {msg}");
            }
        }
        // CTI's stub: a bare UNAUTHORIZED with 403 and no details.
        let e = read(
            403,
            "<ServiceResponse><responseCode>UNAUTHORIZED</responseCode></ServiceResponse>",
        );
        assert!(e.to_string().contains("Manage Web Applications"), "{e}");
    }

    #[test]
    fn invalid_request_quotes_the_message_and_the_resolution_and_names_the_criteria() {
        let e = read(200, recorded::INVALID_REQUEST);
        assert!(
            matches!(&e, Error::Rejected { parameter: Some(p), .. } if p == "isScanned"),
            "{e}"
        );
        assert_eq!(e.exit_class(), ExitClass::Other);
        let msg = e.to_string();
        assert!(
            msg.contains(
                "INVALID_REQUEST: \"Criteria: Invalid value format for criteria 'isScanned' (undefined).\""
            ),
            "{msg}"
        );
        assert!(msg.contains("\"Values expected: true, false.\""), "{msg}");
    }

    #[test]
    fn every_code_but_success_is_an_error_and_server_side_codes_are_retried() {
        let body = |code: &str| {
            format!("<ServiceResponse><responseCode>{code}</responseCode></ServiceResponse>")
        };
        let e = read(200, &body("OTHER_ERROR"));
        assert_eq!(e.retry(), crate::error::Retry::Backoff, "{e}");
        let e = read(200, &body("SOMETHING_NEW"));
        assert!(matches!(e, Error::Rejected { .. }), "{e}");
        let e = read(200, &body("EVALUATION_EXPIRED"));
        assert!(matches!(
            e,
            Error::Account {
                problem: AccountProblem::Expired,
                ..
            }
        ));
    }

    #[test]
    fn without_a_service_response_the_status_decides() {
        assert!(matches!(
            read(401, ""),
            Error::Account {
                problem: AccountProblem::BadLogin,
                ..
            }
        ));
        assert_eq!(read(503, "").exit_class(), ExitClass::Transient);
        assert!(matches!(read(429, "busy"), Error::Throttled { .. }));
    }
}
