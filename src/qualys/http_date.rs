//! The HTTP `Date` header's form (RFC 9110 HTTP-date), as both sides use it: every Qualys answer
//! carries the server's time in it, the simulator sends its tenant's clock in it, and the
//! connector reads it to take an incremental run's start from the server's clock
//! ([`crate::state`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::QualysDateTime;

/// 10000-01-01T00:00:00Z: the IMF-fixdate form has four digits for the year.
const YEAR_10000: u64 = 253_402_300_800;

/// Reads an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, the IMF-fixdate form servers send; the
/// two obsolete forms RFC 9110 asks recipients to accept are read too). `None` for anything
/// else, including a date before 1970.
pub fn parse(text: &str) -> Option<QualysDateTime> {
    let at = httpdate::parse_http_date(text.trim()).ok()?;
    let secs = at.duration_since(UNIX_EPOCH).ok()?.as_secs();
    QualysDateTime::from_unix(i64::try_from(secs).ok()?)
}

/// Writes the moment `unix_secs` as an IMF-fixdate; `None` outside the years 1970 to 9999,
/// which the form cannot hold.
pub fn format(unix_secs: i64) -> Option<String> {
    let secs = u64::try_from(unix_secs).ok().filter(|s| *s < YEAR_10000)?;
    let at = UNIX_EPOCH.checked_add(Duration::from_secs(secs))?;
    Some(httpdate::fmt_http_date(at))
}

/// `format` of now, by this machine's clock.
pub fn now() -> Option<String> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    format(i64::try_from(secs).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imf_fixdate_is_read_to_the_second() {
        let at = parse("Sun, 16 Jun 2024 00:00:05 GMT").unwrap();
        assert_eq!(at.to_string(), "2024-06-16T00:00:05Z");
        assert_eq!(
            parse("Sunday, 06-Nov-94 08:49:37 GMT").unwrap().to_string(),
            "1994-11-06T08:49:37Z",
            "the obsolete RFC 850 form is still an HTTP date"
        );
    }

    #[test]
    fn text_that_is_not_an_http_date_reads_as_none() {
        for bad in [
            "",
            "yesterday",
            "2024-06-16T00:00:05Z",
            "Sun, 32 Jun 2024 00:00:05 GMT",
            "Sun, 16 Jun 2024 25:00:05 GMT",
            "Sun, 16 Jun 2024 00:00:05 CEST",
            "Sun, 16 Jun 2024 00:00:05 GMT trailing",
        ] {
            assert_eq!(parse(bad), None, "{bad:?} is not an HTTP date");
        }
    }

    #[test]
    fn dates_are_written_as_imf_fixdates_within_the_years_the_form_holds() {
        let at = QualysDateTime::parse("2024-06-16T00:00:05Z").unwrap();
        let text = format(at.unix()).unwrap();
        assert_eq!(text, "Sun, 16 Jun 2024 00:00:05 GMT");
        assert_eq!(parse(&text), Some(at));
        assert_eq!(format(-1), None);
        assert_eq!(format(YEAR_10000 as i64), None);
        assert!(format(YEAR_10000 as i64 - 1).is_some());
        assert!(now().and_then(|n| parse(&n)).is_some());
    }
}
