//! Retries and waiting: which failures are tried again, how long to wait, and the budget of
//! attempts and waiting time shared by the whole run.
//!
//! [`Error::retry`] decides whether to try again: rate limits wait the time Qualys asks for
//! (`X-RateLimit-ToWait-Sec`, `SECONDS_TO_WAIT`, `Retry-After`), 5xx/999/timeouts/truncated
//! bodies back off exponentially, account problems never retry. When a response says the rate
//! window is used up, the next request waits for it first.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::QualysClient;
use crate::config::RetryPolicy;
use crate::error::{Error, Result, Retry, Throttle, describe_wait};

/// What the rate-limit headers of the last response said, and the waiting done so far.
#[derive(Debug, Default)]
pub(crate) struct RateState {
    /// Time spent waiting (backoff and rate limits) so far in this run.
    pub waited: Duration,
    /// Qualys said no calls remain until this instant.
    pub blocked_until: Option<Instant>,
}

impl QualysClient {
    /// Runs `attempt` until it succeeds, fails in a way a retry cannot fix, or the retry budget
    /// runs out (then [`Error::RetriesExhausted`] says what to do).
    pub(crate) async fn retrying<T>(
        &self,
        endpoint: &str,
        mut attempt: impl AsyncFnMut() -> Result<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let mut failures = 0u32;
        loop {
            self.wait_for_rate_window().await?;
            let error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let delay = match error.retry() {
                Retry::Never => return Err(error),
                Retry::Backoff => self.retry.backoff(failures + 1),
                Retry::After(d) => d,
            };
            failures += 1;
            let mut rate = self.rate.lock().await;
            // Saturating: `delay` may be a server's (clamped) day-long wait.
            let over_budget = rate.waited.saturating_add(delay) > self.retry.max_wait;
            if failures >= self.retry.max_attempts || over_budget {
                let remediation = exhausted_remediation(&error, delay, over_budget, &self.retry);
                return Err(Error::RetriesExhausted {
                    endpoint: endpoint.to_string(),
                    attempts: failures,
                    elapsed: started.elapsed(),
                    remediation,
                    last: Box::new(error),
                });
            }
            rate.waited = rate.waited.saturating_add(delay);
            drop(rate);
            self.live.retries.fetch_add(1, Ordering::Relaxed);
            // The error names the endpoint and page already.
            tracing::warn!(
                attempt = failures + 1,
                delay_ms = delay.as_millis() as u64,
                "retrying after: {error}"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Honours a rate window that the previous response said was used up.
    async fn wait_for_rate_window(&self) -> Result<()> {
        let mut rate = self.rate.lock().await;
        let Some(until) = rate.blocked_until.take() else {
            return Ok(());
        };
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return Ok(());
        }
        if rate.waited.saturating_add(wait) > self.retry.max_wait {
            // Let the request go out: Qualys will answer 1965 and the retry logic reports it.
            return Ok(());
        }
        rate.waited = rate.waited.saturating_add(wait);
        drop(rate);
        tracing::info!(
            wait_s = wait.as_secs_f64(),
            "X-RateLimit-Remaining is 0; waiting as X-RateLimit-ToWait-Sec asks"
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }
}

fn exhausted_remediation(
    error: &Error,
    next_delay: Duration,
    over_budget: bool,
    policy: &RetryPolicy,
) -> String {
    let budget = format!(
        "(limits: max_attempts = {}, max_wait_secs = {})",
        policy.max_attempts,
        policy.max_wait.as_secs()
    );
    match error {
        Error::Throttled {
            kind: Throttle::Rate,
            ..
        } => format!(
            "the subscription's API rate limit is used up and Qualys asks to wait {}{}; the \
             limit is shared by every script using this subscription. Run again after the window \
             passes or raise max_wait_secs {budget}",
            describe_wait(next_delay),
            if over_budget {
                ", more than the rest of the wait budget"
            } else {
                ""
            }
        ),
        Error::Throttled {
            kind: Throttle::Concurrency,
            ..
        } => format!(
            "other API calls of this subscription keep the concurrency limit busy; run again when \
             they finish, or ask Qualys to raise the limit {budget}"
        ),
        Error::Server { .. } | Error::Html { .. } => format!(
            "Qualys kept failing on its side; try again later and, if it persists, contact Qualys \
             support with the time of the failure {budget}"
        ),
        Error::Truncated { .. } => format!(
            "responses kept arriving cut short; check proxies between you and Qualys, or lower \
             truncation_limit (VMDR) or host_batch_size (Policy Compliance) so pages are smaller \
             {budget}"
        ),
        Error::TooSlow { .. } => format!(
            "the connection kept stalling; check the network path and any proxy between you \
             and Qualys, or lower min_throughput_bytes_per_sec (0 turns the guard off) {budget}"
        ),
        _ => format!(
            "check the network path to the platform URL; for very large pages raise \
             read_timeout_secs or lower truncation_limit {budget}"
        ),
    }
}
