//! `audiobook build`: flags to settings, then the library's read -> plan -> build, with progress
//! on the terminal and the exit status the summary calls for; with `--each`, once per book of a
//! folder, on one engine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::args::{BuildArgs, ModelArgs};
use super::models;
use super::one_line;
use super::plan::{report_lexicon, report_reading, warn_unspoken};
use super::printer::Printer;
use super::progress::{BuildProgress, clock};
use super::settings;
use crate::error::{ExitStatus, Result};
use crate::job::JobError;
use crate::job::shard::{Shard, ShardError, ShardReport};
use crate::kokoro::{Engine, assets};
use crate::narrate::{self, ReadBook, Settings};

pub fn run(args: &BuildArgs, models: &ModelArgs, printer: &Printer, assemble: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let settings = settings::build_settings(args, models.device)?;
    let shard = args.share.shard.as_deref().map(Shard::from_flag).transpose().map_err(JobError::from)?;
    if assemble && shard.is_some() {
        return Err(JobError::Shard(ShardError::ShardInAssemble).into());
    }
    if assemble && args.share.store.is_none() {
        return Err(JobError::Shard(ShardError::NeedsStore("assemble")).into());
    }
    // Before reading the book: a missing ffmpeg should not cost the user a long read and plan.
    narrate::check_outputs(&settings)?;

    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    let handler_printer = *printer;
    // The first Ctrl-C lets the chunks in flight finish; a second one ends the process at once
    // (every write is atomic, so nothing finished is lost either way).
    let _ = ctrlc::set_handler(move || {
        if handler_stop.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(ExitStatus::Interrupted.code()));
        }
        handler_printer.important("\naudiobook: stopping after the chunks in progress (Ctrl-C again to stop now)");
    });

    let mut engine = None;
    let book = Book {
        settings: &settings,
        lexicon: args.voice.lexicon.as_deref(),
        models,
        printer,
        stop: &stop,
        each: args.each,
        store: args.share.store.as_deref(),
        shard,
        assemble,
    };
    if !args.each {
        let outdir = args.output.clone().unwrap_or_else(|| narrate::default_outdir(&args.inputs, &settings));
        return Ok(book.build(&args.inputs, &outdir, &mut engine, started)?.into());
    }
    let root = args.output.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut worst = ExitStatus::Success;
    for input in narrate::books_in(&args.inputs)? {
        let outdir = root.join(narrate::default_outdir(std::slice::from_ref(&input), &settings));
        printer.info(&format!("audiobook: {} -> {}", input.display(), outdir.display()));
        let status = match book.build(std::slice::from_ref(&input), &outdir, &mut engine, Instant::now()) {
            Ok(status) => status,
            Err(err) => {
                printer.error(&one_line(&err.to_string()), err.hint().as_deref());
                err.exit_status()
            }
        };
        worst = worse(worst, status);
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    Ok(worst.into())
}

/// Of two outcomes, the one the exit code reports: an interruption, then our failures, then the
/// user's mistakes, then partial builds.
fn worse(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    let rank = |s: ExitStatus| match s {
        ExitStatus::Success => 0,
        ExitStatus::Partial => 1,
        ExitStatus::User => 2,
        ExitStatus::Failure => 3,
        ExitStatus::Interrupted => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// What every book of a build shares.
struct Book<'a> {
    settings: &'a Settings,
    /// `--lexicon`, read with the lexicons beside each book.
    lexicon: Option<&'a Path>,
    models: &'a ModelArgs,
    printer: &'a Printer,
    stop: &'a AtomicBool,
    /// Whether more books follow on the same engine.
    each: bool,
    /// `--store`, the chunk store shared across machines.
    store: Option<&'a str>,
    /// `--shard`: render only this shard's chunks into the store.
    shard: Option<Shard>,
    /// `audiobook assemble`: write the book from the store, rendering nothing.
    assemble: bool,
}

impl Book<'_> {
    /// Reads, plans and narrates one book into `outdir`, starting the engine on first need.
    fn build(
        &self,
        inputs: &[PathBuf],
        outdir: &Path,
        engine: &mut Option<Engine>,
        started: Instant,
    ) -> Result<ExitStatus> {
        let printer = self.printer;
        let settings = &Settings { lexicon: narrate::load_lexicon(self.lexicon, inputs)?, ..self.settings.clone() };
        report_lexicon(&settings.lexicon, printer);
        let ReadBook { book, language, left_out } = narrate::read(inputs, settings)?;
        let japanese_dictionary = models::japanese_dictionary(language, self.models, printer)?;
        let settings = &Settings { japanese_dictionary, ..settings.clone() };
        // The cheap refusals before planning and loading the model, the slow steps: a busy,
        // read-only or file-shaped output folder, or one holding another book.
        let mut job = narrate::open_job(outdir, settings)?;
        if let Some(spec) = self.store {
            job.share(spec, self.assemble)?;
        }
        narrate::check_same_book(&job, &book)?;
        report_reading(&book, language, &settings.voice, &left_out, printer);
        let plan = narrate::plan(&book, settings)?;
        warn_unspoken(&plan, printer);

        let engine = match engine {
            Some(engine) => engine,
            None => {
                let files = assets::ensure(&settings::asset_overrides(self.models), printer)?;
                // One book needs no more sessions than it has chunks; the next books of --each may.
                let chunks = plan.chapters.iter().map(|c| c.chunks.len()).sum::<usize>().max(1);
                let sessions = if self.each { settings.sessions } else { settings.sessions.min(chunks) };
                engine.insert(narrate::start_engine(&files, &Settings { sessions, ..settings.clone() })?)
            }
        };

        let mut progress = BuildProgress::new(*printer);
        if let Some(shard) = self.shard {
            let report = job.run_shard(&plan, engine, shard, &mut |e| progress.show(&e), self.stop)?;
            progress.finish();
            return Ok(report_shard(&report, started, printer));
        }
        let summary = narrate::build(&job, &book, &plan, engine, &mut |e| progress.show(&e), self.stop, started)?;
        progress.finish();

        let outdir = &summary.outdir;
        if summary.outcome.interrupted {
            // Said even with --quiet: the exit code alone would not tell how to go on.
            printer.important(&format!(
                "audiobook: interrupted with {} of {} chapters done; run the same command to resume",
                summary.outcome.chapters_done, summary.outcome.chapters
            ));
            return Ok(ExitStatus::Interrupted);
        }
        if summary.outcome.chunks_failed > 0 {
            printer.important(&format!(
                "audiobook: error: {} chunks failed; {} of {} chapters written to {outdir}; run the same command to retry the rest",
                summary.outcome.chunks_failed, summary.outcome.chapters_done, summary.outcome.chapters
            ));
            return Ok(ExitStatus::Partial);
        }
        let wall = summary.wall_ms as f64 / 1000.0;
        let pool = &summary.pool;
        printer.info(&format!(
            "audiobook: {} chapters ({} of audio) in {outdir}; {} rendered in {:.1} s ({:.2}x real time){}",
            summary.outcome.chapters,
            clock(summary.outcome.duration_ms.unwrap_or(0)),
            clock(summary.outcome.audio_ms_rendered),
            wall,
            summary.outcome.audio_ms_rendered as f64 / 1000.0 / wall.max(1e-3),
            summary.peak_rss_bytes.map_or_else(String::new, |b| format!(", peak memory {:.0} MB", b as f64 / 1e6))
        ));
        if pool.chunks == 0 {
            return Ok(ExitStatus::Success);
        }
        printer.info(&format!(
            "audiobook: engine: {} sessions, {} chunks, {} errors, {:.2}x real time per session, loaded in {:.2} s",
            pool.sessions,
            pool.chunks,
            pool.errors,
            pool.x_real_time,
            summary.load_ms as f64 / 1000.0
        ));
        Ok(ExitStatus::Success)
    }
}

/// Says what a shard run put in the store, and the exit status that follows.
fn report_shard(report: &ShardReport, started: Instant, printer: &Printer) -> ExitStatus {
    let wall = started.elapsed().as_secs_f64();
    let saved = if report.bytes_raw > 0 {
        format!(", stored in {:.0}% of their raw size", report.bytes_stored as f64 * 100.0 / report.bytes_raw as f64)
    } else {
        String::new()
    };
    printer.info(&format!(
        "audiobook: shard {}: {} of the book's {} chunks ({} tokens); {} already in the store, {} rendered ({}) in {wall:.1} s{saved}",
        report.shard,
        report.chunks_owned,
        report.chunks_total,
        report.tokens_owned,
        report.chunks_already_stored,
        report.chunks_rendered,
        clock(report.audio_ms_rendered),
    ));
    if report.interrupted {
        printer.important(&format!(
            "audiobook: shard {} interrupted; run the same command to render the rest",
            report.shard
        ));
        return ExitStatus::Interrupted;
    }
    if report.chunks_failed > 0 {
        printer.important(&format!(
            "audiobook: error: shard {}: {} chunks failed; run the same command to retry them",
            report.shard, report.chunks_failed
        ));
        return ExitStatus::Partial;
    }
    ExitStatus::Success
}
