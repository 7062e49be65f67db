//! `book.m4b`: the whole book as one AAC file in an MP4 container, the form audiobook players
//! expect. Chapter marks come from the chapter WAVs' exact sample counts (FFMETADATA with
//! `TIMEBASE=1/24000`), so the 300th chapter starts where the WAVs say, with no rounding carried
//! from one chapter to the next. ffmpeg's `ipod` muxer writes them in both forms players read:
//! a QuickTime chapter track (`tref/chap` to a text track; Apple's players read only this) and a
//! Nero `chpl` atom (foobar2000, Voice on Android, Mp3tag; it holds at most 255 chapters).
//! An intro and outro, when given, play before and after the narration as chapters "Intro" and
//! "Outro", and every chapter mark moves by the intro's length.
//! Tags go into the iTunes `ilst` list, never as `mdta` keys (`use_metadata_tags`), which most
//! players ignore.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::clip::{self, Clip};
use super::ffmpeg::Encoder;
use super::limiter::Limited;
use super::loudness::{self, LoudnessTarget};
use super::metadata::{self, Mark};
use super::sink::{stream_wav, wav_samples};
use super::{AudioSink, BookAudio, ClipFile, ExportError, Extras, OutputFormat, Written, args, samples_ms};
use crate::kokoro::SAMPLE_RATE;

/// The file's name in the output folder.
pub const FILE: &str = "book.m4b";
/// What ffmpeg is asked for (part of the output key).
pub const ENCODER: &str = "aac -b:a 64k; ipod muxer, brand M4B, faststart, stik 2";

/// An intro or outro decoded, with its own gain toward the book's target (a clip is mastered
/// apart from the narration, so the book's gain would not suit it).
fn load_clip(file: Option<&ClipFile>, target: LoudnessTarget) -> Result<Option<Clip>, ExportError> {
    let Some(file) = file else { return Ok(None) };
    let mut clip = clip::load(&file.path)?;
    if let LoudnessTarget::Lufs(lufs) = target {
        let gain = loudness::linear(loudness::gain_db(&loudness::measure_samples(&clip.samples)?, lufs));
        clip.samples.iter_mut().for_each(|s| *s *= gain);
    }
    Ok(Some(clip))
}

/// The M4B's chapters in samples: the intro, the book's chapters and the outro, one after another.
fn marks(book: &BookAudio, intro: Option<&Clip>, outro: Option<&Clip>) -> Result<Vec<Mark>, ExportError> {
    let mut marks = Vec::with_capacity(book.chapters.len() + 2);
    let mut start = 0;
    let mut mark = |title: &str, samples: u64| {
        marks.push(Mark { title: title.to_string(), start, end: start + samples });
        start += samples;
    };
    if let Some(intro) = intro {
        mark("Intro", intro.samples.len() as u64);
    }
    for chapter in &book.chapters {
        mark(&chapter.title, wav_samples(&book.dir.join(&chapter.wav))?);
    }
    if let Some(outro) = outro {
        mark("Outro", outro.samples.len() as u64);
    }
    Ok(marks)
}

/// Where each of the book's chapters starts in the M4B, in samples (after the intro, if any).
pub fn chapter_starts(book: &BookAudio, extras: &Extras) -> Result<Vec<u64>, ExportError> {
    let intro = match &extras.intro {
        Some(file) => Some(clip::load(&file.path)?),
        None => None,
    };
    let marks = marks(book, intro.as_ref(), None)?;
    Ok(marks[usize::from(intro.is_some())..].iter().map(|m| m.start).collect())
}

/// Encodes the intro, the book's chapter WAVs in order (scaled by `gain`) and the outro into
/// `book.m4b`, all through one true-peak limiter unless loudness is off: the book is one stream,
/// so the limiter's state runs on across chapter boundaries, and it keeps every sample count, so
/// the chapter marks stay where the WAVs put them.
pub fn encode(
    ffmpeg: &Path,
    book: &BookAudio,
    extras: &Extras,
    gain: f32,
    scratch: &Path,
    stop: &AtomicBool,
) -> Result<Written, ExportError> {
    let target = book.dir.join(FILE);
    let cover = extras.cover.as_ref();
    let intro = load_clip(extras.intro.as_ref(), extras.loudness)?;
    let outro = load_clip(extras.outro.as_ref(), extras.loudness)?;
    let marks = marks(book, intro.as_ref(), outro.as_ref())?;
    let total = marks.last().map_or(0, |m| m.end);
    let text = metadata::ffmetadata(&book.tags, &marks, SAMPLE_RATE);
    let io_err = |source| ExportError::Io { path: scratch.into(), source };
    let mut meta = tempfile::Builder::new().prefix("chapters-").suffix(".txt").tempfile_in(scratch).map_err(io_err)?;
    meta.write_all(text.as_bytes()).and_then(|()| meta.flush()).map_err(io_err)?;

    let mut command = args(["-f", "ffmetadata", "-i"]);
    command.push(meta.path().as_os_str().to_owned());
    if let Some(cover) = cover {
        command.extend(cover.input_args());
    }
    command.extend(args(["-map", "0:a", "-map_metadata", "1", "-map_chapters", "1"]));
    if let Some(cover) = cover {
        command.extend(cover.output_args(2));
    }
    command.extend(args(["-c:a", "aac", "-b:a", "64k", "-metadata", "media_type=2"]));
    if let Some(language) = book.tags.iso639_2() {
        command.extend(args(["-metadata:s:a:0", &format!("language={language}")]));
    }
    // The extension is `.part` while writing, so the brand that `.m4b` would pick is named.
    command.extend(args(["-movflags", "+faststart", "-brand", "M4B ", "-f", "ipod"]));

    let mut encoder = Encoder::start(ffmpeg, &command, &target, stop)?;
    let feed = |sink: &mut dyn AudioSink| -> Result<(), ExportError> {
        if let Some(intro) = &intro {
            sink.samples(&intro.samples)?;
        }
        for chapter in &book.chapters {
            stream_wav(&book.dir.join(&chapter.wav), gain, sink)?;
        }
        if let Some(outro) = &outro {
            sink.samples(&outro.samples)?;
        }
        Ok(())
    };
    let streamed = if extras.loudness == LoudnessTarget::Off {
        feed(&mut encoder)
    } else {
        let mut stage = Limited::new(&mut encoder);
        feed(&mut stage).and_then(|()| stage.finish()).map(|_| ())
    };
    encoder.finish(streamed)?;
    Ok(Written { format: OutputFormat::M4b, file: FILE.to_string(), duration_ms: samples_ms(total) })
}
