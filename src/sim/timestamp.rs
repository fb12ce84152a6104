//! `Timestamp`: a UTC instant with second precision, written the way Qualys writes every
//! `*_DATETIME` element (`2024-03-01T12:00:00Z`).
//!
//! The renderer formats millions of these per second when it streams a synthetic population, so
//! formatting is a hand-written civil-date conversion into a fixed 20-byte array instead of the
//! `time` crate's general formatter.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The length of the wire form, `YYYY-MM-DDTHH:MM:SSZ`.
    pub const WIRE_LEN: usize = 20;

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (any RFC 3339 offset is accepted and normalised to UTC).
    pub fn parse(s: &str) -> Result<Timestamp, String> {
        let dt =
            time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                format!("{s:?} is not an RFC 3339 date-time such as 2024-03-01T12:00:00Z: {e}")
            })?;
        Ok(Timestamp(dt.unix_timestamp()))
    }

    /// The wire form as bytes, without allocating.
    pub fn to_wire(self) -> [u8; Self::WIRE_LEN] {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (secs / 3600, (secs / 60) % 60, secs % 60);
        let mut out = *b"0000-00-00T00:00:00Z";
        let y = y.clamp(0, 9999) as u32;
        out[0] = b'0' + (y / 1000) as u8;
        out[1] = b'0' + (y / 100 % 10) as u8;
        out[2] = b'0' + (y / 10 % 10) as u8;
        out[3] = b'0' + (y % 10) as u8;
        two(&mut out[5..7], m as u32);
        two(&mut out[8..10], d as u32);
        two(&mut out[11..13], hh as u32);
        two(&mut out[14..16], mm as u32);
        two(&mut out[17..19], ss as u32);
        out
    }

    /// The current time, truncated to the second.
    pub fn now() -> Timestamp {
        Timestamp(time::OffsetDateTime::now_utc().unix_timestamp())
    }
}

fn two(out: &mut [u8], v: u32) {
    out[0] = b'0' + (v / 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

/// Howard Hinnant's `civil_from_days`: proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wire = self.to_wire();
        // The wire form is ASCII by construction.
        f.write_str(std::str::from_utf8(&wire).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_matches_the_time_crate_across_eras() {
        for secs in [
            0_i64,
            951_782_400,
            1_709_294_400,
            4_102_444_799,
            1_234_567_890,
        ] {
            let ours = Timestamp(secs).to_string();
            let theirs = time::OffsetDateTime::from_unix_timestamp(secs)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            assert_eq!(ours, theirs);
            assert_eq!(Timestamp::parse(&ours).unwrap(), Timestamp(secs));
        }
    }

    #[test]
    fn parse_rejects_dates_without_a_time_and_says_what_it_wanted() {
        let err = Timestamp::parse("2024-03-01").unwrap_err();
        assert!(err.contains("2024-03-01T12:00:00Z"), "{err}");
    }
}
