//! VMDR Vulnerabilities: Host List Detection joined with the KnowledgeBase.
//!
//! One record per detection of TYPE Confirmed or Potential (the "vulnerabilities and potential
//! vulnerabilities" categories), with its host context and the KnowledgeBase facts of its QID.
//! Information-gathered detections are not requested (no `show_igs`); if a server sends them
//! anyway they are dropped and counted in the [`RunSummary`].
//!
//! Per page: the detections stream into a [`PageSpool`] while the page downloads, the page's new
//! QIDs are looked up in batched KnowledgeBase POSTs (cached for the run, so each QID is asked
//! once), then the spooled records are joined with their KB facts on the way to the sink. The
//! join is a byte append: each record is serialised once, without its closing brace, and the
//! QID's pre-rendered KB fields close it.
//!
//! Record schema: see the README ("Record schema").

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use futures_util::future::LocalBoxFuture;
use serde::Serialize;

use super::cursor::{IdMinCursor, Truncation};
use super::host_list_page::{self, HostPage, ParsedHostPage};
use super::page_loop::{self, Parsed};
use super::record_value::{Flag, Num, flag, num, serialise_error};
use super::saved_response::{ParseMode, ParseSummary, SavedResponse, with_reader};
use super::{PageDone, ResumePoint, RunSummary, Stream, StreamKind, cannot_resume};
use crate::client::body_reader::BodyReader;
use crate::client::error_reader::{ResponseFacts, fo};
use crate::client::{QualysClient, Request};
use crate::config::ConnectorConfig;
use crate::error::Result;
use crate::parse::xml::document::{self, Root};
use crate::parse::xml::knowledge_base::{self, KbFacts, KbReader};
use crate::parse::xml::{
    Capture, DetectionField as D, HostField as H, HostListKind, HostListReader, ParsedDetection,
    ParsedHost,
};
use crate::qualys::endpoint;
use crate::qualys::filter::DetectionType;
use crate::sink::{PageSpool, Sink};

/// The Host List Detection endpoint.
const ENDPOINT: &endpoint::Endpoint = &endpoint::HOST_DETECTION;

/// The filter of an incremental run: detections whose `LAST_UPDATE_DATETIME` is at or after the
/// moment. Per detection, so a run gets the detections that changed (a new one, one that became
/// Fixed or was found again) and not every detection of every host scanned since, which is what
/// the host-level `vm_processed_after` returns (README "Incremental sync").
const CHANGED_SINCE: &str = "detection_updated_since";

/// The VMDR Vulnerabilities stream (its row is in [`super::registry`]).
pub struct VmdrVulnerabilities;

impl Stream for VmdrVulnerabilities {
    /// Host List Detection with the status, tag and kernel filters, and the asset ID (the join
    /// key with the asset inventory, sent only when asked for); later pages add `id_min`.
    fn first_request(&self, config: &ConnectorConfig) -> Request {
        let mut r = Request::post(ENDPOINT)
            .form("action", "list")
            .form("show_tags", "1")
            .form("show_asset_id", "1")
            .form("status", config.vmdr.statuses.to_param())
            .form("truncation_limit", config.vmdr.truncation_limit.to_string());
        if config.vmdr.include_ignored {
            r = r.form("include_ignored", "1");
        }
        if config.vmdr.include_disabled {
            r = r.form("include_disabled", "1");
        }
        if let Some(arf) = config.vmdr.arf_kernel_filter {
            r = r.form("arf_kernel_filter", arf.value().to_string());
        }
        for (k, v) in config.vmdr.tags.params() {
            r = r.form(k, v);
        }
        if let Some(since) = config.sync.changed_since {
            r = r.form(CHANGED_SINCE, since.to_string());
        }
        r
    }

    fn run_from<'a>(
        &'a self,
        client: &'a QualysClient,
        config: &'a ConnectorConfig,
        from: &'a ResumePoint,
        sink: &'a mut dyn Sink,
    ) -> LocalBoxFuture<'a, Result<RunSummary>> {
        Box::pin(run(self, client, config, from, sink))
    }

    fn changed_since_param(&self) -> Option<&'static str> {
        Some(CHANGED_SINCE)
    }

    fn parse_saved(
        &self,
        input: SavedResponse<'_>,
        origin: &str,
        mode: ParseMode,
        sink: &mut dyn Sink,
    ) -> Result<ParseSummary> {
        with_reader!(input, r => parse_saved(r, origin, mode, sink))
    }
}

/// The host's part of a detection record: the fields every detection of the host repeats.
/// Field order is the output order: these come first.
#[derive(Serialize)]
struct HostPart<'a> {
    host_id: u64,
    asset_id: Option<Num<'a>>,
    ip: Option<&'a str>,
    ipv6: Option<&'a str>,
    dns: Option<&'a str>,
    fqdn: Option<&'a str>,
    netbios: Option<&'a str>,
    os: Option<&'a str>,
    tracking_method: Option<&'a str>,
    tags: &'a [String],
}

/// The detection's own part of its record, after the host's. Field order is the output order.
#[derive(Serialize)]
struct DetectionPart<'a> {
    unique_vuln_id: Option<Num<'a>>,
    qid: u64,
    #[serde(rename = "type")]
    kind: &'a str,
    severity: Option<Num<'a>>,
    status: Option<&'a str>,
    port: Option<Num<'a>>,
    protocol: Option<&'a str>,
    ssl: Option<Flag<'a>>,
    first_found: Option<&'a str>,
    last_found: Option<&'a str>,
    times_found: Option<Num<'a>>,
    last_test: Option<&'a str>,
    last_update: Option<&'a str>,
    last_fixed: Option<&'a str>,
    last_processed: Option<&'a str>,
    is_ignored: Option<Flag<'a>>,
    is_disabled: Option<Flag<'a>>,
    affect_running_kernel: Option<Flag<'a>>,
    results: Option<&'a str>,
}

/// What happened to one detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectionTriage {
    Emit,
    /// Information gathered: not part of this stream.
    DropInfo,
    /// A TYPE this version does not know.
    DropUnknown,
}

/// Decides whether a detection belongs to the stream.
#[inline]
pub fn triage(d: &ParsedDetection) -> DetectionTriage {
    match d.get(D::Type).and_then(DetectionType::from_wire) {
        Some(DetectionType::Confirmed | DetectionType::Potential) => DetectionTriage::Emit,
        Some(DetectionType::Info) => DetectionTriage::DropInfo,
        None => DetectionTriage::DropUnknown,
    }
}

/// Writes detection records without their KnowledgeBase fields and without the closing brace
/// (the join appends them). The host's fields are the same in every detection of the host, so
/// they are serialised once per host ([`DetectionWriter::start_host`]) and copied: a host has
/// about fifty detections, and escaping its names and tags again for each one cost about a
/// tenth of the NDJSON throughput.
#[derive(Debug, Default)]
pub struct DetectionWriter {
    /// `{"host_id":...,"tags":[...],` of the current host.
    host_prefix: Vec<u8>,
}

impl DetectionWriter {
    /// Serialises `host`'s part of the records that follow.
    pub fn start_host(&mut self, host: &ParsedHost) -> Result<()> {
        self.host_prefix.clear();
        let part = HostPart {
            host_id: host.id(),
            asset_id: num(host.get(H::AssetId)),
            ip: host.get(H::Ip),
            ipv6: host.get(H::Ipv6),
            dns: host.get(H::Dns).or(host.get(H::Hostname)),
            fqdn: host.get(H::Fqdn),
            netbios: host.get(H::Netbios),
            os: host.get(H::Os),
            tracking_method: host.get(H::TrackingMethod),
            tags: host.tags(),
        };
        serde_json::to_writer(&mut self.host_prefix, &part).map_err(serialise_error)?;
        // `{...}` becomes `{...,`: the detection's fields continue the object.
        self.host_prefix.pop();
        self.host_prefix.push(b',');
        Ok(())
    }

    /// Appends the record of `d` (a detection of the host last started), open: without its
    /// closing brace.
    pub fn write_open_record(&self, out: &mut Vec<u8>, d: &ParsedDetection) -> Result<()> {
        out.extend_from_slice(&self.host_prefix);
        let at = out.len();
        let part = DetectionPart {
            unique_vuln_id: num(d.get(D::UniqueVulnId)),
            qid: d.qid(),
            kind: d.get(D::Type).unwrap_or_default(),
            severity: num(d.get(D::Severity)),
            status: d.get(D::Status),
            port: num(d.get(D::Port)),
            protocol: d.get(D::Protocol),
            ssl: flag(d.get(D::Ssl)),
            first_found: d.get(D::FirstFoundDatetime),
            last_found: d.get(D::LastFoundDatetime),
            times_found: num(d.get(D::TimesFound)),
            last_test: d.get(D::LastTestDatetime),
            last_update: d.get(D::LastUpdateDatetime),
            last_fixed: d.get(D::LastFixedDatetime),
            last_processed: d.get(D::LastProcessedDatetime),
            is_ignored: flag(d.get(D::IsIgnored)),
            is_disabled: flag(d.get(D::IsDisabled)),
            affect_running_kernel: flag(d.get(D::AffectRunningKernel)),
            results: d.get(D::Results),
        };
        serde_json::to_writer(&mut *out, &part).map_err(serialise_error)?;
        // The part's own braces go: its opening one (the host's prefix opened the object) and
        // its closing one (the KnowledgeBase join closes the object).
        out.remove(at);
        out.pop();
        Ok(())
    }
}

/// A CVSS score as a JSON number when it parses, else its text.
#[derive(Serialize)]
#[serde(untagged)]
enum Score<'a> {
    F(f64),
    Raw(&'a str),
}

fn score(s: Option<&str>) -> Option<Score<'_>> {
    s.map(|s| s.parse().map(Score::F).unwrap_or(Score::Raw(s)))
}

#[derive(Serialize)]
struct KbFields<'a> {
    title: Option<&'a str>,
    cves: &'a [String],
    cvss_base: Option<Score<'a>>,
    cvss3_base: Option<Score<'a>>,
    category: Option<&'a str>,
    patchable: Option<bool>,
}

/// Renders the KB fields as the tail of a record: `,"title":…}`.
fn render_suffix(entry: Option<&KbFacts>) -> Box<[u8]> {
    let fields = match entry {
        Some(e) => KbFields {
            title: Some(e.title.as_str()).filter(|t| !t.is_empty()),
            cves: &e.cves,
            cvss_base: score(e.cvss_base.as_deref()),
            cvss3_base: score(e.cvss3_base.as_deref()),
            category: e.category.as_deref(),
            patchable: e.patchable,
        },
        None => KbFields {
            title: None,
            cves: &[],
            cvss_base: None,
            cvss3_base: None,
            category: None,
            patchable: None,
        },
    };
    // Serialising a struct of strings and numbers cannot fail.
    let json = serde_json::to_vec(&fields).unwrap_or_else(|_| b"{}".to_vec());
    let mut suffix = Vec::with_capacity(json.len());
    suffix.push(b',');
    suffix.extend_from_slice(&json[1..]);
    suffix.into_boxed_slice()
}

/// KnowledgeBase facts for the run, rendered once per QID.
pub struct KnowledgeBaseJoin {
    enabled: bool,
    suffixes: HashMap<u64, Box<[u8]>>,
    unknown: Box<[u8]>,
    pub requests: u64,
    pub qids: u64,
    pub missing: u64,
}

impl KnowledgeBaseJoin {
    pub fn new(enabled: bool) -> Self {
        KnowledgeBaseJoin {
            enabled,
            suffixes: HashMap::new(),
            unknown: render_suffix(None),
            requests: 0,
            qids: 0,
            missing: 0,
        }
    }

    /// The record tail for a QID (nulls when unknown or when the KB is disabled).
    #[inline]
    pub fn suffix(&self, qid: u64) -> &[u8] {
        self.suffixes.get(&qid).unwrap_or(&self.unknown)
    }

    /// Looks up every QID not asked for yet, in batches.
    pub async fn ensure(
        &mut self,
        client: &QualysClient,
        qids: &HashSet<u64>,
        batch_size: usize,
    ) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        let mut wanted: Vec<u64> = qids
            .iter()
            .copied()
            .filter(|q| !self.suffixes.contains_key(q))
            .collect();
        wanted.sort_unstable();
        for batch in wanted.chunks(batch_size.max(1)) {
            let ids = batch
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let request = Request::post(&endpoint::KNOWLEDGE_BASE)
                .form("action", "list")
                .form("details", "Basic")
                .form("ids", ids);
            let entries = client.fetch(&request, parse_kb).await?;
            self.requests += 1;
            self.qids += batch.len() as u64;
            let found: HashMap<u64, &KbFacts> = entries.iter().map(|e| (e.qid, e)).collect();
            for qid in batch {
                let suffix = match found.get(qid) {
                    Some(e) => render_suffix(Some(e)),
                    None => {
                        self.missing += 1;
                        self.unknown.clone()
                    }
                };
                self.suffixes.insert(*qid, suffix);
            }
        }
        Ok(())
    }
}

fn parse_kb(body: BodyReader, facts: &ResponseFacts) -> Result<Vec<KbFacts>> {
    let origin = facts.exchange.to_string();
    let mut reader = document::reader(body);
    let mut buf = Vec::new();
    let root = document::read_root(&mut reader, &mut buf, &origin)?;
    if root == Root::KnowledgeBase {
        return knowledge_base::read(reader, buf, &origin);
    }
    Err(fo::from_other_document(
        facts,
        crate::parse::xml::host_list::OtherDocument { root, reader, buf },
    ))
}

/// Per-page extras of this stream.
#[derive(Default)]
pub struct DetectionPage {
    pub qids: HashSet<u64>,
    pub detections: u64,
    pub info_dropped: u64,
    pub unknown_dropped: u64,
}

fn parse_page(body: BodyReader, facts: &ResponseFacts) -> Result<ParsedHostPage<DetectionPage>> {
    spool_page(host_list_page::open(body, facts, HostListKind::Detections)?)
}

/// Reads a whole detection page into a spool.
fn spool_page<R: BufRead>(mut page: HostListReader<R>) -> Result<ParsedHostPage<DetectionPage>> {
    let mut spool = PageSpool::new();
    let mut extra = DetectionPage::default();
    let mut json = Vec::with_capacity(8 * 1024);
    let mut hosts = 0;
    let mut last_host_id = None;
    let mut writer = DetectionWriter::default();
    while let Some((host, detections)) = page.next_host()? {
        hosts += 1;
        last_host_id = Some(host.id());
        writer.start_host(host)?;
        for d in detections {
            extra.detections += 1;
            match triage(d) {
                DetectionTriage::Emit => {}
                DetectionTriage::DropInfo => {
                    extra.info_dropped += 1;
                    continue;
                }
                DetectionTriage::DropUnknown => {
                    extra.unknown_dropped += 1;
                    continue;
                }
            }
            json.clear();
            writer.write_open_record(&mut json, d)?;
            spool.push(d.qid(), &json)?;
            extra.qids.insert(d.qid());
        }
    }
    Ok(Parsed {
        page: HostPage {
            spool,
            hosts,
            text: page.text_stats(),
            extra,
        },
        next: Truncation {
            warning: page.warning().cloned(),
            last_host_id,
        },
    })
}

async fn run(
    stream: &VmdrVulnerabilities,
    client: &QualysClient,
    config: &ConnectorConfig,
    from: &ResumePoint,
    sink: &mut dyn Sink,
) -> Result<RunSummary> {
    let mut summary = RunSummary {
        stream: Some(StreamKind::VmdrVulnerabilities),
        ..RunSummary::default()
    };
    let mut kb = KnowledgeBaseJoin::new(config.vmdr.knowledge_base);
    let mut line = Vec::with_capacity(16 * 1024);
    let live = client.live();
    let cursor = IdMinCursor::resume(client.base_url().clone(), &from.position)
        .ok_or_else(|| cannot_resume(config, from))?;
    let pages = page_loop::for_each_page_from(
        client,
        stream.first_request(config),
        cursor,
        from.pages_done,
        parse_page,
        async |page: HostPage<DetectionPage>, done: PageDone| {
            kb.ensure(client, &page.extra.qids, config.vmdr.kb_batch_size)
                .await?;
            summary.hosts += page.hosts;
            summary.detections_read += page.extra.detections;
            summary.info_dropped += page.extra.info_dropped;
            summary.unknown_type_dropped += page.extra.unknown_dropped;
            summary.invalid_chars_replaced += page.text.invalid_chars_replaced;
            page.spool.drain(|qid, open| {
                line.clear();
                line.extend_from_slice(open);
                line.extend_from_slice(kb.suffix(qid));
                sink.record(&line)?;
                live.records
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            })?;
            sink.page_done(&done)
        },
    )
    .await?;
    summary.pages = pages;
    summary.records = sink.count();
    summary.kb_requests = kb.requests;
    summary.kb_qids = kb.qids;
    summary.kb_missing = kb.missing;
    summary.finish(client).await;
    Ok(summary)
}

/// Parses a saved Host List Detection response straight to the sink (no spool: a file has no
/// retries; no KnowledgeBase: its fields are null).
fn parse_saved<R: BufRead>(
    input: R,
    origin: &str,
    mode: ParseMode,
    sink: &mut dyn Sink,
) -> Result<ParseSummary> {
    let capture = match mode {
        ParseMode::Records => Capture::All,
        ParseMode::Count => Capture::Counting,
    };
    let mut page =
        HostListReader::open_expecting(input, HostListKind::Detections, origin)?.capture(capture);
    let mut summary = ParseSummary::default();
    let mut json = Vec::with_capacity(8 * 1024);
    // No KnowledgeBase here: every QID gets the null tail.
    let no_kb = KnowledgeBaseJoin::new(false);
    let mut writer = DetectionWriter::default();
    while let Some((host, detections)) = page.next_host()? {
        summary.hosts += 1;
        if mode == ParseMode::Records {
            writer.start_host(host)?;
        }
        for d in detections {
            summary.detections += 1;
            match triage(d) {
                DetectionTriage::Emit => {}
                DetectionTriage::DropInfo => {
                    summary.info_dropped += 1;
                    continue;
                }
                DetectionTriage::DropUnknown => {
                    summary.unknown_type_dropped += 1;
                    continue;
                }
            }
            summary.records += 1;
            if mode == ParseMode::Records {
                json.clear();
                writer.write_open_record(&mut json, d)?;
                json.extend_from_slice(no_kb.suffix(d.qid()));
                sink.record(&json)?;
            }
        }
    }
    summary.bytes = page.position();
    summary.text = page.text_stats();
    summary.truncated = page.warning().is_some();
    Ok(summary)
}

/// One record of `qharness parse --kind knowledge-base`: the facts of one QID, as the join puts
/// them on detections, plus what identifies the entry. Field order is the output order.
#[derive(Serialize)]
struct KbRecord<'a> {
    qid: u64,
    vuln_type: Option<&'a str>,
    severity: Option<u8>,
    title: Option<&'a str>,
    category: Option<&'a str>,
    patchable: Option<bool>,
    cves: &'a [String],
    cvss_base: Option<Score<'a>>,
    cvss3_base: Option<Score<'a>>,
    published: Option<&'a str>,
}

/// Parses a saved KnowledgeBase answer, one record per `VULN`, straight to the sink.
pub fn parse_saved_knowledge_base<R: BufRead>(
    input: R,
    origin: &str,
    mode: ParseMode,
    sink: &mut dyn Sink,
) -> Result<ParseSummary> {
    let mut reader = document::reader(input);
    let mut buf = Vec::new();
    let root = document::read_root(&mut reader, &mut buf, origin)?;
    if root != Root::KnowledgeBase {
        return Err(
            crate::parse::xml::host_list::OtherDocument { root, reader, buf }
                .into_error(Root::KnowledgeBase, origin),
        );
    }
    let mut kb = KbReader::new(reader, buf, origin);
    let mut summary = ParseSummary::default();
    let mut json = Vec::with_capacity(4 * 1024);
    while let Some(e) = kb.next_entry()? {
        summary.records += 1;
        if mode == ParseMode::Records {
            let record = KbRecord {
                qid: e.qid,
                vuln_type: Some(e.vuln_type.as_str()).filter(|t| !t.is_empty()),
                severity: e.severity,
                title: Some(e.title.as_str()).filter(|t| !t.is_empty()),
                category: e.category.as_deref(),
                patchable: e.patchable,
                cves: &e.cves,
                cvss_base: score(e.cvss_base.as_deref()),
                cvss3_base: score(e.cvss3_base.as_deref()),
                published: e.published.as_deref(),
            };
            json.clear();
            serde_json::to_writer(&mut json, &record).map_err(serialise_error)?;
            sink.record(&json)?;
        }
    }
    summary.bytes = kb.position();
    Ok(summary)
}
