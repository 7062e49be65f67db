//! Words to phonemes to token ids: the G2P of each language (loqui-g2p, a Rust port of misaki,
//! the G2P Kokoro was trained with, for English; the `espeak-ng` executable with misaki's
//! mapping for Spanish, French, Hindi, Italian and Brazilian Portuguese, see [`espeak`]; a port of
//! misaki's Mandarin G2P for the z voices, see [`zh`]) and Kokoro's phoneme vocabulary.
//!
//! Takes a sentence of spoken text, gives one [`PhonemeWord`] per G2P token with its token ids, so
//! that a word's frames can be read off the model's durations later. Build one [`Phonemizer`] per
//! process and share it: it parses tens of megabytes of lexicon.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use loqui_g2p::{Dialect, G2p, OovFallback};

use crate::language::{self, BlockLanguage, Language};
use crate::lexicon::{Lexicon, LexiconError, Marker};

mod child;
pub mod espeak;
pub mod japanese;
mod memo;
pub mod zh;

use espeak::Espeak;
use japanese::Japanese;
use memo::GuessMemo;
use zh::Mandarin;

/// Kokoro's token id for a space between words (the model's vocabulary, so the engine's).
pub use crate::kokoro::SPACE_ID;

/// English sentences phonemized before the G2P starts remembering its guesses (see
/// [`Phonemizer::words`]): a few sentences do not pay for loading the memo.
pub const MEMO_AFTER_SENTENCES: usize = 64;

/// One G2P token: a word or a punctuation mark, with its ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonemeWord {
    /// The token's text as the G2P saw it.
    pub text: String,
    /// Its phonemes (symbols outside Kokoro's vocabulary already removed).
    pub phonemes: String,
    /// Token ids of `phonemes`, one per symbol.
    pub ids: Vec<i64>,
    /// Whether a space follows it (a space id is then spoken after it).
    pub space_after: bool,
}

impl PhonemeWord {
    /// Whether this token is a word a listener hears and a timing sidecar lists (not punctuation).
    pub fn is_word(&self) -> bool {
        self.text.chars().any(char::is_alphanumeric)
    }
}

/// Errors from setting up or running the G2P.
#[derive(Debug, thiserror::Error)]
pub enum PhonemizeError {
    #[error("the G2P could not start: {0}")]
    Init(String),
    #[error(transparent)]
    Lexicon(#[from] LexiconError),
    #[error(
        "{language} needs the program `espeak-ng`, which is not installed (it speaks Spanish, French, Hindi, \
         Italian and Brazilian Portuguese, the e*, f*, h*, i* and p* voices): install the package espeak-ng"
    )]
    EspeakMissing { language: &'static str },
    #[error("{0}")]
    Espeak(String),
    #[error(
        "Japanese (the j* voices) needs the program `mecab`, which is not installed: install the package mecab \
         (apt install mecab); `audiobook models fetch --language ja` fetches its dictionary"
    )]
    MecabMissing,
    #[error("{0}")]
    UnidicMissing(String),
    #[error("{0}")]
    Mecab(String),
}

/// The G2P of one language: loqui-g2p for English (with the user's lexicon applied before it),
/// the `espeak-ng` executable for Spanish, French, Hindi, Italian and Brazilian Portuguese, the
/// port of misaki's `ZHG2P` for Mandarin.
pub struct Phonemizer {
    language: Language,
    backend: Backend,
}

enum Backend {
    English(Box<English>),
    Espeak(Espeak),
    Mandarin(Box<Mandarin>),
    Japanese(Box<Japanese>),
}

struct English {
    g2p: G2p,
    lexicon: Option<Marker>,
    /// The same G2P spelling unknown words out, built on first use: where the two disagree on a
    /// word alone, the word went to the neural fallback (see [`Phonemizer::guessed`]).
    spelling: OnceLock<Option<G2p>>,
    /// The neural guesses remembered per word, loaded after [`MEMO_AFTER_SENTENCES`].
    memo: OnceLock<Option<GuessMemo>>,
    sentences: AtomicUsize,
}

impl English {
    fn spelling(&self) -> Option<&G2p> {
        self.spelling.get_or_init(|| G2p::new(self.g2p.dialect(), OovFallback::SpellOut).ok()).as_ref()
    }

    /// The memo, once enough sentences have come.
    fn memo(&self) -> Option<&GuessMemo> {
        if self.sentences.fetch_add(1, Ordering::Relaxed) < MEMO_AFTER_SENTENCES {
            return None;
        }
        self.memo.get_or_init(|| GuessMemo::new(&self.g2p)).as_ref()
    }

    fn words(&self, text: &str, remember: bool) -> Vec<PhonemeWord> {
        let text = match &self.lexicon {
            Some(marker) => marker.mark_up(text),
            None => text.into(),
        };
        let marked = match remember.then(|| self.memo()).flatten() {
            Some(memo) => match memo.mark_up(&text, &self.g2p) {
                Cow::Owned(marked) => Some(marked),
                Cow::Borrowed(_) => None,
            },
            None => None,
        };
        let text = marked.map_or(text, Cow::Owned);
        self.g2p
            .tokens(&text)
            .into_iter()
            .map(|t| {
                let ids = token_ids(&t.phonemes);
                let phonemes = t.phonemes.chars().filter(|c| vocab().contains_key(c)).collect();
                PhonemeWord { text: t.text, phonemes, ids, space_after: t.whitespace }
            })
            .collect()
    }
}

impl Phonemizer {
    /// Builds the English G2P for voices of `dialect` (about 0.3 s).
    pub fn new(dialect: Dialect) -> Result<Self, PhonemizeError> {
        Self::with_lexicon(dialect, &Lexicon::default())
    }

    /// Builds the English G2P for voices of `dialect`, reading the entries of `lexicon` as it
    /// says (its respellings are phonemized here, once).
    pub fn with_lexicon(dialect: Dialect, lexicon: &Lexicon) -> Result<Self, PhonemizeError> {
        let g2p = G2p::new(dialect, OovFallback::Neural).map_err(|e| PhonemizeError::Init(e.to_string()))?;
        let lexicon = Marker::new(lexicon, |respelling| g2p.phonemize(respelling))?;
        let language = if dialect == Dialect::British { Language::BritishEnglish } else { Language::AmericanEnglish };
        let english =
            English { g2p, lexicon, spelling: OnceLock::new(), memo: OnceLock::new(), sentences: AtomicUsize::new(0) };
        Ok(Self { language, backend: Backend::English(Box::new(english)) })
    }

    /// Builds the G2P of `language`; `lexicon` applies to English only. A language with no G2P
    /// in this build is an error naming the ones there are; a missing `espeak-ng` is an error
    /// naming the package.
    pub fn for_language(language: Language, lexicon: &Lexicon) -> Result<Self, PhonemizeError> {
        Self::for_language_in(language, lexicon, None)
    }

    /// [`Self::for_language`], with Japanese's dictionary in `japanese_dictionary` rather than
    /// in its default place ([`japanese::dictionary_dir`]).
    pub fn for_language_in(
        language: Language,
        lexicon: &Lexicon,
        japanese_dictionary: Option<&Path>,
    ) -> Result<Self, PhonemizeError> {
        if let Some(dialect) = language.dialect() {
            return Self::with_lexicon(dialect, lexicon);
        }
        if language == Language::Mandarin {
            return Ok(Self { language, backend: Backend::Mandarin(Box::new(Mandarin::new()?)) });
        }
        if language == Language::Japanese {
            let japanese = match japanese_dictionary {
                Some(dir) => Japanese::with_dictionary(dir.to_path_buf())?,
                None => Japanese::new()?,
            };
            return Ok(Self { language, backend: Backend::Japanese(Box::new(japanese)) });
        }
        match language.espeak_voice() {
            Some(voice) => Ok(Self { language, backend: Backend::Espeak(Espeak::new(voice, language.name())?) }),
            None => Err(PhonemizeError::Init(format!(
                "{} has no phonemizer in this build; it speaks {}",
                language.name(),
                Language::available()
            ))),
        }
    }

    /// The dialect a voice id implies: `a*` American, `b*` British.
    pub fn dialect_for_voice(voice: &str) -> Option<Dialect> {
        Dialect::for_kokoro_voice(voice)
    }

    /// The language it phonemizes.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Phonemizes one sentence of spoken text.
    ///
    /// English remembers the words its G2P guesses with the neural fallback, once it has
    /// phonemized [`MEMO_AFTER_SENTENCES`] sentences, and passes each guess back instead of
    /// guessing again: the words come out as [`Self::words_unremembered`] gives them, faster.
    pub fn words(&self, text: &str) -> Result<Vec<PhonemeWord>, PhonemizeError> {
        self.words_remembering(text, true)
    }

    /// Phonemizes one sentence as [`Self::words`] does, without the memo of guesses: the
    /// reference that the memo is checked against.
    pub fn words_unremembered(&self, text: &str) -> Result<Vec<PhonemeWord>, PhonemizeError> {
        self.words_remembering(text, false)
    }

    fn words_remembering(&self, text: &str, remember: bool) -> Result<Vec<PhonemeWord>, PhonemizeError> {
        match &self.backend {
            Backend::English(english) => Ok(english.words(text, remember)),
            Backend::Espeak(espeak) => espeak.phoneme_words(text),
            Backend::Mandarin(mandarin) => Ok(mandarin.phoneme_words(text)),
            Backend::Japanese(japanese) => japanese.phoneme_words(text),
        }
    }

    /// The phonemes the neural fallback guessed for `word` read alone, or `None` where the G2P
    /// knows it (from its dictionaries, morphology or number rules, or the user's lexicon), and
    /// for languages other than English, whose G2P does not guess. Costs two G2P runs of the
    /// word; the first call also builds a second G2P (about 0.3 s).
    pub fn guessed(&self, word: &str) -> Option<String> {
        let Backend::English(english) = &self.backend else { return None };
        let spelling = english.spelling()?;
        let marked = match &english.lexicon {
            Some(marker) => marker.mark_up(word),
            None => word.into(),
        };
        let neural = english.g2p.phonemize(&marked);
        (spelling.phonemize(&marked) != neural)
            .then(|| neural.chars().filter(|c| vocab().contains_key(c)).collect::<String>().trim().to_string())
    }
}

/// The G2Ps of one book: its own language's, and those of the other languages its blocks are
/// in (tagged, or written in a script of their own; see [`language::of_block`]), each built on
/// first need and then shared by every chapter. Where a block's language has no G2P, or its G2P
/// cannot start (no `espeak-ng`, say), the block is read in the book's language and
/// [`Self::warnings`] says so, once per language.
pub struct Phonemizers<'a> {
    book: &'a Phonemizer,
    /// For the other languages' G2Ps; `None` reads every block in the book's language.
    lexicon: Option<&'a Lexicon>,
    others: [OnceLock<Option<Phonemizer>>; Language::ALL.len()],
    warnings: Mutex<Vec<(String, String)>>,
    /// Where Japanese's dictionary is, if not in its default place.
    japanese_dictionary: Option<&'a Path>,
}

impl<'a> Phonemizers<'a> {
    /// Reads each block in its own language, building other languages' G2Ps with `lexicon`.
    pub fn new(book: &'a Phonemizer, lexicon: &'a Lexicon) -> Self {
        Self {
            book,
            lexicon: Some(lexicon),
            others: Default::default(),
            warnings: Mutex::default(),
            japanese_dictionary: None,
        }
    }

    /// Builds Japanese's G2P, if a block needs it, with the dictionary in `dir`.
    pub fn with_japanese_dictionary(self, dir: Option<&'a Path>) -> Self {
        Self { japanese_dictionary: dir, ..self }
    }

    /// Reads every block in `book`'s language (`--language` given).
    pub fn only(book: &'a Phonemizer) -> Self {
        Self { book, lexicon: None, others: Default::default(), warnings: Mutex::default(), japanese_dictionary: None }
    }

    /// The G2P for a block tagged `tag` (see [`crate::ingest::Block::language`]) saying `text`.
    pub fn for_block(&self, tag: Option<&str>, text: &str) -> &Phonemizer {
        if self.lexicon.is_none() {
            return self.book;
        }
        match language::of_block(tag, text, self.book.language()) {
            BlockLanguage::Book => self.book,
            BlockLanguage::Other(language) => self.other(language),
            BlockLanguage::Unsupported(name) => {
                let why = format!("this build cannot phonemize it; it speaks {}", Language::available());
                self.warn(&name, why);
                self.book
            }
        }
    }

    fn other(&self, language: Language) -> &Phonemizer {
        let slot = Language::ALL.iter().position(|l| *l == language).unwrap_or_default();
        let built = self.others[slot].get_or_init(|| {
            let built = Phonemizer::for_language_in(language, self.lexicon?, self.japanese_dictionary);
            built.map_err(|e| self.warn(language.name(), e.to_string())).ok()
        });
        built.as_ref().unwrap_or(self.book)
    }

    fn warn(&self, name: &str, why: String) {
        let mut warnings = self.warnings.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !warnings.iter().any(|(n, _)| n == name) {
            let message = format!("text in {name} is read in {}: {why}", self.book.language());
            warnings.push((name.to_string(), message));
        }
    }

    /// What was read in the book's language for want of its own G2P, one line per language, in
    /// the languages' order by name (chapters are planned in parallel, in no set order).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = self.warnings.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        warnings.sort();
        warnings.into_iter().map(|(_, message)| message).collect()
    }
}

/// Kokoro's vocabulary: phoneme symbol -> token id (114 symbols, id 0 is the pad).
pub fn vocab() -> &'static HashMap<char, i64> {
    static VOCAB: OnceLock<HashMap<char, i64>> = OnceLock::new();
    VOCAB.get_or_init(|| {
        let table: HashMap<String, i64> = serde_json::from_str(include_str!("kokoro/vocab.json")).unwrap_or_default();
        table.into_iter().filter_map(|(symbol, id)| Some((symbol.chars().next()?, id))).collect()
    })
}

/// Token ids for a phoneme string; symbols outside the vocabulary are dropped, as Kokoro does.
pub fn token_ids(phonemes: &str) -> Vec<i64> {
    let vocab = vocab();
    phonemes.chars().filter_map(|c| vocab.get(&c).copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_has_114_symbols_and_maps_the_reference_sentence() {
        assert_eq!(vocab().len(), 114);
        let phonemes = include_str!("../tests/data/reference_phonemes.txt").trim();
        let ids = token_ids(phonemes);
        let expected: Vec<Vec<i64>> = serde_json::from_str(include_str!("../tests/data/reference_ids.json")).unwrap();
        assert_eq!(ids, expected[0][1..expected[0].len() - 1]);
    }

    /// Issue 9 point 7: a remembered guess is passed back to the G2P, and the words come out as
    /// without the memo, beside punctuation, possessives, hyphens, capitals and numbers.
    #[test]
    fn issue_9_remembered_guesses_change_no_word() {
        let g2p = Phonemizer::new(Dialect::American).unwrap();
        let Backend::English(english) = &g2p.backend else { unreachable!() };
        english.sentences.store(MEMO_AFTER_SENTENCES, Ordering::Relaxed);
        let sentences = [
            "Queequeg was a native of Kokovoko, an island far away to the West and South.",
            "Queequeg, said I, to Queequeg's harpoon and Ahab's leg: Queequeg!",
            "\"Queequeg\" (Queequeg) Queequeg; Queequeg\u{2014}and QUEEQUEG, queequeg and Queequeg-like Queequegs.",
            "I gave Queequeg 3 dollars, then $5 to Queequeg, at 9:30 with Queequeg.",
            "Ahab and Starbuck and Stubb and Flask and Tashtego to Tashtego, the Tashtego.",
            "Ahab's Ahab Ahab, Ahab. To Ahab, to Ahab's to Ahabs to Ahab the Ahab an Ahab.",
        ];
        for _ in 0..2 {
            for sentence in sentences {
                let remembered = g2p.words(sentence).unwrap();
                let plain = g2p.words_unremembered(sentence).unwrap();
                assert_eq!(remembered, plain, "{sentence}");
            }
        }
        let memo = english.memo.get().unwrap().as_ref().unwrap();
        for word in ["Queequeg", "Ahab", "Tashtego"] {
            assert!(memo.guess_of(word).is_some(), "{word} is remembered as guessed");
        }
        for word in ["native", "island", "West"] {
            assert_eq!(memo.guess_of(word), None, "{word} is known");
        }
    }

    #[test]
    fn unknown_symbols_are_dropped() {
        assert_eq!(token_ids("a❓b"), vec![43, 44]);
        assert_eq!(token_ids(" "), vec![SPACE_ID]);
    }
}
