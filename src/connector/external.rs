//! An external connector: any command that follows the contract below, run once per scenario
//! by `qharness conform --connector "CMD"`, judged by the same scenarios as the built-in one.
//!
//! # The contract
//!
//! The command runs through `sh -c`, in the current directory, with the inherited environment
//! minus every `QUALYS_*` and `QHARNESS_*` variable, plus:
//!
//! | variable | meaning |
//! |---|---|
//! | `QUALYS_PLATFORM_URL` | the simulator (or the scenario's `platform_url`) |
//! | `QUALYS_USERNAME`, `QUALYS_PASSWORD` | the API user |
//! | `QHARNESS_STREAM` | the stream name, e.g. `vmdr-vulnerabilities` |
//! | `QHARNESS_SETTINGS` | a JSON file with the scenario's other settings, under the config file's keys |
//! | `QHARNESS_CA_CERT` | a PEM CA to trust, when the scenario runs over TLS |
//! | `QHARNESS_OUTPUT` | where the records go, as NDJSON in the README's record schemas |
//!
//! Exit 0 means success, and the records file must then exist (empty for no records); any other
//! status is a failure, and the file must then not exist: a failed run publishes nothing. With
//! an [`ExitCodes`] mapping the status also names the kind of failure (configuration, account,
//! transient, other). The command is killed (its whole process group) when it outlives the
//! timeout. What it wrote to stderr is kept, its tail, for the failure report.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::Mutex;

use super::capabilities::Capabilities;
use super::record_map::RecordMap;
use crate::config::Settings;
use crate::error::{Error, ExitClass, Result};
use crate::sink::Sink;
use crate::stream::RunSummary;

/// The default per-scenario timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How much of the command's stderr is kept for the report.
const TAIL_BYTES: usize = 16 * 1024;

/// Settings the environment carries, left out of `QHARNESS_SETTINGS`.
const CARRIED_BY_ENVIRONMENT: [&str; 5] = [
    "stream",
    "platform_url",
    "username",
    "password_file",
    "ca_cert",
];

/// A connector outside this crate: a shell command and what the suite knows about it.
#[derive(Debug, Clone)]
pub struct ExternalConnector {
    command: String,
    timeout: Duration,
    exit_codes: Option<ExitCodes>,
    map: RecordMap,
    capabilities: Capabilities,
}

/// Why an external command did not succeed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExternalFailure {
    /// It could not be started.
    Spawn(std::io::Error),
    /// It exited with a non-zero status.
    Exited(i32),
    /// A signal ended it.
    Killed,
    /// It outlived the timeout and was killed.
    TimedOut(Duration),
    /// It exited 0 without a records file.
    NoOutput,
    /// A line of its records is not a JSON object.
    BadOutput { line: u64, problem: String },
}

impl std::fmt::Display for ExternalFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExternalFailure::Spawn(e) => write!(
                f,
                "could not be started: {e}\n  what to do: check that the command runs from this directory with `sh -c`"
            ),
            ExternalFailure::Exited(code) => write!(f, "exited with status {code}"),
            ExternalFailure::Killed => write!(f, "was ended by a signal"),
            ExternalFailure::TimedOut(t) => write!(
                f,
                "did not finish within {} s and was killed\n  what to do: if the connector is slow rather than stuck, raise --timeout-secs",
                t.as_secs()
            ),
            ExternalFailure::NoOutput => write!(
                f,
                "exited 0 but wrote no records file at QHARNESS_OUTPUT\n  what to do: write the records there as NDJSON, an empty file when there are none"
            ),
            ExternalFailure::BadOutput { line, problem } => write!(
                f,
                "wrote a records file whose line {line} is not a JSON object: {problem}\n  what to do: write one JSON object per line (NDJSON)"
            ),
        }
    }
}

/// What an external run left besides its result: the tail of its stderr, and the records it
/// published although it failed (a contract violation the runner reports).
#[derive(Debug, Default)]
pub struct ExternalTrace {
    pub stderr_tail: String,
    pub published_on_failure: Option<u64>,
}

impl ExternalConnector {
    /// A connector run as `sh -c command`, with the default timeout and no mapping.
    pub fn new(command: impl Into<String>) -> ExternalConnector {
        ExternalConnector {
            command: command.into(),
            timeout: DEFAULT_TIMEOUT,
            exit_codes: None,
            map: RecordMap::default(),
            capabilities: Capabilities::default(),
        }
    }

    /// Kill the command after `timeout` (default 120 s).
    pub fn timeout(mut self, timeout: Duration) -> ExternalConnector {
        self.timeout = timeout;
        self
    }

    /// The command follows an exit-code convention: its status names the kind of failure.
    pub fn exit_codes(mut self, codes: ExitCodes) -> ExternalConnector {
        self.exit_codes = Some(codes);
        self
    }

    /// Its records use other field names: `map` renames them to ours.
    pub fn record_map(mut self, map: RecordMap) -> ExternalConnector {
        self.map = map;
        self
    }

    /// What it supports: scenarios needing anything else are skipped.
    pub fn capabilities(mut self, capabilities: Capabilities) -> ExternalConnector {
        self.capabilities = capabilities;
        self
    }

    pub fn command(&self) -> &str {
        &self.command
    }

    /// The exit-code convention it declared, if any.
    pub fn declared_exit_codes(&self) -> Option<ExitCodes> {
        self.exit_codes
    }

    pub fn declared_capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Runs the command once for `settings` and writes its records (renamed by the record
    /// map) to `sink` when it succeeded.
    pub async fn run(
        &self,
        settings: &Settings,
        password: Option<String>,
        sink: &mut dyn Sink,
        trace: &mut ExternalTrace,
    ) -> Result<RunSummary> {
        let stream = settings.common.stream.ok_or_else(|| {
            Error::config(
                "stream",
                "no stream selected",
                "set the stream the external connector should run",
            )
        })?;
        let required = |value: &Option<String>, key: &str| {
            value.clone().ok_or_else(|| {
                Error::config(
                    key,
                    "not set",
                    format!("an external connector gets {key} from the suite; set it"),
                )
            })
        };
        let platform_url = required(&settings.common.platform_url, "platform_url")?;
        let username = required(&settings.common.username, "username")?;
        let password = password.ok_or_else(|| {
            Error::config(
                "password",
                "no password to hand to the external connector",
                "the scenario runner passes the scenario's password; set QUALYS_PASSWORD when calling it directly",
            )
        })?;
        let dir = tempfile::tempdir()
            .map_err(|e| Error::io("creating a directory in", std::env::temp_dir(), e))?;
        let settings_file = dir.path().join("settings.json");
        let mut table = settings.to_table();
        for key in CARRIED_BY_ENVIRONMENT {
            table.remove(key);
        }
        let text = serde_json::to_string_pretty(&table).unwrap_or_default();
        std::fs::write(&settings_file, text).map_err(|e| {
            Error::io(
                "writing the settings for the connector to",
                &settings_file,
                e,
            )
        })?;
        let output = dir.path().join("records.ndjson");
        let ca_cert = settings
            .common
            .ca_cert
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));

        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, _) in std::env::vars_os() {
            let n = name.to_string_lossy();
            if n.starts_with("QUALYS_") || n.starts_with("QHARNESS_") {
                command.env_remove(&name);
            }
        }
        command
            .env("QUALYS_PLATFORM_URL", &platform_url)
            .env("QUALYS_USERNAME", &username)
            .env("QUALYS_PASSWORD", &password)
            .env("QHARNESS_STREAM", stream.name())
            .env("QHARNESS_SETTINGS", &settings_file)
            .env("QHARNESS_OUTPUT", &output);
        if let Some(ca) = &ca_cert {
            command.env("QHARNESS_CA_CERT", ca);
        }
        // Its own process group, so a timeout kills what the shell started too.
        #[cfg(unix)]
        command.process_group(0);

        let fail = |failure: ExternalFailure| {
            let class = match &failure {
                ExternalFailure::Exited(code) => {
                    self.exit_codes.and_then(|codes| codes.class_of(*code))
                }
                _ => None,
            };
            Error::External {
                command: self.command.clone(),
                failure,
                class,
            }
        };
        let mut child = command
            .spawn()
            .map_err(|e| fail(ExternalFailure::Spawn(e)))?;
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let readers = [
            child
                .stdout
                .take()
                .map(|out| tokio::spawn(drain(out, None))),
            child
                .stderr
                .take()
                .map(|err| tokio::spawn(drain(err, Some(Arc::clone(&stderr_tail))))),
        ];
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                kill_group(&mut child).await;
                finish_readers(readers).await;
                trace.stderr_tail = tail_text(&stderr_tail).await;
                return Err(fail(ExternalFailure::TimedOut(self.timeout)));
            }
        };
        finish_readers(readers).await;
        trace.stderr_tail = tail_text(&stderr_tail).await;
        let status = status.map_err(|e| fail(ExternalFailure::Spawn(e)))?;
        let published = output.exists();
        match status.code() {
            Some(0) if published => {}
            Some(0) => return Err(fail(ExternalFailure::NoOutput)),
            other => {
                if published {
                    trace.published_on_failure = Some(count_lines(&output));
                }
                return Err(fail(match other {
                    Some(code) => ExternalFailure::Exited(code),
                    None => ExternalFailure::Killed,
                }));
            }
        }
        let records = self
            .read_records(&output, sink)
            .map_err(|(line, problem)| fail(ExternalFailure::BadOutput { line, problem }))?;
        Ok(RunSummary {
            stream: Some(stream),
            records,
            ..RunSummary::default()
        })
    }

    /// Copies the records file to `sink`, renaming fields by the record map; the line and the
    /// problem of the first line that is not a JSON object.
    fn read_records(&self, path: &Path, sink: &mut dyn Sink) -> Result<u64, (u64, String)> {
        use std::io::BufRead;
        let file = std::fs::File::open(path).map_err(|e| (0, format!("cannot open it: {e}")))?;
        let mut n = 0;
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line_no = i as u64 + 1;
            let line = line.map_err(|e| (line_no, e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            let record: Value =
                serde_json::from_str(&line).map_err(|e| (line_no, e.to_string()))?;
            if !record.is_object() {
                return Err((line_no, format!("a {}", kind_of(&record))));
            }
            let record = self.map.apply(record);
            let bytes = serde_json::to_vec(&record).map_err(|e| (line_no, e.to_string()))?;
            sink.record(&bytes).map_err(|e| (line_no, e.to_string()))?;
            n += 1;
        }
        Ok(n)
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn count_lines(path: &PathBuf) -> u64 {
    std::fs::read(path)
        .map(|b| b.split(|c| *c == b'\n').filter(|l| !l.is_empty()).count() as u64)
        .unwrap_or(0)
}

/// Reads a pipe to its end, keeping the last [`TAIL_BYTES`] in `tail` when given.
async fn drain(mut pipe: impl AsyncRead + Unpin, tail: Option<Arc<Mutex<Vec<u8>>>>) {
    let mut buf = vec![0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Some(t) = &tail {
                    let mut t = t.lock().await;
                    t.extend_from_slice(&buf[..n]);
                    if t.len() > TAIL_BYTES {
                        let cut = t.len() - TAIL_BYTES;
                        t.drain(..cut);
                    }
                }
            }
        }
    }
}

async fn finish_readers(readers: [Option<tokio::task::JoinHandle<()>>; 2]) {
    for r in readers.into_iter().flatten() {
        // A grandchild that keeps the pipe open must not hold the run: give it a moment.
        let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
    }
}

async fn tail_text(tail: &Mutex<Vec<u8>>) -> String {
    let bytes = tail.lock().await;
    let text = String::from_utf8_lossy(&bytes);
    // Start at a line boundary when the tail was cut.
    match (bytes.len() >= TAIL_BYTES, text.find('\n')) {
        (true, Some(i)) => text[i + 1..].to_string(),
        _ => text.into_owned(),
    }
}

/// Kills the command's process group (the shell and whatever it started), then the command.
async fn kill_group(child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id() {
        // `kill` the utility: the crate forbids the unsafe code a direct call would need.
        let _ = tokio::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    let _ = child.kill().await;
}

/// An exit-code convention: which status means which kind of failure. qharness's own is
/// `2,3,4,1`: configuration, account, transient, other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCodes {
    pub config: i32,
    pub account: i32,
    pub transient: i32,
    pub other: i32,
}

impl Default for ExitCodes {
    /// qharness's convention: 2 configuration, 3 account, 4 transient, 1 other.
    fn default() -> Self {
        ExitCodes {
            config: ExitClass::Config.code(),
            account: ExitClass::Account.code(),
            transient: ExitClass::Transient.code(),
            other: ExitClass::Other.code(),
        }
    }
}

impl ExitCodes {
    /// The class a status names, if it is one of the four.
    pub fn class_of(self, code: i32) -> Option<ExitClass> {
        [
            (self.config, ExitClass::Config),
            (self.account, ExitClass::Account),
            (self.transient, ExitClass::Transient),
            (self.other, ExitClass::Other),
        ]
        .into_iter()
        .find(|(c, _)| *c == code)
        .map(|(_, class)| class)
    }

    /// The status that means `class`.
    pub fn code_of(self, class: ExitClass) -> i32 {
        match class {
            ExitClass::Config => self.config,
            ExitClass::Account => self.account,
            ExitClass::Transient => self.transient,
            ExitClass::Other => self.other,
        }
    }
}

impl std::str::FromStr for ExitCodes {
    type Err = String;

    /// `"2,3,4,1"`: the statuses for configuration, account, transient and other failures.
    fn from_str(s: &str) -> std::result::Result<ExitCodes, String> {
        let codes: Vec<i32> = s
            .split(',')
            .map(|c| c.trim().parse::<i32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| format!("{s:?} is not a list of exit statuses: {e}"))?;
        let [config, account, transient, other] = codes[..] else {
            return Err(format!(
                "{s:?} has {} statuses; give four, for configuration, account, transient and other failures (qharness's own: 2,3,4,1)",
                codes.len()
            ));
        };
        if codes.contains(&0) {
            return Err("0 means success; a failure status is not 0".into());
        }
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != 4 {
            return Err(format!(
                "{s:?} repeats a status; each kind of failure needs its own"
            ));
        }
        Ok(ExitCodes {
            config,
            account,
            transient,
            other,
        })
    }
}

impl std::fmt::Display for ExitCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "configuration {}, account {}, transient {}, other {}",
            self.config, self.account, self.transient, self.other
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_parse_four_distinct_failure_statuses() {
        let c: ExitCodes = "2,3,4,1".parse().unwrap();
        assert_eq!(c, ExitCodes::default());
        assert_eq!(c.class_of(3), Some(ExitClass::Account));
        assert_eq!(c.class_of(7), None);
        let other: ExitCodes = "10, 11, 12, 13".parse().unwrap();
        assert_eq!(other.code_of(ExitClass::Transient), 12);
        assert!(
            "2,3,4"
                .parse::<ExitCodes>()
                .unwrap_err()
                .contains("give four")
        );
        assert!(
            "2,3,3,1"
                .parse::<ExitCodes>()
                .unwrap_err()
                .contains("repeats")
        );
        assert!("2,0,4,1".parse::<ExitCodes>().is_err());
        assert!("a,b,c,d".parse::<ExitCodes>().is_err());
    }
}
