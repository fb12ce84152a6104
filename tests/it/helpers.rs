//! The test kit: fixtures, a configured connector pointed at a mock server, and named helpers to
//! assert on the requests the server received.
//!
//! Set `TEST_LOG=1` to see the connector's tracing output.

use std::sync::Once;
use std::time::Duration;

use qualys_harness::client::QualysClient;
use qualys_harness::config::{ConnectorConfig, Settings};
use qualys_harness::sink::MemorySink;
use qualys_harness::stream::{self, RunSummary, StreamKind};
use serde_json::Value;
use wiremock::{Match, Request, ResponseTemplate};

/// The password every test uses; distinctive so a leak is easy to search for.
pub const PASSWORD: &str = "pw-Zx81!not-for-logs";
pub const USER: &str = "quays_ab1";

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
    Settings {
        stream: Some(stream),
        platform_url: Some(base_url.to_string()),
        username: Some(USER.into()),
        backoff_initial_ms: Some(10),
        max_wait_secs: Some(10),
        max_attempts: Some(3),
        ..Settings::default()
    }
}

/// Validates settings with the test password.
pub fn config(settings: Settings) -> ConnectorConfig {
    settings
        .validate(Some(PASSWORD.into()))
        .unwrap_or_else(|e| panic!("test settings are invalid: {e}"))
        .0
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

/// Runs the configured stream into memory.
pub async fn run(config: &ConnectorConfig) -> Run {
    init_tracing();
    let client = QualysClient::new(config).expect("the client builds");
    let mut sink = MemorySink::default();
    let result = stream::run(&client, config, &mut sink).await;
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
