//! Connector configuration: a TOML file and command-line flags merged into [`Settings`], then
//! checked into a [`ConnectorConfig`] before any request is sent.
//!
//! # How the pieces fit
//!
//! The file format is flat (`platform_url = ...`, `status = ...`, the same keys in a scenario's
//! `[settings]`), but in code the settings come in sections: [`CommonSettings`] (`common.rs`)
//! holds what every stream reads (the stream, platform and user, password, TLS, retries,
//! timeouts), and each Qualys module has its own section ([`VmdrSettings`] in `vmdr.rs`,
//! [`PcSettings`] in `pc.rs`, [`WasSettings`] in `was.rs`), plus [`SyncSettings`] (`sync.rs`:
//! `changed_since`, which the streams with a changed-since filter list in their rows). Each section declares its keys
//! once, with `settings_section!`, and is listed once in `settings_sections!`; reading the file
//! dispatches each key to its section, and a key no section knows is rejected at the key with
//! the list of valid ones.
//!
//! Every rule lives in [`Settings::validate`], so the CLI, the scenario runner and the tests all
//! get the same messages: the common section is checked, then every module section's values,
//! then that each module setting applies to the selected stream (the stream registry's
//! [`crate::StreamRow::settings`] says which do). Errors name the setting, say what is
//! wrong and what to do; soft problems (a platform URL that disagrees with the username's
//! platform identifier, which is legitimate for private clouds and simulators) come back as
//! warnings.

use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::error::{Error, Result};
use crate::stream::{STREAMS, StreamKind, StreamRow};

/// Declares a settings section: a struct of optional keys that reads its own keys from the flat
/// settings table, merges with another (flags over the file) and says which keys are set.
macro_rules! settings_section {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $key:ident: $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $key: Option<$ty>, )*
        }

        impl $name {
            /// The section's keys, in file order.
            pub const KEYS: &'static [&'static str] = &[$(stringify!($key)),*];

            /// Reads the value of `key` if the key belongs to this section.
            pub(super) fn read_key<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> std::result::Result<bool, A::Error> {
                match key {
                    $(stringify!($key) => {
                        if self.$key.is_some() {
                            return Err(<A::Error as serde::de::Error>::duplicate_field(
                                stringify!($key),
                            ));
                        }
                        self.$key = Some(map.next_value()?);
                        Ok(true)
                    })*
                    _ => Ok(false),
                }
            }

            /// Keys set in `over` replace those in `self` (flags override the file).
            pub fn overridden_by(self, over: Self) -> Self {
                $name { $($key: over.$key.or(self.$key)),* }
            }

            /// Writes the keys that are set into a flat TOML table (a recorded run's
            /// scenario pins its settings this way).
            pub fn write_table(&self, table: &mut toml::Table) {
                $(if let Some(v) = &self.$key
                    && let Ok(v) = toml::Value::try_from(v)
                {
                    table.insert(stringify!($key).into(), v);
                })*
            }

            /// The keys that are set, in file order.
            pub fn keys_set(&self) -> Vec<&'static str> {
                let mut set = Vec::new();
                $(if self.$key.is_some() {
                    set.push(stringify!($key));
                })*
                set
            }
        }
    };
}

mod common;
mod pc;
mod sync;
mod vmdr;
mod was;

pub use common::{CaCert, CommonConfig, CommonSettings, MinThroughput, RetryPolicy};
pub use pc::{PcConfig, PcFlags, PcSettings, PolicyIdItem, PolicyIdList, PolicySelection};
pub use sync::{QualysDateTime, SyncConfig, SyncSettings};
pub use vmdr::{StatusList, VmdrConfig, VmdrFlags, VmdrSettings};
pub use was::{FindingTypeList, WasConfig, WasFlags, WasSettings};

/// The environment variable the password is read from when no `password_file` is set.
pub const PASSWORD_ENV: &str = "QUALYS_PASSWORD";

/// Declares [`Settings`] and [`ConnectorConfig`] from the list of module sections, with the
/// plumbing every section needs (reading its keys, flags over the file, checking): a new
/// module's settings are one line of the `settings_sections!` call below.
macro_rules! settings_sections {
    ($($module:ident: $settings:ty => $config:ty),* $(,)?) => {
        /// Settings as written in a config file, a scenario's `[settings]` table, or given as
        /// flags, by section. Every key is optional here; [`Settings::validate`] decides what is
        /// required.
        ///
        /// ```
        /// use qualys_harness::Settings;
        ///
        /// let s: Settings = toml::from_str("stream = \"vmdr-assets\"\ntruncation_limit = 50").unwrap();
        /// assert_eq!(s.vmdr.truncation_limit, Some(50));
        /// let e = toml::from_str::<Settings>("truncation = 50").unwrap_err().to_string();
        /// assert!(e.contains("unknown field `truncation`") && e.contains("`truncation_limit`"), "{e}");
        /// ```
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Settings {
            pub common: CommonSettings,
            $(pub $module: $settings,)*
        }

        /// A checked configuration, ready for the client: the stream, the common settings, and
        /// each module's section (its defaults when the stream belongs to another module).
        #[derive(Debug, Clone)]
        pub struct ConnectorConfig {
            pub stream: StreamKind,
            pub common: CommonConfig,
            $(pub $module: $config,)*
        }

        /// Every key of every section, for the unknown-key message.
        static ALL_KEYS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
            [CommonSettings::KEYS, $(<$settings>::KEYS),*]
                .into_iter()
                .flatten()
                .copied()
                .collect()
        });

        impl Settings {
            /// Reads the value of `key` into the section that owns the key.
            fn read_key<'de, A: MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> std::result::Result<bool, A::Error> {
                Ok(self.common.read_key(key, map)? $(|| self.$module.read_key(key, map)?)*)
            }

            /// The settings that are set, as the flat table a config file holds.
            pub fn to_table(&self) -> toml::Table {
                let mut table = toml::Table::new();
                self.common.write_table(&mut table);
                $(self.$module.write_table(&mut table);)*
                table
            }

            /// The keys that are set, every section's.
            pub fn keys_set(&self) -> Vec<&'static str> {
                let mut keys = self.common.keys_set();
                $(keys.extend(self.$module.keys_set());)*
                keys
            }

            /// Keys set in `over` replace those in `self` (flags override the file).
            pub fn overridden_by(self, over: Settings) -> Settings {
                Settings {
                    common: self.common.overridden_by(over.common),
                    $($module: self.$module.overridden_by(over.$module),)*
                }
            }

            /// Checks every module section's values (a wrong value is wrong whichever stream
            /// runs), then that each module setting that is set applies to the stream.
            fn check_modules(
                &self,
                stream: StreamKind,
                common: CommonConfig,
            ) -> Result<ConnectorConfig> {
                let config = ConnectorConfig {
                    stream,
                    common,
                    $($module: self.$module.check()?,)*
                };
                $(check_applies(stream.row(), &self.$module.keys_set())?;)*
                Ok(config)
            }
        }
    };
}

settings_sections!(
    vmdr: VmdrSettings => VmdrConfig,
    pc: PcSettings => PcConfig,
    was: WasSettings => WasConfig,
    sync: SyncSettings => SyncConfig,
);

/// The command-line flags of every module section, which `qharness fetch` flattens into its
/// own: each module declares its flags beside its settings (`VmdrFlags` in `vmdr.rs`, ...), and
/// a new module adds its line here as it adds one to `settings_sections!`. The common and sync
/// flags belong to the command (they interact with its other flags), so they are not here.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ModuleFlags {
    #[command(flatten)]
    pub vmdr: VmdrFlags,
    #[command(flatten)]
    pub pc: PcFlags,
    #[command(flatten)]
    pub was: WasFlags,
}

impl ModuleFlags {
    /// The module sections the flags set, with the common and sync sections empty.
    pub fn settings(&self) -> Settings {
        Settings {
            vmdr: self.vmdr.settings(),
            pc: self.pc.settings(),
            was: self.was.settings(),
            ..Settings::default()
        }
    }
}

/// Whether `key` is a setting of some section (a key of the config file).
pub fn is_setting_key(key: &str) -> bool {
    ALL_KEYS.contains(&key)
}

/// A key that some section knows. Checked while the key is read, so the TOML error points at
/// the key.
struct KnownKey;

impl<'de> DeserializeSeed<'de> for KnownKey {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<String, D::Error> {
        let key = String::deserialize(d)?;
        if ALL_KEYS.contains(&key.as_str()) {
            Ok(key)
        } else {
            Err(de::Error::unknown_field(&key, &ALL_KEYS))
        }
    }
}

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Flat;
        impl<'de> Visitor<'de> for Flat {
            type Value = Settings;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of connector settings")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Settings, A::Error> {
                let mut s = Settings::default();
                while let Some(key) = map.next_key_seed(KnownKey)? {
                    let read = s.read_key(&key, &mut map)?;
                    debug_assert!(read, "{key} is in ALL_KEYS, so one section reads it");
                }
                Ok(s)
            }
        }
        d.deserialize_map(Flat)
    }
}

impl Settings {
    /// Settings for `stream` against `platform_url` as `username`; everything else default.
    pub fn new(stream: StreamKind, platform_url: &str, username: &str) -> Settings {
        Settings {
            common: CommonSettings {
                stream: Some(stream),
                platform_url: Some(platform_url.to_string()),
                username: Some(username.to_string()),
                ..CommonSettings::default()
            },
            ..Settings::default()
        }
    }

    /// Reads a TOML config file. Every problem with it is a configuration error (exit 2): a
    /// file that cannot be read, TOML that does not parse, an unknown key, a value of the wrong
    /// type. The message gives the line and column but never quotes the line, which could hold
    /// a secret someone put in the wrong key.
    pub fn from_file(path: &Path) -> Result<Settings> {
        let setting = format!("--config {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(
                &setting,
                format!("cannot read the config file: {e}"),
                "check the path given to --config",
            )
        })?;
        toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let before = &text.as_bytes()[..span.start.min(text.len())];
                    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
                    format!("line {line}, column {column}: ")
                })
                .unwrap_or_default();
            let hint = if e.message().contains("unknown field `password`") {
                "the password is never a setting: put it in a file named by password_file, or export QUALYS_PASSWORD"
            } else {
                "fix that line; the keys and their types are listed in the README (\"Configuration file\")"
            };
            Error::config(&setting, format!("{at}{}", e.message().trim_end()), hint)
        })
    }

    /// Checks every rule and resolves the password. `password_env` is the value of
    /// `QUALYS_PASSWORD` (passed in so tests need not touch the process environment).
    pub fn validate(&self, password_env: Option<String>) -> Result<(ConnectorConfig, Vec<String>)> {
        let mut warnings = Vec::new();
        let stream = self.common.check_stream()?;
        stream.builtin()?;
        let row = stream.row();
        let common = self.common.check(row, password_env, &mut warnings)?;
        Ok((self.check_modules(stream, common)?, warnings))
    }
}

/// Rejects a module setting that does not apply to the selected stream, naming the streams it
/// applies to.
fn check_applies(stream: &StreamRow, keys_set: &[&'static str]) -> Result<()> {
    let Some(key) = keys_set
        .iter()
        .find(|k| !stream.settings.contains(k) && !stream.tolerates.contains(k))
    else {
        return Ok(());
    };
    let applies_to: Vec<&str> = STREAMS
        .iter()
        .filter(|r| r.builtin.is_some() && r.settings.contains(key))
        .map(|r| r.name)
        .collect();
    Err(match applies_to.as_slice() {
        [] => Error::config(
            *key,
            "applies to no stream of this version",
            format!("remove {key}"),
        ),
        names => Error::config(
            *key,
            format!(
                "only applies to the {} stream{}",
                crate::stream::registry::listing(names),
                if names.len() > 1 { "s" } else { "" }
            ),
            format!(
                "remove {key} or select --stream {}",
                names.join(" or --stream ")
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Settings {
        Settings::new(
            StreamKind::VmdrVulnerabilities,
            "https://qualysapi.qualys.com",
            "quays_ab1",
        )
    }

    fn with_vmdr(vmdr: VmdrSettings) -> Settings {
        Settings { vmdr, ..base() }
    }

    fn check(s: Settings) -> Result<(ConnectorConfig, Vec<String>)> {
        s.validate(Some("secret".into()))
    }

    #[test]
    fn exclude_without_include_is_rejected_naming_the_missing_field_and_the_rule() {
        let err = check(with_vmdr(VmdrSettings {
            tag_exclude: Some("Decommissioned".into()),
            ..VmdrSettings::default()
        }))
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, Error::Config { setting, .. } if setting == "tag_include"),
            "{msg}"
        );
        assert!(msg.contains("each require the other"), "{msg}");
    }

    #[test]
    fn include_without_exclude_is_rejected_naming_the_missing_field() {
        let err = check(with_vmdr(VmdrSettings {
            tag_include: Some("Prod".into()),
            ..VmdrSettings::default()
        }))
        .unwrap_err();
        assert!(matches!(&err, Error::Config { setting, .. } if setting == "tag_exclude"));
    }

    #[test]
    fn web_ui_and_gateway_urls_are_errors_with_the_api_server_suggested() {
        for url in [
            "https://qualysguard.qualys.com",
            "https://gateway.qg1.apps.qualys.com",
        ] {
            let mut s = base();
            s.common.platform_url = Some(url.into());
            let err = check(s).unwrap_err();
            assert!(
                err.to_string().contains("https://qualysapi.qualys.com"),
                "{err}"
            );
        }
    }

    #[test]
    fn platform_mismatch_is_only_a_warning() {
        let mut s = base();
        s.common.platform_url = Some("https://qualysapi.qg3.apps.qualys.com".into());
        let (_, warnings) = check(s).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("US1"));
        let mut s = base();
        s.common.platform_url = Some("http://127.0.0.1:8080".into());
        let (_, warnings) = check(s).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn bad_status_and_arf_values_are_rejected() {
        assert!(
            check(with_vmdr(VmdrSettings {
                status: Some(StatusList::Text("New,Open".into())),
                ..VmdrSettings::default()
            }))
            .is_err()
        );
        let err = check(with_vmdr(VmdrSettings {
            arf_kernel_filter: Some(4),
            ..VmdrSettings::default()
        }))
        .unwrap_err();
        assert!(err.to_string().contains("out of range"));
    }

    #[test]
    fn missing_password_says_how_to_provide_it_without_the_command_line() {
        let err = base().validate(None).unwrap_err();
        assert!(err.to_string().contains(PASSWORD_ENV));
        assert_eq!(err.exit_class(), crate::ExitClass::Config);
    }

    #[test]
    fn flags_override_the_file_section_by_section() {
        let file: Settings =
            toml::from_str("truncation_limit = 10\nusername = \"a\"\nmax_attempts = 2").unwrap();
        let flags: Settings = toml::from_str("truncation_limit = 20").unwrap();
        let merged = file.overridden_by(flags);
        assert_eq!(merged.vmdr.truncation_limit, Some(20));
        assert_eq!(merged.common.username.as_deref(), Some("a"));
        assert_eq!(merged.common.max_attempts, Some(2));
    }

    #[test]
    fn status_accepts_a_toml_array_or_a_string() {
        let s: Settings = toml::from_str("status = [\"New\", \"Fixed\"]").unwrap();
        let (c, _) = check(base().overridden_by(s)).unwrap();
        assert_eq!(c.vmdr.statuses.to_param(), "New,Fixed");
    }

    #[test]
    fn the_flat_file_fills_each_section_and_an_unknown_key_lists_every_valid_one() {
        let s: Settings = toml::from_str(
            "stream = \"vmdr-assets\"\nplatform_url = \"https://qualysapi.qualys.com\"\n\
             tag_include = \"Prod\"\nread_timeout_secs = 9",
        )
        .unwrap();
        assert_eq!(s.common.stream, Some(StreamKind::VmdrAssets));
        assert_eq!(s.common.read_timeout_secs, Some(9));
        assert_eq!(s.vmdr.tag_include.as_deref(), Some("Prod"));
        let e = toml::from_str::<Settings>("stream = \"vmdr-assets\"\nkb_batch = 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `kb_batch`"), "{e}");
        for key in ALL_KEYS.iter() {
            assert!(e.contains(&format!("`{key}`")), "{key} missing from: {e}");
        }
        assert!(e.contains("line 2"), "an unknown key is pointed at: {e}");
        let e = toml::from_str::<Settings>("stream = \"vmdr-assets\"\ntruncation_limit = \"many\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "a type error keeps its position: {e}");
    }

    #[test]
    fn a_module_setting_of_another_stream_is_rejected_naming_where_it_applies() {
        let mut s = base();
        s.common.stream = Some(StreamKind::VmdrAssets);
        for vmdr in [
            VmdrSettings {
                arf_kernel_filter: Some(1),
                ..VmdrSettings::default()
            },
            VmdrSettings {
                include_disabled: Some(true),
                ..VmdrSettings::default()
            },
            VmdrSettings {
                status: Some(StatusList::Text("New".into())),
                ..VmdrSettings::default()
            },
        ] {
            let key = vmdr.keys_set()[0];
            let err = check(Settings { vmdr, ..s.clone() }).unwrap_err();
            assert!(
                matches!(&err, Error::Config { setting, .. } if setting == key),
                "{err}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains("only applies to the vmdr-vulnerabilities stream")
                    && msg.contains(&format!(
                        "remove {key} or select --stream vmdr-vulnerabilities"
                    )),
                "{msg}"
            );
        }
        // The KnowledgeBase keys are tolerated on the assets stream, as they always were.
        let (config, _) = check(Settings {
            vmdr: VmdrSettings {
                kb_batch_size: Some(10),
                knowledge_base: Some(false),
                ..VmdrSettings::default()
            },
            ..s
        })
        .unwrap();
        assert_eq!(config.vmdr.kb_batch_size, 10);
    }

    #[test]
    fn no_stream_lists_every_stream() {
        let mut s = base();
        s.common.stream = None;
        let msg = check(s).unwrap_err().to_string();
        assert!(
            msg.contains("vmdr-assets, vmdr-vulnerabilities, pc-posture, was-assets, was-findings"),
            "{msg}"
        );
    }

    #[test]
    fn userinfo_in_the_platform_url_is_refused_without_echoing_it() {
        for url in [
            "https://quays_ab1:s3cr3t@qualysapi.qualys.com",
            "https://s3cr3t@qualysapi.qualys.com",
            "quays_ab1:s3cr3t@qualysapi.qualys.com",
            "https://quays_ab1:s3cr3t@qualysapi.qualys.com/api/2.0/fo/",
        ] {
            let mut s = base();
            s.common.platform_url = Some(url.into());
            let err = check(s).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(&err, Error::Config { setting, .. } if setting == "platform_url"),
                "{msg}"
            );
            assert!(!msg.contains("s3cr3t"), "{url}: {msg}");
            assert!(msg.contains("--username"), "{msg}");
        }
    }

    #[test]
    fn plain_http_to_another_host_needs_allow_insecure_http_and_then_warns() {
        let mut s = base();
        s.common.platform_url = Some("http://qualysapi.example.com".into());
        let err = check(s.clone()).unwrap_err();
        assert!(err.to_string().contains("--allow-insecure-http"), "{err}");
        s.common.allow_insecure_http = Some(true);
        let (_, warnings) = check(s).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("plain HTTP"));
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            let mut s = base();
            s.common.platform_url = Some(local.into());
            assert!(check(s).unwrap().1.is_empty(), "{local}");
        }
    }

    #[test]
    fn timeouts_default_to_documented_values_and_reject_zero_and_absurd_ones() {
        let (c, _) = check(base()).unwrap();
        assert_eq!(c.common.request_timeout.as_secs(), 3600);
        assert_eq!(c.common.read_timeout.as_secs(), 300);
        assert_eq!(
            c.common.min_throughput,
            Some(MinThroughput {
                bytes_per_sec: 1024,
                window: std::time::Duration::from_secs(300)
            })
        );
        for (set, key) in [
            (
                (|s: &mut CommonSettings| s.request_timeout_secs = Some(0))
                    as fn(&mut CommonSettings),
                "request_timeout_secs",
            ),
            (
                |s| s.read_timeout_secs = Some(u64::MAX),
                "read_timeout_secs",
            ),
            (|s| s.connect_timeout_secs = Some(0), "connect_timeout_secs"),
            (
                |s| s.min_throughput_window_secs = Some(u64::MAX),
                "min_throughput_window_secs",
            ),
        ] {
            let mut s = base();
            set(&mut s.common);
            let err = check(s).unwrap_err();
            assert!(
                matches!(&err, Error::Config { setting, .. } if setting == key),
                "{err}"
            );
        }
        let mut s = base();
        s.common.min_throughput_bytes_per_sec = Some(0);
        assert_eq!(
            check(s).unwrap().0.common.min_throughput,
            None,
            "0 turns it off"
        );
    }

    #[test]
    fn a_ca_cert_must_hold_a_usable_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, content: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, content).unwrap();
            p
        };
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let good = write("good.pem", cert_pem.as_bytes());
        let bundle = write("bundle.pem", format!("{cert_pem}\n{cert_pem}").as_bytes());
        for path in [&good, &bundle] {
            let mut s = base();
            s.common.ca_cert = Some(path.clone());
            let (c, _) = check(s).unwrap();
            assert_eq!(c.common.ca_cert.unwrap().path, *path);
        }
        for (name, content, says) in [
            ("empty.pem", &b"\n"[..], "is empty"),
            ("junk.pem", b"not a certificate", "holds no PEM certificate"),
            ("key.pem", key_pem.as_bytes(), "holds no PEM certificate"),
            (
                "broken.pem",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "not a usable X.509 certificate",
            ),
        ] {
            let mut s = base();
            s.common.ca_cert = Some(write(name, content));
            let err = check(s).unwrap_err();
            assert!(
                matches!(&err, Error::Config { setting, .. } if setting == "ca_cert"),
                "{name}: {err}"
            );
            assert!(err.to_string().contains(says), "{name}: {err}");
        }
        let mut s = base();
        s.common.ca_cert = Some(dir.path().join("missing.pem"));
        assert_eq!(check(s).unwrap_err().exit_class(), crate::ExitClass::Config);
    }

    #[test]
    fn an_unreadable_password_file_is_a_configuration_error() {
        let mut s = base();
        s.common.password_file = Some("/nonexistent/qualys-password".into());
        let err = s.validate(None).unwrap_err();
        assert_eq!(err.exit_class(), crate::ExitClass::Config, "{err}");
        assert!(err.to_string().contains("password_file"), "{err}");
    }

    #[test]
    fn a_config_file_error_gives_line_and_column_without_quoting_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "username = \"quays_ab1\"\npassword = \"hunter2\"\n").unwrap();
        let err = Settings::from_file(&path).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.exit_class(), crate::ExitClass::Config);
        assert!(
            msg.contains("line 2, column 1: unknown field `password`"),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(msg.contains("password_file"), "{msg}");
        let err = Settings::from_file(&dir.path().join("missing.toml")).unwrap_err();
        assert_eq!(err.exit_class(), crate::ExitClass::Config, "{err}");
    }
}
