//! Streaming reader for host pages: `HOST_LIST_VM_DETECTION_OUTPUT` (Host List Detection) and
//! `HOST_LIST_OUTPUT` (Host List).
//!
//! This is the hot path of the connector: detection pages reach gigabytes. The reader is a state
//! machine over quick-xml events that fills one reused [`ParsedHost`] and a reused pool of
//! [`ParsedDetection`]s, and hands them out one host at a time through
//! [`HostListReader::next_host`]. Nothing is allocated per record once the buffers have grown to
//! the largest host; memory is bounded by that host, never by the page.
//!
//! Fields are stored as text in fixed arrays indexed by [`HostField`] / [`DetectionField`], so a
//! field lookup is an array index. Numeric fields the connector relies on (host `ID`, `QID`) are
//! validated when their element closes, so a bad value is reported with its byte offset.
//! Unknown elements (Qualys adds optional ones over time) are skipped with their content, but
//! never unchecked: quick-xml checks their well-formedness and UTF-8, and their entity
//! references are resolved like any other (an undeclared one such as `&nbsp;` fails the page
//! wherever it is). So whether a field is kept ([`Capture`]) never decides whether a document
//! parses: `parse --count` and a full parse agree on every input.
//!
//! A Host List asked for with `details=None` lists host IDs only, in an `ID_SET` of `ID` and
//! `ID_RANGE` elements instead of a `HOST_LIST`. Each ID comes out as a host with only its `ID`
//! ([`HostListReader::ids_only`] says so); a range is handed out one ID at a time, never
//! materialised.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::document::{self, Root};
use super::text::{TextAssembler, TextStats, flag, trim};
use crate::error::{Error, Result};

/// Which host page is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostListKind {
    /// Host List Detection: hosts with `DETECTION_LIST`.
    Detections,
    /// Host List: hosts only.
    Hosts,
}

impl HostListKind {
    fn root(self) -> Root {
        match self {
            HostListKind::Detections => Root::HostDetections,
            HostListKind::Hosts => Root::HostList,
        }
    }
}

macro_rules! fields {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $tag:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            /// Number of fields.
            pub const COUNT: usize = [$($name::$variant),*].len();

            /// The element name on the wire.
            pub fn tag(self) -> &'static [u8] {
                match self { $($name::$variant => $tag),* }
            }

            #[inline]
            fn from_tag(tag: &[u8]) -> Option<$name> {
                match tag { $($tag => Some($name::$variant),)* _ => None }
            }
        }
    };
}

fields!(
    /// Text fields of a `HOST` (both page kinds), including `DNS_DATA` children.
    HostField {
        Id = b"ID",
        AssetId = b"ASSET_ID",
        Ip = b"IP",
        Ipv6 = b"IPV6",
        TrackingMethod = b"TRACKING_METHOD",
        NetworkId = b"NETWORK_ID",
        Os = b"OS",
        OsCpe = b"OS_CPE",
        Dns = b"DNS",
        Hostname = b"HOSTNAME",
        Domain = b"DOMAIN",
        Fqdn = b"FQDN",
        CloudProvider = b"CLOUD_PROVIDER",
        CloudService = b"CLOUD_SERVICE",
        CloudResourceId = b"CLOUD_RESOURCE_ID",
        Ec2InstanceId = b"EC2_INSTANCE_ID",
        Netbios = b"NETBIOS",
        QgHostId = b"QG_HOSTID",
        SerialNumber = b"SERIAL_NUMBER",
        LastScanDatetime = b"LAST_SCAN_DATETIME",
        LastVulnScanDatetime = b"LAST_VULN_SCAN_DATETIME",
        LastVmScannedDate = b"LAST_VM_SCANNED_DATE",
        LastVmScannedDuration = b"LAST_VM_SCANNED_DURATION",
        LastVmAuthScannedDate = b"LAST_VM_AUTH_SCANNED_DATE",
        LastVmAuthScannedDuration = b"LAST_VM_AUTH_SCANNED_DURATION",
        LastComplianceScanDatetime = b"LAST_COMPLIANCE_SCAN_DATETIME",
        LastPcScannedDate = b"LAST_PC_SCANNED_DATE",
        LastScapScanDatetime = b"LAST_SCAP_SCAN_DATETIME",
        Owner = b"OWNER",
        Comments = b"COMMENTS",
        AssetGroupIds = b"ASSET_GROUP_IDS",
    }
);

fields!(
    /// Text fields of a `DETECTION`.
    DetectionField {
        UniqueVulnId = b"UNIQUE_VULN_ID",
        Qid = b"QID",
        Type = b"TYPE",
        Severity = b"SEVERITY",
        Port = b"PORT",
        Protocol = b"PROTOCOL",
        Fqdn = b"FQDN",
        Ssl = b"SSL",
        Instance = b"INSTANCE",
        Results = b"RESULTS",
        Status = b"STATUS",
        FirstFoundDatetime = b"FIRST_FOUND_DATETIME",
        LastFoundDatetime = b"LAST_FOUND_DATETIME",
        Qds = b"QDS",
        TimesFound = b"TIMES_FOUND",
        LastTestDatetime = b"LAST_TEST_DATETIME",
        LastUpdateDatetime = b"LAST_UPDATE_DATETIME",
        LastFixedDatetime = b"LAST_FIXED_DATETIME",
        FirstReopenedDatetime = b"FIRST_REOPENED_DATETIME",
        LastReopenedDatetime = b"LAST_REOPENED_DATETIME",
        TimesReopened = b"TIMES_REOPENED",
        Service = b"SERVICE",
        IsIgnored = b"IS_IGNORED",
        IsDisabled = b"IS_DISABLED",
        AffectRunningKernel = b"AFFECT_RUNNING_KERNEL",
        AffectRunningService = b"AFFECT_RUNNING_SERVICE",
        AffectExploitableConfig = b"AFFECT_EXPLOITABLE_CONFIG",
        LastProcessedDatetime = b"LAST_PROCESSED_DATETIME",
    }
);

/// Which fields the reader keeps.
///
/// Counting records needs only the host `ID`, and each detection's `QID` and `TYPE`; copying
/// the rest (RESULTS alone is a third of a detection page) into buffers nobody reads would be
/// wasted work. The document is parsed and checked in full either way: well-formedness, every
/// element, the `QID`/`ID` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Capture {
    /// Every field: what a record needs.
    #[default]
    All,
    /// Host `ID`, `QID`, `TYPE` and the `WARNING`: what counting records and paging need.
    Counting,
}

impl Capture {
    #[inline]
    fn keeps_detection(self, f: DetectionField) -> bool {
        self == Capture::All || matches!(f, DetectionField::Qid | DetectionField::Type)
    }

    #[inline]
    fn keeps_host(self, f: HostField) -> bool {
        self == Capture::All || f == HostField::Id
    }
}

/// One `HOST`, reused from host to host.
#[derive(Debug, Clone)]
pub struct ParsedHost {
    fields: [String; HostField::COUNT],
    id: u64,
    tags: Vec<String>,
    tag_count: usize,
}

impl Default for ParsedHost {
    fn default() -> Self {
        ParsedHost {
            fields: std::array::from_fn(|_| String::new()),
            id: 0,
            tags: Vec::new(),
            tag_count: 0,
        }
    }
}

impl ParsedHost {
    /// The host ID (validated when `ID` closed).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// A field's trimmed text, `None` when absent or empty.
    #[inline]
    pub fn get(&self, f: HostField) -> Option<&str> {
        let s = trim(&self.fields[f as usize]);
        (!s.is_empty()).then_some(s)
    }

    /// A numeric field; `None` when absent or not a number.
    pub fn number(&self, f: HostField) -> Option<u64> {
        self.get(f).and_then(|s| s.parse().ok())
    }

    /// Tag names (`TAGS/TAG/NAME`), in document order.
    pub fn tags(&self) -> &[String] {
        &self.tags[..self.tag_count]
    }

    fn clear(&mut self) {
        for f in &mut self.fields {
            f.clear();
        }
        self.id = 0;
        self.tag_count = 0;
    }
}

/// One `DETECTION`, reused.
#[derive(Debug, Clone)]
pub struct ParsedDetection {
    fields: [String; DetectionField::COUNT],
    qid: u64,
}

impl Default for ParsedDetection {
    fn default() -> Self {
        ParsedDetection {
            fields: std::array::from_fn(|_| String::new()),
            qid: 0,
        }
    }
}

impl ParsedDetection {
    /// The QID (validated when `QID` closed).
    pub fn qid(&self) -> u64 {
        self.qid
    }

    /// A field's text, `None` when absent or empty. `RESULTS` is returned as sent (its leading
    /// and trailing whitespace can matter); every other field is trimmed.
    #[inline]
    pub fn get(&self, f: DetectionField) -> Option<&str> {
        let raw = &self.fields[f as usize];
        let s = if f == DetectionField::Results {
            raw.as_str()
        } else {
            trim(raw)
        };
        (!s.is_empty()).then_some(s)
    }

    /// A numeric field; `None` when absent.
    #[inline]
    pub fn number(&self, f: DetectionField) -> Option<u64> {
        self.get(f).and_then(|s| s.parse().ok())
    }

    /// A `0`/`1` field.
    #[inline]
    pub fn flag(&self, f: DetectionField) -> Option<bool> {
        self.get(f).and_then(flag)
    }

    fn clear(&mut self) {
        for f in &mut self.fields {
            f.clear();
        }
        self.qid = 0;
    }
}

/// The truncation `WARNING` at the end of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TruncationWarning {
    pub code: Option<u32>,
    pub text: String,
    pub url: Option<String>,
}

/// The widest `ID_RANGE` accepted. Qualys compresses runs of consecutive host IDs into ranges;
/// a run of a million hosts is beyond any subscription, and a wider range would have the
/// reader hand out IDs for a very long time.
pub const MAX_ID_RANGE: u64 = 1_000_000;

/// Where the reader is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    Response,
    Datetime,
    HostList,
    Host,
    HostText(HostField),
    DnsData,
    Tags,
    Tag,
    TagName,
    DetectionList,
    Detection,
    DetectionText(DetectionField),
    Warning,
    WarningCode,
    WarningText,
    WarningUrl,
    /// `ID_SET`: host IDs only (`details=None`).
    IdSet,
    IdSetId,
    IdSetRange,
    /// An element the reader does not use; its whole subtree is skipped.
    Skip,
}

/// What one event did to the page.
enum Step {
    Continue,
    HostDone,
    /// An `ID_SET`'s `ID` or `ID_RANGE` closed: its IDs are pending, handed out as hosts.
    IdsListed,
    DocumentDone,
}

/// Everything but the quick-xml reader and its buffer, so an event borrowed from the buffer can
/// be applied to the state without fighting the borrow checker.
struct PageState {
    kind: HostListKind,
    capture: Capture,
    origin: String,
    stack: Vec<Ctx>,
    host: ParsedHost,
    detections: Vec<ParsedDetection>,
    detection_count: usize,
    datetime: String,
    warning: Option<TruncationWarning>,
    warning_code: String,
    hosts_read: u64,
    detections_read: u64,
    /// The text of the `ID_SET` element being read.
    id_text: String,
    /// IDs of an `ID_SET` still to hand out: the next and the last (inclusive).
    pending_ids: Option<(u64, u64)>,
    ids_only: bool,
}

/// A streaming reader over one host list: `open` it on a response, then take each host with
/// its detections from `next_host` until it returns `None`, then read the `warning`
/// (the test `one_host_and_its_detection_come_out_with_their_cdata_text` below shows it).
pub struct HostListReader<R> {
    reader: Reader<R>,
    buf: Vec<u8>,
    state: PageState,
    text: TextAssembler,
    done: bool,
}

/// What [`HostListReader::open`] found instead of a host page.
#[derive(Debug)]
pub struct OtherDocument<R> {
    pub root: Root,
    pub reader: Reader<R>,
    pub buf: Vec<u8>,
}

impl<R: BufRead> OtherDocument<R> {
    /// The error for a saved response that holds this document where `expected` was wanted
    /// (for a file there is no error reader of a family to hand it to); a Qualys error
    /// document is quoted.
    pub fn into_error(self, expected: Root, origin: &str) -> Error {
        let offset = self.reader.buffer_position();
        let detail = match self.root {
            Root::SimpleReturn | Root::GenericReturn => {
                let msg = super::simple_return::read(self.reader, self.buf, origin)
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                format!("a Qualys error document{msg}")
            }
            ref r => format!("a <{}> document", r.name()),
        };
        Error::Unexpected {
            origin: origin.to_string(),
            offset,
            problem: format!("expected <{}>, found {detail}", expected.name()),
        }
    }
}

impl<R: BufRead> HostListReader<R> {
    /// Reads the prolog. Returns `Ok(Err(other))` when the root is not the expected page (for
    /// example a `SIMPLE_RETURN` error inside an HTTP 200), leaving the reader inside that root
    /// so the caller can parse it.
    pub fn open(
        input: R,
        kind: HostListKind,
        origin: impl Into<String>,
    ) -> Result<std::result::Result<Self, OtherDocument<R>>> {
        let origin = origin.into();
        let mut reader = document::reader(input);
        let mut buf = Vec::with_capacity(64 * 1024);
        let root = document::read_root(&mut reader, &mut buf, &origin)?;
        if root != kind.root() {
            return Ok(Err(OtherDocument { root, reader, buf }));
        }
        Ok(Ok(HostListReader {
            reader,
            buf,
            state: PageState {
                kind,
                capture: Capture::All,
                origin,
                stack: vec![Ctx::Root],
                host: ParsedHost::default(),
                detections: Vec::new(),
                detection_count: 0,
                datetime: String::new(),
                warning: None,
                warning_code: String::new(),
                hosts_read: 0,
                detections_read: 0,
                id_text: String::new(),
                pending_ids: None,
                ids_only: false,
            },
            text: TextAssembler::default(),
            done: false,
        }))
    }

    /// Keeps only the fields `capture` names (see [`Capture`]).
    pub fn capture(mut self, capture: Capture) -> Self {
        self.state.capture = capture;
        self
    }

    /// Like [`open`](Self::open) but treats any other document as an error; for callers that
    /// have no use for an error envelope (files, benchmarks).
    pub fn open_expecting(input: R, kind: HostListKind, origin: impl Into<String>) -> Result<Self> {
        let origin = origin.into();
        match Self::open(input, kind, origin.clone())? {
            Ok(page) => Ok(page),
            Err(other) => Err(other.into_error(kind.root(), &origin)),
        }
    }

    /// The next complete host with its detections, or `None` at the end of the page.
    ///
    /// The returned references point into reused buffers and are valid until the next call.
    pub fn next_host(&mut self) -> Result<Option<(&ParsedHost, &[ParsedDetection])>> {
        if self.done {
            return Ok(None);
        }
        // What is left of an ID_RANGE first; checked here, not per event, to keep the loop tight.
        if self.state.next_listed_id() {
            return Ok(Some((&self.state.host, &[])));
        }
        loop {
            self.buf.clear();
            let event_start = self.reader.buffer_position();
            let event = self.reader.read_event_into(&mut self.buf);
            let step = match event {
                Ok(ev) => self
                    .state
                    .apply(ev, &self.reader, &mut self.text, event_start)?,
                Err(e) => {
                    return Err(document::xml_error(
                        &self.reader,
                        &self.state.origin,
                        e,
                        event_start,
                        &self.buf,
                    ));
                }
            };
            match step {
                Step::Continue => {}
                Step::HostDone => {
                    let s = &self.state;
                    return Ok(Some((&s.host, &s.detections[..s.detection_count])));
                }
                Step::IdsListed => {
                    if self.state.next_listed_id() {
                        return Ok(Some((&self.state.host, &[])));
                    }
                }
                Step::DocumentDone => {
                    self.finish_trailer()?;
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }

    /// After the root closes only comments and whitespace may follow (Qualys appends its
    /// CONFIDENTIAL notice there).
    fn finish_trailer(&mut self) -> Result<()> {
        loop {
            self.buf.clear();
            let event_start = self.reader.buffer_position();
            match self.reader.read_event_into(&mut self.buf) {
                Ok(Event::Eof) => return Ok(()),
                Ok(Event::Comment(_)) | Ok(Event::PI(_)) => {}
                Ok(Event::Text(t)) if t.trim_ascii().is_empty() => {}
                Ok(_) => {
                    return Err(Error::Unexpected {
                        origin: self.state.origin.clone(),
                        offset: self.reader.buffer_position(),
                        problem: "content after the end of the root element".into(),
                    });
                }
                Err(e) => {
                    return Err(document::xml_error(
                        &self.reader,
                        &self.state.origin,
                        e,
                        event_start,
                        &self.buf,
                    ));
                }
            }
        }
    }

    /// The truncation warning, once the page has been read to the end.
    pub fn warning(&self) -> Option<&TruncationWarning> {
        self.state.warning.as_ref()
    }

    /// `RESPONSE/DATETIME`.
    pub fn datetime(&self) -> &str {
        trim(&self.state.datetime)
    }

    /// Repairs made to text so far.
    pub fn text_stats(&self) -> TextStats {
        self.text.stats
    }

    /// Hosts and detections read so far (detections of every type).
    pub fn counts(&self) -> (u64, u64) {
        (self.state.hosts_read, self.state.detections_read)
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// Whether the page listed host IDs only (an `ID_SET`, as `details=None` answers): its hosts
    /// carry nothing but their ID.
    pub fn ids_only(&self) -> bool {
        self.state.ids_only
    }

    /// The bytes this reader holds on to between hosts: its read buffer and the reused host,
    /// detection and text buffers. Bounded by the largest single host (and the page's head),
    /// never by the number of hosts; the memory property tests check exactly that.
    pub fn retained_bytes(&self) -> usize {
        let s = &self.state;
        let strings = |v: &[String]| v.iter().map(String::capacity).sum::<usize>();
        self.buf.capacity()
            + s.stack.capacity() * std::mem::size_of::<Ctx>()
            + strings(&s.host.fields)
            + strings(&s.host.tags)
            + s.detections
                .iter()
                .map(|d| strings(&d.fields))
                .sum::<usize>()
            + s.datetime.capacity()
            + s.warning_code.capacity()
            + s.id_text.capacity()
            + s.warning.as_ref().map_or(0, |w| {
                w.text.capacity() + w.url.as_ref().map_or(0, String::capacity)
            })
    }
}

impl PageState {
    #[inline]
    fn apply<R>(
        &mut self,
        event: Event<'_>,
        reader: &Reader<R>,
        text: &mut TextAssembler,
        event_start: u64,
    ) -> Result<Step> {
        match event {
            Event::Start(e) => {
                if self.stack.len() > document::MAX_DEPTH {
                    return Err(document::too_deep(&self.origin, event_start));
                }
                let parent = *self.stack.last().unwrap_or(&Ctx::Skip);
                let ctx = self.child(parent, e.name().as_ref().as_bytes());
                if ctx == Ctx::IdSet && self.kind == HostListKind::Detections {
                    return Err(self.id_set_in_detections(event_start));
                }
                self.stack.push(ctx);
                Ok(Step::Continue)
            }
            Event::End(_) => {
                let ctx = self.stack.pop().unwrap_or(Ctx::Skip);
                self.close(ctx, reader)
            }
            Event::Text(t) => {
                if let Some(&ctx) = self.stack.last()
                    && let Some(out) = self.field_mut(ctx)
                {
                    text.push(out, &t);
                }
                Ok(Step::Continue)
            }
            Event::CData(c) => {
                if let Some(&ctx) = self.stack.last()
                    && let Some(out) = self.field_mut(ctx)
                {
                    text.push(out, &c);
                }
                Ok(Step::Continue)
            }
            Event::GeneralRef(r) => {
                // Resolved whether or not the field is kept: a skipped element is checked the
                // same, so counting and a full parse agree (the module docs say why).
                let ctx = self.stack.last().copied().unwrap_or(Ctx::Skip);
                let resolved = match self.field_mut(ctx) {
                    Some(out) => text.push_ref(out, &r),
                    None => TextAssembler::check_ref(&r),
                };
                if let Err(name) = resolved {
                    return Err(self.undeclared_entity(event_start, &name));
                }
                Ok(Step::Continue)
            }
            Event::Eof => {
                if self.stack.is_empty() {
                    Ok(Step::DocumentDone)
                } else {
                    Err(Error::Truncated {
                        origin: self.origin.clone(),
                        offset: reader.buffer_position(),
                    })
                }
            }
            // Comments, processing instructions, declarations inside the root: nothing to keep.
            _ => Ok(Step::Continue),
        }
    }

    #[inline]
    fn field_mut(&mut self, ctx: Ctx) -> Option<&mut String> {
        Some(match ctx {
            Ctx::HostText(f) => &mut self.host.fields[f as usize],
            Ctx::DetectionText(f) => &mut self.detections[self.detection_count].fields[f as usize],
            Ctx::TagName => &mut self.host.tags[self.host.tag_count],
            Ctx::Datetime => &mut self.datetime,
            Ctx::WarningCode => &mut self.warning_code,
            Ctx::WarningText => {
                &mut self
                    .warning
                    .get_or_insert_with(TruncationWarning::default)
                    .text
            }
            Ctx::WarningUrl => self
                .warning
                .get_or_insert_with(TruncationWarning::default)
                .url
                .get_or_insert_with(String::new),
            Ctx::IdSetId | Ctx::IdSetRange => &mut self.id_text,
            _ => return None,
        })
    }

    // The errors of `apply` are built out of line: they are rare, and keeping their formatting
    // out of the per-event function keeps the hot loop as fast as before they existed.
    #[cold]
    #[inline(never)]
    fn id_set_in_detections(&self, offset: u64) -> Error {
        Error::Unexpected {
            origin: self.origin.clone(),
            offset,
            problem: "Host List Detection answered with an ID_SET (host IDs only, no detections); its detections cannot be read from it".into(),
        }
    }

    #[cold]
    #[inline(never)]
    fn undeclared_entity(&self, offset: u64, name: &str) -> Error {
        Error::Unexpected {
            origin: self.origin.clone(),
            offset,
            problem: format!(
                "undeclared entity reference &{};: Qualys declares no entities, so the document is not well-formed XML",
                shown(name)
            ),
        }
    }

    /// Hands out the next ID of an `ID_SET` as a host with only its ID; false when none is
    /// pending.
    #[inline]
    fn next_listed_id(&mut self) -> bool {
        let Some((next, last)) = self.pending_ids else {
            return false;
        };
        self.pending_ids = (next < last).then(|| (next + 1, last));
        self.host.clear();
        self.detection_count = 0;
        self.host.id = next;
        self.host.fields[HostField::Id as usize].push_str(itoa::Buffer::new().format(next));
        self.hosts_read += 1;
        true
    }

    /// Reads the `ID` or `ID_RANGE` that just closed into the IDs to hand out.
    fn listed_ids<R>(&mut self, ctx: Ctx, reader: &Reader<R>) -> Result<()> {
        let text = trim(&self.id_text);
        let bad = |what: &str| Error::Unexpected {
            origin: self.origin.clone(),
            offset: reader.buffer_position(),
            problem: format!("ID_SET/{what}: {:?}", shown(text)),
        };
        let number = |t: &str| t.trim().parse::<u64>().ok();
        let (first, last) = if ctx == Ctx::IdSetId {
            let id = number(text).ok_or_else(|| bad("ID is not a number"))?;
            (id, id)
        } else {
            let range = text
                .split_once('-')
                .and_then(|(a, b)| Some((number(a)?, number(b)?)))
                .filter(|(a, b)| a <= b)
                .ok_or_else(|| bad("ID_RANGE is not a range of host IDs such as 1000-1010"))?;
            if range.1 - range.0 >= MAX_ID_RANGE {
                return Err(bad(&format!(
                    "ID_RANGE spans more than {MAX_ID_RANGE} host IDs, more than any subscription holds in one run"
                )));
            }
            range
        };
        self.id_text.clear();
        self.pending_ids = Some((first, last));
        Ok(())
    }

    /// The context of a child element named `name` inside `parent`.
    #[inline]
    fn child(&mut self, parent: Ctx, name: &[u8]) -> Ctx {
        match parent {
            Ctx::Detection => match DetectionField::from_tag(name) {
                Some(f) if self.capture.keeps_detection(f) => Ctx::DetectionText(f),
                _ => Ctx::Skip,
            },
            Ctx::Host => match name {
                b"DETECTION_LIST" if self.kind == HostListKind::Detections => Ctx::DetectionList,
                b"TAGS" if self.capture == Capture::All => Ctx::Tags,
                b"DNS_DATA" if self.capture == Capture::All => Ctx::DnsData,
                _ => match HostField::from_tag(name) {
                    Some(f) if self.capture.keeps_host(f) => Ctx::HostText(f),
                    _ => Ctx::Skip,
                },
            },
            Ctx::DetectionList if name == b"DETECTION" => {
                if self.detection_count == self.detections.len() {
                    self.detections.push(ParsedDetection::default());
                } else {
                    self.detections[self.detection_count].clear();
                }
                Ctx::Detection
            }
            Ctx::Tags if name == b"TAG" => {
                if self.host.tag_count == self.host.tags.len() {
                    self.host.tags.push(String::new());
                } else {
                    self.host.tags[self.host.tag_count].clear();
                }
                Ctx::Tag
            }
            Ctx::Tag if name == b"NAME" => Ctx::TagName,
            Ctx::DnsData => match name {
                b"HOSTNAME" => Ctx::HostText(HostField::Hostname),
                b"DOMAIN" => Ctx::HostText(HostField::Domain),
                b"FQDN" => Ctx::HostText(HostField::Fqdn),
                _ => Ctx::Skip,
            },
            Ctx::HostList if name == b"HOST" => {
                self.host.clear();
                self.detection_count = 0;
                Ctx::Host
            }
            // An element that repeats where the DTD allows one is read again from scratch, so
            // its text never accumulates across repeats.
            Ctx::Response => match name {
                b"DATETIME" => {
                    self.datetime.clear();
                    Ctx::Datetime
                }
                b"HOST_LIST" => Ctx::HostList,
                b"ID_SET" => {
                    self.ids_only = true;
                    Ctx::IdSet
                }
                b"WARNING" => {
                    self.warning = Some(TruncationWarning::default());
                    self.warning_code.clear();
                    Ctx::Warning
                }
                _ => Ctx::Skip,
            },
            Ctx::Warning => match name {
                b"CODE" => {
                    self.warning_code.clear();
                    Ctx::WarningCode
                }
                b"TEXT" => {
                    if let Some(w) = self.warning.as_mut() {
                        w.text.clear();
                    }
                    Ctx::WarningText
                }
                b"URL" => {
                    if let Some(w) = self.warning.as_mut() {
                        w.url = None;
                    }
                    Ctx::WarningUrl
                }
                _ => Ctx::Skip,
            },
            Ctx::IdSet => match name {
                b"ID" => {
                    self.id_text.clear();
                    Ctx::IdSetId
                }
                b"ID_RANGE" => {
                    self.id_text.clear();
                    Ctx::IdSetRange
                }
                _ => Ctx::Skip,
            },
            Ctx::Root if name == b"RESPONSE" => Ctx::Response,
            _ => Ctx::Skip,
        }
    }

    /// Applies the end of an element.
    #[inline]
    fn close<R>(&mut self, ctx: Ctx, reader: &Reader<R>) -> Result<Step> {
        match ctx {
            Ctx::Detection => {
                let qid = trim(
                    &self.detections[self.detection_count].fields[DetectionField::Qid as usize],
                );
                match qid.parse::<u64>() {
                    Ok(q) => self.detections[self.detection_count].qid = q,
                    Err(_) => return Err(self.bad_value(reader, "DETECTION/QID", qid.to_string())),
                }
                self.detection_count += 1;
                self.detections_read += 1;
                Ok(Step::Continue)
            }
            Ctx::Tag => {
                self.host.tag_count += 1;
                Ok(Step::Continue)
            }
            Ctx::Host => {
                let id = trim(&self.host.fields[HostField::Id as usize]);
                match id.parse::<u64>() {
                    Ok(id) => self.host.id = id,
                    Err(_) => return Err(self.bad_value(reader, "HOST/ID", id.to_string())),
                }
                self.hosts_read += 1;
                Ok(Step::HostDone)
            }
            Ctx::WarningCode => {
                let code = trim(&self.warning_code);
                let parsed = code.parse::<u32>().ok();
                if let Some(w) = self.warning.as_mut() {
                    w.code = parsed;
                }
                Ok(Step::Continue)
            }
            Ctx::IdSetId | Ctx::IdSetRange => {
                self.listed_ids(ctx, reader)?;
                Ok(Step::IdsListed)
            }
            Ctx::Root => Ok(Step::DocumentDone),
            _ => Ok(Step::Continue),
        }
    }

    #[cold]
    fn bad_value<R>(&self, reader: &Reader<R>, element: &str, value: String) -> Error {
        Error::Unexpected {
            origin: self.origin.clone(),
            offset: reader.buffer_position(),
            problem: format!("{element} is not a number: {:?}", shown(&value)),
        }
    }
}

/// Text from the document as a message quotes it: at most 80 characters, so a hostile value
/// cannot make the message as large as the page.
fn shown(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_host_and_its_detection_come_out_with_their_cdata_text() -> Result<()> {
        let xml = r#"<?xml version="1.0" encoding="UTF-8" ?>
<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>2026-01-01T00:00:00Z</DATETIME>
<HOST_LIST><HOST><ID>42</ID><IP>192.0.2.7</IP><DETECTION_LIST>
<DETECTION><QID>38170</QID><TYPE>Confirmed</TYPE><RESULTS><![CDATA[a < b]]></RESULTS></DETECTION>
</DETECTION_LIST></HOST></HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>"#;
        let Ok(mut page) = HostListReader::open(xml.as_bytes(), HostListKind::Detections, "t")?
        else {
            panic!("a host list, not an error document");
        };
        let (host, detections) = page.next_host()?.expect("one host");
        assert_eq!(host.id(), 42);
        assert_eq!(detections[0].qid(), 38170);
        assert_eq!(detections[0].get(DetectionField::Results), Some("a < b"));
        assert!(page.next_host()?.is_none());
        assert!(page.warning().is_none());
        Ok(())
    }

    fn read_ids(xml: &str, capture: Capture) -> Result<(Vec<u64>, bool)> {
        let mut page = HostListReader::open_expecting(xml.as_bytes(), HostListKind::Hosts, "t")?
            .capture(capture);
        let mut ids = Vec::new();
        while let Some((host, detections)) = page.next_host()? {
            assert!(detections.is_empty());
            assert_eq!(
                host.get(HostField::Id),
                Some(host.id().to_string().as_str())
            );
            assert_eq!(
                host.get(HostField::Ip),
                None,
                "an ID_SET host has only its ID"
            );
            ids.push(host.id());
        }
        Ok((ids, page.ids_only()))
    }

    fn id_set(items: &str) -> String {
        format!(
            "<HOST_LIST_OUTPUT><RESPONSE><DATETIME>2026-01-01T00:00:00Z</DATETIME><ID_SET>{items}</ID_SET></RESPONSE></HOST_LIST_OUTPUT>"
        )
    }

    #[test]
    fn an_id_set_comes_out_as_hosts_with_only_their_id_ranges_expanded() -> Result<()> {
        let xml =
            id_set("<ID>7</ID><ID_RANGE> 10-12 </ID_RANGE><ID>20</ID><ID_RANGE>30-30</ID_RANGE>");
        for capture in [Capture::All, Capture::Counting] {
            let (ids, ids_only) = read_ids(&xml, capture)?;
            assert_eq!(ids, [7, 10, 11, 12, 20, 30], "{capture:?}");
            assert!(ids_only);
        }
        Ok(())
    }

    #[test]
    fn a_host_list_is_not_ids_only() -> Result<()> {
        let xml = "<HOST_LIST_OUTPUT><RESPONSE><HOST_LIST><HOST><ID>1</ID></HOST></HOST_LIST></RESPONSE></HOST_LIST_OUTPUT>";
        assert_eq!(read_ids(xml, Capture::All)?, (vec![1], false));
        Ok(())
    }

    #[test]
    fn a_bad_or_huge_id_range_fails_with_its_value() {
        for (items, words) in [
            ("<ID>x1</ID>", "ID is not a number"),
            ("<ID_RANGE>5-3</ID_RANGE>", "not a range of host IDs"),
            ("<ID_RANGE>5</ID_RANGE>", "not a range of host IDs"),
            (
                "<ID_RANGE>1-18446744073709551615</ID_RANGE>",
                "spans more than 1000000",
            ),
        ] {
            let e = read_ids(&id_set(items), Capture::Counting).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(words), "{items}: {msg}");
        }
    }

    #[test]
    fn an_id_set_in_host_list_detection_fails_instead_of_reading_as_no_detections() {
        let xml = "<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><ID_SET><ID>1</ID></ID_SET></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>";
        let mut page =
            HostListReader::open_expecting(xml.as_bytes(), HostListKind::Detections, "t").unwrap();
        let e = page.next_host().unwrap_err();
        assert!(e.to_string().contains("ID_SET"), "{e}");
    }

    #[test]
    fn an_undeclared_entity_fails_in_a_skipped_element_as_in_a_kept_one() {
        for element in ["SEVERITY", "UNKNOWN_NEW_ELEMENT"] {
            let xml = format!(
                "<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><HOST_LIST><HOST><ID>1</ID><DETECTION_LIST><DETECTION><QID>2</QID><TYPE>Confirmed</TYPE><{element}>3&nbsp;</{element}></DETECTION></DETECTION_LIST></HOST></HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>"
            );
            for capture in [Capture::All, Capture::Counting] {
                let mut page =
                    HostListReader::open_expecting(xml.as_bytes(), HostListKind::Detections, "t")
                        .unwrap()
                        .capture(capture);
                let e = page.next_host().unwrap_err();
                assert!(
                    e.to_string().contains("&nbsp;"),
                    "{element} {capture:?}: {e}"
                );
            }
        }
    }

    #[test]
    fn elements_nested_beyond_the_limit_fail_instead_of_growing_the_stack() {
        let depth = document::MAX_DEPTH + 10;
        let xml = format!(
            "<HOST_LIST_OUTPUT>{}{}</HOST_LIST_OUTPUT>",
            "<a>".repeat(depth),
            "</a>".repeat(depth)
        );
        let mut page =
            HostListReader::open_expecting(xml.as_bytes(), HostListKind::Hosts, "t").unwrap();
        let e = page.next_host().unwrap_err();
        assert!(e.to_string().contains("nested more than"), "{e}");
    }
}
