//! The VMDR family's endpoints: parameters, pages, rendering and the synthetic population.

pub mod handlers;
pub mod host_pages;
pub mod host_source;
pub mod kb_page;
pub mod params;
pub mod render;
pub mod synthetic;
pub mod truncation;

pub use handlers::{About, HostDetection, HostList, KnowledgeBase};
