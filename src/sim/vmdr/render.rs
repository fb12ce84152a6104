//! The VMDR renderer: Host List Detection, Host List, KnowledgeBase and about.php as Qualys XML.
//!
//! Output follows the recorded responses: XML declaration, a DOCTYPE whose system ID points at
//! the serving origin, two-space indentation, OS/DNS/NETBIOS/RESULTS/TITLE in CDATA, and the
//! CONFIDENTIAL comment after the root. Element order follows the DTDs in
//! `shared/reference/dtd` so served pages validate. Every function appends to a caller's
//! `Vec<u8>` (see [`crate::sim::xml_writer`]).

use crate::sim::tenant::{SimVuln, Tag};
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::host_source::{DetectionView, HostView, Text, TextOut, qds_band};
use crate::sim::vmdr::params::HostDetails;
use crate::sim::xml_writer::{
    cdata_into, close, end, escape_into, indent, leaf_bool, leaf_cdata, leaf_raw, leaf_text,
    leaf_time, leaf_u64, open, prologue, start,
};

/// The comment Qualys appends after every FO document.
pub fn confidential_comment(year: i32) -> String {
    format!(
        "<!-- CONFIDENTIAL AND PROPRIETARY INFORMATION. Qualys provides the QualysGuard Service \"As Is,\" without any warranty of any kind. Qualys makes no warranty that the information contained in this report is complete or error-free. Copyright {year}, Qualys, Inc. //--> \n"
    )
}

/// DTD system paths, below the origin.
pub mod dtd {
    pub const HOST_LIST_VM_DETECTION: &str =
        "/api/2.0/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd";
    pub const HOST_LIST: &str = "/api/2.0/fo/asset/host/host_list_output.dtd";
    pub const KNOWLEDGE_BASE: &str =
        "/api/2.0/fo/knowledge_base/vuln/knowledge_base_vuln_list_output.dtd";
    pub const ABOUT: &str = "/msp/about.dtd";
}

fn leaf(out: &mut Vec<u8>, depth: usize, name: &str, t: Text) {
    start(out, depth, name);
    match t.style {
        TextOut::Cdata => cdata_into(out, t.text),
        TextOut::Escape => escape_into(out, t.text),
        TextOut::PreEscaped => out.extend_from_slice(t.text.as_bytes()),
    }
    end(out, name);
}

/// The `REQUEST` block `echo_request=1` adds.
#[derive(Debug, Clone)]
pub struct Echo {
    pub datetime: Timestamp,
    pub user: String,
    pub resource: String,
    pub params: Vec<(String, String)>,
}

fn echo(out: &mut Vec<u8>, e: &Echo) {
    open(out, 1, "REQUEST");
    leaf_time(out, 2, "DATETIME", e.datetime);
    leaf_text(out, 2, "USER_LOGIN", &e.user);
    leaf_text(out, 2, "RESOURCE", &e.resource);
    if !e.params.is_empty() {
        open(out, 2, "PARAM_LIST");
        for (k, v) in &e.params {
            open(out, 3, "PARAM");
            leaf_text(out, 4, "KEY", k);
            leaf_text(out, 4, "VALUE", v);
            close(out, 3, "PARAM");
        }
        close(out, 2, "PARAM_LIST");
    }
    close(out, 1, "REQUEST");
}

/// Opens an FO list document: prologue, root, optional REQUEST, RESPONSE and DATETIME.
pub fn document_head(
    out: &mut Vec<u8>,
    root: &str,
    origin: &str,
    dtd_path: &str,
    now: Timestamp,
    e: Option<&Echo>,
) {
    prologue(out, root, origin, dtd_path);
    open(out, 0, root);
    if let Some(e) = e {
        echo(out, e);
    }
    open(out, 1, "RESPONSE");
    leaf_time(out, 2, "DATETIME", now);
}

/// The truncation WARNING: CODE 1980 and the next-page URL.
pub fn warning(out: &mut Vec<u8>, limit: u64, url: &str) {
    open(out, 2, "WARNING");
    leaf_u64(
        out,
        3,
        "CODE",
        u64::from(crate::qualys::fo::code::TRUNCATED),
    );
    leaf_text(
        out,
        3,
        "TEXT",
        &format!("{limit} record limit exceeded. Use URL to get next batch of results."),
    );
    leaf_cdata(out, 3, "URL", url);
    close(out, 2, "WARNING");
}

/// Closes RESPONSE and the root, then appends the CONFIDENTIAL comment.
pub fn document_tail(out: &mut Vec<u8>, root: &str, year: i32) {
    close(out, 1, "RESPONSE");
    close(out, 0, root);
    out.extend_from_slice(confidential_comment(year).as_bytes());
}

/// The `/msp/about.php` document.
pub fn about(origin: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(400);
    prologue(&mut out, "ABOUT", origin, dtd::ABOUT);
    out.extend_from_slice(
        b"<ABOUT>\n  <API-VERSION MAJOR=\"2\" MINOR=\"0\" />\n  <WEB-VERSION>10.20.4.0-3</WEB-VERSION>\n  <SCANNER-VERSION>12.12.36-1</SCANNER-VERSION>\n  <VULNSIGS-VERSION>2.5.617-2</VULNSIGS-VERSION>\n  <SIMULATOR>qualys-harness</SIMULATOR>\n</ABOUT>\n",
    );
    out
}

/// What a Host List Detection page shows of each host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HldShape {
    pub show_tags: bool,
    pub show_results: bool,
    pub show_asset_id: bool,
    pub show_reopened_info: bool,
    /// `AFFECT_RUNNING_KERNEL` on kernel-related detections (any `arf_kernel_filter` given).
    pub affect_running_kernel: bool,
    /// `UNIQUE_VULN_ID` (served from `/api/5.0`).
    pub unique_vuln_id: bool,
    /// `QDS` on detections that have one (`show_qds=1`).
    pub show_qds: bool,
}

/// The start of a `HOST`, `ID` to `NETWORK_ID`: the same order in both DTDs (they part ways
/// after it, OS before or after DNS).
fn host_head(out: &mut Vec<u8>, h: &HostView, show_asset_id: bool) {
    open(out, 3, "HOST");
    leaf_u64(out, 4, "ID", h.id);
    if show_asset_id && let Some(a) = h.asset_id {
        leaf_u64(out, 4, "ASSET_ID", a);
    }
    if let Some(ip) = h.ip {
        leaf_text(out, 4, "IP", ip);
    }
    if let Some(ip) = h.ipv6 {
        leaf_text(out, 4, "IPV6", ip);
    }
    leaf_text(out, 4, "TRACKING_METHOD", h.tracking_method);
    if let Some(n) = h.network_id {
        leaf_u64(out, 4, "NETWORK_ID", n);
    }
}

/// One `HOST` of a Host List Detection page.
pub fn hld_host(out: &mut Vec<u8>, h: &HostView, shape: &HldShape) {
    host_head(out, h, shape.show_asset_id);
    if let Some(os) = h.os {
        leaf_cdata(out, 4, "OS", os);
    }
    if let Some(dns) = h.dns {
        leaf_cdata(out, 4, "DNS", dns);
    }
    dns_data(out, h.fqdn);
    if let Some(nb) = h.netbios {
        leaf_cdata(out, 4, "NETBIOS", nb);
    }
    if let Some(q) = h.qg_hostid {
        leaf_text(out, 4, "QG_HOSTID", q);
    }
    if let Some(t) = h.last_scan {
        leaf_time(out, 4, "LAST_SCAN_DATETIME", t);
    }
    if let Some(t) = h.last_vm_scanned {
        leaf_time(out, 4, "LAST_VM_SCANNED_DATE", t);
    }
    if let Some(d) = h.last_vm_scanned_duration {
        leaf_u64(out, 4, "LAST_VM_SCANNED_DURATION", u64::from(d));
    }
    if let Some(t) = h.last_vm_auth_scanned {
        leaf_time(out, 4, "LAST_VM_AUTH_SCANNED_DATE", t);
    }
    if let Some(d) = h.last_vm_auth_scanned_duration {
        leaf_u64(out, 4, "LAST_VM_AUTH_SCANNED_DURATION", u64::from(d));
    }
    if shape.show_tags && !h.tags.is_empty() {
        open(out, 4, "TAGS");
        for t in &h.tags {
            hld_tag(out, t);
        }
        close(out, 4, "TAGS");
    }
    open(out, 4, "DETECTION_LIST");
    for d in &h.detections {
        detection(out, d, shape);
    }
    close(out, 4, "DETECTION_LIST");
    close(out, 3, "HOST");
}

fn dns_data(out: &mut Vec<u8>, fqdn: Option<&str>) {
    let Some(fqdn) = fqdn else { return };
    open(out, 4, "DNS_DATA");
    let (host, domain) = fqdn.split_once('.').unwrap_or((fqdn, ""));
    leaf_cdata(out, 5, "HOSTNAME", host);
    if !domain.is_empty() {
        leaf_cdata(out, 5, "DOMAIN", domain);
    }
    leaf_cdata(out, 5, "FQDN", fqdn);
    close(out, 4, "DNS_DATA");
}

fn hld_tag(out: &mut Vec<u8>, t: &Tag) {
    open(out, 5, "TAG");
    leaf_u64(out, 6, "TAG_ID", t.id);
    leaf_cdata(out, 6, "NAME", &t.name);
    if let Some(c) = &t.color {
        leaf_text(out, 6, "COLOR", c);
    }
    if let Some(c) = &t.background_color {
        leaf_text(out, 6, "BACKGROUND_COLOR", c);
    }
    close(out, 5, "TAG");
}

fn detection(out: &mut Vec<u8>, d: &DetectionView, shape: &HldShape) {
    open(out, 5, "DETECTION");
    if shape.unique_vuln_id {
        leaf_u64(out, 6, "UNIQUE_VULN_ID", d.unique_vuln_id);
    }
    leaf_u64(out, 6, "QID", u64::from(d.qid));
    leaf_raw(out, 6, "TYPE", d.kind.as_str().as_bytes());
    leaf_u64(out, 6, "SEVERITY", u64::from(d.severity));
    if let Some(p) = d.port {
        leaf_u64(out, 6, "PORT", u64::from(p));
    }
    if let Some(p) = d.protocol {
        leaf_text(out, 6, "PROTOCOL", p);
    }
    if let Some(s) = d.ssl {
        leaf_bool(out, 6, "SSL", s);
    }
    if shape.show_results
        && let Some(r) = d.results
    {
        leaf(out, 6, "RESULTS", r);
    }
    leaf_raw(out, 6, "STATUS", d.status.as_str().as_bytes());
    leaf_time(out, 6, "FIRST_FOUND_DATETIME", d.first_found);
    leaf_time(out, 6, "LAST_FOUND_DATETIME", d.last_found);
    if shape.show_qds
        && let Some(q) = d.qds
    {
        indent(out, 6);
        out.extend_from_slice(format!("<QDS severity=\"{}\">{q}</QDS>\n", qds_band(q)).as_bytes());
    }
    leaf_u64(out, 6, "TIMES_FOUND", u64::from(d.times_found));
    leaf_time(out, 6, "LAST_TEST_DATETIME", d.last_test);
    leaf_time(out, 6, "LAST_UPDATE_DATETIME", d.last_update);
    if let Some(t) = d.last_fixed {
        leaf_time(out, 6, "LAST_FIXED_DATETIME", t);
    }
    if shape.show_reopened_info
        && let Some(t) = d.last_reopened
    {
        leaf_time(out, 6, "FIRST_REOPENED_DATETIME", t);
        leaf_time(out, 6, "LAST_REOPENED_DATETIME", t);
        leaf_u64(
            out,
            6,
            "TIMES_REOPENED",
            u64::from(d.times_reopened.unwrap_or(1)),
        );
    }
    leaf_bool(out, 6, "IS_IGNORED", d.is_ignored);
    leaf_bool(out, 6, "IS_DISABLED", d.is_disabled);
    if shape.affect_running_kernel
        && let Some(running) = d.kernel
    {
        leaf_bool(out, 6, "AFFECT_RUNNING_KERNEL", running);
    }
    leaf_time(out, 6, "LAST_PROCESSED_DATETIME", d.last_processed);
    close(out, 5, "DETECTION");
}

/// What a Host List page shows of each host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostListShape {
    pub details: HostDetails,
    pub show_tags: bool,
    pub show_asset_id: bool,
    /// `SERIAL_NUMBER` with `details=All` from `/api/3.0` on (see fixtures/README.md).
    pub serial_number: bool,
    /// `ASSET_GROUP_IDS` (`details=Basic/AGs` or `All/AGs`).
    pub asset_group_ids: bool,
}

/// One `HOST` of a Host List page (`details` Basic or All); `groups` are the host's asset group
/// IDs, shown with the `/AGs` details.
pub fn host_list_host(out: &mut Vec<u8>, h: &HostView, shape: &HostListShape, groups: &[u64]) {
    host_head(out, h, shape.show_asset_id);
    if let Some(dns) = h.dns {
        leaf_cdata(out, 4, "DNS", dns);
    }
    dns_data(out, h.fqdn);
    if let Some(nb) = h.netbios {
        leaf_cdata(out, 4, "NETBIOS", nb);
    }
    if let Some(os) = h.os {
        leaf_cdata(out, 4, "OS", os);
    }
    if let Some(q) = h.qg_hostid {
        leaf_text(out, 4, "QG_HOSTID", q);
    }
    if shape.serial_number
        && let Some(s) = h.serial_number
    {
        leaf_cdata(out, 4, "SERIAL_NUMBER", s);
    }
    if shape.show_tags && !h.tags.is_empty() {
        open(out, 4, "TAGS");
        for t in &h.tags {
            open(out, 5, "TAG");
            leaf_u64(out, 6, "TAG_ID", t.id);
            leaf_cdata(out, 6, "NAME", &t.name);
            close(out, 5, "TAG");
        }
        close(out, 4, "TAGS");
    }
    if shape.details == HostDetails::All {
        if let Some(t) = h.last_scan {
            leaf_time(out, 4, "LAST_VULN_SCAN_DATETIME", t);
        }
        if let Some(t) = h.last_vm_scanned {
            leaf_time(out, 4, "LAST_VM_SCANNED_DATE", t);
        }
        if let Some(d) = h.last_vm_scanned_duration {
            leaf_u64(out, 4, "LAST_VM_SCANNED_DURATION", u64::from(d));
        }
        if let Some(t) = h.last_vm_auth_scanned {
            leaf_time(out, 4, "LAST_VM_AUTH_SCANNED_DATE", t);
        }
        if let Some(d) = h.last_vm_auth_scanned_duration {
            leaf_u64(out, 4, "LAST_VM_AUTH_SCANNED_DURATION", u64::from(d));
        }
    }
    if shape.asset_group_ids && !groups.is_empty() {
        let ids: Vec<String> = groups.iter().map(u64::to_string).collect();
        leaf_raw(out, 4, "ASSET_GROUP_IDS", ids.join(",").as_bytes());
    }
    close(out, 3, "HOST");
}

/// An `ID_SET` entry: a single ID or a run of consecutive IDs.
pub fn id_set_entry(out: &mut Vec<u8>, from: u64, to: u64) {
    if from == to {
        leaf_u64(out, 3, "ID", from);
    } else {
        leaf_raw(out, 3, "ID_RANGE", format!("{from}-{to}").as_bytes());
    }
}

/// Qualys's real-time threat indicator labels and the fixed IDs its KnowledgeBase gives them
/// (`<THREAT_INTEL id="8">No_Patch</THREAT_INTEL>`). IDs 5, 7, 8, 11, 13, 14, 15 and 18 are in
/// the recorded KnowledgeBase answer; the others follow Qualys's published list of indicators.
pub const THREAT_INTEL_IDS: &[(&str, u32)] = &[
    ("Zero_Day", 1),
    ("Exploit_Public", 2),
    ("Active_Attacks", 3),
    ("High_Lateral_Movement", 4),
    ("Easy_Exploit", 5),
    ("High_Data_Loss", 6),
    ("Denial_of_Service", 7),
    ("No_Patch", 8),
    ("Malware", 9),
    ("Exploit_Kit", 10),
    ("Wormable", 11),
    ("Predicted_High_Risk", 12),
    ("Privilege_Escalation", 13),
    ("Unauthenticated_Exploitation", 14),
    ("Remote_Code_Execution", 15),
    ("Ransomware", 16),
    ("Solorigate_Sunburst", 17),
    ("Cisa_Known_Exploited_Vulns", 18),
];

/// The ID Qualys gives a threat indicator label.
pub fn threat_intel_id(label: &str) -> Option<u32> {
    THREAT_INTEL_IDS
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(_, id)| *id)
}

/// One `VULN` of a KnowledgeBase page, for `details=Basic` (the default) and `All` alike: the
/// recorded default answer already carries DIAGNOSIS, CONSEQUENCE, SOLUTION and
/// THREAT_INTELLIGENCE, and what `All` adds beyond it is not documented. `cvss_scoring` is the
/// subscription's "CVSS Scoring" option: without it Qualys omits `CVSS` and `CVSS_V3` (the
/// recorded default answer has none).
pub fn kb_vuln(out: &mut Vec<u8>, v: &SimVuln, cvss_scoring: bool) {
    open(out, 2, "VULN");
    leaf_u64(out, 3, "QID", u64::from(v.qid));
    leaf_text(out, 3, "VULN_TYPE", &v.vuln_type);
    leaf_u64(out, 3, "SEVERITY_LEVEL", u64::from(v.severity));
    leaf_cdata(out, 3, "TITLE", &v.title);
    leaf_text(out, 3, "CATEGORY", &v.category);
    if let Some(t) = v.last_modified {
        leaf_time(out, 3, "LAST_SERVICE_MODIFICATION_DATETIME", t);
    }
    leaf_time(out, 3, "PUBLISHED_DATETIME", v.published);
    leaf_bool(out, 3, "PATCHABLE", v.patchable);
    if !v.cves.is_empty() {
        open(out, 3, "CVE_LIST");
        for c in &v.cves {
            open(out, 4, "CVE");
            leaf_cdata(out, 5, "ID", c);
            leaf_cdata(
                out,
                5,
                "URL",
                &format!("https://cve.mitre.org/cgi-bin/cvename.cgi?name={c}"),
            );
            close(out, 4, "CVE");
        }
        close(out, 3, "CVE_LIST");
    }
    if let Some(d) = &v.diagnosis {
        leaf_cdata(out, 3, "DIAGNOSIS", d);
    }
    if let Some(c) = &v.consequence {
        leaf_cdata(out, 3, "CONSEQUENCE", c);
    }
    if let Some(s) = &v.solution {
        leaf_cdata(out, 3, "SOLUTION", s);
    }
    if cvss_scoring && let Some(b) = &v.cvss_base {
        open(out, 3, "CVSS");
        leaf_text(out, 4, "BASE", b);
        close(out, 3, "CVSS");
    }
    if cvss_scoring && let Some(b) = &v.cvss3_base {
        open(out, 3, "CVSS_V3");
        leaf_text(out, 4, "BASE", b);
        close(out, 3, "CVSS_V3");
    }
    leaf_bool(out, 3, "PCI_FLAG", v.pci_flag);
    let intel: Vec<(u32, &str)> = v
        .threat_intel
        .iter()
        .filter_map(|t| threat_intel_id(t).map(|id| (id, t.as_str())))
        .collect();
    if !intel.is_empty() {
        open(out, 3, "THREAT_INTELLIGENCE");
        for (id, label) in intel {
            indent(out, 4);
            out.extend_from_slice(format!("<THREAT_INTEL id=\"{id}\">").as_bytes());
            cdata_into(out, label);
            end(out, "THREAT_INTEL");
        }
        close(out, 3, "THREAT_INTELLIGENCE");
    }
    open(out, 3, "DISCOVERY");
    leaf_bool(out, 4, "REMOTE", v.remote);
    if !v.auth_types.is_empty() {
        open(out, 4, "AUTH_TYPE_LIST");
        for a in &v.auth_types {
            leaf_text(out, 5, "AUTH_TYPE", a);
        }
        close(out, 4, "AUTH_TYPE_LIST");
    }
    close(out, 3, "DISCOVERY");
    close(out, 2, "VULN");
}
