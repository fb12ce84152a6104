//! Fuzzes the parser of the WAS finding search (was-findings): a QPS ServiceResponse with
//! resultList captures it reads past; see `src/lib.rs` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qualys_harness::{SavedKind, StreamKind};

fuzz_target!(|data: &[u8]| {
    qualys_harness_fuzz::check(SavedKind::Stream(StreamKind::WasFindings), data);
});
