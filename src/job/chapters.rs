//! Each chapter's state in a job: its output files, its chunk keys, its own key, and whether an
//! earlier run already finished it; and the manifest records that follow from those states.

use std::collections::HashSet;

use super::chapter::ChapterFiles;
use super::dir::JobDir;
use super::manifest::{self, ChapterRecord, ChunkRecord, ChunkState, Manifest, Settings};
use crate::assemble::sidecar;
use crate::hash;
use crate::plan::BookPlan;

/// Where a chapter stands in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// No chunk of it has started rendering yet.
    Pending,
    /// Some chunk of it has started rendering.
    Started,
    /// Its files are written.
    Done { duration_ms: u64 },
}

/// One chapter of the plan, as the job sees it.
#[derive(Debug, Clone)]
pub struct ChapterState {
    pub files: ChapterFiles,
    /// Its chunks' keys, in order.
    pub keys: Vec<String>,
    /// Hash of everything that changes its WAV and sidecar.
    pub key: String,
    pub progress: Progress,
}

impl ChapterState {
    pub fn is_done(&self) -> bool {
        matches!(self.progress, Progress::Done { .. })
    }

    pub fn duration_ms(&self) -> Option<u64> {
        match self.progress {
            Progress::Done { duration_ms } => Some(duration_ms),
            _ => None,
        }
    }
}

/// Works out every chapter's keys, and which chapters an earlier run finished: same key, both
/// files there (the sidecar gives the duration).
pub fn states(plan: &BookPlan, settings: &Settings, job: &JobDir, previous: Option<&Manifest>) -> Vec<ChapterState> {
    plan.chapters
        .iter()
        .map(|chapter| {
            let files = ChapterFiles::new(chapter.number, plan.book_chapters, &chapter.title);
            let keys: Vec<String> = chapter
                .chunks
                .iter()
                .map(|c| manifest::chunk_key(&settings.model_sha256, &settings.voice, settings.speed, &c.ids))
                .collect();
            let texts: Vec<&str> = chapter.sentences.iter().map(|s| s.text.as_str()).collect();
            let sources: Vec<(String, [usize; 2])> = chapter
                .blocks
                .iter()
                .map(|b| (b.source.file.display().to_string(), [b.source.range.start, b.source.range.end]))
                .collect();
            let key = hash::json_sha256(&(
                sidecar::FORMAT,
                &keys,
                &settings.pauses,
                &chapter.title,
                chapter.number,
                &files.audio,
                &texts,
                &sources,
                chapter.blocks.iter().map(|b| &b.spoken.source).collect::<Vec<_>>(),
            ));
            // Sections are in the sidecar; folded in only when there are some, so that the keys
            // of chapters without sections stay those earlier runs recorded.
            let key = if chapter.sections.is_empty() {
                key
            } else {
                let sections: Vec<_> = chapter.sections.iter().map(|s| (&s.title, s.block, s.depth)).collect();
                hash::json_sha256(&(key, sections))
            };
            let recorded =
                previous.is_some_and(|m| m.chapters.iter().any(|r| r.done && r.key == key && r.audio == files.audio));
            let duration_ms = recorded
                .then(|| job.read_output(&files.timings))
                .flatten()
                .and_then(|json| serde_json::from_slice::<sidecar::ChapterTimings>(&json).ok())
                .filter(|_| job.has_output(&files.audio))
                .map(|timings| timings.duration_ms);
            let progress = duration_ms.map_or(Progress::Pending, |duration_ms| Progress::Done { duration_ms });
            ChapterState { files, keys, key, progress }
        })
        .collect()
}

/// What a partial build would replace, refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WouldReplace {
    #[error("{0} finished chapters outside --chapters")]
    OutsidePick(usize),
    #[error("the finished chapters of a full build with previews")]
    FullBuild,
}

/// Refuses a build of part of a book (picked chapters, previews) where it would delete or
/// overwrite chapters an earlier build of another selection finished.
pub fn check_partial(
    plan: &BookPlan,
    settings: &Settings,
    previous: Option<&Manifest>,
    states: &[ChapterState],
) -> Result<(), WouldReplace> {
    let Some(previous) = previous else { return Ok(()) };
    let done: Vec<&ChapterRecord> = previous.chapters.iter().filter(|r| r.done).collect();
    if done.is_empty() {
        return Ok(());
    }
    let kept = |r: &ChapterRecord| states.iter().any(|s| s.files.audio == r.audio);
    let lost = done.iter().filter(|r| !kept(r)).count();
    if plan.is_partial() && lost > 0 {
        return Err(WouldReplace::OutsidePick(lost));
    }
    if settings.preview && !previous.settings.preview {
        return Err(WouldReplace::FullBuild);
    }
    Ok(())
}

/// Deletes WAVs and sidecars an earlier run made for chapters this plan no longer has.
pub fn remove_stale_outputs(job: &JobDir, previous: Option<&Manifest>, states: &[ChapterState]) {
    let Some(previous) = previous else { return };
    let current: HashSet<&str> =
        states.iter().flat_map(|s| [s.files.audio.as_str(), s.files.timings.as_str()]).collect();
    for record in &previous.chapters {
        for name in [&record.audio, &record.timings] {
            if !current.contains(name.as_str()) {
                job.remove_output(name);
            }
        }
    }
}

/// Keys of the chunks that chapters not yet done still need.
pub fn needed_keys(states: &[ChapterState]) -> HashSet<&String> {
    states.iter().filter(|s| !s.is_done()).flat_map(|s| &s.keys).collect()
}

/// The manifest's chapter records for the states now.
pub fn records(plan: &BookPlan, states: &[ChapterState], job: &JobDir, failed: &HashSet<String>) -> Vec<ChapterRecord> {
    plan.chapters
        .iter()
        .zip(states)
        .map(|(chapter, s)| ChapterRecord {
            number: chapter.number,
            title: chapter.title.clone(),
            key: s.key.clone(),
            audio: s.files.audio.clone(),
            timings: s.files.timings.clone(),
            done: s.is_done(),
            chunks: chapter
                .chunks
                .iter()
                .zip(&s.keys)
                .map(|(c, key)| {
                    let state = if s.is_done() {
                        ChunkState::Assembled
                    } else if job.has_chunk(key) {
                        ChunkState::Rendered
                    } else if failed.contains(key) {
                        ChunkState::Failed
                    } else {
                        ChunkState::Pending
                    };
                    ChunkRecord { key: key.clone(), tokens: c.ids.len(), state }
                })
                .collect(),
        })
        .collect()
}
