//! Whether a book is English, for inputs that do not say (Markdown, text): this build's G2P
//! speaks English only, and English phonemes for German text are worse than a clear refusal.
//!
//! English prose is about a quarter function words ("the", "and", "of"...); other languages
//! written in Latin letters share few of them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::ingest::{Block, Book, Chapter};

/// A book this build cannot speak.
#[derive(Debug, thiserror::Error)]
pub enum LanguageError {
    #[error("{}: the book's language is '{language}', and this build speaks English only", path.display())]
    Stated { path: PathBuf, language: String },
    #[error("{}: the text does not read as English, and this build speaks English only", path.display())]
    Detected { path: PathBuf },
}

/// Keeps what this build can speak: a book whose stated or detected language is not English is
/// refused, unless `any_language`; in a docs tree (several files, no stated language) the files
/// that do not read as English are left out and returned, since they are likely translations.
/// `first_input` names the book in errors.
pub fn check_book(book: &mut Book, first_input: &Path, any_language: bool) -> Result<Vec<PathBuf>, LanguageError> {
    let mut left_out = Vec::new();
    if book.meta.language.is_none() && !any_language && book.chapters.len() > 1 {
        let file_of = |chapter: &Chapter| chapter.blocks.first().map(|b| b.source.file.clone());
        let files: BTreeSet<PathBuf> = book.chapters.iter().filter_map(file_of).collect();
        // Only a tree of several files can hold a translation; one file is judged whole, below.
        let files = if files.len() > 1 { files } else { BTreeSet::new() };
        for file in files {
            let chapters = book.chapters.iter().filter(|c| file_of(c).as_ref() == Some(&file));
            if blocks_look_english(chapters.flat_map(|c| &c.blocks)) == Some(false) {
                left_out.push(file);
            }
        }
        book.chapters.retain(|c| file_of(c).is_none_or(|f| !left_out.contains(&f)));
    }
    let path = first_input.to_path_buf();
    if let Some(language) = &book.meta.language
        && !any_language
        && !language.to_ascii_lowercase().starts_with("en")
    {
        return Err(LanguageError::Stated { path, language: language.clone() });
    }
    if book.meta.language.is_none() && !any_language && looks_english(book) == Some(false) {
        return Err(LanguageError::Detected { path });
    }
    Ok(left_out)
}

/// Common English function words, rare as words in other languages.
const FUNCTION_WORDS: &[&str] = &[
    "the", "and", "of", "to", "is", "it", "that", "with", "for", "on", "as", "his", "her", "you", "be", "at", "by",
    "this", "had", "not", "are", "but", "from", "or", "have", "they", "which", "one", "were", "we", "when", "there",
    "can", "an", "your", "their", "if", "would", "what", "said", "been", "she", "he", "a", "i", "my", "me", "them",
];

/// Words sampled from the start of the book.
const SAMPLE_WORDS: usize = 5000;
/// Below this share of function words, text is taken as not English.
const MIN_SHARE: f64 = 0.08;
/// Too few words to judge: give the benefit of the doubt.
const MIN_WORDS: usize = 200;

/// Whether the book reads as English; `None` when it is too short to tell.
pub fn looks_english(book: &Book) -> Option<bool> {
    looks_english_text(book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str()))
}

/// Whether some blocks (a file's, say) read as English; `None` when they are too short to tell.
pub fn blocks_look_english<'a>(blocks: impl Iterator<Item = &'a Block> + Clone) -> Option<bool> {
    looks_english_text(blocks.map(|b| b.text.as_str()))
}

fn looks_english_text<'a>(texts: impl Iterator<Item = &'a str> + Clone) -> Option<bool> {
    // Mostly letters of another script (Cyrillic, CJK, Arabic...): not English, however short.
    let (latin, other) = texts.clone().flat_map(str::chars).filter(|c| c.is_alphabetic()).take(20_000).fold(
        (0usize, 0usize),
        |(latin, other), c| {
            if c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&c) {
                (latin + 1, other)
            } else {
                (latin, other + 1)
            }
        },
    );
    if other > 50 && other > latin {
        return Some(false);
    }
    let words: Vec<String> = texts
        .flat_map(|t| t.split(|c: char| !c.is_alphabetic() && c != '\''))
        .filter(|w| !w.is_empty())
        .take(SAMPLE_WORDS)
        .map(str::to_lowercase)
        .collect();
    if words.len() < MIN_WORDS {
        return None;
    }
    let hits = words.iter().filter(|w| FUNCTION_WORDS.contains(&w.as_str())).count();
    Some(hits as f64 / words.len() as f64 >= MIN_SHARE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(words: &str, times: usize) -> Vec<String> {
        vec![words.repeat(times)]
    }

    #[test]
    fn english_german_and_other_scripts_are_told_apart() {
        let english = text("The keeper wrote that the wind had reached the rocks and it was cold. ", 30);
        assert_eq!(looks_english_text(english.iter().map(String::as_str)), Some(true));
        let german = text("Als Gregor Samsa eines Morgens aus unruhigen Träumen erwachte, fand er sich. ", 30);
        assert_eq!(looks_english_text(german.iter().map(String::as_str)), Some(false));
        let russian = text("Поддерживает цвета и подсветку синтаксиса ", 5);
        assert_eq!(looks_english_text(russian.iter().map(String::as_str)), Some(false));
        assert_eq!(looks_english_text(["Too short to tell."].into_iter()), None);
    }
}
