//! The pronunciation lexicon: the user's own readings of words and phrases the G2P gets wrong.
//!
//! Takes lexicon files (`--lexicon FILE`, `audiobook.lexicon` beside the input, the user's
//! config folder), gives one [`Lexicon`] and, once its respellings are phonemized, a [`Marker`]
//! that rewrites a sentence into misaki's inline markup, `[word](/phonemes/)`, before the G2P
//! reads it. The G2P then keeps the book's word as the token's text, so timings still point at
//! it, and the chunk key (a hash of the token ids) changes exactly where an entry applies.
//!
//! The format, one entry a line (README, "Pronunciation lexicon"):
//! ```text
//! # a comment; '#' after a space also starts one
//! Nguyen        /wˈɪn/          phonemes in Kokoro's symbols, between slashes
//! hermione      her my oh nee   a respelling: plain words the G2P reads instead
//! New York      /nˌu jˈɔɹk/     a phrase before /phonemes/
//! Jean Luc<TAB>zhon luke        a phrase with a respelling: a tab ends the phrase
//! ```
//! A key in lowercase matches any case; a key with a capital matches only as written, and wins
//! over a lowercase key for that spelling. Longer keys win over shorter ones at the same place.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use regex::Regex;
use serde::Serialize;

use crate::phonemize::{Phonemizer, vocab};
use crate::plan::BookPlan;

/// The lexicon's name beside an input, and in the user's config folder.
pub const FILE_NAME: &str = "audiobook.lexicon";

/// How an entry says its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pronunciation {
    /// Phonemes in Kokoro's symbols.
    Phonemes(String),
    /// Text the G2P reads in the key's place.
    Respelling(String),
}

/// One line of a lexicon file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The word or phrase, its spaces collapsed to one.
    pub key: String,
    pub say: Pronunciation,
    /// The file and 1-based line it came from.
    pub file: PathBuf,
    pub line: usize,
}

impl Entry {
    /// Whether the key matches whatever the case of the text (it has no capital letter).
    pub fn any_case(&self) -> bool {
        !self.key.chars().any(char::is_uppercase)
    }
}

/// Errors in reading a lexicon file.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("{}: cannot read the lexicon: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// A line that says nothing usable, with why.
    #[error("{}:{line}: {problem}", path.display())]
    Line { path: PathBuf, line: usize, problem: LineProblem },
    /// `lexicon scan --write` never overwrites a lexicon the user may have corrected.
    #[error("{}: already exists: remove it or give --write another file", path.display())]
    Exists { path: PathBuf },
    /// More entries than one search pattern holds.
    #[error("the lexicon is too large to search: {0}")]
    TooLarge(String),
}

/// What is wrong with one line of a lexicon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    #[error("'{0}' has no pronunciation: write `WORD /phonemes/` or `WORD respelling`")]
    NoPronunciation(String),
    #[error("'{0}' is not a word or phrase")]
    NotAWord(String),
    #[error("'{key}': a word or phrase cannot contain '{c}'")]
    KeyBracket { key: String, c: char },
    #[error("'{0}' has no closing '/'")]
    Unclosed(String),
    #[error("the phonemes between the slashes are empty")]
    EmptyPhonemes,
    #[error("'{c}' (U+{:04X}) in /{phonemes}/ is not one of Kokoro's phoneme symbols", u32::from(*c))]
    NotAPhoneme { c: char, phonemes: String },
    #[error("the respelling '{respelling}' cannot contain '{c}'")]
    RespellingBracket { respelling: String, c: char },
    #[error("the respelling '{0}' gives no phonemes")]
    Silent(String),
    #[error("'{key}' is already on line {line}")]
    Duplicate { key: String, line: usize },
}

/// Entries from one or more files, at most one per key, the first file's winning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexicon {
    entries: Vec<Entry>,
}

impl Lexicon {
    /// Reads the files in order of precedence: an entry of an earlier file hides one of the same
    /// key in a later file.
    pub fn load(files: &[PathBuf]) -> Result<Self, LexiconError> {
        let mut lexicon = Lexicon::default();
        for file in files {
            let text =
                std::fs::read_to_string(file).map_err(|source| LexiconError::Read { path: file.clone(), source })?;
            let below = Self::parse(&text, file)?;
            for entry in below.entries {
                if !lexicon.entries.iter().any(|e| e.key == entry.key) {
                    lexicon.entries.push(entry);
                }
            }
        }
        Ok(lexicon)
    }

    /// Parses one file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Self, LexiconError> {
        let mut entries: Vec<Entry> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let problem = |problem: LineProblem| LexiconError::Line { path: file.to_path_buf(), line, problem };
            let Some((key, say)) = parse_line(raw).map_err(problem)? else { continue };
            if let Some(earlier) = entries.iter().find(|e| e.key == key) {
                return Err(problem(LineProblem::Duplicate { key, line: earlier.line }));
            }
            entries.push(Entry { key, say, file: file.to_path_buf(), line });
        }
        Ok(Self { entries })
    }

    /// The entries, those of the most important file first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The lexicon files that apply to a book, in order of precedence: `explicit` (`--lexicon`),
/// then `audiobook.lexicon` beside the first input (inside it, for a folder), then the one in the
/// user's config folder; the last two only where they exist.
pub fn files_for(explicit: Option<&Path>, first_input: Option<&Path>) -> Vec<PathBuf> {
    let beside = first_input.filter(|p| *p != Path::new("-")).map(|input| {
        let folder = if input.is_dir() { input } else { input.parent().unwrap_or(Path::new("")) };
        folder.join(FILE_NAME)
    });
    let found = [beside, user_file()].into_iter().flatten().filter(|p| p.is_file());
    explicit.map(Path::to_path_buf).into_iter().chain(found).collect()
}

/// `$XDG_CONFIG_HOME/audiobook/audiobook.lexicon`, or under `~/.config` (`%APPDATA%` on
/// Windows).
pub fn user_file() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join(FILE_NAME))
}

/// The user's config folder for audiobook.
pub fn config_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(windows) {
        var("APPDATA")
    } else {
        var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|home| home.join(".config")))
    };
    base.map(|b| b.join("audiobook"))
}

/// One line: `None` for a blank or comment line.
fn parse_line(raw: &str) -> Result<Option<(String, Pronunciation)>, LineProblem> {
    let line = strip_comment(raw).trim();
    if line.is_empty() {
        return Ok(None);
    }
    let (key, value) = if let Some((key, value)) = line.split_once('\t') {
        (key.trim(), value.trim())
    } else if let Some(open) = phonemes_start(line) {
        (line[..open].trim(), &line[open..])
    } else {
        match line.split_once(char::is_whitespace) {
            Some((key, value)) => (key, value.trim()),
            None => return Err(LineProblem::NoPronunciation(line.to_string())),
        }
    };
    let key = key.split_whitespace().collect::<Vec<_>>().join(" ");
    if key.is_empty() || !key.chars().any(char::is_alphanumeric) {
        return Err(LineProblem::NotAWord(key));
    }
    if let Some(c) = key.chars().find(|c| "[]()".contains(*c)) {
        return Err(LineProblem::KeyBracket { key, c });
    }
    let say = match value.strip_prefix('/').and_then(|v| v.strip_suffix('/')) {
        Some(phonemes) => {
            let phonemes = phonemes.split_whitespace().collect::<Vec<_>>().join(" ");
            check_phonemes(&phonemes)?;
            Pronunciation::Phonemes(phonemes)
        }
        None if value.starts_with('/') => return Err(LineProblem::Unclosed(value.to_string())),
        None => {
            if let Some(c) = value.chars().find(|c| "[]()".contains(*c)) {
                return Err(LineProblem::RespellingBracket { respelling: value.to_string(), c });
            }
            Pronunciation::Respelling(value.to_string())
        }
    };
    Ok(Some((key, say)))
}

/// A comment starts at a `#` that opens the line or follows a space (so `C#` is a word).
fn strip_comment(line: &str) -> &str {
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        if c == '#' && previous.is_whitespace() {
            return &line[..i];
        }
        previous = c;
    }
    line
}

/// Where a trailing `/phonemes/` value starts, if the line ends with one after a space.
fn phonemes_start(line: &str) -> Option<usize> {
    let body = line.strip_suffix('/')?;
    let open = body.rfind('/')?;
    line[..open].ends_with(char::is_whitespace).then_some(open)
}

/// Phonemes the model can say: every symbol in Kokoro's vocabulary (parentheses, which the
/// markup cannot carry, aside).
pub fn check_phonemes(phonemes: &str) -> Result<(), LineProblem> {
    if phonemes.is_empty() {
        return Err(LineProblem::EmptyPhonemes);
    }
    match phonemes.chars().find(|c| !vocab().contains_key(c) || matches!(c, '(' | ')')) {
        Some(c) => Err(LineProblem::NotAPhoneme { c, phonemes: phonemes.to_string() }),
        None => Ok(()),
    }
}

/// A lexicon ready to apply: every entry as phonemes, and one pattern finding them all.
#[derive(Debug, Clone)]
pub struct Marker {
    pattern: Regex,
    /// Keys that match only as written -> phonemes.
    exact: HashMap<String, String>,
    /// Keys that match in any case, in lowercase -> phonemes.
    any_case: HashMap<String, String>,
}

impl Marker {
    /// Builds the marker; `respell` gives the phonemes of a respelling (the G2P's reading of it).
    /// `None` for an empty lexicon. A respelling with no phonemes is an error on its line.
    pub fn new(lexicon: &Lexicon, respell: impl Fn(&str) -> String) -> Result<Option<Self>, LexiconError> {
        if lexicon.is_empty() {
            return Ok(None);
        }
        let (mut exact, mut any_case) = (HashMap::new(), HashMap::new());
        for entry in &lexicon.entries {
            let phonemes = match &entry.say {
                Pronunciation::Phonemes(p) => p.clone(),
                Pronunciation::Respelling(text) => {
                    let phonemes = respell(text);
                    let phonemes: String =
                        phonemes.chars().filter(|c| vocab().contains_key(c) && *c != '(' && *c != ')').collect();
                    let phonemes = phonemes.trim().to_string();
                    if !phonemes.chars().any(char::is_alphabetic) {
                        return Err(LexiconError::Line {
                            path: entry.file.clone(),
                            line: entry.line,
                            problem: LineProblem::Silent(text.to_string()),
                        });
                    }
                    phonemes
                }
            };
            if entry.any_case() {
                any_case.insert(entry.key.clone(), phonemes);
            } else {
                exact.insert(entry.key.clone(), phonemes);
            }
        }
        // Longest keys first, and at equal length the exact ones: the regex takes the first
        // alternative that matches at a place.
        let mut keys: Vec<&Entry> = lexicon.entries.iter().collect();
        keys.sort_by_key(|e| (std::cmp::Reverse(e.key.chars().count()), e.any_case()));
        let alternatives: Vec<String> = keys
            .iter()
            .map(|e| {
                let words: Vec<String> = e.key.split(' ').map(regex::escape).collect();
                let body = words.join(r"\s+");
                if e.any_case() { format!("(?i:{body})") } else { body }
            })
            .collect();
        let pattern = Regex::new(&alternatives.join("|")).map_err(|e| LexiconError::TooLarge(e.to_string()))?;
        Ok(Some(Self { pattern, exact, any_case }))
    }

    /// The phonemes for text the pattern matched.
    fn phonemes_of(&self, matched: &str) -> Option<&str> {
        let key = matched.split_whitespace().collect::<Vec<_>>().join(" ");
        self.exact.get(&key).or_else(|| self.any_case.get(&key.to_lowercase())).map(String::as_str)
    }

    /// `text` with every whole-word occurrence of a key wrapped as `[key](/phonemes/)`; the text
    /// itself when nothing matches.
    pub fn mark_up<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        let mut out = String::new();
        let (mut copied, mut from) = (0, 0);
        while let Some(found) = self.pattern.find_at(text, from) {
            let before = text[..found.start()].chars().next_back();
            let after = text[found.end()..].chars().next();
            let edge = |c: Option<char>, inner: Option<char>| {
                c.is_none_or(|c| !c.is_alphanumeric()) || inner.is_none_or(|i| !i.is_alphanumeric())
            };
            let whole_word =
                edge(before, found.as_str().chars().next()) && edge(after, found.as_str().chars().next_back());
            match self.phonemes_of(found.as_str()).filter(|_| whole_word) {
                Some(phonemes) => {
                    out.push_str(&text[copied..found.start()]);
                    out.push_str(&format!("[{}](/{phonemes}/)", found.as_str()));
                    copied = found.end();
                    from = found.end();
                }
                None => from = found.start() + text[found.start()..].chars().next().map_or(1, char::len_utf8),
            }
            if from >= text.len() {
                break;
            }
        }
        if copied == 0 {
            return text.into();
        }
        out.push_str(&text[copied..]);
        out.into()
    }
}

/// A word of the book the G2P does not know and guessed with its neural fallback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guess {
    /// As the book spells it (each spelling its own guess).
    pub word: String,
    /// How often the book says it.
    pub count: usize,
    /// The phonemes guessed for it.
    pub phonemes: String,
}

/// The words of a planned book that `g2p` guesses (see [`Phonemizer::guessed`]), most frequent
/// first, then in alphabetical order. Words the lexicon already reads are not guesses.
pub fn scan(plan: &BookPlan, g2p: &Phonemizer) -> Vec<Guess> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for token in plan.chapters.iter().flat_map(|c| &c.chunks).flat_map(|c| &c.tokens).filter(|t| t.is_word) {
        *counts.entry(token.text.as_str()).or_default() += 1;
    }
    let mut guesses: Vec<Guess> = counts
        .into_par_iter()
        .filter_map(|(word, count)| g2p.guessed(word).map(|phonemes| Guess { word: word.to_string(), count, phonemes }))
        .collect();
    guesses.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.word.cmp(&b.word)));
    guesses
}

/// A lexicon to start from: one line per guess, its phonemes to correct, its count as a comment.
pub fn starter(guesses: &[Guess], book: &str) -> String {
    let mut out = format!(
        "# Pronunciations for {book}, as the G2P guessed them: correct the phonemes, or replace them\n\
         # with a respelling, and delete the lines that sound right. (audiobook lexicon scan)\n"
    );
    let width = guesses.iter().map(|g| g.word.chars().count()).max().unwrap_or(0);
    for g in guesses.iter().filter(|g| !g.phonemes.is_empty()) {
        let pad = " ".repeat(width - g.word.chars().count());
        out += &format!("{}{pad}  /{}/  # {}\n", g.word, g.phonemes, g.count);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon(text: &str) -> Lexicon {
        Lexicon::parse(text, Path::new("test.lexicon")).unwrap()
    }

    fn marker(text: &str) -> Marker {
        Marker::new(&lexicon(text), str::to_string).unwrap().unwrap()
    }

    #[test]
    fn lines_are_phonemes_respellings_phrases_and_comments() {
        let lex = lexicon(
            "# names\n\nNguyen  /wˈɪn/  # the usual\nhermione her my oh nee\nNew York /nˌu jˈɔɹk/\nJean  Luc\tzhon luke\nC# /sˈi ʃˈɑɹp/\n",
        );
        let got: Vec<(&str, &Pronunciation, usize)> =
            lex.entries().iter().map(|e| (e.key.as_str(), &e.say, e.line)).collect();
        assert_eq!(
            got,
            [
                ("Nguyen", &Pronunciation::Phonemes("wˈɪn".into()), 3),
                ("hermione", &Pronunciation::Respelling("her my oh nee".into()), 4),
                ("New York", &Pronunciation::Phonemes("nˌu jˈɔɹk".into()), 5),
                ("Jean Luc", &Pronunciation::Respelling("zhon luke".into()), 6),
                ("C#", &Pronunciation::Phonemes("sˈi ʃˈɑɹp".into()), 7),
            ]
        );
    }

    #[test]
    fn a_symbol_outside_the_vocabulary_is_an_error_naming_file_and_line() {
        let err = Lexicon::parse("ok /ˈOk/\n\nNguyen /wˈɪn3/\n", Path::new("book/audiobook.lexicon")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "book/audiobook.lexicon:3: '3' (U+0033) in /wˈɪn3/ is not one of Kokoro's phoneme symbols"
        );
        for bad in ["word", "word /", "word /abc", "[x] /a/", "w //", "a x\na y"] {
            let err = Lexicon::parse(bad, Path::new("l")).unwrap_err();
            assert!(err.to_string().starts_with("l:"), "{bad}: {err}");
        }
        assert!(Lexicon::parse("a x\na y", Path::new("l")).unwrap_err().to_string().contains("already on line 1"));
    }

    #[test]
    fn lowercase_keys_match_any_case_and_capitalised_ones_only_as_written() {
        let m = marker("zorb /zˈɔɹb/\nMay /mˈA/\n");
        assert_eq!(m.mark_up("Zorb and ZORB, zorb."), "[Zorb](/zˈɔɹb/) and [ZORB](/zˈɔɹb/), [zorb](/zˈɔɹb/).");
        assert_eq!(m.mark_up("May may come."), "[May](/mˈA/) may come.");
        // Whole words only; a possessive keeps its 's.
        assert_eq!(m.mark_up("zorbs zorb's unzorb"), "zorbs [zorb](/zˈɔɹb/)'s unzorb");
        assert!(matches!(m.mark_up("nothing here"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn longer_keys_win_and_an_exact_key_beats_a_lowercase_one() {
        let m = marker("new york /nˌu jˈɔɹk/\nnew /nˈu/\nnguyen /ŋwˈɪn/\nNguyen /wˈɪn/\n");
        assert_eq!(m.mark_up("New  York is new"), "[New  York](/nˌu jˈɔɹk/) is [new](/nˈu/)");
        assert_eq!(m.mark_up("Nguyen, NGUYEN"), "[Nguyen](/wˈɪn/), [NGUYEN](/ŋwˈɪn/)");
    }

    #[test]
    fn the_first_file_wins_a_key_and_later_files_add_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (top, bottom) = (dir.path().join("top"), dir.path().join("bottom"));
        std::fs::write(&top, "zorb /zˈɔɹb/\n").unwrap();
        std::fs::write(&bottom, "zorb /zˈɔɹbi/\nquux /kwˈʊks/\n").unwrap();
        let lex = Lexicon::load(&[top.clone(), bottom.clone()]).unwrap();
        let got: Vec<(&str, &Path)> = lex.entries().iter().map(|e| (e.key.as_str(), e.file.as_path())).collect();
        assert_eq!(got, [("zorb", top.as_path()), ("quux", bottom.as_path())]);
        let missing = Lexicon::load(&[dir.path().join("nope")]).unwrap_err();
        assert!(missing.to_string().contains("nope: cannot read the lexicon"), "{missing}");
    }

    #[test]
    fn the_lexicon_beside_the_input_is_found_after_the_explicit_one() {
        let dir = tempfile::tempdir().unwrap();
        let book = dir.path().join("book.md");
        std::fs::write(&book, "# Hi").unwrap();
        assert!(!files_for(None, Some(&book)).contains(&dir.path().join(FILE_NAME)));
        std::fs::write(dir.path().join(FILE_NAME), "").unwrap();
        let files = files_for(Some(Path::new("mine.lexicon")), Some(&book));
        assert_eq!(files[..2], [PathBuf::from("mine.lexicon"), dir.path().join(FILE_NAME)]);
        assert_eq!(files_for(None, Some(dir.path()))[0], dir.path().join(FILE_NAME));
    }
}
