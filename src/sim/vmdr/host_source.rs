//! The host source: the tenant's hosts in ascending ID order, listed ones first and then the
//! synthetic population, one at a time.
//!
//! Pages are rendered from [`HostView`]s: borrowed, render-ready snapshots of one host. A listed
//! host is viewed straight out of the tenant; a synthetic host is generated on demand into a
//! [`SynthScratch`] and viewed from there, so a population of millions is never materialised.

use crate::qualys::filter::{DetectionType, VulnStatus};

use crate::sim::tenant::{SimDetection, SimHost, Tag, TextStyle, VmdrData};
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
    pub tags: Vec<&'a Tag>,
    pub detections: Vec<DetectionView<'a>>,
}

/// Timestamps a listed detection falls back to when the tenant file leaves them out.
const DEFAULT_FOUND: Timestamp = Timestamp(1_704_067_200); // 2024-01-01T00:00:00Z

impl<'a> DetectionView<'a> {
    pub fn of(d: &'a SimDetection) -> DetectionView<'a> {
        let first = d.first_found.unwrap_or(DEFAULT_FOUND);
        let last = d.last_found.unwrap_or(first);
        DetectionView {
            unique_vuln_id: d.unique_vuln_id.unwrap_or(0),
            qid: d.qid,
            kind: d.kind,
            severity: d.severity.unwrap_or(3),
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
        }
    }
}

impl<'a> HostView<'a> {
    /// The host without its detections (the page adds the ones its filter keeps).
    pub fn of(h: &'a SimHost, vmdr: &'a VmdrData) -> HostView<'a> {
        HostView {
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
            last_scan: h.last_scan,
            last_vm_scanned: h.last_vm_scanned,
            last_vm_scanned_duration: h.last_vm_scanned_duration,
            last_vm_auth_scanned: h.last_vm_auth_scanned,
            last_vm_auth_scanned_duration: h.last_vm_auth_scanned_duration,
            tags: h.tags.iter().filter_map(|n| vmdr.tag(n)).collect(),
            detections: Vec::new(),
        }
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
