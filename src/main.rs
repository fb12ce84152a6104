//! `qharness`: the command-line front end. Parses arguments, sets up logging and progress
//! display, and calls the library. Exit codes: 0 success, 2 configuration or usage error,
//! 3 credential/account/permission problem, 4 transient failure after retries, 1 anything else,
//! 130/143 `fetch` stopped by SIGINT/SIGTERM (its partial output removed).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use qualys_harness::config::{CommonSettings, PASSWORD_ENV, StatusList, VmdrSettings};
use qualys_harness::scenario::{self, Verdict, catalogue, report};
use qualys_harness::sim::{self, SynthOptions, SynthStream};
use qualys_harness::{
    AtomicFile, BuiltinRun, CountSink, Error, FileSink, LiveCounters, ParseMode, Result, SavedKind,
    SavedResponse, Settings, Sink, StdoutSink, StreamKind,
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
    /// Run conformance scenarios (default: the bundled catalogue) against the built-in connector
    /// and the embedded simulator; exit 0 only if all pass.
    Conform(ConformArgs),
    /// Run the simulated Qualys server until Ctrl-C or SIGTERM (default: the embedded demo tenant on
    /// 127.0.0.1:8080).
    Serve(ServeArgs),
    /// Write a deterministic synthetic Qualys response (a large scan) to a file.
    Synth(SynthArgs),
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
}

#[derive(Args)]
struct SynthArgs {
    /// vmdr-vulnerabilities (Host List Detection) or vmdr-assets (Host List).
    #[arg(long, value_enum)]
    stream: SynthStream,
    /// Number of hosts.
    #[arg(long, conflicts_with = "size", required_unless_present = "size")]
    hosts: Option<u64>,
    /// Stop adding hosts once the file reaches this size (e.g. 200MB, 1GB).
    #[arg(long, value_parser = sim::synthetic::parse_size)]
    size: Option<u64>,
    /// Mean detections per host (exponential, capped at 200).
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
}

#[derive(Args)]
struct FetchArgs {
    /// The stream: vmdr-assets or vmdr-vulnerabilities.
    #[arg(long)]
    stream: Option<StreamKind>,
    /// The platform's API server URL, e.g. https://qualysapi.qualys.com (US1).
    #[arg(long)]
    platform_url: Option<String>,
    /// The Qualys API user. The password comes from QUALYS_PASSWORD or password_file.
    #[arg(long)]
    username: Option<String>,
    /// The VMDR module's settings (flattened: the flags keep their names and places).
    #[command(flatten)]
    vmdr: VmdrFlags,
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
}

/// The flags of the VMDR module's settings ([`VmdrSettings`]).
#[derive(Args)]
struct VmdrFlags {
    /// Vulnerability statuses, comma-separated: New,Active,Re-Opened,Fixed (default: all).
    #[arg(long)]
    status: Option<String>,
    /// Asset tag names to include, comma-separated (requires --tag-exclude).
    #[arg(long)]
    tag_include: Option<String>,
    /// Asset tag names to exclude, comma-separated (requires --tag-include).
    #[arg(long)]
    tag_exclude: Option<String>,
    /// any (default) or all.
    #[arg(long)]
    tag_include_selector: Option<String>,
    /// any (default) or all.
    #[arg(long)]
    tag_exclude_selector: Option<String>,
    /// 0 no filter, 1 exclude non-running kernels, 2 only non-running, 3 only running kernels.
    #[arg(long, allow_negative_numbers = true)]
    arf_kernel_filter: Option<i64>,
    /// Hosts per page (default 1000).
    #[arg(long)]
    truncation_limit: Option<u32>,
    /// Also return detections marked ignored (Qualys include_ignored=1).
    #[arg(long)]
    include_ignored: bool,
    /// Also return disabled detections (Qualys include_disabled=1).
    #[arg(long)]
    include_disabled: bool,
    /// QIDs per KnowledgeBase request (default 300).
    #[arg(long)]
    kb_batch_size: Option<usize>,
    /// Do not join KnowledgeBase facts (title, CVEs, CVSS) onto detections.
    #[arg(long)]
    no_knowledge_base: bool,
}

impl VmdrFlags {
    fn settings(&self) -> VmdrSettings {
        VmdrSettings {
            status: self.status.clone().map(StatusList::Text),
            tag_include: self.tag_include.clone(),
            tag_exclude: self.tag_exclude.clone(),
            tag_include_selector: self.tag_include_selector.clone(),
            tag_exclude_selector: self.tag_exclude_selector.clone(),
            arf_kernel_filter: self.arf_kernel_filter,
            truncation_limit: self.truncation_limit,
            include_ignored: self.include_ignored.then_some(true),
            include_disabled: self.include_disabled.then_some(true),
            kb_batch_size: self.kb_batch_size,
            knowledge_base: self.no_knowledge_base.then_some(false),
        }
    }
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
            vmdr: self.vmdr.settings(),
        };
        Ok(file.overridden_by(flags))
    }
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["stream", "kind"]))]
struct ParseArgs {
    /// The stream whose response the file holds: vmdr-vulnerabilities (a Host List Detection
    /// answer) or vmdr-assets (a Host List answer).
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
        }))),
        Command::Synth(args) => done(synth(args)),
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
    // Written beside the target and renamed when complete: an interrupted run leaves no file
    // that looks like a finished scan.
    let mut out = AtomicFile::create(&args.out, ".qharness-synth-")?;
    let summary = sim::write_page(&opts, &mut out)?;
    out.publish()?;
    println!(
        "wrote {}: {} hosts, {} detections ({} records), {} bytes",
        args.out.display(),
        summary.hosts,
        summary.detections,
        summary.records,
        summary.bytes
    );
    Ok(())
}

async fn conform(args: ConformArgs) -> Result<()> {
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
    let mut results = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let outcome = scenario::run(&scenario).await;
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
        return Err(Error::Unexpected {
            origin: "conform".into(),
            offset: 0,
            problem: format!(
                "{failed} of {} scenarios failed (reports above)",
                results.len()
            ),
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
