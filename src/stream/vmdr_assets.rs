//! VMDR Assets: the Host List, one record per host.
//!
//! Calls `/api/2.0/fo/asset/host/` with `details=All`, `show_tags=1` and `show_asset_id=1`, the
//! tag filters and `truncation_limit`, and follows the same `id_min` pagination as the
//! vulnerabilities stream. `serial_number` is filled when the response carries
//! `SERIAL_NUMBER` (newer API versions); the 2022 `/api/2.0` DTD has no such element, so it is
//! usually null there.

use std::io::BufRead;

use futures_util::future::LocalBoxFuture;
use serde::Serialize;

use super::cursor::{IdMinCursor, Truncation};
use super::host_list_page::{self, HostPage, ParsedHostPage};
use super::page_loop::{self, Parsed};
use super::record_value::{Num, num, serialise_error};
use super::saved_response::{ParseMode, ParseSummary, SavedResponse, with_reader};
use super::{PageDone, ResumePoint, RunSummary, Stream, StreamKind, cannot_resume};
use crate::client::body_reader::BodyReader;
use crate::client::error_reader::ResponseFacts;
use crate::client::{QualysClient, Request};
use crate::config::ConnectorConfig;
use crate::error::Result;
use crate::parse::xml::{Capture, HostField as H, HostListKind, HostListReader, ParsedHost};
use crate::qualys::endpoint;
use crate::sink::{PageSpool, Sink};

/// The Host List endpoint.
const ENDPOINT: &endpoint::Endpoint = &endpoint::HOST_LIST;

/// The filter of an incremental run: hosts whose scan results were processed after the moment.
/// Processing time rather than scan time (`vm_scan_since`): a scan that started before the last
/// run but was processed after it changed the host too.
const CHANGED_SINCE: &str = "vm_processed_after";

/// The VMDR Assets stream (its row is in [`super::registry`]).
pub struct VmdrAssets;

impl Stream for VmdrAssets {
    /// Host List with every detail, tags and asset IDs, and the tag filters; later pages add
    /// `id_min`.
    fn first_request(&self, config: &ConnectorConfig) -> Request {
        let mut r = Request::post(ENDPOINT)
            .form("action", "list")
            .form("details", "All")
            .form("show_tags", "1")
            .form("show_asset_id", "1")
            .form("truncation_limit", config.vmdr.truncation_limit.to_string());
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

/// One host record. Field order is the output order.
#[derive(Serialize)]
struct HostRecord<'a> {
    host_id: u64,
    asset_id: Option<Num<'a>>,
    ip: Option<&'a str>,
    ipv6: Option<&'a str>,
    dns: Option<&'a str>,
    fqdn: Option<&'a str>,
    netbios: Option<&'a str>,
    os: Option<&'a str>,
    tracking_method: Option<&'a str>,
    serial_number: Option<&'a str>,
    network_id: Option<Num<'a>>,
    qg_host_id: Option<&'a str>,
    cloud_provider: Option<&'a str>,
    ec2_instance_id: Option<&'a str>,
    owner: Option<&'a str>,
    tags: &'a [String],
    last_vuln_scan: Option<&'a str>,
    last_vm_scanned_date: Option<&'a str>,
    last_vm_scanned_duration: Option<Num<'a>>,
    last_vm_auth_scanned_date: Option<&'a str>,
    last_vm_auth_scanned_duration: Option<Num<'a>>,
    last_compliance_scan: Option<&'a str>,
    last_scap_scan: Option<&'a str>,
}

/// Serialises a host record into `out`.
pub fn write_record(out: &mut Vec<u8>, host: &ParsedHost) -> Result<()> {
    let record = HostRecord {
        host_id: host.id(),
        asset_id: num(host.get(H::AssetId)),
        ip: host.get(H::Ip),
        ipv6: host.get(H::Ipv6),
        dns: host.get(H::Dns).or(host.get(H::Hostname)),
        fqdn: host.get(H::Fqdn),
        netbios: host.get(H::Netbios),
        os: host.get(H::Os),
        tracking_method: host.get(H::TrackingMethod),
        serial_number: host.get(H::SerialNumber),
        network_id: num(host.get(H::NetworkId)),
        qg_host_id: host.get(H::QgHostId),
        cloud_provider: host.get(H::CloudProvider),
        ec2_instance_id: host.get(H::Ec2InstanceId),
        owner: host.get(H::Owner),
        tags: host.tags(),
        last_vuln_scan: host
            .get(H::LastVulnScanDatetime)
            .or(host.get(H::LastScanDatetime)),
        last_vm_scanned_date: host.get(H::LastVmScannedDate),
        last_vm_scanned_duration: num(host.get(H::LastVmScannedDuration)),
        last_vm_auth_scanned_date: host.get(H::LastVmAuthScannedDate),
        last_vm_auth_scanned_duration: num(host.get(H::LastVmAuthScannedDuration)),
        last_compliance_scan: host.get(H::LastComplianceScanDatetime),
        last_scap_scan: host.get(H::LastScapScanDatetime),
    };
    serde_json::to_writer(&mut *out, &record).map_err(serialise_error)
}

/// Per-page extras of this stream: whether the page listed host IDs only (`ID_SET`).
type IdsOnly = bool;

fn parse_page(body: BodyReader, facts: &ResponseFacts) -> Result<ParsedHostPage<IdsOnly>> {
    spool_page(host_list_page::open(body, facts, HostListKind::Hosts)?)
}

/// Reads a whole host page into a spool.
fn spool_page<R: BufRead>(mut page: HostListReader<R>) -> Result<ParsedHostPage<IdsOnly>> {
    let mut spool = PageSpool::new();
    let mut json = Vec::with_capacity(4 * 1024);
    let mut hosts = 0;
    let mut last_host_id = None;
    while let Some((host, _)) = page.next_host()? {
        hosts += 1;
        last_host_id = Some(host.id());
        json.clear();
        write_record(&mut json, host)?;
        spool.push(host.id(), &json)?;
    }
    Ok(Parsed {
        page: HostPage {
            spool,
            hosts,
            text: page.text_stats(),
            extra: page.ids_only(),
        },
        next: Truncation {
            warning: page.warning().cloned(),
            last_host_id,
        },
    })
}

async fn run(
    stream: &VmdrAssets,
    client: &QualysClient,
    config: &ConnectorConfig,
    from: &ResumePoint,
    sink: &mut dyn Sink,
) -> Result<RunSummary> {
    let mut summary = RunSummary {
        stream: Some(StreamKind::VmdrAssets),
        ..RunSummary::default()
    };
    let live = client.live();
    let mut ids_only = false;
    let cursor = IdMinCursor::resume(client.base_url().clone(), &from.position)
        .ok_or_else(|| cannot_resume(config, from))?;
    let pages = page_loop::for_each_page_from(
        client,
        stream.first_request(config),
        cursor,
        from.pages_done,
        parse_page,
        async |page: HostPage<IdsOnly>, done: PageDone| {
            ids_only |= page.extra;
            summary.hosts += page.hosts;
            summary.invalid_chars_replaced += page.text.invalid_chars_replaced;
            page.spool.drain(|_, json| {
                sink.record(json)?;
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
    if ids_only {
        summary.warnings.push(
            "the Host List answered with host IDs only (an ID_SET, as for details=None): those records carry only host_id".into(),
        );
    }
    summary.finish(client).await;
    Ok(summary)
}

/// Parses a saved Host List response straight to the sink (no spool: a file has no retries).
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
        HostListReader::open_expecting(input, HostListKind::Hosts, origin)?.capture(capture);
    let mut summary = ParseSummary::default();
    let mut json = Vec::with_capacity(8 * 1024);
    while let Some((host, _)) = page.next_host()? {
        summary.hosts += 1;
        summary.records += 1;
        if mode == ParseMode::Records {
            json.clear();
            write_record(&mut json, host)?;
            sink.record(&json)?;
        }
    }
    summary.bytes = page.position();
    summary.text = page.text_stats();
    summary.truncated = page.warning().is_some();
    summary.ids_only = page.ids_only();
    Ok(summary)
}
