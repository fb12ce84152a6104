//! The real WAS answers recorded by graph-qualys (`../shared/reference/was/graph-qualys/bodies`,
//! listed in its INDEX.tsv) replayed through the simulator to the connector, and parsed by
//! `qharness parse`'s code: each must become exactly the records an independent reading of its
//! XML (the test kit's element tree, not the connector's reader) says it holds, or the error it
//! carries. Skipped, saying so, when ../shared is absent. Nothing of the recordings is copied
//! into the project: the test reads them where they are.

use std::path::{Path, PathBuf};

use qualys_harness::sim::{FixtureSet, Simulator, SimulatorConfig, Tenant};
use qualys_harness::{ExitClass, MemorySink, ParseMode, SavedResponse, StreamKind};
use serde_json::{Map, Value, json};

use crate::helpers::*;
use crate::was_kit::was_reference_dir;

/// One recorded answer of a WAS search or get.
struct Recorded {
    stem: String,
    stream: StreamKind,
    body: PathBuf,
}

fn recorded(dir: &Path) -> Vec<Recorded> {
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).expect("INDEX.tsv reads");
    let mut out = Vec::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (stem, url) = (cols[0], cols[2]);
        let stream = if url.contains("/was/webapp") {
            StreamKind::WasAssets
        } else if url.contains("/was/finding") {
            StreamKind::WasFindings
        } else if url.ends_with("/qps/rest/portal/version") && stem.contains("Inaccesible") {
            // The recorded bad login: served as a search answer, it must be the account error.
            StreamKind::WasAssets
        } else {
            continue;
        };
        let body = dir.join(format!("{stem}.response.xml"));
        assert!(body.is_file(), "{} is listed but missing", body.display());
        out.push(Recorded {
            stem: stem.to_string(),
            stream,
            body,
        });
    }
    out
}

fn text_value(n: &Node, path: &str) -> Value {
    n.text_at(path)
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map_or(Value::Null, |t| json!(t))
}

fn number_value(n: &Node, path: &str) -> Value {
    match text_value(n, path) {
        Value::String(s) => s.parse::<u64>().map_or(json!(s), |v| json!(v)),
        other => other,
    }
}

fn bool_value(n: &Node, path: &str) -> Value {
    match text_value(n, path) {
        Value::String(s) if s == "true" => json!(true),
        Value::String(s) if s == "false" => json!(false),
        other => other,
    }
}

fn list(n: &Node, list_path: &str, item: &str, leaf: Option<&str>, numbers: bool) -> Value {
    let items = n
        .at(list_path)
        .map(|l| l.all(item))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| {
            let t = match leaf {
                Some(leaf) => i.text_at(leaf)?,
                None => i.text.as_str(),
            };
            let t = t.trim();
            (!t.is_empty()).then(|| match (numbers, t.parse::<u64>()) {
                (true, Ok(v)) => json!(v),
                _ => json!(t),
            })
        })
        .collect();
    Value::Array(items)
}

/// What the connector must make of a `WebApp` element, read independently.
fn expected_webapp(w: &Node) -> Value {
    let mut m = Map::new();
    m.insert("webapp_id".into(), number_value(w, "id"));
    m.insert("name".into(), text_value(w, "name"));
    m.insert("url".into(), text_value(w, "url"));
    m.insert("os".into(), text_value(w, "os"));
    m.insert("owner_id".into(), number_value(w, "owner/id"));
    m.insert("owner_username".into(), text_value(w, "owner/username"));
    m.insert("scope".into(), text_value(w, "scope"));
    m.insert(
        "tags".into(),
        list(w, "tags/list", "Tag", Some("name"), false),
    );
    m.insert("is_scheduled".into(), bool_value(w, "isScheduled"));
    m.insert("last_scan_id".into(), number_value(w, "lastScan/id"));
    let status = match text_value(w, "lastScan/status") {
        Value::Null => text_value(w, "lastScan/summary/resultsStatus"),
        s => s,
    };
    m.insert("last_scan_status".into(), status);
    m.insert(
        "last_scan_date".into(),
        text_value(w, "lastScan/launchedDate"),
    );
    m.insert("created_date".into(), text_value(w, "createdDate"));
    m.insert("updated_date".into(), text_value(w, "updatedDate"));
    m.insert("risk_score".into(), number_value(w, "riskScore"));
    Value::Object(m)
}

/// What the connector must make of a `Finding` element, read independently.
fn expected_finding(f: &Node) -> Value {
    let mut m = Map::new();
    m.insert("finding_id".into(), number_value(f, "id"));
    m.insert("unique_id".into(), text_value(f, "uniqueId"));
    m.insert("qid".into(), number_value(f, "qid"));
    m.insert("name".into(), text_value(f, "name"));
    m.insert("type".into(), text_value(f, "type"));
    m.insert("potential".into(), bool_value(f, "potential"));
    m.insert("finding_type".into(), text_value(f, "findingType"));
    m.insert("param".into(), text_value(f, "param"));
    m.insert("severity".into(), number_value(f, "severity"));
    m.insert("url".into(), text_value(f, "url"));
    m.insert("status".into(), text_value(f, "status"));
    m.insert("first_detected".into(), text_value(f, "firstDetectedDate"));
    m.insert("last_detected".into(), text_value(f, "lastDetectedDate"));
    m.insert("last_tested".into(), text_value(f, "lastTestedDate"));
    m.insert("times_detected".into(), number_value(f, "timesDetected"));
    m.insert("is_ignored".into(), bool_value(f, "isIgnored"));
    m.insert("ignored_reason".into(), text_value(f, "ignoredReason"));
    m.insert("fixed_date".into(), text_value(f, "fixedDate"));
    m.insert("group".into(), text_value(f, "group"));
    m.insert("cwe".into(), list(f, "cwe/list", "long", None, true));
    m.insert(
        "owasp".into(),
        list(f, "owasp/list", "OWASP", Some("code"), true),
    );
    m.insert(
        "wasc".into(),
        list(f, "wasc/list", "WASC", Some("code"), true),
    );
    m.insert("detection_score".into(), number_value(f, "detectionScore"));
    let cvss = match text_value(f, "cvssV3/base") {
        Value::String(s) => s.parse::<f64>().map_or(json!(s), |v| json!(v)),
        other => other,
    };
    m.insert("cvss3_base".into(), cvss);
    m.insert("webapp_id".into(), number_value(f, "webApp/id"));
    m.insert("webapp_name".into(), text_value(f, "webApp/name"));
    m.insert("webapp_url".into(), text_value(f, "webApp/url"));
    Value::Object(m)
}

/// The records an answer holds, or the responseCode it refuses with.
fn expected(xml: &str, stream: StreamKind) -> Result<Vec<Value>, String> {
    let root = parse(xml);
    let code = root.text_at("responseCode").unwrap_or("").to_string();
    if code != "SUCCESS" {
        return Err(code);
    }
    let records = root
        .child("data")
        .map(|d| d.children.clone())
        .unwrap_or_default();
    Ok(records
        .iter()
        .map(|r| match stream {
            StreamKind::WasAssets => expected_webapp(r),
            _ => expected_finding(r),
        })
        .collect())
}

#[test]
fn every_recorded_was_answer_parses_to_the_records_its_xml_holds() {
    let Some(dir) = was_reference_dir() else {
        println!("skipped: ../shared/reference/was is not present");
        return;
    };
    let mut checked = 0;
    let mut records = 0;
    for r in recorded(&dir.join("graph-qualys/bodies")) {
        let bytes = std::fs::read(&r.body).unwrap();
        let xml = String::from_utf8(bytes.clone()).unwrap();
        let stream = r.stream.builtin().unwrap();
        let mut sink = MemorySink::default();
        let got = stream.parse_saved(
            SavedResponse::Memory(&bytes),
            &r.stem,
            ParseMode::Records,
            &mut sink,
        );
        match expected(&xml, r.stream) {
            Ok(want) => {
                let summary = got.unwrap_or_else(|e| panic!("{}: {e}", r.stem));
                assert_eq!(summary.records, want.len() as u64, "{}", r.stem);
                assert_eq!(sink.records, want, "{}", r.stem);
                let mut count = qualys_harness::CountSink::default();
                let n = stream
                    .parse_saved(
                        SavedResponse::Memory(&bytes),
                        &r.stem,
                        ParseMode::Count,
                        &mut count,
                    )
                    .unwrap();
                assert_eq!(n.records, want.len() as u64, "{}: --count", r.stem);
                records += want.len();
            }
            Err(code) => {
                let e = got.expect_err(&r.stem).to_string();
                assert!(e.contains(&code), "{}: {e}", r.stem);
            }
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} recorded answers were found");
    assert!(records >= 100, "only {records} records");
    println!("{checked} recorded WAS answers, {records} records");
}

fn escape_toml(p: &Path) -> String {
    p.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

const EMPTY_2022: &str = "<?xml version=\\\"1.0\\\" encoding=\\\"UTF-8\\\"?><ServiceResponse><responseCode>SUCCESS</responseCode><count>0</count></ServiceResponse>";

#[tokio::test]
async fn every_recorded_was_answer_replays_through_the_simulator_to_the_connector() {
    let Some(dir) = was_reference_dir() else {
        println!("skipped: ../shared/reference/was is not present");
        return;
    };
    let bodies = dir.join("graph-qualys/bodies");
    let all = recorded(&bodies);
    // One case per recorded answer, keyed by the Basic user; the seven pages of the paginated
    // search are one case, in their recorded order. A page that says more records follow is
    // followed by an empty answer, as a search past the last record gets.
    let mut cases: Vec<(String, StreamKind, Vec<&Recorded>)> = Vec::new();
    let pagination: Vec<&Recorded> = all
        .iter()
        .filter(|r| r.stem.starts_with("iterateWebAppsPagination"))
        .collect();
    cases.push(("case_pages".into(), StreamKind::WasAssets, pagination));
    for (i, r) in all.iter().enumerate() {
        cases.push((format!("case{i:02}"), r.stream, vec![r]));
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut manifest = String::from("unmatched = \"error\"\n");
    for (user, stream, answers) in &cases {
        let path = match stream {
            StreamKind::WasAssets => "/qps/rest/3.0/search/was/webapp",
            _ => "/qps/rest/3.0/search/was/finding",
        };
        manifest.push_str(&format!(
            "[[fixtures]]\nname = \"{user}\"\npath = \"{path}\"\nuser = \"{user}\"\n"
        ));
        for a in answers {
            manifest.push_str(&format!(
                "[[fixtures.responses]]\nheaders = {{ \"Content-Type\" = \"application/xml\" }}\nbody_file = \"{}\"\n",
                escape_toml(&a.body)
            ));
        }
        manifest.push_str(&format!(
            "[[fixtures.responses]]\nheaders = {{ \"Content-Type\" = \"application/xml\" }}\nbody = \"{EMPTY_2022}\"\n"
        ));
    }
    std::fs::write(tmp.path().join("manifest.toml"), manifest).unwrap();
    let set = FixtureSet::load(tmp.path()).expect("the generated manifest loads");
    let sim = Simulator::start(SimulatorConfig::from_tenant(Tenant::empty()).with_fixtures(set))
        .await
        .unwrap();
    for (user, stream, answers) in &cases {
        let mut want = Vec::new();
        let mut refused = None;
        for a in answers {
            match expected(&std::fs::read_to_string(&a.body).unwrap(), *stream) {
                Ok(records) => want.extend(records),
                Err(code) => refused = Some(code),
            }
        }
        let mut s = settings(sim.base_url.as_str(), *stream);
        s.common.username = Some(user.clone());
        let run = run_as(s, "any").await;
        match refused {
            None => {
                let summary = run.summary();
                assert_eq!(run.records, want, "{user} ({})", answers[0].stem);
                assert!(summary.pages >= answers.len() as u64, "{user}");
            }
            Some(code) => {
                let e = run.error();
                assert!(e.to_string().contains(&code), "{user}: {e}");
                let class = if code == "INVALID_REQUEST" {
                    ExitClass::Other
                } else {
                    ExitClass::Account
                };
                assert_eq!(e.exit_class(), class, "{user}: {e}");
            }
        }
    }
    let journal = sim.journal().entries();
    assert!(
        journal.iter().all(|e| e.source.starts_with("replay:")),
        "every answer was a recording"
    );
    sim.shutdown().await;
}
