//! The admin API: how a test suite drives one running simulator across its tests, WireMock's
//! admin API being the model. It lives under `/__sim/`, off every Qualys path, and answers only
//! a caller with the simulator's admin token (`Authorization: Bearer <token>`), so a connector
//! under test, which sends Basic credentials, cannot reach it by accident.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /__sim/health` | `{"status":"ready", ...}` with the tenant, faults, fixtures and journal counts |
//! | `PUT /__sim/tenant` | replaces the tenant: a TOML or JSON document in the format of `--tenant` (`[synthetic]` included) |
//! | `POST /__sim/faults` | adds fault rules: a document with a `faults` array, each rule as a tenant's `[[faults]]` |
//! | `DELETE /__sim/faults` | removes every fault rule in force (the tenant's too) until the next reset |
//! | `PUT /__sim/fixtures` | loads a replay set: a document with `path`, a directory on the simulator's machine |
//! | `DELETE /__sim/fixtures` | stops replaying; the tenant answers everything |
//! | `GET /__sim/journal?since=N&endpoint=NAME` | the journal as NDJSON, streamed, from sequence number N, of one endpoint |
//! | `POST /__sim/reset` | journal, limits, session tokens, fault rules and counters, clock back to the start |
//! | `GET`/`POST /__sim/clock` | the tenant's clock; `POST` with `now=2024-06-15` moves it |
//!
//! A document is JSON when its `Content-Type` says so or it starts with `{`, TOML otherwise.
//! Every error is JSON, `{"error": "..."}`, with `line` and `column` (1-based) when it is about
//! a place in the document sent. The journal's response headers say where it stands:
//! `X-Qharness-Journal-Next` (pass it as `since` to read only newer entries),
//! `X-Qharness-Journal-First` (the oldest entry kept) and `X-Qharness-Journal-Dropped` (entries
//! the bounded journal dropped since the last reset).

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::Engine;
use super::fault::FaultRule;
use super::replay::FixtureSet;
use crate::qualys::endpoint::EndpointScope;
use crate::sim::server::request::SimRequest;
use crate::sim::server::response::{SimResponse, content_type};
use crate::sim::tenant::{Tenant, TenantSpec};
use crate::sim::timestamp::Timestamp;

/// The bearer token the admin API asks for. Never printed by `Debug`.
#[derive(Clone)]
pub struct AdminToken(SecretString);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl AdminToken {
    /// A fresh random token: 32 hexadecimal characters (128 bits) from the operating system's
    /// generator, seeded once per thread.
    pub fn random() -> AdminToken {
        use rand::Rng;
        let mut rng = rand::rng();
        let text: String = (0..32)
            .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
            .collect();
        AdminToken(SecretString::from(text))
    }

    /// A token chosen by the user: printable ASCII without spaces, at least 8 characters, as it
    /// travels in an `Authorization` header.
    pub fn new(text: &str) -> Result<AdminToken, String> {
        if text.len() < 8 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "an admin token is at least 8 printable ASCII characters without spaces".into(),
            );
        }
        Ok(AdminToken(SecretString::from(text.to_string())))
    }

    /// The token itself, for whoever has to send it (a test, the start-up line).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn matches(&self, given: &str) -> bool {
        let want = self.0.expose_secret().as_bytes();
        want.len() == given.len() && bool::from(want.ct_eq(given.as_bytes()))
    }
}

/// The routes, for the 404 and 405 answers.
const ROUTES: &str = "GET /__sim/health, GET /__sim/journal, POST /__sim/reset, PUT /__sim/tenant, POST and DELETE /__sim/faults, PUT and DELETE /__sim/fixtures, GET and POST /__sim/clock";

/// An admin error: a status and a JSON body saying what was wrong, and where in the document
/// sent when that is known.
struct AdminError {
    status: u16,
    message: String,
    position: Option<(usize, usize)>,
}

impl AdminError {
    fn new(status: u16, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            message: message.into(),
            position: None,
        }
    }

    fn into_response(self) -> SimResponse {
        let mut body = json!({ "error": self.message });
        if let Some((line, column)) = self.position {
            body["line"] = json!(line);
            body["column"] = json!(column);
        }
        json_response(self.status, &body)
    }
}

fn json_response(status: u16, body: &serde_json::Value) -> SimResponse {
    let mut text = body.to_string();
    text.push('\n');
    SimResponse::new(status, content_type::JSON, text)
}

impl Engine {
    /// Answers a request to an admin path. Admin calls are not journalled.
    pub(super) fn admin(&self, req: &SimRequest) -> SimResponse {
        let token = req.credentials.as_ref().and_then(|c| c.token());
        if !token.is_some_and(|t| self.admin_token.matches(t)) {
            let mut r = AdminError::new(
                401,
                "the admin API needs the simulator's admin token: send `Authorization: Bearer <token>` with the token qharness serve printed at start (or the one given with --admin-token / QHARNESS_ADMIN_TOKEN)",
            )
            .into_response();
            r.headers.push((
                "WWW-Authenticate".into(),
                "Bearer realm=\"qharness admin\"".into(),
            ));
            return r;
        }
        let answer = match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/__sim/health") => Ok(self.health()),
            ("GET", "/__sim/journal") => self.journal_answer(req),
            ("POST", "/__sim/reset") => {
                self.reset();
                Ok(json_response(
                    200,
                    &json!({"reset": ["journal", "limits", "session tokens", "faults", "fault counters", "fixture sequences", "clock"]}),
                ))
            }
            ("PUT", "/__sim/tenant") => self.tenant_answer(req),
            ("POST", "/__sim/faults") => self.faults_answer(req),
            ("DELETE", "/__sim/faults") => {
                self.clear_faults();
                Ok(json_response(200, &json!({"faults": 0})))
            }
            ("PUT", "/__sim/fixtures") => self.fixtures_answer(req),
            ("DELETE", "/__sim/fixtures") => {
                self.replace_fixtures(None);
                Ok(json_response(200, &json!({"fixtures": null})))
            }
            ("GET" | "POST", "/__sim/clock") => self.clock_answer(req),
            (
                _,
                "/__sim/health" | "/__sim/journal" | "/__sim/reset" | "/__sim/tenant"
                | "/__sim/faults" | "/__sim/fixtures" | "/__sim/clock",
            ) => Err(AdminError::new(
                405,
                format!(
                    "{} {} is not an admin route; the routes are: {ROUTES}",
                    req.method, req.path
                ),
            )),
            _ => Err(AdminError::new(
                404,
                format!(
                    "{} is not an admin route; the routes are: {ROUTES}",
                    req.path
                ),
            )),
        };
        answer.unwrap_or_else(AdminError::into_response)
    }

    fn health(&self) -> SimResponse {
        let tenant = self.tenant();
        json_response(
            200,
            &json!({
                "status": "ready",
                "tenant": tenant.name,
                "users": tenant.users.len(),
                "hosts": tenant.vmdr.hosts.len(),
                "faults": self.faults().len(),
                "fixtures": self.fixture_count(),
                "now": self.now().to_string(),
                "journal": self.journal.stats(),
            }),
        )
    }

    fn journal_answer(&self, req: &SimRequest) -> Result<SimResponse, AdminError> {
        let mut since = 0;
        let mut scope = EndpointScope::Any;
        for (k, v) in &req.params {
            match k.as_str() {
                "since" => {
                    since = v.parse().map_err(|_| {
                        AdminError::new(
                            400,
                            format!("since={v:?} is not a sequence number; give a whole number, e.g. the X-Qharness-Journal-Next of the last read"),
                        )
                    })?
                }
                "endpoint" => scope = EndpointScope::parse(v).map_err(|e| AdminError::new(400, e))?,
                other => {
                    return Err(AdminError::new(
                        400,
                        format!("unknown journal parameter {other:?}; the journal takes since=N and endpoint=NAME"),
                    ));
                }
            }
        }
        let stats = self.journal.stats();
        let mut r =
            SimResponse::streamed(200, content_type::NDJSON, self.journal.stream(since, scope));
        r.headers.extend([
            ("X-Qharness-Journal-Next".into(), stats.next.to_string()),
            ("X-Qharness-Journal-First".into(), stats.first.to_string()),
            (
                "X-Qharness-Journal-Dropped".into(),
                stats.dropped.to_string(),
            ),
        ]);
        Ok(r)
    }

    fn tenant_answer(&self, req: &SimRequest) -> Result<SimResponse, AdminError> {
        let spec: TenantSpec = read_document(req)?;
        let tenant = Tenant::from_spec(spec)
            .map_err(|problem| AdminError::new(400, format!("not a valid tenant: {problem}")))?;
        let summary = json!({
            "tenant": tenant.name,
            "users": tenant.users.len(),
            "hosts": tenant.vmdr.hosts.len(),
            "faults": tenant.faults.len(),
        });
        self.replace_tenant(tenant);
        Ok(json_response(200, &summary))
    }

    fn faults_answer(&self, req: &SimRequest) -> Result<SimResponse, AdminError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Faults {
            faults: Vec<FaultRule>,
        }
        let doc: Faults = read_document(req)?;
        let added = doc.faults.len();
        let total = self
            .add_faults(doc.faults)
            .map_err(|problem| AdminError::new(400, problem))?;
        Ok(json_response(
            200,
            &json!({"added": added, "faults": total}),
        ))
    }

    fn fixtures_answer(&self, req: &SimRequest) -> Result<SimResponse, AdminError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fixtures {
            path: PathBuf,
        }
        let doc: Fixtures = read_document(req)?;
        let set = FixtureSet::load(&doc.path).map_err(|e| AdminError::new(400, e.to_string()))?;
        let count = set.manifest().fixtures.len();
        self.replace_fixtures(Some(set));
        Ok(json_response(
            200,
            &json!({"fixtures": count, "path": doc.path}),
        ))
    }

    /// `GET` says the moment answers are given at; `POST` with `now=` (RFC 3339 or
    /// `YYYY-MM-DD`) moves the tenant's clock there. Plain text, as it always was.
    fn clock_answer(&self, req: &SimRequest) -> Result<SimResponse, AdminError> {
        if req.method == "POST" {
            let Some(v) = req
                .params
                .iter()
                .rev()
                .find(|(k, _)| k == "now")
                .map(|(_, v)| v)
            else {
                return Err(AdminError::new(
                    400,
                    "POST /__sim/clock takes now=2024-06-15T00:00:00Z (or a date)",
                ));
            };
            let t = Timestamp::parse(v)
                .or_else(|_| crate::sim::vmdr::params::parse_date(v))
                .map_err(|e| AdminError::new(400, format!("now={v:?} is not a moment: {e}")))?;
            self.set_clock(t);
        }
        Ok(SimResponse::new(
            200,
            content_type::TEXT,
            format!("{}\n", self.now()),
        ))
    }
}

/// Reads the request body as a TOML or JSON document of type `T`.
fn read_document<T: DeserializeOwned>(req: &SimRequest) -> Result<T, AdminError> {
    let text = std::str::from_utf8(&req.body).map_err(|e| {
        let at = e.valid_up_to();
        let (line, column) = line_column(&String::from_utf8_lossy(&req.body[..at]), at);
        AdminError {
            status: 400,
            message: format!("the document is not UTF-8 (bad byte at offset {at})"),
            position: Some((line, column)),
        }
    })?;
    if text.trim().is_empty() {
        return Err(AdminError::new(
            400,
            format!(
                "{} {} needs a TOML or JSON document in the body",
                req.method, req.path
            ),
        ));
    }
    let content_type = req
        .header("Content-Type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let json = content_type.contains("json")
        || (!content_type.contains("toml") && text.trim_start().starts_with('{'));
    if json {
        serde_json::from_str(text).map_err(|e| {
            // The position goes into `line` and `column`, not twice into the words.
            let words = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            AdminError {
                status: 400,
                message: format!(
                    "not a valid JSON document: {}",
                    words.strip_suffix(&suffix).unwrap_or(&words)
                ),
                position: Some((e.line(), e.column())),
            }
        })
    } else {
        toml::from_str(text).map_err(|e| AdminError {
            status: 400,
            message: format!("not a valid TOML document: {}", e.message().trim_end()),
            position: e.span().map(|s| line_column(text, s.start)),
        })
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        assert_eq!(line_column("abc", 0), (1, 1));
        assert_eq!(line_column("a\nbé\ncd", 5), (2, 3));
        assert_eq!(line_column("a\nbc", 99), (2, 3));
    }

    #[test]
    fn tokens_compare_whole_and_never_print() {
        let t = AdminToken::new("s3cret-token").unwrap();
        assert!(t.matches("s3cret-token"));
        assert!(!t.matches("s3cret-token-and-more") && !t.matches("s3cret"));
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(AdminToken::new("short").is_err() && AdminToken::new("has a space").is_err());
        let r = AdminToken::random();
        assert_eq!(r.expose().len(), 32);
        assert_ne!(r.expose(), AdminToken::random().expose());
    }
}
