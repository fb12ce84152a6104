//! # qualys-harness
//!
//! Test and run Qualys connectors: a streaming connector for the VMDR (and later Policy
//! Compliance and WAS) streams, a simulated Qualys server that replays recorded fixtures and
//! models a tenant, and a conformance suite of scenario files that pins connector behaviour.
//!
//! The data flow reads top to bottom, one module per step:
//!
//! ```text
//! config ──> client (request, HTTP, retries, pagination) ──> xml (bytes -> records) ──> stream ──> sink
//!                         ▲
//!                         └── sim (the simulated Qualys server the tests and `qharness serve` run)
//! ```
//!
//! - [`config`] and [`filter`] turn a TOML file and command-line flags into a checked
//!   configuration; every rule is enforced before any request is sent.
//! - [`platform`] holds the 13-platform table; [`api`] the Qualys paths, codes and headers.
//! - [`error`] is the one error type; each variant says what happened and what to do.

pub mod api;
pub mod client;
pub mod config;
pub mod error;
pub mod filter;
pub mod platform;
pub mod scenario;
pub mod sim;
pub mod sink;
pub mod stream;
pub mod xml;

pub use error::{Error, ExitClass, Result};
