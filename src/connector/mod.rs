//! The connector pipeline: settings -> client -> stream -> sink, written once.
//!
//! The CLI (`qharness fetch`), the scenario runner and the tests all run a connector through
//! here, so they check the same rules, build the same client and commit records the same way.
//!
//! [`Connector`] is the kind of connector a run uses. Today that is the one built into this
//! crate; an external connector (a command that reads the same settings and writes NDJSON,
//! run by `qharness conform --connector`) is a second variant a later version adds, and the
//! runner needs no change for it.

use std::sync::Arc;

use crate::client::{LiveCounters, QualysClient};
use crate::config::{ConnectorConfig, Settings};
use crate::error::Result;
use crate::sink::Sink;
use crate::stream::{RunSummary, Stream};

/// A connector to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Connector {
    /// The connector built into this crate.
    #[default]
    Builtin,
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
        match self {
            Connector::Builtin => BuiltinRun::prepare(settings, password_env)?.run(sink).await,
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

    /// Runs the stream to completion.
    pub async fn run(self, sink: &mut dyn Sink) -> Result<RunSummary> {
        let mut summary = self.stream.run(&self.client, &self.config, sink).await?;
        summary.warnings.splice(0..0, self.warnings);
        Ok(summary)
    }
}
