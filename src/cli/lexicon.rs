//! `audiobook lexicon scan`: the words of a book the G2P guesses, to review before a long build.

use std::process::ExitCode;
use std::time::Instant;

use super::args::{ModelArgs, ScanArgs};
use super::plan::{report_lexicon, report_reading};
use super::printer::{Printer, terminal_safe};
use super::settings;
use crate::error::{Error, ExitStatus, Result};
use crate::lexicon::{self, LexiconError};
use crate::narrate::{self, ReadBook};

pub fn scan(args: &ScanArgs, models: &ModelArgs, printer: &Printer) -> Result<ExitCode> {
    let mut settings = settings::reading_settings(&args.voice, &args.read);
    settings.language = settings::language(&args.voice)?;
    settings.lexicon = narrate::load_lexicon(args.voice.lexicon.as_deref(), &args.inputs)?;
    report_lexicon(&settings.lexicon, printer);
    if let Some(path) = args.write.as_deref().filter(|p| p.exists()) {
        return Err(LexiconError::Exists { path: path.to_path_buf() }.into());
    }
    let ReadBook { book, language, left_out } = narrate::read(&args.inputs, &settings)?;
    settings.japanese_dictionary = super::models::japanese_dictionary(language, models, printer)?;
    report_reading(&book, language, &settings.voice, &left_out, printer);
    let plan = narrate::plan(&book, &settings)?;
    let g2p = narrate::phonemizer_in(language, &settings)?;
    let started = Instant::now();
    let guesses = lexicon::scan(&plan, &g2p);
    printer.detail(&format!("scanned in {:.2} s", started.elapsed().as_secs_f64()));
    if let Some(path) = &args.write {
        let text = lexicon::starter(&guesses, &book.meta.title);
        crate::atomic::write(path, text.as_bytes()).map_err(Error::io(path))?;
        printer.info(&format!("audiobook: wrote {} entries to {}", guesses.len(), path.display()));
    }
    let out = |text: &str| printer.data(text).map_err(Error::io("<stdout>"));
    if printer.json {
        out(&serde_json::to_string(&guesses).map_err(Error::json("the guesses"))?)?;
    } else if args.write.is_none() || !printer.quiet {
        let width = guesses.iter().map(|g| g.word.chars().count()).max().unwrap_or(4).max(4);
        let mut table = format!("{:>6}  {:<width$}  GUESSED\n", "COUNT", "WORD");
        for g in &guesses {
            table += &format!("{:>6}  {:<width$}  /{}/\n", g.count, g.word, g.phonemes);
        }
        let said: usize = guesses.iter().map(|g| g.count).sum();
        table += &format!("{} words the G2P does not know, said {said} times\n", guesses.len());
        out(&terminal_safe(&table))?;
    }
    Ok(ExitStatus::Success.into())
}
