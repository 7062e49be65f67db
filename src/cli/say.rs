//! `audiobook say`: one text to one WAV, through the same stages and engine as a book, held in
//! memory.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::args::{Cli, SayArgs};
use super::printer::Printer;
use super::settings;
use crate::assemble::wav;
use crate::atomic;
use crate::error::{Error, ExitStatus, Result};
use crate::kokoro::{assets, voices};
use crate::narrate;

pub fn run(cli: &Cli, args: &SayArgs, printer: &Printer) -> Result<ExitCode> {
    let settings = settings::say_settings(args);
    voices::check(&settings.voice)?;
    let output = match &args.output {
        Some(path) => path.clone(),
        None if !std::io::stdout().is_terminal() => PathBuf::from("-"),
        None => return Err(Error::NoOutput),
    };
    let (text, source_name) = match args.text.as_deref() {
        Some(text) if text != "-" => (text.to_string(), "the text"),
        _ => (read_stdin()?, "<stdin>"),
    };
    narrate::check_text(&text, source_name)?;
    // The engine and the G2P take about as long to start: start them side by side.
    let (engine, g2p) = std::thread::scope(|s| {
        let g2p = s.spawn(|| {
            let started = Instant::now();
            let g2p = narrate::phonemizer(&settings.voice);
            printer.detail(&format!("G2P ready in {:.2} s", started.elapsed().as_secs_f64()));
            g2p
        });
        let engine = assets::ensure(&settings::asset_overrides(&cli.models), printer)
            .map_err(Error::from)
            .and_then(|files| narrate::start_engine(&files, &settings));
        (engine, g2p.join().unwrap_or_else(|_| Err(Error::Panicked { what: "the G2P thread" })))
    });
    let engine = engine?;
    printer.detail(&format!("model loaded in {:.2} s", engine.load_ms() as f64 / 1000.0));
    let g2p = g2p?;
    let started = Instant::now();
    let speech = narrate::say(&text, &engine, &g2p, &settings)?;
    printer.detail(&format!("spoken in {:.2} s", started.elapsed().as_secs_f64()));

    let bytes = wav::to_bytes(&speech.samples).map_err(|source| Error::Wav { path: output.clone(), source })?;
    if output == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&bytes).and_then(|_| stdout.flush()).map_err(Error::io("<stdout>"))?;
    } else {
        atomic::write(&output, &bytes).map_err(Error::io(&output))?;
    }
    if let Some(path) = &args.timings {
        let json = serde_json::to_vec_pretty(&speech.timing).map_err(Error::json(path.display().to_string()))?;
        atomic::write(path, &json).map_err(Error::io(path))?;
    }
    printer.detail(&format!(
        "{} words, {:.1} s of audio",
        speech.timing.words.len(),
        speech.timing.duration_ms as f64 / 1000.0
    ));
    Ok(ExitStatus::Success.into())
}

fn read_stdin() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::NoText);
    }
    let mut bytes = Vec::new();
    stdin.lock().read_to_end(&mut bytes).map_err(Error::io("<stdin>"))?;
    String::from_utf8(bytes).map_err(|_| Error::NotUtf8 { source_name: "<stdin>".into() })
}
