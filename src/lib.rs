//! # qualys-harness
//!
//! Test and run Qualys connectors: a streaming connector for the VMDR, Policy Compliance and WAS
//! streams, a simulated Qualys server that replays recorded fixtures and models a tenant,
//! and a conformance suite of scenario files that pins connector behaviour.
//!
//! ## How a run flows, top to bottom
//!
//! ```text
//! config ─> request ─> HTTP ─> bytes ─> records ─> sink
//!   │          │         │        │         │        │
//!   │          │         │        │         │        └ sink.rs: stdout, an atomic file, a count, memory
//!   │          │         │        │         └ stream/: one Stream per stream, the page loop, cursors
//!   │          │         │        └ parse/: bytes to items, no HTTP (xml/ for FO and QPS, json/ for PCRS)
//!   │          │         └ client/: auth, retries, rate limits, one error reader per API family
//!   │          └ client::Request: an endpoint of qualys/endpoint.rs, a method, a query, a body
//!   └ config/: the common settings plus one section per Qualys module, checked before any request
//!
//! connector/ runs those steps once, for the CLI, the scenario runner and the tests.
//! qualys/ holds the facts both sides share; sim/ is the other side: the simulated server.
//! ```
//!
//! 1. **Config.** [`Settings`] come from a TOML file, flags or a scenario's `[settings]` table,
//!    flat on the page and in sections in code ([`config`]). [`Settings::validate`] checks every
//!    rule before any request and yields a [`ConnectorConfig`].
//! 2. **Request.** Each stream builds requests to endpoints of the endpoint registry
//!    ([`qualys::endpoint`]), whose [`qualys::Family`] decides the host, the authentication,
//!    the body format (form, XML `ServiceRequest`, JSON) and how errors look.
//! 3. **HTTP.** The client sends them to the configured platform origin only, Basic on the API
//!    server or a bearer session on the gateway, retries what a retry can fix within a budget,
//!    and reads each family's refusals into one [`Error`] whose message says what to do.
//! 4. **Bytes.** A response body streams through a bounded channel into a parser on a blocking
//!    thread. The parsers read `BufRead`s, so the same code parses files (`qharness parse`).
//! 5. **Records.** A [`Stream`] (one per file, registered in the stream registry, see
//!    [`StreamKind::row`]) turns a page into NDJSON records in a spool, moves its cursor and
//!    commits the page only once it parsed completely.
//! 6. **Sink.** Records go to a [`Sink`]; a file appears only when the run succeeded.
//!
//! [`Connector`] runs steps 1 to 6 once; `qharness fetch`, the conformance runner
//! ([`scenario`]) and the tests all call it. The simulated server ([`sim`]) is the other side of
//! every test. [`record`] keeps a live session as a redacted replay set for the simulator
//! (`fetch --record` through the client's capture hook, or a recording proxy) and pins it as a
//! scenario. [`diagnose`] checks a connection step by step and names the cause of a failure
//! (`qharness diagnose`).
//!
//! ```no_run
//! # async fn example() -> qualys_harness::Result<()> {
//! use qualys_harness::{Connector, MemorySink, Settings, StreamKind};
//!
//! let settings = Settings::new(StreamKind::VmdrAssets, "https://qualysapi.qualys.com", "quays_ab1");
//! let mut sink = MemorySink::default();
//! let summary = Connector::Builtin
//!     .run(&settings, std::env::var("QUALYS_PASSWORD").ok(), &mut sink)
//!     .await?;
//! println!("{} hosts", summary.records);
//! # Ok(()) }
//! ```

mod client;
pub mod config;
mod connector;
pub mod diagnose;
mod error;
mod parse;
pub mod qualys;
pub mod record;
pub mod scenario;
pub mod sim;
mod sink;
pub mod state;
mod stream;

pub use client::LiveCounters;
pub use config::{ConnectorConfig, Settings};
pub use connector::external::{ExitCodes, ExternalConnector, ExternalFailure};
pub use connector::{BuiltinRun, Connector, ConnectorRun};
pub use connector::{capabilities::Capabilities, record_map::RecordMap};
pub use error::{
    AccountProblem, Error, Exchange, ExitClass, QualysMessage, Result, Retry, Throttle,
};
pub use sink::{AtomicFile, CountSink, FileSink, MemorySink, Sink, StdoutSink};
pub use stream::{
    Baseline, PageDone, PagePosition, ParseMode, ParseSummary, ResumePoint, RunSummary, SavedKind,
    SavedResponse, Stream, StreamKind, StreamRow,
};

/// What the benchmarks measure directly, below the public API: the host-list reader's
/// extraction cost without serialisation, and the yardsticks parse throughputs are stated
/// against (quick-xml's raw event loop, serde_json's `IgnoredAny` pass). Hidden, and not a stable API: `benches/` lives in this package and moves
/// with it.
#[doc(hidden)]
pub mod bench {
    pub use crate::parse::json::baseline::ignored_any;
    pub use crate::parse::xml::baseline::{raw_event_loop, raw_event_loop_counting};
    pub use crate::parse::xml::{Capture, HostListKind, HostListReader};
    pub use crate::stream::vmdr_vulnerabilities::{DetectionTriage, triage};
}
