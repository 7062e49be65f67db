//! The espeak-ng phonemizer (e, f, h, i, p voices) against upstream misaki 0.9.4's `EspeakG2P`,
//! the Mandarin one (z voices) against its `ZHG2P` and the Japanese one (j voices) against its
//! `JAG2P`: fixtures/phonemes/*.tsv hold misaki's
//! phonemes for a few sentences per language, made once by tools/phoneme_fixtures.py. Each
//! sentence must come out exactly the same.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use audiobook::language::Language;
use audiobook::lexicon::Lexicon;
use audiobook::phonemize::Phonemizer;
use audiobook::phonemize::espeak::Espeak;

/// Sentences where Debian's espeak-ng (1.51) reads differently from espeakng-loader's build,
/// by fixture and text: compared only to show the difference, not failed.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn check(fixture: &str, language: Language) {
    if !common::require(common::Tool::EspeakNg) {
        return;
    }
    let voice = language.espeak_voice().unwrap();
    let espeak = Espeak::new(voice, language.name()).unwrap();
    compare_with_misaki(fixture, 3, |text| espeak.phonemize(text).unwrap());
}

/// Phonemizes every sentence of fixtures/phonemes/`fixture`.tsv with `ours` and fails, listing
/// them, on those that differ from misaki's; at least `at_least` sentences must be compared.
fn compare_with_misaki(fixture: &str, at_least: usize, ours: impl Fn(&str) -> String) {
    let path = format!("{}/fixtures/phonemes/{fixture}.tsv", env!("CARGO_MANIFEST_DIR"));
    let table = std::fs::read_to_string(&path).unwrap();
    let mut failures = Vec::new();
    let mut compared = 0;
    for line in table.lines().filter(|l| !l.is_empty()) {
        let (text, expected) = line.split_once('\t').unwrap();
        let got = ours(text);
        if KNOWN_DIFFERENCES.contains(&(fixture, text)) {
            eprintln!("known difference ({fixture}): {text}\n  misaki: {expected}\n  ours:   {got}");
            continue;
        }
        compared += 1;
        if got != expected {
            failures.push(format!("{text}\n  misaki: {expected}\n  ours:   {got}"));
        }
    }
    assert!(compared >= at_least, "{fixture}: too few sentences compared");
    assert!(failures.is_empty(), "{fixture}: {} of {compared} differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn spanish_matches_misaki() {
    check("es", Language::Spanish);
}

#[test]
fn french_matches_misaki() {
    check("fr", Language::French);
}

#[test]
fn hindi_matches_misaki() {
    check("hi", Language::Hindi);
}

#[test]
fn italian_matches_misaki() {
    check("it", Language::Italian);
}

#[test]
fn brazilian_portuguese_matches_misaki() {
    check("pt", Language::BrazilianPortuguese);
}

#[test]
fn every_word_of_the_text_gets_phonemes_in_order() {
    if !common::require(common::Tool::EspeakNg) {
        return;
    }
    let g2p = Phonemizer::for_language(Language::Spanish, &Lexicon::default()).unwrap();
    let words = g2p.words("El señor García compró 25 manzanas (todas rojas).").unwrap();
    let texts: Vec<&str> = words.iter().filter(|w| w.is_word()).map(|w| w.text.as_str()).collect();
    assert_eq!(texts, ["El", "señor", "García", "compró", "25", "manzanas", "todas", "rojas"]);
    assert!(words.iter().filter(|w| w.is_word()).all(|w| !w.ids.is_empty()), "{words:?}");
    let marks: Vec<&str> = words.iter().filter(|w| !w.is_word()).map(|w| w.text.as_str()).collect();
    assert_eq!(marks, ["(", ")."]);
}

/// Mandarin (z voices) against misaki's `ZHG2P` (legacy path, Kokoro v1.0): fixtures/phonemes/zh.tsv.
/// Needs nothing installed; every sentence must match exactly.
#[test]
fn mandarin_matches_misaki() {
    let g2p = audiobook::phonemize::zh::Mandarin::new().unwrap();
    compare_with_misaki("zh", 8, |text| g2p.phonemize(text));
}

/// Every Mandarin word keeps its source text, so timing and the text check see the book's text.
#[test]
fn mandarin_words_cover_the_text_in_order() {
    let g2p = Phonemizer::for_language(Language::Mandarin, &Lexicon::default()).unwrap();
    let text = "我们今天去银行取钱，花了12块钱。";
    let words = g2p.words(text).unwrap();
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(texts, ["我们", "今天", "去", "银行", "取", "钱", "，", "花", "了", "12块", "钱", "。"]);
    assert!(words.iter().filter(|w| w.is_word()).all(|w| !w.ids.is_empty()));
}

/// A Chinese paragraph with commas but no stop is cut into model calls under the limit, at its
/// commas, and every word is kept.
#[test]
fn a_long_mandarin_sentence_is_chunked_under_the_limit_without_loss() {
    use audiobook::chunk::{ChunkConfig, SentenceIn, plan};
    let g2p = Phonemizer::for_language(Language::Mandarin, &Lexicon::default()).unwrap();
    let text = "我们今天去银行取钱，然后一起吃午饭，".repeat(40);
    let config = ChunkConfig { target_tokens: 510, max_tokens: 510 };
    let chunks = plan(&[SentenceIn { text: &text, starts_paragraph: true }], &g2p, &config).unwrap();
    assert!(chunks.len() > 1, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|c| c.ids.len() <= 510));
    let words: String = chunks.iter().flat_map(|c| &c.tokens).map(|t| t.text.as_str()).collect();
    assert_eq!(words, text);
    assert!(chunks.iter().take(chunks.len() - 1).all(|c| c.tokens.last().unwrap().text == "，"));
}

#[test]
fn japanese_matches_misaki() {
    if !common::require(common::Tool::Mecab) {
        return;
    }
    let japanese = audiobook::phonemize::japanese::Japanese::new().unwrap();
    compare_with_misaki("ja", 8, |text| japanese.phonemize_as_misaki(text).unwrap());
}

#[test]
fn japanese_words_keep_their_text_and_ascii_is_read_in_english() {
    if !common::require(common::Tool::Mecab) {
        return;
    }
    let g2p = Phonemizer::for_language(Language::Japanese, &Lexicon::default()).unwrap();
    let words = g2p.words("彼はAIの研究を２０２４年にした。").unwrap();
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(texts.concat(), "彼はAIの研究を２０２４年にした。", "{words:?}");
    assert!(texts.contains(&"２０２４"), "the number is one word: {texts:?}");
    assert!(words.iter().filter(|w| w.is_word()).all(|w| !w.ids.is_empty()), "{words:?}");
    let ai = words.iter().find(|w| w.text == "AI").unwrap();
    assert_ne!(ai.phonemes, "AI", "ASCII goes to the English G2P");
}
