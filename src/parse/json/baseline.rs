//! The yardstick the posture parser's throughput is stated against: a plain serde_json pass
//! that keeps nothing (`IgnoredAny` per element) over the same JSON, read through the same
//! decompression. It counts the elements so that a timing can be checked.

use std::fmt;
use std::io::BufRead;

use serde::Deserializer as _;
use serde::de::{IgnoredAny, SeqAccess, Visitor};

use super::decode::Decoded;
use crate::error::{Error, Result};

/// Reads a JSON array (gzip'd or plain) with serde_json, ignoring every element; returns how
/// many there were.
pub fn ignored_any<R: BufRead>(input: R) -> Result<u64> {
    let decoded = Decoded::sniff(input).map_err(|e| super::array::io_error("baseline", 0, e))?;
    let mut de = serde_json::Deserializer::from_reader(decoded);
    let n = de.deserialize_seq(Count).and_then(|n| de.end().map(|()| n));
    n.map_err(|e| Error::Json {
        origin: "baseline".into(),
        offset: 0,
        element: 0,
        problem: "the serde_json baseline could not read the answer".into(),
        source: Some(e),
    })
}

struct Count;

impl<'de> Visitor<'de> for Count {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<u64, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_baseline_counts_elements() {
        assert_eq!(
            super::ignored_any(&br#"[{"a":[1,{}]}, {}, 3]"#[..]).unwrap(),
            3
        );
        assert!(super::ignored_any(&b"[{}"[..]).is_err());
    }
}
