//! Bytes to items, with no HTTP in here: everything reads a [`std::io::BufRead`], so the same
//! code parses a network body, a saved customer dump and a benchmark's in-memory buffer.
//!
//! - [`xml`]: the FO and QPS envelopes, the host lists of Host List and Host List Detection
//!   (the hot path), the KnowledgeBase.
//! - `json/` is where the parsers of the API gateway's JSON answers (the PCRS posture stream)
//!   will go.

pub mod xml;
