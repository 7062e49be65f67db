//! Any bytes read as Epub: an error or a book, never a panic, a hang or unbounded memory.
#![no_main]

use std::path::Path;

use audiobook::ingest::{Format, IngestOptions, read_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_bytes(Path::new("fuzz.epub"), data.to_vec(), Some(Format::Epub), &IngestOptions::default());
});
