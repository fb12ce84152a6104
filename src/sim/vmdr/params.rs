//! Request parameters: the allow-list of each endpoint and their parsing into typed queries.
//!
//! Qualys rejects a parameter it does not know with CODE 1901 and a bad value with CODE 1905,
//! both HTTP 400 (a [`Rejection`] the FO dialect renders). The allow-lists hold every parameter the research note documents for the
//! endpoint, so a connector sending a real parameter is never told it is unknown; the parameters
//! the simulator *models* are parsed into the types of [`crate::qualys::filter`] and applied, the others
//! are accepted and have no effect (listed in fixtures/README.md).

use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::qualys::filter::{
    ArfKernelFilter, DetectionType, StatusSet, TagFilter, TagSelector, parse_tag_list,
};

use crate::sim::engine::handler::Rejection;
use crate::sim::tenant::Tag;

/// Host List Detection parameters (research note §2.1).
pub const DETECTION_PARAMS: &[&str] = &[
    "action",
    "echo_request",
    "output_format",
    "suppress_duplicated_data_from_csv",
    "truncation_limit",
    "ids",
    "id_min",
    "id_max",
    "status",
    "include_vuln_type",
    "show_igs",
    "show_results",
    "show_reopened_info",
    "arf_kernel_filter",
    "arf_service_filter",
    "arf_config_filter",
    "active_kernels_only",
    "arf_filter_keys",
    "use_tags",
    "tag_set_by",
    "tag_include_selector",
    "tag_exclude_selector",
    "tag_set_include",
    "tag_set_exclude",
    "show_tags",
    "show_asset_id",
    "vm_processed_after",
    "vm_processed_before",
    "vm_scan_since",
    "no_vm_scan_since",
    "max_days_since_last_vm_scan",
    "vm_scan_date_before",
    "vm_scan_date_after",
    "vm_auth_scan_date_before",
    "vm_auth_scan_date_after",
    "detection_updated_since",
    "detection_updated_before",
    "max_days_since_detection_updated",
    "detection_processed_after",
    "detection_processed_before",
    "detection_last_tested_since",
    "detection_last_tested_since_days",
    "detection_last_tested_before",
    "detection_last_tested_before_days",
    "include_ignored",
    "include_disabled",
    "qids",
    "severities",
    "filter_superseded_qids",
    "include_search_list_ids",
    "include_search_list_titles",
    "exclude_search_list_ids",
    "exclude_search_list_titles",
    "ips",
    "ipv6",
    "ag_ids",
    "ag_titles",
    "network_ids",
    "os_pattern",
    "compliance_enabled",
    "show_qds",
    "qds_min",
    "qds_max",
    "show_qds_factors",
    "host_metadata",
    "host_metadata_fields",
    "show_cloud_tags",
    "cloud_tag_fields",
];

/// Host List parameters (research note §3.1).
pub const HOST_LIST_PARAMS: &[&str] = &[
    "action",
    "echo_request",
    "output_format",
    "show_asset_id",
    "details",
    "os_pattern",
    "truncation_limit",
    "ips",
    "ipv6",
    "ag_ids",
    "ag_titles",
    "ids",
    "id_min",
    "id_max",
    "network_ids",
    "compliance_enabled",
    "no_vm_scan_since",
    "no_compliance_scan_since",
    "vm_scan_since",
    "compliance_scan_since",
    "vm_processed_before",
    "vm_processed_after",
    "vm_scan_date_before",
    "vm_scan_date_after",
    "vm_auth_scan_date_before",
    "vm_auth_scan_date_after",
    "scap_scan_since",
    "no_scap_scan_since",
    "use_tags",
    "show_tags",
    "tag_set_by",
    "tag_include_selector",
    "tag_exclude_selector",
    "tag_set_include",
    "tag_set_exclude",
    "show_ars",
    "ars_min",
    "ars_max",
    "show_ars_factors",
    "show_trurisk",
    "trurisk_min",
    "trurisk_max",
    "show_trurisk_factors",
    "host_metadata",
    "host_metadata_fields",
    "show_cloud_tags",
    "cloud_tag_fields",
    "os_hostname",
];

/// KnowledgeBase parameters (research note §4).
pub const KNOWLEDGE_BASE_PARAMS: &[&str] = &[
    "action",
    "echo_request",
    "details",
    "ids",
    "id_min",
    "id_max",
    "is_patchable",
    "last_modified_after",
    "last_modified_before",
    "last_modified_by_user_after",
    "last_modified_by_user_before",
    "last_modified_by_service_after",
    "last_modified_by_service_before",
    "published_after",
    "published_before",
    "discovery_method",
    "discovery_auth_types",
    "show_pci_reasons",
    "show_supported_modules_info",
    "show_disabled_flag",
    "show_qid_change_log",
    "code_modified_after",
    "code_modified_before",
];

/// Request parameters, query and form merged in arrival order.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a>(pub &'a [(String, String)]);

impl<'a> Params<'a> {
    /// The last value given for `name` (later values win, as with most form parsers).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn check_allowed(&self, allowed: &[&str]) -> Result<(), Rejection> {
        let mut unknown: Vec<&str> = Vec::new();
        for (k, _) in self.0 {
            if !allowed.contains(&k.as_str()) && !unknown.contains(&k.as_str()) {
                unknown.push(k);
            }
        }
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(Rejection::unknown(&unknown))
        }
    }

    fn check_action(&self) -> Result<(), Rejection> {
        match self.get("action") {
            None => Err(Rejection::missing("action")),
            Some("list") => Ok(()),
            Some(v) => Err(Rejection::invalid(
                "action",
                v,
                "the only action of this API is list",
            )),
        }
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool, Rejection> {
        match self.get(name) {
            None => Ok(default),
            Some("1") => Ok(true),
            Some("0") => Ok(false),
            Some(v) => Err(Rejection::invalid(name, v, "must be 0 or 1")),
        }
    }

    fn number(&self, name: &str) -> Result<Option<u64>, Rejection> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| Rejection::invalid(name, v, "not a non-negative integer")),
        }
    }

    fn positive(&self, name: &str) -> Result<Option<u64>, Rejection> {
        match self.number(name)? {
            Some(0) => Err(Rejection::invalid(name, "0", "must be a positive integer")),
            n => Ok(n),
        }
    }

    fn id_set(&self, name: &str) -> Result<Option<IdSet>, Rejection> {
        self.get(name)
            .map(|v| IdSet::parse(v).map_err(|r| Rejection::invalid(name, v, r)))
            .transpose()
    }

    fn output_format(&self) -> Result<(), Rejection> {
        match self.get("output_format") {
            None => Ok(()),
            Some(v) if v.eq_ignore_ascii_case("xml") => Ok(()),
            Some(v) => Err(Rejection::invalid(
                "output_format",
                v,
                "the simulator serves XML only; CSV output is not modelled",
            )),
        }
    }
}

/// A list of IDs and ranges, as Qualys takes in `ids`, `qids`, `severities`: `1,3-5,9`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdSet(pub Vec<(u64, u64)>);

impl IdSet {
    pub fn parse(v: &str) -> Result<IdSet, String> {
        let mut out = Vec::new();
        for item in v.split(',') {
            let item = item.trim();
            let bad = || format!("neither a positive integer nor a range: {item}");
            let n = |s: &str| s.trim().parse::<u64>().ok().filter(|n| *n > 0);
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (n(a).ok_or_else(bad)?, n(b).ok_or_else(bad)?);
                    if a > b {
                        return Err(format!("range start is after its end: {item}"));
                    }
                    out.push((a, b));
                }
                None => {
                    let x = n(item).ok_or_else(bad)?;
                    out.push((x, x));
                }
            }
        }
        Ok(IdSet(out))
    }

    pub fn contains(&self, id: u64) -> bool {
        self.0.iter().any(|(a, b)| (*a..=*b).contains(&id))
    }
}

/// A list of IPv4 addresses and ranges, as `ips` takes: `192.0.2.1,192.0.2.10-192.0.2.20`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSet(Vec<(u32, u32)>);

impl IpSet {
    pub fn parse(v: &str) -> Result<IpSet, String> {
        let mut out = Vec::new();
        for item in v.split(',') {
            let item = item.trim();
            let ip = |s: &str| {
                Ipv4Addr::from_str(s.trim())
                    .map(u32::from)
                    .map_err(|_| format!("not an IPv4 address or range: {item}"))
            };
            match item.split_once('-') {
                Some((a, b)) => out.push((ip(a)?, ip(b)?)),
                None => {
                    let x = ip(item)?;
                    out.push((x, x));
                }
            }
        }
        Ok(IpSet(out))
    }

    pub fn contains(&self, ip: Option<&str>) -> bool {
        let Some(ip) = ip.and_then(|s| Ipv4Addr::from_str(s).ok()).map(u32::from) else {
            return false;
        };
        self.0.iter().any(|(a, b)| (*a..=*b).contains(&ip))
    }
}

/// `tag_set_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagSetBy {
    /// Qualys's default.
    #[default]
    Id,
    Name,
}

/// The asset tag filter of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagQuery {
    pub by: TagSetBy,
    pub filter: TagFilter,
}

impl TagQuery {
    pub fn keeps(&self, tags: &[&Tag]) -> bool {
        match self.by {
            TagSetBy::Name => {
                let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
                self.filter.keeps(&names)
            }
            TagSetBy::Id => {
                let ids: Vec<String> = tags.iter().map(|t| t.id.to_string()).collect();
                self.filter.keeps(&ids)
            }
        }
    }

    fn parse(p: &Params) -> Result<Option<TagQuery>, Rejection> {
        let use_tags = p.flag("use_tags", false)?;
        let include = p.get("tag_set_include");
        let exclude = p.get("tag_set_exclude");
        if !use_tags {
            if include.is_some() || exclude.is_some() {
                // Qualys documents use_tags=1 as required for the tag_set_* filters; answering
                // instead of ignoring them keeps a connector that forgets it from silently
                // exporting every host.
                return Err(Rejection::missing("use_tags"));
            }
            return Ok(None);
        }
        let by = match p.get("tag_set_by") {
            None => TagSetBy::Id,
            Some(v) if v.eq_ignore_ascii_case("id") => TagSetBy::Id,
            Some(v) if v.eq_ignore_ascii_case("name") => TagSetBy::Name,
            Some(v) => return Err(Rejection::invalid("tag_set_by", v, "must be id or name")),
        };
        let selector = |name: &str| -> Result<TagSelector, Rejection> {
            match p.get(name) {
                None => Ok(TagSelector::Any),
                Some(v) => v.parse().map_err(|e: crate::qualys::filter::InvalidValue| {
                    Rejection::invalid(name, v, e)
                }),
            }
        };
        let list = |name: &str, v: Option<&str>| -> Result<Vec<String>, Rejection> {
            let Some(v) = v else { return Ok(Vec::new()) };
            let items = parse_tag_list(v).map_err(|e| Rejection::invalid(name, v, e))?;
            if by == TagSetBy::Id
                && let Some(bad) = items.iter().find(|t| t.parse::<u64>().is_err())
            {
                return Err(Rejection::invalid(
                    name,
                    v,
                    format!("tag_set_by=id takes tag IDs; {bad:?} is not one"),
                ));
            }
            Ok(items)
        };
        let filter = TagFilter {
            include: list("tag_set_include", include)?,
            include_selector: selector("tag_include_selector")?,
            exclude: list("tag_set_exclude", exclude)?,
            exclude_selector: selector("tag_exclude_selector")?,
        };
        Ok(Some(TagQuery { by, filter }))
    }
}

/// Filters on hosts shared by Host List and Host List Detection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFilter {
    pub ids: Option<IdSet>,
    pub id_min: Option<u64>,
    pub id_max: Option<u64>,
    pub ips: Option<IpSet>,
    pub tags: Option<TagQuery>,
}

impl HostFilter {
    fn parse(p: &Params) -> Result<HostFilter, Rejection> {
        Ok(HostFilter {
            ids: p.id_set("ids")?,
            id_min: p.positive("id_min")?,
            id_max: p.positive("id_max")?,
            ips: p
                .get("ips")
                .map(|v| IpSet::parse(v).map_err(|r| Rejection::invalid("ips", v, r)))
                .transpose()?,
            tags: TagQuery::parse(p)?,
        })
    }

    /// The lowest host ID that can pass, so a page over a large population starts there
    /// instead of scanning from the first host.
    pub fn first_candidate(&self) -> u64 {
        let from_ids = self
            .ids
            .as_ref()
            .and_then(|s| s.0.iter().map(|(a, _)| *a).min())
            .unwrap_or(0);
        self.id_min.unwrap_or(0).max(from_ids)
    }

    /// Whether the host passes (the ID bounds included).
    pub fn keeps(&self, id: u64, ip: Option<&str>, tags: &[&Tag]) -> bool {
        self.id_min.is_none_or(|m| id >= m)
            && self.id_max.is_none_or(|m| id <= m)
            && self.ids.as_ref().is_none_or(|s| s.contains(id))
            && self.ips.as_ref().is_none_or(|s| s.contains(ip))
            && self.tags.as_ref().is_none_or(|t| t.keeps(tags))
    }
}

/// Filters on detections (Host List Detection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionFilter {
    pub statuses: StatusSet,
    /// `include_vuln_type`: only confirmed or only potential; both when `None`.
    pub vuln_type: Option<DetectionType>,
    pub show_igs: bool,
    /// `arf_kernel_filter`; when given, kernel-related detections carry `AFFECT_RUNNING_KERNEL`.
    pub arf_kernel: Option<ArfKernelFilter>,
    pub qids: Option<IdSet>,
    pub severities: Option<IdSet>,
    pub include_ignored: bool,
    pub include_disabled: bool,
}

impl Default for DetectionFilter {
    fn default() -> Self {
        DetectionFilter {
            statuses: StatusSet::ALL,
            vuln_type: None,
            show_igs: false,
            arf_kernel: None,
            qids: None,
            severities: None,
            include_ignored: false,
            include_disabled: false,
        }
    }
}

impl DetectionFilter {
    /// Whether a detection passes; `kernel` as [`ArfKernelFilter::keeps`] takes it.
    #[allow(clippy::too_many_arguments)]
    pub fn keeps(
        &self,
        kind: DetectionType,
        status: crate::qualys::filter::VulnStatus,
        qid: u32,
        severity: u8,
        kernel: Option<bool>,
        ignored: bool,
        disabled: bool,
    ) -> bool {
        let type_ok = match kind {
            DetectionType::Info => self.show_igs,
            other => self.vuln_type.is_none_or(|t| t == other),
        };
        type_ok
            && self.statuses.contains(status)
            && self.arf_kernel.is_none_or(|f| f.keeps(kernel))
            && self
                .qids
                .as_ref()
                .is_none_or(|s| s.contains(u64::from(qid)))
            && self
                .severities
                .as_ref()
                .is_none_or(|s| s.contains(u64::from(severity)))
            && (self.include_ignored || !ignored)
            && (self.include_disabled || !disabled)
    }
}

/// The default `truncation_limit` of Host List and Host List Detection.
pub const DEFAULT_TRUNCATION_LIMIT: u64 = 1000;

/// A parsed Host List Detection request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionQuery {
    pub hosts: HostFilter,
    pub detections: DetectionFilter,
    /// Hosts per page; 0 = everything in one page.
    pub truncation_limit: u64,
    pub show_tags: bool,
    pub show_results: bool,
    pub show_asset_id: bool,
    pub show_reopened_info: bool,
    pub echo_request: bool,
}

impl DetectionQuery {
    pub fn parse(params: &[(String, String)]) -> Result<DetectionQuery, Rejection> {
        let p = Params(params);
        p.check_allowed(DETECTION_PARAMS)?;
        p.check_action()?;
        p.output_format()?;
        if p.get("arf_kernel_filter").is_some() && p.get("arf_filter_keys").is_some() {
            return Err(Rejection::exclusive("arf_filter_keys", "arf_kernel_filter"));
        }
        let statuses = match p.get("status") {
            None => StatusSet::ALL,
            Some(v) => StatusSet::parse_list(v).map_err(|e| Rejection::invalid("status", v, e))?,
        };
        let vuln_type = match p.get("include_vuln_type") {
            None => None,
            Some(v) if v.eq_ignore_ascii_case("confirmed") => Some(DetectionType::Confirmed),
            Some(v) if v.eq_ignore_ascii_case("potential") => Some(DetectionType::Potential),
            Some(v) => {
                return Err(Rejection::invalid(
                    "include_vuln_type",
                    v,
                    "must be confirmed or potential",
                ));
            }
        };
        let arf_kernel = match p.get("arf_kernel_filter") {
            None => None,
            Some(v) => Some(
                v.parse()
                    .map_err(|e| Rejection::invalid("arf_kernel_filter", v, e))?,
            ),
        };
        let severities = p.id_set("severities")?;
        if let Some(s) = &severities
            && s.0.iter().any(|(a, b)| *a > 5 || *b > 5)
        {
            return Err(Rejection::invalid(
                "severities",
                p.get("severities").unwrap_or(""),
                "severities are 1-5",
            ));
        }
        Ok(DetectionQuery {
            hosts: HostFilter::parse(&p)?,
            detections: DetectionFilter {
                statuses,
                vuln_type,
                show_igs: p.flag("show_igs", false)?,
                arf_kernel,
                qids: p.id_set("qids")?,
                severities,
                include_ignored: p.flag("include_ignored", false)?,
                include_disabled: p.flag("include_disabled", false)?,
            },
            truncation_limit: p
                .number("truncation_limit")?
                .unwrap_or(DEFAULT_TRUNCATION_LIMIT),
            show_tags: p.flag("show_tags", false)?,
            show_results: p.flag("show_results", true)?,
            show_asset_id: p.flag("show_asset_id", false)?,
            show_reopened_info: p.flag("show_reopened_info", false)?,
            echo_request: p.flag("echo_request", false)?,
        })
    }
}

/// Host List `details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostDetails {
    /// IDs only, as `ID_SET`.
    None,
    Basic,
    All,
}

/// A parsed Host List request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostListQuery {
    pub hosts: HostFilter,
    pub details: HostDetails,
    pub truncation_limit: u64,
    pub show_tags: bool,
    pub show_asset_id: bool,
    pub echo_request: bool,
}

impl HostListQuery {
    pub fn parse(params: &[(String, String)]) -> Result<HostListQuery, Rejection> {
        let p = Params(params);
        p.check_allowed(HOST_LIST_PARAMS)?;
        p.check_action()?;
        p.output_format()?;
        let details = match p.get("details") {
            None => HostDetails::Basic,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "none" => HostDetails::None,
                // The asset-group variants add ASSET_GROUP_IDS, which the tenant does not model.
                "basic" | "basic/ags" => HostDetails::Basic,
                "all" | "all/ags" => HostDetails::All,
                _ => {
                    return Err(Rejection::invalid(
                        "details",
                        v,
                        "must be Basic, Basic/AGs, All, All/AGs or None",
                    ));
                }
            },
        };
        Ok(HostListQuery {
            hosts: HostFilter::parse(&p)?,
            details,
            truncation_limit: p
                .number("truncation_limit")?
                .unwrap_or(DEFAULT_TRUNCATION_LIMIT),
            show_tags: p.flag("show_tags", false)?,
            show_asset_id: p.flag("show_asset_id", false)?,
            echo_request: p.flag("echo_request", false)?,
        })
    }
}

/// KnowledgeBase `details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KbDetails {
    None,
    Basic,
    All,
}

/// A parsed KnowledgeBase request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbQuery {
    pub ids: Option<IdSet>,
    pub id_min: Option<u64>,
    pub id_max: Option<u64>,
    pub details: KbDetails,
    pub echo_request: bool,
}

impl KbQuery {
    pub fn parse(params: &[(String, String)]) -> Result<KbQuery, Rejection> {
        let p = Params(params);
        p.check_allowed(KNOWLEDGE_BASE_PARAMS)?;
        p.check_action()?;
        let details = match p.get("details") {
            None => KbDetails::Basic,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "none" => KbDetails::None,
                "basic" => KbDetails::Basic,
                "all" => KbDetails::All,
                _ => {
                    return Err(Rejection::invalid(
                        "details",
                        v,
                        "must be Basic, All or None",
                    ));
                }
            },
        };
        Ok(KbQuery {
            ids: p.id_set("ids")?,
            id_min: p.positive("id_min")?,
            id_max: p.positive("id_max")?,
            details,
            echo_request: p.flag("echo_request", false)?,
        })
    }

    pub fn keeps(&self, qid: u32) -> bool {
        let q = u64::from(qid);
        self.ids.as_ref().is_none_or(|s| s.contains(q))
            && self.id_min.is_none_or(|m| q >= m)
            && self.id_max.is_none_or(|m| q <= m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::engine::handler::RejectionKind;

    fn params(s: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(s.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn the_connectors_own_request_parses_with_the_documented_defaults() {
        let q = DetectionQuery::parse(&params(
            "action=list&show_tags=1&status=New,Active&truncation_limit=50&arf_kernel_filter=1&use_tags=1&tag_set_by=name&tag_include_selector=any&tag_set_include=Prod,PCI+%26+Card&tag_exclude_selector=all&tag_set_exclude=Old",
        ))
        .unwrap();
        assert!(!q.detections.show_igs, "show_igs defaults to 0");
        assert!(q.show_results, "show_results defaults to 1");
        assert_eq!(q.truncation_limit, 50);
        assert_eq!(
            q.detections.arf_kernel,
            Some(ArfKernelFilter::ExcludeNonRunningKernel)
        );
        let tags = q.hosts.tags.unwrap();
        assert_eq!(tags.by, TagSetBy::Name);
        assert_eq!(
            tags.filter.include,
            vec!["Prod".to_string(), "PCI & Card".to_string()]
        );
        assert_eq!(tags.filter.exclude_selector, TagSelector::All);
    }

    #[test]
    fn unknown_parameters_get_1901_listing_each_once() {
        let e = DetectionQuery::parse(&params("action=list&foo=1&bar=2&foo=3")).unwrap_err();
        assert_eq!(e.kind, RejectionKind::UnknownParameter);
        assert_eq!(e.text, "Unrecognized parameter(s): foo,bar");
    }

    #[test]
    fn bad_values_get_1905_in_the_recorded_wording() {
        let e = DetectionQuery::parse(&params("action=list&ids=abc123")).unwrap_err();
        assert_eq!(e.kind, RejectionKind::InvalidValue);
        assert_eq!(
            e.text,
            "parameter ids has invalid value: abc123 (neither a positive integer nor a range: abc123)"
        );
        for bad in [
            "status=Open",
            "show_igs=2",
            "arf_kernel_filter=5",
            "include_vuln_type=info",
            "truncation_limit=-1",
        ] {
            let e = DetectionQuery::parse(&params(&format!("action=list&{bad}"))).unwrap_err();
            assert_eq!(e.kind, RejectionKind::InvalidValue, "{bad}: {}", e.text);
        }
    }

    #[test]
    fn action_is_required_and_must_be_list() {
        assert_eq!(
            HostListQuery::parse(&params("details=All"))
                .unwrap_err()
                .kind,
            RejectionKind::MissingParameter
        );
        assert_eq!(
            KbQuery::parse(&params("action=purge")).unwrap_err().kind,
            RejectionKind::InvalidValue
        );
    }

    #[test]
    fn tag_sets_without_use_tags_are_refused_and_ids_must_be_numeric() {
        assert_eq!(
            HostListQuery::parse(&params("action=list&tag_set_include=Prod"))
                .unwrap_err()
                .kind,
            RejectionKind::MissingParameter
        );
        let e = HostListQuery::parse(&params("action=list&use_tags=1&tag_set_include=Prod"))
            .unwrap_err();
        assert_eq!(
            e.kind,
            RejectionKind::InvalidValue,
            "tag_set_by defaults to id: {}",
            e.text
        );
    }

    #[test]
    fn id_sets_take_lists_and_ranges() {
        let s = IdSet::parse("5,10-12").unwrap();
        assert!(s.contains(11) && s.contains(5) && !s.contains(6));
        assert!(IdSet::parse("3-1").is_err());
        let ips = IpSet::parse("192.0.2.1-192.0.2.9,198.51.100.7").unwrap();
        assert!(ips.contains(Some("192.0.2.5")) && ips.contains(Some("198.51.100.7")));
        assert!(!ips.contains(Some("192.0.2.10")) && !ips.contains(None));
    }
}
