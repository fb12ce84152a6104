//! The QPS `ServiceRequest` body (WAS): filter criteria, ANDed, and preferences.
//!
//! Layout as recorded from real clients (`shared/reference/was/graph-qualys/bodies/`):
//!
//! ```xml
//! <ServiceRequest>
//!   <preferences><limitResults>250</limitResults></preferences>
//!   <filters><Criteria field="webApp.id" operator="IN">238483925,238483924</Criteria></filters>
//! </ServiceRequest>
//! ```

use std::fmt::Write;

use quick_xml::escape::escape;

/// A QPS criteria operator (the `operator` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    In,
    /// Strictly greater: the documented way to page, `id GREATER <lastId>`.
    Greater,
    Lesser,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "EQUALS",
            Operator::NotEquals => "NOT EQUALS",
            Operator::Contains => "CONTAINS",
            Operator::In => "IN",
            Operator::Greater => "GREATER",
            Operator::Lesser => "LESSER",
        }
    }
}

/// One `<Criteria field=".." operator="..">value</Criteria>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    pub field: String,
    pub operator: Operator,
    pub value: String,
}

/// A `ServiceRequest` body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceRequest {
    pub preferences: Vec<(String, String)>,
    pub criteria: Vec<Criterion>,
}

impl ServiceRequest {
    /// Adds a preference (`limitResults`, `verbose`).
    pub fn preference(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.preferences.push((name.into(), value.into()));
        self
    }

    /// Adds a criterion.
    pub fn criterion(
        mut self,
        field: impl Into<String>,
        operator: Operator,
        value: impl Into<String>,
    ) -> Self {
        self.criteria.push(Criterion {
            field: field.into(),
            operator,
            value: value.into(),
        });
        self
    }

    /// Sets the criterion on `field` with `operator`, replacing an earlier one: how the `lastId`
    /// cursor moves `id GREATER` from page to page.
    pub fn set_criterion(&mut self, field: &str, operator: Operator, value: impl Into<String>) {
        let value = value.into();
        match self
            .criteria
            .iter_mut()
            .find(|c| c.field == field && c.operator == operator)
        {
            Some(c) => c.value = value,
            None => self.criteria.push(Criterion {
                field: field.to_string(),
                operator,
                value,
            }),
        }
    }

    /// The XML body.
    pub fn to_xml(&self) -> String {
        let mut xml = String::from("<ServiceRequest>");
        if !self.preferences.is_empty() {
            xml.push_str("<preferences>");
            for (name, value) in &self.preferences {
                // Preference names are the connector's own constants, never user input.
                let _ = write!(xml, "<{name}>{}</{name}>", escape(value.as_str()));
            }
            xml.push_str("</preferences>");
        }
        if !self.criteria.is_empty() {
            xml.push_str("<filters>");
            for c in &self.criteria {
                let _ = write!(
                    xml,
                    "<Criteria field=\"{}\" operator=\"{}\">{}</Criteria>",
                    escape(c.field.as_str()),
                    c.operator.as_str(),
                    escape(c.value.as_str())
                );
            }
            xml.push_str("</filters>");
        }
        xml.push_str("</ServiceRequest>");
        xml
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_come_first_and_the_id_criterion_is_replaced_in_place() {
        let mut r = ServiceRequest::default()
            .preference("limitResults", "1000")
            .criterion("type", Operator::In, "VULNERABILITY,SENSITIVE_CONTENT");
        r.set_criterion("id", Operator::Greater, "6816386");
        r.set_criterion("id", Operator::Greater, "6816400");
        assert_eq!(
            r.to_xml(),
            "<ServiceRequest><preferences><limitResults>1000</limitResults></preferences><filters>\
             <Criteria field=\"type\" operator=\"IN\">VULNERABILITY,SENSITIVE_CONTENT</Criteria>\
             <Criteria field=\"id\" operator=\"GREATER\">6816400</Criteria></filters></ServiceRequest>"
        );
    }

    #[test]
    fn values_are_escaped_and_an_empty_request_is_just_the_root() {
        assert_eq!(
            ServiceRequest::default().to_xml(),
            "<ServiceRequest></ServiceRequest>"
        );
        let r = ServiceRequest::default().criterion("name", Operator::Contains, "A & <B>");
        assert!(
            r.to_xml().contains(">A &amp; &lt;B&gt;</Criteria>"),
            "{}",
            r.to_xml()
        );
    }
}
