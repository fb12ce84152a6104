//! Streaming redaction of XML bodies: quick-xml events in, the same events out, with the text of
//! the fields a table names replaced and every other text scanned. Memory is bounded by the
//! largest single field, never by the document: a 2 GB Host List Detection streams through.
//!
//! A body that is not well-formed (a recorded `malformed_xml`, a page cut off mid-tag) is
//! redacted as far as it parses; from the broken event on, the rest is copied with the generic
//! scan, so the replay breaks at the same place.

use std::io::{BufRead, Read, Write};

use quick_xml::Reader;
use quick_xml::events::{BytesCData, BytesStart, BytesText, Event};

use super::RedactOptions;
use super::pseudonyms::Pseudonyms;
use super::rules::{Rule, lookup};
use super::scrub::{apply, scan};
use super::text_stream::scrub_stream;

/// The largest field text gathered to be mapped as a whole; longer text is scanned in pieces.
const MAX_FIELD: usize = 1024 * 1024;

/// Redacts the XML document read from `input` into `out`.
pub fn redact<R: BufRead, W: Write>(
    input: R,
    out: &mut W,
    table: &[(&str, Rule)],
    p: &mut Pseudonyms,
    opts: &RedactOptions,
) -> std::io::Result<()> {
    let mut reader = Reader::from_reader(Tee {
        inner: input,
        window: Vec::new(),
    });
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = false;
    config.expand_empty_elements = false;
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    // Inside a free-text element (and its children) since this depth.
    let mut free_from: Option<usize> = None;
    // Text of a mapped leaf, gathered until its end tag.
    let mut field: Option<Field> = None;
    loop {
        buf.clear();
        reader.get_mut().window.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(_) => {
                // Not XML from here on: copy what is left with the generic scan.
                if let Some(f) = field.take() {
                    f.flush(out, p, opts)?;
                }
                let tee = reader.into_inner();
                let rest = std::io::Cursor::new(tee.window).chain(tee.inner);
                return scrub_stream(rest, out, p);
            }
        };
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                if let Some(f) = field.take() {
                    f.flush(out, p, opts)?;
                }
                let name = e.name().as_ref().to_string();
                write_start(out, &e, p, false)?;
                let rule = lookup(table, stack.last().map(String::as_str), &name);
                stack.push(name);
                match rule {
                    Some(Rule::FreeText) if free_from.is_none() && !opts.keep_results => {
                        free_from = Some(stack.len())
                    }
                    Some(rule) if free_from.is_none() => {
                        field = Some(Field {
                            rule,
                            text: String::new(),
                            cdata: false,
                        })
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => {
                if let Some(f) = field.take() {
                    f.flush(out, p, opts)?;
                }
                write_start(out, &e, p, true)?;
            }
            Event::End(e) => {
                if let Some(f) = field.take() {
                    f.flush(out, p, opts)?;
                }
                if free_from.is_some_and(|d| d >= stack.len()) {
                    free_from = None;
                }
                stack.pop();
                out.write_all(b"</")?;
                out.write_all(e.name().as_ref().as_bytes())?;
                out.write_all(b">")?;
            }
            Event::Text(t) => {
                let text: &str = &t;
                if free_from.is_some() {
                    write_text(out, &p.map(super::Kind::FreeText, text))?;
                } else if let Some(f) = field.as_mut().filter(|f| f.text.len() < MAX_FIELD) {
                    f.text.push_str(text);
                } else {
                    write_text(out, &scan(p, text))?;
                }
            }
            Event::CData(c) => {
                let text: &str = &c;
                if free_from.is_some() {
                    write_cdata(out, &p.map(super::Kind::FreeText, text))?;
                } else if let Some(f) = field.as_mut().filter(|f| f.text.len() < MAX_FIELD) {
                    f.text.push_str(text);
                    f.cdata = true;
                } else {
                    write_cdata(out, &scan(p, text))?;
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    _ => quick_xml::escape::resolve_predefined_entity(&r).map(str::to_string),
                };
                if free_from.is_some() {
                    out.write_all(b"x")?;
                } else if let (Some(f), Some(text)) = (field.as_mut(), &resolved) {
                    f.text.push_str(text);
                } else {
                    out.write_all(b"&")?;
                    out.write_all(r.as_ref().as_bytes())?;
                    out.write_all(b";")?;
                }
            }
            Event::Comment(c) => {
                out.write_all(b"<!--")?;
                out.write_all(scan(p, &c).as_bytes())?;
                out.write_all(b"-->")?;
            }
            Event::Decl(d) => {
                out.write_all(b"<?")?;
                out.write_all(d.as_ref().as_bytes())?;
                out.write_all(b"?>")?;
            }
            Event::PI(pi) => {
                out.write_all(b"<?")?;
                out.write_all(pi.as_ref().as_bytes())?;
                out.write_all(b"?>")?;
            }
            Event::DocType(d) => {
                out.write_all(b"<!DOCTYPE ")?;
                out.write_all(d.as_ref().as_bytes())?;
                out.write_all(b">")?;
            }
        }
    }
    if let Some(f) = field.take() {
        f.flush(out, p, opts)?;
    }
    Ok(())
}

/// The text of a mapped leaf element.
struct Field {
    rule: Rule,
    text: String,
    cdata: bool,
}

impl Field {
    fn flush<W: Write>(
        self,
        out: &mut W,
        p: &mut Pseudonyms,
        opts: &super::RedactOptions,
    ) -> std::io::Result<()> {
        if self.text.is_empty() {
            return Ok(());
        }
        let mapped = apply(p, self.rule, &self.text, opts);
        if self.cdata {
            write_cdata(out, &mapped)
        } else {
            write_text(out, &mapped)
        }
    }
}

fn write_start<W: Write>(
    out: &mut W,
    e: &BytesStart<'_>,
    p: &mut Pseudonyms,
    empty: bool,
) -> std::io::Result<()> {
    out.write_all(b"<")?;
    // Attribute values get the generic scan (`Criteria` values, schema locations).
    let raw: &str = e;
    out.write_all(scan(p, raw).as_bytes())?;
    out.write_all(if empty { b"/>" } else { b">" })
}

fn write_text<W: Write>(out: &mut W, text: &str) -> std::io::Result<()> {
    out.write_all(BytesText::new(text).as_ref().as_bytes())
}

fn write_cdata<W: Write>(out: &mut W, text: &str) -> std::io::Result<()> {
    // A CDATA section cannot hold `]]>`: split it where it occurs, as BytesCData does.
    for part in BytesCData::escaped(text) {
        out.write_all(b"<![CDATA[")?;
        out.write_all(part.as_ref().as_bytes())?;
        out.write_all(b"]]>")?;
    }
    Ok(())
}

/// The input, keeping the bytes consumed since the last event, so that a broken event can be
/// copied as it was.
struct Tee<R> {
    inner: R,
    window: Vec<u8>,
}

impl<R: BufRead> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Tee<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            self.window.extend_from_slice(&buf[..n.min(buf.len())]);
        }
        self.inner.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::rules::{FO_XML, QPS_XML};

    fn run(xml: &str, table: &[(&str, Rule)], opts: &RedactOptions) -> (String, Pseudonyms) {
        let mut p = Pseudonyms::for_user(Some("quays_ab1"));
        let mut out = Vec::new();
        redact(xml.as_bytes(), &mut out, table, &mut p, opts).unwrap();
        (String::from_utf8(out).unwrap(), p)
    }

    #[test]
    fn fo_hosts_lose_addresses_names_and_results_but_keep_ids_and_structure() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE X SYSTEM \"x.dtd\">\n<HOST><ID>42</ID><IP>10.9.8.7</IP><DNS><![CDATA[web01.acme.test]]></DNS>\
<NETBIOS>WEB01</NETBIOS><TAGS><TAG><NAME>Prod &amp; PCI</NAME></TAG></TAGS>\
<RESULTS>user=root at 10.9.8.7</RESULTS><OS>Linux 5.4</OS><EMPTY/></HOST>";
        let (out, _) = run(xml, FO_XML, &RedactOptions::default());
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE X SYSTEM \"x.dtd\">\n<HOST><ID>42</ID><IP>192.0.2.1</IP><DNS><![CDATA[host1.example.com]]></DNS>\
<NETBIOS>HOST1</NETBIOS><TAGS><TAG><NAME>Prod &amp; PCI</NAME></TAG></TAGS>\
<RESULTS>xxxxxxxxx xx xxxxxxxx</RESULTS><OS>Linux 5.4</OS><EMPTY/></HOST>"
        );
        let tags = RedactOptions {
            redact_tags: true,
            ..RedactOptions::default()
        };
        let (out, _) = run(xml, FO_XML, &tags);
        assert!(out.contains("<NAME>Tag 1</NAME>"), "{out}");
    }

    #[test]
    fn keep_results_keeps_free_text_but_still_maps_its_addresses() {
        let opts = RedactOptions {
            keep_results: true,
            ..RedactOptions::default()
        };
        let (out, _) = run(
            "<R><RESULTS><![CDATA[seen 10.1.1.1]]></RESULTS></R>",
            FO_XML,
            &opts,
        );
        assert_eq!(out, "<R><RESULTS><![CDATA[seen 192.0.2.1]]></RESULTS></R>");
    }

    #[test]
    fn a_document_broken_mid_tag_is_copied_from_the_break_with_the_generic_scan() {
        let (out, _) = run(
            "<A><IP>10.0.0.1</IP><B>x</C></A><IP 10.0.0.1",
            FO_XML,
            &RedactOptions::default(),
        );
        assert_eq!(out, "<A><IP>192.0.2.1</IP><B>x</C></A><IP 192.0.2.1");
    }

    /// The recorded WAS bodies (graph-qualys) when `../shared` is beside this checkout: every
    /// one redacts to well-formed XML with no web app host, owner or e-mail left, and the
    /// check finds nothing in it.
    #[test]
    fn recorded_qps_bodies_redact_to_documents_the_check_passes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/reference/was/graph-qualys/bodies");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipped: {} is not here", dir.display());
            return;
        };
        let out_dir = tempfile::tempdir().unwrap();
        std::fs::write(out_dir.path().join("manifest.toml"), "").unwrap();
        let mut p = Pseudonyms::default();
        let mut seen = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let input = std::fs::read(&path).unwrap();
            let mut out = Vec::new();
            // The platform's own origin is what a recording turns into {{origin}}.
            let input = String::from_utf8_lossy(&input)
                .replace("https://qualysapi.qg3.apps.qualys.com", crate::sim::ORIGIN);
            redact(
                input.as_bytes(),
                &mut out,
                QPS_XML,
                &mut p,
                &RedactOptions::default(),
            )
            .unwrap();
            let text = String::from_utf8(out).unwrap();
            for leaked in [
                "jupiterone",
                "femc3pg",
                "Gates-Idem",
                "vulnweb.com",
                "sjc01",
            ] {
                assert!(
                    !text.contains(leaked),
                    "{leaked} left in {}",
                    path.display()
                );
            }
            let mut reader = quick_xml::Reader::from_str(&text);
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => panic!("{} is no longer XML: {e}", path.display()),
                }
            }
            std::fs::write(out_dir.path().join(path.file_name().unwrap()), &text).unwrap();
            seen += 1;
        }
        assert!(seen > 20, "only {seen} bodies");
        let findings = crate::record::check_set(out_dir.path(), None).unwrap();
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn qps_web_apps_lose_urls_names_and_owners() {
        let xml = "<WebApp><id>7</id><name><![CDATA[Shop of Acme]]></name><url><![CDATA[https://shop.acme.test/]]></url>\
<owner><id>1</id><username>acme_jd</username><firstName>Jane</firstName></owner></WebApp>";
        let (out, _) = run(xml, QPS_XML, &RedactOptions::default());
        assert_eq!(
            out,
            "<WebApp><id>7</id><name><![CDATA[Name 1]]></name><url><![CDATA[https://host1.example.com/]]></url>\
<owner><id>1</id><username>rec_user1</username><firstName>Owner 1</firstName></owner></WebApp>"
        );
    }
}
