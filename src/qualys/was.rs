//! WAS facts both sides share: the finding types and statuses, the scan statuses, and the
//! paging limits of the QPS `ServiceRequest` (`/qps/rest/3.0/search|count|get/was/...`).
//!
//! Facts: `shared/reference/api/qualys-was.md` sections 2 and 3 (Qualys documentation, qualysdk
//! docstrings, the recorded graph-qualys bodies).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::filter::InvalidValue;

/// The most records one `ServiceRequest` may ask for (`limitResults`), documented.
pub const MAX_LIMIT_RESULTS: u32 = 1000;
/// What Qualys answers when `limitResults` is absent, documented.
pub const DEFAULT_LIMIT_RESULTS: u32 = 100;

/// What a WAS finding is: the three kinds the Vulnerabilities stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingType {
    Vulnerability,
    SensitiveContent,
    InformationGathered,
}

impl FindingType {
    /// Every type, in the documented order.
    pub const ALL: [FindingType; 3] = [
        FindingType::Vulnerability,
        FindingType::SensitiveContent,
        FindingType::InformationGathered,
    ];

    /// The spelling on the wire and in settings.
    pub fn wire(self) -> &'static str {
        match self {
            FindingType::Vulnerability => "VULNERABILITY",
            FindingType::SensitiveContent => "SENSITIVE_CONTENT",
            FindingType::InformationGathered => "INFORMATION_GATHERED",
        }
    }

    /// The type named exactly as Qualys spells it.
    pub fn from_wire(s: &str) -> Option<FindingType> {
        FindingType::ALL.into_iter().find(|t| t.wire() == s)
    }

    /// Whether findings of this type carry a status, a URL, `timesDetected` and `isIgnored`.
    /// Information gathered has none of them (recorded: 46 of 46 in the 2022 search).
    pub fn is_detection(self) -> bool {
        self != FindingType::InformationGathered
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for FindingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire())
    }
}

impl FromStr for FindingType {
    type Err = InvalidValue;

    /// Case-insensitive, so `vulnerability` works in a config file too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        FindingType::from_wire(&upper).ok_or_else(|| InvalidValue {
            what: "finding type",
            value: s.trim().to_string(),
            allowed: "VULNERABILITY, SENSITIVE_CONTENT, INFORMATION_GATHERED",
        })
    }
}

/// A set of [`FindingType`]s; iteration follows the documented order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FindingTypeSet(u8);

impl FindingTypeSet {
    /// All three types: the stream's default.
    pub const ALL: FindingTypeSet = FindingTypeSet(0b111);
    pub const EMPTY: FindingTypeSet = FindingTypeSet(0);

    pub fn contains(self, t: FindingType) -> bool {
        self.0 & t.bit() != 0
    }

    pub fn insert(&mut self, t: FindingType) {
        self.0 |= t.bit();
    }

    pub fn is_all(self) -> bool {
        self == FindingTypeSet::ALL
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = FindingType> {
        FindingType::ALL
            .into_iter()
            .filter(move |t| self.contains(*t))
    }

    /// `VULNERABILITY,SENSITIVE_CONTENT`: the wire form of an `IN` criterion.
    pub fn to_wire_list(self) -> String {
        self.iter()
            .map(FindingType::wire)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses a comma-separated list; an empty item or an unknown type is an error.
    pub fn parse_list(list: &str) -> Result<FindingTypeSet, InvalidValue> {
        let mut set = FindingTypeSet::EMPTY;
        for item in list.split(',') {
            set.insert(item.parse()?);
        }
        Ok(set)
    }
}

impl Default for FindingTypeSet {
    fn default() -> Self {
        FindingTypeSet::ALL
    }
}

impl fmt::Debug for FindingTypeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FindingTypeSet({})", self.to_wire_list())
    }
}

/// The status of a vulnerability or sensitive-content finding, documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingStatus {
    New,
    Active,
    Reopened,
    Protected,
    Fixed,
}

impl FindingStatus {
    pub const ALL: [FindingStatus; 5] = [
        FindingStatus::New,
        FindingStatus::Active,
        FindingStatus::Reopened,
        FindingStatus::Protected,
        FindingStatus::Fixed,
    ];

    pub fn wire(self) -> &'static str {
        match self {
            FindingStatus::New => "NEW",
            FindingStatus::Active => "ACTIVE",
            FindingStatus::Reopened => "REOPENED",
            FindingStatus::Protected => "PROTECTED",
            FindingStatus::Fixed => "FIXED",
        }
    }

    pub fn from_wire(s: &str) -> Option<FindingStatus> {
        FindingStatus::ALL.into_iter().find(|t| t.wire() == s)
    }
}

/// The status of a WAS scan, the values of the `lastScan.status` criteria, documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScanStatus {
    Submitted,
    Running,
    Finished,
    TimeLimitExceeded,
    ScanNotLaunched,
    ScannerNotAvailable,
    Error,
    Canceled,
}

impl ScanStatus {
    pub const ALL: [ScanStatus; 8] = [
        ScanStatus::Submitted,
        ScanStatus::Running,
        ScanStatus::Finished,
        ScanStatus::TimeLimitExceeded,
        ScanStatus::ScanNotLaunched,
        ScanStatus::ScannerNotAvailable,
        ScanStatus::Error,
        ScanStatus::Canceled,
    ];

    pub fn wire(self) -> &'static str {
        match self {
            ScanStatus::Submitted => "SUBMITTED",
            ScanStatus::Running => "RUNNING",
            ScanStatus::Finished => "FINISHED",
            ScanStatus::TimeLimitExceeded => "TIME_LIMIT_EXCEEDED",
            ScanStatus::ScanNotLaunched => "SCAN_NOT_LAUNCHED",
            ScanStatus::ScannerNotAvailable => "SCANNER_NOT_AVAILABLE",
            ScanStatus::Error => "ERROR",
            ScanStatus::Canceled => "CANCELED",
        }
    }

    pub fn from_wire(s: &str) -> Option<ScanStatus> {
        ScanStatus::ALL.into_iter().find(|t| t.wire() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_types_parse_case_insensitively_and_list_the_valid_ones_when_wrong() {
        let set = FindingTypeSet::parse_list("vulnerability, INFORMATION_GATHERED").unwrap();
        assert_eq!(set.to_wire_list(), "VULNERABILITY,INFORMATION_GATHERED");
        assert!(!set.is_all() && !set.contains(FindingType::SensitiveContent));
        let e = FindingTypeSet::parse_list("VULNERABILITY,VULN").unwrap_err();
        assert_eq!(e.value, "VULN");
        assert!(e.to_string().contains("SENSITIVE_CONTENT"), "{e}");
        assert!(FindingTypeSet::parse_list("VULNERABILITY,").is_err());
    }

    #[test]
    fn only_information_gathered_lacks_the_detection_elements() {
        assert!(FindingType::Vulnerability.is_detection());
        assert!(FindingType::SensitiveContent.is_detection());
        assert!(!FindingType::InformationGathered.is_detection());
        for s in FindingStatus::ALL {
            assert_eq!(FindingStatus::from_wire(s.wire()), Some(s));
        }
        for s in ScanStatus::ALL {
            assert_eq!(ScanStatus::from_wire(s.wire()), Some(s));
        }
    }
}
