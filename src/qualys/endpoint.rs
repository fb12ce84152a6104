//! The endpoint registry: every Qualys endpoint the connector calls or the simulator answers, in
//! one table.
//!
//! An [`Endpoint`] is a name (what scenario files, fault rules and the journal call it), the API
//! [`Family`] it belongs to (which decides the host, the authentication and how errors look), the
//! module permission it needs and the paths it answers on. The simulator routes with
//! [`Endpoint::for_path`], fault rules and request expectations select with [`EndpointScope`], and
//! the connector builds its request paths with [`Endpoint::path`]. A new endpoint is one more
//! `static` here and one more entry in [`ENDPOINTS`]; routing, faults and request expectations
//! work with it at once.
//!
//! ```
//! use qualys_harness::qualys::endpoint::{self, Endpoint, PathMatch};
//!
//! let hld = Endpoint::by_name("detection").unwrap();
//! assert_eq!(hld.path(), "/api/2.0/fo/asset/host/vm/detection/");
//! match Endpoint::for_path("/api/5.0/fo/asset/host/vm/detection/") {
//!     PathMatch::Endpoint { endpoint, version, .. } => {
//!         assert_eq!(endpoint, &endpoint::HOST_DETECTION);
//!         assert_eq!(version, 5);
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Permission;

/// An API family: where its endpoints live, how they authenticate, page and say no.
///
/// | family | host | auth | request | paging | errors |
/// |---|---|---|---|---|---|
/// | FO | API server | Basic | form parameters | WARNING 1980 + `id_min` | `SIMPLE_RETURN`, HTTP status |
/// | QPS | API server | Basic | XML `ServiceRequest` | `hasMoreRecords` + `id GREATER lastId` | `ServiceResponse/responseCode` inside HTTP 200 |
/// | Gateway | API gateway | `POST /auth` -> JWT bearer | query + JSON body | per policy and host batch | JSON bodies, 401, 429 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// The VM/PC "FO" API under `/api/N.0/fo/`, plus `/msp/about.php`.
    Fo,
    /// The Qualys Portal Services REST API under `/qps/rest/` (WAS).
    Qps,
    /// The API gateway: `/auth` and the PCRS posture API under `/pcrs/N.0/`.
    Gateway,
}

impl Family {
    /// Whether the family's endpoints live on the API gateway rather than the API server.
    pub fn uses_gateway(self) -> bool {
        self == Family::Gateway
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Fo => "FO API",
            Family::Qps => "QPS REST API",
            Family::Gateway => "API gateway",
        }
    }
}

/// How an endpoint's paths look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPattern {
    /// `/api/{2,3,4,5}.0` followed by this FO path, which ends with `/`. The same path without its
    /// trailing slash is redirected (301) by the web server in front of Qualys.
    Fo(&'static str),
    /// Exactly this path, with or without a trailing slash.
    Exact(&'static str),
    /// `/qps/rest/3.0/` followed by this path (e.g. `search/was/webapp`), with or without a
    /// trailing slash; with `with_id`, followed by `/<numeric id>` instead.
    Qps { path: &'static str, with_id: bool },
    /// `/pcrs/{1,2,3,4,5}.0/` followed by this path (e.g. `posture/hostids`).
    Pcrs(&'static str),
}

/// One endpoint. Two endpoints are equal when their names are.
#[derive(Debug)]
pub struct Endpoint {
    /// The name scenario files, fault rules and reports use, e.g. `detection`.
    pub name: &'static str,
    /// What Qualys calls it, for messages.
    pub title: &'static str,
    pub family: Family,
    /// The module permission a user needs to call it (none for version and login endpoints).
    pub permission: Option<Permission>,
    pub pattern: PathPattern,
}

impl PartialEq for Endpoint {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Endpoint {}

impl std::hash::Hash for Endpoint {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The FO API version the connector calls. `/api/2.0` is what most clients use; newer versions
/// add optional elements the parser ignores or reads when present.
pub const FO_VERSION: u8 = 2;
/// The PCRS version the connector calls.
pub const PCRS_VERSION: u8 = 1;

// --- FO (API server, Basic, SIMPLE_RETURN) ---------------------------------------------------

pub static HOST_DETECTION: Endpoint = Endpoint {
    name: "detection",
    title: "Host List Detection",
    family: Family::Fo,
    permission: Some(Permission::ManageVm),
    pattern: PathPattern::Fo("/fo/asset/host/vm/detection/"),
};

pub static HOST_LIST: Endpoint = Endpoint {
    name: "host_list",
    title: "Host List",
    family: Family::Fo,
    permission: Some(Permission::ManageVm),
    pattern: PathPattern::Fo("/fo/asset/host/"),
};

pub static KNOWLEDGE_BASE: Endpoint = Endpoint {
    name: "knowledge_base",
    title: "KnowledgeBase",
    family: Family::Fo,
    permission: Some(Permission::ManageVm),
    pattern: PathPattern::Fo("/fo/knowledge_base/vuln/"),
};

pub static ABOUT: Endpoint = Endpoint {
    name: "about",
    title: "about.php",
    family: Family::Fo,
    permission: None,
    pattern: PathPattern::Exact("/msp/about.php"),
};

// --- QPS (API server, Basic, ServiceRequest / ServiceResponse) -------------------------------

pub static WAS_WEBAPP_SEARCH: Endpoint = Endpoint {
    name: "was_webapp_search",
    title: "WAS search web applications",
    family: Family::Qps,
    permission: Some(Permission::ManageWebApplications),
    pattern: PathPattern::Qps {
        path: "search/was/webapp",
        with_id: false,
    },
};

pub static WAS_WEBAPP_COUNT: Endpoint = Endpoint {
    name: "was_webapp_count",
    title: "WAS count web applications",
    family: Family::Qps,
    permission: Some(Permission::ManageWebApplications),
    pattern: PathPattern::Qps {
        path: "count/was/webapp",
        with_id: false,
    },
};

pub static WAS_WEBAPP_GET: Endpoint = Endpoint {
    name: "was_webapp_get",
    title: "WAS get web application",
    family: Family::Qps,
    permission: Some(Permission::ManageWebApplications),
    pattern: PathPattern::Qps {
        path: "get/was/webapp",
        with_id: true,
    },
};

pub static WAS_FINDING_SEARCH: Endpoint = Endpoint {
    name: "was_finding_search",
    title: "WAS search findings",
    family: Family::Qps,
    permission: Some(Permission::ManageWebApplications),
    pattern: PathPattern::Qps {
        path: "search/was/finding",
        with_id: false,
    },
};

pub static WAS_FINDING_COUNT: Endpoint = Endpoint {
    name: "was_finding_count",
    title: "WAS count findings",
    family: Family::Qps,
    permission: Some(Permission::ManageWebApplications),
    pattern: PathPattern::Qps {
        path: "count/was/finding",
        with_id: false,
    },
};

pub static WAS_FINDING_GET: Endpoint = Endpoint {
    name: "was_finding_get",
    title: "WAS get finding",
    family: Family::Qps,
    permission: Some(Permission::ManageWebApplications),
    pattern: PathPattern::Qps {
        path: "get/was/finding",
        with_id: true,
    },
};

pub static QPS_PORTAL_VERSION: Endpoint = Endpoint {
    name: "portal_version",
    title: "QPS portal version",
    family: Family::Qps,
    permission: None,
    pattern: PathPattern::Exact("/qps/rest/portal/version"),
};

// --- Gateway (API gateway, JWT, JSON) --------------------------------------------------------

pub static GATEWAY_AUTH: Endpoint = Endpoint {
    name: "auth",
    title: "gateway login (/auth)",
    family: Family::Gateway,
    permission: None,
    pattern: PathPattern::Exact("/auth"),
};

pub static PCRS_POLICY_LIST: Endpoint = Endpoint {
    name: "pcrs_policy_list",
    title: "PCRS policy list",
    family: Family::Gateway,
    permission: Some(Permission::ManagePc),
    pattern: PathPattern::Pcrs("posture/policy/list"),
};

pub static PCRS_HOST_IDS: Endpoint = Endpoint {
    name: "pcrs_host_ids",
    title: "PCRS resolve host IDs",
    family: Family::Gateway,
    permission: Some(Permission::ManagePc),
    pattern: PathPattern::Pcrs("posture/hostids"),
};

pub static PCRS_POSTURE_INFO: Endpoint = Endpoint {
    name: "pcrs_posture_info",
    title: "PCRS posture info",
    family: Family::Gateway,
    permission: Some(Permission::ManagePc),
    pattern: PathPattern::Pcrs("posture/postureInfo"),
};

/// Every endpoint, the registry. Order is the order of listings in messages.
pub static ENDPOINTS: &[&Endpoint] = &[
    &HOST_DETECTION,
    &HOST_LIST,
    &KNOWLEDGE_BASE,
    &ABOUT,
    &WAS_WEBAPP_SEARCH,
    &WAS_WEBAPP_COUNT,
    &WAS_WEBAPP_GET,
    &WAS_FINDING_SEARCH,
    &WAS_FINDING_COUNT,
    &WAS_FINDING_GET,
    &QPS_PORTAL_VERSION,
    &GATEWAY_AUTH,
    &PCRS_POLICY_LIST,
    &PCRS_HOST_IDS,
    &PCRS_POSTURE_INFO,
];

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// A registered endpoint. `version` is the major version in the path (`/api/N.0`,
    /// `/pcrs/N.0`, 3 for QPS, 0 for unversioned paths); `id` the trailing object id of QPS
    /// `get` paths.
    Endpoint {
        endpoint: &'static Endpoint,
        version: u8,
        id: Option<u64>,
    },
    /// An FO path without its trailing slash: the web server answers 301 to `location`.
    MissingSlash {
        endpoint: &'static Endpoint,
        location: String,
    },
    /// No registered endpoint.
    Unknown,
}

impl Endpoint {
    /// The endpoint registered under `name`.
    pub fn by_name(name: &str) -> Option<&'static Endpoint> {
        ENDPOINTS.iter().copied().find(|e| e.name == name)
    }

    /// The names of every endpoint, for messages.
    pub fn names() -> Vec<&'static str> {
        ENDPOINTS.iter().map(|e| e.name).collect()
    }

    /// Classifies a request path (without its query string).
    pub fn for_path(path: &str) -> PathMatch {
        for &endpoint in ENDPOINTS {
            match endpoint.matches(path) {
                PathMatch::Unknown => continue,
                found => return found,
            }
        }
        PathMatch::Unknown
    }

    /// Whether a request path is a call of this endpoint (any version).
    pub fn covers(&'static self, path: &str) -> bool {
        matches!(self.matches(path), PathMatch::Endpoint { .. })
    }

    /// The path the connector calls, at the version it uses.
    pub fn path(&self) -> String {
        match self.pattern {
            PathPattern::Fo(p) => format!("/api/{FO_VERSION}.0{p}"),
            PathPattern::Exact(p) => p.to_string(),
            PathPattern::Qps { path, .. } => format!("/qps/rest/3.0/{path}"),
            PathPattern::Pcrs(p) => format!("/pcrs/{PCRS_VERSION}.0/{p}"),
        }
    }

    /// The path of a QPS `get` endpoint for one object.
    pub fn path_for_id(&self, id: u64) -> String {
        format!("{}/{id}", self.path())
    }

    /// Every path shape this endpoint answers on, for messages (`/api/{2,3,4,5}.0/fo/...`).
    pub fn shape(&self) -> String {
        match self.pattern {
            PathPattern::Fo(p) => format!("/api/{{2,3,4,5}}.0{p}"),
            PathPattern::Exact(p) => p.to_string(),
            PathPattern::Qps {
                path,
                with_id: true,
            } => format!("/qps/rest/3.0/{path}/<id>"),
            PathPattern::Qps { path, .. } => format!("/qps/rest/3.0/{path}"),
            PathPattern::Pcrs(p) => format!("/pcrs/{{1,2,3,4,5}}.0/{p}"),
        }
    }

    fn matches(&'static self, path: &str) -> PathMatch {
        let hit = |version: u8, id: Option<u64>| PathMatch::Endpoint {
            endpoint: self,
            version,
            id,
        };
        match self.pattern {
            PathPattern::Fo(fo) => {
                let Some((version, rest)) = versioned(path, "/api/", 2..=5) else {
                    return PathMatch::Unknown;
                };
                if rest == fo {
                    hit(version, None)
                } else if rest == fo.trim_end_matches('/') {
                    PathMatch::MissingSlash {
                        endpoint: self,
                        location: format!("{path}/"),
                    }
                } else {
                    PathMatch::Unknown
                }
            }
            PathPattern::Exact(p) => {
                if path.trim_end_matches('/') == p {
                    hit(0, None)
                } else {
                    PathMatch::Unknown
                }
            }
            PathPattern::Qps { path: p, with_id } => {
                let Some(rest) = path.strip_prefix("/qps/rest/3.0/") else {
                    return PathMatch::Unknown;
                };
                let rest = rest.trim_end_matches('/');
                if !with_id {
                    return if rest == p {
                        hit(3, None)
                    } else {
                        PathMatch::Unknown
                    };
                }
                match rest
                    .strip_prefix(p)
                    .and_then(|r| r.strip_prefix('/'))
                    .and_then(|id| id.parse::<u64>().ok())
                {
                    Some(id) => hit(3, Some(id)),
                    None => PathMatch::Unknown,
                }
            }
            PathPattern::Pcrs(p) => match versioned(path, "/pcrs/", 1..=5) {
                Some((version, rest))
                    if rest.trim_start_matches('/').trim_end_matches('/') == p =>
                {
                    hit(version, None)
                }
                _ => PathMatch::Unknown,
            },
        }
    }
}

/// Splits `/prefix/N.0/rest` into `N` and `/rest` when `N` is in `range`.
fn versioned<'p>(
    path: &'p str,
    prefix: &str,
    range: std::ops::RangeInclusive<u8>,
) -> Option<(u8, &'p str)> {
    let rest = path.strip_prefix(prefix)?;
    let (version, _) = rest.split_once('/')?;
    let major: u8 = version.strip_suffix(".0")?.parse().ok()?;
    range
        .contains(&major)
        .then(|| (major, &rest[version.len()..]))
}

/// Which endpoints a fault rule or a request expectation is about: one endpoint by name, or
/// `any` (every Qualys path; never the simulator's own `/__sim/` paths).
///
/// Written as the endpoint's name in TOML: `route = "detection"`, `endpoint = "any"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointScope {
    #[default]
    Any,
    One(&'static Endpoint),
}

impl EndpointScope {
    /// Whether an endpoint is in scope.
    pub fn covers(self, endpoint: &Endpoint) -> bool {
        match self {
            EndpointScope::Any => true,
            EndpointScope::One(e) => e == endpoint,
        }
    }

    /// Whether a request path is in scope.
    pub fn covers_path(self, path: &str) -> bool {
        match self {
            EndpointScope::Any => !path.starts_with("/__sim"),
            EndpointScope::One(e) => e.covers(path),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EndpointScope::Any => "any",
            EndpointScope::One(e) => e.name,
        }
    }

    /// Parses a name; the error lists every valid one.
    pub fn parse(name: &str) -> Result<EndpointScope, String> {
        if name == "any" {
            return Ok(EndpointScope::Any);
        }
        Endpoint::by_name(name)
            .map(EndpointScope::One)
            .ok_or_else(|| {
                format!(
                    "unknown endpoint {name:?}; valid: any, {}",
                    Endpoint::names().join(", ")
                )
            })
    }
}

impl From<&'static Endpoint> for EndpointScope {
    fn from(e: &'static Endpoint) -> Self {
        EndpointScope::One(e)
    }
}

impl Serialize for EndpointScope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EndpointScope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        EndpointScope::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// Serialises an endpoint as its name (journal entries, reports).
impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fo_version_reaches_the_same_endpoint() {
        for v in 2..=5 {
            assert_eq!(
                Endpoint::for_path(&format!("/api/{v}.0/fo/asset/host/vm/detection/")),
                PathMatch::Endpoint {
                    endpoint: &HOST_DETECTION,
                    version: v,
                    id: None
                }
            );
        }
        assert_eq!(
            Endpoint::for_path("/api/1.0/fo/asset/host/"),
            PathMatch::Unknown
        );
        assert_eq!(
            Endpoint::for_path("/api/2.0/fo/asset/host/vm/"),
            PathMatch::Unknown
        );
    }

    #[test]
    fn an_fo_path_without_its_slash_redirects_but_about_php_does_not() {
        assert_eq!(
            Endpoint::for_path("/api/2.0/fo/knowledge_base/vuln"),
            PathMatch::MissingSlash {
                endpoint: &KNOWLEDGE_BASE,
                location: "/api/2.0/fo/knowledge_base/vuln/".into()
            }
        );
        for p in ["/msp/about.php", "/msp/about.php/"] {
            assert!(ABOUT.covers(p), "{p}");
        }
    }

    #[test]
    fn qps_paths_match_with_and_without_slash_and_get_paths_carry_the_id() {
        for p in [
            "/qps/rest/3.0/search/was/finding",
            "/qps/rest/3.0/search/was/finding/",
        ] {
            assert!(WAS_FINDING_SEARCH.covers(p), "{p}");
        }
        assert_eq!(
            Endpoint::for_path("/qps/rest/3.0/get/was/webapp/62249036"),
            PathMatch::Endpoint {
                endpoint: &WAS_WEBAPP_GET,
                version: 3,
                id: Some(62249036)
            }
        );
        assert_eq!(
            Endpoint::for_path("/qps/rest/3.0/get/was/webapp/abc"),
            PathMatch::Unknown
        );
        assert_eq!(
            WAS_WEBAPP_GET.path_for_id(7),
            "/qps/rest/3.0/get/was/webapp/7"
        );
    }

    #[test]
    fn pcrs_paths_match_versions_one_to_five() {
        for v in 1..=5 {
            assert!(
                PCRS_POSTURE_INFO.covers(&format!("/pcrs/{v}.0/posture/postureInfo")),
                "{v}"
            );
        }
        assert!(!PCRS_POSTURE_INFO.covers("/pcrs/6.0/posture/postureInfo"));
        assert_eq!(PCRS_HOST_IDS.path(), "/pcrs/1.0/posture/hostids");
        assert!(GATEWAY_AUTH.covers("/auth"));
    }

    #[test]
    fn names_are_unique_and_every_path_the_registry_builds_routes_back_to_its_endpoint() {
        let mut names = Endpoint::names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ENDPOINTS.len());
        for &e in ENDPOINTS {
            let path = match e.pattern {
                PathPattern::Qps { with_id: true, .. } => e.path_for_id(42),
                _ => e.path(),
            };
            match Endpoint::for_path(&path) {
                PathMatch::Endpoint { endpoint, .. } => assert_eq!(endpoint, e, "{path}"),
                other => panic!("{path} routes to {other:?}"),
            }
        }
    }

    #[test]
    fn a_scope_parses_from_its_name_and_rejects_unknown_names_listing_the_valid_ones() {
        assert_eq!(
            EndpointScope::parse("host_list"),
            Ok(EndpointScope::One(&HOST_LIST))
        );
        assert_eq!(EndpointScope::parse("any"), Ok(EndpointScope::Any));
        let e = EndpointScope::parse("detections").unwrap_err();
        assert!(
            e.contains("detection,") && e.contains("pcrs_posture_info"),
            "{e}"
        );
        assert!(EndpointScope::Any.covers_path("/auth"));
        assert!(!EndpointScope::Any.covers_path("/__sim/journal"));
    }
}
