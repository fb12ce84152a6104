//! The state file: what a `fetch --state` run records after every completed page, as JSON,
//! written atomically (a temporary file beside it, synced, renamed over it).
//!
//! It never holds a password or a token: the settings are the flat table of a config file, which
//! has no password key (`password_file` is a path), and the client's session is not in it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::stream::{PagePosition, StreamKind};

/// The format version this build writes and reads.
pub const FORMAT: u32 = 1;

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunState {
    pub format: u32,
    pub stream: StreamKind,
    /// The run's settings as a config file would hold them, without `changed_since` (that is
    /// the run's own, see [`RunProgress::changed_since`]).
    pub settings: BTreeMap<String, Value>,
    /// `digest_settings` of `settings`: a quick check that they were not edited.
    pub settings_digest: String,
    /// Whether later runs ask only for changes (`--incremental`).
    pub incremental: bool,
    /// Where the finished output goes (absolute).
    pub output: PathBuf,
    /// Where the output grows until the run completes (absolute): `<output>.partial`.
    pub partial_output: PathBuf,
    /// The current (or last) run.
    pub run: RunProgress,
    /// The last run that completed, for the next incremental run.
    pub last_success: Option<CompletedRun>,
}

/// How far one run got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunProgress {
    /// When the run started (`YYYY-MM-DDTHH:MM:SSZ`), by this machine's clock.
    pub started_at: String,
    /// When the run started by the server's clock: the `Date` of its first answer, saved with
    /// the first completed page so that a resumed run keeps it. `None` until then, or when the
    /// server sent no usable `Date`. Absent from states written before it existed.
    #[serde(default)]
    pub server_started_at: Option<String>,
    /// The `changed_since` the run asks with (`None`: a full run).
    pub changed_since: Option<String>,
    /// Where the next page starts; `None` once no page is left (the run completed, or only the
    /// rename of the partial output into place remains).
    pub next: Option<PagePosition>,
    /// Pages and records committed to the partial output.
    pub pages: u64,
    pub records: u64,
    /// Bytes of the partial output that hold those records, and their [`Digest`].
    pub output_bytes: u64,
    pub output_digest: String,
    /// When it completed; `None` while it has not.
    pub completed_at: Option<String>,
}

/// A run that completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletedRun {
    /// The start the next incremental run asks from (minus the overlap), by [`Self::clock`].
    pub started_at: String,
    /// Whose clock `started_at` is: the server's when its first answer carried a `Date`.
    #[serde(default)]
    pub clock: StartClock,
    pub completed_at: String,
    pub records: u64,
}

/// Whose clock a run's start was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartClock {
    /// The server's: the `Date` header of the run's first answer.
    Server,
    /// This machine's: the server sent no usable `Date` (and states written before the server's
    /// clock was read, which all used this one).
    #[default]
    Local,
}

impl std::fmt::Display for StartClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StartClock::Server => "the server's clock",
            StartClock::Local => "this machine's clock",
        })
    }
}

impl RunState {
    /// Reads a state file; a missing file is `Ok(None)`.
    pub fn load(path: &Path) -> Result<Option<RunState>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("reading the state file", path, e)),
        };
        let state: RunState = serde_json::from_str(&text).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            problem: format!(
                "not a qharness state file ({e})\n  what to do: give the file `fetch --state` wrote, or delete it to start a new run"
            ),
        })?;
        if state.format != FORMAT {
            return Err(Error::InvalidFile {
                path: path.to_path_buf(),
                problem: format!(
                    "written in state format {} and this qharness reads format {FORMAT}\n  what to do: finish the run with the qharness that started it, or delete the file to start over",
                    state.format
                ),
            });
        }
        if digest_settings(&state.settings) != state.settings_digest {
            return Err(Error::InvalidFile {
                path: path.to_path_buf(),
                problem: "its settings do not match their digest: the file was edited\n  what to do: run with the settings you want and a new state file".into(),
            });
        }
        Ok(Some(state))
    }

    /// Writes the state atomically: a temporary file beside `path`, synced, renamed over it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".qharness-state-")
            .tempfile_in(&dir)
            .map_err(|e| Error::io("creating a temporary state file in", &dir, e))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Unexpected {
            origin: "state file".into(),
            offset: 0,
            problem: format!("could not serialise the state: {e}"),
        })?;
        tmp.write_all(&json)
            .and_then(|_| tmp.write_all(b"\n"))
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| Error::io("writing the state file", path, e))?;
        tmp.persist(path)
            .map_err(|e| Error::io("moving the new state into place at", path, e.error))?;
        Ok(())
    }
}

/// The settings as the state keeps them: the flat table, without `changed_since`.
pub fn settings_table(settings: &Settings) -> BTreeMap<String, Value> {
    let mut table: BTreeMap<String, Value> = settings
        .to_table()
        .into_iter()
        .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k, v)))
        .collect();
    table.remove("changed_since");
    table
}

/// Reads the settings back from the state's table.
pub fn settings_from_table(table: &BTreeMap<String, Value>, path: &Path) -> Result<Settings> {
    let object: serde_json::Map<String, Value> = table.clone().into_iter().collect();
    serde_json::from_value(Value::Object(object)).map_err(|e| Error::InvalidFile {
        path: path.to_path_buf(),
        problem: format!(
            "its settings are not valid settings of this qharness ({e})\n  what to do: finish the run with the qharness that started it, or delete the file to start over"
        ),
    })
}

/// The differences between the settings a state was written with and the settings of this
/// run, one line per setting: `status: "New,Active" in the state, "Fixed" now`.
pub fn settings_diff(
    stored: &BTreeMap<String, Value>,
    now: &BTreeMap<String, Value>,
) -> Vec<String> {
    let show = |v: Option<&Value>| v.map_or("(not set)".to_string(), Value::to_string);
    let mut keys: Vec<&String> = stored.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| stored.get(*k) != now.get(*k))
        .map(|k| {
            format!(
                "{k}: {} in the state, {} now",
                show(stored.get(k)),
                show(now.get(k))
            )
        })
        .collect()
}

/// The digest of a settings table: [`Digest`] over `key=value\n` lines in key order.
pub fn digest_settings(table: &BTreeMap<String, Value>) -> String {
    let mut d = Digest::default();
    for (k, v) in table {
        d.update(k.as_bytes());
        d.update(b"=");
        d.update(v.to_string().as_bytes());
        d.update(b"\n");
    }
    d.to_string()
}

/// FNV-1a, 64 bits: a check that bytes are the ones a state recorded (an edited settings table,
/// a partial output that was replaced), not a defence against someone who forges both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    pub fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fnv1a64:{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_without_changed_since_and_differences_are_named() {
        let mut s = Settings::new(
            StreamKind::VmdrVulnerabilities,
            "http://127.0.0.1:1",
            "quays_ab1",
        );
        s.vmdr.status = Some(crate::config::StatusList::Text("New,Active".into()));
        s.vmdr.truncation_limit = Some(5);
        s.sync.changed_since = Some("2024-06-10".into());
        let table = settings_table(&s);
        assert!(!table.contains_key("changed_since"));
        let back = settings_from_table(&table, Path::new("x")).unwrap();
        assert_eq!(back.vmdr, s.vmdr);
        assert_eq!(back.common, s.common);
        let mut other = back.clone();
        other.vmdr.status = None;
        other.vmdr.truncation_limit = Some(7);
        assert_eq!(
            settings_diff(&table, &settings_table(&other)),
            [
                "status: \"New,Active\" in the state, (not set) now",
                "truncation_limit: 5 in the state, 7 now"
            ]
        );
        assert_ne!(
            digest_settings(&table),
            digest_settings(&settings_table(&other))
        );
    }

    #[test]
    fn a_state_saves_atomically_loads_back_and_an_edited_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pull.state");
        assert_eq!(RunState::load(&path).unwrap(), None);
        let settings = settings_table(&Settings::new(
            StreamKind::VmdrAssets,
            "http://127.0.0.1:1",
            "quays_ab1",
        ));
        let state = RunState {
            format: FORMAT,
            stream: StreamKind::VmdrAssets,
            settings_digest: digest_settings(&settings),
            settings,
            incremental: false,
            output: dir.path().join("out.ndjson"),
            partial_output: dir.path().join("out.ndjson.partial"),
            run: RunProgress {
                started_at: "2024-06-10T00:00:00Z".into(),
                server_started_at: Some("2024-06-09T21:00:00Z".into()),
                changed_since: None,
                next: Some(PagePosition::IdMin { id_min: 7 }),
                pages: 1,
                records: 3,
                output_bytes: 90,
                output_digest: Digest::default().to_string(),
                completed_at: None,
            },
            last_success: None,
        };
        state.save(&path).unwrap();
        assert_eq!(RunState::load(&path).unwrap().as_ref(), Some(&state));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("quays_ab1", "quays_zz9")).unwrap();
        let e = RunState::load(&path).unwrap_err();
        assert!(e.to_string().contains("was edited"), "{e}");
    }

    #[test]
    fn a_state_written_before_the_servers_clock_was_read_loads_with_this_machines_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.state");
        let settings = settings_table(&Settings::new(
            StreamKind::VmdrAssets,
            "http://127.0.0.1:1",
            "quays_ab1",
        ));
        let old = serde_json::json!({
            "format": 1,
            "stream": "vmdr-assets",
            "settings_digest": digest_settings(&settings),
            "settings": settings,
            "incremental": true,
            "output": "/tmp/out.ndjson",
            "partial_output": "/tmp/out.ndjson.partial",
            "run": {
                "started_at": "2024-06-10T00:00:00Z",
                "changed_since": null,
                "next": null,
                "pages": 1,
                "records": 3,
                "output_bytes": 90,
                "output_digest": Digest::default().to_string(),
                "completed_at": "2024-06-10T00:01:00Z"
            },
            "last_success": {
                "started_at": "2024-06-10T00:00:00Z",
                "completed_at": "2024-06-10T00:01:00Z",
                "records": 3
            }
        });
        std::fs::write(&path, old.to_string()).unwrap();
        let state = RunState::load(&path).unwrap().unwrap();
        assert_eq!(state.run.server_started_at, None);
        assert_eq!(state.last_success.unwrap().clock, StartClock::Local);
        let text = serde_json::to_string(&StartClock::Server).unwrap();
        assert_eq!(text, "\"server\"", "the state file's spelling");
    }
}
