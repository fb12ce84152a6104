//! Fuzzes the KnowledgeBase parser (`qharness parse --kind knowledge-base`); see `src/lib.rs`
//! for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qualys_harness::SavedKind;

fuzz_target!(|data: &[u8]| {
    qualys_harness_fuzz::check(SavedKind::KnowledgeBase, data);
});
