//! The server: sockets, TLS and the request and response types the engine works with.

pub mod request;
pub mod response;
pub mod tls;
pub mod transport;
