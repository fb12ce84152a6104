//! The scenario file: one TOML file per case under `scenarios/<group>/<name>.toml`.
//!
//! ```toml
//! description = "status = New returns only New detections"
//! stream = "vmdr-vulnerabilities"
//!
//! [settings]                 # the connector's config-file settings, same names
//! status = "New"
//!
//! [server]                   # the simulated Qualys the connector talks to
//! user = "quays_ab1"         # login (default quays_ab1) and password (default demo)
//! [server.tenant]            # inline tenant over the embedded demo tenant (see sim::tenant)
//! [[server.tenant.faults]]
//! kind = "server_error"
//! first = 1
//!
//! [expect]
//! records = 42               # exact count
//! [expect.fields]            # the exact set of distinct values of a field across records
//! status = ["New"]
//! [[expect.requests]]        # what the simulator must have received
//! endpoint = "detection"
//! params = { status = "New" }
//! absent = ["show_igs"]
//! # body_contains = ["<verbose>true</verbose>"]   # a ServiceRequest or JSON body, as sent
//! # body_lacks = ["field=\"type\""]
//! ```
//!
//! Every table denies unknown keys, so a typo fails the scenario instead of silently checking
//! nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::config::Settings;
use crate::sim::TenantSpec;
use crate::stream::StreamKind;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// What the scenario pins, in one sentence; shown in reports.
    pub description: String,
    pub stream: StreamKind,
    /// Connector settings, as in the connector's config file. `platform_url` and `username`
    /// default to the simulator and [`ServerSpec::user`].
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub server: ServerSpec,
    #[serde(default)]
    pub expect: Expect,
    /// Makes this a throughput scenario: no connector run against `server`, a timed comparison.
    #[serde(default)]
    pub throughput: Option<ThroughputSpec>,
}

/// The simulated server of a scenario.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Login the connector uses (default `quays_ab1`).
    #[serde(default)]
    pub user: Option<String>,
    /// Password the connector sends (default `demo`, the demo tenant's password).
    #[serde(default)]
    pub password: Option<String>,
    /// A tenant inline, merged over its base (the demo tenant unless `base = "empty"`).
    #[serde(default)]
    pub tenant: Option<TenantSpec>,
    /// A tenant file, relative to the scenario file.
    #[serde(default)]
    pub tenant_file: Option<PathBuf>,
    /// A recorded fixture set directory (manifest + bodies), relative to the scenario file;
    /// requests it matches are answered from it, the rest from the tenant.
    #[serde(default)]
    pub fixtures: Option<PathBuf>,
    /// Serve HTTPS with the simulator's self-signed certificate, which the connector is given
    /// to trust (`ca_cert`, or `QHARNESS_CA_CERT` for an external connector).
    #[serde(default)]
    pub tls: bool,
}

/// What must be true after the run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Exact number of records.
    #[serde(default)]
    pub records: Option<u64>,
    /// The exact set of record keys: `"host_id:qid"` for detections, `"host_id"` for hosts.
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    /// Number of pages of the paginated endpoint.
    #[serde(default)]
    pub pages: Option<u64>,
    /// For each field, the exact set of distinct values seen across the records. For array
    /// fields (`tags`) the values are the array elements.
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<Value>>,
    /// Conditions every record must meet.
    #[serde(default)]
    pub every: Vec<Predicate>,
    /// Conditions no record may meet.
    #[serde(default)]
    pub none: Vec<Predicate>,
    /// Conditions at least one record must meet.
    #[serde(default)]
    pub some: Vec<Predicate>,
    /// Exact values of run-summary counters (`info_dropped`, `kb_missing`, `retries`, ...).
    #[serde(default)]
    pub summary: BTreeMap<String, Value>,
    /// Words each of which some run-summary warning must contain.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Requests the simulator must have received.
    #[serde(default)]
    pub requests: Vec<RequestExpect>,
    /// The run must fail like this; without it the run must succeed.
    #[serde(default)]
    pub error: Option<ErrorExpect>,
    /// An insta snapshot of the records, stored in `snapshots/` beside the scenario.
    #[serde(default)]
    pub snapshot: Option<SnapshotExpect>,
}

/// A condition on one record field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    pub field: String,
    /// The field equals this value.
    #[serde(default)]
    pub equals: Option<Value>,
    /// The field equals one of these values.
    #[serde(default)]
    pub one_of: Option<Vec<Value>>,
    /// The field (an array) contains this value.
    #[serde(default)]
    pub contains: Option<Value>,
    /// The field (an array) contains at least one of these values.
    #[serde(default)]
    pub contains_any: Option<Vec<Value>>,
    /// The field (an array) contains every one of these values.
    #[serde(default)]
    pub contains_all: Option<Vec<Value>>,
    /// The field is null (`true`) or not null (`false`).
    #[serde(default)]
    pub is_null: Option<bool>,
}

/// Which endpoint a request expectation is about: an endpoint name of the registry
/// ([`crate::qualys::endpoint`]) or `any`.
pub use crate::qualys::endpoint::EndpointScope as EndpointName;

/// Expectations on the requests to one endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestExpect {
    pub endpoint: EndpointName,
    /// Exact number of requests to the endpoint.
    #[serde(default)]
    pub count: Option<usize>,
    /// Only the n-th request (1-based); otherwise every request to the endpoint.
    #[serde(default)]
    pub nth: Option<usize>,
    /// Parameters present with these values.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Parameters that must be absent.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Request headers that must be present.
    #[serde(default)]
    pub headers: Vec<String>,
    /// Texts the request body must contain (a QPS `ServiceRequest`, a JSON body), as sent.
    #[serde(default)]
    pub body_contains: Vec<String>,
    /// Texts the request body must not contain.
    #[serde(default)]
    pub body_lacks: Vec<String>,
}

/// The exit class names of [`crate::ExitClass`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitName {
    Config,
    Account,
    Transient,
    Other,
}

impl ExitName {
    pub fn class(self) -> crate::ExitClass {
        match self {
            ExitName::Config => crate::ExitClass::Config,
            ExitName::Account => crate::ExitClass::Account,
            ExitName::Transient => crate::ExitClass::Transient,
            ExitName::Other => crate::ExitClass::Other,
        }
    }
}

/// How the run must fail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorExpect {
    pub exit: ExitName,
    /// The Qualys code the error carries.
    #[serde(default)]
    pub code: Option<u32>,
    /// Words the message must contain (case-sensitive).
    #[serde(default)]
    pub contains: Vec<String>,
    /// The parts of this expectation that hold for any connector, not only the built-in one
    /// (see [`Portable`]).
    #[serde(default)]
    pub portable: Vec<Portable>,
}

/// A part of an `[expect.error]` that an external connector is judged on too.
///
/// An external connector always has to fail (a non-zero exit) and publish nothing. Beyond
/// that, `exit` checks its exit status against the exit-code convention (`--exit-codes`, or
/// qharness's `2,3,4,1`), and `contains` looks for the words in what it wrote to stderr. Both
/// are otherwise checked only with `--exit-codes` (the exit class) or for the built-in
/// connector (the words, which are its own wording: "invalid XML at byte" is a quick-xml
/// position another parser cannot give). The Qualys `code` is the built-in's error value and
/// is never asked of an external connector; the journal shows what the simulator answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Portable {
    Exit,
    Contains,
}

/// A named insta snapshot of the records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotExpect {
    pub name: String,
    /// insta selectors of volatile fields, e.g. `.[].last_found`.
    #[serde(default)]
    pub redact: Vec<String>,
}

/// What a throughput scenario compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThroughputMode {
    /// `parse --count` against the raw quick-xml event loop.
    ParseCount,
    /// `parse` to NDJSON against the raw quick-xml event loop.
    ParseNdjson,
    /// Simulator over loopback HTTP -> connector -> sink, against parse-only (`ParseNdjson`).
    EndToEnd,
}

/// A timed comparison on a synthetic scan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThroughputSpec {
    pub mode: ThroughputMode,
    /// Size of the synthetic response in MB (10^6 bytes).
    pub size_mb: u64,
    #[serde(default = "default_detections")]
    pub detections_per_host: u32,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Minimum throughput ratio to the baseline, measured in the same run.
    pub min_ratio: f64,
    /// Interleaved rounds; the fastest round of each side is compared.
    #[serde(default = "default_rounds")]
    pub rounds: u32,
    /// Upper bound on the growth of peak resident memory while the subject parses (parse
    /// modes; Linux, measured through /proc/self).
    #[serde(default)]
    pub max_rss_growth_mib: Option<f64>,
}

fn default_detections() -> u32 {
    50
}

fn default_seed() -> u64 {
    1
}

fn default_rounds() -> u32 {
    3
}
