//! `say`: one text, spoken in one go, held in memory. The path from text to audio that every
//! larger job repeats: script -> chunk -> engine -> timeline.

use serde::Serialize;

use crate::assemble::{Pauses, Timeline, Timing};
use crate::chunk::{self, Chunk, ChunkConfig, ChunkError, SentenceIn};
use crate::error::{Error, Result};
use crate::kokoro::voices::VoicePack;
use crate::kokoro::{SAMPLE_RATE, SessionPool};
use crate::phonemize::Phonemizer;
use crate::script::{self, ScriptOptions};

/// Speech settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeechSettings {
    pub speed: f32,
    pub chunks: ChunkConfig,
    pub pauses: Pauses,
}

/// Spoken text: samples and exact timings.
#[derive(Debug, Clone)]
pub struct Speech {
    pub samples: Vec<f32>,
    pub timing: SpeechTiming,
}

/// The `--timings` file of `say`.
#[derive(Debug, Clone, Serialize)]
pub struct SpeechTiming {
    pub sample_rate: u32,
    pub duration_ms: u64,
    pub sentences: Vec<TimedText>,
    pub words: Vec<TimedText>,
}

/// A piece of text and when it is heard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedText {
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// The most text one `say` takes (about 2.7 million words, 300 hours of speech): it is held in
/// memory while its audio streams out, so a pipe from `/dev/zero` must end somewhere.
pub const MAX_TEXT_BYTES: usize = 16 << 20;

/// Refuses a text with nothing to say in it, or too long to hold, before any model is loaded;
/// `source_name` names it in the error (`<stdin>`, a file, a request field).
pub fn check_text(text: &str, source_name: &str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        Err(Error::TextTooLong { source_name: source_name.into(), limit_mib: MAX_TEXT_BYTES >> 20 })
    } else if text.chars().any(char::is_alphanumeric) {
        Ok(())
    } else {
        Err(Error::EmptyText { source_name: source_name.into() })
    }
}

/// One chunk of speech as it should be heard: `silence` samples of pause, then `samples`, with
/// the exact times (from the start of the whole speech) of what it says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpokenChunk {
    /// Its place in the speech, from 0.
    pub index: usize,
    #[serde(skip)]
    pub silence: usize,
    #[serde(skip)]
    pub samples: Vec<f32>,
    /// Where its audio starts and ends (the silence before it not counted).
    pub start_ms: u64,
    pub end_ms: u64,
    /// The sentences it speaks (a sentence split across chunks is listed in each, with the
    /// times known so far) and its words.
    pub sentences: Vec<TimedText>,
    pub words: Vec<TimedText>,
}

/// Speaks a text chunk by chunk, in order, so a caller can write (or stream) each chunk's audio
/// as soon as it is rendered: memory holds one chunk's audio, not the whole text's. Paragraphs
/// (separated by blank lines) are planned one at a time, as they are reached.
pub struct Speaker<'a> {
    pool: &'a SessionPool,
    voice: &'a VoicePack,
    g2p: &'a Phonemizer,
    settings: SpeechSettings,
    /// Paragraphs not planned yet.
    paragraphs: std::vec::IntoIter<String>,
    /// Every sentence so far, with whether it opens a paragraph (for the timings).
    sentences: Vec<(String, bool)>,
    /// Planned chunks not spoken yet.
    chunks: std::collections::VecDeque<Chunk>,
    timeline: Timeline,
    /// Whether anything was planned yet: the first sentence is a chunk of its own, so that a
    /// listener hears it after one sentence's rendering rather than a whole chunk's.
    started: bool,
}

impl<'a> Speaker<'a> {
    /// A speaker for `text`; an error if it has no words.
    pub fn new(
        text: &str,
        pool: &'a SessionPool,
        voice: &'a VoicePack,
        g2p: &'a Phonemizer,
        settings: &SpeechSettings,
    ) -> Result<Self> {
        check_text(text, "the text")?;
        let paragraphs: Vec<String> = text.split("\n\n").map(str::to_string).collect();
        Ok(Self {
            pool,
            voice,
            g2p,
            settings: *settings,
            paragraphs: paragraphs.into_iter(),
            sentences: Vec::new(),
            chunks: std::collections::VecDeque::new(),
            timeline: Timeline::new(settings.pauses),
            started: false,
        })
    }

    /// Renders the next chunk; `None` once the text is spoken.
    pub fn next_chunk(&mut self) -> Option<Result<SpokenChunk>> {
        while self.chunks.is_empty() {
            let paragraph = self.paragraphs.next()?;
            if let Err(e) = self.plan_paragraph(&paragraph) {
                return Some(Err(e));
            }
        }
        let chunk = self.chunks.pop_front()?;
        let style = self.voice.style_for(chunk.ids.len());
        let rendered = match self.pool.checkout(None).and_then(|mut s| s.infer(&chunk.ids, style, self.settings.speed))
        {
            Ok(rendered) => rendered,
            Err(e) => return Some(Err(e.into())),
        };
        let words_before = self.timeline.timing().words.len();
        let placed = self.timeline.push(&chunk, &rendered);
        let (silence, samples) = (placed.silence, placed.audio.to_vec());
        let timing = self.timeline.timing();
        let Some(placed) = timing.chunks.last() else {
            return Some(Err(Error::EmptyText { source_name: "the text".into() }));
        };
        let text_of = |i: usize| self.sentences.get(i).map(|(t, _)| t.clone()).unwrap_or_default();
        let sentences = timing
            .sentences
            .iter()
            .filter(|s| (placed.sentences[0]..placed.sentences[1]).contains(&s.index))
            .map(|s| TimedText { text: text_of(s.index), start_ms: s.start_ms, end_ms: s.end_ms })
            .collect();
        let words = timing.words[words_before..]
            .iter()
            .map(|w| TimedText { text: w.text.clone(), start_ms: w.start_ms, end_ms: w.end_ms })
            .collect();
        Some(Ok(SpokenChunk {
            index: placed.index,
            silence,
            samples,
            start_ms: placed.start_ms,
            end_ms: placed.end_ms,
            sentences,
            words,
        }))
    }

    /// Ends the speech: the trailing silence to write, and the timings.
    pub fn finish(self) -> (usize, SpeechTiming) {
        let (tail, timing) = self.timeline.finish();
        (tail, speech_timing(timing, &self.sentences))
    }

    /// Plans one paragraph's chunks, numbering its sentences after the ones before.
    fn plan_paragraph(&mut self, paragraph: &str) -> Result<()> {
        let spoken = script::for_listening_with(paragraph, &script_options(self.g2p));
        let base = self.sentences.len();
        for (i, range) in script::sentences(&spoken.text).into_iter().enumerate() {
            self.sentences.push((spoken.text[range].to_string(), i == 0));
        }
        let inputs: Vec<SentenceIn> =
            self.sentences[base..].iter().map(|(t, p)| SentenceIn { text: t, starts_paragraph: *p }).collect();
        let mut chunks = chunk::plan(&inputs, self.g2p, &self.settings.chunks)?;
        for token in chunks.iter_mut().flat_map(|c| &mut c.tokens) {
            token.sentence += base;
        }
        let mut chunks = chunks.into_iter();
        if !self.started
            && let Some(first) = chunks.next()
        {
            self.started = true;
            self.chunks.extend(chunk::split_after_first_sentence(first));
        }
        self.chunks.extend(chunks);
        Ok(())
    }
}

/// A word of a text and the phonemes it is spoken with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WordPhonemes {
    pub word: String,
    pub phonemes: String,
}

/// Each word of `text` with its phonemes, as `say` would speak it (script, lexicon, G2P).
pub fn phonemes(text: &str, g2p: &Phonemizer) -> Result<Vec<WordPhonemes>> {
    let mut words = Vec::new();
    for paragraph in text.split("\n\n") {
        let spoken = script::for_listening_with(paragraph, &script_options(g2p));
        for range in script::sentences(&spoken.text) {
            words.extend(
                g2p.words(&spoken.text[range])
                    .map_err(ChunkError::from)?
                    .into_iter()
                    .filter(|w| w.is_word())
                    .map(|w| WordPhonemes { word: w.text, phonemes: w.phonemes }),
            );
        }
    }
    Ok(words)
}

/// How the script reads text for `g2p`'s language.
fn script_options(g2p: &Phonemizer) -> ScriptOptions {
    ScriptOptions { language: g2p.language(), ..ScriptOptions::default() }
}

/// Speaks `text` whole, in memory (see [`Speaker`] to write as it goes).
pub fn speak(
    text: &str,
    pool: &SessionPool,
    voice: &VoicePack,
    g2p: &Phonemizer,
    settings: &SpeechSettings,
) -> Result<Speech> {
    let mut speaker = Speaker::new(text, pool, voice, g2p, settings)?;
    let mut samples = Vec::new();
    while let Some(chunk) = speaker.next_chunk() {
        let chunk = chunk?;
        samples.resize(samples.len() + chunk.silence, 0.0);
        samples.extend_from_slice(&chunk.samples);
    }
    let (tail, timing) = speaker.finish();
    if timing.words.is_empty() {
        return Err(Error::EmptyText { source_name: "the text".into() });
    }
    samples.resize(samples.len() + tail, 0.0);
    Ok(Speech { samples, timing })
}

fn speech_timing(timing: Timing, sentences: &[(String, bool)]) -> SpeechTiming {
    let text_of = |i: usize| sentences.get(i).map(|(t, _)| t.clone()).unwrap_or_default();
    SpeechTiming {
        sample_rate: SAMPLE_RATE,
        duration_ms: timing.duration_ms,
        sentences: timing
            .sentences
            .iter()
            .map(|s| TimedText { text: text_of(s.index), start_ms: s.start_ms, end_ms: s.end_ms })
            .collect(),
        words: timing
            .words
            .into_iter()
            .map(|w| TimedText { text: w.text, start_ms: w.start_ms, end_ms: w.end_ms })
            .collect(),
    }
}
