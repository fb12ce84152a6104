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
    Gzip(Box<BufReader<MultiGzDecoder<R>>>),
}

impl<R: BufRead> Decoded<R> {
    /// Looks at the first bytes of `input` and wraps it accordingly (an empty input is plain).
    pub fn sniff(mut input: R) -> io::Result<Decoded<R>> {
        // A JSON text starts with whitespace or a bracket, never with 0x1f, so the first byte
        // decides: a body that arrives one byte at a time is still recognised (the inflater
        // checks the rest of the magic).
        let head = input.fill_buf()?;
        if head.first() == Some(&0x1f) {
            Ok(Decoded::Gzip(Box::new(BufReader::with_capacity(
                INFLATED_BUFFER,
                MultiGzDecoder::new(input),
            ))))
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
            let one_byte = std::io::BufReader::with_capacity(1, input);
            assert_eq!(
                matches!(Decoded::sniff(one_byte).unwrap(), Decoded::Gzip(_)),
                gzip
            );
            let mut d = Decoded::sniff(input).unwrap();
            assert_eq!(matches!(d, Decoded::Gzip(_)), gzip);
            let mut out = Vec::new();
            d.read_to_end(&mut out).unwrap();
            assert_eq!(out, if input.is_empty() { &b""[..] } else { json });
        }
    }
}
