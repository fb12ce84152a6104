//! The generic scan over a byte stream (HTML error pages, plain text, the unparsable rest of a
//! broken document), in bounded pieces cut where no address or e-mail address can straddle.

use std::io::{Read, Write};

use super::pseudonyms::Pseudonyms;
use super::scrub::scan;

const PIECE: usize = 64 * 1024;

/// Copies `input` to `out`, scanning each piece.
pub fn scrub_stream<R: Read, W: Write>(
    mut input: R,
    out: &mut W,
    p: &mut Pseudonyms,
) -> std::io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; PIECE];
    loop {
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        carry.extend_from_slice(&buf[..n]);
        let cut = if n == 0 {
            carry.len()
        } else {
            // The last separator: white space, markup or quotes end every token we look for.
            match carry.iter().rposition(|b| {
                matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'<' | b'>' | b'"' | b'\'')
            }) {
                Some(i) if carry.len() - i < PIECE => i + 1,
                // No separator in a whole piece: nothing scannable straddles it anyway.
                _ => carry.len(),
            }
        };
        write_scanned(&carry[..cut], out, p)?;
        carry.drain(..cut);
        if n == 0 {
            return Ok(());
        }
    }
}

fn write_scanned<W: Write>(bytes: &[u8], out: &mut W, p: &mut Pseudonyms) -> std::io::Result<()> {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.write_all(scan(p, text).as_bytes()),
        // Not UTF-8 (ISO-8859-1 error pages): scan the ASCII view, where addresses live.
        Err(_) => {
            let text: String = bytes.iter().map(|&b| b as char).collect();
            let scanned = scan(p, &text);
            let back: Vec<u8> = scanned.chars().map(|c| c as u32 as u8).collect();
            out.write_all(&back)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_across_piece_boundaries_are_still_found() {
        let mut text = "a ".repeat(PIECE / 2 - 3);
        text.push_str("10.1.2.3 and ops@acme.test\n");
        let mut p = Pseudonyms::default();
        let mut out = Vec::new();
        scrub_stream(text.as_bytes(), &mut out, &mut p).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.ends_with("192.0.2.1 and user1@example.com\n"),
            "{}",
            &out[out.len() - 60..]
        );
    }
}
