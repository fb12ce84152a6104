//! Where the next page starts, in each API family's terms.
//!
//! - [`IdMinCursor`] (FO): a truncated page ends with a `WARNING` (CODE 1980) whose URL carries
//!   `id_min`. The connector never requests that URL: it takes `id_min` from it and re-issues
//!   its own request against the configured platform origin, so credentials cannot follow a URL
//!   that points somewhere else (a misconfigured proxy, a hostile response).
//! - [`LastIdCursor`] (QPS): while `hasMoreRecords` is true, the next request repeats the same
//!   filters plus `id GREATER <lastId>` (the documented method; records arrive sorted by id).
//!
//! A cursor says where it stands as a [`PagePosition`], the form a state file keeps
//! (`fetch --state`), and a stream can start from one (`fetch --resume`).
//!
//! A cursor that does not move past the records already read would loop forever, and a page
//! that says more follow without saying where is a dead end: both are errors
//! ([`Error::CursorStuck`], [`Error::CursorMissing`]), checked before the page is committed, so
//! a server that repeats a page fails the run before the repeated records reach the sink.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::client::{Body, Operator, Request};
use crate::error::{Error, Exchange, Result};
use crate::parse::xml::TruncationWarning;
use crate::parse::xml::service_response::ServiceResponseHead;

/// How a paged stream moves from one page to the next.
pub trait Cursor {
    /// What a parsed page says about the next one.
    type Marker: Send + 'static;

    /// Reads a page's marker. Returns `Ok(true)` when another page follows, and only after
    /// checking that it starts after every record already read.
    fn advance(&mut self, marker: &Self::Marker, exchange: &Exchange) -> Result<bool>;

    /// Puts the cursor's position on the request for the next page (nothing before the first).
    fn apply(&self, request: &mut Request);

    /// Where the next page starts, for a state file.
    fn position(&self) -> PagePosition;
}

/// Where a paged stream continues: what a state file records after each completed page, one
/// variant per way of paging. Every variant means "everything before this was committed".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PagePosition {
    /// Nothing read yet: the first page.
    Start,
    /// FO: the next request carries `id_min`.
    IdMin { id_min: u64 },
    /// QPS: the next `ServiceRequest` carries `id GREATER last_id`.
    LastId { last_id: u64 },
    /// PCRS: the policies before `policy_id` (in the order the run fetches them) are done, and of
    /// `policy_id`'s host IDs (in the order the gateway lists them) the first `hosts_done`, the
    /// last of which is `last_host_id` (checked on resume, so a changed host list is refused
    /// rather than skipped wrongly).
    PolicyBatch {
        policy_id: String,
        hosts_done: u64,
        last_host_id: String,
    },
}

impl std::fmt::Display for PagePosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PagePosition::Start => f.write_str("the first page"),
            PagePosition::IdMin { id_min } => write!(f, "id_min={id_min}"),
            PagePosition::LastId { last_id } => write!(f, "id GREATER {last_id}"),
            PagePosition::PolicyBatch {
                policy_id,
                hosts_done,
                last_host_id,
            } => write!(
                f,
                "policy {policy_id} after its first {hosts_done} host(s) (the last {last_host_id})"
            ),
        }
    }
}

/// The end of an FO host page: its truncation WARNING, if any, and the highest host ID on it.
#[derive(Debug, Clone, Default)]
pub struct Truncation {
    pub warning: Option<TruncationWarning>,
    pub last_host_id: Option<u64>,
}

/// The FO `id_min` cursor.
#[derive(Debug, Clone)]
pub struct IdMinCursor {
    current: Option<u64>,
    configured: Url,
}

impl IdMinCursor {
    /// A cursor for pages fetched from the `configured` platform URL.
    pub fn new(configured: Url) -> Self {
        IdMinCursor {
            current: None,
            configured,
        }
    }

    /// A cursor that continues at `position` (a resumed run); `None` when the position is not
    /// an `id_min` one.
    pub fn resume(configured: Url, position: &PagePosition) -> Option<Self> {
        let mut cursor = IdMinCursor::new(configured);
        cursor.current = match position {
            PagePosition::Start => None,
            PagePosition::IdMin { id_min } => Some(*id_min),
            _ => return None,
        };
        Some(cursor)
    }
}

impl Cursor for IdMinCursor {
    type Marker = Truncation;

    /// The next `id_min` must be above the page's last host ID and above the current cursor.
    fn advance(&mut self, marker: &Truncation, exchange: &Exchange) -> Result<bool> {
        let Some(warning) = &marker.warning else {
            return Ok(false);
        };
        // The server's URL is quoted, never with a user name or password it may carry.
        let missing = |url: Option<&str>| Error::CursorMissing {
            exchange: exchange.clone(),
            what: format!(
                "truncation WARNING without a usable next-page URL (URL: {:?})",
                url.map(crate::qualys::platform::url_for_display)
            ),
        };
        let Some(url_text) = warning
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Err(missing(None));
        };
        let url = Url::parse(url_text).map_err(|_| missing(Some(url_text)))?;
        if url.origin() != self.configured.origin() {
            tracing::warn!(
                next_page_url = %url.origin().ascii_serialization(),
                configured = %self.configured.origin().ascii_serialization(),
                "the next-page URL points at another origin; re-issuing the request to the configured platform URL only"
            );
        }
        let next: u64 = url
            .query_pairs()
            .find(|(k, _)| k == "id_min")
            .and_then(|(_, v)| v.trim().parse().ok())
            .ok_or_else(|| missing(Some(url_text)))?;
        let floor = self.current.into_iter().chain(marker.last_host_id).max();
        if let Some(previous) = floor
            && next <= previous
        {
            return Err(Error::CursorStuck {
                exchange: exchange.clone(),
                cursor: "id_min",
                previous,
                next,
            });
        }
        self.current = Some(next);
        Ok(true)
    }

    fn apply(&self, request: &mut Request) {
        if let Some(id_min) = self.current {
            request.set("id_min", id_min.to_string());
        }
    }

    fn position(&self) -> PagePosition {
        match self.current {
            None => PagePosition::Start,
            Some(id_min) => PagePosition::IdMin { id_min },
        }
    }
}

/// The end of a QPS page: what its `ServiceResponse` head said, and the records it held.
#[derive(Debug, Clone, Default)]
pub struct MoreRecords {
    /// `hasMoreRecords` (absent counts as false: the 2022 empty answer has only `count`).
    pub has_more: bool,
    pub last_id: Option<u64>,
    /// Records on the page.
    pub records: u64,
    /// The id of the last record on the page.
    pub last_record_id: Option<u64>,
}

impl MoreRecords {
    /// The marker of a page whose head was `head` and which held `records` records, the last
    /// with id `last_record_id`.
    pub fn new(head: &ServiceResponseHead, records: u64, last_record_id: Option<u64>) -> Self {
        MoreRecords {
            has_more: head.has_more_records == Some(true),
            last_id: head.last_id,
            records,
            last_record_id,
        }
    }
}

/// The QPS `lastId` cursor: `id GREATER <lastId>` on the next `ServiceRequest`.
#[derive(Debug, Clone, Default)]
pub struct LastIdCursor {
    last_id: Option<u64>,
}

impl LastIdCursor {
    /// The `lastId` the next request continues after, if any.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "the paging property test reads where the cursor is"
        )
    )]
    pub fn last_id(&self) -> Option<u64> {
        self.last_id
    }

    /// A cursor that continues at `position` (a resumed run); `None` when the position is not
    /// a `lastId` one.
    pub fn resume(position: &PagePosition) -> Option<Self> {
        match position {
            PagePosition::Start => Some(LastIdCursor::default()),
            PagePosition::LastId { last_id } => Some(LastIdCursor {
                last_id: Some(*last_id),
            }),
            _ => None,
        }
    }
}

impl Cursor for LastIdCursor {
    type Marker = MoreRecords;

    /// The next `lastId` must be above the previous one, and not below the last record of the
    /// page (or the records after it would come again).
    fn advance(&mut self, marker: &MoreRecords, exchange: &Exchange) -> Result<bool> {
        if !marker.has_more {
            return Ok(false);
        }
        if marker.records == 0 {
            return Err(Error::CursorMissing {
                exchange: exchange.clone(),
                what: "hasMoreRecords is true but the page holds no records".into(),
            });
        }
        let Some(next) = marker.last_id else {
            return Err(Error::CursorMissing {
                exchange: exchange.clone(),
                what: "hasMoreRecords is true but the page has no lastId".into(),
            });
        };
        let behind_page = marker.last_record_id.filter(|&last| next < last);
        if let Some(previous) = self.last_id.filter(|&p| next <= p).or(behind_page) {
            return Err(Error::CursorStuck {
                exchange: exchange.clone(),
                cursor: "lastId",
                previous,
                next,
            });
        }
        self.last_id = Some(next);
        Ok(true)
    }

    /// # Panics
    ///
    /// When the request's body is not a `ServiceRequest`: a QPS stream that pages with
    /// `lastId` sends one, and anything else is a bug in that stream.
    fn apply(&self, request: &mut Request) {
        let Some(last_id) = self.last_id else { return };
        match &mut request.body {
            Body::Xml(service_request) => {
                service_request.set_criterion("id", Operator::Greater, last_id.to_string())
            }
            other => panic!(
                "the lastId cursor needs a ServiceRequest body on {}, found {other:?}",
                request.path
            ),
        }
    }

    fn position(&self) -> PagePosition {
        match self.last_id {
            None => PagePosition::Start,
            Some(last_id) => PagePosition::LastId { last_id },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ServiceRequest;
    use crate::qualys::endpoint;
    use proptest::prelude::*;

    fn ex() -> Exchange {
        Exchange {
            endpoint: "/api/2.0/fo/asset/host/vm/detection/".into(),
            status: Some(200),
            page: Some(2),
        }
    }

    fn truncated(url: &str, last_host_id: u64) -> Truncation {
        Truncation {
            warning: Some(TruncationWarning {
                code: Some(1980),
                text: "1000 record limit exceeded. Use URL to get next batch of results.".into(),
                url: Some(url.into()),
            }),
            last_host_id: Some(last_host_id),
        }
    }

    fn base() -> Url {
        Url::parse("https://qualysapi.qualys.com").unwrap()
    }

    #[test]
    fn id_min_is_taken_from_the_url_and_must_advance() {
        let mut c = IdMinCursor::new(base());
        let url = "https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/?action=list&id_min=101";
        assert!(c.advance(&truncated(url, 100), &ex()).unwrap());
        let mut r = Request::post(&endpoint::HOST_DETECTION).form("action", "list");
        c.apply(&mut r);
        assert_eq!(r.param("id_min"), Some("101"));
        let err = c.advance(&truncated(url, 150), &ex()).unwrap_err();
        assert!(matches!(
            err,
            Error::CursorStuck {
                cursor: "id_min",
                previous: 150,
                next: 101,
                ..
            }
        ));
    }

    #[test]
    fn no_warning_ends_and_a_warning_without_id_min_is_an_error() {
        let mut c = IdMinCursor::new(base());
        assert!(!c.advance(&Truncation::default(), &ex()).unwrap());
        let marker = truncated(
            "https://qualysapi.qualys.com/api/2.0/fo/asset/host/?action=list",
            5,
        );
        let e = c.advance(&marker, &ex()).unwrap_err();
        assert!(matches!(e, Error::CursorMissing { .. }));
        assert!(
            e.to_string()
                .contains("truncation WARNING without a usable next-page URL"),
            "{e}"
        );
    }

    #[test]
    fn a_next_page_url_is_quoted_without_the_credentials_it_carries() {
        let mut c = IdMinCursor::new(base());
        let marker = truncated(
            "https://someone:s3cr3t@qualysapi.qualys.com/api/2.0/fo/asset/host/?action=list",
            5,
        );
        let msg = c.advance(&marker, &ex()).unwrap_err().to_string();
        assert!(msg.contains("https://***@qualysapi.qualys.com/"), "{msg}");
        assert!(!msg.contains("s3cr3t") && !msg.contains("someone"), "{msg}");
    }

    fn more(has_more: bool, last_id: Option<u64>, records: u64, last: Option<u64>) -> MoreRecords {
        MoreRecords {
            has_more,
            last_id,
            records,
            last_record_id: last,
        }
    }

    #[test]
    fn last_id_goes_into_an_id_greater_criterion_and_replaces_the_previous_one() {
        let mut c = LastIdCursor::default();
        let mut r = Request::post(&endpoint::WAS_FINDING_SEARCH).body(Body::Xml(
            ServiceRequest::default().criterion("type", Operator::Equals, "VULNERABILITY"),
        ));
        c.apply(&mut r);
        assert!(!r.body.to_bytes().windows(7).any(|w| w == b"GREATER"));
        for last in [6816386u64, 6816400] {
            assert!(
                c.advance(&more(true, Some(last), 1, Some(last)), &ex())
                    .unwrap()
            );
            c.apply(&mut r);
        }
        let xml = String::from_utf8(r.body.to_bytes()).unwrap();
        assert!(
            xml.contains(r#"<Criteria field="type" operator="EQUALS">VULNERABILITY</Criteria><Criteria field="id" operator="GREATER">6816400</Criteria></filters>"#),
            "{xml}"
        );
        assert!(
            !c.advance(&more(false, None, 3, Some(6816500)), &ex())
                .unwrap()
        );
    }

    #[test]
    fn a_stuck_or_missing_last_id_is_an_error_never_a_loop() {
        let mut c = LastIdCursor::default();
        assert!(
            c.advance(&more(true, Some(10), 2, Some(10)), &ex())
                .unwrap()
        );
        let e = c
            .advance(&more(true, Some(10), 2, Some(10)), &ex())
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::CursorStuck {
                    cursor: "lastId",
                    previous: 10,
                    next: 10,
                    ..
                }
            ),
            "{e}"
        );
        let e = c
            .advance(&more(true, Some(20), 0, None), &ex())
            .unwrap_err();
        assert!(e.to_string().contains("holds no records"), "{e}");
        let e = c
            .advance(&more(true, None, 2, Some(30)), &ex())
            .unwrap_err();
        assert!(e.to_string().contains("no lastId"), "{e}");
        let e = LastIdCursor::default()
            .advance(&more(true, Some(15), 2, Some(18)), &ex())
            .unwrap_err();
        assert!(
            matches!(e, Error::CursorStuck { .. }),
            "lastId behind the page: {e}"
        );
    }

    #[test]
    fn positions_round_trip_through_json_and_resume_the_same_cursor() {
        let mut c = IdMinCursor::new(base());
        let url = "https://qualysapi.qualys.com/api/2.0/fo/asset/host/?action=list&id_min=101";
        assert_eq!(c.position(), PagePosition::Start);
        c.advance(&truncated(url, 100), &ex()).unwrap();
        let json = serde_json::to_string(&c.position()).unwrap();
        assert_eq!(json, r#"{"kind":"id_min","id_min":101}"#);
        let back: PagePosition = serde_json::from_str(&json).unwrap();
        let resumed = IdMinCursor::resume(base(), &back).unwrap();
        let mut r = Request::post(&endpoint::HOST_LIST).form("action", "list");
        resumed.apply(&mut r);
        assert_eq!(r.param("id_min"), Some("101"));
        let last = PagePosition::LastId { last_id: 77 };
        assert!(IdMinCursor::resume(base(), &last).is_none());
        let resumed = LastIdCursor::resume(&last).unwrap();
        assert_eq!((resumed.last_id(), resumed.position()), (Some(77), last));
        assert!(LastIdCursor::resume(&PagePosition::IdMin { id_min: 1 }).is_none());
    }

    proptest! {
        /// Any page size over any sorted id set: every record exactly once, and the walk ends.
        #[test]
        fn last_id_paging_reads_every_record_once_whatever_the_page_size(
            ids in prop::collection::btree_set(1u64..100_000, 0..60),
            limit in 1usize..8,
        ) {
            let ids: Vec<u64> = ids.into_iter().collect();
            let mut cursor = LastIdCursor::default();
            let mut seen = Vec::new();
            for _ in 0..=ids.len() {
                let after = cursor.last_id().unwrap_or(0);
                let rest: Vec<u64> = ids.iter().copied().filter(|&i| i > after).collect();
                let page = &rest[..rest.len().min(limit)];
                let has_more = rest.len() > limit;
                seen.extend_from_slice(page);
                let marker = MoreRecords {
                    has_more,
                    last_id: has_more.then(|| page[page.len() - 1]),
                    records: page.len() as u64,
                    last_record_id: page.last().copied(),
                };
                if !cursor.advance(&marker, &ex()).unwrap() {
                    break;
                }
            }
            prop_assert_eq!(seen, ids);
        }
    }
}
