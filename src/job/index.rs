//! `book.json`: the book's metadata and every chapter's place in the whole, written when the
//! last chapter is done.

use super::chapters::ChapterState;
use super::manifest::Settings;
use crate::assemble::sidecar::{self, BookChapter, BookIndex};
use crate::ingest::BookMeta;
use crate::kokoro::SAMPLE_RATE;
use crate::plan::BookPlan;

/// The index of a finished book: each chapter starts where the one before ends.
pub fn book_index(meta: &BookMeta, plan: &BookPlan, states: &[ChapterState], settings: &Settings) -> BookIndex {
    let mut start_ms = 0;
    let mut chapters = Vec::with_capacity(plan.chapters.len());
    for (chapter, state) in plan.chapters.iter().zip(states) {
        let duration_ms = state.duration_ms().unwrap_or(0);
        chapters.push(BookChapter {
            number: chapter.number,
            title: chapter.title.clone(),
            audio: state.files.audio.clone(),
            timings: state.files.timings.clone(),
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
        loudness: None,
    }
}
