//! Stage 3, chunk: sentences to model calls.
//!
//! Takes spoken sentences, gives [`Chunk`]s of whole sentences whose token ids never exceed the
//! model's limit and aim at a target size. A paragraph always starts a new chunk, so the pause
//! before it is ours to choose. An over-long sentence is split at clause punctuation, then at word
//! boundaries. A single word longer than a model call (the script reads checksums and identifiers
//! in shorter ways, so this is the last resort) is split between its phoneme ids into parts, each
//! a token of its own over a piece of the word's text, and reported in [`Planned::split_words`]:
//! a book never fails for one word. Every G2P token keeps its token id range, so its start and end
//! can be read off the model's frame counts, and its byte range in its sentence.

use std::ops::Range;

use crate::kokoro::MAX_TOKENS;
use crate::phonemize::{PhonemeWord, PhonemizeError, Phonemizer, SPACE_ID};

/// Chunk sizes in phoneme tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkConfig {
    /// Sentences are packed into a chunk until it would pass this many tokens.
    pub target_tokens: usize,
    /// The hard limit of one model call.
    pub max_tokens: usize,
}

impl Default for ChunkConfig {
    /// The longest calls the model takes: it speaks the same tokens in about 12% fewer frames in
    /// 510-token calls than in 200-token ones (README, Performance), and the decoder's windows
    /// keep their memory that of a short call.
    fn default() -> Self {
        Self { target_tokens: MAX_TOKENS, max_tokens: MAX_TOKENS }
    }
}

/// A sentence to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentenceIn<'a> {
    /// Spoken text (see `script`).
    pub text: &'a str,
    /// Whether it opens a paragraph (a new chunk, with a paragraph pause before it).
    pub starts_paragraph: bool,
}

/// What comes before a chunk; the assembler turns it into a pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Boundary {
    Paragraph,
    Sentence,
    /// Inside a sentence too long for one model call.
    Clause,
}

/// One model call's worth of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Token ids without the pads; at most `max_tokens`.
    pub ids: Vec<i64>,
    /// Every G2P token in order, punctuation included.
    pub tokens: Vec<TokenSpan>,
    /// What comes before this chunk.
    pub boundary: Boundary,
}

/// A G2P token placed in its chunk and its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpan {
    /// Index of its sentence in the planner's input.
    pub sentence: usize,
    /// The token's text.
    pub text: String,
    /// Its byte range in the sentence's spoken text.
    pub spoken: Range<usize>,
    /// Its range in the chunk's `ids`.
    pub ids: Range<usize>,
    /// A word (listed in timings) rather than punctuation.
    pub is_word: bool,
}

/// Errors that would otherwise lose text.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error("the phonemizer lost '{text}' in the sentence \"{sentence}\"")]
    Lost { text: String, sentence: String },
    #[error(transparent)]
    Phonemize(#[from] PhonemizeError),
}

/// Chunks, and what had to be done to fit them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub chunks: Vec<Chunk>,
    /// Words too long for one model call, each split across several, in order.
    pub split_words: Vec<SplitWord>,
}

/// A word split across model calls: each part is a [`TokenSpan`] of its own over a piece of
/// the word's text, so timings list it as consecutive words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitWord {
    /// Index of its sentence in the planner's input.
    pub sentence: usize,
    /// Its byte range in the sentence's spoken text.
    pub spoken: Range<usize>,
    /// The word's phoneme tokens, more than `max_tokens`.
    pub tokens: usize,
    /// How many parts it was split into.
    pub parts: usize,
}

/// A run of a sentence's tokens that stays in one chunk.
struct Piece {
    sentence: usize,
    words: Vec<(PhonemeWord, Range<usize>)>,
    boundary: Boundary,
}

impl Piece {
    fn token_count(&self) -> usize {
        let spaces = self.words.iter().take(self.words.len().saturating_sub(1)).filter(|(w, _)| w.space_after).count();
        self.words.iter().map(|(w, _)| w.ids.len()).sum::<usize>() + spaces
    }
}

/// Plans the chunks for `sentences`.
pub fn plan(sentences: &[SentenceIn], g2p: &Phonemizer, config: &ChunkConfig) -> Result<Vec<Chunk>, ChunkError> {
    plan_reporting(sentences, g2p, config).map(|planned| planned.chunks)
}

/// Plans the chunks for `sentences`, and reports the words split across model calls.
pub fn plan_reporting(sentences: &[SentenceIn], g2p: &Phonemizer, config: &ChunkConfig) -> Result<Planned, ChunkError> {
    plan_in_languages(sentences, |_| g2p, config)
}

/// Plans the chunks for `sentences` as [`plan_reporting`] does, phonemizing sentence `i` with
/// `g2p_of(i)`: a chunk may hold sentences of several languages (the token ids are one
/// vocabulary), a sentence is in one.
pub fn plan_in_languages<'a>(
    sentences: &[SentenceIn],
    g2p_of: impl Fn(usize) -> &'a Phonemizer,
    config: &ChunkConfig,
) -> Result<Planned, ChunkError> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut split_words = Vec::new();
    for (index, sentence) in sentences.iter().enumerate() {
        let words = align(sentence.text, g2p_of(index).words(sentence.text)?)?;
        let first = if sentence.starts_paragraph || index == 0 { Boundary::Paragraph } else { Boundary::Sentence };
        let words = split_long_words(index, sentence.text, words, config.max_tokens, &mut split_words);
        for piece in split_long(index, words, first, config.max_tokens) {
            let size = piece.token_count();
            match chunks.last_mut() {
                Some(chunk)
                    if piece.boundary == Boundary::Sentence
                        && chunk.ids.len() + 1 + size <= config.target_tokens.min(config.max_tokens) =>
                {
                    chunk.ids.push(SPACE_ID);
                    append(chunk, piece);
                }
                _ => {
                    let mut chunk =
                        Chunk { ids: Vec::with_capacity(size), tokens: Vec::new(), boundary: piece.boundary };
                    append(&mut chunk, piece);
                    chunks.push(chunk);
                }
            }
        }
    }
    chunks.retain(|c| !c.ids.is_empty() || c.tokens.iter().any(|t| t.is_word));
    Ok(Planned { chunks, split_words })
}

/// Splits `chunk` after its first sentence, when it holds more than one: the second part starts
/// at the next sentence, with a sentence pause before it. A streaming caller uses this to make
/// its first chunk short, so the first audio comes sooner.
pub fn split_after_first_sentence(mut chunk: Chunk) -> Vec<Chunk> {
    let first = chunk.tokens.first().map(|t| t.sentence);
    let Some(at) = chunk.tokens.iter().position(|t| Some(t.sentence) != first) else { return vec![chunk] };
    let start = chunk.tokens[at].ids.start;
    let tokens = chunk.tokens.split_off(at);
    let ids = chunk.ids.split_off(start);
    // Sentences inside a chunk are joined by one space token, which now ends nothing.
    if chunk.ids.last() == Some(&SPACE_ID) {
        chunk.ids.pop();
    }
    let tokens = tokens.into_iter().map(|t| TokenSpan { ids: t.ids.start - start..t.ids.end - start, ..t }).collect();
    vec![chunk, Chunk { ids, tokens, boundary: Boundary::Sentence }]
}

fn append(chunk: &mut Chunk, piece: Piece) {
    let last = piece.words.len().saturating_sub(1);
    for (i, (word, spoken)) in piece.words.into_iter().enumerate() {
        let start = chunk.ids.len();
        chunk.ids.extend_from_slice(&word.ids);
        let ids = start..chunk.ids.len();
        if word.space_after && i < last {
            chunk.ids.push(SPACE_ID);
        }
        let is_word = word.is_word();
        chunk.tokens.push(TokenSpan { sentence: piece.sentence, text: word.text, spoken, ids, is_word });
    }
}

/// Finds each token's byte range in the sentence, and checks that every letter and digit of the
/// sentence belongs to some token: text the G2P dropped is an error, never a shorter book.
///
/// Tokens are matched on their letters and digits alone, because the G2P may drop apostrophes
/// or merge pieces ("sou'-wester" becomes the token "sou-wester").
fn align(sentence: &str, words: Vec<PhonemeWord>) -> Result<Vec<(PhonemeWord, Range<usize>)>, ChunkError> {
    let letters: Vec<(usize, char)> = sentence.char_indices().filter(|(_, c)| c.is_alphanumeric()).collect();
    let lost = |from: usize, to: usize| {
        let start = letters[from].0;
        let end = letters.get(to).map_or(sentence.len(), |(i, _)| *i);
        let text = sentence[start..end].split_whitespace().next().unwrap_or_default().to_string();
        ChunkError::Lost { text, sentence: sentence.into() }
    };
    let mut next = 0; // index into `letters` of the first letter no token has claimed
    let mut cursor = 0; // byte offset after the last placed token
    let mut out = Vec::with_capacity(words.len());
    for word in words {
        let own: Vec<char> = word.text.chars().filter(|c| c.is_alphanumeric()).collect();
        let range = if own.is_empty() {
            // Punctuation: where its text stands next, or nowhere in particular.
            match sentence[cursor..].find(&word.text) {
                Some(at) if !word.text.is_empty() && letters.get(next).is_none_or(|(i, _)| cursor + at < *i) => {
                    cursor + at..cursor + at + word.text.len()
                }
                _ => cursor..cursor,
            }
        } else {
            match find_letters(&letters[next..], &own) {
                Some(0) => {
                    let (first, last) = (letters[next], letters[next + own.len() - 1]);
                    next += own.len();
                    first.0..last.0 + last.1.len_utf8()
                }
                Some(skipped) => return Err(lost(next, next + skipped)),
                // Letters the G2P made up (it never does today): placed but claiming nothing.
                None => cursor..cursor,
            }
        };
        cursor = cursor.max(range.end);
        out.push((word, range));
    }
    if next < letters.len() {
        return Err(lost(next, letters.len()));
    }
    Ok(out)
}

/// Where `word` first stands in `letters`, comparing case-insensitively.
fn find_letters(letters: &[(usize, char)], word: &[char]) -> Option<usize> {
    let same = |a: char, b: char| a == b || a.to_lowercase().eq(b.to_lowercase());
    (0..=letters.len().checked_sub(word.len())?)
        .find(|&at| word.iter().zip(&letters[at..]).all(|(w, (_, c))| same(*w, *c)))
}

/// Splits a sentence whose tokens pass `max` at its last clause mark that fits, or else between
/// words. Every word must fit `max` (see [`split_long_words`]).
fn split_long(sentence: usize, words: Vec<(PhonemeWord, Range<usize>)>, first: Boundary, max: usize) -> Vec<Piece> {
    let whole = Piece { sentence, words, boundary: first };
    if whole.token_count() <= max {
        return vec![whole];
    }
    let mut pieces = Vec::new();
    let mut current = Piece { sentence, words: Vec::new(), boundary: first };
    let mut last_clause: Option<usize> = None;
    for (word, spoken) in whole.words {
        current.words.push((word, spoken));
        // A cut at a clause mark may leave more than `max` after it; then cut again before the
        // newest word, which fits alone.
        while current.token_count() > max && current.words.len() > 1 {
            let cut =
                last_clause.take().filter(|&c| c > 0 && c < current.words.len()).unwrap_or(current.words.len() - 1);
            let rest = current.words.split_off(cut);
            pieces.push(std::mem::replace(&mut current, Piece { sentence, words: rest, boundary: Boundary::Clause }));
        }
        if current.words.last().is_some_and(|(w, _)| is_clause_mark(&w.text)) {
            last_clause = Some(current.words.len());
        }
    }
    if !current.words.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Splits every word with more than `max` token ids into parts of at most `max`, recording each
/// in `splits`. The rest pass through untouched.
fn split_long_words(
    sentence: usize,
    text: &str,
    words: Vec<(PhonemeWord, Range<usize>)>,
    max: usize,
    splits: &mut Vec<SplitWord>,
) -> Vec<(PhonemeWord, Range<usize>)> {
    if words.iter().all(|(w, _)| w.ids.len() <= max) {
        return words;
    }
    let mut out = Vec::with_capacity(words.len() + 1);
    for (word, spoken) in words {
        if word.ids.len() <= max {
            out.push((word, spoken));
            continue;
        }
        let cuts = id_cuts(&word.ids, max);
        splits.push(SplitWord { sentence, spoken: spoken.clone(), tokens: word.ids.len(), parts: cuts.len() - 1 });
        out.extend(split_word(text, word, spoken, &cuts));
    }
    out
}

/// Where to cut `ids` into the fewest parts of at most `max` ids: near equal parts, each cut
/// moved to just after a space inside the word (a number read as several words) when one is near.
fn id_cuts(ids: &[i64], max: usize) -> Vec<usize> {
    let n = ids.len();
    let max = max.max(1);
    let parts = n.div_ceil(max).max(1);
    let mut cuts = vec![0];
    for k in 1..parts {
        let prev = cuts.last().copied().unwrap_or(0);
        // This part fits, what is left fits the parts left, and no part is empty.
        let lo = (prev + 1).max(n.saturating_sub((parts - k) * max));
        let hi = (prev + max).min(n - (parts - k));
        let ideal = (k * n / parts).clamp(lo, hi.max(lo));
        let slack = max / 4;
        let space = (lo.max(ideal.saturating_sub(slack))..=hi.min(ideal + slack))
            .filter(|&c| ids[c - 1] == SPACE_ID)
            .min_by_key(|&c| c.abs_diff(ideal));
        cuts.push(space.unwrap_or(ideal));
    }
    cuts.push(n);
    cuts
}

/// The parts of `word` between `cuts` (indices into its ids): each gets its ids, its phonemes
/// and the piece of the word's text in proportion, cut at character boundaries.
fn split_word(text: &str, word: PhonemeWord, spoken: Range<usize>, cuts: &[usize]) -> Vec<(PhonemeWord, Range<usize>)> {
    let n = word.ids.len().max(1);
    let word_text = text.get(spoken.clone()).unwrap_or("");
    let bounds: Vec<usize> = word_text.char_indices().map(|(i, _)| i).chain([word_text.len()]).collect();
    let chars = bounds.len() - 1;
    let byte_at = |cut: usize| spoken.start + bounds[(chars * cut / n).min(chars)];
    let phonemes: Vec<char> = word.phonemes.chars().collect();
    cuts.windows(2)
        .enumerate()
        .map(|(k, pair)| {
            let (a, b) = (pair[0], pair[1]);
            let range = if word_text.is_empty() { spoken.clone() } else { byte_at(a)..byte_at(b) };
            let part_text = text.get(range.clone()).filter(|t| !t.is_empty()).unwrap_or(&word.text);
            let part = PhonemeWord {
                text: part_text.to_string(),
                phonemes: phonemes.get(a..b).map(|p| p.iter().collect()).unwrap_or_default(),
                ids: word.ids[a..b].to_vec(),
                space_after: word.space_after && k + 2 == cuts.len(),
            };
            (part, range)
        })
        .collect()
}

fn is_clause_mark(text: &str) -> bool {
    matches!(
        text,
        "," | ";"
            | ":"
            | "—"
            | "–"
            | "("
            | ")"
            | "\u{201D}"
            | "，"
            | "、"
            | "；"
            | "："
            | "（"
            | "）"
            | "》"
            | "」"
            | "』"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, n: usize) -> (PhonemeWord, Range<usize>) {
        (PhonemeWord { text: text.into(), phonemes: "a".repeat(n), ids: vec![43; n], space_after: true }, 0..0)
    }

    #[test]
    fn long_sentences_split_at_clauses_then_words_and_never_pass_the_limit() {
        let mut words = vec![word("one", 4), word("two", 4), word(",", 1), word("three", 4), word("four", 4)];
        words[2].0.space_after = true;
        let pieces = split_long(0, words, Boundary::Paragraph, 12);
        let texts: Vec<Vec<&str>> =
            pieces.iter().map(|p| p.words.iter().map(|(w, _)| w.text.as_str()).collect()).collect();
        assert_eq!(texts, [vec!["one", "two", ","], vec!["three", "four"]]);
        assert_eq!(pieces[1].boundary, Boundary::Clause);
        assert!(pieces.iter().all(|p| p.token_count() <= 12));

        let words = (0..10).map(|_| word("w", 5)).collect();
        let pieces = split_long(0, words, Boundary::Sentence, 12);
        assert!(pieces.iter().all(|p| p.token_count() <= 12 && !p.words.is_empty()));
        assert_eq!(pieces.iter().map(|p| p.words.len()).sum::<usize>(), 10);
    }

    #[test]
    fn what_follows_a_clause_mark_is_cut_again_when_it_still_does_not_fit() {
        // "a , b" fits 12; adding "c" passes it, and "b c" after the comma is 13 on its own.
        let words = vec![word("a", 1), word(",", 1), word("b", 6), word("c", 6)];
        let pieces = split_long(0, words, Boundary::Sentence, 12);
        assert!(
            pieces.iter().all(|p| p.token_count() <= 12),
            "{:?}",
            pieces.iter().map(Piece::token_count).collect::<Vec<_>>()
        );
        assert_eq!(pieces.iter().map(|p| p.words.len()).sum::<usize>(), 4);
    }

    #[test]
    fn a_word_longer_than_a_model_call_is_split_into_parts_over_pieces_of_its_text() {
        let text = "see 5946f7a3b2c1d0e9f8a7 now";
        let mut huge = word("5946f7a3b2c1d0e9f8a7", 25);
        huge.1 = 4..24;
        let words = vec![(word("see", 3).0, 0..3), huge, (word("now", 3).0, 25..28)];
        let mut splits = Vec::new();
        let words = split_long_words(0, text, words, 12, &mut splits);
        assert_eq!(splits, [SplitWord { sentence: 0, spoken: 4..24, tokens: 25, parts: 3 }]);
        let parts = &words[1..4];
        assert!(parts.iter().all(|(w, _)| (1..=12).contains(&w.ids.len())));
        assert_eq!(parts.iter().map(|(w, _)| w.ids.len()).sum::<usize>(), 25);
        assert_eq!(parts.iter().map(|(w, _)| w.phonemes.chars().count()).sum::<usize>(), 25);
        // The parts tile the word's text, and each part's text is its piece of it.
        assert_eq!(parts[0].1.start, 4);
        assert!(parts.windows(2).all(|p| p[0].1.end == p[1].1.start));
        assert_eq!(parts[2].1.end, 24);
        assert!(parts.iter().all(|(w, r)| w.text == text[r.clone()]));
        assert_eq!(parts.iter().map(|(w, _)| w.space_after).collect::<Vec<_>>(), [false, false, true]);
        // Each part fits a model call, so the sentence splits between them.
        let pieces = split_long(0, words, Boundary::Sentence, 12);
        assert!(pieces.iter().all(|p| p.token_count() <= 12));
    }

    #[test]
    fn a_long_word_is_cut_after_a_space_inside_it_when_one_is_near() {
        let mut ids = vec![43; 30];
        ids[13] = SPACE_ID;
        assert_eq!(id_cuts(&ids, 20), [0, 14, 30]);
        assert_eq!(id_cuts(&[43; 30], 20), [0, 15, 30]);
        assert_eq!(id_cuts(&[43; 7], 1), [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn a_split_word_with_multibyte_text_is_cut_at_character_boundaries() {
        let text = "“ÆØÅæøå”";
        let w = PhonemeWord { text: text.into(), phonemes: "a".repeat(9), ids: vec![43; 9], space_after: false };
        let parts = split_word(text, w, 0..text.len(), &[0, 2, 5, 9]);
        assert!(parts.iter().all(|(_, r)| text.is_char_boundary(r.start) && text.is_char_boundary(r.end)));
        assert_eq!(parts.iter().map(|(w, _)| w.text.as_str()).collect::<String>(), text);
    }

    #[test]
    fn alignment_finds_words_and_refuses_to_lose_any() {
        let words = vec![word("Hello", 1).0, word(",", 1).0, word("world", 1).0];
        let aligned = align("Hello, world", words).unwrap();
        assert_eq!(aligned.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(), [0..5, 5..6, 7..12]);
        let err = align("Hello brave world", vec![word("Hello", 1).0, word("world", 1).0]).unwrap_err();
        assert!(err.to_string().contains("'brave'"), "{err}");
        assert!(align("Hello world", vec![word("Hello", 1).0]).is_err());

        // The G2P drops apostrophes and merges pieces; letters still match.
        let words = vec![word("a", 1).0, word("sou-wester", 1).0, word("'Yes—and", 1).0];
        let aligned = align("a sou'-wester 'Yes'—and", words).unwrap();
        assert_eq!(aligned[1].1, 2..13);
        assert_eq!(aligned[2].1, 15..25);
    }
}
