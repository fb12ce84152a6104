//! The tenant's Policy Compliance section (`[pc]` in a tenant file): technologies, controls,
//! policies and the hosts each policy covers, from which the postures follow.
//!
//! ```toml
//! [pc]
//! subscription_id = 1981983
//! token_lifetime_secs = 14400          # JWT lifetime (Qualys: 4 h); the real clock counts it
//! evaluated_at = "2024-06-01T00:00:00Z"   # the latest evaluation; dates of postures lead up to it
//! limits = { rate_limit = 25, rate_window_secs = 60 }   # the PCRS budget (Qualys: 25 per 60 s per API)
//!
//! [[pc.technologies]]
//! id = 88
//! name = "Ubuntu 22.04"
//!
//! [[pc.controls]]
//! id = 1071
//! technology = 88
//! statement = "Status of the 'PermitRootLogin' setting"
//! rationale = "..."
//! criticality = "SERIOUS"              # label; criticality_value = 3
//! remediation = "Set PermitRootLogin no"
//!
//! [[pc.policies]]
//! id = 4711
//! title = "CIS Benchmark for Ubuntu 22.04"
//! status = "active"                    # or "inactive"
//! controls = [1071]
//! hosts = [100031, 100033]             # host IDs, shared with the VMDR hosts when they match
//! # missing_at_hostids = true          # listed, but hostids answers "Compliance Policy does not exist."
//!
//! [pc.synthetic]                       # one more active policy over a generated population
//! hosts = 100000
//! controls = 10
//! ```
//!
//! A posture is one (policy, host, control); its status follows [`status`], a fixed function
//! of the host and control IDs (about 60 % Passed, 30 % Failed, 10 % Error), so references can
//! recompute it. Policies, controls and technologies merge over the base by ID.
//!
//! # Changes over time: one tenant, several runs
//!
//! As in the VMDR section ([`super::vmdr`], whose names this follows), a tenant can say what
//! happens after a moment, so that an incremental run (`lastEvaluationDate` on `postureInfo`)
//! gets exactly the postures evaluated since while a full run sees the state at the tenant's
//! clock (`clock = ...`, [`crate::sim::RunningSimulator::set_clock`], `POST /__sim/clock`).
//! Nothing is visible before its time:
//!
//! ```toml
//! [[pc.hosts]]                         # first evaluated then: absent from hostids and postureInfo before
//! id = 900003
//! appears_at = "2024-06-15T00:00:00Z"
//!
//! [[pc.postures]]                      # one (policy, host, control) with a history of its own
//! policy = 101
//! host = 900001
//! control = 1071
//! status = "Passed"                    # before any change; default: the fixed function
//! # appears_at = "..."                 # this posture alone first evaluated then
//! [[pc.postures.changes]]              # an evaluation at `at`
//! at = "2024-06-15T00:00:00Z"
//! status = "Failed"                    # absent: the evaluation found the same status
//! ```
//!
//! Without a history, a posture was last evaluated a few days before `evaluated_at` (the dates
//! the answer has always had). A posture that appears at `A` was first evaluated at `A`. Each
//! change is an evaluation at `at`, applied once the clock reaches it, in order:
//! `lastEvaluatedDate` becomes `at`; the same status moves the last date of its streak
//! (`lastPassDate` or `lastFailDate`); a new status sets `postureModifiedDate` and starts a streak
//! (`firstPassDate` = `lastPassDate` = `at` for Passed, the fail pair for Failed, the other pair
//! null; Error has no dates), the shape the answer gives a posture without a history. This is
//! the simulator's reading: Qualys does not document how these dates move (fixtures/README.md).
//! A listed policy's `lastEvaluatedDate` in the policy list is its latest visible evaluation.
//! The synthetic policy has no history.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::accounts::{Limits, LimitsSpec};
use crate::sim::timestamp::Timestamp;

/// The section as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcSpec {
    #[serde(default)]
    pub subscription_id: Option<u64>,
    #[serde(default)]
    pub token_lifetime_secs: Option<u64>,
    #[serde(default)]
    pub evaluated_at: Option<Timestamp>,
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
    #[serde(default)]
    pub technologies: Vec<Technology>,
    #[serde(default)]
    pub controls: Vec<Control>,
    #[serde(default)]
    pub policies: Vec<Policy>,
    #[serde(default)]
    pub synthetic: Option<PcSynthetic>,
    /// Hosts first evaluated after a moment (see the module documentation).
    #[serde(default)]
    pub hosts: Vec<PcHost>,
    /// Postures with a history of their own (see the module documentation).
    #[serde(default)]
    pub postures: Vec<PostureSpec>,
}

/// A host whose first compliance evaluation comes at `appears_at`: before it, no policy's
/// `hostids` lists it and it has no postures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcHost {
    pub id: u64,
    pub appears_at: Timestamp,
}

/// One posture's history: its status before any change, when it appears, its evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostureSpec {
    pub policy: u64,
    pub host: u64,
    pub control: u64,
    /// The status before any change; [`status`] of the host and control when absent.
    #[serde(default)]
    pub status: Option<PostureStatus>,
    /// First evaluated at this moment: absent from every answer before it.
    #[serde(default)]
    pub appears_at: Option<Timestamp>,
    /// Later evaluations, in time order.
    #[serde(default)]
    pub changes: Vec<PostureChange>,
}

/// An evaluation at `at`: the status it found (the same as before when absent).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostureChange {
    pub at: Timestamp,
    #[serde(default)]
    pub status: Option<PostureStatus>,
}

/// A technology (an OS or application a control applies to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Technology {
    pub id: u64,
    pub name: String,
}

/// A control of the library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: u64,
    pub technology: u64,
    pub statement: String,
    #[serde(default)]
    pub rationale: Option<String>,
    /// `MINIMAL`, `MEDIUM`, `SERIOUS`, `CRITICAL` or `URGENT`.
    #[serde(default = "default_criticality")]
    pub criticality: String,
    #[serde(default)]
    pub remediation: Option<String>,
}

fn default_criticality() -> String {
    "MEDIUM".into()
}

/// The value Qualys pairs with a criticality label.
pub fn criticality_value(label: &str) -> u8 {
    match label {
        "MINIMAL" => 1,
        "MEDIUM" => 2,
        "SERIOUS" => 3,
        "CRITICAL" => 4,
        "URGENT" => 5,
        _ => 0,
    }
}

/// A policy's status in the policy list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyStatus {
    Active,
    Inactive,
}

/// A compliance policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub id: u64,
    pub title: String,
    pub status: PolicyStatus,
    #[serde(default)]
    pub controls: Vec<u64>,
    #[serde(default)]
    pub hosts: Vec<u64>,
    /// Listed by the policy list, but `hostids` answers that it does not exist (a policy
    /// deleted between the two calls).
    #[serde(default)]
    pub missing_at_hostids: bool,
    #[serde(default)]
    pub created_by: Option<String>,
}

impl Policy {
    pub fn is_active(&self) -> bool {
        self.status == PolicyStatus::Active
    }
}

/// A generated population: one more active policy over `hosts` hosts and `controls` controls,
/// rendered as it is sent (a million postures in constant memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcSynthetic {
    pub hosts: u64,
    #[serde(default = "default_synthetic_controls")]
    pub controls: u64,
    #[serde(default = "default_synthetic_policy")]
    pub policy_id: u64,
    #[serde(default = "default_synthetic_first_host")]
    pub first_host_id: u64,
}

fn default_synthetic_controls() -> u64 {
    10
}
fn default_synthetic_policy() -> u64 {
    990_001
}
fn default_synthetic_first_host() -> u64 {
    5_000_001
}

impl PcSynthetic {
    /// The ID of host `i` (0-based) of the population.
    pub fn host_id(&self, i: u64) -> u64 {
        self.first_host_id + 2 * i
    }

    /// The ID of control `i` (0-based) of the population.
    pub fn control_id(&self, i: u64) -> u64 {
        60_001 + i
    }

    /// The first posture ID of the population.
    pub const FIRST_POSTURE_ID: u64 = 3_000_000_001;
}

/// A posture's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PostureStatus {
    Passed,
    Failed,
    Error,
}

impl PostureStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PostureStatus::Passed => "Passed",
            PostureStatus::Failed => "Failed",
            PostureStatus::Error => "Error",
        }
    }
}

/// The status of `control` on `host`: a fixed mix of 6 Passed, 3 Failed and 1 Error in 10.
pub fn status(host: u64, control: u64) -> PostureStatus {
    let h = host.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ control.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    match (h >> 40) % 10 {
        0..=5 => PostureStatus::Passed,
        6..=8 => PostureStatus::Failed,
        _ => PostureStatus::Error,
    }
}

/// The section as the engine reads it.
#[derive(Debug, Clone)]
pub struct PcData {
    pub subscription_id: u64,
    pub token_lifetime_secs: u64,
    pub evaluated_at: Timestamp,
    /// The PCRS budget: each PCRS endpoint counts on its own (Qualys: per API).
    pub limits: Limits,
    pub technologies: BTreeMap<u64, Technology>,
    pub controls: BTreeMap<u64, Control>,
    /// By ID.
    pub policies: Vec<Policy>,
    /// The first posture ID of each policy (same order as `policies`).
    pub first_posture_ids: Vec<u64>,
    pub synthetic: Option<PcSynthetic>,
    /// When hosts are first evaluated, by host ID (`[[pc.hosts]]`).
    pub host_appears_at: BTreeMap<u64, Timestamp>,
    /// Posture histories by (policy, host, control) (`[[pc.postures]]`).
    pub postures: BTreeMap<(u64, u64, u64), PostureSpec>,
}

impl Default for PcData {
    fn default() -> PcData {
        PcData {
            subscription_id: 1_981_983,
            token_lifetime_secs: 4 * 3600,
            evaluated_at: Timestamp(1_717_200_000),
            limits: Limits {
                rate_limit: 25,
                rate_window_secs: 60,
                ..Limits::default()
            },
            technologies: BTreeMap::new(),
            controls: BTreeMap::new(),
            policies: Vec::new(),
            first_posture_ids: Vec::new(),
            synthetic: None,
            host_appears_at: BTreeMap::new(),
            postures: BTreeMap::new(),
        }
    }
}

impl PcData {
    /// Merges a written section over this one (by ID), then checks and indexes it.
    pub fn merge(&mut self, spec: PcSpec) -> Result<(), String> {
        let PcSpec {
            subscription_id,
            token_lifetime_secs,
            evaluated_at,
            limits,
            technologies,
            controls,
            policies,
            synthetic,
            hosts,
            postures,
        } = spec;
        if let Some(v) = subscription_id {
            self.subscription_id = v;
        }
        if let Some(v) = token_lifetime_secs {
            self.token_lifetime_secs = v;
        }
        if let Some(v) = evaluated_at {
            self.evaluated_at = v;
        }
        if let Some(l) = &limits {
            self.limits = self.limits.merged(l);
        }
        for t in technologies {
            self.technologies.insert(t.id, t);
        }
        for c in controls {
            self.controls.insert(c.id, c);
        }
        for p in policies {
            match self.policies.iter_mut().find(|q| q.id == p.id) {
                Some(q) => *q = p,
                None => self.policies.push(p),
            }
        }
        if synthetic.is_some() {
            self.synthetic = synthetic;
        }
        for h in hosts {
            self.host_appears_at.insert(h.id, h.appears_at);
        }
        for p in postures {
            self.postures.insert((p.policy, p.host, p.control), p);
        }
        self.resolve()
    }

    fn resolve(&mut self) -> Result<(), String> {
        self.policies.sort_by_key(|p| p.id);
        for c in self.controls.values() {
            if !self.technologies.contains_key(&c.technology) {
                return Err(format!(
                    "pc control {} names technology {}, which [[pc.technologies]] lacks",
                    c.id, c.technology
                ));
            }
        }
        self.first_posture_ids.clear();
        let mut next = 700_000_001u64;
        for p in &self.policies {
            if let Some(c) = p.controls.iter().find(|c| !self.controls.contains_key(c)) {
                return Err(format!(
                    "pc policy {} lists control {c}, which [[pc.controls]] lacks",
                    p.id
                ));
            }
            if let Some(s) = &self.synthetic
                && s.policy_id == p.id
            {
                return Err(format!(
                    "pc policy {} has the ID of the synthetic policy; give [pc.synthetic] another policy_id",
                    p.id
                ));
            }
            self.first_posture_ids.push(next);
            next += (p.hosts.len() * p.controls.len()) as u64;
        }
        self.check_histories()
    }

    /// Every host and posture with a history belongs to a listed policy, and its changes come in
    /// time order, after the base evaluation and not before it appears.
    fn check_histories(&self) -> Result<(), String> {
        for (host, at) in &self.host_appears_at {
            if !self.policies.iter().any(|p| p.hosts.contains(host)) {
                return Err(format!(
                    "[[pc.hosts]] {host} appears at {at}, but no [[pc.policies]] lists it in its hosts; add it to a policy's hosts"
                ));
            }
        }
        for p in self.postures.values() {
            let name = format!(
                "[[pc.postures]] policy {} host {} control {}",
                p.policy, p.host, p.control
            );
            let Some(policy) = self.policies.iter().find(|q| q.id == p.policy) else {
                return Err(format!(
                    "{name}: [[pc.policies]] has no policy {} (the synthetic policy has no histories)",
                    p.policy
                ));
            };
            if !policy.hosts.contains(&p.host) {
                return Err(format!(
                    "{name}: policy {} does not list host {} in its hosts",
                    p.policy, p.host
                ));
            }
            if !policy.controls.contains(&p.control) {
                return Err(format!(
                    "{name}: policy {} does not list control {} in its controls",
                    p.policy, p.control
                ));
            }
            if let (Some(own), Some(host)) = (p.appears_at, self.host_appears_at.get(&p.host))
                && own < *host
            {
                return Err(format!(
                    "{name}: it appears at {own}, before its host appears at {host} ([[pc.hosts]])"
                ));
            }
            if let Some(w) = p.changes.windows(2).find(|w| w[1].at < w[0].at) {
                return Err(format!(
                    "{name}: changes must be in time order; {} comes after {}",
                    w[1].at, w[0].at
                ));
            }
            let Some(first) = p.changes.first() else {
                continue;
            };
            if first.at < self.evaluated_at {
                return Err(format!(
                    "{name}: a change at {} comes before [pc] evaluated_at {}, the last evaluation of the postures' base state; changes follow it",
                    first.at, self.evaluated_at
                ));
            }
            if let Some(a) = self.appears_at(p.policy, p.host, p.control)
                && first.at < a
            {
                return Err(format!(
                    "{name}: a change at {} comes before the posture appears at {a}",
                    first.at
                ));
            }
        }
        Ok(())
    }

    /// When the posture (policy, host, control) is first evaluated: its own `appears_at`, else
    /// its host's; `None` when it always existed.
    pub fn appears_at(&self, policy: u64, host: u64, control: u64) -> Option<Timestamp> {
        if self.postures.is_empty() && self.host_appears_at.is_empty() {
            return None;
        }
        self.postures
            .get(&(policy, host, control))
            .and_then(|p| p.appears_at)
            .or_else(|| self.host_appears_at.get(&host).copied())
    }

    /// Whether `host` has been evaluated at `now` (it is listed by `hostids` from then on).
    pub fn host_visible(&self, host: u64, now: Timestamp) -> bool {
        self.host_appears_at.get(&host).is_none_or(|a| *a <= now)
    }

    /// The latest evaluation of a listed policy visible at `now`: `evaluated_at`, or a later
    /// appearance or change of one of its postures.
    pub fn policy_evaluated_at(&self, policy: &Policy, now: Timestamp) -> Timestamp {
        let hosts = policy
            .hosts
            .iter()
            .filter_map(|h| self.host_appears_at.get(h).copied());
        let postures = self
            .postures
            .range((policy.id, 0, 0)..=(policy.id, u64::MAX, u64::MAX))
            .flat_map(|(_, p)| {
                p.appears_at
                    .into_iter()
                    .chain(p.changes.iter().map(|c| c.at))
            });
        hosts
            .chain(postures)
            .filter(|t| *t <= now)
            .fold(self.evaluated_at, Timestamp::max)
    }

    /// The posture ID of (policy at `policy_pos`, its host at `host_pos`, its control at
    /// `control_pos`).
    pub fn posture_id(&self, policy_pos: usize, host_pos: usize, control_pos: usize) -> u64 {
        let p = &self.policies[policy_pos];
        self.first_posture_ids[policy_pos] + (host_pos * p.controls.len() + control_pos) as u64
    }
}

/// The demo tenant's section: 4 technologies, 24 controls, 15 policies (12 active, 3 inactive;
/// one active policy covers no host) over the demo's VMDR hosts (`host_ids`, sorted).
pub fn demo(host_ids: &[u64]) -> PcData {
    let technologies = [
        (88, "Ubuntu 22.04"),
        (91, "Windows Server 2019"),
        (93, "Red Hat Enterprise Linux 8"),
        (97, "Apache HTTP Server 2.4"),
    ];
    let settings = [
        ("PermitRootLogin", "no"),
        ("PasswordAuthentication", "no"),
        ("MaxAuthTries", "4"),
        ("minimum password length", "14"),
        ("account lockout threshold", "5"),
        ("audit log retention", "90 days"),
    ];
    let labels = ["MINIMAL", "MEDIUM", "SERIOUS", "CRITICAL", "URGENT"];
    let mut controls = Vec::new();
    for (t, (tech, name)) in technologies.iter().enumerate() {
        for (k, (setting, value)) in settings.iter().enumerate() {
            let id = 1071 + (t * settings.len() + k) as u64;
            controls.push(Control {
                id,
                technology: *tech,
                statement: format!("Status of the '{setting}' setting on {name}"),
                rationale: Some(format!(
                    "A '{setting}' other than \"{value}\" weakens the host's defences; CIS and \
                     DISA STIG both require \"{value}\" & say why."
                )),
                criticality: labels[(id % 5) as usize].into(),
                remediation: Some(format!(
                    "Set '{setting}' to \"{value}\" and restart the service."
                )),
            });
        }
    }
    let titles = [
        "CIS Benchmark for Ubuntu 22.04 LTS, Level 1",
        "CIS Benchmark for Windows Server 2019, Level 1",
        "DISA STIG for Red Hat Enterprise Linux 8",
        "PCI DSS 4.0 Hardening (Linux & Windows)",
        "Apache HTTP Server 2.4 Baseline",
        "Internal Baseline: SSH",
        "Internal Baseline: Password Policy",
        "Internal Baseline: Audit",
        "HIPAA Technical Safeguards",
        "ISO 27001 Annex A.9 Access Control",
        "NIST 800-53 AC Family",
        "Decommissioned Segment Baseline",
        "Legacy CIS Ubuntu 18.04 (inactive)",
        "Old PCI DSS 3.2.1 (inactive)",
        "Draft: Cloud Workloads (inactive)",
    ];
    let mut policies = Vec::new();
    for (i, title) in titles.iter().enumerate() {
        let id = 4711 + i as u64;
        let status = if i < 12 {
            PolicyStatus::Active
        } else {
            PolicyStatus::Inactive
        };
        // Each policy checks 3 to 6 controls of one or two technologies.
        let first = (i * 5) % controls.len();
        let n = 3 + i % 4;
        let policy_controls: Vec<u64> = (0..n)
            .map(|k| controls[(first + k * 3) % controls.len()].id)
            .collect();
        // Policy 4722 ("Decommissioned Segment Baseline") covers no host: a policy with no
        // hosts is a normal answer.
        let stride = 3 + i % 4;
        let hosts: Vec<u64> = if id == 4722 {
            Vec::new()
        } else {
            host_ids
                .iter()
                .enumerate()
                .filter(|(k, _)| (k + i) % stride == 0)
                .map(|(_, h)| *h)
                .collect()
        };
        policies.push(Policy {
            id,
            title: (*title).into(),
            status,
            controls: policy_controls,
            hosts,
            missing_at_hostids: false,
            created_by: Some("quays_ab1".into()),
        });
    }
    let mut data = PcData::default();
    data.merge(PcSpec {
        technologies: technologies
            .iter()
            .map(|(id, name)| Technology {
                id: *id,
                name: (*name).into(),
            })
            .collect(),
        controls,
        policies,
        ..PcSpec::default()
    })
    .expect("the demo's Policy Compliance section is consistent");
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_mix_is_about_six_three_one_in_ten() {
        let mut counts = [0u32; 3];
        for host in 100_000..101_000 {
            for control in [1071, 1072, 2001, 3100] {
                counts[status(host, control) as usize] += 1;
            }
        }
        let [passed, failed, error] = counts;
        assert!((2200..2600).contains(&passed), "{counts:?}");
        assert!((1000..1400).contains(&failed), "{counts:?}");
        assert!((250..550).contains(&error), "{counts:?}");
    }

    #[test]
    fn policies_must_name_known_controls_and_posture_ids_do_not_overlap() {
        let mut data = PcData::default();
        let spec = |controls: Vec<u64>| PcSpec {
            technologies: vec![Technology {
                id: 1,
                name: "Linux".into(),
            }],
            controls: vec![Control {
                id: 10,
                technology: 1,
                statement: "s".into(),
                rationale: None,
                criticality: "MEDIUM".into(),
                remediation: None,
            }],
            policies: vec![
                Policy {
                    id: 2,
                    title: "b".into(),
                    status: PolicyStatus::Active,
                    controls: controls.clone(),
                    hosts: vec![5, 6],
                    missing_at_hostids: false,
                    created_by: None,
                },
                Policy {
                    id: 1,
                    title: "a".into(),
                    status: PolicyStatus::Inactive,
                    controls,
                    hosts: vec![5, 6, 7],
                    missing_at_hostids: false,
                    created_by: None,
                },
            ],
            ..PcSpec::default()
        };
        assert!(
            data.clone()
                .merge(spec(vec![11]))
                .unwrap_err()
                .contains("control 11")
        );
        data.merge(spec(vec![10])).unwrap();
        assert_eq!(data.policies[0].id, 1, "sorted by ID");
        assert_eq!(data.posture_id(0, 2, 0) + 1, data.posture_id(1, 0, 0));
    }

    /// The demo tenant with `toml` merged over it, or the problem.
    fn with(toml: &str) -> Result<crate::sim::tenant::Tenant, String> {
        let spec = crate::sim::tenant::TenantSpec::from_toml(toml, std::path::Path::new("t.toml"))
            .map_err(|e| e.to_string())?;
        crate::sim::tenant::Tenant::from_spec(spec)
    }

    const POLICY: &str = "[[pc.policies]]\nid = 101\ntitle = \"p\"\nstatus = \"active\"\ncontrols = [1071, 1072]\nhosts = [900001, 900002]\n";

    #[test]
    fn histories_must_name_a_listed_policy_host_and_control_and_run_forward_in_time() {
        let posture = |extra: &str| {
            format!("{POLICY}[[pc.postures]]\npolicy = 101\nhost = 900001\ncontrol = 1071\n{extra}")
        };
        let change = |at: &str| format!("[[pc.postures.changes]]\nat = \"{at}\"\n");
        let cases = [
            (
                format!(
                    "{POLICY}[[pc.hosts]]\nid = 900009\nappears_at = \"2024-06-15T00:00:00Z\"\n"
                ),
                "[[pc.hosts]] 900009 appears at 2024-06-15T00:00:00Z, but no [[pc.policies]] lists it",
            ),
            (
                posture("").replace("policy = 101\nhost", "policy = 4799\nhost"),
                "policy 4799 host 900001 control 1071: [[pc.policies]] has no policy 4799",
            ),
            (
                posture("").replace("host = 900001", "host = 900009"),
                "policy 101 does not list host 900009",
            ),
            (
                posture("").replace("control = 1071", "control = 1080"),
                "policy 101 does not list control 1080",
            ),
            (
                posture(&(change("2024-06-16T00:00:00Z") + &change("2024-06-15T00:00:00Z"))),
                "changes must be in time order; 2024-06-15T00:00:00Z comes after 2024-06-16T00:00:00Z",
            ),
            (
                posture(&change("2024-05-01T00:00:00Z")),
                "a change at 2024-05-01T00:00:00Z comes before [pc] evaluated_at 2024-06-01T00:00:00Z",
            ),
            (
                posture(&format!(
                    "appears_at = \"2024-06-20T00:00:00Z\"\n{}",
                    change("2024-06-15T00:00:00Z")
                )),
                "a change at 2024-06-15T00:00:00Z comes before the posture appears at 2024-06-20T00:00:00Z",
            ),
            (posture("status = \"Broken\"\n"), "unknown variant `Broken`"),
        ];
        for (toml, expected) in cases {
            let e = with(&toml)
                .err()
                .unwrap_or_else(|| panic!("accepted:\n{toml}"));
            assert!(e.contains(expected), "{e}\n--- for:\n{toml}");
        }
        let fine = with(&posture(&change("2024-06-15T00:00:00Z"))).unwrap();
        assert_eq!(fine.pc.postures.len(), 1);
    }

    #[test]
    fn a_policy_is_evaluated_when_its_latest_visible_history_says() {
        let t = with(&format!(
            "{POLICY}[[pc.hosts]]\nid = 900002\nappears_at = \"2024-06-12T00:00:00Z\"\n\
             [[pc.postures]]\npolicy = 101\nhost = 900001\ncontrol = 1071\n\
             [[pc.postures.changes]]\nat = \"2024-06-15T00:00:00Z\"\n"
        ))
        .unwrap();
        let policy = t.pc.policies.iter().find(|p| p.id == 101).unwrap();
        let at = |s: &str| Timestamp::parse(s).unwrap();
        let evaluated = |now: &str| t.pc.policy_evaluated_at(policy, at(now)).to_string();
        assert_eq!(evaluated("2024-06-10T00:00:00Z"), "2024-06-01T00:00:00Z");
        assert_eq!(evaluated("2024-06-13T00:00:00Z"), "2024-06-12T00:00:00Z");
        assert_eq!(evaluated("2024-06-16T00:00:00Z"), "2024-06-15T00:00:00Z");
        assert!(!t.pc.host_visible(900002, at("2024-06-11T23:59:59Z")));
        assert!(t.pc.host_visible(900002, at("2024-06-12T00:00:00Z")));
        assert!(t.pc.host_visible(900001, at("2000-01-01T00:00:00Z")));
    }

    #[test]
    fn the_demo_covers_active_and_inactive_policies_all_statuses_and_shared_hosts() {
        let t = crate::sim::tenant::Tenant::demo();
        let active =
            t.pc.policies
                .iter()
                .filter(|p| p.status == PolicyStatus::Active)
                .count();
        assert!(active >= 12 && t.pc.policies.len() - active >= 3);
        assert!(
            t.pc.policies
                .iter()
                .any(|p| p.status == PolicyStatus::Active && p.hosts.is_empty())
        );
        let vmdr: std::collections::HashSet<u64> = t.vmdr.hosts.iter().map(|h| h.id).collect();
        let mut seen = [0u32; 3];
        for p in &t.pc.policies {
            assert!(
                p.hosts.iter().all(|h| vmdr.contains(h)),
                "policy {} shares VMDR hosts",
                p.id
            );
            for h in &p.hosts {
                for c in &p.controls {
                    seen[status(*h, *c) as usize] += 1;
                }
            }
        }
        assert!(seen.iter().all(|n| *n > 0), "{seen:?}");
    }
}
