//! What redaction replaces, per content shape: one table for FO XML elements, one for QPS XML
//! elements, one for PCRS JSON fields. A field no table names still gets the generic scan
//! (addresses, e-mail addresses, the username); a table row says what more a field needs.
//!
//! Tables are keyed by field name, or `parent/name` where the name alone is ambiguous
//! (`TAG/NAME`, `WebApp/name`). A new stream of an existing family needs a row here only when
//! its documents carry a customer field the generic scan cannot recognise (a name, free text).

use crate::qualys::endpoint::{Endpoint, Family};

/// A kind of value the pseudonyms replace; `redaction.toml` counts per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Ipv4,
    Ipv6,
    /// DNS names, FQDNs, host names of web application URLs.
    Host,
    NetBios,
    /// The recording's own user (`quays_rec1`) and other user names.
    Username,
    /// Owner, creator and author names.
    Owner,
    Email,
    Subscription,
    Tag,
    /// Names a customer gives things (web applications, authentication records).
    Name,
    /// Detection RESULTS, posture evidence, WAS payloads: same-length placeholders.
    FreeText,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Host,
        Kind::NetBios,
        Kind::Username,
        Kind::Owner,
        Kind::Email,
        Kind::Subscription,
        Kind::Tag,
        Kind::Name,
        Kind::FreeText,
    ];

    /// The key in `redaction.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Host => "host",
            Kind::NetBios => "netbios",
            Kind::Username => "username",
            Kind::Owner => "owner",
            Kind::Email => "email",
            Kind::Subscription => "subscription",
            Kind::Tag => "tag",
            Kind::Name => "name",
            Kind::FreeText => "free_text",
        }
    }
}

/// What a table row does to a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Every IPv4 and IPv6 address in it (single addresses, ranges, lists).
    Addresses,
    /// A host name (an address in the same field is mapped as an address).
    Host,
    /// A URL: its host is replaced.
    Url,
    /// Free text: a same-length placeholder unless `--keep-results`.
    FreeText,
    /// A tag name: replaced only with `--redact-tags`.
    Tag,
    /// The whole value is one value of this kind.
    Map(Kind),
}

/// FO XML (VMDR Host List, Host List Detection, KnowledgeBase, `SIMPLE_RETURN`).
pub static FO_XML: &[(&str, Rule)] = &[
    ("IP", Rule::Addresses),
    ("IPV6", Rule::Addresses),
    ("DNS", Rule::Host),
    ("FQDN", Rule::Host),
    ("HOSTNAME", Rule::Host),
    ("DOMAIN", Rule::Host),
    ("NETBIOS", Rule::Map(Kind::NetBios)),
    ("RESULTS", Rule::FreeText),
    ("OWNER", Rule::Map(Kind::Owner)),
    ("TAG/NAME", Rule::Tag),
    ("ASSET_GROUP/TITLE", Rule::Map(Kind::Name)),
    ("USER_LOGIN", Rule::Map(Kind::Username)),
];

/// QPS XML (WAS `ServiceResponse` documents and `ServiceRequest` bodies).
pub static QPS_XML: &[(&str, Rule)] = &[
    ("url", Rule::Url),
    ("Url", Rule::Url),
    ("webApp/name", Rule::Map(Kind::Name)),
    ("WebApp/name", Rule::Map(Kind::Name)),
    ("WebAppAuthRecord/name", Rule::Map(Kind::Name)),
    ("lastScan/name", Rule::Map(Kind::Name)),
    ("WasScan/name", Rule::Map(Kind::Name)),
    ("defaultProfile/name", Rule::Map(Kind::Name)),
    ("username", Rule::Map(Kind::Username)),
    ("firstName", Rule::Map(Kind::Owner)),
    ("lastName", Rule::Map(Kind::Owner)),
    ("email", Rule::Map(Kind::Email)),
    ("contents", Rule::FreeText),
    ("payload", Rule::FreeText),
    ("request", Rule::FreeText),
    ("response", Rule::FreeText),
    ("evidence", Rule::FreeText),
    ("value", Rule::FreeText),
    ("Tag/name", Rule::Tag),
    ("ipAddress", Rule::Addresses),
    ("hostName", Rule::Host),
];

/// PCRS JSON (the gateway's posture API).
pub static PCRS_JSON: &[(&str, Rule)] = &[
    ("subscriptionId", Rule::Map(Kind::Subscription)),
    ("createdBy", Rule::Map(Kind::Owner)),
    ("modifiedBy", Rule::Map(Kind::Owner)),
    ("netBios", Rule::Map(Kind::NetBios)),
    ("netbios", Rule::Map(Kind::NetBios)),
    ("ip", Rule::Addresses),
    ("ipv6", Rule::Addresses),
    ("dns", Rule::Host),
    ("fqdn", Rule::Host),
    ("evidence", Rule::FreeText),
    ("causeOfFailure", Rule::FreeText),
    ("extendedEvidence", Rule::FreeText),
    ("tagName", Rule::Tag),
];

/// The rule of a field, looked up as `parent/name` first, then `name`.
pub fn lookup(table: &[(&str, Rule)], parent: Option<&str>, name: &str) -> Option<Rule> {
    if let Some(parent) = parent {
        let find = |k: &&(&str, Rule)| {
            k.0.split_once('/')
                .is_some_and(|(p, n)| p == parent && n == name)
        };
        if let Some((_, r)) = table.iter().find(find) {
            return Some(*r);
        }
    }
    table.iter().find(|(k, _)| *k == name).map(|(_, r)| *r)
}

/// The content shape of a body, from the endpoint's family and the declared content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Xml(&'static [(&'static str, Rule)]),
    Json(&'static [(&'static str, Rule)]),
    /// HTML, plain text, anything else: the generic scan only.
    Text,
}

impl Shape {
    /// The shape of a body of `endpoint` (unknown paths: by content type alone).
    pub fn of(endpoint: Option<&Endpoint>, content_type: Option<&str>, first: &[u8]) -> Shape {
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        let first = first.trim_ascii_start();
        let looks_xml = ct.contains("xml") || first.starts_with(b"<");
        let looks_json = ct.contains("json") || first.starts_with(b"{") || first.starts_with(b"[");
        let family = endpoint.map(|e| e.family);
        let xml_table = match family {
            Some(Family::Qps) => QPS_XML,
            _ => FO_XML,
        };
        if ct.contains("html") {
            Shape::Text
        } else if looks_xml && !looks_json {
            Shape::Xml(xml_table)
        } else if looks_json {
            Shape::Json(PCRS_JSON)
        } else {
            Shape::Text
        }
    }
}
