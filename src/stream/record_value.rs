//! How Qualys's text becomes JSON values in records: numbers and flags keep their raw text when
//! it does not parse, so a value Qualys sent is never lost.

use serde::Serialize;

use crate::error::Error;

/// A number as Qualys sent it: a JSON number when it parses, else the raw text (never lost).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Num<'a> {
    N(u64),
    Raw(&'a str),
}

/// A `0`/`1` flag as a JSON boolean, else the raw text.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Flag<'a> {
    B(bool),
    Raw(&'a str),
}

#[inline]
pub fn num(s: Option<&str>) -> Option<Num<'_>> {
    s.map(|s| s.parse().map(Num::N).unwrap_or(Num::Raw(s)))
}

#[inline]
pub fn flag(s: Option<&str>) -> Option<Flag<'_>> {
    s.map(|s| match s {
        "1" => Flag::B(true),
        "0" => Flag::B(false),
        other => Flag::Raw(other),
    })
}

/// A `true`/`false` flag (QPS spelling) as a JSON boolean, else the raw text.
#[inline]
pub fn truth(s: Option<&str>) -> Option<Flag<'_>> {
    s.map(|s| match s {
        "true" => Flag::B(true),
        "false" => Flag::B(false),
        other => Flag::Raw(other),
    })
}

/// A decimal number (a CVSS score) as a JSON number when it parses, else the raw text.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Real<'a> {
    F(f64),
    Raw(&'a str),
}

#[inline]
pub fn real(s: Option<&str>) -> Option<Real<'_>> {
    s.map(|s| s.parse().map(Real::F).unwrap_or(Real::Raw(s)))
}

/// The error of a record that cannot be serialised (never expected: records are strings and
/// numbers).
pub fn serialise_error(e: serde_json::Error) -> Error {
    Error::Unexpected {
        origin: "record".into(),
        offset: 0,
        problem: format!("could not serialise a record: {e}"),
    }
}
