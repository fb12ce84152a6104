//! Synthetic WAS finding pages: what `qharness synth --stream was-findings` writes and the
//! throughput scenarios and benchmarks parse.
//!
//! One `ServiceResponse` of verbose findings in the layout the simulator serves
//! ([`super::render`]), with the variety of real pages: all three finding types (information
//! gathered without status, URL or ignore data), every status, CWE/OWASP/WASC lists, CVSS v3,
//! names and URLs with `&` and `]]>`, and a `resultList` on every finding whose captured
//! response is 1 to 16 KB of HTML. Those captures are most of the bytes, and exactly what the
//! connector must read past without copying.
//!
//! Each finding is a pure function of the seed and its index, so a page of a given size is
//! written in two passes with bounded memory: the first renders findings into a scratch buffer
//! only to learn how many fit (the head's `count` comes before them), the second writes them.

use std::collections::BTreeMap;
use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::qualys::was::{FindingStatus, FindingType};
use crate::sim::synthetic::{SynthOptions, SynthSummary};
use crate::sim::tenant::was::QIDS;
use crate::sim::tenant::{SimFinding, SimWebApp, TextStyle, WasData, WasUser};
use crate::sim::timestamp::Timestamp;

use super::render;

const NOW: i64 = 1_717_200_000;
const DAY: i64 = 86_400;
const FLUSH_AT: usize = 1 << 20;
const FIRST_WEBAPP: u64 = 50_000_001;
const FIRST_FINDING: u64 = 90_000_001;

/// The HTML the captured responses are cut from: varied enough not to compress to nothing,
/// with markup, entities-to-be and a CDATA terminator the renderer must split.
fn response_corpus() -> String {
    let mut s = String::with_capacity(17 * 1024);
    let mut i = 0u32;
    while s.len() < 16 * 1024 {
        s.push_str(&format!(
            "<tr class=\"row-{i}\"><td>item {i} &amp; co</td><td><a href=\"/p?id={i}&sort=asc\">view</a></td><td>{}</td></tr>\n",
            if i % 37 == 0 { "]]>" } else { "ok" }
        ));
        i += 1;
    }
    s
}

/// The web application with this index.
fn webapp(i: u64) -> SimWebApp {
    SimWebApp {
        id: FIRST_WEBAPP + 11 * i,
        name: format!("Synthetic App {i} & Co"),
        url: format!("https://app{i}.example.com/?env=prod&id={i}"),
        os: (i % 2 == 0).then(|| "Linux 3.10".into()),
        owner: Some(WasUser {
            id: 17_729_931,
            username: "quays_ab1".into(),
            first_name: Some("Ada".into()),
            last_name: Some("Example".into()),
        }),
        scope: "ALL".into(),
        tags: if i % 3 == 0 {
            vec!["Production".into(), "PCI & Card".into()]
        } else {
            vec!["Production".into()]
        },
        is_scheduled: i % 2 == 1,
        last_scan: None,
        created: Some(Timestamp(NOW - 400 * DAY)),
        updated: None,
        risk_score: Some((i * 37 % 1000) as u32),
        text: TextStyle::Cdata,
        appears_at: None,
        changes: Vec::new(),
    }
}

/// Finding `n` of the page, and the length of its captured response.
fn finding(seed: u64, n: u64, app: &SimWebApp) -> (SimFinding, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let &(qid, kind, severity, group, name, cwe, owasp, wasc, takes_param) =
        &QIDS[rng.random_range(0..QIDS.len())];
    let detection = kind.is_detection();
    let status = detection.then(|| FindingStatus::ALL[(n % 5) as usize]);
    let first = Timestamp(NOW - rng.random_range(30..300) * DAY);
    let last = Timestamp(first.0 + rng.random_range(0..25) * DAY);
    let f = SimFinding {
        id: FIRST_FINDING + 3 * n,
        unique_id: None,
        webapp: app.id,
        qid,
        name: name.into(),
        kind,
        potential: kind == FindingType::Vulnerability && n % 7 == 0,
        finding_type: "QUALYS".into(),
        param: takes_param.then(|| "q&sort]]>".into()),
        severity,
        url: detection.then(|| format!("https://app.example.com/search?q=<x>&page={n}")),
        status,
        first_detected: Some(first),
        last_detected: Some(last),
        last_tested: Some(Timestamp(last.0 + DAY)),
        times_detected: detection.then(|| rng.random_range(1..40)),
        is_ignored: detection && n % 19 == 0,
        ignored_reason: (detection && n % 19 == 0).then(|| "RISK_ACCEPTED".into()),
        fixed: (status == Some(FindingStatus::Fixed)).then_some(last),
        group: Some(group.into()),
        cwe: cwe.to_vec(),
        owasp: owasp.to_vec(),
        wasc: wasc.to_vec(),
        detection_score: detection.then(|| u32::from(severity) * 19),
        cvss3_base: (kind == FindingType::Vulnerability).then_some(6.1),
        payload: None,
        appears_at: None,
        changes: Vec::new(),
    };
    (f, rng.random_range(1024..16 * 1024))
}

/// Writes one synthetic WAS findings page to `w` (see the module documentation).
/// `opts.hosts` counts web applications and `opts.detections_per_host` the findings of each.
pub fn write_page(opts: &SynthOptions, mut w: impl Write) -> Result<SynthSummary> {
    if opts.hosts.is_none() && opts.size.is_none() {
        return Err(Error::config(
            "synth",
            "neither a web application count nor a size was given",
            "pass --hosts N (web applications) or --size 200MB",
        ));
    }
    let per_app = opts.detections_per_host.round().max(1.0) as u64;
    let corpus = response_corpus();
    let was = WasData {
        tag_ids: BTreeMap::from([
            ("Production".to_string(), 7_100_001),
            ("PCI & Card".to_string(), 7_100_004),
        ]),
        ..WasData::default()
    };
    let render_one = |out: &mut Vec<u8>, n: u64| {
        let app = webapp(n / per_app);
        let (f, len) = finding(opts.seed, n, &app);
        render::finding(out, &f, &app, &was, true, &corpus[..len.min(corpus.len())]);
    };
    // Pass 1: how many findings the page holds.
    let findings = match (opts.hosts, opts.size) {
        (Some(apps), _) => apps * per_app,
        (None, Some(limit)) => {
            let mut head = Vec::new();
            render::open_page(
                &mut head,
                &opts.origin,
                "/qps/xsd/3.0/was/finding.xsd",
                0,
                None,
            );
            let mut bytes = head.len() as u64 + 40;
            let mut scratch = Vec::with_capacity(32 * 1024);
            let mut n = 0;
            while n == 0 || bytes < limit {
                scratch.clear();
                render_one(&mut scratch, n);
                bytes += scratch.len() as u64;
                n += 1;
            }
            n
        }
        (None, None) => 0,
    };
    // Pass 2: the page.
    let io = |e| Error::Io {
        action: "writing the synthetic page",
        path: None,
        source: e,
    };
    let mut buf = Vec::with_capacity(FLUSH_AT + (1 << 16));
    render::open_page(
        &mut buf,
        &opts.origin,
        "/qps/xsd/3.0/was/finding.xsd",
        findings,
        None,
    );
    let mut sum = SynthSummary::default();
    for n in 0..findings {
        render_one(&mut buf, n);
        if buf.len() >= FLUSH_AT {
            w.write_all(&buf).map_err(io)?;
            sum.bytes += buf.len() as u64;
            buf.clear();
        }
    }
    render::close_page(&mut buf);
    w.write_all(&buf).map_err(io)?;
    sum.bytes += buf.len() as u64;
    w.flush().map_err(io)?;
    sum.hosts = findings.div_ceil(per_app);
    sum.detections = findings;
    sum.records = findings;
    Ok(sum)
}

/// `qharness synth`'s summary of a findings page.
pub fn describe(s: &SynthSummary) -> String {
    format!(
        "{} web applications, {} findings ({} records), {} bytes",
        s.hosts, s.detections, s.records, s.bytes
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::StreamKind;

    fn opts() -> SynthOptions {
        let mut o = SynthOptions::hosts(3, 5);
        o.stream = StreamKind::WasFindings;
        o.detections_per_host = 4.0;
        o
    }

    #[test]
    fn the_same_seed_writes_the_same_bytes_and_the_count_matches_the_findings() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let s = write_page(&opts(), &mut a).unwrap();
        write_page(&opts(), &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!((s.hosts, s.records, s.bytes), (3, 12, a.len() as u64));
        let text = String::from_utf8(a).unwrap();
        assert!(text.contains("<count>12</count>"));
        assert_eq!(text.matches("<Finding>").count(), 12);
        assert!(text.contains("<resultList>"));
    }

    #[test]
    fn a_size_limit_is_reached_and_not_overshot_by_more_than_a_finding() {
        let mut o = opts();
        o.hosts = None;
        o.size = Some(400_000);
        let mut v = Vec::new();
        let s = write_page(&o, &mut v).unwrap();
        assert!(
            s.bytes >= 400_000 && s.bytes < 400_000 + 40_000,
            "{}",
            s.bytes
        );
    }
}
