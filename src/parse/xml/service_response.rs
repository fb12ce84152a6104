//! The head of a QPS `ServiceResponse` (WAS): `responseCode`, the error details, and the paging
//! facts `count`, `hasMoreRecords` and `lastId`.
//!
//! The XSD makes these a sequence that comes before `data`, so the head is read completely
//! before any record, and the reader is handed back positioned inside `data` for the stream's
//! record parser. Errors arrive in the same envelope, inside HTTP 200 as often as not:
//!
//! ```xml
//! <ServiceResponse xmlns:xsi="..." xsi:noNamespaceSchemaLocation="https://.../qps/xsd/3.0/was/webapp.xsd">
//!   <responseCode>INVALID_REQUEST</responseCode>
//!   <responseErrorDetails>
//!     <errorMessage>Criteria: Invalid value format for criteria &apos;isScanned&apos; (undefined).</errorMessage>
//!     <errorResolution>Values expected: true, false.</errorResolution>
//!   </responseErrorDetails>
//! </ServiceResponse>
//! ```

use std::io::BufRead;

use quick_xml::Reader;

use super::walker::{Node, Walker};
use crate::error::{Error, Result};

/// What a `ServiceResponse` says before its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceResponseHead {
    /// `SUCCESS`, or the error's code (`INVALID_CREDENTIALS`, `UNAUTHORIZED`, ...).
    pub response_code: String,
    pub error_message: Option<String>,
    pub error_resolution: Option<String>,
    /// The number of records in this answer (not the total).
    pub count: Option<u64>,
    pub has_more_records: Option<bool>,
    /// The id of the last record, present when `hasMoreRecords` is true.
    pub last_id: Option<u64>,
}

impl ServiceResponseHead {
    pub fn is_success(&self) -> bool {
        self.response_code == "SUCCESS"
    }
}

/// Reads the head of a `ServiceResponse` whose root has been read
/// ([`super::document::read_root`] returned [`super::Root::ServiceResponse`]).
///
/// Returns the head and, when the answer has a `data` element, the walker positioned just
/// inside it (its next nodes are `data/<Record>/...`).
pub fn read_head<R: BufRead>(
    reader: Reader<R>,
    buf: Vec<u8>,
    origin: &str,
) -> Result<(ServiceResponseHead, Option<Walker<R>>)> {
    let (head, walker, after) = read_head_keeping_walker(reader, buf, origin)?;
    Ok((head, (after == AfterHead::InsideData).then_some(walker)))
}

/// Where [`read_head_keeping_walker`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterHead {
    /// Just inside `data`: the records come next.
    InsideData,
    /// After the root's end tag: the answer has no `data` (an error, or the 2022 empty answer).
    AfterRoot,
}

/// [`read_head`] that hands the walker back in both cases, so a reader that checks what follows
/// the root (the WAS record readers) can take the reader over.
pub fn read_head_keeping_walker<R: BufRead>(
    reader: Reader<R>,
    buf: Vec<u8>,
    origin: &str,
) -> Result<(ServiceResponseHead, Walker<R>, AfterHead)> {
    let mut walker = Walker::new(reader, buf, origin);
    let mut head = ServiceResponseHead::default();
    let mut seen_code = false;
    let data = loop {
        let offset = walker.position();
        match walker.next_node()? {
            Node::Open { path: "data" } => break true,
            Node::Open { .. } => {}
            Node::End => break false,
            Node::Close { path, text } => {
                let text = text.trim();
                let number = |what: &str| {
                    text.parse::<u64>().map_err(|_| Error::Unexpected {
                        origin: origin.to_string(),
                        offset,
                        problem: format!("ServiceResponse/{what} is not a number: {text:?}"),
                    })
                };
                match path {
                    "responseCode" => {
                        head.response_code = text.to_string();
                        seen_code = true;
                    }
                    "responseErrorDetails/errorMessage" => {
                        head.error_message = Some(text.to_string())
                    }
                    "responseErrorDetails/errorResolution" => {
                        head.error_resolution = Some(text.to_string())
                    }
                    "count" => head.count = Some(number("count")?),
                    "lastId" => head.last_id = Some(number("lastId")?),
                    "hasMoreRecords" => {
                        head.has_more_records = match text {
                            "true" => Some(true),
                            "false" => Some(false),
                            _ => {
                                return Err(Error::Unexpected {
                                    origin: origin.to_string(),
                                    offset,
                                    problem: format!(
                                        "ServiceResponse/hasMoreRecords is neither true nor false: {text:?}"
                                    ),
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    };
    if !seen_code {
        return Err(Error::Unexpected {
            origin: origin.to_string(),
            offset: walker.position(),
            problem: "a ServiceResponse without responseCode".into(),
        });
    }
    let after = if data {
        AfterHead::InsideData
    } else {
        AfterHead::AfterRoot
    };
    Ok((head, walker, after))
}

/// Recorded bodies, verbatim from `shared/reference/was/graph-qualys/bodies/`.
#[cfg(test)]
pub(crate) mod recorded {
    /// `verifyAuthenticationInaccesible_1787272724__01_GET_portal_version.response.xml`
    /// (HTTP 200).
    pub const INVALID_CREDENTIALS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ServiceResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://qualysapi.qg3.apps.qualys.com/qps/xsd/2.0/am/hostasset.xsd">
  <responseCode>INVALID_CREDENTIALS</responseCode>
  <responseErrorDetails>
<errorMessage>Authentication failed</errorMessage>
<errorResolution>Verify both, user and password credentials.</errorResolution>
  </responseErrorDetails>
</ServiceResponse>"#;

    /// `iterateWebAppsInvalidFilterValue_942250719__01_POST_3.0_search_was_webapp.response.xml`.
    pub const INVALID_REQUEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ServiceResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://qualysapi.qg3.apps.qualys.com/qps/xsd/3.0/was/webapp.xsd">
  <responseCode>INVALID_REQUEST</responseCode>
  <responseErrorDetails>
<errorMessage>Criteria: Invalid value format for criteria &apos;isScanned&apos; (undefined).</errorMessage>
<errorResolution>Values expected: true, false.</errorResolution>
  </responseErrorDetails>
</ServiceResponse>"#;

    /// `iterateWebAppsFilteredNotFound_1713028025__01_...response.xml` (2022 empty form).
    pub const EMPTY_2022: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ServiceResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://qualysapi.qg3.apps.qualys.com/qps/xsd/3.0/was/webapp.xsd">
  <responseCode>SUCCESS</responseCode>
  <count>0</count>
</ServiceResponse>"#;

    /// `fetchScannedWebAppIdsNone_4241847504__01_...response.xml` (2020 empty form).
    pub const EMPTY_2020: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ServiceResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://qualysapi.qg3.apps.qualys.com/qps/xsd/3.0/was/webapp.xsd">
  <responseCode>SUCCESS</responseCode>
  <count>0</count>
  <hasMoreRecords>false</hasMoreRecords>
  <data>
  </data>
</ServiceResponse>"#;

    /// `iterateWebAppsPagination_3034496965__01_...response.xml` (page 1 of 7).
    pub const PAGE_WITH_MORE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ServiceResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://qualysapi.qg3.apps.qualys.com/qps/xsd/3.0/was/webapp.xsd">
  <responseCode>SUCCESS</responseCode>
  <count>1</count>
  <hasMoreRecords>true</hasMoreRecords>
  <lastId>238483924</lastId>
  <data>
<WebApp>
  <id>238483924</id>
  <name><![CDATA[http://rest.vulnweb.com/]]></name>
  <url><![CDATA[http://rest.vulnweb.com/]]></url>
  <owner>
    <id>17729931</id>
  </owner>
  <tags>
    <count>0</count>
  </tags>
  <createdDate>2022-04-12T21:12:52Z</createdDate>
  <updatedDate>2022-04-12T21:39:40Z</updatedDate>
</WebApp>
  </data>
</ServiceResponse>"#;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::xml::document::{Root, read_root, reader};

    fn head(xml: &str) -> (ServiceResponseHead, bool) {
        let mut r = reader(xml.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_root(&mut r, &mut buf, "t").unwrap(),
            Root::ServiceResponse
        );
        let (head, data) = read_head(r, buf, "t").unwrap();
        (head, data.is_some())
    }

    #[test]
    fn an_error_envelope_yields_its_code_message_and_resolution() {
        let (h, data) = head(recorded::INVALID_REQUEST);
        assert!(!h.is_success() && !data);
        assert_eq!(h.response_code, "INVALID_REQUEST");
        assert_eq!(
            h.error_message.as_deref(),
            Some("Criteria: Invalid value format for criteria 'isScanned' (undefined).")
        );
        assert_eq!(
            h.error_resolution.as_deref(),
            Some("Values expected: true, false.")
        );
        assert_eq!(
            head(recorded::INVALID_CREDENTIALS).0.response_code,
            "INVALID_CREDENTIALS"
        );
    }

    #[test]
    fn both_recorded_empty_answers_are_a_success_without_more_records() {
        for (xml, has_data) in [(recorded::EMPTY_2022, false), (recorded::EMPTY_2020, true)] {
            let (h, data) = head(xml);
            assert!(h.is_success());
            assert_eq!(h.count, Some(0));
            assert_ne!(h.has_more_records, Some(true));
            assert_eq!(data, has_data);
        }
    }

    #[test]
    fn a_page_with_more_records_hands_back_the_walker_inside_data() {
        let mut r = reader(recorded::PAGE_WITH_MORE.as_bytes());
        let mut buf = Vec::new();
        read_root(&mut r, &mut buf, "t").unwrap();
        let (h, walker) = read_head(r, buf, "t").unwrap();
        assert_eq!(
            (h.count, h.has_more_records, h.last_id),
            (Some(1), Some(true), Some(238483924))
        );
        let mut walker = walker.expect("the page has data");
        let mut ids = Vec::new();
        loop {
            match walker.next_node().unwrap() {
                Node::Close {
                    path: "data/WebApp/id",
                    text,
                } => ids.push(text.trim().to_string()),
                Node::End => break,
                _ => {}
            }
        }
        assert_eq!(ids, ["238483924"]);
    }

    #[test]
    fn a_response_code_is_required_and_numbers_must_be_numbers() {
        let mut r = reader("<ServiceResponse><count>1</count></ServiceResponse>".as_bytes());
        let mut buf = Vec::new();
        read_root(&mut r, &mut buf, "t").unwrap();
        assert!(
            read_head(r, buf, "t").is_err(),
            "no responseCode was accepted"
        );
        let mut r = reader(
            "<ServiceResponse><responseCode>SUCCESS</responseCode><lastId>x</lastId></ServiceResponse>"
                .as_bytes(),
        );
        let mut buf = Vec::new();
        read_root(&mut r, &mut buf, "t").unwrap();
        let Err(e) = read_head(r, buf, "t") else {
            panic!("a non-numeric lastId was accepted")
        };
        assert!(e.to_string().contains("lastId is not a number"), "{e}");
    }
}
