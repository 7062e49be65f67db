//! `manifest.json`: what a job was asked to do and how far it got, so a run killed at any moment
//! resumes where it stopped, and a person can see what the folder holds.
//!
//! A chunk's key is a hash of everything that changes its audio, so a chunk whose file exists
//! never needs rendering again; a chapter whose key is unchanged and whose files exist is done.
//! The chunk files are the truth; the manifest records chapters and explains the folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::assemble::Pauses;
use crate::export::OutputFormat;
use crate::hash;
use crate::ingest::{self, Book};

/// Version of this file's schema; bumped when a field changes meaning.
pub const MANIFEST_VERSION: u32 = 1;
/// Bumped whenever the chunk key's inputs or meaning change.
const KEY_VERSION: &str = "audiobook-chunk-v1";

/// The key of a chunk: sha256 over the model, the voice, the speed and the token ids.
pub fn chunk_key(model_sha256: &str, voice: &str, speed: f32, ids: &[i64]) -> String {
    let mut hasher = Sha256::new();
    for part in [KEY_VERSION, model_sha256, voice] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(speed.to_bits().to_le_bytes());
    for id in ids {
        hasher.update(id.to_le_bytes());
    }
    hash::hex(&hasher.finalize())
}

/// What the build was asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub voice: String,
    pub speed: f32,
    pub model_sha256: String,
    pub pauses: Pauses,
    pub chunk_target_tokens: usize,
    /// A preview build (`--preview`): each chapter cut to its first sentences.
    #[serde(default)]
    pub preview: bool,
}

/// An input file and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    pub path: String,
    pub sha256: String,
}

impl InputRecord {
    /// The files `book` was read from, with their hashes (files that cannot be read again, such
    /// as stdin, are left out).
    pub fn from_book(book: &Book) -> Vec<Self> {
        // Blocks share a handful of sources: resolve each distinct one once (it looks at the disk).
        let sources: BTreeMap<&Path, &ingest::Source> =
            book.chapters.iter().flat_map(|c| &c.blocks).map(|b| (b.source.file.as_path(), &b.source)).collect();
        let files: BTreeSet<PathBuf> = sources.into_values().map(ingest::Source::path_on_disk).collect();
        files
            .into_iter()
            .filter_map(|path| {
                let sha256 = hash::file_sha256(&path).ok()?;
                Some(Self { path: path.display().to_string(), sha256 })
            })
            .collect()
    }
}

/// A chapter's outputs and state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChapterRecord {
    pub number: usize,
    pub title: String,
    /// Hash of everything that changes the chapter's WAV and sidecar.
    pub key: String,
    pub audio: String,
    pub timings: String,
    pub done: bool,
    pub chunks: Vec<ChunkRecord>,
}

/// Where a chunk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkState {
    /// Not rendered yet.
    Pending,
    /// Its audio is in the chunk store.
    Rendered,
    /// Rendering failed this run; the next run retries it.
    Failed,
    /// Its audio is in the chapter's WAV (and may be gone from the store).
    Assembled,
}

/// A chunk and its state when the manifest was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRecord {
    pub key: String,
    pub tokens: usize,
    pub state: ChunkState,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub settings: Settings,
    pub inputs: Vec<InputRecord>,
    pub chapters: Vec<ChapterRecord>,
    /// The book's loudness once measured (absent in manifests older than the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness: Option<LoudnessRecord>,
    /// Encoded outputs (m4b, mp3, opus) and what they were made from.
    #[serde(default)]
    pub outputs: Vec<OutputRecord>,
}

/// The book's loudness as measured from its chapter WAVs, kept so a rerun need not read every
/// WAV again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoudnessRecord {
    /// Hash of the chapters' keys: the measurement holds while they do.
    pub key: String,
    pub measured_lufs: f64,
    pub true_peak_dbtp: f64,
    /// What the limiter does to these chapters at one gain (absent in manifests older than the
    /// field, or before a limiter pass): kept so a rerun need not run the WAVs through it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limiting: Option<LimitingRecord>,
}

/// The most gain reduction the limiter applies to the book at `gain_db` with its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitingRecord {
    pub gain_db: f64,
    /// [`crate::export::limiter::SETTINGS`] when it was run: other settings limit differently.
    pub limiter: String,
    pub limited_db: f64,
}

/// An encoded output: its files, and the key over everything they were made from (chapters,
/// encoder settings, tags, cover, gain). A rerun with the same key and the files there skips it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub format: OutputFormat,
    pub key: String,
    pub files: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_change_with_everything_that_changes_audio() {
        let base = chunk_key("m", "bf_lily", 1.0, &[1, 2, 3]);
        assert_eq!(base, chunk_key("m", "bf_lily", 1.0, &[1, 2, 3]));
        assert_ne!(base, chunk_key("m2", "bf_lily", 1.0, &[1, 2, 3]));
        assert_ne!(base, chunk_key("m", "af_heart", 1.0, &[1, 2, 3]));
        assert_ne!(base, chunk_key("m", "bf_lily", 1.1, &[1, 2, 3]));
        assert_ne!(base, chunk_key("m", "bf_lily", 1.0, &[1, 2, 4]));
    }

    #[test]
    fn chunk_states_are_written_as_words() {
        let record = ChunkRecord { key: "k".into(), tokens: 3, state: ChunkState::Assembled };
        assert!(serde_json::to_string(&record).unwrap().contains(r#""state":"assembled""#));
    }
}
