//! The simulated Qualys server.
//!
//! CI pipelines point connectors at it, support engineers reproduce a customer's failure with
//! it, benchmarks stream gigabytes from it. It answers from two sources: recorded fixtures
//! ([`replay`]) and a modelled tenant ([`tenant`]) with Qualys semantics for every parameter the
//! connector sends.
//!
//! # How the pieces fit
//!
//! ```text
//!            transport (hyper, TLS)          engine (no HTTP in here)
//! bytes ──> SimRequest ────────────────> route ─> replay? ─> account ─> fault ─> limits ─> params
//!                                                                                          │
//! bytes <── SimBody <── delivery faults <── ChunkSource (page: host source ─> render) <────┘
//!                                  │
//!                                  └──> journal (completed with the bytes actually sent)
//! ```
//!
//! - The **transport** ([`transport`], [`tls`]) owns sockets: it merges query and form
//!   parameters, decodes Basic credentials, and sends bodies chunk by chunk from a blocking
//!   renderer thread through a bounded channel, applying the delivery faults (delay, dribble,
//!   clean truncation, reset mid-body).
//! - The **engine** ([`engine`]) decides the answer: [`route`] classifies the path (API version,
//!   missing trailing slash), [`replay`] looks for a recorded fixture, [`account`] checks login,
//!   account state and permission, [`fault`] injects what the tenant asks for, [`limits`] keeps
//!   the rate and concurrency budgets, [`params`] parses parameters into the types of
//!   [`crate::qualys::filter`], and [`page`] renders the answer lazily.
//! - The **model** is a [`tenant::Tenant`]: users, limits, faults, tags, hosts, KnowledgeBase,
//!   and optionally a [`synthetic`] population generated on the fly. [`host_source`] walks hosts
//!   in ID order from either; [`render`] writes them as Qualys XML; [`pagination`] builds the
//!   truncation URL. The same renderer writes `qharness synth` files
//!   ([`synthetic::write_page`]).
//! - The **journal** ([`journal`]) records every exchange, readable in-process, at
//!   `GET /__sim/journal` (NDJSON) and reset by `POST /__sim/reset`.
//!
//! WAS (`/qps/rest/3.0/search/was/...`) and Policy Compliance (`/auth`, `/pcrs/...`) slot in as
//! more [`route::Endpoint`]s with their own params and pages, and more tenant sections; the
//! request already carries its raw body for the QPS `ServiceRequest`.
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
mod registry;
mod server;
mod simulator;
mod tenant;
mod timestamp;
mod vmdr;
mod xml_writer;

pub use engine::Engine;
pub use engine::fault::{CallRange, Fault, FaultRule, RouteScope};
pub use engine::journal::{BODY_CAP, Completion, Journal, JournalEntry};
pub use engine::replay::FixtureSet;
pub use server::request::SimRequest;
pub use server::response::SimResponse;
pub use simulator::{RunningSimulator, ServeOptions, Simulator, SimulatorConfig, serve};
pub use tenant::{
    AccountState, KernelState, Limits, LimitsSpec, SimDetection, SimHost, SimVuln, Tag, TagSpec,
    Tenant, TenantBase, TenantSection, TenantSpec, TextStyle, User, VmdrData,
};
pub use timestamp::Timestamp;
pub use vmdr::synthetic::{
    SynthOptions, SynthStream, SynthSummary, SyntheticSpec, parse_size, synth_writer, write_page,
};

/// The path `qharness synth --size` parses sizes through; [`parse_size`] is the same function.
pub mod synthetic {
    pub use super::vmdr::synthetic::parse_size;
}
