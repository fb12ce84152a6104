//! The transport: hyper (HTTP/1.1, optionally over TLS) in front of the [`Engine`].
//!
//! It accepts connections, turns each request into a [`SimRequest`] (merging query and form
//! parameters, decoding Basic credentials, keeping only the journalled headers), asks the engine,
//! and sends the answer. Bodies produced by a [`ChunkSource`] are rendered on a blocking thread
//! and handed over through a small bounded channel, so a slow client slows the renderer instead
//! of filling memory. Delivery faults happen here: the delay before the head, dribbling, clean
//! truncation, and the connection reset of `disconnect_after` (the socket is closed with
//! `SO_LINGER` 0, so the client sees a TCP RST). Every answer's `Date` is the tenant's clock.
//!
//! The accept loop defends the process: at most [`ConnectionLimits::max_connections`] at once
//! (the rest wait in the listen backlog), a deadline for each request head and TLS handshake so
//! slow clients cannot hold connections open, and a back-off when `accept` itself fails (out of
//! file descriptors) instead of a hot loop.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::sim::engine::Engine;
use crate::sim::engine::fault::Delivery;
use crate::sim::engine::journal::{Completion, Journal, Ticket};
use crate::sim::engine::limits::RunningGuard;
use crate::sim::engine::routing::Route;
use crate::sim::server::request::{Credentials, JOURNALLED_HEADERS, SimRequest, is_form_body};
use crate::sim::server::response::{
    Body, BytesSource, CHUNK_TARGET, ChunkSource, Gzip, SimResponse, content_type,
};

/// Which paths a listener serves: the Qualys API, the admin API (`/__sim/...`), or both (one
/// loopback listener, the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Qualys paths only: an admin path gets the web server's 404, as any unknown path does.
    Api,
    /// Admin paths only (`--admin-addr`): anything else gets a JSON 404.
    Admin,
    /// Both.
    Both,
}

impl Surface {
    fn serves_admin(self) -> bool {
        matches!(self, Surface::Admin | Surface::Both)
    }
}

/// The largest request body read (KnowledgeBase `ids` lists are long; nothing else is).
const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

/// What bounds the connections the simulator holds: how many at once and how long a client
/// may take to send a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; further clients wait in the listen backlog until one ends.
    pub max_connections: usize,
    /// How long a client has to send a complete request head (and a TLS client to finish its
    /// handshake); an idle keep-alive connection is closed after the same time.
    pub header_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    /// 512 connections (a connector opens a handful), 30 s for a request head (hyper's own
    /// default, and within Apache's `mod_reqtimeout` 20-40 s).
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(30),
        }
    }
}

/// Runs the accept loop until `shutdown` turns true. `open` holds one permit per connection
/// being served (`limits.max_connections` in all).
pub async fn run(
    listener: TcpListener,
    engine: Arc<Engine>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
    limits: ConnectionLimits,
    open: Arc<Semaphore>,
    surface: Surface,
) {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let local = listener.local_addr().ok();
    let mut backoff = AcceptBackoff::default();
    loop {
        // A permit first: at the connection limit, new clients stay in the kernel's backlog
        // instead of costing a file descriptor each.
        let permit = tokio::select! {
            p = Arc::clone(&open).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let accepted = loop {
            let attempt = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.changed() => break None,
            };
            match attempt {
                Ok(x) => {
                    backoff.succeeded();
                    break Some(x);
                }
                // One client's failure (it reset before we accepted): nothing to wait for.
                Err(e) if is_per_connection(&e) => {
                    tracing::debug!(error = %e, "a connection failed while being accepted")
                }
                Err(e) => {
                    let pause = backoff.failed(&e);
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => break None,
                    }
                }
            }
        };
        let Some((stream, _)) = accepted else { break };
        let _ = stream.set_nodelay(true);
        let engine = Arc::clone(&engine);
        let tls = tls.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let reset = Arc::new(AtomicBool::new(false));
            let io = ResetOnDrop {
                inner: stream,
                reset: Arc::clone(&reset),
            };
            match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(io))
                        .await
                    {
                        Ok(Ok(s)) => {
                            serve_connection(
                                s, engine, reset, scheme, local, shutdown, limits, surface,
                            )
                            .await
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
                None => {
                    serve_connection(io, engine, reset, scheme, local, shutdown, limits, surface)
                        .await
                }
            }
        });
    }
}

/// Errors of `accept` that concern one client only; anything else (out of file descriptors,
/// out of memory) is the process's and is waited out.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// How the accept loop waits out a failing `accept`: pauses that double from 10 ms to 1 s, and
/// one warning per 10 s with the count of the failures in between, instead of a hot loop that
/// fills the log.
#[derive(Debug, Default)]
struct AcceptBackoff {
    pause: Duration,
    failures: u64,
    last_warning: Option<std::time::Instant>,
    unreported: u64,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);
    const WARN_EVERY: Duration = Duration::from_secs(10);

    /// Records a failure and returns how long to pause before the next `accept`.
    fn failed(&mut self, e: &io::Error) -> Duration {
        self.pause = if self.failures == 0 {
            Self::FIRST
        } else {
            (self.pause * 2).min(Self::MAX)
        };
        self.failures += 1;
        if self
            .last_warning
            .is_none_or(|t| t.elapsed() >= Self::WARN_EVERY)
        {
            tracing::warn!(
                error = %e,
                failures_since_last_warning = self.unreported,
                pause_ms = self.pause.as_millis() as u64,
                "the simulator could not accept a connection; pausing before the next try (\"Too many open files\" means the process is out of file descriptors: raise `ulimit -n` or lower --max-connections)"
            );
            self.last_warning = Some(std::time::Instant::now());
            self.unreported = 0;
        } else {
            self.unreported += 1;
        }
        self.pause
    }

    /// A connection was accepted: the next failure starts a fresh series.
    fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!(
                failures = self.failures,
                "the simulator accepts connections again"
            );
            *self = AcceptBackoff::default();
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the pieces of one connection's context"
)]
async fn serve_connection<I>(
    io: I,
    engine: Arc<Engine>,
    reset: Arc<AtomicBool>,
    scheme: &'static str,
    local: Option<SocketAddr>,
    mut shutdown: watch::Receiver<bool>,
    limits: ConnectionLimits,
    surface: Surface,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let engine = Arc::clone(&engine);
        let reset = Arc::clone(&reset);
        async move {
            let mut response =
                handle(req, Arc::clone(&engine), reset, scheme, local, surface).await;
            dated(&mut response, engine.now().0);
            Ok::<_, Infallible>(response)
        }
    });
    // The Date of every answer is the tenant's clock (`dated`), never hyper's own: one Date goes
    // out, and it is the time the tenant's changes are judged by.
    let conn = hyper::server::conn::http1::Builder::new()
        .auto_date_header(false)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    engine: Arc<Engine>,
    reset: Arc<AtomicBool>,
    scheme: &str,
    local: Option<SocketAddr>,
    surface: Surface,
) -> Response<SimBody> {
    let (parts, body) = req.into_parts();
    if hyper::body::Body::size_hint(&body).lower() > MAX_REQUEST_BODY as u64 {
        // A declared length over the cap is refused before a byte of it is read.
        return plain(413, body_too_large());
    }
    let body = match http_body_util::Limited::new(body, MAX_REQUEST_BODY)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return plain(413, body_too_large());
        }
        Err(e) => {
            // A broken body (bad chunk sizes, a connection cut mid-body) is the client's
            // malformed request, not an oversized one.
            return plain(
                400,
                format!(
                    "qharness simulator: the request body could not be read: {e}; check its Transfer-Encoding or Content-Length\n"
                ),
            );
        }
    };
    let sim = to_sim_request(&parts, body, scheme, local);
    let resp = match (Route::is_admin(&sim.path), surface) {
        (true, s) if !s.serves_admin() => engine.unknown_path(&sim),
        (false, Surface::Admin) => SimResponse::new(
            404,
            content_type::JSON,
            "{\"error\":\"this listener serves only the simulator's admin API, under /__sim/; Qualys paths are served at the simulator's base URL\"}\n",
        ),
        _ => engine.handle(&sim),
    };
    if let Some(d) = resp.delivery.delay {
        tokio::time::sleep(d).await;
    }
    let mut builder = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let tracker = Tracker {
        journal: engine.journal(),
        ticket: resp.ticket,
        bytes: 0,
        finished: false,
        guard: resp.guard,
        reset,
    };
    let body = SimBody::start(resp.body, resp.delivery, tracker);
    builder.body(body).unwrap_or_else(|e| {
        plain(
            500,
            format!("qharness simulator: invalid response head: {e}\n"),
        )
    })
}

/// Sets the answer's `Date` to `unix_secs` (the tenant's clock, or the real time without one),
/// as Qualys's servers send their own time. A recorded `Date` (a replayed fixture) is replaced.
/// A clock outside the years an HTTP date can hold sends none.
fn dated(response: &mut Response<SimBody>, unix_secs: i64) {
    let headers = response.headers_mut();
    headers.remove(http::header::DATE);
    if let Some(value) = crate::qualys::http_date::format(unix_secs)
        .and_then(|d| http::HeaderValue::from_str(&d).ok())
    {
        headers.insert(http::header::DATE, value);
    }
}

fn body_too_large() -> String {
    format!(
        "qharness simulator: the request body is over {} MiB, the most it reads; send fewer IDs per request\n",
        MAX_REQUEST_BODY / (1024 * 1024)
    )
}

fn plain(status: u16, text: String) -> Response<SimBody> {
    let mut r = Response::new(SimBody {
        state: State::Once(Some(Bytes::from(text))),
        tracker: Tracker::detached(),
    });
    *r.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

/// Builds the engine's view of a request.
pub fn to_sim_request(
    parts: &http::request::Parts,
    body: Bytes,
    scheme: &str,
    local: Option<SocketAddr>,
) -> SimRequest {
    let mut params: Vec<(String, String)> = Vec::new();
    let query = parts.uri.query().map(String::from);
    if let Some(q) = &query {
        params.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if is_form_body(parts.method.as_str(), content_type) && !body.is_empty() {
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    let credentials = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(Credentials::from_authorization);
    let headers = JOURNALLED_HEADERS
        .iter()
        .filter_map(|name| {
            parts
                .headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(|v| ((*name).to_string(), v.to_string()))
        })
        .collect();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .or_else(|| local.map(|a| a.to_string()))
        .unwrap_or_else(|| "127.0.0.1".into());
    SimRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        params,
        credentials,
        headers,
        origin: format!("{scheme}://{host}"),
        query,
        body,
    }
}

/// Completes the journal entry and releases the concurrency slot when the body ends.
struct Tracker {
    journal: Journal,
    ticket: Option<Ticket>,
    bytes: u64,
    finished: bool,
    guard: Option<RunningGuard>,
    reset: Arc<AtomicBool>,
}

impl Tracker {
    fn detached() -> Tracker {
        Tracker {
            journal: Journal::default(),
            ticket: None,
            bytes: 0,
            finished: false,
            guard: None,
            reset: Arc::new(AtomicBool::new(false)),
        }
    }

    fn finish(&mut self, completion: Completion) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(t) = self.ticket {
            self.journal.complete(t, self.bytes, completion);
        }
        self.guard.take();
    }
}

enum Chunk {
    Data(Bytes),
    End(Completion),
    Reset,
}

enum State {
    Once(Option<Bytes>),
    Channel(mpsc::Receiver<Chunk>),
    Done,
}

/// The response body hyper sends.
pub struct SimBody {
    state: State,
    tracker: Tracker,
}

impl SimBody {
    fn start(body: Body, delivery: Delivery, tracker: Tracker) -> SimBody {
        let source: Box<dyn ChunkSource> = match body {
            Body::Empty if delivery.is_plain() => {
                return SimBody {
                    state: State::Once(None),
                    tracker,
                };
            }
            Body::Bytes(b) if delivery.is_plain() => {
                return SimBody {
                    state: State::Once(Some(b)),
                    tracker,
                };
            }
            Body::Empty => Box::new(BytesSource(Bytes::new())),
            Body::Bytes(b) => Box::new(BytesSource(b)),
            Body::Source(s) => s,
            Body::Gzip(s) => {
                let (tx, rx) = mpsc::channel(4);
                tokio::task::spawn_blocking(move || {
                    produce(s, delivery, Some(Gzip::default()), tx)
                });
                return SimBody {
                    state: State::Channel(rx),
                    tracker,
                };
            }
        };
        let (tx, rx) = mpsc::channel(4);
        tokio::task::spawn_blocking(move || produce(source, delivery, None, tx));
        SimBody {
            state: State::Channel(rx),
            tracker,
        }
    }
}

impl Drop for SimBody {
    fn drop(&mut self) {
        self.tracker.finish(Completion::ClientGone);
    }
}

impl hyper::body::Body for SimBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        match &mut this.state {
            State::Done => Poll::Ready(None),
            State::Once(b) => {
                let data = b.take();
                this.state = State::Done;
                match data {
                    Some(b) if !b.is_empty() => {
                        this.tracker.bytes += b.len() as u64;
                        this.tracker.finish(Completion::Complete);
                        Poll::Ready(Some(Ok(Frame::data(b))))
                    }
                    _ => {
                        this.tracker.finish(Completion::Complete);
                        Poll::Ready(None)
                    }
                }
            }
            State::Channel(rx) => match rx.poll_recv(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Some(Chunk::Data(b))) => {
                    this.tracker.bytes += b.len() as u64;
                    Poll::Ready(Some(Ok(Frame::data(b))))
                }
                Poll::Ready(Some(Chunk::End(completion))) => {
                    this.state = State::Done;
                    this.tracker.finish(completion);
                    Poll::Ready(None)
                }
                Poll::Ready(Some(Chunk::Reset)) | Poll::Ready(None) => {
                    this.state = State::Done;
                    this.tracker.reset.store(true, Ordering::SeqCst);
                    this.tracker.finish(Completion::CutByFault);
                    Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "qharness simulator: connection reset by the disconnect_after fault",
                    ))))
                }
            },
        }
    }
}

/// Renders `source` and feeds the channel, applying the content faults, then the compression
/// (`gzip`, when the body is sent gzip'd), then the byte budgets and the pacing.
fn produce(
    mut source: Box<dyn ChunkSource>,
    delivery: Delivery,
    mut gzip: Option<Gzip>,
    tx: mpsc::Sender<Chunk>,
) {
    let mut splicer = delivery.splicer();
    let mut raw = Vec::with_capacity(CHUNK_TARGET + CHUNK_TARGET / 2);
    let mut spliced = Vec::new();
    let mut sent: u64 = 0;
    loop {
        raw.clear();
        let more = match source.fill(&mut raw) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "a response body failed while rendering; resetting the connection");
                let _ = tx.blocking_send(Chunk::Reset);
                return;
            }
        };
        let data: &[u8] = match splicer.as_mut() {
            Some(s) => {
                spliced.clear();
                s.feed(&raw, &mut spliced);
                if !more {
                    s.finish(&mut spliced);
                }
                &spliced
            }
            None => &raw,
        };
        let stopped = splicer.as_ref().is_some_and(|s| s.stopped());
        let compressed;
        let data: &[u8] = match gzip.as_mut() {
            Some(gz) => {
                let last = stopped || !more;
                let packed = gz.compress(data).and_then(|mut c| {
                    if last {
                        c.extend(gz.finish()?);
                    }
                    Ok(c)
                });
                match packed {
                    Ok(c) => compressed = c,
                    Err(e) => {
                        tracing::warn!(error = %e, "gzip failed on a response body; resetting the connection");
                        let _ = tx.blocking_send(Chunk::Reset);
                        return;
                    }
                }
                &compressed
            }
            None => data,
        };
        // The byte budgets of truncate / disconnect_after: the smaller one ends the body.
        let mut end: Option<Chunk> = None;
        let mut take = data.len() as u64;
        if let Some(n) = delivery.truncate_after
            && sent + take >= n
        {
            take = n - sent;
            end = Some(Chunk::End(Completion::CutByFault));
        }
        if let Some(n) = delivery.disconnect_after
            && sent + take >= n
            && n.saturating_sub(sent) <= take
        {
            take = n.saturating_sub(sent);
            end = Some(Chunk::Reset);
        }
        let data = &data[..take as usize];
        if !send(&tx, data, delivery.dribble) {
            return;
        }
        sent += take;
        if let Some(end) = end {
            if matches!(end, Chunk::Reset) {
                // Give hyper and the kernel time to put the bytes on the wire before the RST
                // discards what is still queued.
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = tx.blocking_send(end);
            return;
        }
        if stopped {
            let _ = tx.blocking_send(Chunk::End(Completion::CutByFault));
            return;
        }
        if !more {
            let end = if delivery.disconnect_at_end {
                std::thread::sleep(Duration::from_millis(100));
                Chunk::Reset
            } else {
                Chunk::End(Completion::Complete)
            };
            let _ = tx.blocking_send(end);
            return;
        }
    }
}

/// Sends `data`, in dribbles when asked; false when the client has gone.
fn send(tx: &mpsc::Sender<Chunk>, data: &[u8], dribble: Option<(usize, Duration)>) -> bool {
    if data.is_empty() {
        return true;
    }
    match dribble {
        None => tx
            .blocking_send(Chunk::Data(Bytes::copy_from_slice(data)))
            .is_ok(),
        Some((size, pause)) => {
            for piece in data.chunks(size) {
                if tx
                    .blocking_send(Chunk::Data(Bytes::copy_from_slice(piece)))
                    .is_err()
                {
                    return false;
                }
                std::thread::sleep(pause);
            }
            true
        }
    }
}

/// A TCP stream that, when asked, closes with `SO_LINGER` 0 so the peer gets a reset.
struct ResetOnDrop {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for ResetOnDrop {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResetOnDrop {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reset.load(Ordering::SeqCst) {
            // A reset connection is not shut down politely: dropping it sends the RST.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
