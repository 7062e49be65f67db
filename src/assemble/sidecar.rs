//! The JSON written beside the audio: one timing sidecar per chapter, and `book.json`.
//!
//! Times are exact (the model's frame counts), in milliseconds from the start of the chapter's WAV.
//! Each sentence and word carries the book's own text beside the spoken form, and where it came
//! from: its block (file and byte range in the decoded file) and its character range in that
//! block's text, so a reader app can highlight the book's own words.

use serde::{Deserialize, Serialize};

use super::timeline::Timing;
use crate::kokoro::SAMPLE_RATE;
use crate::plan::ChapterPlan;

/// Version of the sidecar and book.json layout.
pub const FORMAT: u32 = 1;

/// `NN-title.json`: everything about one chapter's audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChapterTimings {
    pub format: u32,
    pub number: usize,
    pub title: String,
    /// The WAV file this describes, beside this file.
    pub audio: String,
    pub sample_rate: u32,
    pub duration_ms: u64,
    pub blocks: Vec<BlockSource>,
    pub chunks: Vec<TimedChunk>,
    pub sentences: Vec<TimedSentence>,
    pub words: Vec<TimedWord>,
    /// The chapter's sections (deeper TOC entries or headings), where players can show them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<TimedSection>,
}

/// A titled place inside the chapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedSection {
    pub title: String,
    /// 1 directly below the chapter, 2 below that.
    pub depth: u8,
    /// Its first block.
    pub block: usize,
    /// When its first sentence starts.
    pub start_ms: u64,
}

/// Where a block of the chapter came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockSource {
    /// The source file (`book.epub#OEBPS/ch01.xhtml` inside an EPUB).
    pub file: String,
    /// Byte range of the block in the decoded source file, where known.
    pub bytes: [usize; 2],
}

/// One model call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedChunk {
    pub index: usize,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// One sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedSentence {
    pub index: usize,
    /// As spoken.
    pub text: String,
    /// As the book has it.
    pub original: String,
    pub block: usize,
    /// Character range in the block's text.
    pub chars: [usize; 2],
    pub start_ms: u64,
    pub end_ms: u64,
    /// The `id` of the element that holds it in the read-along EPUB (`--format epub`), once that
    /// is written; sentences the book's markup could not hold on their own share their
    /// neighbour's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epub_id: Option<String>,
}

/// One word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedWord {
    /// As spoken ("Doctor").
    pub text: String,
    /// As the book has it ("Dr.").
    pub original: String,
    pub sentence: usize,
    /// Character range in its block's text.
    pub chars: [usize; 2],
    pub start_ms: u64,
    pub end_ms: u64,
}

impl ChapterTimings {
    /// Joins a chapter's plan with its timeline.
    pub fn new(plan: &ChapterPlan, audio: &str, timing: &Timing) -> Self {
        let blocks = plan
            .blocks
            .iter()
            .map(|b| BlockSource {
                file: b.source.file.display().to_string(),
                bytes: [b.source.range.start, b.source.range.end],
            })
            .collect();
        let chunk_text = |sentences: [usize; 2]| {
            plan.sentences[sentences[0]..sentences[1].min(plan.sentences.len())]
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let chunks = timing
            .chunks
            .iter()
            .map(|c| TimedChunk {
                index: c.index,
                start_ms: c.start_ms,
                end_ms: c.end_ms,
                text: chunk_text(c.sentences),
            })
            .collect();
        let sentences = timing
            .sentences
            .iter()
            .map(|t| {
                let s = &plan.sentences[t.index];
                let (original, chars) = source_of(plan, t.index, 0..s.range.len());
                TimedSentence {
                    index: t.index,
                    text: s.text.clone(),
                    original,
                    block: s.block,
                    chars,
                    start_ms: t.start_ms,
                    end_ms: t.end_ms,
                    epub_id: None,
                }
            })
            .collect();
        let words = timing
            .words
            .iter()
            .map(|w| {
                let (original, chars) = source_of(plan, w.sentence, w.spoken[0]..w.spoken[1]);
                TimedWord {
                    text: w.text.clone(),
                    original,
                    sentence: w.sentence,
                    chars,
                    start_ms: w.start_ms,
                    end_ms: w.end_ms,
                }
            })
            .collect();
        let sections = plan
            .sections
            .iter()
            .filter_map(|section| {
                // A section starts with its first spoken sentence; one with none has no time.
                let first = timing.sentences.iter().find(|t| plan.sentences[t.index].block >= section.block)?;
                Some(TimedSection {
                    title: section.title.clone(),
                    depth: section.depth,
                    block: section.block,
                    start_ms: first.start_ms,
                })
            })
            .collect();
        Self {
            format: FORMAT,
            number: plan.number,
            title: plan.title.clone(),
            audio: audio.to_string(),
            sample_rate: SAMPLE_RATE,
            duration_ms: timing.duration_ms,
            blocks,
            chunks,
            sentences,
            words,
            sections,
        }
    }
}

/// The book's own text of a spoken range of a sentence, and its character range in its block.
fn source_of(plan: &ChapterPlan, sentence: usize, spoken: std::ops::Range<usize>) -> (String, [usize; 2]) {
    let chars = plan.source_chars(sentence, spoken.clone());
    (plan.original_text(sentence, spoken).to_string(), [chars.start, chars.end])
}

/// `book.json`: the whole book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookIndex {
    pub format: u32,
    pub title: String,
    pub authors: Vec<String>,
    pub language: Option<String>,
    pub voice: String,
    pub speed: f32,
    pub model_sha256: String,
    pub sample_rate: u32,
    pub duration_ms: u64,
    pub chapters: Vec<BookChapter>,
    /// The whole book's loudness and the gain m4b, mp3 and opus are encoded with (the WAVs stay
    /// as the model made them); absent with `--loudness off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness: Option<BookLoudness>,
}

/// The book's loudness, measured from its chapter WAVs as one programme (EBU R128).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BookLoudness {
    /// Integrated loudness of the WAVs, LUFS.
    pub measured_lufs: f64,
    /// True peak of the WAVs, dBTP.
    pub true_peak_dbtp: f64,
    /// The static gain applied when encoding: the target less the measured loudness.
    pub gain_db: f64,
    pub target_lufs: f64,
    /// The ceiling of the true-peak limiter that follows the gain, dBTP.
    #[serde(default)]
    pub limiter_ceiling_dbtp: f64,
    /// Whether the limiter turned any peak down.
    #[serde(default)]
    pub limited: bool,
    /// The most it turned the audio down, dB (0 when it never acted).
    #[serde(default)]
    pub limited_db: f64,
}

/// A chapter's place in the whole book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookChapter {
    pub number: usize,
    pub title: String,
    pub audio: String,
    pub timings: String,
    /// Where the chapter starts when the WAVs are played one after another.
    pub start_ms: u64,
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::assemble::timeline::SentenceTime;
    use crate::chunk::ChunkConfig;
    use crate::ingest::{Block, BlockKind, Book, Chapter, Section, Source};
    use crate::phonemize::Phonemizer;

    fn block(kind: BlockKind, text: &str) -> Block {
        Block { kind, text: text.into(), source: Source { file: PathBuf::from("a.md"), range: 0..0 }, language: None }
    }

    #[test]
    fn a_section_starts_when_its_first_sentence_is_heard() {
        let mut chapter = Chapter::new(
            "One",
            vec![
                block(BlockKind::Paragraph, "First words. More words."),
                block(BlockKind::Heading { level: 2 }, "Later"),
                block(BlockKind::Paragraph, "Last words."),
            ],
        );
        chapter.sections = vec![Section { title: "Later".into(), block: 1, depth: 1 }];
        let book = Book { chapters: vec![chapter], ..Book::default() };
        let g2p = Phonemizer::new(Phonemizer::dialect_for_voice("af_heart").unwrap()).unwrap();
        let plan = crate::plan::plan(&book, &g2p, &ChunkConfig::default()).unwrap();
        let chapter = &plan.chapters[0];
        assert_eq!(chapter.sentences.len(), 4);
        // Times as the timeline would give them: sentence i starts at 1000 * i + 300.
        let sentences = (0..4).map(|i| SentenceTime { index: i, start_ms: 1000 * i as u64 + 300, end_ms: 0 }).collect();
        let timing = Timing { duration_ms: 5000, sentences, ..Timing::default() };
        let timings = ChapterTimings::new(chapter, "01-one.wav", &timing);
        let later = TimedSection { title: "Later".into(), depth: 1, block: 1, start_ms: 2300 };
        assert_eq!(timings.sections, [later]);
        let json = serde_json::to_string(&timings).unwrap();
        assert!(json.contains(r#""sections":[{"title":"Later","depth":1,"block":1,"start_ms":2300}]"#), "{json}");
    }
}
