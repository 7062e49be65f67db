//! MP3 and Opus: one file per chapter beside its WAV (same stem), for players and devices that
//! take a folder of tracks. Each carries the chapter's title, the book as album, the authors as
//! artist, its track number n/N, and the cover: in an MP3 as an attached picture (ID3 `APIC`), in
//! Ogg Opus as a `METADATA_BLOCK_PICTURE` comment read from an FFMETADATA input.

use std::ffi::OsString;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::cover::Cover;
use super::ffmpeg::Encoder;
use super::limiter::Limited;
use super::sink::stream_wav;
use super::{BookAudio, ExportError, OutputFormat, Written, args, samples_ms};

/// What ffmpeg is asked for (part of the output keys).
pub const MP3_ENCODER: &str = "libmp3lame -b:a 64k; id3v2.3";
pub const OPUS_ENCODER: &str = "libopus -b:a 32k; ogg; picture comment";

/// Encodes every chapter WAV into its own file of `format`, scaled by `gain` and, with `limit`,
/// through its own true-peak limiter (each file is a stream of its own).
#[allow(clippy::too_many_arguments)]
pub fn encode(
    ffmpeg: &Path,
    format: OutputFormat,
    book: &BookAudio,
    cover: Option<&Cover>,
    gain: f32,
    limit: bool,
    scratch: &Path,
    stop: &AtomicBool,
    written: &mut dyn FnMut(Written),
) -> Result<(), ExportError> {
    let (extension, codec): (&str, &[&str]) = match format {
        OutputFormat::Opus => ("opus", &["-c:a", "libopus", "-b:a", "32k", "-f", "opus"]),
        _ => ("mp3", &["-c:a", "libmp3lame", "-b:a", "64k", "-id3v2_version", "3", "-f", "mp3"]),
    };
    // Opus: the cover as a comment, written once for every chapter.
    let comment_file = match cover {
        Some(cover) if format == OutputFormat::Opus => Some(cover.ogg_comment_file(ffmpeg, scratch)?),
        _ => None,
    };
    let picture = cover.filter(|_| format == OutputFormat::Mp3);
    let total = book.chapters.len();
    for (i, chapter) in book.chapters.iter().enumerate() {
        let mut command = Vec::new();
        if let Some(cover) = picture {
            command.extend(cover.input_args());
        }
        if let Some(file) = &comment_file {
            command.extend(args(["-f", "ffmetadata", "-i"]));
            command.push(file.as_os_str().to_owned());
            command.extend(args(["-map_metadata", "1"]));
        }
        command.extend(args(["-map", "0:a"]));
        if let Some(cover) = picture {
            command.extend(cover.output_args(1));
            command.extend(args(["-metadata:s:v", "title=Album cover", "-metadata:s:v", "comment=Cover (front)"]));
        }
        let mut tags = vec![("title", chapter.title.clone()), ("track", format!("{}/{total}", i + 1))];
        tags.extend(book.tags.book_tags());
        if let Some(language) = book.tags.iso639_2() {
            tags.push(("language", language.to_string()));
        }
        for (key, value) in tags {
            command.push(OsString::from("-metadata"));
            command.push(OsString::from(format!("{key}={value}")));
        }
        command.extend(args(codec.iter().copied()));

        let file = chapter.sibling(extension);
        let mut encoder = Encoder::start(ffmpeg, &command, &book.dir.join(&file), stop)?;
        let wav = book.dir.join(&chapter.wav);
        let streamed = if limit {
            let mut stage = Limited::new(&mut encoder);
            stream_wav(&wav, gain, &mut stage).and_then(|n| stage.finish().map(|_| n))
        } else {
            stream_wav(&wav, gain, &mut encoder)
        };
        let samples = *streamed.as_ref().unwrap_or(&0);
        encoder.finish(streamed.map(|_| ()))?;
        written(Written { format, file, duration_ms: samples_ms(samples) });
    }
    Ok(())
}
