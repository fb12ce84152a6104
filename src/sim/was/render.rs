//! The XML of WAS answers, in the recorded layout: the `ServiceResponse` head, `WebApp` and
//! `Finding` records, in their basic (search without `verbose`) and verbose forms.
//!
//! Basic records follow the recorded searches element for element (graph-qualys
//! `iterateWebApps`, `steps` 2022). A verbose web application follows the recorded
//! get-details answer (`collect-data` 2020), plus `riskScore` after `url` (qualysdk's field
//! order) and the last scan's `launchedDate`, which no recording shows (the `lastScan.date`
//! criteria implies the date exists; the element name is the one WAS uses for scan dates). A
//! verbose finding puts the elements the Qualys documentation shows first (`group`, `cwe`,
//! `owasp`) after `findingType`, then `wasc` and `resultList`, keeps the recorded order for the
//! rest, and ends with `ignoredReason`, `fixedDate`, `detectionScore` and `cvssV3`. Names and
//! URLs are CDATA, as recorded, unless the tenant asks for escaped text.

use base64::Engine as _;

use crate::qualys::was::FindingStatus;
use crate::sim::tenant::{SimFinding, SimWebApp, TextStyle, WasData};
use crate::sim::xml_writer::{
    cdata_into, close, escape_into, leaf_cdata, leaf_raw, leaf_text, leaf_time, leaf_u64, open,
};

/// Depth of a record's element (`ServiceResponse/data/<Record>`).
const RECORD: usize = 2;

/// The XML declaration and the root start tag with its schema location, as recorded.
fn root(out: &mut Vec<u8>, origin: &str, schema: &str) {
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceResponse xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"");
    escape_into(out, origin);
    escape_into(out, schema);
    out.extend_from_slice(b"\">\n");
    leaf_raw(out, 1, "responseCode", b"SUCCESS");
}

/// The head of a search answer that has records: `count` (the records in this answer),
/// `hasMoreRecords`, `lastId` only when more follow, then `data` opened.
pub fn open_page(out: &mut Vec<u8>, origin: &str, schema: &str, count: u64, last_id: Option<u64>) {
    root(out, origin, schema);
    leaf_u64(out, 1, "count", count);
    leaf_raw(
        out,
        1,
        "hasMoreRecords",
        if last_id.is_some() { b"true" } else { b"false" },
    );
    if let Some(id) = last_id {
        leaf_u64(out, 1, "lastId", id);
    }
    open(out, 1, "data");
}

/// Closes `data` and the root (no line break after the root, as recorded).
pub fn close_page(out: &mut Vec<u8>) {
    close(out, 1, "data");
    out.extend_from_slice(b"</ServiceResponse>");
}

/// An answer with a count and nothing else: a search that matched nothing (the 2022 form) or a
/// count endpoint's answer.
pub fn count_only(origin: &str, schema: &str, count: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(400);
    root(&mut out, origin, schema);
    leaf_u64(&mut out, 1, "count", count);
    out.extend_from_slice(b"</ServiceResponse>");
    out
}

/// A get answer: `count` 1 and the record, without `hasMoreRecords` (recorded).
pub fn open_single(out: &mut Vec<u8>, origin: &str, schema: &str) {
    root(out, origin, schema);
    leaf_u64(out, 1, "count", 1);
    open(out, 1, "data");
}

fn text(out: &mut Vec<u8>, depth: usize, name: &str, value: &str, style: TextStyle) {
    match style {
        TextStyle::Cdata => leaf_cdata(out, depth, name, value),
        TextStyle::Escaped => leaf_text(out, depth, name, value),
    }
}

fn boolean(out: &mut Vec<u8>, depth: usize, name: &str, v: bool) {
    leaf_raw(out, depth, name, if v { b"true" } else { b"false" });
}

fn empty_list(out: &mut Vec<u8>, depth: usize, name: &str) {
    open(out, depth, name);
    leaf_u64(out, depth + 1, "count", 0);
    close(out, depth, name);
}

/// The tag list of a web application (`tags/list/Tag` with id and name).
fn tags(out: &mut Vec<u8>, depth: usize, names: &[String], was: &WasData) {
    open(out, depth, "tags");
    leaf_u64(out, depth + 1, "count", names.len() as u64);
    if !names.is_empty() {
        open(out, depth + 1, "list");
        for name in names {
            open(out, depth + 2, "Tag");
            leaf_u64(out, depth + 3, "id", was.tag_id(name));
            leaf_cdata(out, depth + 3, "name", name);
            close(out, depth + 2, "Tag");
        }
        close(out, depth + 1, "list");
    }
    close(out, depth, "tags");
}

/// One `WebApp`; `verbose` gives the details a get answer carries.
pub fn webapp(out: &mut Vec<u8>, w: &SimWebApp, was: &WasData, verbose: bool) {
    let d = RECORD + 1;
    open(out, RECORD, "WebApp");
    leaf_u64(out, d, "id", w.id);
    text(out, d, "name", &w.name, w.text);
    text(out, d, "url", &w.url, w.text);
    if !verbose {
        if let Some(owner) = &w.owner {
            open(out, d, "owner");
            leaf_u64(out, d + 1, "id", owner.id);
            close(out, d, "owner");
        }
        open(out, d, "tags");
        leaf_u64(out, d + 1, "count", w.tags.len() as u64);
        close(out, d, "tags");
        leaf_time(out, d, "createdDate", w.created());
        leaf_time(out, d, "updatedDate", w.updated());
        close(out, RECORD, "WebApp");
        return;
    }
    if let Some(score) = w.risk_score {
        leaf_u64(out, d, "riskScore", u64::from(score));
    }
    if let Some(os) = &w.os {
        leaf_text(out, d, "os", os);
    }
    let person = |out: &mut Vec<u8>, name: &str| {
        if let Some(o) = &w.owner {
            open(out, d, name);
            leaf_u64(out, d + 1, "id", o.id);
            leaf_text(out, d + 1, "username", &o.username);
            if let Some(f) = &o.first_name {
                leaf_cdata(out, d + 1, "firstName", f);
            }
            if let Some(l) = &o.last_name {
                leaf_cdata(out, d + 1, "lastName", l);
            }
            close(out, d, name);
        }
    };
    person(out, "owner");
    leaf_text(out, d, "scope", &w.scope);
    empty_list(out, d, "attributes");
    open(out, d, "defaultScanner");
    leaf_raw(out, d + 1, "type", b"EXTERNAL");
    close(out, d, "defaultScanner");
    boolean(out, d, "scannerLocked", false);
    for list in [
        "urlBlacklist",
        "urlWhitelist",
        "postDataBlacklist",
        "logoutRegexList",
        "authRecords",
        "dnsOverrides",
    ] {
        empty_list(out, d, list);
    }
    leaf_raw(out, d, "useRobots", b"IGNORE");
    boolean(out, d, "useSitemap", false);
    boolean(out, d, "malwareMonitoring", false);
    boolean(out, d, "malwareNotification", false);
    tags(out, d, &w.tags, was);
    empty_list(out, d, "comments");
    boolean(out, d, "isScheduled", w.is_scheduled);
    if let Some(scan) = &w.last_scan {
        open(out, d, "lastScan");
        leaf_u64(out, d + 1, "id", scan.id);
        let name = scan.name.clone().unwrap_or_else(|| {
            let date = String::from_utf8_lossy(&scan.launched.to_wire()[..10]).into_owned();
            format!("Web Application Vulnerability Scan - {} - {date}", w.name)
        });
        leaf_cdata(out, d + 1, "name", &name);
        open(out, d + 1, "summary");
        leaf_text(out, d + 2, "resultsStatus", scan.status.wire());
        leaf_text(
            out,
            d + 2,
            "authStatus",
            scan.auth_status.as_deref().unwrap_or("NONE"),
        );
        close(out, d + 1, "summary");
        leaf_time(out, d + 1, "launchedDate", scan.launched);
        close(out, d, "lastScan");
    }
    person(out, "createdBy");
    leaf_time(out, d, "createdDate", w.created());
    person(out, "updatedBy");
    leaf_time(out, d, "updatedDate", w.updated());
    empty_list(out, d, "crawlingScripts");
    close(out, RECORD, "WebApp");
}

/// OWASP Top 10 (2017) names by code.
const OWASP: [&str; 10] = [
    "Injection",
    "Broken Authentication",
    "Sensitive Data Exposure",
    "XML External Entities (XXE)",
    "Broken Access Control",
    "Security Misconfiguration",
    "Cross-Site Scripting (XSS)",
    "Insecure Deserialization",
    "Using Components with Known Vulnerabilities",
    "Insufficient Logging & Monitoring",
];

fn wasc_name(code: u32) -> String {
    match code {
        4 => "INSUFFICIENT TRANSPORT LAYER PROTECTION".into(),
        8 => "CROSS-SITE SCRIPTING".into(),
        13 => "INFORMATION LEAKAGE".into(),
        15 => "APPLICATION MISCONFIGURATION".into(),
        19 => "SQL INJECTION".into(),
        33 => "PATH TRAVERSAL".into(),
        other => format!("WASC-{other}"),
    }
}

/// The payload a finding's `resultList` shows: the tenant's, else one fitting its group.
fn payload(f: &SimFinding) -> String {
    if let Some(p) = &f.payload {
        return p.clone();
    }
    match f.group.as_deref() {
        Some("XSS") => "\"><qss a=X158290417Y1_1Z>".into(),
        Some("SQL") => "' OR '1'='1' -- ".into(),
        Some("PATH") => "../../../../etc/passwd".into(),
        Some("CC") => "4111 1111 1111 1111".into(),
        Some("SSN_US") => "078-05-1120".into(),
        _ => String::new(),
    }
}

/// One `resultList` with one result: where the finding was seen, the request that found it
/// (headers base64-encoded, as Qualys sends them) and an excerpt of the response.
pub fn result_list(
    out: &mut Vec<u8>,
    depth: usize,
    f: &SimFinding,
    app: &SimWebApp,
    response: &str,
) {
    let link = f.url.as_deref().unwrap_or(&app.url);
    let host = app
        .url
        .split("//")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("example.com");
    let headers = base64::engine::general_purpose::STANDARD.encode(format!(
        "GET {link} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 (Qualys WAS)\r\nAccept: */*\r\n"
    ));
    let d = depth;
    open(out, d, "resultList");
    leaf_u64(out, d + 1, "count", 1);
    open(out, d + 1, "list");
    open(out, d + 2, "Result");
    boolean(out, d + 3, "authentication", false);
    boolean(out, d + 3, "ajax", false);
    open(out, d + 3, "accessPath");
    leaf_u64(out, d + 4, "count", 1);
    open(out, d + 4, "list");
    leaf_cdata(out, d + 5, "Url", &app.url);
    close(out, d + 4, "list");
    close(out, d + 3, "accessPath");
    open(out, d + 3, "payloads");
    leaf_u64(out, d + 4, "count", 1);
    open(out, d + 4, "list");
    open(out, d + 5, "PayloadInstance");
    leaf_cdata(out, d + 6, "payload", &payload(f));
    open(out, d + 6, "request");
    leaf_raw(out, d + 7, "method", b"GET");
    leaf_cdata(out, d + 7, "link", link);
    leaf_cdata(out, d + 7, "headers", &headers);
    close(out, d + 6, "request");
    crate::sim::xml_writer::start(out, d + 6, "response");
    cdata_into(out, response);
    crate::sim::xml_writer::end(out, "response");
    close(out, d + 5, "PayloadInstance");
    close(out, d + 4, "list");
    close(out, d + 3, "payloads");
    close(out, d + 2, "Result");
    close(out, d + 1, "list");
    close(out, d, "resultList");
}

/// The response excerpt the demo's findings show.
pub fn demo_response(f: &SimFinding) -> String {
    format!(
        "HTTP/1.1 200 OK\nContent-Type: text/html; charset=UTF-8\n\n<html><body><div id=\"r{}\">{}</div><!-- ]]> stays text --></body></html>",
        f.id,
        payload(f)
    )
}

/// One `Finding` of `app`; `verbose` adds group, CWE, OWASP, WASC, the result list, the
/// detection score and CVSS v3. `response` is the captured response the result list shows.
pub fn finding(
    out: &mut Vec<u8>,
    f: &SimFinding,
    app: &SimWebApp,
    was: &WasData,
    verbose: bool,
    response: &str,
) {
    let d = RECORD + 1;
    let detection = f.kind.is_detection();
    open(out, RECORD, "Finding");
    leaf_u64(out, d, "id", f.id);
    leaf_text(out, d, "uniqueId", &f.unique_id());
    leaf_u64(out, d, "qid", u64::from(f.qid));
    leaf_cdata(out, d, "name", &f.name);
    leaf_raw(out, d, "type", f.kind.wire().as_bytes());
    boolean(out, d, "potential", f.potential);
    leaf_text(out, d, "findingType", &f.finding_type);
    if verbose {
        if let Some(g) = &f.group {
            leaf_text(out, d, "group", g);
        }
        if !f.cwe.is_empty() {
            open(out, d, "cwe");
            leaf_u64(out, d + 1, "count", f.cwe.len() as u64);
            open(out, d + 1, "list");
            for c in &f.cwe {
                leaf_u64(out, d + 2, "long", u64::from(*c));
            }
            close(out, d + 1, "list");
            close(out, d, "cwe");
        }
        if !f.owasp.is_empty() {
            open(out, d, "owasp");
            leaf_u64(out, d + 1, "count", f.owasp.len() as u64);
            open(out, d + 1, "list");
            for c in &f.owasp {
                open(out, d + 2, "OWASP");
                let name = (*c as usize)
                    .checked_sub(1)
                    .and_then(|i| OWASP.get(i))
                    .copied()
                    .unwrap_or("OWASP");
                leaf_cdata(out, d + 3, "name", name);
                leaf_cdata(
                    out,
                    d + 3,
                    "url",
                    &format!("https://owasp.org/www-project-top-ten/2017/A{c}_2017"),
                );
                leaf_u64(out, d + 3, "code", u64::from(*c));
                close(out, d + 2, "OWASP");
            }
            close(out, d + 1, "list");
            close(out, d, "owasp");
        }
        if !f.wasc.is_empty() {
            open(out, d, "wasc");
            leaf_u64(out, d + 1, "count", f.wasc.len() as u64);
            open(out, d + 1, "list");
            for c in &f.wasc {
                open(out, d + 2, "WASC");
                leaf_cdata(out, d + 3, "name", &wasc_name(*c));
                leaf_cdata(out, d + 3, "url", "http://projects.webappsec.org/");
                leaf_u64(out, d + 3, "code", u64::from(*c));
                close(out, d + 2, "WASC");
            }
            close(out, d + 1, "list");
            close(out, d, "wasc");
        }
        result_list(out, d, f, app, response);
    }
    if let Some(p) = &f.param {
        leaf_cdata(out, d, "param", p);
    }
    leaf_u64(out, d, "severity", u64::from(f.severity));
    if detection {
        if let Some(url) = &f.url {
            leaf_cdata(out, d, "url", url);
        }
        if let Some(s) = f.status {
            leaf_raw(out, d, "status", FindingStatus::wire(s).as_bytes());
        }
    }
    leaf_time(out, d, "firstDetectedDate", f.first_detected());
    leaf_time(out, d, "lastDetectedDate", f.last_detected());
    leaf_time(out, d, "lastTestedDate", f.last_tested());
    if detection {
        leaf_u64(
            out,
            d,
            "timesDetected",
            u64::from(f.times_detected.unwrap_or(1)),
        );
    }
    open(out, d, "webApp");
    leaf_u64(out, d + 1, "id", app.id);
    text(out, d + 1, "name", &app.name, app.text);
    text(out, d + 1, "url", &app.url, app.text);
    if verbose {
        tags(out, d + 1, &app.tags, was);
    }
    close(out, d, "webApp");
    if detection {
        boolean(out, d, "isIgnored", f.is_ignored);
    }
    if verbose {
        if let Some(r) = &f.ignored_reason {
            leaf_text(out, d, "ignoredReason", r);
        }
        if let Some(t) = f.fixed {
            leaf_time(out, d, "fixedDate", t);
        }
        if let Some(s) = f.detection_score {
            leaf_u64(out, d, "detectionScore", u64::from(s));
        }
        if let Some(base) = f.cvss3_base {
            open(out, d, "cvssV3");
            leaf_text(out, d + 1, "base", &format!("{base:.1}"));
            leaf_text(
                out,
                d + 1,
                "temporal",
                &format!("{:.1}", (base - 0.4).max(0.0)),
            );
            leaf_raw(out, d + 1, "attackVector", b"Network");
            close(out, d, "cvssV3");
        }
    }
    close(out, RECORD, "Finding");
}

/// The portal version document (`/qps/rest/portal/version`), in the recorded layout.
pub fn portal_version(origin: &str, schema: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    open_single(&mut out, origin, schema);
    open(&mut out, 2, "Portal-Version");
    for (name, version) in [
        ("PortalApplication-VERSION", "3.11.0.0-3 qharness simulator"),
        ("QWEB__VM-VERSION", "2.11.0"),
        ("WAS-VERSION", "1.1.0.0-2"),
        ("QWEB__PC-VERSION", "1.0.0-38"),
    ] {
        leaf_text(&mut out, 3, name, version);
    }
    close(&mut out, 2, "Portal-Version");
    open(&mut out, 2, "QWeb-Version");
    leaf_text(&mut out, 3, "WEB-VERSION", "10.18.2.0-2");
    close(&mut out, 2, "QWeb-Version");
    close_page(&mut out);
    out
}
