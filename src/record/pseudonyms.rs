//! The consistent pseudonyms of one recording: the same original value gets the same
//! replacement everywhere in the set (bodies, headers, request parameters), and two different
//! values never get the same one, so joins, filters and pagination still work on replay.
//!
//! The mapping lives only in memory for the length of the recording: it is never written. What
//! is written is [`Pseudonyms::report`], the number of values of each kind that were replaced.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::Kind;

/// Documentation ranges IPv4 addresses map into, in order; after them, 10.0.0.0/8.
const IPV4_DOC_RANGES: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
/// Addresses per documentation /24 (1 to 254).
const PER_RANGE: u32 = 254;

/// How many IPv4 pseudonyms fit into the documentation ranges before 10.0.0.0/8 is used.
pub const IPV4_DOC_CAPACITY: u32 = PER_RANGE * IPV4_DOC_RANGES.len() as u32;

/// The `n`-th IPv4 pseudonym (0-based).
pub fn ipv4_pseudonym(n: u32) -> Ipv4Addr {
    if n < IPV4_DOC_CAPACITY {
        let [a, b, c] = IPV4_DOC_RANGES[(n / PER_RANGE) as usize];
        Ipv4Addr::new(a, b, c, (n % PER_RANGE + 1) as u8)
    } else {
        Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + (n - IPV4_DOC_CAPACITY) + 1)
    }
}

/// The `n`-th IPv6 pseudonym (0-based), in 2001:db8::/32.
pub fn ipv6_pseudonym(n: u32) -> Ipv6Addr {
    Ipv6Addr::new(
        0x2001,
        0xdb8,
        0,
        0,
        0,
        0,
        (n >> 16) as u16,
        (n & 0xffff) as u16 + 1,
    )
}

/// The mapping of one recording.
#[derive(Debug, Default, Clone)]
pub struct Pseudonyms {
    /// The original username, replaced by `quays<identifier>rec1`.
    username: Option<(String, String)>,
    tables: HashMap<Kind, HashMap<String, String>>,
    occurrences: HashMap<Kind, u64>,
}

impl Pseudonyms {
    /// A mapping that replaces `username` by `quays_rec1`, keeping the character that names
    /// the user's platform (`quays3ab1` becomes `quays3rec1`).
    pub fn for_user(username: Option<&str>) -> Pseudonyms {
        let mut p = Pseudonyms::default();
        if let Some(u) = username.filter(|u| !u.is_empty()) {
            p.username = Some((u.to_string(), username_pseudonym(u)));
        }
        p
    }

    /// The original username, if known (the check looks for it).
    pub fn username(&self) -> Option<&str> {
        self.username.as_ref().map(|(u, _)| u.as_str())
    }

    /// Sets the username once it is known (the proxy learns it from the first Basic header).
    pub fn learn_username(&mut self, username: &str) {
        if self.username.is_none() && !username.is_empty() {
            self.username = Some((username.to_string(), username_pseudonym(username)));
        }
    }

    /// The replacement of `value`, a value of `kind`; the same value always gets the same one.
    pub fn map(&mut self, kind: Kind, value: &str) -> String {
        if value.is_empty() {
            return String::new();
        }
        *self.occurrences.entry(kind).or_default() += 1;
        if kind == Kind::FreeText {
            return placeholder(value);
        }
        if kind == Kind::Username
            && let Some((orig, pseudo)) = &self.username
            && orig == value
        {
            return pseudo.clone();
        }
        let key = match kind {
            Kind::Host | Kind::Email | Kind::NetBios => value.to_ascii_lowercase(),
            _ => value.to_string(),
        };
        let table = self.tables.entry(kind).or_default();
        if let Some(p) = table.get(&key) {
            return p.clone();
        }
        let n = table.len() as u32;
        let pseudo = match kind {
            Kind::Ipv4 => ipv4_pseudonym(n).to_string(),
            Kind::Ipv6 => ipv6_pseudonym(n).to_string(),
            Kind::Host => format!("host{}.example.com", n + 1),
            Kind::NetBios => format!("HOST{}", n + 1),
            Kind::Username => format!("rec_user{}", n + 1),
            Kind::Owner => format!("Owner {}", n + 1),
            Kind::Email => format!("user{}@example.com", n + 1),
            Kind::Subscription => format!("{}", 9_000_001 + n),
            Kind::Tag => format!("Tag {}", n + 1),
            Kind::Name => format!("Name {}", n + 1),
            Kind::FreeText => unreachable!("free text is handled above"),
        };
        table.insert(key, pseudo.clone());
        pseudo
    }

    /// An IPv4 address's pseudonym; loopback and unspecified addresses say nothing about a
    /// customer and stay.
    pub fn map_ipv4(&mut self, ip: Ipv4Addr) -> Ipv4Addr {
        if ip.is_loopback() || ip.is_unspecified() || ip.is_broadcast() {
            return ip;
        }
        self.map(Kind::Ipv4, &ip.to_string()).parse().unwrap_or(ip)
    }

    /// An IPv6 address's pseudonym; loopback and unspecified addresses stay.
    pub fn map_ipv6(&mut self, ip: Ipv6Addr) -> Ipv6Addr {
        if ip.is_loopback() || ip.is_unspecified() {
            return ip;
        }
        self.map(Kind::Ipv6, &ip.to_string()).parse().unwrap_or(ip)
    }

    /// Distinct values replaced per kind (free text: occurrences), for `redaction.toml`.
    pub fn report(&self) -> Vec<(Kind, u64, u64)> {
        let mut rows: Vec<(Kind, u64, u64)> = Kind::ALL
            .iter()
            .filter_map(|&k| {
                let occurrences = self.occurrences.get(&k).copied().unwrap_or(0);
                let distinct = match k {
                    Kind::FreeText => occurrences,
                    Kind::Username => {
                        self.tables.get(&k).map_or(0, |t| t.len() as u64)
                            + u64::from(self.username.is_some() && occurrences > 0)
                    }
                    _ => self.tables.get(&k).map_or(0, |t| t.len() as u64),
                };
                (occurrences > 0).then_some((k, distinct, occurrences))
            })
            .collect();
        rows.sort_by_key(|(k, _, _)| k.name());
        rows
    }

    /// The distinct IPv4 addresses replaced so far.
    pub fn ipv4_count(&self) -> u32 {
        self.tables.get(&Kind::Ipv4).map_or(0, |t| t.len() as u32)
    }

    /// Every original value of `kind` with its pseudonym (tests compare records modulo the
    /// mapping with it; it is never written).
    pub fn table(&self, kind: Kind) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = self
            .tables
            .get(&kind)
            .map(|t| t.iter().map(|(a, b)| (a.clone(), b.clone())).collect())
            .unwrap_or_default();
        if kind == Kind::Username
            && let Some((u, p)) = &self.username
        {
            rows.push((u.clone(), p.clone()));
        }
        rows
    }
}

/// `quays_ab1` -> `quays_rec1`: the platform identifier (the first character that is not a
/// lower-case letter) is kept, so the platform check still agrees with the platform URL.
pub fn username_pseudonym(username: &str) -> String {
    let identifier = username
        .chars()
        .find(|c| !c.is_ascii_lowercase())
        .filter(|c| crate::qualys::platform::platform_of_username(&c.to_string()).is_some())
        .unwrap_or('_');
    format!("quays{identifier}rec1")
}

/// A same-length stand-in for free text: every character that is not white space becomes `x`,
/// so line structure and length survive and nothing of the content does.
pub fn placeholder(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_whitespace() { c } else { 'x' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_pseudonyms_fill_the_documentation_ranges_then_ten_slash_eight() {
        assert_eq!(ipv4_pseudonym(0), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(ipv4_pseudonym(253), Ipv4Addr::new(192, 0, 2, 254));
        assert_eq!(ipv4_pseudonym(254), Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(ipv4_pseudonym(2 * 254), Ipv4Addr::new(203, 0, 113, 1));
        assert_eq!(ipv4_pseudonym(762), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(ipv4_pseudonym(762 + 255), Ipv4Addr::new(10, 0, 1, 0));
    }

    #[test]
    fn the_same_value_maps_the_same_way_and_different_values_differently() {
        let mut p = Pseudonyms::for_user(Some("quays3ab1"));
        let a = p.map(Kind::Host, "web01.corp.acme.test");
        assert_eq!(a, "host1.example.com");
        assert_eq!(p.map(Kind::Host, "WEB01.corp.acme.test"), a);
        assert_eq!(
            p.map(Kind::Host, "db01.corp.acme.test"),
            "host2.example.com"
        );
        assert_eq!(p.map(Kind::Username, "quays3ab1"), "quays3rec1");
        assert_eq!(
            p.map(Kind::FreeText, "line one\nline 2"),
            "xxxx xxx\nxxxx x"
        );
        let report = p.report();
        assert!(report.contains(&(Kind::Host, 2, 3)), "{report:?}");
    }

    #[test]
    fn a_username_without_a_platform_identifier_keeps_the_us1_underscore() {
        assert_eq!(username_pseudonym("quays_ab1"), "quays_rec1");
        assert_eq!(username_pseudonym("quays!ab1"), "quays!rec1");
        assert_eq!(username_pseudonym("someone"), "quays_rec1");
    }
}
