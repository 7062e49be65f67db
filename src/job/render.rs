//! Rendering: the missing chunks onto the engine's session pool.
//!
//! One worker thread per session takes the next task from a shared counter (the task list is
//! ordered so no long tail is left), checks a session out for it, checks that no word lost its
//! audio, stores it atomically (in the shared chunk store too, when there is one), and tells the coordinator over a channel.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::time::Instant;

use super::JobError;
use super::dir::{JobDir, encode_chunk};
use super::tasks::Task;
use crate::chunk::Chunk;
use crate::kokoro::voices::VoicePack;
use crate::kokoro::{EngineError, Rendered, SessionPool};
use crate::store::{Chunks, StoreError};

/// Why one chunk could not be rendered; the rest of the book goes on.
#[derive(Debug, thiserror::Error)]
pub enum ChunkFailure {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the model timed {timed} tokens of {expected}")]
    Untimed { timed: usize, expected: usize },
    #[error("the model gave the word '{0}' no time")]
    SilentWord(String),
    #[error(transparent)]
    Store(#[from] JobError),
    #[error(transparent)]
    Shared(#[from] StoreError),
}

/// What a worker tells the coordinator.
#[derive(Debug)]
pub enum Update {
    /// A worker began task `index`.
    Started { index: usize },
    /// Task `index` is stored; `samples` is its raw audio length.
    Rendered { index: usize, samples: usize },
    /// Task `index` failed.
    Failed { index: usize, error: ChunkFailure },
}

/// What every worker shares.
pub struct Renderer<'a> {
    pool: &'a SessionPool,
    voice: &'a VoicePack,
    speed: f32,
    pub job_dir: &'a JobDir,
    pub tasks: &'a [Task<'a>],
    next: AtomicUsize,
    stop: &'a AtomicBool,
    /// The shared store every rendered chunk also goes to, if any.
    store: Option<&'a Chunks>,
    /// Chunk bytes rendered, and as the shared store keeps them.
    pub bytes_raw: AtomicU64,
    pub bytes_stored: AtomicU64,
}

impl<'a> Renderer<'a> {
    /// A renderer of `tasks` on `pool` in `voice`, storing into `job_dir` and, if given, `store`.
    pub fn new(
        pool: &'a SessionPool,
        voice: &'a VoicePack,
        speed: f32,
        job_dir: &'a JobDir,
        tasks: &'a [Task<'a>],
        stop: &'a AtomicBool,
        store: Option<&'a Chunks>,
    ) -> Self {
        Self {
            pool,
            voice,
            speed,
            job_dir,
            tasks,
            next: AtomicUsize::new(0),
            stop,
            store,
            bytes_raw: AtomicU64::new(0),
            bytes_stored: AtomicU64::new(0),
        }
    }

    /// Renders the tasks with one worker per session (no more than there are tasks), handing
    /// each update to `on_update` on the calling thread as it happens. Returns the idle tail: the
    /// session-milliseconds from each worker running out of tasks to the last one's end.
    pub fn run<E>(&self, mut on_update: impl FnMut(Update) -> Result<(), E>) -> Result<u64, E> {
        let workers = self.pool.size().clamp(1, self.tasks.len());
        let (sender, updates) = mpsc::channel();
        std::thread::scope(|scope| {
            let finished: Vec<_> = (0..workers)
                .map(|_| {
                    let sender = sender.clone();
                    scope.spawn(move || {
                        self.work(&sender);
                        Instant::now()
                    })
                })
                .collect();
            drop(sender);
            for update in updates {
                on_update(update)?;
            }
            let end = Instant::now();
            Ok(finished.into_iter().filter_map(|w| w.join().ok()).map(|t| (end - t).as_millis() as u64).sum())
        })
    }

    /// Runs one worker until the tasks run out or a stop is asked for.
    fn work(&self, updates: &Sender<Update>) {
        while !self.stop.load(Ordering::SeqCst) {
            let index = self.next.fetch_add(1, Ordering::SeqCst);
            let Some(task) = self.tasks.get(index) else { return };
            let _ = updates.send(Update::Started { index });
            let update = match self.render(task) {
                Ok(samples) => Update::Rendered { index, samples },
                Err(error) => Update::Failed { index, error },
            };
            if updates.send(update).is_err() {
                return;
            }
        }
    }

    fn render(&self, task: &Task) -> Result<usize, ChunkFailure> {
        let ids = &task.chunk.ids;
        let rendered = self.pool.checkout(None)?.infer(ids, self.voice.style_for(ids.len()), self.speed)?;
        check_every_word_heard(task.chunk, &rendered)?;
        let bytes = encode_chunk(&rendered);
        if let Some(store) = self.store {
            let stored = store.put(&task.key, &bytes)?;
            self.bytes_stored.fetch_add(stored as u64, Ordering::Relaxed);
        }
        self.bytes_raw.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.job_dir.write_chunk_bytes(&task.key, &bytes)?;
        Ok(rendered.samples.len())
    }
}

/// A word whose tokens got no frames would be silently missing from the book: refuse the chunk.
pub fn check_every_word_heard(chunk: &Chunk, rendered: &Rendered) -> Result<(), ChunkFailure> {
    if rendered.frames.len() != chunk.ids.len() + 2 {
        let timed = rendered.frames.len().saturating_sub(2);
        return Err(ChunkFailure::Untimed { timed, expected: chunk.ids.len() });
    }
    for token in chunk.tokens.iter().filter(|t| t.is_word && !t.ids.is_empty()) {
        let frames: u32 = rendered.frames[token.ids.start + 1..token.ids.end + 1].iter().sum();
        if frames == 0 {
            return Err(ChunkFailure::SilentWord(token.text.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{Boundary, TokenSpan};

    #[test]
    fn a_word_without_frames_fails_the_chunk() {
        let token = |text: &str, ids| TokenSpan { sentence: 0, text: text.into(), spoken: 0..0, ids, is_word: true };
        let chunk = Chunk {
            ids: vec![1, 2, 3],
            tokens: vec![token("a", 0..1), token("bc", 1..3)],
            boundary: Boundary::Paragraph,
        };
        let ok = Rendered { samples: vec![], frames: vec![3, 1, 0, 2, 1] };
        assert!(check_every_word_heard(&chunk, &ok).is_ok());
        let silent = Rendered { samples: vec![], frames: vec![3, 1, 0, 0, 1] };
        assert!(check_every_word_heard(&chunk, &silent).unwrap_err().to_string().contains("'bc'"));
        let short = Rendered { samples: vec![], frames: vec![3, 1] };
        assert!(matches!(check_every_word_heard(&chunk, &short), Err(ChunkFailure::Untimed { .. })));
    }
}
