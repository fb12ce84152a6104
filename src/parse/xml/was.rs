//! Streaming readers for WAS search answers: the `WebApp` records of
//! `/qps/rest/3.0/search/was/webapp` and the `Finding` records of `.../search/was/finding`, one
//! record at a time, after the `ServiceResponse` head ([`super::service_response`]).
//!
//! A finding page is the large one: with `verbose` each finding can carry a `resultList` of
//! request and response captures many kilobytes long, and a page holds up to 1,000 findings. So
//! the reader never builds a tree. A record's layout is a static table of the elements the
//! connector uses ([`RecordKind`]: which element fills which field or list); every other
//! element, `resultList` and `history` first of all, is read past with the raw event loop,
//! counting depth: its events pass through the one reused event buffer and nothing of them is
//! kept. One [`ParsedRecord`] is reused from record to record, so memory is bounded by the
//! largest record the connector keeps, never by the page.
//!
//! The same document is parsed and checked in full whatever is kept: well-formedness, end-tag
//! names, UTF-8, the record `id`. [`Capture::Counting`] keeps only the `id` (what a count and the
//! paging need), so `qharness parse --count` reads past everything else. To make a count agree
//! with a full parse on every input, nothing the full parse keeps can fail where the count would
//! not: an undeclared entity reference in a kept text (Qualys declares none) becomes U+FFFD and
//! is counted with the forbidden characters ([`TextStats`]), as in the skipped parts it is
//! never looked at.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::document::{self, Root};
use super::host_list::{Capture, OtherDocument};
use super::service_response::{self, AfterHead, ServiceResponseHead};
use super::text::{TextAssembler, TextStats, trim};
use crate::error::{Error, Result};

/// What an element of a record feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Holds other elements; its own text is ignored.
    Container,
    /// Its text is field `n` (a repeated element: the last one wins).
    Field(u8),
    /// Starts a new item of list `n`; a child with [`Slot::ItemText`] fills it.
    NewItem(u8),
    /// Its text goes into the current item of list `n`.
    ItemText(u8),
    /// A new item of list `n` with this element's text (`cwe/list/long`).
    Item(u8),
}

/// An element the reader uses, and the elements below it it uses.
#[derive(Debug)]
struct Element {
    name: &'static str,
    slot: Slot,
    children: &'static [Element],
}

const fn leaf(name: &'static str, field: u8) -> Element {
    Element {
        name,
        slot: Slot::Field(field),
        children: &[],
    }
}

const fn holds(name: &'static str, children: &'static [Element]) -> Element {
    Element {
        name,
        slot: Slot::Container,
        children,
    }
}

/// The layout of one kind of record: its element name, how many fields and lists it has, and
/// the elements that fill them (all of them, or only the `id` for counting).
#[derive(Debug)]
pub struct RecordKind {
    /// `WebApp`, `Finding`.
    pub element: &'static str,
    fields: usize,
    lists: usize,
    id_field: u8,
    full: Element,
    counting: Element,
}

impl RecordKind {
    fn root(&'static self, capture: Capture) -> &'static Element {
        match capture {
            Capture::All => &self.full,
            Capture::Counting => &self.counting,
        }
    }
}

/// Field and list indexes of a record kind, so callers read `record.get(WebAppField::Name)`.
pub trait RecordIndex: Copy {
    fn index(self) -> usize;
}

macro_rules! indexes {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),* }

        impl $name {
            /// How many there are.
            pub const COUNT: usize = [$($name::$variant),*].len();
        }

        impl RecordIndex for $name {
            #[inline]
            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

indexes!(
    /// The text fields of a `WebApp` the connector uses.
    WebAppField {
        Id,
        Name,
        Url,
        Os,
        OwnerId,
        OwnerUsername,
        Scope,
        IsScheduled,
        LastScanId,
        LastScanStatus,
        LastScanResultsStatus,
        LastScanLaunchedDate,
        CreatedDate,
        UpdatedDate,
        RiskScore,
    }
);

indexes!(
    /// The lists of a `WebApp`.
    WebAppList { TagNames }
);

indexes!(
    /// The text fields of a `Finding` the connector uses.
    FindingField {
        Id,
        UniqueId,
        Qid,
        Name,
        Type,
        Potential,
        FindingType,
        Param,
        Severity,
        Url,
        Status,
        FirstDetectedDate,
        LastDetectedDate,
        LastTestedDate,
        TimesDetected,
        IsIgnored,
        IgnoredReason,
        FixedDate,
        Group,
        DetectionScore,
        Cvss3Base,
        WebAppId,
        WebAppName,
        WebAppUrl,
    }
);

indexes!(
    /// The lists of a `Finding`.
    FindingList { Cwe, OwaspCodes, WascCodes }
);

mod layout {
    //! The element tables. The paths are the recorded ones (graph-qualys bodies: search and
    //! get details) plus the verbose elements documented by Qualys and read by qualysdk.

    use super::{Element, FindingField as F, FindingList as FL, Slot, WebAppField as W};
    use super::{WebAppList as WL, holds, leaf};

    const fn w(name: &'static str, f: W) -> Element {
        leaf(name, f as u8)
    }

    const fn f(name: &'static str, f: F) -> Element {
        leaf(name, f as u8)
    }

    static OWNER: [Element; 2] = [w("id", W::OwnerId), w("username", W::OwnerUsername)];
    static TAG: [Element; 1] = [Element {
        name: "name",
        slot: Slot::ItemText(WL::TagNames as u8),
        children: &[],
    }];
    static TAG_LIST: [Element; 1] = [Element {
        name: "Tag",
        slot: Slot::NewItem(WL::TagNames as u8),
        children: &TAG,
    }];
    static TAGS: [Element; 1] = [holds("list", &TAG_LIST)];
    static SUMMARY: [Element; 1] = [w("resultsStatus", W::LastScanResultsStatus)];
    static LAST_SCAN: [Element; 4] = [
        w("id", W::LastScanId),
        w("status", W::LastScanStatus),
        holds("summary", &SUMMARY),
        w("launchedDate", W::LastScanLaunchedDate),
    ];
    static WEBAPP: [Element; 12] = [
        w("id", W::Id),
        w("name", W::Name),
        w("url", W::Url),
        w("riskScore", W::RiskScore),
        w("os", W::Os),
        holds("owner", &OWNER),
        w("scope", W::Scope),
        holds("tags", &TAGS),
        w("isScheduled", W::IsScheduled),
        holds("lastScan", &LAST_SCAN),
        w("createdDate", W::CreatedDate),
        w("updatedDate", W::UpdatedDate),
    ];
    static WEBAPP_ID: [Element; 1] = [w("id", W::Id)];

    pub static WEBAPP_KIND: super::RecordKind = super::RecordKind {
        element: "WebApp",
        fields: W::COUNT,
        lists: WL::COUNT,
        id_field: W::Id as u8,
        full: holds("WebApp", &WEBAPP),
        counting: holds("WebApp", &WEBAPP_ID),
    };

    static CWE_LIST: [Element; 1] = [Element {
        name: "long",
        slot: Slot::Item(FL::Cwe as u8),
        children: &[],
    }];
    static CWE: [Element; 1] = [holds("list", &CWE_LIST)];
    static OWASP_ITEM: [Element; 1] = [Element {
        name: "code",
        slot: Slot::ItemText(FL::OwaspCodes as u8),
        children: &[],
    }];
    static OWASP_LIST: [Element; 1] = [Element {
        name: "OWASP",
        slot: Slot::NewItem(FL::OwaspCodes as u8),
        children: &OWASP_ITEM,
    }];
    static OWASP: [Element; 1] = [holds("list", &OWASP_LIST)];
    static WASC_ITEM: [Element; 1] = [Element {
        name: "code",
        slot: Slot::ItemText(FL::WascCodes as u8),
        children: &[],
    }];
    static WASC_LIST: [Element; 1] = [Element {
        name: "WASC",
        slot: Slot::NewItem(FL::WascCodes as u8),
        children: &WASC_ITEM,
    }];
    static WASC: [Element; 1] = [holds("list", &WASC_LIST)];
    static CVSS_V3: [Element; 1] = [f("base", F::Cvss3Base)];
    static WEB_APP: [Element; 3] = [
        f("id", F::WebAppId),
        f("name", F::WebAppName),
        f("url", F::WebAppUrl),
    ];
    static FINDING: [Element; 25] = [
        f("id", F::Id),
        f("uniqueId", F::UniqueId),
        f("qid", F::Qid),
        f("detectionScore", F::DetectionScore),
        f("name", F::Name),
        f("type", F::Type),
        f("potential", F::Potential),
        f("findingType", F::FindingType),
        f("group", F::Group),
        holds("cwe", &CWE),
        holds("owasp", &OWASP),
        holds("wasc", &WASC),
        f("param", F::Param),
        f("severity", F::Severity),
        f("url", F::Url),
        f("status", F::Status),
        f("firstDetectedDate", F::FirstDetectedDate),
        f("lastDetectedDate", F::LastDetectedDate),
        f("lastTestedDate", F::LastTestedDate),
        f("timesDetected", F::TimesDetected),
        holds("webApp", &WEB_APP),
        f("isIgnored", F::IsIgnored),
        f("ignoredReason", F::IgnoredReason),
        f("fixedDate", F::FixedDate),
        holds("cvssV3", &CVSS_V3),
    ];
    static FINDING_ID: [Element; 1] = [f("id", F::Id)];

    pub static FINDING_KIND: super::RecordKind = super::RecordKind {
        element: "Finding",
        fields: F::COUNT,
        lists: FL::COUNT,
        id_field: F::Id as u8,
        full: holds("Finding", &FINDING),
        counting: holds("Finding", &FINDING_ID),
    };
}

/// The `WebApp` records of `/qps/rest/3.0/search/was/webapp` and `get/was/webapp/<id>`.
pub static WEBAPP: &RecordKind = &layout::WEBAPP_KIND;
/// The `Finding` records of `/qps/rest/3.0/search/was/finding` and `get/was/finding/<id>`.
pub static FINDING: &RecordKind = &layout::FINDING_KIND;

/// One record, reused from record to record.
#[derive(Debug, Clone)]
pub struct ParsedRecord {
    fields: Vec<String>,
    lists: Vec<Vec<String>>,
    lens: Vec<usize>,
    id: u64,
}

impl ParsedRecord {
    fn new(kind: &RecordKind) -> ParsedRecord {
        ParsedRecord {
            fields: vec![String::new(); kind.fields],
            lists: vec![Vec::new(); kind.lists],
            lens: vec![0; kind.lists],
            id: 0,
        }
    }

    fn clear(&mut self) {
        for f in &mut self.fields {
            f.clear();
        }
        for l in &mut self.lens {
            *l = 0;
        }
        self.id = 0;
    }

    /// The record's `id` (validated when the record closed).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// A field's trimmed text; `None` when absent or empty.
    #[inline]
    pub fn get(&self, f: impl RecordIndex) -> Option<&str> {
        let s = trim(&self.fields[f.index()]);
        (!s.is_empty()).then_some(s)
    }

    /// A list's items, trimmed, without empty ones (a `Tag` without a `name`).
    pub fn list(&self, l: impl RecordIndex) -> impl Iterator<Item = &str> {
        let i = l.index();
        self.lists[i][..self.lens[i]]
            .iter()
            .map(|s| trim(s))
            .filter(|s| !s.is_empty())
    }

    fn start_item(&mut self, l: usize) {
        if self.lens[l] == self.lists[l].len() {
            self.lists[l].push(String::new());
        } else {
            self.lists[l][self.lens[l]].clear();
        }
        self.lens[l] += 1;
    }
}

/// What a WAS answer turned out to be.
#[derive(Debug)]
pub enum WasDocument<R> {
    /// A `SUCCESS`: its records follow.
    Records(Box<WasReader<R>>),
    /// A `ServiceResponse` that is not `SUCCESS`: an error inside the answer.
    Refused(ServiceResponseHead),
    /// Not a `ServiceResponse` at all (a `SIMPLE_RETURN` from the front end, an HTML page).
    Other(OtherDocument<R>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Inside `data`, between records (or inside one when the stack is not empty).
    Data,
    /// The document ended properly.
    Done,
}

/// A streaming reader over the records of one WAS answer: [`open`](WasReader::open) it, take
/// records with [`next_record`](WasReader::next_record) until `None`.
#[derive(Debug)]
pub struct WasReader<R> {
    reader: Reader<R>,
    buf: Vec<u8>,
    kind: &'static RecordKind,
    root: &'static Element,
    /// The elements open inside the current record, the record's own first; empty between
    /// records.
    stack: Vec<&'static Element>,
    record: ParsedRecord,
    text: TextAssembler,
    origin: String,
    place: Place,
    head: ServiceResponseHead,
    records_read: u64,
}

impl<R: BufRead> WasReader<R> {
    /// Reads the prolog and the `ServiceResponse` head. A `SUCCESS` comes back as
    /// [`WasDocument::Records`], ready to read `kind` records; anything else as what it is.
    pub fn open(
        input: R,
        kind: &'static RecordKind,
        capture: Capture,
        origin: impl Into<String>,
    ) -> Result<WasDocument<R>> {
        let origin = origin.into();
        let mut reader = document::reader(input);
        let mut buf = Vec::with_capacity(64 * 1024);
        let root = document::read_root(&mut reader, &mut buf, &origin)?;
        if root != Root::ServiceResponse {
            return Ok(WasDocument::Other(OtherDocument { root, reader, buf }));
        }
        let (head, walker, after) =
            service_response::read_head_keeping_walker(reader, buf, &origin)?;
        if !head.is_success() {
            return Ok(WasDocument::Refused(head));
        }
        let (reader, buf) = walker.into_parts();
        let mut page = WasReader {
            reader,
            buf,
            kind,
            root: kind.root(capture),
            stack: Vec::with_capacity(8),
            record: ParsedRecord::new(kind),
            text: TextAssembler::default(),
            origin,
            place: Place::Data,
            head,
            records_read: 0,
        };
        if after == AfterHead::AfterRoot {
            page.finish_trailer()?;
        }
        Ok(WasDocument::Records(Box::new(page)))
    }

    /// Like [`open`](Self::open), but an error answer or another document is an error: for
    /// callers with no use for either (files, benchmarks).
    pub fn open_expecting(
        input: R,
        kind: &'static RecordKind,
        capture: Capture,
        origin: impl Into<String>,
    ) -> Result<Self> {
        let origin = origin.into();
        match Self::open(input, kind, capture, origin.clone())? {
            WasDocument::Records(page) => Ok(*page),
            WasDocument::Refused(head) => Err(Error::Unexpected {
                origin,
                offset: 0,
                problem: format!(
                    "expected {} records, found a QPS error answer: {}{}{}",
                    kind.element,
                    head.response_code,
                    head.error_message
                        .map(|m| format!(": {m:?}"))
                        .unwrap_or_default(),
                    head.error_resolution
                        .map(|r| format!(" (Qualys advises: {r:?})"))
                        .unwrap_or_default()
                ),
            }),
            WasDocument::Other(other) => Err(Error::Unexpected {
                origin,
                offset: other.reader.buffer_position(),
                problem: format!(
                    "expected a <ServiceResponse> with {} records, found a <{}> document",
                    kind.element,
                    other.root.name()
                ),
            }),
        }
    }

    /// The head: `count`, `hasMoreRecords`, `lastId`.
    pub fn head(&self) -> &ServiceResponseHead {
        &self.head
    }

    /// Records read so far.
    pub fn records_read(&self) -> u64 {
        self.records_read
    }

    /// Repairs made to kept text so far.
    pub fn text_stats(&self) -> TextStats {
        self.text.stats
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// The next complete record, or `None` once the document has ended properly.
    ///
    /// The record is reused; the reference is valid until the next call.
    pub fn next_record(&mut self) -> Result<Option<&ParsedRecord>> {
        if self.place == Place::Done {
            return Ok(None);
        }
        loop {
            self.buf.clear();
            let event_start = self.reader.buffer_position();
            let step = match self.reader.read_event_into(&mut self.buf) {
                Err(e) => {
                    return Err(document::xml_error(
                        &self.reader,
                        &self.origin,
                        e,
                        event_start,
                        &self.buf,
                    ));
                }
                Ok(Event::Start(e)) => {
                    let name = e.name();
                    let name = name.as_ref();
                    let found = match self.stack.last() {
                        None if name == self.kind.element => Some(self.root),
                        None => {
                            // `data` holds records of one kind only (the XSD's sequence).
                            return Err(Error::Unexpected {
                                origin: self.origin.clone(),
                                offset: self.reader.buffer_position(),
                                problem: format!(
                                    "the answer's data holds <{name}> where {} records were \
                                     expected; is this an answer of another endpoint?",
                                    self.kind.element
                                ),
                            });
                        }
                        Some(parent) => parent.children.iter().find(|c| c.name == name),
                    };
                    match found {
                        Some(element) => Step::Enter(element),
                        None => Step::Skip,
                    }
                }
                Ok(Event::End(_)) => Step::Leave,
                Ok(Event::Text(t)) => {
                    if let Some(out) = text_target(&self.stack, &mut self.record) {
                        self.text.push(out, &t);
                    }
                    Step::Next
                }
                Ok(Event::CData(c)) => {
                    if let Some(out) = text_target(&self.stack, &mut self.record) {
                        self.text.push(out, &c);
                    }
                    Step::Next
                }
                Ok(Event::GeneralRef(r)) => {
                    if let Some(out) = text_target(&self.stack, &mut self.record)
                        && self.text.push_ref(out, &r).is_err()
                    {
                        // See the module documentation: replaced and counted, never fatal.
                        out.push('\u{FFFD}');
                        self.text.stats.invalid_chars_replaced += 1;
                    }
                    Step::Next
                }
                Ok(Event::Eof) => return Err(self.truncated()),
                Ok(_) => Step::Next,
            };
            match step {
                Step::Next => {}
                Step::Enter(element) => self.enter(element),
                Step::Skip => self.skip()?,
                Step::Leave => match self.stack.pop() {
                    // `</data>`: what remains is the root's end.
                    None => {
                        self.finish_root()?;
                        return Ok(None);
                    }
                    Some(_) if self.stack.is_empty() => {
                        self.close_record()?;
                        return Ok(Some(&self.record));
                    }
                    Some(_) => {}
                },
            }
        }
    }

    fn enter(&mut self, element: &'static Element) {
        if self.stack.is_empty() {
            self.record.clear();
        }
        match element.slot {
            Slot::Container => {}
            Slot::Field(f) => self.record.fields[f as usize].clear(),
            Slot::NewItem(l) | Slot::Item(l) => self.record.start_item(l as usize),
            Slot::ItemText(l) => {
                let l = l as usize;
                if let Some(item) = self.record.lists[l][..self.record.lens[l]].last_mut() {
                    item.clear();
                }
            }
        }
        self.stack.push(element);
    }

    /// Reads past the element just opened and everything in it: the raw event loop, nothing
    /// kept (the reader still checks well-formedness and end-tag names).
    fn skip(&mut self) -> Result<()> {
        let mut depth = 1usize;
        loop {
            self.buf.clear();
            let event_start = self.reader.buffer_position();
            match self.reader.read_event_into(&mut self.buf) {
                Ok(Event::Start(_)) => depth += 1,
                Ok(Event::End(_)) => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Ok(Event::Eof) => return Err(self.truncated()),
                Ok(_) => {}
                Err(e) => {
                    return Err(document::xml_error(
                        &self.reader,
                        &self.origin,
                        e,
                        event_start,
                        &self.buf,
                    ));
                }
            }
        }
    }

    fn close_record(&mut self) -> Result<()> {
        let raw = trim(&self.record.fields[self.kind.id_field as usize]);
        match raw.parse::<u64>() {
            Ok(id) => {
                self.record.id = id;
                self.records_read += 1;
                Ok(())
            }
            Err(_) => Err(Error::Unexpected {
                origin: self.origin.clone(),
                offset: self.reader.buffer_position(),
                problem: format!("{}/id is not a number: {raw:?}", self.kind.element),
            }),
        }
    }

    /// After `</data>`: anything else the root holds is skipped, then the root closes.
    fn finish_root(&mut self) -> Result<()> {
        loop {
            self.buf.clear();
            let event_start = self.reader.buffer_position();
            match self.reader.read_event_into(&mut self.buf) {
                Err(e) => {
                    return Err(document::xml_error(
                        &self.reader,
                        &self.origin,
                        e,
                        event_start,
                        &self.buf,
                    ));
                }
                Ok(Event::Start(_)) => self.skip()?,
                Ok(Event::End(_)) => return self.finish_trailer(),
                Ok(Event::Eof) => return Err(self.truncated()),
                Ok(_) => {}
            }
        }
    }

    /// After the root closes only comments, processing instructions and whitespace may follow.
    fn finish_trailer(&mut self) -> Result<()> {
        loop {
            self.buf.clear();
            let event_start = self.reader.buffer_position();
            match self.reader.read_event_into(&mut self.buf) {
                Ok(Event::Eof) => {
                    self.place = Place::Done;
                    return Ok(());
                }
                Ok(Event::Comment(_)) | Ok(Event::PI(_)) => {}
                Ok(Event::Text(t)) if t.trim_ascii().is_empty() => {}
                Ok(_) => {
                    return Err(Error::Unexpected {
                        origin: self.origin.clone(),
                        offset: self.reader.buffer_position(),
                        problem: "content after the end of the root element".into(),
                    });
                }
                Err(e) => {
                    return Err(document::xml_error(
                        &self.reader,
                        &self.origin,
                        e,
                        event_start,
                        &self.buf,
                    ));
                }
            }
        }
    }

    #[cold]
    fn truncated(&self) -> Error {
        Error::Truncated {
            origin: self.origin.clone(),
            offset: self.reader.buffer_position(),
        }
    }
}

/// What one event asks of the reader, decided while the event still borrows the buffer.
enum Step {
    Next,
    Enter(&'static Element),
    Skip,
    Leave,
}

/// Where the text of the innermost open element goes, if it is kept.
#[inline]
fn text_target<'r>(
    stack: &[&'static Element],
    record: &'r mut ParsedRecord,
) -> Option<&'r mut String> {
    match stack.last()?.slot {
        Slot::Field(f) => Some(&mut record.fields[f as usize]),
        Slot::Item(l) | Slot::ItemText(l) => {
            let l = l as usize;
            let n = record.lens[l];
            record.lists[l][..n].last_mut()
        }
        Slot::Container | Slot::NewItem(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::xml::service_response::recorded;

    fn records(xml: &str, kind: &'static RecordKind, capture: Capture) -> Result<Vec<String>> {
        let mut page = WasReader::open_expecting(xml.as_bytes(), kind, capture, "t")?;
        let mut ids = Vec::new();
        while let Some(r) = page.next_record()? {
            ids.push(r.id().to_string());
        }
        Ok(ids)
    }

    const VERBOSE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ServiceResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://qualysapi.qualys.com/qps/xsd/3.0/was/finding.xsd">
  <responseCode>SUCCESS</responseCode>
  <count>2</count>
  <hasMoreRecords>false</hasMoreRecords>
  <data>
    <Finding>
      <id>41</id>
      <qid>150001</qid>
      <name><![CDATA[Reflected Cross-Site Scripting (XSS) Vulnerabilities]]></name>
      <type>VULNERABILITY</type>
      <group>XSS</group>
      <cwe><count>2</count><list><long>79</long><long>80</long></list></cwe>
      <owasp><count>1</count><list><OWASP><name><![CDATA[Injection]]></name><url><![CDATA[https://owasp.example.com/a3]]></url><code>3</code></OWASP></list></owasp>
      <resultList><count>1</count><list><Result><payloads><count>1</count><list><PayloadInstance><payload><![CDATA[<script>alert(1)</script>]]></payload><response><![CDATA[PGh0bWw+]]></response></PayloadInstance></list></payloads></Result></list></resultList>
      <url><![CDATA[https://shop.example.com/?a=1&b=2]]]]><![CDATA[>]]></url>
      <status>NEW</status>
      <webApp><id>7</id><name>Shop &amp; Co</name><url><![CDATA[https://shop.example.com/]]></url></webApp>
      <cvssV3><base>6.1</base><temporal>5.8</temporal></cvssV3>
    </Finding>
    <Finding>
      <id>42</id>
      <type>INFORMATION_GATHERED</type>
      <config/>
    </Finding>
  </data>
</ServiceResponse>"#;

    #[test]
    fn a_verbose_finding_keeps_its_fields_and_lists_and_skips_the_result_list() -> Result<()> {
        let Ok(WasDocument::Records(mut page)) =
            WasReader::open(VERBOSE.as_bytes(), FINDING, Capture::All, "t")
        else {
            panic!("a SUCCESS page");
        };
        assert_eq!(page.head().count, Some(2));
        let r = page.next_record()?.expect("the first finding");
        assert_eq!(r.id(), 41);
        assert_eq!(
            r.get(FindingField::Url),
            Some("https://shop.example.com/?a=1&b=2]]>")
        );
        assert_eq!(r.get(FindingField::WebAppName), Some("Shop & Co"));
        assert_eq!(r.get(FindingField::Cvss3Base), Some("6.1"));
        assert_eq!(r.get(FindingField::Name).map(str::len), Some(52));
        assert_eq!(r.list(FindingList::Cwe).collect::<Vec<_>>(), ["79", "80"]);
        assert_eq!(r.list(FindingList::OwaspCodes).collect::<Vec<_>>(), ["3"]);
        assert_eq!(r.list(FindingList::WascCodes).count(), 0);
        let r = page.next_record()?.expect("the second finding");
        assert_eq!((r.id(), r.get(FindingField::Status)), (42, None));
        assert_eq!(r.list(FindingList::Cwe).count(), 0, "lists are per record");
        assert!(page.next_record()?.is_none());
        assert_eq!(page.records_read(), 2);
        Ok(())
    }

    #[test]
    fn counting_reads_the_same_ids_past_everything_else() -> Result<()> {
        assert_eq!(records(VERBOSE, FINDING, Capture::Counting)?, ["41", "42"]);
        assert_eq!(records(VERBOSE, FINDING, Capture::All)?, ["41", "42"]);
        Ok(())
    }

    #[test]
    fn both_recorded_empty_answers_hold_no_records() -> Result<()> {
        for xml in [recorded::EMPTY_2022, recorded::EMPTY_2020] {
            assert!(records(xml, WEBAPP, Capture::All)?.is_empty());
        }
        assert_eq!(
            records(recorded::PAGE_WITH_MORE, WEBAPP, Capture::All)?,
            ["238483924"]
        );
        Ok(())
    }

    #[test]
    fn an_error_answer_is_refused_and_a_file_says_what_it_holds() {
        let Ok(WasDocument::Refused(head)) = WasReader::open(
            recorded::INVALID_REQUEST.as_bytes(),
            WEBAPP,
            Capture::All,
            "t",
        ) else {
            panic!("an INVALID_REQUEST is refused");
        };
        assert_eq!(head.response_code, "INVALID_REQUEST");
        let e = records(recorded::INVALID_CREDENTIALS, WEBAPP, Capture::All).unwrap_err();
        assert!(
            e.to_string()
                .contains("INVALID_CREDENTIALS: \"Authentication failed\""),
            "{e}"
        );
    }

    #[test]
    fn a_document_cut_anywhere_is_truncated_or_invalid_never_short() {
        for cut in [
            VERBOSE.find("<resultList>").unwrap() + 40,
            VERBOSE.find("</Finding>").unwrap(),
            VERBOSE.rfind("</data>").unwrap(),
            VERBOSE.rfind("</ServiceResponse>").unwrap(),
        ] {
            for capture in [Capture::All, Capture::Counting] {
                let e = records(&VERBOSE[..cut], FINDING, capture).unwrap_err();
                assert!(matches!(e, Error::Truncated { .. }), "cut at {cut}: {e}");
            }
        }
    }

    #[test]
    fn a_record_without_a_numeric_id_is_an_error_with_its_offset() {
        let xml = VERBOSE.replace("<id>42</id>", "<id>x42</id>");
        for capture in [Capture::All, Capture::Counting] {
            let e = records(&xml, FINDING, capture).unwrap_err();
            assert!(
                e.to_string()
                    .contains("Finding/id is not a number: \"x42\""),
                "{e}"
            );
        }
    }

    #[test]
    fn records_of_another_kind_are_an_error_not_an_empty_page() {
        for capture in [Capture::All, Capture::Counting] {
            let e = records(VERBOSE, WEBAPP, capture).unwrap_err();
            assert!(
                e.to_string()
                    .contains("holds <Finding> where WebApp records were expected"),
                "{e}"
            );
        }
    }

    #[test]
    fn an_undeclared_entity_in_kept_text_is_replaced_and_counted() -> Result<()> {
        let xml = VERBOSE.replace("Shop &amp; Co", "Shop &nbsp; Co");
        let mut page = WasReader::open_expecting(xml.as_bytes(), FINDING, Capture::All, "t")?;
        let r = page.next_record()?.expect("a finding");
        assert_eq!(r.get(FindingField::WebAppName), Some("Shop \u{FFFD} Co"));
        assert_eq!(page.text_stats().invalid_chars_replaced, 1);
        Ok(())
    }
}
