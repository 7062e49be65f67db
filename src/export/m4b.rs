//! `book.m4b`: the whole book as one AAC file in an MP4 container, the form audiobook players
//! expect. Chapter marks come from the chapter WAVs' exact sample counts (FFMETADATA with
//! `TIMEBASE=1/24000`), so the 300th chapter starts where the WAVs say, with no rounding carried
//! from one chapter to the next. ffmpeg's `ipod` muxer writes them in both forms players read:
//! a QuickTime chapter track (`tref/chap` to a text track; Apple's players read only this) and a
//! Nero `chpl` atom (foobar2000, Voice on Android, Mp3tag; it holds at most 255 chapters).
//! Tags go into the iTunes `ilst` list, never as `mdta` keys (`use_metadata_tags`), which most
//! players ignore.

use std::io::Write;
use std::path::Path;

use super::cover::Cover;
use super::ffmpeg::Encoder;
use super::metadata::{self, Mark};
use super::sink::{stream_wav, wav_samples};
use super::{BookAudio, ExportError, OutputFormat, Written, args, samples_ms};
use crate::kokoro::SAMPLE_RATE;

/// The file's name in the output folder.
pub const FILE: &str = "book.m4b";
/// What ffmpeg is asked for (part of the output key).
pub const ENCODER: &str = "aac -b:a 64k; ipod muxer, brand M4B, faststart, stik 2";

/// Encodes the book's chapter WAVs, in order, into `book.m4b`, scaled by `gain`.
pub fn encode(
    ffmpeg: &Path,
    book: &BookAudio,
    cover: Option<&Cover>,
    gain: f32,
    scratch: &Path,
) -> Result<Written, ExportError> {
    let target = book.dir.join(FILE);
    let mut marks = Vec::with_capacity(book.chapters.len());
    let mut start = 0;
    for chapter in &book.chapters {
        let samples = wav_samples(&book.dir.join(&chapter.wav))?;
        marks.push(Mark { title: chapter.title.clone(), start, end: start + samples });
        start += samples;
    }
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

    let mut encoder = Encoder::start(ffmpeg, &command, &target)?;
    let streamed =
        book.chapters.iter().try_for_each(|c| stream_wav(&book.dir.join(&c.wav), gain, &mut encoder).map(|_| ()));
    encoder.finish(streamed)?;
    Ok(Written { format: OutputFormat::M4b, file: FILE.to_string(), duration_ms: samples_ms(start) })
}
