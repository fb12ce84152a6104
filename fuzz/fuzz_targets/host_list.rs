//! Fuzzes the parser of the Host List (vmdr-assets): host lists and ID_SETs; see `src/lib.rs`
//! for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qualys_harness::{SavedKind, StreamKind};

fuzz_target!(|data: &[u8]| {
    qualys_harness_fuzz::check(SavedKind::Stream(StreamKind::VmdrAssets), data);
});
