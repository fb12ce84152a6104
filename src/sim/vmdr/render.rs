//! The renderer: Qualys XML (and the HTML pages of the web server in front of it) written into a
//! byte buffer.
//!
//! Output follows the recorded responses: XML declaration, a DOCTYPE whose system ID points at
//! the serving origin, two-space indentation, OS/DNS/NETBIOS/RESULTS/TITLE in CDATA, and the
//! CONFIDENTIAL comment after the root. Element order follows the DTDs in
//! `shared/reference/dtd` so served pages validate. Every function appends to a caller's
//! `Vec<u8>`: a page is rendered host by host into a reused buffer that the transport sends in
//! large chunks, never as one string.

use crate::sim::tenant::{SimVuln, Tag};
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::host_source::{DetectionView, HostView, Text, TextOut};
use crate::sim::vmdr::params::{HostDetails, KbDetails};

/// The comment Qualys appends after every FO document.
pub fn confidential_comment(year: i32) -> String {
    format!(
        "<!-- CONFIDENTIAL AND PROPRIETARY INFORMATION. Qualys provides the QualysGuard Service \"As Is,\" without any warranty of any kind. Qualys makes no warranty that the information contained in this report is complete or error-free. Copyright {year}, Qualys, Inc. //--> \n"
    )
}

/// DTD system paths, below the origin.
pub mod dtd {
    pub const SIMPLE_RETURN: &str = "/api/2.0/simple_return.dtd";
    pub const HOST_LIST_VM_DETECTION: &str =
        "/api/2.0/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd";
    pub const HOST_LIST: &str = "/api/2.0/fo/asset/host/host_list_output.dtd";
    pub const KNOWLEDGE_BASE: &str =
        "/api/2.0/fo/knowledge_base/vuln/knowledge_base_vuln_list_output.dtd";
    pub const GENERIC_RETURN: &str = "/generic_return.dtd";
    pub const ABOUT: &str = "/msp/about.dtd";
}

/// Appends the XML declaration and DOCTYPE.
pub fn prologue(out: &mut Vec<u8>, root: &str, origin: &str, dtd_path: &str) {
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE ");
    out.extend_from_slice(root.as_bytes());
    out.extend_from_slice(b" SYSTEM \"");
    out.extend_from_slice(origin.as_bytes());
    out.extend_from_slice(dtd_path.as_bytes());
    out.extend_from_slice(b"\">\n");
}

fn indent(out: &mut Vec<u8>, depth: usize) {
    const SPACES: &[u8; 32] = b"                                ";
    out.extend_from_slice(&SPACES[..(depth * 2).min(32)]);
}

pub fn open(out: &mut Vec<u8>, depth: usize, name: &str) {
    indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b">\n");
}

pub fn close(out: &mut Vec<u8>, depth: usize, name: &str) {
    indent(out, depth);
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b">\n");
}

fn start(out: &mut Vec<u8>, depth: usize, name: &str) {
    indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

fn end(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b">\n");
}

/// `<NAME>value</NAME>` for text that needs no escaping (numbers, enums, dates).
pub fn leaf_raw(out: &mut Vec<u8>, depth: usize, name: &str, value: &[u8]) {
    start(out, depth, name);
    out.extend_from_slice(value);
    end(out, name);
}

pub fn leaf_u64(out: &mut Vec<u8>, depth: usize, name: &str, v: u64) {
    let mut b = itoa::Buffer::new();
    leaf_raw(out, depth, name, b.format(v).as_bytes());
}

pub fn leaf_time(out: &mut Vec<u8>, depth: usize, name: &str, t: Timestamp) {
    leaf_raw(out, depth, name, &t.to_wire());
}

pub fn leaf_bool(out: &mut Vec<u8>, depth: usize, name: &str, v: bool) {
    leaf_raw(out, depth, name, if v { b"1" } else { b"0" });
}

/// `<NAME>escaped text</NAME>`.
pub fn leaf_text(out: &mut Vec<u8>, depth: usize, name: &str, text: &str) {
    start(out, depth, name);
    escape_into(out, text);
    end(out, name);
}

/// `<NAME><![CDATA[text]]></NAME>`.
pub fn leaf_cdata(out: &mut Vec<u8>, depth: usize, name: &str, text: &str) {
    start(out, depth, name);
    cdata_into(out, text);
    end(out, name);
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

/// Writes `text` as one or more CDATA sections (a literal `]]>` is split across two).
pub fn cdata_into(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"<![CDATA[");
    let mut rest = text.as_bytes();
    while let Some(at) = memchr::memmem::find(rest, b"]]>") {
        out.extend_from_slice(&rest[..at + 2]);
        out.extend_from_slice(b"]]><![CDATA[");
        rest = &rest[at + 2..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(b"]]>");
}

/// Escapes the five XML special characters, as Qualys does in escaped RESULTS.
pub fn escape_into(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut from = 0;
    for (i, b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&apos;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        out.extend_from_slice(rep);
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

/// Escapes `text` into a new string.
pub fn escape(text: &str) -> String {
    let mut v = Vec::with_capacity(text.len() + 16);
    escape_into(&mut v, text);
    // Escaping only replaces ASCII bytes, so UTF-8 stays valid.
    String::from_utf8(v).unwrap_or_default()
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

/// A `SIMPLE_RETURN` document.
pub fn simple_return(
    origin: &str,
    now: Timestamp,
    code: Option<u32>,
    text: &str,
    items: &[(&str, String)],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    prologue(&mut out, "SIMPLE_RETURN", origin, dtd::SIMPLE_RETURN);
    open(&mut out, 0, "SIMPLE_RETURN");
    open(&mut out, 1, "RESPONSE");
    leaf_time(&mut out, 2, "DATETIME", now);
    if let Some(c) = code {
        leaf_u64(&mut out, 2, "CODE", u64::from(c));
    }
    leaf_text(&mut out, 2, "TEXT", text);
    if !items.is_empty() {
        open(&mut out, 2, "ITEM_LIST");
        for (k, v) in items {
            open(&mut out, 3, "ITEM");
            leaf_text(&mut out, 4, "KEY", k);
            leaf_text(&mut out, 4, "VALUE", v);
            close(&mut out, 3, "ITEM");
        }
        close(&mut out, 2, "ITEM_LIST");
    }
    close(&mut out, 1, "RESPONSE");
    close(&mut out, 0, "SIMPLE_RETURN");
    out
}

/// The `GENERIC_RETURN` document of an internal error (CODE 999).
pub fn generic_return_999(origin: &str, now: Timestamp, api: &str, user: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    prologue(&mut out, "GENERIC_RETURN", origin, dtd::GENERIC_RETURN);
    out.extend_from_slice(b"<GENERIC_RETURN>\n  <API name=\"");
    escape_into(&mut out, api);
    out.extend_from_slice(b"\" username=\"");
    escape_into(&mut out, user);
    out.extend_from_slice(b"\" at=\"");
    out.extend_from_slice(&now.to_wire());
    out.extend_from_slice(b"\" />\n  <RETURN status=\"FAILED\" number=\"999\">");
    escape_into(&mut out, crate::qualys::fo::code::INTERNAL_ERROR_TEXT);
    out.extend_from_slice(b"</RETURN>\n</GENERIC_RETURN>\n");
    out
}

/// The Apache page for a 301 to the path with its trailing slash. As in the recording, the link
/// in the body repeats the location.
pub fn html_moved(location: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(300);
    out.extend_from_slice(b"<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>301 Moved Permanently</title>\n</head><body>\n<h1>Moved Permanently</h1>\n<p>The document has moved <a href=\"");
    escape_into(&mut out, location);
    out.extend_from_slice(b"\">here</a>.</p>\n</body></html>\n");
    out
}

/// An Apache-style error page, as a reverse proxy in front of the API sends.
pub fn html_error(status: u16) -> Vec<u8> {
    let (title, text) = match status {
        502 => (
            "Proxy Error",
            "The proxy server received an invalid\nresponse from an upstream server.<br />\nThe proxy server could not handle the request.<p>Reason: <strong>Error reading from remote server</strong></p>",
        ),
        503 => (
            "Service Unavailable",
            "The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.",
        ),
        504 => (
            "Gateway Timeout",
            "The gateway did not receive a timely response\nfrom the upstream server or application.",
        ),
        _ => (
            "Internal Server Error",
            "The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.",
        ),
    };
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or(title);
    format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} {reason}</title>\n</head><body>\n<h1>{title}</h1>\n<p>{text}</p>\n</body></html>\n"
    )
    .into_bytes()
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
}

/// One `HOST` of a Host List page (`details` Basic or All).
pub fn host_list_host(out: &mut Vec<u8>, h: &HostView, shape: &HostListShape) {
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

/// One `VULN` of a KnowledgeBase page.
pub fn kb_vuln(out: &mut Vec<u8>, v: &SimVuln, details: KbDetails) {
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
    if let Some(b) = &v.cvss_base {
        open(out, 3, "CVSS");
        leaf_text(out, 4, "BASE", b);
        close(out, 3, "CVSS");
    }
    if let Some(b) = &v.cvss3_base {
        open(out, 3, "CVSS_V3");
        leaf_text(out, 4, "BASE", b);
        close(out, 3, "CVSS_V3");
    }
    leaf_bool(out, 3, "PCI_FLAG", v.pci_flag);
    if details == KbDetails::All && !v.threat_intel.is_empty() {
        open(out, 3, "THREAT_INTELLIGENCE");
        for (i, t) in v.threat_intel.iter().enumerate() {
            indent(out, 4);
            out.extend_from_slice(format!("<THREAT_INTEL id=\"{}\">", i + 1).as_bytes());
            cdata_into(out, t);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdata_splits_a_literal_terminator_so_the_text_survives() {
        let mut out = Vec::new();
        cdata_into(&mut out, "a]]>b");
        assert_eq!(out, b"<![CDATA[a]]]]><![CDATA[>b]]>");
    }

    #[test]
    fn escaping_covers_the_five_entities_qualys_uses() {
        assert_eq!(
            escape("<a href=\"x\">it's & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;it&apos;s &amp; co&lt;/a&gt;"
        );
    }

    #[test]
    fn simple_return_matches_the_recorded_shape() {
        let body = simple_return(
            "https://qualysapi.example.com",
            Timestamp(0),
            Some(2000),
            "Bad Login/Password",
            &[],
        );
        let s = String::from_utf8(body).unwrap();
        assert!(s.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE SIMPLE_RETURN SYSTEM \"https://qualysapi.example.com/api/2.0/simple_return.dtd\">\n<SIMPLE_RETURN>\n  <RESPONSE>\n    <DATETIME>1970-01-01T00:00:00Z</DATETIME>\n    <CODE>2000</CODE>\n    <TEXT>Bad Login/Password</TEXT>\n"), "{s}");
    }
}
