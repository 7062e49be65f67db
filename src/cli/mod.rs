//! The command line: parse, run one subcommand, print the error as one line, pick the exit code.

pub mod args;
mod book;
pub mod engine;
pub mod printer;
mod progress;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use self::args::{Cli, Command, ModelsCommand, SayArgs};
use self::printer::Printer;
use crate::assemble::wav;
use crate::atomic;
use crate::error::{Error, Result};
use crate::kokoro::SessionConfig;
use crate::kokoro::assets::{self, ModelFiles};
use crate::kokoro::voices;
use crate::say::{self, SpeechSettings};

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer::new(cli.output.quiet, cli.output.verbose, cli.output.json);
    match run(&cli, &printer) {
        Ok(code) => code,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("audiobook: error: {}", one_line(&err.to_string()));
            if let Some(hint) = err.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: &Cli, printer: &Printer) -> Result<ExitCode> {
    match &cli.command {
        Command::Build(args) => book::build(args, &cli.models, printer),
        Command::Plan(args) => book::plan(args, printer),
        Command::Say(args) => say(cli, args, printer),
        Command::Voices => list_voices(printer),
        Command::Models(ModelsCommand::Fetch) => {
            let files = assets::ensure(&engine::overrides(&cli.models), printer)?;
            models_status(&files, printer)
        }
        Command::Models(ModelsCommand::Status) => {
            let files = assets::locate(&engine::overrides(&cli.models))?;
            models_status(&files, printer)
        }
    }
}

fn say(cli: &Cli, args: &SayArgs, printer: &Printer) -> Result<ExitCode> {
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

fn list_voices(printer: &Printer) -> Result<ExitCode> {
    let all = voices::catalogue();
    if printer.json {
        let json = serde_json::to_string_pretty(&all).map_err(|e| Error::Usage(e.to_string()))?;
        printer.data(&json).map_err(Error::io("<stdout>"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = format!("{:<14} {:<22} {:<7} {}\n", "VOICE", "LANGUAGE", "GENDER", "SPEAKS");
    for v in all {
        let speaks = if v.supported { "yes" } else { "no (English G2P only)" };
        table += &format!("{:<14} {:<22} {:<7} {speaks}\n", v.name, v.language, v.gender);
    }
    printer.data(&table).map_err(Error::io("<stdout>"))?;
    Ok(ExitCode::SUCCESS)
}

/// One model file's state, as `models status` reports it.
#[derive(Debug, serde::Serialize)]
struct FileStatus {
    role: &'static str,
    path: PathBuf,
    bytes: Option<u64>,
    /// "ok", "mismatch", "missing" or "unknown" (no checksum known for this file).
    checksum: &'static str,
}

fn file_status(role: &'static str, path: &Path) -> FileStatus {
    let bytes = std::fs::metadata(path).ok().map(|m| m.len());
    let checksum = match (bytes, assets::expected_sha256(path)) {
        (None, _) => "missing",
        (Some(_), None) => "unknown",
        (Some(_), Some(_)) => {
            if assets::verify(path).is_ok() {
                "ok"
            } else {
                "mismatch"
            }
        }
    };
    FileStatus { role, path: path.to_path_buf(), bytes, checksum }
}

fn models_status(files: &ModelFiles, printer: &Printer) -> Result<ExitCode> {
    let mut rows = vec![file_status("model", &files.model), file_status("onnxruntime", &files.ort_lib)];
    match &files.voices {
        assets::VoiceStore::Dir(dir) => {
            rows.extend(voices::catalogue().iter().map(|v| file_status("voice", &dir.join(format!("{}.bin", v.name)))))
        }
        assets::VoiceStore::Npz(path) => rows.push(file_status("voices", path)),
    }
    let healthy = rows.iter().all(|r| matches!(r.checksum, "ok" | "unknown"));
    if printer.json {
        let json = serde_json::json!({ "ok": healthy, "files": rows });
        printer.data(&json.to_string()).map_err(Error::io("<stdout>"))?;
    } else {
        let mut out = String::new();
        for r in &rows {
            let size = r.bytes.map_or("-".to_string(), |b| format!("{:.1} MB", b as f64 / 1e6));
            out += &format!("{:<12} {:<9} {:>9}  {}\n", r.role, r.checksum, size, r.path.display());
        }
        printer.data(&out).map_err(Error::io("<stdout>"))?;
    }
    if healthy {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::Usage("some model files are missing or corrupt; run `audiobook models fetch`".into()))
    }
}
