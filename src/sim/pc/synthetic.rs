//! `qharness synth --stream pc-posture`: a deterministic posture answer in a file, gzip'd as
//! the gateway sends it, rendered by the same code the simulator serves postures with.

use std::io::Write;
use std::sync::Arc;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::postures::{AnswerView, PolicyRef, render};
use crate::error::{Error, Result};
use crate::sim::synthetic::{SynthOptions, SynthSummary};
use crate::sim::tenant::Tenant;
use crate::sim::tenant::pc::PcSynthetic;

/// Writes a posture answer of the synthetic policy: `opts.hosts` hosts (or as many as fit in
/// `opts.size` bytes of JSON), `opts.detections_per_host` controls each (rounded, at least 1),
/// with evidence. `SynthSummary::bytes` counts the JSON before compression.
pub fn write_answer(opts: &SynthOptions, w: impl Write) -> Result<SynthSummary> {
    if opts.hosts.is_none() && opts.size.is_none() {
        return Err(Error::config(
            "synth",
            "neither a host count nor a size was given",
            "pass --hosts N or --size 200MB",
        ));
    }
    let controls = (opts.detections_per_host.round() as u64).max(1);
    let synthetic = PcSynthetic {
        hosts: opts.hosts.unwrap_or(u64::MAX / 4),
        controls,
        policy_id: 990_001,
        first_host_id: 5_000_001 + 2 * opts.seed.saturating_sub(1) * 1_000_000,
    };
    let mut tenant = Tenant::empty();
    tenant.pc.synthetic = Some(synthetic);
    let tenant = Arc::new(tenant);
    let io = |e| Error::Io {
        action: "writing the synthetic posture answer",
        path: None,
        source: e,
    };
    let mut gz = GzEncoder::new(w, Compression::fast());
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut sum = SynthSummary::default();
    buf.push(b'[');
    let mut host = 0u64;
    loop {
        let done_by_count = opts.hosts.is_some_and(|n| host >= n);
        let done_by_size = opts.size.is_some_and(|s| sum.bytes + buf.len() as u64 >= s);
        if done_by_count || done_by_size {
            break;
        }
        let host_id = synthetic.host_id(host);
        for c in 0..controls {
            if sum.records > 0 {
                buf.push(b',');
            }
            // The synthetic policy has no history, so every posture is written.
            render(
                &mut buf,
                &tenant,
                PolicyRef::Synthetic,
                (host_id, host as usize),
                c as usize,
                true,
                &AnswerView::ALL,
            );
            sum.records += 1;
        }
        host += 1;
        if buf.len() >= 1 << 20 {
            gz.write_all(&buf).map_err(io)?;
            sum.bytes += buf.len() as u64;
            buf.clear();
        }
    }
    buf.push(b']');
    gz.write_all(&buf).map_err(io)?;
    sum.bytes += buf.len() as u64;
    gz.finish().map_err(io)?;
    sum.hosts = host;
    Ok(sum)
}

/// `qharness synth`'s summary of a posture answer.
pub fn describe(s: &SynthSummary) -> String {
    format!(
        "{} hosts, {} posture records, {} bytes of JSON (gzip'd)",
        s.hosts, s.records, s.bytes
    )
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_answer_is_a_gzip_json_array_of_hosts_times_controls() {
        let mut opts = SynthOptions::hosts(3, 1);
        opts.detections_per_host = 4.0;
        let mut file = Vec::new();
        let sum = write_answer(&opts, &mut file).unwrap();
        assert_eq!((sum.hosts, sum.records), (3, 12));
        let mut json = String::new();
        flate2::read::GzDecoder::new(&file[..])
            .read_to_string(&mut json)
            .unwrap();
        assert_eq!(json.len() as u64, sum.bytes);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 12);
        let mut again = Vec::new();
        write_answer(&opts, &mut again).unwrap();
        assert_eq!(file, again, "the same options write the same bytes");
    }
}
