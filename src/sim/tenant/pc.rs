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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        Ok(())
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
