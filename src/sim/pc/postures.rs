//! The posture answer: a JSON array of posture records, rendered one at a time.
//!
//! Field names come from the shared table ([`crate::qualys::pcrs`]), so the answer speaks the
//! names the connector reads; a correction from a real recording changes both at once.

use std::sync::Arc;

use crate::qualys::pcrs::{field_index as f, pcrs_name};
use crate::sim::server::response::{CHUNK_TARGET, ChunkSource};
use crate::sim::tenant::Tenant;
use crate::sim::tenant::pc::{PcSynthetic, PostureStatus, criticality_value, status};
use crate::sim::timestamp::Timestamp;

const DAY: i64 = 86_400;

/// Which policy a segment of the answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRef {
    /// The tenant's policy at this position of `pc.policies`.
    Listed(usize),
    /// The synthetic population's policy.
    Synthetic,
}

/// One policy's part of the answer: the requested hosts it covers, each with its position in
/// the policy's host list (for the posture ID).
#[derive(Debug, Clone)]
pub struct Segment {
    pub policy: PolicyRef,
    pub hosts: Vec<(u64, usize)>,
}

/// Renders a posture answer: `[`, the postures of each segment's hosts and controls, `]`.
pub struct PostureAnswer {
    tenant: Arc<Tenant>,
    segments: Vec<Segment>,
    evidence: bool,
    segment: usize,
    host: usize,
    control: usize,
    started: bool,
    written: u64,
}

impl PostureAnswer {
    pub fn new(tenant: Arc<Tenant>, segments: Vec<Segment>, evidence: bool) -> PostureAnswer {
        PostureAnswer {
            tenant,
            segments,
            evidence,
            segment: 0,
            host: 0,
            control: 0,
            started: false,
            written: 0,
        }
    }

    /// Postures the answer holds.
    pub fn count(tenant: &Tenant, segments: &[Segment]) -> u64 {
        segments
            .iter()
            .map(|s| s.hosts.len() as u64 * controls_of(tenant, s.policy))
            .sum()
    }

    /// Renders the next posture into `out`; false when there is none left.
    fn next(&mut self, out: &mut Vec<u8>) -> bool {
        loop {
            let Some(seg) = self.segments.get(self.segment) else {
                return false;
            };
            let controls = controls_of(&self.tenant, seg.policy) as usize;
            if self.host >= seg.hosts.len() || controls == 0 {
                self.segment += 1;
                self.host = 0;
                self.control = 0;
                continue;
            }
            if self.control >= controls {
                self.host += 1;
                self.control = 0;
                continue;
            }
            if self.written > 0 {
                out.push(b',');
            }
            let (host_id, host_pos) = seg.hosts[self.host];
            render(
                out,
                &self.tenant,
                seg.policy,
                host_id,
                host_pos,
                self.control,
                self.evidence,
            );
            self.control += 1;
            self.written += 1;
            return true;
        }
    }
}

impl ChunkSource for PostureAnswer {
    fn fill(&mut self, out: &mut Vec<u8>) -> std::io::Result<bool> {
        if !self.started {
            out.push(b'[');
            self.started = true;
        }
        let target = out.len() + CHUNK_TARGET;
        while out.len() < target {
            if !self.next(out) {
                out.push(b']');
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn controls_of(tenant: &Tenant, policy: PolicyRef) -> u64 {
    match policy {
        PolicyRef::Listed(i) => tenant.pc.policies[i].controls.len() as u64,
        PolicyRef::Synthetic => tenant.pc.synthetic.map_or(0, |s| s.controls),
    }
}

/// What a posture says, before it is written.
struct Posture<'a> {
    id: u64,
    policy_id: u64,
    policy_title: &'a str,
    control_id: u64,
    statement: &'a str,
    rationale: Option<&'a str>,
    technology_id: u64,
    technology: &'a str,
    criticality: &'a str,
    remediation: Option<&'a str>,
}

pub(super) fn render(
    out: &mut Vec<u8>,
    tenant: &Tenant,
    policy: PolicyRef,
    host_id: u64,
    host_pos: usize,
    control_pos: usize,
    evidence: bool,
) {
    let pc = &tenant.pc;
    let synthetic_statement;
    let p = match policy {
        PolicyRef::Listed(i) => {
            let pol = &pc.policies[i];
            let control = &pc.controls[&pol.controls[control_pos]];
            Posture {
                id: pc.posture_id(i, host_pos, control_pos),
                policy_id: pol.id,
                policy_title: &pol.title,
                control_id: control.id,
                statement: &control.statement,
                rationale: control.rationale.as_deref(),
                technology_id: control.technology,
                technology: pc
                    .technologies
                    .get(&control.technology)
                    .map_or("", |t| t.name.as_str()),
                criticality: &control.criticality,
                remediation: control.remediation.as_deref(),
            }
        }
        PolicyRef::Synthetic => {
            let s: PcSynthetic = pc.synthetic.unwrap_or(PcSynthetic {
                hosts: 0,
                controls: 0,
                policy_id: 0,
                first_host_id: 0,
            });
            let control_id = s.control_id(control_pos as u64);
            synthetic_statement = format!(
                "Status of the setting 'synthetic.option.{control_id}' (must be \"enabled\")"
            );
            Posture {
                id: PcSynthetic::FIRST_POSTURE_ID
                    + host_pos as u64 * s.controls
                    + control_pos as u64,
                policy_id: s.policy_id,
                policy_title: "Synthetic Policy (qharness)",
                control_id,
                statement: &synthetic_statement,
                rationale: Some(
                    "Generated control: a deterministic population for throughput measurements.",
                ),
                technology_id: 88,
                technology: "Ubuntu 22.04",
                criticality: ["MINIMAL", "MEDIUM", "SERIOUS", "CRITICAL", "URGENT"]
                    [control_pos % 5],
                remediation: Some("Set the option to \"enabled\" and re-evaluate."),
            }
        }
    };
    let state = status(host_id, p.control_id);
    let host = tenant
        .vmdr
        .hosts
        .binary_search_by_key(&host_id, |h| h.id)
        .ok()
        .map(|i| &tenant.vmdr.hosts[i]);
    // Dates lead up to the last evaluation, a few days apart per host and control.
    let spread = ((host_id ^ p.control_id.rotate_left(17)) % 20) as i64;
    let evaluated = Timestamp(pc.evaluated_at.0 - spread * DAY);
    let first = Timestamp(evaluated.0 - (90 + spread * 7) * DAY);
    let modified = Timestamp(evaluated.0 - (spread % 5) * DAY);
    let (first_fail, last_fail, first_pass, last_pass) = match state {
        PostureStatus::Passed => (None, None, Some(first), Some(evaluated)),
        PostureStatus::Failed => (Some(first), Some(evaluated), None, None),
        PostureStatus::Error => (None, None, None, None),
    };

    out.push(b'{');
    number(out, f::POSTURE_ID, p.id);
    number(out, f::HOST_ID, host_id);
    text(out, f::POLICY_ID, Some(&p.policy_id.to_string()));
    text(out, f::POLICY_TITLE, Some(p.policy_title));
    number(out, f::CONTROL_ID, p.control_id);
    text(out, f::CONTROL_STATEMENT, Some(p.statement));
    text(out, f::RATIONALE, p.rationale);
    number(out, f::TECHNOLOGY_ID, p.technology_id);
    text(out, f::TECHNOLOGY, Some(p.technology));
    text(out, f::INSTANCE, Some("os"));
    text(out, f::STATUS, Some(state.as_str()));
    match host {
        Some(h) => {
            text(out, f::IP, h.ip.as_deref());
            text(out, f::DNS, h.dns.as_deref());
            text(out, f::NETBIOS, h.netbios.as_deref());
            text(out, f::TRACKING_METHOD, Some(&h.tracking_method));
        }
        None => {
            let ip = format!("198.51.100.{}", host_id % 250 + 1);
            text(out, f::IP, Some(&ip));
            text(out, f::DNS, Some(&format!("pc-{host_id}.example.com")));
            text(out, f::NETBIOS, Some(&format!("PC-{host_id}")));
            text(out, f::TRACKING_METHOD, Some("IP"));
        }
    }
    key(out, f::CRITICALITY);
    out.extend_from_slice(b"{\"label\":");
    string(out, p.criticality);
    out.extend_from_slice(format!(",\"value\":{}}}", criticality_value(p.criticality)).as_bytes());
    date(out, f::FIRST_FAIL_DATE, first_fail);
    date(out, f::LAST_FAIL_DATE, last_fail);
    date(out, f::FIRST_PASS_DATE, first_pass);
    date(out, f::LAST_PASS_DATE, last_pass);
    date(out, f::POSTURE_MODIFIED_DATE, Some(modified));
    date(out, f::LAST_EVALUATED_DATE, Some(evaluated));
    if evidence {
        text(out, f::REMEDIATION, p.remediation);
        key(out, f::CAUSE_OF_FAILURE);
        match state {
            PostureStatus::Failed => out.extend_from_slice(br#"{"unexpected":["enabled=no"]}"#),
            _ => out.extend_from_slice(b"null"),
        }
        key(out, f::EVIDENCE);
        match state {
            PostureStatus::Passed => {
                out.extend_from_slice(br#"{"actual":["enabled=yes"],"expected":"enabled=yes"}"#)
            }
            PostureStatus::Failed => {
                out.extend_from_slice(br#"{"actual":["enabled=no"],"expected":"enabled=yes"}"#)
            }
            PostureStatus::Error => string(
                out,
                "Error: the agent could not read the setting (permission denied)",
            ),
        }
    }
    out.push(b'}');
}

/// `"name":` (with a leading comma unless it is the first field).
fn key(out: &mut Vec<u8>, index: usize) {
    if index > 0 {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(pcrs_name(index).as_bytes());
    out.extend_from_slice(b"\":");
}

fn number(out: &mut Vec<u8>, index: usize, n: u64) {
    key(out, index);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn text(out: &mut Vec<u8>, index: usize, s: Option<&str>) {
    key(out, index);
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn date(out: &mut Vec<u8>, index: usize, t: Option<Timestamp>) {
    key(out, index);
    match t {
        Some(t) => {
            out.push(b'"');
            out.extend_from_slice(&t.to_wire());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string literal.
fn string(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
