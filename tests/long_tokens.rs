//! Issue 9: a book never fails for one word. Checksums, UUIDs, base64 blobs, URLs without a
//! scheme and 200-character identifiers plan without error through the real G2P, no chunk passes
//! the model's limit, what is spoken is listenable, and word timings still point at the book's
//! own token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::OnceLock;

use audiobook::chunk::ChunkConfig;
use audiobook::ingest::{Format, IngestOptions, read_bytes};
use audiobook::phonemize::Phonemizer;
use audiobook::plan::{self, BookPlan, ChapterPlan};
use audiobook::script::{LongTokenKind, LongTokens, ScriptOptions};

fn g2p() -> &'static Phonemizer {
    static G2P: OnceLock<Phonemizer> = OnceLock::new();
    G2P.get_or_init(|| Phonemizer::new(Phonemizer::dialect_for_voice("af_heart").unwrap()).unwrap())
}

const HEX64: &str = "5946f7a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5";
const HEX32: &str = "d41d8cd98f00b204e9800998ecf8427e";
const UUID: &str = "550e8400-e29b-41d4-a716-446655440000";

/// Standard base64 of `bytes`, so the blob is the real thing, '+', '/' and padding included.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let n = group.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn blob() -> String {
    let bytes: Vec<u8> = (0u32..224).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let b64 = base64(&bytes);
    assert_eq!(b64.len(), 300);
    b64
}

/// A 200-character snake_case identifier of words the lexicon knows (the G2P's neural fallback
/// for unknown words is slow in a debug build).
fn snake_200() -> String {
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "golf", "hotel", "india", "kilo", "lima"];
    let mut id = String::new();
    for w in words.iter().cycle() {
        if id.len() + w.len() + 1 > 190 {
            break;
        }
        if !id.is_empty() {
            id.push('_');
        }
        id.push_str(w);
    }
    while id.len() < 200 {
        id.push_str(if 200 - id.len() >= 2 { "_7" } else { "7" });
    }
    id
}

fn plan_text(text: &str, format: Format, max_tokens: usize, mode: LongTokens) -> BookPlan {
    let book = read_bytes(Path::new("t"), text.as_bytes().to_vec(), Some(format), &IngestOptions::default()).unwrap();
    let config = ChunkConfig { target_tokens: max_tokens, max_tokens };
    let plan = plan::plan_with(&book, g2p(), &config, &ScriptOptions { long_tokens: mode, ..ScriptOptions::default() })
        .unwrap();
    for chunk in plan.chapters.iter().flat_map(|c| &c.chunks) {
        assert!(chunk.ids.len() <= max_tokens, "a chunk of {} tokens, more than {max_tokens}", chunk.ids.len());
    }
    plan
}

fn spoken(chapter: &ChapterPlan) -> String {
    chapter.sentences.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ")
}

/// The book's own text behind every timed word whose spoken text is `word`.
fn originals_of<'a>(chapter: &'a ChapterPlan, word: &str) -> Vec<&'a str> {
    chapter
        .chunks
        .iter()
        .flat_map(|c| &c.tokens)
        .filter(|t| t.is_word && t.text == word)
        .map(|t| chapter.original_text(t.sentence, t.spoken.clone()))
        .collect()
}

#[test]
fn each_kind_of_long_token_is_read_listenably_and_timed_against_the_original() {
    let (b64, snake, boundless) = (blob(), snake_200(), "abcdefghij".repeat(20));
    // (text, what is said, a spoken word of the replacement, the book's text it is timed against)
    let cases: Vec<(String, String, &str, String)> = vec![
        (format!("The checksum is {HEX64}."), "The checksum is a 64-character hex string.".into(), "hex", HEX64.into()),
        (format!("Request {UUID} failed."), "Request a UUID failed.".into(), "UUID", UUID.into()),
        (
            format!("The key is {b64} here."),
            "The key is a 300-character encoded string here.".into(),
            "encoded",
            b64.clone(),
        ),
        (
            "Go to example.com/a/b/c?x=1 now.".into(),
            "Go to example dot com now.".into(),
            "dot",
            "example.com/a/b/c?x=1".into(),
        ),
        // An identifier's words are timed against themselves, not the whole identifier.
        (format!("Call {snake} now."), format!("Call {} now.", snake.replace('_', " ")), "charlie", "charlie".into()),
        (format!("Then {boundless} ends."), "Then a 200-letter word ends.".into(), "word", boundless.clone()),
    ];
    for (text, expected, word, original) in cases {
        let plan = plan_text(&text, Format::Text, 200, LongTokens::Announce);
        let chapter = &plan.chapters[0];
        assert_eq!(spoken(chapter), expected);
        let originals = originals_of(chapter, word);
        assert!(!originals.is_empty() && originals.iter().all(|o| *o == original), "{text}: {originals:?}");
    }
}

#[test]
fn a_32_character_checksum_in_a_text_file_is_announced_and_reported() {
    let text = format!("Checksums\n\nThe MD5 sum of the archive is {HEX32}, as printed on the box.\n");
    let plan = plan_text(&text, Format::Text, 200, LongTokens::Announce);
    let chapter = &plan.chapters[0];
    assert!(spoken(chapter).contains("is a 32-character hex string, as printed"), "{}", spoken(chapter));
    let reads: Vec<_> = chapter.long_tokens().collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(
        (reads[0].original, reads[0].kind, reads[0].spoken),
        (HEX32, LongTokenKind::Hex, "a 32-character hex string")
    );
    assert_eq!(chapter.split_words().count(), 0);
}

#[test]
fn every_mode_and_the_smallest_chunks_plan_without_error() {
    let text = format!(
        "# Reference\n\nSum {HEX64} and id {UUID} and blob {} and path example.com/a/b/c?x=1 and {} and {} end.\n",
        blob(),
        snake_200(),
        "abcdefghij".repeat(20)
    );
    for mode in [LongTokens::Announce, LongTokens::Spell, LongTokens::Skip] {
        for max in [20, 64, 200, 510] {
            let plan = plan_text(&text, Format::Markdown, max, mode);
            let chapter = &plan.chapters[0];
            let said = spoken(chapter);
            assert!(said.starts_with("Reference. Sum"), "{mode:?}: {said}");
            assert!(said.ends_with("end."), "{mode:?}: {said}");
            assert!(said.contains("example dot com") && said.contains("alpha bravo charlie"), "{mode:?}: {said}");
            assert!(!said.contains(HEX64) && !said.contains(UUID), "{mode:?}: {said}");
            assert_eq!(chapter.long_tokens().count(), 4, "{mode:?}: hex, UUID, blob and the boundless word");
            match mode {
                LongTokens::Announce => assert!(said.contains("a 64-character hex string"), "{said}"),
                LongTokens::Spell => assert!(said.contains("5 9 4 6, F 7 'A' 3, B 2 C 1"), "{said}"),
                LongTokens::Skip => assert!(said.contains("Sum and id and blob and path"), "{said}"),
            }
        }
    }
}

#[test]
fn a_word_longer_than_a_model_call_is_split_and_reported_not_an_error() {
    let word = "pneumonoultramicroscopicsilicovolcanoconiosis";
    let text = format!("The word {word} is long.");
    let plan = plan_text(&text, Format::Text, 20, LongTokens::Announce);
    let chapter = &plan.chapters[0];
    assert_eq!(chapter.split_words().collect::<Vec<_>>(), [word]);
    // Its parts are consecutive timed words that spell it out between them, in order.
    let words: Vec<&str> = chapter
        .chunks
        .iter()
        .flat_map(|c| &c.tokens)
        .filter(|t| t.is_word)
        .map(|t| chapter.original_text(t.sentence, t.spoken.clone()))
        .collect();
    let parts = &words[2..words.len() - 2];
    assert!(parts.len() >= 2, "{words:?}");
    assert_eq!(parts.concat(), word);
    assert!(chapter.chunks.iter().skip(1).any(|c| c.boundary == audiobook::chunk::Boundary::Clause));
}
