//! Which language a book or text is read in, and whether this build can speak it.
//!
//! The language picks the G2P; the voice picks only the timbre. It comes from `--language`,
//! else the book's `dc:language` (or front matter), else detection (the script, then whatlang
//! among the languages with a G2P), else the voice's first letter. A language with no G2P
//! (German, say) is refused by name, with the list of those there are.
//!
//! English prose is about a quarter function words ("the", "and", "of"...); other languages
//! written in Latin letters share few of them, which tells translations apart in a docs tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use loqui_g2p::Dialect;

use crate::ingest::{Block, Book, Chapter};

/// A language Kokoro's voices are trained on, by the first letter of their ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum Language {
    #[default]
    AmericanEnglish,
    BritishEnglish,
    Spanish,
    French,
    Hindi,
    Italian,
    BrazilianPortuguese,
    Japanese,
    Mandarin,
}

impl Language {
    /// Every language, in voice-letter order.
    pub const ALL: [Language; 9] = [
        Self::AmericanEnglish,
        Self::BritishEnglish,
        Self::Spanish,
        Self::French,
        Self::Hindi,
        Self::Italian,
        Self::BrazilianPortuguese,
        Self::Japanese,
        Self::Mandarin,
    ];

    /// The first letter of its voices' ids.
    pub fn code(self) -> char {
        match self {
            Self::AmericanEnglish => 'a',
            Self::BritishEnglish => 'b',
            Self::Spanish => 'e',
            Self::French => 'f',
            Self::Hindi => 'h',
            Self::Italian => 'i',
            Self::BrazilianPortuguese => 'p',
            Self::Japanese => 'j',
            Self::Mandarin => 'z',
        }
    }

    /// Its name in English.
    pub fn name(self) -> &'static str {
        match self {
            Self::AmericanEnglish => "American English",
            Self::BritishEnglish => "British English",
            Self::Spanish => "Spanish",
            Self::French => "French",
            Self::Hindi => "Hindi",
            Self::Italian => "Italian",
            Self::BrazilianPortuguese => "Brazilian Portuguese",
            Self::Japanese => "Japanese",
            Self::Mandarin => "Mandarin Chinese",
        }
    }

    /// Its BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Self::AmericanEnglish => "en-US",
            Self::BritishEnglish => "en-GB",
            Self::Spanish => "es",
            Self::French => "fr",
            Self::Hindi => "hi",
            Self::Italian => "it",
            Self::BrazilianPortuguese => "pt-BR",
            Self::Japanese => "ja",
            Self::Mandarin => "zh",
        }
    }

    /// The language of a voice id (`ef_dora` is Spanish).
    pub fn of_voice(voice: &str) -> Option<Self> {
        let code = voice.chars().next()?;
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The English dialect, for English.
    pub fn dialect(self) -> Option<Dialect> {
        match self {
            Self::AmericanEnglish => Some(Dialect::American),
            Self::BritishEnglish => Some(Dialect::British),
            _ => None,
        }
    }

    /// Whether it is English (either dialect).
    pub fn is_english(self) -> bool {
        self.dialect().is_some()
    }

    /// The `espeak-ng` voice that phonemizes it, as upstream misaki chooses.
    pub fn espeak_voice(self) -> Option<&'static str> {
        match self {
            Self::Spanish => Some("es"),
            Self::French => Some("fr-fr"),
            Self::Hindi => Some("hi"),
            Self::Italian => Some("it"),
            Self::BrazilianPortuguese => Some("pt-br"),
            _ => None,
        }
    }

    /// Whether this build has a G2P for it.
    pub fn is_speakable(self) -> bool {
        self.is_english() || self.espeak_voice().is_some() || matches!(self, Self::Mandarin | Self::Japanese)
    }

    /// The languages this build speaks, for messages: "American English (a), ...".
    pub fn available() -> String {
        let names: Vec<String> = Self::ALL
            .into_iter()
            .filter(|l| l.is_speakable())
            .map(|l| format!("{} ({}, {})", l.name(), l.tag(), l.code()))
            .collect();
        names.join(", ")
    }

    /// A language as a user or a book writes it: a BCP 47 tag (`es`, `pt-BR`, `en-GB`), a
    /// voice letter (`e`) or an English name (`spanish`). `Err` names the language for the
    /// message when the tag is one Kokoro has no voices for (`de` is German).
    pub fn parse(text: &str) -> Result<Self, NoVoices> {
        let lower = text.trim().to_ascii_lowercase().replace('_', "-");
        if lower.chars().count() == 1
            && let Some(language) = Self::ALL.into_iter().find(|l| lower.starts_with(l.code()))
        {
            return Ok(language);
        }
        if let Some(language) = Self::ALL.into_iter().find(|l| l.name().to_ascii_lowercase() == lower) {
            return Ok(language);
        }
        let mut parts = lower.split('-');
        let primary = parts.next().unwrap_or_default();
        let region: Vec<&str> = parts.collect();
        let found = match primary {
            "en" | "eng" | "english" => {
                if region.iter().any(|r| matches!(*r, "gb" | "uk" | "au" | "nz" | "ie" | "za" | "in")) {
                    Self::BritishEnglish
                } else {
                    Self::AmericanEnglish
                }
            }
            "es" | "spa" | "spanish" => Self::Spanish,
            "fr" | "fra" | "fre" | "french" => Self::French,
            "hi" | "hin" | "hindi" => Self::Hindi,
            "it" | "ita" | "italian" => Self::Italian,
            "pt" | "por" | "portuguese" => Self::BrazilianPortuguese,
            "ja" | "jpn" | "japanese" => Self::Japanese,
            "zh" | "zho" | "chi" | "cmn" | "chinese" | "mandarin" => Self::Mandarin,
            _ => {
                let name = language_name(primary).map_or_else(|| text.trim().to_string(), str::to_string);
                return Err(NoVoices { name });
            }
        };
        Ok(found)
    }
}

/// A language Kokoro has no voices for, by its English name (or the tag as written, when the
/// name is not known here).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} has no Kokoro voices")]
pub struct NoVoices {
    pub name: String,
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The language a block of a book is read in, as [`of_block`] decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockLanguage {
    /// The book's.
    Book,
    /// Another language this build speaks.
    Other(Language),
    /// A language this build cannot speak, by name (or by its tag, when the name is unknown): the
    /// block is read in the book's language, and the user is told.
    Unsupported(String),
}

/// The language a block of a book read in `book` is read in: the block's `tag` (its own or an
/// enclosing element's `xml:lang`, or its file's front matter) when it names one, else the
/// book's. A block written mostly in a script of its own (Devanagari, kana, Han) is read in that
/// script's language when it is untagged or tagged with a language written in Latin letters
/// (a whole book's `<html lang="en">` says nothing of a Japanese quotation in it); kanji alone
/// stay Japanese in a Japanese book. Latin text is never detected block by block: a paragraph is
/// too little for whatlang, and a misdetection would mispronounce it.
pub fn of_block(tag: Option<&str>, text: &str, book: Language) -> BlockLanguage {
    let tagged = match tag.map(str::trim).filter(|t| !is_no_language(t)) {
        Some(tag) => match Language::parse(tag) {
            Ok(language) if language.is_speakable() => Some(language),
            Ok(language) => return BlockLanguage::Unsupported(language.name().into()),
            Err(NoVoices { name }) => return BlockLanguage::Unsupported(name),
        },
        None => None,
    };
    let script = ScriptCounts::of(text).majority_language();
    let language = match (tagged, script) {
        (Some(tagged), Some(_)) if !is_written_in_latin(tagged) => tagged,
        (_, Some(Language::Mandarin)) if tagged.unwrap_or(book) == Language::Japanese => Language::Japanese,
        (_, Some(script)) => script,
        (Some(tagged), None) => tagged,
        (None, None) => return BlockLanguage::Book,
    };
    match english_dialect(language, book) {
        language if language == book => BlockLanguage::Book,
        language => BlockLanguage::Other(language),
    }
}

/// BCP 47's tags for "undetermined", "several" and "no linguistic content".
fn is_no_language(tag: &str) -> bool {
    tag.is_empty() || ["und", "mul", "zxx"].iter().any(|t| tag.eq_ignore_ascii_case(t))
}

/// Whether a language is written in Latin letters (so a text in another script is not in it).
fn is_written_in_latin(language: Language) -> bool {
    !matches!(language, Language::Hindi | Language::Japanese | Language::Mandarin)
}

/// Letters of a text by script.
#[derive(Debug, Default, Clone, Copy)]
struct ScriptCounts {
    latin: usize,
    devanagari: usize,
    kana: usize,
    han: usize,
    other: usize,
}

impl ScriptCounts {
    fn of(text: &str) -> Self {
        let mut counts = Self::default();
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            let slot = match c {
                c if c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&c) => &mut counts.latin,
                '\u{0900}'..='\u{097F}' => &mut counts.devanagari,
                '\u{3040}'..='\u{30FF}' => &mut counts.kana,
                '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' => &mut counts.han,
                _ => &mut counts.other,
            };
            *slot += 1;
        }
        counts
    }

    fn letters(self) -> usize {
        self.latin + self.devanagari + self.kana + self.han + self.other
    }

    /// The language of the letters not Latin, when most of them are in a script of its own:
    /// Devanagari is Hindi, kana (with or without kanji) Japanese, Han alone Chinese.
    fn own_script_language(self) -> Option<Language> {
        let non_latin = self.letters() - self.latin;
        if self.devanagari * 2 > non_latin {
            Some(Language::Hindi)
        } else if self.kana > 0 && self.kana + self.han > non_latin / 2 {
            Some(Language::Japanese)
        } else if self.han * 2 > non_latin {
            Some(Language::Mandarin)
        } else {
            None
        }
    }

    /// [`Self::own_script_language`], when most of all the letters are in that script.
    fn majority_language(self) -> Option<Language> {
        let non_latin = self.letters() - self.latin;
        if non_latin * 2 <= self.letters() {
            return None;
        }
        self.own_script_language()
    }
}

/// English names of a few common languages Kokoro has no voices for, for messages.
fn language_name(primary: &str) -> Option<&'static str> {
    Some(match primary {
        "de" | "deu" | "ger" | "german" => "German",
        "nl" | "nld" | "dut" => "Dutch",
        "ru" | "rus" => "Russian",
        "pl" | "pol" => "Polish",
        "sv" | "swe" => "Swedish",
        "da" | "dan" => "Danish",
        "nb" | "no" | "nn" | "nor" => "Norwegian",
        "fi" | "fin" => "Finnish",
        "cs" | "ces" | "cze" => "Czech",
        "el" | "ell" | "gre" => "Greek",
        "tr" | "tur" => "Turkish",
        "ar" | "ara" => "Arabic",
        "he" | "heb" => "Hebrew",
        "ko" | "kor" => "Korean",
        "uk" | "ukr" => "Ukrainian",
        "la" | "lat" => "Latin",
        "grc" => "Ancient Greek",
        "sa" | "san" => "Sanskrit",
        "ca" | "cat" => "Catalan",
        _ => return None,
    })
}

/// A book or text this build cannot speak.
#[derive(Debug, thiserror::Error)]
pub enum LanguageError {
    #[error(
        "{}: the book's language is '{language}', which this build cannot phonemize; it speaks {}",
        path.display(),
        Language::available()
    )]
    Stated { path: PathBuf, language: String },
    #[error(
        "{}: the text reads as {language}, which this build cannot phonemize; it speaks {}",
        path.display(),
        Language::available()
    )]
    Detected { path: PathBuf, language: String },
    #[error("--language '{given}' is {name}, which this build cannot phonemize; it speaks {}", Language::available())]
    Unsupported { given: String, name: String },
}

/// Chooses the language of a book: `chosen` (from `--language`), else the book's stated
/// language, else detection, else `voice_language`. With `any_language`, a language with no G2P
/// falls back to the voice's instead of being refused. In a docs tree (several files, no stated
/// language) read in English, the files that do not read as English are left out and returned,
/// since they are likely translations. `first_input` names the book in errors.
pub fn choose_for_book(
    book: &mut Book,
    first_input: &Path,
    chosen: Option<Language>,
    voice_language: Language,
    any_language: bool,
) -> Result<(Language, Vec<PathBuf>), LanguageError> {
    let language = resolve_book(book, first_input, chosen, voice_language, any_language)?;
    let mut left_out = Vec::new();
    if language.is_english()
        && chosen.is_none()
        && book.meta.language.is_none()
        && !any_language
        && book.chapters.len() > 1
    {
        let file_of = |chapter: &Chapter| chapter.blocks.first().map(|b| b.source.file.clone());
        let files: BTreeSet<PathBuf> = book.chapters.iter().filter_map(file_of).collect();
        // Only a tree of several files can hold a translation; one file is judged whole, above.
        let files = if files.len() > 1 { files } else { BTreeSet::new() };
        for file in files {
            let chapters = book.chapters.iter().filter(|c| file_of(c).as_ref() == Some(&file));
            if blocks_look_english(chapters.flat_map(|c| &c.blocks)) == Some(false) {
                left_out.push(file);
            }
        }
        book.chapters.retain(|c| file_of(c).is_none_or(|f| !left_out.contains(&f)));
    }
    Ok((language, left_out))
}

/// The language of a book, as [`choose_for_book`] chooses it, without leaving anything out.
pub fn resolve_book(
    book: &Book,
    first_input: &Path,
    chosen: Option<Language>,
    voice_language: Language,
    any_language: bool,
) -> Result<Language, LanguageError> {
    let path = first_input.to_path_buf();
    let with_dialect = |language: Language| english_dialect(language, voice_language);
    if let Some(language) = chosen {
        return Ok(with_dialect(language));
    }
    if let Some(stated) = book.meta.language.as_deref().or_else(|| shared_block_tag(book)) {
        return match Language::parse(stated) {
            Ok(language) if language.is_speakable() => Ok(with_dialect(language)),
            _ if any_language => Ok(voice_language),
            _ => Err(LanguageError::Stated { path, language: stated.to_string() }),
        };
    }
    let texts = || book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str());
    match detect(texts()) {
        Detection::Language(language) if language.is_speakable() => Ok(with_dialect(language)),
        Detection::Unknown => Ok(voice_language),
        _ if any_language => Ok(voice_language),
        Detection::Language(language) => Err(LanguageError::Detected { path, language: language.name().into() }),
        Detection::Unsupported(name) => Err(LanguageError::Detected { path, language: name }),
    }
}

/// The tag every block of `book` carries, where they all carry the same one (a Markdown file's
/// front matter `lang:`, or a tree whose files all say the same): the book states its language
/// as surely as an EPUB's `dc:language` does.
fn shared_block_tag(book: &Book) -> Option<&str> {
    let mut tags = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.language.as_deref());
    let first = tags.next()??;
    tags.all(|t| t == Some(first)).then_some(first)
}

/// Chooses the language of a text with no metadata (`say`, the server): `chosen`, else
/// detection when it is sure, else the voice's.
pub fn choose_for_text(text: &str, chosen: Option<Language>, voice_language: Language) -> Language {
    if let Some(language) = chosen {
        return english_dialect(language, voice_language);
    }
    // A few Latin words are no evidence against the voice's language ("Hola" is a name too).
    let latin_words = text.split_whitespace().filter(|w| w.chars().any(|c| c.is_ascii_alphabetic())).count();
    match detect(std::iter::once(text)) {
        // Kanji alone read as Chinese, but they are Japanese too: a j voice keeps them.
        Detection::Language(Language::Mandarin) if voice_language == Language::Japanese => voice_language,
        // A script of its own (Devanagari, kana, Han) is evidence however short the text.
        Detection::Language(language @ (Language::Hindi | Language::Japanese | Language::Mandarin))
            if language.is_speakable() =>
        {
            language
        }
        Detection::Language(_) if latin_words < MIN_TEXT_WORDS => voice_language,
        Detection::Language(language) if language.is_speakable() => english_dialect(language, voice_language),
        Detection::Language(_) => voice_language,
        Detection::Unknown | Detection::Unsupported(_) => voice_language,
    }
}

/// Latin-letter words a text needs before detection may overrule the voice's language.
const MIN_TEXT_WORDS: usize = 12;

/// English read by an English voice keeps the voice's dialect.
fn english_dialect(language: Language, voice_language: Language) -> Language {
    if language.is_english() && voice_language.is_english() { voice_language } else { language }
}

/// What detection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// A language with a G2P (English comes back American; the voice picks the dialect).
    Language(Language),
    /// A language with none, by name.
    Unsupported(String),
    /// Too little text, or no sure answer.
    Unknown,
}

/// Detects the language of some text: the script first (Devanagari is Hindi, kana Japanese,
/// Han Chinese, other non-Latin scripts unsupported), then, for Latin letters, English by its
/// function words, else whatlang among Spanish, French, Italian and Portuguese (a sure answer
/// for another language, German say, is unsupported).
pub fn detect<'a>(texts: impl Iterator<Item = &'a str> + Clone) -> Detection {
    let sample: String = {
        let mut sample = String::new();
        for text in texts.clone() {
            if sample.len() > 20_000 {
                break;
            }
            sample.push_str(text);
            sample.push('\n');
        }
        sample
    };
    let counts = ScriptCounts::of(&sample);
    let letters = counts.letters();
    if letters == 0 {
        return Detection::Unknown;
    }
    let non_latin = letters - counts.latin;
    if non_latin > 50 && non_latin > counts.latin || non_latin > letters / 2 {
        if let Some(language) = counts.own_script_language() {
            return Detection::Language(language);
        }
        let script = whatlang::detect_script(&sample).map_or("another script".to_string(), |s| s.name().to_string());
        return Detection::Unsupported(format!("{script} text"));
    }
    if looks_english_text(texts) == Some(true) {
        return Detection::Language(Language::AmericanEnglish);
    }
    let Some(info) = whatlang::detect(&sample) else { return Detection::Unknown };
    let latin = |lang: whatlang::Lang| match lang {
        whatlang::Lang::Eng => Some(Language::AmericanEnglish),
        whatlang::Lang::Spa => Some(Language::Spanish),
        whatlang::Lang::Fra => Some(Language::French),
        whatlang::Lang::Ita => Some(Language::Italian),
        whatlang::Lang::Por => Some(Language::BrazilianPortuguese),
        _ => None,
    };
    match latin(info.lang()) {
        Some(language) if info.is_reliable() => Detection::Language(language),
        Some(_) => Detection::Unknown,
        None if info.is_reliable() => Detection::Unsupported(info.lang().eng_name().to_string()),
        None => {
            let allowed = vec![
                whatlang::Lang::Eng,
                whatlang::Lang::Spa,
                whatlang::Lang::Fra,
                whatlang::Lang::Ita,
                whatlang::Lang::Por,
            ];
            let detector = whatlang::Detector::with_allowlist(allowed);
            match detector.detect(&sample) {
                Some(info) if info.is_reliable() => latin(info.lang()).map_or(Detection::Unknown, Detection::Language),
                _ => Detection::Unknown,
            }
        }
    }
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

    #[test]
    fn tags_letters_and_names_parse_and_unknown_languages_are_named() {
        assert_eq!(Language::parse("es-MX"), Ok(Language::Spanish));
        assert_eq!(Language::parse("pt-BR"), Ok(Language::BrazilianPortuguese));
        assert_eq!(Language::parse("en-GB"), Ok(Language::BritishEnglish));
        assert_eq!(Language::parse("en"), Ok(Language::AmericanEnglish));
        assert_eq!(Language::parse("f"), Ok(Language::French));
        assert_eq!(Language::parse("Italian"), Ok(Language::Italian));
        assert_eq!(Language::parse("de-DE"), Err(NoVoices { name: "German".to_string() }));
        assert!(Language::Japanese.is_speakable() && Language::Hindi.is_speakable());
        assert!(Language::Mandarin.is_speakable());
        assert_eq!(Language::parse("zh-CN"), Ok(Language::Mandarin));
        assert_eq!(Language::of_voice("ef_dora"), Some(Language::Spanish));
    }

    #[test]
    fn detection_reads_the_script_then_the_words() {
        let spanish = text("El niño jugaba en el jardín mientras su madre preparaba la comida para todos. ", 20);
        assert_eq!(detect(spanish.iter().map(String::as_str)), Detection::Language(Language::Spanish));
        let french = text("Les enfants jouaient dans le jardin pendant que leurs parents parlaient. ", 20);
        assert_eq!(detect(french.iter().map(String::as_str)), Detection::Language(Language::French));
        let chinese = text("我们今天去银行取钱，然后一起吃午饭。", 5);
        assert_eq!(detect(chinese.iter().map(String::as_str)), Detection::Language(Language::Mandarin));
        let hindi = text("भारत एक विशाल देश है, जिसमें कई भाषाएँ बोली जाती हैं। ", 10);
        assert_eq!(detect(hindi.iter().map(String::as_str)), Detection::Language(Language::Hindi));
        let german = text("Als Gregor Samsa eines Morgens aus unruhigen Träumen erwachte, fand er sich. ", 30);
        assert_eq!(detect(german.iter().map(String::as_str)), Detection::Unsupported("German".into()));
        let english = text("The keeper wrote that the wind had reached the rocks and it was cold. ", 30);
        assert_eq!(detect(english.iter().map(String::as_str)), Detection::Language(Language::AmericanEnglish));
    }

    #[test]
    fn a_block_is_read_in_its_tag_else_its_script_else_the_books_language() {
        use BlockLanguage::{Book, Other, Unsupported};
        let en = Language::AmericanEnglish;
        assert_eq!(of_block(Some("es"), "Hola, amigo.", en), Other(Language::Spanish));
        assert_eq!(of_block(Some("fr-CA"), "Bonjour.", en), Other(Language::French));
        assert_eq!(of_block(Some("en-US"), "Hello.", en), Book);
        assert_eq!(of_block(Some("en-GB"), "Hello.", en), Book, "an English book keeps its voice's dialect");
        assert_eq!(of_block(Some("en"), "Hello.", Language::Spanish), Other(Language::AmericanEnglish));
        assert_eq!(of_block(Some("de"), "Hallo, Welt.", en), Unsupported("German".into()));
        assert_eq!(of_block(Some("sa"), "Datta. Dayadhvam.", en), Unsupported("Sanskrit".into()));
        assert_eq!(of_block(Some("und"), "Words.", Language::Spanish), Book);
        assert_eq!(of_block(None, "Hola, amigo, ¿qué tal estás hoy?", en), Book, "Latin text is never detected");
        assert_eq!(of_block(None, "The 東京 office.", en), Book, "a few letters of another script");
        assert_eq!(of_block(None, "こんにちは、世界。", en), Other(Language::Japanese));
        assert_eq!(of_block(None, "你好，世界。", en), Other(Language::Mandarin));
        assert_eq!(of_block(Some("en"), "你好，世界。", en), Other(Language::Mandarin), "a Latin-letter tag");
        assert_eq!(of_block(None, "東京", Language::Japanese), Book, "kanji alone stay Japanese");
        assert_eq!(of_block(Some("ja"), "東京", en), Other(Language::Japanese));
        assert_eq!(of_block(None, "नमस्ते, आप कैसे हैं?", en), Other(Language::Hindi));
    }

    #[test]
    fn a_short_text_keeps_the_voices_language_and_english_keeps_its_dialect() {
        assert_eq!(choose_for_text("Hola", None, Language::BritishEnglish), Language::BritishEnglish);
        assert_eq!(choose_for_text("The quick brown fox.", None, Language::Spanish), Language::Spanish);
        assert_eq!(
            choose_for_text("Hello", Some(Language::AmericanEnglish), Language::BritishEnglish),
            Language::BritishEnglish
        );
        assert_eq!(choose_for_text("Hola", Some(Language::Spanish), Language::BritishEnglish), Language::Spanish);
        assert_eq!(choose_for_text("नमस्ते, आप कैसे हैं?", None, Language::AmericanEnglish), Language::Hindi);
        assert_eq!(choose_for_text("你好，世界。", None, Language::AmericanEnglish), Language::Mandarin);
        assert_eq!(choose_for_text("こんにちは、世界。", None, Language::Mandarin), Language::Japanese);
        assert_eq!(choose_for_text("こんにちは、元気ですか？", None, Language::AmericanEnglish), Language::Japanese);
        assert_eq!(
            choose_for_text("東京", None, Language::Japanese),
            Language::Japanese,
            "kanji alone keeps a j voice"
        );
    }
}
