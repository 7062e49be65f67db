//! `audiobook say`: one text to one WAV, through the same stages as a book, held in memory.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::args::{Cli, SayArgs};
use super::engine;
use super::printer::Printer;
use crate::assemble::wav;
use crate::atomic;
use crate::error::{Error, Result};
use crate::kokoro::SessionConfig;
use crate::kokoro::voices;
use crate::say::{self, SpeechSettings};

pub fn run(cli: &Cli, args: &SayArgs, printer: &Printer) -> Result<ExitCode> {
    voices::check(&args.voice.voice)?;
    let output = match &args.output {
        Some(path) => path.clone(),
        None if !std::io::stdout().is_terminal() => PathBuf::from("-"),
        None => return Err(Error::Usage("say: give -o FILE.wav, or -o - to write the WAV to stdout".into())),
    };
    let text = match args.text.as_deref() {
        Some(text) if text != "-" => text.to_string(),
        _ => read_stdin()?,
    };
    if !text.chars().any(char::is_alphanumeric) {
        return Err(Error::Usage("nothing to say: the text is empty".into()));
    }
    let threads = args.threads.map_or_else(engine::cores, usize::from);
    let config = SessionConfig { intra_threads: threads, ..SessionConfig::default() };
    // The model session and the G2P take about as long to build: build them side by side.
    let (session, g2p) = std::thread::scope(|s| {
        let g2p = s.spawn(|| {
            let started = std::time::Instant::now();
            let g2p = engine::phonemizer(&args.voice.voice);
            printer.detail(&format!("G2P ready in {:.2} s", started.elapsed().as_secs_f64()));
            g2p
        });
        let session = engine::session(&cli.models, printer, config);
        (session, g2p.join().unwrap_or_else(|_| Err(Error::Usage("the G2P thread panicked".into()))))
    });
    let (files, mut session) = session?;
    let g2p = g2p?;
    let voice = voices::VoicePack::load(&files.voices, &args.voice.voice)?;
    let settings = SpeechSettings { speed: args.voice.speed, chunks: Default::default(), pauses: Default::default() };
    let started = std::time::Instant::now();
    let speech = say::speak(&text, &mut session, &voice, &g2p, &settings)?;
    printer.detail(&format!("spoken in {:.2} s", started.elapsed().as_secs_f64()));

    let bytes = wav::to_bytes(&speech.samples).map_err(|source| Error::Wav { path: output.clone(), source })?;
    if output == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&bytes).and_then(|_| stdout.flush()).map_err(Error::io("<stdout>"))?;
    } else {
        atomic::write(&output, &bytes).map_err(Error::io(&output))?;
    }
    if let Some(path) = &args.timings {
        let json = serde_json::to_vec_pretty(&speech.timing).map_err(|e| Error::Usage(e.to_string()))?;
        atomic::write(path, &json).map_err(Error::io(path))?;
    }
    printer.detail(&format!(
        "{} words, {:.1} s of audio",
        speech.timing.words.len(),
        speech.timing.duration_ms as f64 / 1000.0
    ));
    Ok(ExitCode::SUCCESS)
}

fn read_stdin() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::Usage("say: give the text as an argument, or pipe it on stdin".into()));
    }
    let mut bytes = Vec::new();
    stdin.lock().read_to_end(&mut bytes).map_err(Error::io("<stdin>"))?;
    String::from_utf8(bytes).map_err(|_| Error::Usage("<stdin>: the text is not UTF-8".into()))
}
