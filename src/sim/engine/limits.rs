//! API limits: the rate limit (calls per rolling window) and the concurrency limit (calls at
//! once), counted per budget and per API, as the `X-RateLimit-*` / `X-Concurrency-Limit-*`
//! headers describe them.
//!
//! Qualys counts per subscription and API, so a second tool with another user drains the
//! connector's budget: every user shares the subscription's [`Budget`] unless the tenant counts
//! per user (`[limits] per_user = true`) or the user has limits of their own. Calls other
//! tools made just before the simulator started (`[limits] used_by_others`) sit in the shared
//! budget of every API from the start and age out with the window. Concurrency is checked
//! first (Qualys: the concurrency error takes precedence). A blocked call is not counted. A
//! call stays "running" until its body has been sent, so a slow, dribbled page holds its slot
//! like a real one.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::qualys::fo::header;

use crate::qualys::Endpoint;
#[cfg(test)]
use crate::qualys::endpoint;
use crate::sim::tenant::{Budget, Limits};

/// The values of the six limit headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitHeaders {
    pub limit: u32,
    pub window_secs: u64,
    pub remaining: u32,
    pub to_wait_secs: u64,
    pub concurrency_limit: u32,
    pub running: u32,
}

impl LimitHeaders {
    /// In the order Qualys sends them.
    pub fn to_headers(self) -> Vec<(String, String)> {
        vec![
            (header::RATE_LIMIT.into(), self.limit.to_string()),
            (header::RATE_WINDOW.into(), self.window_secs.to_string()),
            (
                header::CONCURRENCY_LIMIT.into(),
                self.concurrency_limit.to_string(),
            ),
            (header::CONCURRENCY_RUNNING.into(), self.running.to_string()),
            (header::RATE_TO_WAIT.into(), self.to_wait_secs.to_string()),
            (header::RATE_REMAINING.into(), self.remaining.to_string()),
        ]
    }
}

/// Holds a concurrency slot until dropped.
#[derive(Debug)]
pub struct RunningGuard(Arc<AtomicU32>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LimitHeaders {
    /// The headers of a budget nobody has used yet.
    pub fn fresh(limits: Limits) -> LimitHeaders {
        LimitHeaders {
            limit: limits.rate_limit,
            window_secs: limits.rate_window_secs,
            remaining: limits.rate_limit,
            to_wait_secs: 0,
            concurrency_limit: limits.concurrency_limit,
            running: 0,
        }
    }
}

/// Why a call was held back, by the limiter or by an injected `rate_limited` /
/// `concurrency_busy` fault; each family's dialect says it in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReached {
    /// The rate limit: no call of this API for another `seconds_to_wait`.
    Rate {
        seconds_to_wait: u64,
        headers: LimitHeaders,
    },
    /// The concurrency limit: `calls_to_finish` running calls must end first.
    Concurrency {
        calls_to_finish: u32,
        headers: LimitHeaders,
    },
}

impl LimitReached {
    /// The six limit headers as they stand for this call.
    pub fn headers(&self) -> LimitHeaders {
        match self {
            LimitReached::Rate { headers, .. } | LimitReached::Concurrency { headers, .. } => {
                *headers
            }
        }
    }

    /// What happened, in the words of Qualys's CODE 1965 and 1960 texts, which every dialect
    /// reuses: "This API cannot be run again for another 23 hours, 57 minutes and 54 seconds."
    pub fn message(&self) -> String {
        match *self {
            LimitReached::Rate {
                seconds_to_wait, ..
            } => format!(
                "This API cannot be run again for another {}.",
                wait_phrase(seconds_to_wait)
            ),
            LimitReached::Concurrency {
                calls_to_finish: n, ..
            } => format!(
                "This API cannot be run again until {n} currently running API instance{} {} finished.",
                if n == 1 { "" } else { "s" },
                if n == 1 { "has" } else { "have" }
            ),
        }
    }
}

#[derive(Debug, Default)]
struct Usage {
    calls: VecDeque<Instant>,
    running: Arc<AtomicU32>,
    /// The calls other tools had made when the budget was first used.
    prefill: usize,
}

/// A budget as a map key: `None` is the subscription's.
type BudgetKey = (Option<String>, &'static str);

/// Per-budget, per-API counters.
#[derive(Debug)]
pub struct Limiter {
    usage: Mutex<HashMap<BudgetKey, Usage>>,
    /// When the simulator started or was last reset: the instant `used_by_others` calls were
    /// made.
    started: Mutex<Instant>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            usage: Mutex::default(),
            started: Mutex::new(Instant::now()),
        }
    }
}

fn key(budget: Budget<'_>, endpoint: &'static Endpoint) -> BudgetKey {
    let owner = match budget {
        Budget::Subscription => None,
        Budget::User(login) => Some(login.to_string()),
    };
    (owner, endpoint.name)
}

impl Limiter {
    /// The counters of one budget and API; a subscription budget starts with the calls other
    /// tools made.
    fn usage<'m>(
        &self,
        map: &'m mut HashMap<BudgetKey, Usage>,
        key: BudgetKey,
        limits: Limits,
    ) -> &'m mut Usage {
        let shared = key.0.is_none();
        map.entry(key).or_insert_with(|| {
            let mut u = Usage::default();
            if shared {
                let at = *self.started.lock().unwrap_or_else(|p| p.into_inner());
                // Beyond the limit more calls change nothing: the budget is empty either way.
                u.prefill = limits.used_by_others.min(limits.rate_limit) as usize;
                u.calls.extend(std::iter::repeat_n(at, u.prefill));
            }
            u
        })
    }

    /// Admits a call or says why not.
    pub fn admit(
        &self,
        budget: Budget<'_>,
        endpoint: &'static Endpoint,
        limits: Limits,
    ) -> Result<(LimitHeaders, RunningGuard), LimitReached> {
        let now = Instant::now();
        let window = Duration::from_secs(limits.rate_window_secs);
        let mut map = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let u = self.usage(&mut map, key(budget, endpoint), limits);
        while u
            .calls
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            u.calls.pop_front();
        }
        let running = u.running.load(Ordering::SeqCst);
        let used = u.calls.len() as u32;
        let base = LimitHeaders {
            limit: limits.rate_limit,
            window_secs: limits.rate_window_secs,
            remaining: limits.rate_limit.saturating_sub(used),
            to_wait_secs: 0,
            concurrency_limit: limits.concurrency_limit,
            running,
        };
        if running >= limits.concurrency_limit {
            return Err(LimitReached::Concurrency {
                calls_to_finish: running - limits.concurrency_limit + 1,
                headers: base,
            });
        }
        if used >= limits.rate_limit {
            let oldest = u.calls.front().copied().unwrap_or(now);
            let wait = window.saturating_sub(now.duration_since(oldest));
            // Round up: waiting the advertised seconds must be enough.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let secs = secs.max(1);
            return Err(LimitReached::Rate {
                seconds_to_wait: secs,
                headers: LimitHeaders {
                    remaining: 0,
                    to_wait_secs: secs,
                    ..base
                },
            });
        }
        u.calls.push_back(now);
        u.running.fetch_add(1, Ordering::SeqCst);
        Ok((
            LimitHeaders {
                remaining: limits.rate_limit - used - 1,
                ..base
            },
            RunningGuard(Arc::clone(&u.running)),
        ))
    }

    /// The headers a call would see now, without counting it (for answers that replace the
    /// response, such as an injected 1965, and for calls outside the limits).
    pub fn peek(
        &self,
        budget: Budget<'_>,
        endpoint: &'static Endpoint,
        limits: Limits,
    ) -> LimitHeaders {
        let mut map = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let u = self.usage(&mut map, key(budget, endpoint), limits);
        let now = Instant::now();
        let w = Duration::from_secs(limits.rate_window_secs);
        let used = u
            .calls
            .iter()
            .filter(|t| now.duration_since(**t) < w)
            .count() as u32;
        LimitHeaders {
            limit: limits.rate_limit,
            window_secs: limits.rate_window_secs,
            remaining: limits.rate_limit.saturating_sub(used),
            to_wait_secs: 0,
            concurrency_limit: limits.concurrency_limit,
            running: u.running.load(Ordering::SeqCst),
        }
    }

    /// Forgets every window, as at a fresh start: the next call of a subscription budget finds
    /// the other tools' calls again, made now. Running calls keep their slots until they
    /// finish.
    pub fn reset(&self) {
        let now = Instant::now();
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = now;
        let mut map = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        // Entries with a running call keep their counter (its guard decrements it); the rest
        // start again from scratch on next use.
        map.retain(|_, u| {
            u.calls.clear();
            u.calls.extend(std::iter::repeat_n(now, u.prefill));
            u.running.load(Ordering::SeqCst) > 0
        });
    }
}

/// "23 hours, 57 minutes and 54 seconds", the way the recorded 1965 text reads.
pub fn wait_phrase(secs: u64) -> String {
    let unit = |n: u64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        parts.push(unit(h, "hour"));
    }
    if m > 0 {
        parts.push(unit(m, "minute"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(unit(s, "second"));
    }
    match parts.len() {
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, conc: u32) -> Limits {
        Limits {
            rate_limit: rate,
            rate_window_secs: 3600,
            concurrency_limit: conc,
            ..Limits::default()
        }
    }

    const U: Budget<'static> = Budget::User("u");

    #[test]
    fn the_rate_limit_blocks_with_the_seconds_to_wait() {
        let l = Limiter::default();
        let (h1, g1) = l
            .admit(U, &endpoint::WAS_FINDING_SEARCH, limits(2, 9))
            .unwrap();
        drop(g1);
        assert_eq!(h1.remaining, 1);
        let (h2, _g2) = l
            .admit(U, &endpoint::WAS_FINDING_SEARCH, limits(2, 9))
            .unwrap();
        assert_eq!(h2.remaining, 0);
        let b = l
            .admit(U, &endpoint::WAS_FINDING_SEARCH, limits(2, 9))
            .unwrap_err();
        let LimitReached::Rate {
            seconds_to_wait,
            headers,
        } = b
        else {
            panic!("a rate throttle, got {b:?}")
        };
        assert!(seconds_to_wait > 3500 && headers.to_wait_secs == seconds_to_wait);
        assert!(
            l.admit(U, &endpoint::HOST_LIST, limits(2, 9)).is_ok(),
            "counted per API"
        );
        assert!(
            l.admit(
                Budget::User("v"),
                &endpoint::WAS_FINDING_SEARCH,
                limits(2, 9)
            )
            .is_ok(),
            "counted per budget"
        );
    }

    #[test]
    fn the_concurrency_limit_counts_running_calls_until_their_guard_drops() {
        let l = Limiter::default();
        let (_, g) = l
            .admit(U, &endpoint::WAS_FINDING_SEARCH, limits(100, 1))
            .unwrap();
        let b = l
            .admit(U, &endpoint::WAS_FINDING_SEARCH, limits(100, 1))
            .unwrap_err();
        assert!(matches!(
            b,
            LimitReached::Concurrency {
                calls_to_finish: 1,
                ..
            }
        ));
        assert_eq!(
            b.message(),
            "This API cannot be run again until 1 currently running API instance has finished."
        );
        drop(g);
        assert!(
            l.admit(U, &endpoint::WAS_FINDING_SEARCH, limits(100, 1))
                .is_ok()
        );
    }

    #[test]
    fn other_tools_calls_fill_the_shared_budget_from_the_start_and_again_after_a_reset() {
        let l = Limiter::default();
        let mut lim = limits(3, 9);
        lim.used_by_others = 2;
        let e = &endpoint::HOST_LIST;
        assert_eq!(l.peek(Budget::Subscription, e, lim).remaining, 1);
        assert_eq!(
            l.peek(U, e, lim).remaining,
            3,
            "a user's own budget is not shared"
        );
        let (h, _g) = l.admit(Budget::Subscription, e, lim).unwrap();
        assert_eq!(h.remaining, 0);
        assert!(l.admit(Budget::Subscription, e, lim).is_err());
        l.reset();
        assert_eq!(l.peek(Budget::Subscription, e, lim).remaining, 1);
    }

    #[test]
    fn wait_phrases_read_like_the_recorded_text() {
        assert_eq!(wait_phrase(86_274), "23 hours, 57 minutes and 54 seconds");
        assert_eq!(wait_phrase(1), "1 second");
        assert_eq!(wait_phrase(120), "2 minutes");
    }
}
