//! The yardstick every throughput figure is measured against: quick-xml's raw event loop
//! (`read_event_into` over a `BufRead`, counting `DETECTION` start tags, nothing else).
//!
//! Throughput targets are ratios to this loop measured in the same run on the same bytes,
//! because absolute MB/s move by ±10 % between runs on a shared machine.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::error::{Error, Result};

/// Reads every event of `input` and returns the number of `<DETECTION>` start tags.
pub fn raw_event_loop<R: BufRead>(input: R) -> Result<u64> {
    raw_event_loop_counting(input, "DETECTION")
}

/// Reads every event of `input` and returns the number of start tags named `element`.
pub fn raw_event_loop_counting<R: BufRead>(input: R, element: &str) -> Result<u64> {
    let mut reader = Reader::from_reader(input);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut detections = 0u64;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.name().as_ref() == element => detections += 1,
            Ok(Event::Eof) => return Ok(detections),
            Ok(_) => {}
            Err(source) => {
                return Err(Error::Xml {
                    origin: "baseline".into(),
                    offset: reader.error_position(),
                    source,
                });
            }
        }
    }
}
