//! Gzip or plain: the posture API compresses its answer unless `compressionRequired=0`, and says
//! so only by the bytes (no `Content-Encoding` is documented; Qualys's own client inflates the
//! body itself). So the body is sniffed: the gzip magic `1f 8b` means inflate on the fly.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

/// Buffer of the inflated side: large enough that the JSON walker sees long runs.
const INFLATED_BUFFER: usize = 64 * 1024;

/// A body as JSON bytes: inflated when it arrived gzip'd, as is otherwise.
pub enum Decoded<R: BufRead> {
    Plain(R),
    Gzip(BufReader<MultiGzDecoder<R>>),
}

impl<R: BufRead> Decoded<R> {
    /// Looks at the first bytes of `input` and wraps it accordingly (an empty input is plain).
    pub fn sniff(mut input: R) -> io::Result<Decoded<R>> {
        let head = input.fill_buf()?;
        if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
            Ok(Decoded::Gzip(BufReader::with_capacity(
                INFLATED_BUFFER,
                MultiGzDecoder::new(input),
            )))
        } else {
            Ok(Decoded::Plain(input))
        }
    }
}

impl<R: BufRead> Read for Decoded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(out),
            Decoded::Gzip(r) => r.read(out),
        }
    }
}

impl<R: BufRead> BufRead for Decoded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Decoded::Plain(r) => r.fill_buf(),
            Decoded::Gzip(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amt: usize) {
        match self {
            Decoded::Plain(r) => r.consume(amt),
            Decoded::Gzip(r) => r.consume(amt),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    #[test]
    fn gzip_is_inflated_and_plain_json_passes_through() {
        let json = br#"[{"id":1}]"#;
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(json).unwrap();
        let gz = gz.finish().unwrap();
        for (input, gzip) in [(&gz[..], true), (&json[..], false), (&b""[..], false)] {
            let mut d = Decoded::sniff(input).unwrap();
            assert_eq!(matches!(d, Decoded::Gzip(_)), gzip);
            let mut out = Vec::new();
            d.read_to_end(&mut out).unwrap();
            assert_eq!(out, if input.is_empty() { &b""[..] } else { json });
        }
    }
}
