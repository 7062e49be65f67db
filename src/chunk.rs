//! Stage 3, chunk: sentences to model calls.
//!
//! Takes spoken sentences, gives [`Chunk`]s of whole sentences whose token ids never exceed the
//! model's limit and aim at a target size. A paragraph always starts a new chunk, so the pause
//! before it is ours to choose. An over-long sentence is split at clause punctuation, then at word
//! boundaries, never inside a word. Every G2P token keeps its token id range, so its start and end
//! can be read off the model's frame counts, and its byte range in its sentence.

use std::ops::Range;

use crate::phonemize::{PhonemeWord, Phonemizer, SPACE_ID};

/// Chunk sizes in phoneme tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkConfig {
    /// Sentences are packed into a chunk until it would pass this many tokens.
    pub target_tokens: usize,
    /// The hard limit of one model call.
    pub max_tokens: usize,
}

impl Default for ChunkConfig {
    /// Measured (README, Performance): 200-token chunks cost 4% more per token than 300-token
    /// ones, and two sessions then peak at 0.88 GB instead of 1.19 GB.
    fn default() -> Self {
        Self { target_tokens: 200, max_tokens: 200 }
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
    #[error("the word '{word}' needs {tokens} phoneme tokens, more than one model call takes ({max})")]
    WordTooLong { word: String, tokens: usize, max: usize },
    #[error("the phonemizer lost '{text}' in the sentence \"{sentence}\"")]
    Lost { text: String, sentence: String },
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
    let mut chunks: Vec<Chunk> = Vec::new();
    for (index, sentence) in sentences.iter().enumerate() {
        let words = align(sentence.text, g2p.words(sentence.text))?;
        let first = if sentence.starts_paragraph || index == 0 { Boundary::Paragraph } else { Boundary::Sentence };
        for piece in split_long(index, words, first, config.max_tokens)? {
            let size = piece.token_count();
            match chunks.last_mut() {
                Some(chunk)
                    if piece.boundary == Boundary::Sentence && chunk.ids.len() + 1 + size <= config.target_tokens =>
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
    Ok(chunks)
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
/// words.
fn split_long(
    sentence: usize,
    words: Vec<(PhonemeWord, Range<usize>)>,
    first: Boundary,
    max: usize,
) -> Result<Vec<Piece>, ChunkError> {
    let whole = Piece { sentence, words, boundary: first };
    if whole.token_count() <= max {
        return Ok(vec![whole]);
    }
    let mut pieces = Vec::new();
    let mut current = Piece { sentence, words: Vec::new(), boundary: first };
    let mut last_clause: Option<usize> = None;
    for (word, spoken) in whole.words {
        if word.ids.len() > max {
            return Err(ChunkError::WordTooLong { word: word.text, tokens: word.ids.len(), max });
        }
        current.words.push((word, spoken));
        if current.token_count() > max {
            let cut = last_clause.unwrap_or(current.words.len() - 1);
            let rest = current.words.split_off(cut);
            pieces.push(std::mem::replace(&mut current, Piece { sentence, words: rest, boundary: Boundary::Clause }));
            last_clause = None;
        }
        if current.words.last().is_some_and(|(w, _)| is_clause_mark(&w.text)) {
            last_clause = Some(current.words.len());
        }
    }
    if !current.words.is_empty() {
        pieces.push(current);
    }
    Ok(pieces)
}

fn is_clause_mark(text: &str) -> bool {
    matches!(text, "," | ";" | ":" | "—" | "–" | "(" | ")" | "\u{201D}")
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
        let pieces = split_long(0, words, Boundary::Paragraph, 12).unwrap();
        let texts: Vec<Vec<&str>> =
            pieces.iter().map(|p| p.words.iter().map(|(w, _)| w.text.as_str()).collect()).collect();
        assert_eq!(texts, [vec!["one", "two", ","], vec!["three", "four"]]);
        assert_eq!(pieces[1].boundary, Boundary::Clause);
        assert!(pieces.iter().all(|p| p.token_count() <= 12));

        let words = (0..10).map(|_| word("w", 5)).collect();
        let pieces = split_long(0, words, Boundary::Sentence, 12).unwrap();
        assert!(pieces.iter().all(|p| p.token_count() <= 12 && !p.words.is_empty()));
        assert_eq!(pieces.iter().map(|p| p.words.len()).sum::<usize>(), 10);

        assert!(matches!(
            split_long(0, vec![word("huge", 20)], Boundary::Sentence, 12),
            Err(ChunkError::WordTooLong { .. })
        ));
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
