//! Faults: the ways a real Qualys (or the proxies in front of it) misbehaves, on demand.
//!
//! A [`FaultRule`] scopes one [`Fault`] to a route, optionally a user, and a range of the calls
//! that match that scope ("the first 2 calls", "calls 3 to 5"), so "fail, then succeed" is one
//! rule. Rules come from the tenant file (`[[faults]]`) or, for replayed responses, from the
//! fixture manifest. A tenant rule is written flat:
//!
//! ```toml
//! [[faults]]
//! kind = "rate_limited"      # what goes wrong (see Fault)
//! seconds_to_wait = 1
//! route = "host_list"        # an endpoint name of the registry (crate::qualys::endpoint), or any (default)
//! user = "quays_ab1"         # optional
//! first = 2                  # optional: only the first 2 matching calls
//! # calls = "3..5"           # or a range of matching calls, 1-based: "3..5" (3, 4), "3..=5", "3.."
//! ```
//!
//! Faults fall in three groups, applied at different points of an exchange:
//! - *answers* replace the response (`server_error`, `generic_return_999`, `html_error`,
//!   `moved_permanently`, `rate_limited`, `concurrency_busy`, `simple_return`, and on the
//!   gateway `jwt_expired`, which also kills the caller's token). Those of the
//!   web server in front (`server_error`, `html_error`, `moved_permanently`) look the same on
//!   every family; the others are said in the endpoint family's dialect: `rate_limited` is a
//!   `SIMPLE_RETURN` 409 CODE 1965 on an FO path, a `ServiceResponse` 429 on a WAS path, a JSON
//!   429 on the gateway;
//! - *render* faults change what the endpoint's handler renders (`cursor_stuck`, which the
//!   VMDR host pages honour); the engine hands them to the handler without reading them;
//! - *delivery* faults change how the bytes travel (`delay`, `random_delay`, `dribble`,
//!   `disconnect_after`, `truncate`, `invalid_xml_chars`, `malformed_xml`). They compose: a
//!   dribbled, truncated body is two rules.
//!
//! Content faults work on the byte stream ([`Splicer`]) so they apply to modelled and replayed
//! bodies alike, without building the body in memory. Where they act depends on the API
//! family's documents ([`ContentMarks`]): `</DETECTION>` and `</RESPONSE>` in an FO page,
//! `</Finding>` or `</WebApp>` and `</ServiceResponse>` in a QPS answer, the `"status":` and
//! `"controlStatement":` keys of the gateway's JSON posture records.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::qualys::Endpoint;
#[cfg(test)]
use crate::qualys::endpoint;
use crate::qualys::endpoint::Family;

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Wait before sending the response head.
    Delay { ms: u64 },
    /// Wait a uniformly random time (seeded, so runs repeat) before the response head.
    RandomDelay { min_ms: u64, max_ms: u64 },
    /// Send the body in small chunks with a pause between them.
    Dribble {
        #[serde(default = "default_dribble_bytes")]
        chunk_bytes: usize,
        #[serde(default = "default_dribble_ms")]
        interval_ms: u64,
    },
    /// Send `bytes` of the body, then reset the connection (TCP RST): the client sees the
    /// connection die mid-body.
    DisconnectAfter { bytes: u64 },
    /// Send the whole body, then reset the connection: how a recorded body that broke off is
    /// replayed (the body file holds what arrived before the connection died).
    Disconnect,
    /// End the body early but cleanly (the HTTP message is complete, the XML document is not):
    /// after `after_bytes`, or, when absent, just before the root's end (`</RESPONSE>`,
    /// `</ServiceResponse>`: see `ContentMarks`) so the root never closes.
    /// On the gateway's JSON answers the default place is inside the second record (before its
    /// `"status":` key), so an array is cut mid-record; a gzip'd answer is cut there and then
    /// compressed, so the gzip stream itself ends cleanly. `after_bytes` counts the bytes on
    /// the wire (compressed ones for a gzip'd answer).
    Truncate {
        #[serde(default)]
        after_bytes: Option<u64>,
    },
    /// Insert characters that XML 1.0 forbids (default U+0001) at the start of every `RESULTS`
    /// (FO) or every `name` (QPS); on the gateway, at the start of every `controlStatement`,
    /// where a raw control character makes the JSON itself invalid.
    InvalidXmlChars {
        #[serde(default = "default_invalid_chars")]
        chars: String,
    },
    /// Break the document: the first record's end tag (`</DETECTION>`, `</Finding>`,
    /// `</WebApp>`), or the root's when there is none, becomes a mismatched end tag; on the
    /// gateway the first posture record's `"status":` key loses its colon.
    MalformedXml,
    /// A bare HTTP 5xx with a one-line text body.
    ServerError {
        #[serde(default = "default_server_status")]
        status: u16,
    },
    /// CODE 999 in a `GENERIC_RETURN` document ("Internal error…").
    #[serde(rename = "generic_return_999")]
    GenericReturn999 {
        #[serde(default = "default_generic_status")]
        status: u16,
    },
    /// An Apache-style HTML error page, as a proxy in front of Qualys sends.
    HtmlError {
        #[serde(default = "default_html_status")]
        status: u16,
    },
    /// HTTP 301 with the HTML body Qualys sends for a path without its trailing slash.
    MovedPermanently,
    /// HTTP 409 CODE 1965 with `SECONDS_TO_WAIT` and `X-RateLimit-ToWait-Sec`.
    RateLimited {
        #[serde(default = "one")]
        seconds_to_wait: u64,
    },
    /// HTTP 409 CODE 1960 with `CALLS_TO_FINISH`.
    ConcurrencyBusy {
        #[serde(default = "one_u32")]
        calls_to_finish: u32,
    },
    /// Any `SIMPLE_RETURN` answer, e.g. CODE 1999 (maintenance) or 2011 (SecureID).
    SimpleReturn {
        status: u16,
        #[serde(default)]
        code: Option<u32>,
        text: String,
    },
    /// The next-page marker does not advance: the truncation WARNING's URL repeats the
    /// request's own `id_min` (FO); `lastId` repeats the request's `id GREATER` value (QPS).
    CursorStuck,
    /// The gateway's bearer token dies now: the call is answered 401 "JWT expired" and the token
    /// stays expired, so the client must log in again (`/auth`).
    JwtExpired,
}

fn default_dribble_bytes() -> usize {
    256
}
fn default_dribble_ms() -> u64 {
    20
}
fn default_invalid_chars() -> String {
    "\u{1}".into()
}
fn default_server_status() -> u16 {
    503
}
fn default_generic_status() -> u16 {
    500
}
fn default_html_status() -> u16 {
    502
}
fn one() -> u64 {
    1
}
fn one_u32() -> u32 {
    1
}

impl Fault {
    /// The `kind` name, used in the journal.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Delay { .. } => "delay",
            Fault::RandomDelay { .. } => "random_delay",
            Fault::Dribble { .. } => "dribble",
            Fault::DisconnectAfter { .. } => "disconnect_after",
            Fault::Disconnect => "disconnect",
            Fault::Truncate { .. } => "truncate",
            Fault::InvalidXmlChars { .. } => "invalid_xml_chars",
            Fault::MalformedXml => "malformed_xml",
            Fault::ServerError { .. } => "server_error",
            Fault::GenericReturn999 { .. } => "generic_return_999",
            Fault::HtmlError { .. } => "html_error",
            Fault::MovedPermanently => "moved_permanently",
            Fault::RateLimited { .. } => "rate_limited",
            Fault::ConcurrencyBusy { .. } => "concurrency_busy",
            Fault::SimpleReturn { .. } => "simple_return",
            Fault::CursorStuck => "cursor_stuck",
            Fault::JwtExpired => "jwt_expired",
        }
    }

    /// Whether this fault replaces the whole response.
    pub fn is_answer(&self) -> bool {
        matches!(
            self,
            Fault::ServerError { .. }
                | Fault::GenericReturn999 { .. }
                | Fault::HtmlError { .. }
                | Fault::MovedPermanently
                | Fault::RateLimited { .. }
                | Fault::ConcurrencyBusy { .. }
                | Fault::SimpleReturn { .. }
                | Fault::JwtExpired
        )
    }
}

/// Which endpoints a rule applies to: the registry's scope, written as an endpoint name.
pub use crate::qualys::endpoint::EndpointScope as RouteScope;

/// A range of matching calls, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRange {
    pub from: u64,
    /// Inclusive; `None` = no end.
    pub to: Option<u64>,
}

impl CallRange {
    pub const ALWAYS: CallRange = CallRange { from: 1, to: None };

    pub fn first(n: u64) -> CallRange {
        CallRange {
            from: 1,
            to: Some(n),
        }
    }

    pub fn contains(self, call: u64) -> bool {
        call >= self.from && self.to.is_none_or(|t| call <= t)
    }

    /// `"3..5"` (3 and 4), `"3..=5"`, `"3.."`, or a single number.
    pub fn parse(s: &str) -> Result<CallRange, String> {
        let bad = || {
            format!(
                "calls = {s:?} is not a range of calls such as \"3..5\", \"3..=5\", \"3..\" or \"4\""
            )
        };
        let num = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
        let r = if let Some((a, b)) = s.split_once("..=") {
            CallRange {
                from: num(a)?,
                to: Some(num(b)?),
            }
        } else if let Some((a, b)) = s.split_once("..") {
            if b.trim().is_empty() {
                CallRange {
                    from: num(a)?,
                    to: None,
                }
            } else {
                let end = num(b)?;
                if end == 0 {
                    return Err(bad());
                }
                CallRange {
                    from: num(a)?,
                    to: Some(end - 1),
                }
            }
        } else {
            let n = num(s)?;
            CallRange {
                from: n,
                to: Some(n),
            }
        };
        if r.from == 0 || r.to.is_some_and(|t| t < r.from) {
            return Err(format!(
                "{}; calls are numbered from 1 and the range must not be empty",
                bad()
            ));
        }
        Ok(r)
    }
}

impl std::fmt::Display for CallRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to {
            Some(t) => write!(f, "{}..={}", self.from, t),
            None => write!(f, "{}..", self.from),
        }
    }
}

/// A fault with its scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRule {
    #[serde(default)]
    pub route: RouteScope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "is_always", serialize_with = "ser_calls")]
    pub calls: CallRange,
    #[serde(flatten)]
    pub fault: Fault,
}

fn is_always(c: &CallRange) -> bool {
    *c == CallRange::ALWAYS
}

fn ser_calls<S: serde::Serializer>(c: &CallRange, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(c)
}

impl FaultRule {
    /// `fault` on every call of every route.
    pub fn always(fault: Fault) -> FaultRule {
        FaultRule {
            route: RouteScope::Any,
            user: None,
            calls: CallRange::ALWAYS,
            fault,
        }
    }

    pub fn on(mut self, route: RouteScope) -> FaultRule {
        self.route = route;
        self
    }

    pub fn for_user(mut self, user: impl Into<String>) -> FaultRule {
        self.user = Some(user.into());
        self
    }

    /// Only the first `n` matching calls.
    pub fn first(mut self, n: u64) -> FaultRule {
        self.calls = CallRange::first(n);
        self
    }

    pub fn calls(mut self, range: CallRange) -> FaultRule {
        self.calls = range;
        self
    }
}

impl<'de> Deserialize<'de> for FaultRule {
    // Written flat in TOML (scope keys beside `kind`), which serde's `flatten` cannot combine
    // with `deny_unknown_fields`; so the scope keys are taken out first and the rest must be
    // exactly one `Fault`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = toml::Table::deserialize(d)?;
        let route = match table.remove("route") {
            Some(v) => RouteScope::deserialize(v).map_err(D::Error::custom)?,
            None => RouteScope::Any,
        };
        let user = match table.remove("user") {
            Some(v) => Some(String::deserialize(v).map_err(D::Error::custom)?),
            None => None,
        };
        let first = table.remove("first");
        let calls = table.remove("calls");
        let calls = match (first, calls) {
            (Some(_), Some(_)) => {
                return Err(D::Error::custom(
                    "a fault takes `first` or `calls`, not both",
                ));
            }
            (Some(v), None) => {
                let n = u64::deserialize(v).map_err(D::Error::custom)?;
                if n == 0 {
                    return Err(D::Error::custom(
                        "`first = 0` would never apply; remove the fault instead",
                    ));
                }
                CallRange::first(n)
            }
            (None, Some(v)) => {
                let s = match v {
                    toml::Value::Integer(i) => i.to_string(),
                    other => String::deserialize(other).map_err(D::Error::custom)?,
                };
                CallRange::parse(&s).map_err(D::Error::custom)?
            }
            (None, None) => CallRange::ALWAYS,
        };
        let fault = Fault::deserialize(toml::Value::Table(table)).map_err(D::Error::custom)?;
        Ok(FaultRule {
            route,
            user,
            calls,
            fault,
        })
    }
}

/// Counts the calls each rule has seen and says which faults apply to the next one.
#[derive(Debug, Default)]
pub struct FaultBook {
    counts: Mutex<Vec<u64>>,
}

impl FaultBook {
    /// The faults of `rules` that apply to this call; counts the call for every rule whose
    /// route and user match.
    pub fn select<'r>(
        &self,
        rules: &'r [FaultRule],
        endpoint: &'static Endpoint,
        user: Option<&str>,
    ) -> Vec<&'r Fault> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() < rules.len() {
            counts.resize(rules.len(), 0);
        }
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if !r.route.covers(endpoint) {
                continue;
            }
            if let Some(u) = &r.user
                && Some(u.as_str()) != user
            {
                continue;
            }
            counts[i] += 1;
            if r.calls.contains(counts[i]) {
                out.push(&r.fault);
            }
        }
        out
    }

    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Where content faults act in one API family's documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentMarks {
    /// `invalid_xml_chars` go right after each of these.
    pub text_starts: &'static [&'static str],
    /// `malformed_xml` replaces the first occurrence of any of these with its twin (the
    /// earliest in the body wins): a record's end, or the root's end when no record came.
    pub breaks: &'static [(&'static str, &'static str)],
    /// `truncate` (without `after_bytes`) stops before this pattern, once the given number of
    /// its occurrences went by.
    pub cut_before: (&'static str, usize),
}

impl ContentMarks {
    /// The marks of `family`'s documents (FO's for paths outside every family).
    ///
    /// - FO: `</DETECTION>` and `</RESPONSE>`; invalid characters at the start of `RESULTS`.
    /// - QPS: `</Finding>`, `</WebApp>` and `</ServiceResponse>`; invalid characters at the
    ///   start of `name`.
    /// - Gateway (PCRS JSON): the first record's `"status":` loses its colon, so the array is
    ///   invalid JSON; invalid characters (raw control characters, which JSON forbids inside a
    ///   string) at the start of every `controlStatement`; a cut stops inside the second record,
    ///   before its `"status":` key. A gzip'd answer is rewritten before it is compressed.
    pub fn of(family: Option<Family>) -> &'static ContentMarks {
        const FO: ContentMarks = ContentMarks {
            text_starts: &["<RESULTS>"],
            breaks: &[
                ("</DETECTION>", "</DETECTOIN>"),
                ("</RESPONSE>", "</RESPOSNE>"),
            ],
            cut_before: ("</RESPONSE>", 0),
        };
        const QPS: ContentMarks = ContentMarks {
            text_starts: &["<name>"],
            breaks: &[
                ("</Finding>", "</Fnidnig>"),
                ("</WebApp>", "</WebAPp>"),
                ("</ServiceResponse>", "</ServiceRepsonse>"),
            ],
            cut_before: ("</ServiceResponse>", 0),
        };
        const GATEWAY: ContentMarks = ContentMarks {
            text_starts: &["\"controlStatement\":\""],
            breaks: &[(",\"status\":", ",\"status\" ")],
            cut_before: (",\"status\":", 1),
        };
        match family {
            Some(Family::Qps) => &QPS,
            Some(Family::Gateway) => &GATEWAY,
            Some(Family::Fo) | None => &FO,
        }
    }
}

/// How the body of one response travels: the delivery faults that apply to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    /// The API family of the answer, which says where content faults act ([`ContentMarks`]).
    pub family: Option<Family>,
    pub delay: Option<Duration>,
    pub dribble: Option<(usize, Duration)>,
    /// End cleanly after this many bytes.
    pub truncate_after: Option<u64>,
    /// End cleanly just before the root's end tag.
    pub truncate_before_root_close: bool,
    /// Reset the connection after this many bytes.
    pub disconnect_after: Option<u64>,
    /// Reset the connection once the whole body is sent.
    pub disconnect_at_end: bool,
    pub invalid_chars: Option<Vec<u8>>,
    pub malformed: bool,
}

impl Delivery {
    /// No fault yet, for an answer of `family`.
    pub fn for_family(family: Option<Family>) -> Delivery {
        Delivery {
            family,
            ..Delivery::default()
        }
    }

    /// Whether the body is delivered as generated, with no change of content or pacing.
    pub fn is_plain(&self) -> bool {
        self.dribble.is_none()
            && self.truncate_after.is_none()
            && !self.truncate_before_root_close
            && self.disconnect_after.is_none()
            && !self.disconnect_at_end
            && self.invalid_chars.is_none()
            && !self.malformed
    }

    /// Adds one delivery fault; `random` draws a random delay. Returns false for faults that
    /// are not about delivery.
    pub fn add(&mut self, fault: &Fault, random: impl FnOnce(u64, u64) -> u64) -> bool {
        match fault {
            Fault::Delay { ms } => {
                self.delay = Some(self.delay.unwrap_or_default() + Duration::from_millis(*ms))
            }
            Fault::RandomDelay { min_ms, max_ms } => {
                let ms = random(*min_ms, (*max_ms).max(*min_ms));
                self.delay = Some(self.delay.unwrap_or_default() + Duration::from_millis(ms));
            }
            Fault::Dribble {
                chunk_bytes,
                interval_ms,
            } => self.dribble = Some(((*chunk_bytes).max(1), Duration::from_millis(*interval_ms))),
            Fault::DisconnectAfter { bytes } => self.disconnect_after = Some(*bytes),
            Fault::Disconnect => self.disconnect_at_end = true,
            Fault::Truncate {
                after_bytes: Some(n),
            } => self.truncate_after = Some(*n),
            Fault::Truncate { after_bytes: None } => self.truncate_before_root_close = true,
            Fault::InvalidXmlChars { chars } => {
                self.invalid_chars = Some(chars.as_bytes().to_vec())
            }
            Fault::MalformedXml => self.malformed = true,
            _ => return false,
        }
        true
    }

    /// The content rewriter these faults need, if any.
    pub fn splicer(&self) -> Option<Splicer> {
        let marks = ContentMarks::of(self.family);
        let mut rules = Vec::new();
        if let Some(chars) = &self.invalid_chars {
            for start in marks.text_starts {
                rules.push(SpliceRule {
                    pattern: start.as_bytes().to_vec(),
                    action: SpliceAction::InsertAfter(chars.clone()),
                    once: false,
                    skip: 0,
                });
            }
        }
        if self.malformed {
            for (end, broken) in marks.breaks {
                rules.push(SpliceRule {
                    pattern: end.as_bytes().to_vec(),
                    action: SpliceAction::Replace(broken.as_bytes().to_vec()),
                    once: true,
                    skip: 0,
                });
            }
        }
        if self.truncate_before_root_close {
            let (pattern, skip) = marks.cut_before;
            rules.push(SpliceRule {
                pattern: pattern.as_bytes().to_vec(),
                action: SpliceAction::StopBefore,
                once: true,
                skip,
            });
        }
        (!rules.is_empty()).then(|| Splicer {
            rules,
            carry: Vec::new(),
            malformed_done: false,
            stopped: false,
        })
    }
}

#[derive(Debug, Clone)]
enum SpliceAction {
    InsertAfter(Vec<u8>),
    Replace(Vec<u8>),
    StopBefore,
}

#[derive(Debug, Clone)]
struct SpliceRule {
    pattern: Vec<u8>,
    action: SpliceAction,
    once: bool,
    /// Occurrences to pass over before the rule acts.
    skip: usize,
}

/// A streaming find-and-rewrite over body chunks; patterns split across chunk boundaries are
/// still found because the tail of each chunk is held back until the next one arrives.
#[derive(Debug, Clone)]
pub struct Splicer {
    rules: Vec<SpliceRule>,
    carry: Vec<u8>,
    /// The two malformed rules share one "done" flag: only the first of them fires.
    malformed_done: bool,
    stopped: bool,
}

impl Splicer {
    /// Whether a `StopBefore` rule fired: the body ends here.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Rewrites `input` into `out`, holding back a tail that may start a pattern.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.stopped {
            return;
        }
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(input);
        let keep = self
            .rules
            .iter()
            .map(|r| r.pattern.len())
            .max()
            .unwrap_or(1)
            - 1;
        let processed = self.process(&data, out, false, keep);
        if !self.stopped {
            self.carry = data[processed..].to_vec();
        }
    }

    /// Flushes the held-back tail at the end of the body.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.stopped {
            return;
        }
        let data = std::mem::take(&mut self.carry);
        self.process(&data, out, true, 0);
    }

    /// Returns how many bytes of `data` were consumed (the rest is carried).
    fn process(&mut self, data: &[u8], out: &mut Vec<u8>, last: bool, keep: usize) -> usize {
        let mut pos = 0;
        loop {
            // The earliest match of any live rule.
            let mut best: Option<(usize, usize)> = None;
            for (i, r) in self.rules.iter().enumerate() {
                if matches!(r.action, SpliceAction::Replace(_)) && self.malformed_done {
                    continue;
                }
                if let Some(at) = memchr::memmem::find(&data[pos..], &r.pattern)
                    && best.is_none_or(|(b, _)| pos + at < b)
                {
                    best = Some((pos + at, i));
                }
            }
            match best {
                Some((at, i)) if self.rules[i].skip > 0 => {
                    self.rules[i].skip -= 1;
                    let plen = self.rules[i].pattern.len();
                    out.extend_from_slice(&data[pos..at + plen]);
                    pos = at + plen;
                }
                Some((at, i)) => {
                    out.extend_from_slice(&data[pos..at]);
                    let rule = &self.rules[i];
                    let plen = rule.pattern.len();
                    match &rule.action {
                        SpliceAction::InsertAfter(ins) => {
                            out.extend_from_slice(&rule.pattern);
                            out.extend_from_slice(ins);
                        }
                        SpliceAction::Replace(with) => {
                            out.extend_from_slice(with);
                            self.malformed_done = true;
                        }
                        SpliceAction::StopBefore => {
                            self.stopped = true;
                            return data.len();
                        }
                    }
                    if rule.once && !matches!(rule.action, SpliceAction::Replace(_)) {
                        self.rules.remove(i);
                    }
                    pos = at + plen;
                }
                None => {
                    let end = if last {
                        data.len()
                    } else {
                        data.len().saturating_sub(keep).max(pos)
                    };
                    out.extend_from_slice(&data[pos..end]);
                    return end;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn splice_in_pieces(d: &Delivery, input: &[u8], piece: usize) -> (Vec<u8>, bool) {
        let mut s = d.splicer().unwrap();
        let mut out = Vec::new();
        for c in input.chunks(piece) {
            s.feed(c, &mut out);
        }
        s.finish(&mut out);
        (out, s.stopped())
    }

    #[test]
    fn invalid_chars_land_in_every_results_even_across_chunk_boundaries() {
        let d = Delivery {
            invalid_chars: Some(vec![1]),
            ..Default::default()
        };
        let doc = b"<A><RESULTS>x</RESULTS><RESULTS><![CDATA[y]]></RESULTS></A>";
        for piece in [1, 2, 3, 7, 100] {
            let (out, _) = splice_in_pieces(&d, doc, piece);
            assert_eq!(
                out, b"<A><RESULTS>\x01x</RESULTS><RESULTS>\x01<![CDATA[y]]></RESULTS></A>",
                "piece {piece}"
            );
        }
    }

    #[test]
    fn malformed_breaks_the_first_detection_or_else_the_response() {
        let d = Delivery {
            malformed: true,
            ..Default::default()
        };
        let (out, _) = splice_in_pieces(
            &d,
            b"<R><DETECTION></DETECTION><DETECTION></DETECTION></RESPONSE>",
            4,
        );
        assert_eq!(
            out,
            b"<R><DETECTION></DETECTOIN><DETECTION></DETECTION></RESPONSE>"
        );
        let (out, _) = splice_in_pieces(&d, b"<RESPONSE><DATETIME/></RESPONSE>", 5);
        assert_eq!(out, b"<RESPONSE><DATETIME/></RESPOSNE>");
    }

    #[test]
    fn on_a_qps_answer_the_faults_act_on_findings_names_and_the_service_response() {
        let doc = b"<ServiceResponse><data><Finding><name>a</name></Finding><Finding></Finding></data></ServiceResponse>";
        let qps = |f: fn(&mut Delivery)| {
            let mut d = Delivery::for_family(Some(Family::Qps));
            f(&mut d);
            splice_in_pieces(&d, doc, 5)
        };
        let (out, _) = qps(|d| d.malformed = true);
        assert_eq!(
            out,
            b"<ServiceResponse><data><Finding><name>a</name></Fnidnig><Finding></Finding></data></ServiceResponse>".to_vec()
        );
        let (out, stopped) = qps(|d| d.truncate_before_root_close = true);
        assert!(stopped);
        assert!(
            out.ends_with(b"</data>"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        let (out, _) = qps(|d| d.invalid_chars = Some(vec![1]));
        assert!(out.windows(7).any(|w| w == b"<name>\x01"));
        let (out, _) = splice_in_pieces(
            &Delivery {
                malformed: true,
                ..Delivery::for_family(Some(Family::Qps))
            },
            b"<ServiceResponse><count>0</count></ServiceResponse>",
            3,
        );
        assert_eq!(
            out,
            b"<ServiceResponse><count>0</count></ServiceRepsonse>".to_vec()
        );
    }

    #[test]
    fn truncate_stops_before_the_response_closes() {
        let d = Delivery {
            truncate_before_root_close: true,
            ..Default::default()
        };
        let (out, stopped) = splice_in_pieces(&d, b"<X><RESPONSE>a</RESPONSE></X>", 3);
        assert_eq!(out, b"<X><RESPONSE>a");
        assert!(stopped);
    }

    #[test]
    fn gateway_content_faults_break_the_json_of_a_posture_answer() {
        let doc = br#"[{"id":1,"controlStatement":"Ensure a","status":"Passed"},{"id":2,"controlStatement":"Ensure b","status":"Failed"}]"#;
        let malformed = Delivery {
            malformed: true,
            ..Delivery::for_family(Some(Family::Gateway))
        };
        let chars = Delivery {
            invalid_chars: Some(vec![1]),
            ..Delivery::for_family(Some(Family::Gateway))
        };
        for piece in [1, 5, 500] {
            let (out, _) = splice_in_pieces(&malformed, doc, piece);
            assert_eq!(
                out,
                br#"[{"id":1,"controlStatement":"Ensure a","status" "Passed"},{"id":2,"controlStatement":"Ensure b","status":"Failed"}]"#,
                "piece {piece}"
            );
            assert!(serde_json::from_slice::<serde_json::Value>(&out).is_err());
            let (out, _) = splice_in_pieces(&chars, doc, piece);
            assert_eq!(
                out,
                b"[{\"id\":1,\"controlStatement\":\"\x01Ensure a\",\"status\":\"Passed\"},{\"id\":2,\"controlStatement\":\"\x01Ensure b\",\"status\":\"Failed\"}]",
                "piece {piece}"
            );
            assert!(serde_json::from_slice::<serde_json::Value>(&out).is_err());
        }
    }

    #[test]
    fn truncate_cuts_a_json_answer_inside_its_second_record() {
        let d = Delivery {
            truncate_before_root_close: true,
            family: Some(Family::Gateway),
            ..Default::default()
        };
        let doc =
            br#"[{"id":1,"status":"Passed"},{"id":2,"status":"Failed"},{"id":3,"status":"Error"}]"#;
        for piece in [1, 4, 9, 500] {
            let (out, stopped) = splice_in_pieces(&d, doc, piece);
            assert_eq!(
                out, br#"[{"id":1,"status":"Passed"},{"id":2"#,
                "piece {piece}"
            );
            assert!(stopped);
        }
        let (out, stopped) = splice_in_pieces(&d, br#"[{"id":1,"status":"Passed"}]"#, 3);
        assert!(!stopped, "a one-record answer has no second record to cut");
        assert_eq!(out, br#"[{"id":1,"status":"Passed"}]"#);
    }

    #[test]
    fn call_ranges_read_like_rust_ranges() {
        assert_eq!(
            CallRange::parse("3..5").unwrap(),
            CallRange {
                from: 3,
                to: Some(4)
            }
        );
        assert_eq!(
            CallRange::parse("3..=5").unwrap(),
            CallRange {
                from: 3,
                to: Some(5)
            }
        );
        assert_eq!(
            CallRange::parse("2..").unwrap(),
            CallRange { from: 2, to: None }
        );
        assert_eq!(
            CallRange::parse("4").unwrap(),
            CallRange {
                from: 4,
                to: Some(4)
            }
        );
        assert!(CallRange::parse("0..2").is_err());
        assert!(CallRange::parse("5..5").is_err());
        assert!(CallRange::parse("x").is_err());
    }

    #[test]
    fn rules_are_written_flat_and_unknown_keys_are_rejected() {
        #[derive(Deserialize)]
        struct F {
            faults: Vec<FaultRule>,
        }
        let f: F = toml::from_str(
            r#"
            [[faults]]
            kind = "server_error"
            status = 500
            route = "was_finding_search"
            first = 2
            [[faults]]
            kind = "cursor_stuck"
            calls = "2.."
            user = "u"
            "#,
        )
        .unwrap();
        assert_eq!(
            f.faults[0],
            FaultRule::always(Fault::ServerError { status: 500 })
                .on(RouteScope::One(&endpoint::WAS_FINDING_SEARCH))
                .first(2)
        );
        assert_eq!(f.faults[1].calls, CallRange { from: 2, to: None });
        let err = toml::from_str::<F>("[[faults]]\nkind = \"delay\"\nms = 1\nmillis = 2\n")
            .err()
            .unwrap();
        assert!(err.to_string().contains("millis"), "{err}");
        let err = toml::from_str::<F>("[[faults]]\nkind = \"explode\"\n")
            .err()
            .unwrap();
        assert!(err.to_string().contains("explode"), "{err}");
    }

    #[test]
    fn the_book_counts_matching_calls_per_rule() {
        let rules = vec![
            FaultRule::always(Fault::ServerError { status: 503 })
                .on(RouteScope::One(&endpoint::WAS_FINDING_SEARCH))
                .first(2),
            FaultRule::always(Fault::MalformedXml)
                .for_user("b")
                .calls(CallRange::parse("2..").unwrap()),
        ];
        let book = FaultBook::default();
        let names = |e, u| {
            book.select(&rules, e, u)
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&endpoint::HOST_LIST, Some("a")), Vec::<&str>::new());
        assert_eq!(
            names(&endpoint::WAS_FINDING_SEARCH, Some("b")),
            vec!["server_error"]
        );
        assert_eq!(
            names(&endpoint::WAS_FINDING_SEARCH, Some("b")),
            vec!["server_error", "malformed_xml"]
        );
        assert_eq!(
            names(&endpoint::WAS_FINDING_SEARCH, Some("b")),
            vec!["malformed_xml"]
        );
        book.reset();
        assert_eq!(
            names(&endpoint::WAS_FINDING_SEARCH, Some("a")),
            vec!["server_error"]
        );
    }
}
