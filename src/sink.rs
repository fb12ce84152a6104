//! Where records go: NDJSON on stdout or in a file, a count, or memory (tests and scenarios).
//!
//! A file is written to a temporary file beside the target and renamed only by
//! [`Sink::finish`] after the stream completed, so a failed run never leaves a file that looks
//! complete. [`PageSpool`] holds one page's records (in memory up to a few MiB, then on disk)
//! until the page has parsed completely; see [`crate::stream`].

use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, SpooledTempFile};

use crate::error::{Error, Result};

/// A destination for records, one JSON object per call.
pub trait Sink {
    /// Writes one record (a JSON object without the trailing newline).
    fn record(&mut self, json: &[u8]) -> Result<()>;

    /// Records accepted so far.
    fn count(&self) -> u64;

    /// Flushes and, for a file, moves it into place. Not calling it discards a file's output.
    fn finish(&mut self) -> Result<()>;

    /// A page's records have all been written: the sink of a resumable run makes them durable
    /// and records where the next page starts ([`crate::state`]). Others need do nothing.
    fn page_done(&mut self, _done: &crate::stream::PageDone) -> Result<()> {
        Ok(())
    }
}

/// NDJSON to standard output.
pub struct StdoutSink {
    out: BufWriter<std::io::Stdout>,
    count: u64,
}

impl StdoutSink {
    pub fn new() -> Self {
        StdoutSink {
            out: BufWriter::with_capacity(256 * 1024, std::io::stdout()),
            count: 0,
        }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

fn stdout_err(e: std::io::Error) -> Error {
    Error::Io {
        action: "writing records to",
        path: None,
        source: e,
    }
}

impl Sink for StdoutSink {
    fn record(&mut self, json: &[u8]) -> Result<()> {
        self.out.write_all(json).map_err(stdout_err)?;
        self.out.write_all(b"\n").map_err(stdout_err)?;
        self.count += 1;
        Ok(())
    }

    fn count(&self) -> u64 {
        self.count
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush().map_err(stdout_err)
    }
}

/// A file that appears at its path only once it is complete: written to a temporary file beside
/// the target (same file system, so the rename is atomic) and renamed into place by
/// [`AtomicFile::publish`]. Dropped unpublished, it leaves nothing behind.
pub struct AtomicFile {
    target: PathBuf,
    out: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    /// Creates the temporary file, named `<prefix><random>`, next to `target`.
    pub fn create(target: &Path, prefix: &str) -> Result<AtomicFile> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = output_file_builder(prefix)
            .tempfile_in(&dir)
            .map_err(|e| Error::io("creating a temporary output file in", &dir, e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            out: BufWriter::with_capacity(256 * 1024, tmp),
        })
    }

    /// The path the file will have once published.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and moves the file into place.
    pub fn publish(self) -> Result<()> {
        let tmp = self
            .out
            .into_inner()
            .map_err(|e| Error::io("writing", &self.target, e.into_error()))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io("syncing", &self.target, e))?;
        tmp.persist(&self.target)
            .map_err(|e| Error::io("moving the finished output to", &self.target, e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// NDJSON to a file, published atomically on [`Sink::finish`].
pub struct FileSink {
    target: PathBuf,
    out: Option<AtomicFile>,
    count: u64,
}

impl FileSink {
    /// Creates the temporary file next to `target`.
    pub fn create(target: &Path) -> Result<FileSink> {
        Ok(FileSink {
            target: target.to_path_buf(),
            out: Some(AtomicFile::create(target, ".qharness-partial-")?),
            count: 0,
        })
    }
}

impl Sink for FileSink {
    fn record(&mut self, json: &[u8]) -> Result<()> {
        let out = self.out.as_mut().ok_or_else(|| {
            Error::io(
                "writing to",
                &self.target,
                std::io::Error::other("the output was already finished"),
            )
        })?;
        out.write_all(json)
            .and_then(|_| out.write_all(b"\n"))
            .map_err(|e| Error::io("writing records to", &self.target, e))?;
        self.count += 1;
        Ok(())
    }

    fn count(&self) -> u64 {
        self.count
    }

    fn finish(&mut self) -> Result<()> {
        match self.out.take() {
            Some(out) => out.publish(),
            None => Ok(()),
        }
    }
}

/// A builder for temporary files that become user-visible output: created with the usual
/// `0666 & !umask` permissions rather than tempfile's private `0600`, since the file is renamed
/// into place as the user's result.
fn output_file_builder(prefix: &str) -> tempfile::Builder<'_, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b
}

/// Counts records without keeping them (`parse --count`, throughput runs).
#[derive(Debug, Default)]
pub struct CountSink {
    pub count: u64,
    /// Total bytes of the JSON records, so a benchmark can check the records were produced.
    pub bytes: u64,
}

impl Sink for CountSink {
    fn record(&mut self, json: &[u8]) -> Result<()> {
        self.count += 1;
        self.bytes += json.len() as u64;
        Ok(())
    }

    fn count(&self) -> u64 {
        self.count
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Keeps records in memory as parsed JSON values (tests, scenarios).
#[derive(Debug, Default)]
pub struct MemorySink {
    pub records: Vec<serde_json::Value>,
}

impl Sink for MemorySink {
    fn record(&mut self, json: &[u8]) -> Result<()> {
        let value = serde_json::from_slice(json).map_err(|e| Error::Unexpected {
            origin: "record".into(),
            offset: e.column() as u64,
            problem: format!("the connector produced invalid JSON: {e}"),
        })?;
        self.records.push(value);
        Ok(())
    }

    fn count(&self) -> u64 {
        self.records.len() as u64
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// One page's records, held until the page has parsed completely.
///
/// Each entry is a key (the QID for detections, so KnowledgeBase facts can be joined on commit)
/// and the record's JSON. Up to 4 MiB stay in memory; beyond that the spool moves to a
/// temporary file, so a 1 GB page costs disk, not memory.
pub struct PageSpool {
    out: BufWriter<SpooledTempFile>,
    entries: u64,
}

const SPOOL_MEMORY: usize = 4 * 1024 * 1024;

impl PageSpool {
    pub fn new() -> PageSpool {
        PageSpool {
            out: BufWriter::with_capacity(64 * 1024, SpooledTempFile::new(SPOOL_MEMORY)),
            entries: 0,
        }
    }

    /// Appends one record.
    #[inline]
    pub fn push(&mut self, key: u64, json: &[u8]) -> Result<()> {
        let len = u32::try_from(json.len()).map_err(|_| Error::Unexpected {
            origin: "page spool".into(),
            offset: 0,
            problem: format!("a single record of {} bytes exceeds 4 GiB", json.len()),
        })?;
        let mut header = [0u8; 12];
        header[..8].copy_from_slice(&key.to_le_bytes());
        header[8..].copy_from_slice(&len.to_le_bytes());
        self.out
            .write_all(&header)
            .and_then(|_| self.out.write_all(json))
            .map_err(spool_err)?;
        self.entries += 1;
        Ok(())
    }

    /// Replays the records in order.
    pub fn drain(self, mut each: impl FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| spool_err(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(spool_err)?;
        let mut input = BufReader::with_capacity(64 * 1024, file);
        let mut record = Vec::new();
        for _ in 0..self.entries {
            let mut header = [0u8; 12];
            input.read_exact(&mut header).map_err(spool_err)?;
            let key = u64::from_le_bytes(header[..8].try_into().unwrap_or_default());
            let len = u32::from_le_bytes(header[8..].try_into().unwrap_or_default()) as usize;
            record.clear();
            if input.buffer().len() >= len {
                each(key, &input.buffer()[..len])?;
                input.consume(len);
            } else {
                record.resize(len, 0);
                input.read_exact(&mut record).map_err(spool_err)?;
                each(key, &record)?;
            }
        }
        Ok(())
    }
}

impl Default for PageSpool {
    fn default() -> Self {
        Self::new()
    }
}

fn spool_err(e: std::io::Error) -> Error {
    Error::Io {
        action: "buffering a page in a temporary file",
        path: None,
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_replays_records_in_order_across_the_memory_threshold() {
        let mut spool = PageSpool::new();
        let big = vec![b'x'; 300_000];
        for i in 0..40u64 {
            spool
                .push(i, if i % 2 == 0 { &big } else { b"{}" })
                .unwrap();
        }
        let mut seen = Vec::new();
        spool
            .drain(|k, r| {
                seen.push((k, r.len()));
                Ok(())
            })
            .unwrap();
        assert_eq!(seen.len(), 40);
        assert!(
            seen.iter()
                .all(|&(k, len)| len == if k % 2 == 0 { 300_000 } else { 2 })
        );
    }

    #[test]
    fn file_sink_publishes_only_on_finish() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.ndjson");
        {
            let mut sink = FileSink::create(&target).unwrap();
            sink.record(b"{\"a\":1}").unwrap();
            // Dropped without finish: a failed run.
        }
        assert!(!target.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary file left behind"
        );
        let mut sink = FileSink::create(&target).unwrap();
        sink.record(b"{\"a\":1}").unwrap();
        sink.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "{\"a\":1}\n");
    }
}
