//! `Simulator`: starting the simulated server in-process (tests) or from `qharness serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use url::Url;

use crate::error::{Error, Result};

use crate::sim::engine::Engine;
use crate::sim::engine::admin::AdminToken;
use crate::sim::engine::journal::{Journal, JournalLimits};
use crate::sim::engine::replay::FixtureSet;
use crate::sim::server::tls::SelfSigned;
use crate::sim::server::transport::{self, ConnectionLimits, Surface};
use crate::sim::tenant::Tenant;
use crate::sim::timestamp::Timestamp;

/// How to start a simulator.
#[derive(Debug)]
pub struct SimulatorConfig {
    tenant: Tenant,
    fixtures: Option<FixtureSet>,
    addr: SocketAddr,
    tls: bool,
    connections: ConnectionLimits,
    admin_token: Option<AdminToken>,
    admin_addr: Option<SocketAddr>,
    journal: JournalLimits,
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
            connections: ConnectionLimits::default(),
            admin_token: None,
            admin_addr: None,
            journal: JournalLimits::default(),
        }
    }

    /// The admin API's bearer token (default: a random one, see
    /// [`RunningSimulator::admin_token`]).
    pub fn admin_token(mut self, token: AdminToken) -> SimulatorConfig {
        self.admin_token = Some(token);
        self
    }

    /// Serve the admin API on a listener of its own at `addr` (any address: asking is
    /// consent), and not on the main one. Without it the admin API shares the main listener
    /// when that is a loopback address, and is not served at all otherwise.
    pub fn admin_addr(mut self, addr: SocketAddr) -> SimulatorConfig {
        self.admin_addr = Some(addr);
        self
    }

    /// How many entries and bytes the request journal keeps before dropping the oldest
    /// (default 100,000 entries, 64 MiB).
    pub fn journal_limits(mut self, limits: JournalLimits) -> SimulatorConfig {
        self.journal = limits;
        self
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

    /// Serve at most `n` connections at once (default 512); further clients wait in the
    /// listen backlog until one ends.
    ///
    /// # Panics
    ///
    /// When `n` is 0: a simulator that serves nothing is a programmer error.
    pub fn max_connections(mut self, n: usize) -> SimulatorConfig {
        assert!(
            n > 0,
            "a simulator must serve at least one connection at once"
        );
        self.connections.max_connections = n;
        self
    }

    /// How long a client may take to send a request head or finish a TLS handshake (default
    /// 30 s); a connection past it is closed, and so is a keep-alive connection idle as long.
    pub fn header_read_timeout(mut self, timeout: Duration) -> SimulatorConfig {
        self.connections.header_read_timeout = timeout;
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
        let (listener, addr) = bind(config.addr, "--addr").await?;
        let admin = match config.admin_addr {
            Some(a) => Some(bind(a, "--admin-addr").await?),
            None => None,
        };
        let tls = if config.tls {
            Some(SelfSigned::generate()?)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = base_url_for(scheme, addr)?;
        let surface = main_surface(addr, admin.is_some());
        let admin_url = match &admin {
            Some((_, a)) => Some(base_url_for(scheme, *a)?),
            None => (surface == Surface::Both).then(|| base_url.clone()),
        };
        let engine = Arc::new(
            Engine::new(config.tenant, config.fixtures)
                .with_journal_limits(config.journal)
                .with_admin_token(config.admin_token.unwrap_or_else(AdminToken::random)),
        );
        let (stop, stopped) = watch::channel(false);
        let cert_pem = tls.as_ref().map(|t| t.cert_pem.clone());
        let acceptor = tls.map(|t| t.acceptor);
        let open = Arc::new(Semaphore::new(config.connections.max_connections));
        let mut tasks = vec![tokio::spawn(transport::run(
            listener,
            Arc::clone(&engine),
            acceptor.clone(),
            stopped.clone(),
            config.connections,
            Arc::clone(&open),
            surface,
        ))];
        if let Some((listener, _)) = admin {
            // The admin API's own budget: a test suite's few calls never wait behind the
            // connector load on the main listener.
            let limits = ConnectionLimits {
                max_connections: ADMIN_CONNECTIONS,
                ..config.connections
            };
            tasks.push(tokio::spawn(transport::run(
                listener,
                Arc::clone(&engine),
                acceptor,
                stopped,
                limits,
                Arc::new(Semaphore::new(ADMIN_CONNECTIONS)),
                Surface::Admin,
            )));
        }
        Ok(RunningSimulator {
            base_url,
            addr,
            admin_url,
            cert_pem,
            engine,
            stop,
            tasks,
            open,
            max_connections: config.connections.max_connections,
        })
    }
}

/// What the main listener serves: the admin API too only when it has no listener of its own
/// and the main one is on loopback, so it is never exposed on a network unless asked for.
fn main_surface(addr: SocketAddr, admin_listener: bool) -> Surface {
    if !admin_listener && addr.ip().is_loopback() {
        Surface::Both
    } else {
        Surface::Api
    }
}

/// Connections the admin listener serves at once.
const ADMIN_CONNECTIONS: usize = 64;

async fn bind(addr: SocketAddr, flag: &str) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Simulator {
            problem: format!(
                "could not listen on {addr}: {e}; choose another {flag} or free the port"
            ),
            source: Some(Box::new(e)),
        })?;
    let bound = listener.local_addr().map_err(|e| Error::Simulator {
        problem: format!("could not read the bound address: {e}"),
        source: Some(Box::new(e)),
    })?;
    Ok((listener, bound))
}

fn base_url_for(scheme: &str, addr: SocketAddr) -> Result<Url> {
    Url::parse(&format!("{scheme}://{addr}/")).map_err(|e| Error::Simulator {
        problem: format!("could not form the base URL for {addr}: {e}"),
        source: None,
    })
}

/// A simulator serving in the background; dropping it stops it.
pub struct RunningSimulator {
    /// `http://127.0.0.1:PORT/` (or `https://`).
    pub base_url: Url,
    pub addr: SocketAddr,
    /// Where the admin API is served (its routes are under `/__sim/`): the base URL, the
    /// `--admin-addr` listener, or nowhere when the main listener is not on loopback.
    pub admin_url: Option<Url>,
    cert_pem: Option<String>,
    engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    open: Arc<Semaphore>,
    max_connections: usize,
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

    /// The admin API's bearer token: `Authorization: Bearer <token>` on every `/__sim/` call.
    pub fn admin_token(&self) -> &str {
        self.engine.admin_token().expose()
    }

    /// The admin route `path` (e.g. `"/__sim/journal"`), when the admin API is served.
    pub fn admin_route(&self, path: &str) -> Option<Url> {
        let mut u = self.admin_url.clone()?;
        u.set_path(path);
        Some(u)
    }

    /// Resets the journal, fault counters, limit windows, fixture sequences and the tenant's
    /// clock.
    pub fn reset(&self) {
        self.engine.reset();
    }

    /// The TLS certificate, PEM encoded, when serving HTTPS.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// The tenant being served (a snapshot: `PUT /__sim/tenant` may replace it later).
    pub fn tenant(&self) -> Arc<Tenant> {
        self.engine.tenant()
    }

    /// The moment answers are given at: the tenant's clock, or the real time without one.
    pub fn now(&self) -> Timestamp {
        self.engine.now()
    }

    /// Moves the tenant's clock to `now`: the tenant's changes up to it become visible (see
    /// the tenant documentation on changes over time). Also `POST /__sim/clock` with `now=`.
    pub fn set_clock(&self, now: Timestamp) {
        self.engine.set_clock(now);
    }

    /// Connections being served right now (never more than the configured maximum).
    pub fn open_connections(&self) -> usize {
        self.max_connections
            .saturating_sub(self.open.available_permits())
    }

    /// Stops accepting, lets open exchanges finish (up to 5 s) and waits for the server.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.tasks) {
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
    /// Connections served at once (default 512).
    pub max_connections: usize,
    /// Time a client has to send a request head (default 30 s).
    pub header_read_timeout: Duration,
    /// The admin API's bearer token; a random one, printed at start, when absent.
    pub admin_token: Option<String>,
    /// A listener of its own for the admin API.
    pub admin_addr: Option<SocketAddr>,
    /// How much the request journal keeps.
    pub journal: JournalLimits,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tenant: None,
            fixtures: None,
            tls: false,
            cert_out: None,
            max_connections: ConnectionLimits::default().max_connections,
            header_read_timeout: ConnectionLimits::default().header_read_timeout,
            admin_token: None,
            admin_addr: None,
            journal: JournalLimits::default(),
        }
    }
}

/// Runs the simulator until Ctrl-C or SIGTERM (how CI runners and containers stop a service):
/// prints `qharness simulator listening on <base_url>` when ready (and the certificate path
/// with TLS), and lets open exchanges finish before it returns.
pub async fn serve(opts: ServeOptions) -> Result<()> {
    if opts.max_connections == 0 {
        return Err(Error::config(
            "max_connections",
            "0 would serve nothing",
            "give --max-connections a positive number (default 512)",
        ));
    }
    if opts.journal.max_entries == 0 || opts.journal.max_bytes == 0 {
        return Err(Error::config(
            "journal",
            "a journal bound of 0 would keep nothing, not even the last request",
            "give --journal-max-entries and --journal-max-mib positive numbers",
        ));
    }
    let given_token = match &opts.admin_token {
        Some(t) => Some(AdminToken::new(t).map_err(|problem| {
            Error::config(
                "admin_token",
                problem,
                "give --admin-token (or QHARNESS_ADMIN_TOKEN) a longer token, e.g. 32 random hexadecimal characters",
            )
        })?),
        None => None,
    };
    let tenant = match &opts.tenant {
        Some(p) => Tenant::load(p)?,
        None => Tenant::demo(),
    };
    let mut config = SimulatorConfig::from_tenant(tenant)
        .addr(opts.addr)
        .tls(opts.tls)
        .max_connections(opts.max_connections)
        .header_read_timeout(opts.header_read_timeout)
        .journal_limits(opts.journal);
    if let Some(t) = given_token.clone() {
        config = config.admin_token(t);
    }
    if let Some(a) = opts.admin_addr {
        config = config.admin_addr(a);
    }
    if let Some(dir) = &opts.fixtures {
        config = config.with_fixtures(FixtureSet::load(dir)?);
    }
    // Listen for the signals before saying "listening": a supervisor may stop the service as
    // soon as it reads that line, and an early SIGTERM must stop it cleanly too.
    let stop = StopSignal::listen()?;
    let sim = Simulator::start(config).await?;
    if let (Some(pem), Some(path)) = (sim.certificate_pem(), &opts.cert_out) {
        std::fs::write(path, pem).map_err(|e| Error::io("writing the certificate", path, e))?;
    }
    // Whoever started us may close our stdout as soon as it has read the URL (a pipe read for
    // the first line only): what is printed after that is lost, never a panic.
    macro_rules! say {
        ($($arg:tt)*) => {{
            use std::io::Write as _;
            let _ = writeln!(std::io::stdout(), $($arg)*);
        }};
    }
    say!("qharness simulator listening on {}", sim.base_url);
    match &sim.admin_url {
        // A generated token is printed: it is a throwaway credential of this process, and the
        // test suite that started it has no other way to learn it. A given one is never echoed.
        Some(url) if given_token.is_none() => say!(
            "qharness simulator admin API at {url}__sim/ (Authorization: Bearer {})",
            sim.admin_token()
        ),
        Some(url) => say!(
            "qharness simulator admin API at {url}__sim/ (Authorization: Bearer, the token given by --admin-token or QHARNESS_ADMIN_TOKEN)"
        ),
        None => say!(
            "qharness simulator admin API not served: {} is not a loopback address; give --admin-addr 127.0.0.1:PORT to serve it on a listener of its own",
            sim.addr
        ),
    }
    if let Some(path) = opts.cert_out.as_ref().filter(|_| opts.tls) {
        say!(
            "qharness simulator certificate written to {}",
            path.display()
        );
    }
    let signal = stop.wait().await?;
    say!("qharness simulator stopping ({signal})");
    sim.shutdown().await;
    Ok(())
}

/// Ctrl-C (SIGINT) and, on Unix, SIGTERM, listened for from the moment it is made (on Unix both
/// handlers are installed at once; a lazily installed one would miss an early signal).
struct StopSignal {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn listen() -> Result<StopSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignal {
                int: signal(SignalKind::interrupt()).map_err(|e| signal_error("Ctrl-C", e))?,
                term: signal(SignalKind::terminate()).map_err(|e| signal_error("SIGTERM", e))?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignal {})
    }

    /// Waits for the first of the signals and names it.
    async fn wait(mut self) -> Result<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => Ok("Ctrl-C"),
                _ = self.term.recv() => Ok("SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .map(|()| "Ctrl-C")
                .map_err(|e| signal_error("Ctrl-C", e))
        }
    }
}

fn signal_error(what: &str, e: std::io::Error) -> Error {
    Error::Simulator {
        problem: format!("could not wait for {what}: {e}"),
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_api_shares_only_a_loopback_listener_that_has_no_admin_listener_beside_it() {
        let at = |a: &str| a.parse::<SocketAddr>().unwrap();
        assert_eq!(main_surface(at("127.0.0.1:8080"), false), Surface::Both);
        assert_eq!(main_surface(at("[::1]:8080"), false), Surface::Both);
        assert_eq!(main_surface(at("0.0.0.0:8080"), false), Surface::Api);
        assert_eq!(main_surface(at("192.0.2.10:8080"), false), Surface::Api);
        assert_eq!(main_surface(at("127.0.0.1:8080"), true), Surface::Api);
    }
}
