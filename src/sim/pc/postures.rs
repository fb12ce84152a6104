//! The posture answer: a JSON array of posture records, rendered one at a time.
//!
//! Field names come from the shared table ([`crate::qualys::pcrs`]), so the answer speaks the
//! names the connector reads; a correction from a real recording changes both at once.
//!
//! What a posture says depends on the moment: [`Evaluation::at`] applies the tenant's history
//! (`tenant/pc.rs`, "Changes over time") up to the clock, and an [`AnswerView`] keeps the
//! postures visible then and, with `lastEvaluationDate`, only those evaluated since.

use std::sync::Arc;

use crate::qualys::pcrs::{field_index as f, pcrs_name};
use crate::sim::server::response::{CHUNK_TARGET, ChunkSource};
use crate::sim::tenant::Tenant;
use crate::sim::tenant::pc::{PcData, PcSynthetic, PostureStatus, criticality_value, status};
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

/// Which postures an answer holds: those that exist at `now`, and with `evaluated_since` (the
/// `lastEvaluationDate` parameter) only those last evaluated at or after that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerView {
    pub now: Timestamp,
    pub evaluated_since: Option<Timestamp>,
}

impl AnswerView {
    /// Every posture that ever exists (for a synthetic answer written to a file).
    pub const ALL: AnswerView = AnswerView {
        now: Timestamp(i64::MAX),
        evaluated_since: None,
    };

    fn keeps(&self, e: &Evaluation) -> bool {
        self.evaluated_since.is_none_or(|t| e.evaluated >= t)
    }
}

/// A posture's status and dates at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    pub status: PostureStatus,
    pub first_fail: Option<Timestamp>,
    pub last_fail: Option<Timestamp>,
    pub first_pass: Option<Timestamp>,
    pub last_pass: Option<Timestamp>,
    /// `postureModifiedDate`: the last change of status.
    pub modified: Timestamp,
    /// `lastEvaluatedDate`.
    pub evaluated: Timestamp,
}

impl Evaluation {
    /// The posture (policy, host, control) at `now`, with the changes up to then applied;
    /// `None` before it appears.
    pub fn at(
        pc: &PcData,
        policy_id: u64,
        host_id: u64,
        control_id: u64,
        now: Timestamp,
    ) -> Option<Evaluation> {
        let history = match pc.postures.is_empty() {
            true => None,
            false => pc.postures.get(&(policy_id, host_id, control_id)),
        };
        let appears = pc.appears_at(policy_id, host_id, control_id);
        if appears.is_some_and(|a| a > now) {
            return None;
        }
        let first_status = history
            .and_then(|h| h.status)
            .unwrap_or_else(|| status(host_id, control_id));
        let mut e = match appears {
            Some(a) => Evaluation::streak(first_status, a, a, a),
            None => {
                // Dates lead up to the last evaluation, a few days apart per host and control.
                let spread = ((host_id ^ control_id.rotate_left(17)) % 20) as i64;
                let evaluated = Timestamp(pc.evaluated_at.0 - spread * DAY);
                let first = Timestamp(evaluated.0 - (90 + spread * 7) * DAY);
                let modified = Timestamp(evaluated.0 - (spread % 5) * DAY);
                Evaluation::streak(first_status, first, evaluated, modified)
            }
        };
        let changes = history.map_or(&[][..], |h| &h.changes[..]);
        for c in changes.iter().take_while(|c| c.at <= now) {
            e.evaluate(c.at, c.status.unwrap_or(e.status));
        }
        Some(e)
    }

    /// A posture whose current status began at `first` and was last evaluated at `evaluated`:
    /// only its status's pair of dates is set (Error has none).
    fn streak(
        status: PostureStatus,
        first: Timestamp,
        evaluated: Timestamp,
        modified: Timestamp,
    ) -> Evaluation {
        let (first_fail, last_fail, first_pass, last_pass) = match status {
            PostureStatus::Passed => (None, None, Some(first), Some(evaluated)),
            PostureStatus::Failed => (Some(first), Some(evaluated), None, None),
            PostureStatus::Error => (None, None, None, None),
        };
        Evaluation {
            status,
            first_fail,
            last_fail,
            first_pass,
            last_pass,
            modified,
            evaluated,
        }
    }

    /// An evaluation at `at` that found `status`.
    fn evaluate(&mut self, at: Timestamp, status: PostureStatus) {
        if status != self.status {
            *self = Evaluation::streak(status, at, at, at);
            return;
        }
        match status {
            PostureStatus::Passed => self.last_pass = Some(at),
            PostureStatus::Failed => self.last_fail = Some(at),
            PostureStatus::Error => {}
        }
        self.evaluated = at;
    }
}

/// Renders a posture answer: `[`, the postures of each segment's hosts and controls that the
/// view keeps, `]`.
pub struct PostureAnswer {
    tenant: Arc<Tenant>,
    segments: Vec<Segment>,
    evidence: bool,
    view: AnswerView,
    segment: usize,
    host: usize,
    control: usize,
    started: bool,
    written: u64,
}

impl PostureAnswer {
    pub fn new(
        tenant: Arc<Tenant>,
        segments: Vec<Segment>,
        evidence: bool,
        view: AnswerView,
    ) -> PostureAnswer {
        PostureAnswer {
            tenant,
            segments,
            evidence,
            view,
            segment: 0,
            host: 0,
            control: 0,
            started: false,
            written: 0,
        }
    }

    /// Whether the answer holds no posture (the gateway then answers 204). Stops at the first
    /// posture the view keeps.
    pub fn is_empty(tenant: &Tenant, segments: &[Segment], view: &AnswerView) -> bool {
        !segments.iter().any(|s| {
            let policy_id = policy_id_of(tenant, s.policy);
            let controls = controls_of(tenant, s.policy) as usize;
            s.hosts.iter().any(|&(host_id, _)| {
                (0..controls).any(|c| {
                    let control_id = control_id_of(tenant, s.policy, c);
                    Evaluation::at(&tenant.pc, policy_id, host_id, control_id, view.now)
                        .is_some_and(|e| view.keeps(&e))
                })
            })
        })
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
            let mark = out.len();
            if self.written > 0 {
                out.push(b',');
            }
            let kept = render(
                out,
                &self.tenant,
                seg.policy,
                seg.hosts[self.host],
                self.control,
                self.evidence,
                &self.view,
            );
            self.control += 1;
            if !kept {
                out.truncate(mark);
                continue;
            }
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

fn policy_id_of(tenant: &Tenant, policy: PolicyRef) -> u64 {
    match policy {
        PolicyRef::Listed(i) => tenant.pc.policies[i].id,
        PolicyRef::Synthetic => tenant.pc.synthetic.map_or(0, |s| s.policy_id),
    }
}

fn control_id_of(tenant: &Tenant, policy: PolicyRef, control_pos: usize) -> u64 {
    match policy {
        PolicyRef::Listed(i) => tenant.pc.policies[i].controls[control_pos],
        PolicyRef::Synthetic => tenant
            .pc
            .synthetic
            .map_or(0, |s| s.control_id(control_pos as u64)),
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

/// Writes the posture (policy, `host` = its ID and position in the policy's hosts, its control at
/// `control_pos`) as the view sees it; writes nothing and returns false when the view does not
/// keep it.
pub(super) fn render(
    out: &mut Vec<u8>,
    tenant: &Tenant,
    policy: PolicyRef,
    (host_id, host_pos): (u64, usize),
    control_pos: usize,
    evidence: bool,
    view: &AnswerView,
) -> bool {
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
    let Some(evaluation) =
        Evaluation::at(pc, p.policy_id, host_id, p.control_id, view.now).filter(|e| view.keeps(e))
    else {
        return false;
    };
    let state = evaluation.status;
    let host = tenant
        .vmdr
        .hosts
        .binary_search_by_key(&host_id, |h| h.id)
        .ok()
        .map(|i| &tenant.vmdr.hosts[i]);

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
    date(out, f::FIRST_FAIL_DATE, evaluation.first_fail);
    date(out, f::LAST_FAIL_DATE, evaluation.last_fail);
    date(out, f::FIRST_PASS_DATE, evaluation.first_pass);
    date(out, f::LAST_PASS_DATE, evaluation.last_pass);
    date(out, f::POSTURE_MODIFIED_DATE, Some(evaluation.modified));
    date(out, f::LAST_EVALUATED_DATE, Some(evaluation.evaluated));
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
    true
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::tenant::pc::{PostureChange, PostureSpec};

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    /// A posture of policy 1 on host 7, control 9, that starts Passed.
    fn pc(appears_at: Option<&str>, changes: &[(&str, Option<PostureStatus>)]) -> PcData {
        let mut pc = PcData {
            evaluated_at: at("2024-06-01T00:00:00Z"),
            ..PcData::default()
        };
        pc.postures.insert(
            (1, 7, 9),
            PostureSpec {
                policy: 1,
                host: 7,
                control: 9,
                status: Some(PostureStatus::Passed),
                appears_at: appears_at.map(at),
                changes: changes
                    .iter()
                    .map(|(t, status)| PostureChange {
                        at: at(t),
                        status: *status,
                    })
                    .collect(),
            },
        );
        pc
    }

    #[test]
    fn an_evaluation_moves_the_dates_of_its_status_and_a_flip_starts_a_new_streak() {
        use PostureStatus::*;
        let data = pc(
            None,
            &[
                ("2024-06-15T00:00:00Z", None),
                ("2024-06-20T00:00:00Z", Some(Failed)),
                ("2024-06-25T00:00:00Z", Some(Error)),
            ],
        );
        let e = |now: &str| Evaluation::at(&data, 1, 7, 9, at(now)).unwrap();
        let base = e("2024-06-10T00:00:00Z");
        assert_eq!(base.status, Passed);
        assert!(base.evaluated <= at("2024-06-01T00:00:00Z"));
        assert!(base.last_pass == Some(base.evaluated) && base.first_fail.is_none());

        let same = e("2024-06-15T00:00:00Z");
        assert_eq!(
            (
                same.status,
                same.evaluated,
                same.last_pass,
                same.first_pass,
                same.modified
            ),
            (
                Passed,
                at("2024-06-15T00:00:00Z"),
                Some(at("2024-06-15T00:00:00Z")),
                base.first_pass,
                base.modified
            ),
            "the same status: a new evaluation and last pass, nothing else"
        );

        let flipped = e("2024-06-22T00:00:00Z");
        let t = Some(at("2024-06-20T00:00:00Z"));
        assert_eq!(flipped.status, Failed);
        assert_eq!(
            (
                flipped.first_fail,
                flipped.last_fail,
                flipped.first_pass,
                flipped.last_pass
            ),
            (t, t, None, None)
        );
        assert_eq!((Some(flipped.modified), Some(flipped.evaluated)), (t, t));

        let error = e("2030-01-01T00:00:00Z");
        assert_eq!(error.status, Error);
        assert_eq!(
            (error.first_fail, error.last_pass, error.evaluated),
            (None, None, at("2024-06-25T00:00:00Z"))
        );
    }

    #[test]
    fn a_posture_does_not_exist_before_it_appears_and_is_first_evaluated_then() {
        let data = pc(Some("2024-06-15T00:00:00Z"), &[]);
        assert_eq!(
            Evaluation::at(&data, 1, 7, 9, at("2024-06-14T23:59:59Z")),
            None
        );
        let e = Evaluation::at(&data, 1, 7, 9, at("2024-06-15T00:00:00Z")).unwrap();
        let t = at("2024-06-15T00:00:00Z");
        assert_eq!(
            (e.first_pass, e.last_pass, e.modified, e.evaluated),
            (Some(t), Some(t), t, t)
        );
        let view = |since: &str| AnswerView {
            now: at("2024-06-16T00:00:00Z"),
            evaluated_since: Some(at(since)),
        };
        assert!(
            view("2024-06-15T00:00:00Z").keeps(&e),
            "at the moment is kept"
        );
        assert!(!view("2024-06-15T00:00:01Z").keeps(&e));
    }
}
