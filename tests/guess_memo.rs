//! Issue 9 point 7: the English G2P remembers its neural guesses per word, and no sentence of
//! the English books of `../shared/corpus` comes out differently for it. Slow (it phonemizes
//! each book three times), so ignored by default:
//! `cargo test --release --test guess_memo -- --ignored --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;

use audiobook::chunk::ChunkConfig;
use audiobook::ingest::{IngestOptions, read_inputs};
use audiobook::phonemize::Phonemizer;
use audiobook::plan;
use loqui_g2p::Dialect;

const BOOKS: [&str; 4] = [
    "epub/idpf-moby-dick.epub",
    "text/pg11-alice-in-wonderland-utf8-bom-crlf.txt",
    "epub/se-walden.epub",
    "epub/se-a-study-in-scarlet.epub",
];

#[test]
#[ignore = "phonemizes four books three times each (minutes)"]
fn issue_9_remembered_guesses_change_no_sentence_of_the_english_corpus() {
    let mut differing = Vec::new();
    for dialect in [Dialect::American, Dialect::British] {
        for book in BOOKS {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus").join(book);
            if !path.exists() {
                eprintln!("skipped: corpus file {} not found", path.display());
                continue;
            }
            let read = read_inputs(&[&path], &IngestOptions::default()).unwrap();
            let g2p = Phonemizer::new(dialect).unwrap();
            // Planning the book fills the memo as `audiobook plan` does, chapters in parallel.
            let started = Instant::now();
            let planned = plan::plan(&read, &g2p, &ChunkConfig::default()).unwrap();
            let plan_s = started.elapsed().as_secs_f64();
            let sentences: Vec<&str> =
                planned.chapters.iter().flat_map(|c| c.sentences.iter().map(|s| s.text.as_str())).collect();
            let started = Instant::now();
            let remembered: Vec<_> = sentences.iter().map(|s| g2p.words(s).unwrap()).collect();
            let remembered_s = started.elapsed().as_secs_f64();
            let started = Instant::now();
            let mut differ = 0;
            for (sentence, remembered) in sentences.iter().zip(remembered) {
                let plain = g2p.words_unremembered(sentence).unwrap();
                let ids = |words: &[audiobook::phonemize::PhonemeWord]| {
                    words.iter().map(|w| (w.text.clone(), w.ids.clone(), w.space_after)).collect::<Vec<_>>()
                };
                if ids(&remembered) != ids(&plain) || remembered != plain {
                    differ += 1;
                    differing.push(format!(
                        "{dialect:?} {book}: {sentence}\n  remembered: {remembered:?}\n  plain:      {plain:?}"
                    ));
                }
            }
            let plain_s = started.elapsed().as_secs_f64();
            eprintln!(
                "{dialect:?} {book}: {} sentences, {differ} differ; plan {plan_s:.1} s, again remembered {remembered_s:.1} s, \
                 unremembered {plain_s:.1} s",
                sentences.len()
            );
        }
    }
    for difference in differing.iter().take(20) {
        eprintln!("{difference}");
    }
    assert!(differing.is_empty(), "{} sentences differ", differing.len());
}
