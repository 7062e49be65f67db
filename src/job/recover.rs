//! Chunks back from finished chapter WAVs, so that a change to a few sentences (a lexicon entry,
//! an edited paragraph) renders only the chunks it touches even after the chunk store was
//! cleaned.
//!
//! When a chapter is assembled, where each chunk's audio landed in its WAV (offset, length, the
//! silent frames cut from its edges and its frame counts) is saved beside the manifest. A later
//! run that needs a chunk an earlier WAV holds rebuilds it from those samples before anything is
//! rendered or replaced: the cut frames were silence below the cut threshold and come back as
//! zeros, which cut the same way, and 16-bit samples read back as floats write the same 16-bit
//! samples, so the chapter assembled from recovered chunks is the one rendering would give.
//! A WAV whose hash differs from the one recorded (edited by hand, half written) is not used.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::dir::{JobDir, STATE_DIR};
use super::manifest::Manifest;
use crate::assemble::timeline::Placed;
use crate::kokoro::{Rendered, SAMPLES_PER_FRAME};

/// Version of the places file.
const FORMAT: u32 = 1;

/// Where each chunk of a chapter is in its WAV.
#[derive(Debug, Serialize, Deserialize)]
struct Places {
    format: u32,
    /// The WAV's sha256 when it was written.
    sha256: String,
    chunks: Vec<Place>,
}

/// One chunk's audio in a chapter WAV.
#[derive(Debug, Serialize, Deserialize)]
pub struct Place {
    key: String,
    /// First sample of its audio in the WAV, and how many.
    offset: u64,
    samples: u64,
    /// Frames cut from its start and end when it was placed.
    cut_frames: [usize; 2],
    /// The model's frames per token.
    frames: Vec<u32>,
}

impl Place {
    pub fn new(key: &str, offset: u64, placed: &Placed, rendered: &Rendered) -> Self {
        Self {
            key: key.to_string(),
            offset,
            samples: placed.audio.len() as u64,
            cut_frames: placed.cut_frames,
            frames: rendered.frames.clone(),
        }
    }
}

fn places_path(job: &JobDir, audio: &str) -> PathBuf {
    job.root().join(STATE_DIR).join("places").join(format!("{audio}.json"))
}

/// Records where `audio`'s chunks are. Best effort: without the record a later change renders
/// the chapter's chunks again, nothing worse.
pub fn save(job: &JobDir, audio: &str, chunks: Vec<Place>) {
    let Ok(sha256) = crate::hash::file_sha256(&job.root().join(audio)) else { return };
    let places = Places { format: FORMAT, sha256, chunks };
    if let Ok(json) = serde_json::to_vec(&places) {
        let _ = crate::atomic::write(&places_path(job, audio), &json);
    }
}

/// Stores every chunk in `wanted` that is not stored but is in a finished chapter WAV of the
/// previous run; returns how many.
pub fn chunks(job: &JobDir, previous: Option<&Manifest>, wanted: &HashSet<&String>) -> usize {
    let Some(previous) = previous else { return 0 };
    let mut recovered = 0;
    for record in previous.chapters.iter().filter(|r| r.done) {
        let missing = |key: &String| wanted.contains(key) && !job.has_chunk(key);
        if !record.chunks.iter().any(|c| missing(&c.key)) {
            continue;
        }
        let Some(places) = std::fs::read(places_path(job, &record.audio))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Places>(&bytes).ok())
            .filter(|p| p.format == FORMAT)
        else {
            continue;
        };
        let wav = job.root().join(&record.audio);
        if crate::hash::file_sha256(&wav).ok().as_ref() != Some(&places.sha256) {
            continue;
        }
        let Ok(samples) = read_samples(&wav) else { continue };
        for place in places.chunks.iter().filter(|p| missing(&p.key)) {
            if let Some(rendered) = rebuild(place, &samples)
                && job.write_chunk(&place.key, &rendered).is_ok()
            {
                recovered += 1;
            }
        }
    }
    recovered
}

fn read_samples(path: &std::path::Path) -> Result<Vec<i16>, hound::Error> {
    hound::WavReader::open(path)?.samples::<i16>().collect()
}

/// The chunk as the model gave it, up to the silence cut from its edges (zeros now).
fn rebuild(place: &Place, wav: &[i16]) -> Option<Rendered> {
    let start = usize::try_from(place.offset).ok()?;
    let audio = wav.get(start..start.checked_add(usize::try_from(place.samples).ok()?)?)?;
    let [before, after] = place.cut_frames.map(|f| f * SAMPLES_PER_FRAME);
    let mut samples = vec![0.0; before];
    samples.extend(audio.iter().map(|&s| f32::from(s) / f32::from(i16::MAX)));
    samples.resize(samples.len() + after, 0.0);
    let total: usize = place.frames.iter().map(|&f| f as usize).sum();
    (samples.len() == total * SAMPLES_PER_FRAME).then(|| Rendered { samples, frames: place.frames.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble::wav::pcm16;

    #[test]
    fn a_chunk_rebuilt_from_its_wav_samples_writes_the_same_samples() {
        let audio: Vec<f32> = (0..SAMPLES_PER_FRAME * 3).map(|i| ((i as f32) * 0.01).sin() * 0.7).collect();
        let wav: Vec<i16> = [vec![0i16; 100], audio.iter().map(|&s| pcm16(s)).collect(), vec![0; 50]].concat();
        let place = Place {
            key: "k".into(),
            offset: 100,
            samples: audio.len() as u64,
            cut_frames: [2, 1],
            frames: vec![3, 1, 2],
        };
        let rendered = rebuild(&place, &wav).unwrap();
        assert_eq!(rendered.samples.len(), 6 * SAMPLES_PER_FRAME);
        let kept = &rendered.samples[2 * SAMPLES_PER_FRAME..5 * SAMPLES_PER_FRAME];
        assert_eq!(kept.iter().map(|&s| pcm16(s)).collect::<Vec<_>>(), &wav[100..100 + audio.len()]);
        assert!(rendered.samples[..2 * SAMPLES_PER_FRAME].iter().all(|&s| s == 0.0));
        assert!(rebuild(&Place { offset: 10_000, ..place }, &wav).is_none(), "outside the WAV");
    }
}
