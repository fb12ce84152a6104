//! `Recording`: exchanges in, a replay set out.
//!
//! Each exchange is begun when its request is sent; its response body is written by a thread
//! of its own as the chunks arrive (a bounded channel in between, so a slow disk slows the
//! transfer instead of filling memory): gunzipped when it came compressed, the upstream origin
//! replaced by `{{origin}}`, redacted for its shape, into `NNNN-<endpoint>.<xml|json|txt>`.
//! [`Recording::finish`] waits for the bodies and writes `manifest.toml` and `redaction.toml`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use bytes::Bytes;

use super::pseudonyms::Pseudonyms;
use super::rules::{Kind, Shape};
use super::{RedactOptions, redact_body, scrub};
use crate::client::capture::{BodyEnd, Capture, CapturedExchange, CapturedRequest};
use crate::error::{Error, Result};
use crate::qualys::endpoint::{self, Endpoint, PathMatch};
use crate::sim::{ORIGIN, Replace, is_secret_param};

/// Chunks in flight between the transfer and a body's writer thread.
const CHANNEL_CHUNKS: usize = 16;

/// What a recorded gateway login answers on replay instead of the token it received.
pub const SESSION_PLACEHOLDER: &str = "qharness-recorded-session";

/// Response headers worth keeping: what the connector reads (content type, limits, waits,
/// redirects) and the encoding of the body.
const KEPT_HEADERS: [&str; 4] = [
    "content-type",
    "retry-after",
    "location",
    "content-encoding",
];

fn kept(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    KEPT_HEADERS.contains(&n.as_str())
        || n.starts_with("x-ratelimit-")
        || n.starts_with("x-concurrency-limit-")
}

/// How to record.
#[derive(Debug, Clone, Default)]
pub struct RecordOptions {
    pub redact: RedactOptions,
    /// Origins of the server being recorded (`https://qualysapi.qualys.com`), replaced by
    /// `{{origin}}` in what is saved.
    pub origins: Vec<String>,
    /// The user being recorded, when known up front (it becomes `quays_rec1`).
    pub username: Option<String>,
}

/// A request as it went out, without credentials.
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    /// `None` when the body must not be kept (a gateway login).
    pub body: Option<Bytes>,
}

/// A recording in progress. Cheap to clone; every clone records into the same set.
#[derive(Clone)]
pub struct Recording {
    shared: Arc<Shared>,
}

struct Shared {
    dir: PathBuf,
    opts: RecordOptions,
    state: Mutex<State>,
    pseudonyms: Mutex<Pseudonyms>,
}

#[derive(Default)]
struct State {
    slots: Vec<Slot>,
}

struct Slot {
    endpoint: Option<&'static Endpoint>,
    method: String,
    path: String,
    params: Vec<(String, String)>,
    request_body: Option<(String, Vec<u8>)>,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    end: Option<BodyEnd>,
    writer: Option<JoinHandle<std::io::Result<BodyFile>>>,
}

/// A body written to disk.
#[derive(Debug, Clone)]
struct BodyFile {
    name: String,
    gzip: bool,
}

/// What a finished recording holds.
#[derive(Debug)]
pub struct RecordedSet {
    pub dir: PathBuf,
    pub exchanges: usize,
    pub fixtures: usize,
    /// Per kind: distinct values replaced and occurrences (what `redaction.toml` says).
    pub report: Vec<(Kind, u64, u64)>,
    /// The mapping, in memory only, for tests that compare records modulo it. Never written.
    pub pseudonyms: Pseudonyms,
}

impl RecordedSet {
    /// The set's mapping, to compare live records with replayed ones (tests). It lives in
    /// memory only and is never written.
    pub fn pseudonyms_for_tests(&self) -> Pseudonyms {
        self.pseudonyms.clone()
    }
}

impl Recording {
    /// Starts a recording into `dir` (created if needed; it must not hold a manifest already).
    pub fn create(dir: &Path, opts: RecordOptions) -> Result<Recording> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("creating the recording directory", dir, e))?;
        let manifest = dir.join("manifest.toml");
        if manifest.exists() {
            return Err(Error::InvalidFile {
                path: manifest,
                problem: "the directory already holds a recording; give a new directory (recordings are never overwritten)".into(),
            });
        }
        let pseudonyms = Pseudonyms::for_user(opts.username.as_deref());
        Ok(Recording {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                opts,
                state: Mutex::new(State::default()),
                pseudonyms: Mutex::new(pseudonyms),
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Learns the recorded user (the proxy reads it from the first Basic header).
    pub fn learn_username(&self, username: &str) {
        self.shared.pseudonyms().learn_username(username);
    }

    /// Begins an exchange: call when the request is sent.
    pub fn begin(&self, head: RequestHead) -> Exchange {
        let endpoint = match Endpoint::for_path(&head.path) {
            PathMatch::Endpoint { endpoint, .. } | PathMatch::MissingSlash { endpoint, .. } => {
                Some(endpoint)
            }
            PathMatch::Unknown => None,
        };
        let login = endpoint == Some(&endpoint::GATEWAY_AUTH);
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(q) = &head.query {
            params.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        let ct = head.content_type.as_deref().unwrap_or("");
        let form = head.method == "POST"
            && (ct.is_empty() || ct.starts_with("application/x-www-form-urlencoded"));
        let mut request_body = None;
        match &head.body {
            Some(body) if !body.is_empty() && form => {
                params.extend(url::form_urlencoded::parse(body).into_owned())
            }
            Some(body) if !body.is_empty() && !login => request_body = Some(body.clone()),
            _ => {}
        }
        // Never kept: secrets in parameters, and anything of a login's form.
        params.retain(|(k, _)| !is_secret_param(k) && !login);
        let mut state = self.shared.state();
        let index = state.slots.len();
        let (params, request_body) = {
            let mut p = self.shared.pseudonyms();
            let params = params
                .into_iter()
                .map(|(k, v)| {
                    let v = self.shared.redact_param(&mut p, &k, &v);
                    (k, v)
                })
                .collect();
            let body = request_body.map(|b| {
                let shape = Shape::of(endpoint, head.content_type.as_deref(), &b);
                let ext = extension(shape);
                let mut out = Vec::new();
                let _ = self.shared.body_bytes(&b, shape, &mut p, &mut out);
                (format!("{:04}-request.{ext}", index + 1), out)
            });
            (params, body)
        };
        state.slots.push(Slot {
            endpoint,
            method: head.method,
            path: head.path,
            params,
            request_body,
            status: None,
            headers: Vec::new(),
            end: None,
            writer: None,
        });
        Exchange {
            shared: self.shared.clone(),
            index,
            login,
            tx: None,
            ended: false,
        }
    }

    /// Waits for every body and writes `manifest.toml` and `redaction.toml`.
    pub fn finish(self) -> Result<RecordedSet> {
        let shared = self.shared;
        let slots = std::mem::take(&mut shared.state().slots);
        let mut done = Vec::with_capacity(slots.len());
        for mut slot in slots {
            let body = match slot.writer.take() {
                Some(handle) => match handle.join() {
                    Ok(Ok(file)) => Some(file),
                    Ok(Err(e)) => {
                        return Err(Error::io("writing a recorded body in", &shared.dir, e));
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                None => None,
            };
            done.push((slot, body));
        }
        let fixtures = write_manifest(&shared.dir, &done, &shared.opts)?;
        let pseudonyms = std::mem::take(&mut *shared.pseudonyms());
        let report = pseudonyms.report();
        write_report(
            &shared.dir,
            &report,
            &shared.opts.redact,
            pseudonyms.ipv4_count(),
        )?;
        Ok(RecordedSet {
            dir: shared.dir.clone(),
            exchanges: done.len(),
            fixtures,
            report,
            pseudonyms,
        })
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pseudonyms(&self) -> MutexGuard<'_, Pseudonyms> {
        self.pseudonyms.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn redact_param(&self, p: &mut Pseudonyms, key: &str, value: &str) -> String {
        let value = self.replace_origins(value);
        if !self.opts.redact.enabled {
            return value;
        }
        if self.opts.redact.redact_tags && key.starts_with("tag_set_") && key != "tag_set_by" {
            return value
                .split(',')
                .map(|t| p.map(Kind::Tag, t))
                .collect::<Vec<_>>()
                .join(",");
        }
        scrub::scan(p, &value).into_owned()
    }

    fn replace_origins(&self, text: &str) -> String {
        self.opts
            .origins
            .iter()
            .fold(text.to_string(), |t, o| t.replace(o.as_str(), ORIGIN))
    }

    /// Redacts a small body in memory (request bodies).
    fn body_bytes(
        &self,
        body: &[u8],
        shape: Shape,
        p: &mut Pseudonyms,
        out: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let text = self.replace_origins(&String::from_utf8_lossy(body));
        if self.opts.redact.enabled {
            redact_body(text.as_bytes(), out, shape, p, &self.opts.redact)
        } else {
            out.write_all(text.as_bytes())
        }
    }
}

/// One exchange being recorded.
pub struct Exchange {
    shared: Arc<Shared>,
    index: usize,
    login: bool,
    tx: Option<SyncSender<Bytes>>,
    ended: bool,
}

impl Exchange {
    /// The response head arrived.
    pub fn response(&mut self, status: u16, headers: &[(String, String)]) {
        let kept_headers: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| kept(k))
            .map(|(k, v)| {
                let v = self.shared.replace_origins(v);
                let v = if self.shared.opts.redact.enabled {
                    scrub::scan(&mut self.shared.pseudonyms(), &v).into_owned()
                } else {
                    v
                };
                (k.clone(), v)
            })
            .collect();
        let content_type = kept_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone());
        let mut state = self.shared.state();
        let slot = &mut state.slots[self.index];
        slot.status = Some(status);
        slot.headers = kept_headers;
        // A successful login's answer is the token: it is never written.
        if self.login && (200..300).contains(&status) {
            return;
        }
        let (tx, rx) = sync_channel(CHANNEL_CHUNKS);
        let shared = self.shared.clone();
        let name = format!(
            "{:04}-{}",
            self.index + 1,
            slot.endpoint.map_or("response", |e| e.name)
        );
        let endpoint = slot.endpoint;
        slot.writer = Some(std::thread::spawn(move || {
            write_body(&shared, rx, &name, endpoint, content_type.as_deref())
        }));
        self.tx = Some(tx);
    }

    /// A piece of the response body arrived.
    pub fn chunk(&mut self, chunk: Bytes) {
        if let Some(tx) = &self.tx
            && tx.send(chunk).is_err()
        {
            // The writer failed; finish() reports why. The transfer itself goes on.
            self.tx = None;
        }
    }

    /// The body ended.
    pub fn end(mut self, end: BodyEnd) {
        self.finish(end);
    }

    fn finish(&mut self, end: BodyEnd) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.tx = None;
        self.shared.state().slots[self.index].end = Some(end);
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        // An exchange dropped without an end (a client gone mid-body) broke off.
        self.finish(BodyEnd::Broken);
    }
}

/// The channel's chunks as a reader.
struct ChannelReader {
    rx: Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChannelReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.current = b,
                Err(_) => break,
            }
        }
        Ok(&self.current)
    }

    fn consume(&mut self, n: usize) {
        let _ = self.current.split_to(n.min(self.current.len()));
    }
}

/// A reader whose errors end the input: a gzip stream cut short yields what it decoded.
struct UntilError<R>(R);

impl<R: Read> Read for UntilError<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(out) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(0),
            Err(_) => Ok(0),
        }
    }
}

fn extension(shape: Shape) -> &'static str {
    match shape {
        Shape::Xml(_) => "xml",
        Shape::Json(_) => "json",
        Shape::Text => "txt",
    }
}

/// The writer thread of one body.
fn write_body(
    shared: &Shared,
    rx: Receiver<Bytes>,
    name: &str,
    endpoint: Option<&'static Endpoint>,
    content_type: Option<&str>,
) -> std::io::Result<BodyFile> {
    let mut raw = ChannelReader {
        rx,
        current: Bytes::new(),
    };
    let gzip = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let decoded: Box<dyn Read + Send> = if gzip {
        Box::new(UntilError(flate2::bufread::MultiGzDecoder::new(raw)))
    } else {
        Box::new(raw)
    };
    let mut rewritten: Box<dyn Read + Send> = decoded;
    for origin in &shared.opts.origins {
        rewritten = Box::new(Replace::new(rewritten, origin, ORIGIN));
    }
    let mut input = BufReader::with_capacity(64 * 1024, rewritten);
    let shape = Shape::of(endpoint, content_type, input.fill_buf()?);
    let file_name = format!("{name}.{}", extension(shape));
    let path = shared.dir.join(&file_name);
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(&path)?);
    if shared.opts.redact.enabled {
        // The set's pseudonyms are held for the whole body: bodies of concurrent exchanges are
        // written one after another, each consistently.
        let mut p = shared.pseudonyms();
        redact_body(input, &mut out, shape, &mut p, &shared.opts.redact)?;
    } else {
        std::io::copy(&mut input, &mut out)?;
    }
    out.flush()?;
    Ok(BodyFile {
        name: file_name,
        gzip,
    })
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn inline_table(pairs: &[(String, String)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} = {}", toml_key(k), toml_str(v)))
        .collect();
    format!("{{ {} }}", items.join(", "))
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        toml_str(k)
    }
}

/// Groups the exchanges into fixtures (one per distinct request, its responses in order) and
/// writes the manifest. Returns the number of fixtures.
fn write_manifest(
    dir: &Path,
    done: &[(Slot, Option<BodyFile>)],
    opts: &RecordOptions,
) -> Result<usize> {
    // The key of a fixture: everything the replay matches on.
    type Key = (String, String, Vec<(String, String)>, Option<Vec<u8>>);
    let mut order: Vec<Key> = Vec::new();
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, (slot, _)) in done.iter().enumerate() {
        let mut params = slot.params.clone();
        params.sort();
        let key: Key = (
            slot.method.clone(),
            slot.path.clone(),
            params,
            slot.request_body.as_ref().map(|(_, b)| b.clone()),
        );
        let at = match order.iter().position(|k| *k == key) {
            Some(at) => at,
            None => {
                order.push(key);
                order.len() - 1
            }
        };
        groups.entry(at).or_default().push(i);
    }
    let mut m = String::new();
    m.push_str(&format!(
        "description = {}\nunmatched = \"error\"\n",
        toml_str(&format!(
            "Recorded by qharness {}: {} exchange(s){}. Every fixture matches its request exactly; responses play in the order they were received.",
            env!("CARGO_PKG_VERSION"),
            done.len(),
            if opts.redact.enabled { ", redacted (see redaction.toml)" } else { ", NOT redacted (--no-redact)" }
        ))
    ));
    let mut per_endpoint: BTreeMap<String, usize> = BTreeMap::new();
    for (at, members) in &groups {
        let (slot, _) = &done[members[0]];
        let label = slot.endpoint.map_or("unknown path", |e| e.name).to_string();
        let n = per_endpoint.entry(label.clone()).or_default();
        *n += 1;
        let login = slot.endpoint == Some(&endpoint::GATEWAY_AUTH);
        m.push_str(&format!(
            "\n[[fixtures]]\nname = {}\nmethod = {}\npath = {}\n",
            toml_str(&format!("{label} {n}")),
            toml_str(&slot.method),
            toml_str(&slot.path)
        ));
        let params = &order[*at].2;
        if !params.is_empty() {
            m.push_str(&format!("params = {}\n", inline_table(params)));
        }
        // A login's form is never recorded, so its fixture cannot insist on its fields.
        if !login {
            m.push_str("exact = true\n");
        }
        if let Some((name, bytes)) = &slot.request_body {
            std::fs::write(dir.join(name), bytes)
                .map_err(|e| Error::io("writing a recorded request body in", dir, e))?;
            m.push_str(&format!("request_body_file = {}\n", toml_str(name)));
        }
        for &i in members {
            let (slot, body) = &done[i];
            m.push_str("\n[[fixtures.responses]]\n");
            let end = slot.end.unwrap_or(BodyEnd::Broken);
            let Some(status) = slot.status else {
                // No answer at all: a head, then the connection dies at once.
                m.push_str("status = 200\nbody = \"\"\nfault = { kind = \"disconnect\" }\n");
                continue;
            };
            m.push_str(&format!("status = {status}\n"));
            if !slot.headers.is_empty() {
                m.push_str(&format!("headers = {}\n", inline_table(&slot.headers)));
            }
            match body {
                Some(file) => {
                    m.push_str(&format!(
                        "body_file = {}\ntemplate = true\n",
                        toml_str(&file.name)
                    ));
                    if file.gzip {
                        m.push_str("compress = \"gzip\"\n");
                    }
                }
                None if login && (200..300).contains(&status) => {
                    m.push_str(&format!("body = {}\n", toml_str(SESSION_PLACEHOLDER)));
                }
                None => {}
            }
            if end == BodyEnd::Broken || end == BodyEnd::NoResponse {
                m.push_str("fault = { kind = \"disconnect\" }\n");
            }
        }
    }
    let path = dir.join("manifest.toml");
    std::fs::write(&path, m).map_err(|e| Error::io("writing", &path, e))?;
    Ok(groups.len())
}

fn write_report(
    dir: &Path,
    report: &[(Kind, u64, u64)],
    opts: &RedactOptions,
    ipv4: u32,
) -> Result<()> {
    let mut r = String::from(
        "# What redaction replaced in this recording. The mapping itself is never written.\n",
    );
    r.push_str(&format!(
        "redacted = {}\nkeep_results = {}\nredact_tags = {}\n",
        opts.enabled, opts.keep_results, opts.redact_tags
    ));
    r.push_str(&format!(
        "# IPv4 pseudonyms fill the three documentation ranges, then the private 10/8 range\nipv4_pseudonyms = {ipv4}\n"
    ));
    r.push_str("\n# distinct values replaced, per kind (free text: fields replaced)\n[replaced]\n");
    for (kind, distinct, _) in report {
        r.push_str(&format!("{} = {distinct}\n", kind.name()));
    }
    r.push_str("\n# occurrences replaced, per kind\n[occurrences]\n");
    for (kind, _, occurrences) in report {
        r.push_str(&format!("{} = {occurrences}\n", kind.name()));
    }
    let path = dir.join("redaction.toml");
    std::fs::write(&path, r).map_err(|e| Error::io("writing", &path, e))
}

/// The recording as the client's capture hook (`fetch --record`).
impl Capture for Recording {
    fn begin(&self, request: CapturedRequest<'_>) -> Box<dyn CapturedExchange> {
        Box::new(self.begin(RequestHead {
            method: request.method.to_string(),
            path: request.url.path().to_string(),
            query: request.url.query().map(str::to_string),
            content_type: request.content_type.map(str::to_string),
            body: request.body,
        }))
    }
}

impl CapturedExchange for Exchange {
    fn response(&mut self, status: u16, headers: &reqwest::header::HeaderMap) {
        let pairs: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        Exchange::response(self, status, &pairs);
    }

    fn chunk(&mut self, chunk: &Bytes) {
        Exchange::chunk(self, chunk.clone());
    }

    fn end(self: Box<Self>, end: BodyEnd) {
        Exchange::end(*self, end);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn head(method: &str, path: &str, ct: Option<&str>, body: Option<&str>) -> RequestHead {
        RequestHead {
            method: method.into(),
            path: path.into(),
            query: None,
            content_type: ct.map(str::to_string),
            body: body.map(|b| Bytes::from(b.to_string())),
        }
    }

    /// The gateway family end to end at the recorder: the login's form and token are never
    /// written, a gzip'd posture answer is stored decompressed and redacted, with
    /// `compress = "gzip"`, and its JSON request body is kept for matching.
    #[test]
    fn a_gateway_session_is_recorded_without_its_secrets_and_gzip_is_stored_plain() {
        let dir = tempfile::tempdir().unwrap();
        let rec = Recording::create(
            dir.path(),
            RecordOptions {
                origins: vec!["https://gateway.qg2.apps.qualys.com".into()],
                username: Some("quays2ab1".into()),
                ..RecordOptions::default()
            },
        )
        .unwrap();
        let mut login = rec.begin(head(
            "POST",
            "/auth",
            Some("application/x-www-form-urlencoded"),
            None,
        ));
        login.response(201, &[("Content-Type".into(), "text/plain".into())]);
        login.end(BodyEnd::Withheld);

        let body = r#"[{"policyId":"4711","subscriptionId":"7654321","hostIds":["1","2"]}]"#;
        let mut posture = rec.begin(head(
            "POST",
            "/pcrs/1.0/posture/postureInfo",
            Some("application/json"),
            Some(body),
        ));
        posture.response(
            200,
            &[("Content-Type".into(), "application/octet-stream".into())],
        );
        let answer = r#"[{"id":1,"hostId":1,"subscriptionId":"7654321","ip":"10.1.1.1","evidence":"root:x:0","dns":"db.corp.acme.test"}]"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(answer.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        for piece in gz.chunks(7) {
            posture.chunk(Bytes::copy_from_slice(piece));
        }
        posture.end(BodyEnd::Complete);
        let set = rec.finish().unwrap();
        assert_eq!((set.exchanges, set.fixtures), (2, 2));

        let manifest = std::fs::read_to_string(dir.path().join("manifest.toml")).unwrap();
        assert!(
            manifest.contains(&format!("body = \"{SESSION_PLACEHOLDER}\"")),
            "{manifest}"
        );
        assert!(manifest.contains("compress = \"gzip\""), "{manifest}");
        assert!(
            manifest.contains("request_body_file = \"0002-request.json\""),
            "{manifest}"
        );
        let stored =
            std::fs::read_to_string(dir.path().join("0002-pcrs_posture_info.json")).unwrap();
        assert_eq!(
            stored,
            r#"[{"id":1,"hostId":1,"subscriptionId":"9000001","ip":"192.0.2.1","evidence":"xxxxxxxx","dns":"host1.example.com"}]"#
        );
        let request = std::fs::read_to_string(dir.path().join("0002-request.json")).unwrap();
        assert!(
            request.contains(r#""subscriptionId":"9000001""#),
            "{request}"
        );
        // The replay set loads and answers the same request body.
        let fixtures = crate::sim::FixtureSet::load(dir.path()).unwrap();
        assert_eq!(fixtures.manifest().fixtures.len(), 2);
    }
}
