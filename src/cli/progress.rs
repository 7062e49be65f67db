//! Build progress as a person or a machine wants it: bars on a terminal, periodic lines in a log,
//! one JSON event per line with `--json`, nothing with `--quiet`.

use std::time::{Duration, Instant};

use super::printer::{Printer, terminal_safe};
use crate::job::Event;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Minutes and seconds, `m:ss`, or `h:mm:ss` past an hour.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The build's progress reporter, chosen from the printer's mode.
pub struct BuildProgress {
    printer: Printer,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    chapters: usize,
    chapters_done: usize,
    audio_done_ms: u64,
    audio_todo_ms: u64,
}

impl BuildProgress {
    pub fn new(printer: Printer) -> Self {
        let now = Instant::now();
        Self {
            printer,
            bar: None,
            started: now,
            last_line: now,
            chapters: 0,
            chapters_done: 0,
            audio_done_ms: 0,
            audio_todo_ms: 0,
        }
    }

    fn human(&self) -> bool {
        !self.printer.json && !self.printer.quiet
    }

    /// Audio rendered per second of wall time.
    fn speed(&self) -> f64 {
        self.audio_done_ms as f64 / 1000.0 / self.started.elapsed().as_secs_f64().max(1e-3)
    }

    fn status(&self) -> String {
        let remaining = self.audio_todo_ms.saturating_sub(self.audio_done_ms) as f64 / 1000.0;
        let eta = if self.audio_done_ms > 0 { clock((remaining / self.speed() * 1000.0) as u64) } else { "?".into() };
        format!(
            "{} of ~{} audio, {:.2}x real time, ETA {eta}, chapters {}/{}",
            clock(self.audio_done_ms),
            clock(self.audio_todo_ms),
            self.speed(),
            self.chapters_done,
            self.chapters
        )
    }

    /// Stops the bar (call before printing the summary).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl BuildProgress {
    /// Shows one event: as a JSON line with `--json`, otherwise as the bar or log lines.
    pub fn show(&mut self, event: &Event) {
        if self.printer.json
            && let Ok(line) = serde_json::to_string(event)
        {
            let _ = self.printer.data(&line);
        }
        match event {
            Event::Begin { chapters, chapters_done, audio_ms_to_render, .. } => {
                self.begin(*chapters, *chapters_done, *audio_ms_to_render)
            }
            Event::ChapterStarted { chapter, title } => self.chapter_started(*chapter, title),
            Event::ChunkRendered { audio_ms, .. } => self.chunk_rendered(*audio_ms),
            Event::ChapterFinished { chapter, title, audio, duration_ms, .. } => {
                self.chapter_finished(*chapter, title, audio, *duration_ms)
            }
            Event::ChunkFailed { chapter, text, error } => self.chunk_failed(*chapter, text, error),
            Event::OutputWritten { format, path, duration_ms } => {
                if self.human() {
                    self.printer.info(&format!("  wrote {path} ({format}, {})", clock(*duration_ms)));
                }
            }
            Event::Summary(_) => {}
            Event::ShardDone(_) => {}
        }
    }

    fn begin(&mut self, chapters: usize, chapters_done: usize, audio_ms_to_render: u64) {
        self.chapters = chapters;
        self.chapters_done = chapters_done;
        self.audio_todo_ms = audio_ms_to_render;
        if !self.human() {
            return;
        }
        if chapters_done > 0 {
            self.printer.info(&format!("resuming: {chapters_done} of {chapters} chapters already done"));
        }
        if self.printer.stderr_is_terminal && self.printer.progress {
            let bar = ProgressBar::with_draw_target(Some(audio_ms_to_render.max(1)), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(250));
            bar.set_message(self.status());
            self.bar = Some(bar);
        } else {
            self.printer.info(&format!(
                "narrating {chapters} chapters, about {} of audio to render",
                clock(audio_ms_to_render)
            ));
        }
    }

    fn chapter_started(&mut self, number: usize, title: &str) {
        if let Some(bar) = &self.bar {
            bar.println(terminal_safe(&format!("  rendering {number}. {title}")));
        } else if self.human() {
            self.printer.detail(&format!("rendering {number}. {title}"));
        }
    }

    fn chunk_rendered(&mut self, audio_ms: u64) {
        self.audio_done_ms += audio_ms;
        if let Some(bar) = &self.bar {
            bar.set_position(self.audio_done_ms.min(self.audio_todo_ms));
            bar.set_message(self.status());
        } else if self.human() && self.printer.progress && self.last_line.elapsed() > Duration::from_secs(30) {
            self.last_line = Instant::now();
            self.printer.info(&self.status());
        }
    }

    fn chapter_finished(&mut self, number: usize, title: &str, audio: &str, duration_ms: u64) {
        self.chapters_done += 1;
        let line = format!("  done {number}. {title} -> {audio} ({})", clock(duration_ms));
        if let Some(bar) = &self.bar {
            bar.println(terminal_safe(&line));
            bar.set_message(self.status());
        } else if self.human() {
            self.printer.info(&line);
        }
    }

    fn chunk_failed(&mut self, number: usize, text: &str, error: &str) {
        let short: String = text.chars().take(80).collect();
        let line = format!("audiobook: warning: chapter {number}: a chunk failed ({error}): \"{short}\"");
        match &self.bar {
            Some(bar) => bar.println(terminal_safe(&line)),
            None if !self.printer.json => self.printer.important(&line),
            None => {}
        }
    }
}
