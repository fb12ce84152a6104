//! The handler seam: one trait the engine calls, one impl per endpoint.
//!
//! Modelled on wiremock's `Respond`. The engine does every generic step first (routing, replay,
//! authentication, authorisation, answer faults, limits), then hands the [`Call`] to the
//! [`Handler`] registered for its endpoint in the routing table. The handler answers with a
//! [`SimResponse`] or rejects the request with a [`Rejection`], which the engine renders in the
//! family's dialect. A new endpoint is a new impl and a row in `sim/registry.rs`, never a new arm
//! in the engine.

use std::sync::Arc;

use crate::qualys::Endpoint;
use crate::sim::engine::fault::Fault;
use crate::sim::engine::redaction::is_secret_param;
use crate::sim::server::request::SimRequest;
use crate::sim::server::response::SimResponse;
use crate::sim::tenant::{Tenant, User};
use crate::sim::timestamp::Timestamp;

/// Answers the calls of one endpoint once the engine has let them through. Closures of the
/// same shape implement it too, which keeps a test's one-off endpoint short.
pub trait Handler: Send + Sync + 'static {
    /// The response to `call`, or why the endpoint refuses it.
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection>;
}

impl<F> Handler for F
where
    F: Fn(&Call<'_>) -> Result<SimResponse, Rejection> + Send + Sync + 'static,
{
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        self(call)
    }
}

/// One call that passed the engine's checks: the request and what the engine learnt about it.
#[derive(Debug)]
pub struct Call<'a> {
    pub request: &'a SimRequest,
    /// The endpoint called, for a handler that serves several.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "each VMDR handler serves one endpoint")
    )]
    pub endpoint: &'static Endpoint,
    /// The major version in the path: FO `/api/N.0`, PCRS `/pcrs/N.0`, 3 for QPS, 0 for
    /// unversioned paths.
    pub version: u8,
    /// The object id of a QPS `get` path.
    pub id: Option<u64>,
    /// Who is calling: authenticated, with the endpoint's permission.
    pub user: &'a User,
    pub tenant: &'a Arc<Tenant>,
    /// When the call arrived, for every date the response carries.
    pub now: Timestamp,
    /// The faults that change what the handler renders rather than replace or delay the
    /// response (`cursor_stuck`): the handler honours those it understands.
    pub render_faults: &'a [&'a Fault],
}

impl Call<'_> {
    /// The request's parameters without secrets: what a response may repeat (an echoed
    /// request, a next-page URL).
    pub fn public_params(&self) -> Vec<(String, String)> {
        self.request
            .params
            .iter()
            .filter(|(k, _)| !is_secret_param(k))
            .cloned()
            .collect()
    }

    /// Whether a fault of this kind applies to the call.
    pub fn has_fault(&self, fault: &Fault) -> bool {
        self.render_faults.contains(&fault)
    }
}

/// A request an endpoint refuses: not an error of the simulator but an answer, described in
/// neutral terms and worded by the family's dialect (FO: `SIMPLE_RETURN` CODE 1901, 1903, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectionKind,
    /// The explanation the dialect shows, written by whoever rejected the request.
    pub text: String,
    /// What the caller should do, for dialects that say it apart from the explanation (QPS
    /// `errorResolution`).
    pub resolution: Option<String>,
}

/// What was wrong with a rejected request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// A parameter the endpoint does not know.
    UnknownParameter,
    /// A required parameter is absent.
    MissingParameter,
    /// A parameter's value is not one the endpoint takes.
    InvalidValue,
    /// Two parameters that exclude each other were both given.
    ExclusiveParameters,
    /// An HTTP method the API does not serve.
    MethodNotAllowed,
    /// The endpoint is in the registry but the simulator has no handler for it yet.
    NotModelled,
}

impl Rejection {
    pub fn new(kind: RejectionKind, text: impl Into<String>) -> Rejection {
        Rejection {
            kind,
            text: text.into(),
            resolution: None,
        }
    }

    /// The same rejection with what the caller should do.
    pub fn with_resolution(mut self, resolution: impl Into<String>) -> Rejection {
        self.resolution = Some(resolution.into());
        self
    }

    /// A bad value, in Qualys's wording: `parameter ids has invalid value: abc (reason)`.
    pub fn invalid(name: &str, value: &str, reason: impl std::fmt::Display) -> Rejection {
        Rejection::new(
            RejectionKind::InvalidValue,
            format!("parameter {name} has invalid value: {value} ({reason})"),
        )
    }

    /// A parameter Qualys takes that the simulator does not model and will not ignore: a bad
    /// value in Qualys's wording (1905), with a reason that says what happened.
    pub fn not_modelled_parameter(name: &str, value: &str) -> Rejection {
        Rejection::invalid(
            name,
            value,
            "qharness simulator: Qualys accepts this parameter but the simulator does not model it, and ignoring it would answer with the wrong hosts or fields; leave it out, or answer this request from a fixture set",
        )
    }

    /// Missing parameters, in Qualys's wording.
    pub fn missing(names: &str) -> Rejection {
        Rejection::new(
            RejectionKind::MissingParameter,
            format!("Missing required parameter(s): {names}"),
        )
    }

    /// A required request header is absent (the simulator's wording; Qualys's is not
    /// documented, see fixtures/README.md).
    pub fn missing_header(name: &str) -> Rejection {
        Rejection::new(
            RejectionKind::MissingParameter,
            format!("Missing required header: {name}"),
        )
    }

    /// Unknown parameters, each named once, in Qualys's wording.
    pub fn unknown(names: &[&str]) -> Rejection {
        Rejection::new(
            RejectionKind::UnknownParameter,
            format!("Unrecognized parameter(s): {}", names.join(",")),
        )
    }

    /// Two parameters given together that exclude each other, in Qualys's wording.
    pub fn exclusive(a: &str, b: &str) -> Rejection {
        Rejection::new(
            RejectionKind::ExclusiveParameters,
            format!("Please specify only one of these parameters: {a}, {b}"),
        )
    }

    /// A method other than GET and POST.
    pub fn method_not_allowed(method: &str) -> Rejection {
        Rejection::new(
            RejectionKind::MethodNotAllowed,
            format!("Request method ({method}) is not supported; use GET or POST."),
        )
    }

    /// An endpoint of the registry that has no handler.
    pub fn not_modelled(endpoint: &Endpoint) -> Rejection {
        Rejection::new(
            RejectionKind::NotModelled,
            format!(
                "qharness simulator: the {} endpoint ({}) is not modelled yet",
                endpoint.name, endpoint.title
            ),
        )
    }
}
