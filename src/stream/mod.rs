//! The connector streams: one module per stream, each turning pages from the [`crate::client`]
//! into NDJSON records for a [`crate::sink::Sink`].
//!
//! Every stream follows the same page discipline: a page's records are written to a
//! [`crate::sink::PageSpool`] while the page streams in, and reach the sink only once the page
//! parsed completely. A page that fails half-way is retried from scratch (nothing of it was
//! emitted) or fails the run; a record is never emitted twice.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::qualys::Permission;

pub mod page_loop;
pub mod saved;
pub mod summary;
pub mod vmdr_assets;
pub mod vmdr_vulnerabilities;

pub use summary::RunSummary;

/// The five connector streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamKind {
    VmdrAssets,
    VmdrVulnerabilities,
    PcPosture,
    WasAssets,
    WasFindings,
}

impl StreamKind {
    pub const NAMES: [&'static str; 5] = [
        "vmdr-assets",
        "vmdr-vulnerabilities",
        "pc-posture",
        "was-assets",
        "was-findings",
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Whether this version implements the stream.
    pub fn is_supported(self) -> bool {
        matches!(
            self,
            StreamKind::VmdrAssets | StreamKind::VmdrVulnerabilities
        )
    }

    /// VMDR and WAS call the API server; Policy Compliance calls the API gateway.
    pub fn uses_api_server(self) -> bool {
        self != StreamKind::PcPosture
    }

    /// The module permission the Qualys user needs for this stream.
    pub fn permission(self) -> Permission {
        match self {
            StreamKind::VmdrAssets | StreamKind::VmdrVulnerabilities => Permission::ManageVm,
            StreamKind::PcPosture => Permission::ManagePc,
            StreamKind::WasAssets | StreamKind::WasFindings => Permission::ManageWebApplications,
        }
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StreamKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all = [
            StreamKind::VmdrAssets,
            StreamKind::VmdrVulnerabilities,
            StreamKind::PcPosture,
            StreamKind::WasAssets,
            StreamKind::WasFindings,
        ];
        all.into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown stream {s:?}; valid streams: {}",
                    Self::NAMES.join(", ")
                )
            })
    }
}

/// Runs the configured stream against a client, writing records to `sink`. The sink is not
/// finished here: the caller publishes the output only when this returns `Ok`.
pub async fn run(
    client: &crate::client::QualysClient,
    config: &crate::config::ConnectorConfig,
    sink: &mut dyn crate::sink::Sink,
) -> crate::Result<RunSummary> {
    match config.stream {
        StreamKind::VmdrVulnerabilities => vmdr_vulnerabilities::run(client, config, sink).await,
        StreamKind::VmdrAssets => vmdr_assets::run(client, config, sink).await,
        other => Err(crate::Error::config(
            "stream",
            format!("the {other} stream is not implemented in this version"),
            "use vmdr-assets or vmdr-vulnerabilities",
        )),
    }
}
