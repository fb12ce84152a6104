//! Step 1: the shape of the URLs and their platform, before anything is sent.
//!
//! The platform URL must be an API server (VMDR and WAS call it); the gateway URL, used by
//! Policy Compliance, must be a gateway. Both are read against the platform table
//! ([`crate::qualys::platform`]) and against the platform the username names. When the gateway
//! URL is not given it is derived from the table, or taken to be the platform URL's origin for a
//! host outside the table (a simulator, a proxy), and the report says which.

use url::Url;

use super::Blocked;
use super::report::{Check, GatewaySource, Outcome, Step};
use crate::qualys::platform::{self, Platform, UrlKind};

/// Platforms whose username identifier is confirmed by several sources (the others come from
/// a single third-party helper, see `qualys/platform.rs`): a mismatch with one of these stops
/// the diagnosis, any other mismatch is a warning.
const CONFIRMED_IDENTIFIERS: &[&str] = &["US1", "US2", "US3", "US4", "EU1", "EU2"];

/// The settings step's findings.
pub(super) struct SettingsCheck {
    pub checks: Vec<Check>,
    /// Whether the API server branch may go on.
    pub api: Result<(), Blocked>,
    /// The gateway URL and its source, when a gateway stream is selected.
    pub gateway: Option<Result<(Url, GatewaySource), Blocked>>,
}

pub(super) fn check(
    platform_url: &Url,
    gateway_url: Option<&Url>,
    username: &str,
    needs_gateway: bool,
) -> SettingsCheck {
    let mut checks = Vec::new();
    let api = check_api_server(platform_url, username, &mut checks);
    let gateway = needs_gateway.then(|| match gateway_url {
        Some(g) => {
            check_gateway(g, platform_url, &mut checks).map(|()| (g.clone(), GatewaySource::Given))
        }
        None => derive_gateway(platform_url, &api, &mut checks),
    });
    SettingsCheck {
        checks,
        api,
        gateway,
    }
}

fn check_api_server(url: &Url, username: &str, checks: &mut Vec<Check>) -> Result<(), Blocked> {
    let target = url.to_string();
    let mut fail = |detail: String, remedy: String| {
        checks.push(Check {
            step: Step::Settings,
            target: target.clone(),
            outcome: Outcome::Failed,
            millis: None,
            detail: detail.clone(),
            remedy: Some(remedy.clone()),
        });
        Err(Blocked {
            problem: format!("settings: {detail}"),
            remedy,
            stream_fails: true,
        })
    };
    if url.path().contains("/api/") || url.path().contains("/fo/") || url.query().is_some() {
        return fail(
            "the platform URL points at an endpoint, not at the platform".into(),
            "give only the server part, e.g. https://qualysapi.qualys.com".into(),
        );
    }
    match platform::classify(url) {
        UrlKind::Gateway(p) => {
            return fail(
                format!(
                    "this is the API gateway of {}; --platform-url takes the API server (the gateway is only for Policy Compliance)",
                    p.name
                ),
                format!(
                    "use --platform-url {} --gateway-url {}",
                    p.api_server_url(),
                    p.gateway_url()
                ),
            );
        }
        UrlKind::PrivateGateway => {
            return fail(
                "this looks like an API gateway URL; --platform-url takes the API server".into(),
                "use the API server URL (the `qualysapi.` host) as --platform-url and give the gateway as --gateway-url".into(),
            );
        }
        UrlKind::WebUi(p) => {
            return fail(
                format!(
                    "this is the web UI (qualysguard) of {}, not an API server",
                    p.name
                ),
                format!("use --platform-url {}", p.api_server_url()),
            );
        }
        UrlKind::PrivateWebUi => {
            return fail(
                "this looks like a web UI URL (qualysguard), not an API server".into(),
                "use the same domain with `qualysapi.` instead of `qualysguard.`".into(),
            );
        }
        UrlKind::ApiServer(p) => {
            if let Some(user_platform) = platform::platform_of_username(username)
                && user_platform.name != p.name
            {
                let detail = format!(
                    "the username {username:?} names platform {} but the URL is the API server of {}",
                    user_platform.name, p.name
                );
                let remedy = format!(
                    "use --platform-url {} (a user exists on one platform only)",
                    user_platform.api_server_url()
                );
                if confirmed(user_platform) && confirmed(p) {
                    return fail(detail, remedy);
                }
                checks.push(Check {
                    step: Step::Settings,
                    target,
                    outcome: Outcome::Warning,
                    millis: None,
                    detail: format!(
                        "{detail} (the identifier of one of them is not confirmed, so this is only a warning)"
                    ),
                    remedy: Some(remedy),
                });
                return Ok(());
            }
            let named = if platform::platform_of_username(username).is_some() {
                ", as the username says"
            } else {
                ""
            };
            checks.push(ok(&target, format!("the API server of {}{named}", p.name)));
        }
        UrlKind::Other => {
            checks.push(ok(
                &target,
                "not a shared platform host (a private cloud, a proxy or a simulator): the platform check does not apply".into(),
            ));
        }
    }
    if url.scheme() == "http" && !platform::is_loopback(url) {
        checks.push(Check {
            step: Step::Settings,
            target: url.to_string(),
            outcome: Outcome::Warning,
            millis: None,
            detail: "plain HTTP: the password would cross the network unencrypted".into(),
            remedy: Some("use https://".into()),
        });
    }
    Ok(())
}

fn check_gateway(url: &Url, platform_url: &Url, checks: &mut Vec<Check>) -> Result<(), Blocked> {
    let target = url.to_string();
    let mut fail = |detail: String, remedy: String| {
        checks.push(Check {
            step: Step::Settings,
            target: target.clone(),
            outcome: Outcome::Failed,
            millis: None,
            detail: detail.clone(),
            remedy: Some(remedy.clone()),
        });
        Err(Blocked {
            problem: format!("settings: {detail}"),
            remedy,
            stream_fails: true,
        })
    };
    match platform::classify(url) {
        UrlKind::ApiServer(p) => fail(
            format!(
                "--gateway-url is the API server of {}, not its gateway (the API server and the gateway are mixed up)",
                p.name
            ),
            format!("use --gateway-url {}", p.gateway_url()),
        ),
        UrlKind::WebUi(p) => fail(
            format!("--gateway-url is the web UI (qualysguard) of {}", p.name),
            format!("use --gateway-url {}", p.gateway_url()),
        ),
        UrlKind::PrivateWebUi => fail(
            "--gateway-url looks like a web UI URL (qualysguard)".into(),
            "use the gateway URL of your platform (a `gateway.` host)".into(),
        ),
        UrlKind::Gateway(p) => {
            if let UrlKind::ApiServer(api) = platform::classify(platform_url)
                && api.name != p.name
            {
                return fail(
                    format!(
                        "--gateway-url is the gateway of {} but --platform-url is the API server of {}",
                        p.name, api.name
                    ),
                    format!("use --gateway-url {}", api.gateway_url()),
                );
            }
            checks.push(ok(&target, format!("the API gateway of {}", p.name)));
            Ok(())
        }
        UrlKind::PrivateGateway | UrlKind::Other => {
            checks.push(ok(
                &target,
                "gateway URL given; not a shared platform host, so the platform check does not apply".into(),
            ));
            Ok(())
        }
    }
}

fn derive_gateway(
    platform_url: &Url,
    api: &Result<(), Blocked>,
    checks: &mut Vec<Check>,
) -> Result<(Url, GatewaySource), Blocked> {
    if let Err(blocked) = api {
        return Err(blocked.clone());
    }
    let (url, source, detail) = match platform::classify(platform_url) {
        UrlKind::ApiServer(p) => (
            Url::parse(&p.gateway_url()).map_err(|e| Blocked {
                problem: format!("the platform table's gateway URL does not parse: {e}"),
                remedy: "report this as a bug; meanwhile give --gateway-url".into(),
                stream_fails: true,
            })?,
            GatewaySource::PlatformTable,
            format!(
                "no --gateway-url: derived from the platform table ({})",
                p.name
            ),
        ),
        _ => {
            let mut origin = platform_url.clone();
            origin.set_path("");
            origin.set_query(None);
            (
                origin,
                GatewaySource::SameOrigin,
                "no --gateway-url: using the platform URL's origin, as a simulator or a proxy serving both does; pass --gateway-url for a private cloud".into(),
            )
        }
    };
    checks.push(ok(url.as_str(), detail));
    Ok((url, source))
}

fn confirmed(p: &Platform) -> bool {
    CONFIRMED_IDENTIFIERS.contains(&p.name)
}

fn ok(target: &str, detail: String) -> Check {
    Check {
        step: Step::Settings,
        target: target.to_string(),
        outcome: Outcome::Ok,
        millis: None,
        detail,
        remedy: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_gateway_url_as_platform_url_names_both_right_urls() {
        let c = check(
            &url("https://gateway.qg1.apps.qualys.com"),
            None,
            "quays_ab1",
            true,
        );
        let blocked = c.api.unwrap_err();
        assert!(
            blocked
                .remedy
                .contains("--platform-url https://qualysapi.qualys.com")
                && blocked
                    .remedy
                    .contains("--gateway-url https://gateway.qg1.apps.qualys.com"),
            "{}",
            blocked.remedy
        );
        assert!(c.gateway.unwrap().is_err(), "no gateway without a platform");
    }

    #[test]
    fn the_gateway_is_derived_from_the_platform_table() {
        let c = check(
            &url("https://qualysapi.qualys.com"),
            None,
            "quays_ab1",
            true,
        );
        assert!(c.api.is_ok());
        let (g, source) = c.gateway.unwrap().unwrap();
        assert_eq!(g.as_str(), "https://gateway.qg1.apps.qualys.com/");
        assert_eq!(source, GatewaySource::PlatformTable);
    }

    #[test]
    fn a_username_of_another_confirmed_platform_stops_the_diagnosis() {
        let c = check(
            &url("https://qualysapi.qualys.eu"),
            None,
            "quays_ab1",
            false,
        );
        let blocked = c.api.unwrap_err();
        assert!(
            blocked.problem.contains("names platform US1"),
            "{}",
            blocked.problem
        );
        assert!(blocked.remedy.contains("https://qualysapi.qualys.com"));
        let uncertain = check(
            &url("https://qualysapi.qg1.apps.qualys.co.uk"),
            None,
            "quays_ab1",
            false,
        );
        assert!(
            uncertain.api.is_ok(),
            "UK1's identifier is unconfirmed: a warning"
        );
        assert_eq!(uncertain.checks[0].outcome, Outcome::Warning);
    }

    #[test]
    fn web_ui_and_endpoint_urls_are_refused_with_the_api_server_url() {
        let ui = check(
            &url("https://qualysguard.qg2.apps.qualys.com"),
            None,
            "u",
            false,
        );
        assert!(
            ui.api
                .unwrap_err()
                .remedy
                .contains("qualysapi.qg2.apps.qualys.com")
        );
        let endpoint = check(
            &url("https://qualysapi.qualys.com/api/2.0/fo/asset/host/"),
            None,
            "u",
            false,
        );
        assert!(endpoint.api.is_err());
    }
}
