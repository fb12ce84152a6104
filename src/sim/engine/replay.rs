//! Replay: answering from a fixture set of recorded responses.
//!
//! A fixture set is a directory with a `manifest.toml` and the body files it names. Each fixture
//! matches requests by method, path (a `*` segment matches any API version), Basic-auth user
//! and parameters (query and form merged), and answers with its ordered list of responses: the
//! first matching call gets the first response, and the last response repeats. Fixtures are
//! tried in file order, so put the specific ones first.
//!
//! ```toml
//! description = "two HLD pages and a rate limit"
//! unmatched = "error"                  # or "model": fall back to the tenant
//!
//! [[fixtures]]
//! name = "hld first page"
//! method = "POST"                      # any method when absent
//! path = "/api/*/fo/asset/host/vm/detection/"
//! user = "quays_ab1"                   # any user when absent
//! params = { action = "list", truncation_limit = "*" }   # "*": present with any value
//! absent = ["id_min"]                  # must not be sent
//! exact = true                         # no parameter beyond `params` (recorded sets use this)
//! request_body_file = "req-0003.xml"   # or request_body = "...": the request body must be this
//!                                      # (JSON compared as JSON, anything else byte for byte
//!                                      # after trimming)
//!
//! [[fixtures.responses]]
//! status = 200
//! headers = { "Content-Type" = "application/xml" }
//! body_file = "hld-page-1.xml"         # or body = "inline text"
//! template = true                      # replace {{origin}} with the simulator's origin, in the
//!                                      # body and the header values (Location)
//! compress = "gzip"                    # the file is stored decompressed; gzip it when serving
//! fault = { kind = "dribble", chunk_bytes = 512, interval_ms = 5 }
//! ```
//!
//! Bodies are streamed from disk whatever their size: a templated body is rewritten as it
//! streams and a `compress = "gzip"` body is compressed as it streams. A recorded body that broke
//! off is what arrived plus `fault = { kind = "disconnect" }`: the connection is reset right
//! after the last recorded byte.
//!
//! A request no fixture matches gets HTTP 404 with a plain-text body naming the nearest
//! fixtures and what differed, never a bare 404.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use serde::Deserialize;

use crate::error::{Error, Result};

use crate::sim::engine::fault::Fault;
use crate::sim::server::request::SimRequest;
use crate::sim::server::response::{Body, CHUNK_TARGET, ChunkSource, FileSource};

/// What to do with a request no fixture matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmatched {
    /// Answer 404 with the nearest candidates.
    #[default]
    Error,
    /// Answer from the tenant model.
    Model,
}

/// A fixture manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub unmatched: Unmatched,
    #[serde(default)]
    pub fixtures: Vec<Fixture>,
}

/// One request matcher and its responses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub name: String,
    #[serde(default)]
    pub method: Option<String>,
    pub path: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default)]
    pub absent: Vec<String>,
    /// No parameter beyond those of `params` may be sent.
    #[serde(default)]
    pub exact: bool,
    /// The request body must be this text.
    #[serde(default)]
    pub request_body: Option<String>,
    /// The request body must be the content of this file (in the set's directory).
    #[serde(default)]
    pub request_body_file: Option<String>,
    pub responses: Vec<RecordedResponse>,
}

/// How a stored body is encoded again when it is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Gzip,
}

/// A recorded response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body_file: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub template: bool,
    #[serde(default)]
    pub compress: Option<Compression>,
    #[serde(default)]
    pub fault: Option<Fault>,
}

fn ok() -> u16 {
    200
}

/// A fixture that nearly matched, and why it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    pub fixture: String,
    pub differences: Vec<String>,
}

/// A loaded fixture set.
#[derive(Debug)]
pub struct FixtureSet {
    dir: PathBuf,
    manifest: Manifest,
    /// Each fixture's expected request body, read at load.
    request_bodies: Vec<Option<Bytes>>,
    calls: Mutex<Vec<usize>>,
}

impl FixtureSet {
    /// Loads `dir/manifest.toml` and checks that every body file exists.
    pub fn load(dir: &Path) -> Result<FixtureSet> {
        let path = dir.join("manifest.toml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io("reading fixture manifest", &path, e))?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| Error::InvalidFile {
            path: path.clone(),
            problem: format!("not a valid fixture manifest: {e}"),
        })?;
        let mut request_bodies = Vec::with_capacity(manifest.fixtures.len());
        for f in &manifest.fixtures {
            request_bodies.push(match (&f.request_body, &f.request_body_file) {
                (Some(_), Some(_)) => {
                    return Err(Error::InvalidFile {
                        path: path.clone(),
                        problem: format!(
                            "fixture {:?} has both request_body and request_body_file; keep one",
                            f.name
                        ),
                    });
                }
                (Some(text), None) => Some(Bytes::from(text.clone())),
                (None, Some(file)) => {
                    let body_path = dir.join(file);
                    let bytes = std::fs::read(&body_path).map_err(|e| {
                        Error::io("reading the request body of a fixture", &body_path, e)
                    })?;
                    Some(Bytes::from(bytes))
                }
                (None, None) => None,
            });
            if f.responses.is_empty() {
                return Err(Error::InvalidFile {
                    path: path.clone(),
                    problem: format!(
                        "fixture {:?} has no responses; add at least one [[fixtures.responses]]",
                        f.name
                    ),
                });
            }
            for r in &f.responses {
                match (&r.body_file, &r.body) {
                    (Some(_), Some(_)) => {
                        return Err(Error::InvalidFile {
                            path: path.clone(),
                            problem: format!(
                                "fixture {:?}: a response has both body and body_file; keep one",
                                f.name
                            ),
                        });
                    }
                    (Some(file), None) if !dir.join(file).is_file() => {
                        return Err(Error::InvalidFile {
                            path: path.clone(),
                            problem: format!(
                                "fixture {:?}: body file {file:?} does not exist in {}",
                                f.name,
                                dir.display()
                            ),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(FixtureSet {
            calls: Mutex::new(vec![0; manifest.fixtures.len()]),
            dir: dir.to_path_buf(),
            request_bodies,
            manifest,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn unmatched(&self) -> Unmatched {
        self.manifest.unmatched
    }

    /// The fixture that answers `req` and the response it gives this time, or the nearest
    /// misses (closest first, at most three).
    pub fn answer(
        &self,
        req: &SimRequest,
    ) -> std::result::Result<(&Fixture, &RecordedResponse), Vec<NearMiss>> {
        let mut misses = Vec::new();
        for (i, f) in self.manifest.fixtures.iter().enumerate() {
            let mut diff = differences(f, req);
            if let Some(want) = &self.request_bodies[i]
                && !same_body(want, &req.body)
            {
                diff.push(format!(
                    "request body: wanted {} bytes ({}), got {} bytes",
                    want.len(),
                    f.request_body_file.as_deref().unwrap_or("inline"),
                    req.body.len()
                ));
            }
            if diff.is_empty() {
                let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
                let n = calls[i];
                calls[i] += 1;
                let r = &f.responses[n.min(f.responses.len() - 1)];
                return Ok((f, r));
            }
            misses.push(NearMiss {
                fixture: f.name.clone(),
                differences: diff,
            });
        }
        misses.sort_by_key(|m| m.differences.len());
        misses.truncate(3);
        Err(misses)
    }

    /// Starts every fixture's response sequence over.
    pub fn reset(&self) {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter_mut()
            .for_each(|c| *c = 0);
    }

    /// The header values of a recorded response; templated responses get `{{origin}}` replaced
    /// in them too (a recorded `Location`).
    pub fn headers(&self, r: &RecordedResponse, origin: &str) -> Vec<(String, String)> {
        r.headers
            .iter()
            .map(|(k, v)| {
                let v = if r.template {
                    v.replace(ORIGIN, origin)
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect()
    }

    /// The body of a recorded response, streamed from its file: templated bodies get
    /// `{{origin}}` replaced and `compress = "gzip"` bodies are compressed as they stream.
    pub fn body(&self, r: &RecordedResponse, origin: &str) -> std::io::Result<Body> {
        let raw: Box<dyn Read + Send> = match (&r.body_file, &r.body) {
            (Some(file), _) if !r.template && r.compress.is_none() => {
                return Ok(Body::Source(Box::new(FileSource(std::fs::File::open(
                    self.dir.join(file),
                )?))));
            }
            (Some(file), _) => Box::new(std::fs::File::open(self.dir.join(file))?),
            (None, Some(text)) => Box::new(std::io::Cursor::new(text.clone().into_bytes())),
            (None, None) if r.compress.is_none() => return Ok(Body::Empty),
            (None, None) => Box::new(std::io::empty()),
        };
        let templated: Box<dyn Read + Send> = if r.template {
            Box::new(Replace::new(raw, ORIGIN, origin))
        } else {
            raw
        };
        let encoded: Box<dyn Read + Send> = match r.compress {
            Some(Compression::Gzip) => Box::new(flate2::read::GzEncoder::new(
                templated,
                flate2::Compression::default(),
            )),
            None => templated,
        };
        Ok(Body::Source(Box::new(ReadSource(encoded))))
    }
}

/// The placeholder recorded sets write where the server's own origin was.
pub const ORIGIN: &str = "{{origin}}";

/// Whether a request body is the one a fixture wants: JSON compared as JSON values (key order
/// and spacing do not matter), anything else byte for byte after trimming white space.
fn same_body(want: &[u8], got: &[u8]) -> bool {
    let (w, g) = (want.trim_ascii(), got.trim_ascii());
    if w == g {
        return true;
    }
    match (
        serde_json::from_slice::<serde_json::Value>(w),
        serde_json::from_slice::<serde_json::Value>(g),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Any reader as a body source.
struct ReadSource(Box<dyn Read + Send>);

impl ChunkSource for ReadSource {
    fn fill(&mut self, out: &mut Vec<u8>) -> std::io::Result<bool> {
        let start = out.len();
        out.resize(start + CHUNK_TARGET, 0);
        let mut filled = 0;
        // Fill the chunk (an encoder hands out little at a time), ending only at end of input.
        while filled < CHUNK_TARGET {
            match self.0.read(&mut out[start + filled..]) {
                Ok(0) => {
                    out.truncate(start + filled);
                    return Ok(false);
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        out.truncate(start + filled);
        Ok(true)
    }
}

/// A reader that replaces one string by another as the bytes stream through (`{{origin}}` by
/// the simulator's origin on replay, the upstream origin by `{{origin}}` when recording),
/// holding back only a tail that could start it.
pub struct Replace<R> {
    inner: R,
    needle: Vec<u8>,
    with: Vec<u8>,
    /// Bytes read but not yet handed out, the next of them at `pos`.
    pending: Vec<u8>,
    pos: usize,
    /// Raw input not yet scanned (a possible start of the placeholder).
    carry: Vec<u8>,
    done: bool,
}

impl<R: Read> Replace<R> {
    pub fn new(inner: R, needle: &str, with: &str) -> Replace<R> {
        Replace {
            inner,
            needle: needle.as_bytes().to_vec(),
            with: with.as_bytes().to_vec(),
            pending: Vec::new(),
            pos: 0,
            carry: Vec::new(),
            done: false,
        }
    }

    /// Reads the next stretch of input and rewrites it into `pending`.
    fn refill(&mut self) -> std::io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = loop {
            match self.inner.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(&buf[..n]);
        self.pending.clear();
        self.pos = 0;
        let needle = self.needle.as_slice();
        let mut at = 0;
        while !needle.is_empty()
            && let Some(i) = memchr::memmem::find(&data[at..], needle)
        {
            self.pending.extend_from_slice(&data[at..at + i]);
            self.pending.extend_from_slice(&self.with);
            at += i + needle.len();
        }
        if n == 0 {
            self.pending.extend_from_slice(&data[at..]);
            self.done = true;
        } else {
            let keep = (data.len() - at).min(needle.len().saturating_sub(1));
            let split = data.len() - keep;
            self.pending.extend_from_slice(&data[at..split]);
            self.carry = data[split..].to_vec();
        }
        Ok(())
    }
}

impl<R: Read> Read for Replace<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.pending.len() {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = out.len().min(self.pending.len() - self.pos);
        out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn path_matches(pattern: &str, path: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    a.len() == b.len() && a.iter().zip(&b).all(|(p, s)| *p == "*" || p == s)
}

fn differences(f: &Fixture, req: &SimRequest) -> Vec<String> {
    let mut d = Vec::new();
    if let Some(m) = &f.method
        && !m.eq_ignore_ascii_case(&req.method)
    {
        d.push(format!("method: wanted {m}, got {}", req.method));
    }
    if !path_matches(&f.path, &req.path) {
        d.push(format!("path: wanted {}, got {}", f.path, req.path));
    }
    if let Some(u) = &f.user
        && Some(u.as_str()) != req.user()
    {
        d.push(format!(
            "user: wanted {u}, got {}",
            req.user().unwrap_or("(none)")
        ));
    }
    let get = |k: &str| {
        req.params
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    for (k, want) in &f.params {
        match get(k) {
            None => d.push(format!("param {k}: wanted {want:?}, got nothing")),
            Some(_) if want == "*" => {}
            Some(v) if v == want => {}
            Some(v) => d.push(format!("param {k}: wanted {want:?}, got {v:?}")),
        }
    }
    for k in &f.absent {
        if let Some(v) = get(k) {
            d.push(format!("param {k}: wanted absent, got {v:?}"));
        }
    }
    if f.exact {
        let extra: Vec<&str> = req
            .params
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !f.params.contains_key(*k))
            .collect();
        if !extra.is_empty() {
            d.push(format!("params not recorded: {}", extra.join(", ")));
        }
    }
    d
}

/// The plain-text explanation of an unmatched request.
pub fn unmatched_text(req: &SimRequest, misses: &[NearMiss]) -> String {
    let mut s = format!(
        "qharness simulator: no fixture matches {} {} (user {}, params {:?}).\n",
        req.method,
        req.path,
        req.user().unwrap_or("(none)"),
        req.params
            .iter()
            .filter(|(k, _)| !crate::sim::engine::redaction::is_secret_param(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
    );
    if misses.is_empty() {
        s.push_str("The fixture set has no fixtures.\n");
    } else {
        s.push_str("Nearest fixtures:\n");
        for m in misses {
            s.push_str(&format!(
                "  - {:?}: {}\n",
                m.fixture,
                m.differences.join("; ")
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::server::response::SimResponse;

    fn set(manifest: &str) -> (tempfile::TempDir, FixtureSet) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manifest.toml"), manifest).unwrap();
        std::fs::write(dir.path().join("a.xml"), "<A>{{origin}}</A>").unwrap();
        let s = FixtureSet::load(dir.path()).unwrap();
        (dir, s)
    }

    const M: &str = r#"
        [[fixtures]]
        name = "page"
        path = "/api/*/fo/asset/host/"
        params = { action = "list", details = "*" }
        absent = ["id_min"]
        [[fixtures.responses]]
        status = 409
        body = "busy"
        [[fixtures.responses]]
        body_file = "a.xml"
        template = true
    "#;

    #[test]
    fn responses_play_in_order_and_the_last_repeats() {
        let (_d, s) = set(M);
        let req = SimRequest::new("GET", "/api/3.0/fo/asset/host/", "http://o")
            .with_param("action", "list")
            .with_param("details", "All");
        let statuses: Vec<u16> = (0..3).map(|_| s.answer(&req).unwrap().1.status).collect();
        assert_eq!(statuses, vec![409, 200, 200]);
        let (_, r) = s.answer(&req).unwrap();
        let body = SimResponse {
            body: s.body(r, "http://o").unwrap(),
            ..SimResponse::new(200, "text/xml", "")
        };
        assert_eq!(body.collect_body().unwrap(), b"<A>http://o</A>");
        s.reset();
        assert_eq!(s.answer(&req).unwrap().1.status, 409);
    }

    #[test]
    fn a_gzip_response_is_compressed_as_it_streams_and_its_origin_templated() {
        let dir = tempfile::tempdir().unwrap();
        let json = format!("[{}]", vec!["{\"u\":\"{{origin}}/x\"}"; 5000].join(","));
        std::fs::write(dir.path().join("p.json"), &json).unwrap();
        std::fs::write(
            dir.path().join("manifest.toml"),
            "[[fixtures]]\nname = \"posture\"\npath = \"/pcrs/1.0/posture/postureInfo\"\n\
             request_body = '[{\"policyId\": \"1\"}]'\n\
             [[fixtures.responses]]\nbody_file = \"p.json\"\ntemplate = true\ncompress = \"gzip\"\n",
        )
        .unwrap();
        let s = FixtureSet::load(dir.path()).unwrap();
        let mut req = SimRequest::new("POST", "/pcrs/1.0/posture/postureInfo", "http://o");
        req.body = Bytes::from_static(b"[{\"policyId\":\"1\"}]  ");
        let (_, r) = s.answer(&req).unwrap();
        let body = SimResponse {
            body: s.body(r, "http://sim:1").unwrap(),
            ..SimResponse::new(200, "application/octet-stream", "")
        }
        .collect_body()
        .unwrap();
        assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip magic");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, json.replace("{{origin}}", "http://sim:1"));
        req.body = Bytes::from_static(b"[{\"policyId\":\"2\"}]");
        let misses = s.answer(&req).unwrap_err();
        assert!(
            misses[0].differences[0].starts_with("request body"),
            "{misses:?}"
        );
    }

    #[test]
    fn an_exact_fixture_refuses_parameters_it_did_not_record() {
        let (_d, s) = set(
            "[[fixtures]]\nname = \"p\"\npath = \"/x\"\nparams = { a = \"1\" }\nexact = true\n[[fixtures.responses]]\nbody = \"ok\"\n",
        );
        let req = SimRequest::new("GET", "/x", "http://o").with_param("a", "1");
        assert!(s.answer(&req).is_ok());
        let misses = s.answer(&req.with_param("id_min", "5")).unwrap_err();
        assert_eq!(misses[0].differences, ["params not recorded: id_min"]);
    }

    #[test]
    fn a_miss_names_what_differed() {
        let (_d, s) = set(M);
        let req = SimRequest::new("GET", "/api/3.0/fo/asset/host/", "http://o")
            .with_param("action", "list")
            .with_param("id_min", "5");
        let misses = s.answer(&req).unwrap_err();
        let text = unmatched_text(&req, &misses);
        assert!(
            text.contains("param details: wanted \"*\", got nothing"),
            "{text}"
        );
        assert!(text.contains("param id_min: wanted absent"), "{text}");
    }

    #[test]
    fn a_missing_body_file_is_reported_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("manifest.toml"),
            "[[fixtures]]\nname = \"x\"\npath = \"/\"\n[[fixtures.responses]]\nbody_file = \"nope.xml\"\n",
        )
        .unwrap();
        let err = FixtureSet::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("nope.xml") && err.contains("manifest.toml"),
            "{err}"
        );
    }
}
