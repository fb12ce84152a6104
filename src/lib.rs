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
//! - [`config`] turns a TOML file and command-line flags into a checked configuration; every
//!   rule is enforced before any request is sent.
//! - [`qualys`] holds the facts both sides share: the endpoint registry, the FO paths, codes and
//!   headers, the permissions, the 13-platform table and the filter vocabulary.
//! - [`error`] is the one error type; each variant says what happened and what to do.

pub mod client;
pub mod config;
pub mod connector;
pub mod error;
pub mod parse;
pub mod qualys;
pub mod scenario;
pub mod sim;
pub mod sink;
pub mod stream;

pub use client::{Body, Operator, Request, ServiceRequest};
pub use config::Settings;
pub use error::{Error, ExitClass, Result};
pub use stream::StreamKind;
