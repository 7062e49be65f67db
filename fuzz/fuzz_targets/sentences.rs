//! Any text made ready for listening and split into sentences: every range lies on character
//! boundaries, in order, without overlap, and maps back into the original text.
#![no_main]

use audiobook::script;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let spoken = script::for_listening(text);
    let mut end = 0;
    for range in script::sentences(&spoken.text) {
        assert!(range.start >= end && range.start <= range.end, "{range:?} after {end}");
        assert!(spoken.text.is_char_boundary(range.start) && spoken.text.is_char_boundary(range.end));
        let source = spoken.source_range(range.clone());
        assert!(source.end <= text.len(), "{source:?} past the text");
        end = range.end;
    }
});
