//! `build`: a planned book to chapter WAVs with timing sidecars and `book.json`, resumably.
//!
//! The coordinator (this module, on the calling thread) works out what is already done from the
//! job folder, hands the missing chunks to a pool of sessions (`render`), assembles each chapter
//! as soon as all its chunks are on disk (`chapter`), and records it in the manifest. A run killed
//! at any point loses at most the chunks being rendered; the same command later skips everything
//! finished and ends with the same bytes as a run never interrupted.

pub mod chapter;
pub mod render;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

use ort::environment::Environment;

use self::chapter::{AssembleError, ChapterFiles};
use self::render::{Event, Job, Renderer};
use crate::assemble::Pauses;
use crate::assemble::sidecar::{self, BookChapter, BookIndex};
use crate::chunk::ChunkConfig;
use crate::ingest::BookMeta;
use crate::kokoro::voices::VoicePack;
use crate::kokoro::{ModelBytes, SAMPLE_RATE, SessionConfig};
use crate::manifest::{self, ChapterRecord, ChunkRecord, InputRecord, JobDir, JobError, Manifest, Settings};
use crate::plan::{BookPlan, estimated_chunk_ms};

/// Errors that stop a build as a whole (a failed chunk only makes it partial).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Assemble(#[from] AssembleError),
    #[error("no model session could be started: {0}")]
    NoSession(String),
    #[error("cannot start the worker pool: {0}")]
    Pool(String),
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    pub outdir: PathBuf,
    pub voice: String,
    pub speed: f32,
    /// Sessions rendering at once.
    pub jobs: usize,
    pub session: SessionConfig,
    pub pauses: Pauses,
    pub chunks: ChunkConfig,
}

/// The engine pieces a build renders with. The model bytes are dropped once the sessions are
/// built, so they do not sit in memory for the whole book.
pub struct Engine<'a> {
    pub env: &'a Environment,
    pub model: ModelBytes,
    pub model_sha256: &'a str,
    pub voice: &'a VoicePack,
}

/// What happens during a build, for progress bars, log lines or JSON events.
pub trait Progress {
    /// The work ahead: estimated audio of the chunks to render, and of the whole book.
    fn begin(&mut self, chapters: usize, chapters_done: usize, audio_ms_to_render: u64, audio_ms_total: u64);
    /// A chapter's first chunk started rendering.
    fn chapter_started(&mut self, number: usize, title: &str);
    /// A chunk is rendered; `audio_ms` is its length.
    fn chunk_rendered(&mut self, audio_ms: u64);
    /// A chapter's files are written.
    fn chapter_finished(&mut self, number: usize, title: &str, files: &ChapterFiles, duration_ms: u64);
    /// A chunk failed; its chapter will not be written this run.
    fn chunk_failed(&mut self, number: usize, text: &str, error: &str);
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub chapters: usize,
    pub chapters_done: usize,
    /// Chapters skipped because an earlier run finished them.
    pub chapters_reused: usize,
    pub chunks_rendered: usize,
    pub chunks_failed: usize,
    /// Audio rendered this run, in ms.
    pub audio_ms_rendered: u64,
    pub interrupted: bool,
    /// The book's total duration, when every chapter is done.
    pub duration_ms: Option<u64>,
    /// The longest time a worker took to build its session.
    pub session_load_ms: u64,
}

/// Per-chapter facts worked out before rendering.
struct ChapterWork {
    files: ChapterFiles,
    keys: Vec<String>,
    key: String,
    done: bool,
    started: bool,
    duration_ms: Option<u64>,
}

/// Builds the book into `settings.outdir`; `stop` is set (e.g. by Ctrl-C) to end early.
pub fn build(
    meta: &BookMeta,
    inputs: Vec<InputRecord>,
    plan: &BookPlan,
    engine: Engine,
    settings: &BuildSettings,
    progress: &mut dyn Progress,
    stop: &AtomicBool,
) -> Result<Outcome, BuildError> {
    let job_dir = JobDir::open(&settings.outdir)?;
    let job_settings = Settings {
        voice: settings.voice.clone(),
        speed: settings.speed,
        model_sha256: engine.model_sha256.to_string(),
        pauses: settings.pauses,
        chunk_target_tokens: settings.chunks.target_tokens,
    };
    let previous = job_dir.load_manifest();
    let work = chapter_work(plan, &job_settings, &job_dir, previous.as_ref());
    remove_stale_outputs(&job_dir, previous.as_ref(), &work);

    // Jobs: the missing chunks of unfinished chapters, in chapter order, biggest first within a
    // chapter, so the last jobs to start are the shortest.
    let mut seen = HashSet::new();
    let mut jobs: Vec<Job> = Vec::new();
    for (c, chapter) in plan.chapters.iter().enumerate().filter(|(c, _)| !work[*c].done) {
        let mut missing: Vec<Job> = chapter
            .chunks
            .iter()
            .zip(&work[c].keys)
            .filter(|(_, key)| !job_dir.has_chunk(key) && seen.insert((*key).clone()))
            .map(|(chunk, key)| Job { chapter: c, chunk, key: key.clone() })
            .collect();
        missing.sort_by_key(|j| std::cmp::Reverse(j.chunk.ids.len()));
        jobs.extend(missing);
    }
    let estimate = |tokens: usize| estimated_chunk_ms(tokens, settings.speed);
    let to_render: u64 = jobs.iter().map(|j| estimate(j.chunk.ids.len())).sum();
    let total: u64 = plan.chapters.iter().flat_map(|c| &c.chunks).map(|c| estimate(c.ids.len())).sum();
    let reused = work.iter().filter(|w| w.done).count();
    progress.begin(plan.chapters.len(), reused, to_render, total);

    let mut coordinator = Coordinator {
        plan,
        job_dir: &job_dir,
        settings,
        work,
        manifest: Manifest { format: sidecar::FORMAT, settings: job_settings, inputs, chapters: Vec::new() },
        failed_keys: HashSet::new(),
        outcome: Outcome {
            chapters: plan.chapters.len(),
            chapters_done: reused,
            chapters_reused: reused,
            chunks_rendered: 0,
            chunks_failed: 0,
            audio_ms_rendered: 0,
            interrupted: false,
            duration_ms: None,
            session_load_ms: 0,
        },
    };
    coordinator.save_manifest()?;
    // Chapters whose chunks are all on disk already (from an earlier run) are assembled first.
    for c in 0..plan.chapters.len() {
        coordinator.finish_chapter_if_ready(c, progress)?;
    }
    if !jobs.is_empty() {
        coordinator.render(engine, &jobs, progress, stop)?;
    }
    let Coordinator { work, manifest, mut outcome, .. } = coordinator;
    outcome.interrupted = stop.load(Ordering::SeqCst) && work.iter().any(|w| !w.done);
    if work.iter().all(|w| w.done) {
        let index = book_index(meta, plan, &work, &manifest.settings);
        outcome.duration_ms = Some(index.duration_ms);
        let json = serde_json::to_vec_pretty(&index)
            .map_err(|e| JobError::Io { path: settings.outdir.join("book.json"), source: std::io::Error::other(e) })?;
        job_dir.write_output("book.json", &json)?;
        clean_chunks(&job_dir, &work);
    }
    Ok(outcome)
}

/// The state of one build while it runs.
struct Coordinator<'a> {
    plan: &'a BookPlan,
    job_dir: &'a JobDir,
    settings: &'a BuildSettings,
    work: Vec<ChapterWork>,
    manifest: Manifest,
    failed_keys: HashSet<String>,
    outcome: Outcome,
}

impl Coordinator<'_> {
    /// Renders `jobs` on the pool, assembling chapters as their chunks arrive.
    fn render(
        &mut self,
        engine: Engine,
        jobs: &[Job],
        progress: &mut dyn Progress,
        stop: &AtomicBool,
    ) -> Result<(), BuildError> {
        let threads = self.settings.jobs.clamp(1, jobs.len());
        let (sessions, load_ms) = render::load_sessions(engine.env, &engine.model, self.settings.session, threads)
            .map_err(BuildError::NoSession)?;
        drop(engine.model);
        self.outcome.session_load_ms = load_ms;
        let renderer = Renderer {
            sessions: Mutex::new(sessions),
            voice: engine.voice,
            speed: self.settings.speed,
            job_dir: self.job_dir,
            jobs,
            next: AtomicUsize::new(0),
            stop,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("kokoro-{i}"))
            .build()
            .map_err(|e| BuildError::Pool(e.to_string()))?;
        let (sender, events) = mpsc::channel();
        std::thread::scope(|scope| -> Result<(), BuildError> {
            scope.spawn(|| {
                pool.broadcast(|_| renderer.work(&sender.clone()));
                drop(sender);
            });
            for event in events {
                match event {
                    Event::Started { index } => {
                        let c = jobs[index].chapter;
                        if !self.work[c].started {
                            self.work[c].started = true;
                            progress.chapter_started(self.plan.chapters[c].number, &self.plan.chapters[c].title);
                        }
                    }
                    Event::Rendered { index, samples } => {
                        let audio_ms = samples as u64 * 1000 / SAMPLE_RATE as u64;
                        self.outcome.chunks_rendered += 1;
                        self.outcome.audio_ms_rendered += audio_ms;
                        progress.chunk_rendered(audio_ms);
                        // A chunk shared by several chapters may complete each of them.
                        for c in 0..self.plan.chapters.len() {
                            if self.work[c].keys.contains(&jobs[index].key) {
                                self.finish_chapter_if_ready(c, progress)?;
                            }
                        }
                    }
                    Event::Failed { index, error } => {
                        let job = &jobs[index];
                        self.outcome.chunks_failed += 1;
                        self.failed_keys.insert(job.key.clone());
                        let text = chunk_text(self.plan, job);
                        progress.chunk_failed(self.plan.chapters[job.chapter].number, &text, &error);
                    }
                }
            }
            Ok(())
        })?;
        self.save_manifest()
    }

    /// Assembles chapter `c` if all its chunks are on disk, records it, and frees its chunks.
    fn finish_chapter_if_ready(&mut self, c: usize, progress: &mut dyn Progress) -> Result<(), BuildError> {
        let work = &self.work[c];
        if work.done || !work.keys.iter().all(|k| self.job_dir.has_chunk(k)) {
            return Ok(());
        }
        let chapter = &self.plan.chapters[c];
        let duration = chapter::assemble(self.job_dir, chapter, &work.keys, &work.files, self.settings.pauses)?;
        self.work[c].done = true;
        self.work[c].duration_ms = Some(duration);
        self.outcome.chapters_done += 1;
        self.save_manifest()?;
        // Only now, with the chapter on record, may its chunk audio go.
        let needed: HashSet<&String> = self.work.iter().filter(|w| !w.done).flat_map(|w| &w.keys).collect();
        for key in self.work[c].keys.iter().filter(|k| !needed.contains(k)) {
            self.job_dir.remove_chunk(key);
        }
        progress.chapter_finished(chapter.number, &chapter.title, &self.work[c].files, duration);
        Ok(())
    }

    fn save_manifest(&mut self) -> Result<(), BuildError> {
        self.manifest.chapters = chapter_records(self.plan, &self.work, self.job_dir, &self.failed_keys);
        self.job_dir.save_manifest(&self.manifest)?;
        Ok(())
    }
}

fn chapter_work(plan: &BookPlan, settings: &Settings, job: &JobDir, previous: Option<&Manifest>) -> Vec<ChapterWork> {
    plan.chapters
        .iter()
        .map(|chapter| {
            let files = ChapterFiles::new(chapter.number, plan.chapters.len(), &chapter.title);
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
            let key = manifest::hash_json(&(
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
            // Done by an earlier run: same key, and both files there (the sidecar gives the duration).
            let recorded =
                previous.is_some_and(|m| m.chapters.iter().any(|r| r.done && r.key == key && r.audio == files.audio));
            let duration_ms = recorded
                .then(|| job.read_output(&files.timings))
                .flatten()
                .and_then(|json| serde_json::from_slice::<sidecar::ChapterTimings>(&json).ok())
                .filter(|_| job.has_output(&files.audio))
                .map(|timings| timings.duration_ms);
            ChapterWork { files, keys, key, done: duration_ms.is_some(), started: false, duration_ms }
        })
        .collect()
}

/// Deletes WAVs and sidecars an earlier run made for chapters this plan no longer has.
fn remove_stale_outputs(job: &JobDir, previous: Option<&Manifest>, work: &[ChapterWork]) {
    let Some(previous) = previous else { return };
    let current: HashSet<&str> = work.iter().flat_map(|w| [w.files.audio.as_str(), w.files.timings.as_str()]).collect();
    for record in &previous.chapters {
        for name in [&record.audio, &record.timings] {
            if !current.contains(name.as_str()) {
                job.remove_output(name);
            }
        }
    }
}

fn chunk_text(plan: &BookPlan, job: &Job) -> String {
    let chapter = &plan.chapters[job.chapter];
    let mut sentences: Vec<usize> = job.chunk.tokens.iter().map(|t| t.sentence).collect();
    sentences.dedup();
    sentences.iter().map(|&s| chapter.sentences[s].text.as_str()).collect::<Vec<_>>().join(" ")
}

fn chapter_records(
    plan: &BookPlan,
    work: &[ChapterWork],
    job: &JobDir,
    failed: &HashSet<String>,
) -> Vec<ChapterRecord> {
    plan.chapters
        .iter()
        .zip(work)
        .map(|(chapter, w)| ChapterRecord {
            number: chapter.number,
            title: chapter.title.clone(),
            key: w.key.clone(),
            audio: w.files.audio.clone(),
            timings: w.files.timings.clone(),
            done: w.done,
            chunks: chapter
                .chunks
                .iter()
                .zip(&w.keys)
                .map(|(c, key)| {
                    let state = if w.done {
                        "assembled"
                    } else if job.has_chunk(key) {
                        "rendered"
                    } else if failed.contains(key) {
                        "failed"
                    } else {
                        "pending"
                    };
                    ChunkRecord { key: key.clone(), tokens: c.ids.len(), state: state.into() }
                })
                .collect(),
        })
        .collect()
}

/// Removes chunk files no unfinished chapter needs.
fn clean_chunks(job: &JobDir, work: &[ChapterWork]) {
    let needed: HashSet<&String> = work.iter().filter(|w| !w.done).flat_map(|w| &w.keys).collect();
    for key in job.chunk_keys() {
        if !needed.contains(&key) {
            job.remove_chunk(&key);
        }
    }
}

fn book_index(meta: &BookMeta, plan: &BookPlan, work: &[ChapterWork], settings: &Settings) -> BookIndex {
    let mut start_ms = 0;
    let mut chapters = Vec::with_capacity(plan.chapters.len());
    for (chapter, w) in plan.chapters.iter().zip(work) {
        let duration_ms = w.duration_ms.unwrap_or(0);
        chapters.push(BookChapter {
            number: chapter.number,
            title: chapter.title.clone(),
            audio: w.files.audio.clone(),
            timings: w.files.timings.clone(),
            start_ms,
            duration_ms,
        });
        start_ms += duration_ms;
    }
    BookIndex {
        format: sidecar::FORMAT,
        title: meta.title.clone(),
        authors: meta.authors.clone(),
        language: meta.language.clone(),
        voice: settings.voice.clone(),
        speed: settings.speed,
        model_sha256: settings.model_sha256.clone(),
        sample_rate: SAMPLE_RATE,
        duration_ms: start_ms,
        chapters,
    }
}
