//! Any text parsed as an XHTML content document: blocks, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|html: &str| {
    audiobook::ingest::html_blocks_for_fuzzing(html);
});
