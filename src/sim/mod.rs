//! The simulated Qualys server.
//!
//! CI pipelines point connectors at it, support engineers reproduce a customer's failure with
//! it, benchmarks stream gigabytes from it. It answers from two sources: recorded fixtures
//! ([`FixtureSet`]) and a modelled [`Tenant`] with Qualys semantics for every parameter the
//! connector sends. It speaks three API families: FO (VMDR's `/api/N.0/fo/`, modelled), QPS
//! (WAS's `/qps/rest/`, modelled: `was/`) and the API gateway (`/auth` issuing JWTs, and the
//! PCRS posture API, modelled: `pc/`).
//!
//! # A request's way through
//!
//! ```text
//!         server/                 engine/                                       vmdr/ (per module)
//! bytes ──> SimRequest ──> route ─> replay? ─> authenticate ─> authorise ─> faults ─> limits ─> Handler
//!                                              (by family)    (permission)                       │
//!              every "no" on the way is said by the family's Dialect (dialect/) <── Rejection ───┤
//!                                                                                                ▼
//! bytes <── SimBody <── delivery faults <────── ChunkSource (a page rendered lazily) <─── SimResponse
//!              │
//!              └──> journal: the entry written on arrival is completed with the bytes sent
//! ```
//!
//! - **server/** owns sockets: hyper over TCP or TLS (a self-signed certificate made at
//!   start-up). It turns bytes into a `SimRequest` (query and form parameters merged, Basic
//!   credentials or a bearer token decoded into secrets that never print, a few headers kept),
//!   and sends a `SimResponse`, pulling a streamed body from a blocking renderer thread
//!   through a bounded channel while applying the delivery faults (delay, dribble, clean
//!   truncation, reset mid-body).
//! - **engine/** decides the answer and knows no family's data. `routing.rs` classifies the
//!   path against the endpoint registry ([`crate::qualys::endpoint`]) and holds the routing
//!   table; `replay.rs` answers from fixtures; `accounts.rs` authenticates through the
//!   family's `Authenticate` (HTTP Basic for FO and QPS, bearer sessions from `POST /auth` for
//!   the gateway) and authorises by the endpoint's permission; `fault.rs` injects what the
//!   tenant asks for; `limits.rs` keeps the rate and concurrency budgets; `handler.rs` is the
//!   seam: one `Handler` trait (modelled on wiremock's `Respond`) whose impl for the endpoint
//!   answers the call or rejects it; `journal.rs` records every exchange, request body
//!   included (`redaction.rs`: no password or token, cut at 64 KiB), in a bounded ring,
//!   readable in-process and through the admin API; `admin.rs` is that API (`/__sim/...`,
//!   behind a bearer token): replace the tenant, add or clear faults, load fixtures, stream the
//!   journal, reset.
//! - **dialect/** is how each family says no: `fo.rs` (`SIMPLE_RETURN`, HTTP 401/409/403),
//!   `qps.rs` (`ServiceResponse` with a `responseCode`, inside HTTP 200), `gateway.rs` (JSON,
//!   401/429), and `web_server.rs` for what the web server in front sends whatever the
//!   family (a 301 for a missing slash, a proxy's HTML page, a bare 5xx). Refusals, throttles,
//!   rejections and answer faults all go through the family's `Dialect`.
//! - **tenant/** is the modelled subscription: `accounts.rs` (users, states, permissions,
//!   asset-group scopes, the subscription's limits; every family reads it), one data section per
//!   module (`vmdr.rs`: tags, asset groups, hosts, detections and what later scans change in
//!   them, KnowledgeBase, a synthetic population; `pc.rs`: policies, controls, hosts and what
//!   later evaluations change in postures; `was.rs`: web applications and findings, and their
//!   edits and re-tests) and the embedded demo tenant. The tenant's clock
//!   (`POST /__sim/clock`) says which of those changes have happened, and is every answer's
//!   `Date`.
//! - **pc/** is the gateway's Policy Compliance endpoints: `/auth` (JWT sessions with a
//!   lifetime, and a `jwt_expired` fault), the policy list, host IDs and the posture answer,
//!   streamed and gzip'd as it is sent (`handlers.rs`, `postures.rs`, `synthetic.rs`), from the
//!   tenant's `[pc]` section (`tenant/pc.rs`).
//! - **was/** is the QPS family's WAS endpoints: search, count and get for web applications and
//!   findings (`handlers.rs`), the `ServiceRequest` body (`service_request.rs`), the criteria
//!   and their meaning (`criteria.rs`), the recorded XML layout (`render.rs`) and synthetic
//!   finding pages (`synthetic.rs`).
//! - **vmdr/** is the FO family's VMDR endpoints: one handler per endpoint (`handlers.rs`),
//!   their parameters (`params.rs`), the lazily rendered pages (`host_pages.rs`, `kb_page.rs`)
//!   walking the host source (`host_source.rs`), the truncation URL (`truncation.rs`), the XML
//!   (`render.rs`) and the synthetic population (`synthetic.rs`, which also writes
//!   `qharness synth` host pages).
//! - `synthetic.rs` is what every stream's synthetic answer shares: the options, the summary,
//!   and `write_page`, which finds the stream's writer in the registry.
//! - Shared by name: `xml_writer.rs` (XML into byte buffers, for every family's documents) and
//!   `timestamp.rs` (Qualys's `*_DATETIME` form, written millions of times a second).
//! - `registry.rs` holds the rows: each family's authentication and dialect, each endpoint's
//!   handler, each stream's synthetic writer.
//!
//! # Adding an API family (Policy Compliance, WAS)
//!
//! 1. Endpoints: rows in `src/qualys/endpoint.rs` (already there for QPS and the gateway), so
//!    routing, fault scopes and scenario request expectations know them.
//! 2. A module `sim/<family>/` (`pc/`, `was/`) with one `Handler` impl per endpoint, its
//!    parameter or body parsing and its pages.
//! 3. A tenant section `sim/tenant/<module>.rs` with its written and resolved forms, a table of
//!    its own in tenant files (`[pc]`, `[was]`), wired in `Tenant::merge`.
//! 4. Rows in `sim/registry.rs`: `.answer(&endpoint::WAS_FINDING_SEARCH, was::FindingSearchHandler)`
//!    and so on. The dialect and authentication rows exist; Policy Compliance replaces
//!    `NoSessions` with a JWT session store shared by its `/auth` handler and `GatewayAuth`.
//!    A stream that can be synthesised at any size adds a `SYNTH_WRITERS` row.
//!
//! The engine is not edited: it has no `match` on endpoints or family data.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> qualys_harness::Result<()> {
//! use qualys_harness::sim::{Simulator, SimulatorConfig};
//! let sim = Simulator::start(SimulatorConfig::demo()).await?;
//! println!("serving the demo tenant at {}", sim.base_url);
//! // ... run the client under test ...
//! let calls = sim.journal().entries_for("/fo/asset/host/vm/detection/");
//! assert!(calls.iter().all(|c| c.header("X-Requested-With").is_some()));
//! # Ok(()) }
//! ```

mod dialect;
mod engine;
mod pc;
mod registry;
mod server;
mod simulator;
pub mod synthetic;
mod tenant;
mod timestamp;
mod vmdr;
mod was;
mod xml_writer;

pub use engine::Engine;
pub use engine::admin::AdminToken;
pub use engine::fault::{CallRange, Fault, FaultRule, RouteScope};
pub use engine::journal::{
    Completion, Journal, JournalEntry, JournalLimits, JournalStats, PARAM_VALUE_CAP, PARAMS_CAP,
};
pub use engine::redaction::BODY_CAP;
pub(crate) use engine::redaction::is_secret_param;
pub use engine::replay::FixtureSet;
pub(crate) use engine::replay::{ORIGIN, Replace};
pub(crate) use server::request::Credentials;
pub use server::request::SimRequest;
pub use server::response::SimResponse;
pub(crate) use server::tls::SelfSigned;
pub use simulator::{RunningSimulator, ServeOptions, Simulator, SimulatorConfig, serve};
pub use synthetic::{
    SynthOptions, SynthSummary, SynthWriter, parse_size, synth_stream_names, synth_writer,
    write_page,
};
pub use tenant::{
    AccountState, AssetGroup, AssetGroupSpec, Budget, DetectionChange, KernelState, Limits,
    LimitsSpec, PcData, PcSpec, SimDetection, SimFinding, SimHost, SimScan, SimVuln, SimWebApp,
    Tag, TagSpec, Tenant, TenantBase, TenantSection, TenantSpec, TextStyle, User, VmdrData,
    WasData, WasSpec, WasUser,
};
pub use timestamp::Timestamp;
pub use vmdr::synthetic::SyntheticSpec;
