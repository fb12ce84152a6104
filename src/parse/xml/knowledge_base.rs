//! `KNOWLEDGE_BASE_VULN_LIST_OUTPUT`: the KnowledgeBase entries the vulnerabilities stream joins
//! onto each detection. The join's batches are a few hundred QIDs and are collected ([`read`]);
//! a saved KnowledgeBase (`qharness parse --kind knowledge-base`) can be the whole KB, so
//! [`KbReader`] hands out one entry at a time.

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

/// Reads the rest of a KnowledgeBase document whose root has been read, collecting the entries
/// (the join's batches of a few hundred QIDs).
pub fn read<R: BufRead>(reader: Reader<R>, buf: Vec<u8>, origin: &str) -> Result<Vec<KbFacts>> {
    let mut kb = KbReader::new(reader, buf, origin);
    let mut entries = Vec::new();
    while let Some(entry) = kb.next_entry()? {
        entries.push(entry);
    }
    Ok(entries)
}

/// A streaming reader over a KnowledgeBase document whose root has been read: one entry at a
/// time, so a saved KnowledgeBase of any size parses in the memory of its largest entry.
pub struct KbReader<R> {
    walker: Walker<R>,
    origin: String,
    current: KbFacts,
}

impl<R: BufRead> KbReader<R> {
    pub fn new(reader: Reader<R>, buf: Vec<u8>, origin: &str) -> Self {
        KbReader {
            walker: Walker::new(reader, buf, origin),
            origin: origin.to_string(),
            current: KbFacts::default(),
        }
    }

    /// The next `VULN`, or `None` when the document ends.
    pub fn next_entry(&mut self) -> Result<Option<KbFacts>> {
        const VULN: &str = "RESPONSE/VULN_LIST/VULN/";
        loop {
            let offset = self.walker.position();
            match self.walker.next_node()? {
                Node::Open {
                    path: "RESPONSE/VULN_LIST/VULN",
                } => {
                    self.current = KbFacts::default();
                }
                Node::Open {
                    path: "RESPONSE/ID_SET",
                } => {
                    return Err(Error::Unexpected {
                        origin: self.origin.clone(),
                        offset,
                        problem: "the KnowledgeBase answer lists QIDs only (an ID_SET, as details=None answers); it holds no facts to read".into(),
                    });
                }
                Node::Close { path, text } => {
                    if path == "RESPONSE/VULN_LIST/VULN" {
                        return Ok(Some(std::mem::take(&mut self.current)));
                    }
                    let Some(field) = path.strip_prefix(VULN) else {
                        continue;
                    };
                    let text = text.trim();
                    let current = &mut self.current;
                    match field {
                        "QID" => {
                            current.qid = text.parse().map_err(|_| Error::Unexpected {
                                origin: self.origin.clone(),
                                offset,
                                problem: format!(
                                    "VULN/QID is not a number: {:?}",
                                    text.chars().take(80).collect::<String>()
                                ),
                            })?
                        }
                        "VULN_TYPE" => current.vuln_type = text.to_string(),
                        "SEVERITY_LEVEL" => current.severity = text.parse().ok(),
                        "TITLE" => current.title = text.to_string(),
                        "CATEGORY" => current.category = Some(text.to_string()),
                        "PATCHABLE" => current.patchable = super::text::flag(text),
                        "PUBLISHED_DATETIME" => current.published = Some(text.to_string()),
                        "CVE_LIST/CVE/ID" => current.cves.push(text.to_string()),
                        "CVSS/BASE" if !text.is_empty() => {
                            current.cvss_base = Some(text.to_string())
                        }
                        "CVSS_V3/BASE" if !text.is_empty() => {
                            current.cvss3_base = Some(text.to_string())
                        }
                        _ => {}
                    }
                }
                Node::Open { .. } => {}
                Node::End => return Ok(None),
            }
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.walker.position()
    }

    /// The bytes held between entries: the walker's buffers and the entry being read. Bounded by
    /// the largest entry, never by the number of entries.
    #[cfg(test)]
    pub fn retained_bytes(&self) -> usize {
        let c = &self.current;
        self.walker.retained_bytes()
            + c.vuln_type.capacity()
            + c.title.capacity()
            + c.cves.iter().map(String::capacity).sum::<usize>()
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
