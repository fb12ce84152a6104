//! `SIMPLE_RETURN` and `GENERIC_RETURN`: the envelopes Qualys uses for errors (and some
//! statuses), whatever the HTTP status. `SIMPLE_RETURN` carries `RESPONSE/CODE`, `TEXT` and an
//! optional `ITEM_LIST` of key/value pairs (`SECONDS_TO_WAIT`, `CALLS_TO_FINISH`);
//! `GENERIC_RETURN` carries `RETURN` text (and sometimes a status attribute) for internal errors.

use std::io::BufRead;

use quick_xml::Reader;

use super::walker::{Node, Walker};
use crate::error::{QualysMessage, Result};

/// Reads the rest of a `SIMPLE_RETURN` or `GENERIC_RETURN` whose root has been read.
pub fn read<R: BufRead>(reader: Reader<R>, buf: Vec<u8>, origin: &str) -> Result<QualysMessage> {
    let mut walker = Walker::new(reader, buf, origin);
    let mut msg = QualysMessage::default();
    let mut key = String::new();
    loop {
        match walker.next_node()? {
            Node::Close { path, text } => match path {
                "RESPONSE/CODE" => msg.code = text.trim().parse().ok(),
                "RESPONSE/TEXT" | "RETURN" => msg.text = text.trim().to_string(),
                "RESPONSE/ITEM_LIST/ITEM/KEY" => key = text.trim().to_string(),
                "RESPONSE/ITEM_LIST/ITEM/VALUE" => {
                    msg.items.push((key.clone(), text.trim().to_string()))
                }
                _ => {}
            },
            Node::Open { .. } => {}
            Node::End => return Ok(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::xml::document::{Root, read_root, reader};

    fn parse(xml: &str) -> (Root, QualysMessage) {
        let mut r = reader(xml.as_bytes());
        let mut buf = Vec::new();
        let root = read_root(&mut r, &mut buf, "t").unwrap();
        (root, read(r, buf, "t").unwrap())
    }

    #[test]
    fn rate_limit_envelope_yields_code_text_and_items() {
        let (root, m) = parse(
            r#"<!DOCTYPE SIMPLE_RETURN SYSTEM "https://qualysapi.qualys.com/api/2.0/simple_return.dtd">
<SIMPLE_RETURN><RESPONSE><DATETIME>2026-01-01T00:00:00Z</DATETIME><CODE>1965</CODE>
<TEXT>This API cannot be run again for another 23 hours, 57 minutes and 54 seconds.</TEXT>
<ITEM_LIST><ITEM><KEY>SECONDS_TO_WAIT</KEY><VALUE>86274</VALUE></ITEM></ITEM_LIST></RESPONSE></SIMPLE_RETURN>"#,
        );
        assert_eq!(root, Root::SimpleReturn);
        assert_eq!(m.code, Some(1965));
        assert!(m.text.starts_with("This API cannot be run again"));
        assert_eq!(m.item("SECONDS_TO_WAIT"), Some("86274"));
    }

    #[test]
    fn generic_return_text_is_read() {
        let (root, m) = parse(
            "<GENERIC_RETURN><API name=\"index.php\" username=\"x\" at=\"2026-01-01T00:00:00Z\"/><RETURN status=\"FAILED\" number=\"999\">Internal error. Please contact customer support.</RETURN></GENERIC_RETURN>",
        );
        assert_eq!(root, Root::GenericReturn);
        assert_eq!(m.text, "Internal error. Please contact customer support.");
    }
}
