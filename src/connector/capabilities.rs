//! A capability file (`qharness conform --capabilities FILE`): what an external connector
//! implements, so that scenarios needing anything else are reported as skipped, not failed.
//!
//! ```toml
//! streams = ["vmdr-vulnerabilities"]                         # default: every stream
//! unsupported_settings = ["arf_kernel_filter", "include_ignored"]
//! ```
//!
//! A scenario is skipped when its stream is not listed, or when its `[settings]` set one of
//! the unsupported settings.

use std::path::Path;

use serde::Deserialize;

use crate::config::{Settings, is_setting_key};
use crate::error::{Error, Result};
use crate::stream::StreamKind;

/// What a connector supports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// The streams it implements; every stream when absent.
    #[serde(default)]
    pub streams: Option<Vec<StreamKind>>,
    /// Settings (config-file keys) it does not implement.
    #[serde(default)]
    pub unsupported_settings: Vec<String>,
}

impl Capabilities {
    /// Reads a capability file; an unknown setting name is an error, so a typo cannot make the
    /// suite skip nothing.
    pub fn load(path: &Path) -> Result<Capabilities> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading the capability file", path, e))?;
        let invalid = |problem: String| Error::InvalidFile {
            path: path.to_path_buf(),
            problem,
        };
        let caps: Capabilities = toml::from_str(&text)
            .map_err(|e| invalid(format!("not a valid capability file: {e}")))?;
        if let Some(key) = caps
            .unsupported_settings
            .iter()
            .find(|k| !is_setting_key(k))
        {
            return Err(invalid(format!(
                "unsupported_settings names {key:?}, which is not a setting; use the keys of the README's \"Configuration file\""
            )));
        }
        Ok(caps)
    }

    /// Why a scenario of `stream` with `settings` cannot be judged, if it cannot.
    pub fn skip_reason(&self, stream: StreamKind, settings: &Settings) -> Option<String> {
        if let Some(streams) = &self.streams
            && !streams.contains(&stream)
        {
            return Some(format!(
                "the connector does not implement the {stream} stream (capability file)"
            ));
        }
        let unsupported: Vec<&str> = settings
            .keys_set()
            .into_iter()
            .filter(|k| self.unsupported_settings.iter().any(|u| u == k))
            .collect();
        (!unsupported.is_empty()).then(|| {
            format!(
                "the connector does not implement {} (capability file)",
                unsupported.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_is_skipped_for_an_unsupported_stream_or_setting() {
        let caps: Capabilities = toml::from_str(
            "streams = [\"vmdr-vulnerabilities\"]\nunsupported_settings = [\"arf_kernel_filter\"]",
        )
        .unwrap();
        let plain = Settings::default();
        assert_eq!(
            caps.skip_reason(StreamKind::VmdrVulnerabilities, &plain),
            None
        );
        assert!(
            caps.skip_reason(StreamKind::VmdrAssets, &plain)
                .unwrap()
                .contains("vmdr-assets")
        );
        let arf: Settings = toml::from_str("arf_kernel_filter = 1").unwrap();
        assert!(
            caps.skip_reason(StreamKind::VmdrVulnerabilities, &arf)
                .unwrap()
                .contains("arf_kernel_filter")
        );
    }
}
