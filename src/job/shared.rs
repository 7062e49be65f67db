//! A job over a shared chunk store. Input: the plan's chunks and a [`Chunks`] store. Output:
//! chunks fetched from the store into the job folder before rendering (`fetch`), a clear error
//! naming the shards to rerun when `assemble` finds some missing (`missing_error`), and a shard
//! run that renders only its own chunks into the store (`Job::run_shard`).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

use rayon::prelude::*;

use super::chapters::{self, ChapterState};
use super::dir::JobDir;
use super::render::{Renderer, Update};
use super::shard::{self, PlanRecord, Shard, ShardReport};
use super::tasks::{self, Task};
use super::{Event, Job, JobError};
use crate::hash;
use crate::kokoro::{Engine, SAMPLE_RATE};
use crate::plan::{BookPlan, estimated_chunk_ms};
use crate::store::Chunks;

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
fn plan_record_name(states: &[ChapterState]) -> String {
    let keys: Vec<&Vec<String>> = states.iter().map(|s| &s.keys).collect();
    format!("shards/{}.json", hash::json_sha256(&keys))
}

/// Every distinct chunk of the plan once, with its chapter.
fn all_tasks<'a>(plan: &'a BookPlan, states: &[ChapterState]) -> Vec<Task<'a>> {
    let mut seen = HashSet::new();
    let mut tasks = Vec::new();
    for (c, chapter) in plan.chapters.iter().enumerate() {
        for (chunk, key) in chapter.chunks.iter().zip(&states[c].keys) {
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
    let total = all_tasks(plan, states).len();
    let mut keys: Vec<String> = missing.iter().take(3).map(|t| t.key[..12.min(t.key.len())].to_string()).collect();
    if missing.len() > keys.len() {
        keys.push("...".into());
    }
    let record = store
        .get_record(&plan_record_name(states))?
        .and_then(|bytes| serde_json::from_slice::<PlanRecord>(&bytes).ok());
    let remedy = match record {
        Some(record) => {
            let owners = owners(&all_tasks(plan, states), record.shards);
            let mut shards: Vec<usize> = missing.iter().filter_map(|t| owners.get(&t.key).copied()).collect();
            shards.sort_unstable();
            shards.dedup();
            let names: Vec<String> =
                shards.iter().map(|&index| Shard { index, count: record.shards }.to_string()).collect();
            format!("rerun shard {} with the same input and settings, or build without --assemble", names.join(", "))
        }
        None => "no shard of this book has finished with this store: run the shards first, with the same input, settings and --store".into(),
    };
    Ok(JobError::MissingChunks {
        store: spec.to_string(),
        missing: missing.len(),
        total,
        keys: keys.join(", "),
        remedy,
    })
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
        let all = all_tasks(plan, &states);
        let owners = owners(&all, shard.count);
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
            let renderer = Renderer {
                pool: engine.pool(),
                voice: &voice,
                speed: settings.speed,
                job_dir: &self.dir,
                tasks: &to_render,
                next: AtomicUsize::new(0),
                stop,
                store: Some(store),
                bytes_raw: AtomicU64::new(0),
                bytes_stored: AtomicU64::new(0),
            };
            render_into_store(&renderer, plan, &mut report, events);
            report.bytes_raw += renderer.bytes_raw.load(Ordering::Relaxed);
            report.bytes_stored += renderer.bytes_stored.load(Ordering::Relaxed);
        }
        report.interrupted =
            stop.load(Ordering::SeqCst) && report.chunks_already_stored + report.chunks_rendered < report.chunks_owned;
        if report.chunks_failed == 0 && !report.interrupted {
            // Tells `assemble` how the book was split, to name the shard a missing chunk is from.
            let record = PlanRecord { shards: shard.count, chunks: all.len() };
            let json = serde_json::to_vec(&record).map_err(crate::Error::json("shard record"))?;
            store.put_record(&plan_record_name(&states), &json)?;
        }
        events(Event::ShardDone(report.clone()));
        Ok(report)
    }
}

/// Runs the renderer's workers, counting what lands in the store; the scratch copies go.
fn render_into_store(renderer: &Renderer, plan: &BookPlan, report: &mut ShardReport, events: &mut dyn FnMut(Event)) {
    let tasks = renderer.tasks;
    let workers = renderer.pool.size().clamp(1, tasks.len());
    let (sender, updates) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            scope.spawn(move || renderer.work(&sender));
        }
        drop(sender);
        for update in updates {
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
        }
    });
}
