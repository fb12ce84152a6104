//! The VMDR endpoints of the FO family: Host List Detection, Host List, KnowledgeBase and
//! about.php.
//!
//! [`handlers`] has one `Handler` per endpoint (registered in `sim/registry.rs`): each parses
//! its parameters ([`params`], Qualys's allow-lists and defaults) and opens a page that renders
//! as the transport sends it: [`host_pages`] walks the [`host_source`] (listed hosts, then the
//! synthetic population) and ends a truncated page with the [`truncation`] URL; [`kb_page`]
//! answers a batch of QIDs. [`render`] writes the XML in DTD order; [`synthetic`] generates
//! seeded populations and writes `qharness synth` files. The data comes from the tenant's VMDR
//! section (`tenant/vmdr.rs`).

pub mod handlers;
pub mod host_pages;
pub mod host_source;
pub mod kb_page;
pub mod params;
pub mod render;
pub mod synthetic;
pub mod truncation;

pub use handlers::{AboutHandler, HostDetectionHandler, HostListHandler, KnowledgeBaseHandler};
