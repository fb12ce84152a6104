//! Synthetic populations: deterministic, seeded hosts generated on the fly.
//!
//! A [`SyntheticPopulation`] maps a host index to a host with detections, so the simulator can
//! serve any page of millions of hosts (and `qharness synth` can write gigabytes) without ever
//! holding more than one host. Host `i` depends only on the seed and `i`: any page, in any order,
//! always shows the same data.
//!
//! The shape follows the input of the published throughput anchors
//! (`shared/reference/perf-anchors.md`, "Input"): per host ID, ASSET_ID, IP, TRACKING_METHOD,
//! NETWORK_ID, OS, DNS, DNS_DATA, NETBIOS, QG_HOSTID, scan dates and 1-6 tags; detections per
//! host exponential with mean 50 (cap 200); per detection UNIQUE_VULN_ID, QID, TYPE, SEVERITY,
//! PORT/PROTOCOL/SSL on 45 %, RESULTS on 95 % (log-uniform 50-2000 bytes of multi-line,
//! tab-separated text, 60 % CDATA and 40 % escaped), STATUS, five datetimes, TIMES_FOUND,
//! IS_IGNORED, IS_DISABLED. About 68 KB per host and 1,360 bytes per detection.
//!
//! Speed comes from pools built once per population (RESULTS texts in both encodings, OS names,
//! tags, QIDs) and from drawing several choices from one random word; rendering is then mostly
//! copying, well above 700 MB/s per core in release builds.

use std::io::Write;
use std::sync::Arc;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::qualys::filter::{DetectionType, VulnStatus};
use crate::sim::synthetic::{SynthOptions, SynthSummary};

use crate::sim::tenant::{SimVuln, Tag};
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::host_source::{
    DetectionView, HostView, SynthScratch, Text, TextOut, default_qds,
};
use crate::sim::vmdr::params::HostDetails;
use crate::sim::vmdr::render::{self, HldShape, HostListShape, dtd};
use crate::sim::xml_writer;

/// A synthetic population as declared in a tenant file (`[synthetic]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSpec {
    /// Number of hosts.
    pub hosts: u64,
    /// Mean detections per host (exponential distribution).
    #[serde(default = "default_mean")]
    pub detections_per_host: f64,
    /// Cap on detections per host.
    #[serde(default = "default_cap")]
    pub max_detections_per_host: u32,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// ID of the first host; must be above every listed host's ID.
    #[serde(default = "default_first_id")]
    pub first_host_id: u64,
}

/// Mean detections per host of the published anchors' input.
pub const DEFAULT_MEAN: f64 = 50.0;
/// Cap on detections per host of the published anchors' input.
pub const DEFAULT_MAX_PER_HOST: u32 = 200;
/// ID of the first synthetic host.
pub const DEFAULT_FIRST_HOST_ID: u64 = 1_000_000;

fn default_mean() -> f64 {
    DEFAULT_MEAN
}
fn default_cap() -> u32 {
    DEFAULT_MAX_PER_HOST
}
fn default_seed() -> u64 {
    1
}
fn default_first_id() -> u64 {
    DEFAULT_FIRST_HOST_ID
}

impl SyntheticSpec {
    pub fn new(hosts: u64) -> SyntheticSpec {
        SyntheticSpec {
            hosts,
            detections_per_host: default_mean(),
            max_detections_per_host: default_cap(),
            seed: default_seed(),
            first_host_id: default_first_id(),
        }
    }
}

/// Host IDs advance by this much per index, with a seeded jitter below it, so IDs are sparse
/// like real ones yet the index of any ID is one division away.
const ID_STRIDE: u64 = 8;
const RESULTS_POOL: usize = 512;
const QID_POOL: usize = 2048;
/// "Now" for generated dates, so output does not depend on the clock.
const EPOCH: i64 = 1_717_200_000; // 2024-06-01T00:00:00Z
const DAY: i64 = 86_400;

#[derive(Debug, Clone)]
struct QidInfo {
    qid: u32,
    kind: DetectionType,
    severity: u8,
    kernel: bool,
    linux_only: bool,
}

#[derive(Debug, Clone)]
struct ResultsText {
    raw: String,
    escaped: String,
}

/// A seeded population of generated hosts.
#[derive(Debug)]
pub struct SyntheticPopulation {
    spec: SyntheticSpec,
    results: Vec<ResultsText>,
    qids: Vec<QidInfo>,
    tags: Vec<Tag>,
}

const LINUX_OS: &[&str] = &[
    "Ubuntu / Linux 22.04.3 LTS",
    "Ubuntu / Linux 20.04.6 LTS",
    "Red Hat Enterprise Linux 8.9",
    "Red Hat Enterprise Linux 9.3",
    "Debian GNU/Linux 12.4",
    "Amazon Linux 2023",
    "CentOS Linux 7.9.2009",
    "SUSE Linux Enterprise Server 15 SP5",
];
const WINDOWS_OS: &[&str] = &[
    "Windows Server 2019 Datacenter 64 bit Edition Version 1809 Build 17763.5329",
    "Windows Server 2022 Standard 64 bit Edition Version 21H2 Build 20348.2227",
    "Windows 10 Enterprise 64 bit Edition Version 22H2 Build 19045.3930",
    "Windows 11 Enterprise 64 bit Edition Version 23H2 Build 22631.3007",
    "Windows 2016 Datacenter 64 bit Edition Version 1607 Build 14393.6614",
];
const OTHER_OS: &[&str] = &[
    "Cisco IOS XE 17.9.4",
    "macOS 14.2.1",
    "FreeBSD 13.2-RELEASE",
    "VMware ESXi 8.0.2 build-22380479",
];
const TAG_NAMES: &[&str] = &[
    "Production",
    "Staging",
    "Dev/Test",
    "PCI & Card",
    "Finance & HR",
    "Linux Servers",
    "Windows Servers",
    "Workstations",
    "DMZ",
    "Cloud Agent",
    "AWS us-east-1",
    "Azure West Europe",
    "Internet Facing",
    "Crown Jewels",
    "Decommissioned",
    "Owner: Platform Team",
    "Owner: R&D",
    "Business Unit A",
    "Business Unit B",
    "Scanner Appliance 01",
    "Patch Tuesday",
    "Critical Assets",
    "Data Center East",
    "Data Center West",
];
const TRACKING: &[&str] = &[
    "IP", "IP", "IP", "IP", "IP", "DNS", "NETBIOS", "AGENT", "AGENT", "AGENT",
];

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Operating system families; kernel-related detections only land on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OsFamily {
    Linux,
    Windows,
    Other,
}

impl SyntheticPopulation {
    pub fn new(spec: &SyntheticSpec) -> std::result::Result<SyntheticPopulation, String> {
        if !(spec.detections_per_host > 0.0 && spec.detections_per_host.is_finite()) {
            return Err(format!(
                "synthetic.detections_per_host must be a positive number, not {}",
                spec.detections_per_host
            ));
        }
        if spec.max_detections_per_host == 0 || spec.max_detections_per_host > 255 {
            return Err("synthetic.max_detections_per_host must be 1-255".into());
        }
        if spec.first_host_id == 0 {
            return Err("synthetic.first_host_id must be positive".into());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(splitmix(spec.seed ^ 0x5EED));
        let results = (0..RESULTS_POOL).map(|_| results_text(&mut rng)).collect();
        let mut qids = Vec::with_capacity(QID_POOL);
        let mut qid = 10_000u32;
        for i in 0..QID_POOL {
            qid += rng.random_range(1..60);
            let roll = rng.random_range(0..100);
            let kind = if roll < 60 {
                DetectionType::Confirmed
            } else if roll < 85 {
                DetectionType::Potential
            } else {
                DetectionType::Info
            };
            let severity = match kind {
                DetectionType::Info => rng.random_range(1..=3),
                _ => rng.random_range(1..=5),
            };
            // One QID in eight is a Linux kernel vulnerability (Qualys's kernel QIDs are
            // confirmed or potential, never information gathered).
            let kernel = kind != DetectionType::Info && i % 8 == 3;
            qids.push(QidInfo {
                qid,
                kind,
                severity,
                kernel,
                linux_only: kernel || i % 5 == 0,
            });
        }
        let tags = TAG_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| Tag {
                id: 9_100_001 + i as u64,
                name: (*n).to_string(),
                color: Some(["#FFFFFF", "#000000", "#FF0000"][i % 3].to_string()),
                background_color: Some(
                    ["#1175AE", "#F2C12E", "#D96C06", "#2E7D32"][i % 4].to_string(),
                ),
            })
            .collect();
        Ok(SyntheticPopulation {
            spec: spec.clone(),
            results,
            qids,
            tags,
        })
    }

    pub fn spec(&self) -> &SyntheticSpec {
        &self.spec
    }

    pub fn host_count(&self) -> u64 {
        self.spec.hosts
    }

    pub fn first_host_id(&self) -> u64 {
        self.spec.first_host_id
    }

    pub fn host_id(&self, i: u64) -> u64 {
        self.spec.first_host_id
            + i * ID_STRIDE
            + splitmix(self.spec.seed ^ i.wrapping_mul(0xA24B_AED4_963E_E407)) % ID_STRIDE
    }

    /// The index of the first host whose ID is at least `id` (may equal `host_count`).
    pub fn index_from(&self, id: u64) -> u64 {
        if id <= self.spec.first_host_id {
            return 0;
        }
        let i = (id - self.spec.first_host_id) / ID_STRIDE;
        if i >= self.spec.hosts {
            return self.spec.hosts;
        }
        if self.host_id(i) < id { i + 1 } else { i }
    }

    /// Whether a host of the population is in network `id` (hosts come 762 to a network,
    /// from network 100000).
    pub fn has_network(&self, id: u64) -> bool {
        self.spec.hosts > 0 && (100_000..=100_000 + (self.spec.hosts - 1) / 762).contains(&id)
    }

    /// The tags hosts of this population carry.
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn os_family(&self, i: u64) -> OsFamily {
        match splitmix(self.spec.seed.wrapping_add(i) ^ 0x05) % 20 {
            0..=10 => OsFamily::Linux,
            11..=17 => OsFamily::Windows,
            _ => OsFamily::Other,
        }
    }

    /// Host `i` without detections; its text lives in `scratch`.
    pub fn host<'a>(&'a self, i: u64, scratch: &'a mut SynthScratch) -> HostView<'a> {
        use std::fmt::Write as _;
        let mut rng = ChaCha8Rng::seed_from_u64(splitmix(self.spec.seed) ^ splitmix(i));
        let id = self.host_id(i);
        let family = self.os_family(i);
        let r = rng.next_u64();
        let os = match family {
            OsFamily::Linux => LINUX_OS[(r % LINUX_OS.len() as u64) as usize],
            OsFamily::Windows => WINDOWS_OS[(r % WINDOWS_OS.len() as u64) as usize],
            OsFamily::Other => OTHER_OS[(r % OTHER_OS.len() as u64) as usize],
        };
        let tracking = TRACKING[((r >> 8) % TRACKING.len() as u64) as usize];
        // Documentation ranges only (RFC 5737): 762 addresses per network, NETWORK_ID tells
        // networks apart, as Qualys does for overlapping private ranges.
        let slot = i % 762;
        let net = ["192.0.2", "198.51.100", "203.0.113"][(slot / 254) as usize];
        scratch.ip.clear();
        let _ = write!(scratch.ip, "{net}.{}", slot % 254 + 1);
        let has_v6 = (r >> 16) % 5 == 0;
        scratch.ipv6.clear();
        if has_v6 {
            let _ = write!(scratch.ipv6, "2001:db8::{:x}", i + 1);
        }
        let domain = if (r >> 20) % 3 == 0 {
            "example.net"
        } else {
            "example.com"
        };
        scratch.fqdn.clear();
        let _ = write!(scratch.fqdn, "host-{i:07}.corp.{domain}");
        scratch.dns.clear();
        scratch.dns.push_str(&scratch.fqdn);
        scratch.netbios.clear();
        let _ = write!(scratch.netbios, "HOST-{i:07}");
        scratch.qg_hostid.clear();
        let is_agent = tracking == "AGENT";
        if is_agent {
            let a = rng.next_u64();
            let b = rng.next_u64();
            let _ = write!(
                scratch.qg_hostid,
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xffff,
                b >> 48,
                b & 0xffff_ffff_ffff
            );
        }
        scratch.serial.clear();
        let _ = write!(scratch.serial, "VMW-{:016X}", splitmix(i ^ self.spec.seed));
        let last_scan = EPOCH - ((r >> 24) % 30) as i64 * DAY - ((r >> 32) % DAY as u64) as i64;
        let tag_count = 1 + ((r >> 40) % 6) as usize;
        let tag_start = ((r >> 44) % self.tags.len() as u64) as usize;
        let mut tags: Vec<&Tag> = Vec::with_capacity(tag_count);
        for k in 0..tag_count {
            tags.push(&self.tags[(tag_start + k * 5) % self.tags.len()]);
        }
        let auth = family != OsFamily::Other;
        HostView {
            id,
            asset_id: Some(30_000_000 + i),
            ip: Some(&scratch.ip),
            ipv6: has_v6.then_some(scratch.ipv6.as_str()),
            tracking_method: tracking,
            network_id: Some(100_000 + i / 762),
            os: Some(os),
            dns: Some(&scratch.dns),
            fqdn: Some(&scratch.fqdn),
            netbios: (family == OsFamily::Windows).then_some(scratch.netbios.as_str()),
            qg_hostid: is_agent.then_some(scratch.qg_hostid.as_str()),
            serial_number: (family != OsFamily::Other).then_some(scratch.serial.as_str()),
            last_scan: Some(Timestamp(last_scan)),
            last_vm_scanned: Some(Timestamp(last_scan - 120)),
            last_vm_scanned_duration: Some(200 + ((r >> 50) % 1800) as u32),
            last_vm_auth_scanned: auth.then_some(Timestamp(last_scan - 120)),
            last_vm_auth_scanned_duration: auth.then_some(180 + ((r >> 54) % 1200) as u32),
            // Processed ten minutes after the scan ended.
            last_vm_processed: Some(Timestamp(last_scan - 120 + 600)),
            tags,
            asset_groups: &[],
            detections: Vec::new(),
        }
    }

    /// The detections of host `i`, appended to `view.detections`.
    pub fn fill_detections<'a>(&'a self, i: u64, view: &mut HostView<'a>) {
        let mut rng = ChaCha8Rng::seed_from_u64(splitmix(self.spec.seed ^ 0xDE7E) ^ splitmix(i));
        let linux = self.os_family(i) == OsFamily::Linux;
        let u: f64 = rng.random();
        let n = (-(1.0 - u).ln() * self.spec.detections_per_host)
            .ceil()
            .max(1.0) as u32;
        let n = n.min(self.spec.max_detections_per_host) as usize;
        // A start and an odd stride walk the QID pool without repeats (the pool size is a power
        // of two), so a host never lists a QID twice.
        let start = rng.next_u64() as usize % QID_POOL;
        let stride = (rng.next_u64() as usize % (QID_POOL / 2)) * 2 + 1;
        let host_id = view.id;
        view.detections.reserve(n);
        let mut k = 0usize;
        let mut taken = 0usize;
        while taken < n && k < QID_POOL {
            let info = &self.qids[(start + k * stride) % QID_POOL];
            k += 1;
            if info.linux_only && !linux {
                continue;
            }
            let r = rng.next_u64();
            let r2 = rng.next_u64();
            let has_port = r % 100 < 45;
            let status = match (r >> 8) % 100 {
                0..=14 => VulnStatus::New,
                15..=69 => VulnStatus::Active,
                70..=79 => VulnStatus::ReOpened,
                _ => VulnStatus::Fixed,
            };
            let results = ((r >> 16) % 100 < 95).then(|| {
                let t = &self.results[((r >> 24) as usize) % RESULTS_POOL];
                if (r >> 36) % 100 < 60 {
                    Text {
                        text: &t.raw,
                        style: TextOut::Cdata,
                    }
                } else {
                    Text {
                        text: &t.escaped,
                        style: TextOut::PreEscaped,
                    }
                }
            });
            let first = EPOCH - 30 * DAY - (r2 % (700 * DAY as u64)) as i64;
            let last = (first + ((r2 >> 32) % (300 * DAY as u64)) as i64).min(EPOCH - DAY);
            // A fixed detection was not found by the scan a day after its last finding, which
            // is also its last test; every other detection was last tested when last found.
            let fixed = (status == VulnStatus::Fixed).then_some(last + DAY);
            let tested = fixed.unwrap_or(last);
            let port = [22u16, 80, 443, 445, 3389, 8080, 8443, 1433, 3306, 5432]
                [((r >> 44) % 10) as usize];
            view.detections.push(DetectionView {
                unique_vuln_id: host_id * 256 + taken as u64,
                qid: info.qid,
                kind: info.kind,
                severity: info.severity,
                port: has_port.then_some(port),
                protocol: has_port.then_some(if port == 161 { "udp" } else { "tcp" }),
                ssl: has_port.then_some(matches!(port, 443 | 8443 | 3389)),
                results,
                status,
                first_found: Timestamp(first),
                last_found: Timestamp(last),
                times_found: 1 + ((r >> 48) % 400) as u32,
                last_test: Timestamp(tested),
                last_update: Timestamp(tested + 300),
                last_fixed: fixed.map(Timestamp),
                last_reopened: (status == VulnStatus::ReOpened)
                    .then_some(Timestamp((last - 7 * DAY).max(first))),
                times_reopened: (status == VulnStatus::ReOpened)
                    .then_some(1 + ((r >> 58) % 3) as u32),
                is_ignored: false,
                is_disabled: false,
                kernel: (info.kernel && linux).then_some((r >> 60) & 1 == 1),
                last_processed: Timestamp(tested + 600),
                qds: default_qds(info.kind, info.severity, info.qid),
            });
            taken += 1;
        }
    }

    /// Every QID the population can detect, ascending.
    pub fn qids(&self) -> impl Iterator<Item = u32> + '_ {
        self.qids.iter().map(|q| q.qid)
    }

    /// The KnowledgeBase entry of one of the population's QIDs.
    pub fn kb_entry(&self, qid: u32) -> Option<SimVuln> {
        let at = self.qids.binary_search_by_key(&qid, |q| q.qid).ok()?;
        let q = &self.qids[at];
        let h = splitmix(u64::from(qid) ^ self.spec.seed);
        let products = [
            "OpenSSL",
            "Apache HTTP Server",
            "Microsoft Windows",
            "Linux Kernel",
            "OpenSSH",
            "Google Chrome",
            "Oracle Java SE",
            "nginx",
        ];
        let product = if q.kernel {
            "Linux Kernel"
        } else {
            products[(h % products.len() as u64) as usize]
        };
        let (vuln_type, title) = match q.kind {
            DetectionType::Info => (
                "Information Gathered",
                format!("{product} Version Detected"),
            ),
            DetectionType::Potential => (
                "Potential Vulnerability",
                format!("{product} Multiple Vulnerabilities (QID {qid})"),
            ),
            DetectionType::Confirmed => (
                "Vulnerability",
                format!(
                    "{product} Security Update for CVE-{}-{:05}",
                    2019 + h % 6,
                    h % 50_000
                ),
            ),
        };
        let cves = if q.kind == DetectionType::Info {
            Vec::new()
        } else {
            (0..1 + h % 3)
                .map(|k| {
                    format!(
                        "CVE-{}-{:05}",
                        2019 + (h >> 8) % 6,
                        (h >> (12 + k * 8)) % 50_000
                    )
                })
                .collect()
        };
        Some(SimVuln {
            qid,
            vuln_type: vuln_type.into(),
            severity: q.severity,
            title,
            category: if q.kernel { "Local".into() } else { "General remote services".into() },
            published: Timestamp(EPOCH - ((h >> 20) % 2000) as i64 * DAY),
            last_modified: Some(Timestamp(EPOCH - ((h >> 30) % 100) as i64 * DAY)),
            patchable: q.kind != DetectionType::Info,
            cves,
            cvss_base: Some(format!("{}.{}", 2 + q.severity, h % 10)),
            cvss3_base: Some(format!("{}.{}", 3 + q.severity.min(4), (h >> 4) % 10)),
            diagnosis: Some(format!("{product} is affected by the issue tracked as QID {qid}.")),
            consequence: Some("Successful exploitation could compromise the confidentiality, integrity or availability of the host.".into()),
            solution: Some(format!("Apply the vendor's update for {product}.")),
            threat_intel: if q.severity >= 4 { vec!["Exploit_Public".into()] } else { Vec::new() },
            remote: !q.kernel,
            auth_types: if q.kernel { vec!["Unix".into()] } else { Vec::new() },
            pci_flag: q.severity >= 4,
        })
    }
}

/// Builds one RESULTS text: log-uniform length 50-2000 bytes of tab-separated lines in the
/// styles scanners produce, with the characters that need escaping.
fn results_text(rng: &mut ChaCha8Rng) -> ResultsText {
    let len = (50f64 * (40f64).powf(rng.random::<f64>())) as usize;
    let mut raw = String::with_capacity(len + 120);
    let header = [
        "Package\tInstalled Version\tRequired Version",
        "Path\tVersion\tFixed In",
        "Port\tService\tBanner",
        "Key\tValue",
        "HTTP response",
    ];
    raw.push_str(header[rng.random_range(0..header.len())]);
    raw.push('\n');
    while raw.len() < len {
        match rng.random_range(0..7) {
            0 => raw.push_str(&format!(
                "linux-image-5.15.0-{}-generic\t5.15.0-{}.{}\t5.15.0-{}.{}\n",
                rng.random_range(50..120),
                rng.random_range(50..100),
                rng.random_range(50..120),
                rng.random_range(100..130),
                rng.random_range(100..140)
            )),
            1 => raw.push_str(&format!(
                "C:\\Program Files\\Vendor App {}\\bin\\app.exe\t{}.{}.{}\t{}.{}.0\n",
                rng.random_range(1..9),
                rng.random_range(1..12),
                rng.random_range(0..20),
                rng.random_range(0..300),
                rng.random_range(12..20),
                rng.random_range(0..9)
            )),
            2 => raw.push_str("<title>Index of /backup & restore</title>\n"),
            3 => raw.push_str(&format!(
                "Server: Apache/2.4.{} (Unix) \"mod_ssl\" 'OpenSSL/1.1.1'\n",
                rng.random_range(29..58)
            )),
            4 => raw.push_str(&format!(
                "{}\ttcp\tTLSv1.{} with cipher suite ECDHE-RSA-AES{}-SHA\n",
                [443, 8443, 3389, 636][rng.random_range(0..4)],
                rng.random_range(0..3),
                [128, 256][rng.random_range(0..2)]
            )),
            5 => raw.push_str(&format!(
                "HKLM\\SOFTWARE\\Vendor\\Agent\tVersion\t{}.{} < {}.0\n",
                rng.random_range(1..9),
                rng.random_range(0..99),
                rng.random_range(9..12)
            )),
            _ => raw.push_str(&format!(
                "/usr/lib/x86_64-linux-gnu/libssl.so.{}\tfound\t\"vulnerable\" && patched={}\n",
                rng.random_range(1..4),
                rng.random_range(0..2)
            )),
        }
    }
    raw.truncate(len.max(50));
    let escaped = crate::sim::xml_writer::escape(&raw);
    ResultsText { raw, escaped }
}

impl SynthOptions {
    /// The population these options generate, limited to `hosts` hosts: served by a tenant, it
    /// answers with the same hosts and detections `write_detections` writes.
    pub fn population(&self, hosts: u64) -> SyntheticSpec {
        let mut spec = SyntheticSpec::new(hosts);
        spec.seed = self.seed;
        spec.detections_per_host = self.detections_per_host;
        spec.max_detections_per_host = self.max_detections_per_host;
        spec.first_host_id = self.first_host_id;
        spec
    }
}

/// `qharness synth`'s summary of a host page.
pub fn describe(s: &SynthSummary) -> String {
    format!(
        "{} hosts, {} detections ({} records), {} bytes",
        s.hosts, s.detections, s.records, s.bytes
    )
}

/// Flush threshold: big writes, bounded memory.
const FLUSH_AT: usize = 1 << 20;

/// Which host page a synthetic writer renders.
#[derive(Clone, Copy)]
enum Page {
    Detections,
    Hosts,
}

/// Writes one deterministic, DTD-valid Host List Detection page to `w`: the hosts, then a
/// truncation WARNING (CODE 1980) whose URL carries `id_min` of the next host.
pub fn write_detections(opts: &SynthOptions, w: &mut dyn Write) -> Result<SynthSummary> {
    write_host_page(opts, w, Page::Detections)
}

/// Writes one deterministic, DTD-valid Host List page (`details=All`), as
/// [`write_detections`] does.
pub fn write_hosts(opts: &SynthOptions, w: &mut dyn Write) -> Result<SynthSummary> {
    write_host_page(opts, w, Page::Hosts)
}

fn write_host_page(opts: &SynthOptions, mut w: impl Write, page: Page) -> Result<SynthSummary> {
    if opts.hosts.is_none() && opts.size.is_none() {
        return Err(Error::config(
            "synth",
            "neither a host count nor a size was given",
            "pass --hosts N or --size 200MB",
        ));
    }
    let spec = SyntheticSpec {
        hosts: opts
            .hosts
            .unwrap_or(u64::MAX / (2 * ID_STRIDE) - opts.first_host_id),
        detections_per_host: opts.detections_per_host,
        max_detections_per_host: opts.max_detections_per_host,
        seed: opts.seed,
        first_host_id: opts.first_host_id,
    };
    let pop = Arc::new(
        SyntheticPopulation::new(&spec)
            .map_err(|p| Error::config("synth", p, "check the synth options"))?,
    );
    let io = |e| Error::Io {
        action: "writing the synthetic page",
        path: None,
        source: e,
    };
    let mut sum = SynthSummary::default();
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + (1 << 18));
    let now = Timestamp(EPOCH);
    let year = 2024;
    let (root, dtd_path, path) = match page {
        Page::Detections => (
            "HOST_LIST_VM_DETECTION_OUTPUT",
            dtd::HOST_LIST_VM_DETECTION,
            crate::qualys::fo::path::HOST_DETECTION,
        ),
        Page::Hosts => (
            "HOST_LIST_OUTPUT",
            dtd::HOST_LIST,
            crate::qualys::fo::path::HOST_LIST,
        ),
    };
    render::document_head(&mut buf, root, &opts.origin, dtd_path, now, None);
    xml_writer::open(&mut buf, 2, "HOST_LIST");
    let hld = HldShape {
        show_tags: true,
        show_results: true,
        show_asset_id: true,
        show_reopened_info: false,
        affect_running_kernel: true,
        unique_vuln_id: true,
        show_qds: false,
    };
    let hl = HostListShape {
        details: HostDetails::All,
        show_tags: true,
        show_asset_id: true,
        serial_number: false,
        asset_group_ids: false,
    };
    let mut scratch = SynthScratch::default();
    let mut i = 0u64;
    while i < spec.hosts {
        if let Some(limit) = opts.size
            && sum.bytes + buf.len() as u64 >= limit
            && i > 0
        {
            break;
        }
        let mut view = pop.host(i, &mut scratch);
        match page {
            Page::Detections => {
                pop.fill_detections(i, &mut view);
                sum.detections += view.detections.len() as u64;
                sum.records += view
                    .detections
                    .iter()
                    .filter(|d| d.kind != DetectionType::Info)
                    .count() as u64;
                render::hld_host(&mut buf, &view, &hld);
            }
            Page::Hosts => {
                sum.records += 1;
                render::host_list_host(&mut buf, &view, &hl, &[]);
            }
        }
        sum.hosts += 1;
        i += 1;
        if buf.len() >= FLUSH_AT {
            w.write_all(&buf).map_err(io)?;
            sum.bytes += buf.len() as u64;
            buf.clear();
        }
    }
    xml_writer::close(&mut buf, 2, "HOST_LIST");
    let next = pop.host_id(i);
    let params = match page {
        Page::Detections => {
            "action=list&show_tags=1&show_igs=1&show_asset_id=1&arf_kernel_filter=0"
        }
        Page::Hosts => "action=list&details=All&show_tags=1&show_asset_id=1",
    };
    let url = format!(
        "{}/api/5.0{}?{params}&truncation_limit={}&id_min={next}",
        opts.origin,
        path,
        sum.hosts.max(1)
    );
    render::warning(&mut buf, sum.hosts.max(1), &url);
    render::document_tail(&mut buf, root, year);
    w.write_all(&buf).map_err(io)?;
    sum.bytes += buf.len() as u64;
    w.flush().map_err(io)?;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_index_from_inverts_them() {
        let p = SyntheticPopulation::new(&SyntheticSpec::new(1000)).unwrap();
        let mut prev = 0;
        for i in 0..1000 {
            let id = p.host_id(i);
            assert!(id > prev);
            assert_eq!(p.index_from(id), i);
            assert_eq!(
                p.index_from(prev + 1),
                i,
                "an ID between hosts starts at the next host"
            );
            prev = id;
        }
        assert_eq!(p.index_from(prev + 1), 1000);
        assert_eq!(p.index_from(1), 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
        let page = |seed| {
            let mut v = Vec::new();
            write_detections(&SynthOptions::hosts(20, seed), &mut v).unwrap();
            v
        };
        assert_eq!(page(7), page(7));
        assert_ne!(page(7), page(8));
    }

    #[test]
    fn pages_have_every_type_status_and_kernel_state_and_the_anchor_shape() {
        let mut v = Vec::new();
        let s = write_detections(&SynthOptions::hosts(300, 1), &mut v).unwrap();
        let text = String::from_utf8(v).unwrap();
        for needle in [
            "<TYPE>Confirmed</TYPE>",
            "<TYPE>Potential</TYPE>",
            "<TYPE>Info</TYPE>",
            "<STATUS>New</STATUS>",
            "<STATUS>Active</STATUS>",
            "<STATUS>Re-Opened</STATUS>",
            "<STATUS>Fixed</STATUS>",
            "<AFFECT_RUNNING_KERNEL>1</AFFECT_RUNNING_KERNEL>",
            "<AFFECT_RUNNING_KERNEL>0</AFFECT_RUNNING_KERNEL>",
            "&lt;",
            "&amp;",
            "&quot;",
            "&apos;",
            "<RESULTS><![CDATA[",
            "<CODE>1980</CODE>",
            "&id_min=",
            "PCI &amp; Card",
        ] {
            assert!(
                text.contains(needle)
                    || (needle == "PCI &amp; Card" && text.contains("PCI & Card")),
                "missing {needle}"
            );
        }
        assert_eq!(s.bytes, text.len() as u64);
        let per_det = s.bytes as f64 / s.detections as f64;
        let per_host = s.bytes as f64 / s.hosts as f64;
        assert!(
            (1200.0..1550.0).contains(&per_det),
            "{per_det} bytes per detection"
        );
        assert!(
            (55_000.0..80_000.0).contains(&per_host),
            "{per_host} bytes per host"
        );
        assert!(s.records < s.detections);
    }

    #[test]
    fn size_stops_adding_hosts_once_reached() {
        let mut opts = SynthOptions::hosts(0, 3);
        opts.hosts = None;
        opts.size = Some(2_000_000);
        let s = write_detections(&opts, &mut std::io::sink()).unwrap();
        assert!(
            s.bytes >= 2_000_000 && s.bytes < 2_000_000 + 200_000,
            "{}",
            s.bytes
        );
    }
}
