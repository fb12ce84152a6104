//! The PCRS answers small enough to read whole: the policy list and the resolved host IDs.
//!
//! Shapes (Qualys PCRS documentation, `shared/reference/api/qualys-vmdr-pc.md` 5.3 and 5.4):
//!
//! ```json
//! {"subscriptionId": "1981983", "policyList": [{"id": "4711", "title": "...", "status": "active", ...}]}
//! [{"policyId": "4711", "subscriptionId": "1981983", "hostIds": ["100031", "100032"]},
//!  {"policyId": "94473", "subscriptionId": "1981983", "hostIds": [], "error": "Error: Compliance Policy does not exist."}]
//! ```
//!
//! IDs are strings in the documentation and numbers in some clients' use: both are read, and
//! kept as the text the gateway sent so that the posture request sends them back unchanged.

use std::fmt;
use std::io::BufRead;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::decode::Decoded;
use crate::error::{Error, Result};

/// An ID as text, whether the gateway sent a string or a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct IdText(pub String);

impl IdText {
    /// The ID as a number, when it is one.
    pub fn number(&self) -> Option<u64> {
        self.0.trim().parse().ok()
    }
}

impl fmt::Display for IdText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<IdText, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IdText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ID (a string or a number)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The answer of `GET /pcrs/1.0/posture/policy/list`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyList {
    #[serde(default)]
    pub subscription_id: Option<IdText>,
    #[serde(default)]
    pub policy_list: Vec<Policy>,
}

/// One policy of the list.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub id: IdText,
    /// `active` or `inactive`.
    #[serde(default)]
    pub status: Option<String>,
}

impl Policy {
    pub fn is_active(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("active"))
    }
}

/// One policy of the answer of `GET /pcrs/1.0/posture/hostids`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyHosts {
    pub policy_id: IdText,
    #[serde(default)]
    pub subscription_id: Option<IdText>,
    #[serde(default)]
    pub host_ids: Vec<IdText>,
    /// A per-policy error inside the 200 (`Error: Compliance Policy does not exist.`).
    #[serde(default)]
    pub error: Option<String>,
}

/// Reads the policy list.
pub fn read_policy_list<R: BufRead>(input: R, origin: &str) -> Result<PolicyList> {
    read_whole(input, origin, "the policy list")
}

/// Reads the resolved host IDs.
pub fn read_host_ids<R: BufRead>(input: R, origin: &str) -> Result<Vec<PolicyHosts>> {
    read_whole(input, origin, "the resolved host IDs")
}

fn read_whole<T: for<'de> Deserialize<'de>>(
    input: impl BufRead,
    origin: &str,
    what: &str,
) -> Result<T> {
    let decoded = Decoded::sniff(input).map_err(|e| super::array::io_error(origin, 0, e))?;
    serde_json::from_reader(decoded).map_err(|e| {
        if e.is_eof() {
            return Error::Truncated {
                origin: origin.to_string(),
                offset: 0,
            };
        }
        Error::Json {
            origin: origin.to_string(),
            offset: 0,
            element: 0,
            problem: format!(
                "{what} is not the documented JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
            source: Some(e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_policy_list_reads_with_string_or_number_ids() {
        let list = read_policy_list(
            &br#"{"subscriptionId":"1981983","policyList":[
                {"id":"4711","title":"VMWARE 5.5 AND 6.0","createdBy":"quays_ab1","status":"inactive","locked":0},
                {"id":4712,"title":"CIS","status":"active"}]}"#[..],
            "list",
        )
        .unwrap();
        assert_eq!(list.policy_list.len(), 2);
        assert_eq!(list.policy_list[0].id.number(), Some(4711));
        assert!(!list.policy_list[0].is_active());
        assert_eq!(list.policy_list[1].id, IdText("4712".into()));
        assert!(list.policy_list[1].is_active());
    }

    #[test]
    fn host_ids_carry_a_per_policy_error_inside_the_200() {
        let hosts = read_host_ids(
            &br#"[{"policyId":"4711","subscriptionId":"1","hostIds":["100031",100032]},
                 {"policyId":"94473","subscriptionId":"1981983","hostIds":[],"error":"Error: Compliance Policy does not exist."}]"#[..],
            "hostids",
        )
        .unwrap();
        assert_eq!(hosts[0].host_ids.len(), 2);
        assert_eq!(
            hosts[1].error.as_deref(),
            Some("Error: Compliance Policy does not exist.")
        );
    }

    #[test]
    fn a_cut_answer_is_truncated_and_a_wrong_one_is_a_json_error() {
        let e = read_host_ids(&br#"[{"policyId":"4711""#[..], "hostids").unwrap_err();
        assert!(matches!(e, Error::Truncated { .. }), "{e}");
        let e =
            read_policy_list(&br#"{"policyList":[{"title":"no id"}]}"#[..], "list").unwrap_err();
        assert!(e.to_string().contains("not the documented JSON"), "{e}");
    }
}
