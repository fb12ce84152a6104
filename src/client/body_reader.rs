//! Hands a response body from the async HTTP side to a parser running on a blocking thread.
//!
//! The parser is synchronous (quick-xml over `BufRead`, the same code that parses files and
//! benchmarks). [`BodyReader`] is that `BufRead`: it receives the body's chunks through a
//! bounded channel, so the network and the parser run on different cores and a slow parser
//! pushes back on the connection instead of buffering the page.

use std::io::{self, BufRead, Read};

use bytes::Bytes;
use tokio::sync::mpsc;

/// Capacity of the chunk channel; with hyper's chunk sizes this keeps well under 1 MiB in flight.
pub const CHANNEL_CHUNKS: usize = 16;

/// A `BufRead` over body chunks arriving on a channel.
pub struct BodyReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
    pos: usize,
    done: bool,
}

impl BodyReader {
    pub fn new(rx: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        BodyReader {
            rx,
            chunk: Bytes::new(),
            pos: 0,
            done: false,
        }
    }
}

impl BufRead for BodyReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.chunk.len() && !self.done {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => self.done = true,
            }
        }
        if self.pos >= self.chunk.len() {
            return Ok(&[]);
        }
        Ok(&self.chunk[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.chunk.len());
    }
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}
