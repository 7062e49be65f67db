//! The G2P of the j voices: misaki's "cutlet" path (Kokoro v1.0's Japanese), ported.
//!
//! Upstream (misaki 0.9.4 `JAG2P`, `cutlet.py`) normalizes the text (NFKC, width folding, `〜`
//! before a digit to から, each run of digits to its hiragana reading), splits it into words with
//! MeCab and the UniDic 2.1.2 dictionary of unidic-lite (through fugashi), reads each word's
//! pronunciation in katakana, merges runs listed in `ja_words.txt`, and maps the kana to IPA-like
//! symbols with its HEPBURN table (`ー` lengthens, `っ` is a glottal stop, `ん` assimilates).
//!
//! Here MeCab is the Debian `mecab` program (0.996, like fugashi's) run as a long-lived child
//! process with unidic-lite's dictionary folder; the rest is a port. One [`PhonemeWord`] per
//! MeCab token (tokens of one number merge), each with its text as the sentence spells it, so
//! timing stays per word. One deliberate difference: a word of ASCII letters goes to the English
//! G2P instead of being passed through as raw letters (see [`Japanese::phonemize_as_misaki`]).

use std::collections::HashSet;
use std::io::{BufReader, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use loqui_g2p::{Dialect, G2p, OovFallback};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

use super::{PhonemeWord, PhonemizeError, token_ids, vocab};
use crate::program::Program;

mod kana;

pub use kana::number;

/// The executable run, found on `PATH`.
pub const EXECUTABLE: &str = "mecab";

/// MeCab, as `audiobook doctor` describes it.
pub const PROGRAM: Program = Program {
    name: EXECUTABLE,
    needed_for: "the j voices (Japanese)",
    install: "apt install mecab",
    version_arg: "--version",
};

// The dictionary's package, checksums and place are the engine's assets, fetched with the model.
pub use crate::kokoro::assets::{
    CACHE_SUBDIR, DICDIR_ENV, UNIDIC_LITE, UNIDIC_LITE_DICDIR, UNIDIC_LITE_SHA256, UNIDIC_LITE_SYS_DIC_SHA256,
    dictionary_dir_in, dictionary_ready,
};

/// misaki's `ja_words.txt` (Apache-2.0): word runs read as one word.
const JA_WORDS: &str = include_str!("japanese/ja_words.txt");

/// Where the dictionary is looked for by default: `AUDIOBOOK_UNIDIC_DIR`, else
/// `unidic-lite/dicdir` in the cache folder (`AUDIOBOOK_CACHE_DIR`, `$XDG_CACHE_HOME/audiobook`
/// or `~/.cache/audiobook`). The command line passes its own cache folder to
/// [`dictionary_dir_in`] instead, so that `--cache-dir` holds it too.
pub fn dictionary_dir() -> PathBuf {
    let cache = std::env::var_os("AUDIOBOOK_CACHE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(|x| PathBuf::from(x).join("audiobook"))
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("audiobook")))
        .unwrap_or_else(|| PathBuf::from(".cache/audiobook"));
    dictionary_dir_in(&cache)
}

/// How to install the dictionary, for messages.
pub fn dictionary_help(dir: &Path) -> String {
    format!(
        "Japanese (the j* voices) needs the UniDic dictionary of {UNIDIC_LITE}, not found at {}: run \
         `audiobook models fetch --language ja` (it is also fetched on first use unless --offline), or set \
         {DICDIR_ENV} to unidic-lite's unpacked unidic_lite/dicdir folder",
        dir.display()
    )
}

/// The Japanese G2P: a running `mecab` and the English G2P for words in ASCII letters.
pub struct Japanese {
    dicdir: PathBuf,
    child: Mutex<Option<Running>>,
    english: OnceLock<Option<G2p>>,
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One MeCab token, as cutlet's `Word`.
#[derive(Debug, Clone)]
struct Word {
    surface: String,
    hira: String,
    char_type: u8,
    /// Normalized characters it covers.
    span: Range<usize>,
}

/// One output token before the final tidying, as cutlet's `Token`.
struct Token {
    roma: String,
    space: bool,
    span: Range<usize>,
}

impl Japanese {
    /// Starts `mecab` with the unidic-lite dictionary in its default place (see
    /// [`dictionary_dir`]); errors name what to install.
    pub fn new() -> Result<Self, PhonemizeError> {
        Self::with_dictionary(dictionary_dir())
    }

    /// Starts `mecab` with the unidic-lite dictionary folder `dicdir`.
    pub fn with_dictionary(dicdir: PathBuf) -> Result<Self, PhonemizeError> {
        if !dictionary_ready(&dicdir) {
            return Err(PhonemizeError::UnidicMissing(dictionary_help(&dicdir)));
        }
        let running = Running::start(&dicdir)?;
        Ok(Self { dicdir, child: Mutex::new(Some(running)), english: OnceLock::new() })
    }

    /// Phonemes of `text` as misaki's `JAG2P` (cutlet, Kokoro v1.0) gives them, except that
    /// words of ASCII letters are read by the English G2P.
    pub fn phonemize(&self, text: &str) -> Result<String, PhonemizeError> {
        Ok(self.render(text, true)?.0)
    }

    /// Phonemes of `text` exactly as misaki's `JAG2P` gives them, ASCII words passed through
    /// as letters (for comparing with upstream).
    pub fn phonemize_as_misaki(&self, text: &str) -> Result<String, PhonemizeError> {
        Ok(self.render(text, false)?.0)
    }

    /// The words and marks of `text`, each with its phonemes and its text as `text` spells it.
    pub fn phoneme_words(&self, text: &str) -> Result<Vec<PhonemeWord>, PhonemizeError> {
        let (_, words) = self.render(text, true)?;
        Ok(words)
    }

    fn render(&self, text: &str, english: bool) -> Result<(String, Vec<PhonemeWord>), PhonemizeError> {
        if text.is_empty() {
            return Ok((String::new(), Vec::new()));
        }
        let normalized = normalize(text);
        let line: String =
            normalized.iter().map(|(c, _)| if c.is_whitespace() || c.is_control() { ' ' } else { *c }).collect();
        let words = self.tag(&line)?;
        let tokens = self.tokens(&words, english);
        // The output text, character by character, each with the token it came from.
        let mut stream: Vec<(char, usize)> = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            stream.extend(t.roma.chars().map(|c| (c, i)));
            if t.space {
                stream.push((' ', i));
            }
        }
        let stream = tidy(stream);
        let rendered: String = stream.iter().map(|(c, _)| c).collect();
        // Back to words: each token's characters, its source text, merged where tokens share
        // source characters (the kana of one number).
        let mut out: Vec<(PhonemeWord, Range<usize>)> = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            let raw: String = stream.iter().filter(|(_, k)| *k == i).map(|(c, _)| c).collect();
            let space_after = raw.ends_with(' ');
            let phonemes = raw.trim_end_matches(' ').to_string();
            let source = source_range(&normalized, &t.span);
            if let Some((last, range)) = out.last_mut()
                && source.start < range.end
            {
                if last.space_after {
                    last.phonemes.push(' ');
                }
                last.phonemes.push_str(&phonemes);
                last.space_after = space_after;
                range.end = range.end.max(source.end);
                continue;
            }
            let word = PhonemeWord { text: String::new(), phonemes, ids: Vec::new(), space_after };
            out.push((word, source));
        }
        let words = out
            .into_iter()
            .map(|(mut w, range)| {
                w.text = text.get(range).unwrap_or_default().to_string();
                w.phonemes = w.phonemes.chars().filter(|c| vocab().contains_key(c)).collect();
                w.ids = token_ids(&w.phonemes);
                w
            })
            .collect();
        Ok((rendered, words))
    }

    /// MeCab's words for one line of normalized text.
    fn tag(&self, line: &str) -> Result<Vec<Word>, PhonemizeError> {
        let lines = self.ask(line)?;
        let chars: Vec<char> = line.chars().collect();
        let mut cursor = 0;
        let mut words = Vec::new();
        for l in lines {
            let mut parts = l.splitn(3, '\t');
            let (Some(surface), Some(stat), Some(feature)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let fields = split_feature(feature);
            let field = |i: usize| fields.get(i).map(String::as_str).filter(|f| !f.is_empty());
            // fugashi: feature.pron or feature.kana or the surface (unknown words have neither).
            let reading = field(9).or(field(17)).unwrap_or(surface);
            let unknown = stat == "1";
            let first = surface.chars().next().unwrap_or(' ');
            let category = kana::char_category(first);
            let char_type = if category == 7 || !unknown { 6 } else { category };
            // Where the surface stands in the line (MeCab skips spaces between words).
            let surface_chars: Vec<char> = surface.chars().collect();
            while cursor < chars.len() && chars[cursor] == ' ' && surface_chars.first() != Some(&' ') {
                cursor += 1;
            }
            let start = if chars[cursor..].starts_with(&surface_chars) {
                cursor
            } else {
                (cursor..chars.len()).find(|&s| chars[s..].starts_with(&surface_chars)).unwrap_or(cursor)
            };
            let end = (start + surface_chars.len()).min(chars.len());
            cursor = end;
            words.push(Word {
                surface: surface.to_string(),
                hira: kana::kata2hira(reading),
                char_type,
                span: start..end,
            });
        }
        Ok(words)
    }

    /// cutlet's `_romaji_tokens`: words merged by `ja_words.txt`, read, and spaced.
    fn tokens(&self, words: &[Word], english: bool) -> Vec<Token> {
        let (known, longest) = (&ja_words().0, ja_words().1);
        let mut groups: Vec<Word> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let z = (i + 1..words.len()).find(|&z| words[z].char_type != words[i].char_type).unwrap_or(words.len());
            let mut found = None;
            for j in (i + 1..=z).rev() {
                let len: usize = words[i..j].iter().map(|w| w.surface.len()).sum();
                if len > longest {
                    continue;
                }
                let joined: String = words[i..j].iter().map(|w| w.surface.as_str()).collect();
                if known.contains(joined.as_str()) {
                    found = Some(j);
                    break;
                }
            }
            let j = found.unwrap_or(i + 1);
            let group = &words[i..j];
            groups.push(Word {
                surface: group.iter().map(|w| w.surface.as_str()).collect(),
                hira: group.iter().map(|w| w.hira.as_str()).collect(),
                char_type: group[0].char_type,
                span: group[0].span.start..group[j - i - 1].span.end,
            });
            i = j;
        }
        let mut out: Vec<Token> = Vec::new();
        for word in groups {
            let roma = self.romaji_word(&word, english);
            let mut tok = Token { roma, space: false, span: word.span.clone() };
            let surface = word.surface.as_str();
            if "「『«".contains(surface) || "([".contains(tok.roma.as_str()) {
                if let Some(po) = out.last_mut() {
                    po.space = true;
                }
            } else if "」』»".contains(surface) || "]).,?!:".contains(tok.roma.as_str()) {
                if let Some(po) = out.last_mut() {
                    po.space = false;
                }
                tok.space = true;
            } else {
                // A word read as a space (・) takes none after it.
                tok.space = tok.roma != " ";
            }
            out.push(tok);
        }
        for tok in &mut out {
            tok.roma = tok.roma.replace('っ', "");
        }
        out
    }

    /// cutlet's `_romaji_word`.
    fn romaji_word(&self, word: &Word, english: bool) -> String {
        let surface = word.surface.as_str();
        if surface.is_ascii() {
            if english && surface.chars().any(|c| c.is_ascii_alphabetic()) {
                return self.english(surface);
            }
            return surface.to_string();
        }
        if word.char_type == 3 {
            return kana::symbols(surface);
        }
        if word.char_type != 6 {
            return String::new();
        }
        kana::kana_to_ipa(&word.hira)
    }

    /// The English G2P's phonemes for a word in ASCII letters.
    fn english(&self, word: &str) -> String {
        let g2p = self.english.get_or_init(|| G2p::new(Dialect::American, OovFallback::Neural).ok());
        match g2p {
            Some(g2p) => g2p.phonemize(word).trim().to_string(),
            None => word.to_string(),
        }
    }

    /// MeCab's lines for one line of text, up to its `EOS`.
    fn ask(&self, line: &str) -> Result<Vec<String>, PhonemizeError> {
        super::child::ask(
            &self.child,
            || Running::start(&self.dicdir),
            |running| running.ask(line),
            |e| PhonemizeError::Mecab(format!("{EXECUTABLE} stopped answering: {e}")),
        )
    }
}

impl Running {
    fn start(dicdir: &Path) -> Result<Self, PhonemizeError> {
        let format = "%m\\t%s\\t%H\\n";
        let spawned = Command::new(EXECUTABLE)
            .arg("-d")
            .arg(dicdir)
            .arg("-r")
            .arg(dicdir.join("mecabrc"))
            .args(["-O", "", "-F", format, "-U", format, "-B", "", "-E", "EOS\\n", "-b", "4194304"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PhonemizeError::MecabMissing),
            Err(e) => return Err(PhonemizeError::Mecab(format!("could not run {EXECUTABLE}: {e}"))),
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(PhonemizeError::Mecab(format!("{EXECUTABLE} started without pipes")));
        };
        let mut running = Self { child, stdin, stdout: BufReader::new(stdout) };
        match running.ask("テスト") {
            Ok(lines) if !lines.is_empty() => Ok(running),
            _ => Err(PhonemizeError::Mecab(format!(
                "{EXECUTABLE} -d {} gave no words (is it unidic-lite's dicdir?)",
                dicdir.display()
            ))),
        }
    }

    fn ask(&mut self, line: &str) -> std::io::Result<Vec<String>> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        super::child::read_answer(&mut self.stdout, |line| line == "EOS")
    }
}

/// misaki's word list and its longest entry in bytes.
fn ja_words() -> &'static (HashSet<&'static str>, usize) {
    static WORDS: OnceLock<(HashSet<&'static str>, usize)> = OnceLock::new();
    WORDS.get_or_init(|| {
        let set: HashSet<&'static str> = JA_WORDS.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let longest = set.iter().map(|w| w.len()).max().unwrap_or(0);
        (set, longest)
    })
}

/// A MeCab feature string split at commas, fields in double quotes kept whole.
fn split_feature(feature: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = feature.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => quoted = true,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// cutlet's `_normalize_text`, each output character with the byte range of `text` it came from.
fn normalize(text: &str) -> Vec<(char, Range<usize>)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut stage: Vec<(char, Range<usize>)> = Vec::with_capacity(chars.len());
    for (k, &(at, c)) in chars.iter().enumerate() {
        let range = at..at + c.len_utf8();
        let before_digit = chars.get(k + 1).is_some_and(|(_, n)| n.is_ascii_digit() || is_wide_digit(*n));
        if matches!(c, '〜' | '～') && before_digit {
            stage.push(('か', range.clone()));
            stage.push(('ら', range));
        } else {
            stage.push((kana::full_size_katakana(c), range));
        }
    }
    // NFKC, one base character with its combining marks at a time.
    let mut folded: Vec<(char, Range<usize>)> = Vec::with_capacity(stage.len());
    let mut i = 0;
    while i < stage.len() {
        let mut j = i + 1;
        while j < stage.len() && is_combining(stage[j].0) {
            j += 1;
        }
        let piece: String = stage[i..j].iter().map(|(c, _)| c).collect();
        let range = stage[i].1.start..stage[j - 1].1.end;
        folded.extend(piece.nfkc().map(|c| (zen_to_han(c), range.clone())));
        i = j;
    }
    // Runs of digits to a space and their reading.
    let mut out = Vec::with_capacity(folded.len());
    let mut i = 0;
    while i < folded.len() {
        if folded[i].0.is_ascii_digit() {
            let mut j = i;
            while j < folded.len() && folded[j].0.is_ascii_digit() {
                j += 1;
            }
            let digits: String = folded[i..j].iter().map(|(c, _)| c).collect();
            let range = folded[i].1.start..folded[j - 1].1.end;
            out.push((' ', range.clone()));
            out.extend(number(&digits).chars().map(|c| (c, range.clone())));
            i = j;
        } else {
            out.push(folded[i].clone());
            i += 1;
        }
    }
    out
}

fn is_wide_digit(c: char) -> bool {
    ('０'..='９').contains(&c)
}

fn is_combining(c: char) -> bool {
    canonical_combining_class(c) != 0 || matches!(c, '\u{FF9E}' | '\u{FF9F}')
}

/// mojimoji's `zen_to_han(kana=False)` for what NFKC leaves wide.
fn zen_to_han(c: char) -> char {
    match c {
        '”' => '"',
        '’' => '\'',
        '‘' => '`',
        c => c,
    }
}

/// The source byte range of normalized characters `span`.
fn source_range(normalized: &[(char, Range<usize>)], span: &Range<usize>) -> Range<usize> {
    let (Some(first), Some(last)) = (normalized.get(span.start), normalized.get(span.end.saturating_sub(1))) else {
        return 0..0;
    };
    if span.is_empty() {
        return first.1.start..first.1.start;
    }
    first.1.start..last.1.end
}

/// cutlet's final tidying on tagged characters: whitespace collapsed and trimmed, `()` to `«»`,
/// spaces next to a glottal stop removed (unless punctuation or quotes stand there).
fn tidy(stream: Vec<(char, usize)>) -> Vec<(char, usize)> {
    let mut collapsed: Vec<(char, usize)> = Vec::with_capacity(stream.len());
    for (c, k) in stream {
        if c.is_whitespace() {
            if collapsed.last().is_some_and(|(p, _)| *p == ' ') {
                continue;
            }
            collapsed.push((' ', k));
        } else {
            collapsed.push((c, k));
        }
    }
    while collapsed.first().is_some_and(|(c, _)| *c == ' ') {
        collapsed.remove(0);
    }
    while collapsed.last().is_some_and(|(c, _)| *c == ' ') {
        collapsed.pop();
    }
    let mapped: Vec<(char, usize)> = collapsed
        .into_iter()
        .map(|(c, k)| {
            let c = match c {
                '(' => '«',
                ')' => '»',
                c => c,
            };
            (c, k)
        })
        .collect();
    let mut out = Vec::with_capacity(mapped.len());
    for (i, &(c, k)) in mapped.iter().enumerate() {
        if c == ' ' {
            let prev = if i > 0 { Some(mapped[i - 1].0) } else { None };
            let next = mapped.get(i + 1).map(|(c, _)| *c);
            let before_stop = next == Some('ʔ') && !prev.is_some_and(|p| "!\",.:;?»—…”".contains(p));
            let after_stop = prev == Some('ʔ') && !next.is_some_and(|n| "\"«“".contains(n));
            if before_stop || after_stop {
                continue;
            }
        }
        out.push((c, k));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_folds_width_and_reads_numbers() {
        let text: String = normalize("ｶﾞ１２〜３").into_iter().map(|(c, _)| c).collect();
        assert_eq!(text, "ガ じゅうにから さん");
        let mapped = normalize("ｶﾞ１");
        assert_eq!(mapped[0].1, 0..6);
    }

    #[test]
    fn quoted_feature_fields_stay_whole() {
        let fields = split_feature("名詞,*,\"B1,B2\",x");
        assert_eq!(fields, vec!["名詞", "*", "B1,B2", "x"]);
    }

    #[test]
    fn tidying_removes_spaces_at_glottal_stops() {
        let stream: Vec<(char, usize)> = " aʔ b ( c ) ".chars().map(|c| (c, 0)).collect();
        let out: String = tidy(stream).into_iter().map(|(c, _)| c).collect();
        assert_eq!(out, "aʔb « c »");
    }
}
