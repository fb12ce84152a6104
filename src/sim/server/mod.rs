//! The server: sockets and the two types the engine works with.
//!
//! [`transport`] runs hyper over TCP or TLS ([`tls`]: a self-signed certificate made at
//! start-up), turns each request into a [`request::SimRequest`] and sends the engine's
//! [`response::SimResponse`], streaming rendered bodies and applying the delivery faults. No
//! Qualys knowledge lives here beyond which headers the journal may keep.

pub mod request;
pub mod response;
pub mod tls;
pub mod transport;
