//! The criteria of a WAS search: which fields each object can be filtered on, with which
//! operators, and what they mean.
//!
//! Fields and their types come from the Qualys search pages and qualysdk's filter mappings
//! (`shared/reference/api/qualys-was.md` section 2); the operators per type from qualysdk's
//! docstrings:
//!
//! | type | operators | a value |
//! |---|---|---|
//! | integer | EQUALS, NOT EQUALS, GREATER, LESSER, IN | a Long; IN takes a comma-separated list |
//! | text | EQUALS, NOT EQUALS, CONTAINS | any text |
//! | keyword | EQUALS, NOT EQUALS, IN | one of the documented values |
//! | date | EQUALS, NOT EQUALS, GREATER, LESSER | `YYYY-MM-DDThh:mm:ssZ` |
//! | boolean | EQUALS, NOT EQUALS | `true`, `false` |
//!
//! Every criterion must hold (they are ANDed). GREATER and LESSER are strict. Text EQUALS is
//! exact; CONTAINS ignores ASCII case. A field with several values (a web application's tags,
//! a finding's CWEs) matches when one value does, and NOT EQUALS when none is equal. A record
//! without a single-valued field (an information-gathered finding has no status) fails every
//! criterion on it, NOT EQUALS included. These readings are the simulator's where Qualys does
//! not document them (fixtures/README.md).

use crate::qualys::was::FindingStatus;
use crate::sim::engine::handler::Rejection;
use crate::sim::tenant::{SimFinding, SimWebApp, WasData};
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::params::parse_date;

use super::service_request::{Operator, RawCriterion, invalid};

/// What a search lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    WebApp,
    Finding,
}

impl Object {
    pub fn name(self) -> &'static str {
        match self {
            Object::WebApp => "WebApp",
            Object::Finding => "Finding",
        }
    }

    fn fields(self) -> &'static [FieldDef] {
        match self {
            Object::WebApp => WEBAPP_FIELDS,
            Object::Finding => FINDING_FIELDS,
        }
    }

    /// Documented fields the simulator does not filter on: refused, never ignored.
    fn not_modelled(self) -> &'static [&'static str] {
        match self {
            Object::WebApp => &["tags", "attributes"],
            Object::Finding => &[
                "patch",
                "externalRef",
                "ignoredDate",
                "owasp.name",
                "wasc.name",
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Text,
    Keyword(&'static [&'static str]),
    Date,
    Boolean,
}

impl Kind {
    fn operators(self) -> &'static [Operator] {
        use Operator::*;
        match self {
            Kind::Integer => &[Equals, NotEquals, Greater, Lesser, In],
            Kind::Text => &[Equals, NotEquals, Contains],
            Kind::Keyword(_) => &[Equals, NotEquals, In],
            Kind::Date => &[Equals, NotEquals, Greater, Lesser],
            Kind::Boolean => &[Equals, NotEquals],
        }
    }
}

#[derive(Debug)]
struct FieldDef {
    name: &'static str,
    kind: Kind,
}

const fn def(name: &'static str, kind: Kind) -> FieldDef {
    FieldDef { name, kind }
}

const SCAN_STATUSES: &[&str] = &[
    "SUBMITTED",
    "RUNNING",
    "FINISHED",
    "TIME_LIMIT_EXCEEDED",
    "SCAN_NOT_LAUNCHED",
    "SCANNER_NOT_AVAILABLE",
    "ERROR",
    "CANCELED",
];
const TYPES: &[&str] = &["VULNERABILITY", "SENSITIVE_CONTENT", "INFORMATION_GATHERED"];
const STATUSES: &[&str] = &["NEW", "ACTIVE", "REOPENED", "PROTECTED", "FIXED"];
const SEVERITIES: &[&str] = &["1", "2", "3", "4", "5"];
const GROUPS: &[&str] = &["XSS", "SQL", "INFO", "PATH", "CC", "SSN_US", "CUSTOM"];
const REASONS: &[&str] = &["FALSE_POSITIVE", "RISK_ACCEPTED", "NOT_APPLICABLE"];

static WEBAPP_FIELDS: &[FieldDef] = &[
    def("id", Kind::Integer),
    def("name", Kind::Text),
    def("url", Kind::Text),
    def("tags.name", Kind::Text),
    def("tags.id", Kind::Integer),
    def("createdDate", Kind::Date),
    def("updatedDate", Kind::Date),
    def("isScheduled", Kind::Boolean),
    def("isScanned", Kind::Boolean),
    def("lastScan.date", Kind::Date),
    def("lastScan.status", Kind::Keyword(SCAN_STATUSES)),
];

static FINDING_FIELDS: &[FieldDef] = &[
    def("id", Kind::Integer),
    def("uniqueId", Kind::Text),
    def("qid", Kind::Integer),
    def("name", Kind::Text),
    def("type", Kind::Keyword(TYPES)),
    def("url", Kind::Text),
    def("status", Kind::Keyword(STATUSES)),
    def("severity", Kind::Keyword(SEVERITIES)),
    def("group", Kind::Keyword(GROUPS)),
    def("ignoredReason", Kind::Keyword(REASONS)),
    def("isIgnored", Kind::Boolean),
    def("webApp.id", Kind::Integer),
    def("webApp.name", Kind::Text),
    def("webApp.tags.id", Kind::Integer),
    def("webApp.tags.name", Kind::Text),
    def("cwe.id", Kind::Integer),
    def("owasp.code", Kind::Integer),
    def("wasc.code", Kind::Integer),
    def("timesDetected", Kind::Integer),
    def("firstDetectedDate", Kind::Date),
    def("lastDetectedDate", Kind::Date),
    def("lastTestedDate", Kind::Date),
    def("fixedDate", Kind::Date),
];

/// The values of a checked criterion.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    Integers(Vec<i64>),
    Texts(Vec<String>),
    Dates(Vec<Timestamp>),
    Booleans(Vec<bool>),
}

/// A criterion checked against its object's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    field: &'static str,
    operator: Operator,
    values: Values,
}

/// A record's value of one field.
enum Value<'a> {
    Integer(Option<i64>),
    Integers(Vec<i64>),
    Text(Option<&'a str>),
    /// A text made on demand (`uniqueId`).
    OwnedText(String),
    Texts(Vec<&'a str>),
    Date(Option<Timestamp>),
    Boolean(Option<bool>),
}

/// The checked criteria of one search, ANDed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    criteria: Vec<Criterion>,
}

fn bad_value(field: &str, value: &str, resolution: impl Into<String>) -> Rejection {
    invalid(
        format!("Criteria: Invalid value format for criteria '{field}' ({value})."),
        resolution,
    )
}

impl Filter {
    /// Checks raw criteria against `object`'s fields, in Qualys's words when one is wrong.
    pub fn compile(object: Object, raw: &[RawCriterion]) -> Result<Filter, Rejection> {
        let mut criteria = Vec::with_capacity(raw.len());
        for c in raw {
            let Some(def) = object.fields().iter().find(|d| d.name == c.field) else {
                if object.not_modelled().contains(&c.field.as_str()) {
                    return Err(invalid(
                        format!(
                            "Criteria: the qharness simulator does not model the criteria '{}'.",
                            c.field
                        ),
                        "Qualys accepts it, but ignoring it would answer with the wrong records; \
                         leave it out, or answer this request from a fixture set.",
                    ));
                }
                let known: Vec<&str> = object.fields().iter().map(|d| d.name).collect();
                return Err(invalid(
                    format!(
                        "Criteria: Invalid criteria '{}' for {}.",
                        c.field,
                        object.name()
                    ),
                    format!("Criteria expected: {}.", known.join(", ")),
                ));
            };
            if !def.kind.operators().contains(&c.operator) {
                let ops: Vec<&str> = def.kind.operators().iter().map(|o| o.wire()).collect();
                return Err(invalid(
                    format!(
                        "Criteria: Operator '{}' is not supported for criteria '{}'.",
                        c.operator.wire(),
                        def.name
                    ),
                    format!("Operators expected: {}.", ops.join(", ")),
                ));
            }
            let items: Vec<&str> = if c.operator == Operator::In {
                c.value.split(',').map(str::trim).collect()
            } else {
                vec![c.value.as_str()]
            };
            let values = match def.kind {
                Kind::Integer => Values::Integers(
                    items
                        .iter()
                        .map(|v| v.parse::<i64>())
                        .collect::<Result<_, _>>()
                        .map_err(|_| {
                            bad_value(def.name, &c.value, "Specify criteria value(s) as Long.")
                        })?,
                ),
                Kind::Text => Values::Texts(items.iter().map(|v| (*v).to_string()).collect()),
                Kind::Keyword(allowed) => {
                    if items.iter().any(|v| !allowed.contains(v)) {
                        return Err(bad_value(
                            def.name,
                            &c.value,
                            format!("Values expected: {}.", allowed.join(", ")),
                        ));
                    }
                    Values::Texts(items.iter().map(|v| (*v).to_string()).collect())
                }
                Kind::Date => Values::Dates(
                    items
                        .iter()
                        .map(|v| parse_date(v))
                        .collect::<Result<_, _>>()
                        .map_err(|_| {
                            bad_value(
                                def.name,
                                &c.value,
                                "Specify dates as YYYY-MM-DDThh:mm:ssZ (UTC).",
                            )
                        })?,
                ),
                Kind::Boolean => Values::Booleans(
                    items
                        .iter()
                        .map(|v| match *v {
                            "true" => Ok(true),
                            "false" => Ok(false),
                            _ => Err(()),
                        })
                        .collect::<Result<_, _>>()
                        .map_err(|_| {
                            bad_value(def.name, &c.value, "Values expected: true, false.")
                        })?,
                ),
            };
            criteria.push(Criterion {
                field: def.name,
                operator: c.operator,
                values,
            });
        }
        Ok(Filter { criteria })
    }

    /// The `id GREATER` value, if the search has one (what a stuck cursor repeats).
    pub fn id_greater(&self) -> Option<u64> {
        self.criteria
            .iter()
            .find_map(|c| match (&c.values, c.operator) {
                (Values::Integers(v), Operator::Greater) if c.field == "id" => {
                    v.first().and_then(|n| u64::try_from(*n).ok())
                }
                _ => None,
            })
    }

    /// Whether a web application meets every criterion.
    pub fn keeps_webapp(&self, w: &SimWebApp, was: &WasData) -> bool {
        self.criteria
            .iter()
            .all(|c| holds(c, &webapp_value(c.field, w, was)))
    }

    /// Whether a finding of `app` meets every criterion.
    pub fn keeps_finding(&self, f: &SimFinding, app: &SimWebApp, was: &WasData) -> bool {
        self.criteria
            .iter()
            .all(|c| holds(c, &finding_value(c.field, f, app, was)))
    }
}

fn webapp_value<'a>(field: &str, w: &'a SimWebApp, was: &WasData) -> Value<'a> {
    match field {
        "id" => Value::Integer(i64::try_from(w.id).ok()),
        "name" => Value::Text(Some(&w.name)),
        "url" => Value::Text(Some(&w.url)),
        "tags.name" => Value::Texts(w.tags.iter().map(String::as_str).collect()),
        "tags.id" => Value::Integers(tag_ids(&w.tags, was)),
        "createdDate" => Value::Date(Some(w.created())),
        "updatedDate" => Value::Date(Some(w.updated())),
        "isScheduled" => Value::Boolean(Some(w.is_scheduled)),
        "isScanned" => Value::Boolean(Some(w.last_scan.is_some())),
        "lastScan.date" => Value::Date(w.last_scan.as_ref().map(|s| s.launched)),
        "lastScan.status" => Value::Text(w.last_scan.as_ref().map(|s| s.status.wire())),
        _ => Value::Text(None),
    }
}

fn finding_value<'a>(
    field: &str,
    f: &'a SimFinding,
    app: &'a SimWebApp,
    was: &WasData,
) -> Value<'a> {
    let ints = |v: &[u32]| v.iter().map(|n| i64::from(*n)).collect();
    match field {
        "id" => Value::Integer(i64::try_from(f.id).ok()),
        "uniqueId" => Value::OwnedText(f.unique_id()),
        "qid" => Value::Integer(Some(i64::from(f.qid))),
        "name" => Value::Text(Some(&f.name)),
        "type" => Value::Text(Some(f.kind.wire())),
        "url" => Value::Text(f.url.as_deref()),
        "status" => Value::Text(f.status.map(FindingStatus::wire)),
        "severity" => Value::Text(Some(SEVERITIES[usize::from(f.severity.clamp(1, 5)) - 1])),
        "group" => Value::Text(f.group.as_deref()),
        "ignoredReason" => Value::Text(f.ignored_reason.as_deref()),
        "isIgnored" => Value::Boolean(f.kind.is_detection().then_some(f.is_ignored)),
        "webApp.id" => Value::Integer(i64::try_from(app.id).ok()),
        "webApp.name" => Value::Text(Some(&app.name)),
        "webApp.tags.id" => Value::Integers(tag_ids(&app.tags, was)),
        "webApp.tags.name" => Value::Texts(app.tags.iter().map(String::as_str).collect()),
        "cwe.id" => Value::Integers(ints(&f.cwe)),
        "owasp.code" => Value::Integers(ints(&f.owasp)),
        "wasc.code" => Value::Integers(ints(&f.wasc)),
        "timesDetected" => Value::Integer(f.times_detected.map(i64::from)),
        "firstDetectedDate" => Value::Date(Some(f.first_detected())),
        "lastDetectedDate" => Value::Date(Some(f.last_detected())),
        "lastTestedDate" => Value::Date(Some(f.last_tested())),
        "fixedDate" => Value::Date(f.fixed),
        _ => Value::Text(None),
    }
}

fn tag_ids(tags: &[String], was: &WasData) -> Vec<i64> {
    tags.iter()
        .filter_map(|t| i64::try_from(was.tag_id(t)).ok())
        .collect()
}

/// Whether a record's value meets a criterion.
fn holds(c: &Criterion, value: &Value<'_>) -> bool {
    use Operator::*;
    let many = |hits: &dyn Fn(usize) -> bool, len: usize| match c.operator {
        NotEquals => !(0..len).any(hits),
        _ => (0..len).any(hits),
    };
    match (value, &c.values) {
        (
            Value::Integer(None) | Value::Text(None) | Value::Date(None) | Value::Boolean(None),
            _,
        ) => false,
        (Value::Integer(Some(n)), Values::Integers(v)) => int_holds(c.operator, *n, v),
        (Value::Integers(ns), Values::Integers(v)) => {
            let hit = |i: usize| {
                int_holds(
                    if c.operator == NotEquals {
                        Equals
                    } else {
                        c.operator
                    },
                    ns[i],
                    v,
                )
            };
            many(&hit, ns.len())
        }
        (Value::Text(Some(s)), Values::Texts(v)) => text_holds(c.operator, s, v),
        (Value::OwnedText(s), Values::Texts(v)) => text_holds(c.operator, s, v),
        (Value::Texts(ss), Values::Texts(v)) => {
            let hit = |i: usize| {
                text_holds(
                    if c.operator == NotEquals {
                        Equals
                    } else {
                        c.operator
                    },
                    ss[i],
                    v,
                )
            };
            many(&hit, ss.len())
        }
        (Value::Date(Some(t)), Values::Dates(v)) => v.first().is_some_and(|d| match c.operator {
            Equals => t == d,
            NotEquals => t != d,
            Greater => t > d,
            Lesser => t < d,
            _ => false,
        }),
        (Value::Boolean(Some(b)), Values::Booleans(v)) => {
            v.first().is_some_and(|x| match c.operator {
                Equals => b == x,
                NotEquals => b != x,
                _ => false,
            })
        }
        // A field of one type compared with values of another cannot come out of `compile`.
        _ => false,
    }
}

fn int_holds(op: Operator, n: i64, v: &[i64]) -> bool {
    let first = v.first().copied();
    match op {
        Operator::Equals => first == Some(n),
        Operator::NotEquals => first.is_some_and(|f| f != n),
        Operator::Greater => first.is_some_and(|f| n > f),
        Operator::Lesser => first.is_some_and(|f| n < f),
        Operator::In => v.contains(&n),
        Operator::Contains => false,
    }
}

fn text_holds(op: Operator, s: &str, v: &[String]) -> bool {
    match op {
        Operator::Equals => v.first().is_some_and(|x| x == s),
        Operator::NotEquals => v.first().is_some_and(|x| x != s),
        Operator::In => v.iter().any(|x| x == s),
        Operator::Contains => v.first().is_some_and(|x| {
            s.to_ascii_lowercase()
                .contains(x.to_ascii_lowercase().as_str())
        }),
        Operator::Greater | Operator::Lesser => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualys::was::FindingType;
    use crate::sim::tenant::Tenant;

    fn c(field: &str, operator: Operator, value: &str) -> RawCriterion {
        RawCriterion {
            field: field.into(),
            operator,
            value: value.into(),
        }
    }

    #[test]
    fn a_bad_long_and_a_bad_boolean_are_refused_with_the_recorded_words() {
        let e = Filter::compile(Object::Finding, &[c("webApp.id", Operator::In, "abc123")])
            .unwrap_err();
        assert_eq!(
            e.text,
            "Criteria: Invalid value format for criteria 'webApp.id' (abc123)."
        );
        assert_eq!(
            e.resolution.as_deref(),
            Some("Specify criteria value(s) as Long.")
        );
        let e = Filter::compile(
            Object::WebApp,
            &[c("isScanned", Operator::Equals, "undefined")],
        )
        .unwrap_err();
        assert_eq!(
            e.text,
            "Criteria: Invalid value format for criteria 'isScanned' (undefined)."
        );
        assert_eq!(
            e.resolution.as_deref(),
            Some("Values expected: true, false.")
        );
    }

    #[test]
    fn operators_are_checked_per_field_type_and_unknown_fields_list_the_known_ones() {
        let e = Filter::compile(Object::WebApp, &[c("id", Operator::Contains, "1")]).unwrap_err();
        assert!(e.text.contains("Operator 'CONTAINS'"), "{}", e.text);
        let e = Filter::compile(Object::Finding, &[c("cve", Operator::Equals, "1")]).unwrap_err();
        assert!(
            e.resolution
                .as_deref()
                .unwrap_or("")
                .contains("webApp.tags.name"),
            "{e:?}"
        );
        let e = Filter::compile(Object::Finding, &[c("externalRef", Operator::Equals, "x")])
            .unwrap_err();
        assert!(e.text.contains("does not model"), "{}", e.text);
    }

    #[test]
    fn criteria_are_anded_and_a_finding_without_a_status_fails_not_equals_too() {
        let t = Tenant::demo();
        let was = &t.was;
        let app = &was.webapps[0];
        let f = Filter::compile(
            Object::Finding,
            &[
                c("type", Operator::In, "VULNERABILITY,INFORMATION_GATHERED"),
                c("status", Operator::NotEquals, "FIXED"),
            ],
        )
        .unwrap();
        let kept: Vec<&SimFinding> = was
            .findings
            .iter()
            .filter(|x| x.webapp == app.id && f.keeps_finding(x, app, was))
            .collect();
        assert!(!kept.is_empty());
        assert!(kept.iter().all(
            |x| x.kind == FindingType::Vulnerability && x.status != Some(FindingStatus::Fixed)
        ));
        let g = Filter::compile(Object::WebApp, &[c("id", Operator::Greater, "0")]).unwrap();
        assert_eq!(g.id_greater(), Some(0));
        assert!(g.keeps_webapp(app, was));
        let scanned =
            Filter::compile(Object::WebApp, &[c("isScanned", Operator::Equals, "false")]).unwrap();
        let never: Vec<_> = was
            .webapps
            .iter()
            .filter(|w| scanned.keeps_webapp(w, was))
            .collect();
        assert!(!never.is_empty() && never.iter().all(|w| w.last_scan.is_none()));
    }
}
