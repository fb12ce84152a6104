//! `qharness`: the command-line front end. Parses arguments, sets up logging and progress
//! display, and calls the library. Exit codes: 0 success, 2 configuration or usage error,
//! 3 credential/account/permission problem, 4 transient failure after retries, 1 anything else.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use qualys_harness::config::{
    CommonSettings, FindingTypeList, PASSWORD_ENV, StatusList, VmdrSettings, WasSettings,
};
use qualys_harness::scenario::{self, Verdict, catalogue, report};
use qualys_harness::sim::{self, SynthOptions, SynthStream};
use qualys_harness::{
    AtomicFile, BuiltinRun, CountSink, Error, FileSink, LiveCounters, ParseMode, Result,
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
    /// vmdr-vulnerabilities (Host List Detection), vmdr-assets (Host List) or was-findings
    /// (a verbose WAS findings search).
    #[arg(long, value_enum)]
    stream: SynthStream,
    /// Number of hosts (web applications for was-findings).
    #[arg(long, conflicts_with = "size", required_unless_present = "size")]
    hosts: Option<u64>,
    /// Stop adding hosts once the file reaches this size (e.g. 200MB, 1GB).
    #[arg(long, value_parser = sim::synthetic::parse_size)]
    size: Option<u64>,
    /// Mean detections per host (exponential, capped at 200); for was-findings, the findings
    /// of each web application.
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
    /// The stream: vmdr-assets, vmdr-vulnerabilities, was-assets or was-findings.
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
    /// The WAS module's settings.
    #[command(flatten)]
    was: WasFlags,
    /// Extra CA certificate (PEM) to trust, e.g. the simulator's.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Attempts per request for transient failures (default 5).
    #[arg(long)]
    max_attempts: Option<u32>,
    /// Total seconds the run may spend waiting on rate limits and backoff (default 300).
    #[arg(long)]
    max_wait_secs: Option<u64>,
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

/// The flags of the WAS module's settings ([`WasSettings`]).
#[derive(Args)]
struct WasFlags {
    /// WAS finding types, comma-separated: VULNERABILITY,SENSITIVE_CONTENT,INFORMATION_GATHERED
    /// (default: all three).
    #[arg(long)]
    finding_types: Option<String>,
    /// WAS records per page, 1 to 1000 (default 1000).
    #[arg(long, allow_negative_numbers = true)]
    page_size: Option<i64>,
}

impl WasFlags {
    fn settings(&self) -> WasSettings {
        WasSettings {
            finding_types: self.finding_types.clone().map(FindingTypeList::Text),
            page_size: self.page_size,
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
                ..CommonSettings::default()
            },
            vmdr: self.vmdr.settings(),
            was: self.was.settings(),
        };
        Ok(file.overridden_by(flags))
    }
}

#[derive(Args)]
struct ParseArgs {
    /// The stream whose response the file holds: vmdr-vulnerabilities, vmdr-assets,
    /// was-assets or was-findings.
    #[arg(long)]
    stream: StreamKind,
    /// Print only the number of records the stream would emit.
    #[arg(long)]
    count: bool,
    /// The saved response, or - for standard input.
    file: PathBuf,
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
    let result = match cli.command {
        Command::Fetch(args) => runtime.block_on(fetch(*args)),
        Command::Parse(args) => parse(args),
        Command::Conform(args) => runtime.block_on(conform(args)),
        Command::Serve(args) => runtime.block_on(sim::serve(sim::ServeOptions {
            addr: args.addr,
            tenant: args.tenant,
            fixtures: args.fixtures,
            tls: args.tls,
            cert_out: args.cert_out,
            max_connections: args.max_connections,
            header_read_timeout: std::time::Duration::from_secs(args.header_timeout_secs),
        })),
        Command::Synth(args) => synth(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
    // debug/trace levels, and an Authorization header must never reach the log.
    let filter = std::env::var("QHARNESS_LOG")
        .unwrap_or_else(|_| format!("warn,qualys_harness={level},qharness={level}"));
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
}

fn report(e: &Error) {
    eprintln!("error: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        eprintln!("  caused by: {s}");
        source = s.source();
    }
}

async fn fetch(args: FetchArgs) -> Result<()> {
    let settings = args.settings()?;
    let run = BuiltinRun::prepare(&settings, std::env::var(PASSWORD_ENV).ok())?;
    for w in run.warnings() {
        eprintln!("warning: {w}");
    }
    let mut sink: Box<dyn Sink> = match &args.out {
        Some(path) => Box::new(FileSink::create(path)?),
        None => Box::new(StdoutSink::new()),
    };
    let progress = Progress::start(run.live());
    let result = run.run(sink.as_mut()).await;
    progress.stop();
    let summary = result?;
    sink.finish()?;
    eprintln!("{}", summary.describe());
    Ok(())
}

fn parse(args: ParseArgs) -> Result<()> {
    let stream = args.stream.builtin()?;
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
        stream.parse_saved(input, "<stdin>", mode, sink)?
    } else {
        let file =
            std::fs::File::open(&args.file).map_err(|e| Error::io("opening", &args.file, e))?;
        let input = SavedResponse::File(std::io::BufReader::with_capacity(64 * 1024, file));
        stream.parse_saved(input, &args.file.display().to_string(), mode, sink)?
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
    let (assets, items) = match args.stream {
        SynthStream::WasFindings => ("web applications", "findings"),
        SynthStream::VmdrVulnerabilities | SynthStream::VmdrAssets => ("hosts", "detections"),
    };
    println!(
        "wrote {}: {} {assets}, {} {items} ({} records), {} bytes",
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
