//! The WAS endpoints of the QPS family: search, count and get for web applications and
//! findings, and the portal version.
//!
//! [`handlers`] has one `Handler` per endpoint (registered in `sim/registry.rs`). A search or a
//! count reads its `ServiceRequest` body ([`service_request`]: preferences and criteria, refused
//! with QPS's own words when wrong), checks the criteria against the object's fields
//! ([`criteria`]), keeps what is in the caller's scope, and answers one page in the recorded
//! layout ([`render`]). [`synthetic`] writes large verbose finding pages for `qharness synth`.
//! The data comes from the tenant's WAS section (`tenant/was.rs`); refusals (bad login, no
//! permission) are the engine's, said by the QPS dialect (`dialect/qps.rs`).

pub mod criteria;
pub mod handlers;
pub mod render;
pub mod service_request;
pub mod synthetic;

pub use handlers::{
    FindingCountHandler, FindingGetHandler, FindingSearchHandler, PortalVersionHandler,
    WebAppCountHandler, WebAppGetHandler, WebAppSearchHandler,
};
