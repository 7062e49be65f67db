//! Assembling one chapter: its chunks, read back from disk one at a time, streamed into a WAV
//! with pauses, and the timing sidecar beside it. Both files appear atomically.

use std::io::{BufWriter, Write};

use super::JobError;
use super::dir::JobDir;
use super::recover;
use crate::assemble::sidecar::ChapterTimings;
use crate::assemble::timeline::Timeline;
use crate::assemble::{Pauses, wav};
use crate::plan::ChapterPlan;

/// A chapter's output file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapterFiles {
    pub audio: String,
    pub timings: String,
}

impl ChapterFiles {
    /// `NN-title.wav` and `NN-title.json`, safe on every OS whatever the title holds.
    pub fn new(number: usize, chapters: usize, title: &str) -> Self {
        let width = chapters.to_string().len().max(2);
        let stem = format!("{number:0width$}-{}", file_stem(title));
        Self { audio: format!("{stem}.wav"), timings: format!("{stem}.json") }
    }
}

/// Letters and digits of any script, lowercased, other runs as one `-`, at most 60 characters.
fn file_stem(title: &str) -> String {
    let mut stem = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            stem.extend(c.to_lowercase());
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let stem: String = stem.chars().take(60).collect();
    let stem = stem.trim_end_matches('-');
    if stem.is_empty() { "chapter".to_string() } else { stem.to_string() }
}

/// Writes the chapter's WAV and sidecar from its stored chunks; returns its duration in ms.
pub fn assemble(
    job: &JobDir,
    plan: &ChapterPlan,
    keys: &[String],
    files: &ChapterFiles,
    pauses: Pauses,
) -> Result<u64, JobError> {
    let path = job.root().join(&files.audio);
    let wav_err = |source: hound::Error| JobError::Wav { path: path.clone(), source };
    let io_err = |source: std::io::Error| JobError::Io { path: path.clone(), source };
    let mut out = BufWriter::new(job.create_output(&files.audio)?);
    let mut writer = hound::WavWriter::new(&mut out, wav::spec()).map_err(wav_err)?;
    let mut timeline = Timeline::new(pauses);
    let write_silence = |writer: &mut hound::WavWriter<_>, n: usize| -> Result<(), hound::Error> {
        (0..n).try_for_each(|_| writer.write_sample(0i16))
    };
    let mut places = Vec::with_capacity(keys.len());
    let mut offset = 0;
    for (chunk, key) in plan.chunks.iter().zip(keys) {
        let rendered = job.read_chunk(key)?;
        let placed = timeline.push(chunk, &rendered);
        write_silence(&mut writer, placed.silence).map_err(wav_err)?;
        for &s in placed.audio {
            writer.write_sample(wav::pcm16(s)).map_err(wav_err)?;
        }
        offset += placed.silence as u64;
        places.push(recover::Place::new(key, offset, &placed, &rendered));
        offset += placed.audio.len() as u64;
    }
    let (tail, timing) = timeline.finish();
    write_silence(&mut writer, tail).map_err(wav_err)?;
    writer.finalize().map_err(wav_err)?;
    out.flush().map_err(io_err)?;
    let audio = out.into_inner().map_err(|e| io_err(e.into_error()))?;

    let sidecar = ChapterTimings::new(plan, &files.audio, &timing);
    let timings_path = job.root().join(&files.timings);
    let json = serde_json::to_vec_pretty(&sidecar).map_err(|source| JobError::Json { path: timings_path, source })?;
    audio.commit().map_err(io_err)?;
    job.write_output(&files.timings, &json)?;
    recover::save(job, &files.audio, places);
    Ok(timing.duration_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_numbered_and_safe() {
        let f = ChapterFiles::new(3, 12, "Chapter III: Down the Rabbit-Hole!");
        assert_eq!(f.audio, "03-chapter-iii-down-the-rabbit-hole.wav");
        assert_eq!(ChapterFiles::new(7, 140, "CON/../*?").audio, "007-con.wav");
        assert_eq!(ChapterFiles::new(1, 1, "«»").timings, "01-chapter.json");
        assert_eq!(ChapterFiles::new(2, 9, "Глава 1").audio, "02-глава-1.wav");
        assert!(ChapterFiles::new(1, 1, &"x".repeat(500)).audio.len() < 70);
    }
}
