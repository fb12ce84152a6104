//! The conformance suite: scenario files that pin connector behaviour, and the runner both
//! front ends share.
//!
//! A scenario ([`mod@file`]) names a stream, the connector's settings, the simulated server
//! (the embedded demo tenant with inline overrides, a tenant file, or a recorded fixture set)
//! and what must hold afterwards: record counts and keys, field values, the requests the
//! simulator received, the error and its words, a snapshot, or a throughput floor.
//!
//! `runner` runs one scenario in-process against [`crate::sim`] and a connector
//! ([`crate::Connector`]: the built-in one, or an external command judged by the same
//! expectations); `throughput` times synthetic scans; [`catalogue`] finds scenario
//! files (or the bundled catalogue compiled into the binary); [`report`] writes the failure
//! report, the summary table and JUnit XML.
//!
//! Front ends: `tests/scenarios.rs` (libtest-mimic, one test per file, `cargo test`) and
//! `qharness conform [PATHS...] [--junit FILE]`.

pub mod catalogue;
pub mod file;
pub mod report;
mod runner;
mod throughput;

pub use file::ScenarioFile;
pub use runner::{Scenario, ScenarioOutcome, Verdict, run, run_with};
