//! One integration-test binary; each module is a feature area.

mod against_sim;
mod catalogue;
mod cli;
mod cli_failures;
mod helpers;
mod parser_properties;
mod properties;
mod sim_account;
mod sim_cli;
mod sim_date_filters;
mod sim_dtd;
mod sim_faults;
mod sim_filters;
mod sim_journal;
mod sim_pagination;
mod sim_replay;
mod sim_scope;
mod sim_synthetic;
mod sim_timestamps;
mod sim_transport;
mod untrusted_server;
mod vmdr_http;
