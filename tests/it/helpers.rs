//! The test kit: fixtures, a configured connector pointed at a mock server, and named helpers to
//! assert on the requests the server received.
//!
//! Set `TEST_LOG=1` to see the connector's tracing output.
//!
//! Two kits live here: the connector against wiremock (settings, `run`, form matchers) and
//! the simulator driven by a plain HTTP client (spawn, `post_as`, small XML readers, DTD checks).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::Duration;

use qualys_harness::sim::{RunningSimulator, Simulator, SimulatorConfig, Tenant, TenantSpec};
use qualys_harness::{Connector, MemorySink, RunSummary, Settings, StreamKind};
use serde_json::Value;
use wiremock::{Match, Request, ResponseTemplate};

/// The password every test uses; distinctive so a leak is easy to search for.
pub const PASSWORD: &str = "pw-Zx81!not-for-logs";
pub const USER: &str = "quays_ab1";
/// The demo tenant's password.
pub const DEMO_PASSWORD: &str = "demo";

pub const HLD: &str = "/api/2.0/fo/asset/host/vm/detection/";
pub const HOST_LIST: &str = "/api/2.0/fo/asset/host/";
pub const KB: &str = "/api/2.0/fo/knowledge_base/vuln/";

static TRACING: Once = Once::new();

/// Prints the connector's logs when `TEST_LOG` is set.
pub fn init_tracing() {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter("qualys_harness=debug")
                .with_test_writer()
                .init();
        }
    });
}

/// A fixture file from `fixtures/`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path} is missing: {e}"))
}

/// A 200 (or other) response carrying XML, as Qualys sends it.
pub fn xml(status: u16, body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("X-RateLimit-Limit", "300")
        .insert_header("X-RateLimit-Window-Sec", "3600")
        .insert_header("X-RateLimit-Remaining", "299")
        .insert_header("X-RateLimit-ToWait-Sec", "0")
        .insert_header("X-Concurrency-Limit-Limit", "2")
        .insert_header("X-Concurrency-Limit-Running", "0")
        .set_body_raw(body.into().into_bytes(), "application/xml")
}

/// Settings for a stream against `base_url`, with fast retries so failure tests stay quick.
pub fn settings(base_url: &str, stream: StreamKind) -> Settings {
    let mut s = Settings::new(stream, base_url, USER);
    s.common.backoff_initial_ms = Some(10);
    s.common.max_wait_secs = Some(10);
    s.common.max_attempts = Some(3);
    s
}

/// What a run produced.
pub struct Run {
    pub result: qualys_harness::Result<RunSummary>,
    pub records: Vec<Value>,
}

impl Run {
    pub fn summary(&self) -> &RunSummary {
        match &self.result {
            Ok(s) => s,
            Err(e) => panic!("the run failed: {e}"),
        }
    }

    pub fn error(&self) -> &qualys_harness::Error {
        match &self.result {
            Ok(s) => panic!(
                "the run succeeded ({} records) but an error was expected",
                s.records
            ),
            Err(e) => e,
        }
    }

    /// `(host_id, qid)` of each record, in order.
    pub fn keys(&self) -> Vec<(u64, u64)> {
        self.records
            .iter()
            .map(|r| {
                (
                    r["host_id"].as_u64().unwrap_or(0),
                    r["qid"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }
}

/// Runs the connector with `settings` and the test password, records into memory.
pub async fn run(settings: Settings) -> Run {
    run_as(settings, PASSWORD).await
}

/// Runs the connector with `settings` and `password`, records into memory.
pub async fn run_as(settings: Settings, password: &str) -> Run {
    init_tracing();
    let mut sink = MemorySink::default();
    let result = Connector::Builtin
        .run(&settings, Some(password.into()), &mut sink)
        .await;
    Run {
        result,
        records: sink.records,
    }
}

/// The form parameters of a request, in order.
pub fn form(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// The value of one form parameter.
pub fn param(request: &Request, key: &str) -> Option<String> {
    form(request)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Requests the server received for a path.
pub async fn requests_to(server: &wiremock::MockServer, path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is enabled")
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

/// Matches a form parameter with an exact value.
pub struct FormParam(pub &'static str, pub String);

impl Match for FormParam {
    fn matches(&self, request: &Request) -> bool {
        param(request, self.0).as_deref() == Some(self.1.as_str())
    }
}

pub fn form_param(key: &'static str, value: impl Into<String>) -> FormParam {
    FormParam(key, value.into())
}

/// Matches when a form parameter is absent.
pub struct FormParamMissing(pub &'static str);

impl Match for FormParamMissing {
    fn matches(&self, request: &Request) -> bool {
        param(request, self.0).is_none()
    }
}

pub fn form_param_missing(key: &'static str) -> FormParamMissing {
    FormParamMissing(key)
}

/// A delay long enough to trip a 1-second read timeout.
pub const SLOW: Duration = Duration::from_millis(2500);

// ---------------------------------------------------------------------------------------------
// The simulator kit

/// The demo tenant on a random port.
pub async fn spawn_demo() -> RunningSimulator {
    init_tracing();
    Simulator::start(SimulatorConfig::demo())
        .await
        .expect("the demo simulator starts")
}

/// A tenant written in TOML (merged over the demo tenant unless it says `base = "empty"`).
pub async fn spawn_tenant(toml_text: &str) -> RunningSimulator {
    init_tracing();
    Simulator::start(SimulatorConfig::from_tenant(tenant(toml_text)))
        .await
        .expect("the simulator starts")
}

pub fn tenant(toml_text: &str) -> Tenant {
    let spec = TenantSpec::from_toml(toml_text, Path::new("test-tenant.toml"))
        .expect("the test tenant parses");
    Tenant::from_spec(spec).expect("the test tenant resolves")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .build()
        .expect("a reqwest client builds")
}

/// A call of the simulator's admin API (`/__sim/...`) with its bearer token.
pub fn admin(
    sim: &RunningSimulator,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    let url = sim
        .admin_route(path)
        .expect("the admin API is served on a loopback simulator");
    client().request(method, url).bearer_auth(sim.admin_token())
}

/// Form-encodes parameters.
pub fn encode_form(params: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

/// POSTs a form as the connector does (Basic auth, X-Requested-With).
pub async fn post_as(
    sim: &RunningSimulator,
    path: &str,
    user: &str,
    password: &str,
    params: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .post(sim.url(path))
        .basic_auth(user, Some(password))
        .header("X-Requested-With", "qharness-tests")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encode_form(params))
        .send()
        .await
        .expect("the simulator answers")
}

pub async fn post(
    sim: &RunningSimulator,
    path: &str,
    params: &[(&str, &str)],
) -> reqwest::Response {
    post_as(sim, path, USER, DEMO_PASSWORD, params).await
}

/// GETs `path?query` as the demo manager.
pub async fn get(sim: &RunningSimulator, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
    let mut url = sim.url(path);
    url.set_query(Some(&encode_form(params)));
    client()
        .get(url)
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .header("X-Requested-With", "qharness-tests")
        .send()
        .await
        .expect("the simulator answers")
}

pub async fn text(r: reqwest::Response) -> String {
    r.text().await.expect("the body arrives whole")
}

/// A minimal element tree, enough to read the pages back in tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    /// The node at a `/`-separated path of child names.
    pub fn at(&self, path: &str) -> Option<&Node> {
        path.split('/').try_fold(self, |n, p| n.child(p))
    }

    pub fn text_at(&self, path: &str) -> Option<&str> {
        self.at(path).map(|n| n.text.as_str())
    }
}

/// Parses XML into a [`Node`] tree (the root element).
pub fn parse(xml: &str) -> Node {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        match reader.read_event().expect("the page is well-formed XML") {
            Event::Start(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("a well-formed attribute");
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .expect("an attribute value")
                            .into_owned();
                        (a.key.as_ref().to_string(), v)
                    })
                    .collect();
                stack.push(Node {
                    name: e.name().as_ref().to_string(),
                    attrs,
                    ..Default::default()
                });
            }
            Event::Empty(e) => {
                let n = Node {
                    name: e.name().as_ref().to_string(),
                    ..Default::default()
                };
                stack
                    .last_mut()
                    .expect("inside the document")
                    .children
                    .push(n);
            }
            Event::End(_) => {
                let n = stack.pop().expect("balanced tags");
                stack.last_mut().expect("a parent").children.push(n);
            }
            Event::Text(t) => stack
                .last_mut()
                .expect("inside")
                .text
                .push_str(&t.xml10_content()),
            Event::CData(t) => stack
                .last_mut()
                .expect("inside")
                .text
                .push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let c = match r.resolve_char_ref().expect("a valid character reference") {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&name)
                        .expect("a predefined entity")
                        .to_string(),
                };
                stack.last_mut().expect("inside").text.push_str(&c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut doc = stack.pop().expect("the document node");
    for c in &mut doc.children {
        trim(c);
    }
    doc.children.into_iter().next().expect("a root element")
}

fn trim(n: &mut Node) {
    if !n.children.is_empty() {
        n.text = n.text.trim().to_string();
    }
    for c in &mut n.children {
        trim(c);
    }
}

/// The parts of a Host List Detection page the filter tests compare.
#[derive(Debug, Clone, PartialEq)]
pub struct HldHost {
    pub id: u64,
    pub tags: Vec<String>,
    /// (QID, TYPE, STATUS, AFFECT_RUNNING_KERNEL)
    pub detections: Vec<(u32, String, String, Option<String>)>,
}

/// Reads the hosts and the WARNING URL of a Host List Detection page.
pub fn read_hld(xml: &str) -> (Vec<HldHost>, Option<String>) {
    let root = parse(xml);
    assert_eq!(root.name, "HOST_LIST_VM_DETECTION_OUTPUT");
    let resp = root.child("RESPONSE").expect("a RESPONSE");
    let hosts = resp
        .child("HOST_LIST")
        .map(|l| {
            l.all("HOST")
                .into_iter()
                .map(|h| HldHost {
                    id: h
                        .text_at("ID")
                        .expect("an ID")
                        .parse()
                        .expect("a numeric ID"),
                    tags: h
                        .child("TAGS")
                        .map(|t| {
                            t.all("TAG")
                                .iter()
                                .map(|t| t.text_at("NAME").unwrap_or("").to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                    detections: h
                        .at("DETECTION_LIST")
                        .expect("a DETECTION_LIST")
                        .all("DETECTION")
                        .iter()
                        .map(|d| {
                            (
                                d.text_at("QID")
                                    .expect("a QID")
                                    .parse()
                                    .expect("a numeric QID"),
                                d.text_at("TYPE").unwrap_or("").to_string(),
                                d.text_at("STATUS").unwrap_or("").to_string(),
                                d.text_at("AFFECT_RUNNING_KERNEL").map(String::from),
                            )
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    (hosts, resp.text_at("WARNING/URL").map(String::from))
}

/// CODE and TEXT of a SIMPLE_RETURN.
pub fn read_simple_return(xml: &str) -> (Option<u32>, String, Vec<(String, String)>) {
    let root = parse(xml);
    assert_eq!(root.name, "SIMPLE_RETURN", "{xml}");
    let r = root.child("RESPONSE").expect("a RESPONSE");
    let items = r
        .child("ITEM_LIST")
        .map(|l| {
            l.all("ITEM")
                .iter()
                .map(|i| {
                    (
                        i.text_at("KEY").unwrap_or("").into(),
                        i.text_at("VALUE").unwrap_or("").into(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (
        r.text_at("CODE")
            .map(|c| c.parse().expect("a numeric CODE")),
        r.text_at("TEXT").unwrap_or("").to_string(),
        items,
    )
}

/// `id_min` of a WARNING URL.
pub fn id_min_of(url: &str) -> u64 {
    let u = url::Url::parse(url).expect("the WARNING URL parses");
    u.query_pairs()
        .find(|(k, _)| k == "id_min")
        .expect("the WARNING URL carries id_min")
        .1
        .parse()
        .expect("a numeric id_min")
}

/// Where the shared DTDs are, when this checkout has `../shared` beside it.
pub fn dtd_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/dtd");
    d.is_dir().then_some(d)
}

/// Validates `xml` against a shared DTD with `xmllint`; prints why and passes when xmllint or
/// the DTDs are not available.
pub fn assert_dtd_valid(xml: &[u8], dtd_file: &str, what: &str) {
    let Some(dir) = dtd_dir() else {
        println!("skipped DTD validation of {what}: ../shared/reference/dtd is not present");
        return;
    };
    if Command::new("xmllint").arg("--version").output().is_err() {
        println!(
            "skipped DTD validation of {what}: xmllint is not installed (apt-get install -y libxml2-utils)"
        );
        return;
    }
    use std::io::Write;
    let mut child = Command::new("xmllint")
        .args(["--nonet", "--noout", "--dtdvalid"])
        .arg(dir.join(dtd_file))
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
        .write_all(xml)
        .expect("xmllint reads the page");
    let out = child.wait_with_output().expect("xmllint finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // --nonet still warns that it did not fetch the DOCTYPE's URL; only validity errors count.
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            !l.contains("failed to load")
                && !l.contains("warning")
                && !l.trim_start().starts_with('^')
                && !l.contains("SYSTEM")
        })
        .collect();
    assert!(
        out.status.success(),
        "{what} is not valid against {dtd_file}:\n{}",
        errors.join("\n")
    );
}
