//! The WAS test kit: POSTing `ServiceRequest` bodies to the simulator, reading `ServiceResponse`
//! answers back, and validating them against the saved `webapp.xsd` (skipped, saying so,
//! without xmllint or ../shared).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use qualys_harness::sim::RunningSimulator;

use crate::helpers::*;

pub const WEBAPP_SEARCH: &str = "/qps/rest/3.0/search/was/webapp";
pub const FINDING_SEARCH: &str = "/qps/rest/3.0/search/was/finding";
pub const WEBAPP_COUNT: &str = "/qps/rest/3.0/count/was/webapp";
pub const FINDING_COUNT: &str = "/qps/rest/3.0/count/was/finding";

/// POSTs a `ServiceRequest` as `user` with `text/xml`, as the connector does.
pub async fn qps_as(
    sim: &RunningSimulator,
    path: &str,
    user: &str,
    password: &str,
    body: &str,
) -> reqwest::Response {
    client()
        .post(sim.url(path))
        .basic_auth(user, Some(password))
        .header("Content-Type", "text/xml")
        .body(body.to_string())
        .send()
        .await
        .expect("the simulator answers")
}

pub async fn qps(sim: &RunningSimulator, path: &str, body: &str) -> String {
    let r = qps_as(sim, path, USER, DEMO_PASSWORD, body).await;
    assert_eq!(r.status(), 200, "{path}");
    text(r).await
}

/// A `ServiceRequest` with these preferences and `(field, operator, value)` criteria.
pub fn service_request(preferences: &[(&str, &str)], criteria: &[(&str, &str, &str)]) -> String {
    let mut s = String::from("<ServiceRequest>");
    if !preferences.is_empty() {
        s.push_str("<preferences>");
        for (k, v) in preferences {
            s.push_str(&format!("<{k}>{v}</{k}>"));
        }
        s.push_str("</preferences>");
    }
    if !criteria.is_empty() {
        s.push_str("<filters>");
        for (f, o, v) in criteria {
            s.push_str(&format!(
                "<Criteria field=\"{f}\" operator=\"{o}\">{}</Criteria>",
                encode_text(v)
            ));
        }
        s.push_str("</filters>");
    }
    s.push_str("</ServiceRequest>");
    s
}

fn encode_text(v: &str) -> String {
    v.replace('&', "&amp;").replace('<', "&lt;")
}

/// The head and record ids of a `ServiceResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct QpsAnswer {
    pub code: String,
    pub message: Option<String>,
    pub resolution: Option<String>,
    pub count: Option<u64>,
    pub has_more: Option<String>,
    pub last_id: Option<u64>,
    /// `id` of every record under `data` (the portal version's data has none).
    pub ids: Vec<u64>,
    pub root: Node,
}

pub fn read_qps(xml: &str) -> QpsAnswer {
    let root = parse(xml);
    assert_eq!(root.name, "ServiceResponse", "{xml}");
    let ids = root
        .child("data")
        .map(|d| {
            d.children
                .iter()
                .filter_map(|r| r.text_at("id"))
                .map(|id| id.parse().expect("a numeric id"))
                .collect()
        })
        .unwrap_or_default();
    QpsAnswer {
        code: root.text_at("responseCode").unwrap_or("").to_string(),
        message: root
            .text_at("responseErrorDetails/errorMessage")
            .map(String::from),
        resolution: root
            .text_at("responseErrorDetails/errorResolution")
            .map(String::from),
        count: root.text_at("count").map(|c| c.parse().expect("a count")),
        has_more: root.text_at("hasMoreRecords").map(String::from),
        last_id: root.text_at("lastId").map(|c| c.parse().expect("a lastId")),
        ids,
        root,
    }
}

/// Where the shared WAS reference data is, when this checkout has `../shared` beside it.
pub fn was_reference_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/was");
    d.is_dir().then_some(d)
}

/// Elements the simulator (and Qualys since 2018) sends that the saved 2018 `webapp.xsd` does
/// not know: the recorded `lastScan/summary`, the last scan's `launchedDate` and `riskScore`.
/// Validation is "where the XSD covers it", so they are taken out first.
pub const NEWER_THAN_THE_XSD: [&str; 3] = ["summary", "launchedDate", "riskScore"];

/// `xml` without the elements named in `drop` (whole subtrees), re-serialised.
pub fn without_elements(xml: &str, drop: &[&str]) -> Vec<u8> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::new());
    let mut skipping = 0usize;
    loop {
        let ev = reader.read_event().expect("well-formed XML");
        match &ev {
            Event::Eof => break,
            Event::Start(e) if skipping > 0 || drop.contains(&e.name().as_ref()) => {
                skipping += 1;
                continue;
            }
            Event::End(_) if skipping > 0 => {
                skipping -= 1;
                continue;
            }
            _ if skipping > 0 => continue,
            Event::Empty(e) if drop.contains(&e.name().as_ref()) => continue,
            _ => {}
        }
        writer.write_event(ev).expect("writing to memory");
    }
    writer.into_inner()
}

/// Validates `xml` against the saved `webapp.xsd` with xmllint, after taking out the elements
/// newer than it; prints why and passes when xmllint or ../shared is not available.
pub fn assert_webapp_xsd_valid(xml: &str, what: &str) {
    let Some(dir) = was_reference_dir() else {
        println!("skipped XSD validation of {what}: ../shared/reference/was is not present");
        return;
    };
    if Command::new("xmllint").arg("--version").output().is_err() {
        println!(
            "skipped XSD validation of {what}: xmllint is not installed (apt-get install -y libxml2-utils)"
        );
        return;
    }
    let doc = without_elements(xml, &NEWER_THAN_THE_XSD);
    let mut child = Command::new("xmllint")
        .args(["--nonet", "--noout", "--schema"])
        .arg(dir.join("xsd/webapp.xsd"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&doc)
        .expect("xmllint reads the document");
    let out = child.wait_with_output().expect("xmllint finishes");
    assert!(
        out.status.success(),
        "{what} is not valid against webapp.xsd:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&doc)
    );
}
