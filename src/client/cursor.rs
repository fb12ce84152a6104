//! Host-page pagination: the truncation `WARNING` (CODE 1980) carries a URL with `id_min`.
//!
//! The connector never requests that URL. It takes `id_min` from it and re-issues its own
//! request against the configured platform origin, so credentials cannot follow a URL that
//! points somewhere else (a misconfigured proxy, a hostile response). A cursor that does not
//! move past the hosts already read would loop forever; it is reported instead.

use url::Url;

use crate::error::{Error, Exchange, Result};
use crate::parse::xml::TruncationWarning;

/// Tracks the `id_min` cursor across the pages of one stream.
#[derive(Debug, Default, Clone)]
pub struct IdCursor {
    current: Option<u64>,
}

impl IdCursor {
    /// The `id_min` of the next request, if any.
    pub fn id_min(&self) -> Option<u64> {
        self.current
    }

    /// Reads the page's WARNING. Returns `Ok(true)` when another page follows.
    ///
    /// `last_host_id` is the highest host ID the page held; the next `id_min` must be above it
    /// and above the current cursor.
    pub fn advance(
        &mut self,
        warning: Option<&TruncationWarning>,
        last_host_id: Option<u64>,
        configured: &Url,
        exchange: &Exchange,
    ) -> Result<bool> {
        let Some(warning) = warning else {
            return Ok(false);
        };
        let Some(url_text) = warning
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Err(Error::CursorMissing {
                exchange: exchange.clone(),
                url: None,
            });
        };
        let missing = || Error::CursorMissing {
            exchange: exchange.clone(),
            url: Some(url_text.to_string()),
        };
        let url = Url::parse(url_text).map_err(|_| missing())?;
        if url.origin() != configured.origin() {
            tracing::warn!(
                next_page_url = %url.origin().ascii_serialization(),
                configured = %configured.origin().ascii_serialization(),
                "the next-page URL points at another origin; re-issuing the request to the configured platform URL only"
            );
        }
        let next: u64 = url
            .query_pairs()
            .find(|(k, _)| k == "id_min")
            .and_then(|(_, v)| v.trim().parse().ok())
            .ok_or_else(missing)?;
        let floor = self.current.into_iter().chain(last_host_id).max();
        if let Some(previous) = floor
            && next <= previous
        {
            return Err(Error::CursorStuck {
                exchange: exchange.clone(),
                previous,
                next,
            });
        }
        self.current = Some(next);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex() -> Exchange {
        Exchange {
            endpoint: "/api/2.0/fo/asset/host/vm/detection/".into(),
            status: Some(200),
            page: Some(2),
        }
    }

    fn warning(url: &str) -> TruncationWarning {
        TruncationWarning {
            code: Some(1980),
            text: "1000 record limit exceeded. Use URL to get next batch of results.".into(),
            url: Some(url.into()),
        }
    }

    #[test]
    fn id_min_is_taken_from_the_url_and_must_advance() {
        let base = Url::parse("https://qualysapi.qualys.com").unwrap();
        let mut c = IdCursor::default();
        let w = warning(
            "https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/?action=list&id_min=101",
        );
        assert!(c.advance(Some(&w), Some(100), &base, &ex()).unwrap());
        assert_eq!(c.id_min(), Some(101));
        let err = c.advance(Some(&w), Some(150), &base, &ex()).unwrap_err();
        assert!(matches!(
            err,
            Error::CursorStuck {
                previous: 150,
                next: 101,
                ..
            }
        ));
    }

    #[test]
    fn no_warning_ends_and_a_warning_without_id_min_is_an_error() {
        let base = Url::parse("https://qualysapi.qualys.com").unwrap();
        let mut c = IdCursor::default();
        assert!(!c.advance(None, Some(5), &base, &ex()).unwrap());
        let w = warning("https://qualysapi.qualys.com/api/2.0/fo/asset/host/?action=list");
        assert!(matches!(
            c.advance(Some(&w), Some(5), &base, &ex()),
            Err(Error::CursorMissing { .. })
        ));
    }
}
