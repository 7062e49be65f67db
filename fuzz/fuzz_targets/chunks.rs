//! Any text read as a book and planned into chunks with the real G2P: no chunk passes the
//! model's 510 phonemes, and planning errs or succeeds, never panics.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use audiobook::chunk::ChunkConfig;
use audiobook::ingest::{Format, IngestOptions, read_bytes};
use audiobook::kokoro::MAX_TOKENS;
use audiobook::phonemize::Phonemizer;
use libfuzzer_sys::fuzz_target;

fn g2p() -> &'static Phonemizer {
    static G2P: OnceLock<Phonemizer> = OnceLock::new();
    G2P.get_or_init(|| {
        let american = Phonemizer::dialect_for_voice("af_heart").expect("an English voice");
        Phonemizer::new(american).expect("the G2P loads")
    })
}

fuzz_target!(|text: &str| {
    let Ok(book) = read_bytes(Path::new("fuzz.txt"), text.as_bytes().to_vec(), Some(Format::Text), &IngestOptions::default())
    else {
        return;
    };
    if let Ok(plan) = audiobook::plan::plan(&book, g2p(), &ChunkConfig::default()) {
        for chunk in plan.chapters.iter().flat_map(|c| &c.chunks) {
            assert!(chunk.ids.len() <= MAX_TOKENS, "{} phonemes in one chunk", chunk.ids.len());
        }
    }
});
