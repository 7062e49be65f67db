//! Stage 2, script: text as it should be spoken, split into sentences, with a map back to the
//! text it came from.
//!
//! Takes a block's text, gives [`Spoken`] text (NFC; quotes, dashes and ellipses as the G2P
//! expects them; abbreviations expanded so they neither end sentences nor get spelled; URLs and
//! e-mail addresses read as their names, never letter by letter; note markers dropped; long
//! tokens such as checksums, UUIDs and 200-character identifiers read as [`LongTokens`] says) and
//! the sentence ranges within it. Every spoken byte range maps back to a range of the NFC source
//! text, so word timings can point at the book's own words.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::language::Language;

mod long_tokens;

pub use long_tokens::{LongToken, LongTokenKind, LongTokens};

/// How the script reads what is not plain prose. The default is what a listener wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptOptions {
    /// Checksums, UUIDs, encoded data, giant numbers and boundless words.
    pub long_tokens: LongTokens,
    /// The language read: English abbreviations are spelled out in English only; other
    /// languages keep theirs for the G2P (espeak-ng reads "Sr." as "señor") and only make sure
    /// they end no sentence.
    pub language: Language,
}

/// Spoken text and how it maps back to its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spoken {
    /// What is read aloud.
    pub text: String,
    /// The NFC source text the offsets in `pieces` refer to.
    pub source: String,
    pieces: Vec<Piece>,
    long_tokens: Vec<LongToken>,
}

/// A run of spoken text that is either a verbatim copy of source text or a replacement for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    spoken: Range<usize>,
    source: Range<usize>,
    verbatim: bool,
}

impl Spoken {
    /// The source byte range a spoken byte range came from. Inside verbatim text the map is
    /// exact; a range touching a replacement ("Doctor" for "Dr.") widens to the whole original.
    pub fn source_range(&self, spoken: Range<usize>) -> Range<usize> {
        if self.pieces.is_empty() {
            return 0..0;
        }
        let find = |at: usize| {
            let i = self.pieces.partition_point(|p| p.spoken.end <= at);
            &self.pieces[i.min(self.pieces.len() - 1)]
        };
        let first = find(spoken.start);
        let last = find(spoken.end.saturating_sub(1).max(spoken.start));
        let start = if first.verbatim {
            first.source.start + (spoken.start - first.spoken.start).min(first.source.len())
        } else {
            first.source.start
        };
        let end = if last.verbatim {
            last.source.start + (spoken.end.max(last.spoken.start) - last.spoken.start).min(last.source.len())
        } else {
            last.source.end
        };
        start..end.max(start)
    }

    /// The source text a spoken range came from.
    pub fn source_text(&self, spoken: Range<usize>) -> &str {
        let range = self.source_range(spoken);
        self.source.get(range).unwrap_or("")
    }

    /// Opaque tokens of the source read other than as written (announced, spelled or left out),
    /// in order, so the user can be told.
    pub fn long_tokens(&self) -> &[LongToken] {
        &self.long_tokens
    }
}

/// Builds spoken text piece by piece.
#[derive(Default)]
struct Builder {
    text: String,
    pieces: Vec<Piece>,
}

impl Builder {
    fn push(&mut self, source: Range<usize>, spoken: &str, verbatim: bool) {
        let start = self.text.len();
        self.text.push_str(spoken);
        let range = start..self.text.len();
        match self.pieces.last_mut() {
            Some(last) if verbatim && last.verbatim && last.source.end == source.start => {
                last.spoken.end = range.end;
                last.source.end = source.end;
            }
            _ => self.pieces.push(Piece { spoken: range, source, verbatim }),
        }
    }
}

/// Makes text ready for the G2P with the default options: see the module documentation.
pub fn for_listening(text: &str) -> Spoken {
    for_listening_with(text, &ScriptOptions::default())
}

/// Makes text ready for the G2P: see the module documentation for what changes.
pub fn for_listening_with(text: &str, options: &ScriptOptions) -> Spoken {
    let source: String = text.nfc().collect();
    let mut out = Builder::default();
    let mut at = 0;
    let mut opaque = Vec::new();
    let english = options.language.is_english();
    for found in long_tokens::find(&source, options.long_tokens) {
        push_prose(&mut out, &source, at..found.range.start, english);
        for segment in found.segments {
            out.push(segment.source, &segment.spoken, segment.verbatim);
        }
        opaque.extend(found.opaque);
        at = found.range.end;
    }
    push_prose(&mut out, &source, at..source.len(), english);
    let mut spoken = tidy_spaces(out, source);
    spoken.long_tokens = opaque;
    spoken
}

/// Copies `range` of the source, replacing what [`patterns`] finds in it (in words of English
/// only for `english`).
fn push_prose(out: &mut Builder, source: &str, range: Range<usize>, english: bool) {
    let mut at = range.start;
    for m in patterns().find_iter(&source[range.clone()]) {
        let matched = range.start + m.start()..range.start + m.end();
        push_chars(out, source, at..matched.start);
        let replacement = replace_match(source, matched.clone(), english);
        at = matched.end;
        out.push(matched, &replacement, false);
    }
    push_chars(out, source, at..range.end);
}

/// URLs, e-mail addresses, abbreviations, note markers and runs of dots or hyphens, in one regex.
fn patterns() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let abbreviations = ABBREVIATIONS.iter().map(|(a, _)| regex::escape(a)).collect::<Vec<_>>().join("|");
        // Quotes and CJK punctuation close the sentence around a URL, never belong to it.
        let url_stops = "“”‘’«»「」『』（）【】〈〉《》、。，；：！？";
        let pattern = format!(
            r"(?x)
            (?P<url>\b(?:https?://|ftp://|www\.)[^\s<>()\[\]{{}}{url_stops}]*[^\s<>()\[\]{{}}{url_stops}.,;:!?'\x22])
            | (?P<email>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b)
            | (?P<note>\[\d{{1,3}}\]|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)
            | (?P<abbr>\b(?:{abbreviations})(?:\s|$))
            | (?P<dots>\.{{3,}}|\.(?:\x20\.){{2,}})
            | (?P<dashes>\s-{{1,2}}\s|-{{2,3}})
            | (?P<range>\d[–‒]\d)
            | (?P<path>\w::\w)"
        );
        Regex::new(&pattern).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
    })
}

/// Abbreviations a listener hears spelled out, and that must not end a sentence.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("Mr.", "Mister"),
    ("Mrs.", "Missus"),
    ("Ms.", "Miz"),
    ("Dr.", "Doctor"),
    ("Prof.", "Professor"),
    ("Rev.", "Reverend"),
    ("Gen.", "General"),
    ("Capt.", "Captain"),
    ("Sgt.", "Sergeant"),
    ("Jr.", "Junior"),
    ("Sr.", "Senior"),
    ("St.", "Saint"),
    ("Mt.", "Mount"),
    ("e.g.", "for example"),
    ("i.e.", "that is"),
    ("etc.", "et cetera"),
    ("vs.", "versus"),
    ("cf.", "compare"),
    ("approx.", "approximately"),
    ("Fig.", "Figure"),
    ("fig.", "figure"),
    ("Vol.", "Volume"),
    ("vol.", "volume"),
    ("Ch.", "Chapter"),
    ("p.m.", "P M"),
    ("a.m.", "A M"),
    ("U.S.", "U S"),
    ("U.K.", "U K"),
];

fn replace_match(source: &str, range: Range<usize>, english: bool) -> String {
    let matched = &source[range.clone()];
    let Some(caps) = patterns().captures(matched) else { return matched.to_string() };
    // Other languages' G2P reads addresses, abbreviations and ranges in its own words.
    let in_english_words = ["url", "email", "abbr", "range"];
    if !english && in_english_words.iter().any(|name| caps.name(name).is_some()) {
        return matched.to_string();
    }
    if let Some(url) = caps.name("url") {
        return speak_host(url.as_str());
    }
    if let Some(email) = caps.name("email") {
        let (user, domain) = email.as_str().split_once('@').unwrap_or((email.as_str(), ""));
        return format!("{} at {}", dotted(user), dotted(domain));
    }
    if caps.name("note").is_some() {
        return String::new();
    }
    if let Some(abbr) = caps.name("abbr") {
        let trailing = &abbr.as_str()[abbr.as_str().trim_end().len()..];
        let word = abbr.as_str().trim_end();
        let spoken = ABBREVIATIONS.iter().find(|(a, _)| *a == word).map_or(word, |(_, s)| *s);
        // "etc." closing a sentence keeps its full stop for the sentence splitter.
        let rest = &source[range.end..];
        let ends_sentence = matches!(word, "etc." | "a.m." | "p.m." | "Jr." | "Sr." | "U.S." | "U.K.")
            && (rest.trim().is_empty() || rest.trim_start().starts_with(char::is_uppercase));
        return format!("{spoken}{}{trailing}", if ends_sentence { "." } else { "" });
    }
    if caps.name("dots").is_some() {
        return "…".into();
    }
    if caps.name("dashes").is_some() {
        return " — ".into();
    }
    if caps.name("path").is_some() {
        // `std::sync::Mutex` in prose is read "std sync Mutex".
        return matched.replace("::", " ");
    }
    if caps.name("range").is_some() {
        let mut chars = matched.chars();
        let (first, last) = (chars.next().unwrap_or('0'), chars.last().unwrap_or('0'));
        return format!("{first} to {last}");
    }
    matched.to_string()
}

/// "https://www.example.org/a/b" is read "example dot org".
fn speak_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or(rest);
    dotted(host.strip_prefix("www.").unwrap_or(host))
}

fn dotted(name: &str) -> String {
    name.split('.').filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" dot ")
}

/// Copies source characters, replacing the ones the G2P reads badly.
fn push_chars(out: &mut Builder, source: &str, range: Range<usize>) {
    let mut run_start = range.start;
    for (offset, c) in source[range.clone()].char_indices() {
        let at = range.start + offset;
        let replacement = match c {
            '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' => Some("'"),
            '\u{00AB}' | '\u{201E}' => Some("\u{201C}"),
            '\u{00BB}' => Some("\u{201D}"),
            '\u{2033}' => Some("\""),
            // The G2P reads `[word](...)` as pronunciation markup and would swallow it.
            '<' | '>' => Some(""),
            '[' | '{' => Some("("),
            ']' | '}' => Some(")"),
            '\u{2010}' | '\u{2011}' => Some("-"),
            // Spaced, or the G2P reads "word—word" as one word.
            '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2E3A}' | '\u{2E3B}' => Some(" — "),
            '\u{2026}' => Some("…"),
            '\u{21A9}' | '\u{FFFC}' | '\u{FFFD}' => Some(""),
            '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => Some(""),
            '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => Some(" "),
            '\t' | '\n' | '\r' => Some(" "),
            c if c.is_control() => Some(""),
            _ => None,
        };
        if let Some(replacement) = replacement {
            out.push(run_start..at, &source[run_start..at], true);
            out.push(at..at + c.len_utf8(), replacement, false);
            run_start = at + c.len_utf8();
        }
    }
    out.push(run_start..range.end, &source[run_start..range.end], true);
}

/// Collapses runs of spaces and trims the ends, keeping the map.
fn tidy_spaces(built: Builder, source: String) -> Spoken {
    let mut out = Builder::default();
    for piece in built.pieces {
        let text = &built.text[piece.spoken.clone()];
        if !piece.verbatim {
            let mut t = text.to_string();
            if out.text.is_empty() || out.text.ends_with(' ') {
                t = t.trim_start().to_string();
            }
            if out.text.ends_with(' ') && t.is_empty() {
                continue;
            }
            let t = collapse(&t, out.text.ends_with(' '));
            out.push(piece.source, &t, false);
            continue;
        }
        let mut run_start = 0;
        let mut prev_space = out.text.is_empty() || out.text.ends_with(' ');
        for (i, c) in text.char_indices() {
            let space = c == ' ';
            if space && prev_space {
                let s = piece.source.start;
                out.push(s + run_start..s + i, &text[run_start..i], true);
                out.push(s + i..s + i + 1, "", false);
                run_start = i + 1;
            }
            prev_space = space;
        }
        let s = piece.source.start;
        out.push(s + run_start..piece.source.end, &text[run_start..], true);
    }
    // Trailing spaces go the same way as doubled ones.
    while out.text.ends_with(' ') {
        out.text.pop();
        if let Some(last) = out.pieces.last_mut() {
            last.spoken.end = out.text.len().max(last.spoken.start);
            if last.verbatim {
                last.source.end = last.source.start + last.spoken.len();
            }
        }
    }
    out.pieces.retain(|p| !p.spoken.is_empty() || !p.verbatim);
    Spoken { text: out.text, source, pieces: out.pieces, long_tokens: Vec::new() }
}

fn collapse(text: &str, after_space: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_space = after_space;
    for c in text.chars() {
        if c == ' ' && prev_space {
            continue;
        }
        prev_space = c == ' ';
        out.push(c);
    }
    out
}

/// Byte ranges of the sentences in spoken text, in order, covering every word.
///
/// A sentence ends at `.`, `!`, `?` or `…` (with any closing quotes or brackets) followed by a
/// space and a capital, digit or opening quote, or by the end of the text; and always at the
/// full-width `。`, `！`, `？` and `；` of Chinese and Japanese (with any closing quotes or brackets),
/// except before と (「…？」と言った goes on). A capital letter alone
/// before the stop is an initial ("J. Smith") and decimals have no space, so neither splits.
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        // Chinese and Japanese stops end a sentence whatever follows (no spaces there).
        if matches!(c, '。' | '！' | '？' | '；') {
            let mut j = i + 1;
            while j < chars.len()
                && matches!(
                    chars[j].1,
                    '。' | '！'
                        | '？'
                        | '；'
                        | '!'
                        | '?'
                        | '…'
                        | '”'
                        | '’'
                        | '」'
                        | '』'
                        | '）'
                        | '》'
                        | '】'
                        | ')'
                )
            {
                j += 1;
            }
            // 「…？」と聞いた: a quotation followed by と goes on.
            if chars.get(j).is_some_and(|(_, n)| *n == 'と') {
                i = j;
                continue;
            }
            let end = chars.get(j).map_or(text.len(), |(p, _)| *p);
            push_sentence(&mut out, text, start..end);
            start = end;
            i = j;
            continue;
        }
        if matches!(c, '.' | '!' | '?' | '…') {
            let mut j = i + 1;
            while j < chars.len() && matches!(chars[j].1, '.' | '!' | '?' | '…' | '"' | '\'' | '”' | ')' | ']') {
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |(p, _)| *p);
            let next_starts = match (chars.get(j), chars.get(j + 1)) {
                (None, _) => true,
                (Some((_, ' ')), Some((_, n))) => {
                    n.is_uppercase()
                        || n.is_ascii_digit()
                        || matches!(n, '"' | '“' | '\'' | '(' | '[' | '—' | '¿' | '¡' | '«' | '„')
                }
                _ => false,
            };
            let initial = c == '.' && (is_initial(&chars, i) || is_abbreviation(&chars, i));
            if next_starts && !initial {
                push_sentence(&mut out, text, start..end);
                start = end;
            }
            i = j;
            continue;
        }
        let _ = at;
        i += 1;
    }
    push_sentence(&mut out, text, start..text.len());
    out
}

/// Titles of other languages that the script leaves for their G2P and that end no sentence
/// ("Sr. García", "Mme. Bovary"), before the full stop.
const TITLES: &[&str] = &[
    "Sr", "Sra", "Srta", "Sres", "Dr", "Dra", "Dña", "Ud", "Uds", "Vd", "Vds", "Lic", "Ing", "Mme", "Mlle", "Mgr",
    "Me", "Sig", "Sigg", "Dott", "Prof", "Avv", "Sto", "Sta", "Pe", "Exmo", "Exma", "Mr", "Mrs", "Ms", "St",
];

/// Whether the stop at `chars[i]` ends a title of [`TITLES`].
fn is_abbreviation(chars: &[(usize, char)], i: usize) -> bool {
    let start = (0..i).rev().take_while(|&k| chars[k].1.is_alphabetic()).last().unwrap_or(i);
    let word: String = chars[start..i].iter().map(|(_, c)| c).collect();
    !word.is_empty() && TITLES.contains(&word.as_str())
}

/// Whether the stop at `chars[i]` follows a single capital letter ("J." in "J. Smith").
fn is_initial(chars: &[(usize, char)], i: usize) -> bool {
    i >= 1 && chars[i - 1].1.is_uppercase() && (i < 2 || !chars[i - 2].1.is_alphanumeric())
}

fn push_sentence(out: &mut Vec<Range<usize>>, text: &str, range: Range<usize>) {
    let piece = &text[range.clone()];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    let trimmed = range.start + lead..range.end - trail;
    if text[trimmed.clone()].chars().any(char::is_alphanumeric) {
        out.push(trimmed);
    } else if let Some(last) = out.last_mut() {
        // Stray punctuation joins the sentence before it rather than being lost.
        last.end = trimmed.end.max(last.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spoken(text: &str) -> String {
        for_listening(text).text
    }

    fn split(text: &str) -> Vec<String> {
        let s = for_listening(text);
        sentences(&s.text).into_iter().map(|r| s.text[r].to_string()).collect()
    }

    #[test]
    fn abbreviations_are_expanded_and_do_not_end_sentences() {
        assert_eq!(split("Mr. Smith met Dr. Jones. They talked."), ["Mister Smith met Doctor Jones.", "They talked."]);
        assert_eq!(
            split("Bring pens, paper, etc. We start at noon."),
            ["Bring pens, paper, et cetera.", "We start at noon."]
        );
        assert_eq!(spoken("Fruit, e.g. apples"), "Fruit, for example apples");
    }

    #[test]
    fn decimals_initials_and_quotes_stay_inside_sentences() {
        assert_eq!(
            split("Pi is 3.14 roughly. J. R. R. Tolkien wrote it."),
            ["Pi is 3.14 roughly.", "J. R. R. Tolkien wrote it."]
        );
        assert_eq!(
            split("\u{201C}Stop!\u{201D} she said. \u{201C}Now.\u{201D}"),
            ["\u{201C}Stop!\u{201D} she said.", "\u{201C}Now.\u{201D}"]
        );
        assert_eq!(split("Wait... what? Yes!"), ["Wait… what?", "Yes!"]);
    }

    #[test]
    fn urls_and_emails_are_read_as_names() {
        assert_eq!(spoken("See https://www.example.org/docs/a.html for more."), "See example dot org for more.");
        assert_eq!(spoken("Mail jane.doe@example.com today"), "Mail jane dot doe at example dot com today");
        assert!(!spoken("Visit http://a.b/c?d=e, then stop.").contains("http"));
        assert_eq!(spoken("“https://example.com/x”"), "“example dot com”");
        assert_eq!(spoken("、https://example.com。"), "、example dot com。");
        assert_eq!(spoken("—http://a.b/c"), "— a dot b");
    }

    #[test]
    fn punctuation_is_what_the_g2p_expects() {
        assert_eq!(
            spoken("It\u{2019}s 1990\u{2013}2000 \u{2013} or so\u{2060}. Note[12] here\u{00AD}."),
            "It's 1990 to 2000 — or so. Note here."
        );
        assert_eq!(spoken("  a \n\n b  "), "a b");
        assert_eq!(spoken("\u{00AB}Bonjour\u{00BB}"), "\u{201C}Bonjour\u{201D}");
        assert_eq!(spoken("see [v1511](wiki page)"), "see (v1511)(wiki page)");
        assert_eq!(spoken("word\u{2014}word"), "word — word");
        assert_eq!(spoken("use tokio::sync::Mutex with --file <name>"), "use tokio sync Mutex with — file name");
    }

    #[test]
    fn spoken_ranges_map_back_to_the_source() {
        let s = for_listening("Hello  Dr. Who, see www.example.org now");
        let find = |w: &str| s.text.find(w).map(|i| i..i + w.len()).unwrap();
        assert_eq!(s.source_text(find("Hello")), "Hello");
        assert_eq!(s.source_text(find("Doctor")), "Dr. ");
        assert_eq!(s.source_text(find("Who")), "Who");
        assert_eq!(s.source_text(find("example dot org")), "www.example.org");
        assert_eq!(s.source_text(find("now")), "now");
    }

    #[test]
    fn long_tokens_are_read_listenably_and_map_back_to_the_book() {
        let hex = "5946f7a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5";
        let text = format!("Sum {hex} for some_very_long_snake_case_identifier_name_here, Dr. Who.");
        let s = for_listening(&text);
        assert_eq!(
            s.text,
            "Sum a 64-character hex string for some very long snake case identifier name here, Doctor Who."
        );
        let find = |w: &str| s.text.find(w).map(|i| i..i + w.len()).unwrap();
        assert_eq!(s.source_text(find("a 64-character hex string")), hex);
        assert_eq!(s.source_text(find("hex")), hex, "each word of an announcement points at the token");
        assert_eq!(s.source_text(find("snake")), "snake", "an identifier's words point at themselves");
        assert_eq!(s.source_text(find("very long")), "very_long");
        assert_eq!(s.source_text(find("Doctor")), "Dr. ");
        assert_eq!(s.long_tokens().len(), 1);
        assert_eq!(&s.source[s.long_tokens()[0].source.clone()], hex);

        let skipped =
            for_listening_with(&text, &ScriptOptions { long_tokens: LongTokens::Skip, ..ScriptOptions::default() });
        assert!(skipped.text.starts_with("Sum for some very long"), "{}", skipped.text);
        assert_eq!(skipped.source_text(0..3), "Sum");
    }

    #[test]
    fn spanish_questions_and_titles_of_other_languages_split_as_they_should() {
        let spanish = ScriptOptions { language: Language::Spanish, ..ScriptOptions::default() };
        let s = for_listening_with("Hola. ¿Cómo estás? ¡Bien! El Sr. García llegó.", &spanish);
        let split: Vec<&str> = sentences(&s.text).into_iter().map(|r| &s.text[r]).collect();
        assert_eq!(split, ["Hola.", "¿Cómo estás?", "¡Bien!", "El Sr. García llegó."]);
        assert_eq!(for_listening_with("Dr. Who, e.g. here", &spanish).text, "Dr. Who, e.g. here");
        assert_eq!(spoken("Dr. Who"), "Doctor Who");
    }

    #[test]
    fn japanese_sentences_end_at_full_width_stops() {
        let split: Vec<&str> = {
            let text = "こんにちは。「元気ですか？」と聞いた！それでは";
            sentences(text).into_iter().map(|r| &text[r]).collect()
        };
        assert_eq!(split, ["こんにちは。", "「元気ですか？」と聞いた！", "それでは"]);
    }

    #[test]
    fn sentences_cover_text_without_punctuation() {
        assert_eq!(split("no stop at all"), ["no stop at all"]);
        assert!(split("   ").is_empty());
        assert_eq!(split("Ends here. ..."), ["Ends here. …"]);
    }

    #[test]
    fn chinese_sentences_end_at_full_width_stops() {
        assert_eq!(
            split("你好！今天天气很好。我们去公园吧；好吗？"),
            ["你好！", "今天天气很好。", "我们去公园吧；", "好吗？"]
        );
        assert_eq!(split("他说：“走吧。”然后走了。"), ["他说：“走吧。”", "然后走了。"]);
    }
}
