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
//!
//! [[fixtures.responses]]
//! status = 200
//! headers = { "Content-Type" = "application/xml" }
//! body_file = "hld-page-1.xml"         # or body = "inline text"
//! template = true                      # replace {{origin}} with the simulator's origin
//! fault = { kind = "dribble", chunk_bytes = 512, interval_ms = 5 }
//! ```
//!
//! A request no fixture matches gets HTTP 404 with a plain-text body naming the nearest
//! fixtures and what differed, never a bare 404.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use serde::Deserialize;

use crate::error::{Error, Result};

use crate::sim::engine::fault::Fault;
use crate::sim::server::request::SimRequest;
use crate::sim::server::response::{Body, FileSource};

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
    pub responses: Vec<RecordedResponse>,
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
        for f in &manifest.fixtures {
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
            let diff = differences(f, req);
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

    /// The body of a recorded response; templated bodies get `{{origin}}` replaced.
    pub fn body(&self, r: &RecordedResponse, origin: &str) -> std::io::Result<Body> {
        match (&r.body_file, &r.body) {
            (Some(file), _) => {
                let path = self.dir.join(file);
                if r.template {
                    let text = std::fs::read_to_string(path)?;
                    Ok(Body::Bytes(Bytes::from(text.replace("{{origin}}", origin))))
                } else {
                    Ok(Body::Source(Box::new(FileSource(std::fs::File::open(
                        path,
                    )?))))
                }
            }
            (None, Some(text)) if r.template => {
                Ok(Body::Bytes(Bytes::from(text.replace("{{origin}}", origin))))
            }
            (None, Some(text)) => Ok(Body::Bytes(Bytes::from(text.clone()))),
            (None, None) => Ok(Body::Empty),
        }
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
        match s.body(r, "http://o").unwrap() {
            Body::Bytes(b) => assert_eq!(&b[..], b"<A>http://o</A>"),
            other => panic!("a templated body is rendered in memory, got {other:?}"),
        }
        s.reset();
        assert_eq!(s.answer(&req).unwrap().1.status, 409);
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
