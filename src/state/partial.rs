//! The sink of a `fetch --state` run: NDJSON appended to `<out>.partial`, made durable after
//! every page before the state file says the page is done, and renamed to `<out>` when the run
//! completes.
//!
//! The order of a page's end is what makes a resume exact: the page's records are flushed and
//! synced, then the state records the new length, digest and next page. A crash between the two
//! leaves records in the partial file beyond the recorded length; a resume cuts them off (they
//! are fetched again) after checking that the recorded part is what the state says.
//!
//! The run's start by the server's clock (the `Date` of the client's first answer) is saved with
//! the first page, so that a resumed run keeps the interrupted run's, and is what the completed
//! run leaves for the next incremental one (this machine's start when the server sent none).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::file::{CompletedRun, Digest, RunState, StartClock};
use crate::client::server_date::ServerDate;
use crate::config::QualysDateTime;
use crate::error::{Error, Result};
use crate::sink::Sink;
use crate::stream::PageDone;

/// NDJSON to a partial file that a state file follows.
pub struct PartialOutput {
    state_path: PathBuf,
    state: RunState,
    out: Option<BufWriter<File>>,
    digest: Digest,
    bytes: u64,
    count: u64,
    server: Option<ServerClock>,
}

/// Where the server's time comes from, and this process's start by this machine's clock (the
/// moment the first answer's `Date` is measured against).
struct ServerClock {
    date: Arc<ServerDate>,
    local_start: QualysDateTime,
}

/// `<out>.partial`, beside the output.
pub fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

impl PartialOutput {
    /// Starts a run: an empty partial file (an old one is replaced) and the state saved.
    pub fn create(state_path: &Path, state: RunState) -> Result<PartialOutput> {
        let path = &state.partial_output;
        let file =
            File::create(path).map_err(|e| Error::io("creating the partial output", path, e))?;
        state.save(state_path)?;
        Ok(PartialOutput {
            state_path: state_path.to_path_buf(),
            out: Some(BufWriter::with_capacity(256 * 1024, file)),
            digest: Digest::default(),
            bytes: 0,
            count: state.run.records,
            server: None,
            state,
        })
    }

    /// Continues a run: checks that the partial file starts with exactly the bytes the state
    /// recorded, cuts off anything after them (a page written but not recorded as done), and
    /// appends from there. Returns a note for the user when something was cut.
    pub fn reopen(state_path: &Path, state: RunState) -> Result<(PartialOutput, Option<String>)> {
        let path = state.partial_output.clone();
        let refuse = |problem: String| {
            Error::config(
                "resume",
                problem,
                format!(
                    "start the run again without --resume (delete {} and {} first)",
                    state_path.display(),
                    path.display()
                ),
            )
        };
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(refuse(format!(
                    "the partial output {} is missing; the state says it holds {} record(s) in {} byte(s)",
                    path.display(),
                    state.run.records,
                    state.run.output_bytes
                )));
            }
            Err(e) => return Err(Error::io("opening the partial output", &path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| Error::io("reading the size of", &path, e))?
            .len();
        let recorded = state.run.output_bytes;
        if len < recorded {
            return Err(refuse(format!(
                "the partial output {} has {len} byte(s) but the state recorded {recorded}: it is not the file this run wrote",
                path.display()
            )));
        }
        let mut digest = Digest::default();
        let mut reader = BufReader::with_capacity(256 * 1024, (&file).take(recorded));
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| Error::io("reading the partial output", &path, e))?;
            if n == 0 {
                break;
            }
            digest.update(&buf[..n]);
        }
        if digest.to_string() != state.run.output_digest {
            return Err(refuse(format!(
                "the first {recorded} byte(s) of the partial output {} are not the ones the state recorded (digest {digest}, recorded {}): the file was changed or replaced",
                path.display(),
                state.run.output_digest
            )));
        }
        let note = (len > recorded).then(|| {
            format!(
                "cut {} byte(s) off the end of {}: a page written but not yet recorded as done in the state; it is fetched again",
                len - recorded,
                path.display()
            )
        });
        file.set_len(recorded).map_err(|e| {
            Error::io(
                "cutting the partial output to its recorded length",
                &path,
                e,
            )
        })?;
        let mut file = file;
        file.seek(SeekFrom::End(0))
            .map_err(|e| Error::io("seeking to the end of", &path, e))?;
        Ok((
            PartialOutput {
                state_path: state_path.to_path_buf(),
                out: Some(BufWriter::with_capacity(256 * 1024, file)),
                digest,
                bytes: recorded,
                count: state.run.records,
                server: None,
                state,
            },
            note,
        ))
    }

    /// Takes the run's start by the server's clock from `date` once it is known. `local_start`
    /// is when this process started the run (or its resumption) by this machine's clock.
    pub fn follow_server_date(&mut self, date: Arc<ServerDate>, local_start: QualysDateTime) {
        self.server = Some(ServerClock { date, local_start });
    }

    /// Fills `server_started_at` the first time the server's time is known. A new run's is the
    /// first answer's `Date`. A resumed run whose interrupted part saved none (it stopped before
    /// its first page) takes the interrupted run's start by this machine's clock, moved by the
    /// difference between the two clocks measured now: its own first answer came later than the
    /// start, and a later start would skip the changes in between.
    fn note_server_start(&mut self) {
        if self.state.run.server_started_at.is_some() {
            return;
        }
        let Some(clock) = &self.server else { return };
        let Some(first) = clock.date.first() else {
            return;
        };
        let Some(started) = QualysDateTime::parse(&self.state.run.started_at) else {
            return;
        };
        let server_start = first
            .unix()
            .checked_sub(clock.local_start.unix())
            .and_then(|skew| started.unix().checked_add(skew))
            .and_then(QualysDateTime::from_unix);
        self.state.run.server_started_at = server_start.map(|t| t.to_string());
    }

    /// The state as last saved (or about to be).
    pub fn state(&self) -> &RunState {
        &self.state
    }

    fn out(&mut self) -> Result<&mut BufWriter<File>> {
        let path = &self.state.partial_output;
        self.out.as_mut().ok_or_else(|| {
            Error::io(
                "writing to",
                path,
                std::io::Error::other("the output was already finished"),
            )
        })
    }

    /// Flushes and syncs what was written so far.
    fn sync(&mut self) -> Result<()> {
        let path = self.state.partial_output.clone();
        let out = self.out()?;
        out.flush()
            .and_then(|_| out.get_ref().sync_data())
            .map_err(|e| Error::io("syncing the partial output", &path, e))
    }
}

impl Sink for PartialOutput {
    fn record(&mut self, json: &[u8]) -> Result<()> {
        let path = self.state.partial_output.clone();
        let out = self.out()?;
        out.write_all(json)
            .and_then(|_| out.write_all(b"\n"))
            .map_err(|e| Error::io("writing records to", &path, e))?;
        self.digest.update(json);
        self.digest.update(b"\n");
        self.bytes += json.len() as u64 + 1;
        self.count += 1;
        Ok(())
    }

    fn count(&self) -> u64 {
        self.count
    }

    /// The page's records are durable before the state says the page is done.
    fn page_done(&mut self, done: &PageDone) -> Result<()> {
        self.sync()?;
        self.note_server_start();
        let run = &mut self.state.run;
        run.next = done.next.clone();
        run.pages = done.pages;
        run.records = self.count;
        run.output_bytes = self.bytes;
        run.output_digest = self.digest.to_string();
        self.state.save(&self.state_path)
    }

    /// Moves the partial output into place, then records the run as complete.
    fn finish(&mut self) -> Result<()> {
        self.sync()?;
        self.out = None;
        let (from, to) = (&self.state.partial_output, &self.state.output);
        std::fs::rename(from, to).map_err(|e| Error::io("moving the finished output to", to, e))?;
        let completed_at = QualysDateTime::now().to_string();
        self.note_server_start();
        let run = &mut self.state.run;
        run.next = None;
        run.records = self.count;
        run.output_bytes = self.bytes;
        run.output_digest = self.digest.to_string();
        run.completed_at = Some(completed_at.clone());
        let (started_at, clock) = match &run.server_started_at {
            Some(server) => (server.clone(), StartClock::Server),
            None => (run.started_at.clone(), StartClock::Local),
        };
        self.state.last_success = Some(CompletedRun {
            started_at,
            clock,
            completed_at,
            records: self.count,
        });
        self.state.save(&self.state_path)
    }
}
