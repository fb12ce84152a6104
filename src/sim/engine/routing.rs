//! Routes: which endpoint a request path names, or which control path of the simulator.
//!
//! Endpoints come from the registry in [`crate::qualys::endpoint`]: Qualys serves the same FO
//! handlers under `/api/2.0` to `/api/5.0`, and a path without its trailing slash is redirected
//! by the web server in front (HTTP 301) before any authentication.

use crate::qualys::endpoint::{Endpoint as Registered, PathMatch};

/// An endpoint of the registry.
pub type Endpoint = &'static Registered;

/// A request path, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A registered endpoint; `api_version` is the major version in the path (FO `/api/N.0`,
    /// PCRS `/pcrs/N.0`, 3 for QPS), `id` the object id of a QPS `get` path.
    Api {
        endpoint: Endpoint,
        api_version: u8,
        id: Option<u64>,
    },
    /// An FO path without its trailing slash: the web server answers 301 to `location`.
    MissingSlash { location: String },
    /// `GET /__sim/journal`.
    Journal,
    /// `POST /__sim/reset`.
    Reset,
    /// Anything else.
    Unknown,
}

/// The control prefix; requests under it are not journalled.
pub const CONTROL_PREFIX: &str = "/__sim/";

impl Route {
    /// Classifies a path (without query string).
    pub fn of(p: &str) -> Route {
        match p {
            "/__sim/journal" => return Route::Journal,
            "/__sim/reset" => return Route::Reset,
            _ => {}
        }
        match Registered::for_path(p) {
            PathMatch::Endpoint {
                endpoint,
                version,
                id,
            } => Route::Api {
                endpoint,
                api_version: version.max(2),
                id,
            },
            PathMatch::MissingSlash { location, .. } => Route::MissingSlash { location },
            PathMatch::Unknown => Route::Unknown,
        }
    }
}
