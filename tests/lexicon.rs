//! Issue 17: a pronunciation lexicon changes exactly the phonemes and chunk keys it should, through
//! the real G2P, and the words a listener's timings point at stay the book's own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

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
        g2p.words("her my oh nee").unwrap().iter().filter(|w| w.is_word()).fold(Vec::new(), |mut ids, w| {
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

fn audiobook(config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = assert_cmd::Command::cargo_bin("audiobook")
        .unwrap()
        .env("XDG_CONFIG_HOME", config)
        .env_remove("AUDIOBOOK_LEXICON")
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn scan_finds_the_made_up_names_and_a_lexicon_written_from_it_silences_them() {
    let dir = tempfile::tempdir().unwrap();
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lexicon/names.md");
    let book = book.to_str().unwrap();
    let (code, out, err) = audiobook(dir.path(), &["--json", "lexicon", "scan", book, "--voice", "af_heart"]);
    assert_eq!(code, Some(0), "{err}");
    let guesses: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(guesses[0]["word"], "Quorvathi", "{out}");
    assert_eq!(guesses[0]["count"], 3);
    assert!(guesses.iter().any(|g| g["word"] == "Velmarisk" && g["count"] == 1), "{out}");
    assert!(!guesses.iter().any(|g| g["word"] == "baker" || g["word"] == "village"), "known words: {out}");

    let written = dir.path().join("names.lexicon");
    let written = written.to_str().unwrap();
    let (code, out, err) = audiobook(dir.path(), &["lexicon", "scan", book, "--write", written]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.lines().nth(1).unwrap().contains("Quorvathi"), "{out}");
    let (code, _, err) = audiobook(dir.path(), &["lexicon", "scan", book, "--write", written]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("already exists"), "{err}");

    // Read back as a lexicon, every guess is now known, so nothing is left to review.
    let (code, out, err) = audiobook(dir.path(), &["--json", "lexicon", "scan", book, "--lexicon", written]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "[]", "{err}");
    assert!(err.contains("lexicon:") && err.contains("names.lexicon"), "{err}");
}

#[test]
fn a_bad_phoneme_is_one_line_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book.md");
    std::fs::write(&book, "# One\n\nQuorvathi came home.\n").unwrap();
    std::fs::write(dir.path().join("audiobook.lexicon"), "# names\nQuorvathi /kwɔɹvˈɑθi4/\n").unwrap();
    let (code, _, err) = audiobook(dir.path(), &["plan", book.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("audiobook.lexicon:2: '4'") && err.contains("not one of Kokoro's phoneme symbols"), "{err}");
}

#[test]
fn say_phonemes_prints_each_word_with_the_lexicon_applied() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("audiobook")).unwrap();
    std::fs::write(dir.path().join("audiobook/audiobook.lexicon"), "quorvathi /kwɔɹvˈɑθi/\n").unwrap();
    let (code, out, err) = audiobook(dir.path(), &["say", "--phonemes", "Hello Quorvathi.", "--voice", "af_heart"]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines, [vec!["Hello", "/həlˈO/"], vec!["Quorvathi", "/kwɔɹvˈɑθi/"]]);
}

#[test]
fn one_lexicon_line_beside_the_book_rerenders_only_the_chunks_with_the_name() {
    common::model_files();
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book");
    std::fs::create_dir(&book).unwrap();
    for name in ["01-arrival.md", "02-departure.md"] {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/two-chapters").join(name);
        std::fs::copy(fixture, book.join(name)).unwrap();
    }
    // The chunk store is cleaned after each build (no --keep-chunks): the unchanged chunks come
    // back from the finished chapter WAVs.
    let build = |out: &Path| {
        let (code, stdout, err) = audiobook(
            dir.path(),
            &["--json", "build", book.to_str().unwrap(), "-o", out.to_str().unwrap(), "--jobs", "2"],
        );
        assert_eq!(code, Some(0), "{err}");
        let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        summary["chunks_rendered"].as_u64().unwrap()
    };
    let out = dir.path().join("out");
    let first = build(&out);
    assert!(first >= 4, "{first} chunks");
    let chunk_files = |out: &Path| std::fs::read_dir(out.join(".audiobook/chunks")).map_or(0, |d| d.count());
    assert_eq!(chunk_files(&out), 0, "the store is cleaned");
    std::fs::write(book.join("audiobook.lexicon"), "Hale /hˈAlə/\n").unwrap();
    assert_eq!(build(&out), 1, "only the chunk saying 'Hale' is rendered again");
    assert_eq!(build(&out), 0, "and then nothing");
    // The same book built from scratch with the lexicon: the same chapter audio, byte for byte.
    let fresh = dir.path().join("fresh");
    assert_eq!(build(&fresh), first);
    let wavs: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name.to_string_lossy().ends_with(".wav"))
        .collect();
    assert_eq!(wavs.len(), 2);
    for wav in wavs {
        let (a, b) = (std::fs::read(out.join(&wav)).unwrap(), std::fs::read(fresh.join(&wav)).unwrap());
        assert!(a == b, "{wav:?}: rebuilt from recovered chunks equals a fresh build");
    }
}
