//! How long one request may take, and how slowly its body may arrive.
//!
//! `read_timeout_secs` only bounds the silence between two reads, so a server (or a proxy) that
//! sends one byte every few seconds keeps a request alive forever. Two more bounds close that:
//!
//! - a **deadline** per request (`request_timeout_secs`, default 3600 s, room for pages of
//!   several gigabytes), from sending the request to the end of its body. Not retried: the same
//!   page over the same path would take as long again;
//! - a **minimum throughput** of the body (`min_throughput_bytes_per_sec`, default 1024,
//!   averaged over `min_throughput_window_secs`, default 300 s): a stalling connection fails the
//!   attempt and is retried, as stalls pass.
//!
//! A [`Watch`] is started per attempt; [`Watch::body`] follows one body's chunks.
//!
//! This file also reads TLS certificate failures out of reqwest's error chain
//! ([`certificate_problem`]): like a deadline, they are a reason to stop rather than to retry.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use rustls::CertificateError;
use tokio::time::Instant;

use crate::config::MinThroughput;
use crate::error::{Error, Exchange};

/// The bounds of every request of a run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub request: Duration,
    pub min_throughput: Option<MinThroughput>,
}

/// One attempt's clock.
#[derive(Debug)]
pub struct Watch {
    limits: Limits,
    /// `None` when the deadline is too far away to represent, i.e. never.
    deadline: Option<Instant>,
}

impl Watch {
    /// Starts the clock of an attempt.
    pub fn start(limits: &Limits) -> Watch {
        Watch {
            limits: *limits,
            deadline: Instant::now().checked_add(limits.request),
        }
    }

    /// Runs `work` until the deadline; `None` when the deadline passed first.
    pub async fn within<F: Future>(&self, work: F) -> Option<F::Output> {
        match self.deadline {
            Some(at) => tokio::time::timeout_at(at, work).await.ok(),
            None => Some(work.await),
        }
    }

    /// The error for an attempt that ran out of time after `received` bytes of body.
    pub fn deadline_error(&self, exchange: &Exchange, received: u64) -> Error {
        Error::Deadline {
            exchange: exchange.clone(),
            limit: self.limits.request,
            received,
        }
    }

    /// Starts following a body's arrival.
    pub fn body(&self) -> Arriving<'_> {
        Arriving {
            watch: self,
            received: 0,
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }
}

/// Why a body stopped arriving.
#[derive(Debug)]
pub enum Stop {
    /// The request's deadline passed.
    Deadline { limit: Duration, received: u64 },
    /// Fewer bytes than the minimum throughput asks for arrived within a window.
    TooSlow {
        received: u64,
        window: Duration,
        minimum: u64,
    },
    /// The connection failed.
    Network(reqwest::Error),
}

impl Stop {
    /// The error to report, for a body read on `exchange`.
    pub fn into_error(self, exchange: &Exchange, during: &'static str) -> Error {
        let exchange = exchange.clone();
        match self {
            Stop::Deadline { limit, received } => Error::Deadline {
                exchange,
                limit,
                received,
            },
            Stop::TooSlow {
                received,
                window,
                minimum,
            } => Error::TooSlow {
                exchange,
                received,
                window,
                minimum,
            },
            Stop::Network(source) => Error::Http {
                exchange,
                during,
                source: source.without_url(),
            },
        }
    }
}

/// A body arriving, checked against the deadline and the minimum throughput.
pub struct Arriving<'w> {
    watch: &'w Watch,
    received: u64,
    window_start: Instant,
    window_bytes: u64,
}

impl Arriving<'_> {
    /// The next chunk of `response`'s body, `None` at its end.
    pub async fn next(&mut self, response: &mut reqwest::Response) -> Result<Option<Bytes>, Stop> {
        loop {
            // Wake up at the deadline or at the end of the throughput window, whichever is
            // first, even when no byte arrives (a silent server is read_timeout_secs's job, but
            // the window must still be judged).
            let wake = match (self.watch.deadline, self.window_end()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let chunk = match wake {
                // `chunk()` is cancel-safe: a chunk not yet returned stays in the body.
                Some(at) => tokio::time::timeout_at(at, response.chunk()).await.ok(),
                None => Some(response.chunk().await),
            };
            match chunk {
                Some(Ok(Some(bytes))) => {
                    let len = bytes.len() as u64;
                    self.received = self.received.saturating_add(len);
                    self.window_bytes = self.window_bytes.saturating_add(len);
                    self.check()?;
                    return Ok(Some(bytes));
                }
                Some(Ok(None)) => return Ok(None),
                Some(Err(e)) => return Err(Stop::Network(e)),
                None => self.check()?,
            }
        }
    }

    fn window_end(&self) -> Option<Instant> {
        let guard = self.watch.limits.min_throughput?;
        self.window_start.checked_add(guard.window)
    }

    /// Judges the clock: past the deadline, or a window that ended with too few bytes.
    fn check(&mut self) -> Result<(), Stop> {
        let now = Instant::now();
        if self.watch.deadline.is_some_and(|d| now >= d) {
            return Err(Stop::Deadline {
                limit: self.watch.limits.request,
                received: self.received,
            });
        }
        if let Some(guard) = self.watch.limits.min_throughput
            && self.window_end().is_some_and(|end| now >= end)
        {
            let needed = guard.bytes_per_sec.saturating_mul(guard.window.as_secs());
            if self.window_bytes < needed {
                return Err(Stop::TooSlow {
                    received: self.window_bytes,
                    window: guard.window,
                    minimum: guard.bytes_per_sec,
                });
            }
            self.window_start = now;
            self.window_bytes = 0;
        }
        Ok(())
    }
}

/// The certificate verification failure in `error`'s cause chain, in plain words; `None` when
/// the failure was not about the certificate.
///
/// rustls's error reaches reqwest wrapped in `io::Error`s (two, as of reqwest 0.13), whose
/// `source()` skips the wrapped error itself, so each link is also unwrapped with
/// `io::Error::get_ref` until something else appears.
pub fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut link = Some(error);
    while let Some(e) = link {
        let mut inner: &(dyn std::error::Error + 'static) = e;
        while let Some(wrapped) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            inner = wrapped;
        }
        if let Some(rustls::Error::InvalidCertificate(c)) = inner.downcast_ref::<rustls::Error>() {
            return Some(describe(c));
        }
        link = e.source();
    }
    None
}

fn describe(c: &CertificateError) -> String {
    match c {
        CertificateError::UnknownIssuer => {
            "it is signed by an issuer this client does not trust (unknown issuer: a self-signed or private-CA certificate, or a TLS-inspecting proxy)".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("it was not issued for this host name ({c})")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("it has expired ({c})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("it is not valid yet ({c}); check this machine's clock")
        }
        CertificateError::Revoked => "it has been revoked".into(),
        CertificateError::BadSignature => {
            "its signature does not verify (bad signature)".into()
        }
        other => format!("it failed verification ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Simulator, SimulatorConfig};

    #[tokio::test]
    async fn a_self_signed_server_is_read_as_an_unknown_issuer_from_reqwest_chain() {
        let sim = Simulator::start(SimulatorConfig::demo().tls(true))
            .await
            .unwrap();
        let err = reqwest::Client::new()
            .get(sim.url("/msp/about.php"))
            .send()
            .await
            .unwrap_err();
        let problem = certificate_problem(&err);
        assert!(
            problem
                .as_deref()
                .is_some_and(|p| p.contains("unknown issuer")),
            "{problem:?} from {err:?}"
        );
    }
}
