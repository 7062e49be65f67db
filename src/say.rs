//! `say`: one text, spoken in one go, held in memory. The path from text to audio that every
//! larger job repeats: script -> chunk -> engine -> timeline.

use serde::Serialize;

use crate::assemble::{Pauses, Timeline, Timing};
use crate::chunk::{self, ChunkConfig, SentenceIn};
use crate::error::{Error, Result};
use crate::kokoro::voices::VoicePack;
use crate::kokoro::{SAMPLE_RATE, SessionPool};
use crate::phonemize::Phonemizer;
use crate::script;

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
#[derive(Debug, Clone, Serialize)]
pub struct TimedText {
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Speaks `text` on a session of `pool` (one chunk at a time, so concurrent callers share the
/// pool fairly). Paragraphs are separated by blank lines.
pub fn speak(
    text: &str,
    pool: &SessionPool,
    voice: &VoicePack,
    g2p: &Phonemizer,
    settings: &SpeechSettings,
) -> Result<Speech> {
    let mut sentences = Vec::new();
    for paragraph in text.split("\n\n") {
        let spoken = script::for_listening(paragraph);
        for (i, range) in script::sentences(&spoken.text).into_iter().enumerate() {
            sentences.push((spoken.text[range].to_string(), i == 0));
        }
    }
    if sentences.is_empty() {
        return Err(Error::EmptyText { source_name: "the text".into() });
    }
    let inputs: Vec<SentenceIn> = sentences.iter().map(|(t, p)| SentenceIn { text: t, starts_paragraph: *p }).collect();
    let chunks = chunk::plan(&inputs, g2p, &settings.chunks)?;

    let mut samples = Vec::new();
    let mut timeline = Timeline::new(settings.pauses);
    for chunk in &chunks {
        let rendered = pool.checkout(None)?.infer(&chunk.ids, voice.style_for(chunk.ids.len()), settings.speed)?;
        let placed = timeline.push(chunk, &rendered);
        samples.resize(samples.len() + placed.silence, 0.0);
        samples.extend_from_slice(placed.audio);
    }
    let (tail, timing) = timeline.finish();
    samples.resize(samples.len() + tail, 0.0);
    Ok(Speech { samples, timing: speech_timing(timing, &sentences) })
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
