//! Fuzzes the parser of the WAS web application search (was-assets): a QPS ServiceResponse; see
//! `src/lib.rs` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qualys_harness::{SavedKind, StreamKind};

fuzz_target!(|data: &[u8]| {
    qualys_harness_fuzz::check(SavedKind::Stream(StreamKind::WasAssets), data);
});
