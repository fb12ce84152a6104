//! The Policy Compliance module's settings: which policies, evidence, and how many hosts go into
//! one posture request. Which of them apply to which stream is in the stream registry
//! ([`crate::stream::StreamRow::settings`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The most host IDs one posture request carries; Qualys documents no limit, its own Splunk
/// add-on defaults to 5000.
pub const MAX_HOST_BATCH: usize = 100_000;

settings_section! {
    /// The Policy Compliance section of the settings.
    pub struct PcSettings {
        /// Policy IDs to fetch: `"4711,4712"` or `[4711, 4712]`. Default: every active policy.
        policy_ids: PolicyIdList,
        /// Without `policy_ids`: also fetch the policies whose status is inactive.
        include_inactive_policies: bool,
        /// Ask for evidence (`evidenceRequired=1`): remediation, cause of failure, evidence.
        evidence: bool,
        /// Host IDs per posture request (default 5000).
        host_batch_size: usize,
    }
}

/// Policy IDs written as one comma-separated string or as a TOML array (of numbers or strings).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum PolicyIdList {
    Text(String),
    List(Vec<PolicyIdItem>),
}

/// One item of a policy ID array.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum PolicyIdItem {
    Number(i64),
    Text(String),
}

impl PolicyIdList {
    fn items(&self) -> Vec<String> {
        match self {
            PolicyIdList::Text(s) => s.split(',').map(|p| p.trim().to_string()).collect(),
            PolicyIdList::List(v) => v
                .iter()
                .map(|i| match i {
                    PolicyIdItem::Number(n) => n.to_string(),
                    PolicyIdItem::Text(t) => t.trim().to_string(),
                })
                .collect(),
        }
    }
}

/// Which policies a run fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySelection {
    /// Every policy of the list whose status is active, and the inactive ones when asked.
    All { include_inactive: bool },
    /// Exactly these, in this order, whatever their status.
    Ids(Vec<u64>),
}

/// The checked Policy Compliance settings, with the defaults filled in.
#[derive(Debug, Clone)]
pub struct PcConfig {
    pub policies: PolicySelection,
    pub evidence: bool,
    pub host_batch_size: usize,
}

impl PcSettings {
    /// Checks every value that is set and fills in the defaults.
    pub(super) fn check(&self) -> Result<PcConfig> {
        let include_inactive = self.include_inactive_policies.unwrap_or(false);
        let policies = match &self.policy_ids {
            None => PolicySelection::All { include_inactive },
            Some(list) => {
                if include_inactive {
                    return Err(Error::config(
                        "include_inactive_policies",
                        "has no effect with policy_ids: the listed policies are fetched whatever their status",
                        "remove include_inactive_policies, or remove policy_ids to fetch every policy",
                    ));
                }
                let mut ids = Vec::new();
                for item in list.items() {
                    let id = item.parse::<u64>().ok().filter(|&id| id > 0).ok_or_else(|| {
                        Error::config(
                            "policy_ids",
                            format!("{item:?} is not a policy ID (a positive number)"),
                            "give policy IDs as numbers separated by commas, e.g. 4711,4712 (the IDs \
                             are in the Qualys console under Policy Compliance > Policies)",
                        )
                    })?;
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                PolicySelection::Ids(ids)
            }
        };
        let host_batch_size = self.host_batch_size.unwrap_or(5000);
        if !(1..=MAX_HOST_BATCH).contains(&host_batch_size) {
            return Err(Error::config(
                "host_batch_size",
                format!("{host_batch_size} is out of range"),
                format!(
                    "use 1 to {MAX_HOST_BATCH} host IDs per posture request (5000 is Qualys's own default)"
                ),
            ));
        }
        Ok(PcConfig {
            policies,
            evidence: self.evidence.unwrap_or(false),
            host_batch_size,
        })
    }
}

/// The flags of the Policy Compliance module's settings ([`PcSettings`]).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PcFlags {
    /// pc-posture: policy IDs to fetch, comma-separated (default: every active policy).
    #[arg(long)]
    pub policy_ids: Option<String>,
    /// pc-posture: also fetch inactive policies (without --policy-ids).
    #[arg(long)]
    pub include_inactive_policies: bool,
    /// pc-posture: ask for evidence, remediation and cause of failure (evidenceRequired=1).
    #[arg(long)]
    pub evidence: bool,
    /// pc-posture: host IDs per posture request (default 5000).
    #[arg(long)]
    pub host_batch_size: Option<usize>,
}

impl PcFlags {
    /// The section these flags set (a flag not given is a key not set).
    pub fn settings(&self) -> PcSettings {
        PcSettings {
            policy_ids: self.policy_ids.clone().map(PolicyIdList::Text),
            include_inactive_policies: self.include_inactive_policies.then_some(true),
            evidence: self.evidence.then_some(true),
            host_batch_size: self.host_batch_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_ids_read_as_text_or_array_and_bad_ones_are_named() {
        let s = PcSettings {
            policy_ids: Some(PolicyIdList::Text("4711, 4712,4711".into())),
            ..PcSettings::default()
        };
        assert_eq!(
            s.check().unwrap().policies,
            PolicySelection::Ids(vec![4711, 4712])
        );
        let s: crate::Settings = toml::from_str("policy_ids = [4711, \"4713\"]").unwrap();
        assert_eq!(
            s.pc.check().unwrap().policies,
            PolicySelection::Ids(vec![4711, 4713])
        );
        for bad in ["4711,abc", "4711,", "-3", "0"] {
            let s = PcSettings {
                policy_ids: Some(PolicyIdList::Text(bad.into())),
                ..PcSettings::default()
            };
            let e = s.check().unwrap_err();
            assert!(
                matches!(&e, Error::Config { setting, .. } if setting == "policy_ids"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn defaults_and_ranges() {
        let c = PcSettings::default().check().unwrap();
        assert_eq!(
            c.policies,
            PolicySelection::All {
                include_inactive: false
            }
        );
        assert_eq!((c.evidence, c.host_batch_size), (false, 5000));
        let e = PcSettings {
            host_batch_size: Some(0),
            ..PcSettings::default()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = PcSettings {
            policy_ids: Some(PolicyIdList::Text("1".into())),
            include_inactive_policies: Some(true),
            ..PcSettings::default()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("no effect with policy_ids"), "{e}");
    }
}
