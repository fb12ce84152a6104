//! `Simulator`: starting the simulated server in-process (tests) or from `qharness serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use url::Url;

use crate::error::{Error, Result};

use crate::sim::engine::Engine;
use crate::sim::engine::journal::Journal;
use crate::sim::engine::replay::FixtureSet;
use crate::sim::server::tls::SelfSigned;
use crate::sim::server::transport;
use crate::sim::tenant::Tenant;

/// How to start a simulator.
#[derive(Debug)]
pub struct SimulatorConfig {
    tenant: Tenant,
    fixtures: Option<FixtureSet>,
    addr: SocketAddr,
    tls: bool,
}

impl SimulatorConfig {
    /// The embedded demo tenant on `127.0.0.1`, a random port, plain HTTP.
    pub fn demo() -> SimulatorConfig {
        SimulatorConfig::from_tenant(Tenant::demo())
    }

    pub fn from_tenant(tenant: Tenant) -> SimulatorConfig {
        SimulatorConfig {
            tenant,
            fixtures: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
        }
    }

    /// Answer from recorded fixtures first.
    pub fn with_fixtures(mut self, fixtures: FixtureSet) -> SimulatorConfig {
        self.fixtures = Some(fixtures);
        self
    }

    pub fn addr(mut self, addr: SocketAddr) -> SimulatorConfig {
        self.addr = addr;
        self
    }

    /// Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost.
    pub fn tls(mut self, tls: bool) -> SimulatorConfig {
        self.tls = tls;
        self
    }
}

/// Starts simulators.
pub struct Simulator;

impl Simulator {
    /// Binds, starts serving in the background and returns a handle.
    ///
    /// ```no_run
    /// # async fn run() -> qualys_harness::Result<()> {
    /// use qualys_harness::sim::{Simulator, SimulatorConfig};
    /// let sim = Simulator::start(SimulatorConfig::demo()).await?;
    /// let url = sim.url("/api/2.0/fo/asset/host/vm/detection/");
    /// // ... point a client at `url` with user quays_ab1 / password demo ...
    /// assert!(sim.journal().entries().is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn start(config: SimulatorConfig) -> Result<RunningSimulator> {
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|e| Error::Simulator {
                problem: format!(
                    "could not listen on {}: {e}; choose another --addr or free the port",
                    config.addr
                ),
                source: Some(Box::new(e)),
            })?;
        let addr = listener.local_addr().map_err(|e| Error::Simulator {
            problem: format!("could not read the bound address: {e}"),
            source: Some(Box::new(e)),
        })?;
        let tls = if config.tls {
            Some(SelfSigned::generate()?)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url =
            Url::parse(&format!("{scheme}://{addr}/")).map_err(|e| Error::Simulator {
                problem: format!("could not form the base URL for {addr}: {e}"),
                source: None,
            })?;
        let engine = Arc::new(Engine::new(config.tenant, config.fixtures));
        let (stop, stopped) = watch::channel(false);
        let cert_pem = tls.as_ref().map(|t| t.cert_pem.clone());
        let task = tokio::spawn(transport::run(
            listener,
            Arc::clone(&engine),
            tls.map(|t| t.acceptor),
            stopped,
        ));
        Ok(RunningSimulator {
            base_url,
            addr,
            cert_pem,
            engine,
            stop,
            task: Some(task),
        })
    }
}

/// A simulator serving in the background; dropping it stops it.
pub struct RunningSimulator {
    /// `http://127.0.0.1:PORT/` (or `https://`).
    pub base_url: Url,
    pub addr: SocketAddr,
    cert_pem: Option<String>,
    engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSimulator {
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The base URL joined with `path`, e.g. `sim.url("/msp/about.php")`.
    pub fn url(&self, path: &str) -> Url {
        let mut u = self.base_url.clone();
        u.set_path(path);
        u
    }

    /// The request journal (a live handle).
    pub fn journal(&self) -> Journal {
        self.engine.journal()
    }

    /// Resets the journal, fault counters, limit windows and fixture sequences.
    pub fn reset(&self) {
        self.engine.reset();
    }

    /// The TLS certificate, PEM encoded, when serving HTTPS.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// The tenant being served.
    pub fn tenant(&self) -> &Tenant {
        self.engine.tenant()
    }

    /// Stops accepting, lets open exchanges finish (up to 5 s) and waits for the server.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Options of `qharness serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// A tenant file; the embedded demo tenant when absent.
    pub tenant: Option<PathBuf>,
    /// A fixture set directory (with `manifest.toml`).
    pub fixtures: Option<PathBuf>,
    pub tls: bool,
    /// Where to write the certificate (PEM) when serving TLS.
    pub cert_out: Option<PathBuf>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tenant: None,
            fixtures: None,
            tls: false,
            cert_out: None,
        }
    }
}

/// Runs the simulator until Ctrl-C: prints `qharness simulator listening on <base_url>` when
/// ready (and the certificate path with TLS).
pub async fn serve(opts: ServeOptions) -> Result<()> {
    let tenant = match &opts.tenant {
        Some(p) => Tenant::load(p)?,
        None => Tenant::demo(),
    };
    let mut config = SimulatorConfig::from_tenant(tenant)
        .addr(opts.addr)
        .tls(opts.tls);
    if let Some(dir) = &opts.fixtures {
        config = config.with_fixtures(FixtureSet::load(dir)?);
    }
    let sim = Simulator::start(config).await?;
    if let (Some(pem), Some(path)) = (sim.certificate_pem(), &opts.cert_out) {
        std::fs::write(path, pem).map_err(|e| Error::io("writing the certificate", path, e))?;
    }
    println!("qharness simulator listening on {}", sim.base_url);
    if let Some(path) = opts.cert_out.as_ref().filter(|_| opts.tls) {
        println!(
            "qharness simulator certificate written to {}",
            path.display()
        );
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Error::Simulator {
            problem: format!("could not wait for Ctrl-C: {e}"),
            source: Some(Box::new(e)),
        })?;
    println!("qharness simulator stopping");
    sim.shutdown().await;
    Ok(())
}
