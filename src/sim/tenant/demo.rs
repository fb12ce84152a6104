//! The embedded demo tenant, generated in code from a fixed seed so every build and every call
//! serves the same data (what `qharness serve` answers with no flags).
//!
//! 240 hosts on documentation addresses; detections in all four statuses and all three types,
//! kernel-related ones on running and non-running kernels (Linux hosts only), a few ignored or
//! disabled, RESULTS in CDATA and escaped form; tags with `&` and spaces; a KnowledgeBase entry
//! for every QID used. Users, all with password `demo`:
//!
//! | login | state |
//! |---|---|
//! | `quays_ab1` | every permission |
//! | `quays_na1` | registration not completed (HTTP 409, CODE 2003) |
//! | `quays_ex1` | account expired (HTTP 200, CODE 2001) |
//! | `quays_noapi1` | no API access (HTTP 401, CODE 2000) |
//! | `quays_novm1` | lacks "Manage VM module" (HTTP 403) |
//! | `quays_nowas1` | lacks "Manage Web Applications" |
//! | `quays_nopc1` | lacks "Manage PC module" |
//! | `quays_scoped1` | every permission, scoped to the asset group "Data Center East" (120 of the 240 hosts) |
//!
//! Asset groups: "Data Center East" (every other host, from the first), "Data Center West" (the
//! rest) and "DMZ Segment" (by IP: 192.0.2.200-192.0.2.240).
//!
//! WAS (`tenant/was.rs`): 44 web applications (22 applications in production and staging; a
//! third tagged "Data Center East", so `quays_scoped1` sees those) and their findings, over
//! 1,500 of every type and status.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::qualys::Permission;
use crate::qualys::filter::{DetectionType, VulnStatus};

use crate::sim::tenant::{
    AccountState, AssetGroup, KernelState, Limits, SimDetection, SimHost, SimVuln, Tag, Tenant,
    TextStyle, User, VmdrData,
};
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::params::IpSet;

/// The demo users' password.
pub const DEMO_PASSWORD: &str = "demo";
/// Number of demo hosts.
pub const DEMO_HOSTS: usize = 240;
/// The asset group `quays_scoped1` is scoped to: every other demo host.
const EAST: &str = "Data Center East";

const SEED: u64 = 0x0051_0A15;
const NOW: i64 = 1_717_200_000; // 2024-06-01T00:00:00Z
const DAY: i64 = 86_400;

/// (QID, type, severity, kernel-related, title, CVE)
type QidRow = (
    u32,
    DetectionType,
    u8,
    bool,
    &'static str,
    Option<&'static str>,
);

const CATALOGUE: &[QidRow] = &[
    (
        38170,
        DetectionType::Confirmed,
        2,
        false,
        "SSL Certificate - Subject Common Name Does Not Match Server FQDN",
        None,
    ),
    (
        38173,
        DetectionType::Confirmed,
        2,
        false,
        "SSL Certificate - Signature Verification Failed Vulnerability",
        None,
    ),
    (
        38601,
        DetectionType::Confirmed,
        3,
        false,
        "SSL/TLS use of weak RC4(Arcfour) cipher",
        Some("CVE-2013-2566"),
    ),
    (
        38628,
        DetectionType::Confirmed,
        3,
        false,
        "SSL/TLS Server supports TLSv1.0",
        None,
    ),
    (
        38657,
        DetectionType::Potential,
        3,
        false,
        "Birthday attacks against TLS ciphers with 64bit block size (Sweet32)",
        Some("CVE-2016-2183"),
    ),
    (
        38739,
        DetectionType::Confirmed,
        2,
        false,
        "Deprecated SSH Cryptographic Settings",
        None,
    ),
    (
        38794,
        DetectionType::Confirmed,
        3,
        false,
        "Secure Sockets Layer (SSL) Protocol Version 3 Detected",
        Some("CVE-2014-3566"),
    ),
    (
        11827,
        DetectionType::Confirmed,
        4,
        false,
        "HTTP Security Header Not Detected",
        None,
    ),
    (
        86473,
        DetectionType::Potential,
        3,
        false,
        "Web Server Uses Plain-Text Form Based Authentication",
        None,
    ),
    (
        150004,
        DetectionType::Potential,
        2,
        false,
        "Path-Based Vulnerability",
        None,
    ),
    (
        90043,
        DetectionType::Confirmed,
        3,
        false,
        "SMB Signing Disabled or SMB Signing Not Required",
        None,
    ),
    (
        91850,
        DetectionType::Confirmed,
        5,
        false,
        "Microsoft Windows Security Update for January 2022",
        Some("CVE-2022-21907"),
    ),
    (
        92004,
        DetectionType::Confirmed,
        4,
        false,
        "Microsoft Windows Security Update for May 2023",
        Some("CVE-2023-29336"),
    ),
    (
        100413,
        DetectionType::Confirmed,
        4,
        false,
        "Microsoft Edge Chromium Multiple Vulnerabilities",
        Some("CVE-2023-4863"),
    ),
    (
        376187,
        DetectionType::Confirmed,
        4,
        false,
        "Oracle Java SE Critical Patch Update - April 2023",
        Some("CVE-2023-21930"),
    ),
    (
        378332,
        DetectionType::Potential,
        3,
        false,
        "OpenSSL Multiple Vulnerabilities (OpenSSL Security Advisory 20230207)",
        Some("CVE-2023-0286"),
    ),
    (
        105484,
        DetectionType::Confirmed,
        3,
        false,
        "Microsoft Windows Explorer AutoPlay Not Disabled",
        None,
    ),
    (
        45017,
        DetectionType::Info,
        2,
        false,
        "Operating System Detected",
        None,
    ),
    (6, DetectionType::Info, 1, false, "DNS Host Name", None),
    (
        82023,
        DetectionType::Info,
        1,
        false,
        "Open TCP Services List",
        None,
    ),
    (
        45038,
        DetectionType::Info,
        1,
        false,
        "Host Scan Time - Scanner",
        None,
    ),
    (
        70053,
        DetectionType::Info,
        2,
        false,
        "NetBIOS Host Name",
        None,
    ),
    (
        105943,
        DetectionType::Info,
        1,
        false,
        "Installed Applications Enumerated From Windows Installer",
        None,
    ),
    (
        45179,
        DetectionType::Info,
        1,
        false,
        "Report Qualys Host ID",
        None,
    ),
    (
        179020,
        DetectionType::Confirmed,
        4,
        true,
        "Debian Security Update for linux (DSA 5324-1)",
        Some("CVE-2022-4378"),
    ),
    (
        198752,
        DetectionType::Confirmed,
        5,
        true,
        "Ubuntu Security Notification for Linux kernel Vulnerabilities (USN-6300-1)",
        Some("CVE-2023-20593"),
    ),
    (
        241163,
        DetectionType::Confirmed,
        4,
        true,
        "Red Hat Update for kernel (RHSA-2023:1566)",
        Some("CVE-2023-0266"),
    ),
    (
        241780,
        DetectionType::Potential,
        3,
        true,
        "Red Hat Update for kernel security and bug fix (RHSA-2023:4517)",
        Some("CVE-2023-3090"),
    ),
    (
        354929,
        DetectionType::Confirmed,
        4,
        true,
        "Amazon Linux Security Advisory for kernel: ALAS2023-2023-262",
        Some("CVE-2023-4004"),
    ),
    (
        198901,
        DetectionType::Potential,
        4,
        true,
        "Ubuntu Security Notification for Linux kernel (Azure) Vulnerabilities (USN-6386-1)",
        Some("CVE-2023-4128"),
    ),
    (
        179310,
        DetectionType::Confirmed,
        3,
        false,
        "Debian Security Update for openssl (DSA 5343-1)",
        Some("CVE-2023-0215"),
    ),
    (
        198511,
        DetectionType::Confirmed,
        3,
        false,
        "Ubuntu Security Notification for OpenSSH Vulnerabilities (USN-6242-1)",
        Some("CVE-2023-38408"),
    ),
    (
        240893,
        DetectionType::Confirmed,
        4,
        false,
        "Red Hat Update for curl (RHSA-2023:0333)",
        Some("CVE-2022-43552"),
    ),
    (
        38909,
        DetectionType::Confirmed,
        5,
        false,
        "OpenSSH Pre-Authentication Double Free Vulnerability",
        Some("CVE-2023-25136"),
    ),
    (
        87523,
        DetectionType::Potential,
        2,
        false,
        "Apache HTTP Server Multiple Vulnerabilities",
        Some("CVE-2023-27522"),
    ),
];

const TAGS: &[(&str, &str)] = &[
    ("Production", "#D32F2F"),
    ("Staging", "#F57C00"),
    ("Dev/Test", "#388E3C"),
    ("PCI & Card", "#7B1FA2"),
    ("Finance & HR", "#1976D2"),
    ("Linux Servers", "#455A64"),
    ("Windows Servers", "#0288D1"),
    ("Workstations", "#5D4037"),
    ("DMZ", "#C2185B"),
    ("Cloud Agent", "#00796B"),
    ("Internet Facing", "#E64A19"),
    ("Decommissioned", "#9E9E9E"),
];

const LINUX: &[&str] = &[
    "Ubuntu / Linux 22.04.3 LTS",
    "Red Hat Enterprise Linux 8.9",
    "Debian GNU/Linux 12.4",
    "Amazon Linux 2023",
];
const WINDOWS: &[&str] = &[
    "Windows Server 2019 Datacenter 64 bit Edition Version 1809",
    "Windows Server 2022 Standard 64 bit Edition Version 21H2",
    "Windows 10 Enterprise 64 bit Edition Version 22H2",
];

fn results_for(rng: &mut ChaCha8Rng, qid: u32, kernel: bool) -> (String, TextStyle) {
    let style = if rng.random_bool(0.6) {
        TextStyle::Cdata
    } else {
        TextStyle::Escaped
    };
    let text = if kernel {
        format!(
            "Package\tInstalled Version\tRequired Version\nlinux-image-{}.{}.0-{}-generic\t{}.{}.0-{}.{}\t{}.{}.0-{}.{}",
            5,
            15,
            rng.random_range(60..90),
            5,
            15,
            rng.random_range(60..90),
            rng.random_range(60..99),
            5,
            15,
            97,
            107
        )
    } else {
        match qid % 4 {
            0 => format!(
                "Certificate #0 CN=web-{}.example.com doesn't resolve",
                rng.random_range(1..99)
            ),
            1 => format!(
                "HTTP/1.1 200 OK\nServer: Apache/2.4.{} (Unix)\n<title>Index of / & \"backup\"</title>",
                rng.random_range(40..58)
            ),
            2 => format!(
                "CIPHER\tKEY-EXCHANGE\tAUTHENTICATION\nTLSv1 WITH RC4 CIPHERs IS SUPPORTED\nRC4-SHA\tRSA\tRSA\tSHA1\tRC4({})\tMEDIUM",
                [128, 256][rng.random_range(0..2)]
            ),
            _ => {
                "C:\\Program Files\\Vendor\\app.exe  Version is  12.0.3 < 12.1 ]]> end".to_string()
            }
        }
    };
    (text, style)
}

/// Builds the demo tenant.
pub fn tenant() -> Tenant {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut tags = BTreeMap::new();
    for (i, (name, bg)) in TAGS.iter().enumerate() {
        tags.insert(
            (*name).to_string(),
            Tag {
                id: 7_100_001 + i as u64,
                name: (*name).to_string(),
                color: Some("#FFFFFF".into()),
                background_color: Some((*bg).into()),
            },
        );
    }
    let mut knowledge_base = BTreeMap::new();
    for (qid, kind, severity, kernel, title, cve) in CATALOGUE {
        let vuln_type = match kind {
            DetectionType::Confirmed => "Vulnerability",
            DetectionType::Potential => "Potential Vulnerability",
            DetectionType::Info => "Information Gathered",
        };
        knowledge_base.insert(
            *qid,
            SimVuln {
                qid: *qid,
                vuln_type: vuln_type.into(),
                severity: *severity,
                title: (*title).into(),
                category: if *kernel {
                    "Local".into()
                } else if *kind == DetectionType::Info {
                    "Information gathering".into()
                } else {
                    "General remote services".into()
                },
                published: Timestamp(NOW - i64::from(*qid % 1500) * DAY),
                last_modified: Some(Timestamp(NOW - i64::from(*qid % 90) * DAY)),
                patchable: *kind != DetectionType::Info,
                cves: cve.map(|c| vec![c.to_string()]).unwrap_or_default(),
                cvss_base: (*kind != DetectionType::Info)
                    .then(|| format!("{}.{}", 2 + severity, qid % 10)),
                cvss3_base: (*kind != DetectionType::Info)
                    .then(|| format!("{}.{}", 4 + severity.min(&5) - 1, qid % 7)),
                diagnosis: Some(format!("{title}: the host runs an affected version.")),
                consequence: (*kind != DetectionType::Info).then(|| {
                    "An attacker may gain access to sensitive information or run code.".to_string()
                }),
                solution: (*kind != DetectionType::Info).then(|| {
                    "Apply the vendor's patch; see the vendor advisory & release notes.".to_string()
                }),
                threat_intel: {
                    let mut labels: Vec<String> = match severity {
                        5 => vec![
                            "Exploit_Public".into(),
                            "Easy_Exploit".into(),
                            "Remote_Code_Execution".into(),
                        ],
                        4 => vec!["Exploit_Public".into(), "Denial_of_Service".into()],
                        _ => Vec::new(),
                    };
                    if *kernel {
                        labels.push("Privilege_Escalation".into());
                    }
                    labels
                },
                remote: !kernel,
                auth_types: if *kernel {
                    vec!["Unix".into()]
                } else {
                    Vec::new()
                },
                pci_flag: *severity >= 4,
            },
        );
    }
    let mut hosts = Vec::with_capacity(DEMO_HOSTS);
    let mut id = 100_000u64;
    for i in 0..DEMO_HOSTS {
        id += rng.random_range(1..40);
        let linux = i % 5 < 3;
        let os = if linux {
            LINUX[i % LINUX.len()]
        } else {
            WINDOWS[i % WINDOWS.len()]
        };
        let slot = i % 762;
        let net = ["192.0.2", "198.51.100", "203.0.113"][slot / 254];
        let mut h = SimHost::new(id, format!("{net}.{}", slot % 254 + 1));
        h.asset_id = Some(20_000_000 + i as u64 * 3);
        h.ipv6 = (i % 7 == 0).then(|| format!("2001:db8:10::{:x}", i + 1));
        h.tracking_method = ["IP", "IP", "DNS", "AGENT"][i % 4].to_string();
        h.os = Some(os.to_string());
        let domain = if i % 3 == 0 {
            "example.net"
        } else {
            "example.com"
        };
        h.fqdn = Some(format!(
            "{}-{i:03}.{domain}",
            if linux { "lnx" } else { "win" }
        ));
        h.dns = h.fqdn.clone();
        h.netbios = (!linux).then(|| format!("WIN-{i:03}"));
        h.qg_hostid = (h.tracking_method == "AGENT")
            .then(|| format!("4a1c{i:04x}-5b2d-4e6f-8a9b-0c1d2e3f{i:04x}"));
        h.serial_number = Some(format!("DEMO-SN-{:08}", 40_000 + i));
        let scanned = NOW - rng.random_range(0..20) * DAY;
        h.last_scan = Some(Timestamp(scanned));
        h.last_vm_scanned = Some(Timestamp(scanned - 60));
        h.last_vm_scanned_duration = Some(rng.random_range(120..1500));
        if i % 2 == 0 {
            h.last_vm_auth_scanned = Some(Timestamp(scanned - 60));
            h.last_vm_auth_scanned_duration = Some(rng.random_range(100..900));
        }
        // Environment, platform and a few cross-cutting tags; every host has at least one.
        let mut t = vec![["Production", "Staging", "Dev/Test"][i % 3]];
        t.push(if linux {
            "Linux Servers"
        } else if i % 2 == 0 {
            "Windows Servers"
        } else {
            "Workstations"
        });
        if i % 4 == 1 {
            t.push("PCI & Card");
        }
        if i % 6 == 2 {
            t.push("Finance & HR");
        }
        if i % 5 == 4 {
            t.push("DMZ");
            t.push("Internet Facing");
        }
        if h.tracking_method == "AGENT" {
            t.push("Cloud Agent");
        }
        if i % 29 == 0 {
            t.push("Decommissioned");
        }
        h.tags = t.into_iter().map(String::from).collect();
        h.asset_groups = vec![if i % 2 == 0 {
            EAST.to_string()
        } else {
            "Data Center West".to_string()
        }];
        let n = rng.random_range(2..=12);
        let mut used = Vec::new();
        while h.detections.len() < n {
            let row = &CATALOGUE[rng.random_range(0..CATALOGUE.len())];
            let (qid, kind, severity, kernel, ..) = *row;
            if used.contains(&qid) || (kernel && !linux) {
                continue;
            }
            used.push(qid);
            let status = VulnStatus::ALL[rng.random_range(0..4)];
            let mut d = SimDetection::new(qid, kind, status);
            d.severity = Some(severity);
            if qid % 3 != 0 {
                d.port = Some([443, 22, 80, 3389, 445][(qid % 5) as usize]);
                d.protocol = Some("tcp".into());
                d.ssl = Some(d.port == Some(443) || d.port == Some(3389));
            }
            if rng.random_bool(0.9) {
                let (text, style) = results_for(&mut rng, qid, kernel);
                d.results = Some(text);
                d.results_style = style;
            }
            let first = NOW - rng.random_range(30..600) * DAY;
            let last = first + rng.random_range(0..25) * DAY;
            d.first_found = Some(Timestamp(first));
            d.last_found = Some(Timestamp(last));
            d.times_found = Some(rng.random_range(1..200));
            // The scan after the last finding is when a fix was verified (LAST_FIXED), and the
            // host was tested once more since: first found <= last found < last fixed <= last
            // test. The record changed when its status did; processing follows each scan.
            // (No random draws here, so every other demo value stays as it was.)
            let (tested, updated) = if status == VulnStatus::Fixed {
                let fixed = last + DAY;
                d.last_fixed = Some(Timestamp(fixed));
                (fixed + DAY, fixed + 300)
            } else {
                (last, last + 300)
            };
            d.last_test = Some(Timestamp(tested));
            d.last_update = Some(Timestamp(updated));
            d.last_processed = Some(Timestamp(tested + 600));
            if status == VulnStatus::ReOpened {
                // Reopened inside its finding history, at most three days before the last find.
                d.last_reopened = Some(Timestamp((last - 3 * DAY).max(first)));
                d.times_reopened = Some(rng.random_range(1..4));
            }
            if kernel {
                d.kernel = Some(if rng.random_bool(0.5) {
                    KernelState::Running
                } else {
                    KernelState::NotRunning
                });
            }
            d.is_ignored = rng.random_ratio(1, 40);
            d.is_disabled = !d.is_ignored && rng.random_ratio(1, 60);
            d.unique_vuln_id = Some(id * 1000 + h.detections.len() as u64 + 1);
            h.detections.push(d);
        }
        hosts.push(h);
    }
    let user = |login: &str| User::new(login, DEMO_PASSWORD);
    let all_but = |p: Permission| {
        user("").with_permissions(
            &Permission::ALL
                .iter()
                .copied()
                .filter(|x| *x != p)
                .collect::<Vec<_>>(),
        )
    };
    let mut novm = all_but(Permission::ManageVm);
    novm.login = "quays_novm1".into();
    let mut nowas = all_but(Permission::ManageWebApplications);
    nowas.login = "quays_nowas1".into();
    let mut nopc = all_but(Permission::ManagePc);
    nopc.login = "quays_nopc1".into();
    let mut asset_groups = BTreeMap::new();
    for (id, title, ips) in [
        (3001, EAST, None),
        (3002, "Data Center West", None),
        (3003, "DMZ Segment", Some("192.0.2.200-192.0.2.240")),
    ] {
        asset_groups.insert(
            title.to_string(),
            AssetGroup {
                id,
                title: title.to_string(),
                ips: ips.map(|v| IpSet::parse(v).expect("the demo's IP range parses")),
            },
        );
    }
    let host_ids: Vec<u64> = hosts.iter().map(|h| h.id).collect();
    let vmdr = VmdrData {
        tags,
        asset_groups,
        hosts,
        knowledge_base,
        synthetic: None,
        // The demo subscription has "CVSS Scoring" on, so records show scores.
        cvss_scoring: true,
    };
    Tenant {
        name: "demo".into(),
        users: vec![
            user("quays_ab1"),
            user("quays_na1").with_state(AccountState::RegistrationIncomplete),
            user("quays_ex1").with_state(AccountState::Expired),
            user("quays_noapi1").with_state(AccountState::NoApiAccess),
            novm,
            nowas,
            nopc,
            user("quays_scoped1").with_asset_groups(&[EAST]),
        ],
        limits: Limits::default(),
        faults: Vec::new(),
        require_requested_with: false,
        clock: None,
        pc: super::pc::demo(&host_ids),
        was: super::was::demo(&vmdr),
        vmdr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_tenant_is_deterministic() {
        let (a, b) = (tenant(), tenant());
        assert_eq!(a.vmdr.hosts, b.vmdr.hosts);
        assert_eq!(a.vmdr.knowledge_base, b.vmdr.knowledge_base);
    }

    #[test]
    fn the_demo_tenant_covers_every_state_the_connector_filters_on() {
        let t = tenant();
        assert!(t.vmdr.hosts.len() >= 200);
        assert!(
            t.vmdr.hosts.windows(2).all(|w| w[0].id < w[1].id),
            "hosts sorted by ID"
        );
        let dets: Vec<&SimDetection> = t.vmdr.hosts.iter().flat_map(|h| &h.detections).collect();
        for s in VulnStatus::ALL {
            assert!(dets.iter().any(|d| d.status == s), "{s}");
        }
        for k in [
            DetectionType::Confirmed,
            DetectionType::Potential,
            DetectionType::Info,
        ] {
            assert!(dets.iter().any(|d| d.kind == k), "{k:?}");
        }
        assert!(dets.iter().any(|d| d.kernel == Some(KernelState::Running)));
        assert!(
            dets.iter()
                .any(|d| d.kernel == Some(KernelState::NotRunning))
        );
        assert!(
            dets.iter()
                .all(|d| t.vmdr.knowledge_base.contains_key(&d.qid)),
            "KB entry for every QID"
        );
        assert!(
            t.vmdr
                .hosts
                .iter()
                .any(|h| h.tags.iter().any(|n| n.contains('&') && n.contains(' ')))
        );
        assert!(dets.iter().any(|d| d.results_style == TextStyle::Escaped));
    }
}
