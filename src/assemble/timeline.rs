//! The timeline of one chapter (or one `say`): chunks in order, pauses between them, and the
//! exact start and end of every chunk, sentence and word.
//!
//! Times come from the model's frame counts (25 ms each), so they are exact, not estimated. Each
//! chunk's audio keeps only a little of the silence the model puts at its edges (the frames of the
//! start and end pads); the pause before a chunk is then ours, chosen by what precedes it.

use serde::{Deserialize, Serialize};

use crate::chunk::{Boundary, Chunk};
use crate::kokoro::{Rendered, SAMPLE_RATE, SAMPLES_PER_FRAME};

const SAMPLES_PER_MS: u64 = SAMPLE_RATE as u64 / 1000;

/// Silences in milliseconds, put between chunks after each chunk's own edge silence is cut down to
/// `edge_frames`. Inside a chunk the model makes its own pauses at punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pauses {
    /// Before the first chunk.
    pub lead_in_ms: u32,
    /// Before a chunk that starts a paragraph.
    pub paragraph_ms: u32,
    /// Before a chunk that starts a sentence inside a paragraph.
    pub sentence_ms: u32,
    /// Before a chunk that continues a sentence too long for one call.
    pub clause_ms: u32,
    /// After the last chunk.
    pub tail_ms: u32,
    /// Edge silence kept from each chunk's start and end pads, in frames of 25 ms.
    pub edge_frames: u32,
}

impl Default for Pauses {
    fn default() -> Self {
        Self { lead_in_ms: 300, paragraph_ms: 600, sentence_ms: 250, clause_ms: 150, tail_ms: 700, edge_frames: 2 }
    }
}

impl Pauses {
    fn before(&self, boundary: Boundary, first: bool) -> u32 {
        match (first, boundary) {
            (true, _) => self.lead_in_ms,
            (false, Boundary::Paragraph) => self.paragraph_ms,
            (false, Boundary::Sentence) => self.sentence_ms,
            (false, Boundary::Clause) => self.clause_ms,
        }
    }
}

/// Exact times of everything spoken, in milliseconds from the start of the audio.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub duration_ms: u64,
    pub chunks: Vec<ChunkTime>,
    pub sentences: Vec<SentenceTime>,
    pub words: Vec<WordTime>,
}

/// When one chunk is heard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkTime {
    pub index: usize,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Index of its first and one past its last sentence.
    pub sentences: [usize; 2],
}

/// When one sentence is heard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceTime {
    pub index: usize,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// When one word is heard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordTime {
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub sentence: usize,
    /// Byte range of the word in its sentence's spoken text.
    pub spoken: [usize; 2],
}

/// Where a pushed chunk goes: `silence` zero samples, then `audio`.
#[derive(Debug)]
pub struct Placed<'a> {
    pub silence: usize,
    pub audio: &'a [f32],
    /// Frames cut from the chunk's start and end (silence beyond what the edges keep).
    pub cut_frames: [usize; 2],
}

/// Builds a [`Timing`] as chunks arrive in order.
#[derive(Debug)]
pub struct Timeline {
    pauses: Pauses,
    position: u64,
    timing: Timing,
}

impl Timeline {
    pub fn new(pauses: Pauses) -> Self {
        Self { pauses, position: 0, timing: Timing::default() }
    }

    /// Places the next chunk; the caller writes the returned silence and audio, in that order.
    pub fn push<'a>(&mut self, chunk: &Chunk, rendered: &'a Rendered) -> Placed<'a> {
        let first = self.timing.chunks.is_empty();
        let silence = ms_to_samples(self.pauses.before(chunk.boundary, first));
        self.position += silence;

        let frames = &rendered.frames;
        let (cut_start, cut_end) = edge_cuts(rendered, self.pauses.edge_frames as usize);
        let (from, to) = (cut_start * SAMPLES_PER_FRAME, rendered.samples.len() - cut_end * SAMPLES_PER_FRAME);
        let audio = &rendered.samples[from..to.max(from)];
        let audio_frames = (audio.len() / SAMPLES_PER_FRAME) as u64;

        // frame_at[i] = frames before token id i of the chunk (pads counted), minus the cut.
        // Clamped to the audio kept: the closing punctuation's frames may reach into the cut.
        let mut frame_at = Vec::with_capacity(frames.len());
        let mut sum: u64 = 0;
        for &f in &frames[..frames.len().saturating_sub(1)] {
            sum += f as u64;
            frame_at.push(sum.saturating_sub(cut_start as u64).min(audio_frames));
        }
        let at = |token: usize| {
            let f = frame_at.get(token).copied().unwrap_or(audio_frames);
            samples_to_ms(self.position + f * SAMPLES_PER_FRAME as u64)
        };
        for token in &chunk.tokens {
            let (start_ms, end_ms) = (at(token.ids.start), at(token.ids.end));
            if token.is_word {
                self.timing.words.push(WordTime {
                    text: token.text.clone(),
                    start_ms,
                    end_ms,
                    sentence: token.sentence,
                    spoken: [token.spoken.start, token.spoken.end],
                });
            }
            // A sentence runs from its first token to its last word; the pause after it is not in it.
            match self.timing.sentences.last_mut() {
                Some(s) if s.index == token.sentence => {
                    if token.is_word {
                        s.end_ms = end_ms;
                    }
                }
                _ => self.timing.sentences.push(SentenceTime { index: token.sentence, start_ms, end_ms }),
            }
        }
        let start_ms = samples_to_ms(self.position);
        self.position += audio.len() as u64;
        let sentences = match (chunk.tokens.first(), chunk.tokens.last()) {
            (Some(a), Some(b)) => [a.sentence, b.sentence + 1],
            _ => [0, 0],
        };
        let index = self.timing.chunks.len();
        self.timing.chunks.push(ChunkTime { index, start_ms, end_ms: samples_to_ms(self.position), sentences });
        Placed { silence: silence as usize, audio, cut_frames: [cut_start, cut_end] }
    }

    /// Everything placed so far.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// Ends the timeline: the trailing silence to write, and the timing.
    pub fn finish(mut self) -> (usize, Timing) {
        let tail = ms_to_samples(self.pauses.tail_ms);
        self.position += tail;
        self.timing.duration_ms = samples_to_ms(self.position);
        (tail as usize, self.timing)
    }
}

/// Frames quieter than this (RMS, about -60 dBFS) count as silence at a chunk's edges.
const SILENCE_RMS: f32 = 1e-3;

/// Whole frames to cut from the start and the end of a chunk's audio: the silent frames at each
/// edge beyond `keep`. At the start, never more than the start pad's frames, so speech (which can
/// begin a frame or two before the durations say) is never clipped.
fn edge_cuts(rendered: &Rendered, keep: usize) -> (usize, usize) {
    let total = rendered.samples.len() / SAMPLES_PER_FRAME;
    let silent = |f: &usize| {
        let frame = &rendered.samples[f * SAMPLES_PER_FRAME..(f + 1) * SAMPLES_PER_FRAME];
        (frame.iter().map(|s| s * s).sum::<f32>() / SAMPLES_PER_FRAME as f32).sqrt() < SILENCE_RMS
    };
    let start_pad = rendered.frames.first().copied().unwrap_or(0) as usize;
    let lead = (0..total).take_while(silent).count().min(start_pad);
    let trail = (lead..total).rev().take_while(silent).count();
    (lead.saturating_sub(keep), trail.saturating_sub(keep))
}

fn ms_to_samples(ms: u32) -> u64 {
    ms as u64 * SAMPLES_PER_MS
}

fn samples_to_ms(samples: u64) -> u64 {
    samples / SAMPLES_PER_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::TokenSpan;

    fn chunk(words: &[(&str, std::ops::Range<usize>)], boundary: Boundary, sentence: usize) -> Chunk {
        let tokens = words
            .iter()
            .map(|(t, ids)| TokenSpan {
                sentence,
                text: t.to_string(),
                spoken: 0..t.len(),
                ids: ids.clone(),
                is_word: t.chars().any(char::is_alphanumeric),
            })
            .collect();
        let n = words.last().map_or(0, |(_, r)| r.end);
        Chunk { ids: vec![43; n], tokens, boundary }
    }

    /// Audio of `frames`, silent for the first `quiet_start` and last `quiet_end` frames.
    fn rendered(frames: &[u32], quiet_start: usize, quiet_end: usize) -> Rendered {
        let n = frames.iter().sum::<u32>() as usize;
        let samples =
            (0..n * SAMPLES_PER_FRAME)
                .map(|i| {
                    if i / SAMPLES_PER_FRAME < quiet_start || i / SAMPLES_PER_FRAME >= n - quiet_end {
                        0.0
                    } else {
                        0.1
                    }
                })
                .collect();
        Rendered { samples, frames: frames.to_vec() }
    }

    #[test]
    fn word_times_are_frames_times_25ms_after_the_pause_and_the_cut_edge() {
        let pauses = Pauses { lead_in_ms: 100, sentence_ms: 350, tail_ms: 1000, edge_frames: 1, ..Pauses::default() };
        let mut timeline = Timeline::new(pauses);
        // Frames: start pad 4, "hi" 2 + 3, "," 1, end pad 5; 3 silent frames lead, 6 trail.
        let c = chunk(&[("hi", 0..2), (",", 2..3)], Boundary::Paragraph, 0);
        let r = rendered(&[4, 2, 3, 1, 5], 3, 6);
        let placed = timeline.push(&c, &r);
        assert_eq!(placed.silence, 100 * 24);
        assert_eq!(placed.audio.len(), 8 * SAMPLES_PER_FRAME, "2 of 3 leading and 5 of 6 trailing frames cut");
        let second = chunk(&[("yo", 0..1)], Boundary::Sentence, 1);
        timeline.push(&second, &rendered(&[2, 4, 2], 1, 1));
        let (tail, timing) = timeline.finish();
        assert_eq!(tail, 1000 * 24);
        assert_eq!(timing.words.len(), 2, "punctuation is not a word");
        assert_eq!((timing.words[0].start_ms, timing.words[0].end_ms), (150, 275));
        assert_eq!(timing.chunks[0].end_ms, 300);
        assert_eq!(timing.sentences[0].end_ms, 275, "a sentence ends with its last word");
        assert_eq!((timing.words[1].start_ms, timing.words[1].end_ms), (700, 800));
        assert_eq!(timing.duration_ms, 650 + 200 + 1000);
    }

    #[test]
    fn speech_before_the_durations_say_is_never_cut() {
        // Speech starts in frame 1 though the start pad lasts 4 frames.
        let r = rendered(&[4, 2, 2], 1, 0);
        assert_eq!(edge_cuts(&r, 0), (1, 0));
        assert_eq!(edge_cuts(&rendered(&[2, 2, 2], 4, 0), 1), (1, 0), "never past the start pad");
    }
}
