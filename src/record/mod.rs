//! Record and reproduce: capture a live session as a replay set, redacted, and pin it as a
//! scenario.
//!
//! # How the pieces fit
//!
//! ```text
//! qharness fetch --record DIR ──> client capture hook ──┐
//!                                                       ├─> Recording ──> DIR/manifest.toml
//! qharness record --upstream URL ─> proxy (proxy.rs) ───┘      │            DIR/NNNN-*.xml|json|txt
//!                                                              │            DIR/redaction.toml
//!                                                              │            DIR/scenario.toml
//!                          one thread per body: gunzip? ─> {{origin}} ─> redact (xml|json|text) ─> file
//! qharness record --check DIR ─> check.rs: anything that still looks like customer data
//! ```
//!
//! - [`Recording`] (`recording.rs`) takes exchanges, in the order they were sent, from either
//!   front end: a request head and body, a response head, body chunks, how the body ended. Each
//!   body is written by its own thread as it arrives, through a bounded channel, so a 2 GB page
//!   is recorded in constant memory. At the end it writes the manifest in the simulator's replay
//!   format (`src/sim/engine/replay.rs`): one fixture per distinct request (method, path, every
//!   parameter, the body), with its responses in order: retries and failures included.
//! - Redaction works on content shapes, not on streams: the endpoint's family of the registry
//!   (`src/qualys/endpoint.rs`) and the content type say whether a body is FO XML, QPS XML or
//!   PCRS JSON, and `rules.rs` holds one table of fields per shape. [`Pseudonyms`] keeps the
//!   mapping of one set, in memory only.
//! - `scenario.rs` writes the scenario that pins what the recording shows; `check.rs` scans a
//!   set for anything unredacted.
//!
//! A new stream needs nothing here: its endpoints are in the registry, and its documents are
//! one of the three shapes.

mod check;
mod proxy;
mod pseudonyms;
mod recording;
mod redact_json;
mod redact_xml;
mod rules;
mod run;
mod scenario;
mod scrub;
mod text_stream;

pub use check::{Finding, check_set};
pub use proxy::{ProxyOptions, RecordingProxy};
pub use pseudonyms::{IPV4_DOC_CAPACITY, Pseudonyms, ipv4_pseudonym, ipv6_pseudonym, placeholder};
pub use recording::{Exchange, RecordOptions, RecordedSet, Recording, RequestHead};
pub use rules::{FO_XML, Kind, PCRS_JSON, QPS_XML, Rule, Shape};
pub use run::{RecordedRun, pin_replay, record_run};
pub use scenario::{RunOutcome, ScenarioPins, write_scenario};

/// What redaction replaces beyond its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedactOptions {
    /// Redaction at all (`--no-redact` turns it off, for local debugging only).
    pub enabled: bool,
    /// Keep free text (detection RESULTS, posture evidence, WAS payloads) as it was.
    pub keep_results: bool,
    /// Map tag names too (by default they stay: they are the filters' vocabulary).
    pub redact_tags: bool,
}

impl Default for RedactOptions {
    fn default() -> Self {
        RedactOptions {
            enabled: true,
            keep_results: false,
            redact_tags: false,
        }
    }
}

/// Redacts one body of `shape` from `input` to `out` with the set's pseudonyms.
pub fn redact_body<R: std::io::BufRead, W: std::io::Write>(
    input: R,
    out: &mut W,
    shape: Shape,
    p: &mut Pseudonyms,
    opts: &RedactOptions,
) -> std::io::Result<()> {
    match shape {
        Shape::Xml(table) => redact_xml::redact(input, out, table, p, opts),
        Shape::Json(table) => redact_json::redact(input, out, table, p, opts),
        Shape::Text => text_stream::scrub_stream(input, out, p),
    }
}

/// Redacts one value with the generic scan (addresses, e-mail addresses, the username).
pub fn redact_text(p: &mut Pseudonyms, text: &str) -> String {
    scrub::scan(p, text).into_owned()
}

/// Applies one rule to one value, as a table row would.
pub fn redact_value(p: &mut Pseudonyms, rule: Rule, value: &str, opts: &RedactOptions) -> String {
    scrub::apply(p, rule, value, opts)
}
