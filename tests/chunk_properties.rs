//! Properties of sentence splitting and chunk planning with the real G2P, on random text: no
//! chunk passes the model's limit, and the chunks put back together give every word of the
//! sentences, in order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use audiobook::chunk::{self, ChunkConfig, SentenceIn};
use audiobook::phonemize::Phonemizer;
use audiobook::script;
use proptest::prelude::*;

fn g2p() -> &'static Phonemizer {
    static G2P: OnceLock<Phonemizer> = OnceLock::new();
    G2P.get_or_init(|| Phonemizer::new(Phonemizer::dialect_for_voice("af_heart").unwrap()).unwrap())
}

/// Words of real English, names and numbers, with the punctuation books use.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "the",
            "keeper",
            "wrote",
            "that",
            "wind",
            "had",
            "reached",
            "harbour",
            "Nell",
            "Harrow",
            "forty-five",
            "don't",
            "o'clock",
            "1,204",
            "3.5",
            "Mr.",
            "e.g.",
            "extraordinarily",
            "unquestionably",
            "a",
        ])
        .prop_map(String::from),
        "[a-z]{1,12}",
    ]
}

fn sentence() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((word(), prop::sample::select(vec!["", "", "", ",", ";", " —"])), 1..120),
        prop::sample::select(vec![".", "!", "?", "…"]),
    )
        .prop_map(|(words, end)| {
            let body: Vec<String> = words.into_iter().map(|(w, p)| format!("{w}{p}")).collect();
            let mut s = body.join(" ");
            if let Some(first) = s.get(..1) {
                s.replace_range(..1, &first.to_uppercase());
            }
            s.trim_end_matches([',', ';', '—', ' ']).to_string() + end
        })
}

fn letters(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn chunks_fit_the_model_and_lose_nothing(paragraphs in prop::collection::vec(prop::collection::vec(sentence(), 1..5), 1..4), target in 20usize..510) {
        let text = paragraphs.iter().map(|p| p.join(" ")).collect::<Vec<_>>().join("\n\n");
        let mut sentences = Vec::new();
        for paragraph in text.split("\n\n") {
            let spoken = script::for_listening(paragraph);
            for (i, range) in script::sentences(&spoken.text).into_iter().enumerate() {
                sentences.push((spoken.text[range].to_string(), i == 0));
            }
        }
        let inputs: Vec<SentenceIn> = sentences.iter().map(|(t, p)| SentenceIn { text: t, starts_paragraph: *p }).collect();
        let config = ChunkConfig { target_tokens: target, ..ChunkConfig::default() };
        let chunks = chunk::plan(&inputs, g2p(), &config).unwrap();
        for chunk in &chunks {
            prop_assert!(chunk.ids.len() <= 510, "chunk of {} tokens", chunk.ids.len());
            prop_assert!(!chunk.ids.is_empty());
        }
        // Every sentence's letters, in order, are the letters of its tokens across the chunks.
        for (index, (sentence, _)) in sentences.iter().enumerate() {
            let tokens: String = chunks.iter().flat_map(|c| &c.tokens).filter(|t| t.sentence == index).map(|t| sentence[t.spoken.clone()].to_string()).collect();
            prop_assert_eq!(letters(&tokens), letters(sentence));
        }
        // Sentences come in order and each chunk holds whole sentences unless one was too long.
        let order: Vec<usize> = chunks.iter().flat_map(|c| &c.tokens).map(|t| t.sentence).collect();
        prop_assert!(order.windows(2).all(|w| w[0] <= w[1]));
    }
}
