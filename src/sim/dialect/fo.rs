//! The FO API's dialect: how `/api/N.0/fo/` endpoints say no, as `SIMPLE_RETURN` (and, for an
//! internal error, `GENERIC_RETURN`) documents.

use crate::sim::timestamp::Timestamp;
use crate::sim::xml_writer::{close, escape_into, leaf_text, leaf_time, leaf_u64, open, prologue};

/// DTD system paths of the FO error documents, below the origin.
pub mod dtd {
    pub const SIMPLE_RETURN: &str = "/api/2.0/simple_return.dtd";
    pub const GENERIC_RETURN: &str = "/generic_return.dtd";
}

/// A `SIMPLE_RETURN` document.
pub fn simple_return(
    origin: &str,
    now: Timestamp,
    code: Option<u32>,
    text: &str,
    items: &[(&str, String)],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    prologue(&mut out, "SIMPLE_RETURN", origin, dtd::SIMPLE_RETURN);
    open(&mut out, 0, "SIMPLE_RETURN");
    open(&mut out, 1, "RESPONSE");
    leaf_time(&mut out, 2, "DATETIME", now);
    if let Some(c) = code {
        leaf_u64(&mut out, 2, "CODE", u64::from(c));
    }
    leaf_text(&mut out, 2, "TEXT", text);
    if !items.is_empty() {
        open(&mut out, 2, "ITEM_LIST");
        for (k, v) in items {
            open(&mut out, 3, "ITEM");
            leaf_text(&mut out, 4, "KEY", k);
            leaf_text(&mut out, 4, "VALUE", v);
            close(&mut out, 3, "ITEM");
        }
        close(&mut out, 2, "ITEM_LIST");
    }
    close(&mut out, 1, "RESPONSE");
    close(&mut out, 0, "SIMPLE_RETURN");
    out
}

/// The `GENERIC_RETURN` document of an internal error (CODE 999).
pub fn generic_return_999(origin: &str, now: Timestamp, api: &str, user: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    prologue(&mut out, "GENERIC_RETURN", origin, dtd::GENERIC_RETURN);
    out.extend_from_slice(b"<GENERIC_RETURN>\n  <API name=\"");
    escape_into(&mut out, api);
    out.extend_from_slice(b"\" username=\"");
    escape_into(&mut out, user);
    out.extend_from_slice(b"\" at=\"");
    out.extend_from_slice(&now.to_wire());
    out.extend_from_slice(b"\" />\n  <RETURN status=\"FAILED\" number=\"999\">");
    escape_into(&mut out, crate::qualys::fo::code::INTERNAL_ERROR_TEXT);
    out.extend_from_slice(b"</RETURN>\n</GENERIC_RETURN>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_return_matches_the_recorded_shape() {
        let body = simple_return(
            "https://qualysapi.example.com",
            Timestamp(0),
            Some(2000),
            "Bad Login/Password",
            &[],
        );
        let s = String::from_utf8(body).unwrap();
        assert!(s.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE SIMPLE_RETURN SYSTEM \"https://qualysapi.example.com/api/2.0/simple_return.dtd\">\n<SIMPLE_RETURN>\n  <RESPONSE>\n    <DATETIME>1970-01-01T00:00:00Z</DATETIME>\n    <CODE>2000</CODE>\n    <TEXT>Bad Login/Password</TEXT>\n"), "{s}");
    }
}
