//! `KNOWLEDGE_BASE_VULN_LIST_OUTPUT`: the KnowledgeBase entries the vulnerabilities stream joins
//! onto each detection. Batches are a few hundred QIDs, so entries are collected into a `Vec`.

use std::io::BufRead;

use quick_xml::Reader;
use serde::{Deserialize, Serialize};

use super::walker::{Node, Walker};
use crate::error::{Error, Result};

/// The KnowledgeBase facts a detection record carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KbFacts {
    pub qid: u64,
    /// `Vulnerability`, `Potential Vulnerability`, `Information Gathered`, or the dual category.
    pub vuln_type: String,
    pub severity: Option<u8>,
    pub title: String,
    /// Family, e.g. `Windows`, `Local`.
    pub category: Option<String>,
    pub patchable: Option<bool>,
    pub cves: Vec<String>,
    /// `CVSS/BASE` (CVSS v2).
    pub cvss_base: Option<String>,
    /// `CVSS_V3/BASE`.
    pub cvss3_base: Option<String>,
    pub published: Option<String>,
}

/// Reads the rest of a KnowledgeBase document whose root has been read.
pub fn read<R: BufRead>(reader: Reader<R>, buf: Vec<u8>, origin: &str) -> Result<Vec<KbFacts>> {
    let mut walker = Walker::new(reader, buf, origin);
    let mut entries = Vec::new();
    let mut current = KbFacts::default();
    const VULN: &str = "RESPONSE/VULN_LIST/VULN/";
    loop {
        let offset = walker.position();
        match walker.next_node()? {
            Node::Open {
                path: "RESPONSE/VULN_LIST/VULN",
            } => {
                current = KbFacts::default();
            }
            Node::Close { path, text } => {
                if path == "RESPONSE/VULN_LIST/VULN" {
                    entries.push(std::mem::take(&mut current));
                    continue;
                }
                let Some(field) = path.strip_prefix(VULN) else {
                    continue;
                };
                let text = text.trim();
                match field {
                    "QID" => {
                        current.qid = text.parse().map_err(|_| Error::Unexpected {
                            origin: origin.to_string(),
                            offset,
                            problem: format!("VULN/QID is not a number: {text:?}"),
                        })?
                    }
                    "VULN_TYPE" => current.vuln_type = text.to_string(),
                    "SEVERITY_LEVEL" => current.severity = text.parse().ok(),
                    "TITLE" => current.title = text.to_string(),
                    "CATEGORY" => current.category = Some(text.to_string()),
                    "PATCHABLE" => current.patchable = super::text::flag(text),
                    "PUBLISHED_DATETIME" => current.published = Some(text.to_string()),
                    "CVE_LIST/CVE/ID" => current.cves.push(text.to_string()),
                    "CVSS/BASE" if !text.is_empty() => current.cvss_base = Some(text.to_string()),
                    "CVSS_V3/BASE" if !text.is_empty() => {
                        current.cvss3_base = Some(text.to_string())
                    }
                    _ => {}
                }
            }
            Node::Open { .. } => {}
            Node::End => return Ok(entries),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::xml::document::{Root, read_root, reader};

    #[test]
    fn kb_entries_carry_title_cves_cvss_and_patchable() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8" ?>
<!DOCTYPE KNOWLEDGE_BASE_VULN_LIST_OUTPUT SYSTEM "https://qualysapi.qualys.com/api/2.0/fo/knowledge_base/vuln/knowledge_base_vuln_list_output.dtd">
<KNOWLEDGE_BASE_VULN_LIST_OUTPUT><RESPONSE><DATETIME>2026-01-01T00:00:00Z</DATETIME><VULN_LIST>
<VULN><QID>38170</QID><VULN_TYPE>Vulnerability</VULN_TYPE><SEVERITY_LEVEL>2</SEVERITY_LEVEL>
<TITLE><![CDATA[SSL Certificate - Subject Common Name Does Not Match Server FQDN]]></TITLE>
<CATEGORY>General remote services</CATEGORY><PUBLISHED_DATETIME>2007-03-26T17:46:09Z</PUBLISHED_DATETIME>
<PATCHABLE>0</PATCHABLE><CVE_LIST><CVE><ID><![CDATA[CVE-2000-0001]]></ID><URL><![CDATA[https://example.com]]></URL></CVE></CVE_LIST>
<DIAGNOSIS><![CDATA[<p>long html</p>]]></DIAGNOSIS><CVSS><BASE source="service">9.4</BASE></CVSS>
<DISCOVERY><REMOTE>1</REMOTE></DISCOVERY></VULN></VULN_LIST></RESPONSE></KNOWLEDGE_BASE_VULN_LIST_OUTPUT>
<!-- keep-alive for KNOWLEDGE_BASE_VULN_LIST_OUTPUT  -->"#;
        let mut r = reader(xml.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_root(&mut r, &mut buf, "t").unwrap(),
            Root::KnowledgeBase
        );
        let kb = read(r, buf, "t").unwrap();
        assert_eq!(kb.len(), 1);
        assert_eq!(kb[0].qid, 38170);
        assert_eq!(kb[0].cves, ["CVE-2000-0001"]);
        assert_eq!(kb[0].cvss_base.as_deref(), Some("9.4"));
        assert_eq!(kb[0].patchable, Some(false));
        assert_eq!(kb[0].category.as_deref(), Some("General remote services"));
    }
}
