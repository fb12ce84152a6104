//! Dialects: how each API family says no.

pub mod fo;
pub mod web_server;
