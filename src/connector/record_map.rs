//! A record map (`qharness conform --map FILE`): for a connector whose records use other names,
//! which of its fields holds each of ours, so a team can adopt the suite before renaming
//! anything.
//!
//! ```toml
//! host_id = "hostId"                  # a top-level field of theirs
//! qid = "/vulnerability/qid"          # or a JSON pointer into their record
//! severity = "/vulnerability/severity"
//! ```
//!
//! Our fields that the map does not name are read under the same name; a field the map names
//! but their record lacks is null.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// Our field name -> their field name or JSON pointer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordMap {
    fields: BTreeMap<String, String>,
}

impl RecordMap {
    /// Reads a map file (TOML, string values only).
    pub fn load(path: &Path) -> Result<RecordMap> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading the record map", path, e))?;
        RecordMap::from_toml(&text).map_err(|problem| Error::InvalidFile {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// Parses a map; the problem names the key at fault.
    pub fn from_toml(text: &str) -> std::result::Result<RecordMap, String> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| format!("not a valid record map: {e}"))?;
        let mut fields = BTreeMap::new();
        for (ours, theirs) in table {
            let Some(theirs) = theirs.as_str() else {
                return Err(format!(
                    "`{ours}` must name their field as a string (a name, or a JSON pointer such as \"/detection/qid\"), not {theirs}"
                ));
            };
            if theirs.is_empty() {
                return Err(format!("`{ours}` maps to an empty name"));
            }
            fields.insert(ours, theirs.to_string());
        }
        Ok(RecordMap { fields })
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Their record with our names added: each mapped field of ours takes the value found
    /// under their name (null when absent); the rest is kept as it was.
    pub fn apply(&self, record: Value) -> Value {
        if self.fields.is_empty() {
            return record;
        }
        let found: Vec<(String, Value)> = self
            .fields
            .iter()
            .map(|(ours, theirs)| {
                let v = if theirs.starts_with('/') {
                    record.pointer(theirs)
                } else {
                    record.get(theirs)
                };
                (ours.clone(), v.cloned().unwrap_or(Value::Null))
            })
            .collect();
        let mut record = record;
        if let Value::Object(map) = &mut record {
            map.extend(found);
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mapped_fields_come_from_names_or_pointers_and_the_rest_is_kept() {
        let map = RecordMap::from_toml(
            "host_id = \"hostId\"\nqid = \"/vuln/qid\"\nseverity = \"/vuln/missing\"\n",
        )
        .unwrap();
        let theirs = json!({"hostId": 7, "vuln": {"qid": 38170}, "status": "New"});
        let ours = map.apply(theirs);
        assert_eq!(ours["host_id"], 7);
        assert_eq!(ours["qid"], 38170);
        assert_eq!(ours["severity"], Value::Null);
        assert_eq!(ours["status"], "New");
        assert!(
            RecordMap::from_toml("qid = 5")
                .unwrap_err()
                .contains("`qid`")
        );
        assert!(RecordMap::from_toml("").unwrap().is_empty());
    }
}
