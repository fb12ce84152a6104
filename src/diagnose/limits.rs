//! The API limits as the rate-limit headers announce them, and the estimate of the calls a full
//! pull of the selected streams needs.
//!
//! Qualys counts calls per subscription and per API in a rolling window, and says where a
//! subscription stands on every FO answer (`X-RateLimit-*`, `X-Concurrency-Limit-*`). Another
//! tool on the same subscription draws on the same budget, which is why "it worked yesterday"
//! can be a 1965 today. The estimate is a lower bound built from the page sizes: the total
//! number of hosts is not known to a one-record probe, so without `--hosts` it counts one page
//! per stream.

use reqwest::header::HeaderMap;
use serde::Serialize;

use super::probe::{self, Probe, PullScale};
use crate::qualys::fo::header;
use crate::stream::StreamKind;

/// The rate and concurrency headers of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: Option<u64>,
    pub window_secs: Option<u64>,
    pub remaining: Option<u64>,
    pub to_wait_secs: Option<u64>,
    pub concurrency_limit: Option<u64>,
    pub concurrency_running: Option<u64>,
}

impl RateHeaders {
    pub fn read(headers: &HeaderMap) -> RateHeaders {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        RateHeaders {
            limit: number(header::RATE_LIMIT),
            window_secs: number(header::RATE_WINDOW),
            remaining: number(header::RATE_REMAINING),
            to_wait_secs: number(header::RATE_TO_WAIT),
            concurrency_limit: number(header::CONCURRENCY_LIMIT),
            concurrency_running: number(header::CONCURRENCY_RUNNING),
        }
    }

    pub fn is_some(&self) -> bool {
        *self != RateHeaders::default()
    }
}

/// What the diagnosis found about the limits (the `limits` object of the JSON form).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Limits {
    /// Calls allowed per window (`X-RateLimit-Limit`).
    pub rate_limit: Option<u64>,
    /// The window, in seconds (`X-RateLimit-Window-Sec`).
    pub window_secs: Option<u64>,
    /// The lowest `X-RateLimit-Remaining` seen in this run.
    pub remaining: Option<u64>,
    /// The longest `X-RateLimit-ToWait-Sec` seen.
    pub to_wait_secs: Option<u64>,
    /// Calls allowed at once (`X-Concurrency-Limit-Limit`).
    pub concurrency_limit: Option<u64>,
    /// The highest `X-Concurrency-Limit-Running` seen.
    pub concurrency_running: Option<u64>,
    /// An estimate (a lower bound) of the calls a full pull of the selected streams needs.
    pub calls_needed_estimate: u64,
    /// How the estimate was made.
    pub estimate_basis: String,
}

impl Limits {
    /// Folds the headers of every FO answer: the tightest remaining and the busiest
    /// concurrency win.
    pub fn from_answers(rates: &[RateHeaders], estimate: Estimate) -> Limits {
        let max = |f: fn(&RateHeaders) -> Option<u64>| rates.iter().filter_map(f).max();
        let min = |f: fn(&RateHeaders) -> Option<u64>| rates.iter().filter_map(f).min();
        Limits {
            rate_limit: min(|r| r.limit),
            window_secs: max(|r| r.window_secs),
            remaining: min(|r| r.remaining),
            to_wait_secs: max(|r| r.to_wait_secs),
            concurrency_limit: min(|r| r.concurrency_limit),
            concurrency_running: max(|r| r.concurrency_running),
            calls_needed_estimate: estimate.calls,
            estimate_basis: estimate.basis,
        }
    }

    /// Whether the remaining calls are known to be fewer than the estimate.
    pub fn short(&self) -> bool {
        self.remaining
            .is_some_and(|left| left < self.calls_needed_estimate)
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        let or_unknown = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
        let mut line = format!(
            "{} of {} calls left in the {} s window; concurrency {} running of {}; a full pull needs an estimated {} call(s) ({})",
            or_unknown(self.remaining),
            or_unknown(self.rate_limit),
            or_unknown(self.window_secs),
            or_unknown(self.concurrency_running),
            or_unknown(self.concurrency_limit),
            self.calls_needed_estimate,
            self.estimate_basis,
        );
        if let Some(wait) = self.to_wait_secs.filter(|w| *w > 0) {
            line.push_str(&format!("; Qualys asks to wait {wait} s"));
        }
        line
    }
}

/// An estimate of the calls a full pull needs, and how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub calls: u64,
    pub basis: String,
}

/// The page sizes the estimate uses (the connector's defaults unless told otherwise).
#[derive(Debug, Clone, Copy)]
pub struct PageSizes {
    pub truncation_limit: u64,
    pub host_batch_size: u64,
}

impl Default for PageSizes {
    fn default() -> PageSizes {
        PageSizes {
            truncation_limit: 1000,
            host_batch_size: 5000,
        }
    }
}

/// Estimates the calls a full pull of `streams` needs for `hosts` hosts (unknown: one page) and
/// `policies` Policy Compliance policies (unknown: one).
pub fn estimate(
    streams: &[StreamKind],
    hosts: Option<u64>,
    policies: Option<u64>,
    pages: PageSizes,
) -> Estimate {
    let host_pages = hosts.map_or(1, |h| h.div_ceil(pages.truncation_limit.max(1)).max(1));
    let batches = hosts.map_or(1, |h| h.div_ceil(pages.host_batch_size.max(1)).max(1));
    let policies_n = policies.unwrap_or(1);
    let scale = PullScale {
        host_pages,
        host_batches: batches,
        policies: policies_n,
    };
    let calls = streams
        .iter()
        .filter_map(|s| probe::row(*s))
        .map(|row| (row.pull_calls)(&scale))
        .sum();
    let counts_policies = streams
        .iter()
        .filter_map(|s| probe::row(*s))
        .any(|row| row.probe == Probe::GatewayPolicyList);
    let hosts_text = match hosts {
        Some(h) => format!("{h} hosts (--hosts)"),
        None => "one page per stream, since the host total is unknown (give --hosts N for a closer estimate)".to_string(),
    };
    let basis = format!(
        "a lower bound for {hosts_text}, truncation_limit {}, host_batch_size {}{}",
        pages.truncation_limit,
        pages.host_batch_size,
        match policies {
            Some(p) if counts_policies => format!(", {p} policies"),
            _ => String::new(),
        }
    );
    Estimate { calls, basis }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_counts_pages_of_the_configured_size() {
        let e = estimate(
            &[StreamKind::VmdrAssets, StreamKind::VmdrVulnerabilities],
            Some(2500),
            None,
            PageSizes::default(),
        );
        assert_eq!(e.calls, 3 + 4);
        assert!(e.basis.contains("2500 hosts"), "{}", e.basis);
        let unknown = estimate(
            &[StreamKind::PcPosture],
            None,
            Some(3),
            PageSizes::default(),
        );
        assert_eq!(unknown.calls, 1 + 3 * 2);
        assert!(unknown.basis.contains("lower bound"), "{}", unknown.basis);
    }

    #[test]
    fn the_tightest_remaining_of_all_answers_is_reported() {
        let a = RateHeaders {
            limit: Some(300),
            remaining: Some(250),
            ..RateHeaders::default()
        };
        let b = RateHeaders {
            limit: Some(300),
            remaining: Some(3),
            concurrency_running: Some(1),
            ..RateHeaders::default()
        };
        let limits = Limits::from_answers(
            &[a, b],
            Estimate {
                calls: 5,
                basis: "test".into(),
            },
        );
        assert_eq!(limits.remaining, Some(3));
        assert_eq!(limits.concurrency_running, Some(1));
        assert!(limits.short(), "3 left is below the 5 needed");
    }
}
