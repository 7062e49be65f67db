//! Rendering: chunks onto a rayon pool of Kokoro sessions, one session per pool thread.
//!
//! Workers take the next job from a shared counter (the job list is ordered so the biggest
//! chunks of the last chapter go first, leaving no long tail), render it, check that no word
//! lost its audio, store it atomically, and report to the coordinator over a channel.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;

use ort::environment::Environment;

use crate::chunk::Chunk;
use crate::kokoro::voices::VoicePack;
use crate::kokoro::{Kokoro, ModelBytes, Rendered, SessionConfig};
use crate::manifest::JobDir;

/// One chunk to render.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    /// Index of its chapter in the plan.
    pub chapter: usize,
    pub chunk: &'a Chunk,
    pub key: String,
}

/// What workers tell the coordinator.
#[derive(Debug)]
pub enum Event {
    /// A worker began job `index`.
    Started { index: usize },
    /// Job `index` is on disk; `samples` is its raw audio length.
    Rendered { index: usize, samples: usize },
    /// Job `index` failed; the rest of the book goes on.
    Failed { index: usize, error: String },
}

/// Builds `count` sessions side by side; returns them and the longest build time in ms. The
/// caller may drop the model bytes afterwards: ONNX Runtime keeps its own copy.
pub fn load_sessions(
    env: &Environment,
    model: &ModelBytes,
    config: SessionConfig,
    count: usize,
) -> Result<(Vec<Kokoro>, u64), String> {
    std::thread::scope(|scope| {
        let loading: Vec<_> = (0..count)
            .map(|_| {
                scope.spawn(|| {
                    let started = std::time::Instant::now();
                    Kokoro::load(env, model, config).map(|s| (s, started.elapsed().as_millis() as u64))
                })
            })
            .collect();
        let mut sessions = Vec::with_capacity(count);
        let mut longest = 0;
        for handle in loading {
            let (session, ms) =
                handle.join().map_err(|_| "a session thread panicked".to_string())?.map_err(|e| e.to_string())?;
            sessions.push(session);
            longest = longest.max(ms);
        }
        Ok((sessions, longest))
    })
}

/// What every worker shares.
pub struct Renderer<'a> {
    /// One session per worker, taken by each as it starts.
    pub sessions: Mutex<Vec<Kokoro>>,
    pub voice: &'a VoicePack,
    pub speed: f32,
    pub job_dir: &'a JobDir,
    pub jobs: &'a [Job<'a>],
    pub next: AtomicUsize,
    pub stop: &'a AtomicBool,
}

impl Renderer<'_> {
    /// Runs one worker until the jobs run out or a stop is asked for.
    pub fn work(&self, events: &Sender<Event>) {
        let Some(mut session) = self.sessions.lock().ok().and_then(|mut s| s.pop()) else { return };
        while !self.stop.load(Ordering::SeqCst) {
            let index = self.next.fetch_add(1, Ordering::SeqCst);
            let Some(job) = self.jobs.get(index) else { return };
            let _ = events.send(Event::Started { index });
            let event = match self.render(&mut session, job) {
                Ok(samples) => Event::Rendered { index, samples },
                Err(error) => Event::Failed { index, error },
            };
            if events.send(event).is_err() {
                return;
            }
        }
    }

    fn render(&self, session: &mut Kokoro, job: &Job) -> Result<usize, String> {
        let ids = &job.chunk.ids;
        let rendered = session.infer(ids, self.voice.style_for(ids.len()), self.speed).map_err(|e| e.to_string())?;
        check_every_word_heard(job.chunk, &rendered)?;
        self.job_dir.write_chunk(&job.key, &rendered).map_err(|e| e.to_string())?;
        Ok(rendered.samples.len())
    }
}

/// A word whose tokens got no frames would be silently missing from the book: refuse the chunk.
pub fn check_every_word_heard(chunk: &Chunk, rendered: &Rendered) -> Result<(), String> {
    if rendered.frames.len() != chunk.ids.len() + 2 {
        return Err(format!(
            "the model timed {} tokens of {}",
            rendered.frames.len().saturating_sub(2),
            chunk.ids.len()
        ));
    }
    for token in chunk.tokens.iter().filter(|t| t.is_word && !t.ids.is_empty()) {
        let frames: u32 = rendered.frames[token.ids.start + 1..token.ids.end + 1].iter().sum();
        if frames == 0 {
            return Err(format!("the model gave the word '{}' no time", token.text));
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
        assert!(check_every_word_heard(&chunk, &silent).unwrap_err().contains("'bc'"));
        let short = Rendered { samples: vec![], frames: vec![3, 1] };
        assert!(check_every_word_heard(&chunk, &short).is_err());
    }
}
