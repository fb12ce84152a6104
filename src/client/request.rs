//! What the connector asks Qualys: an endpoint of the registry, a method, query parameters and
//! a body in the endpoint family's format.

use reqwest::Method;

use super::ServiceRequest;
use crate::qualys::endpoint::Endpoint;

/// One request: an endpoint (which says the path, the API family and the permission it needs),
/// a method, a query and a body.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub endpoint: &'static Endpoint,
    pub method: Method,
    /// The path below the platform URL, e.g. `/api/2.0/fo/asset/host/vm/detection/`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    /// 1-based page number within the stream, for messages.
    pub page: Option<u32>,
}

/// A request body, in the format of its API family.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Body {
    #[default]
    None,
    /// `application/x-www-form-urlencoded` parameters (the FO API).
    Form(Vec<(String, String)>),
    /// `text/xml`: a QPS `ServiceRequest` (WAS).
    Xml(ServiceRequest),
    /// `application/json` (the PCRS posture API).
    Json(serde_json::Value),
}

impl Body {
    /// The `Content-Type` the body is sent with.
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::None => None,
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
            Body::Xml(_) => Some("text/xml"),
            Body::Json(_) => Some("application/json"),
        }
    }

    /// The body's bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Body::None => Vec::new(),
            Body::Form(params) => url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter())
                .finish()
                .into_bytes(),
            Body::Xml(request) => request.to_xml().into_bytes(),
            // A Value always serialises.
            Body::Json(value) => serde_json::to_vec(value).unwrap_or_default(),
        }
    }
}

impl Request {
    /// A request with no query and no body.
    pub fn new(endpoint: &'static Endpoint, method: Method) -> Request {
        Request {
            endpoint,
            method,
            path: endpoint.path(),
            query: Vec::new(),
            body: Body::None,
            page: None,
        }
    }

    pub fn get(endpoint: &'static Endpoint) -> Request {
        Request::new(endpoint, Method::GET)
    }

    pub fn post(endpoint: &'static Endpoint) -> Request {
        Request::new(endpoint, Method::POST)
    }

    /// Adds a form parameter (the body becomes a form if it was empty).
    pub fn form(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(key.into().as_str(), value);
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Sets a form parameter, replacing an earlier value of the same key.
    ///
    /// # Panics
    ///
    /// When the body is XML or JSON: form parameters go only into a form body, and a request
    /// built otherwise is a bug in the stream that built it.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        if self.body == Body::None {
            self.body = Body::Form(Vec::new());
        }
        let Body::Form(params) = &mut self.body else {
            panic!(
                "form parameter {key} set on a request to {} whose body is not a form",
                self.path
            );
        };
        let value = value.into();
        match params.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => params.push((key.to_string(), value)),
        }
    }

    /// The value of a form or query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        let form = match &self.body {
            Body::Form(params) => params.as_slice(),
            _ => &[],
        };
        form.iter()
            .chain(self.query.iter())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualys::endpoint;

    #[test]
    fn each_body_has_its_content_type_and_wire_form() {
        let form = Request::post(&endpoint::KNOWLEDGE_BASE)
            .form("ids", "1,2")
            .form("details", "Basic");
        assert_eq!(
            form.body.content_type(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(form.body.to_bytes(), b"ids=1%2C2&details=Basic");

        let json = Request::post(&endpoint::PCRS_POSTURE_INFO)
            .query("evidenceRequired", "0")
            .body(Body::Json(serde_json::json!([{"policyId": "1"}])));
        assert_eq!(json.body.content_type(), Some("application/json"));
        assert_eq!(json.body.to_bytes(), br#"[{"policyId":"1"}]"#);
        assert_eq!(json.param("evidenceRequired"), Some("0"));

        let none = Request::get(&endpoint::PCRS_POLICY_LIST);
        assert_eq!(none.body.content_type(), None);
        assert!(none.body.to_bytes().is_empty());
    }

    #[test]
    fn a_request_takes_its_path_from_the_endpoint_registry() {
        let r = Request::post(&endpoint::HOST_LIST).form("action", "list");
        assert_eq!(r.path, "/api/2.0/fo/asset/host/");
        assert_eq!(r.param("action"), Some("list"));
        assert_eq!(r.method, Method::POST);
    }

    #[test]
    fn setting_a_form_parameter_replaces_the_earlier_value() {
        let mut r = Request::post(&endpoint::HOST_DETECTION).form("id_min", "1");
        r.set("id_min", "7");
        assert_eq!(r.body, Body::Form(vec![("id_min".into(), "7".into())]));
    }
}
