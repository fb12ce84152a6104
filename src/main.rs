//! `qharness`: the command-line front end. Parses arguments and calls the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use qualys_harness::sim::{self, SynthOptions, SynthStream};

#[derive(Parser)]
#[command(
    name = "qharness",
    version,
    about = "Connector, simulated server and conformance suite for the Qualys APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the simulated Qualys server until Ctrl-C.
    Serve {
        /// Address to listen on (loopback unless told otherwise).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Tenant file (TOML); the embedded demo tenant when absent.
        #[arg(long)]
        tenant: Option<PathBuf>,
        /// Fixture set directory (with manifest.toml) to replay.
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost.
        #[arg(long)]
        tls: bool,
        /// Write the certificate (PEM) here.
        #[arg(long, requires = "tls")]
        cert_out: Option<PathBuf>,
    },
    /// Write a deterministic synthetic Qualys response to a file.
    Synth {
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
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qharness: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            addr,
            tenant,
            fixtures,
            tls,
            cert_out,
        } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(sim::serve(sim::ServeOptions {
                addr,
                tenant,
                fixtures,
                tls,
                cert_out,
            }))?;
        }
        Command::Synth {
            stream,
            hosts,
            size,
            detections_per_host,
            seed,
            out,
        } => {
            let mut opts = SynthOptions::hosts(hosts.unwrap_or(0), seed);
            opts.stream = stream;
            opts.hosts = hosts;
            opts.size = size;
            opts.detections_per_host = detections_per_host;
            let file = std::fs::File::create(&out)
                .map_err(|e| qualys_harness::Error::io("creating", &out, e))?;
            let s = sim::write_page(&opts, std::io::BufWriter::with_capacity(1 << 20, file))?;
            println!(
                "wrote {}: {} hosts, {} detections ({} records), {} bytes",
                out.display(),
                s.hosts,
                s.detections,
                s.records,
                s.bytes
            );
        }
    }
    Ok(())
}
