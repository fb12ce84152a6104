//! Redaction of one value: the generic scan every text gets (addresses, e-mail addresses, the
//! username), and the [`Rule`] a shape's table gives a known field.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

use super::pseudonyms::Pseudonyms;
use super::{Kind, RedactOptions, Rule};
use crate::sim::ORIGIN;

/// What the generic scan looks for: e-mail addresses, dotted quads, and runs of hex digits and
/// colons that may be IPv6 addresses (each candidate is parsed before it is replaced).
pub(super) static CANDIDATES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})
        | (?P<v4>\b\d{1,3}(?:\.\d{1,3}){3}\b)
        | (?P<v6>[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})",
    )
    .expect("the candidate pattern is valid")
});

/// Replaces every address, e-mail address and occurrence of the username in `text`.
pub fn scan<'t>(p: &mut Pseudonyms, text: &'t str) -> Cow<'t, str> {
    let bytes = text.as_bytes();
    let has_user = p
        .username()
        .is_some_and(|u| memchr::memmem::find(bytes, u.as_bytes()).is_some());
    // Nearly every text node is a number, a date or a word: skip the regex for those.
    if !has_user && !bytes.iter().any(|b| matches!(b, b'.' | b':' | b'@')) {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut last = 0;
    let mut changed = false;
    for caps in CANDIDATES.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        let replacement = if caps.name("email").is_some() {
            Some(p.map(Kind::Email, m.as_str()))
        } else if caps.name("v4").is_some() {
            m.as_str()
                .parse::<Ipv4Addr>()
                .ok()
                .map(|ip| p.map_ipv4(ip).to_string())
        } else {
            let s = m.as_str();
            (s.matches(':').count() >= 2 && s.bytes().any(|b| b.is_ascii_hexdigit()))
                .then(|| s.parse::<Ipv6Addr>().ok())
                .flatten()
                .map(|ip| p.map_ipv6(ip).to_string())
        };
        if let Some(r) = replacement
            && r != m.as_str()
        {
            out.push_str(&text[last..m.start()]);
            out.push_str(&r);
            last = m.end();
            changed = true;
        }
    }
    let scanned: Cow<'t, str> = if changed {
        out.push_str(&text[last..]);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    };
    match p.username().map(str::to_string) {
        Some(u) if memchr::memmem::find(scanned.as_bytes(), u.as_bytes()).is_some() => {
            let pseudo = p.map(Kind::Username, &u);
            Cow::Owned(scanned.replace(&u, &pseudo))
        }
        _ => scanned,
    }
}

/// Applies a table's rule to a field's whole value.
pub fn apply(p: &mut Pseudonyms, rule: Rule, value: &str, opts: &RedactOptions) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() || value.contains(ORIGIN) {
        return scan(p, value).into_owned();
    }
    let mapped = match rule {
        Rule::Addresses => return scan(p, value).into_owned(),
        Rule::FreeText if opts.keep_results => return scan(p, value).into_owned(),
        Rule::FreeText => return p.map(Kind::FreeText, value),
        Rule::Tag if !opts.redact_tags => return scan(p, value).into_owned(),
        Rule::Host => {
            if trimmed.parse::<Ipv4Addr>().is_ok() || trimmed.parse::<Ipv6Addr>().is_ok() {
                return scan(p, value).into_owned();
            }
            p.map(Kind::Host, trimmed)
        }
        Rule::Url => return map_url(p, trimmed),
        Rule::Map(kind) => p.map(kind, trimmed),
        Rule::Tag => p.map(Kind::Tag, trimmed),
    };
    // Keep the white space around the value as it was.
    let start = value.len() - value.trim_start().len();
    let end = value.trim_end().len();
    format!("{}{mapped}{}", &value[..start], &value[end..])
}

/// A URL with its host replaced (a name by `hostN.example.com`, an address by its
/// pseudonym); what is not a URL gets the generic scan.
pub fn map_url(p: &mut Pseudonyms, text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return scan(p, text).into_owned();
    };
    let new_host = match url.host() {
        Some(url::Host::Domain(d)) => p.map(Kind::Host, d),
        Some(url::Host::Ipv4(ip)) => p.map_ipv4(ip).to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{}]", p.map_ipv6(ip)),
        None => return scan(p, text).into_owned(),
    };
    if url.set_host(Some(&new_host)).is_err() {
        return scan(p, text).into_owned();
    }
    let mut s = url.to_string();
    // Url adds a slash to a bare origin; keep the value as the server wrote it.
    if !text.ends_with('/') && s.ends_with('/') && url.path() == "/" {
        s.pop();
    }
    // The rest of the URL gets the generic scan; the new host must not be mapped again.
    let head = url[..url::Position::AfterPort].len().min(s.len());
    let tail = scan(p, &s[head..]).into_owned();
    s.truncate(head);
    s.push_str(&tail);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_maps_addresses_and_emails_and_leaves_dates_and_versions_above_255() {
        let mut p = Pseudonyms::for_user(Some("quays_ab1"));
        let out = scan(
            &mut p,
            "10.1.2.3-10.1.2.9 at 2024-01-02T12:30:45Z by ops@acme.test, fe80::1 on 3.10.0.514; quays_ab1",
        );
        assert_eq!(
            out,
            "192.0.2.1-192.0.2.2 at 2024-01-02T12:30:45Z by user1@example.com, 2001:db8::1 on 3.10.0.514; quays_rec1"
        );
    }

    #[test]
    fn a_url_keeps_scheme_port_and_path_and_loses_its_host() {
        let mut p = Pseudonyms::default();
        assert_eq!(
            map_url(&mut p, "https://shop.acme.test:8443/cart?x=1"),
            "https://host1.example.com:8443/cart?x=1"
        );
        assert_eq!(
            map_url(&mut p, "http://shop.acme.test"),
            "http://host1.example.com"
        );
        assert_eq!(map_url(&mut p, "http://10.0.0.7/"), "http://192.0.2.1/");
    }
}
