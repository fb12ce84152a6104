//! One integration-test binary; each module is a feature area.

mod against_sim;
mod catalogue;
mod cli;
mod helpers;
mod properties;
mod vmdr_http;
