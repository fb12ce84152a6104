//! A top-level JSON array, one element at a time.
//!
//! [`ArrayReader`] finds where each element of `[ {...}, {...} ]` starts and ends (tracking
//! strings, escapes and nesting), and hands out the element's bytes: straight from the input's
//! buffer when the element lies inside it, else from a buffer it reuses. A parser then reads
//! the element with serde_json from a slice (borrowing its strings). Memory is bounded by the
//! largest single element. The walker checks the array's own syntax (brackets, commas, nothing
//! after the closing bracket); the element's syntax is the element parser's business.

use std::io::{self, BufRead};

use memchr::memchr2;

use crate::error::{Error, Result};

/// Where the walker is in the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    Start,
    /// After `[`: an element or `]` comes next.
    First,
    /// After an element: `,` or `]` comes next.
    Between,
    /// After a `,`: an element comes next.
    Comma,
    /// After `]`.
    Done,
}

/// One element of the array.
#[derive(Debug, Clone, Copy)]
pub struct Element<'a> {
    /// The element's JSON text, from its `{` to its `}`.
    pub bytes: &'a [u8],
    /// 1-based index in the array.
    pub index: u64,
    /// Byte offset of the element's `{` in the JSON text.
    pub offset: u64,
}

/// Walks the elements of a JSON array read from `input`.
pub struct ArrayReader<R> {
    input: R,
    origin: String,
    state: State,
    /// Bytes of the current element when it spans input buffers.
    element: Vec<u8>,
    /// Bytes of the input buffer the current element borrows, consumed on the next call.
    pending: usize,
    /// Bytes consumed so far (the offset in the JSON text).
    offset: u64,
    /// Elements handed out so far.
    elements: u64,
}

impl<R: BufRead> ArrayReader<R> {
    /// `origin` names the input in errors (an endpoint and page, or a file name).
    pub fn new(input: R, origin: impl Into<String>) -> ArrayReader<R> {
        ArrayReader {
            input,
            origin: origin.into(),
            state: State::Start,
            element: Vec::new(),
            pending: 0,
            offset: 0,
            elements: 0,
        }
    }

    /// Bytes of JSON read so far.
    pub fn position(&self) -> u64 {
        self.offset + self.pending as u64
    }

    /// The next element's bytes, or `None` after the closing `]` (and nothing but whitespace
    /// after it).
    pub fn next_element(&mut self) -> Result<Option<Element<'_>>> {
        self.input.consume(self.pending);
        self.offset += self.pending as u64;
        self.pending = 0;
        loop {
            let byte = match self.skip_whitespace()? {
                Some(b) => b,
                None if self.state == State::Done => return Ok(None),
                None => return Err(self.truncated()),
            };
            match (self.state, byte) {
                (State::Start, b'[') => {
                    self.advance(1);
                    self.state = State::First;
                }
                (State::Start, _) => {
                    return Err(self.unexpected(format!(
                        "the answer is not a JSON array: it starts with {:?}",
                        char::from(byte)
                    )));
                }
                (State::Comma, b']') => {
                    return Err(self.unexpected(format!(
                        "a `,` after element {} is followed by the end of the array",
                        self.elements
                    )));
                }
                (State::First | State::Between, b']') => {
                    self.advance(1);
                    self.state = State::Done;
                }
                (State::Between, b',') => {
                    self.advance(1);
                    self.state = State::Comma;
                }
                (State::First | State::Comma, b'{') => {
                    self.state = State::Between;
                    self.elements += 1;
                    let index = self.elements;
                    let offset = self.offset;
                    return self.read_element().map(|bytes| {
                        Some(Element {
                            bytes,
                            index,
                            offset,
                        })
                    });
                }
                (State::First | State::Comma, _) => {
                    return Err(self.unexpected(format!(
                        "element {} of the array is not a JSON object: it starts with {:?}",
                        self.elements + 1,
                        char::from(byte)
                    )));
                }
                (State::Between, _) => {
                    return Err(self.unexpected(format!(
                        "expected `,` or `]` after element {}, found {:?}",
                        self.elements,
                        char::from(byte)
                    )));
                }
                (State::Done, _) => {
                    return Err(self.unexpected(format!(
                        "content after the end of the array: {:?}",
                        char::from(byte)
                    )));
                }
            }
        }
    }

    /// Skips whitespace; the next byte without consuming it, or `None` at the end of input.
    fn skip_whitespace(&mut self) -> Result<Option<u8>> {
        loop {
            let buf = self
                .input
                .fill_buf()
                .map_err(|e| io_error(&self.origin, self.offset, e))?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
            {
                Some(i) => {
                    let b = buf[i];
                    self.advance(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = buf.len();
                    self.advance(n);
                }
            }
        }
    }

    fn advance(&mut self, n: usize) {
        self.input.consume(n);
        self.offset += n as u64;
    }

    /// Reads one object (the next byte is its `{`) and returns its bytes.
    fn read_element(&mut self) -> Result<&[u8]> {
        let mut scan = Scan::default();
        let mut spans = false;
        self.element.clear();
        loop {
            let buf = self
                .input
                .fill_buf()
                .map_err(|e| io_error(&self.origin, self.offset, e))?;
            if buf.is_empty() {
                return Err(self.truncated());
            }
            match scan.feed(buf) {
                Some(end) if !spans => {
                    // The whole element is in the input's buffer: lend it, consume it next time.
                    self.pending = end;
                    let buf = self
                        .input
                        .fill_buf()
                        .map_err(|e| io_error(&self.origin, self.offset, e))?;
                    return Ok(&buf[..end]);
                }
                Some(end) => {
                    self.element.extend_from_slice(&buf[..end]);
                    self.advance(end);
                    return Ok(&self.element);
                }
                None => {
                    let n = buf.len();
                    self.element.extend_from_slice(buf);
                    self.advance(n);
                    spans = true;
                }
            }
        }
    }

    fn truncated(&self) -> Error {
        Error::Truncated {
            origin: self.origin.clone(),
            offset: self.position(),
        }
    }

    fn unexpected(&self, problem: String) -> Error {
        Error::Json {
            origin: self.origin.clone(),
            offset: self.position(),
            element: self.elements,
            problem,
            source: None,
        }
    }
}

/// A read error of a JSON body: an early end is a truncated answer (retried), anything else
/// (a corrupt gzip stream, bytes that are not UTF-8 on the way) is reported as such.
pub fn io_error(origin: &str, offset: u64, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return Error::Truncated {
            origin: origin.to_string(),
            offset,
        };
    }
    // The inflater's verdicts on damaged compression (flate2: "corrupt deflate stream", a
    // checksum that does not match, a bad header). Transport errors have other kinds.
    if matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
    ) {
        return Error::CorruptGzip {
            origin: origin.to_string(),
            problem: e.to_string(),
        };
    }
    Error::Json {
        origin: origin.to_string(),
        offset,
        element: 0,
        problem: format!("the body could not be read: {e}"),
        source: None,
    }
}

/// The scanner's state across input buffers: inside a string, after a backslash, how deep.
#[derive(Debug, Default)]
struct Scan {
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    /// Scans `buf`; the length up to and including the element's closing brace, if it is there.
    #[inline]
    fn feed(&mut self, buf: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < buf.len() {
            if self.escaped {
                self.escaped = false;
                i += 1;
                continue;
            }
            if self.in_string {
                match memchr2(b'"', b'\\', &buf[i..]) {
                    None => return None,
                    Some(k) => {
                        i += k;
                        if buf[i] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                        }
                        i += 1;
                    }
                }
                continue;
            }
            match buf[i] {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(input: &[u8], chunk: usize) -> Result<Vec<String>> {
        let reader = std::io::BufReader::with_capacity(chunk, input);
        let mut a = ArrayReader::new(reader, "test");
        let mut out = Vec::new();
        while let Some(e) = a.next_element()? {
            assert_eq!(e.index as usize, out.len() + 1);
            assert_eq!(
                &input[e.offset as usize..e.offset as usize + e.bytes.len()],
                e.bytes
            );
            out.push(String::from_utf8(e.bytes.to_vec()).unwrap());
        }
        Ok(out)
    }

    #[test]
    fn elements_come_out_whole_whatever_the_buffer_size() {
        let doc = br#" [ {"a":"x}\"]{","b":[1,{"c":2}]} ,{"d":"\\"},
            {} ] "#;
        for chunk in [1, 2, 3, 5, 8, 64, 4096] {
            assert_eq!(
                elements(doc, chunk).unwrap(),
                [r#"{"a":"x}\"]{","b":[1,{"c":2}]}"#, r#"{"d":"\\"}"#, "{}"],
                "chunk {chunk}"
            );
        }
        assert!(elements(b"[]", 1).unwrap().is_empty());
    }

    #[test]
    fn an_answer_cut_short_is_truncated_at_its_offset() {
        for doc in [&b"[{\"a\":1},{\"b\""[..], b"[{\"a\":1}", b"[", b"", b"  "] {
            let e = elements(doc, 3).unwrap_err();
            assert!(matches!(e, Error::Truncated { .. }), "{doc:?}: {e}");
        }
        let e = elements(b"[{\"a\":1},{\"b\"", 3).unwrap_err();
        assert!(
            matches!(e, Error::Truncated { offset: 13, .. }),
            "the offset is where the input ended: {e}"
        );
    }

    #[test]
    fn the_array_syntax_is_checked_and_errors_name_the_element() {
        let e = elements(br#"{"a":1}"#, 8).unwrap_err();
        assert!(e.to_string().contains("not a JSON array"), "{e}");
        let e = elements(br#"[{"a":1} {"b":2}]"#, 8).unwrap_err();
        assert!(e.to_string().contains("after element 1"), "{e}");
        let e = elements(br#"[{"a":1},2]"#, 8).unwrap_err();
        assert!(e.to_string().contains("element 2"), "{e}");
        let e = elements(br#"[{"a":1},]"#, 8).unwrap_err();
        assert!(e.to_string().contains("followed by the end"), "{e}");
        let e = elements(br#"[{"a":1}] x"#, 8).unwrap_err();
        assert!(e.to_string().contains("after the end"), "{e}");
    }
}
