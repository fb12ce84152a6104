//! The tenant's WAS section: web applications with their tags, owners and last scans, and the
//! findings of those web applications (vulnerabilities, sensitive content and information
//! gathered).
//!
//! In a tenant file the section is the `[was]` table:
//!
//! ```toml
//! [[was.webapps]]
//! id = 238483924
//! name = "Shop & Checkout"
//! url = "https://shop.example.com/?lang=en&region=eu"
//! os = "Linux 3.10"                        # optional
//! owner = { id = 17729931, username = "quays_ab1", first_name = "Ada", last_name = "Example" }
//! scope = "ALL"                            # ALL (default), LIMIT, SUBDOMAIN, DOMAINS
//! tags = ["Production", "PCI & Card"]      # asset tag names; IDs come from the VMDR tags
//! is_scheduled = true
//! last_scan = { id = 5132004, status = "FINISHED", launched = "2024-05-20T02:00:00Z" }
//! created = "2023-11-02T10:00:00Z"        # default: appears_at (one of them is needed)
//! updated = "2024-05-20T03:10:00Z"         # default: created
//! appears_at = ...                         # and changes = [...]: see "Changes over time"
//! risk_score = 612                         # optional (TruRisk)
//! text = "escaped"                         # name and URL as escaped text instead of CDATA
//!
//! [[was.findings]]
//! id = 6816386
//! webapp = 238483924
//! qid = 150001
//! name = "Reflected Cross-Site Scripting (XSS) Vulnerabilities"
//! type = "VULNERABILITY"                   # or SENSITIVE_CONTENT, INFORMATION_GATHERED
//! severity = 5
//! status = "NEW"                           # NEW, ACTIVE, REOPENED, PROTECTED, FIXED; never on IG
//! url = "https://shop.example.com/search?q=x&page=2"   # vulnerabilities and sensitive content
//! first_detected = "2024-04-02T02:10:00Z"  # last_detected and last_tested default to it;
//!                                          # default: appears_at (one of them is needed)
//! group = "XSS"
//! cwe = [79]
//! owasp = [7]                              # OWASP Top 10 (2017) codes
//! wasc = [8]
//! ```
//!
//! # Changes over time
//!
//! As in the VMDR section (`tenant/vmdr.rs`), a web application or a finding can say what
//! changes after a moment, so that an incremental run (`updatedDate GREATER`, `lastTestedDate
//! GREATER`) gets exactly the changes while a full run sees the state at the tenant's `clock`
//! (moved by `POST /__sim/clock` or [`crate::sim::RunningSimulator::set_clock`]). Nothing is
//! visible before its time:
//!
//! ```toml
//! clock = "2024-06-10T00:00:00Z"
//!
//! [[was.webapps]]
//! id = 7
//! name = "Shop"
//! url = "https://shop.example.com/"
//! created = "2024-01-01T00:00:00Z"
//! [[was.webapps.changes]]                 # edited at `at`: updatedDate = at
//! at = "2024-06-15T00:00:00Z"
//! name = "Shop & Checkout"                # optional: the new name
//!
//! [[was.webapps]]
//! id = 8
//! name = "Careers"
//! url = "https://careers.example.com/"
//! appears_at = "2024-06-15T00:00:00Z"     # added then: absent before; created and updated are it
//!
//! [[was.findings]]
//! id = 70
//! webapp = 7
//! # ... first_detected, last_tested, status ...
//! [[was.findings.changes]]                # a scan at `at` tested it and found it fixed
//! at = "2024-06-15T00:00:00Z"
//! status = "FIXED"
//!
//! [[was.findings]]
//! id = 71
//! webapp = 7
//! appears_at = "2024-06-15T00:00:00Z"     # found by that scan: its dates default to appears_at
//! # ...
//! ```
//!
//! A finding's change is what a scan at `at` did, applied once the clock reaches `at`, in
//! order: the scan tested it (`lastTestedDate` = `at`); a `status` of `FIXED` sets `fixedDate`
//! = `at`; any other status (`NEW`, `ACTIVE`, `REOPENED`, `PROTECTED`) means it was detected
//! (`lastDetectedDate` = `at`, `timesDetected` + 1) and takes that status; without a `status`
//! the scan detected it again unless it is fixed, and a `NEW` finding becomes `ACTIVE`. An
//! information-gathered finding has no status: its changes are detections without one. A
//! `fixedDate` stays when a fixed finding is found again (`REOPENED`). A web application's
//! change is an edit at `at`: `updatedDate` = `at`, and `name` when given. Scans do not move a
//! web application's `updatedDate` (the simulator's reading of Qualys's "last update of the web
//! application"; fixtures/README.md), nor its `lastScan`, which stays as written.
//!
//! A finding without `appears_at` of its own appears with its web application. Appearing
//! records carry no date before or after the moment they appear: a web application's `created`
//! and `updated` are its `appears_at` (write them only equal to it); a finding's
//! `first_detected` defaults to its `appears_at`, and its `last_tested` (derived or written)
//! must be that moment, the scan that found it. Changes must be in time order, not before the
//! record appears, and not before the dates written on it; a finding must not appear before
//! its web application. [`WasData::at`] gives the section as it stands at a moment, and every
//! WAS handler answers from it.
//!
//! Merging: web applications and findings replace by `id`; `replace = ["web_apps"]` or
//! `["findings"]` start a section empty. Every finding must name a web application of the
//! tenant; an information-gathered finding has no status, URL, `times_detected` or ignore data
//! (Qualys sends none), so setting one is an error.
//!
//! # Scope
//!
//! Qualys mirrors each asset group as an asset tag of the same name (the system "Asset Groups"
//! tags), and WAS scopes a user's web applications by tags. So a user with `asset_groups` sees
//! the web applications tagged with one of those groups, and their findings; a user without
//! sees them all. (The simulator's reading of the scope rules; see fixtures/README.md.)

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::qualys::was::{FindingStatus, FindingType, ScanStatus};
use crate::sim::tenant::{TextStyle, User, VmdrData};
use crate::sim::timestamp::Timestamp;

use super::TenantSection;

/// The `[was]` table of a tenant file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasSpec {
    #[serde(default)]
    pub webapps: Vec<SimWebApp>,
    #[serde(default)]
    pub findings: Vec<SimFinding>,
}

/// A Qualys user as WAS names one (owner, creator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasUser {
    pub id: u64,
    pub username: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
}

/// A web application's last scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimScan {
    pub id: u64,
    /// Default: `"Web Application Vulnerability Scan - <web app> - <date>"`, as recorded.
    #[serde(default)]
    pub name: Option<String>,
    pub status: ScanStatus,
    /// `NONE` (default), `SUCCESSFUL`, `FAILED`, `PARTIAL`.
    #[serde(default)]
    pub auth_status: Option<String>,
    pub launched: Timestamp,
}

/// A web application of the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimWebApp {
    pub id: u64,
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub owner: Option<WasUser>,
    /// `ALL`, `LIMIT`, `SUBDOMAIN` or `DOMAINS`.
    #[serde(default = "scope_all")]
    pub scope: String,
    /// Asset tag names.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub is_scheduled: bool,
    #[serde(default)]
    pub last_scan: Option<SimScan>,
    /// `createdDate`; `appears_at` when absent (see [`SimWebApp::created`]).
    #[serde(default)]
    pub created: Option<Timestamp>,
    #[serde(default)]
    pub updated: Option<Timestamp>,
    #[serde(default)]
    pub risk_score: Option<u32>,
    /// How the name and URL are written.
    #[serde(default)]
    pub text: TextStyle,
    /// Added at this moment: absent from every answer before it (see the module documentation
    /// on changes over time).
    #[serde(default)]
    pub appears_at: Option<Timestamp>,
    /// Later edits, in time order.
    #[serde(default)]
    pub changes: Vec<WebAppChange>,
}

/// An edit of a web application at `at`: `updatedDate` becomes `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebAppChange {
    pub at: Timestamp,
    /// The new name.
    #[serde(default)]
    pub name: Option<String>,
}

/// What a scan at `at` found for a finding (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingChange {
    pub at: Timestamp,
    /// The status the scan gave it; without one, detected again unless fixed.
    #[serde(default)]
    pub status: Option<FindingStatus>,
}

impl SimWebApp {
    /// `createdDate`: the written one, else `appears_at` (checked to be one of them when the
    /// tenant is resolved).
    pub fn created(&self) -> Timestamp {
        self.created.or(self.appears_at).unwrap_or(Timestamp(0))
    }

    /// `updatedDate` (the creation when not set).
    pub fn updated(&self) -> Timestamp {
        self.updated.unwrap_or_else(|| self.created())
    }

    /// The web application at `now`: `None` before it appears, else with every edit up to
    /// `now` applied.
    pub fn at(&self, now: Timestamp) -> Option<SimWebApp> {
        if self.appears_at.is_some_and(|a| a > now) {
            return None;
        }
        let mut w = self.clone();
        for c in self.changes.iter().take_while(|c| c.at <= now) {
            w.updated = Some(c.at);
            if let Some(name) = &c.name {
                w.name = name.clone();
            }
        }
        Some(w)
    }

    fn has_history(&self) -> bool {
        self.appears_at.is_some() || !self.changes.is_empty()
    }
}

fn scope_all() -> String {
    "ALL".into()
}

fn qualys() -> String {
    "QUALYS".into()
}

/// A finding of one of the tenant's web applications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimFinding {
    pub id: u64,
    /// Derived from the id when absent.
    #[serde(default)]
    pub unique_id: Option<String>,
    /// The id of the web application.
    pub webapp: u64,
    pub qid: u32,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FindingType,
    #[serde(default)]
    pub potential: bool,
    /// `QUALYS` (default), `BURP`, `BUGCROWD`, `CUSTOM`.
    #[serde(default = "qualys")]
    pub finding_type: String,
    #[serde(default)]
    pub param: Option<String>,
    pub severity: u8,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub status: Option<FindingStatus>,
    /// `appears_at` (its own, else its web application's) when absent.
    #[serde(default)]
    pub first_detected: Option<Timestamp>,
    #[serde(default)]
    pub last_detected: Option<Timestamp>,
    #[serde(default)]
    pub last_tested: Option<Timestamp>,
    #[serde(default)]
    pub times_detected: Option<u32>,
    #[serde(default)]
    pub is_ignored: bool,
    /// `FALSE_POSITIVE`, `RISK_ACCEPTED`, `NOT_APPLICABLE`.
    #[serde(default)]
    pub ignored_reason: Option<String>,
    #[serde(default)]
    pub fixed: Option<Timestamp>,
    /// `XSS`, `SQL`, `INFO`, `PATH`, `CC`, `SSN_US`, `CUSTOM`.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub cwe: Vec<u32>,
    /// OWASP Top 10 (2017) codes, 1-10.
    #[serde(default)]
    pub owasp: Vec<u32>,
    /// WASC threat classification codes.
    #[serde(default)]
    pub wasc: Vec<u32>,
    #[serde(default)]
    pub detection_score: Option<u32>,
    #[serde(default)]
    pub cvss3_base: Option<f64>,
    /// What the verbose `resultList` shows as the payload; derived when absent.
    #[serde(default)]
    pub payload: Option<String>,
    /// Found first by a scan at this moment: absent from every answer before it (see the
    /// module documentation on changes over time). Its web application's when absent.
    #[serde(default)]
    pub appears_at: Option<Timestamp>,
    /// What later scans found, in time order.
    #[serde(default)]
    pub changes: Vec<FindingChange>,
}

impl SimFinding {
    /// `firstDetectedDate` (filled from `appears_at` when the tenant is resolved).
    pub fn first_detected(&self) -> Timestamp {
        self.first_detected
            .or(self.appears_at)
            .unwrap_or(Timestamp(0))
    }

    /// `lastDetectedDate` (the first detection when not set).
    pub fn last_detected(&self) -> Timestamp {
        self.last_detected.unwrap_or_else(|| self.first_detected())
    }

    /// The finding at `now`: `None` before it appears (its own `appears_at`, else its web
    /// application's, `webapp_appears`), else with every scan up to `now` applied.
    pub fn at(&self, webapp_appears: Option<Timestamp>, now: Timestamp) -> Option<SimFinding> {
        if self.appears_at.or(webapp_appears).is_some_and(|a| a > now) {
            return None;
        }
        let mut f = self.clone();
        for c in self.changes.iter().take_while(|c| c.at <= now) {
            f.apply(c);
        }
        Some(f)
    }

    /// What a scan at `c.at` found (see the module documentation).
    fn apply(&mut self, c: &FindingChange) {
        let detected = match c.status {
            Some(FindingStatus::Fixed) => {
                self.status = Some(FindingStatus::Fixed);
                self.fixed = Some(c.at);
                false
            }
            Some(status) => {
                self.status = Some(status);
                true
            }
            None if self.status == Some(FindingStatus::Fixed) => false,
            None => {
                if self.status == Some(FindingStatus::New) {
                    self.status = Some(FindingStatus::Active);
                }
                true
            }
        };
        if detected {
            self.last_detected = Some(c.at);
            if self.kind.is_detection() {
                self.times_detected = Some(self.times_detected.unwrap_or(1) + 1);
            }
        }
        self.last_tested = Some(c.at);
    }

    /// `lastTestedDate` (the last detection when not set).
    pub fn last_tested(&self) -> Timestamp {
        self.last_tested.unwrap_or_else(|| self.last_detected())
    }

    /// `uniqueId`: the given one, else a UUID-shaped value derived from the id.
    pub fn unique_id(&self) -> String {
        if let Some(u) = &self.unique_id {
            return u.clone();
        }
        let h = self.id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_4E5B;
        let g = h.rotate_left(29).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xFFFF,
            h & 0xFFF,
            (g >> 52) & 0xFFF,
            g & 0xFFFF_FFFF_FFFF
        )
    }
}

/// The resolved WAS section: web applications and findings sorted by id, tag IDs assigned.
#[derive(Debug, Clone, Default)]
pub struct WasData {
    pub webapps: Vec<SimWebApp>,
    pub findings: Vec<SimFinding>,
    /// Every tag name a web application uses, with its ID.
    pub tag_ids: BTreeMap<String, u64>,
}

impl WasData {
    /// Merges a `[was]` table over this section.
    pub fn merge(
        &mut self,
        spec: WasSpec,
        replace: &[TenantSection],
    ) -> std::result::Result<(), String> {
        if replace.contains(&TenantSection::WebApps) {
            self.webapps.clear();
        }
        if replace.contains(&TenantSection::Findings) {
            self.findings.clear();
        }
        let mut apps: BTreeMap<u64, SimWebApp> = std::mem::take(&mut self.webapps)
            .into_iter()
            .map(|w| (w.id, w))
            .collect();
        for w in spec.webapps {
            if w.id == 0 {
                return Err("a web application has id 0; Qualys ids are positive".into());
            }
            apps.insert(w.id, w);
        }
        self.webapps = apps.into_values().collect();
        let mut findings: BTreeMap<u64, SimFinding> = std::mem::take(&mut self.findings)
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
        for f in spec.findings {
            if f.id == 0 {
                return Err("a WAS finding has id 0; Qualys ids are positive".into());
            }
            findings.insert(f.id, f);
        }
        self.findings = findings.into_values().collect();
        Ok(())
    }

    /// Checks cross-references and fills the tag IDs: from the tenant's asset tags (VMDR) when
    /// the name is there, else new ones above every tag ID in use.
    pub fn resolve(&mut self, vmdr: &VmdrData) -> std::result::Result<(), String> {
        const SCOPES: [&str; 4] = ["ALL", "LIMIT", "SUBDOMAIN", "DOMAINS"];
        let appears: HashMap<u64, Option<Timestamp>> =
            self.webapps.iter().map(|w| (w.id, w.appears_at)).collect();
        let mut next_tag = vmdr
            .tags
            .values()
            .map(|t| t.id)
            .chain(self.tag_ids.values().copied())
            .max()
            .unwrap_or(7_000_000)
            .max(7_000_000)
            + 1;
        for w in &self.webapps {
            if !SCOPES.contains(&w.scope.as_str()) {
                return Err(format!(
                    "web application {}: scope {:?} is not one of {}",
                    w.id,
                    w.scope,
                    SCOPES.join(", ")
                ));
            }
            check_webapp_history(w)?;
            if w.updated.is_some_and(|u| u < w.created()) {
                return Err(format!(
                    "web application {}: updated comes before created",
                    w.id
                ));
            }
            for name in &w.tags {
                if !self.tag_ids.contains_key(name) {
                    let id = match vmdr.tag(name) {
                        Some(t) => t.id,
                        None => {
                            next_tag += 1;
                            next_tag - 1
                        }
                    };
                    self.tag_ids.insert(name.clone(), id);
                }
            }
        }
        for f in &mut self.findings {
            let (id, qid) = (f.id, f.qid);
            let at = |what: &str| format!("WAS finding {id} (QID {qid}): {what}");
            let Some(&webapp_appears) = appears.get(&f.webapp) else {
                return Err(at(&format!(
                    "web application {} is not in the tenant; add it under [[was.webapps]]",
                    f.webapp
                )));
            };
            if f.first_detected.is_none() {
                f.first_detected = f.appears_at.or(webapp_appears);
            }
            if f.first_detected.is_none() {
                return Err(at(
                    "needs first_detected (or appears_at, which first_detected defaults to)",
                ));
            }
            check_finding_history(f, webapp_appears).map_err(|e| at(&e))?;
            if !(1..=5).contains(&f.severity) {
                return Err(at("severity is not 1-5"));
            }
            if !f.kind.is_detection()
                && (f.status.is_some()
                    || f.url.is_some()
                    || f.times_detected.is_some()
                    || f.is_ignored
                    || f.ignored_reason.is_some())
            {
                return Err(at(
                    "an INFORMATION_GATHERED finding has no status, url, times_detected or ignore \
                     data (Qualys sends none); remove them",
                ));
            }
            if f.kind.is_detection() && f.status.is_none() {
                return Err(at(
                    "a vulnerability or sensitive-content finding needs a status",
                ));
            }
            if f.last_detected() < f.first_detected() || f.last_tested() < f.last_detected() {
                return Err(at(
                    "dates must not go backwards (first_detected <= last_detected <= last_tested)",
                ));
            }
            if f.owasp.iter().any(|c| !(1..=10).contains(c)) {
                return Err(at("OWASP codes are the Top 10's, 1-10"));
            }
        }
        Ok(())
    }

    /// The section as it stands at `now`: what appeared by then, with every change up to it
    /// applied. Borrowed as it is when nothing in it changes over time.
    pub fn at(&self, now: Timestamp) -> Cow<'_, WasData> {
        let changing = self.webapps.iter().any(SimWebApp::has_history)
            || self
                .findings
                .iter()
                .any(|f| f.appears_at.is_some() || !f.changes.is_empty());
        if !changing {
            return Cow::Borrowed(self);
        }
        let findings = self
            .findings
            .iter()
            .filter_map(|f| f.at(self.webapp(f.webapp)?.appears_at, now))
            .collect();
        Cow::Owned(WasData {
            webapps: self.webapps.iter().filter_map(|w| w.at(now)).collect(),
            findings,
            tag_ids: self.tag_ids.clone(),
        })
    }

    /// The web application with this id.
    pub fn webapp(&self, id: u64) -> Option<&SimWebApp> {
        self.webapps
            .binary_search_by_key(&id, |w| w.id)
            .ok()
            .map(|i| &self.webapps[i])
    }

    /// Whether `user` sees `webapp` (see the module documentation on scope).
    pub fn sees(user: &User, webapp: &SimWebApp) -> bool {
        match &user.asset_groups {
            None => true,
            Some(groups) => webapp.tags.iter().any(|t| groups.contains(t)),
        }
    }

    /// The tag ID of a tag name a web application uses.
    pub fn tag_id(&self, name: &str) -> u64 {
        self.tag_ids.get(name).copied().unwrap_or_default()
    }
}

/// Checks a web application's `appears_at` and `changes` (see the module documentation).
fn check_webapp_history(w: &SimWebApp) -> std::result::Result<(), String> {
    let at = |what: String| format!("web application {}: {what}", w.id);
    match w.appears_at {
        None if w.created.is_none() => {
            return Err(at(
                "needs created (or appears_at, which created defaults to)".into(),
            ));
        }
        None => {}
        Some(a) => {
            for (name, t) in [("created", w.created), ("updated", w.updated)] {
                if let Some(t) = t.filter(|t| *t != a) {
                    return Err(at(format!(
                        "{name} {t} is not its appears_at {a}: a web application added at a \
                         moment was created then, and edited only later; leave {name} out (it \
                         is appears_at) and write later edits as [[was.webapps.changes]]"
                    )));
                }
            }
        }
    }
    if let Some(p) = w.changes.windows(2).find(|p| p[1].at < p[0].at) {
        return Err(at(format!(
            "changes must be in time order; {} comes after {}",
            p[1].at, p[0].at
        )));
    }
    if let Some(c) = w.changes.first().filter(|c| c.at < w.updated()) {
        return Err(at(format!(
            "the change at {} comes before the web application's {} ({}); changes are later \
             edits",
            c.at,
            if w.appears_at.is_some() {
                "appears_at"
            } else {
                "updated date (or created)"
            },
            w.updated()
        )));
    }
    Ok(())
}

/// Checks a finding's `appears_at` and `changes` (see the module documentation); the message
/// is prefixed with the finding by the caller.
fn check_finding_history(
    f: &SimFinding,
    webapp_appears: Option<Timestamp>,
) -> std::result::Result<(), String> {
    if let (Some(own), Some(app)) = (f.appears_at, webapp_appears)
        && own < app
    {
        return Err(format!(
            "appears_at {own} comes before its web application {} appears ({app})",
            f.webapp
        ));
    }
    let appears = f.appears_at.or(webapp_appears);
    if let Some(a) = appears {
        if f.last_tested() != a {
            return Err(format!(
                "it appears at {a}, found by a scan then, so its last_tested must be {a}, not {}; \
                 leave last_detected and last_tested out (they default to first_detected, which \
                 defaults to appears_at) and write later scans as [[was.findings.changes]]",
                f.last_tested()
            ));
        }
        if let Some(x) = f.fixed.filter(|x| *x > a) {
            return Err(format!(
                "fixed {x} comes after the moment it appears ({a}); write a later fix as a \
                 change with status = \"FIXED\""
            ));
        }
    }
    if let Some(p) = f.changes.windows(2).find(|p| p[1].at < p[0].at) {
        return Err(format!(
            "changes must be in time order; {} comes after {}",
            p[1].at, p[0].at
        ));
    }
    if let Some(c) = f.changes.first() {
        if let Some(a) = appears.filter(|a| c.at < *a) {
            return Err(format!(
                "the change at {} comes before the finding appears ({a})",
                c.at
            ));
        }
        if c.at < f.last_tested() {
            return Err(format!(
                "the change at {} comes before its last_tested ({}); changes are later scans",
                c.at,
                f.last_tested()
            ));
        }
    }
    if !f.kind.is_detection() && f.changes.iter().any(|c| c.status.is_some()) {
        return Err(
            "an INFORMATION_GATHERED finding has no status, so its changes have none either \
             (each is a scan that found it again); remove status"
                .into(),
        );
    }
    Ok(())
}

// --- The demo tenant's section ---------------------------------------------------------------

const NOW: i64 = 1_717_200_000; // 2024-06-01T00:00:00Z
const DAY: i64 = 86_400;
const SEED: u64 = 0x0057_A5ED;

/// Web applications of the demo: (slug, name, path and query of the URL).
const APPS: &[(&str, &str, &str)] = &[
    ("portal", "Customer Portal", "/"),
    ("shop", "Shop & Checkout", "/?lang=en&region=eu"),
    ("partners", "Partner API", "/api/v2/"),
    ("payroll", "Payroll (Finance & HR)", "/login"),
    ("status", "Status Page", "/"),
    ("docs", "Developer Docs <beta>", "/docs/"),
    ("cms", "Legacy CMS", "/archive/]]/index.php"),
    ("support", "Support Desk", "/tickets?view=open&sort=desc"),
    ("careers", "Careers", "/"),
    ("intranet", "Intranet Wiki", "/wiki/Main_Page"),
    ("billing", "Billing", "/invoices?year=2024&q=a]]>b"),
    ("auth", "Single Sign-On", "/auth/realms/main"),
    ("media", "Media Library", "/assets/"),
    ("forms", "Forms & Surveys", "/f/"),
    ("reports", "Reporting", "/dashboards"),
    ("booking", "Room Booking", "/"),
    ("gateway", "Mobile Gateway", "/m/api"),
    ("blog", "Company Blog", "/"),
    ("vendors", "Vendor Onboarding", "/register?step=1&ref=mail"),
    ("metrics", "Metrics Explorer", "/"),
    ("legacy", "Legacy Orders", "/cgi-bin/orders.pl"),
    ("sandbox", "QA Sandbox", "/"),
];

const OWNERS: &[(u64, &str, &str, &str)] = &[
    (17_729_931, "quays_ab1", "Ada", "Example"),
    (17_729_932, "quays_wasown2", "Grace", "Sample"),
    (17_729_933, "quays_wasown3", "Linus", "Placeholder"),
];

/// (QID, type, severity, group, name, CWE, OWASP 2017, WASC, takes a parameter)
pub(crate) type QidRow = (
    u32,
    FindingType,
    u8,
    &'static str,
    &'static str,
    &'static [u32],
    &'static [u32],
    &'static [u32],
    bool,
);

pub(crate) const QIDS: &[QidRow] = {
    use FindingType::{InformationGathered as Ig, SensitiveContent as Sc, Vulnerability as V};
    &[
        (
            150001,
            V,
            5,
            "XSS",
            "Reflected Cross-Site Scripting (XSS) Vulnerabilities",
            &[79],
            &[7],
            &[8],
            true,
        ),
        (
            150003,
            V,
            5,
            "SQL",
            "SQL Injection",
            &[89],
            &[1],
            &[19],
            true,
        ),
        (
            150004,
            V,
            3,
            "PATH",
            "Path-Based Vulnerability",
            &[22],
            &[5],
            &[33],
            false,
        ),
        (
            150012,
            V,
            5,
            "SQL",
            "Blind SQL Injection",
            &[89],
            &[1],
            &[19],
            true,
        ),
        (
            150046,
            V,
            4,
            "XSS",
            "Reflected Cross-Site Scripting (XSS) in HTTP Header",
            &[79, 113],
            &[7],
            &[8],
            true,
        ),
        (
            150081,
            V,
            1,
            "INFO",
            "Possible Clickjacking Vulnerability",
            &[1021],
            &[6],
            &[15],
            false,
        ),
        (
            150122,
            V,
            2,
            "INFO",
            "Cookie Does Not Contain The \"secure\" Attribute",
            &[614],
            &[3],
            &[4],
            false,
        ),
        (
            150123,
            V,
            2,
            "INFO",
            "Cookie Does Not Contain The \"HTTPOnly\" Attribute",
            &[1004],
            &[6],
            &[15],
            false,
        ),
        (
            150158,
            V,
            5,
            "XSS",
            "Client Side Template Injection",
            &[79],
            &[7],
            &[8],
            true,
        ),
        (
            150202,
            V,
            3,
            "INFO",
            "Missing header: X-Content-Type-Options",
            &[16],
            &[6],
            &[15],
            false,
        ),
        (
            150206,
            V,
            2,
            "INFO",
            "Content-Security-Policy Not Implemented",
            &[1021],
            &[6],
            &[15],
            false,
        ),
        (
            150263,
            V,
            3,
            "INFO",
            "Insecure Transport",
            &[319],
            &[3],
            &[4],
            false,
        ),
        (
            150022,
            Sc,
            3,
            "CC",
            "Credit Card Number Disclosed",
            &[359],
            &[3],
            &[13],
            false,
        ),
        (
            150023,
            Sc,
            3,
            "SSN_US",
            "US Social Security Number Disclosed",
            &[359],
            &[3],
            &[13],
            false,
        ),
        (
            150024,
            Sc,
            2,
            "CUSTOM",
            "Custom Sensitive Content Pattern Found",
            &[200],
            &[3],
            &[13],
            false,
        ),
        (150009, Ig, 1, "INFO", "Links Crawled", &[], &[], &[], false),
        (
            150010,
            Ig,
            1,
            "INFO",
            "External Links Discovered",
            &[],
            &[],
            &[],
            false,
        ),
        (
            150020,
            Ig,
            1,
            "INFO",
            "Links Rejected By Crawl Scope or Exclusion List",
            &[],
            &[],
            &[],
            false,
        ),
        (
            150021,
            Ig,
            1,
            "INFO",
            "Scan Diagnostics",
            &[],
            &[],
            &[],
            false,
        ),
        (
            150028,
            Ig,
            1,
            "INFO",
            "Cookies Collected",
            &[],
            &[],
            &[],
            false,
        ),
        (
            150054,
            Ig,
            1,
            "INFO",
            "Email Addresses Collected",
            &[],
            &[],
            &[],
            false,
        ),
        (
            150176,
            Ig,
            1,
            "INFO",
            "In-scope JavaScript Libraries Detected",
            &[],
            &[],
            &[],
            false,
        ),
        (
            150208,
            Ig,
            2,
            "INFO",
            "Missing header: Referrer-Policy",
            &[],
            &[],
            &[],
            false,
        ),
        (
            150210,
            Ig,
            3,
            "INFO",
            "Information Disclosure via Response Header",
            &[200],
            &[6],
            &[13],
            false,
        ),
        (
            150247,
            Ig,
            1,
            "INFO",
            "Web Server and Technologies Detected",
            &[],
            &[],
            &[],
            false,
        ),
        (6, Ig, 1, "INFO", "DNS Host Name", &[], &[], &[], false),
    ]
};

const PARAMS: &[&str] = &["id", "q", "search&sort", "returnUrl", "page]]", "lang"];
const PATHS: &[&str] = &[
    "search?q=<x>&page=2",
    "account/settings",
    "cart/add?sku=7&qty=1",
    "download?file=..%2f..%2fetc%2fpasswd",
    "report]]>/view",
    "login",
];
const REASONS: &[&str] = &["FALSE_POSITIVE", "RISK_ACCEPTED", "NOT_APPLICABLE"];

/// The demo tenant's web applications and findings: 44 web applications (22 applications in
/// production and staging) and their findings of every type and status, from a fixed seed.
pub fn demo(vmdr: &VmdrData) -> WasData {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut webapps = Vec::new();
    let mut findings = Vec::new();
    let mut finding_id = 6_816_386u64;
    for i in 0..APPS.len() * 2 {
        let (slug, title, path) = APPS[i % APPS.len()];
        let staging = i >= APPS.len();
        let host = if staging {
            format!("{slug}-staging")
        } else {
            slug.to_string()
        };
        let name = if staging {
            format!("{title} (staging)")
        } else {
            title.to_string()
        };
        let url = format!("https://{host}.example.com{path}");
        let mut tags = vec![if staging { "Staging" } else { "Production" }.to_string()];
        match i % 3 {
            0 => tags.push("Data Center East".into()),
            1 => tags.push("Data Center West".into()),
            _ => {}
        }
        if rng.random_bool(0.3) {
            tags.push("PCI & Card".into());
        }
        if !staging && rng.random_bool(0.5) {
            tags.push("Internet Facing".into());
        }
        let created = Timestamp(NOW - (420 - 7 * i as i64) * DAY - rng.random_range(0..DAY));
        let updated = Timestamp(created.0 + rng.random_range(0..30) * DAY);
        let last_scan = (i % 9 != 8).then(|| {
            let launched = Timestamp(NOW - rng.random_range(1..60) * DAY - 7_200);
            let status = match rng.random_range(0..10) {
                0 => ScanStatus::ALL[i % ScanStatus::ALL.len()],
                _ => ScanStatus::Finished,
            };
            SimScan {
                id: 5_132_004 + 3 * i as u64,
                name: None,
                status,
                auth_status: Some(["NONE", "SUCCESSFUL", "FAILED"][i % 3].into()),
                launched,
            }
        });
        let (owner_id, username, first, last) = OWNERS[i % OWNERS.len()];
        let webapp = SimWebApp {
            id: 31_400_007 + 13 * i as u64,
            name,
            url,
            os: match i % 4 {
                0 => Some("Linux 3.10".into()),
                1 => Some("Windows Server 2019".into()),
                _ => None,
            },
            owner: (i % 10 != 9).then(|| WasUser {
                id: owner_id,
                username: username.into(),
                first_name: Some(first.into()),
                last_name: Some(last.into()),
            }),
            scope: match i % 13 {
                3 => "LIMIT",
                5 => "SUBDOMAIN",
                6 => "DOMAINS",
                _ => "ALL",
            }
            .into(),
            tags,
            is_scheduled: i % 2 == 0,
            last_scan,
            created: Some(created),
            updated: Some(updated),
            risk_score: (i % 6 != 5).then(|| rng.random_range(0..=1000)),
            text: if i % 5 == 4 {
                TextStyle::Escaped
            } else {
                TextStyle::Cdata
            },
            appears_at: None,
            changes: Vec::new(),
        };
        let count = 30 + (i * 7) % 21;
        for n in 0..count {
            finding_id += 1 + rng.random_range(0..3);
            findings.push(demo_finding(&mut rng, &webapp, finding_id, n));
        }
        webapps.push(webapp);
    }
    let mut was = WasData {
        webapps,
        findings,
        tag_ids: BTreeMap::new(),
    };
    // The demo data is generated to be valid; a failure here is a bug in this generator.
    if let Err(e) = was.resolve(vmdr) {
        panic!("the demo tenant's WAS section is invalid: {e}");
    }
    was
}

fn demo_finding(rng: &mut ChaCha8Rng, app: &SimWebApp, id: u64, n: usize) -> SimFinding {
    let pick = rng.random_range(0..100);
    let pool: Vec<&QidRow> = QIDS
        .iter()
        .filter(|q| match pick {
            0..50 => q.1 == FindingType::Vulnerability,
            50..58 => q.1 == FindingType::SensitiveContent,
            _ => q.1 == FindingType::InformationGathered,
        })
        .collect();
    let &(qid, kind, severity, group, name, cwe, owasp, wasc, takes_param) =
        pool[rng.random_range(0..pool.len())];
    let first = app.created().0 + rng.random_range(1..200) * DAY;
    let first = Timestamp(first.min(NOW - 30 * DAY));
    let last_detected = Timestamp(first.0 + rng.random_range(0..20) * DAY);
    let last_tested = Timestamp(last_detected.0 + rng.random_range(0..10) * DAY);
    let detection = kind.is_detection();
    // Every status appears on every web application with enough findings; the rest are drawn.
    let status = detection.then(|| match n % 7 {
        0 => FindingStatus::ALL[(n / 7) % FindingStatus::ALL.len()],
        _ => FindingStatus::ALL[rng.random_range(0..FindingStatus::ALL.len())],
    });
    let is_ignored = detection && rng.random_bool(0.06);
    let base = app
        .url
        .split('?')
        .next()
        .unwrap_or(&app.url)
        .trim_end_matches('/');
    SimFinding {
        id,
        unique_id: None,
        webapp: app.id,
        qid,
        name: name.into(),
        kind,
        potential: kind == FindingType::Vulnerability && rng.random_bool(0.15),
        finding_type: "QUALYS".into(),
        param: (takes_param && rng.random_bool(0.6))
            .then(|| PARAMS[rng.random_range(0..PARAMS.len())].to_string()),
        severity,
        url: detection.then(|| format!("{base}/{}", PATHS[rng.random_range(0..PATHS.len())])),
        status,
        first_detected: Some(first),
        last_detected: Some(last_detected),
        last_tested: Some(last_tested),
        times_detected: detection.then(|| rng.random_range(1..25)),
        is_ignored,
        ignored_reason: is_ignored.then(|| REASONS[rng.random_range(0..REASONS.len())].into()),
        fixed: (status == Some(FindingStatus::Fixed)).then_some(last_tested),
        group: Some(group.into()),
        cwe: cwe.to_vec(),
        owasp: owasp.to_vec(),
        wasc: wasc.to_vec(),
        detection_score: detection.then(|| {
            let band = u32::from(severity) * 20;
            rng.random_range(band - 19..=band)
        }),
        cvss3_base: (kind == FindingType::Vulnerability).then(|| {
            let b = [3.1, 4.3, 5.3, 7.5, 9.8][usize::from(severity) - 1];
            b - f64::from(rng.random_range(0..5u8)) / 10.0
        }),
        payload: None,
        appears_at: None,
        changes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::tenant::Tenant;

    #[test]
    fn the_demo_has_enough_web_apps_and_findings_of_every_type_and_status() {
        let t = Tenant::demo();
        let was = &t.was;
        assert!(was.webapps.len() >= 40, "{}", was.webapps.len());
        assert!(was.findings.len() >= 1500, "{}", was.findings.len());
        for kind in FindingType::ALL {
            assert!(was.findings.iter().any(|f| f.kind == kind), "{kind}");
        }
        for status in FindingStatus::ALL {
            assert!(
                was.findings.iter().any(|f| f.status == Some(status)),
                "{status:?}"
            );
        }
        assert!(was.webapps.windows(2).all(|w| w[0].id < w[1].id));
        assert!(was.findings.windows(2).all(|w| w[0].id < w[1].id));
        assert!(was.webapps.iter().any(|w| w.url.contains('&')));
        assert!(was.webapps.iter().any(|w| w.url.contains("]]>")));
        assert!(was.webapps.iter().any(|w| w.text == TextStyle::Escaped));
        let scoped = t.user("quays_scoped1").unwrap();
        let seen = was
            .webapps
            .iter()
            .filter(|w| WasData::sees(scoped, w))
            .count();
        assert!(seen > 0 && seen < was.webapps.len(), "{seen}");
        assert_eq!(
            was.tag_id("PCI & Card"),
            t.vmdr.tag("PCI & Card").unwrap().id
        );
    }

    #[test]
    fn a_was_table_with_replace_starts_empty_and_reuses_the_vmdr_tag_ids() {
        use crate::sim::tenant::TenantSpec;
        let spec = TenantSpec::from_toml(
            r#"
            replace = ["web_apps", "findings"]
            [[was.webapps]]
            id = 7
            name = "Shop & Co"
            url = "https://shop.example.com/?a=1&b=2"
            tags = ["PCI & Card", "Brand New Tag"]
            created = "2024-01-01T00:00:00Z"
            last_scan = { id = 9, status = "FINISHED", launched = "2024-05-01T00:00:00Z" }
            [[was.findings]]
            id = 70
            webapp = 7
            qid = 150001
            name = "XSS"
            type = "VULNERABILITY"
            severity = 5
            status = "NEW"
            first_detected = "2024-02-01T00:00:00Z"
            [[was.findings]]
            id = 71
            webapp = 7
            qid = 6
            name = "DNS Host Name"
            type = "INFORMATION_GATHERED"
            severity = 1
            first_detected = "2024-02-01T00:00:00Z"
            "#,
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let t = Tenant::from_spec(spec).unwrap();
        assert_eq!(t.was.webapps.len(), 1);
        assert_eq!(t.was.findings.len(), 2);
        assert_eq!(
            t.was.tag_id("PCI & Card"),
            t.vmdr.tag("PCI & Card").unwrap().id
        );
        let new = t.was.tag_id("Brand New Tag");
        assert!(new > 7_000_000 && t.vmdr.tags.values().all(|x| x.id != new));
        assert_eq!(t.was.webapps[0].scope, "ALL");
        let e = TenantSpec::from_toml("[was]\nwebapp = []\n", std::path::Path::new("t.toml"))
            .unwrap_err();
        assert!(e.to_string().contains("webapp"), "{e}");
    }

    #[test]
    fn a_was_table_without_replace_overrides_the_demo_web_app_of_the_same_id() {
        use crate::sim::tenant::TenantSpec;
        let demo = Tenant::demo();
        let first = &demo.was.webapps[0];
        let spec = TenantSpec::from_toml(
            &format!(
                "[[was.webapps]]\nid = {}\nname = \"Renamed\"\nurl = \"https://renamed.example.com/\"\n\
                 created = \"2024-01-01T00:00:00Z\"\n",
                first.id
            ),
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let t = Tenant::from_spec(spec).unwrap();
        assert_eq!(t.was.webapps.len(), demo.was.webapps.len());
        assert_eq!(t.was.findings.len(), demo.was.findings.len());
        let merged = t.was.webapps.iter().find(|w| w.id == first.id).unwrap();
        assert_eq!(merged.name, "Renamed");
        assert_ne!(first.name, "Renamed");
    }

    /// A tenant of the WAS table `was` alone (no demo web applications or findings).
    fn history(was: &str) -> std::result::Result<Tenant, String> {
        use crate::sim::tenant::TenantSpec;
        let text = format!("replace = [\"web_apps\", \"findings\"]\n{was}");
        let spec = TenantSpec::from_toml(&text, std::path::Path::new("t.toml"))
            .map_err(|e| e.to_string())?;
        Tenant::from_spec(spec).map_err(|e| e.to_string())
    }

    const APP: &str = r#"
        [[was.webapps]]
        id = 7
        name = "Shop"
        url = "https://shop.example.com/"
        created = "2024-01-01T00:00:00Z"
        "#;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn a_finding_change_is_a_scan_that_tests_it_and_nothing_shows_before_its_time() {
        let t = history(&format!(
            r#"{APP}
            [[was.webapps.changes]]
            at = "2024-06-15T00:00:00Z"
            name = "Shop & Checkout"
            [[was.webapps]]
            id = 8
            name = "Careers"
            url = "https://careers.example.com/"
            appears_at = "2024-06-15T00:00:00Z"
            [[was.findings]]
            id = 70
            webapp = 7
            qid = 150001
            name = "XSS"
            type = "VULNERABILITY"
            severity = 5
            status = "NEW"
            times_detected = 1
            first_detected = "2024-05-01T00:00:00Z"
            [[was.findings.changes]]
            at = "2024-06-15T00:00:00Z"
            [[was.findings.changes]]
            at = "2024-06-20T00:00:00Z"
            status = "FIXED"
            [[was.findings]]
            id = 71
            webapp = 8
            qid = 6
            name = "DNS Host Name"
            type = "INFORMATION_GATHERED"
            severity = 1
            [[was.findings.changes]]
            at = "2024-06-16T00:00:00Z"
            "#
        ))
        .unwrap();
        let was = &t.was;
        let before = was.at(ts("2024-06-10T00:00:00Z"));
        assert_eq!(before.webapps.len(), 1, "web app 8 is added on 2024-06-15");
        assert_eq!(before.webapps[0].name, "Shop");
        assert_eq!(before.webapps[0].updated(), ts("2024-01-01T00:00:00Z"));
        assert_eq!(before.findings.len(), 1, "finding 71 comes with web app 8");
        let f = &before.findings[0];
        assert_eq!(
            (f.status, f.last_tested(), f.times_detected),
            (
                Some(FindingStatus::New),
                ts("2024-05-01T00:00:00Z"),
                Some(1)
            )
        );

        let retested = was.at(ts("2024-06-16T00:00:00Z"));
        let app = retested.webapp(7).unwrap();
        assert_eq!(
            (app.name.as_str(), app.updated()),
            ("Shop & Checkout", ts("2024-06-15T00:00:00Z"))
        );
        let new = retested.webapp(8).unwrap();
        assert_eq!(
            (new.created(), new.updated()),
            (ts("2024-06-15T00:00:00Z"), ts("2024-06-15T00:00:00Z"))
        );
        let f = &retested.findings[0];
        assert_eq!(
            (
                f.status,
                f.last_detected(),
                f.last_tested(),
                f.times_detected,
                f.fixed
            ),
            (
                Some(FindingStatus::Active),
                ts("2024-06-15T00:00:00Z"),
                ts("2024-06-15T00:00:00Z"),
                Some(2),
                None
            ),
            "found again: NEW becomes ACTIVE"
        );
        let ig = &retested.findings[1];
        assert_eq!(
            (ig.first_detected(), ig.last_tested(), ig.times_detected),
            (ts("2024-06-15T00:00:00Z"), ts("2024-06-16T00:00:00Z"), None),
            "an information-gathered finding is dated from its web app and has no count"
        );

        let fixed = was.at(ts("2024-06-21T00:00:00Z"));
        let f = &fixed.findings[0];
        assert_eq!(
            (
                f.status,
                f.last_detected(),
                f.last_tested(),
                f.fixed,
                f.times_detected
            ),
            (
                Some(FindingStatus::Fixed),
                ts("2024-06-15T00:00:00Z"),
                ts("2024-06-20T00:00:00Z"),
                Some(ts("2024-06-20T00:00:00Z")),
                Some(2)
            ),
            "found fixed: tested, not detected"
        );
        assert!(
            matches!(
                Tenant::demo().was.at(ts("2024-06-21T00:00:00Z")),
                Cow::Borrowed(_)
            ),
            "a section without history is served as it is"
        );
    }

    #[test]
    fn a_history_that_cannot_have_happened_is_refused_with_what_to_change() {
        let finding = |extra: &str| {
            format!(
                r#"{APP}
                [[was.findings]]
                id = 70
                webapp = 7
                qid = 150001
                name = "XSS"
                type = "VULNERABILITY"
                severity = 5
                status = "NEW"
                {extra}"#
            )
        };
        let cases = [
            (
                finding(
                    "first_detected = \"2024-05-01T00:00:00Z\"\n\
                     [[was.findings.changes]]\nat = \"2024-06-20T00:00:00Z\"\n\
                     [[was.findings.changes]]\nat = \"2024-06-15T00:00:00Z\"",
                ),
                "changes must be in time order; 2024-06-15T00:00:00Z comes after 2024-06-20T00:00:00Z",
            ),
            (
                finding(
                    "appears_at = \"2024-06-15T00:00:00Z\"\n\
                     [[was.findings.changes]]\nat = \"2024-06-10T00:00:00Z\"",
                ),
                "the change at 2024-06-10T00:00:00Z comes before the finding appears",
            ),
            (
                finding(
                    "first_detected = \"2024-05-01T00:00:00Z\"\n\
                     last_tested = \"2024-06-01T00:00:00Z\"\n\
                     [[was.findings.changes]]\nat = \"2024-05-20T00:00:00Z\"",
                ),
                "comes before its last_tested (2024-06-01T00:00:00Z)",
            ),
            (
                finding(
                    "first_detected = \"2024-05-01T00:00:00Z\"\nappears_at = \"2024-06-15T00:00:00Z\"",
                ),
                "so its last_tested must be 2024-06-15T00:00:00Z",
            ),
            (finding(""), "needs first_detected (or appears_at"),
            (
                format!("{APP}\n[[was.webapps.changes]]\nat = \"2023-12-01T00:00:00Z\"\n"),
                "web application 7: the change at 2023-12-01T00:00:00Z comes before",
            ),
            (
                "[[was.webapps]]\nid = 9\nname = \"N\"\nurl = \"https://n.example.com/\"\n\
                 appears_at = \"2024-06-15T00:00:00Z\"\ncreated = \"2024-01-01T00:00:00Z\"\n"
                    .to_string(),
                "created 2024-01-01T00:00:00Z is not its appears_at",
            ),
            (
                "[[was.webapps]]\nid = 9\nname = \"N\"\nurl = \"https://n.example.com/\"\n"
                    .to_string(),
                "web application 9: needs created (or appears_at",
            ),
            (
                "[[was.webapps]]\nid = 9\nname = \"N\"\nurl = \"https://n.example.com/\"\n\
                 appears_at = \"2024-06-15T00:00:00Z\"\n\
                 [[was.findings]]\nid = 90\nwebapp = 9\nqid = 6\nname = \"DNS\"\n\
                 type = \"INFORMATION_GATHERED\"\nseverity = 1\n\
                 appears_at = \"2024-06-01T00:00:00Z\"\n"
                    .to_string(),
                "appears_at 2024-06-01T00:00:00Z comes before its web application 9 appears",
            ),
            (
                "[[was.webapps]]\nid = 9\nname = \"N\"\nurl = \"https://n.example.com/\"\n\
                 created = \"2024-01-01T00:00:00Z\"\n\
                 [[was.findings]]\nid = 90\nwebapp = 9\nqid = 6\nname = \"DNS\"\n\
                 type = \"INFORMATION_GATHERED\"\nseverity = 1\n\
                 first_detected = \"2024-02-01T00:00:00Z\"\n\
                 [[was.findings.changes]]\nat = \"2024-06-01T00:00:00Z\"\nstatus = \"FIXED\"\n"
                    .to_string(),
                "its changes have none either",
            ),
        ];
        for (tenant, expected) in cases {
            let e = history(&tenant).expect_err(&tenant);
            assert!(e.contains(expected), "{expected:?} not in:\n{e}");
        }
    }

    #[test]
    fn a_finding_must_name_a_web_app_and_information_gathered_has_no_status() {
        let t = Tenant::demo();
        let mut was = t.was.clone();
        let mut f = was.findings[0].clone();
        f.id = 1;
        f.webapp = 99;
        was.findings.insert(0, f);
        let e = was.resolve(&t.vmdr).unwrap_err();
        assert!(e.contains("web application 99 is not in the tenant"), "{e}");
        let mut was = t.was.clone();
        let ig = was
            .findings
            .iter_mut()
            .find(|f| f.kind == FindingType::InformationGathered)
            .unwrap();
        ig.status = Some(FindingStatus::New);
        let e = was.resolve(&t.vmdr).unwrap_err();
        assert!(e.contains("INFORMATION_GATHERED"), "{e}");
    }
}
