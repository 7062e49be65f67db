//! The job: a planned book narrated into a folder as chapter WAVs with timing sidecars and
//! `book.json`, resumably.
//!
//! The coordinator (this module, on the calling thread) works out what is already done from the
//! folder (`chapters`), lists the missing chunks (`tasks`), hands them to the engine's session
//! pool (`render`), assembles each chapter as soon as all its chunks are stored (`chapter`), and
//! records it in the manifest (`manifest`, in the folder `dir`). A run killed at any point loses
//! at most the chunks being rendered; the same command later skips everything finished and ends
//! with the same bytes as a run never interrupted. Once every chapter is done it measures the
//! book's loudness, writes `book.json` and encodes the asked-for formats from the chapter WAVs
//! (`outputs`). Progress goes out as [`Event`]s.
//!
//! Across machines (`shared`), a job takes chunks from a shared store before rendering, and a
//! shard run renders only the chunks its shard owns (`shard`) into that store.

mod chapter;
mod chapters;
pub mod dir;
mod events;
mod index;
pub mod manifest;
mod outputs;
mod recover;
mod render;
pub mod shard;
pub mod shared;
mod tasks;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use self::chapter::ChapterFiles;
use self::chapters::{ChapterState, Progress};
use self::dir::JobDir;
pub use self::events::{Event, Summary};
use self::manifest::{InputRecord, MANIFEST_VERSION, Manifest, Settings};
pub use self::render::{ChunkFailure, check_every_word_heard};
use self::render::{Renderer, Update};
use self::tasks::Task;
use crate::assemble::Pauses;
use crate::export::ExportSettings;
use crate::ingest::BookMeta;
use crate::kokoro::{Engine, SAMPLE_RATE};
use crate::plan::{BookPlan, estimated_chunk_ms};
use crate::store::Chunks;

/// Errors that stop a job as a whole (a failed chunk only makes it partial).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}: another build is writing to this folder; wait for it or choose another -o")]
    Busy(PathBuf),
    #[error("{0}: the output path is a file, not a folder")]
    NotAFolder(PathBuf),
    #[error("{dir}: holds the audiobook of another book ({other}); choose another -o, or remove that folder first")]
    OtherBook { dir: PathBuf, other: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot write WAV: {source}")]
    Wav { path: PathBuf, source: hound::Error },
    #[error("{path}: cannot write JSON: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
    /// A build of part of a book aimed at a folder holding more of it.
    #[error("{}: this build would replace {what}; give it another -o", path.display())]
    WouldReplace { path: PathBuf, what: chapters::WouldReplace },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// `assemble` found chunks no shard has put in the store yet.
    #[error("{store}: {missing} of {total} chunks are not in the store ({keys}); {remedy}")]
    MissingChunks { store: String, missing: usize, total: usize, keys: String, remedy: String },
    #[error(transparent)]
    Shard(#[from] shard::ShardError),
}

/// What a job narrates with: everything that changes the audio or its timing.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    pub voice: String,
    pub speed: f32,
    pub pauses: Pauses,
    /// Recorded in the manifest; the chunks themselves come planned.
    pub chunk_target_tokens: usize,
    /// What is encoded from the chapter WAVs once they are all done.
    pub export: ExportSettings,
    /// Keep the rendered chunks of the current plan after their chapters are done, so a later
    /// change (a lexicon entry, an edited paragraph) re-renders only the chunks it changes.
    pub keep_chunks: bool,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Session-milliseconds spent idle at the end of rendering: from each worker running out of
    /// chunks to the last chunk's end (the tail a schedule leaves).
    pub idle_tail_ms: u64,
}

/// An output folder, locked for one job.
pub struct Job {
    dir: JobDir,
    settings: JobSettings,
    /// The shared chunk store, and how it is spelled on the command line.
    store: Option<(Chunks, String)>,
    /// Write the book from the shared store only; render nothing.
    assemble_only: bool,
}

impl Job {
    /// Creates `outdir` if needed and takes its lock; a second job gets [`JobError::Busy`].
    pub fn open(outdir: &Path, settings: JobSettings) -> Result<Self, JobError> {
        Ok(Self { dir: JobDir::open(outdir)?, settings, store: None, assemble_only: false })
    }

    /// Shares chunks through the store `spec` names (a folder or an object-storage URL): chunks
    /// found there are not rendered, and rendered ones are put there. With `assemble_only`, a
    /// chunk missing from the store is an error naming the shards to rerun.
    pub fn share(&mut self, spec: &str, assemble_only: bool) -> Result<(), JobError> {
        self.store = Some((Chunks::new(crate::store::open(spec)?), spec.to_string()));
        self.assemble_only = assemble_only;
        Ok(())
    }

    /// The settings a manifest and the chunk keys are made from.
    fn key_settings(&self, plan: &BookPlan, engine: &Engine) -> Settings {
        let settings = &self.settings;
        Settings {
            voice: settings.voice.clone(),
            speed: settings.speed,
            model_sha256: engine.model_sha256().to_string(),
            pauses: settings.pauses,
            chunk_target_tokens: settings.chunk_target_tokens,
            preview: plan.preview,
        }
    }

    /// Refuses a folder that holds another book's audiobook, which a build would overwrite
    /// chapter by chapter. Another book shares no input path, no input file's content and no
    /// chapter title with this one; a renamed or edited book shares one of them and resumes.
    pub fn check_same_book(&self, inputs: &[InputRecord], titles: &[&str]) -> Result<(), JobError> {
        let Some(previous) = self.dir.load_manifest() else { return Ok(()) };
        if inputs.is_empty() || previous.inputs.is_empty() {
            return Ok(()); // stdin on either side: nothing to compare
        }
        let shares_input =
            previous.inputs.iter().any(|p| inputs.iter().any(|i| i.path == p.path || i.sha256 == p.sha256));
        let shares_title = previous.chapters.iter().any(|c| titles.contains(&c.title.as_str()));
        if shares_input || shares_title {
            return Ok(());
        }
        Err(JobError::OtherBook { dir: self.dir.root().to_path_buf(), other: previous.inputs[0].path.clone() })
    }

    /// The output folder.
    pub fn outdir(&self) -> &Path {
        self.dir.root()
    }

    /// Narrates `plan` on `engine`; `stop` is set (e.g. by Ctrl-C) to end early.
    pub fn run(
        &self,
        meta: &BookMeta,
        inputs: Vec<InputRecord>,
        plan: &BookPlan,
        engine: &Engine,
        events: &mut dyn FnMut(Event),
        stop: &AtomicBool,
    ) -> crate::Result<Outcome> {
        let settings = &self.settings;
        let job_settings = self.key_settings(plan, engine);
        let previous = self.dir.load_manifest();
        let states = chapters::states(plan, &job_settings, &self.dir, previous.as_ref());
        chapters::check_partial(plan, &job_settings, previous.as_ref(), &states)
            .map_err(|what| JobError::WouldReplace { path: self.dir.root().to_path_buf(), what })?;
        // Before any WAV is replaced: chunks this run needs that an earlier chapter WAV holds.
        recover::chunks(&self.dir, previous.as_ref(), &chapters::needed_keys(&states));
        chapters::remove_stale_outputs(&self.dir, previous.as_ref(), &states);
        let mut tasks = tasks::missing(plan, &states, &self.dir);
        if let Some((store, spec)) = &self.store {
            tasks = shared::fetch(store, &self.dir, tasks)?;
            if self.assemble_only && !tasks.is_empty() {
                return Err(shared::missing_error(store, spec, plan, &states, &tasks)?.into());
            }
        }

        let estimate = |tokens: usize| estimated_chunk_ms(tokens, settings.speed);
        let reused = states.iter().filter(|s| s.is_done()).count();
        events(Event::Begin {
            chapters: plan.chapters.len(),
            chapters_done: reused,
            audio_ms_to_render: tasks.iter().map(|t| estimate(t.chunk.ids.len())).sum(),
            audio_ms_total: plan.chapters.iter().flat_map(|c| &c.chunks).map(|c| estimate(c.ids.len())).sum(),
        });

        let mut coordinator = Coordinator {
            plan,
            dir: &self.dir,
            pauses: settings.pauses,
            keep_chunks: settings.keep_chunks,
            states,
            manifest: Manifest {
                format: MANIFEST_VERSION,
                settings: job_settings,
                inputs,
                chapters: Vec::new(),
                loudness: previous.as_ref().and_then(|m| m.loudness.clone()),
                outputs: previous.as_ref().map(|m| m.outputs.clone()).unwrap_or_default(),
            },
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
                idle_tail_ms: 0,
            },
            events,
        };
        coordinator.save_manifest()?;
        // Chapters whose chunks are all stored already (by an earlier run) are assembled first.
        for c in 0..plan.chapters.len() {
            coordinator.finish_chapter_if_ready(c)?;
        }
        if !tasks.is_empty() {
            // Sessions are built only when there is something to render.
            engine.pool().start()?;
            let voice = engine.voice(&settings.voice)?;
            let store = self.store.as_ref().map(|(store, _)| store);
            let renderer = Renderer::new(engine.pool(), &voice, settings.speed, &self.dir, &tasks, stop, store);
            coordinator.render(&renderer, &tasks)?;
        }
        let Coordinator { states, mut manifest, mut outcome, events, .. } = coordinator;
        outcome.interrupted = stop.load(Ordering::SeqCst) && states.iter().any(|s| !s.is_done());
        if states.iter().all(ChapterState::is_done) {
            let mut index = index::book_index(meta, plan, &states, &manifest.settings);
            index.loudness = outputs::loudness(&self.dir, &states, settings.export.loudness, &mut manifest)?;
            outcome.duration_ms = Some(index.duration_ms);
            let path = self.dir.root().join("book.json");
            let json = serde_json::to_vec_pretty(&index).map_err(|source| JobError::Json { path, source })?;
            self.dir.write_output("book.json", &json)?;
            self.dir.save_manifest(&manifest)?;
            clean_chunks(&self.dir, &states, settings.keep_chunks);
            outcome.interrupted =
                outputs::encode(&self.dir, meta, &index, &states, &settings.export, &mut manifest, events, stop)?;
        }
        Ok(outcome)
    }
}

/// The state of one run while it renders.
struct Coordinator<'a, 'e> {
    plan: &'a BookPlan,
    dir: &'a JobDir,
    pauses: Pauses,
    keep_chunks: bool,
    states: Vec<ChapterState>,
    manifest: Manifest,
    failed_keys: HashSet<String>,
    outcome: Outcome,
    events: &'e mut dyn FnMut(Event),
}

impl Coordinator<'_, '_> {
    /// Renders `tasks` with one worker per session, assembling chapters as their chunks arrive.
    fn render(&mut self, renderer: &Renderer, tasks: &[Task]) -> Result<(), JobError> {
        self.outcome.idle_tail_ms = renderer.run(|update| -> Result<(), JobError> {
            match update {
                Update::Started { index } => {
                    let c = tasks[index].chapter;
                    if self.states[c].progress == Progress::Pending {
                        self.states[c].progress = Progress::Started;
                        let chapter = &self.plan.chapters[c];
                        (self.events)(Event::ChapterStarted { chapter: chapter.number, title: chapter.title.clone() });
                    }
                }
                Update::Rendered { index, samples } => {
                    let audio_ms = samples as u64 * 1000 / u64::from(SAMPLE_RATE);
                    self.outcome.chunks_rendered += 1;
                    self.outcome.audio_ms_rendered += audio_ms;
                    let chapter = self.plan.chapters[tasks[index].chapter].number;
                    (self.events)(Event::ChunkRendered { chapter, audio_ms });
                    // A chunk shared by several chapters may complete each of them.
                    for c in 0..self.plan.chapters.len() {
                        if self.states[c].keys.contains(&tasks[index].key) {
                            self.finish_chapter_if_ready(c)?;
                        }
                    }
                }
                Update::Failed { index, error } => {
                    let task = &tasks[index];
                    self.outcome.chunks_failed += 1;
                    self.failed_keys.insert(task.key.clone());
                    (self.events)(Event::ChunkFailed {
                        chapter: self.plan.chapters[task.chapter].number,
                        text: tasks::text(self.plan, task),
                        error: error.to_string(),
                    });
                }
            }
            Ok(())
        })?;
        self.save_manifest()
    }

    /// Assembles chapter `c` if all its chunks are stored, records it, and frees its chunks.
    fn finish_chapter_if_ready(&mut self, c: usize) -> Result<(), JobError> {
        let state = &self.states[c];
        if state.is_done() || !state.keys.iter().all(|k| self.dir.has_chunk(k)) {
            return Ok(());
        }
        let chapter = &self.plan.chapters[c];
        let duration_ms = chapter::assemble(self.dir, chapter, &state.keys, &state.files, self.pauses)?;
        self.states[c].progress = Progress::Done { duration_ms };
        self.outcome.chapters_done += 1;
        self.save_manifest()?;
        // Only now, with the chapter on record, may its chunk audio go (unless it is kept).
        if !self.keep_chunks {
            let needed = chapters::needed_keys(&self.states);
            for key in self.states[c].keys.iter().filter(|k| !needed.contains(k)) {
                self.dir.remove_chunk(key);
            }
        }
        let files = &self.states[c].files;
        (self.events)(Event::ChapterFinished {
            chapter: chapter.number,
            title: chapter.title.clone(),
            audio: files.audio.clone(),
            timings: files.timings.clone(),
            duration_ms,
        });
        Ok(())
    }

    fn save_manifest(&mut self) -> Result<(), JobError> {
        self.manifest.chapters = chapters::records(self.plan, &self.states, self.dir, &self.failed_keys);
        self.dir.save_manifest(&self.manifest)
    }
}

/// Removes chunk files no unfinished chapter needs, or with `keep`, those no chapter of the
/// plan has (stale ones).
fn clean_chunks(dir: &JobDir, states: &[ChapterState], keep: bool) {
    let needed: HashSet<&String> =
        if keep { states.iter().flat_map(|s| &s.keys).collect() } else { chapters::needed_keys(states) };
    for key in dir.chunk_keys() {
        if !needed.contains(&key) {
            dir.remove_chunk(&key);
        }
    }
}
