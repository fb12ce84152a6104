//! The Qualys shared platforms: one table, and the rules that read a URL or a username against it.
//!
//! Qualys runs separate platforms (US1 … KSA1). Each has an API server (`qualysapi.…`, used by the
//! VMDR and WAS streams), an API gateway (`gateway.…`, used by Policy Compliance) and a web UI
//! (`qualysguard.…`, which users paste by mistake). A username names its platform with one
//! character after the company prefix: in `quays_ab1` the `_` means US1.
//!
//! Identifier characters marked uncertain in the research note (EU3, IN1, CA1, AE1, UK1, AU1,
//! KSA1) come from a single third-party helper; a mismatch is therefore only ever a warning.

use url::Url;

/// One Qualys shared platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// Short name used by Qualys, e.g. `US1`.
    pub name: &'static str,
    /// Host of the API server (VMDR, WAS).
    pub api_host: &'static str,
    /// Host of the API gateway (Policy Compliance PCRS, JWT).
    pub gateway_host: &'static str,
    /// Host of the web UI, which is not an API endpoint.
    pub ui_host: &'static str,
    /// Characters that name this platform inside a username.
    pub identifiers: &'static [char],
}

impl Platform {
    pub fn api_server_url(&self) -> String {
        format!("https://{}", self.api_host)
    }

    pub fn gateway_url(&self) -> String {
        format!("https://{}", self.gateway_host)
    }
}

/// The 13 shared platforms (sources: Qualys platform identification page as mirrored by
/// qualysdk's platform picker, the Splunk TA, and Pondurance for the identifier characters).
pub const PLATFORMS: [Platform; 13] = [
    Platform {
        name: "US1",
        api_host: "qualysapi.qualys.com",
        gateway_host: "gateway.qg1.apps.qualys.com",
        ui_host: "qualysguard.qualys.com",
        identifiers: &['_'],
    },
    Platform {
        name: "US2",
        api_host: "qualysapi.qg2.apps.qualys.com",
        gateway_host: "gateway.qg2.apps.qualys.com",
        ui_host: "qualysguard.qg2.apps.qualys.com",
        identifiers: &['2'],
    },
    Platform {
        name: "US3",
        api_host: "qualysapi.qg3.apps.qualys.com",
        gateway_host: "gateway.qg3.apps.qualys.com",
        ui_host: "qualysguard.qg3.apps.qualys.com",
        identifiers: &['3'],
    },
    Platform {
        name: "US4",
        api_host: "qualysapi.qg4.apps.qualys.com",
        gateway_host: "gateway.qg4.apps.qualys.com",
        ui_host: "qualysguard.qg4.apps.qualys.com",
        identifiers: &['6'],
    },
    Platform {
        name: "EU1",
        api_host: "qualysapi.qualys.eu",
        gateway_host: "gateway.qg1.apps.qualys.eu",
        ui_host: "qualysguard.qualys.eu",
        identifiers: &['-'],
    },
    Platform {
        name: "EU2",
        api_host: "qualysapi.qg2.apps.qualys.eu",
        gateway_host: "gateway.qg2.apps.qualys.eu",
        ui_host: "qualysguard.qg2.apps.qualys.eu",
        identifiers: &['5', '!'],
    },
    Platform {
        name: "EU3",
        api_host: "qualysapi.qg3.apps.qualys.it",
        gateway_host: "gateway.qg3.apps.qualys.it",
        ui_host: "qualysguard.qg3.apps.qualys.it",
        identifiers: &['B'],
    },
    Platform {
        name: "IN1",
        api_host: "qualysapi.qg1.apps.qualys.in",
        gateway_host: "gateway.qg1.apps.qualys.in",
        ui_host: "qualysguard.qg1.apps.qualys.in",
        identifiers: &['8'],
    },
    Platform {
        name: "CA1",
        api_host: "qualysapi.qg1.apps.qualys.ca",
        gateway_host: "gateway.qg1.apps.qualys.ca",
        ui_host: "qualysguard.qg1.apps.qualys.ca",
        identifiers: &['9'],
    },
    Platform {
        name: "AE1",
        api_host: "qualysapi.qg1.apps.qualys.ae",
        gateway_host: "gateway.qg1.apps.qualys.ae",
        ui_host: "qualysguard.qg1.apps.qualys.ae",
        identifiers: &['7'],
    },
    Platform {
        name: "UK1",
        api_host: "qualysapi.qg1.apps.qualys.co.uk",
        gateway_host: "gateway.qg1.apps.qualys.co.uk",
        ui_host: "qualysguard.qg1.apps.qualys.co.uk",
        identifiers: &['1'],
    },
    Platform {
        name: "AU1",
        api_host: "qualysapi.qg1.apps.qualys.com.au",
        gateway_host: "gateway.qg1.apps.qualys.com.au",
        ui_host: "qualysguard.qg1.apps.qualys.com.au",
        identifiers: &['4'],
    },
    Platform {
        name: "KSA1",
        api_host: "qualysapi.qg1.apps.qualysksa.com",
        gateway_host: "gateway.qg1.apps.qualysksa.com",
        ui_host: "qualysguard.qg1.apps.qualysksa.com",
        identifiers: &['A'],
    },
];

/// Which kind of Qualys endpoint a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    /// A shared platform's API server.
    ApiServer(&'static Platform),
    /// A shared platform's API gateway.
    Gateway(&'static Platform),
    /// A shared platform's web UI (`qualysguard.…`): not an API.
    WebUi(&'static Platform),
    /// A `qualysguard.…` host of a private cloud platform.
    PrivateWebUi,
    /// A `gateway.…` or `qualysgateway.…` host not in the table (private cloud).
    PrivateGateway,
    /// Anything else: a private cloud API server, a proxy, a simulator on 127.0.0.1.
    Other,
}

/// Classifies a URL by its host.
pub fn classify(url: &Url) -> UrlKind {
    let Some(host) = url.host_str() else {
        return UrlKind::Other;
    };
    let host = host.to_ascii_lowercase();
    for p in &PLATFORMS {
        if host == p.api_host {
            return UrlKind::ApiServer(p);
        }
        if host == p.gateway_host {
            return UrlKind::Gateway(p);
        }
        if host == p.ui_host {
            return UrlKind::WebUi(p);
        }
    }
    if host.starts_with("qualysguard.") {
        UrlKind::PrivateWebUi
    } else if host.starts_with("gateway.") || host.starts_with("qualysgateway.") {
        UrlKind::PrivateGateway
    } else {
        UrlKind::Other
    }
}

/// The platform a username names, following `<company letters><identifier><rest>`.
///
/// Returns `None` when the username does not follow the convention (for example a simulator
/// user or an SSO-style name) or names a character no platform uses.
pub fn platform_of_username(username: &str) -> Option<&'static Platform> {
    let identifier = username.chars().find(|c| !c.is_ascii_lowercase())?;
    PLATFORMS
        .iter()
        .find(|p| p.identifiers.contains(&identifier))
}

/// Whether a URL points at this machine (127.0.0.0/8, ::1, localhost): a simulator or a local
/// proxy, where plain HTTP is fine and an environment proxy must not be used.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `text` (a URL, or what a user meant as one) as it may be printed: a user name and password
/// before the host (`https://user:secret@host/`) become `***`. Used for every URL a message or a
/// log shows, whether it came from the user (a platform URL that is refused) or from a server
/// (a `Location`, a truncation WARNING's URL). Text that does not parse as a URL is handled too:
/// `user:secret@host` has no scheme but still carries a secret.
pub fn url_for_display(text: &str) -> std::borrow::Cow<'_, str> {
    let authority_start = text.find("://").map_or(0, |i| i + 3);
    let rest = &text[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => std::borrow::Cow::Owned(format!(
            "{}***@{}",
            &text[..authority_start],
            &rest[at + 1..]
        )),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// Looks a platform up by its short name (`us1`, `EU2`).
pub fn by_name(name: &str) -> Option<&'static Platform> {
    PLATFORMS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_name_and_password_never_reach_a_printed_url() {
        for (text, shown) in [
            (
                "https://user:secret@qualysapi.qualys.com/x?y=1",
                "https://***@qualysapi.qualys.com/x?y=1",
            ),
            ("http://user@127.0.0.1:8080", "http://***@127.0.0.1:8080"),
            (
                "user:secret@qualysapi.qualys.com",
                "***@qualysapi.qualys.com",
            ),
            ("https://a:b@c@host/p@q", "https://***@host/p@q"),
            (
                "https://qualysapi.qualys.com/p?mail=a@example.com",
                "https://qualysapi.qualys.com/p?mail=a@example.com",
            ),
        ] {
            assert_eq!(url_for_display(text), shown, "{text}");
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn underscore_in_username_names_us1() {
        assert_eq!(platform_of_username("quays_ab1").unwrap().name, "US1");
        assert_eq!(platform_of_username("quays3ab1").unwrap().name, "US3");
        assert_eq!(platform_of_username("quays!ab1").unwrap().name, "EU2");
        assert!(platform_of_username("quays").is_none());
    }

    #[test]
    fn urls_are_classified_by_host() {
        assert!(matches!(
            classify(&url("https://qualysapi.qualys.com/")),
            UrlKind::ApiServer(p) if p.name == "US1"
        ));
        assert!(matches!(
            classify(&url("https://gateway.qg2.apps.qualys.eu")),
            UrlKind::Gateway(p) if p.name == "EU2"
        ));
        assert!(matches!(
            classify(&url("https://qualysguard.qg3.apps.qualys.com/fo/")),
            UrlKind::WebUi(p) if p.name == "US3"
        ));
        assert_eq!(
            classify(&url("https://qualysguard.example-corp.com")),
            UrlKind::PrivateWebUi
        );
        assert_eq!(classify(&url("http://127.0.0.1:8080")), UrlKind::Other);
    }

    #[test]
    fn the_table_has_thirteen_distinct_platforms() {
        let mut names: Vec<_> = PLATFORMS.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 13);
        let mut ids: Vec<char> = PLATFORMS
            .iter()
            .flat_map(|p| p.identifiers)
            .copied()
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "an identifier character names two platforms");
    }
}
