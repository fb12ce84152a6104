//! The synchronisation section of the settings: `changed_since`, the moment an incremental run
//! asks Qualys for changes after.
//!
//! `fetch --since` sets it for one run; `fetch --incremental --state FILE` sets it from the state
//! file (the start of the last successful run minus [`crate::state::INCREMENTAL_OVERLAP`]). Each
//! stream turns it into the filter its API documents for the purpose
//! ([`crate::stream::Stream::changed_since_param`]); a stream without one is named in the
//! registry as not taking the setting, so the run is refused before any request.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::error::{Error, Result};

settings_section! {
    /// The synchronisation section of the settings.
    pub struct SyncSettings {
        /// Only records changed at or after this moment: `2024-06-10T00:00:00Z`, any RFC 3339
        /// offset, or `2024-06-10` (midnight UTC).
        changed_since: String,
    }
}

/// The checked synchronisation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncConfig {
    /// `changed_since`, in the form Qualys date parameters take.
    pub changed_since: Option<QualysDateTime>,
}

/// A UTC moment with second precision, written `YYYY-MM-DDTHH:MM:SSZ` (the form the FO API's
/// date parameters take).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QualysDateTime(OffsetDateTime);

impl QualysDateTime {
    /// Reads `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time; `None` when it is neither.
    pub fn parse(text: &str) -> Option<QualysDateTime> {
        let t = text.trim();
        if let Ok(d) = time::Date::parse(t, format_description!("[year]-[month]-[day]")) {
            return Some(QualysDateTime(d.midnight().assume_utc()));
        }
        let dt = OffsetDateTime::parse(t, &Rfc3339).ok()?;
        Some(Self::from_unix(dt.unix_timestamp()).unwrap_or(QualysDateTime(dt)))
    }

    /// The moment `secs` seconds after the Unix epoch.
    pub fn from_unix(secs: i64) -> Option<QualysDateTime> {
        OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .map(QualysDateTime)
    }

    /// Now, by this machine's clock, to the second.
    pub fn now() -> QualysDateTime {
        let now = OffsetDateTime::now_utc();
        Self::from_unix(now.unix_timestamp()).unwrap_or(QualysDateTime(now))
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// `secs` seconds earlier.
    pub fn minus_secs(self, secs: i64) -> QualysDateTime {
        QualysDateTime(self.0 - time::Duration::seconds(secs))
    }
}

impl std::fmt::Display for QualysDateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self
            .0
            .to_offset(time::UtcOffset::UTC)
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

impl SyncSettings {
    /// Checks `changed_since`.
    pub(super) fn check(&self) -> Result<SyncConfig> {
        let changed_since = match &self.changed_since {
            None => None,
            Some(text) => Some(QualysDateTime::parse(text).ok_or_else(|| {
                Error::config(
                    "changed_since",
                    format!("{text:?} is not a date or date-time"),
                    "give it as 2024-06-10T00:00:00Z (UTC), with an offset such as \
                     2024-06-10T02:00:00+02:00, or as 2024-06-10 (midnight UTC)",
                )
            })?),
        };
        Ok(SyncConfig { changed_since })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<SyncConfig> {
        SyncSettings {
            changed_since: Some(text.into()),
        }
        .check()
    }

    #[test]
    fn changed_since_is_normalised_to_utc_seconds_and_bad_text_is_named() {
        let at = |t: &str| check(t).unwrap().changed_since.unwrap().to_string();
        assert_eq!(at("2024-06-10"), "2024-06-10T00:00:00Z");
        assert_eq!(at("2024-06-10T02:30:00+02:00"), "2024-06-10T00:30:00Z");
        assert_eq!(at(" 2024-06-10T00:30:05.75Z "), "2024-06-10T00:30:05Z");
        let e = check("last tuesday").unwrap_err();
        assert_eq!(e.exit_class(), crate::ExitClass::Config);
        assert!(e.to_string().contains("\"last tuesday\""), "{e}");
    }
}
