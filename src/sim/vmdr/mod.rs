//! The VMDR family's endpoints: parameters, pages, rendering and the synthetic population.

pub mod host_pages;
pub mod host_source;
pub mod params;
pub mod render;
pub mod synthetic;
pub mod truncation;
