//! The loop every paged stream shares: request a page, let the stream's parser read it
//! completely, move the cursor, commit the page, repeat.

use std::sync::atomic::Ordering;

use super::PageDone;
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
#[allow(
    dead_code,
    reason = "the paging seam of streams that do not resume yet (WAS, issue 10); the tests below use it"
)]
pub async fn for_each_page<C, P, F>(
    client: &QualysClient,
    request: Request,
    cursor: C,
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
    for_each_page_from(client, request, cursor, 0, parse, async |page, _| {
        commit(page).await
    })
    .await
}

/// [`for_each_page`] for a run that may have started before: `cursor` stands where the run
/// continues and `pages_done` pages were committed before. `commit` also gets the
/// [`PageDone`] mark of the page (where the next one starts), for the sink to record once the
/// page's records are written. Returns the number of pages, those done before included.
pub async fn for_each_page_from<C, P, F>(
    client: &QualysClient,
    mut request: Request,
    mut cursor: C,
    pages_done: u64,
    parse: F,
    mut commit: impl AsyncFnMut(P, PageDone) -> Result<()>,
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
    let mut page = pages_done + 1;
    loop {
        request.page = Some(u32::try_from(page).unwrap_or(u32::MAX));
        cursor.apply(&mut request);
        let parsed = client.fetch(&request, parse.clone()).await?;
        let exchange = Exchange {
            endpoint: request.path.clone(),
            status: Some(200),
            page: request.page,
        };
        let more = cursor.advance(&parsed.next, &exchange)?;
        let done = PageDone {
            pages: page,
            next: more.then(|| cursor.position()),
        };
        commit(parsed.page, done).await?;
        client.live().pages.fetch_add(1, Ordering::Relaxed);
        if !more {
            return Ok(page);
        }
        page += 1;
    }
}

#[cfg(test)]
mod tests {
    //! The page loop over the QPS family: a minimal web-application "stream" (ids only) paged
    //! with `id GREATER lastId`, against a mock that pages the way the recorded WAS answers do.

    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request as Received, Respond, ResponseTemplate};

    use super::*;
    use crate::client::error_reader::qps;
    use crate::client::{Body, Operator, ServiceRequest};
    use crate::error::{AccountProblem, Error};
    use crate::parse::xml::document::{self, Root};
    use crate::parse::xml::service_response;
    use crate::parse::xml::walker::Node;
    use crate::qualys::endpoint;
    use crate::stream::cursor::{LastIdCursor, MoreRecords};

    const SEARCH: &str = "/qps/rest/3.0/search/was/webapp";

    /// Web application ids of one page, and the page's marker.
    fn parse_ids(body: BodyReader, facts: &ResponseFacts) -> Result<Parsed<Vec<u64>, MoreRecords>> {
        let origin = facts.exchange.to_string();
        let mut reader = document::reader(body);
        let mut buf = Vec::new();
        let root = document::read_root(&mut reader, &mut buf, &origin)?;
        assert_eq!(root, Root::ServiceResponse);
        let (head, walker) = service_response::read_head(reader, buf, &origin)?;
        if !head.is_success() {
            return Err(qps::from_head(facts, head));
        }
        let mut ids = Vec::new();
        if let Some(mut walker) = walker {
            loop {
                match walker.next_node()? {
                    Node::Close {
                        path: "data/WebApp/id",
                        text,
                    } => ids.push(text.trim().parse().unwrap()),
                    Node::End => break,
                    _ => {}
                }
            }
        }
        let next = MoreRecords::new(&head, ids.len() as u64, ids.last().copied());
        Ok(Parsed { page: ids, next })
    }

    /// Answers searches over `ids` with pages of `limit`, honouring `id GREATER`; `stuck`
    /// repeats the first page's lastId forever.
    struct Pager {
        ids: Vec<u64>,
        limit: usize,
        stuck: bool,
    }

    impl Respond for Pager {
        fn respond(&self, request: &Received) -> ResponseTemplate {
            let body = String::from_utf8_lossy(&request.body);
            let after: u64 = body
                .split("operator=\"GREATER\">")
                .nth(1)
                .and_then(|rest| rest.split('<').next())
                .map(|v| v.parse().unwrap())
                .unwrap_or(0);
            let after = if self.stuck { 0 } else { after };
            let rest: Vec<u64> = self.ids.iter().copied().filter(|&i| i > after).collect();
            let page = &rest[..rest.len().min(self.limit)];
            let more = rest.len() > self.limit;
            let mut xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceResponse><responseCode>SUCCESS</responseCode><count>{}</count><hasMoreRecords>{more}</hasMoreRecords>",
                page.len()
            );
            if more {
                xml.push_str(&format!("<lastId>{}</lastId>", page[page.len() - 1]));
            }
            xml.push_str("<data>");
            for id in page {
                xml.push_str(&format!(
                    "<WebApp><id>{id}</id><name><![CDATA[app & co]]></name></WebApp>"
                ));
            }
            xml.push_str("</data></ServiceResponse>");
            ResponseTemplate::new(200).set_body_raw(xml, "application/xml")
        }
    }

    async fn run(server: &MockServer) -> (Result<u64>, Vec<u64>) {
        let client = QualysClient::for_test(&server.uri(), "pw");
        let request = Request::post(&endpoint::WAS_WEBAPP_SEARCH).body(Body::Xml(
            ServiceRequest::default()
                .preference("limitResults", "2")
                .criterion("name", Operator::Contains, "app"),
        ));
        let mut seen = Vec::new();
        let pages = for_each_page(
            &client,
            request,
            LastIdCursor::default(),
            parse_ids,
            async |ids: Vec<u64>| {
                seen.extend(ids);
                Ok(())
            },
        )
        .await;
        (pages, seen)
    }

    #[tokio::test]
    async fn qps_pages_follow_last_id_with_the_same_filters_until_no_more_records() {
        let server = MockServer::start().await;
        let ids = vec![238483924, 238483925, 240000001, 251316904, 251316905];
        Mock::given(method("POST"))
            .and(path(SEARCH))
            .respond_with(Pager {
                ids: ids.clone(),
                limit: 2,
                stuck: false,
            })
            .mount(&server)
            .await;
        let (pages, seen) = run(&server).await;
        assert_eq!(pages.unwrap(), 3);
        assert_eq!(seen, ids);
        let bodies: Vec<String> = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect();
        assert!(!bodies[0].contains("GREATER"), "{}", bodies[0]);
        for (body, last) in bodies[1..].iter().zip([238483925u64, 251316904]) {
            assert!(
                body.contains(&format!(
                    "<Criteria field=\"name\" operator=\"CONTAINS\">app</Criteria><Criteria field=\"id\" operator=\"GREATER\">{last}</Criteria>"
                )),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn a_server_repeating_the_same_page_fails_the_run_after_one_repeat() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(SEARCH))
            .respond_with(Pager {
                ids: (1..=9).collect(),
                limit: 2,
                stuck: true,
            })
            .mount(&server)
            .await;
        let (pages, seen) = run(&server).await;
        let e = pages.unwrap_err();
        assert!(
            matches!(
                e,
                Error::CursorStuck {
                    cursor: "lastId",
                    previous: 2,
                    next: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(seen, [1, 2], "the repeated page is not committed");
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_service_response_error_inside_http_200_is_an_account_error_not_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(SEARCH))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                service_response::recorded::INVALID_CREDENTIALS,
                "application/xml",
            ))
            .mount(&server)
            .await;
        let (pages, seen) = run(&server).await;
        let e = pages.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Account {
                    problem: AccountProblem::BadLogin,
                    ..
                }
            ),
            "{e}"
        );
        assert!(seen.is_empty());
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}
