//! Facts about Qualys that both sides share: the connector that calls Qualys and the simulator
//! that answers like it.
//!
//! - [`endpoint`]: the endpoint registry. Every endpoint, its API family, permission and paths.
//! - [`fo`]: the FO API's paths, `SIMPLE_RETURN` codes and header names.
//! - [`pcrs`]: the PCRS posture record's names, one table the connector and the simulator read.
//! - [`permission`]: the module permissions a user needs.
//! - [`platform`]: the 13 shared platforms and the rules that read URLs and usernames against
//!   them.
//! - [`filter`]: the filter vocabulary (statuses, tags, `arf_kernel_filter`) with its wire forms.
//! - [`http_date`]: the HTTP `Date` header's form: the server's clock on every answer.
//! - [`was`]: WAS finding types and statuses, scan statuses, the `ServiceRequest` page limits.
//!
//! Each fact comes from `shared/reference/api/` (Qualys documentation and real recorded traffic).
//! Where the research marks a fact uncertain, the choice made is noted beside it and in
//! `fixtures/README.md`.

pub mod endpoint;
pub mod filter;
pub mod fo;
pub mod http_date;
pub mod pcrs;
pub mod permission;
pub mod platform;
pub mod was;

pub use endpoint::{Endpoint, EndpointScope, Family};
pub use permission::Permission;
