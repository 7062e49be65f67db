//! What a build reports while it runs: one serialisable type, so the progress bar, the log lines,
//! `--json` (one event per line, documented in docs/events.md) and a server's event stream all
//! read the same data.

use serde::{Deserialize, Serialize};

use crate::export::OutputFormat;
use crate::kokoro::PoolStats;

/// One thing that happened in a build. Serialised with its name in the field `event`, in
/// snake_case; chapters are always named by their 1-based `chapter` number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The work ahead, before any chunk is rendered.
    Begin {
        chapters: usize,
        /// Chapters finished by an earlier run.
        chapters_done: usize,
        /// Estimated audio of the chunks this run must render, in ms.
        audio_ms_to_render: u64,
        /// Estimated audio of the whole book, in ms.
        audio_ms_total: u64,
    },
    /// A chapter's first chunk started rendering.
    ChapterStarted { chapter: usize, title: String },
    /// A chunk's audio is stored.
    ChunkRendered { chapter: usize, audio_ms: u64 },
    /// A chunk failed; its chapter is not written this run, the rest of the book goes on.
    ChunkFailed { chapter: usize, text: String, error: String },
    /// A chapter's WAV and sidecar are written.
    ChapterFinished { chapter: usize, title: String, audio: String, timings: String, duration_ms: u64 },
    /// An encoded output file is written (m4b, or one chapter's mp3 or opus), once every chapter
    /// is done.
    OutputWritten { format: OutputFormat, path: String, duration_ms: u64 },
    /// The last event: how the build ended.
    Summary(Summary),
}

/// How a build ended, with the engine's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub outdir: String,
    pub chapters: usize,
    pub chapters_done: usize,
    /// Chapters skipped because an earlier run finished them.
    pub chapters_reused: usize,
    pub chunks_rendered: usize,
    pub chunks_failed: usize,
    /// Audio rendered this run, in ms.
    pub audio_ms_rendered: u64,
    /// The book's total duration, when every chapter is done.
    pub duration_ms: Option<u64>,
    pub interrupted: bool,
    /// Wall time of the whole command, in ms.
    pub wall_ms: u64,
    /// Time to read the model and build the sessions, in ms.
    pub load_ms: u64,
    /// The process's peak resident memory, where the OS reports it.
    pub peak_rss_bytes: Option<u64>,
    /// The session pool's figures.
    pub pool: PoolStats,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_their_name_and_read_back() {
        let event = Event::ChunkRendered { chapter: 2, audio_ms: 1500 };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(json, r#"{"event":"chunk_rendered","chapter":2,"audio_ms":1500}"#);
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }
}
