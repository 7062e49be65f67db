//! A job over a shared chunk store. Input: the plan's chunks and a [`Chunks`] store. Output:
//! chunks fetched from the store into the job folder before rendering (`fetch`), a clear error
//! naming the shards to rerun when `assemble` finds some missing (`missing_error`), and a shard
//! run that renders only its own chunks into the store (`Job::run_shard`), and each shard's
//! progress (`status`).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::chapters::{self, ChapterState};
use super::dir::JobDir;
use super::manifest::{Settings, chunk_key};
use super::render::{Renderer, Update};
use super::shard::{self, PlanRecord, Shard, ShardReport};
use super::tasks::{self, Task};
use super::{Event, Job, JobError};
use crate::hash;
use crate::kokoro::{Engine, SAMPLE_RATE};
use crate::plan::{BookPlan, estimated_chunk_ms};
use crate::store::Chunks;
use serde::{Deserialize, Serialize};

/// Copies every task's chunk the store holds into the job folder (checked on the way); returns
/// the tasks still to render.
pub fn fetch<'a>(store: &Chunks, dir: &JobDir, tasks: Vec<Task<'a>>) -> Result<Vec<Task<'a>>, JobError> {
    let found: Vec<bool> = tasks
        .par_iter()
        .map(|task| match store.get(&task.key)? {
            Some(bytes) => dir.write_chunk_bytes(&task.key, &bytes).map(|()| true),
            None => Ok(false),
        })
        .collect::<Result<_, JobError>>()?;
    Ok(tasks.into_iter().zip(found).filter(|(_, found)| !found).map(|(task, _)| task).collect())
}

/// The name of a plan's record in the store: a hash of every chapter's chunk keys, so shards and
/// `assemble` of the same input and settings find the same one.
fn plan_record_name(keys: &[&Vec<String>]) -> String {
    format!("shards/{}.json", hash::json_sha256(&keys))
}

fn chapter_keys(states: &[ChapterState]) -> Vec<&Vec<String>> {
    states.iter().map(|s| &s.keys).collect()
}

/// Every distinct chunk of the plan once, with its chapter; `keys` are each chapter's chunk keys.
fn all_tasks<'a>(plan: &'a BookPlan, keys: &[&Vec<String>]) -> Vec<Task<'a>> {
    let mut seen = HashSet::new();
    let mut tasks = Vec::new();
    for (c, chapter) in plan.chapters.iter().enumerate() {
        for (chunk, key) in chapter.chunks.iter().zip(keys[c]) {
            if seen.insert(key.clone()) {
                tasks.push(Task { chapter: c, chunk, key: key.clone() });
            }
        }
    }
    tasks
}

fn owners(tasks: &[Task], count: usize) -> std::collections::HashMap<String, usize> {
    let costs: Vec<(&str, usize)> = tasks.iter().map(|t| (t.key.as_str(), t.chunk.ids.len())).collect();
    shard::assign(&costs, count)
}

/// The error for chunks `assemble` cannot find: how many, the first few keys, and which shards
/// own them (from the shard count the shards recorded in the store).
pub fn missing_error(
    store: &Chunks,
    spec: &str,
    plan: &BookPlan,
    states: &[ChapterState],
    missing: &[Task],
) -> Result<JobError, JobError> {
    let keys_by_chapter = chapter_keys(states);
    let all = all_tasks(plan, &keys_by_chapter);
    let total = all.len();
    let mut keys: Vec<String> = missing.iter().take(3).map(|t| t.key[..12.min(t.key.len())].to_string()).collect();
    if missing.len() > keys.len() {
        keys.push("...".into());
    }
    let remedy = match plan_record(store, &keys_by_chapter)? {
        Some(record) => {
            let owners = owners(&all, record.shards);
            let mut shards: Vec<usize> = missing.iter().filter_map(|t| owners.get(&t.key).copied()).collect();
            shards.sort_unstable();
            shards.dedup();
            let names: Vec<String> =
                shards.iter().map(|&index| Shard { index, count: record.shards }.to_string()).collect();
            format!("rerun shard {} with the same input and settings, or build without --assemble", names.join(", "))
        }
        None => "no shard of this book has run with this store: run the shards first, with the same input, settings and --store".into(),
    };
    Ok(JobError::MissingChunks {
        store: spec.to_string(),
        missing: missing.len(),
        total,
        keys: keys.join(", "),
        remedy,
    })
}

/// The store's record of how the book with these chunk keys is split, if a shard has run.
fn plan_record(store: &Chunks, keys: &[&Vec<String>]) -> Result<Option<PlanRecord>, JobError> {
    let bytes = store.get_record(&plan_record_name(keys))?;
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
}

/// How far the shards of a book have got in a store: per shard, its chunks and how many of them
/// are stored. `shards` is empty when no shard of this book has run with this store.
pub fn status(store: &Chunks, spec: &str, plan: &BookPlan, settings: &Settings) -> Result<StoreStatus, JobError> {
    let keys: Vec<Vec<String>> = plan
        .chapters
        .iter()
        .map(|c| {
            c.chunks
                .iter()
                .map(|k| chunk_key(&settings.model_sha256, &settings.voice, settings.speed, &k.ids))
                .collect()
        })
        .collect();
    let keys_by_chapter: Vec<&Vec<String>> = keys.iter().collect();
    let all = all_tasks(plan, &keys_by_chapter);
    let stored: Vec<bool> = all.par_iter().map(|t| store.contains(&t.key)).collect::<Result<_, _>>()?;
    let mut status = StoreStatus {
        store: spec.to_string(),
        chunks: all.len(),
        chunks_stored: stored.iter().filter(|&&s| s).count(),
        shards: Vec::new(),
    };
    if let Some(record) = plan_record(store, &keys_by_chapter)? {
        let owners = owners(&all, record.shards);
        status.shards = (0..record.shards)
            .map(|index| ShardStatus {
                shard: Shard { index, count: record.shards }.to_string(),
                chunks: 0,
                chunks_stored: 0,
                tokens: 0,
            })
            .collect();
        for (task, stored) in all.iter().zip(stored) {
            let shard = &mut status.shards[owners[&task.key]];
            shard.chunks += 1;
            shard.tokens += task.chunk.ids.len();
            shard.chunks_stored += usize::from(stored);
        }
    }
    Ok(status)
}

/// What `audiobook status --store` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    pub store: String,
    pub chunks: usize,
    pub chunks_stored: usize,
    pub shards: Vec<ShardStatus>,
}

/// One shard's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStatus {
    /// `K/N`.
    pub shard: String,
    pub chunks: usize,
    pub chunks_stored: usize,
    pub tokens: usize,
}

impl Job {
    /// Renders the chunks of `plan` that `shard` owns and the store lacks, into the store; the
    /// job folder is only scratch. Writes no chapter: `assemble` does, from the store.
    pub fn run_shard(
        &self,
        plan: &BookPlan,
        engine: &Engine,
        shard: Shard,
        events: &mut dyn FnMut(Event),
        stop: &AtomicBool,
    ) -> crate::Result<ShardReport> {
        let Some((store, spec)) = &self.store else {
            return Err(JobError::Shard(shard::ShardError::NeedsStore("--shard")).into());
        };
        let settings = self.key_settings(plan, engine);
        let states = chapters::states(plan, &settings, &self.dir, None);
        let keys_by_chapter = chapter_keys(&states);
        let all = all_tasks(plan, &keys_by_chapter);
        let owners = owners(&all, shard.count);
        // Tells `assemble` and `status` how the book is split, to name the shard of a chunk.
        let record = PlanRecord { shards: shard.count, chunks: all.len() };
        let json = serde_json::to_vec(&record).map_err(crate::Error::json("shard record"))?;
        store.put_record(&plan_record_name(&keys_by_chapter), &json)?;
        let mine: Vec<Task> = all.iter().filter(|t| owners[&t.key] == shard.index).cloned().collect();

        // What the store already holds is done; a chunk left in the scratch folder by a run
        // stopped before its upload goes up without rendering again.
        let held: Vec<bool> = mine.par_iter().map(|t| store.contains(&t.key)).collect::<Result<_, _>>()?;
        let mut report = ShardReport {
            shard: shard.to_string(),
            store: spec.clone(),
            chunks_total: all.len(),
            chunks_owned: mine.len(),
            tokens_owned: mine.iter().map(|t| t.chunk.ids.len()).sum(),
            chunks_already_stored: held.iter().filter(|&&h| h).count(),
            chunks_rendered: 0,
            chunks_failed: 0,
            audio_ms_rendered: 0,
            bytes_raw: 0,
            bytes_stored: 0,
            interrupted: false,
        };
        let mut to_render = Vec::new();
        for (task, held) in mine.into_iter().zip(held) {
            if held {
                self.dir.remove_chunk(&task.key);
            } else if self.dir.has_chunk(&task.key) {
                let bytes = self.dir.read_chunk_bytes(&task.key)?;
                report.bytes_raw += bytes.len() as u64;
                report.bytes_stored += store.put(&task.key, &bytes)? as u64;
                self.dir.remove_chunk(&task.key);
            } else {
                to_render.push(task);
            }
        }
        // Biggest first, so the last to start are the shortest.
        to_render.sort_by(|a, b| b.chunk.ids.len().cmp(&a.chunk.ids.len()).then(a.key.cmp(&b.key)));

        let estimate = |tokens: usize| estimated_chunk_ms(tokens, settings.speed);
        events(Event::Begin {
            chapters: plan.chapters.len(),
            chapters_done: 0,
            audio_ms_to_render: to_render.iter().map(|t| estimate(t.chunk.ids.len())).sum(),
            audio_ms_total: all.iter().map(|t| estimate(t.chunk.ids.len())).sum(),
        });
        if !to_render.is_empty() {
            engine.pool().start()?;
            let voice = engine.voice(&settings.voice)?;
            let renderer =
                Renderer::new(engine.pool(), &voice, settings.speed, &self.dir, &to_render, stop, Some(store));
            render_into_store(&renderer, plan, &mut report, events);
            report.bytes_raw += renderer.bytes_raw.load(Ordering::Relaxed);
            report.bytes_stored += renderer.bytes_stored.load(Ordering::Relaxed);
        }
        report.interrupted =
            stop.load(Ordering::SeqCst) && report.chunks_already_stored + report.chunks_rendered < report.chunks_owned;
        events(Event::ShardDone(report.clone()));
        Ok(report)
    }
}

/// Runs the renderer's workers, counting what lands in the store; the scratch copies go.
fn render_into_store(renderer: &Renderer, plan: &BookPlan, report: &mut ShardReport, events: &mut dyn FnMut(Event)) {
    let tasks = renderer.tasks;
    // A shard reports no idle tail: filling its machine is the scheduler's job.
    let Ok(_idle_tail_ms) = renderer.run::<std::convert::Infallible>(|update| {
        match update {
            Update::Started { .. } => {}
            Update::Rendered { index, samples } => {
                let audio_ms = samples as u64 * 1000 / u64::from(SAMPLE_RATE);
                report.chunks_rendered += 1;
                report.audio_ms_rendered += audio_ms;
                renderer.job_dir.remove_chunk(&tasks[index].key);
                events(Event::ChunkRendered { chapter: plan.chapters[tasks[index].chapter].number, audio_ms });
            }
            Update::Failed { index, error } => {
                report.chunks_failed += 1;
                let task = &tasks[index];
                events(Event::ChunkFailed {
                    chapter: plan.chapters[task.chapter].number,
                    text: tasks::text(plan, task),
                    error: error.to_string(),
                });
            }
        }
        Ok(())
    });
}
