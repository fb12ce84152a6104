//! Policy Compliance posture: the PCRS posture streaming API on the API gateway, one record per
//! posture info record.
//!
//! A run is four steps, each a call of the gateway's family (a bearer session from `POST /auth`,
//! JSON errors; see [`crate::client::auth`]):
//!
//! 1. `GET /pcrs/1.0/posture/policy/list`: the subscription's policies. Without `policy_ids`
//!    the active ones are fetched (the inactive ones too with `include_inactive_policies`);
//!    with `policy_ids` exactly those, and an ID the list lacks fails the run before any
//!    posture request (exit 2, naming the ID).
//! 2. `GET /pcrs/1.0/posture/hostids?policyId=a,b,...`, at most 10 policies per request (the
//!    documented limit). A per-policy `"error"` inside the 200 is reported with the policy ID
//!    as a warning, and that policy is skipped; a policy with no hosts is fine.
//! 3. `POST /pcrs/1.0/posture/postureInfo?evidenceRequired=0|1&compressionRequired=1` with the
//!    documented body, one request per (policy, batch of at most `host_batch_size` host IDs).
//!    The answer is a JSON array, gzip'd: it is inflated and parsed one element at a time
//!    ([`crate::parse::json`]), so memory is bounded by one record, not by the answer. A 204
//!    means no records.
//! 4. Each answer is a page: its records go to a spool and reach the sink only once the answer
//!    parsed completely; an answer whose body breaks off is asked again from scratch, and none
//!    of its records was emitted. A token that expires mid-run is renewed by the client (one
//!    new login, the request repeated), so nothing is lost or repeated.
//!
//! A resumed run ([`Stream::run_from`] at a [`PagePosition::PolicyBatch`]) fetches the policy
//! list and host IDs again, skips the policies before the recorded one and that policy's hosts
//! already done, and goes on with the same batches. The policies' order and their host IDs must
//! not have changed meanwhile; a policy that disappeared fails the run with exit 2.
//!
//! # Incremental runs
//!
//! With `changed_since` (`--since`, `--incremental`) every posture request carries
//! `lastEvaluationDate=YYYY-MM-DDThh:mm:ssZ`: the gateway then answers only the postures
//! evaluated at or after that moment. `lastEvaluationDate` rather than `statusChangedSince`,
//! because a record's fields change at every evaluation, not only when its status flips: a
//! posture re-evaluated with the same status has a new `lastEvaluatedDate` (and last pass or
//! fail date), and a host evaluated for the first time has postures whose status changed from
//! nothing, which `statusChangedSince` may or may not count. With `lastEvaluationDate`, applying
//! the changes over the last full export by `posture_id` gives what a full export gives now
//! (deleted postures aside). The cost: every re-evaluation comes back, changed or not.
//!
//! The policy list and `hostids` stay unfiltered. The list's own `lastEvaluationDate` would
//! save the requests of policies evaluated before the moment, but a policy missing from a
//! filtered list is indistinguishable from a deleted one (`policy_ids` would fail), and the
//! resume cursor (policy, host batch) counts positions in the unfiltered lists, which
//! re-evaluations do not change (a filtered list grows with every policy evaluated before the
//! run is resumed). `hostids`' `lastScanDate` is about scans, not evaluations: a
//! posture re-evaluated without a scan (a changed policy) would be lost. So a policy evaluated
//! for the first time, and a host added to one, are in the lists, and their postures come
//! back; a (policy, batch) without changes costs one request answered with a 204.
//!
//! Qualys documents neither the comparison nor the date format of `lastEvaluationDate` on
//! `postureInfo`; the format is the one documented for the policy list's parameter of the same
//! name. "At or after" is this connector's reading (the simulator answers so; see
//! fixtures/README.md), and the 10-minute overlap of incremental runs covers a boundary that
//! Qualys draws strictly.

use std::collections::HashSet;
use std::io::BufRead;
use std::sync::atomic::Ordering;

use futures_util::future::LocalBoxFuture;
use serde_json::json;

use super::saved_response::{ParseMode, ParseSummary, SavedResponse, with_reader};
use super::{PageDone, PagePosition, ResumePoint, RunSummary, Stream, StreamKind};
use crate::client::body_reader::BodyReader;
use crate::client::error_reader::ResponseFacts;
use crate::client::{Body, QualysClient, Request};
use crate::config::{ConnectorConfig, PolicySelection};
use crate::error::{Error, Exchange, Result};
use crate::parse::json::array::io_error;
use crate::parse::json::pcrs::{self, IdText, Policy, PolicyHosts};
use crate::parse::json::posture::{self, PostureParser};
use crate::parse::json::{ArrayReader, Decoded};
use crate::qualys::endpoint;
use crate::sink::{PageSpool, Sink};

/// Policy IDs per `hostids` request: the documented maximum.
pub const POLICIES_PER_HOST_ID_REQUEST: usize = 10;

/// The filter of an incremental run on `postureInfo` (see the module documentation).
const CHANGED_SINCE: &str = "lastEvaluationDate";

/// The Policy Compliance posture stream (its row is in [`super::registry`]).
pub struct PcPosture;

impl Stream for PcPosture {
    /// The policy list: every run starts by learning which policies exist.
    fn first_request(&self, _config: &ConnectorConfig) -> Request {
        Request::get(&endpoint::PCRS_POLICY_LIST)
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

/// Reads a posture answer (gzip'd or plain) element by element, calling `each` with the
/// posture ID and, when `write` is set, the record's JSON. Returns the JSON bytes read.
pub fn read_postures<R: BufRead>(
    input: R,
    origin: &str,
    write: bool,
    mut each: impl FnMut(Option<u64>, &[u8]) -> Result<()>,
) -> Result<u64> {
    let decoded = Decoded::sniff(input).map_err(|e| io_error(origin, 0, e))?;
    let mut array = ArrayReader::new(decoded, origin);
    let mut parser = PostureParser::default();
    let mut json = Vec::with_capacity(4 * 1024);
    loop {
        let Some(element) = array.next_element()? else {
            break;
        };
        let values = parser.parse(element.bytes, origin, element.index, element.offset)?;
        json.clear();
        if write {
            posture::write_record(&mut json, &values);
        }
        each(values.posture_id(), &json)?;
    }
    Ok(array.position())
}

/// One posture answer, parsed completely and held until committed.
struct PosturePage {
    spool: PageSpool,
}

fn parse_page(body: BodyReader, facts: &ResponseFacts) -> Result<PosturePage> {
    let mut page = PosturePage {
        spool: PageSpool::new(),
    };
    if facts.status() == 204 {
        return Ok(page);
    }
    let origin = facts.exchange.to_string();
    read_postures(body, &origin, true, |id, json| {
        page.spool.push(id.unwrap_or(0), json)
    })?;
    Ok(page)
}

/// Reads a small JSON answer whole; a 204 is `empty`.
fn parse_whole<T>(
    read: fn(BodyReader, &str) -> Result<T>,
    empty: fn() -> T,
) -> impl Fn(BodyReader, &ResponseFacts) -> Result<T> + Send + Sync + Clone + 'static
where
    T: Send + 'static,
{
    move |body, facts| {
        if facts.status() == 204 {
            return Ok(empty());
        }
        read(body, &facts.exchange.to_string())
    }
}

/// The policies a run fetches, in the list's order (or the order of `policy_ids`).
fn select(
    policies: Vec<Policy>,
    selection: &PolicySelection,
    exchange: Exchange,
) -> Result<Vec<Policy>> {
    match selection {
        PolicySelection::All { include_inactive } => Ok(policies
            .into_iter()
            .filter(|p| *include_inactive || p.is_active())
            .collect()),
        PolicySelection::Ids(ids) => {
            let mut chosen = Vec::with_capacity(ids.len());
            let mut missing = Vec::new();
            for id in ids {
                match policies.iter().find(|p| p.id.number() == Some(*id)) {
                    Some(p) => chosen.push(p.clone()),
                    None => missing.push(*id),
                }
            }
            if missing.is_empty() {
                Ok(chosen)
            } else {
                Err(Error::PolicyNotFound {
                    exchange,
                    missing,
                    listed: policies.len(),
                })
            }
        }
    }
}

/// Where a resumed run goes on: the first policy it still fetches, and of that policy's host
/// IDs how many are done and the last of them.
struct ResumeAt<'a> {
    policy_id: &'a str,
    hosts_done: usize,
    last_host_id: &'a str,
}

/// The policies a resumed run still has to fetch, and where in the first of them it goes on.
fn resume_at<'p, 'f>(
    policies: &'p [Policy],
    config: &ConnectorConfig,
    from: &'f ResumePoint,
) -> Result<(&'p [Policy], Option<ResumeAt<'f>>)> {
    let at = match &from.position {
        PagePosition::Start => return Ok((policies, None)),
        PagePosition::PolicyBatch {
            policy_id,
            hosts_done,
            last_host_id,
        } => ResumeAt {
            policy_id,
            hosts_done: usize::try_from(*hosts_done).unwrap_or(usize::MAX),
            last_host_id,
        },
        _ => return Err(super::cannot_resume(config, from)),
    };
    let index = policies
        .iter()
        .position(|p| p.id.0 == at.policy_id)
        .ok_or_else(|| {
            changed(format!(
                "the interrupted run stopped in policy {}, which this run does not fetch any more (the policy list changed)",
                at.policy_id
            ))
        })?;
    Ok((&policies[index..], Some(at)))
}

/// The hosts of the policy a resumed run goes on in that are done: refused when the gateway's
/// host list for it changed since (the done ones would be skipped wrongly).
fn hosts_to_skip(entry: &PolicyHosts, at: &ResumeAt<'_>) -> Result<usize> {
    let done = at.hosts_done;
    match done.checked_sub(1).and_then(|i| entry.host_ids.get(i)) {
        Some(id) if id.0 == at.last_host_id => Ok(done),
        None if done == 0 => Ok(0),
        found => Err(changed(format!(
            "the interrupted run had done {done} host(s) of policy {}, the last {}; the gateway now lists {} there (its host list changed)",
            at.policy_id,
            at.last_host_id,
            found.map_or("no host".to_string(), |id| format!("host {}", id.0))
        ))),
    }
}

fn changed(problem: String) -> Error {
    Error::config(
        "resume",
        problem,
        "start the run again without --resume, with a new state file",
    )
}

async fn run(
    _stream: &PcPosture,
    client: &QualysClient,
    config: &ConnectorConfig,
    from: &ResumePoint,
    sink: &mut dyn Sink,
) -> Result<RunSummary> {
    let mut summary = RunSummary {
        stream: Some(StreamKind::PcPosture),
        ..RunSummary::default()
    };
    let live = client.live();
    let list_request = Request::get(&endpoint::PCRS_POLICY_LIST);
    let list = client
        .fetch(
            &list_request,
            parse_whole(pcrs::read_policy_list::<BodyReader>, || pcrs::PolicyList {
                subscription_id: None,
                policy_list: Vec::new(),
            }),
        )
        .await?;
    let subscription = list.subscription_id.clone();
    let list_exchange = Exchange {
        endpoint: list_request.path.clone(),
        status: Some(200),
        page: None,
    };
    let policies = select(list.policy_list, &config.pc.policies, list_exchange)?;
    let (policies, mut resume) = resume_at(&policies, config, from)?;
    let evidence = if config.pc.evidence { "1" } else { "0" };
    let mut hosts_seen: HashSet<IdText> = HashSet::new();
    let mut page = u32::try_from(from.pages_done).unwrap_or(u32::MAX);

    for chunk in policies.chunks(POLICIES_PER_HOST_ID_REQUEST) {
        let ids: Vec<String> = chunk.iter().map(|p| p.id.0.clone()).collect();
        let request = Request::get(&endpoint::PCRS_HOST_IDS).query("policyId", ids.join(","));
        let resolved = client
            .fetch(
                &request,
                parse_whole(pcrs::read_host_ids::<BodyReader>, Vec::new),
            )
            .await?;
        for policy in chunk {
            // Only the first policy of a resumed run has hosts that are done already.
            let at = resume.take();
            let Some(entry) = resolved.iter().find(|e| e.policy_id == policy.id) else {
                summary.warnings.push(format!(
                    "policy {}: the gateway's host ID answer has no entry for it; its postures were not fetched",
                    policy.id
                ));
                continue;
            };
            if let Some(error) = &entry.error {
                summary.warnings.push(format!(
                    "policy {}: the gateway could not resolve its hosts (\"{error}\"); its postures were not fetched",
                    policy.id
                ));
                continue;
            }
            summary.policies += 1;
            let skip = match &at {
                Some(at) => hosts_to_skip(entry, at)?,
                None => 0,
            };
            let mut hosts_done = skip as u64;
            for batch in entry.host_ids[skip..].chunks(config.pc.host_batch_size) {
                page += 1;
                hosts_seen.extend(batch.iter().cloned());
                let mut request = posture_request(entry, subscription.as_ref(), batch, evidence);
                if let Some(since) = config.sync.changed_since {
                    request = request.query(CHANGED_SINCE, since.to_string());
                }
                request.page = Some(page);
                let answer = client.fetch(&request, parse_page).await?;
                answer.spool.drain(|_, json| {
                    sink.record(json)?;
                    live.records.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                })?;
                hosts_done += batch.len() as u64;
                let last_host_id = batch.last().map(|id| id.0.clone()).unwrap_or_default();
                // Whether another batch follows is not known here; the sink's finish says the
                // run is complete.
                sink.page_done(&PageDone {
                    pages: u64::from(page),
                    next: Some(PagePosition::PolicyBatch {
                        policy_id: policy.id.0.clone(),
                        hosts_done,
                        last_host_id,
                    }),
                })?;
                live.pages.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    summary.pages = u64::from(page);
    summary.hosts = hosts_seen.len() as u64;
    summary.records = sink.count();
    summary.finish(client).await;
    Ok(summary)
}

/// The posture request of one (policy, host batch), with the documented body: the Resolve
/// Host IDs entry of the policy, limited to the batch.
fn posture_request(
    entry: &PolicyHosts,
    list_subscription: Option<&IdText>,
    batch: &[IdText],
    evidence: &str,
) -> Request {
    let subscription = entry.subscription_id.as_ref().or(list_subscription);
    Request::post(&endpoint::PCRS_POSTURE_INFO)
        .query("evidenceRequired", evidence)
        .query("compressionRequired", "1")
        .body(Body::Json(json!([{
            "policyId": entry.policy_id,
            "subscriptionId": subscription,
            "hostIds": batch,
        }])))
}

/// Parses a saved posture answer straight to the sink (no spool: a file has no retries).
fn parse_saved<R: BufRead>(
    input: R,
    origin: &str,
    mode: ParseMode,
    sink: &mut dyn Sink,
) -> Result<ParseSummary> {
    let mut summary = ParseSummary::default();
    let write = mode == ParseMode::Records;
    summary.bytes = read_postures(input, origin, write, |_, json| {
        summary.records += 1;
        if write {
            sink.record(json)?;
        }
        Ok(())
    })?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::MemorySink;

    const ANSWER: &str = r#"[{"id":1,"hostId":100031,"policyId":"4711","status":"Passed"},
        {"id":2,"hostId":100032,"policyId":"4711","status":"Failed","criticality":{"label":"SERIOUS","value":3}}]"#;

    #[test]
    fn a_saved_answer_parses_gzip_or_plain_and_count_agrees() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(ANSWER.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        for input in [ANSWER.as_bytes(), &gz[..]] {
            let mut sink = MemorySink::default();
            let s = PcPosture
                .parse_saved(
                    SavedResponse::Memory(input),
                    "test",
                    ParseMode::Records,
                    &mut sink,
                )
                .unwrap();
            assert_eq!(s.records, 2);
            assert_eq!(s.bytes, ANSWER.len() as u64);
            assert_eq!(sink.records[1]["criticality"], "SERIOUS");
            assert_eq!(sink.records[0]["host_id"], 100031);
            let mut count = crate::sink::CountSink::default();
            let c = PcPosture
                .parse_saved(
                    SavedResponse::Memory(input),
                    "test",
                    ParseMode::Count,
                    &mut count,
                )
                .unwrap();
            assert_eq!((c.records, count.count), (2, 0));
        }
    }

    #[test]
    fn a_resumed_policy_skips_its_done_hosts_only_when_the_host_list_is_unchanged() {
        let entry = PolicyHosts {
            policy_id: IdText("4711".into()),
            subscription_id: None,
            host_ids: ["100031", "100032", "100033"]
                .map(|h| IdText(h.into()))
                .to_vec(),
            error: None,
        };
        let at = |done, last| ResumeAt {
            policy_id: "4711",
            hosts_done: done,
            last_host_id: last,
        };
        assert_eq!(hosts_to_skip(&entry, &at(2, "100032")).unwrap(), 2);
        assert_eq!(hosts_to_skip(&entry, &at(0, "")).unwrap(), 0);
        let e = hosts_to_skip(&entry, &at(2, "100099")).unwrap_err();
        assert_eq!(e.exit_class(), crate::ExitClass::Config);
        assert!(
            e.to_string()
                .contains("the last 100099; the gateway now lists host 100032"),
            "{e}"
        );
        let e = hosts_to_skip(&entry, &at(5, "100035")).unwrap_err();
        assert!(e.to_string().contains("now lists no host"), "{e}");
    }

    fn policy(id: &str, status: &str) -> Policy {
        Policy {
            id: IdText(id.into()),
            status: Some(status.into()),
        }
    }

    #[test]
    fn selection_keeps_active_policies_or_exactly_the_ids_and_names_missing_ones() {
        let list = || {
            vec![
                policy("1", "active"),
                policy("2", "inactive"),
                policy("3", "active"),
            ]
        };
        let ex = || Exchange {
            endpoint: "list".into(),
            status: Some(200),
            page: None,
        };
        let ids = |v: Vec<Policy>| v.into_iter().map(|p| p.id.0).collect::<Vec<_>>();
        let all = PolicySelection::All {
            include_inactive: false,
        };
        assert_eq!(ids(select(list(), &all, ex()).unwrap()), ["1", "3"]);
        let with = PolicySelection::All {
            include_inactive: true,
        };
        assert_eq!(ids(select(list(), &with, ex()).unwrap()), ["1", "2", "3"]);
        let exact = PolicySelection::Ids(vec![3, 2]);
        assert_eq!(ids(select(list(), &exact, ex()).unwrap()), ["3", "2"]);
        let e = select(list(), &PolicySelection::Ids(vec![1, 4799]), ex()).unwrap_err();
        assert_eq!(e.exit_class(), crate::ExitClass::Config);
        assert!(e.to_string().contains("4799"), "{e}");
    }
}
