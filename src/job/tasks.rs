//! The task list: which chunks this run must render, and in what order.

use std::collections::HashSet;

use super::chapters::ChapterState;
use super::dir::JobDir;
use crate::chunk::Chunk;
use crate::plan::BookPlan;

/// One chunk to render.
#[derive(Debug, Clone)]
pub struct Task<'a> {
    /// Index of its chapter in the plan.
    pub chapter: usize,
    pub chunk: &'a Chunk,
    pub key: String,
}

/// The missing chunks of unfinished chapters, each once, in chapter order and biggest first
/// within a chapter, so that the last tasks to start are the shortest and no worker is left
/// with a long tail.
pub fn missing<'a>(plan: &'a BookPlan, states: &[ChapterState], job: &JobDir) -> Vec<Task<'a>> {
    let mut seen = HashSet::new();
    let mut tasks = Vec::new();
    for (c, chapter) in plan.chapters.iter().enumerate().filter(|(c, _)| !states[*c].is_done()) {
        let mut chapter_tasks: Vec<Task> = chapter
            .chunks
            .iter()
            .zip(&states[c].keys)
            .filter(|(_, key)| !job.has_chunk(key) && seen.insert((*key).clone()))
            .map(|(chunk, key)| Task { chapter: c, chunk, key: key.clone() })
            .collect();
        chapter_tasks.sort_by_key(|t| std::cmp::Reverse(t.chunk.ids.len()));
        tasks.extend(chapter_tasks);
    }
    tasks
}

/// The text of a task's sentences, to name a failed chunk.
pub fn text(plan: &BookPlan, task: &Task) -> String {
    let chapter = &plan.chapters[task.chapter];
    let mut sentences: Vec<usize> = task.chunk.tokens.iter().map(|t| t.sentence).collect();
    sentences.dedup();
    sentences.iter().map(|&s| chapter.sentences[s].text.as_str()).collect::<Vec<_>>().join(" ")
}
