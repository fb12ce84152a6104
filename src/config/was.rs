//! The WAS module's settings: which finding types the Vulnerabilities stream asks for, and how
//! many records each `ServiceRequest` page holds. Which of them apply to which WAS stream is in
//! the stream registry ([`crate::stream::StreamRow::settings`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::qualys::was::{FindingTypeSet, MAX_LIMIT_RESULTS};

settings_section! {
    /// The WAS section of the settings.
    pub struct WasSettings {
        /// Finding types: `"VULNERABILITY,SENSITIVE_CONTENT"` or a TOML array. Default: all three.
        finding_types: FindingTypeList,
        /// Records per page (QPS `limitResults`): 1 to 1000, default 1000.
        page_size: i64,
    }
}

/// A finding type list written either as one comma-separated string or as a TOML array.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum FindingTypeList {
    Text(String),
    List(Vec<String>),
}

impl FindingTypeList {
    fn joined(&self) -> String {
        match self {
            FindingTypeList::Text(s) => s.clone(),
            FindingTypeList::List(v) => v.join(","),
        }
    }
}

/// The checked WAS settings, with the defaults filled in.
#[derive(Debug, Clone)]
pub struct WasConfig {
    pub finding_types: FindingTypeSet,
    pub page_size: u32,
}

impl Default for WasConfig {
    fn default() -> Self {
        WasConfig {
            finding_types: FindingTypeSet::ALL,
            page_size: MAX_LIMIT_RESULTS,
        }
    }
}

impl WasSettings {
    /// Checks every value that is set (whichever stream is selected) and fills in the defaults.
    pub(super) fn check(&self) -> Result<WasConfig> {
        let finding_types = match &self.finding_types {
            None => FindingTypeSet::ALL,
            Some(list) => FindingTypeSet::parse_list(&list.joined()).map_err(|e| {
                Error::config(
                    "finding_types",
                    e.to_string(),
                    "use a comma-separated subset of VULNERABILITY, SENSITIVE_CONTENT, \
                     INFORMATION_GATHERED (default: all three)",
                )
            })?,
        };
        let page_size = match self.page_size {
            None => MAX_LIMIT_RESULTS,
            Some(n) if (1..=i64::from(MAX_LIMIT_RESULTS)).contains(&n) => n as u32,
            Some(n) => {
                return Err(Error::config(
                    "page_size",
                    format!("{n} is out of range"),
                    format!(
                        "use 1 to {MAX_LIMIT_RESULTS} records per page (Qualys's limitResults \
                         bounds; {MAX_LIMIT_RESULTS}, the default, makes the fewest requests)"
                    ),
                ));
            }
        };
        Ok(WasConfig {
            finding_types,
            page_size,
        })
    }
}

/// The flags of the WAS module's settings ([`WasSettings`]).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WasFlags {
    /// WAS finding types, comma-separated: VULNERABILITY,SENSITIVE_CONTENT,INFORMATION_GATHERED
    /// (default: all three).
    #[arg(long)]
    pub finding_types: Option<String>,
    /// WAS records per page, 1 to 1000 (default 1000).
    #[arg(long, allow_negative_numbers = true)]
    pub page_size: Option<i64>,
}

impl WasFlags {
    /// The section these flags set (a flag not given is a key not set).
    pub fn settings(&self) -> WasSettings {
        WasSettings {
            finding_types: self.finding_types.clone().map(FindingTypeList::Text),
            page_size: self.page_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_every_type_and_a_thousand_per_page() {
        let c = WasSettings::default().check().unwrap();
        assert!(c.finding_types.is_all());
        assert_eq!(c.page_size, 1000);
    }

    #[test]
    fn a_page_size_outside_1_to_1000_and_an_unknown_type_are_configuration_errors() {
        for n in [0, -1, 1001] {
            let e = WasSettings {
                page_size: Some(n),
                ..WasSettings::default()
            }
            .check()
            .unwrap_err();
            assert_eq!(e.exit_class(), crate::ExitClass::Config, "{e}");
            assert!(e.to_string().contains("use 1 to 1000"), "{e}");
        }
        let e = WasSettings {
            finding_types: Some(FindingTypeList::List(vec![
                "VULNERABILITY".into(),
                "XSS".into(),
            ])),
            ..WasSettings::default()
        }
        .check()
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, Error::Config { setting, .. } if setting == "finding_types"),
            "{msg}"
        );
        assert!(
            msg.contains("\"XSS\"") && msg.contains("SENSITIVE_CONTENT"),
            "{msg}"
        );
    }
}
