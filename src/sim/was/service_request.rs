//! Reading a `ServiceRequest` body: its criteria and preferences, checked the way QPS checks
//! them, and refused with QPS's words when they are wrong.
//!
//! ```xml
//! <ServiceRequest>
//!   <preferences><limitResults>250</limitResults><startFromOffset>1</startFromOffset></preferences>
//!   <filters><Criteria field="webApp.id" operator="IN">238483925,238483924</Criteria></filters>
//! </ServiceRequest>
//! ```
//!
//! | what | accepted | refused with (`INVALID_REQUEST`, inside HTTP 200) |
//! |---|---|---|
//! | body | empty (no filters, defaults), or one `ServiceRequest` | anything else: "Invalid XML: ..." |
//! | `limitResults` | 1 to 1000, default 100 | "Invalid value for preference 'limitResults' (0)." / "Specify a number from 1 to 1000." |
//! | `startFromOffset` | 1-based position among the matching records | the same shape, "Specify a number from 1." |
//! | `startFromId` | records with an id from this one on | "Specify a value as Long." |
//! | `verbose` | `true`, `false` | "Values expected: true, false." |
//! | a criteria's value | see [`super::criteria`] | recorded: "Criteria: Invalid value format for criteria 'webApp.id' (abc123)." / "Specify criteria value(s) as Long." |
//!
//! The recorded messages are the criteria ones; the preference wording follows their pattern
//! (see fixtures/README.md).

use quick_xml::events::Event;

use crate::qualys::was::{DEFAULT_LIMIT_RESULTS, MAX_LIMIT_RESULTS};
use crate::sim::engine::handler::{Rejection, RejectionKind};

/// A criteria operator, as QPS spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    In,
    Greater,
    Lesser,
}

impl Operator {
    pub const ALL: [Operator; 6] = [
        Operator::Equals,
        Operator::NotEquals,
        Operator::Contains,
        Operator::In,
        Operator::Greater,
        Operator::Lesser,
    ];

    pub fn wire(self) -> &'static str {
        match self {
            Operator::Equals => "EQUALS",
            Operator::NotEquals => "NOT EQUALS",
            Operator::Contains => "CONTAINS",
            Operator::In => "IN",
            Operator::Greater => "GREATER",
            Operator::Lesser => "LESSER",
        }
    }

    fn from_wire(s: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|o| o.wire() == s)
    }
}

/// One `<Criteria field=".." operator="..">value</Criteria>`, not yet checked against the
/// object's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCriterion {
    pub field: String,
    pub operator: Operator,
    pub value: String,
}

/// What a `ServiceRequest` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequestBody {
    pub criteria: Vec<RawCriterion>,
    pub limit: u32,
    /// 1-based.
    pub start_from_offset: Option<u64>,
    pub start_from_id: Option<u64>,
    pub verbose: bool,
}

impl Default for ServiceRequestBody {
    fn default() -> Self {
        ServiceRequestBody {
            criteria: Vec::new(),
            limit: DEFAULT_LIMIT_RESULTS,
            start_from_offset: None,
            start_from_id: None,
            verbose: false,
        }
    }
}

/// An `INVALID_REQUEST` with Qualys's message and resolution.
pub fn invalid(message: impl Into<String>, resolution: impl Into<String>) -> Rejection {
    Rejection::new(RejectionKind::InvalidValue, message).with_resolution(resolution)
}

fn bad_xml(what: impl std::fmt::Display) -> Rejection {
    invalid(
        format!("Invalid XML: {what}"),
        "Send a well-formed ServiceRequest document as the request body.",
    )
}

fn bad_preference(name: &str, value: &str, resolution: &str) -> Rejection {
    invalid(
        format!("Invalid value for preference '{name}' ({value})."),
        resolution,
    )
}

impl ServiceRequestBody {
    /// Parses a request body; an empty body is a request without filters or preferences.
    pub fn parse(body: &[u8]) -> Result<ServiceRequestBody, Rejection> {
        let mut out = ServiceRequestBody::default();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(out);
        }
        let text = std::str::from_utf8(body).map_err(|_| bad_xml("the body is not UTF-8"))?;
        let mut reader = quick_xml::Reader::from_str(text);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        // The element path from the root, and the text of the innermost element.
        let mut path: Vec<String> = Vec::new();
        let mut value = String::new();
        let mut criterion: Option<(String, Option<Operator>)> = None;
        let mut seen_root = false;
        loop {
            match reader.read_event() {
                Err(e) => return Err(bad_xml(e)),
                Ok(Event::Eof) if path.is_empty() => break,
                Ok(Event::Eof) => {
                    return Err(bad_xml(format!(
                        "the body ends inside <{}>",
                        path.last().map(String::as_str).unwrap_or_default()
                    )));
                }
                Ok(Event::Start(e)) => {
                    let name = e.name().as_ref().to_string();
                    if path.is_empty() {
                        if name != "ServiceRequest" || seen_root {
                            return Err(bad_xml(format!(
                                "the root element must be ServiceRequest, not {name}"
                            )));
                        }
                        seen_root = true;
                    }
                    if path.len() == 2 && path[1] == "filters" {
                        if name != "Criteria" {
                            return Err(bad_xml(format!(
                                "filters holds Criteria elements, not {name}"
                            )));
                        }
                        let mut field = None;
                        let mut operator = None;
                        for a in e.attributes() {
                            let a = a.map_err(bad_xml)?;
                            let v = a
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map_err(bad_xml)?
                                .into_owned();
                            match a.key.as_ref() {
                                "field" => field = Some(v),
                                "operator" => {
                                    operator = Some(Operator::from_wire(v.trim()).ok_or_else(
                                        || {
                                            invalid(
                                                format!("Criteria: Invalid operator '{v}'."),
                                                "Operators expected: EQUALS, NOT EQUALS, CONTAINS, IN, GREATER, LESSER.",
                                            )
                                        },
                                    )?)
                                }
                                _ => {}
                            }
                        }
                        let field = field.ok_or_else(|| {
                            invalid(
                                "Criteria: A criteria has no field.",
                                "Name the field a criteria filters on in its field attribute.",
                            )
                        })?;
                        criterion = Some((field, operator));
                    }
                    path.push(name);
                    value.clear();
                }
                Ok(Event::End(_)) => {
                    let name = path.pop().unwrap_or_default();
                    match (path.len(), path.get(1).map(String::as_str)) {
                        (2, Some("filters")) => {
                            let (field, operator) = criterion.take().unwrap_or_default();
                            let operator = operator.unwrap_or(Operator::Equals);
                            out.criteria.push(RawCriterion {
                                field,
                                operator,
                                value: value.trim().to_string(),
                            });
                        }
                        (2, Some("preferences")) => out.preference(&name, value.trim())?,
                        _ => {}
                    }
                    value.clear();
                }
                Ok(Event::Text(t)) => value.push_str(&t.xml10_content()),
                Ok(Event::CData(t)) => value.push_str(&t.xml10_content()),
                Ok(Event::GeneralRef(r)) => {
                    let name = r.xml10_content();
                    match r.resolve_char_ref().map_err(bad_xml)? {
                        Some(c) => value.push(c),
                        None => match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => value.push_str(s),
                            None => {
                                return Err(bad_xml(format!(
                                    "undeclared entity reference &{name};"
                                )));
                            }
                        },
                    }
                }
                Ok(_) => {}
            }
        }
        if !seen_root {
            return Err(bad_xml("the body holds no ServiceRequest element"));
        }
        Ok(out)
    }

    fn preference(&mut self, name: &str, value: &str) -> Result<(), Rejection> {
        match name {
            "limitResults" => {
                self.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT_RESULTS).contains(n))
                    .ok_or_else(|| {
                        bad_preference(name, value, "Specify a number from 1 to 1000.")
                    })?
            }
            "startFromOffset" => {
                self.start_from_offset = Some(
                    value
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| bad_preference(name, value, "Specify a number from 1."))?,
                )
            }
            "startFromId" => {
                self.start_from_id = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| bad_preference(name, value, "Specify a value as Long."))?,
                )
            }
            "verbose" => {
                self.verbose = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad_preference(name, value, "Values expected: true, false.")),
                }
            }
            // Documented for findings (history records per finding); the simulator renders no
            // history, so there is nothing to cap.
            "limitHistories" => {}
            other => {
                return Err(invalid(
                    format!("Invalid preference '{other}'."),
                    "Preferences expected: startFromId, startFromOffset, limitResults, verbose.",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_request_reads_back_with_its_criteria_and_preferences() {
        let body = br#"<ServiceRequest>
  <preferences><limitResults>250</limitResults><startFromOffset>1</startFromOffset></preferences>
  <filters><Criteria field="lastDetectedDate" operator="GREATER">2020-03-05T23:00:30Z</Criteria>
<Criteria field="webApp.id" operator="IN">238483925,238483924</Criteria></filters>
</ServiceRequest>"#;
        let r = ServiceRequestBody::parse(body).unwrap();
        assert_eq!((r.limit, r.start_from_offset), (250, Some(1)));
        assert_eq!(
            r.criteria[1],
            RawCriterion {
                field: "webApp.id".into(),
                operator: Operator::In,
                value: "238483925,238483924".into()
            }
        );
        assert_eq!(
            ServiceRequestBody::parse(b"").unwrap(),
            ServiceRequestBody::default()
        );
    }

    #[test]
    fn bad_preferences_and_bodies_are_invalid_requests_that_say_what_to_send() {
        for (body, message, resolution) in [
            (
                "<ServiceRequest><preferences><limitResults>1001</limitResults></preferences></ServiceRequest>",
                "Invalid value for preference 'limitResults' (1001).",
                "Specify a number from 1 to 1000.",
            ),
            (
                "<ServiceRequest><preferences><verbose>yes</verbose></preferences></ServiceRequest>",
                "Invalid value for preference 'verbose' (yes).",
                "Values expected: true, false.",
            ),
            (
                "<ServiceRequest><filters><Criteria field=\"id\" operator=\"LIKE\">1</Criteria></filters></ServiceRequest>",
                "Criteria: Invalid operator 'LIKE'.",
                "Operators expected: EQUALS, NOT EQUALS, CONTAINS, IN, GREATER, LESSER.",
            ),
        ] {
            let r = ServiceRequestBody::parse(body.as_bytes()).unwrap_err();
            assert_eq!(r.text, message);
            assert_eq!(r.resolution.as_deref(), Some(resolution));
        }
        let r = ServiceRequestBody::parse(b"<ServiceRequest><filters>").unwrap_err();
        assert!(r.text.starts_with("Invalid XML"), "{}", r.text);
        let r = ServiceRequestBody::parse(b"<Other/>").unwrap_err();
        assert!(r.text.contains("must be ServiceRequest"), "{}", r.text);
    }
}
