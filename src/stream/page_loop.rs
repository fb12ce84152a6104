//! The page loop shared by the host-based streams: request a page, let the parser fill a
//! [`PageSpool`], move the cursor, commit the page to the sink, repeat.

use std::sync::atomic::Ordering;

use crate::client::body::BodyReader;
use crate::client::classify::{self, ResponseFacts};
use crate::client::cursor::IdCursor;
use crate::client::{QualysClient, Request};
use crate::error::{Exchange, Result};
use crate::parse::xml::text::TextStats;
use crate::parse::xml::{HostListKind, HostListReader, TruncationWarning};
use crate::sink::PageSpool;

/// What a parse function produces for one page.
pub struct PageOutput<E> {
    pub spool: PageSpool,
    pub hosts: u64,
    pub last_host_id: Option<u64>,
    pub warning: Option<TruncationWarning>,
    pub text: TextStats,
    /// Stream-specific extras (QIDs seen, drop counts).
    pub extra: E,
}

/// Opens a host page from a response body; a well-formed document of another kind (an error
/// envelope inside HTTP 200) becomes the error it carries.
pub fn open_page(
    body: BodyReader,
    facts: &ResponseFacts,
    kind: HostListKind,
) -> Result<HostListReader<BodyReader>> {
    match HostListReader::open(body, kind, facts.exchange.to_string())? {
        Ok(page) => Ok(page),
        Err(other) => Err(classify::from_other_document(facts, other)),
    }
}

/// Fetches every page of `request`, calling `commit` with each completed page in order.
///
/// The cursor is checked before a page is committed, so a server that repeats a page fails the
/// run before the repeated records reach the sink. Returns the number of pages.
pub async fn for_each_page<E, F>(
    client: &QualysClient,
    mut request: Request,
    parse: F,
    mut commit: impl AsyncFnMut(PageOutput<E>) -> Result<()>,
) -> Result<u64>
where
    E: Send + 'static,
    F: Fn(BodyReader, &ResponseFacts) -> Result<PageOutput<E>> + Send + Sync + Clone + 'static,
{
    let mut cursor = IdCursor::default();
    let mut page = 1u32;
    loop {
        request.page = Some(page);
        if let Some(id_min) = cursor.id_min() {
            request.set("id_min", id_min.to_string());
        }
        let output = client.fetch(&request, parse.clone()).await?;
        let exchange = Exchange {
            endpoint: request.path.clone(),
            status: Some(200),
            page: Some(page),
        };
        let more = cursor.advance(
            output.warning.as_ref(),
            output.last_host_id,
            client.base_url(),
            &exchange,
        )?;
        commit(output).await?;
        client.live().pages.fetch_add(1, Ordering::Relaxed);
        if !more {
            return Ok(u64::from(page));
        }
        page += 1;
    }
}
