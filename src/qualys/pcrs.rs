//! The PCRS posture record's names: one table both sides read.
//!
//! The connector maps each PCRS name to its record field through [`POSTURE_FIELDS`]
//! (`crate::parse::json::posture`), and the simulator writes its posture answers with the same
//! names, so a recording from a real tenant that spells a name differently is corrected in this
//! table and nowhere else. Names marked unconfirmed are the documented record's fields under
//! their likely names (`shared/reference/api/qualys-vmdr-pc.md` 5.5).

/// How a PCRS value becomes a record value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer: a JSON number as is, a string of digits as a number, anything else kept as
    /// sent (never lost).
    Integer,
    /// A string: kept as sent; a number or boolean becomes its text.
    Text,
    /// A date, written `YYYY-MM-DDTHH:MM:SSZ` when it is a UTC date-time in any of the usual
    /// spellings (fractions of a second, `+0000`, `+00:00`), else kept as sent.
    Date,
    /// An object's `label` (`criticality: {"label": "SERIOUS", "value": 3}`), or a plain string.
    Label,
    /// Any JSON, kept as sent (evidence is an object or a string).
    Json,
}

/// One row of the mapping.
#[derive(Debug, Clone, Copy)]
pub struct PostureField {
    /// The record field (`posture_id`).
    pub record: &'static str,
    /// The PCRS name (`id`).
    pub pcrs: &'static str,
    pub kind: Kind,
    /// Whether the PCRS name is confirmed by a real sample (Qualys's release 1.7 sample, the
    /// Splunk add-on's use of `hostId` and `status`); the others are the documented record's
    /// fields under their likely names (`shared/reference/api/qualys-vmdr-pc.md` 5.5).
    pub confirmed: bool,
    /// Sent only when evidence is asked for (`evidenceRequired=1`).
    pub with_evidence: bool,
}

const fn field(
    record: &'static str,
    pcrs: &'static str,
    kind: Kind,
    confirmed: bool,
) -> PostureField {
    PostureField {
        record,
        pcrs,
        kind,
        confirmed,
        with_evidence: false,
    }
}

const fn evidence(record: &'static str, pcrs: &'static str, kind: Kind) -> PostureField {
    PostureField {
        record,
        pcrs,
        kind,
        confirmed: false,
        with_evidence: true,
    }
}

/// The number of fields of a record.
pub const FIELD_COUNT: usize = 25;

/// The mapping, in record order. `true`: the PCRS name is confirmed by a real sample.
pub static POSTURE_FIELDS: [PostureField; FIELD_COUNT] = [
    field("posture_id", "id", Kind::Integer, true),
    field("host_id", "hostId", Kind::Integer, true),
    field("policy_id", "policyId", Kind::Integer, true),
    field("policy_title", "policyTitle", Kind::Text, true),
    field("control_id", "controlId", Kind::Integer, true),
    field("control_statement", "controlStatement", Kind::Text, true),
    field("rationale", "rationale", Kind::Text, true),
    field("technology_id", "technologyId", Kind::Integer, false),
    field("technology", "technology", Kind::Text, false),
    field("instance", "instance", Kind::Text, true),
    field("status", "status", Kind::Text, true),
    field("ip", "ip", Kind::Text, false),
    field("dns", "dns", Kind::Text, false),
    field("netbios", "netBios", Kind::Text, true),
    field("tracking_method", "trackingMethod", Kind::Text, false),
    field("criticality", "criticality", Kind::Label, false),
    field("first_fail_date", "firstFailDate", Kind::Date, false),
    field("last_fail_date", "lastFailDate", Kind::Date, false),
    field("first_pass_date", "firstPassDate", Kind::Date, false),
    field("last_pass_date", "lastPassDate", Kind::Date, false),
    field(
        "posture_modified_date",
        "postureModifiedDate",
        Kind::Date,
        false,
    ),
    field(
        "last_evaluated_date",
        "lastEvaluatedDate",
        Kind::Date,
        false,
    ),
    evidence("remediation", "remediation", Kind::Text),
    evidence("cause_of_failure", "causeOfFailure", Kind::Json),
    evidence("evidence", "evidence", Kind::Json),
];

/// The index of a record field in [`POSTURE_FIELDS`].
pub fn index_of(record: &str) -> Option<usize> {
    POSTURE_FIELDS.iter().position(|f| f.record == record)
}

/// The index of each record field in [`POSTURE_FIELDS`], for code that writes one field by
/// name (the simulator's renderer).
pub mod field_index {
    pub const POSTURE_ID: usize = 0;
    pub const HOST_ID: usize = 1;
    pub const POLICY_ID: usize = 2;
    pub const POLICY_TITLE: usize = 3;
    pub const CONTROL_ID: usize = 4;
    pub const CONTROL_STATEMENT: usize = 5;
    pub const RATIONALE: usize = 6;
    pub const TECHNOLOGY_ID: usize = 7;
    pub const TECHNOLOGY: usize = 8;
    pub const INSTANCE: usize = 9;
    pub const STATUS: usize = 10;
    pub const IP: usize = 11;
    pub const DNS: usize = 12;
    pub const NETBIOS: usize = 13;
    pub const TRACKING_METHOD: usize = 14;
    pub const CRITICALITY: usize = 15;
    pub const FIRST_FAIL_DATE: usize = 16;
    pub const LAST_FAIL_DATE: usize = 17;
    pub const FIRST_PASS_DATE: usize = 18;
    pub const LAST_PASS_DATE: usize = 19;
    pub const POSTURE_MODIFIED_DATE: usize = 20;
    pub const LAST_EVALUATED_DATE: usize = 21;
    pub const REMEDIATION: usize = 22;
    pub const CAUSE_OF_FAILURE: usize = 23;
    pub const EVIDENCE: usize = 24;
}

/// The PCRS name of a record field, by its index.
pub fn pcrs_name(index: usize) -> &'static str {
    POSTURE_FIELDS[index].pcrs
}

#[cfg(test)]
mod tests {
    use super::field_index as f;
    use super::*;

    #[test]
    fn the_field_indexes_name_their_rows() {
        for (i, name) in [
            (f::POSTURE_ID, "posture_id"),
            (f::HOST_ID, "host_id"),
            (f::POLICY_ID, "policy_id"),
            (f::POLICY_TITLE, "policy_title"),
            (f::CONTROL_ID, "control_id"),
            (f::CONTROL_STATEMENT, "control_statement"),
            (f::RATIONALE, "rationale"),
            (f::TECHNOLOGY_ID, "technology_id"),
            (f::TECHNOLOGY, "technology"),
            (f::INSTANCE, "instance"),
            (f::STATUS, "status"),
            (f::IP, "ip"),
            (f::DNS, "dns"),
            (f::NETBIOS, "netbios"),
            (f::TRACKING_METHOD, "tracking_method"),
            (f::CRITICALITY, "criticality"),
            (f::FIRST_FAIL_DATE, "first_fail_date"),
            (f::LAST_FAIL_DATE, "last_fail_date"),
            (f::FIRST_PASS_DATE, "first_pass_date"),
            (f::LAST_PASS_DATE, "last_pass_date"),
            (f::POSTURE_MODIFIED_DATE, "posture_modified_date"),
            (f::LAST_EVALUATED_DATE, "last_evaluated_date"),
            (f::REMEDIATION, "remediation"),
            (f::CAUSE_OF_FAILURE, "cause_of_failure"),
            (f::EVIDENCE, "evidence"),
        ] {
            assert_eq!(index_of(name), Some(i), "{name}");
        }
    }
}
