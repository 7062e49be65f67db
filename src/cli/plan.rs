//! `audiobook plan`: the chapters, words, chunks and estimated duration of the inputs, or the
//! exact text that will be spoken.

use std::process::ExitCode;

use super::args::{ModelArgs, PlanArgs};
use super::models;
use super::printer::{Printer, terminal_safe};
use super::progress::clock;
use super::settings;
use crate::error::{Error, ExitStatus, Result};
use crate::lexicon::Lexicon;
use crate::narrate::{self, ReadBook};
use crate::plan::BookPlan;

pub fn run(args: &PlanArgs, models: &ModelArgs, printer: &Printer) -> Result<ExitCode> {
    let mut settings = settings::plan_settings(&args.voice, &args.read, &args.chunks, &args.pick)?;
    settings.lexicon = narrate::load_lexicon(args.voice.lexicon.as_deref(), &args.inputs)?;
    report_lexicon(&settings.lexicon, printer);
    let ReadBook { book, language, left_out } = narrate::read(&args.inputs, &settings)?;
    settings.japanese_dictionary = models::japanese_dictionary(language, models, printer)?;
    report_reading(&book, language, &settings.voice, &left_out, printer);
    let plan = narrate::plan(&book, &settings)?;
    warn_unspoken(&plan, printer);
    let out = |text: &str| printer.data(text).map_err(Error::io("<stdout>"));
    if args.text {
        out(&plan.spoken_text())?;
        return Ok(ExitStatus::Success.into());
    }
    let summaries = plan.summaries(settings.speed);
    if printer.json {
        let json = serde_json::json!({
            "title": book.meta.title,
            "authors": book.meta.authors,
            "language": book.meta.language,
            "chapters": summaries,
            "warnings": book.warnings.iter().map(ToString::to_string).chain(plan.language_warnings.iter().cloned()).collect::<Vec<_>>(),
        });
        out(&json.to_string())?;
        return Ok(ExitStatus::Success.into());
    }
    let mut table =
        format!("{}\n{:>4}  {:>7}  {:>6}  {:>8}  TITLE\n", book.meta.title, "#", "WORDS", "CHUNKS", "AUDIO");
    for s in &summaries {
        table +=
            &format!("{:>4}  {:>7}  {:>6}  {:>8}  {}\n", s.index, s.words, s.chunks, clock(s.estimated_ms), s.title);
        // Sections sit under their chapter, indented by depth, with where they start in it.
        for section in &s.sections {
            let indent = "  ".repeat(usize::from(section.depth));
            table += &format!("{:>34}{indent}{} (at {})\n", "", section.title, clock(section.start_ms));
        }
    }
    let words: usize = summaries.iter().map(|s| s.words).sum();
    let ms: u64 = summaries.iter().map(|s| s.estimated_ms).sum();
    table += &format!("{} chapters, {words} words, about {} of audio\n", summaries.len(), clock(ms));
    out(&terminal_safe(&table))?;
    Ok(ExitStatus::Success.into())
}

/// Says how many lexicon entries apply and from which files (with `-v`, each file's count).
pub fn report_lexicon(lexicon: &Lexicon, printer: &Printer) {
    if lexicon.is_empty() {
        return;
    }
    let mut files: Vec<(&std::path::Path, usize)> = Vec::new();
    for entry in lexicon.entries() {
        match files.iter_mut().find(|(f, _)| *f == entry.file) {
            Some((_, n)) => *n += 1,
            None => files.push((&entry.file, 1)),
        }
    }
    let names: Vec<String> = files.iter().map(|(f, n)| format!("{} ({n})", f.display())).collect();
    printer.info(&format!("audiobook: lexicon: {} entries from {}", lexicon.entries().len(), names.join(", ")));
}

/// Says which files were left out, and what was read past (each with `-v`, a count without).
pub fn report_reading(
    book: &crate::ingest::Book,
    language: crate::language::Language,
    voice: &str,
    left_out: &[std::path::PathBuf],
    printer: &Printer,
) {
    printer.detail(&format!("reading in {language}"));
    // Upstream Kokoro warns too: the voice then speaks the language with its own accent.
    if crate::language::Language::of_voice(voice)
        .is_some_and(|v| v.code() != language.code() && !(v.is_english() && language.is_english()))
    {
        printer.warn(&format!("the book is read in {language}, but the voice {voice} is not a {language} voice"));
    }
    for file in left_out {
        printer.warn(&format!("{}: left out: it does not read as English", file.display()));
    }
    for warning in &book.warnings {
        printer.detail(&format!("audiobook: warning: {warning}"));
    }
    if !book.warnings.is_empty() && !printer.verbose {
        printer.warn(&format!("{} problems read past in the input (-v lists them)", book.warnings.len()));
    }
}

/// Says which words will be silent because the English G2P cannot read their script, which
/// tokens are read other than as written (`--long-tokens`), and which words were too long for one
/// model call.
pub fn warn_unspoken(plan: &BookPlan, printer: &Printer) {
    for warning in &plan.language_warnings {
        printer.warn(warning);
    }
    for chapter in &plan.chapters {
        let long: Vec<_> = chapter.long_tokens().collect();
        if let Some(first) = long.first() {
            let original: String = first.original.chars().take(40).collect();
            let said =
                if first.spoken.is_empty() { "left out".to_string() } else { format!("read as \"{}\"", first.spoken) };
            printer.warn(&format!(
                "chapter {} '{}': {} tokens read other than as written (e.g. '{original}' {said}; see --long-tokens)",
                chapter.number,
                chapter.title,
                long.len()
            ));
        }
        let split: Vec<&str> = chapter.split_words().collect();
        if let Some(first) = split.first() {
            let first: String = first.chars().take(40).collect();
            printer.warn(&format!(
                "chapter {} '{}': {} words too long for one model call are read in parts (e.g. '{first}')",
                chapter.number,
                chapter.title,
                split.len()
            ));
        }
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
