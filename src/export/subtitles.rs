//! Subtitles from the timing sidecars: SRT, and WebVTT with each word's time inside its cue (the
//! karaoke form players highlight word by word).
//!
//! A cue is one sentence, or a piece of a long one cut between words, of at most two lines of
//! [`LINE`] characters and about [`MAX_CUE_MS`], in the book's own words ("Mr.", not the spoken
//! "Mister"). Times are the sidecar's exact ones: a cue starts when its first word does and runs
//! until the next piece of its sentence starts, or the sentence ends.

use super::{BookAudio, ExportError, Extras, OutputFormat, Written, m4b, samples_ms};
use crate::assemble::sidecar::{ChapterTimings, TimedSentence, TimedWord};

/// How cues are made (part of the output key).
pub const SETTINGS: &str = "sentence cues, 2 lines of 42, 7 s, vtt word timestamps";

/// Characters per line (the common broadcast norm).
pub const LINE: usize = 42;
/// A cue longer than this is cut at a word boundary where the sentence allows.
pub const MAX_CUE_MS: u64 = 7000;

/// One subtitle: its text as a run of pieces, each starting with a word, so that WebVTT can time
/// every word.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    /// The text in pieces that each start at a word (the first also carries what comes before
    /// its first word, such as an opening quote); a line break falls between two pieces.
    pub pieces: Vec<Piece>,
}

/// Part of a cue's text that starts when its word is heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub start_ms: u64,
    pub text: String,
    /// Whether the second line starts here.
    pub line_break: bool,
}

impl Cue {
    /// The text with its line break, as SRT shows it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            if piece.line_break {
                out.truncate(out.trim_end().len());
                out.push('\n');
            }
            out.push_str(&piece.text);
        }
        out.trim_end().to_string()
    }
}

/// Writes `format`'s file beside each chapter's WAV and, when an M4B is written, one for the
/// whole book with each chapter where the M4B has it.
pub fn write(
    format: OutputFormat,
    book: &BookAudio,
    extras: &Extras,
    written: &mut dyn FnMut(Written),
) -> Result<(), ExportError> {
    let render = |cues: &[Cue]| if format == OutputFormat::Srt { srt(cues) } else { vtt(cues) };
    let save = |file: &str, text: String| {
        let path = book.dir.join(file);
        crate::atomic::write(&path, text.as_bytes()).map_err(|source| ExportError::Io { path, source })
    };
    let starts = if extras.m4b { m4b::chapter_starts(book, extras)? } else { Vec::new() };
    let mut whole = Vec::new();
    for (i, chapter) in book.chapters.iter().enumerate() {
        let timings = read_timings(&book.dir.join(&chapter.timings))?;
        let file = chapter.sibling(format.name());
        save(&file, render(&chapter_cues(&timings, 0)))?;
        written(Written { format, file, duration_ms: timings.duration_ms });
        if let Some(&start) = starts.get(i) {
            whole.extend(chapter_cues(&timings, samples_ms(start)));
        }
    }
    if extras.m4b {
        let file = format!("book.{}", format.name());
        let duration_ms = whole.last().map_or(0, |c| c.end_ms);
        save(&file, render(&whole))?;
        written(Written { format, file, duration_ms });
    }
    Ok(())
}

/// A chapter's timing sidecar.
pub fn read_timings(path: &std::path::Path) -> Result<ChapterTimings, ExportError> {
    let bytes = std::fs::read(path).map_err(|source| ExportError::Io { path: path.into(), source })?;
    serde_json::from_slice(&bytes).map_err(|e| ExportError::Sidecar { path: path.into(), problem: e.to_string() })
}

/// The cues of one chapter, `offset_ms` later than its sidecar says (its place in a whole book).
pub fn chapter_cues(timings: &ChapterTimings, offset_ms: u64) -> Vec<Cue> {
    let mut cues = Vec::new();
    for sentence in &timings.sentences {
        let words: Vec<&TimedWord> = timings.words.iter().filter(|w| w.sentence == sentence.index).collect();
        for mut cue in sentence_cues(sentence, &words) {
            cue.start_ms += offset_ms;
            cue.end_ms += offset_ms;
            for piece in &mut cue.pieces {
                piece.start_ms += offset_ms;
            }
            cues.push(cue);
        }
    }
    cues
}

/// One sentence's cues: as few as fit two lines and [`MAX_CUE_MS`] each, of about even length
/// (no one-word tail), each cut moved back to the last punctuation in its second half, if any.
fn sentence_cues(sentence: &TimedSentence, words: &[&TimedWord]) -> Vec<Cue> {
    let segments = segments(sentence, words);
    if segments.is_empty() {
        return Vec::new();
    }
    let chars =
        |range: std::ops::Range<usize>| -> usize { segments[range].iter().map(|s| s.text.chars().count()).sum() };
    let total_chars = chars(0..segments.len());
    let total_ms = sentence.end_ms.saturating_sub(sentence.start_ms);
    let count = total_chars.div_ceil(2 * LINE).max(total_ms.div_ceil(MAX_CUE_MS) as usize).max(1);
    // Aim a little past an even share, so the punctuation rule has room to cut early.
    let max_chars = (2 * LINE).min(total_chars / count + LINE / 4);
    let max_ms = MAX_CUE_MS.min(total_ms / count as u64 + 1500);
    let mut cues = Vec::new();
    let mut first = 0;
    while first < segments.len() {
        let mut end = first + 1;
        while end < segments.len()
            && chars(first..end + 1) <= max_chars
            && segments[end].end_ms.saturating_sub(segments[first].start_ms) <= max_ms
        {
            end += 1;
        }
        if end < segments.len() {
            // Cut after punctuation when the cue's second half has some.
            let half = first + (end - first).div_ceil(2);
            if let Some(p) = (half..end).rev().find(|&i| ends_a_phrase(&segments[i - 1].text)) {
                end = p;
            }
        }
        let start_ms = if first == 0 { sentence.start_ms } else { segments[first].start_ms };
        let end_ms = if end == segments.len() { sentence.end_ms } else { segments[end].start_ms };
        let pieces = wrap(&segments[first..end]);
        cues.push(Cue { start_ms, end_ms: end_ms.max(start_ms + 1), pieces });
        first = end;
    }
    cues
}

fn ends_a_phrase(text: &str) -> bool {
    text.trim_end().ends_with([',', ';', ':', '.', '!', '?', '—', '–', ')', '"', '”'])
}

/// A word's part of a cue: when it is heard, and its text up to the next word.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    start_ms: u64,
    end_ms: u64,
    text: String,
}

/// The sentence's own text cut at its words' starts, whitespace collapsed (anything before the
/// first word belongs to it). A sentence with no timed words is one segment.
fn segments(sentence: &TimedSentence, words: &[&TimedWord]) -> Vec<Segment> {
    let original = &sentence.original;
    let byte_at = |chars: usize| original.char_indices().nth(chars).map_or(original.len(), |(b, _)| b);
    let mut starts: Vec<(u64, u64, usize)> =
        words.iter().map(|w| (w.start_ms, w.end_ms, byte_at(w.chars[0].saturating_sub(sentence.chars[0])))).collect();
    starts.dedup_by_key(|s| s.2);
    match starts.first_mut() {
        Some(first) => first.2 = 0,
        None => starts.push((sentence.start_ms, sentence.end_ms, 0)),
    }
    let mut segments: Vec<Segment> = Vec::with_capacity(starts.len());
    for (i, &(start_ms, end_ms, from)) in starts.iter().enumerate() {
        let to = starts.get(i + 1).map_or(original.len(), |s| s.2).max(from);
        let text = collapse_whitespace(&original[from..to]);
        match segments.last_mut() {
            // Text with no letters of its own (a dash between spaces) stays with the word before.
            Some(last) if text.trim().is_empty() || !text.chars().any(char::is_alphanumeric) => {
                last.text.push_str(&text);
                last.end_ms = last.end_ms.max(end_ms);
            }
            _ if text.trim().is_empty() => {}
            _ => segments.push(Segment { start_ms, end_ms, text }),
        }
    }
    if let Some(first) = segments.first_mut() {
        first.text = first.text.trim_start().to_string();
    }
    segments
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split(char::is_whitespace).enumerate() {
        if i > 0 && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push_str(part);
    }
    out
}

/// Pieces with a line break before the one that best balances two lines of at most [`LINE`]
/// characters (none when the text fits one line).
fn wrap(segments: &[Segment]) -> Vec<Piece> {
    let lengths: Vec<usize> = segments.iter().map(|s| s.text.chars().count()).collect();
    let trailing = segments.last().map_or(0, |s| s.text.len() - s.text.trim_end().len());
    let total: usize = lengths.iter().sum::<usize>() - trailing;
    let break_at = (total > LINE)
        .then(|| {
            (1..segments.len()).min_by_key(|&i| {
                let first: usize = lengths[..i].iter().sum();
                first.max(total - first)
            })
        })
        .flatten();
    segments
        .iter()
        .enumerate()
        .map(|(i, s)| Piece { start_ms: s.start_ms, text: s.text.clone(), line_break: Some(i) == break_at })
        .collect()
}

/// SRT: numbered cues, comma before the milliseconds.
pub fn srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (i, cue) in cues.iter().enumerate() {
        let times = format!("{} --> {}", clock(cue.start_ms, ','), clock(cue.end_ms, ','));
        out.push_str(&format!("{}\n{times}\n{}\n\n", i + 1, cue.text()));
    }
    out
}

/// WebVTT with a timestamp before every word but the first, where it is strictly inside the cue
/// and later than the one before (as the format requires).
pub fn vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for cue in cues {
        out.push_str(&format!("{} --> {}\n", clock(cue.start_ms, '.'), clock(cue.end_ms, '.')));
        let mut last = cue.start_ms;
        for (i, piece) in cue.pieces.iter().enumerate() {
            if piece.line_break {
                out.truncate(out.trim_end_matches(' ').len());
                out.push('\n');
            }
            if i > 0 && piece.start_ms > last && piece.start_ms < cue.end_ms {
                out.push_str(&format!("<{}>", clock(piece.start_ms, '.')));
                last = piece.start_ms;
            }
            out.push_str(&escape_vtt(&piece.text));
        }
        out.truncate(out.trim_end().len());
        out.push_str("\n\n");
    }
    out
}

fn escape_vtt(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `HH:MM:SS` and milliseconds after `separator`.
fn clock(ms: u64, separator: char) -> String {
    let (h, m, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    format!("{h:02}:{m:02}:{s:02}{separator}{:03}", ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(original: &str, start_ms: u64, end_ms: u64) -> TimedSentence {
        TimedSentence {
            index: 0,
            text: original.into(),
            original: original.into(),
            block: 0,
            chars: [10, 10 + original.chars().count()],
            start_ms,
            end_ms,
            epub_id: None,
        }
    }

    /// Words of `original` split at spaces, 300 ms each from `start_ms`.
    fn words(original: &str, start_ms: u64) -> Vec<TimedWord> {
        let mut out = Vec::new();
        let mut at = 0;
        for (i, word) in original.split(' ').enumerate() {
            let len = word.chars().count();
            out.push(TimedWord {
                text: word.into(),
                original: word.into(),
                sentence: 0,
                chars: [10 + at, 10 + at + len],
                start_ms: start_ms + 300 * i as u64,
                end_ms: start_ms + 300 * i as u64 + 250,
            });
            at += len + 1;
        }
        out
    }

    fn cues(original: &str) -> Vec<Cue> {
        let words = words(original, 1000);
        let end = 1000 + 300 * words.len() as u64;
        sentence_cues(&sentence(original, 900, end), &words.iter().collect::<Vec<_>>())
    }

    #[test]
    fn a_short_sentence_is_one_cue_in_the_books_words() {
        let cues = cues("“Mr. Holmes,” said he.");
        assert_eq!(cues.len(), 1);
        assert_eq!(cues[0].text(), "“Mr. Holmes,” said he.");
        assert_eq!((cues[0].start_ms, cues[0].end_ms), (900, 2200));
    }

    #[test]
    fn long_sentences_become_cues_of_two_short_lines_and_at_most_seven_seconds() {
        let text = "It was a bright cold day in April, and the clocks were striking thirteen, while Winston \
                    Smith, his chin nuzzled into his breast in an effort to escape the vile wind, slipped \
                    quickly through the glass doors of Victory Mansions.";
        let cues = cues(text);
        assert!(cues.len() > 2);
        for cue in &cues {
            let text = cue.text();
            assert!(text.lines().count() <= 2, "{text:?}");
            assert!(text.lines().all(|l| l.chars().count() <= LINE), "{text:?}");
            assert!(cue.end_ms - cue.start_ms <= MAX_CUE_MS + 300, "{cue:?}");
        }
        let joined: Vec<String> = cues.iter().map(|c| c.text().replace('\n', " ")).collect();
        assert_eq!(joined.join(" "), text.split_whitespace().collect::<Vec<_>>().join(" "), "no text lost");
        assert!(cues.windows(2).all(|w| w[0].end_ms <= w[1].start_ms), "in order, no overlap");
        assert!(joined[0].ends_with(','), "cut after punctuation: {joined:?}");
    }

    #[test]
    fn srt_and_vtt_are_written_as_their_formats_say() {
        let cues = cues("Call me Ishmael.");
        assert_eq!(srt(&cues), "1\n00:00:00,900 --> 00:00:01,900\nCall me Ishmael.\n\n");
        assert_eq!(
            vtt(&cues),
            "WEBVTT\n\n00:00:00.900 --> 00:00:01.900\nCall <00:00:01.300>me <00:00:01.600>Ishmael.\n\n"
        );
        let escaped = vtt(&super::sentence_cues(&sentence("a<b & c", 0, 500), &[]));
        assert!(escaped.contains("a&lt;b &amp; c"), "{escaped}");
        assert_eq!(clock(3_723_004, ','), "01:02:03,004");
    }
}
