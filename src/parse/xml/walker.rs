//! A small generic walker for the small Qualys documents (error envelopes, KnowledgeBase
//! batches): it reports each element's path below the root and, when the element closes, the
//! text it held. Callers match on paths such as `RESPONSE/CODE`; that reads like the DTD and is
//! plenty fast for documents of a few megabytes. The multi-gigabyte host pages use the dedicated
//! state machine in [`super::host_list`] instead.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::document::{MAX_DEPTH, too_deep, xml_error};
use super::text::TextAssembler;
use crate::error::{Error, Result};

/// One step of the walk.
#[derive(Debug, PartialEq, Eq)]
pub enum Node<'a> {
    /// An element opened; `path` is relative to the root (`RESPONSE/VULN_LIST/VULN`).
    Open { path: &'a str },
    /// An element closed, with the text directly inside it (concatenated fragments).
    Close { path: &'a str, text: &'a str },
    /// The root closed; only trailing comments may follow.
    End,
}

/// Walks a document whose root has already been read (see [`super::document::read_root`]).
pub struct Walker<R> {
    reader: Reader<R>,
    buf: Vec<u8>,
    path: String,
    ends: Vec<usize>,
    text: String,
    assembler: TextAssembler,
    origin: String,
    pending_pop: bool,
}

impl<R: BufRead> Walker<R> {
    pub fn new(reader: Reader<R>, buf: Vec<u8>, origin: impl Into<String>) -> Self {
        Walker {
            reader,
            buf,
            path: String::new(),
            ends: Vec::new(),
            text: String::new(),
            assembler: TextAssembler::default(),
            origin: origin.into(),
            pending_pop: false,
        }
    }

    /// The next open or close, or [`Node::End`] when the root closes.
    pub fn next_node(&mut self) -> Result<Node<'_>> {
        if self.pending_pop {
            self.pending_pop = false;
            let start = self.ends.pop().unwrap_or(0);
            self.path.truncate(start.saturating_sub(1));
            // A parent reports only its own text, not its children's.
            self.text.clear();
        }
        loop {
            self.buf.clear();
            let event_start = self.reader.buffer_position();
            match self.reader.read_event_into(&mut self.buf) {
                Ok(Event::Start(e)) => {
                    if self.ends.len() >= MAX_DEPTH {
                        return Err(too_deep(&self.origin, event_start));
                    }
                    let start = self.path.len() + usize::from(!self.path.is_empty());
                    if !self.path.is_empty() {
                        self.path.push('/');
                    }
                    self.path.push_str(e.name().as_ref());
                    self.ends.push(start);
                    self.text.clear();
                    return Ok(Node::Open { path: &self.path });
                }
                Ok(Event::End(_)) => {
                    if self.ends.is_empty() {
                        return Ok(Node::End);
                    }
                    self.pending_pop = true;
                    return Ok(Node::Close {
                        path: &self.path,
                        text: &self.text,
                    });
                }
                Ok(Event::Text(t)) => self.assembler.push(&mut self.text, &t),
                Ok(Event::CData(c)) => self.assembler.push(&mut self.text, &c),
                Ok(Event::GeneralRef(r)) => {
                    if let Err(name) = self.assembler.push_ref(&mut self.text, &r) {
                        let name: String = name.chars().take(80).collect();
                        return Err(Error::Unexpected {
                            origin: self.origin.clone(),
                            offset: event_start,
                            problem: format!(
                                "undeclared entity reference &{name};: Qualys declares no entities, so the document is not well-formed XML"
                            ),
                        });
                    }
                }
                Ok(Event::Eof) => {
                    return Err(Error::Truncated {
                        origin: self.origin.clone(),
                        offset: self.reader.buffer_position(),
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(xml_error(
                        &self.reader,
                        &self.origin,
                        e,
                        event_start,
                        &self.buf,
                    ));
                }
            }
        }
    }

    /// Byte offset reached so far.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// The bytes the walker holds on to between nodes: bounded by the deepest path and the
    /// longest text of one element, never by the document's size.
    #[cfg(test)]
    pub fn retained_bytes(&self) -> usize {
        self.buf.capacity()
            + self.path.capacity()
            + self.text.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// The reader and its buffer, positioned just after the last node returned, for a parser
    /// that takes over from here (the WAS record readers continue inside `data`).
    pub fn into_parts(self) -> (Reader<R>, Vec<u8>) {
        (self.reader, self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::xml::document::{Root, read_root, reader};

    #[test]
    fn walker_reports_paths_and_leaf_text() {
        let xml =
            "<?xml version=\"1.0\"?><A><B>x&amp;y</B><C><D><![CDATA[z]]></D></C></A><!-- c -->";
        let mut r = reader(xml.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_root(&mut r, &mut buf, "t").unwrap(),
            Root::Other("A".into())
        );
        let mut w = Walker::new(r, buf, "t");
        let mut seen = Vec::new();
        loop {
            match w.next_node().unwrap() {
                Node::Open { path } => seen.push(format!("+{path}")),
                Node::Close { path, text } => seen.push(format!("-{path}={text}")),
                Node::End => break,
            }
        }
        assert_eq!(seen, ["+B", "-B=x&y", "+C", "+C/D", "-C/D=z", "-C="]);
    }
}
