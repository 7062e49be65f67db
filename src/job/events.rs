//! What a build reports while it runs: one serialisable type, so the progress bar, the log lines,
//! `--json` (one event per line, documented in docs/src/events.md) and a server's event stream all
//! read the same data.

use serde::{Deserialize, Serialize};

use super::Outcome;
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
    /// The last event of a shard run (`build --shard`): what it put in the store.
    ShardDone(super::shard::ShardReport),
}

/// How a build ended (the job's [`Outcome`], its fields inline), with the engine's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub outdir: String,
    #[serde(flatten)]
    pub outcome: Outcome,
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

    #[test]
    fn the_summary_carries_the_outcome_inline() {
        let outcome = Outcome {
            chapters: 2,
            chapters_done: 2,
            chapters_reused: 1,
            chunks_rendered: 3,
            chunks_failed: 0,
            audio_ms_rendered: 9000,
            interrupted: false,
            duration_ms: Some(20_000),
            idle_tail_ms: 1200,
        };
        let pool = PoolStats {
            sessions: 2,
            busy: 0,
            waiting: 0,
            chunks: 3,
            errors: 0,
            audio_ms: 9000,
            busy_ms: 4000,
            x_real_time: 2.25,
            load_ms: 700,
        };
        let summary =
            Summary { outdir: "out".into(), outcome, wall_ms: 5000, load_ms: 800, peak_rss_bytes: None, pool };
        let json: serde_json::Value = serde_json::to_value(Event::Summary(summary.clone())).unwrap();
        assert_eq!((json["event"].as_str(), json["chapters_reused"].as_u64()), (Some("summary"), Some(1)));
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), Event::Summary(summary));
    }
}
