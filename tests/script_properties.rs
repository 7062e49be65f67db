//! Issue 9: the text stages never panic on real-world Unicode. Random text mixed with URLs,
//! curly quotes, CJK punctuation, emoji, combining marks, checksums, encoded blobs and long
//! identifiers goes through ingest (plain text and Markdown) and the script in every long-token
//! mode: nothing panics, the spoken text is one tidy line whose every range maps back inside the
//! source on character boundaries, URLs are read as their host, and opaque tokens are announced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use audiobook::ingest::{Format, IngestOptions, read_bytes};
use audiobook::script::{self, LongTokens, ScriptOptions};
use proptest::prelude::*;

/// Pieces that trip byte arithmetic or the script's patterns.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<char>().prop_map(String::from),
        4 => prop::sample::select(vec![
            "“", "”", "‘", "’", "«", "»", "、", "。", "「", "」", "（", "）", "—", "–", "…", "...", " - ", "--", "😀", "👍🏽",
            "👩‍💻", "e\u{301}", "\u{97}", "\u{AD}", "\u{200B}", "\u{2060}", "\u{FEFF}", "[1]", "[", "]", "<", ">", "_", "*",
            "`", "#", " ", " ", " ", "\n", "\n\n", "\t", "://", "@", ".", ",", "Mr.", "e.g.", "etc.", "1990–2000", "a::b",
            "日本語", "Straße", "ﬁ",
        ])
        .prop_map(String::from),
        2 => "[A-Za-z]{1,12}",
        1 => "[0-9a-f]{16,70}",
        1 => "[A-Za-z0-9+/]{16,90}={0,2}",
        1 => "[a-z]{2,8}(_[a-z0-9]{1,8}){3,12}",
        1 => "[a-z]{45,80}",
        1 => "[0-9]{10,30}",
        1 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        1 => "(https?://|www\\.)?[a-z0-9]{1,8}\\.(com|org|io)(/[a-z0-9?=&._-]{0,12}){0,4}",
        1 => "[a-z.]{1,10}@[a-z]{1,8}\\.(com|org)",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..24).prop_map(|v| v.concat())
}

fn mode() -> impl Strategy<Value = LongTokens> {
    prop::sample::select(vec![LongTokens::Announce, LongTokens::Spell, LongTokens::Skip])
}

/// Checks one block's spoken form.
fn check_script(text: &str, mode: LongTokens) -> Result<(), TestCaseError> {
    let spoken = script::for_listening_with(text, &ScriptOptions { long_tokens: mode, ..ScriptOptions::default() });
    let said = &spoken.text;
    prop_assert!(!said.starts_with(' ') && !said.ends_with(' ') && !said.contains("  "), "{said:?}");
    let boundaries: Vec<usize> = said.char_indices().map(|(i, _)| i).chain([said.len()]).collect();
    // Any spoken range maps inside the source, on character boundaries.
    for (i, &start) in boundaries.iter().enumerate() {
        for &end in boundaries.iter().skip(i).step_by(3).take(8) {
            let range = spoken.source_range(start..end);
            prop_assert!(
                range.start <= range.end && range.end <= spoken.source.len(),
                "{range:?} of {:?}",
                spoken.source
            );
            prop_assert!(spoken.source.is_char_boundary(range.start) && spoken.source.is_char_boundary(range.end));
        }
    }
    let sentences = script::sentences(said);
    let mut at = 0;
    for r in &sentences {
        prop_assert!(at <= r.start && r.start < r.end && r.end <= said.len(), "{sentences:?} of {said:?}");
        prop_assert!(said.is_char_boundary(r.start) && said.is_char_boundary(r.end));
        at = r.end;
    }
    for token in spoken.long_tokens() {
        let original = spoken.source.get(token.source.clone());
        prop_assert!(original.is_some_and(|o| !o.is_empty()), "{token:?}");
        if mode == LongTokens::Skip {
            prop_assert!(token.spoken.is_empty());
        } else {
            prop_assert!(said.contains(token.spoken.as_str()), "{token:?} in {said:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_script_never_panics_and_keeps_its_map(text in text(), mode in mode()) {
        check_script(&text, mode)?;
    }

    #[test]
    fn ingest_then_script_never_panics(text in text(), markdown in any::<bool>(), mode in mode()) {
        let format = if markdown { Format::Markdown } else { Format::Text };
        // Refusing input (empty, binary-looking, no text) is fine; panicking is not.
        if let Ok(book) = read_bytes(Path::new("t"), text.into_bytes(), Some(format), &IngestOptions::default()) {
            for block in book.chapters.iter().flat_map(|c| &c.blocks) {
                check_script(&block.text, mode)?;
            }
        }
    }

    #[test]
    fn a_url_amid_random_text_is_read_as_its_host(
        before in text(),
        open in prop::sample::select(vec![" ", " “", "、", " —", " (", "「"]),
        host in "[a-z]{3,8}\\.(com|org)",
        path in "(/[a-z0-9]{1,6}){0,3}",
        close in prop::sample::select(vec![" ", "” ", "。", ") ", "」", ", ", ". "]),
        after in text(),
    ) {
        let text = format!("{before}{open}https://{host}{path}{close}{after}");
        let said = script::for_listening(&text).text;
        let (name, tld) = host.split_once('.').unwrap();
        prop_assert!(said.contains(&format!("{name} dot {tld}")), "{text:?} -> {said:?}");
        prop_assert!(!said.contains(&format!("https://{host}")), "{said:?}");
    }

    #[test]
    fn a_checksum_amid_random_text_is_announced(
        before in text(),
        hex in "[0-9a-f]{16,64}",
        after in text(),
    ) {
        prop_assume!(hex.bytes().any(|b| b.is_ascii_digit()) && hex.bytes().any(|b| b.is_ascii_alphabetic()));
        let text = format!("{before} {hex} {after}");
        let spoken = script::for_listening(&text);
        prop_assert!(spoken.text.contains(&format!("{}-character hex string", hex.len())), "{text:?} -> {:?}", spoken.text);
        prop_assert!(spoken.long_tokens().iter().any(|t| spoken.source[t.source.clone()] == hex));
    }
}
