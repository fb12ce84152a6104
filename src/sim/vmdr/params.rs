//! Request parameters: the allow-list of each endpoint and their parsing into typed queries.
//!
//! Qualys rejects a parameter it does not know with CODE 1901, a bad value (a malformed date
//! included) with CODE 1905 and two parameters that exclude each other with CODE 1904, all
//! HTTP 400 (a [`Rejection`] the FO dialect renders). The allow-lists hold every parameter the
//! research note documents for the endpoint, so a connector sending a real parameter is never
//! told it is unknown. The parameters the simulator *models* are parsed into typed filters and
//! applied: IDs, IPs, tags, statuses, types, kernels, QIDs, severities, QDS, OS pattern,
//! networks, asset groups and every date filter. The few that would change the answer but are
//! not modelled (search lists, ARF service and config filters, TruRisk, cloud metadata, ...)
//! are refused with a 1905 that says so, never silently ignored (fixtures/README.md lists them).

use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::qualys::filter::{
    ArfKernelFilter, DetectionType, StatusSet, TagFilter, TagSelector, parse_tag_list,
};

use crate::sim::engine::handler::Rejection;
use crate::sim::tenant::{SimVuln, Tag, User, VmdrData};
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::host_source::{DetectionView, HostView};

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

/// A point in time as Qualys takes it in date parameters: `YYYY-MM-DD` (midnight UTC) or
/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_date(v: &str) -> Result<Timestamp, String> {
    use time::macros::format_description;
    let t = v.trim();
    let bad = || format!("not a date in YYYY-MM-DD[THH:MM:SSZ] form: {t}");
    if t.len() == 10 {
        let d =
            time::Date::parse(t, format_description!("[year]-[month]-[day]")).map_err(|_| bad())?;
        return Ok(Timestamp(d.midnight().assume_utc().unix_timestamp()));
    }
    let dt = time::PrimitiveDateTime::parse(
        t,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    )
    .map_err(|_| bad())?;
    Ok(Timestamp(dt.assume_utc().unix_timestamp()))
}

const DAY: i64 = 86_400;

/// A window on one timestamp: from `from` (inclusive) until `until` (exclusive). Qualys's
/// `*_since` parameters are inclusive, `*_after` and `*_before` strict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl TimeRange {
    fn is_open(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    /// Narrows the window to start at `t` (inclusive).
    fn since(&mut self, t: Timestamp) {
        self.from = Some(self.from.map_or(t, |f| f.max(t)));
    }

    /// Narrows the window to start just after `t`.
    fn after(&mut self, t: Timestamp) {
        self.since(Timestamp(t.0 + 1));
    }

    /// Narrows the window to end before `t`.
    fn before(&mut self, t: Timestamp) {
        self.until = Some(self.until.map_or(t, |u| u.min(t)));
    }

    /// Whether a timestamp passes; a missing one passes only an open window.
    pub fn keeps(&self, t: Option<Timestamp>) -> bool {
        match t {
            None => self.is_open(),
            Some(t) => self.from.is_none_or(|f| t >= f) && self.until.is_none_or(|u| t < u),
        }
    }
}

impl<'a> Params<'a> {
    fn date(&self, name: &str) -> Result<Option<Timestamp>, Rejection> {
        self.get(name)
            .map(|v| parse_date(v).map_err(|r| Rejection::invalid(name, v, r)))
            .transpose()
    }

    /// `now` minus a number of days given in `name`.
    fn days_ago(&self, name: &str, now: Timestamp) -> Result<Option<Timestamp>, Rejection> {
        Ok(self
            .number(name)?
            .map(|d| Timestamp(now.0.saturating_sub((d as i64).saturating_mul(DAY)))))
    }

    /// Documented pairs that exclude each other (HTTP 400, CODE 1904).
    fn exclusive(&self, pairs: &[(&str, &str)]) -> Result<(), Rejection> {
        for (a, b) in pairs {
            if self.get(a).is_some() && self.get(b).is_some() {
                return Err(Rejection::exclusive(a, b));
            }
        }
        Ok(())
    }

    /// Parameters Qualys takes that the simulator does not model: refused when present (or,
    /// for the `flags`, when not 0), so an answer is never silently unfiltered.
    fn not_modelled(&self, present: &[&str], flags: &[&str]) -> Result<(), Rejection> {
        for name in present {
            if let Some(v) = self.get(name) {
                return Err(Rejection::not_modelled_parameter(name, v));
            }
        }
        for name in flags {
            if let Some(v) = self.get(name).filter(|v| v.trim() != "0") {
                return Err(Rejection::not_modelled_parameter(name, v));
            }
        }
        Ok(())
    }
}

/// `os_pattern`: a regular expression the host's OS must match (an empty OS is `""`).
#[derive(Debug, Clone)]
pub struct OsPattern(regex::Regex);

impl PartialEq for OsPattern {
    fn eq(&self, other: &OsPattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for OsPattern {}

impl OsPattern {
    fn parse(v: &str) -> Result<OsPattern, String> {
        if v.is_empty() {
            // Qualys: an empty value cannot be given; ^$ matches hosts without an OS.
            return Err("an empty pattern is not allowed; use ^$ to match an empty OS".into());
        }
        regex::Regex::new(v).map(OsPattern).map_err(|e| {
            format!(
                "not a regular expression the simulator can apply (Qualys takes PCRE; lookaround and backreferences are not modelled): {e}"
            )
        })
    }

    pub fn matches(&self, os: Option<&str>) -> bool {
        self.0.is_match(os.unwrap_or(""))
    }
}

/// `ag_ids` or `ag_titles` as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgSelector {
    Ids(Vec<u64>),
    Titles(Vec<String>),
}

/// Filters on hosts shared by Host List and Host List Detection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFilter {
    pub ids: Option<IdSet>,
    pub id_min: Option<u64>,
    pub id_max: Option<u64>,
    pub ips: Option<IpSet>,
    pub tags: Option<TagQuery>,
    pub os_pattern: Option<OsPattern>,
    /// `network_ids`; 0 is the default network (hosts without a NETWORK_ID).
    pub network_ids: Option<Vec<u64>>,
    /// `ag_ids` / `ag_titles` as given; [`HostFilter::bind`] resolves them.
    pub asset_groups: Option<AgSelector>,
    /// The asset group IDs a host must be in one of: the request's (`ag_ids`, `ag_titles`).
    pub in_groups: Option<Vec<u64>>,
    /// The caller's scope: the asset group IDs of their account; every host when `None`.
    pub scope: Option<Vec<u64>>,
    /// `LAST_VM_SCANNED_DATE`: `vm_scan_since`, `max_days_since_last_vm_scan`,
    /// `vm_scan_date_after`, `vm_scan_date_before`.
    pub vm_scanned: TimeRange,
    /// `no_vm_scan_since`: never scanned, or last scanned before it.
    pub not_vm_scanned_since: Option<Timestamp>,
    /// `LAST_VM_AUTH_SCANNED_DATE`: `vm_auth_scan_date_after`, `vm_auth_scan_date_before`.
    pub vm_auth_scanned: TimeRange,
    /// When the host's last scan was processed: `vm_processed_after`, `vm_processed_before`.
    pub vm_processed: TimeRange,
    /// `compliance_scan_since` or `scap_scan_since` was given: the tenant models no such scans,
    /// so no host has one.
    pub needs_compliance_scan: bool,
}

impl HostFilter {
    fn parse(p: &Params, now: Timestamp) -> Result<HostFilter, Rejection> {
        p.exclusive(&[
            ("ag_ids", "ag_titles"),
            ("vm_scan_since", "max_days_since_last_vm_scan"),
            ("no_vm_scan_since", "max_days_since_last_vm_scan"),
            ("ipv6", "ag_titles"),
            ("ipv6", "id_min"),
        ])?;
        let mut vm_scanned = TimeRange::default();
        if let Some(t) = p.date("vm_scan_since")? {
            vm_scanned.since(t);
        }
        if let Some(t) = p.days_ago("max_days_since_last_vm_scan", now)? {
            vm_scanned.since(t);
        }
        if let Some(t) = p.date("vm_scan_date_after")? {
            vm_scanned.after(t);
        }
        if let Some(t) = p.date("vm_scan_date_before")? {
            vm_scanned.before(t);
        }
        let mut vm_auth_scanned = TimeRange::default();
        if let Some(t) = p.date("vm_auth_scan_date_after")? {
            vm_auth_scanned.after(t);
        }
        if let Some(t) = p.date("vm_auth_scan_date_before")? {
            vm_auth_scanned.before(t);
        }
        let mut vm_processed = TimeRange::default();
        if let Some(t) = p.date("vm_processed_after")? {
            vm_processed.after(t);
        }
        if let Some(t) = p.date("vm_processed_before")? {
            vm_processed.before(t);
        }
        let mut needs_compliance_scan = false;
        for name in ["compliance_scan_since", "scap_scan_since"] {
            needs_compliance_scan |= p.date(name)?.is_some();
        }
        // Their "not since" twins hold for every host: none has such a scan. Parsed to reject
        // a malformed date all the same.
        for name in ["no_compliance_scan_since", "no_scap_scan_since"] {
            let _ = p.date(name)?;
        }
        let asset_groups = match (p.get("ag_ids"), p.get("ag_titles")) {
            (Some(v), _) => Some(AgSelector::Ids(
                v.split(',')
                    .map(|x| {
                        x.trim().parse::<u64>().map_err(|_| {
                            Rejection::invalid("ag_ids", v, format!("not an asset group ID: {x}"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            )),
            (None, Some(v)) => Some(AgSelector::Titles(
                parse_tag_list(v).map_err(|e| Rejection::invalid("ag_titles", v, e))?,
            )),
            (None, None) => None,
        };
        let network_ids = p
            .get("network_ids")
            .map(|v| {
                v.split(',')
                    .map(|x| {
                        x.trim().parse::<u64>().map_err(|_| {
                            Rejection::invalid("network_ids", v, format!("not a network ID: {x}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(HostFilter {
            ids: p.id_set("ids")?,
            id_min: p.positive("id_min")?,
            id_max: p.positive("id_max")?,
            ips: p
                .get("ips")
                .map(|v| IpSet::parse(v).map_err(|r| Rejection::invalid("ips", v, r)))
                .transpose()?,
            tags: TagQuery::parse(p)?,
            os_pattern: p
                .get("os_pattern")
                .map(|v| OsPattern::parse(v).map_err(|r| Rejection::invalid("os_pattern", v, r)))
                .transpose()?,
            network_ids,
            asset_groups,
            in_groups: None,
            scope: None,
            vm_scanned,
            not_vm_scanned_since: p.date("no_vm_scan_since")?,
            vm_auth_scanned,
            vm_processed,
            needs_compliance_scan,
        })
    }

    /// Resolves what needs the tenant and the caller: the asset groups of `ag_ids` /
    /// `ag_titles` (unknown ones, or ones outside the caller's scope, are refused), the
    /// networks of `network_ids` (unknown ones are refused), and the caller's own scope.
    pub fn bind(&mut self, vmdr: &VmdrData, user: &User) -> Result<(), Rejection> {
        self.scope = user.asset_groups.as_ref().map(|titles| {
            titles
                .iter()
                .filter_map(|t| vmdr.asset_groups.get(t).map(|g| g.id))
                .collect()
        });
        let visible = |id: u64| self.scope.as_ref().is_none_or(|s| s.contains(&id));
        self.in_groups = match &self.asset_groups {
            None => None,
            Some(AgSelector::Ids(ids)) => {
                for id in ids {
                    if vmdr.asset_group_by_id(*id).is_none() || !visible(*id) {
                        return Err(Rejection::invalid(
                            "ag_ids",
                            &id.to_string(),
                            "no asset group with this ID in the user's account",
                        ));
                    }
                }
                Some(ids.clone())
            }
            Some(AgSelector::Titles(titles)) => Some(
                titles
                    .iter()
                    .map(|t| match vmdr.asset_groups.get(t) {
                        Some(g) if visible(g.id) => Ok(g.id),
                        _ => Err(Rejection::invalid(
                            "ag_titles",
                            t,
                            "no asset group with this title in the user's account",
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        if let Some(bad) = self
            .network_ids
            .iter()
            .flatten()
            .find(|n| !vmdr.has_network(**n))
        {
            return Err(Rejection::invalid(
                "network_ids",
                &bad.to_string(),
                "no network with this ID in the subscription (0 is the default network)",
            ));
        }
        Ok(())
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
    pub fn keeps(&self, h: &HostView, vmdr: &VmdrData) -> bool {
        let in_any = |ids: &[u64]| {
            vmdr.groups_of(h.asset_groups, h.ip)
                .any(|g| ids.contains(&g.id))
        };
        self.id_min.is_none_or(|m| h.id >= m)
            && self.id_max.is_none_or(|m| h.id <= m)
            && self.ids.as_ref().is_none_or(|s| s.contains(h.id))
            && self.ips.as_ref().is_none_or(|s| s.contains(h.ip))
            && self.tags.as_ref().is_none_or(|t| t.keeps(&h.tags))
            && self.os_pattern.as_ref().is_none_or(|p| p.matches(h.os))
            && self
                .network_ids
                .as_ref()
                .is_none_or(|n| n.contains(&h.network_id.unwrap_or(0)))
            && self.vm_scanned.keeps(h.last_vm_scanned)
            && self
                .not_vm_scanned_since
                .is_none_or(|t| h.last_vm_scanned.is_none_or(|s| s < t))
            && self.vm_auth_scanned.keeps(h.last_vm_auth_scanned)
            && self.vm_processed.keeps(h.last_vm_processed)
            && !self.needs_compliance_scan
            && self.scope.as_deref().is_none_or(in_any)
            && self.in_groups.as_deref().is_none_or(in_any)
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
    /// `LAST_UPDATE_DATETIME`: `detection_updated_since`, `max_days_since_detection_updated`,
    /// `detection_updated_before`.
    pub updated: TimeRange,
    /// `LAST_PROCESSED_DATETIME`: `detection_processed_after`, `detection_processed_before`.
    pub processed: TimeRange,
    /// `LAST_TEST_DATETIME`: `detection_last_tested_since[_days]`,
    /// `detection_last_tested_before[_days]`.
    pub tested: TimeRange,
    /// `qds_min`, `qds_max` (1-100); detections without a QDS (information gathered) fail any.
    pub qds: Option<(u8, u8)>,
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
            updated: TimeRange::default(),
            processed: TimeRange::default(),
            tested: TimeRange::default(),
            qds: None,
        }
    }
}

impl DetectionFilter {
    /// Whether a detection passes.
    pub fn keeps(&self, d: &DetectionView) -> bool {
        let type_ok = match d.kind {
            DetectionType::Info => self.show_igs,
            other => self.vuln_type.is_none_or(|t| t == other),
        };
        type_ok
            && self.statuses.contains(d.status)
            && self.arf_kernel.is_none_or(|f| f.keeps(d.kernel))
            && self
                .qids
                .as_ref()
                .is_none_or(|s| s.contains(u64::from(d.qid)))
            && self
                .severities
                .as_ref()
                .is_none_or(|s| s.contains(u64::from(d.severity)))
            && (self.include_ignored || !d.is_ignored)
            && (self.include_disabled || !d.is_disabled)
            && self.updated.keeps(Some(d.last_update))
            && self.processed.keeps(Some(d.last_processed))
            && self.tested.keeps(Some(d.last_test))
            && self
                .qds
                .is_none_or(|(lo, hi)| d.qds.is_some_and(|q| (lo..=hi).contains(&q)))
    }

    fn parse_dates(
        p: &Params,
        now: Timestamp,
    ) -> Result<(TimeRange, TimeRange, TimeRange), Rejection> {
        let mut updated = TimeRange::default();
        if let Some(t) = p.date("detection_updated_since")? {
            updated.since(t);
        }
        if let Some(t) = p.days_ago("max_days_since_detection_updated", now)? {
            updated.since(t);
        }
        if let Some(t) = p.date("detection_updated_before")? {
            updated.before(t);
        }
        let mut processed = TimeRange::default();
        if let Some(t) = p.date("detection_processed_after")? {
            processed.after(t);
        }
        if let Some(t) = p.date("detection_processed_before")? {
            processed.before(t);
        }
        let mut tested = TimeRange::default();
        if let Some(t) = p.date("detection_last_tested_since")? {
            tested.since(t);
        }
        if let Some(t) = p.days_ago("detection_last_tested_since_days", now)? {
            tested.since(t);
        }
        if let Some(t) = p.date("detection_last_tested_before")? {
            tested.before(t);
        }
        if let Some(t) = p.days_ago("detection_last_tested_before_days", now)? {
            tested.before(t);
        }
        Ok((updated, processed, tested))
    }

    fn parse_qds(p: &Params) -> Result<Option<(u8, u8)>, Rejection> {
        let score = |name: &str| -> Result<Option<u8>, Rejection> {
            match p.number(name)? {
                None => Ok(None),
                Some(n) if (1..=100).contains(&n) => Ok(Some(n as u8)),
                Some(n) => Err(Rejection::invalid(name, &n.to_string(), "QDS is 1-100")),
            }
        };
        match (score("qds_min")?, score("qds_max")?) {
            (None, None) => Ok(None),
            (lo, hi) => {
                let (lo, hi) = (lo.unwrap_or(1), hi.unwrap_or(100));
                if lo > hi {
                    return Err(Rejection::invalid(
                        "qds_min",
                        &lo.to_string(),
                        format!("above qds_max {hi}"),
                    ));
                }
                Ok(Some((lo, hi)))
            }
        }
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
    pub show_qds: bool,
    pub echo_request: bool,
}

impl DetectionQuery {
    /// Parses a request; `now` anchors the `max_days_*` and `*_days` parameters.
    pub fn parse(params: &[(String, String)], now: Timestamp) -> Result<DetectionQuery, Rejection> {
        let p = Params(params);
        p.check_allowed(DETECTION_PARAMS)?;
        p.check_action()?;
        p.output_format()?;
        p.exclusive(&[
            ("arf_filter_keys", "arf_kernel_filter"),
            (
                "detection_updated_since",
                "max_days_since_detection_updated",
            ),
            (
                "detection_last_tested_since",
                "detection_last_tested_since_days",
            ),
            (
                "detection_last_tested_before",
                "detection_last_tested_before_days",
            ),
            ("include_search_list_ids", "include_search_list_titles"),
            ("exclude_search_list_ids", "exclude_search_list_titles"),
        ])?;
        p.not_modelled(
            &[
                "arf_service_filter",
                "arf_config_filter",
                "arf_filter_keys",
                "active_kernels_only",
                "include_search_list_ids",
                "include_search_list_titles",
                "exclude_search_list_ids",
                "exclude_search_list_titles",
                "ipv6",
                "compliance_enabled",
                "host_metadata",
                "host_metadata_fields",
                "cloud_tag_fields",
            ],
            &[
                "filter_superseded_qids",
                "show_qds_factors",
                "show_cloud_tags",
            ],
        )?;
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
        let (updated, processed, tested) = DetectionFilter::parse_dates(&p, now)?;
        Ok(DetectionQuery {
            hosts: HostFilter::parse(&p, now)?,
            detections: DetectionFilter {
                statuses,
                vuln_type,
                show_igs: p.flag("show_igs", false)?,
                arf_kernel,
                qids: p.id_set("qids")?,
                severities,
                include_ignored: p.flag("include_ignored", false)?,
                include_disabled: p.flag("include_disabled", false)?,
                updated,
                processed,
                tested,
                qds: DetectionFilter::parse_qds(&p)?,
            },
            truncation_limit: p
                .number("truncation_limit")?
                .unwrap_or(DEFAULT_TRUNCATION_LIMIT),
            show_tags: p.flag("show_tags", false)?,
            show_results: p.flag("show_results", true)?,
            show_asset_id: p.flag("show_asset_id", false)?,
            show_reopened_info: p.flag("show_reopened_info", false)?,
            show_qds: p.flag("show_qds", false)?,
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
    /// `Basic/AGs` or `All/AGs`: each host lists its `ASSET_GROUP_IDS`.
    pub show_asset_groups: bool,
    pub truncation_limit: u64,
    pub show_tags: bool,
    pub show_asset_id: bool,
    pub echo_request: bool,
}

impl HostListQuery {
    /// Parses a request; `now` anchors the `max_days_*` parameters.
    pub fn parse(params: &[(String, String)], now: Timestamp) -> Result<HostListQuery, Rejection> {
        let p = Params(params);
        p.check_allowed(HOST_LIST_PARAMS)?;
        p.check_action()?;
        p.output_format()?;
        p.not_modelled(
            &[
                "ipv6",
                "compliance_enabled",
                "ars_min",
                "ars_max",
                "trurisk_min",
                "trurisk_max",
                "host_metadata",
                "host_metadata_fields",
                "cloud_tag_fields",
            ],
            &[
                "show_ars",
                "show_ars_factors",
                "show_trurisk",
                "show_trurisk_factors",
                "show_cloud_tags",
                "os_hostname",
            ],
        )?;
        let (details, show_asset_groups) = match p.get("details") {
            None => (HostDetails::Basic, false),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "none" => (HostDetails::None, false),
                "basic" => (HostDetails::Basic, false),
                "basic/ags" => (HostDetails::Basic, true),
                "all" => (HostDetails::All, false),
                "all/ags" => (HostDetails::All, true),
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
            hosts: HostFilter::parse(&p, now)?,
            details,
            show_asset_groups,
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
    /// `is_patchable`.
    pub patchable: Option<bool>,
    /// `PUBLISHED_DATETIME`: `published_after`, `published_before`.
    pub published: TimeRange,
    /// `LAST_SERVICE_MODIFICATION_DATETIME`: `last_modified_after/before` and their
    /// `_by_service_` forms (the tenant has no user customisations).
    pub modified: TimeRange,
    pub echo_request: bool,
}

impl KbQuery {
    pub fn parse(params: &[(String, String)]) -> Result<KbQuery, Rejection> {
        let p = Params(params);
        p.check_allowed(KNOWLEDGE_BASE_PARAMS)?;
        p.check_action()?;
        p.not_modelled(
            &[
                "last_modified_by_user_after",
                "last_modified_by_user_before",
                "discovery_method",
                "discovery_auth_types",
                "code_modified_after",
                "code_modified_before",
            ],
            &[
                "show_pci_reasons",
                "show_supported_modules_info",
                "show_disabled_flag",
                "show_qid_change_log",
            ],
        )?;
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
        let mut published = TimeRange::default();
        if let Some(t) = p.date("published_after")? {
            published.after(t);
        }
        if let Some(t) = p.date("published_before")? {
            published.before(t);
        }
        let mut modified = TimeRange::default();
        for name in ["last_modified_after", "last_modified_by_service_after"] {
            if let Some(t) = p.date(name)? {
                modified.after(t);
            }
        }
        for name in ["last_modified_before", "last_modified_by_service_before"] {
            if let Some(t) = p.date(name)? {
                modified.before(t);
            }
        }
        Ok(KbQuery {
            ids: p.id_set("ids")?,
            id_min: p.positive("id_min")?,
            id_max: p.positive("id_max")?,
            details,
            patchable: match p.get("is_patchable") {
                None => None,
                Some(_) => Some(p.flag("is_patchable", false)?),
            },
            published,
            modified,
            echo_request: p.flag("echo_request", false)?,
        })
    }

    /// Whether a QID passes the ID filters (cheap: before the entry is built).
    pub fn keeps(&self, qid: u32) -> bool {
        let q = u64::from(qid);
        self.ids.as_ref().is_none_or(|s| s.contains(q))
            && self.id_min.is_none_or(|m| q >= m)
            && self.id_max.is_none_or(|m| q <= m)
    }

    /// Whether an entry passes the filters on its content.
    pub fn keeps_entry(&self, v: &SimVuln) -> bool {
        self.patchable.is_none_or(|p| v.patchable == p)
            && self.published.keeps(Some(v.published))
            && self.modified.keeps(v.last_modified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::engine::handler::RejectionKind;

    /// 2024-06-01T00:00:00Z.
    const NOW: Timestamp = Timestamp(1_717_200_000);

    fn params(s: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(s.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn the_connectors_own_request_parses_with_the_documented_defaults() {
        let q = DetectionQuery::parse(&params(
            "action=list&show_tags=1&status=New,Active&truncation_limit=50&arf_kernel_filter=1&use_tags=1&tag_set_by=name&tag_include_selector=any&tag_set_include=Prod,PCI+%26+Card&tag_exclude_selector=all&tag_set_exclude=Old",
        ), NOW)
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
        let e = DetectionQuery::parse(&params("action=list&foo=1&bar=2&foo=3"), NOW).unwrap_err();
        assert_eq!(e.kind, RejectionKind::UnknownParameter);
        assert_eq!(e.text, "Unrecognized parameter(s): foo,bar");
    }

    #[test]
    fn bad_values_get_1905_in_the_recorded_wording() {
        let e = DetectionQuery::parse(&params("action=list&ids=abc123"), NOW).unwrap_err();
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
            let e = DetectionQuery::parse(&params(&format!("action=list&{bad}")), NOW).unwrap_err();
            assert_eq!(e.kind, RejectionKind::InvalidValue, "{bad}: {}", e.text);
        }
    }

    #[test]
    fn action_is_required_and_must_be_list() {
        assert_eq!(
            HostListQuery::parse(&params("details=All"), NOW)
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
            HostListQuery::parse(&params("action=list&tag_set_include=Prod"), NOW)
                .unwrap_err()
                .kind,
            RejectionKind::MissingParameter
        );
        let e = HostListQuery::parse(&params("action=list&use_tags=1&tag_set_include=Prod"), NOW)
            .unwrap_err();
        assert_eq!(
            e.kind,
            RejectionKind::InvalidValue,
            "tag_set_by defaults to id: {}",
            e.text
        );
    }

    #[test]
    fn dates_take_a_day_or_a_utc_second_and_nothing_else() {
        assert_eq!(parse_date("2024-06-01").unwrap(), NOW);
        assert_eq!(
            parse_date("2024-06-01T00:00:10Z").unwrap(),
            Timestamp(NOW.0 + 10)
        );
        for bad in [
            "",
            "2024-6-1",
            "2024-06-01T00:00Z",
            "2024-06-01T00:00:00+02:00",
            "2024-02-30",
            "1717200000",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn since_is_inclusive_and_after_and_before_are_strict() {
        let mut r = TimeRange::default();
        assert!(r.keeps(None), "an open window keeps a host never scanned");
        r.since(NOW);
        assert!(r.keeps(Some(NOW)) && !r.keeps(Some(Timestamp(NOW.0 - 1))));
        assert!(!r.keeps(None));
        let mut r = TimeRange::default();
        r.after(NOW);
        r.before(Timestamp(NOW.0 + 10));
        assert!(!r.keeps(Some(NOW)) && r.keeps(Some(Timestamp(NOW.0 + 9))));
        assert!(!r.keeps(Some(Timestamp(NOW.0 + 10))));
        // Two bounds on one side keep the narrower.
        r.since(Timestamp(NOW.0 + 5));
        assert!(!r.keeps(Some(Timestamp(NOW.0 + 3))));
    }

    #[test]
    fn day_counts_anchor_on_now_and_os_patterns_are_regular_expressions() {
        let q = DetectionQuery::parse(
            &params("action=list&max_days_since_detection_updated=2"),
            NOW,
        )
        .unwrap();
        assert_eq!(
            q.detections.updated.from,
            Some(Timestamp(NOW.0 - 2 * 86_400))
        );
        let q = HostListQuery::parse(&params("action=list&os_pattern=%5EWindows"), NOW).unwrap();
        let p = q.hosts.os_pattern.unwrap();
        assert!(p.matches(Some("Windows 10")) && !p.matches(Some("Ubuntu Windows")));
        assert!(!p.matches(None));
        for bad in ["os_pattern=", "os_pattern=(", "os_pattern=a(%3F%3Db)"] {
            let e = HostListQuery::parse(&params(&format!("action=list&{bad}")), NOW).unwrap_err();
            assert_eq!(e.kind, RejectionKind::InvalidValue, "{bad}: {}", e.text);
        }
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
