//! Redaction: what the journal never keeps of a request. Parameters and body fields named like
//! passwords or tokens are dropped; a body is kept redacted the same way and cut at
//! [`BODY_CAP`] bytes. The `Authorization` header never reaches the journal at all (the
//! transport keeps only the headers in `JOURNALLED_HEADERS`).

use crate::sim::server::request::{SimRequest, is_form_body};

/// Parameter (and body field) names that are never journalled: passwords and tokens.
pub fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "passwd", "secret", "token", "jwt"]
        .iter()
        .any(|s| n.contains(s))
}

/// How much of a request body an entry keeps.
pub const BODY_CAP: usize = 64 * 1024;

/// What replaces a secret value in a journalled body.
const REDACTED: &str = "[redacted]";

/// The body of `req` as the journal keeps it, `None` when there is none.
///
/// - A form keeps its fields in the order sent, without the secret ones; a form that carries
///   a password is a login (the gateway's `/auth`) and keeps only its `username`.
/// - JSON keeps its text, unless an object has a secret-named key: then every such value is
///   `"[redacted]"` and the document is re-serialised.
/// - XML keeps its text with the content of secret-named elements replaced by `[redacted]`.
/// - Anything else that is UTF-8 is kept as is; other bytes are described, not copied.
///
/// The result is cut at [`BODY_CAP`] bytes with a marker naming the full size.
pub fn journalled_body(req: &SimRequest) -> Option<String> {
    if req.body.is_empty() {
        return None;
    }
    let content_type = req
        .header("Content-Type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return Some(format!(
            "[qharness: {} bytes of {}, not UTF-8 text]",
            req.body.len(),
            if content_type.is_empty() {
                "unlabelled data"
            } else {
                &content_type
            }
        ));
    };
    let redacted = if is_form_body(&req.method, &content_type) {
        redact_form(text)
    } else if content_type.contains("json") {
        redact_json(text)
    } else if content_type.contains("xml") || text.trim_start().starts_with('<') {
        redact_xml(text)
    } else {
        text.to_string()
    };
    Some(cap(redacted))
}

fn redact_form(text: &str) -> String {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect();
    if !fields.iter().any(|(k, _)| is_secret_param(k)) {
        return text.to_string();
    }
    let login_form = fields
        .iter()
        .any(|(k, _)| k.to_ascii_lowercase().contains("password"));
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &fields {
        let keep = if login_form {
            k == "username"
        } else {
            !is_secret_param(k)
        };
        if keep {
            out.append_pair(k, v);
        }
    }
    out.finish()
}

fn redact_json(text: &str) -> String {
    fn walk(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(map) => {
                let mut hit = false;
                for (k, v) in map.iter_mut() {
                    if is_secret_param(k) {
                        *v = serde_json::Value::String(REDACTED.into());
                        hit = true;
                    } else {
                        hit |= walk(v);
                    }
                }
                hit
            }
            serde_json::Value::Array(items) => items.iter_mut().fold(false, |h, v| walk(v) | h),
            _ => false,
        }
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut v) => {
            if walk(&mut v) {
                serde_json::to_string(&v).unwrap_or_default()
            } else {
                text.to_string()
            }
        }
        Err(_) => text.to_string(),
    }
}

fn redact_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let self_closing = after[..tag_end].ends_with('/');
        let close = format!("</{name}>");
        let secret = !name.is_empty()
            && !name.starts_with(['/', '?', '!'])
            && !self_closing
            && is_secret_param(name.rsplit(':').next().unwrap_or(name));
        match (secret, after[tag_end + 1..].find(&close)) {
            (true, Some(content_len)) => {
                out.push_str(&rest[..open + 1 + tag_end + 1]);
                out.push_str(REDACTED);
                rest = &after[tag_end + 1 + content_len..];
            }
            _ => {
                out.push_str(&rest[..open + 1 + tag_end + 1]);
                rest = &after[tag_end + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` cut at [`BODY_CAP`] bytes (on a character boundary), with a marker when cut.
fn cap(text: String) -> String {
    if text.len() <= BODY_CAP {
        return text;
    }
    let mut end = BODY_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[qharness: body cut at {end} of {} bytes]",
        &text[..end],
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_body(content_type: &str, body: &str) -> SimRequest {
        let mut r = SimRequest::new("POST", "/x", "http://o");
        r.headers.push(("Content-Type".into(), content_type.into()));
        r.body = bytes::Bytes::from(body.to_string());
        r
    }

    #[test]
    fn a_login_form_keeps_only_its_user_name_and_other_forms_lose_only_secrets() {
        let login = with_body(
            "application/x-www-form-urlencoded",
            "username=quays_ab1&password=hunter2&token=true&permissions=true",
        );
        assert_eq!(
            journalled_body(&login).as_deref(),
            Some("username=quays_ab1")
        );
        let form = with_body("", "action=list&ids=1%2C2&api_token=abc");
        assert_eq!(
            journalled_body(&form).as_deref(),
            Some("action=list&ids=1%2C2")
        );
        let plain = with_body("", "action=list&ids=1%2C2");
        assert_eq!(
            journalled_body(&plain).as_deref(),
            Some("action=list&ids=1%2C2"),
            "a form with nothing to hide is kept as sent"
        );
        assert_eq!(journalled_body(&SimRequest::new("GET", "/", "o")), None);
    }

    #[test]
    fn xml_and_json_bodies_keep_their_text_with_secret_values_redacted() {
        let service_request = "<ServiceRequest><filters><Criteria field=\"id\" operator=\"GREATER\">42</Criteria></filters></ServiceRequest>";
        assert_eq!(
            journalled_body(&with_body("text/xml", service_request)).as_deref(),
            Some(service_request)
        );
        let auth_record = "<ServiceRequest><data><WebAppAuthRecord><formRecord><username>u</username><password>hunter2</password></formRecord></WebAppAuthRecord></data></ServiceRequest>";
        let kept = journalled_body(&with_body("application/xml", auth_record)).unwrap();
        assert!(!kept.contains("hunter2"), "{kept}");
        assert!(
            kept.contains("<password>[redacted]</password>")
                && kept.contains("<username>u</username>")
        );

        let posture = r#"[{"policyId":"1","subscriptionId":"2","hostIds":["3","4"]}]"#;
        assert_eq!(
            journalled_body(&with_body("application/json", posture)).as_deref(),
            Some(posture)
        );
        let secret = r#"{"user":"u","credentials":{"password":"hunter2","accessToken":"t0k"}}"#;
        let kept = journalled_body(&with_body("application/json", secret)).unwrap();
        assert!(!kept.contains("hunter2") && !kept.contains("t0k"), "{kept}");
        assert!(kept.contains(r#""user":"u""#));
    }

    #[test]
    fn a_large_body_is_cut_with_a_marker_naming_its_size() {
        let big = format!("<ServiceRequest>{}</ServiceRequest>", "é".repeat(BODY_CAP));
        let kept = journalled_body(&with_body("text/xml", &big)).unwrap();
        assert!(kept.len() < BODY_CAP + 100);
        assert!(
            kept.ends_with(&format!("of {} bytes]", big.len())),
            "{}",
            &kept[kept.len() - 60..]
        );
        let mut binary = SimRequest::new("POST", "/x", "http://o");
        binary.body = bytes::Bytes::from_static(&[0x1f, 0x8b, 0xff, 0x00]);
        assert_eq!(
            journalled_body(&binary).as_deref(),
            Some("[qharness: 4 bytes of unlabelled data, not UTF-8 text]")
        );
    }
}
