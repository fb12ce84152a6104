//! Bytes to items, with no HTTP in here: everything reads a [`std::io::BufRead`], so the same
//! code parses a network body, a saved customer dump and a benchmark's in-memory buffer.
//!
//! - [`xml`]: the FO and QPS envelopes, the host lists of Host List and Host List Detection
//!   (the hot path), the KnowledgeBase.
//! - [`json`]: the API gateway's JSON answers: the PCRS policy list and host IDs, and the
//!   posture answer, streamed one element at a time and inflated on the fly.

pub mod json;
pub mod xml;
