//! The G2P of the e, f, h, i and p voices: the system `espeak-ng` executable, run as a child
//! process (never linked: espeak-ng is GPL-3), and upstream misaki's `EspeakG2P` around it.
//!
//! Takes a sentence, gives its words with phonemes. Upstream (misaki 0.9.4 through
//! phonemizer-fork 3.3.2) splits the text at runs of punctuation, phonemizes each piece with
//! espeak-ng (IPA, stress marks, `^` tying the letters of one phoneme), puts the marks back,
//! then maps tied pairs to Kokoro's symbols (`a^ɪ` -> `I` ...) and deletes the ties and hyphens.
//! This module does the same, one piece at a time, so each piece's phonemes stay with the piece's
//! words: where espeak reads a piece as as many words as it has, they pair one to one, otherwise
//! (numbers, abbreviations) the piece's phonemes are shared out among its words by length.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use regex::Regex;

use super::{PhonemeWord, PhonemizeError, token_ids, vocab};
use crate::program::Program;

/// The executable run, found on `PATH`.
pub const EXECUTABLE: &str = "espeak-ng";

/// espeak-ng, as `audiobook doctor` describes it.
pub const PROGRAM: Program = Program {
    name: EXECUTABLE,
    needed_for: "the e, f, h, i and p voices (Spanish, French, Hindi, Italian, Brazilian Portuguese)",
    install: "apt install espeak-ng",
    version_arg: "--version",
};

/// A line sent after each piece: its phonemes, learned at start, mark the end of the piece's.
const SENTINEL: &str = "qxqz";

/// Phonemizer-fork 3.3.2's default punctuation marks (`punctuation.py`).
const MARKS: &str = ";:,.!?¡¿—…\"«»“”(){}[]";

/// misaki's E2M table for Kokoro v1.0, applied in this (sorted) order.
const E2M: [(&str, &str); 11] = [
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("d^z", "ʣ"),
    ("d^ʒ", "ʤ"),
    ("e^ɪ", "A"),
    ("o^ʊ", "O"),
    ("s^s", "S"),
    ("t^s", "ʦ"),
    ("t^ʃ", "ʧ"),
    ("ɔ^ɪ", "Y"),
    ("ə^ʊ", "Q"),
];

/// One running `espeak-ng` for one espeak voice (`es`, `fr-fr`...), reading a line of text and
/// writing a line of phonemes.
pub struct Espeak {
    voice: &'static str,
    child: Mutex<Option<Running>>,
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// What espeak-ng answers to [`SENTINEL`].
    sentinel: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Its stdin closes with it; waiting reaps the child.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Espeak {
    /// Starts `espeak-ng -v voice`; an error names the package when it is not installed.
    pub fn new(voice: &'static str, language: &'static str) -> Result<Self, PhonemizeError> {
        let running = Running::start(voice).map_err(|e| match e {
            PhonemizeError::EspeakMissing { .. } => PhonemizeError::EspeakMissing { language },
            e => e,
        })?;
        Ok(Self { voice, child: Mutex::new(Some(running)) })
    }

    /// The espeak voice.
    pub fn voice(&self) -> &'static str {
        self.voice
    }

    /// Phonemes of `text` exactly as misaki's `EspeakG2P` (Kokoro v1.0) gives them.
    pub fn phonemize(&self, text: &str) -> Result<String, PhonemizeError> {
        let words = self.words(text)?;
        let mut out = String::new();
        for w in &words {
            out.push_str(&w.raw);
            if w.space_after {
                out.push(' ');
            }
        }
        Ok(out.trim().to_string())
    }

    /// The words and marks of `text`, each with its phonemes.
    pub fn phoneme_words(&self, text: &str) -> Result<Vec<PhonemeWord>, PhonemizeError> {
        Ok(self
            .words(text)?
            .into_iter()
            .map(|w| {
                let phonemes: String = w.raw.chars().filter(|c| vocab().contains_key(c)).collect();
                PhonemeWord { ids: token_ids(&phonemes), text: w.text, phonemes, space_after: w.space_after }
            })
            .collect())
    }

    fn words(&self, text: &str) -> Result<Vec<RawWord>, PhonemizeError> {
        // misaki: angle quotes to curly ones, parentheses to angle quotes (and back at the end).
        let prepared: String = text
            .chars()
            .map(|c| match c {
                '«' => '“',
                '»' => '”',
                '(' => '«',
                ')' => '»',
                '\n' | '\r' => ' ',
                c => c,
            })
            .collect();
        let mut out = Vec::new();
        for segment in segments(&prepared) {
            match segment {
                Segment::Mark(mark) => push_mark(&mut out, &mark),
                Segment::Text(piece) => {
                    let line = self.line(&piece)?;
                    out.extend(share_out(&piece, &line));
                }
            }
        }
        for w in &mut out {
            w.text = w.text.replace('«', "(").replace('»', ")");
            w.raw = finish(&w.raw);
        }
        Ok(out)
    }

    /// espeak-ng's phonemes for one piece of text (words separated by spaces, no marks).
    fn line(&self, piece: &str) -> Result<String, PhonemizeError> {
        super::child::ask(
            &self.child,
            || Running::start(self.voice),
            |running| running.ask(piece),
            |e| PhonemizeError::Espeak(format!("espeak-ng -v {} stopped answering: {e}", self.voice)),
        )
    }
}

impl Running {
    fn start(voice: &'static str) -> Result<Self, PhonemizeError> {
        let spawned = Command::new(EXECUTABLE)
            .args(["-q", "-v", voice, "--ipa", "--tie=^"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PhonemizeError::EspeakMissing { language: "this language" });
            }
            Err(e) => return Err(PhonemizeError::Espeak(format!("could not run {EXECUTABLE}: {e}"))),
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(PhonemizeError::Espeak(format!("{EXECUTABLE} started without pipes")));
        };
        let mut running = Self { child, stdin, stdout: BufReader::new(stdout), sentinel: String::new() };
        writeln!(running.stdin, "{SENTINEL}")
            .and_then(|()| running.stdin.flush())
            .map_err(|e| PhonemizeError::Espeak(format!("{EXECUTABLE} -v {voice}: {e}")))?;
        let mut first = String::new();
        match running.stdout.read_line(&mut first) {
            Ok(n) if n > 0 && !first.trim().is_empty() => running.sentinel = first.trim().to_string(),
            _ => {
                return Err(PhonemizeError::Espeak(format!(
                    "{EXECUTABLE} -v {voice} gave no phonemes (is the voice '{voice}' installed?)"
                )));
            }
        }
        Ok(running)
    }

    /// Sends `piece` then the sentinel; the lines before the sentinel's answer are the piece's.
    fn ask(&mut self, piece: &str) -> std::io::Result<String> {
        writeln!(self.stdin, "{piece}\n{SENTINEL}")?;
        self.stdin.flush()?;
        let lines = super::child::read_answer(&mut self.stdout, |line| line.trim() == self.sentinel)?;
        let lines: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
        Ok(postprocess(&lines.join(" ")))
    }
}

/// phonemizer's `_postprocess_line` with stress kept and remove-flags: language-switch flags
/// such as `(en)` dropped, single spaces.
fn postprocess(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line.trim();
    while let Some(open) = rest.find('(') {
        match rest[open..].find(')') {
            Some(close) => {
                out.push_str(&rest[..open]);
                rest = &rest[open + close + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// misaki's E2M mapping, then ties and hyphens deleted and angle quotes back to parentheses.
fn finish(raw: &str) -> String {
    let mut s = raw.to_string();
    for (from, to) in E2M {
        s = s.replace(from, to);
    }
    s.replace(['^', '-'], "").replace('«', "(").replace('»', ")")
}

/// A word or mark of the output, its phonemes before [`finish`].
#[derive(Debug, Clone, PartialEq)]
struct RawWord {
    text: String,
    raw: String,
    space_after: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Text(String),
    Mark(String),
}

/// phonemizer's `Punctuation.preserve` on one line: the runs of marks that its regex
/// `(\s*[marks]+\s*)+` finds, with the spaces around them, and the text between (empty pieces
/// dropped, as upstream drops them).
fn segments(text: &str) -> Vec<Segment> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(&format!(r"(?:\s*[{}]+\s*)+", regex::escape(MARKS))).ok());
    let Some(re) = re else { return vec![Segment::Text(text.to_string())] };
    let mut out = Vec::new();
    let mut at = 0;
    for m in re.find_iter(text) {
        if m.start() > at {
            out.push(Segment::Text(text[at..m.start()].to_string()));
        }
        out.push(Segment::Mark(m.as_str().to_string()));
        at = m.end();
    }
    if at < text.len() {
        out.push(Segment::Text(text[at..].to_string()));
    }
    out
}

/// Appends a run of marks as upstream restores it: the marks verbatim, spaces included, joined
/// to the word before when it touches it.
fn push_mark(out: &mut Vec<RawWord>, mark: &str) {
    let leading_space = mark.starts_with(char::is_whitespace);
    let trailing_space = mark.ends_with(char::is_whitespace);
    let inner = mark.trim();
    if let Some(last) = out.last_mut() {
        last.space_after = leading_space;
    }
    // Each run of marks between spaces is one token (`“ nˈɔ̃ ! ”` has three).
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let n = parts.len();
    for (k, part) in parts.into_iter().enumerate() {
        out.push(RawWord { text: part.to_string(), raw: part.to_string(), space_after: k + 1 < n || trailing_space });
    }
}

/// Pairs the phoneme words of `line` with the words of `piece`: one to one when the counts
/// match, else the piece's phonemes cut among its words in proportion to their letters, at the
/// spaces between phoneme words where one is near.
fn share_out(piece: &str, line: &str) -> Vec<RawWord> {
    let all_words: Vec<&str> = piece.split_whitespace().collect();
    // espeak reads nothing for a word without letters or digits (a dialogue dash): it gets none.
    let spoken = |w: &str| w.chars().any(char::is_alphanumeric);
    if all_words.iter().any(|w| !spoken(w)) {
        let kept: Vec<&str> = all_words.iter().copied().filter(|w| spoken(w)).collect();
        let mut shared = share_out(&kept.join(" "), line).into_iter();
        let n = all_words.len();
        return all_words
            .iter()
            .enumerate()
            .map(|(k, w)| match spoken(w).then(|| shared.next()).flatten() {
                Some(word) => RawWord { space_after: k + 1 < n, ..word },
                None => RawWord { text: (*w).to_string(), raw: String::new(), space_after: k + 1 < n },
            })
            .collect();
    }
    let words = all_words;
    let phonemes: Vec<&str> = line.split(' ').filter(|w| !w.is_empty()).collect();
    let n = words.len();
    // The last word's space is the next mark's to decide (see `push_mark`).
    let word = |k: usize, raw: String| RawWord { text: words[k].to_string(), raw, space_after: k + 1 < n };
    if words.len() == phonemes.len() {
        return (0..n).map(|k| word(k, phonemes[k].to_string())).collect();
    }
    if n == 0 {
        return Vec::new();
    }
    // Numbers and symbols are what espeak reads as several words: they take the extra ones.
    let expands = |w: &str| w.chars().any(|c| !c.is_alphabetic() && c != '\'' && c != '-');
    let expanding: Vec<usize> = (0..n).filter(|&k| expands(words[k])).collect();
    if phonemes.len() > n && !expanding.is_empty() {
        let extra = phonemes.len() - n;
        let sizes: Vec<usize> = expanding.iter().map(|&k| words[k].chars().count()).collect();
        let total: usize = sizes.iter().sum();
        let mut counts = vec![1usize; n];
        let mut given = 0;
        for (j, &k) in expanding.iter().enumerate() {
            let share = if j + 1 == expanding.len() { extra - given } else { extra * sizes[j] / total.max(1) };
            counts[k] += share;
            given += share;
        }
        let mut at = 0;
        return (0..n)
            .map(|k| {
                let part = phonemes[at..at + counts[k]].join(" ");
                at += counts[k];
                word(k, part)
            })
            .collect();
    }
    // Otherwise cut the whole line (spaces included) into n parts by the words' letters.
    let all: Vec<char> = phonemes.join(" ").chars().collect();
    let weights: Vec<usize> = words.iter().map(|w| w.chars().filter(|c| c.is_alphanumeric()).count().max(1)).collect();
    let total: usize = weights.iter().sum();
    let mut cuts = vec![0usize];
    let mut acc = 0;
    for w in &weights[..n - 1] {
        acc += w;
        let ideal = all.len() * acc / total;
        let prev = *cuts.last().unwrap_or(&0);
        // The nearest space within a few symbols, else the ideal point.
        let near = (ideal.saturating_sub(4)..=(ideal + 4).min(all.len()))
            .filter(|&c| c > prev && c < all.len() && all[c] == ' ')
            .min_by_key(|&c| c.abs_diff(ideal));
        // Every word keeps at least one symbol where there are enough.
        let k = cuts.len();
        let lowest = (prev + 1).min(all.len());
        let highest = all.len().saturating_sub(n - k).max(lowest);
        cuts.push(near.unwrap_or(ideal).clamp(lowest, highest));
    }
    cuts.push(all.len());
    (0..n)
        .map(|k| {
            let (a, b) = (cuts[k], cuts[k + 1].max(cuts[k]));
            // A cut at a space leaves the space out of both parts: the word's space_after says it.
            let part: String = all[a..b].iter().collect();
            word(k, part.trim().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(segments: &[Segment]) -> Vec<String> {
        segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => format!("T[{t}]"),
                Segment::Mark(m) => format!("M[{m}]"),
            })
            .collect()
    }

    #[test]
    fn text_splits_at_runs_of_marks_with_their_spaces() {
        assert_eq!(texts(&segments("hola, mundo.")), ["T[hola]", "M[, ]", "T[mundo]", "M[.]"]);
        assert_eq!(texts(&segments("¿qué? ¡sí!")), ["M[¿]", "T[qué]", "M[? ¡]", "T[sí]", "M[!]"]);
        assert_eq!(texts(&segments("“ Non ! ” dit")), ["M[“ ]", "T[Non]", "M[ ! ” ]", "T[dit]"]);
        assert_eq!(texts(&segments("a - b")), ["T[a - b]"]);
    }

    #[test]
    fn e2m_maps_tied_pairs_and_drops_ties_and_hyphens() {
        assert_eq!(finish("βˌe^ɪntiθˈinko"), "βˌAntiθˈinko");
        assert_eq!(finish("t^ʃa-o^ʊ"), "ʧaO");
        assert_eq!(finish("«a»"), "(a)");
    }

    #[test]
    fn phonemes_are_shared_out_when_counts_differ() {
        let words = share_out("tengo 25 años", "tˈɛŋɡo βˌe^ɪnti θˈinko ˈaɲos");
        assert_eq!(words.len(), 3);
        assert_eq!(words[0].raw, "tˈɛŋɡo");
        assert_eq!(words[2].raw, "ˈaɲos");
        assert_eq!(words[1].raw, "βˌe^ɪnti θˈinko");
        let one = share_out("a b", "x");
        assert_eq!(one.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }
}
