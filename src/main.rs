//! `qharness`: the command-line front end. Parses arguments, sets up logging and progress
//! display, and calls the library. Exit codes: 0 success, 2 configuration or usage error,
//! 3 credential/account/permission problem, 4 transient failure after retries, 1 anything else,
//! 130/143 `fetch` stopped by SIGINT/SIGTERM (its partial output removed).

// The doc comments of the argument structs are the `--help` text clap prints, where a bare URL
// and `<out>` read as they should; rustdoc's markup lints do not apply to them.
#![allow(rustdoc::bare_urls, rustdoc::invalid_html_tags)]

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use qualys_harness::config::{CommonSettings, ModuleFlags, PASSWORD_ENV, SyncSettings};
use qualys_harness::record;
use qualys_harness::scenario::{self, Verdict, catalogue, report};
use qualys_harness::sim::{self, SynthOptions};
use qualys_harness::state;
use qualys_harness::{
    AtomicFile, BuiltinRun, Capabilities, Connector, CountSink, Error, ExternalConnector, FileSink,
    LiveCounters, ParseMode, RecordMap, Result, SavedKind, SavedResponse, Settings, Sink,
    StdoutSink, StreamKind,
};

#[derive(Parser)]
#[command(name = "qharness", version, about = "Test and run Qualys connectors")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More logging on stderr (-v info, -vv debug). Passwords and tokens are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Run a connector stream against a Qualys platform (or the simulator) and write NDJSON.
    Fetch(Box<FetchArgs>),
    /// Parse a saved Qualys response with the connector's parser.
    Parse(ParseArgs),
    /// Run conformance scenarios (default: the bundled catalogue) against a connector (default:
    /// the built-in one) and the embedded simulator; exit 0 only if all pass.
    Conform(ConformArgs),
    /// Run the simulated Qualys server until Ctrl-C or SIGTERM (default: the embedded demo tenant on
    /// 127.0.0.1:8080).
    Serve(ServeArgs),
    /// Write a deterministic synthetic Qualys response (a large scan) to a file.
    Synth(SynthArgs),
    /// Record a live session through a reverse proxy as a redacted replay set, or check a set
    /// for anything unredacted (--check DIR).
    Record(RecordArgs),
    /// Test a connection and name the cause of a failure: settings, network, account, limits
    /// and one probe per stream (at most 7 requests). Exit 0 when every selected stream works,
    /// 3 otherwise, 2 for bad arguments. The password comes from QUALYS_PASSWORD or
    /// --password-file.
    Diagnose(DiagnoseArgs),
}

#[derive(Args)]
struct DiagnoseArgs {
    /// The API server URL, e.g. https://qualysapi.qualys.com.
    #[arg(long)]
    platform_url: String,
    /// The Qualys API user.
    #[arg(long)]
    username: String,
    /// The API gateway URL (Policy Compliance); derived from the platform table when absent.
    #[arg(long)]
    gateway_url: Option<String>,
    /// `all`, or a comma-separated list of streams.
    #[arg(long, default_value = "all")]
    streams: String,
    /// Print the diagnosis as JSON (schema 1, see README "Diagnosing a connection").
    #[arg(long)]
    json: bool,
    /// A file holding the password (first line); otherwise QUALYS_PASSWORD.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Extra CA certificate (PEM) to trust, e.g. the simulator's or a proxy's.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Seconds each network step and each request may take.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// The number of hosts the subscription holds, for the estimate of calls a full pull needs.
    #[arg(long)]
    hosts: Option<u64>,
    /// The page size of the estimate (the connector's truncation_limit).
    #[arg(long, default_value_t = 1000)]
    truncation_limit: u64,
    /// The posture batch size of the estimate (the connector's host_batch_size).
    #[arg(long, default_value_t = 5000)]
    host_batch_size: u64,
}

/// How a recording is redacted (`fetch --record`, `record`).
#[derive(Args)]
struct RedactFlags {
    /// Do not redact (local debugging only: the set then holds customer data; never send it).
    #[arg(long)]
    no_redact: bool,
    /// Keep free text (detection RESULTS, posture evidence, WAS payloads) as it was.
    #[arg(long)]
    keep_results: bool,
    /// Also replace tag names (settings and requests are mapped the same way).
    #[arg(long)]
    redact_tags: bool,
}

impl RedactFlags {
    fn options(&self) -> record::RedactOptions {
        if self.no_redact {
            eprintln!(
                "warning: --no-redact: the recording keeps addresses, host names, user names and free text as they were; use it only for local debugging and never send it"
            );
        } else if self.keep_results {
            eprintln!(
                "warning: --keep-results: detection RESULTS, posture evidence and WAS payloads are kept as they were and can hold customer data; read them before sending the recording"
            );
        }
        record::RedactOptions {
            enabled: !self.no_redact,
            keep_results: self.keep_results,
            redact_tags: self.redact_tags,
        }
    }
}

#[derive(Args)]
struct RecordArgs {
    /// Check a recorded set for anything that looks unredacted, then exit (non-zero when
    /// something is found).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["upstream", "out"])]
    check: Option<PathBuf>,
    /// With --check: the original username, to look for it too.
    #[arg(long, requires = "check")]
    username: Option<String>,
    /// The server to record, e.g. https://qualysapi.qualys.com (or the simulator).
    #[arg(long, required_unless_present = "check")]
    upstream: Option<String>,
    /// The directory the replay set is written to (must not hold one already).
    #[arg(long, required_unless_present = "check")]
    out: Option<PathBuf>,
    /// Address the proxy listens on; point the client's platform URL at it.
    #[arg(long, default_value = "127.0.0.1:8443")]
    addr: SocketAddr,
    /// Serve HTTPS to the client with a self-signed certificate.
    #[arg(long)]
    tls: bool,
    /// Write the proxy's certificate (PEM) here, for the client to trust.
    #[arg(long, requires = "tls")]
    cert_out: Option<PathBuf>,
    /// A PEM certificate to trust for the upstream (a private CA, the simulator's).
    #[arg(long)]
    upstream_ca_cert: Option<PathBuf>,
    /// The stream the client ran, for the generated scenario (inferred when absent).
    #[arg(long)]
    stream: Option<StreamKind>,
    /// The client's settings (a config file), for the generated scenario.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    redact: RedactFlags,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (loopback unless told otherwise; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Tenant file (TOML); the embedded demo tenant when absent.
    #[arg(long)]
    tenant: Option<PathBuf>,
    /// Fixture set directory (with manifest.toml) to replay before the tenant answers.
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost.
    #[arg(long)]
    tls: bool,
    /// Write the certificate (PEM) here, for clients to trust (fetch --ca-cert).
    #[arg(long, requires = "tls")]
    cert_out: Option<PathBuf>,
    /// Connections served at once; further clients wait in the listen backlog.
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// Seconds a client has to send a request head before its connection is closed.
    #[arg(long, default_value_t = 30)]
    header_timeout_secs: u64,
    /// The admin API's bearer token (default: a random one, printed at start). Prefer the
    /// environment variable: a command line is visible to other users of the machine.
    #[arg(long, env = "QHARNESS_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Serve the admin API (/__sim/...) on a listener of its own at this address, and not on
    /// --addr. Without it the admin API shares --addr when that is a loopback address and is
    /// not served otherwise.
    #[arg(long)]
    admin_addr: Option<SocketAddr>,
    /// Journal entries kept before the oldest are dropped (and counted).
    #[arg(long, default_value_t = 100_000)]
    journal_max_entries: usize,
    /// MiB of journal entries kept before the oldest are dropped (and counted).
    #[arg(long, default_value_t = 64)]
    journal_max_mib: usize,
}

#[derive(Args)]
struct SynthArgs {
    /// vmdr-vulnerabilities (Host List Detection), vmdr-assets (Host List), pc-posture (a
    /// gzip'd PCRS posture answer) or was-findings (a verbose WAS findings search).
    #[arg(long)]
    stream: StreamKind,
    /// Number of hosts (web applications for was-findings).
    #[arg(long, conflicts_with = "size", required_unless_present = "size")]
    hosts: Option<u64>,
    /// Stop adding hosts once the file reaches this size (e.g. 200MB, 1GB).
    #[arg(long, value_parser = sim::synthetic::parse_size)]
    size: Option<u64>,
    /// Mean detections per host (exponential, capped at 200); for pc-posture, postures per
    /// host; for was-findings, the findings of each web application.
    #[arg(long, default_value_t = 50.0)]
    detections_per_host: f64,
    /// Seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The file to write (published only once complete).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct ConformArgs {
    /// Scenario files or directories (searched recursively). Default: the bundled catalogue.
    paths: Vec<PathBuf>,
    /// Also write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// The connector to judge: `builtin`, or a shell command that follows the external
    /// contract (README "Validating any connector"), e.g. "python3 my_connector.py".
    #[arg(long, default_value = "builtin")]
    connector: String,
    /// The command's exit statuses for configuration, account, transient and other failures
    /// (qharness's own: 2,3,4,1); with it the exit class of every expected error is checked.
    #[arg(long)]
    exit_codes: Option<qualys_harness::ExitCodes>,
    /// A record map (TOML: our field = their field or JSON pointer) for records with other names.
    #[arg(long)]
    map: Option<PathBuf>,
    /// A capability file (TOML: streams, unsupported_settings): scenarios needing anything else
    /// are skipped, not failed.
    #[arg(long)]
    capabilities: Option<PathBuf>,
    /// Seconds the command may run per scenario before it is killed.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

impl ConformArgs {
    /// The connector the flags describe; the external-only flags with `builtin` are a usage
    /// error rather than silently ignored.
    fn connector(&self) -> Result<Connector> {
        if self.connector.trim() == "builtin" {
            let external_only = [
                ("--exit-codes", self.exit_codes.is_some()),
                ("--map", self.map.is_some()),
                ("--capabilities", self.capabilities.is_some()),
            ];
            if let Some((flag, _)) = external_only.iter().find(|(_, set)| *set) {
                return Err(Error::config(
                    flag.trim_start_matches('-'),
                    format!("{flag} describes an external connector, but --connector is builtin"),
                    format!("give --connector \"COMMAND\" with {flag}, or leave {flag} out"),
                ));
            }
            return Ok(Connector::Builtin);
        }
        if self.connector.trim().is_empty() {
            return Err(Error::config(
                "connector",
                "the command is empty",
                "give --connector builtin or a command, e.g. --connector \"python3 my_connector.py\"",
            ));
        }
        if self.timeout_secs == 0 {
            return Err(Error::config(
                "timeout_secs",
                "0 would kill the command at once",
                "give --timeout-secs a positive number (default 120)",
            ));
        }
        let mut ext = ExternalConnector::new(self.connector.clone())
            .timeout(Duration::from_secs(self.timeout_secs));
        if let Some(codes) = self.exit_codes {
            ext = ext.exit_codes(codes);
        }
        if let Some(path) = &self.map {
            ext = ext.record_map(RecordMap::load(path)?);
        }
        if let Some(path) = &self.capabilities {
            ext = ext.capabilities(Capabilities::load(path)?);
        }
        Ok(Connector::External(Arc::new(ext)))
    }
}

#[derive(Args)]
struct FetchArgs {
    /// The stream: vmdr-assets, vmdr-vulnerabilities, pc-posture, was-assets or was-findings.
    #[arg(long)]
    stream: Option<StreamKind>,
    /// The platform's API server URL, e.g. https://qualysapi.qualys.com (US1); for pc-posture
    /// the API gateway URL, e.g. https://gateway.qg1.apps.qualys.com.
    #[arg(long)]
    platform_url: Option<String>,
    /// The Qualys API user. The password comes from QUALYS_PASSWORD or password_file.
    #[arg(long)]
    username: Option<String>,
    /// Every module's settings (VMDR, Policy Compliance, WAS), flattened: the flags keep their
    /// names and places. Each module declares its flags beside its settings in `src/config/`.
    #[command(flatten)]
    modules: ModuleFlags,
    /// Extra CA certificate (PEM) to trust, e.g. the simulator's.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Attempts per request for transient failures (default 5).
    #[arg(long)]
    max_attempts: Option<u32>,
    /// Total seconds the run may spend waiting on rate limits and backoff (default 300).
    #[arg(long)]
    max_wait_secs: Option<u64>,
    /// Allow http:// to a host that is not this machine (the password then crosses the network
    /// unencrypted). Without it such a URL is refused.
    #[arg(long)]
    allow_insecure_http: bool,
    /// Write NDJSON here (atomically, when the stream completed) instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// A TOML file with the same settings; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Record every exchange (retries and failures included) as a redacted replay set in this
    /// directory, with a scenario.toml that pins the run; the set is checked at the end.
    #[arg(long, value_name = "DIR", conflicts_with = "state")]
    record: Option<PathBuf>,
    #[command(flatten)]
    redact: RedactFlags,
    /// Keep the run's progress in this JSON file, saved after every page, so that an
    /// interrupted run can be resumed (--resume) and later runs can be incremental
    /// (--incremental). Needs --out; the output grows in <out>.partial until the run completes.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Continue the interrupted run --state records after its last completed page; its
    /// settings are used (any given must be the same).
    #[arg(long, requires = "state")]
    resume: bool,
    /// The first run with this --state is full; each later one asks only for what changed since
    /// the last successful run started (minus 10 minutes of overlap).
    #[arg(long, requires = "state", conflicts_with_all = ["resume", "since"])]
    incremental: bool,
    /// Only records changed since DATETIME (2024-06-10T00:00:00Z or 2024-06-10), with the
    /// stream's documented filter (the `changed_since` setting).
    #[arg(long, value_name = "DATETIME", conflicts_with = "resume")]
    since: Option<String>,
}

impl FetchArgs {
    fn settings(&self) -> Result<Settings> {
        let file = match &self.config {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        let flags = Settings {
            common: CommonSettings {
                stream: self.stream,
                platform_url: self.platform_url.clone(),
                username: self.username.clone(),
                ca_cert: self.ca_cert.clone(),
                max_attempts: self.max_attempts,
                max_wait_secs: self.max_wait_secs,
                allow_insecure_http: self.allow_insecure_http.then_some(true),
                ..CommonSettings::default()
            },
            sync: SyncSettings {
                changed_since: self.since.clone(),
            },
            ..self.modules.settings()
        };
        Ok(file.overridden_by(flags))
    }
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["stream", "kind"]))]
struct ParseArgs {
    /// The stream whose response the file holds: vmdr-vulnerabilities (a Host List Detection
    /// answer), vmdr-assets (a Host List answer), pc-posture (a posture answer, gzip'd or
    /// plain), was-assets or was-findings (a QPS search answer).
    #[arg(long)]
    stream: Option<StreamKind>,
    /// What the file holds: knowledge-base (a KnowledgeBase answer, one record of KB facts per
    /// QID), or a stream's name as for --stream.
    #[arg(long)]
    kind: Option<SavedKind>,
    /// Print only the number of records the file holds.
    #[arg(long)]
    count: bool,
    /// The saved response, or - for standard input.
    file: PathBuf,
}

/// How a command ended, when it did not fail.
enum Outcome {
    Done,
    /// Stopped by a signal, after cleaning up.
    Interrupted(Signal),
}

/// The signals `fetch` stops on.
#[derive(Debug, Clone, Copy)]
enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The shell's convention: 128 plus the signal number.
    fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let done = |r: Result<()>| r.map(|()| Outcome::Done);
    let result = match cli.command {
        Command::Fetch(args) => runtime.block_on(fetch(*args)),
        Command::Parse(args) => done(parse(args)),
        Command::Conform(args) => done(runtime.block_on(conform(args))),
        Command::Serve(args) => done(runtime.block_on(sim::serve(sim::ServeOptions {
            addr: args.addr,
            tenant: args.tenant,
            fixtures: args.fixtures,
            tls: args.tls,
            cert_out: args.cert_out,
            max_connections: args.max_connections,
            header_read_timeout: std::time::Duration::from_secs(args.header_timeout_secs),
            admin_token: args.admin_token,
            admin_addr: args.admin_addr,
            journal: sim::JournalLimits {
                max_entries: args.journal_max_entries,
                max_bytes: args.journal_max_mib.saturating_mul(1024 * 1024),
            },
        }))),
        Command::Synth(args) => done(synth(args)),
        Command::Record(args) => done(runtime.block_on(record_command(args))),
        Command::Diagnose(args) => match runtime.block_on(diagnose(args)) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
    };
    // A parser thread of an interrupted fetch ends as soon as it sees its body end; do not wait
    // on anything longer than that.
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted(signal)) => ExitCode::from(signal.exit_code()),
        Err(e) => {
            report(&e);
            ExitCode::from(e.exit_class().code() as u8)
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // Our crate at the chosen level, dependencies at warn: HTTP libraries log headers at their
    // debug/trace levels, and an Authorization header must never reach the log. The TLS
    // verifier's own error line is left out: the certificate error says the same, with what to do.
    let filter = std::env::var("QHARNESS_LOG").unwrap_or_else(|_| {
        format!("warn,rustls_platform_verifier=off,qualys_harness={level},qharness={level}")
    });
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
}

/// Prints an error and the causes it does not already say: many messages quote their cause, and
/// a cause printed twice reads like two failures.
fn report(e: &Error) {
    let mut said = e.to_string();
    eprintln!("error: {said}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let cause = s.to_string();
        if !said.contains(&cause) {
            eprintln!("  caused by: {cause}");
            said.push('\n');
            said.push_str(&cause);
        }
        source = s.source();
    }
}

/// Waits for SIGINT or SIGTERM. The listeners are installed when this is called, not when it is
/// first polled, so a signal that arrives in between is not lost to the default action.
fn signals() -> impl std::future::Future<Output = Signal> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut int), Ok(mut term)) => tokio::select! {
                    _ = int.recv() => Signal::Interrupt,
                    _ = term.recv() => Signal::Terminate,
                },
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                    Signal::Interrupt
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Interrupt
    }
}

async fn fetch(args: FetchArgs) -> Result<Outcome> {
    let interrupted = signals();
    let settings = args.settings()?;
    if let Some(dir) = &args.record {
        return tokio::select! {
            result = fetch_recorded(&args, &settings, dir) => result.map(|()| Outcome::Done),
            signal = interrupted => {
                eprintln!(
                    "interrupted ({}): the recording in {} is incomplete; delete it and record again",
                    signal.name(),
                    dir.display()
                );
                Ok(Outcome::Interrupted(signal))
            }
        };
    }
    if let Some(state) = &args.state {
        return tokio::select! {
            result = fetch_with_state(&args, &settings, state) => result.map(|()| Outcome::Done),
            signal = interrupted => {
                // The state names the last completed page; the partial output may hold part of
                // the next one, which --resume cuts off before it continues.
                eprintln!(
                    "interrupted ({}): the records of every completed page are kept; continue with: qharness fetch --resume --state {}",
                    signal.name(),
                    state.display()
                );
                Ok(Outcome::Interrupted(signal))
            }
        };
    }
    let run = BuiltinRun::prepare(&settings, std::env::var(PASSWORD_ENV).ok())?;
    // Said once, now, before a run that may take hours; the summary below leaves them out.
    let config_warnings = run.warnings().len();
    for w in run.warnings() {
        eprintln!("warning: {w}");
    }
    let mut sink: Box<dyn Sink> = match &args.out {
        Some(path) => Box::new(FileSink::create(path)?),
        None => Box::new(StdoutSink::new()),
    };
    let progress = Progress::start(run.live());
    let finished = tokio::select! {
        result = run.run(sink.as_mut()) => Ok(result),
        signal = interrupted => Err(signal),
    };
    progress.stop();
    let result = match finished {
        Ok(result) => result,
        Err(signal) => {
            // The run was dropped with the select (its requests stop); dropping the sink
            // removes the partial file.
            drop(sink);
            eprintln!(
                "interrupted by {}: stopped{}",
                signal.name(),
                match &args.out {
                    Some(path) => format!(
                        "; nothing was written to {} and the partial output was removed",
                        path.display()
                    ),
                    None => String::new(),
                }
            );
            return Ok(Outcome::Interrupted(signal));
        }
    };
    let mut summary = result?;
    sink.finish()?;
    summary
        .warnings
        .drain(..config_warnings.min(summary.warnings.len()));
    eprintln!("{}", summary.describe());
    Ok(Outcome::Done)
}

/// `diagnose`: the arguments are checked (exit 2), then the diagnosis runs and its verdict is
/// the exit code (0 or 3).
async fn diagnose(args: DiagnoseArgs) -> Result<ExitCode> {
    use qualys_harness::diagnose::{self, Options, limits::PageSizes};
    let platform_url = Options::parse_url("platform_url", &args.platform_url)?;
    let gateway_url = match &args.gateway_url {
        Some(g) => Some(Options::parse_url("gateway_url", g)?),
        None => None,
    };
    let username = args.username.trim().to_string();
    if username.is_empty() {
        return Err(Error::config(
            "username",
            "no username given",
            "pass --username (the Qualys API user, e.g. quays_ab1)",
        ));
    }
    let (streams, named) = Options::parse_streams(&args.streams)?;
    if args.timeout_secs == 0 || args.truncation_limit == 0 || args.host_batch_size == 0 {
        return Err(Error::config(
            "diagnose",
            "--timeout-secs, --truncation-limit and --host-batch-size must be at least 1",
            "give a positive number",
        ));
    }
    let settings = CommonSettings {
        password_file: args.password_file.clone(),
        ..CommonSettings::default()
    };
    let password = settings.resolve_password(std::env::var(PASSWORD_ENV).ok())?;
    let ca_cert_pem = match &args.ca_cert {
        Some(p) => {
            Some(std::fs::read(p).map_err(|e| Error::io("reading the CA certificate", p, e))?)
        }
        None => None,
    };
    let options = Options {
        platform_url,
        gateway_url,
        username,
        streams,
        named,
        ca_cert_pem,
        timeout: Duration::from_secs(args.timeout_secs),
        hosts: args.hosts,
        pages: PageSizes {
            truncation_limit: args.truncation_limit,
            host_batch_size: args.host_batch_size,
        },
    };
    let diagnosis = diagnose::diagnose(&options, password).await;
    if args.json {
        let text = serde_json::to_string_pretty(&diagnosis).map_err(|e| Error::Unexpected {
            origin: "diagnose".into(),
            offset: 0,
            problem: format!("the diagnosis does not serialise: {e}"),
        })?;
        println!("{text}");
    } else {
        print!("{}", diagnosis.to_text());
    }
    Ok(ExitCode::from(diagnosis.exit_code))
}

/// `fetch --state FILE` (with --resume or --incremental): a run that can be continued.
async fn fetch_with_state(
    args: &FetchArgs,
    settings: &Settings,
    state: &std::path::Path,
) -> Result<()> {
    let options = state::StateOptions {
        state: state.to_path_buf(),
        out: args.out.clone(),
        resume: args.resume,
        incremental: args.incremental,
        now: None,
    };
    let run =
        match state::StatefulRun::prepare(settings, &options, std::env::var(PASSWORD_ENV).ok())? {
            state::Prepared::Run(run) => run,
            state::Prepared::NothingToDo(message) => {
                eprintln!("{message}");
                return Ok(());
            }
        };
    for note in run.notes() {
        eprintln!("{note}");
    }
    let progress = Progress::start(run.live());
    let result = run.run().await;
    progress.stop();
    let summary = result.inspect_err(|_| {
        eprintln!(
            "the records of every completed page are kept; continue with: qharness fetch --resume --state {}",
            state.display()
        );
    })?;
    eprintln!("{}", summary.describe());
    Ok(())
}

/// `fetch --record DIR`: the run, then the recording, its scenario and its check.
async fn fetch_recorded(
    args: &FetchArgs,
    settings: &Settings,
    dir: &std::path::Path,
) -> Result<()> {
    let redact = args.redact.options();
    let mut sink: Box<dyn Sink> = match &args.out {
        Some(path) => Box::new(FileSink::create(path)?),
        None => Box::new(StdoutSink::new()),
    };
    let recorded = record::record_run(
        settings,
        std::env::var(PASSWORD_ENV).ok(),
        sink.as_mut(),
        dir,
        redact,
    )
    .await?;
    eprintln!(
        "recorded {} exchange(s) as {} fixture(s) in {}; scenario: {}",
        recorded.set.exchanges,
        recorded.set.fixtures,
        recorded.set.dir.display(),
        recorded.scenario.display()
    );
    report_findings(&recorded.findings, dir)?;
    let summary = recorded.result?;
    sink.finish()?;
    eprintln!("{}", summary.describe());
    Ok(())
}

/// Prints what the check found; an error when it found anything.
fn report_findings(findings: &[record::Finding], dir: &std::path::Path) -> Result<()> {
    if findings.is_empty() {
        eprintln!("check: nothing in {} looks unredacted", dir.display());
        return Ok(());
    }
    for f in findings {
        eprintln!("unredacted? {f}");
    }
    Err(Error::InvalidFile {
        path: dir.to_path_buf(),
        problem: format!(
            "{} value(s) look unredacted (listed above with file and byte offset); do not send this recording until they are removed or explained",
            findings.len()
        ),
    })
}

async fn record_command(args: RecordArgs) -> Result<()> {
    if let Some(dir) = &args.check {
        let findings = record::check_set(dir, args.username.as_deref())?;
        return report_findings(&findings, dir);
    }
    let (Some(upstream), Some(out)) = (&args.upstream, &args.out) else {
        return Err(Error::config(
            "upstream",
            "record needs --upstream and --out (or --check DIR)",
            "e.g. qharness record --upstream https://qualysapi.qualys.com --out case-4711/",
        ));
    };
    let upstream = url::Url::parse(upstream).map_err(|e| {
        Error::config(
            "upstream",
            format!("{upstream:?} is not a URL ({e})"),
            "give the platform URL with its scheme, e.g. https://qualysapi.qualys.com",
        )
    })?;
    let upstream_ca_cert = match &args.upstream_ca_cert {
        Some(p) => {
            Some(std::fs::read(p).map_err(|e| Error::io("reading the CA certificate", p, e))?)
        }
        None => None,
    };
    let settings = match &args.config {
        Some(p) => Settings::from_file(p)?,
        None => Settings::default(),
    };
    let redact = args.redact.options();
    let recording = record::Recording::create(
        out,
        record::RecordOptions {
            redact,
            origins: vec![upstream.origin().ascii_serialization()],
            username: settings.common.username.clone(),
        },
    )?;
    let proxy = record::RecordingProxy::start(
        record::ProxyOptions {
            upstream: upstream.clone(),
            addr: args.addr,
            tls: args.tls,
            upstream_ca_cert,
        },
        recording,
    )
    .await?;
    if let (Some(pem), Some(path)) = (proxy.certificate_pem(), &args.cert_out) {
        std::fs::write(path, pem).map_err(|e| Error::io("writing the certificate", path, e))?;
    }
    println!(
        "qharness record: forwarding {} to {upstream}; recording into {} (Ctrl-C to stop and write the set)",
        proxy.base_url,
        out.display()
    );
    wait_for_stop().await;
    let set = proxy.finish().await?;
    eprintln!(
        "recorded {} exchange(s) as {} fixture(s) in {}",
        set.exchanges,
        set.fixtures,
        set.dir.display()
    );
    match record::pin_replay(out, args.stream, settings.clone()).await? {
        Ok(path) => eprintln!("scenario: {}", path.display()),
        Err(why) => eprintln!("no scenario.toml written: {why}"),
    }
    let findings = if redact.enabled {
        record::check_set(out, set.pseudonyms.username())?
    } else {
        Vec::new()
    };
    report_findings(&findings, out)
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn parse(args: ParseArgs) -> Result<()> {
    let kind = match (args.stream, args.kind) {
        (Some(stream), _) => SavedKind::Stream(stream),
        (None, Some(kind)) => kind,
        // clap requires one of the two; said anyway rather than guessed.
        (None, None) => {
            return Err(Error::config(
                "--kind",
                "no kind of response given",
                format!("pass --kind with one of: {}", SavedKind::names().join(", ")),
            ));
        }
    };
    let mode = if args.count {
        ParseMode::Count
    } else {
        ParseMode::Records
    };
    let mut count_sink = CountSink::default();
    let mut stdout_sink = StdoutSink::new();
    let sink: &mut dyn Sink = if args.count {
        &mut count_sink
    } else {
        &mut stdout_sink
    };
    let summary = if args.file.as_os_str() == "-" {
        let stdin = std::io::stdin().lock();
        let input = SavedResponse::Stdin(std::io::BufReader::with_capacity(64 * 1024, stdin));
        kind.parse(input, "<stdin>", mode, sink)?
    } else {
        let file =
            std::fs::File::open(&args.file).map_err(|e| Error::io("opening", &args.file, e))?;
        let input = SavedResponse::File(std::io::BufReader::with_capacity(64 * 1024, file));
        kind.parse(input, &args.file.display().to_string(), mode, sink)?
    };
    sink.finish()?;
    if args.count {
        println!("{}", summary.records);
    }
    if summary.text.invalid_chars_replaced > 0 {
        eprintln!(
            "warning: {} character(s) not allowed in XML 1.0 were replaced by U+FFFD",
            summary.text.invalid_chars_replaced
        );
    }
    if summary.info_dropped > 0 {
        eprintln!(
            "note: {} information-gathered detection(s) are not part of the stream and were not counted",
            summary.info_dropped
        );
    }
    if summary.ids_only {
        eprintln!(
            "note: the response lists host IDs only (an ID_SET, as a Host List with details=None answers): the records carry only host_id"
        );
    }
    Ok(())
}

fn synth(args: SynthArgs) -> Result<()> {
    let mut opts = SynthOptions::hosts(args.hosts.unwrap_or(0), args.seed);
    opts.stream = args.stream;
    opts.hosts = args.hosts;
    opts.size = args.size;
    opts.detections_per_host = args.detections_per_host;
    // Before the output file exists: a stream without a writer leaves nothing behind.
    let writer = sim::synth_writer(args.stream).ok_or_else(|| {
        Error::config(
            "stream",
            format!(
                "qharness synth has no writer for the {} stream",
                args.stream
            ),
            format!("use {}", sim::synth_stream_names().join(", ")),
        )
    })?;
    // Written beside the target and renamed when complete: an interrupted run leaves no file
    // that looks like a finished scan.
    let mut out = AtomicFile::create(&args.out, ".qharness-synth-")?;
    let summary = sim::write_page(&opts, &mut out)?;
    out.publish()?;
    println!(
        "wrote {}: {}",
        args.out.display(),
        (writer.describe)(&summary)
    );
    Ok(())
}

async fn conform(args: ConformArgs) -> Result<()> {
    let connector = args.connector()?;
    let bundled_dir;
    let paths = if args.paths.is_empty() {
        bundled_dir = tempfile::tempdir()
            .map_err(|e| Error::io("creating a temporary directory in", std::env::temp_dir(), e))?;
        let dir = catalogue::extract_bundled(bundled_dir.path())?;
        eprintln!(
            "running the bundled catalogue ({} scenarios){}",
            catalogue::bundled_count(),
            if cfg!(debug_assertions) {
                "; debug build: throughput scenarios are skipped (use --release)"
            } else {
                ""
            }
        );
        vec![dir]
    } else {
        args.paths.clone()
    };
    let mut scenarios = catalogue::discover(&paths)?;
    // Timed scenarios last, so the functional ones report quickly.
    scenarios.sort_by_key(|s| s.is_throughput());
    eprintln!(
        "judging {} on {} scenario(s)",
        connector.describe(),
        scenarios.len()
    );
    let mut results = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let outcome = scenario::run_with(&scenario, &connector).await;
        eprintln!(
            "{} {} ({:.2}s)",
            match outcome.verdict {
                Verdict::Passed => "ok     ",
                Verdict::Failed => "FAILED ",
                Verdict::Skipped(_) => "skipped",
            },
            scenario.id(),
            outcome.duration.as_secs_f64()
        );
        if !outcome.report.is_empty() {
            eprintln!("{}", outcome.report);
        }
        results.push((scenario, outcome));
    }
    println!("{}", report::table(&results));
    if let Some(path) = &args.junit {
        report::write_junit(&results, path)?;
    }
    let failed = results
        .iter()
        .filter(|(_, o)| o.verdict == Verdict::Failed)
        .count();
    if failed > 0 {
        return Err(Error::ScenariosFailed {
            failed,
            total: results.len(),
        });
    }
    Ok(())
}

/// A progress bar on stderr when stderr is a terminal; nothing otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start(live: Arc<LiveCounters>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                ticker: None,
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let ticking = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                ticking.set_message(format!(
                    "{} records, {} pages, {:.1} MB, {} requests",
                    live.get(&live.records),
                    live.get(&live.pages),
                    live.get(&live.bytes) as f64 / 1e6,
                    live.get(&live.requests),
                ));
                ticking.tick();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Progress {
            bar: Some(bar),
            ticker: Some(ticker),
        }
    }

    fn stop(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}
