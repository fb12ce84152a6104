//! Fuzzes the parser of the Policy Compliance posture answer (pc-posture): a JSON array, gzip'd or
//! plain; see `src/lib.rs` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qualys_harness::{SavedKind, StreamKind};

fuzz_target!(|data: &[u8]| {
    qualys_harness_fuzz::check(SavedKind::Stream(StreamKind::PcPosture), data);
});
