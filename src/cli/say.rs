//! `audiobook say`: one text to one WAV, through the same stages and engine as a book, held in
//! memory.

use std::io::{BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::args::{Cli, ModelArgs, SayArgs};
use super::models;
use super::printer::{Printer, terminal_safe};
use super::settings;
use crate::assemble::wav;
use crate::atomic::{self, AtomicFile};
use crate::error::{Error, ExitStatus, Result};
use crate::kokoro::{assets, voices};
use crate::narrate;

pub fn run(cli: &Cli, args: &SayArgs, printer: &Printer) -> Result<ExitCode> {
    let mut settings = settings::say_settings(args, cli.models.device)?;
    settings.lexicon = narrate::load_lexicon(args.voice.lexicon.as_deref(), &[])?;
    voices::check(&settings.voice)?;
    if args.phonemes {
        return print_phonemes(args, settings, &cli.models, printer);
    }
    let output = match &args.output {
        Some(path) => path.clone(),
        None if !std::io::stdout().is_terminal() => PathBuf::from("-"),
        None => return Err(Error::NoOutput),
    };
    let (text, source_name) = text_of(args)?;
    narrate::check_text(&text, source_name)?;
    let language = narrate::text_language(&text, &settings)?;
    settings.japanese_dictionary = models::japanese_dictionary(language, &cli.models, printer)?;
    // The engine and the G2P take about as long to start: start them side by side.
    let (engine, g2p) = std::thread::scope(|s| {
        let g2p = s.spawn(|| {
            let started = Instant::now();
            let g2p = narrate::phonemizer_for_text(&text, &settings);
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
    let voice = engine.voice(&settings.voice)?;
    let started = Instant::now();
    let mut speaker = narrate::speaker(&text, &engine, &voice, &g2p, &settings)?;
    let mut out = WavOut::open(&output)?;
    while let Some(chunk) = speaker.next_chunk() {
        let chunk = chunk?;
        out.write(&vec![0.0; chunk.silence])?;
        out.write(&chunk.samples)?;
    }
    let (tail, timing) = speaker.finish();
    if timing.words.is_empty() {
        return Err(Error::EmptyText { source_name: source_name.into() });
    }
    out.write(&vec![0.0; tail])?;
    out.finish()?;
    printer.detail(&format!("spoken in {:.2} s", started.elapsed().as_secs_f64()));
    if let Some(path) = &args.timings {
        let json = serde_json::to_vec_pretty(&timing).map_err(Error::json(path.display().to_string()))?;
        atomic::write(path, &json).map_err(Error::io(path))?;
    }
    printer.detail(&format!("{} words, {:.1} s of audio", timing.words.len(), timing.duration_ms as f64 / 1000.0));
    Ok(ExitStatus::Success.into())
}

/// `say --phonemes`: each word and its phonemes, one a line (or JSON), without the model.
fn print_phonemes(
    args: &SayArgs,
    mut settings: narrate::Settings,
    models: &ModelArgs,
    printer: &Printer,
) -> Result<ExitCode> {
    let (text, source_name) = text_of(args)?;
    narrate::check_text(&text, source_name)?;
    let language = narrate::text_language(&text, &settings)?;
    settings.japanese_dictionary = models::japanese_dictionary(language, models, printer)?;
    let g2p = narrate::phonemizer_for_text(&text, &settings)?;
    let words = narrate::phonemes(&text, &g2p)?;
    let out = if printer.json {
        serde_json::to_string(&words).map_err(Error::json("the phonemes"))?
    } else {
        let width = words.iter().map(|w| w.word.chars().count()).max().unwrap_or(0);
        words.iter().map(|w| format!("{:<width$}  /{}/\n", w.word, w.phonemes)).collect()
    };
    printer.data(&terminal_safe(&out)).map_err(Error::io("<stdout>"))?;
    Ok(ExitStatus::Success.into())
}

/// The text to speak and how errors name it: the argument, or stdin.
fn text_of(args: &SayArgs) -> Result<(String, &'static str)> {
    match args.text.as_deref() {
        Some(text) if text != "-" => Ok((text.to_string(), "the text")),
        _ => Ok((read_stdin()?, "<stdin>")),
    }
}

fn read_stdin() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::NoText);
    }
    // One byte past the cap is enough for check_text to refuse it.
    let mut bytes = Vec::new();
    let cap = narrate::MAX_SAY_TEXT_BYTES as u64 + 1;
    stdin.lock().take(cap).read_to_end(&mut bytes).map_err(Error::io("<stdin>"))?;
    if bytes.len() as u64 == cap {
        let limit_mib = narrate::MAX_SAY_TEXT_BYTES >> 20;
        return Err(Error::TextTooLong { source_name: "<stdin>".into(), limit_mib });
    }
    String::from_utf8(bytes).map_err(|_| Error::NotUtf8 { source_name: "<stdin>".into() })
}

/// Where `say` writes its WAV, chunk by chunk as each is spoken: stdout (a stream, so its header
/// says the length is unknown, until the end where stdout is a regular file) or a file (atomic,
/// its header's sizes filled in at the end).
enum WavOut {
    Stdout { stdout: std::io::Stdout, file: Option<StdoutFile>, data_bytes: u64 },
    File { path: PathBuf, out: BufWriter<AtomicFile>, data_bytes: u64 },
}

impl WavOut {
    fn open(output: &Path) -> Result<Self> {
        let header = wav::streaming_header();
        if output == Path::new("-") {
            let file = StdoutFile::find();
            let mut stdout = std::io::stdout();
            // Flushed at once: a player at the other end of a pipe can open the stream now.
            stdout.write_all(&header).and_then(|_| stdout.flush()).map_err(Error::io("<stdout>"))?;
            return Ok(Self::Stdout { stdout, file, data_bytes: 0 });
        }
        let mut out = BufWriter::new(AtomicFile::create(output).map_err(Error::io(output))?);
        out.write_all(&header).map_err(Error::io(output))?;
        Ok(Self::File { path: output.to_path_buf(), out, data_bytes: 0 })
    }

    fn write(&mut self, samples: &[f32]) -> Result<()> {
        let pcm = wav::pcm16_bytes(samples);
        match self {
            // Flushed per chunk, so a listener at the other end of a pipe hears it now.
            Self::Stdout { stdout, data_bytes, .. } => {
                *data_bytes += pcm.len() as u64;
                stdout.write_all(&pcm).and_then(|_| stdout.flush()).map_err(Error::io("<stdout>"))
            }
            Self::File { path, out, data_bytes } => {
                *data_bytes += pcm.len() as u64;
                out.write_all(&pcm).map_err(Error::io(path.as_path()))
            }
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Self::Stdout { mut stdout, file, data_bytes } => {
                stdout.flush().map_err(Error::io("<stdout>"))?;
                match file {
                    Some(file) => file.write_header(data_bytes).map_err(Error::io("<stdout>")),
                    None => Ok(()),
                }
            }
            Self::File { path, out, data_bytes } => {
                let mut file = out.into_inner().map_err(|e| Error::io(&path)(e.into_error()))?;
                file.seek(SeekFrom::Start(0))
                    .and_then(|_| file.write_all(&wav::header(Some(data_bytes))))
                    .and_then(|_| file.commit())
                    .map_err(Error::io(&path))
            }
        }
    }
}

/// Stdout redirected to a regular file (`> out.wav`), whose header can be given the real lengths
/// at the end, as players and libraries that distrust a stream's header need.
struct StdoutFile {
    #[cfg(target_os = "linux")]
    file: std::fs::File,
    /// Where the WAV starts: stdout may have had something written before it.
    #[cfg(target_os = "linux")]
    start: u64,
}

impl StdoutFile {
    /// Stdout as such a file, or `None`: a pipe, a terminal, a file opened for appending (`>>`,
    /// where any write lands at the end whatever its offset), or a system where that cannot be
    /// told (Linux's /proc says it).
    #[cfg(target_os = "linux")]
    fn find() -> Option<Self> {
        use std::os::fd::{AsFd, AsRawFd};
        let stdout = std::io::stdout();
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", stdout.as_raw_fd())).ok()?;
        let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
        let flags = i64::from_str_radix(flags.trim(), 8).ok()?;
        if flags & i64::from(libc::O_APPEND) != 0 {
            return None;
        }
        // A duplicate shares the offset; writing at an offset below leaves that offset alone.
        let mut file = std::fs::File::from(stdout.as_fd().try_clone_to_owned().ok()?);
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        let start = file.stream_position().ok()?;
        Some(Self { file, start })
    }

    #[cfg(not(target_os = "linux"))]
    fn find() -> Option<Self> {
        None
    }

    /// Rewrites the header where the WAV starts, now that its length is known.
    fn write_header(&self, data_bytes: u64) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::FileExt;
            self.file.write_all_at(&wav::header(Some(data_bytes)), self.start)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = data_bytes;
            Ok(())
        }
    }
}
