//! The API gateway's Policy Compliance endpoints: `POST /auth` and the PCRS posture API
//! (`/pcrs/1.0/` to `/pcrs/5.0/` `posture/policy/list`, `posture/hostids`,
//! `posture/postureInfo`).
//!
//! [`handlers`] has one `Handler` per endpoint (registered in `sim/registry.rs`): `/auth`
//! issues a JWT from the [`crate::sim::engine::accounts::JwtSessions`] the gateway's
//! authentication checks; the three PCRS handlers read the tenant's `[pc]` section
//! (`tenant/pc.rs`). [`postures`] renders a posture answer as the transport sends it (gzip'd
//! by the transport when `compressionRequired` is 1 or absent), one posture at a time, so a
//! million postures stream in constant memory; [`synthetic`] writes the same answer to a file
//! (`qharness synth --stream pc-posture`).

pub mod handlers;
pub mod postures;
pub mod synthetic;

pub use handlers::{AuthHandler, HostIdsHandler, PolicyListHandler, PostureInfoHandler};
