//! The tenant: the Qualys subscription the simulator models.
//!
//! A tenant is written as TOML and read into [`TenantSpec`], a partial description that is merged
//! over a base tenant (the embedded demo tenant unless `base = "empty"`). Resolving a spec gives a
//! [`Tenant`]: users, limits, faults, tags, hosts sorted by ID, a KnowledgeBase and an optional
//! synthetic population. The engine only ever reads a resolved `Tenant`.
//!
//! ```toml
//! base = "demo"                      # or "empty"; default "demo"
//! replace = ["hosts"]                # sections to replace instead of merging into the base
//!
//! [[users]]
//! login = "quays_ci1"
//! password = "ci-secret"
//! permissions = ["manage_vm"]        # default: all three
//! limits = { rate_limit = 2, rate_window_secs = 1 }
//!
//! [limits]                           # subscription defaults (Qualys Standard: 300/3600 s, 2)
//! concurrency_limit = 2
//!
//! [[faults]]
//! kind = "server_error"
//! status = 503
//! route = "detection"
//! first = 2
//!
//! [[hosts]]
//! id = 101
//! ip = "192.0.2.10"
//! os = "Ubuntu 22.04"
//! tags = ["Production", "PCI & Card"]
//! [[hosts.detections]]
//! qid = 38170
//! type = "Confirmed"
//! status = "Active"
//! kernel = "running"
//! ```
//!
//! Merging rules: `users` replace by login, `hosts` by ID, `knowledge_base` by QID, `tags` by
//! name; `faults` are appended; `limits` override field by field; `synthetic` replaces. A section
//! named in `replace` starts empty instead of from the base. Unknown keys are errors, so a typo
//! never silently changes what a test means.
//!
//! Web applications, findings, policies and postures get their own sections when the WAS and PC
//! streams arrive; they follow the same pattern (a spec type here, a resolved type, a merge key).

pub mod demo;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::qualys::Permission;
use crate::qualys::filter::{DetectionType, VulnStatus};

use crate::sim::engine::fault::FaultRule;
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::synthetic::{SyntheticPopulation, SyntheticSpec};

/// Where a tenant file starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantBase {
    /// The embedded demo tenant ([`Tenant::demo`]).
    #[default]
    Demo,
    /// Nothing: no users, no hosts, default limits.
    Empty,
}

/// A tenant section that `replace` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantSection {
    Users,
    Faults,
    Tags,
    Hosts,
    KnowledgeBase,
}

/// A tenant as written in a TOML file or inline in a scenario (`[server.tenant]`).
///
/// Every field is optional; see the module documentation for how it merges over its base.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// The tenant this one starts from; `demo` when absent.
    #[serde(default)]
    pub base: Option<TenantBase>,
    /// Sections that replace the base's instead of merging into it.
    #[serde(default)]
    pub replace: Vec<TenantSection>,
    /// A name shown in logs and the about page.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    #[serde(default)]
    pub tags: Vec<TagSpec>,
    #[serde(default)]
    pub hosts: Vec<SimHost>,
    #[serde(default)]
    pub knowledge_base: Vec<SimVuln>,
    /// A generated population served after (by ID) the listed hosts.
    #[serde(default)]
    pub synthetic: Option<SyntheticSpec>,
}

impl TenantSpec {
    /// Parses a tenant from TOML text; `origin` names the file in error messages.
    pub fn from_toml(text: &str, origin: &Path) -> Result<TenantSpec> {
        toml::from_str(text).map_err(|e| Error::InvalidFile {
            path: origin.to_path_buf(),
            problem: format!("not a valid tenant file: {e}"),
        })
    }

    /// Reads and parses a tenant file.
    pub fn load(path: &Path) -> Result<TenantSpec> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io("reading tenant file", path, e))?;
        TenantSpec::from_toml(&text, path)
    }
}

/// An account state, as Qualys reports it when the user calls the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    #[default]
    Active,
    /// New user who never logged in to the console: HTTP 409, CODE 2003.
    RegistrationIncomplete,
    /// HTTP 200 with CODE 2001 (recorded).
    Expired,
    /// HTTP 409 with CODE 2002 (the simulator's choice; not recorded).
    Inactive,
    /// The user role lacks API access: HTTP 401, CODE 2000 "Bad Login/Password", like a wrong
    /// password (Qualys gives the same answer for both).
    NoApiAccess,
    /// HTTP 409 with CODE 2011.
    SecureIdRequired,
}

/// A Qualys user of the tenant.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub login: String,
    /// Compared in constant time; never journalled or logged.
    pub password: String,
    #[serde(default)]
    pub state: AccountState,
    /// Module permissions; all three when absent.
    #[serde(default = "all_permissions")]
    pub permissions: Vec<Permission>,
    /// Per-user limits, overriding the tenant's field by field.
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
}

fn all_permissions() -> Vec<Permission> {
    Permission::ALL.to_vec()
}

impl std::fmt::Debug for User {
    // The password stays out of every debug print, so a failing assertion cannot leak it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("state", &self.state)
            .field("permissions", &self.permissions)
            .field("limits", &self.limits)
            .finish()
    }
}

impl User {
    /// An active user with every permission.
    pub fn new(login: impl Into<String>, password: impl Into<String>) -> User {
        User {
            login: login.into(),
            password: password.into(),
            state: AccountState::Active,
            permissions: all_permissions(),
            limits: None,
        }
    }

    pub fn with_state(mut self, state: AccountState) -> User {
        self.state = state;
        self
    }

    pub fn with_permissions(mut self, permissions: &[Permission]) -> User {
        self.permissions = permissions.to_vec();
        self
    }

    pub fn with_limits(mut self, limits: LimitsSpec) -> User {
        self.limits = Some(limits);
        self
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// Whether `password` is this user's, compared without an early exit.
    pub fn password_matches(&self, password: &str) -> bool {
        let (a, b) = (self.password.as_bytes(), password.as_bytes());
        let mut diff = (a.len() ^ b.len()) as u8;
        for (i, x) in a.iter().enumerate() {
            diff |= x ^ b.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }
}

/// API limits: Qualys counts calls per API over a rolling window and calls running at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Calls allowed per window (`X-RateLimit-Limit`).
    pub rate_limit: u32,
    /// Window length (`X-RateLimit-Window-Sec`).
    pub rate_window_secs: u64,
    /// Calls allowed at once (`X-Concurrency-Limit-Limit`).
    pub concurrency_limit: u32,
}

impl Default for Limits {
    /// Qualys's "Standard" service level, the values seen in every recording.
    fn default() -> Self {
        Limits {
            rate_limit: 300,
            rate_window_secs: 3600,
            concurrency_limit: 2,
        }
    }
}

impl Limits {
    /// These limits with the fields `spec` sets replaced.
    pub fn merged(self, spec: &LimitsSpec) -> Limits {
        Limits {
            rate_limit: spec.rate_limit.unwrap_or(self.rate_limit),
            rate_window_secs: spec.rate_window_secs.unwrap_or(self.rate_window_secs),
            concurrency_limit: spec.concurrency_limit.unwrap_or(self.concurrency_limit),
        }
    }
}

/// Limits as written in a tenant file: each field overrides the one below it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    #[serde(default)]
    pub rate_limit: Option<u32>,
    #[serde(default)]
    pub rate_window_secs: Option<u64>,
    #[serde(default)]
    pub concurrency_limit: Option<u32>,
}

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
    /// Tag names.
    #[serde(default)]
    pub tags: Vec<String>,
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
            tags: Vec::new(),
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
    /// Threat intelligence labels, served with `details=All`.
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

/// A resolved tenant: what the engine serves.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub users: Vec<User>,
    pub limits: Limits,
    pub faults: Vec<FaultRule>,
    /// Tags by name.
    pub tags: BTreeMap<String, Tag>,
    /// Sorted by ID, IDs unique.
    pub hosts: Vec<SimHost>,
    pub knowledge_base: BTreeMap<u32, SimVuln>,
    pub synthetic: Option<Arc<SyntheticPopulation>>,
}

impl Tenant {
    /// A tenant with nothing in it.
    pub fn empty() -> Tenant {
        Tenant {
            name: "empty".into(),
            users: Vec::new(),
            limits: Limits::default(),
            faults: Vec::new(),
            tags: BTreeMap::new(),
            hosts: Vec::new(),
            knowledge_base: BTreeMap::new(),
            synthetic: None,
        }
    }

    /// The embedded demo tenant. Deterministic: every call returns the same data.
    pub fn demo() -> Tenant {
        crate::sim::tenant::demo::tenant()
    }

    /// The demo tenant's users serving only `population`, with the rate limit lifted: what
    /// benchmarks and throughput scenarios stream from, run after run.
    pub fn streaming(population: SyntheticSpec) -> std::result::Result<Tenant, String> {
        Tenant::from_spec(TenantSpec {
            replace: vec![TenantSection::Hosts],
            synthetic: Some(population),
            limits: Some(LimitsSpec {
                rate_limit: Some(u32::MAX),
                ..LimitsSpec::default()
            }),
            ..TenantSpec::default()
        })
    }

    /// Resolves a spec over its base.
    pub fn from_spec(spec: TenantSpec) -> std::result::Result<Tenant, String> {
        let base = match spec.base.unwrap_or_default() {
            TenantBase::Demo => Tenant::demo(),
            TenantBase::Empty => Tenant::empty(),
        };
        base.merge(spec)
    }

    /// Reads, parses and resolves a tenant file.
    pub fn load(path: &Path) -> Result<Tenant> {
        let spec = TenantSpec::load(path)?;
        Tenant::from_spec(spec).map_err(|problem| Error::InvalidFile {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// This tenant with `spec` merged over it (see the module documentation).
    pub fn merge(mut self, spec: TenantSpec) -> std::result::Result<Tenant, String> {
        let replaces = |s: TenantSection| spec.replace.contains(&s);
        if let Some(name) = spec.name {
            self.name = name;
        }
        if replaces(TenantSection::Users) {
            self.users.clear();
        }
        for user in spec.users {
            if user.login.is_empty() {
                return Err("a user has an empty login".into());
            }
            match self.users.iter_mut().find(|u| u.login == user.login) {
                Some(existing) => *existing = user,
                None => self.users.push(user),
            }
        }
        if let Some(limits) = &spec.limits {
            self.limits = self.limits.merged(limits);
        }
        if replaces(TenantSection::Faults) {
            self.faults.clear();
        }
        self.faults.extend(spec.faults);
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
        self.resolve()?;
        Ok(self)
    }

    /// Fills derived fields and checks cross-references: tag IDs, severities from the
    /// KnowledgeBase, unique vuln IDs, and that synthetic IDs do not collide with listed hosts.
    fn resolve(&mut self) -> std::result::Result<(), String> {
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
        for h in &mut self.hosts {
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
        let users: HashMap<&str, usize> = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.login.as_str(), i))
            .collect();
        for f in &self.faults {
            if let Some(u) = &f.user
                && !users.contains_key(u.as_str())
            {
                return Err(format!(
                    "a fault is scoped to user {u:?}, who is not a user of this tenant"
                ));
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

    pub fn user(&self, login: &str) -> Option<&User> {
        self.users.iter().find(|u| u.login == login)
    }

    /// The limits that apply to `user`.
    pub fn limits_for(&self, user: &User) -> Limits {
        match &user.limits {
            Some(spec) => self.limits.merged(spec),
            None => self.limits,
        }
    }

    pub fn tag(&self, name: &str) -> Option<&Tag> {
        self.tags.get(name)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> TenantSpec {
        TenantSpec::from_toml(text, Path::new("test.toml")).unwrap()
    }

    #[test]
    fn users_merge_by_login_and_replace_empties_a_section() {
        let t = Tenant::from_spec(spec(
            r#"
            [[users]]
            login = "quays_ab1"
            password = "other"
            "#,
        ))
        .unwrap();
        assert!(t.user("quays_ab1").unwrap().password_matches("other"));
        assert!(t.user("quays_na1").is_some(), "other demo users stay");

        let t = Tenant::from_spec(spec(
            r#"
            replace = ["users", "hosts"]
            [[users]]
            login = "only"
            password = "x"
            "#,
        ))
        .unwrap();
        assert_eq!(t.users.len(), 1);
        assert!(t.hosts.is_empty());
        assert!(!t.knowledge_base.is_empty(), "sections not named stay");
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_file_name() {
        let err = TenantSpec::from_toml(
            "[[users]]\nlogin = \"a\"\npasword = \"typo\"\n",
            Path::new("t.toml"),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("t.toml") && msg.contains("pasword"), "{msg}");
    }

    #[test]
    fn limits_override_field_by_field_and_per_user() {
        let t = Tenant::from_spec(spec(
            r#"
            base = "empty"
            [limits]
            rate_limit = 10
            [[users]]
            login = "u"
            password = "p"
            limits = { rate_window_secs = 1 }
            "#,
        ))
        .unwrap();
        let l = t.limits_for(t.user("u").unwrap());
        assert_eq!(
            (l.rate_limit, l.rate_window_secs, l.concurrency_limit),
            (10, 1, 2)
        );
    }

    #[test]
    fn hosts_get_tag_ids_severities_and_unique_vuln_ids() {
        let t = Tenant::from_spec(spec(
            r#"
            base = "empty"
            [[knowledge_base]]
            qid = 5
            severity = 4
            title = "t"
            published = "2020-01-01T00:00:00Z"
            [[hosts]]
            id = 9
            tags = ["A & B"]
            [[hosts.detections]]
            qid = 5
            "#,
        ))
        .unwrap();
        assert!(t.tag("A & B").unwrap().id > 7_000_000);
        assert_eq!(t.hosts[0].detections[0].severity, Some(4));
        assert!(t.hosts[0].detections[0].unique_vuln_id.is_some());
    }

    #[test]
    fn a_fault_for_an_unknown_user_is_an_error() {
        let err = Tenant::from_spec(spec(
            r#"
            base = "empty"
            [[faults]]
            kind = "server_error"
            user = "ghost"
            "#,
        ))
        .unwrap_err();
        assert!(err.contains("ghost"), "{err}");
    }

    #[test]
    fn passwords_never_appear_in_debug_output() {
        let u = User::new("x", "s3cr3t-value");
        assert!(!format!("{u:?}").contains("s3cr3t"));
    }
}
