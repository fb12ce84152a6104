//! One PCRS posture element to one `pc-posture` record, through one table.
//!
//! [`POSTURE_FIELDS`] (in [`crate::qualys::pcrs`], because the simulator renders by it too) is
//! the whole mapping: the record field, the PCRS name it comes from, how
//! its value is written, and whether a real sample confirmed the name. A recording from a real
//! tenant that spells a name differently is corrected there and nowhere else: the parser looks
//! names up in the table, the writer writes the table in order, the simulator's renderer and the
//! README's record table follow it.
//!
//! An element is read with serde_json from a slice ([`super::ArrayReader`] hands one out), each
//! known value kept as the raw JSON text it arrived as ([`RawValue`], borrowed, not copied).
//! Writing a record then copies those texts: a string that needs no conversion is never
//! unescaped and escaped again. Unknown names are skipped; a known name that is absent, or
//! `null`, is written as `null`, so every record has every field.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
#[cfg(test)]
use crate::qualys::pcrs::index_of;
pub use crate::qualys::pcrs::{FIELD_COUNT, Kind, POSTURE_FIELDS};

/// One element's known values, as raw JSON borrowed from the element's bytes.
pub struct PostureValues<'a> {
    values: [Option<&'a RawValue>; FIELD_COUNT],
}

impl<'a> PostureValues<'a> {
    /// The raw JSON of a field (by its index in [`POSTURE_FIELDS`]); `None` when absent.
    pub fn raw(&self, index: usize) -> Option<&'a str> {
        self.values[index].map(|v| v.get().trim())
    }

    /// The posture ID when it is a number (or a string of digits).
    pub fn posture_id(&self) -> Option<u64> {
        self.raw(0).and_then(integer)
    }
}

/// Reads posture elements, remembering where the previous element's names matched so that the
/// next element, which a server writes in the same order, matches each name at the first try.
#[derive(Debug, Default)]
pub struct PostureParser {
    next_guess: usize,
}

impl PostureParser {
    /// Reads one element (a JSON object's bytes). `origin`, `element` and `offset` (of the
    /// element's first byte) place an error.
    pub fn parse<'a>(
        &mut self,
        bytes: &'a [u8],
        origin: &str,
        element: u64,
        offset: u64,
    ) -> Result<PostureValues<'a>> {
        let mut values = PostureValues {
            values: [None; FIELD_COUNT],
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let seed = ElementSeed {
            values: &mut values.values,
            guess: &mut self.next_guess,
        };
        seed.deserialize(&mut de)
            .and_then(|()| de.end())
            .map_err(|e| {
                // serde_json counts lines and columns inside the element; the offset of the
                // element's first byte plus the column is exact for one-line elements.
                let at = if e.line() <= 1 {
                    offset + e.column().saturating_sub(1) as u64
                } else {
                    offset
                };
                // serde_json's reason without its line and column, which the offset replaces.
                let text = e.to_string();
                let reason = text.split(" at line ").next().unwrap_or(&text);
                Error::Json {
                    origin: origin.to_string(),
                    offset: at,
                    element,
                    problem: format!("posture record {element} is not valid JSON: {reason}"),
                    // The reason is in the message; a cause printed again would read like two.
                    source: None,
                }
            })?;
        Ok(values)
    }
}

/// Writes one record (a JSON object, no newline) for `values` into `out`.
pub fn write_record(out: &mut Vec<u8>, values: &PostureValues<'_>) {
    out.push(b'{');
    for (i, f) in POSTURE_FIELDS.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(f.record.as_bytes());
        out.extend_from_slice(b"\":");
        write_value(out, f.kind, values.raw(i));
    }
    out.push(b'}');
}

fn write_value(out: &mut Vec<u8>, kind: Kind, raw: Option<&str>) {
    let Some(raw) = raw.filter(|r| *r != "null") else {
        out.extend_from_slice(b"null");
        return;
    };
    let string = raw.starts_with('"');
    let scalar = !string && !raw.starts_with('{') && !raw.starts_with('[');
    match kind {
        Kind::Integer => match plain_string(raw).and_then(parse_integer) {
            Some(Integer::Unsigned(n)) => {
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes())
            }
            Some(Integer::Signed(n)) => {
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes())
            }
            None => out.extend_from_slice(raw.as_bytes()),
        },
        Kind::Text if scalar => quoted(out, raw),
        Kind::Date => match plain_string(raw).and_then(utc_seconds) {
            Some(date) => quoted(out, &date),
            None if scalar => quoted(out, raw),
            None => out.extend_from_slice(raw.as_bytes()),
        },
        Kind::Label if raw.starts_with('{') => {
            #[derive(serde::Deserialize)]
            struct Labelled<'a> {
                #[serde(borrow)]
                label: Option<&'a RawValue>,
            }
            match serde_json::from_str::<Labelled<'_>>(raw) {
                Ok(Labelled { label: Some(label) }) => {
                    write_value(out, Kind::Text, Some(label.get()))
                }
                // No label: the object is kept, so nothing Qualys sent is lost.
                _ => out.extend_from_slice(raw.as_bytes()),
            }
        }
        Kind::Label if scalar => quoted(out, raw),
        Kind::Text | Kind::Label | Kind::Json => out.extend_from_slice(raw.as_bytes()),
    }
}

/// A number or `true` as a JSON string: its text never needs escaping.
fn quoted(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// The content of a JSON string literal that has no escapes, else `None`.
fn plain_string(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

enum Integer {
    Unsigned(u64),
    Signed(i64),
}

/// A string of digits (optionally negative) as a number; `None` for anything else, or a
/// number too large, which then stays a string.
fn parse_integer(s: &str) -> Option<Integer> {
    if s.is_empty()
        || !s
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    match s.parse::<u64>() {
        Ok(n) => Some(Integer::Unsigned(n)),
        Err(_) => s.parse::<i64>().ok().map(Integer::Signed),
    }
}

/// A JSON number or a string of digits, as an unsigned integer.
fn integer(raw: &str) -> Option<u64> {
    plain_string(raw).unwrap_or(raw).parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SS` followed by nothing, `Z`, `+0000`, `+00:00` or `-00:00`, with an
/// optional fraction of a second; a space for the `T` too. `None` for anything else (then the
/// value is kept as sent).
fn utc_seconds(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let digits_at = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    let shape = b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && b[16] == b':'
        && digits_at.iter().all(|&i| b[i].is_ascii_digit());
    if !shape {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &fraction[n..];
    }
    if !matches!(rest, "" | "Z" | "+0000" | "+00:00" | "-00:00" | "+00") {
        return None;
    }
    Some(format!("{}T{}Z", &s[..10], &s[11..19]))
}

/// Reads an element's map into the value slots.
struct ElementSeed<'s, 'a> {
    values: &'s mut [Option<&'a RawValue>; FIELD_COUNT],
    guess: &'s mut usize,
}

impl<'de, 's> DeserializeSeed<'de> for ElementSeed<'s, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 's> Visitor<'de> for ElementSeed<'s, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a posture record (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match lookup(key.as_str(), self.guess) {
                Some(i) => self.values[i] = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The table index of a PCRS name, trying the slot after the previous match first.
#[inline]
fn lookup(name: &str, guess: &mut usize) -> Option<usize> {
    let at = *guess % FIELD_COUNT;
    let i = if POSTURE_FIELDS[at].pcrs == name {
        at
    } else {
        POSTURE_FIELDS.iter().position(|f| f.pcrs == name)?
    };
    *guess = i + 1;
    Some(i)
}

/// A key, borrowed from the input when it has no escapes.
enum Key<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Key<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
        Ok(Key::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key<'de>, E> {
        Ok(Key::Owned(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Key<'de>, E> {
        Ok(Key::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(element: &str) -> serde_json::Value {
        let values = PostureParser::default()
            .parse(element.as_bytes(), "test", 1, 0)
            .unwrap();
        let mut out = Vec::new();
        write_record(&mut out, &values);
        serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out));
        })
    }

    #[test]
    fn the_table_names_each_record_field_and_each_pcrs_name_once() {
        for (i, f) in POSTURE_FIELDS.iter().enumerate() {
            assert_eq!(index_of(f.record), Some(i));
            assert_eq!(
                POSTURE_FIELDS.iter().filter(|g| g.pcrs == f.pcrs).count(),
                1,
                "{}",
                f.pcrs
            );
        }
        let confirmed: Vec<&str> = POSTURE_FIELDS
            .iter()
            .filter(|f| f.confirmed)
            .map(|f| f.pcrs)
            .collect();
        assert_eq!(
            confirmed,
            [
                "id",
                "hostId",
                "policyId",
                "policyTitle",
                "controlId",
                "controlStatement",
                "rationale",
                "instance",
                "status",
                "netBios"
            ]
        );
    }

    #[test]
    fn every_field_is_present_and_absent_ones_are_null() {
        let element = r#"{"id": 9, "status": "Passed", "unknownField": {"x": [1]}}"#;
        let r = record(element);
        assert_eq!(r.as_object().unwrap().len(), FIELD_COUNT);
        let values = PostureParser::default()
            .parse(element.as_bytes(), "test", 1, 0)
            .unwrap();
        let mut out = Vec::new();
        write_record(&mut out, &values);
        let text = String::from_utf8(out).unwrap();
        let at: Vec<usize> = POSTURE_FIELDS
            .iter()
            .map(|f| text.find(&format!("\"{}\":", f.record)).unwrap())
            .collect();
        assert!(
            at.windows(2).all(|w| w[0] < w[1]),
            "record order is table order: {text}"
        );
        assert_eq!(r["posture_id"], 9);
        assert_eq!(r["status"], "Passed");
        assert!(r["host_id"].is_null() && r["evidence"].is_null());
    }

    #[test]
    fn values_convert_by_kind_and_nothing_sent_is_lost() {
        let r = record(
            r#"{"id":"4711","hostId":12345678901,"policyId":"x-1","policyTitle":"CIS \"Linux\"\n",
                "controlId":1071,"technologyId":"88","instance":"os","status":"Failed",
                "ip":"192.0.2.10","netBios":null,"criticality":{"label":"SERIOUS","value":3},
                "firstFailDate":"2024-05-01T10:00:00.000+0000","lastFailDate":"2024-06-01 08:30:00",
                "lastPassDate":"yesterday","postureModifiedDate":1717000000,
                "evidence":{"actual":["a","b"]},"causeOfFailure":"missing","remediation":7}"#,
        );
        assert_eq!(r["posture_id"], 4711);
        assert_eq!(r["host_id"], 12345678901u64);
        assert_eq!(
            r["policy_id"], "x-1",
            "a value that is not a number is kept"
        );
        assert_eq!(r["policy_title"], "CIS \"Linux\"\n");
        assert_eq!(r["technology_id"], 88);
        assert_eq!(
            record(r#"{"hostId":"007"}"#)["host_id"],
            7,
            "leading zeros are no JSON"
        );
        assert_eq!(record(r#"{"hostId":"-2"}"#)["host_id"], -2);
        assert_eq!(
            record(r#"{"hostId":"99999999999999999999999"}"#)["host_id"],
            "99999999999999999999999"
        );
        assert!(r["netbios"].is_null());
        assert_eq!(r["criticality"], "SERIOUS");
        assert_eq!(r["first_fail_date"], "2024-05-01T10:00:00Z");
        assert_eq!(r["last_fail_date"], "2024-06-01T08:30:00Z");
        assert_eq!(r["last_pass_date"], "yesterday");
        assert_eq!(r["posture_modified_date"], "1717000000");
        assert_eq!(r["evidence"], serde_json::json!({"actual": ["a", "b"]}));
        assert_eq!(r["cause_of_failure"], "missing");
        assert_eq!(r["remediation"], "7");
        assert_eq!(
            record(r#"{"criticality":"URGENT"}"#)["criticality"],
            "URGENT"
        );
        assert_eq!(
            record(r#"{"criticality":{"value":5}}"#)["criticality"],
            serde_json::json!({"value": 5})
        );
    }

    #[test]
    fn keys_with_escapes_and_names_in_any_order_still_match() {
        let r = record(r#"{"status":"Error","host\u0049d":5,"id":1}"#);
        assert_eq!(
            (r["host_id"].as_u64(), r["status"].as_str()),
            (Some(5), Some("Error"))
        );
    }

    #[test]
    fn a_broken_element_is_an_error_naming_the_element_and_its_offset() {
        let e = PostureParser::default()
            .parse(br#"{"id": 1, "status": tru}"#, "posture", 7, 1000)
            .err()
            .unwrap();
        let msg = e.to_string();
        assert!(msg.contains("record 7"), "{msg}");
        assert!(
            matches!(e, Error::Json { offset, element: 7, .. } if offset > 1000),
            "{msg}"
        );
    }

    #[test]
    fn dates_in_the_usual_utc_spellings_are_normalised() {
        for (input, want) in [
            ("2024-05-01T10:00:00Z", Some("2024-05-01T10:00:00Z")),
            ("2024-05-01T10:00:00.123Z", Some("2024-05-01T10:00:00Z")),
            ("2024-05-01T10:00:00+00:00", Some("2024-05-01T10:00:00Z")),
            ("2024-05-01 10:00:00", Some("2024-05-01T10:00:00Z")),
            ("2024-05-01T10:00:00+0200", None),
            ("2024-05-01", None),
            ("2024-05-01T10:00:00.Z", None),
        ] {
            assert_eq!(utc_seconds(input).as_deref(), want, "{input}");
        }
    }
}
