//! The tenant's VMDR section: asset tags, hosts with their detections, the KnowledgeBase and an
//! optional synthetic population.
//!
//! In a tenant file the section's keys (`tags`, `asset_groups`, `hosts`, `knowledge_base`,
//! `synthetic`, `cvss_scoring`) sit at the top level, because VMDR came first and tenant files
//! already use them; the sections of later modules are tables of their own (`[pc]`, `[was]`).
//! [`VmdrSpec`] is the written form, merged over a base's [`VmdrData`] by [`VmdrData::merge`];
//! [`VmdrData::resolve`] fills derived fields (tag and asset group IDs, severities, unique vuln
//! IDs) and checks cross-references.
//!
//! # Asset groups
//!
//! ```toml
//! [[asset_groups]]
//! title = "Data Center East"       # hosts list it in `asset_groups = [...]`
//! [[asset_groups]]
//! title = "DMZ Segment"
//! id = 3003                        # assigned from 3001 when absent
//! ips = "192.0.2.200-192.0.2.240"  # and every host (listed or synthetic) with an IP in it
//! ```
//!
//! Users see only the hosts of their asset groups (`asset_groups = [...]` on a user, see
//! [`super::accounts::User`]), and `ag_ids` / `ag_titles` select hosts by group.
//!
//! # Changes over time: one tenant, several runs
//!
//! A tenant can say what changes after a moment, so that an incremental run
//! (`detection_updated_since`, `vm_processed_after`, ...) gets exactly the changes while a full
//! run sees the state of the moment it runs at. The moment is the tenant's clock: `clock =
//! "2024-06-10T00:00:00Z"` at the top of the file, moved on by [`crate::sim::RunningSimulator::set_clock`]
//! or `POST /__sim/clock` with `now=...` (without a clock, the real time). Nothing is visible
//! before its time:
//!
//! ```toml
//! clock = "2024-06-10T00:00:00Z"
//!
//! [[hosts]]
//! id = 101
//! [[hosts.detections]]
//! qid = 38170
//! status = "Active"
//! first_found = "2024-05-01T00:00:00Z"
//! [[hosts.detections.changes]]         # a scan at `at` found it fixed
//! at = "2024-06-15T00:00:00Z"
//! status = "Fixed"
//!
//! [[hosts]]
//! id = 102
//! appears_at = "2024-06-15T00:00:00Z"  # first scanned then: absent from earlier answers
//! [[hosts.detections]]
//! qid = 38173
//! status = "New"                       # found by that scan (its dates default to appears_at)
//! ```
//!
//! A change is what a scan at `at` did, applied once the clock reaches `at`, in order: the
//! detection was tested, updated and processed at `at` (`last_test`, `last_update`,
//! `last_processed`); a new `status` of `Fixed` sets `last_fixed`; `Active`, `New` or
//! `Re-Opened` mean it was found (`last_found`, `times_found` + 1; `Re-Opened` also sets the
//! reopening); without a `status` the scan found it again unless it is fixed. Any field a change
//! names (`last_found`, `last_fixed`, `results`, `is_ignored`, `qds`, ...) overrides what the
//! scan implies. The host's `LAST_SCAN_DATETIME`, `LAST_VM_SCANNED_DATE` and processing time
//! move to the latest change (or `appears_at`) too, so `vm_scan_since` and `vm_processed_after`
//! see it. A detection can also have an `appears_at` of its own (found by a later scan).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::qualys::filter::{DetectionType, VulnStatus};
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::params::IpSet;
use crate::sim::vmdr::render::{THREAT_INTEL_IDS, threat_intel_id};
use crate::sim::vmdr::synthetic::{SyntheticPopulation, SyntheticSpec};

use super::TenantSection;

/// An asset tag definition; hosts refer to tags by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagSpec {
    pub name: String,
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub background_color: Option<String>,
}

/// A resolved asset tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tag {
    pub id: u64,
    pub name: String,
    pub color: Option<String>,
    pub background_color: Option<String>,
}

/// How a text field is written: inside CDATA (Qualys's usual form) or as escaped text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextStyle {
    #[default]
    Cdata,
    Escaped,
}

/// An asset group as written in a tenant file; hosts refer to groups by title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetGroupSpec {
    pub title: String,
    #[serde(default)]
    pub id: Option<u64>,
    /// IPv4 addresses and ranges (`192.0.2.1-192.0.2.9,198.51.100.7`): every host with an IP
    /// in them belongs to the group, as Qualys defines groups by IP.
    #[serde(default)]
    pub ips: Option<String>,
}

/// A resolved asset group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetGroup {
    pub id: u64,
    pub title: String,
    pub ips: Option<IpSet>,
}

impl AssetGroup {
    /// Whether a host with these group titles and this IP belongs to the group.
    pub fn contains(&self, host_groups: &[String], ip: Option<&str>) -> bool {
        host_groups.contains(&self.title) || self.ips.as_ref().is_some_and(|s| s.contains(ip))
    }
}

/// Whether a kernel-related detection was found on the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelState {
    /// `AFFECT_RUNNING_KERNEL` 1: exploitable.
    Running,
    /// `AFFECT_RUNNING_KERNEL` 0: found on an installed, non-running kernel.
    NotRunning,
}

/// A host of the tenant, as written in the tenant file and as served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimHost {
    pub id: u64,
    #[serde(default)]
    pub asset_id: Option<u64>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub ipv6: Option<String>,
    #[serde(default = "default_tracking")]
    pub tracking_method: String,
    #[serde(default)]
    pub network_id: Option<u64>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub dns: Option<String>,
    /// `DNS_DATA/FQDN`; `HOSTNAME` and `DOMAIN` are derived from it.
    #[serde(default)]
    pub fqdn: Option<String>,
    #[serde(default)]
    pub netbios: Option<String>,
    #[serde(default)]
    pub qg_hostid: Option<String>,
    /// Served only by `/api/3.0` and later with `details=All` (see fixtures/README.md).
    #[serde(default)]
    pub serial_number: Option<String>,
    #[serde(default)]
    pub last_scan: Option<Timestamp>,
    #[serde(default)]
    pub last_vm_scanned: Option<Timestamp>,
    #[serde(default)]
    pub last_vm_scanned_duration: Option<u32>,
    #[serde(default)]
    pub last_vm_auth_scanned: Option<Timestamp>,
    #[serde(default)]
    pub last_vm_auth_scanned_duration: Option<u32>,
    /// When the host's last vulnerability scan was processed (`vm_processed_after/before`);
    /// the latest of its scan dates and its detections' processing when absent.
    #[serde(default)]
    pub last_vm_processed: Option<Timestamp>,
    /// Tag names.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Titles of the asset groups the host is in (groups defined by IP add more).
    #[serde(default)]
    pub asset_groups: Vec<String>,
    /// First scanned at this moment: absent from every answer before it (see the module
    /// documentation on changes over time).
    #[serde(default)]
    pub appears_at: Option<Timestamp>,
    #[serde(default)]
    pub detections: Vec<SimDetection>,
}

fn default_tracking() -> String {
    "IP".to_string()
}

/// A detection of a QID on a host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimDetection {
    pub qid: u32,
    /// Assigned from the host ID and QID when absent.
    #[serde(default)]
    pub unique_vuln_id: Option<u64>,
    #[serde(rename = "type", default = "default_type")]
    pub kind: DetectionType,
    /// Taken from the KnowledgeBase entry when absent.
    #[serde(default)]
    pub severity: Option<u8>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub ssl: Option<bool>,
    #[serde(default)]
    pub results: Option<String>,
    #[serde(default)]
    pub results_style: TextStyle,
    #[serde(default = "default_status")]
    pub status: VulnStatus,
    #[serde(default)]
    pub first_found: Option<Timestamp>,
    #[serde(default)]
    pub last_found: Option<Timestamp>,
    #[serde(default)]
    pub times_found: Option<u32>,
    #[serde(default)]
    pub last_test: Option<Timestamp>,
    #[serde(default)]
    pub last_update: Option<Timestamp>,
    #[serde(default)]
    pub last_fixed: Option<Timestamp>,
    #[serde(default)]
    pub last_reopened: Option<Timestamp>,
    #[serde(default)]
    pub times_reopened: Option<u32>,
    #[serde(default)]
    pub is_ignored: bool,
    #[serde(default)]
    pub is_disabled: bool,
    /// Set for kernel-related vulnerabilities only.
    #[serde(default)]
    pub kernel: Option<KernelState>,
    #[serde(default)]
    pub last_processed: Option<Timestamp>,
    /// Qualys Detection Score, 1-100; derived from the severity and QID for confirmed and
    /// potential detections when absent, none for information gathered.
    #[serde(default)]
    pub qds: Option<u8>,
    /// Found first by a scan at this moment: absent from every answer before it.
    #[serde(default)]
    pub appears_at: Option<Timestamp>,
    /// What later scans changed, in time order (see the module documentation).
    #[serde(default)]
    pub changes: Vec<DetectionChange>,
}

/// What a scan at `at` changed in a detection; every field but `at` is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionChange {
    pub at: Timestamp,
    #[serde(default)]
    pub status: Option<VulnStatus>,
    #[serde(default)]
    pub last_found: Option<Timestamp>,
    #[serde(default)]
    pub last_test: Option<Timestamp>,
    #[serde(default)]
    pub last_update: Option<Timestamp>,
    #[serde(default)]
    pub last_fixed: Option<Timestamp>,
    #[serde(default)]
    pub last_processed: Option<Timestamp>,
    #[serde(default)]
    pub times_found: Option<u32>,
    #[serde(default)]
    pub results: Option<String>,
    #[serde(default)]
    pub severity: Option<u8>,
    #[serde(default)]
    pub qds: Option<u8>,
    #[serde(default)]
    pub is_ignored: Option<bool>,
    #[serde(default)]
    pub is_disabled: Option<bool>,
}

fn default_type() -> DetectionType {
    DetectionType::Confirmed
}

fn default_status() -> VulnStatus {
    VulnStatus::Active
}

impl SimDetection {
    /// A detection with defaults for everything but the QID, type and status.
    pub fn new(qid: u32, kind: DetectionType, status: VulnStatus) -> SimDetection {
        SimDetection {
            qid,
            unique_vuln_id: None,
            kind,
            severity: None,
            port: None,
            protocol: None,
            ssl: None,
            results: None,
            results_style: TextStyle::Cdata,
            status,
            first_found: None,
            last_found: None,
            times_found: None,
            last_test: None,
            last_update: None,
            last_fixed: None,
            last_reopened: None,
            times_reopened: None,
            is_ignored: false,
            is_disabled: false,
            kernel: None,
            last_processed: None,
            qds: None,
            appears_at: None,
            changes: Vec::new(),
        }
    }

    /// `None` when not kernel related, else whether it was found on the running kernel: the
    /// shape [`crate::qualys::filter::ArfKernelFilter::keeps`] takes.
    pub fn kernel_running(&self) -> Option<bool> {
        self.kernel.map(|k| k == KernelState::Running)
    }
}

impl SimHost {
    /// A host with only an ID and an IP; the rest takes defaults.
    pub fn new(id: u64, ip: impl Into<String>) -> SimHost {
        SimHost {
            id,
            asset_id: None,
            ip: Some(ip.into()),
            ipv6: None,
            tracking_method: default_tracking(),
            network_id: None,
            os: None,
            dns: None,
            fqdn: None,
            netbios: None,
            qg_hostid: None,
            serial_number: None,
            last_scan: None,
            last_vm_scanned: None,
            last_vm_scanned_duration: None,
            last_vm_auth_scanned: None,
            last_vm_auth_scanned_duration: None,
            last_vm_processed: None,
            tags: Vec::new(),
            asset_groups: Vec::new(),
            appears_at: None,
            detections: Vec::new(),
        }
    }
}

/// A KnowledgeBase entry (`KNOWLEDGE_BASE_VULN_LIST_OUTPUT/.../VULN`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimVuln {
    pub qid: u32,
    /// `Vulnerability`, `Potential Vulnerability`, `Information Gathered` or
    /// `Vulnerability or Potential Vulnerability`.
    #[serde(default = "default_vuln_type")]
    pub vuln_type: String,
    pub severity: u8,
    pub title: String,
    #[serde(default = "default_category")]
    pub category: String,
    pub published: Timestamp,
    #[serde(default)]
    pub last_modified: Option<Timestamp>,
    #[serde(default)]
    pub patchable: bool,
    #[serde(default)]
    pub cves: Vec<String>,
    /// CVSS v2 base score as Qualys prints it, e.g. `7.5`.
    #[serde(default)]
    pub cvss_base: Option<String>,
    #[serde(default)]
    pub cvss3_base: Option<String>,
    #[serde(default)]
    pub diagnosis: Option<String>,
    #[serde(default)]
    pub consequence: Option<String>,
    #[serde(default)]
    pub solution: Option<String>,
    /// Real-time threat indicator labels (`No_Patch`, `Easy_Exploit`, ...), served as
    /// `THREAT_INTELLIGENCE` with Qualys's IDs by `details=Basic` and `All`.
    #[serde(default)]
    pub threat_intel: Vec<String>,
    /// `DISCOVERY/REMOTE`.
    #[serde(default = "yes")]
    pub remote: bool,
    #[serde(default)]
    pub auth_types: Vec<String>,
    #[serde(default)]
    pub pci_flag: bool,
}

fn default_vuln_type() -> String {
    "Vulnerability".to_string()
}

fn default_category() -> String {
    "General remote services".to_string()
}

fn yes() -> bool {
    true
}

/// The VMDR keys of a tenant file, as [`super::TenantSpec`] holds them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmdrSpec {
    pub tags: Vec<TagSpec>,
    pub asset_groups: Vec<AssetGroupSpec>,
    pub hosts: Vec<SimHost>,
    pub knowledge_base: Vec<SimVuln>,
    pub synthetic: Option<SyntheticSpec>,
    pub cvss_scoring: Option<bool>,
}

/// The resolved VMDR section: what the VMDR handlers serve.
#[derive(Debug, Clone, Default)]
pub struct VmdrData {
    /// Tags by name.
    pub tags: BTreeMap<String, Tag>,
    /// Asset groups by title.
    pub asset_groups: BTreeMap<String, AssetGroup>,
    /// Sorted by ID, IDs unique.
    pub hosts: Vec<SimHost>,
    pub knowledge_base: BTreeMap<u32, SimVuln>,
    /// Served after (by ID) the listed hosts.
    pub synthetic: Option<Arc<SyntheticPopulation>>,
    /// The subscription's "CVSS Scoring" option: the KnowledgeBase shows `CVSS` and `CVSS_V3`
    /// only when it is on. Off for a new tenant, as in the recorded default answer; the demo
    /// tenant turns it on.
    pub cvss_scoring: bool,
}

impl VmdrData {
    /// Merges `spec` over this section: tags by name, hosts by ID, KnowledgeBase entries by QID;
    /// a synthetic population replaces the base's. Sections named in `replace` start empty.
    pub fn merge(
        &mut self,
        spec: VmdrSpec,
        replace: &[TenantSection],
    ) -> std::result::Result<(), String> {
        let replaces = |s: TenantSection| replace.contains(&s);
        if replaces(TenantSection::Tags) {
            self.tags.clear();
        }
        for t in spec.tags {
            let id = match t.id {
                Some(id) => id,
                None => self.tags.get(&t.name).map(|x| x.id).unwrap_or(0),
            };
            self.tags.insert(
                t.name.clone(),
                Tag {
                    id,
                    name: t.name,
                    color: t.color,
                    background_color: t.background_color,
                },
            );
        }
        if replaces(TenantSection::AssetGroups) {
            self.asset_groups.clear();
        }
        for g in spec.asset_groups {
            let ips = g
                .ips
                .as_deref()
                .map(|v| {
                    IpSet::parse(v).map_err(|e| format!("asset group {:?}: ips: {e}", g.title))
                })
                .transpose()?;
            let id =
                g.id.or_else(|| self.asset_groups.get(&g.title).map(|x| x.id))
                    .unwrap_or(0);
            self.asset_groups.insert(
                g.title.clone(),
                AssetGroup {
                    id,
                    title: g.title,
                    ips,
                },
            );
        }
        if replaces(TenantSection::KnowledgeBase) {
            self.knowledge_base.clear();
        }
        for kb in spec.knowledge_base {
            if !(1..=5).contains(&kb.severity) {
                return Err(format!(
                    "knowledge_base QID {}: severity {} is not 1-5",
                    kb.qid, kb.severity
                ));
            }
            if let Some(bad) = kb
                .threat_intel
                .iter()
                .find(|t| threat_intel_id(t).is_none())
            {
                return Err(format!(
                    "knowledge_base QID {}: threat_intel {bad:?} is not a Qualys threat indicator the simulator knows the ID of; use one of {}",
                    kb.qid,
                    THREAT_INTEL_IDS
                        .iter()
                        .map(|(l, _)| *l)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            self.knowledge_base.insert(kb.qid, kb);
        }
        if replaces(TenantSection::Hosts) {
            self.hosts.clear();
        }
        let mut by_id: BTreeMap<u64, SimHost> = std::mem::take(&mut self.hosts)
            .into_iter()
            .map(|h| (h.id, h))
            .collect();
        for h in spec.hosts {
            if h.id == 0 {
                return Err("a host has ID 0; Qualys host IDs are positive".into());
            }
            by_id.insert(h.id, h);
        }
        self.hosts = by_id.into_values().collect();
        if let Some(s) = spec.synthetic {
            self.synthetic = Some(Arc::new(SyntheticPopulation::new(&s)?));
        }
        if let Some(on) = spec.cvss_scoring {
            self.cvss_scoring = on;
        }
        Ok(())
    }

    /// Fills derived fields and checks cross-references: tag IDs, severities from the
    /// KnowledgeBase, unique vuln IDs, and that synthetic IDs do not collide with listed hosts.
    pub fn resolve(&mut self) -> std::result::Result<(), String> {
        let mut next_tag_id = self
            .tags
            .values()
            .map(|t| t.id)
            .max()
            .unwrap_or(7_000_000)
            .max(7_000_000)
            + 1;
        let mut seen_ids: HashMap<u64, String> = HashMap::new();
        for t in self.tags.values_mut() {
            if t.id == 0 {
                t.id = next_tag_id;
                next_tag_id += 1;
            }
        }
        for t in self.tags.values() {
            if let Some(other) = seen_ids.insert(t.id, t.name.clone()) {
                return Err(format!(
                    "tags {other:?} and {:?} share the ID {}",
                    t.name, t.id
                ));
            }
        }
        let mut next_group_id = self
            .asset_groups
            .values()
            .map(|g| g.id)
            .max()
            .unwrap_or(3000)
            .max(3000)
            + 1;
        for h in &self.hosts {
            for title in &h.asset_groups {
                if !self.asset_groups.contains_key(title) {
                    self.asset_groups.insert(
                        title.clone(),
                        AssetGroup {
                            id: 0,
                            title: title.clone(),
                            ips: None,
                        },
                    );
                }
            }
        }
        for g in self.asset_groups.values_mut() {
            if g.id == 0 {
                g.id = next_group_id;
                next_group_id += 1;
            }
        }
        let mut group_ids: HashMap<u64, &str> = HashMap::new();
        for g in self.asset_groups.values() {
            if let Some(other) = group_ids.insert(g.id, &g.title) {
                return Err(format!(
                    "asset groups {other:?} and {:?} share the ID {}",
                    g.title, g.id
                ));
            }
        }
        for h in &mut self.hosts {
            for (i, d) in h.detections.iter().enumerate() {
                let after = d.appears_at.or(h.appears_at);
                if let Some(w) = d.changes.windows(2).find(|w| w[1].at < w[0].at) {
                    return Err(format!(
                        "host {} detection {} (QID {}): changes must be in time order; {} comes after {}",
                        h.id, i, d.qid, w[1].at, w[0].at
                    ));
                }
                if let (Some(a), Some(c)) = (after, d.changes.first())
                    && c.at < a
                {
                    return Err(format!(
                        "host {} QID {}: a change at {} comes before the detection appears at {a}",
                        h.id, d.qid, c.at
                    ));
                }
                for q in std::iter::once(d.qds).chain(d.changes.iter().map(|c| c.qds)) {
                    if q.is_some_and(|q| !(1..=100).contains(&q)) {
                        return Err(format!("host {} QID {}: qds is not 1-100", h.id, d.qid));
                    }
                }
            }
            for name in &h.tags {
                if !self.tags.contains_key(name) {
                    self.tags.insert(
                        name.clone(),
                        Tag {
                            id: next_tag_id,
                            name: name.clone(),
                            color: None,
                            background_color: None,
                        },
                    );
                    next_tag_id += 1;
                }
            }
            for (i, d) in h.detections.iter_mut().enumerate() {
                if d.severity.is_none() {
                    d.severity = Some(
                        self.knowledge_base
                            .get(&d.qid)
                            .map(|k| k.severity)
                            .unwrap_or(3),
                    );
                }
                if d.severity.is_some_and(|s| !(1..=5).contains(&s)) {
                    return Err(format!("host {} QID {}: severity is not 1-5", h.id, d.qid));
                }
                if d.unique_vuln_id.is_none() {
                    d.unique_vuln_id = Some(h.id * 1000 + i as u64 + 1);
                }
            }
        }
        if let (Some(syn), Some(last)) = (&self.synthetic, self.hosts.last())
            && syn.first_host_id() <= last.id
        {
            return Err(format!(
                "the synthetic population starts at host ID {} but listed hosts go up to {}; set synthetic.first_host_id above {}",
                syn.first_host_id(),
                last.id,
                last.id
            ));
        }
        Ok(())
    }

    pub fn tag(&self, name: &str) -> Option<&Tag> {
        self.tags.get(name)
    }

    /// The asset groups a host with these listed group titles and this IP belongs to.
    pub fn groups_of<'a>(
        &'a self,
        host_groups: &'a [String],
        ip: Option<&'a str>,
    ) -> impl Iterator<Item = &'a AssetGroup> + 'a {
        self.asset_groups
            .values()
            .filter(move |g| g.contains(host_groups, ip))
    }

    /// The asset group with this ID.
    pub fn asset_group_by_id(&self, id: u64) -> Option<&AssetGroup> {
        self.asset_groups.values().find(|g| g.id == id)
    }

    /// Whether some host is in network `id` (0 is the default network, the one of hosts
    /// without a NETWORK_ID).
    pub fn has_network(&self, id: u64) -> bool {
        id == 0
            || self.hosts.iter().any(|h| h.network_id == Some(id))
            || self.synthetic.as_ref().is_some_and(|s| s.has_network(id))
    }

    /// The index of the first listed host whose ID is at least `id`.
    pub fn host_index_from(&self, id: u64) -> usize {
        self.hosts.partition_point(|h| h.id < id)
    }

    /// A KnowledgeBase entry, from the listed ones or the synthetic population's QID pool.
    pub fn kb_entry(&self, qid: u32) -> Option<SimVuln> {
        if let Some(e) = self.knowledge_base.get(&qid) {
            return Some(e.clone());
        }
        self.synthetic.as_ref().and_then(|s| s.kb_entry(qid))
    }

    /// Every QID the KnowledgeBase can answer for, ascending.
    pub fn kb_qids(&self) -> Vec<u32> {
        let mut q: Vec<u32> = self.knowledge_base.keys().copied().collect();
        if let Some(s) = &self.synthetic {
            q.extend(s.qids());
        }
        q.sort_unstable();
        q.dedup();
        q
    }
}
