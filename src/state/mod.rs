//! Resumable and incremental runs: `fetch --state FILE`, `--resume`, `--incremental`.
//!
//! # How the pieces fit
//!
//! ```text
//! StatefulRun::prepare(settings, options)
//!    │  reads the state file (file.rs), decides: a new run, a resumed one, an incremental one,
//!    │  or nothing to do; checks the settings against the state's
//!    ▼
//! BuiltinRun::run_from(ResumePoint) ─> Stream::run_from ─> page loop ─> PartialOutput (partial.rs)
//!                                                               │ after every page: sync the
//!                                                               │ records, then save the state
//!                                                               ▼ (next page, counts, digest)
//!                                              finish: <out>.partial renamed to <out>, state
//!                                              marked complete (its start kept for the next
//!                                              incremental run)
//! ```
//!
//! - A stream says where its next page starts as a [`PagePosition`] (`id_min`, `lastId`, a PC
//!   policy and host batch) after each committed page ([`crate::Sink::page_done`]), and starts
//!   from one ([`crate::Stream::run_from`]). Records are committed a page at a time, so a run
//!   resumed after the last completed page writes exactly the records the interrupted run had
//!   not: the final file is byte-identical to an uninterrupted run's.
//! - The state file ([`RunState`]) holds the stream, the settings (the config-file table, which
//!   has no password key) and their digest, the next page, the counts, the output's length and
//!   digest, the output and partial paths, and the start time. Never a password or a token.
//! - Without `--state`, `--out` keeps its old behaviour: a hidden temporary file renamed into
//!   place on success and removed on failure, so no half file looks complete. With `--state`
//!   the partial output must survive an interruption, so it is `<out>.partial`, named in the
//!   state, renamed to `<out>` only when the run completes.
//! - `--incremental`: the first run is full; each later run sets `changed_since` to the start of
//!   the last successful run minus [`INCREMENTAL_OVERLAP`], and the stream turns it into its
//!   API's filter ([`crate::Stream::changed_since_param`]).
//! - The start is taken from the server's clock: the `Date` header of the run's first answer
//!   (`client::server_date`), saved in the state with the first page so that a resumed
//!   run keeps it. Qualys compares `changed_since` with its own clock, and a machine whose clock
//!   runs ahead of Qualys's by more than the overlap would otherwise ask from a moment in
//!   Qualys's future. Without a usable `Date` the start is this machine's; the state says which
//!   ([`StartClock`]), and a difference of more than [`CLOCK_SKEW_WARNING_SECS`] draws a warning.

mod file;
mod partial;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use file::{CompletedRun, Digest, FORMAT, RunProgress, RunState, StartClock};
pub use partial::{PartialOutput, partial_path};

use crate::client::LiveCounters;
use crate::config::{QualysDateTime, Settings};
use crate::connector::BuiltinRun;
use crate::error::{Error, Result};
use crate::qualys::filter::VulnStatus;
use crate::stream::registry::listing;
use crate::stream::{PagePosition, ResumePoint, RunSummary};

/// How far before the last successful run's start an incremental run asks from: clock skew
/// between this machine and Qualys, and a scan processed while the run started. Records in the
/// overlap come again (records are upserts by their key).
pub const INCREMENTAL_OVERLAP_SECS: i64 = 10 * 60;

/// [`INCREMENTAL_OVERLAP_SECS`] as a duration.
pub const INCREMENTAL_OVERLAP: std::time::Duration =
    std::time::Duration::from_secs(INCREMENTAL_OVERLAP_SECS as u64);

/// How far this machine's clock may be from the server's before a completed run warns: half the
/// overlap, so a skew is named well before it could matter to a tool that reads no `Date`.
pub const CLOCK_SKEW_WARNING_SECS: i64 = INCREMENTAL_OVERLAP_SECS / 2;

/// What `fetch --state` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct StateOptions {
    /// The state file.
    pub state: PathBuf,
    /// `--out`: required for a new run, optional (but checked) on `--resume`.
    pub out: Option<PathBuf>,
    /// `--resume`: continue the interrupted run the state records.
    pub resume: bool,
    /// `--incremental`: later runs ask only for changes.
    pub incremental: bool,
    /// The moment this run starts by this machine's clock; the real time when `None` (tests set
    /// it to play a machine whose clock is off). The start the next incremental run asks from is
    /// the server's time at the first answer when the server sends a `Date`.
    pub now: Option<QualysDateTime>,
}

/// What [`StatefulRun::prepare`] decided.
pub enum Prepared {
    /// Ready to run.
    Run(Box<StatefulRun>),
    /// Nothing to do (a completed state was resumed); the message says so.
    NothingToDo(String),
}

/// A checked run with a state file, ready to go.
pub struct StatefulRun {
    run: BuiltinRun,
    output: PartialOutput,
    /// Where the stream starts; `None` when every page is done and only publishing is left.
    from: Option<ResumePoint>,
    notes: Vec<String>,
}

impl StatefulRun {
    /// Reads the state file (if any), decides what this run is, checks the settings, opens the
    /// partial output and saves the state. `given` are the settings of the command line and
    /// config file; on `--resume` and on a later `--incremental` run they may be empty, and any
    /// setting given must equal the state's.
    pub fn prepare(
        given: &Settings,
        options: &StateOptions,
        password_env: Option<String>,
    ) -> Result<Prepared> {
        let state_path = &options.state;
        let existing = RunState::load(state_path)?;
        let now = options.now.unwrap_or_else(QualysDateTime::now);
        if options.resume {
            let Some(state) = existing else {
                return Err(Error::config(
                    "state",
                    format!("there is no state file at {}", state_path.display()),
                    "start a run with --state FILE --out FILE first; --resume continues it",
                ));
            };
            return Self::resume(given, options, state, password_env, now);
        }
        if let Some(state) = &existing
            && state.run.completed_at.is_none()
        {
            return Err(Error::config(
                "state",
                format!(
                    "{} records an interrupted run of {} ({} record(s) in {} page(s), next: {})",
                    state_path.display(),
                    state.stream,
                    state.run.records,
                    state.run.pages,
                    describe_next(&state.run.next)
                ),
                format!(
                    "finish it with `qharness fetch --resume --state {}`, or delete {} and {} to start over",
                    state_path.display(),
                    state_path.display(),
                    state.partial_output.display()
                ),
            ));
        }
        let Some(out) = &options.out else {
            return Err(Error::config(
                "out",
                "--state needs --out: records written to standard output cannot be continued after an interruption",
                "add --out FILE",
            ));
        };
        let mut settings = given.clone();
        let mut notes = Vec::new();
        let previous = existing.filter(|s| options.incremental && s.incremental);
        if let Some(previous) = &previous {
            settings = checked_settings(given, previous, state_path, "the last incremental run")?;
            let last = previous.last_success.as_ref().ok_or_else(|| {
                Error::InvalidFile {
                    path: state_path.clone(),
                    problem: "records a completed run without its start time\n  what to do: delete it; the next incremental run is then a full one".into(),
                }
            })?;
            let started = QualysDateTime::parse(&last.started_at).ok_or_else(|| {
                Error::InvalidFile {
                    path: state_path.clone(),
                    problem: format!(
                        "the last run's start {:?} is not a date-time\n  what to do: delete the file; the next incremental run is then a full one",
                        last.started_at
                    ),
                }
            })?;
            let since = started.minus_secs(INCREMENTAL_OVERLAP_SECS);
            settings.sync.changed_since = Some(since.to_string());
            notes.push(format!(
                "incremental: asking for changes since {since} (the last successful run started at {} by {}, minus {} minutes of overlap)",
                last.started_at,
                last.clock,
                INCREMENTAL_OVERLAP_SECS / 60
            ));
        } else if options.incremental {
            if given.sync.changed_since.is_some() {
                return Err(Error::config(
                    "changed_since",
                    "--incremental chooses the moment itself (the last successful run's start)",
                    "leave out --since/changed_since with --incremental",
                ));
            }
            notes.push("incremental: no earlier run recorded, so this run is a full one".into());
        }
        if options.incremental {
            check_incremental(&settings)?;
        }
        let run = BuiltinRun::prepare(&settings, password_env)?;
        if options.incremental {
            notes.extend(fixed_left_out(&run));
        }
        let output = absolute(out)?;
        let table = file::settings_table(&settings);
        let state = RunState {
            format: FORMAT,
            stream: run.config().stream,
            settings_digest: file::digest_settings(&table),
            settings: table,
            incremental: options.incremental,
            partial_output: partial_path(&output),
            output,
            run: RunProgress {
                started_at: now.to_string(),
                server_started_at: None,
                changed_since: settings.sync.changed_since.clone(),
                next: Some(PagePosition::Start),
                pages: 0,
                records: 0,
                output_bytes: 0,
                output_digest: Digest::default().to_string(),
                completed_at: None,
            },
            last_success: previous.and_then(|p| p.last_success),
        };
        let mut output = PartialOutput::create(state_path, state)?;
        output.follow_server_date(run.server_date(), now);
        Ok(Prepared::Run(Box::new(StatefulRun {
            run,
            output,
            from: Some(ResumePoint::START),
            notes,
        })))
    }

    fn resume(
        given: &Settings,
        options: &StateOptions,
        state: RunState,
        password_env: Option<String>,
        now: QualysDateTime,
    ) -> Result<Prepared> {
        let state_path = &options.state;
        if state.run.completed_at.is_some() {
            return Ok(Prepared::NothingToDo(format!(
                "the run recorded in {} completed at {} ({} record(s) in {}); nothing to resume",
                state_path.display(),
                state.run.completed_at.as_deref().unwrap_or_default(),
                state.run.records,
                state.output.display()
            )));
        }
        if let Some(stream) = given.common.stream
            && stream != state.stream
        {
            return Err(Error::config(
                "stream",
                format!(
                    "{} is the state of a {} run, not of {stream}",
                    state_path.display(),
                    state.stream
                ),
                format!(
                    "resume it with --stream {} (or without --stream), or give another --state for a {stream} run",
                    state.stream
                ),
            ));
        }
        if let Some(out) = &options.out
            && absolute(out)? != state.output
        {
            return Err(Error::config(
                "out",
                format!(
                    "the interrupted run writes {}, not {}",
                    state.output.display(),
                    out.display()
                ),
                "leave --out away with --resume, or give the same path",
            ));
        }
        if given.sync.changed_since.is_some() {
            return Err(Error::config(
                "changed_since",
                "a resumed run continues with the interrupted run's own changed_since",
                "leave out --since with --resume",
            ));
        }
        let mut settings = checked_settings(given, &state, state_path, "the interrupted run")?;
        settings.sync.changed_since = state.run.changed_since.clone();
        let run = BuiltinRun::prepare(&settings, password_env)?;
        let mut notes = vec![format!(
            "resuming {} after {} page(s) and {} record(s), at {}",
            state.stream,
            state.run.pages,
            state.run.records,
            describe_next(&state.run.next)
        )];
        let from = ResumePoint {
            position: state.run.next.clone().unwrap_or(PagePosition::Start),
            pages_done: state.run.pages,
        };
        let done = state.run.next.is_none();
        let (mut output, note) = PartialOutput::reopen(state_path, state)?;
        output.follow_server_date(run.server_date(), now);
        notes.extend(note);
        if done {
            notes.push("every page was done; only the output was left to move into place".into());
        }
        Ok(Prepared::Run(Box::new(StatefulRun {
            run,
            output,
            from: (!done).then_some(from),
            notes,
        })))
    }

    /// Soft problems with the settings, and what this run is (resumed where, incremental
    /// since when), for the user to see before the run starts.
    pub fn notes(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .run
            .warnings()
            .iter()
            .map(|w| format!("warning: {w}"))
            .collect();
        all.extend(self.notes.iter().map(|n| format!("note: {n}")));
        all
    }

    /// Counters a progress display can read while the run goes on.
    pub fn live(&self) -> Arc<LiveCounters> {
        self.run.live()
    }

    /// The state as last saved.
    pub fn state(&self) -> &RunState {
        self.output.state()
    }

    /// Runs the stream from where the state says, then publishes the output and marks the
    /// state complete. On failure the partial output and the state stay for `--resume`.
    pub async fn run(mut self) -> Result<RunSummary> {
        use crate::sink::Sink;
        let mut summary = match &self.from {
            Some(from) => self.run.run_from(from, &mut self.output).await?,
            None => RunSummary {
                stream: Some(self.run.config().stream),
                records: self.output.count(),
                pages: self.output.state().run.pages,
                ..RunSummary::default()
            },
        };
        self.output.finish()?;
        summary.warnings.extend(clock_skew(self.output.state()));
        Ok(summary)
    }
}

/// The settings of this run: the state's, overridden by any given; refused when a given one
/// differs, naming each difference.
fn checked_settings(
    given: &Settings,
    state: &RunState,
    state_path: &Path,
    which: &str,
) -> Result<Settings> {
    let stored = file::settings_from_table(&state.settings, state_path)?;
    let mut given = given.clone();
    given.sync.changed_since = None;
    let effective = stored.overridden_by(given);
    let differences = file::settings_diff(&state.settings, &file::settings_table(&effective));
    if differences.is_empty() {
        return Ok(effective);
    }
    Err(Error::config(
        "settings",
        format!(
            "they differ from those of {which} recorded in {}:\n    {}",
            state_path.display(),
            differences.join("\n    ")
        ),
        format!(
            "run with the recorded settings (or give none: the state's are used), or start over with a new state file (delete {})",
            state_path.display()
        ),
    ))
}

/// Refuses `--incremental` for a stream without a changed-since filter, before its full run.
fn check_incremental(settings: &Settings) -> Result<()> {
    let Some(kind) = settings.common.stream else {
        return Ok(());
    };
    if kind.builtin()?.changed_since_param().is_some() {
        return Ok(());
    }
    let streams: Vec<&str> = crate::stream::STREAMS
        .iter()
        .filter(|r| r.builtin.is_some_and(|s| s.changed_since_param().is_some()))
        .map(|r| r.name)
        .collect();
    Err(Error::config(
        "incremental",
        format!(
            "the {kind} stream has no changed-since filter in this version, so every run of it is a full one"
        ),
        format!(
            "run it without --incremental (each run is a full pull; --state still makes it resumable); incremental runs work for {}",
            listing(&streams)
        ),
    ))
}

/// The warning for a completed run whose start by this machine's clock is more than
/// [`CLOCK_SKEW_WARNING_SECS`] from its start by the server's.
fn clock_skew(state: &RunState) -> Option<String> {
    let run = &state.run;
    let local = QualysDateTime::parse(&run.started_at)?;
    let server = QualysDateTime::parse(run.server_started_at.as_deref()?)?;
    let skew = local.unix().checked_sub(server.unix())?;
    if skew.checked_abs()? <= CLOCK_SKEW_WARNING_SECS {
        return None;
    }
    let (way, by) = if skew > 0 {
        ("ahead of", skew)
    } else {
        ("behind", -skew)
    };
    let incremental = if state.incremental {
        "the next incremental run asks from the server's time, so no change is lost; "
    } else {
        ""
    };
    Some(format!(
        "this machine's clock is {} {way} the server's (this run started at {local} here, {server} by the server's Date header): the run's start was taken from the server's clock; {incremental}set this machine's clock right (NTP) for the other tools that read it",
        describe_secs(by)
    ))
}

/// `3h 0m 5s`, `12m 0s`, `40s`.
fn describe_secs(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// The warning for an incremental run whose status filter leaves Fixed out.
fn fixed_left_out(run: &BuiltinRun) -> Option<String> {
    let config = run.config();
    let takes_status = config.stream.row().settings.contains(&"status");
    (takes_status && !config.vmdr.statuses.contains(VulnStatus::Fixed)).then(|| {
        "the status filter leaves out Fixed: in an incremental sync a detection that becomes Fixed then never reaches you, and your copy keeps it open; keep Fixed (the default) unless you mean that".to_string()
    })
}

fn describe_next(next: &Option<PagePosition>) -> String {
    match next {
        Some(p) => p.to_string(),
        None => "no page left".into(),
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io("finding the absolute path of", path, e))
}
