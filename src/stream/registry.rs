//! The stream registry: every connector stream, in one table.
//!
//! A [`StreamRow`] says what a stream is: its name, the API [`Family`] it calls (which decides
//! the host, the authentication and how errors look), the module permission its user needs, the
//! settings that apply to it, how a scenario names one of its records, and what its parse
//! throughput is measured against. [`StreamRow::builtin`] is the [`Stream`] that runs it, or
//! `None` for a stream whose name is reserved but which this version does not implement yet.
//!
//! The configuration, the CLI, the scenario runner, the throughput scenarios and `qharness parse`
//! all read this table; none of them matches on [`StreamKind`]. A new stream is one more row
//! here and one more [`Stream`] impl in its own file.
//!
//! ```
//! use qualys_harness::StreamKind;
//!
//! let row = StreamKind::VmdrVulnerabilities.row();
//! assert_eq!(row.name, "vmdr-vulnerabilities");
//! assert!(row.settings.contains(&"arf_kernel_filter"));
//! assert!(StreamKind::PcPosture.row().builtin.is_some());
//! assert_eq!("vmdr-assets".parse::<StreamKind>(), Ok(StreamKind::VmdrAssets));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::Stream;
use super::pc_posture::PcPosture;
use super::vmdr_assets::VmdrAssets;
use super::vmdr_vulnerabilities::VmdrVulnerabilities;
use super::was_assets::WasAssets;
use super::was_findings::WasFindings;
use crate::error::{Error, Result};
use crate::qualys::{Family, Permission};

/// The connector streams, by name. The facts about each are in its [`StreamRow`]
/// ([`StreamKind::row`]); this enum is only the key, so that settings, scenario files and run
/// summaries can name a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    VmdrAssets,
    VmdrVulnerabilities,
    PcPosture,
    WasAssets,
    WasFindings,
}

/// What a stream's parse throughput is measured against: a yardstick run on the same bytes in
/// the same process, because absolute MB/s move by ±10 % between runs on a shared machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// quick-xml's raw event loop over the same response, counting `DETECTION` start tags
    /// ([`crate::parse::xml::baseline::raw_event_loop`]).
    RawXmlEventLoop,
    /// A plain serde_json pass that keeps nothing (`IgnoredAny`) over the same JSON, read
    /// through the same decompression as the subject
    /// ([`crate::parse::json::baseline::ignored_any`]).
    JsonIgnoredAny,
    /// The same raw event loop counting the start tags of the stream's record element (`Finding`),
    /// which must equal the records parsed
    /// ([`crate::parse::xml::baseline::raw_event_loop_counting`]).
    RawXmlRecordLoop { record: &'static str },
}

/// One stream of the registry.
pub struct StreamRow {
    pub kind: StreamKind,
    /// The name users type (`--stream`, `stream = "..."`).
    pub name: &'static str,
    /// The API family every request of the stream belongs to.
    pub family: Family,
    /// The module permission the Qualys user needs.
    pub permission: Permission,
    /// The module settings (config-file keys) that apply to this stream. A module setting that
    /// applies to another stream is rejected before any request, naming the streams it applies to.
    pub settings: &'static [&'static str],
    /// Module settings accepted and ignored, so that one config file can serve several streams
    /// of the same module.
    pub tolerates: &'static [&'static str],
    /// The record fields that identify a record in scenario files (`keys = ["100031:38173"]`),
    /// joined with `:`.
    pub record_key: &'static [&'static str],
    /// The throughput measurement that applies, if the simulator can synthesise this stream's
    /// responses.
    pub throughput: Option<Baseline>,
    /// The implementation; `None` while the stream is reserved but not built.
    pub builtin: Option<&'static dyn Stream>,
}

/// Every stream. Order is the order of listings in messages.
pub static STREAMS: &[StreamRow] = &[
    StreamRow {
        kind: StreamKind::VmdrAssets,
        name: "vmdr-assets",
        family: Family::Fo,
        permission: Permission::ManageVm,
        settings: &[
            "tag_include",
            "tag_exclude",
            "tag_include_selector",
            "tag_exclude_selector",
            "truncation_limit",
            "changed_since",
        ],
        // The KnowledgeBase join belongs to the vulnerabilities stream; a config file written for
        // both VMDR streams keeps working (this version has always accepted these here).
        tolerates: &["kb_batch_size", "knowledge_base"],
        record_key: &["host_id"],
        throughput: Some(Baseline::RawXmlEventLoop),
        builtin: Some(&VmdrAssets),
    },
    StreamRow {
        kind: StreamKind::VmdrVulnerabilities,
        name: "vmdr-vulnerabilities",
        family: Family::Fo,
        permission: Permission::ManageVm,
        settings: &[
            "status",
            "tag_include",
            "tag_exclude",
            "tag_include_selector",
            "tag_exclude_selector",
            "arf_kernel_filter",
            "truncation_limit",
            "include_ignored",
            "include_disabled",
            "kb_batch_size",
            "knowledge_base",
            "changed_since",
        ],
        tolerates: &[],
        record_key: &["host_id", "qid"],
        throughput: Some(Baseline::RawXmlEventLoop),
        builtin: Some(&VmdrVulnerabilities),
    },
    StreamRow {
        kind: StreamKind::PcPosture,
        name: "pc-posture",
        family: Family::Gateway,
        permission: Permission::ManagePc,
        settings: &[
            "policy_ids",
            "include_inactive_policies",
            "evidence",
            "host_batch_size",
            "changed_since",
        ],
        tolerates: &[],
        record_key: &["posture_id"],
        throughput: Some(Baseline::JsonIgnoredAny),
        builtin: Some(&PcPosture),
    },
    StreamRow {
        kind: StreamKind::WasAssets,
        name: "was-assets",
        family: Family::Qps,
        permission: Permission::ManageWebApplications,
        settings: &["page_size", "changed_since"],
        // One config file can serve both WAS streams.
        tolerates: &["finding_types"],
        record_key: &["webapp_id"],
        throughput: None,
        builtin: Some(&WasAssets),
    },
    StreamRow {
        kind: StreamKind::WasFindings,
        name: "was-findings",
        family: Family::Qps,
        permission: Permission::ManageWebApplications,
        settings: &["finding_types", "page_size", "changed_since"],
        tolerates: &[],
        record_key: &["finding_id"],
        throughput: Some(Baseline::RawXmlRecordLoop { record: "Finding" }),
        builtin: Some(&WasFindings),
    },
];

impl StreamKind {
    /// This stream's row of the registry.
    pub fn row(self) -> &'static StreamRow {
        STREAMS
            .iter()
            .find(|r| r.kind == self)
            .unwrap_or_else(|| panic!("{self:?} has no row in STREAMS; every StreamKind needs one"))
    }

    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The names of every stream, for messages.
    pub fn names() -> Vec<&'static str> {
        STREAMS.iter().map(|r| r.name).collect()
    }

    /// The stream's implementation, or the configuration error users have always seen for a
    /// reserved stream.
    pub fn builtin(self) -> Result<&'static dyn Stream> {
        self.row().builtin.ok_or_else(|| {
            Error::config(
                "stream",
                format!(
                    "the {} stream is not implemented in this version",
                    self.name()
                ),
                format!("use {}", implemented_names().join(" or ")),
            )
        })
    }
}

/// The names of the streams this version implements.
pub fn implemented_names() -> Vec<&'static str> {
    STREAMS
        .iter()
        .filter(|r| r.builtin.is_some())
        .map(|r| r.name)
        .collect()
}

/// Names as a sentence lists them: `a`, `a and b`, `a, b and c`.
pub(crate) fn listing(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl StreamRow {
    /// The key of a record in scenario files: the [`StreamRow::record_key`] fields, joined with
    /// `:` (`100031:38173`).
    pub fn record_key(&self, record: &Value) -> String {
        self.record_key
            .iter()
            .map(|field| record[*field].to_string())
            .collect::<Vec<_>>()
            .join(":")
    }
}

impl fmt::Debug for StreamRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamRow")
            .field("name", &self.name)
            .field("family", &self.family)
            .field("implemented", &self.builtin.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StreamKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        STREAMS
            .iter()
            .find(|r| r.name == s.trim())
            .map(|r| r.kind)
            .ok_or_else(|| {
                format!(
                    "unknown stream {s:?}; valid streams: {}",
                    StreamKind::names().join(", ")
                )
            })
    }
}

impl Serialize for StreamKind {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for StreamKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [StreamKind; 5] = [
        StreamKind::VmdrAssets,
        StreamKind::VmdrVulnerabilities,
        StreamKind::PcPosture,
        StreamKind::WasAssets,
        StreamKind::WasFindings,
    ];

    #[test]
    fn every_stream_has_exactly_one_row_and_its_name_reads_back() {
        assert_eq!(STREAMS.len(), ALL.len());
        for kind in ALL {
            assert_eq!(STREAMS.iter().filter(|r| r.kind == kind).count(), 1);
            assert_eq!(kind.name().parse::<StreamKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_json::from_str::<StreamKind>(&json).unwrap(), kind);
        }
        let e = "vmdr".parse::<StreamKind>().unwrap_err();
        assert!(
            e.contains("vmdr-assets, vmdr-vulnerabilities, pc-posture"),
            "{e}"
        );
    }

    #[test]
    fn reserved_streams_are_rejected_naming_the_implemented_ones() {
        // Every stream of the registry is built in this version.
        for row in STREAMS {
            assert!(row.builtin.is_some(), "{} has no built-in stream", row.name);
        }
    }

    #[test]
    fn a_stream_calls_the_endpoints_of_its_family_with_its_permission() {
        let config = crate::config::Settings::new(
            StreamKind::VmdrVulnerabilities,
            "https://qualysapi.qualys.com",
            "quays_ab1",
        )
        .validate(Some("x".into()))
        .unwrap()
        .0;
        for row in STREAMS {
            let Some(stream) = row.builtin else { continue };
            let first = stream.first_request(&config);
            assert_eq!(first.endpoint.family, row.family, "{}", row.name);
            assert_eq!(
                first.endpoint.permission,
                Some(row.permission),
                "{}",
                row.name
            );
        }
    }

    #[test]
    fn record_keys_join_the_key_fields() {
        let r = serde_json::json!({"host_id": 100031, "qid": 38173});
        assert_eq!(
            StreamKind::VmdrVulnerabilities.row().record_key(&r),
            "100031:38173"
        );
        assert_eq!(StreamKind::VmdrAssets.row().record_key(&r), "100031");
        let f = serde_json::json!({"finding_id": 6816386, "webapp_id": 238483924});
        assert_eq!(StreamKind::WasFindings.row().record_key(&f), "6816386");
        assert_eq!(StreamKind::WasAssets.row().record_key(&f), "238483924");
    }
}
