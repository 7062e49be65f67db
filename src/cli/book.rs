//! `plan` and `build`: reading inputs into a book, planning it, and narrating it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::args::{BuildArgs, ChunkArgs, CodeArg, FormatArg, ModelArgs, NotesArg, PauseArgs, PlanArgs, ReadArgs};
use super::engine;
use super::printer::Printer;
use super::progress::{BuildProgress, clock};
use crate::assemble::Pauses;
use crate::build::{self, BuildSettings, Engine};
use crate::chunk::ChunkConfig;
use crate::error::{EXIT_PARTIAL, Error, Result};
use crate::ingest::{self, Book, CodeMode, Format, IngestOptions, NotesMode};
use crate::kokoro::assets;
use crate::kokoro::voices;
use crate::kokoro::{MAX_TOKENS, SessionConfig};
use crate::language;
use crate::manifest::{self, InputRecord};
use crate::plan::{self, BookPlan};

/// Exit code of a build stopped by Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

fn ingest_options(read: &ReadArgs) -> IngestOptions {
    IngestOptions {
        keep_front_matter: read.keep_front_matter,
        read_nonlinear: read.read_nonlinear,
        notes: match read.notes {
            NotesArg::Skip => NotesMode::Skip,
            NotesArg::End => NotesMode::End,
        },
        alt_text: read.alt_text,
        tables: read.tables,
        code: match read.code {
            CodeArg::Skip => CodeMode::Skip,
            CodeArg::Read => CodeMode::Read,
            CodeArg::Announce => CodeMode::Announce,
        },
        stdin_format: read.format.map(|f| match f {
            FormatArg::Epub => Format::Epub,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Text => Format::Text,
        }),
        ..IngestOptions::default()
    }
}

/// Reads the inputs, warns about what was read past, and refuses a language we cannot speak.
fn read_book(inputs: &[PathBuf], read: &ReadArgs, printer: &Printer) -> Result<Book> {
    let mut book = ingest::read_inputs(inputs, &ingest_options(read))?;
    if book.meta.language.is_none() && !read.any_language && book.chapters.len() > 1 {
        // A docs tree may hold translations: leave out the files that are not English.
        let file_of = |chapter: &ingest::Chapter| chapter.blocks.first().map(|b| b.source.file.clone());
        let mut foreign = BTreeSet::new();
        for file in book.chapters.iter().filter_map(file_of).collect::<BTreeSet<_>>() {
            let chapters = book.chapters.iter().filter(|c| file_of(c).as_ref() == Some(&file));
            if language::blocks_look_english(chapters.flat_map(|c| &c.blocks)) == Some(false) {
                printer.warn(&format!("{}: left out: it does not read as English", file.display()));
                foreign.insert(file);
            }
        }
        book.chapters.retain(|c| file_of(c).is_none_or(|f| !foreign.contains(&f)));
    }
    for warning in &book.warnings {
        printer.detail(&format!("audiobook: warning: {warning}"));
    }
    if !book.warnings.is_empty() && !printer.verbose {
        printer.warn(&format!("{} problems read past in the input (-v lists them)", book.warnings.len()));
    }
    if let Some(language) = &book.meta.language
        && !read.any_language
        && !language.to_ascii_lowercase().starts_with("en")
    {
        let first = inputs.first().map_or_else(String::new, |p| p.display().to_string());
        return Err(Error::Usage(format!(
            "{first}: the book's language is '{language}', and this build speaks English only (--any-language reads it anyway)"
        )));
    }
    if book.meta.language.is_none() && !read.any_language && language::looks_english(&book) == Some(false) {
        let first = inputs.first().map_or_else(String::new, |p| p.display().to_string());
        return Err(Error::Usage(format!(
            "{first}: the text does not read as English, and this build speaks English only (--any-language reads it anyway)"
        )));
    }
    if book.chapters.is_empty() {
        let first = inputs.first().map_or_else(String::new, |p| p.display().to_string());
        return Err(Error::Usage(format!("{first}: no chapters with text to read")));
    }
    Ok(book)
}

fn chunk_config(args: &ChunkArgs) -> ChunkConfig {
    let max_tokens = usize::from(args.chunk_max).min(MAX_TOKENS);
    ChunkConfig { target_tokens: usize::from(args.chunk_target).min(max_tokens), max_tokens }
}

/// `audiobook plan`.
pub fn plan(args: &PlanArgs, printer: &Printer) -> Result<ExitCode> {
    let book = read_book(&args.inputs, &args.read, printer)?;
    let g2p = engine::phonemizer(&args.voice.voice)?;
    let plan = plan::plan(&book, &g2p, &chunk_config(&args.chunks))?;
    warn_unspoken(&plan, printer);
    let out = |text: &str| printer.data(text).map_err(Error::io("<stdout>"));
    if args.text {
        out(&plan.spoken_text())?;
        return Ok(ExitCode::SUCCESS);
    }
    let summaries = plan.summaries(args.voice.speed);
    if printer.json {
        let json = serde_json::json!({
            "title": book.meta.title,
            "authors": book.meta.authors,
            "language": book.meta.language,
            "chapters": summaries,
            "warnings": book.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        out(&json.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table =
        format!("{}\n{:>4}  {:>7}  {:>6}  {:>8}  TITLE\n", book.meta.title, "#", "WORDS", "CHUNKS", "AUDIO");
    for s in &summaries {
        table +=
            &format!("{:>4}  {:>7}  {:>6}  {:>8}  {}\n", s.index, s.words, s.chunks, clock(s.estimated_ms), s.title);
    }
    let words: usize = summaries.iter().map(|s| s.words).sum();
    let ms: u64 = summaries.iter().map(|s| s.estimated_ms).sum();
    table += &format!("{} chapters, {words} words, about {} of audio\n", summaries.len(), clock(ms));
    out(&table)?;
    Ok(ExitCode::SUCCESS)
}

/// The process's peak resident memory, where the OS tells it (Linux).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Says which words will be silent because the English G2P cannot read their script.
fn warn_unspoken(plan: &BookPlan, printer: &Printer) {
    for chapter in &plan.chapters {
        let words: Vec<&str> = chapter.unspoken_words().collect();
        if let Some(first) = words.first() {
            printer.warn(&format!(
                "chapter {} '{}': {} words have no English pronunciation and stay silent (e.g. '{first}')",
                chapter.number,
                chapter.title,
                words.len()
            ));
        }
    }
}

/// The hashes of the input files the book was read from.
fn input_records(book: &Book) -> Vec<InputRecord> {
    let files: BTreeSet<PathBuf> = book
        .chapters
        .iter()
        .flat_map(|c| &c.blocks)
        .map(|b| {
            let file = b.source.file.to_string_lossy();
            PathBuf::from(file.split_once('#').map_or(file.as_ref(), |(f, _)| f))
        })
        .collect();
    files
        .into_iter()
        .filter_map(|path| {
            let sha256 = manifest::file_sha256(&path).ok()?;
            Some(InputRecord { path: path.display().to_string(), sha256 })
        })
        .collect()
}

fn default_outdir(inputs: &[PathBuf]) -> PathBuf {
    let first = inputs.first().map(PathBuf::as_path).unwrap_or(Path::new("-"));
    let stem = if first == Path::new("-") {
        "audiobook".to_string()
    } else {
        first.file_stem().map_or("audiobook".into(), |s| s.to_string_lossy().into_owned())
    };
    PathBuf::from(format!("{stem}-audiobook"))
}

fn pauses(args: &PauseArgs) -> Pauses {
    Pauses {
        lead_in_ms: args.pause_chapter,
        paragraph_ms: args.pause_paragraph,
        sentence_ms: args.pause_sentence,
        tail_ms: args.pause_end,
        ..Pauses::default()
    }
}

/// `audiobook build`.
pub fn build(args: &BuildArgs, models: &ModelArgs, printer: &Printer) -> Result<ExitCode> {
    let started = Instant::now();
    let book = read_book(&args.inputs, &args.read, printer)?;
    let g2p = engine::phonemizer(&args.voice.voice)?;
    let plan: BookPlan = plan::plan(&book, &g2p, &chunk_config(&args.chunks))?;
    drop(g2p);
    warn_unspoken(&plan, printer);

    let files = assets::ensure(&engine::overrides(models), printer)?;
    let loading = Instant::now();
    let env = engine::environment(&files.ort_lib)?;
    let (model, model_sha256) = engine::model_bytes(&files)?;
    let model_read_ms = loading.elapsed().as_millis() as u64;
    let voice = voices::VoicePack::load(&files.voices, &args.voice.voice)?;
    let settings = BuildSettings {
        outdir: args.output.clone().unwrap_or_else(|| default_outdir(&args.inputs)),
        voice: args.voice.voice.clone(),
        speed: args.voice.speed,
        jobs: args.jobs.map_or_else(engine::cores, usize::from),
        session: SessionConfig {
            intra_threads: usize::from(args.threads),
            spinning: args.tuning.spin,
            memory_pattern: args.tuning.memory_pattern,
            optimization: args.tuning.graph_optimization,
            arena: !args.tuning.no_arena,
        },
        pauses: pauses(&args.pauses),
        chunks: chunk_config(&args.chunks),
    };
    let engine = Engine { env: &env, model, model_sha256: &model_sha256, voice: &voice };

    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    // The first Ctrl-C lets the chunks in flight finish; a second one ends the process at once
    // (every write is atomic, so nothing finished is lost either way).
    let _ = ctrlc::set_handler(move || {
        if handler_stop.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!("\naudiobook: stopping after the chunks in progress (Ctrl-C again to stop now)");
    });

    let mut progress = BuildProgress::new(*printer);
    let outcome = build::build(&book.meta, input_records(&book), &plan, engine, &settings, &mut progress, &stop)?;
    progress.finish();

    let wall = started.elapsed().as_secs_f64();
    let outdir = settings.outdir.display();
    let summary = serde_json::json!({
        "event": "summary",
        "outdir": outdir.to_string(),
        "chapters": outcome.chapters,
        "chapters_done": outcome.chapters_done,
        "chapters_reused": outcome.chapters_reused,
        "chunks_rendered": outcome.chunks_rendered,
        "chunks_failed": outcome.chunks_failed,
        "audio_ms_rendered": outcome.audio_ms_rendered,
        "duration_ms": outcome.duration_ms,
        "interrupted": outcome.interrupted,
        "wall_ms": (wall * 1000.0) as u64,
        "load_ms": model_read_ms + outcome.session_load_ms,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    if printer.json {
        printer.data(&summary.to_string()).map_err(Error::io("<stdout>"))?;
    }
    if outcome.interrupted {
        // Said even with --quiet: the exit code alone would not tell how to go on.
        eprintln!(
            "audiobook: interrupted with {} of {} chapters done; run the same command to resume",
            outcome.chapters_done, outcome.chapters
        );
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    if outcome.chunks_failed > 0 {
        eprintln!(
            "audiobook: error: {} chunks failed; {} of {} chapters written to {outdir}; run the same command to retry the rest",
            outcome.chunks_failed, outcome.chapters_done, outcome.chapters
        );
        return Ok(ExitCode::from(EXIT_PARTIAL));
    }
    let duration = outcome.duration_ms.unwrap_or(0);
    printer.info(&format!(
        "audiobook: {} chapters ({} of audio) in {outdir}; {} rendered in {:.1} s ({:.2}x real time){}",
        outcome.chapters,
        clock(duration),
        clock(outcome.audio_ms_rendered),
        wall,
        outcome.audio_ms_rendered as f64 / 1000.0 / wall.max(1e-3),
        peak_rss_bytes().map_or_else(String::new, |b| format!(", peak memory {:.0} MB", b as f64 / 1e6))
    ));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::args::{Cli, Command};

    #[test]
    fn command_line_defaults_are_the_library_defaults() {
        let cli = Cli::parse_from(["audiobook", "build", "book.epub"]);
        let Command::Build(args) = cli.command else { panic!("not a build") };
        assert_eq!(pauses(&args.pauses), Pauses::default());
        assert_eq!(chunk_config(&args.chunks), ChunkConfig::default());
        let defaults = SessionConfig::default();
        assert_eq!(usize::from(args.threads), defaults.intra_threads);
        assert_eq!(
            (args.tuning.spin, args.tuning.memory_pattern, !args.tuning.no_arena, args.tuning.graph_optimization),
            (defaults.spinning, defaults.memory_pattern, defaults.arena, defaults.optimization)
        );
        assert_eq!(default_outdir(&args.inputs), PathBuf::from("book-audiobook"));
    }
}
