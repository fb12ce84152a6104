//! The tenant: the Qualys subscription the simulator models.
//!
//! A tenant is written as TOML and read into [`TenantSpec`], a partial description that is merged
//! over a base tenant (the embedded demo tenant unless `base = "empty"`). Resolving a spec gives a
//! [`Tenant`]: users, limits, faults, tags, hosts sorted by ID, a KnowledgeBase and an optional
//! synthetic population. The engine only ever reads a resolved `Tenant`.
//!
//! ```toml
//! base = "demo"                      # or "empty"; default "demo"
//! replace = ["hosts"]                # sections to replace instead of merging into the base
//!
//! clock = "2024-06-10T00:00:00Z"     # the moment answers are given at; default: the real time
//!
//! [[users]]
//! login = "quays_ci1"
//! password = "ci-secret"
//! permissions = ["manage_vm"]        # default: all three
//! limits = { rate_limit = 2, rate_window_secs = 1 }   # a budget of this user's own
//! asset_groups = ["Data Center East"]                 # sees only these groups' hosts
//!
//! [limits]                           # the subscription's budget (Qualys Standard: 300/3600 s, 2),
//! concurrency_limit = 2              # shared by its users; per_user = true counts them apart
//!
//! require_requested_with = false     # true: /api/N.0 calls without X-Requested-With get 400
//!
//! [[faults]]
//! kind = "server_error"
//! status = 503
//! route = "detection"
//! first = 2
//!
//! cvss_scoring = true               # the KnowledgeBase shows CVSS (demo: on; empty: off)
//!
//! [[asset_groups]]
//! title = "Data Center East"
//!
//! [[hosts]]
//! id = 101
//! ip = "192.0.2.10"
//! os = "Ubuntu 22.04"
//! tags = ["Production", "PCI & Card"]
//! asset_groups = ["Data Center East"]
//! [[hosts.detections]]
//! qid = 38170
//! type = "Confirmed"
//! status = "Active"
//! kernel = "running"
//! [[hosts.detections.changes]]        # a later scan found it fixed (see `vmdr`)
//! at = "2024-06-15T00:00:00Z"
//! status = "Fixed"
//! ```
//!
//! Merging rules: `users` replace by login, `hosts` by ID, `knowledge_base` by QID, `tags` by
//! name, `asset_groups` by title; `faults` are appended; `limits` override field by field; `synthetic` replaces. A section
//! named in `replace` starts empty instead of from the base. Unknown keys are errors, so a typo
//! never silently changes what a test means.
//!
//! # Sections
//!
//! A tenant is the accounts section ([`accounts`]: users, limits, faults), which every API family
//! reads to authenticate and authorise, plus one data section per module: [`vmdr`] (tags,
//! hosts, KnowledgeBase, synthetic population) and [`was`] (web applications and findings, the
//! `[was]` table). A section is three things in its own file: its
//! written form (the keys of [`TenantSpec`]), its resolved form (a field of [`Tenant`]), and a
//! `merge` + `resolve` pair that [`Tenant::merge`] calls. Policy Compliance and WAS plug in the
//! same way, as `tenant/pc.rs` and `tenant/was.rs` with tables of their own in the file (`[pc]`,
//! `[was]`: a `pc: Option<PcSpec>` field here, a `pc: PcData` field on [`Tenant`], one call in
//! [`Tenant::merge`]). VMDR's keys sit at the top level of the file because VMDR came first and
//! existing tenant files and scenarios use them.
//!
//! [`demo`] builds the embedded demo tenant.

pub mod accounts;
pub mod demo;
pub mod pc;
pub mod vmdr;
pub mod was;

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sim::engine::fault::FaultRule;
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::synthetic::SyntheticSpec;

pub use accounts::{AccountState, Budget, Limits, LimitsSpec, User};
pub use pc::{PcData, PcSpec};
pub use vmdr::{
    AssetGroup, AssetGroupSpec, DetectionChange, KernelState, SimDetection, SimHost, SimVuln, Tag,
    TagSpec, TextStyle, VmdrData, VmdrSpec,
};
pub use was::{SimFinding, SimScan, SimWebApp, WasData, WasSpec, WasUser};

/// Where a tenant file starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantBase {
    /// The embedded demo tenant ([`Tenant::demo`]).
    #[default]
    Demo,
    /// Nothing: no users, no hosts, default limits.
    Empty,
}

/// A tenant section that `replace` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantSection {
    Users,
    Faults,
    Tags,
    AssetGroups,
    Hosts,
    KnowledgeBase,
    /// `[[was.webapps]]`.
    WebApps,
    /// `[[was.findings]]`.
    Findings,
}

/// A tenant as written in a TOML file or inline in a scenario (`[server.tenant]`).
///
/// Every field is optional; see the module documentation for how it merges over its base.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// The tenant this one starts from; `demo` when absent.
    #[serde(default)]
    pub base: Option<TenantBase>,
    /// Sections that replace the base's instead of merging into it.
    #[serde(default)]
    pub replace: Vec<TenantSection>,
    /// A name shown in logs and the about page.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// Answer `/api/N.0/` calls without an `X-Requested-With` header as Qualys does (HTTP 400,
    /// CODE 1903; the shape is the simulator's choice, see fixtures/README.md). Off by default.
    #[serde(default)]
    pub require_requested_with: Option<bool>,
    /// The tenant's clock: the moment answers are given at (changes after it are not visible
    /// yet); the real time when absent. See `vmdr`, `pc` and `was` on changes over time.
    #[serde(default)]
    pub clock: Option<Timestamp>,
    // The VMDR section (see `vmdr`), at the top level of the file.
    #[serde(default)]
    pub tags: Vec<TagSpec>,
    #[serde(default)]
    pub asset_groups: Vec<AssetGroupSpec>,
    #[serde(default)]
    pub hosts: Vec<SimHost>,
    #[serde(default)]
    pub knowledge_base: Vec<SimVuln>,
    /// A generated population served after (by ID) the listed hosts.
    #[serde(default)]
    pub synthetic: Option<SyntheticSpec>,
    /// The subscription's "CVSS Scoring" option: the KnowledgeBase shows CVSS and CVSS_V3 only
    /// when it is on (on in the demo tenant, off in an empty one).
    #[serde(default)]
    pub cvss_scoring: Option<bool>,
    /// The Policy Compliance section (see `pc`), merged over the base's by ID.
    #[serde(default)]
    pub pc: Option<PcSpec>,
    /// The WAS section (see `was`): web applications and their findings.
    #[serde(default)]
    pub was: Option<WasSpec>,
}

impl TenantSpec {
    /// Parses a tenant from TOML text; `origin` names the file in error messages.
    pub fn from_toml(text: &str, origin: &Path) -> Result<TenantSpec> {
        toml::from_str(text).map_err(|e| Error::InvalidFile {
            path: origin.to_path_buf(),
            problem: format!("not a valid tenant file: {e}"),
        })
    }

    /// Reads and parses a tenant file.
    pub fn load(path: &Path) -> Result<TenantSpec> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io("reading tenant file", path, e))?;
        TenantSpec::from_toml(&text, path)
    }
}

/// A resolved tenant: what the engine serves.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub users: Vec<User>,
    pub limits: Limits,
    pub faults: Vec<FaultRule>,
    /// `/api/N.0/` calls must carry `X-Requested-With`.
    pub require_requested_with: bool,
    /// The moment answers are given at when the simulator starts; the real time when `None`.
    pub clock: Option<Timestamp>,
    /// The VMDR section: tags, hosts, KnowledgeBase, synthetic population.
    pub vmdr: VmdrData,
    /// The Policy Compliance section: technologies, controls, policies and their hosts.
    pub pc: PcData,
    /// The WAS section: web applications and findings.
    pub was: WasData,
}

impl Tenant {
    /// A tenant with nothing in it.
    pub fn empty() -> Tenant {
        Tenant {
            name: "empty".into(),
            users: Vec::new(),
            limits: Limits::default(),
            faults: Vec::new(),
            require_requested_with: false,
            clock: None,
            vmdr: VmdrData::default(),
            pc: PcData::default(),
            was: WasData::default(),
        }
    }

    /// The embedded demo tenant. Deterministic: every call returns the same data.
    pub fn demo() -> Tenant {
        crate::sim::tenant::demo::tenant()
    }

    /// The demo tenant's users serving only `population`, with the rate limit lifted: what
    /// benchmarks and throughput scenarios stream from, run after run.
    pub fn streaming(population: SyntheticSpec) -> std::result::Result<Tenant, String> {
        Tenant::from_spec(TenantSpec {
            replace: vec![TenantSection::Hosts],
            synthetic: Some(population),
            limits: Some(LimitsSpec {
                rate_limit: Some(u32::MAX),
                ..LimitsSpec::default()
            }),
            ..TenantSpec::default()
        })
    }

    /// Resolves a spec over its base.
    pub fn from_spec(spec: TenantSpec) -> std::result::Result<Tenant, String> {
        let base = match spec.base.unwrap_or_default() {
            TenantBase::Demo => Tenant::demo(),
            TenantBase::Empty => Tenant::empty(),
        };
        base.merge(spec)
    }

    /// Reads, parses and resolves a tenant file.
    pub fn load(path: &Path) -> Result<Tenant> {
        let spec = TenantSpec::load(path)?;
        Tenant::from_spec(spec).map_err(|problem| Error::InvalidFile {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// This tenant with `spec` merged over it (see the module documentation).
    pub fn merge(mut self, spec: TenantSpec) -> std::result::Result<Tenant, String> {
        // Destructured so a new section cannot be added to the spec and forgotten here.
        let TenantSpec {
            base: _,
            replace,
            name,
            users,
            limits,
            faults,
            require_requested_with,
            clock,
            tags,
            asset_groups,
            hosts,
            knowledge_base,
            synthetic,
            cvss_scoring,
            pc,
            was,
        } = spec;
        let replaces = |s: TenantSection| replace.contains(&s);
        if let Some(name) = name {
            self.name = name;
        }
        if replaces(TenantSection::Users) {
            self.users.clear();
        }
        for user in users {
            if user.login.is_empty() {
                return Err("a user has an empty login".into());
            }
            if let Some(key) = user
                .limits
                .as_ref()
                .and_then(LimitsSpec::user_level_problem)
            {
                return Err(format!(
                    "user {:?}: {key} is a setting of the subscription's budget; set it in [limits], not in a user's limits",
                    user.login
                ));
            }
            match self.users.iter_mut().find(|u| u.login == user.login) {
                Some(existing) => *existing = user,
                None => self.users.push(user),
            }
        }
        if let Some(limits) = &limits {
            self.limits = self.limits.merged(limits);
        }
        if replaces(TenantSection::Faults) {
            self.faults.clear();
        }
        self.faults.extend(faults);
        if let Some(on) = require_requested_with {
            self.require_requested_with = on;
        }
        if clock.is_some() {
            self.clock = clock;
        }
        self.vmdr.merge(
            VmdrSpec {
                tags,
                asset_groups,
                hosts,
                knowledge_base,
                synthetic,
                cvss_scoring,
            },
            &replace,
        )?;
        self.vmdr.resolve()?;
        if let Some(pc) = pc {
            self.pc.merge(pc)?;
        }
        self.was.merge(was.unwrap_or_default(), &replace)?;
        self.was.resolve(&self.vmdr)?;
        self.check_fault_users()?;
        self.check_user_scopes()?;
        Ok(self)
    }

    /// Every asset group a user is scoped to exists.
    fn check_user_scopes(&self) -> std::result::Result<(), String> {
        for u in &self.users {
            for title in u.asset_groups.iter().flatten() {
                if !self.vmdr.asset_groups.contains_key(title) {
                    return Err(format!(
                        "user {:?} is scoped to asset group {title:?}, which the tenant does not have; add it under [[asset_groups]]",
                        u.login
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every fault scoped to a user names a user of this tenant.
    fn check_fault_users(&self) -> std::result::Result<(), String> {
        let users: HashMap<&str, usize> = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.login.as_str(), i))
            .collect();
        for f in &self.faults {
            if let Some(u) = &f.user
                && !users.contains_key(u.as_str())
            {
                return Err(format!(
                    "a fault is scoped to user {u:?}, who is not a user of this tenant"
                ));
            }
        }
        Ok(())
    }

    pub fn user(&self, login: &str) -> Option<&User> {
        self.users.iter().find(|u| u.login == login)
    }

    /// The limits that apply to `user`.
    pub fn limits_for(&self, user: &User) -> Limits {
        match &user.limits {
            Some(spec) => self.limits.merged(spec),
            None => self.limits,
        }
    }

    /// The limits that apply to `user` calling `endpoint`: the PCRS endpoints on the gateway
    /// have their own budget (`[pc] limits`, Qualys: 25 calls per 60 s per API); a user's own
    /// limits still override it.
    pub fn limits_for_endpoint(&self, user: &User, endpoint: &crate::qualys::Endpoint) -> Limits {
        if endpoint.family != crate::qualys::Family::Gateway {
            return self.limits_for(user);
        }
        match &user.limits {
            Some(spec) => self.pc.limits.merged(spec),
            None => self.pc.limits,
        }
    }

    /// The budget `user`'s calls count on: the subscription's, unless the tenant counts per
    /// user or the user has limits of their own.
    pub fn budget_for<'u>(&self, user: &'u User) -> Budget<'u> {
        if self.limits.per_user || user.limits.is_some() {
            Budget::User(&user.login)
        } else {
            Budget::Subscription
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> TenantSpec {
        TenantSpec::from_toml(text, Path::new("test.toml")).unwrap()
    }

    #[test]
    fn users_merge_by_login_and_replace_empties_a_section() {
        let t = Tenant::from_spec(spec(
            r#"
            [[users]]
            login = "quays_ab1"
            password = "other"
            "#,
        ))
        .unwrap();
        assert!(t.user("quays_ab1").unwrap().password_matches("other"));
        assert!(t.user("quays_na1").is_some(), "other demo users stay");

        let t = Tenant::from_spec(spec(
            r#"
            replace = ["users", "hosts"]
            [[users]]
            login = "only"
            password = "x"
            "#,
        ))
        .unwrap();
        assert_eq!(t.users.len(), 1);
        assert!(t.vmdr.hosts.is_empty());
        assert!(!t.vmdr.knowledge_base.is_empty(), "sections not named stay");
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_file_name() {
        let err = TenantSpec::from_toml(
            "[[users]]\nlogin = \"a\"\npasword = \"typo\"\n",
            Path::new("t.toml"),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("t.toml") && msg.contains("pasword"), "{msg}");
    }

    #[test]
    fn limits_override_field_by_field_and_per_user() {
        let t = Tenant::from_spec(spec(
            r#"
            base = "empty"
            [limits]
            rate_limit = 10
            [[users]]
            login = "u"
            password = "p"
            limits = { rate_window_secs = 1 }
            "#,
        ))
        .unwrap();
        let l = t.limits_for(t.user("u").unwrap());
        assert_eq!(
            (l.rate_limit, l.rate_window_secs, l.concurrency_limit),
            (10, 1, 2)
        );
    }

    #[test]
    fn users_share_the_subscription_budget_unless_counted_apart() {
        let t = Tenant::demo();
        let ab1 = t.user("quays_ab1").unwrap();
        assert_eq!(t.budget_for(ab1), Budget::Subscription);
        let own = User::new("own", "p").with_limits(LimitsSpec {
            rate_limit: Some(5),
            ..LimitsSpec::default()
        });
        assert_eq!(t.budget_for(&own), Budget::User("own"));
        let t = Tenant::from_spec(spec("[limits]\nper_user = true\n")).unwrap();
        assert_eq!(
            t.budget_for(t.user("quays_ab1").unwrap()),
            Budget::User("quays_ab1")
        );
        let err = Tenant::from_spec(spec(
            "[[users]]\nlogin = \"u\"\npassword = \"p\"\nlimits = { used_by_others = 3 }\n",
        ))
        .unwrap_err();
        assert!(
            err.contains("[limits]") && err.contains("used_by_others"),
            "{err}"
        );
    }

    #[test]
    fn hosts_get_tag_ids_severities_and_unique_vuln_ids() {
        let t = Tenant::from_spec(spec(
            r#"
            base = "empty"
            [[knowledge_base]]
            qid = 5
            severity = 4
            title = "t"
            published = "2020-01-01T00:00:00Z"
            [[hosts]]
            id = 9
            tags = ["A & B"]
            [[hosts.detections]]
            qid = 5
            "#,
        ))
        .unwrap();
        assert!(t.vmdr.tag("A & B").unwrap().id > 7_000_000);
        assert_eq!(t.vmdr.hosts[0].detections[0].severity, Some(4));
        assert!(t.vmdr.hosts[0].detections[0].unique_vuln_id.is_some());
    }

    #[test]
    fn threat_indicators_must_be_labels_qualys_gives_ids_and_cvss_scoring_is_a_switch() {
        let kb = |labels: &str| {
            format!(
                "base = \"empty\"\n[[knowledge_base]]\nqid = 5\nseverity = 4\ntitle = \"t\"\npublished = \"2020-01-01T00:00:00Z\"\nthreat_intel = [{labels}]\n"
            )
        };
        let t = Tenant::from_spec(spec(&kb("\"No_Patch\", \"Wormable\""))).unwrap();
        assert!(
            !t.vmdr.cvss_scoring,
            "a new subscription has CVSS Scoring off"
        );
        let err = Tenant::from_spec(spec(&kb("\"Patch_Available\""))).unwrap_err();
        assert!(
            err.contains("Patch_Available") && err.contains("No_Patch"),
            "{err}"
        );
        assert!(Tenant::demo().vmdr.cvss_scoring);
        let t = Tenant::from_spec(spec("cvss_scoring = false\n")).unwrap();
        assert!(!t.vmdr.cvss_scoring);
    }

    #[test]
    fn changes_must_come_in_time_order_and_after_the_detection_appears() {
        let host = |changes: &str| {
            format!(
                "base = \"empty\"\n[[hosts]]\nid = 1\nappears_at = \"2024-06-01T00:00:00Z\"\n[[hosts.detections]]\nqid = 5\n{changes}"
            )
        };
        let change = |at: &str| format!("[[hosts.detections.changes]]\nat = \"{at}\"\n");
        let ok = host(&(change("2024-06-02T00:00:00Z") + &change("2024-06-03T00:00:00Z")));
        assert!(Tenant::from_spec(spec(&ok)).is_ok());
        let backwards = host(&(change("2024-06-03T00:00:00Z") + &change("2024-06-02T00:00:00Z")));
        let err = Tenant::from_spec(spec(&backwards)).unwrap_err();
        assert!(err.contains("time order"), "{err}");
        let early = host(&change("2024-05-01T00:00:00Z"));
        let err = Tenant::from_spec(spec(&early)).unwrap_err();
        assert!(err.contains("before the detection appears"), "{err}");
    }

    #[test]
    fn hosts_name_asset_groups_that_get_ids_and_users_are_scoped_to_them() {
        let t = Tenant::from_spec(spec(
            r#"
            base = "empty"
            [[asset_groups]]
            title = "Lab"
            ips = "192.0.2.1-192.0.2.9"
            [[users]]
            login = "u"
            password = "p"
            asset_groups = ["Lab", "Office"]
            [[hosts]]
            id = 9
            asset_groups = ["Office"]
            "#,
        ))
        .unwrap();
        let lab = &t.vmdr.asset_groups["Lab"];
        let office = &t.vmdr.asset_groups["Office"];
        assert!(lab.id > 3000 && office.id > 3000 && lab.id != office.id);
        assert!(lab.contains(&[], Some("192.0.2.5")) && !lab.contains(&[], Some("192.0.2.10")));
        assert!(office.contains(&["Office".into()], None));
        let err = Tenant::from_spec(spec(
            "[[asset_groups]]\ntitle = \"Bad\"\nips = \"192.0.2.300\"\n",
        ))
        .unwrap_err();
        assert!(err.contains("Bad"), "{err}");
    }

    #[test]
    fn a_fault_for_an_unknown_user_is_an_error() {
        let err = Tenant::from_spec(spec(
            r#"
            base = "empty"
            [[faults]]
            kind = "server_error"
            user = "ghost"
            "#,
        ))
        .unwrap_err();
        assert!(err.contains("ghost"), "{err}");
    }

    #[test]
    fn passwords_never_appear_in_debug_output() {
        let u = User::new("x", "s3cr3t-value");
        assert!(!format!("{u:?}").contains("s3cr3t"));
    }
}
