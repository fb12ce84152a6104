//! The host source: the tenant's hosts in ascending ID order, listed ones first and then the
//! synthetic population, one at a time.
//!
//! Pages are rendered from [`HostView`]s: borrowed, render-ready snapshots of one host at one
//! moment. A listed host is viewed straight out of the tenant, with the changes its detections
//! went through up to that moment applied (and not at all before it appears); a synthetic host
//! is generated on demand into a [`SynthScratch`] and viewed from there, so a population of
//! millions is never materialised.

use crate::qualys::filter::{DetectionType, VulnStatus};

use crate::sim::tenant::{DetectionChange, SimDetection, SimHost, Tag, TextStyle, VmdrData};
use crate::sim::timestamp::Timestamp;

/// Text with the way it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<'a> {
    pub text: &'a str,
    pub style: TextOut,
}

/// How [`Text`] is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOut {
    /// Inside `<![CDATA[...]]>`.
    Cdata,
    /// Escaped when written.
    Escape,
    /// Already escaped (synthetic pools escape once, not per detection).
    PreEscaped,
}

impl From<TextStyle> for TextOut {
    fn from(s: TextStyle) -> TextOut {
        match s {
            TextStyle::Cdata => TextOut::Cdata,
            TextStyle::Escaped => TextOut::Escape,
        }
    }
}

/// One detection, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionView<'a> {
    pub unique_vuln_id: u64,
    pub qid: u32,
    pub kind: DetectionType,
    pub severity: u8,
    pub port: Option<u16>,
    pub protocol: Option<&'a str>,
    pub ssl: Option<bool>,
    pub results: Option<Text<'a>>,
    pub status: VulnStatus,
    pub first_found: Timestamp,
    pub last_found: Timestamp,
    pub times_found: u32,
    pub last_test: Timestamp,
    pub last_update: Timestamp,
    pub last_fixed: Option<Timestamp>,
    pub last_reopened: Option<Timestamp>,
    pub times_reopened: Option<u32>,
    pub is_ignored: bool,
    pub is_disabled: bool,
    pub kernel: Option<bool>,
    pub last_processed: Timestamp,
    /// Qualys Detection Score (1-100); none for information gathered.
    pub qds: Option<u8>,
}

/// One host, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct HostView<'a> {
    pub id: u64,
    pub asset_id: Option<u64>,
    pub ip: Option<&'a str>,
    pub ipv6: Option<&'a str>,
    pub tracking_method: &'a str,
    pub network_id: Option<u64>,
    pub os: Option<&'a str>,
    pub dns: Option<&'a str>,
    pub fqdn: Option<&'a str>,
    pub netbios: Option<&'a str>,
    pub qg_hostid: Option<&'a str>,
    pub serial_number: Option<&'a str>,
    pub last_scan: Option<Timestamp>,
    pub last_vm_scanned: Option<Timestamp>,
    pub last_vm_scanned_duration: Option<u32>,
    pub last_vm_auth_scanned: Option<Timestamp>,
    pub last_vm_auth_scanned_duration: Option<u32>,
    /// When the last vulnerability scan was processed (`vm_processed_after/before`).
    pub last_vm_processed: Option<Timestamp>,
    pub tags: Vec<&'a Tag>,
    /// Titles of the asset groups the host lists (groups by IP are matched on `ip`).
    pub asset_groups: &'a [String],
    pub detections: Vec<DetectionView<'a>>,
}

/// Timestamps a listed detection falls back to when the tenant file leaves them out.
const DEFAULT_FOUND: Timestamp = Timestamp(1_704_067_200); // 2024-01-01T00:00:00Z

/// The QDS Qualys would give a detection of this severity: within the band of its severity
/// (5 is 90-100, 4 is 70-89, 3 is 40-69, 2 is 20-39, 1 is 1-19), placed by the QID; none for
/// information gathered. Used where a tenant does not set one.
pub fn default_qds(kind: DetectionType, severity: u8, qid: u32) -> Option<u8> {
    if kind == DetectionType::Info {
        return None;
    }
    let (lo, width) = match severity {
        5 => (90, 11),
        4 => (70, 20),
        3 => (40, 30),
        2 => (20, 20),
        _ => (1, 19),
    };
    Some(lo + (qid % width) as u8)
}

/// The QDS band Qualys names in the `severity` attribute of `QDS`.
pub fn qds_band(qds: u8) -> &'static str {
    match qds {
        90.. => "CRITICAL",
        70..=89 => "HIGH",
        40..=69 => "MEDIUM",
        _ => "LOW",
    }
}

impl<'a> DetectionView<'a> {
    /// The detection at `now`: `None` before it appears (its own `appears_at`, else its host's,
    /// `host_appears`), else its written state with every change up to `now` applied.
    pub fn at(
        d: &'a SimDetection,
        host_appears: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<DetectionView<'a>> {
        let appears = d.appears_at.or(host_appears);
        if appears.is_some_and(|a| a > now) {
            return None;
        }
        let first = d.first_found.or(appears).unwrap_or(DEFAULT_FOUND);
        let last = d.last_found.unwrap_or(first);
        let severity = d.severity.unwrap_or(3);
        let mut v = DetectionView {
            unique_vuln_id: d.unique_vuln_id.unwrap_or(0),
            qid: d.qid,
            kind: d.kind,
            severity,
            port: d.port,
            protocol: d.protocol.as_deref(),
            ssl: d.ssl,
            results: d.results.as_deref().map(|text| Text {
                text,
                style: d.results_style.into(),
            }),
            status: d.status,
            first_found: first,
            last_found: last,
            times_found: d.times_found.unwrap_or(1),
            last_test: d.last_test.unwrap_or(last),
            last_update: d.last_update.unwrap_or(last),
            last_fixed: d.last_fixed,
            last_reopened: d.last_reopened,
            times_reopened: d.times_reopened,
            is_ignored: d.is_ignored,
            is_disabled: d.is_disabled,
            kernel: d.kernel_running(),
            last_processed: d.last_processed.unwrap_or(last),
            qds: d.qds.or_else(|| default_qds(d.kind, severity, d.qid)),
        };
        for c in d.changes.iter().take_while(|c| c.at <= now) {
            v.apply(c, d.results_style);
        }
        Some(v)
    }

    /// What a scan at `c.at` did (see `tenant::vmdr` on changes over time).
    fn apply(&mut self, c: &'a DetectionChange, style: TextStyle) {
        let at = c.at;
        let found = |v: &mut DetectionView<'a>| {
            v.last_found = at;
            v.times_found += 1;
        };
        match c.status {
            Some(VulnStatus::Fixed) => {
                self.status = VulnStatus::Fixed;
                self.last_fixed = Some(at);
            }
            Some(status) => {
                found(self);
                if status == VulnStatus::ReOpened {
                    self.last_reopened = Some(at);
                    self.times_reopened = Some(self.times_reopened.unwrap_or(0) + 1);
                }
                self.status = status;
            }
            None if self.status != VulnStatus::Fixed => {
                found(self);
                if self.status == VulnStatus::New {
                    self.status = VulnStatus::Active;
                }
            }
            None => {}
        }
        self.last_test = at;
        self.last_update = at;
        self.last_processed = at;
        // Whatever the change writes down wins over what the scan implies.
        self.last_found = c.last_found.unwrap_or(self.last_found);
        self.last_test = c.last_test.unwrap_or(self.last_test);
        self.last_update = c.last_update.unwrap_or(self.last_update);
        self.last_fixed = c.last_fixed.or(self.last_fixed);
        self.last_processed = c.last_processed.unwrap_or(self.last_processed);
        self.times_found = c.times_found.unwrap_or(self.times_found);
        if let Some(text) = c.results.as_deref() {
            self.results = Some(Text {
                text,
                style: style.into(),
            });
        }
        self.severity = c.severity.unwrap_or(self.severity);
        self.qds = c.qds.or(self.qds);
        self.is_ignored = c.is_ignored.unwrap_or(self.is_ignored);
        self.is_disabled = c.is_disabled.unwrap_or(self.is_disabled);
    }
}

impl<'a> HostView<'a> {
    /// The host at `now` without its detections (the page adds the ones its filter keeps), or
    /// `None` before it appears. Its scan and processing dates move to its latest change.
    pub fn at(h: &'a SimHost, vmdr: &'a VmdrData, now: Timestamp) -> Option<HostView<'a>> {
        if h.appears_at.is_some_and(|a| a > now) {
            return None;
        }
        // The latest scan the tenant's history records up to `now`.
        let latest = h
            .detections
            .iter()
            .flat_map(|d| {
                d.appears_at
                    .into_iter()
                    .chain(d.changes.iter().map(|c| c.at))
            })
            .chain(h.appears_at)
            .filter(|t| *t <= now)
            .max();
        let last_scan = h.last_scan.max(latest);
        let last_vm_scanned = h.last_vm_scanned.max(latest);
        let last_vm_processed = h.last_vm_processed.or_else(|| {
            h.detections
                .iter()
                .filter(|d| d.appears_at.is_none_or(|a| a <= now))
                .filter_map(|d| d.last_processed)
                .chain(last_vm_scanned)
                .chain(h.last_vm_auth_scanned)
                .chain(latest)
                .max()
        });
        Some(HostView {
            id: h.id,
            asset_id: h.asset_id,
            ip: h.ip.as_deref(),
            ipv6: h.ipv6.as_deref(),
            tracking_method: &h.tracking_method,
            network_id: h.network_id,
            os: h.os.as_deref(),
            dns: h.dns.as_deref(),
            fqdn: h.fqdn.as_deref(),
            netbios: h.netbios.as_deref(),
            qg_hostid: h.qg_hostid.as_deref(),
            serial_number: h.serial_number.as_deref(),
            last_scan,
            last_vm_scanned,
            last_vm_scanned_duration: h.last_vm_scanned_duration,
            last_vm_auth_scanned: h.last_vm_auth_scanned,
            last_vm_auth_scanned_duration: h.last_vm_auth_scanned_duration,
            last_vm_processed,
            tags: h.tags.iter().filter_map(|n| vmdr.tag(n)).collect(),
            asset_groups: &h.asset_groups,
            detections: Vec::new(),
        })
    }
}

/// A position in the host source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostRef {
    /// Index into `Tenant::hosts`.
    Listed(usize),
    /// Index into the synthetic population.
    Synthetic(u64),
}

/// Walks the tenant's hosts in ID order from a starting ID.
#[derive(Debug, Clone, Copy)]
pub struct HostCursor {
    listed: usize,
    synthetic: u64,
}

impl HostCursor {
    /// The cursor at the first host whose ID is at least `id`.
    pub fn from_id(vmdr: &VmdrData, id: u64) -> HostCursor {
        HostCursor {
            listed: vmdr.host_index_from(id),
            synthetic: vmdr
                .synthetic
                .as_ref()
                .map(|s| s.index_from(id))
                .unwrap_or(0),
        }
    }

    /// The next host and its ID, without moving.
    pub fn peek(&self, vmdr: &VmdrData) -> Option<(HostRef, u64)> {
        if let Some(h) = vmdr.hosts.get(self.listed) {
            // Listed hosts all come before the synthetic population (checked at resolve time).
            return Some((HostRef::Listed(self.listed), h.id));
        }
        let s = vmdr.synthetic.as_ref()?;
        (self.synthetic < s.host_count()).then(|| {
            (
                HostRef::Synthetic(self.synthetic),
                s.host_id(self.synthetic),
            )
        })
    }

    /// Moves past the host `peek` returned.
    pub fn advance(&mut self, r: HostRef) {
        match r {
            HostRef::Listed(_) => self.listed += 1,
            HostRef::Synthetic(_) => self.synthetic += 1,
        }
    }
}

/// Reusable storage for the text of one generated host.
#[derive(Debug, Default)]
pub struct SynthScratch {
    pub ip: String,
    pub ipv6: String,
    pub dns: String,
    pub fqdn: String,
    pub netbios: String,
    pub qg_hostid: String,
    pub serial: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::tenant::{DetectionChange, SimDetection};

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn change(when: &str, status: Option<VulnStatus>) -> DetectionChange {
        DetectionChange {
            at: at(when),
            status,
            last_found: None,
            last_test: None,
            last_update: None,
            last_fixed: None,
            last_processed: None,
            times_found: None,
            results: None,
            severity: None,
            qds: None,
            is_ignored: None,
            is_disabled: None,
        }
    }

    #[test]
    fn a_detection_goes_through_its_changes_up_to_the_moment_asked() {
        let mut d = SimDetection::new(7, DetectionType::Confirmed, VulnStatus::New);
        d.first_found = Some(at("2024-01-01T00:00:00Z"));
        d.times_found = Some(1);
        d.changes = vec![
            change("2024-02-01T00:00:00Z", None),
            change("2024-03-01T00:00:00Z", Some(VulnStatus::Fixed)),
            change("2024-04-01T00:00:00Z", Some(VulnStatus::ReOpened)),
        ];
        let v = |when: &str| DetectionView::at(&d, None, at(when)).unwrap();
        let jan = v("2024-01-15T00:00:00Z");
        assert_eq!((jan.status, jan.times_found), (VulnStatus::New, 1));
        let feb = v("2024-02-15T00:00:00Z");
        assert_eq!(feb.status, VulnStatus::Active, "found again: no longer new");
        assert_eq!(
            (feb.last_found, feb.times_found),
            (at("2024-02-01T00:00:00Z"), 2)
        );
        assert_eq!(feb.last_update, at("2024-02-01T00:00:00Z"));
        let mar = v("2024-03-15T00:00:00Z");
        assert_eq!(mar.status, VulnStatus::Fixed);
        assert_eq!(mar.last_fixed, Some(at("2024-03-01T00:00:00Z")));
        assert_eq!(mar.last_found, at("2024-02-01T00:00:00Z"));
        assert_eq!(mar.last_test, at("2024-03-01T00:00:00Z"));
        let apr = v("2024-04-15T00:00:00Z");
        assert_eq!(apr.status, VulnStatus::ReOpened);
        assert_eq!(apr.last_reopened, Some(at("2024-04-01T00:00:00Z")));
        assert_eq!((apr.times_found, apr.times_reopened), (3, Some(1)));
        assert_eq!(
            apr.last_fixed,
            Some(at("2024-03-01T00:00:00Z")),
            "the fix stays history"
        );
    }

    #[test]
    fn nothing_exists_before_it_appears_and_defaults_to_its_appearance() {
        let mut d = SimDetection::new(7, DetectionType::Confirmed, VulnStatus::New);
        let host_appears = Some(at("2024-05-01T00:00:00Z"));
        assert!(DetectionView::at(&d, host_appears, at("2024-04-30T00:00:00Z")).is_none());
        let v = DetectionView::at(&d, host_appears, at("2024-05-02T00:00:00Z")).unwrap();
        assert_eq!(v.first_found, at("2024-05-01T00:00:00Z"));
        assert_eq!(v.last_processed, at("2024-05-01T00:00:00Z"));
        d.appears_at = Some(at("2024-05-10T00:00:00Z"));
        assert!(DetectionView::at(&d, host_appears, at("2024-05-02T00:00:00Z")).is_none());
    }

    #[test]
    fn qds_follows_the_severity_band_and_information_gathered_has_none() {
        for qid in [1, 38170, 99_999] {
            assert!((90..=100).contains(&default_qds(DetectionType::Confirmed, 5, qid).unwrap()));
            assert!((70..=89).contains(&default_qds(DetectionType::Potential, 4, qid).unwrap()));
            assert!((1..=19).contains(&default_qds(DetectionType::Confirmed, 1, qid).unwrap()));
            assert_eq!(default_qds(DetectionType::Info, 3, qid), None);
        }
        assert_eq!(
            (qds_band(95), qds_band(75), qds_band(45), qds_band(5)),
            ("CRITICAL", "HIGH", "MEDIUM", "LOW")
        );
    }
}
