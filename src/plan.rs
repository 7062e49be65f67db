//! The plan: a [`Book`] run through `script` and `chunk`, everything short of the model.
//!
//! Takes a book, gives per chapter its blocks as spoken text (with the map back to the book's
//! words), its sentences and its chunks. `audiobook plan` prints it; `build` renders it. Planning
//! is pure and fast: the G2P is the only costly step.
//!
//! Planning is also where a chapter longer than [`ChapterLimit`] is split (by
//! [`ingest::split_long`]), since only here is it known how long each block will sound.

use std::ops::Range;

use rayon::prelude::*;
use serde::Serialize;

use crate::chunk::{self, Chunk, ChunkConfig, ChunkError, SentenceIn, SplitWord};
use crate::ingest::{self, BlockKind, Book, Chapter, Section, Source};
use crate::kokoro::SAMPLES_PER_FRAME;
use crate::language::Language;
use crate::phonemize::{Phonemizer, Phonemizers};
use crate::script::{self, LongTokenKind, ScriptOptions, Spoken};

/// A whole book, planned (or the chapters of it picked, see [`BookPlan::pick`] and
/// [`BookPlan::preview`]).
#[derive(Debug, Clone)]
pub struct BookPlan {
    pub chapters: Vec<ChapterPlan>,
    /// Chapters the whole book has: file names are numbered to its width.
    pub book_chapters: usize,
    /// Whether each chapter is cut to its first sentences ([`BookPlan::preview`]).
    pub preview: bool,
    /// Text read in the book's language for want of its own G2P, one line per language.
    pub language_warnings: Vec<String>,
}

/// Which chapters to narrate: `1-3,7` (the book's numbers, as `audiobook plan` shows them) or
/// words of a title (`epilogue`, matched case-insensitively), comma-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapterPick {
    spec: String,
    parts: Vec<PickPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PickPart {
    Numbers(usize, usize),
    Title(String),
}

/// Errors in picking chapters.
#[derive(Debug, thiserror::Error)]
pub enum PickError {
    #[error("--chapters '{spec}': {problem}")]
    Spec { spec: String, problem: String },
    #[error("--chapters '{spec}' picks none of the book's {chapters} chapters (`audiobook plan` lists them)")]
    NoneMatch { spec: String, chapters: usize },
}

impl ChapterPick {
    /// Parses `1-3,7,epilogue`.
    pub fn parse(spec: &str) -> Result<Self, PickError> {
        let problem = |problem: String| PickError::Spec { spec: spec.into(), problem };
        let mut parts = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let number = |text: &str| text.trim().parse::<usize>().ok().filter(|n| *n > 0);
            let numbers = match part.split_once('-') {
                Some((a, b)) => number(a).zip(number(b)),
                None => number(part).map(|n| (n, n)),
            };
            parts.push(match numbers {
                Some((a, b)) if a <= b => PickPart::Numbers(a, b),
                Some((a, b)) => return Err(problem(format!("{a}-{b} runs backwards"))),
                None if part.chars().all(|c| c.is_ascii_digit() || c == '-') => {
                    return Err(problem(format!("'{part}' is neither a chapter number, a range nor a title")));
                }
                None => PickPart::Title(part.to_lowercase()),
            });
        }
        if parts.is_empty() {
            return Err(problem("no chapters given".into()));
        }
        Ok(Self { spec: spec.into(), parts })
    }

    /// Whether chapter `number` titled `title` is picked.
    pub fn picks(&self, number: usize, title: &str) -> bool {
        self.parts.iter().any(|part| match part {
            PickPart::Numbers(a, b) => (*a..=*b).contains(&number),
            PickPart::Title(words) => title.to_lowercase().contains(words.as_str()),
        })
    }
}

/// One chapter, planned.
#[derive(Debug, Clone)]
pub struct ChapterPlan {
    /// 1-based position in the book.
    pub number: usize,
    pub title: String,
    pub blocks: Vec<PlannedBlock>,
    /// The chapter's sections; their `block` indexes [`Self::blocks`].
    pub sections: Vec<Section>,
    pub sentences: Vec<PlannedSentence>,
    pub chunks: Vec<Chunk>,
    split_words: Vec<SplitWord>,
}

/// An opaque token of the book (a checksum, UUID, encoded blob, giant number or boundless word)
/// that the script reads other than as written; the user is told (see [`ChapterPlan::long_tokens`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongTokenRead<'a> {
    /// The token as the book has it.
    pub original: &'a str,
    pub kind: LongTokenKind,
    /// What is said instead: an announcement ("a 64-character hex string"), the spelling, or ""
    /// when it is left out.
    pub spoken: &'a str,
}

/// A block of the book and how it is spoken.
#[derive(Debug, Clone)]
pub struct PlannedBlock {
    pub kind: BlockKind,
    pub source: Source,
    pub spoken: Spoken,
    /// The language it is read in.
    pub language: Language,
}

/// A sentence as the model receives it.
#[derive(Debug, Clone)]
pub struct PlannedSentence {
    /// Index of its block in the chapter.
    pub block: usize,
    /// Its byte range in the block's spoken text.
    pub range: Range<usize>,
    /// The text the G2P reads: the spoken range, with a full stop added after a heading or list
    /// item that has none, so that it ends with a falling voice.
    pub text: String,
}

impl ChapterPlan {
    /// Words a listener hears.
    pub fn word_count(&self) -> usize {
        self.chunks.iter().flat_map(|c| &c.tokens).filter(|t| t.is_word).count()
    }

    /// Words the G2P has no phonemes for (letters of a script it does not know): they are
    /// timed but silent, so the user is told.
    pub fn unspoken_words(&self) -> impl Iterator<Item = &str> {
        self.chunks.iter().flat_map(|c| &c.tokens).filter(|t| t.is_word && t.ids.is_empty()).map(|t| t.text.as_str())
    }

    /// Opaque tokens read other than as written, in order: a listener does not hear them as the
    /// book has them, so the user is told.
    pub fn long_tokens(&self) -> impl Iterator<Item = LongTokenRead<'_>> {
        self.blocks.iter().flat_map(|b| {
            b.spoken.long_tokens().iter().map(|t| LongTokenRead {
                original: b.spoken.source.get(t.source.clone()).unwrap_or(""),
                kind: t.kind,
                spoken: &t.spoken,
            })
        })
    }

    /// Words too long for one model call (more phoneme tokens than `max_tokens`), as the book has
    /// them. Each is split across calls and timed as consecutive parts; the script reads the
    /// usual culprits in shorter ways, so this is rare.
    pub fn split_words(&self) -> impl Iterator<Item = &str> {
        self.split_words.iter().map(|w| self.original_text(w.sentence, w.spoken.clone()))
    }

    /// Phoneme tokens to render.
    pub fn token_count(&self) -> usize {
        self.chunks.iter().map(|c| c.ids.len()).sum()
    }

    /// The audio this chapter will roughly last at `speed`, in milliseconds.
    pub fn estimated_ms(&self, speed: f32) -> u64 {
        self.chunks.iter().map(|c| estimated_chunk_ms(c.ids.len(), speed)).sum()
    }

    /// Each block's share of [`Self::estimated_ms`]: a chunk's estimate spread over its tokens.
    pub fn estimated_block_ms(&self, speed: f32) -> Vec<u64> {
        let mut ms = vec![0; self.blocks.len()];
        for chunk in &self.chunks {
            let Some(first) = chunk.tokens.first() else { continue };
            let chunk_ms = estimated_chunk_ms(chunk.ids.len(), speed);
            let covered = chunk.tokens.iter().map(|t| t.ids.len() as u64).sum::<u64>().max(1);
            let mut given = 0;
            for t in &chunk.tokens {
                let share = chunk_ms * t.ids.len() as u64 / covered;
                ms[self.sentences[t.sentence].block] += share;
                given += share;
            }
            // What rounding and the chunk's edges leave goes to its first block, so the shares
            // add up to the chapter's estimate.
            ms[self.sentences[first.sentence].block] += chunk_ms - given;
        }
        ms
    }

    /// Where each section starts, roughly, in ms from the chapter's start at `speed`.
    pub fn estimated_section_starts(&self, speed: f32) -> Vec<u64> {
        let block_ms = self.estimated_block_ms(speed);
        self.sections.iter().map(|s| block_ms[..s.block.min(block_ms.len())].iter().sum()).collect()
    }

    /// The book's own text of a word: `spoken` is its byte range in sentence `sentence`.
    pub fn original_text(&self, sentence: usize, spoken: Range<usize>) -> &str {
        let (block, range) = self.in_block(sentence, spoken);
        block.spoken.source_text(range)
    }

    /// Character range in the block's text of a spoken byte range of a sentence.
    pub fn source_chars(&self, sentence: usize, spoken: Range<usize>) -> Range<usize> {
        let (block, range) = self.in_block(sentence, spoken);
        let bytes = block.spoken.source_range(range);
        let chars = |b: usize| block.spoken.source.get(..b).map_or(0, |t| t.chars().count());
        chars(bytes.start)..chars(bytes.end)
    }

    /// A sentence's block, and a byte range of the sentence as a range of the block's spoken text.
    /// (The sentence's text may end with an added full stop that the block does not have.)
    fn in_block(&self, sentence: usize, spoken: Range<usize>) -> (&PlannedBlock, Range<usize>) {
        let s = &self.sentences[sentence];
        let at = |offset: usize| (s.range.start + offset).min(s.range.end);
        (&self.blocks[s.block], at(spoken.start)..at(spoken.end))
    }
}

/// Kokoro's output length for `tokens` phoneme tokens, fitted on real chapters: about 48 frames
/// of edges plus 1.94 frames a token, at speed 1.
pub fn estimated_chunk_ms(tokens: usize, speed: f32) -> u64 {
    let frames = 48.0 + 1.94 * tokens as f64;
    (frames * (SAMPLES_PER_FRAME as f64 / 24.0) / speed.max(0.1) as f64) as u64
}

/// The longest a chapter may sound before it is split, as estimated at the narration's speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChapterLimit {
    /// 0 turns splitting off.
    pub max_ms: u64,
    pub speed: f32,
}

impl ChapterLimit {
    /// No chapter is split.
    pub const OFF: ChapterLimit = ChapterLimit { max_ms: 0, speed: 1.0 };

    /// `minutes` of audio at `speed` (0 = off).
    pub fn minutes(minutes: u32, speed: f32) -> Self {
        ChapterLimit { max_ms: u64::from(minutes) * 60_000, speed }
    }
}

/// Plans every chapter of `book` with the script's default options, all of it in `g2p`'s
/// language.
pub fn plan(book: &Book, g2p: &Phonemizer, config: &ChunkConfig) -> Result<BookPlan, ChunkError> {
    plan_with(book, g2p, config, &ScriptOptions::default())
}

/// Plans every chapter of `book`, all of it in `g2p`'s language, reading its text as `script`
/// says.
pub fn plan_with(
    book: &Book,
    g2p: &Phonemizer,
    config: &ChunkConfig,
    script: &ScriptOptions,
) -> Result<BookPlan, ChunkError> {
    plan_within(book, &Phonemizers::only(g2p), config, script, ChapterLimit::OFF)
}

/// Plans every chapter of `book` as [`plan_with`] does, each block in the language `g2p` gives
/// it, splitting each chapter that would sound longer than `limit` into parts.
pub fn plan_within(
    book: &Book,
    g2p: &Phonemizers,
    config: &ChunkConfig,
    script: &ScriptOptions,
    limit: ChapterLimit,
) -> Result<BookPlan, ChunkError> {
    // The G2P is most of the cost; chapters are independent, so they are phonemized in parallel.
    let planned: Vec<Vec<ChapterPlan>> = book
        .chapters
        .par_iter()
        .map(|chapter| plan_parts(chapter, g2p, config, script, limit))
        .collect::<Result<_, _>>()?;
    // A chapter with nothing to say (an image page) gets no number and no file.
    let chapters = planned
        .into_iter()
        .flatten()
        .filter(|c| !c.chunks.is_empty())
        .enumerate()
        .map(|(i, chapter)| ChapterPlan { number: i + 1, ..chapter })
        .collect::<Vec<_>>();
    Ok(BookPlan { book_chapters: chapters.len(), chapters, preview: false, language_warnings: g2p.warnings() })
}

/// One chapter planned, or its parts when it runs past the limit. The parts are planned again
/// from their blocks: a chunk never spans two chapters.
fn plan_parts(
    chapter: &Chapter,
    g2p: &Phonemizers,
    config: &ChunkConfig,
    script: &ScriptOptions,
    limit: ChapterLimit,
) -> Result<Vec<ChapterPlan>, ChunkError> {
    let whole = plan_chapter(chapter, g2p, config, script)?;
    if limit.max_ms == 0 || whole.estimated_ms(limit.speed) <= limit.max_ms {
        return Ok(vec![whole]);
    }
    let parts = ingest::split_long(chapter.clone(), &whole.estimated_block_ms(limit.speed), limit.max_ms);
    if parts.len() == 1 {
        return Ok(vec![whole]);
    }
    parts.iter().map(|part| plan_chapter(part, g2p, config, script)).collect()
}

fn plan_chapter(
    chapter: &Chapter,
    g2ps: &Phonemizers,
    config: &ChunkConfig,
    script: &ScriptOptions,
) -> Result<ChapterPlan, ChunkError> {
    let blocks = &chapter.blocks;
    let mut planned_blocks = Vec::with_capacity(blocks.len());
    let mut block_g2ps = Vec::with_capacity(blocks.len());
    let mut sentences = Vec::new();
    for (b, block) in blocks.iter().enumerate() {
        let g2p = g2ps.for_block(block.language.as_deref(), &block.text);
        block_g2ps.push(g2p);
        let script = ScriptOptions { language: g2p.language(), ..*script };
        let spoken = script::for_listening_with(&block.text, &script);
        for range in script::sentences(&spoken.text) {
            let mut text = spoken.text[range.clone()].to_string();
            let needs_stop = matches!(block.kind, BlockKind::Heading { .. } | BlockKind::ListItem | BlockKind::Table);
            if needs_stop && !text.ends_with(['.', '!', '?', ':', ';', '…', '"', '”', ')']) {
                text.push('.');
            }
            sentences.push(PlannedSentence { block: b, range, text });
        }
        planned_blocks.push(PlannedBlock {
            kind: block.kind,
            source: block.source.clone(),
            spoken,
            language: g2p.language(),
        });
    }
    let inputs: Vec<SentenceIn> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| SentenceIn { text: &s.text, starts_paragraph: i == 0 || sentences[i - 1].block != s.block })
        .collect();
    let planned = chunk::plan_in_languages(&inputs, |i| block_g2ps[sentences[i].block], config)?;
    Ok(ChapterPlan {
        number: 0,
        title: chapter.title.clone(),
        blocks: planned_blocks,
        sections: chapter.sections.clone(),
        sentences,
        chunks: planned.chunks,
        split_words: planned.split_words,
    })
}

/// One line of `audiobook plan`'s table or JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ChapterSummary {
    pub index: usize,
    pub title: String,
    pub words: usize,
    pub chunks: usize,
    pub tokens: usize,
    pub estimated_ms: u64,
    /// The chapter's sections, each with its rough start in the chapter.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<SectionSummary>,
}

/// A section of a chapter in `audiobook plan`.
#[derive(Debug, Clone, Serialize)]
pub struct SectionSummary {
    pub title: String,
    /// 1 directly below the chapter.
    pub depth: u8,
    /// Estimated start from the chapter's start.
    pub start_ms: u64,
}

impl BookPlan {
    /// Whether this plan is less than the whole book (some chapters, or previews of them).
    pub fn is_partial(&self) -> bool {
        self.preview || self.chapters.len() < self.book_chapters
    }

    /// Keeps the chapters `pick` picks, with the book's numbers; an error when it picks none.
    pub fn pick(mut self, pick: &ChapterPick) -> Result<Self, PickError> {
        self.chapters.retain(|c| pick.picks(c.number, &c.title));
        if self.chapters.is_empty() {
            return Err(PickError::NoneMatch { spec: pick.spec.clone(), chapters: self.book_chapters });
        }
        Ok(self)
    }

    /// Cuts every chapter to its headings and first `sentences` sentences of text (the chunks
    /// are cut between tokens, so what is kept is spoken exactly as in the full plan).
    pub fn preview(mut self, sentences: usize) -> Self {
        for chapter in &mut self.chapters {
            let mut text_sentences = 0;
            let keep = chapter
                .sentences
                .iter()
                .position(|s| {
                    let heading = matches!(chapter.blocks[s.block].kind, BlockKind::Heading { .. });
                    if !heading {
                        text_sentences += 1;
                    }
                    text_sentences > sentences
                })
                .unwrap_or(chapter.sentences.len());
            chapter.sentences.truncate(keep);
            for chunk in &mut chapter.chunks {
                chunk.tokens.retain(|t| t.sentence < keep);
                // Cut the ids at the end of the last kept token (no space left dangling).
                let end = chunk.tokens.last().map_or(0, |t| t.ids.end);
                chunk.ids.truncate(end);
            }
            chapter
                .chunks
                .retain(|c| !c.tokens.is_empty() && (!c.ids.is_empty() || c.tokens.iter().any(|t| t.is_word)));
            chapter.split_words.retain(|w| w.sentence < keep);
        }
        self.preview = true;
        self
    }

    /// One summary per chapter.
    pub fn summaries(&self, speed: f32) -> Vec<ChapterSummary> {
        self.chapters
            .iter()
            .map(|c| ChapterSummary {
                index: c.number,
                title: c.title.clone(),
                words: c.word_count(),
                chunks: c.chunks.len(),
                tokens: c.token_count(),
                estimated_ms: c.estimated_ms(speed),
                sections: c
                    .sections
                    .iter()
                    .zip(c.estimated_section_starts(speed))
                    .map(|(s, start_ms)| SectionSummary { title: s.title.clone(), depth: s.depth, start_ms })
                    .collect(),
            })
            .collect()
    }

    /// Exactly what will be spoken, chapter by chapter, one paragraph a line.
    pub fn spoken_text(&self) -> String {
        let mut out = String::new();
        for chapter in &self.chapters {
            out += &format!("=== {}. {}\n", chapter.number, chapter.title);
            let mut block = None;
            for s in &chapter.sentences {
                if block.is_some_and(|b| b != s.block) {
                    out.push('\n');
                } else if block.is_some() {
                    out.push(' ');
                }
                out += &s.text;
                block = Some(s.block);
            }
            out += "\n\n";
        }
        out
    }
}
