//! The loop every paged stream shares: request a page, let the stream's parser read it
//! completely, move the cursor, commit the page, repeat.

use std::sync::atomic::Ordering;

use super::cursor::Cursor;
use crate::client::body_reader::BodyReader;
use crate::client::error_reader::ResponseFacts;
use crate::client::{QualysClient, Request};
use crate::error::{Exchange, Result};

/// One parsed page, held until it is committed: what it holds, and where the next page starts.
pub struct Parsed<P, M> {
    pub page: P,
    pub next: M,
}

/// Fetches every page from `request` on, calling `commit` with each completed page in order.
///
/// The cursor is moved before a page is committed, so a server that repeats a page fails the
/// run before the repeated records reach the sink. Returns the number of pages.
pub async fn for_each_page<C, P, F>(
    client: &QualysClient,
    mut request: Request,
    mut cursor: C,
    parse: F,
    mut commit: impl AsyncFnMut(P) -> Result<()>,
) -> Result<u64>
where
    C: Cursor,
    P: Send + 'static,
    F: Fn(BodyReader, &ResponseFacts) -> Result<Parsed<P, C::Marker>>
        + Send
        + Sync
        + Clone
        + 'static,
{
    let mut page = 1u32;
    loop {
        request.page = Some(page);
        cursor.apply(&mut request);
        let parsed = client.fetch(&request, parse.clone()).await?;
        let exchange = Exchange {
            endpoint: request.path.clone(),
            status: Some(200),
            page: Some(page),
        };
        let more = cursor.advance(&parsed.next, &exchange)?;
        commit(parsed.page).await?;
        client.live().pages.fetch_add(1, Ordering::Relaxed);
        if !more {
            return Ok(u64::from(page));
        }
        page += 1;
    }
}
