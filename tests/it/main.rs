//! One integration-test binary; each module is a feature area.

mod against_sim;
mod catalogue;
mod cli;
mod helpers;
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
mod sim_was;
mod vmdr_http;
mod was_catalogue;
mod was_cli;
mod was_http;
mod was_kit;
mod was_properties;
mod was_recorded;
