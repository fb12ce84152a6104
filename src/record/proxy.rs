//! `qharness record --upstream URL --out DIR`: a recording reverse proxy in front of any Qualys
//! client.
//!
//! Each request is forwarded to the upstream (over TLS, trusting `--upstream-ca-cert` for a
//! private CA or the simulator) with its headers, credentials included: they pass through and
//! are never stored. The answer streams back to the client as it arrives and, at the same time,
//! into the [`Recording`]. URLs that point at the upstream (the FO truncation WARNING, a
//! `Location`) are rewritten to the proxy in what the client sees, so its next page comes back
//! through the proxy, and to `{{origin}}` in what is saved. API server, QPS and gateway paths
//! are all forwarded alike: the proxy knows no endpoint.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use url::Url;

use super::recording::{RecordedSet, Recording, RequestHead};
use crate::client::capture::BodyEnd;
use crate::error::{Error, Result};
use crate::sim::{Credentials, SelfSigned};

/// The largest request body forwarded (KnowledgeBase id lists, posture batches).
const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

/// Request headers not forwarded: hop-by-hop headers and the ones reqwest sets itself.
const NOT_FORWARDED: [&str; 6] = [
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
];

/// How to run the proxy.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// The server to record, e.g. `https://qualysapi.qualys.com`.
    pub upstream: Url,
    pub addr: SocketAddr,
    /// Serve HTTPS to the client with a self-signed certificate.
    pub tls: bool,
    /// A PEM certificate to trust for the upstream (a private CA, the simulator's).
    pub upstream_ca_cert: Option<Vec<u8>>,
}

/// What the client receives: frames as the forwarding task sends them.
pub struct ProxyBody {
    rx: mpsc::Receiver<std::result::Result<Frame<Bytes>, std::io::Error>>,
}

impl hyper::body::Body for ProxyBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<Frame<Bytes>, std::io::Error>>> {
        self.rx.poll_recv(cx)
    }
}

/// A running recording proxy.
pub struct RecordingProxy {
    /// The URL clients use instead of the upstream's.
    pub base_url: Url,
    pub addr: SocketAddr,
    cert_pem: Option<String>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    recording: Recording,
}

struct Forwarder {
    http: reqwest::Client,
    upstream: Url,
    /// The upstream's origin as it appears in its answers (`https://qualysapi.qualys.com`).
    upstream_origin: String,
    recording: Recording,
    scheme: &'static str,
}

impl RecordingProxy {
    /// Binds and starts forwarding in the background.
    pub async fn start(opts: ProxyOptions, recording: Recording) -> Result<RecordingProxy> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("qualys-harness-record/", env!("CARGO_PKG_VERSION")));
        if crate::qualys::platform::is_loopback(&opts.upstream) {
            builder = builder.no_proxy();
        }
        if let Some(pem) = &opts.upstream_ca_cert {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
                Error::config(
                    "upstream_ca_cert",
                    format!("not a PEM certificate: {e}"),
                    "give the PEM file of the upstream's CA (for the simulator: qharness serve --tls --cert-out)",
                )
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().map_err(|e| Error::Simulator {
            problem: format!("could not set up the proxy's HTTP client: {e}"),
            source: Some(Box::new(e)),
        })?;
        let listener = TcpListener::bind(opts.addr)
            .await
            .map_err(|e| Error::Simulator {
                problem: format!(
                    "the recording proxy could not listen on {}: {e}; choose another --addr or free the port",
                    opts.addr
                ),
                source: Some(Box::new(e)),
            })?;
        let addr = listener.local_addr().map_err(|e| Error::Simulator {
            problem: format!("could not read the bound address: {e}"),
            source: Some(Box::new(e)),
        })?;
        let tls = if opts.tls {
            Some(SelfSigned::generate()?)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url =
            Url::parse(&format!("{scheme}://{addr}/")).map_err(|e| Error::Simulator {
                problem: format!("could not form the proxy's URL for {addr}: {e}"),
                source: None,
            })?;
        let forwarder = Arc::new(Forwarder {
            http,
            upstream_origin: opts.upstream.origin().ascii_serialization(),
            upstream: opts.upstream.clone(),
            recording: recording.clone(),
            scheme,
        });
        let cert_pem = tls.as_ref().map(|t| t.cert_pem.clone());
        let acceptor = tls.map(|t| t.acceptor);
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stopped.changed() => break,
                };
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let forwarder = forwarder.clone();
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let forwarder = forwarder.clone();
                        async move { Ok::<_, Infallible>(forwarder.forward(req).await) }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match acceptor {
                        Some(a) => {
                            if let Ok(s) = a.accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(s), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                });
            }
            // Open exchanges finish (their bodies end) before the recording is written.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), async {
                while connections.join_next().await.is_some() {}
            })
            .await;
        });
        Ok(RecordingProxy {
            base_url,
            addr,
            cert_pem,
            stop,
            task,
            recording,
        })
    }

    /// The proxy's TLS certificate (PEM) when it serves HTTPS.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// Stops accepting, lets open exchanges finish, and writes the replay set.
    pub async fn finish(self) -> Result<RecordedSet> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let recording = self.recording;
        tokio::task::spawn_blocking(move || recording.finish())
            .await
            .map_err(|e| Error::Unexpected {
                origin: "the recording proxy".into(),
                offset: 0,
                problem: format!("writing the recording failed: {e}"),
            })?
    }
}

impl Forwarder {
    async fn forward(&self, req: Request<Incoming>) -> Response<ProxyBody> {
        let (parts, body) = req.into_parts();
        let body = match http_body_util::Limited::new(body, MAX_REQUEST_BODY)
            .collect()
            .await
        {
            Ok(c) => c.to_bytes(),
            Err(e) => {
                return text(
                    400,
                    format!(
                        "qharness record: the request body could not be read ({e}); the proxy forwards bodies up to 16 MiB\n"
                    ),
                );
            }
        };
        let header = |name: http::header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let own_origin = format!(
            "{}://{}",
            self.scheme,
            header(http::header::HOST).unwrap_or_else(|| "127.0.0.1".into())
        );
        if let Some(Credentials::Basic { user, .. }) = header(http::header::AUTHORIZATION)
            .as_deref()
            .and_then(Credentials::from_authorization)
        {
            self.recording.learn_username(&user);
        }
        let mut url = self.upstream.clone();
        let prefix = self.upstream.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{}", parts.uri.path()));
        url.set_query(parts.uri.query());
        let mut exchange = self.recording.begin(RequestHead {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            content_type: header(http::header::CONTENT_TYPE),
            body: Some(body.clone()),
        });
        let mut upstream_req = self.http.request(parts.method.clone(), url);
        for (name, value) in &parts.headers {
            if !NOT_FORWARDED.contains(&name.as_str()) {
                upstream_req = upstream_req.header(name, value);
            }
        }
        let mut response = match upstream_req.body(body).send().await {
            Ok(r) => r,
            Err(e) => {
                exchange.end(BodyEnd::NoResponse);
                return text(
                    502,
                    format!(
                        "qharness record: the upstream {} did not answer: {e}; check --upstream and, for HTTPS with a private CA, --upstream-ca-cert\n",
                        self.upstream_origin
                    ),
                );
            }
        };
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        exchange.response(status, &headers);
        let encoded = response
            .headers()
            .contains_key(http::header::CONTENT_ENCODING);
        let mut builder = Response::builder().status(status);
        for (k, v) in &headers {
            let k_lower = k.to_ascii_lowercase();
            if NOT_FORWARDED.contains(&k_lower.as_str()) {
                continue;
            }
            // What the client sees points back at the proxy.
            builder = builder.header(k.as_str(), v.replace(&self.upstream_origin, &own_origin));
        }
        let (tx, rx) = mpsc::channel(8);
        let upstream_origin = self.upstream_origin.clone();
        tokio::spawn(async move {
            let mut rewrite = (!encoded).then(|| StreamReplace::new(&upstream_origin, &own_origin));
            let mut first = true;
            let end = loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        if first && chunk.starts_with(&[0x1f, 0x8b]) {
                            // A gzip'd body carries no URL the client could follow.
                            rewrite = None;
                        }
                        first = false;
                        exchange.chunk(chunk.clone());
                        let out = match rewrite.as_mut() {
                            Some(r) => r.feed(&chunk),
                            None => chunk,
                        };
                        if !out.is_empty() && tx.send(Ok(Frame::data(out))).await.is_err() {
                            break BodyEnd::Stopped;
                        }
                    }
                    Ok(None) => {
                        if let Some(rest) = rewrite.as_mut().map(StreamReplace::finish)
                            && !rest.is_empty()
                        {
                            let _ = tx.send(Ok(Frame::data(rest))).await;
                        }
                        break BodyEnd::Complete;
                    }
                    Err(e) => {
                        // The upstream broke off: the client sees its connection break too.
                        let _ = tx
                            .send(Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionAborted,
                                format!("the upstream connection failed mid-body: {e}"),
                            )))
                            .await;
                        break BodyEnd::Broken;
                    }
                }
            };
            exchange.end(end);
        });
        builder
            .body(ProxyBody { rx })
            .unwrap_or_else(|e| text(502, format!("qharness record: invalid answer head: {e}\n")))
    }
}

fn text(status: u16, message: String) -> Response<ProxyBody> {
    let (tx, rx) = mpsc::channel(1);
    let _ = tx.try_send(Ok(Frame::data(Bytes::from(message))));
    let mut r = Response::new(ProxyBody { rx });
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Replaces one string by another in a stream of chunks, holding back only a tail that could
/// start it.
struct StreamReplace {
    needle: Vec<u8>,
    with: Vec<u8>,
    carry: Vec<u8>,
}

impl StreamReplace {
    fn new(needle: &str, with: &str) -> StreamReplace {
        StreamReplace {
            needle: needle.as_bytes().to_vec(),
            with: with.as_bytes().to_vec(),
            carry: Vec::new(),
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> Bytes {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(data.len());
        let mut at = 0;
        while let Some(i) = memchr::memmem::find(&data[at..], &self.needle) {
            out.extend_from_slice(&data[at..at + i]);
            out.extend_from_slice(&self.with);
            at += i + self.needle.len();
        }
        let keep = (data.len() - at).min(self.needle.len().saturating_sub(1));
        let split = data.len() - keep;
        out.extend_from_slice(&data[at..split]);
        self.carry = data[split..].to_vec();
        Bytes::from(out)
    }

    fn finish(&mut self) -> Bytes {
        Bytes::from(std::mem::take(&mut self.carry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_split_across_chunks_is_still_rewritten() {
        let mut r = StreamReplace::new("https://up.test", "http://127.0.0.1:9");
        let text = "<URL>https://up.test/api?id_min=5</URL> and https://up.test";
        for split in 0..text.len() {
            let (a, b) = text.split_at(split);
            let mut out = r.feed(a.as_bytes()).to_vec();
            out.extend_from_slice(&r.feed(b.as_bytes()));
            out.extend_from_slice(&r.finish());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "<URL>http://127.0.0.1:9/api?id_min=5</URL> and http://127.0.0.1:9",
                "split at {split}"
            );
        }
    }
}
