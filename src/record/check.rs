//! `qharness record --check DIR`: does anything in a replay set still look like customer data?
//!
//! Every file of the set is scanned in bounded pieces for IPv4 addresses outside the
//! documentation ranges (and outside the part of 10.0.0.0/8 the set's own pseudonyms used, as
//! `redaction.toml` says), IPv6 addresses outside 2001:db8::/32, e-mail addresses outside
//! `example.com`, the original username when it is known, Basic or Bearer credentials and JWTs,
//! and `qualys.com` hosts other than the shared platforms'. Each finding names the file and the
//! byte offset.

use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::pseudonyms::{IPV4_DOC_CAPACITY, ipv4_pseudonym};
use crate::error::{Error, Result};
use crate::qualys::platform::PLATFORMS;

/// Something that looks unredacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    /// Byte offset of the match in the file.
    pub offset: u64,
    /// What it looks like, e.g. "an IPv4 address outside the documentation ranges".
    pub what: &'static str,
    /// The text matched (cut to 80 characters).
    pub text: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: byte {}: {}: {:?}",
            self.file.display(),
            self.offset,
            self.what,
            self.text
        )
    }
}

static SUSPECTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        (?P<cred>\b(?:basic|bearer)\s+[A-Za-z0-9+/=._~-]{8,})
        | (?P<jwt>\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.)
        | (?P<qualys>\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.qualys\.com\b)
        | (?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})
        | (?P<v4>\b\d{1,3}(?:\.\d{1,3}){3}\b)
        | (?P<v6>[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})",
    )
    .expect("the suspect pattern is valid")
});

/// What the check accepts.
struct Allowed {
    /// The last 10.0.0.0/8 pseudonym the set used, if it used any.
    ten_up_to: Option<Ipv4Addr>,
    username: Option<String>,
}

/// Scans every file of the set in `dir`; `username` is the original user when known.
pub fn check_set(dir: &Path, username: Option<&str>) -> Result<Vec<Finding>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("listing the recording", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if !files.iter().any(|f| f.ends_with("manifest.toml")) {
        return Err(Error::InvalidFile {
            path: dir.to_path_buf(),
            problem: "no manifest.toml: not a replay set (give the directory `--record` or `qharness record --out` wrote)".into(),
        });
    }
    let ipv4_used = std::fs::read_to_string(dir.join("redaction.toml"))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("ipv4_pseudonyms").and_then(|v| v.as_integer()))
        .unwrap_or(0) as u32;
    let allowed = Allowed {
        ten_up_to: (ipv4_used > IPV4_DOC_CAPACITY).then(|| ipv4_pseudonym(ipv4_used - 1)),
        username: username.filter(|u| !u.is_empty()).map(str::to_string),
    };
    let mut findings = Vec::new();
    for f in files {
        scan_file(&f, &allowed, &mut findings)?;
    }
    Ok(findings)
}

fn scan_file(path: &Path, allowed: &Allowed, findings: &mut Vec<Finding>) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("reading", path, e))?;
    let mut buf = vec![0u8; 1024 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut base: u64 = 0;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("reading", path, e))?;
        carry.extend_from_slice(&buf[..n]);
        let cut = if n == 0 {
            carry.len()
        } else {
            match carry
                .iter()
                .rposition(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'<' | b'>' | b'"'))
            {
                Some(i) if carry.len() - i < buf.len() => i + 1,
                _ => carry.len(),
            }
        };
        let text = String::from_utf8_lossy(&carry[..cut]);
        scan_text(path, base, &text, allowed, findings);
        base += cut as u64;
        carry.drain(..cut);
        if n == 0 {
            return Ok(());
        }
    }
}

fn scan_text(path: &Path, base: u64, text: &str, allowed: &Allowed, out: &mut Vec<Finding>) {
    let mut push = |offset: usize, what: &'static str, m: &str| {
        out.push(Finding {
            file: path.to_path_buf(),
            offset: base + offset as u64,
            what,
            text: m.chars().take(80).collect(),
        })
    };
    if let Some(u) = &allowed.username {
        for (at, _) in text.match_indices(u.as_str()) {
            push(at, "the original username", u);
        }
    }
    for caps in SUSPECTS.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        let s = m.as_str();
        let what = if caps.name("cred").is_some() {
            Some("credentials (Basic or Bearer)")
        } else if caps.name("jwt").is_some() {
            Some("a JWT")
        } else if caps.name("qualys").is_some() {
            let host = s.to_ascii_lowercase();
            let platform = PLATFORMS
                .iter()
                .any(|p| host == p.api_host || host == p.gateway_host || host == p.ui_host);
            (!platform).then_some("a qualys.com host that is not a shared platform's")
        } else if caps.name("email").is_some() {
            let domain = s.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
            let documentation = ["example.com", "example.org", "example.net"]
                .iter()
                .any(|d| domain == *d || domain.ends_with(&format!(".{d}")));
            (!documentation).then_some("an e-mail address")
        } else if caps.name("v4").is_some() {
            s.parse::<Ipv4Addr>()
                .ok()
                .filter(|ip| !ipv4_allowed(*ip, allowed.ten_up_to))
                .map(|_| "an IPv4 address outside the documentation ranges")
        } else {
            (s.matches(':').count() >= 2)
                .then(|| s.parse::<Ipv6Addr>().ok())
                .flatten()
                .filter(|ip| !ipv6_allowed(*ip))
                .map(|_| "an IPv6 address outside 2001:db8::/32")
        };
        if let Some(what) = what {
            push(m.start(), what, s);
        }
    }
}

fn ipv4_allowed(ip: Ipv4Addr, ten_up_to: Option<Ipv4Addr>) -> bool {
    let [a, b, c, _] = ip.octets();
    matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113))
        || ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ten_up_to.is_some_and(|last| {
            a == 10 && u32::from(ip) > u32::from(Ipv4Addr::new(10, 0, 0, 0)) && ip <= last
        })
}

fn ipv6_allowed(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    (s[0] == 0x2001 && s[1] == 0xdb8) || ip.is_loopback() || ip.is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn every_kind_of_leak_is_found_with_its_file_and_offset() {
        let dir = set(&[
            ("manifest.toml", "[[fixtures]]\n"),
            (
                "0001-detection.xml",
                "<IP>192.0.2.1</IP><IP>10.20.30.40</IP><E>ops@acme.test</E><U>quays_ab1</U>\
                 <A>Authorization: Basic cXVheXNfYWIxOmRlbW8=</A><H>qualysapi.acme.qualys.com</H>\
                 <H>qualysapi.qualys.com</H><V6>fe80::1</V6><V6>2001:db8::7</V6><M>user1@example.com</M>",
            ),
        ]);
        let found = check_set(dir.path(), Some("quays_ab1")).unwrap();
        let whats: Vec<(&str, u64)> = found.iter().map(|f| (f.what, f.offset)).collect();
        assert_eq!(
            whats,
            [
                ("the original username", 61),
                ("an IPv4 address outside the documentation ranges", 22),
                ("an e-mail address", 41),
                ("credentials (Basic or Bearer)", 92),
                ("a qualys.com host that is not a shared platform's", 125),
                ("an IPv6 address outside 2001:db8::/32", 185),
            ]
        );
        assert!(found[0].to_string().contains("0001-detection.xml: byte 61"));
    }

    #[test]
    fn the_ten_slash_eight_pseudonyms_of_a_large_set_pass_but_no_further() {
        let dir = set(&[
            ("manifest.toml", "x"),
            ("redaction.toml", "ipv4_pseudonyms = 764\n"),
            ("b.txt", "10.0.0.1 10.0.0.2 10.0.0.3"),
        ]);
        let found = check_set(dir.path(), None).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].text, "10.0.0.3");
    }
}
