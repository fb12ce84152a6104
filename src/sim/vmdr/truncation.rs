//! Truncation: the next-page URL of a truncated Host List or Host List Detection page.
//!
//! Qualys pages Host List and Host List Detection by host ID: hosts come sorted by ID, at most
//! `truncation_limit` per page, and a truncated page ends with WARNING CODE 1980 whose URL is
//! the same request with `id_min` set to the next host's ID. Some clients follow that URL
//! verbatim, others extract `id_min`; so the URL points at the origin the client used and keeps
//! the caller's own parameters, in order.

/// The URL of the next page: `origin` + `path` + the caller's parameters with `id_min` replaced.
pub fn next_page_url(origin: &str, path: &str, params: &[(String, String)], id_min: u64) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if k != "id_min" {
            q.append_pair(k, v);
        }
    }
    q.append_pair("id_min", &id_min.to_string());
    format!("{origin}{path}?{}", q.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_keeps_the_callers_parameters_and_replaces_id_min() {
        let p = vec![
            ("action".to_string(), "list".to_string()),
            ("id_min".to_string(), "5".to_string()),
            ("tag_set_include".to_string(), "PCI & Card".to_string()),
        ];
        assert_eq!(
            next_page_url(
                "http://127.0.0.1:9",
                "/api/2.0/fo/asset/host/vm/detection/",
                &p,
                42
            ),
            "http://127.0.0.1:9/api/2.0/fo/asset/host/vm/detection/?action=list&tag_set_include=PCI+%26+Card&id_min=42"
        );
    }
}
