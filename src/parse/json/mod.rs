//! Streaming JSON parsing of the API gateway's answers (the PCRS posture API). No HTTP in here:
//! everything reads a [`std::io::BufRead`], so the same code parses a network body, a saved
//! answer and a benchmark's in-memory buffer.
//!
//! How the pieces fit:
//!
//! - [`decode`] sniffs the gzip magic and decompresses on the fly (`compressionRequired=1`,
//!   the gateway's default), or passes plain JSON through.
//! - [`array`] walks a top-level JSON array one element at a time, handing out each element's
//!   bytes; memory is bounded by the largest single element, never by the answer (a posture
//!   answer can be gigabytes).
//! - [`posture`] turns one posture element into one NDJSON record through the field table
//!   ([`posture::POSTURE_FIELDS`]), the one place the PCRS names are mapped to record fields.
//! - [`pcrs`] reads the small answers whole: the policy list and the resolved host IDs.
//! - [`baseline`] is the plain serde_json pass throughput is measured against.
//!
//! Errors carry the origin (endpoint and page, or file name), the element index and the byte
//! offset in the decompressed JSON.

pub mod array;
pub mod baseline;
pub mod decode;
pub mod pcrs;
pub mod posture;

pub use array::ArrayReader;
pub use decode::Decoded;
