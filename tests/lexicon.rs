//! Issue 17: a pronunciation lexicon changes exactly the phonemes and chunk keys it should, through
//! the real G2P, and the words a listener's timings point at stay the book's own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use audiobook::job::manifest::chunk_key;
use audiobook::lexicon::Lexicon;
use audiobook::narrate::{self, Settings};
use audiobook::phonemize::{Phonemizer, token_ids};
use audiobook::plan::BookPlan;

const BOOK: &str = "# One\n\nZorblax came home at night.\n\nThe cat slept by the fire.\n\n\
                    # Two\n\nThe dog barked twice.\n\nEveryone feared zorblax and Hermione.\n";

fn plan(lexicon: &str) -> BookPlan {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book.md");
    std::fs::write(&book, BOOK).unwrap();
    let settings = Settings {
        voice: "af_heart".into(),
        lexicon: Lexicon::parse(lexicon, Path::new("test.lexicon")).unwrap(),
        ..Settings::default()
    };
    let read = narrate::read(&[book], &settings).unwrap();
    narrate::plan(&read.book, &settings).unwrap()
}

/// Every chunk's key, chapter by chapter, and whether the chunk says `word`.
fn keys(plan: &BookPlan, word: &str) -> Vec<(String, bool)> {
    plan.chapters
        .iter()
        .flat_map(|c| &c.chunks)
        .map(|c| {
            let says = c.tokens.iter().any(|t| t.text.eq_ignore_ascii_case(word));
            (chunk_key("model", "af_heart", 1.0, &c.ids), says)
        })
        .collect()
}

#[test]
fn a_lexicon_entry_changes_exactly_the_chunks_that_say_its_word() {
    let before = plan("");
    let after = plan("zorblax /zˈIblæks/\n");
    let (before_keys, after_keys) = (keys(&before, "zorblax"), keys(&after, "zorblax"));
    assert_eq!(before_keys.len(), 6, "one chunk a heading or paragraph");
    let changed: Vec<bool> = before_keys.iter().zip(&after_keys).map(|(b, a)| b.0 != a.0).collect();
    let says: Vec<bool> = after_keys.iter().map(|(_, says)| *says).collect();
    assert_eq!(changed, says);
    assert_eq!(says, [false, true, false, false, false, true]);

    // Each occurrence, whatever its case, now has exactly the entry's ids; every other token is
    // as it was, and the words timings point at are still the book's.
    let tokens = |plan: &BookPlan| -> Vec<(String, Vec<i64>)> {
        plan.chapters
            .iter()
            .flat_map(|c| &c.chunks)
            .flat_map(|c| c.tokens.iter().map(|t| (t.text.clone(), c.ids[t.ids.clone()].to_vec())))
            .collect()
    };
    let entry = token_ids("zˈIblæks");
    for ((text_before, ids_before), (text_after, ids_after)) in tokens(&before).into_iter().zip(tokens(&after)) {
        assert_eq!(text_before, text_after);
        if text_after.eq_ignore_ascii_case("zorblax") {
            assert_eq!(ids_after, entry, "{text_after}");
            assert_ne!(ids_before, entry);
        } else {
            assert_eq!(ids_before, ids_after, "{text_after}");
        }
    }
}

#[test]
fn a_capitalised_entry_matches_only_as_written_and_a_respelling_is_read_in_place() {
    let g2p = Phonemizer::new(Phonemizer::dialect_for_voice("af_heart").unwrap()).unwrap();
    let respelled: Vec<i64> =
        g2p.words("her my oh nee").iter().filter(|w| w.is_word()).fold(Vec::new(), |mut ids, w| {
            if !ids.is_empty() {
                ids.push(audiobook::phonemize::SPACE_ID);
            }
            ids.extend(&w.ids);
            ids
        });
    let after = plan("Zorblax /zˈIblæks/\nHermione\ther my oh nee\n");
    let before = plan("");
    let find = |plan: &BookPlan, word: &str| -> Vec<Vec<i64>> {
        plan.chapters
            .iter()
            .flat_map(|c| &c.chunks)
            .flat_map(|c| c.tokens.iter().filter(|t| t.text == word).map(|t| c.ids[t.ids.clone()].to_vec()))
            .collect()
    };
    assert_eq!(find(&after, "Zorblax"), [token_ids("zˈIblæks")]);
    assert_eq!(find(&after, "zorblax"), find(&before, "zorblax"), "lowercase text is not an exact match");
    assert_eq!(find(&after, "Hermione"), [respelled]);
}
