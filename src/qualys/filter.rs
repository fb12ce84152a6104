//! The filters a user can put on the VMDR streams, as typed values.
//!
//! The same types serve both sides of the wire: the connector turns them into Qualys request
//! parameters ([`StatusSet::to_param`], [`TagFilter::params`]) and the simulator parses those
//! parameters back and applies the documented semantics ([`ArfKernelFilter::keeps`],
//! [`TagFilter::keeps`]). Keeping one definition means a scenario that pins a filter tests the
//! meaning of the filter, not two copies of it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A detection status as Qualys spells it in `status=` and in `DETECTION/STATUS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VulnStatus {
    New,
    Active,
    #[serde(rename = "Re-Opened")]
    ReOpened,
    Fixed,
}

impl VulnStatus {
    /// Every status, in the order Qualys documents them (also the default filter).
    pub const ALL: [VulnStatus; 4] = [
        VulnStatus::New,
        VulnStatus::Active,
        VulnStatus::ReOpened,
        VulnStatus::Fixed,
    ];

    /// The spelling Qualys uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            VulnStatus::New => "New",
            VulnStatus::Active => "Active",
            VulnStatus::ReOpened => "Re-Opened",
            VulnStatus::Fixed => "Fixed",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for VulnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is not one of the allowed spellings; the message lists the allowed ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {what}; valid values are {allowed}")]
pub struct InvalidValue {
    pub what: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

impl FromStr for VulnStatus {
    type Err = InvalidValue;

    /// Case-insensitive; `Re-Opened` is also accepted as `reopened` because users type both.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "new" => Ok(VulnStatus::New),
            "active" => Ok(VulnStatus::Active),
            "re-opened" | "reopened" => Ok(VulnStatus::ReOpened),
            "fixed" => Ok(VulnStatus::Fixed),
            _ => Err(InvalidValue {
                what: "vulnerability status",
                value: s.to_string(),
                allowed: "New, Active, Re-Opened, Fixed",
            }),
        }
    }
}

/// A set of [`VulnStatus`] values; iteration and the request parameter use the documented order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSet(u8);

impl StatusSet {
    /// All four statuses: the Qualys default and ours.
    pub const ALL: StatusSet = StatusSet(0b1111);
    pub const EMPTY: StatusSet = StatusSet(0);

    pub fn contains(self, status: VulnStatus) -> bool {
        self.0 & status.bit() != 0
    }

    pub fn insert(&mut self, status: VulnStatus) {
        self.0 |= status.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = VulnStatus> {
        VulnStatus::ALL
            .into_iter()
            .filter(move |s| self.contains(*s))
    }

    /// The `status=` parameter value, e.g. `New,Active,Re-Opened,Fixed`.
    pub fn to_param(self) -> String {
        self.iter()
            .map(VulnStatus::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses a comma-separated list such as `New,Re-Opened`. Empty items are rejected so that
    /// a stray comma is reported instead of silently widening or narrowing the filter.
    pub fn parse_list(list: &str) -> Result<StatusSet, InvalidValue> {
        let mut set = StatusSet::EMPTY;
        for item in list.split(',') {
            set.insert(item.parse()?);
        }
        Ok(set)
    }
}

impl Default for StatusSet {
    fn default() -> Self {
        StatusSet::ALL
    }
}

impl fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusSet({})", self.to_param())
    }
}

impl FromIterator<VulnStatus> for StatusSet {
    fn from_iter<I: IntoIterator<Item = VulnStatus>>(iter: I) -> Self {
        let mut set = StatusSet::EMPTY;
        for s in iter {
            set.insert(s);
        }
        set
    }
}

/// `DETECTION/TYPE`: Qualys's three detection categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DetectionType {
    Confirmed,
    Potential,
    /// Information gathered (`Info` on the wire).
    Info,
}

impl DetectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectionType::Confirmed => "Confirmed",
            DetectionType::Potential => "Potential",
            DetectionType::Info => "Info",
        }
    }

    /// Parses the wire spelling; Qualys has used both `Info` and `Information Gathered`.
    pub fn from_wire(s: &str) -> Option<DetectionType> {
        match s.trim() {
            "Confirmed" => Some(DetectionType::Confirmed),
            "Potential" => Some(DetectionType::Potential),
            "Info" | "Information Gathered" | "Ig" => Some(DetectionType::Info),
            _ => None,
        }
    }
}

/// `arf_kernel_filter`: how detections on Linux kernels are filtered by kernel activity.
///
/// Meanings as documented (Zscaler connector doc and the Qualys HLD parameter list):
///
/// | value | meaning |
/// |---|---|
/// | 0 | not filtered by kernel activity |
/// | 1 | exclude kernel-related vulnerabilities that are not exploitable (found on non-running kernels) |
/// | 2 | only kernel-related vulnerabilities that are not exploitable (non-running kernels) |
/// | 3 | only kernel-related vulnerabilities that are exploitable (running kernels) |
/// | 4 | only kernel-related vulnerabilities (Qualys accepts it; the connector offers 0-3) |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum ArfKernelFilter {
    #[default]
    NoFilter = 0,
    ExcludeNonRunningKernel = 1,
    OnlyNonRunningKernel = 2,
    OnlyRunningKernel = 3,
    OnlyKernel = 4,
}

impl ArfKernelFilter {
    /// The numeric wire value.
    pub fn value(self) -> u8 {
        self as u8
    }

    /// Whether a detection passes the filter. `kernel` is `None` for a vulnerability that is
    /// not kernel related, else `Some(running)` where `running` says the kernel it was found on
    /// is the running one.
    pub fn keeps(self, kernel: Option<bool>) -> bool {
        match self {
            ArfKernelFilter::NoFilter => true,
            ArfKernelFilter::ExcludeNonRunningKernel => kernel != Some(false),
            ArfKernelFilter::OnlyNonRunningKernel => kernel == Some(false),
            ArfKernelFilter::OnlyRunningKernel => kernel == Some(true),
            ArfKernelFilter::OnlyKernel => kernel.is_some(),
        }
    }
}

impl TryFrom<u8> for ArfKernelFilter {
    type Error = InvalidValue;

    fn try_from(v: u8) -> Result<Self, Self::Error> {
        match v {
            0 => Ok(ArfKernelFilter::NoFilter),
            1 => Ok(ArfKernelFilter::ExcludeNonRunningKernel),
            2 => Ok(ArfKernelFilter::OnlyNonRunningKernel),
            3 => Ok(ArfKernelFilter::OnlyRunningKernel),
            4 => Ok(ArfKernelFilter::OnlyKernel),
            _ => Err(InvalidValue {
                what: "arf_kernel_filter",
                value: v.to_string(),
                allowed: "0, 1, 2, 3 (and 4 on the Qualys API)",
            }),
        }
    }
}

impl From<ArfKernelFilter> for u8 {
    fn from(f: ArfKernelFilter) -> u8 {
        f.value()
    }
}

impl FromStr for ArfKernelFilter {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidValue {
            what: "arf_kernel_filter",
            value: s.to_string(),
            allowed: "0, 1, 2, 3 (and 4 on the Qualys API)",
        };
        let n: u8 = s.trim().parse().map_err(|_| invalid())?;
        ArfKernelFilter::try_from(n).map_err(|_| invalid())
    }
}

/// `tag_include_selector` / `tag_exclude_selector`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagSelector {
    /// The host has at least one of the tags (Qualys default).
    #[default]
    Any,
    /// The host has every one of the tags.
    All,
}

impl TagSelector {
    pub fn as_str(self) -> &'static str {
        match self {
            TagSelector::Any => "any",
            TagSelector::All => "all",
        }
    }

    /// Whether a host carrying `host_tags` matches `wanted` under this selector.
    pub fn matches<S: AsRef<str>>(self, wanted: &[String], host_tags: &[S]) -> bool {
        let has = |w: &String| host_tags.iter().any(|t| t.as_ref() == w);
        match self {
            TagSelector::Any => wanted.iter().any(has),
            TagSelector::All => wanted.iter().all(has),
        }
    }
}

impl FromStr for TagSelector {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "any" => Ok(TagSelector::Any),
            "all" => Ok(TagSelector::All),
            _ => Err(InvalidValue {
                what: "tag selector",
                value: s.to_string(),
                allowed: "any, all",
            }),
        }
    }
}

/// Splits a comma-separated tag list (`Prod,PCI & Card`), trimming each name.
///
/// Empty names (`Prod,,PCI`) are an error rather than being dropped: the user meant something.
pub fn parse_tag_list(list: &str) -> Result<Vec<String>, InvalidValue> {
    list.split(',')
        .map(|t| {
            let t = t.trim();
            if t.is_empty() {
                Err(InvalidValue {
                    what: "tag list",
                    value: list.to_string(),
                    allowed: "comma-separated, non-empty tag names such as \"Prod,PCI & Card\"",
                })
            } else {
                Ok(t.to_string())
            }
        })
        .collect()
}

/// Asset tag filter by tag name, as the Host List and Host List Detection APIs apply it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagFilter {
    pub include: Vec<String>,
    pub include_selector: TagSelector,
    pub exclude: Vec<String>,
    pub exclude_selector: TagSelector,
}

impl TagFilter {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// The request parameters, in the order Qualys documents them. Empty when no tags are set.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut p = vec![
            ("use_tags", "1".to_string()),
            ("tag_set_by", "name".to_string()),
        ];
        if !self.include.is_empty() {
            p.push((
                "tag_include_selector",
                self.include_selector.as_str().into(),
            ));
            p.push(("tag_set_include", self.include.join(",")));
        }
        if !self.exclude.is_empty() {
            p.push((
                "tag_exclude_selector",
                self.exclude_selector.as_str().into(),
            ));
            p.push(("tag_set_exclude", self.exclude.join(",")));
        }
        p
    }

    /// Whether a host carrying `host_tags` passes: it must match the include set (when one is
    /// given) and must not match the exclude set.
    pub fn keeps<S: AsRef<str>>(&self, host_tags: &[S]) -> bool {
        let included =
            self.include.is_empty() || self.include_selector.matches(&self.include, host_tags);
        let excluded =
            !self.exclude.is_empty() && self.exclude_selector.matches(&self.exclude, host_tags);
        included && !excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_list_parses_in_any_case_and_renders_in_documented_order() {
        let set = StatusSet::parse_list("fixed, re-opened,NEW").unwrap();
        assert_eq!(set.to_param(), "New,Re-Opened,Fixed");
        assert!(!set.contains(VulnStatus::Active));
    }

    #[test]
    fn status_list_rejects_unknown_values_and_names_the_valid_ones() {
        let err = StatusSet::parse_list("New,Open").unwrap_err();
        assert_eq!(err.value, "Open");
        assert!(err.to_string().contains("New, Active, Re-Opened, Fixed"));
        assert!(StatusSet::parse_list("New,,Fixed").is_err());
    }

    #[test]
    fn arf_kernel_filter_follows_the_documented_table() {
        use ArfKernelFilter::*;
        let cases = [None, Some(false), Some(true)];
        let kept = |f: ArfKernelFilter| cases.map(|c| f.keeps(c));
        assert_eq!(kept(NoFilter), [true, true, true]);
        assert_eq!(kept(ExcludeNonRunningKernel), [true, false, true]);
        assert_eq!(kept(OnlyNonRunningKernel), [false, true, false]);
        assert_eq!(kept(OnlyRunningKernel), [false, false, true]);
        assert_eq!(kept(OnlyKernel), [false, true, true]);
        assert!("5".parse::<ArfKernelFilter>().is_err());
        assert!("x".parse::<ArfKernelFilter>().is_err());
    }

    #[test]
    fn tag_filter_any_and_all_selectors_differ() {
        let host = ["Prod", "PCI & Card"];
        let mut f = TagFilter {
            include: vec!["Prod".into(), "Linux".into()],
            ..Default::default()
        };
        assert!(f.keeps(&host));
        f.include_selector = TagSelector::All;
        assert!(!f.keeps(&host));
        f.include = vec!["Prod".into(), "PCI & Card".into()];
        assert!(f.keeps(&host));
        f.exclude = vec!["PCI & Card".into(), "Decommissioned".into()];
        assert!(
            !f.keeps(&host),
            "exclude any drops a host with one of the tags"
        );
        f.exclude_selector = TagSelector::All;
        assert!(f.keeps(&host), "exclude all needs every tag");
    }

    #[test]
    fn tag_list_keeps_ampersands_and_spaces_and_rejects_empty_names() {
        assert_eq!(
            parse_tag_list(" Prod , PCI & Card").unwrap(),
            vec!["Prod".to_string(), "PCI & Card".to_string()]
        );
        assert!(parse_tag_list("Prod,").is_err());
    }
}
