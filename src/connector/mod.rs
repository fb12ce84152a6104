//! The connector pipeline: settings -> client -> stream -> sink, written once.
//!
//! The CLI (`qharness fetch`), the scenario runner and the tests all run a connector through
//! here, so they check the same rules, build the same client and commit records the same way.
//!
//! [`Connector`] is the kind of connector a run uses: the one built into this crate, or an
//! external command ([`external`]: any program, in any language, that follows the contract of
//! environment variables and an NDJSON records file), run by `qharness conform --connector`.
//! The scenario runner calls [`Connector::run_traced`] for both, so there is one runner and
//! one report; an external connector can declare its exit-code convention, a record map
//! ([`record_map`]) and what it supports ([`capabilities`]).

pub mod capabilities;
pub mod external;
pub mod record_map;

use std::sync::Arc;

use crate::client::{LiveCounters, QualysClient};
use crate::config::{ConnectorConfig, Settings};
use crate::error::Result;
use crate::sink::Sink;
use crate::stream::{ResumePoint, RunSummary, Stream, StreamKind};

use self::external::{ExternalConnector, ExternalTrace};

/// A connector to run.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Connector {
    /// The connector built into this crate.
    #[default]
    Builtin,
    /// A command outside this crate that follows the external contract.
    External(Arc<ExternalConnector>),
}

/// What a run produced besides its records: the result, and for an external command the tail
/// of its stderr and any records it published although it failed.
#[derive(Debug)]
pub struct ConnectorRun {
    pub result: Result<RunSummary>,
    /// The last lines the command wrote to stderr (external connectors).
    pub stderr_tail: Option<String>,
    /// Records an external command published although it failed: a contract violation.
    pub published_on_failure: Option<u64>,
}

impl Connector {
    /// Runs the stream `settings` select, writing records to `sink`. `password_env` is the
    /// value of `QUALYS_PASSWORD`. The run's configuration warnings come first in the summary's
    /// warnings. The sink is not finished: the caller publishes the output only on `Ok`.
    pub async fn run(
        &self,
        settings: &Settings,
        password_env: Option<String>,
        sink: &mut dyn Sink,
    ) -> Result<RunSummary> {
        self.run_traced(settings, password_env, sink).await.result
    }

    /// [`Connector::run`], also keeping what an external command left behind for a report.
    pub async fn run_traced(
        &self,
        settings: &Settings,
        password_env: Option<String>,
        sink: &mut dyn Sink,
    ) -> ConnectorRun {
        match self {
            Connector::Builtin => ConnectorRun {
                result: match BuiltinRun::prepare(settings, password_env) {
                    Ok(run) => run.run(sink).await,
                    Err(e) => Err(e),
                },
                stderr_tail: None,
                published_on_failure: None,
            },
            Connector::External(ext) => {
                let mut trace = ExternalTrace::default();
                let result = ext.run(settings, password_env, sink, &mut trace).await;
                ConnectorRun {
                    result,
                    stderr_tail: Some(trace.stderr_tail),
                    published_on_failure: trace.published_on_failure,
                }
            }
        }
    }

    /// The external connector, if this is one.
    pub fn external(&self) -> Option<&ExternalConnector> {
        match self {
            Connector::External(ext) => Some(ext),
            Connector::Builtin => None,
        }
    }

    /// Why this connector cannot be judged on a scenario of `stream` with `settings`: a stream
    /// or setting its capability file says it lacks.
    pub fn unsupported(&self, stream: StreamKind, settings: &Settings) -> Option<String> {
        self.external()?
            .declared_capabilities()
            .skip_reason(stream, settings)
    }

    /// How reports name it.
    pub fn describe(&self) -> String {
        match self {
            Connector::Builtin => "the built-in connector".into(),
            Connector::External(ext) => format!("the external connector `{}`", ext.command()),
        }
    }
}

/// A run of the built-in connector, checked and ready: everything that can fail before a
/// request has been done.
pub struct BuiltinRun {
    config: ConnectorConfig,
    warnings: Vec<String>,
    client: QualysClient,
    stream: &'static dyn Stream,
}

impl BuiltinRun {
    /// Checks the settings, finds the stream and builds the client.
    pub fn prepare(settings: &Settings, password_env: Option<String>) -> Result<BuiltinRun> {
        let (config, warnings) = settings.validate(password_env)?;
        let stream = config.stream.builtin()?;
        let client = QualysClient::new(&config.common)?;
        Ok(BuiltinRun {
            config,
            warnings,
            client,
            stream,
        })
    }

    /// Soft problems with the settings, for the user to see before the run starts.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The checked configuration.
    pub fn config(&self) -> &ConnectorConfig {
        &self.config
    }

    /// Tells `capture` about every exchange of the run (`fetch --record`).
    pub fn capture_into(&mut self, capture: Arc<dyn crate::client::capture::Capture>) {
        self.client.set_capture(capture);
    }

    /// Counters a progress display can read while the run goes on.
    pub fn live(&self) -> Arc<LiveCounters> {
        self.client.live()
    }

    /// The server's time at the run's first answer, as it becomes known
    /// ([`crate::client::server_date`]).
    pub(crate) fn server_date(&self) -> Arc<crate::client::server_date::ServerDate> {
        self.client.server_date()
    }

    /// Runs the stream to completion.
    pub async fn run(self, sink: &mut dyn Sink) -> Result<RunSummary> {
        let mut summary = self.stream.run(&self.client, &self.config, sink).await?;
        summary.warnings.splice(0..0, self.warnings);
        Ok(summary)
    }

    /// Runs the stream to completion from `from` (a resumed run, [`crate::state`]). The
    /// configuration warnings are not repeated in the summary: the caller showed them.
    pub async fn run_from(&self, from: &ResumePoint, sink: &mut dyn Sink) -> Result<RunSummary> {
        self.stream
            .run_from(&self.client, &self.config, from, sink)
            .await
    }
}
