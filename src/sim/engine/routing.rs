//! Routing: which endpoint a request path names (or which control path of the simulator), and
//! the routing table that says how each family authenticates and says no, and which handler
//! answers each endpoint.
//!
//! Endpoints come from the registry in [`crate::qualys::endpoint`]: Qualys serves the same FO
//! handlers under `/api/2.0` to `/api/5.0`, and a path without its trailing slash is redirected
//! by the web server in front (HTTP 301) before any authentication. The table's rows are written
//! in `sim/registry.rs`.

use crate::qualys::endpoint::{Endpoint, Family, PathMatch};
use crate::sim::dialect::Dialect;
use crate::sim::engine::accounts::Authenticate;
use crate::sim::engine::handler::Handler;

/// A request path, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A registered endpoint; `version` is the major version in the path (FO `/api/N.0`,
    /// PCRS `/pcrs/N.0`, 3 for QPS, 0 for unversioned paths), `id` the object id of a QPS
    /// `get` path.
    Api {
        endpoint: &'static Endpoint,
        version: u8,
        id: Option<u64>,
    },
    /// An FO path without its trailing slash: the web server answers 301 to `location`.
    MissingSlash { location: String },
    /// A path of the admin API (`/__sim/...`), answered by `engine::admin`.
    Admin,
    /// Anything else.
    Unknown,
}

impl Route {
    /// Classifies a path (without query string).
    pub fn of(p: &str) -> Route {
        if Route::is_admin(p) {
            return Route::Admin;
        }
        match Endpoint::for_path(p) {
            PathMatch::Endpoint {
                endpoint,
                version,
                id,
            } => Route::Api {
                endpoint,
                version,
                id,
            },
            PathMatch::MissingSlash { location, .. } => Route::MissingSlash { location },
            PathMatch::Unknown => Route::Unknown,
        }
    }
}

impl Route {
    /// Whether a path belongs to the admin API: `/__sim` and everything under it.
    pub fn is_admin(p: &str) -> bool {
        p == "/__sim" || p.starts_with("/__sim/")
    }
}

/// How one API family authenticates its callers and says no.
pub struct FamilyRow {
    pub authentication: Box<dyn Authenticate>,
    pub dialect: Box<dyn Dialect>,
    /// A header the family's versioned paths require when the tenant asks for it
    /// (`require_requested_with`): FO's `X-Requested-With`.
    pub required_header: Option<&'static str>,
}

/// The handler of one endpoint.
pub struct HandlerRow {
    pub endpoint: &'static Endpoint,
    pub handler: Box<dyn Handler>,
    /// Whether calls count against the rate and concurrency limits (about.php's do not).
    pub limited: bool,
}

/// Families and handlers, keyed by the endpoint registry. Built with sentences:
///
/// ```text
/// RoutingTable::new()
///     .family(Family::Fo, BasicAuth, FoDialect)
///     .answer(&endpoint::HOST_LIST, vmdr::HostListHandler)
///     .answer_without_limits(&endpoint::ABOUT, vmdr::AboutHandler)
///     .default_family(Family::Fo)
/// ```
pub struct RoutingTable {
    families: Vec<(Family, FamilyRow)>,
    handlers: Vec<HandlerRow>,
    default_family: Option<Family>,
}

impl std::fmt::Debug for RoutingTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutingTable")
            .field(
                "families",
                &self.families.iter().map(|(f, _)| f).collect::<Vec<_>>(),
            )
            .field(
                "handlers",
                &self
                    .handlers
                    .iter()
                    .map(|h| h.endpoint.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for RoutingTable {
    fn default() -> Self {
        RoutingTable::new()
    }
}

impl RoutingTable {
    /// A table with no rows.
    pub fn new() -> RoutingTable {
        RoutingTable {
            families: Vec::new(),
            handlers: Vec::new(),
            default_family: None,
        }
    }

    /// The family's endpoints authenticate with `authentication` and say no in `dialect`.
    pub fn family(
        mut self,
        family: Family,
        authentication: impl Authenticate,
        dialect: impl Dialect,
    ) -> RoutingTable {
        self.families.retain(|(f, _)| *f != family);
        self.families.push((
            family,
            FamilyRow {
                authentication: Box::new(authentication),
                dialect: Box::new(dialect),
                required_header: None,
            },
        ));
        self
    }

    /// Calls to the family's versioned paths (`/api/N.0/...`) must carry `header` when the
    /// tenant requires it; the family's row must be added first.
    ///
    /// # Panics
    ///
    /// When the family has no row yet: a programmer error in `sim/registry.rs`.
    pub fn header_required_by(mut self, family: Family, header: &'static str) -> RoutingTable {
        let row = self
            .families
            .iter_mut()
            .find(|(f, _)| *f == family)
            .map(|(_, row)| row)
            .unwrap_or_else(|| {
                panic!(
                    "add the {family:?} family before the header it requires, in sim/registry.rs"
                )
            });
        row.required_header = Some(header);
        self
    }

    /// The family whose dialect answers paths outside every family (a replayed fixture's
    /// fault on an unregistered path).
    pub fn default_family(mut self, family: Family) -> RoutingTable {
        self.default_family = Some(family);
        self
    }

    /// `handler` answers `endpoint`; its calls count against the API limits.
    pub fn answer(self, endpoint: &'static Endpoint, handler: impl Handler) -> RoutingTable {
        self.register(endpoint, handler, true)
    }

    /// `handler` answers `endpoint`, whose calls Qualys does not count against the API limits.
    pub fn answer_without_limits(
        self,
        endpoint: &'static Endpoint,
        handler: impl Handler,
    ) -> RoutingTable {
        self.register(endpoint, handler, false)
    }

    fn register(
        mut self,
        endpoint: &'static Endpoint,
        handler: impl Handler,
        limited: bool,
    ) -> RoutingTable {
        self.handlers.retain(|h| h.endpoint != endpoint);
        self.handlers.push(HandlerRow {
            endpoint,
            handler: Box::new(handler),
            limited,
        });
        self
    }

    /// The handler of `endpoint`, if the simulator models it.
    pub fn handler(&self, endpoint: &Endpoint) -> Option<&HandlerRow> {
        self.handlers.iter().find(|h| h.endpoint == endpoint)
    }

    /// The row of `family`, or of the default family when `family` is `None`.
    ///
    /// # Panics
    ///
    /// When the table has no row for it: every family of the endpoint registry needs one (a
    /// test in `sim/registry.rs` checks the simulator's table).
    pub fn family_row(&self, family: Option<Family>) -> &FamilyRow {
        let family = family.or(self.default_family);
        self.families
            .iter()
            .find(|(f, _)| Some(*f) == family)
            .map(|(_, row)| row)
            .unwrap_or_else(|| {
                panic!(
                    "the simulator's routing table has no row for the {family:?} family; add one in sim/registry.rs"
                )
            })
    }

    /// Whether the table has a row for `family`.
    pub fn has_family(&self, family: Family) -> bool {
        self.families.iter().any(|(f, _)| *f == family)
    }

    /// Checks that every family of the endpoint registry has a row, so a missing row fails
    /// when the simulator starts rather than on the first call of that family.
    ///
    /// # Panics
    ///
    /// When a family has no row: a programmer error in `sim/registry.rs`.
    pub fn assert_covers_registry(&self) {
        for e in crate::qualys::endpoint::ENDPOINTS {
            assert!(
                self.has_family(e.family),
                "the simulator's routing table has no row for the {:?} family of endpoint {}; add one in sim/registry.rs",
                e.family,
                e.name
            );
        }
    }

    /// Forgets the sessions every family's authentication opened (the gateway's tokens):
    /// part of a reset.
    pub fn reset_sessions(&self) {
        for (_, row) in &self.families {
            row.authentication.reset();
        }
    }

    /// The endpoints that have a handler, in the order they were registered.
    pub fn modelled(&self) -> impl Iterator<Item = &'static Endpoint> + '_ {
        self.handlers.iter().map(|h| h.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualys::endpoint;
    use crate::sim::dialect::fo::FoDialect;
    use crate::sim::engine::accounts::BasicAuth;
    use crate::sim::engine::handler::{Call, Rejection};
    use crate::sim::server::response::SimResponse;

    #[test]
    fn paths_classify_into_endpoints_redirects_and_control_paths() {
        assert_eq!(
            Route::of("/api/5.0/fo/asset/host/"),
            Route::Api {
                endpoint: &endpoint::HOST_LIST,
                version: 5,
                id: None
            }
        );
        assert_eq!(
            Route::of("/api/2.0/fo/asset/host"),
            Route::MissingSlash {
                location: "/api/2.0/fo/asset/host/".into()
            }
        );
        assert_eq!(Route::of("/__sim/journal"), Route::Admin);
        assert_eq!(Route::of("/__sim/anything"), Route::Admin);
        assert_eq!(Route::of("/__simulated"), Route::Unknown);
        assert_eq!(Route::of("/elsewhere"), Route::Unknown);
    }

    #[test]
    fn a_later_row_replaces_an_earlier_one_and_closures_are_handlers() {
        let first = |_: &Call<'_>| -> Result<SimResponse, Rejection> {
            Ok(SimResponse::new(200, "text/plain", "first"))
        };
        let second = |_: &Call<'_>| -> Result<SimResponse, Rejection> {
            Ok(SimResponse::new(200, "text/plain", "second"))
        };
        let t = RoutingTable::new()
            .family(Family::Qps, BasicAuth, FoDialect)
            .answer(&endpoint::WAS_FINDING_SEARCH, first)
            .answer_without_limits(&endpoint::WAS_FINDING_SEARCH, second);
        let row = t.handler(&endpoint::WAS_FINDING_SEARCH).unwrap();
        assert!(!row.limited);
        assert_eq!(t.modelled().count(), 1);
        assert!(t.handler(&endpoint::WAS_FINDING_GET).is_none());
        assert!(t.has_family(Family::Qps) && !t.has_family(Family::Fo));
    }
}
