//! Routes: which endpoint a request path names.
//!
//! Qualys serves the same FO handlers under `/api/2.0` to `/api/5.0`; a path without its trailing
//! slash is redirected by the web server in front (HTTP 301) before any authentication, and
//! `/msp/about.php` answers with or without a slash. WAS (`/qps/rest/3.0/search/was/...`) and the
//! PC gateway (`/auth`, `/pcrs/...`) become more [`Endpoint`] variants when their streams land.

use crate::api::{Permission, path};

/// An endpoint the simulator models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// Host List Detection, `/api/N.0/fo/asset/host/vm/detection/`.
    Detection,
    /// Host List, `/api/N.0/fo/asset/host/`.
    HostList,
    /// KnowledgeBase, `/api/N.0/fo/knowledge_base/vuln/`.
    KnowledgeBase,
    /// `/msp/about.php`.
    About,
}

impl Endpoint {
    /// The module permission a user needs to call it.
    pub fn permission(self) -> Option<Permission> {
        match self {
            Endpoint::Detection | Endpoint::HostList | Endpoint::KnowledgeBase => {
                Some(Permission::ManageVm)
            }
            Endpoint::About => None,
        }
    }

    /// Whether this is an FO API endpoint (rate-limit headers, `SIMPLE_RETURN` errors).
    pub fn is_fo(self) -> bool {
        !matches!(self, Endpoint::About)
    }

    /// The FO path below `/api/N.0`, with its trailing slash.
    pub fn fo_path(self) -> Option<&'static str> {
        match self {
            Endpoint::Detection => Some(path::HOST_DETECTION),
            Endpoint::HostList => Some(path::HOST_LIST),
            Endpoint::KnowledgeBase => Some(path::KNOWLEDGE_BASE),
            Endpoint::About => None,
        }
    }
}

/// A request path, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A modelled endpoint; `api_version` is the major version of `/api/N.0` (FO only).
    Api { endpoint: Endpoint, api_version: u8 },
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
            "/msp/about.php" | "/msp/about.php/" => {
                return Route::Api {
                    endpoint: Endpoint::About,
                    api_version: 2,
                };
            }
            _ => {}
        }
        let Some(rest) = p.strip_prefix("/api/") else {
            return Route::Unknown;
        };
        let Some((version, fo)) = rest.split_once('/') else {
            return Route::Unknown;
        };
        let api_version = match version {
            "2.0" => 2,
            "3.0" => 3,
            "4.0" => 4,
            "5.0" => 5,
            _ => return Route::Unknown,
        };
        let fo = format!("/{fo}");
        for endpoint in [
            Endpoint::Detection,
            Endpoint::HostList,
            Endpoint::KnowledgeBase,
        ] {
            let Some(full) = endpoint.fo_path() else {
                continue;
            };
            if fo == full {
                return Route::Api {
                    endpoint,
                    api_version,
                };
            }
            if fo == full.trim_end_matches('/') {
                return Route::MissingSlash {
                    location: format!("{p}/"),
                };
            }
        }
        Route::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_version_reaches_the_same_handlers() {
        for v in [2, 3, 4, 5] {
            assert_eq!(
                Route::of(&format!("/api/{v}.0/fo/asset/host/vm/detection/")),
                Route::Api {
                    endpoint: Endpoint::Detection,
                    api_version: v
                }
            );
        }
        assert_eq!(Route::of("/api/1.0/fo/asset/host/"), Route::Unknown);
        assert_eq!(Route::of("/api/2.0/fo/asset/host/vm/"), Route::Unknown);
    }

    #[test]
    fn a_missing_trailing_slash_redirects_but_about_php_does_not() {
        assert_eq!(
            Route::of("/api/2.0/fo/knowledge_base/vuln"),
            Route::MissingSlash {
                location: "/api/2.0/fo/knowledge_base/vuln/".into()
            }
        );
        for p in ["/msp/about.php", "/msp/about.php/"] {
            assert!(matches!(
                Route::of(p),
                Route::Api {
                    endpoint: Endpoint::About,
                    ..
                }
            ));
        }
    }
}
