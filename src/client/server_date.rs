//! The server's clock as the client saw it: the HTTP `Date` of the first answer of a run.
//!
//! An incremental run asks Qualys for changes since the last run's start, and Qualys compares
//! that moment with its own clock. Taking the start from this machine's clock loses changes
//! when it runs ahead of Qualys's by more than the overlap ([`crate::state::INCREMENTAL_OVERLAP`]);
//! the `Date` header of an answer is Qualys's time, to the second. The first answer counts,
//! whatever its status (a 409 or a 503 still carries the server's time): it is the one closest
//! to the start of the run, and a later one would move the start forward past changes the run
//! may not have seen. A missing or unparseable `Date` is no error: the run then has no server
//! time, and the state falls back to this machine's.

use std::sync::OnceLock;

use reqwest::header::{DATE, HeaderMap};

use crate::config::QualysDateTime;
use crate::qualys::http_date;

/// The `Date` of a run's first answer, shared between the client (which sets it once) and
/// whoever keeps the run's state (which reads it).
#[derive(Debug, Default)]
pub struct ServerDate {
    /// Set by the first answer: `Some(None)` when that answer had no usable `Date`.
    first: OnceLock<Option<QualysDateTime>>,
}

impl ServerDate {
    /// Notes the `Date` of an answer; only the first answer of the run counts.
    pub fn observe(&self, headers: &HeaderMap) {
        if self.first.get().is_some() {
            return;
        }
        let date = headers
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(http_date::parse);
        if self.first.set(date).is_ok() {
            match date {
                Some(d) => {
                    tracing::debug!(server_date = %d, "the server's time at the first answer")
                }
                None => tracing::debug!("the first answer carried no usable Date header"),
            }
        }
    }

    /// The server's time at the run's first answer; `None` before any answer, or when the first
    /// answer carried no usable `Date`.
    pub fn first(&self) -> Option<QualysDateTime> {
        self.first.get().copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(date: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(DATE, HeaderValue::from_bytes(date).unwrap());
        h
    }

    #[test]
    fn a_bad_date_header_is_ignored_not_an_error() {
        let date = ServerDate::default();
        date.observe(&headers(b"not a date"));
        assert_eq!(date.first(), None);
        let date = ServerDate::default();
        date.observe(&headers(b"Sun, 16 Jun 2024 00:00:05 GMT \xff"));
        assert_eq!(date.first(), None, "a header that is not text is ignored");
    }

    #[test]
    fn only_the_first_answer_counts_even_without_a_date() {
        let date = ServerDate::default();
        assert_eq!(date.first(), None);
        date.observe(&headers(b"Sun, 16 Jun 2024 00:00:05 GMT"));
        date.observe(&headers(b"Sun, 16 Jun 2024 03:00:00 GMT"));
        assert_eq!(date.first().unwrap().to_string(), "2024-06-16T00:00:05Z");

        let date = ServerDate::default();
        date.observe(&HeaderMap::new());
        date.observe(&headers(b"Sun, 16 Jun 2024 03:00:00 GMT"));
        assert_eq!(
            date.first(),
            None,
            "a later answer is not the start of the run"
        );
    }
}
