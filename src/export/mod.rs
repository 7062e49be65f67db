//! What listeners play: the finished chapter WAVs turned into an M4B audiobook (AAC, both chapter
//! forms, tags, cover) or one MP3 or Opus file per chapter, through the system ffmpeg, with one
//! static loudness gain for the whole book; and what readers follow: subtitles and a read-along
//! EPUB 3, from the timing sidecars.
//!
//! This is the job's last step. It reads only the chapter WAVs and sidecars (the chunk store is
//! gone by then),
//! so adding a format to a finished build encodes without rendering anything; each output has a
//! key over the chapters' keys, the encoder settings, the tags, the cover and the gain, and the
//! job skips an output whose key and files are already there. WAV needs nothing; the other
//! formats need ffmpeg, checked by `check` before any rendering starts.

mod chapters;
pub mod clip;
mod cover;
mod ffmpeg;
pub mod limiter;
pub mod loudness;
mod m4b;
pub mod metadata;
pub mod readalong;
mod sink;
pub mod subtitles;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

pub use self::cover::Cover;
pub use self::ffmpeg::{PROGRAM as FFMPEG, encode_in_memory, find as find_ffmpeg};
pub use self::loudness::{LoudnessTarget, Measurement};
pub use self::metadata::Tags;
pub use self::sink::{AudioSink, stream_wav, wav_samples};
use crate::hash;

/// A kind of output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// A WAV and a timing sidecar per chapter (always written: the source of every other format).
    Wav,
    /// One AAC audiobook with chapters, `book.m4b`.
    M4b,
    /// One MP3 per chapter, beside its WAV.
    Mp3,
    /// One Ogg Opus file per chapter, beside its WAV.
    Opus,
    /// SRT subtitles per chapter beside its WAV, and `book.srt` beside an M4B.
    Srt,
    /// WebVTT subtitles with word timestamps, per chapter and `book.vtt` beside an M4B.
    Vtt,
    /// A read-along EPUB 3 (`book.epub`) whose text is highlighted as the chapter MP3s play.
    Epub,
}

impl OutputFormat {
    /// The name used on the command line, in events and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Wav => "wav",
            OutputFormat::M4b => "m4b",
            OutputFormat::Mp3 => "mp3",
            OutputFormat::Opus => "opus",
            OutputFormat::Srt => "srt",
            OutputFormat::Vtt => "vtt",
            OutputFormat::Epub => "epub",
        }
    }

    /// Whether it is made after the chapters are done (everything but WAV).
    pub fn encoded(self) -> bool {
        self != OutputFormat::Wav
    }

    /// Whether the system ffmpeg writes it.
    pub fn needs_ffmpeg(self) -> bool {
        matches!(self, OutputFormat::M4b | OutputFormat::Mp3 | OutputFormat::Opus | OutputFormat::Epub)
    }

    fn is_subtitles(self) -> bool {
        matches!(self, OutputFormat::Srt | OutputFormat::Vtt)
    }

    /// What the encoder is asked for: part of the output's key, so a change re-encodes.
    fn encoder_settings(self) -> &'static str {
        match self {
            OutputFormat::Wav => "pcm_s16le",
            OutputFormat::M4b => m4b::ENCODER,
            OutputFormat::Mp3 => chapters::MP3_ENCODER,
            OutputFormat::Opus => chapters::OPUS_ENCODER,
            OutputFormat::Srt | OutputFormat::Vtt => subtitles::SETTINGS,
            OutputFormat::Epub => readalong::SETTINGS,
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a build writes besides the chapter WAVs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// The formats asked for; WAV is written whether or not it is listed.
    pub formats: Vec<OutputFormat>,
    /// A cover image for the encoded outputs instead of the book's own.
    pub cover: Option<PathBuf>,
    pub loudness: LoudnessTarget,
    /// A clip played before the first chapter of the M4B, as its own chapter "Intro".
    pub intro: Option<PathBuf>,
    /// A clip played after the last chapter of the M4B, as its own chapter "Outro".
    pub outro: Option<PathBuf>,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            formats: vec![OutputFormat::Wav],
            cover: None,
            loudness: LoudnessTarget::default(),
            intro: None,
            outro: None,
        }
    }
}

impl ExportSettings {
    /// The formats made after the chapters, each once, in a fixed order.
    /// The read-along EPUB carries the chapter MP3s, so it brings them.
    pub fn encoded(&self) -> Vec<OutputFormat> {
        let mut formats: Vec<OutputFormat> = self.formats.iter().copied().filter(|f| f.encoded()).collect();
        if formats.contains(&OutputFormat::Epub) {
            formats.push(OutputFormat::Mp3);
        }
        formats.sort();
        formats.dedup();
        formats
    }
}

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{format} needs ffmpeg: install it (Debian: apt install ffmpeg) or use --format wav")]
    NoFfmpeg { format: OutputFormat },
    #[error("{}: cannot read the cover image: {source}", path.display())]
    Cover { path: PathBuf, source: std::io::Error },
    #[error("{}: cannot read the chapter audio: {source}", path.display())]
    Wav { path: PathBuf, source: hound::Error },
    #[error("{}: cannot start ffmpeg: {source}", path.display())]
    Spawn { path: PathBuf, source: std::io::Error },
    #[error("{}: ffmpeg failed: {last_line}", path.display())]
    Ffmpeg { path: PathBuf, last_line: String },
    #[error("{}: cannot read the clip: {source}", path.display())]
    Clip { path: PathBuf, source: std::io::Error },
    #[error("{}: cannot decode the clip (WAV, FLAC, MP3, Ogg Vorbis and M4A/AAC are read): {source}", path.display())]
    Decode { path: PathBuf, source: symphonia::core::errors::Error },
    #[error("{}: the clip has no audio", path.display())]
    NoAudio { path: PathBuf },
    #[error("{}: cannot resample the clip to 24 kHz: {source}", path.display())]
    Resample { path: PathBuf, source: clip::ResampleError },
    /// Ctrl-C while encoding: the build ends as interrupted, and a rerun encodes again.
    #[error("interrupted while encoding")]
    Interrupted,
    #[error("cannot measure loudness: {source}")]
    Meter { source: ebur128::Error },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: cannot write the read-along book: {problem}", path.display())]
    ReadAlong { path: PathBuf, problem: readalong::ReadAlongProblem },
    #[error("{}: not a timing sidecar this build can read ({problem}); rebuild the chapter", path.display())]
    Sidecar { path: PathBuf, problem: String },
}

/// Checks, before anything is rendered, that every asked-for format can be written: ffmpeg is on
/// PATH if any format needs it, and `--cover`, `--intro` and `--outro` name readable files.
pub fn check(settings: &ExportSettings) -> Result<(), ExportError> {
    if let Some(format) = settings.encoded().into_iter().find(|f| f.needs_ffmpeg())
        && ffmpeg::find().is_none()
    {
        return Err(ExportError::NoFfmpeg { format });
    }
    if let Some(path) = &settings.cover {
        std::fs::File::open(path).map_err(|source| ExportError::Cover { path: path.clone(), source })?;
    }
    for path in settings.intro.iter().chain(&settings.outro) {
        std::fs::File::open(path).map_err(|source| ExportError::Clip { path: path.clone(), source })?;
    }
    Ok(())
}

/// What an output may carry besides the chapters: a cover, and for the M4B an intro and outro
/// with the loudness target they are brought to.
#[derive(Debug, Default)]
pub struct Extras {
    pub cover: Option<Cover>,
    pub intro: Option<ClipFile>,
    pub outro: Option<ClipFile>,
    pub loudness: LoudnessTarget,
    /// Whether an M4B is written, so subtitles for the whole book go beside it.
    pub m4b: bool,
}

/// An intro or outro file and the hash of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClipFile {
    #[serde(skip)]
    pub path: PathBuf,
    pub sha256: String,
}

impl ClipFile {
    /// Hashes the file (decoding waits until an M4B is actually encoded).
    pub fn open(path: &Path) -> Result<Self, ExportError> {
        let sha256 = hash::file_sha256(path).map_err(|source| ExportError::Clip { path: path.into(), source })?;
        Ok(Self { path: path.into(), sha256 })
    }
}

impl Extras {
    /// The cover (`--cover` or the book's), intro and outro as `settings` ask.
    pub fn prepare(
        settings: &ExportSettings,
        book_cover: Option<&crate::ingest::Cover>,
        scratch: &Path,
    ) -> Result<Self, ExportError> {
        Ok(Self {
            cover: Cover::prepare(settings.cover.as_deref(), book_cover, scratch)?,
            intro: settings.intro.as_deref().map(ClipFile::open).transpose()?,
            outro: settings.outro.as_deref().map(ClipFile::open).transpose()?,
            loudness: settings.loudness,
            m4b: settings.formats.contains(&OutputFormat::M4b),
        })
    }
}

/// A finished book as the encoders see it.
#[derive(Debug, Clone)]
pub struct BookAudio {
    /// The output folder, where the chapter WAVs are and the outputs go.
    pub dir: PathBuf,
    pub tags: Tags,
    pub chapters: Vec<ChapterAudio>,
    /// The EPUB the book was read from, when it was one.
    pub source_epub: Option<readalong::SourceEpub>,
}

/// One finished chapter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChapterAudio {
    pub title: String,
    /// Its WAV's file name in the output folder.
    pub wav: String,
    /// Its timing sidecar's file name in the output folder.
    pub timings: String,
}

impl ChapterAudio {
    /// A file beside the WAV with the same stem.
    fn sibling(&self, extension: &str) -> String {
        let stem = self.wav.strip_suffix(".wav").unwrap_or(&self.wav);
        format!("{stem}.{extension}")
    }
}

/// A file an encoder wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub format: OutputFormat,
    /// Its name in the output folder.
    pub file: String,
    pub duration_ms: u64,
}

/// The files `format` makes for `book`, by name in the output folder.
pub fn output_files(format: OutputFormat, book: &BookAudio, extras: &Extras) -> Vec<String> {
    let per_chapter = |extension: &str| book.chapters.iter().map(|c| c.sibling(extension)).collect::<Vec<_>>();
    match format {
        OutputFormat::Wav => book.chapters.iter().map(|c| c.wav.clone()).collect(),
        OutputFormat::M4b => vec![m4b::FILE.to_string()],
        OutputFormat::Epub => vec![readalong::FILE.to_string()],
        OutputFormat::Mp3 | OutputFormat::Opus => per_chapter(format.name()),
        OutputFormat::Srt | OutputFormat::Vtt => {
            let mut files = per_chapter(format.name());
            if extras.m4b {
                files.push(format!("book.{}", format.name()));
            }
            files
        }
    }
}

/// Bumped when what an encoder writes changes for the same inputs.
const KEY_VERSION: &str = "audiobook-export-v2";

/// The key of an output: a hash of everything that changes its bytes. `chapter_keys` are the
/// chapters' own keys (which cover their audio), so a changed chapter changes every output; the
/// limiter's settings are in it whenever loudness is on, since the limiter runs then.
pub fn output_key(
    format: OutputFormat,
    book: &BookAudio,
    chapter_keys: &[String],
    extras: &Extras,
    gain_db: f64,
) -> String {
    // Only the M4B carries the intro and outro (and their gain follows the target); the whole
    // book's subtitles beside it start after the intro.
    let clips = (format == OutputFormat::M4b && (extras.intro.is_some() || extras.outro.is_some()))
        .then(|| (&extras.intro, &extras.outro, format!("{:?}", extras.loudness)));
    let book_subtitles = (format.is_subtitles() && extras.m4b).then_some(&extras.intro);
    let source_epub = (format == OutputFormat::Epub).then_some(&book.source_epub);
    hash::json_sha256(&(
        KEY_VERSION,
        format,
        format.encoder_settings(),
        chapter_keys,
        &book.chapters,
        &book.tags,
        extras.cover.as_ref().map(|c| &c.sha256),
        format!("{gain_db:.2}"),
        clips,
        limits(extras).then_some(limiter::SETTINGS),
        book_subtitles,
        source_epub,
    ))
}

/// Whether the encode runs the true-peak limiter: whenever loudness is on (`--loudness off` means
/// the audio as the model made it, no gain and no limiter).
fn limits(extras: &Extras) -> bool {
    extras.loudness != LoudnessTarget::Off
}

/// Encodes `book` as `format` with `gain_db` applied, reporting each file as it is written;
/// `stop` (Ctrl-C) ends it with [`ExportError::Interrupted`].
pub fn encode(
    format: OutputFormat,
    book: &BookAudio,
    extras: &Extras,
    gain_db: f64,
    scratch: &Path,
    stop: &AtomicBool,
    written: &mut dyn FnMut(Written),
) -> Result<(), ExportError> {
    if format.is_subtitles() {
        return subtitles::write(format, book, extras, written);
    }
    let ffmpeg = ffmpeg::find().ok_or(ExportError::NoFfmpeg { format })?;
    let gain = loudness::linear(gain_db);
    let cover = extras.cover.as_ref();
    match format {
        OutputFormat::Wav | OutputFormat::Srt | OutputFormat::Vtt => Ok(()),
        OutputFormat::Epub => readalong::write(book, written),
        OutputFormat::M4b => m4b::encode(&ffmpeg, book, extras, gain, scratch, stop).map(written),
        OutputFormat::Mp3 | OutputFormat::Opus => {
            chapters::encode(&ffmpeg, format, book, cover, gain, limits(extras), scratch, stop, written)
        }
    }
}

/// Plain strings as ffmpeg arguments.
fn args<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<OsString> {
    items.into_iter().map(OsString::from).collect()
}

/// Samples to whole milliseconds (rounded down, as the sidecars count).
fn samples_ms(samples: u64) -> u64 {
    samples * 1000 / u64::from(crate::kokoro::SAMPLE_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> BookAudio {
        BookAudio {
            dir: PathBuf::from("out"),
            tags: Tags { title: "T".into(), authors: vec![], language: None, voice: "bf_lily".into(), year: None },
            chapters: vec![ChapterAudio {
                title: "One".into(),
                wav: "01-one.wav".into(),
                timings: "01-one.json".into(),
            }],
            source_epub: None,
        }
    }

    #[test]
    fn per_chapter_files_sit_beside_their_wav_and_the_m4b_is_one_file() {
        let none = Extras::default();
        assert_eq!(output_files(OutputFormat::Mp3, &book(), &none), ["01-one.mp3"]);
        assert_eq!(output_files(OutputFormat::Opus, &book(), &none), ["01-one.opus"]);
        assert_eq!(output_files(OutputFormat::M4b, &book(), &none), ["book.m4b"]);
        assert_eq!(output_files(OutputFormat::Vtt, &book(), &none), ["01-one.vtt"]);
        let m4b = Extras { m4b: true, ..Extras::default() };
        assert_eq!(output_files(OutputFormat::Srt, &book(), &m4b), ["01-one.srt", "book.srt"]);
    }

    #[test]
    fn output_keys_change_with_chapters_tags_gain_limiter_and_format() {
        let keys = vec!["a".to_string()];
        let none = Extras::default();
        let base = output_key(OutputFormat::M4b, &book(), &keys, &none, 1.0);
        assert_eq!(base, output_key(OutputFormat::M4b, &book(), &keys, &none, 1.0));
        assert_ne!(base, output_key(OutputFormat::Mp3, &book(), &keys, &none, 1.0));
        assert_ne!(base, output_key(OutputFormat::M4b, &book(), &["b".to_string()], &none, 1.0));
        assert_ne!(base, output_key(OutputFormat::M4b, &book(), &keys, &none, 1.5));
        let mut retitled = book();
        retitled.tags.title = "U".into();
        assert_ne!(base, output_key(OutputFormat::M4b, &retitled, &keys, &none, 1.0));
        let intro = Extras { intro: Some(ClipFile { path: "i.mp3".into(), sha256: "s".into() }), ..Extras::default() };
        assert_ne!(base, output_key(OutputFormat::M4b, &book(), &keys, &intro, 1.0));
        let off = Extras { loudness: LoudnessTarget::Off, ..Extras::default() };
        assert_ne!(base, output_key(OutputFormat::M4b, &book(), &keys, &off, 1.0), "no limiter when off");
        let mp3 = output_key(OutputFormat::Mp3, &book(), &keys, &none, 1.0);
        assert_eq!(mp3, output_key(OutputFormat::Mp3, &book(), &keys, &intro, 1.0), "only the M4B has the intro");
    }

    #[test]
    fn encoded_formats_are_listed_once_without_wav() {
        let settings = ExportSettings {
            formats: vec![OutputFormat::Opus, OutputFormat::Wav, OutputFormat::M4b, OutputFormat::Opus],
            ..ExportSettings::default()
        };
        assert_eq!(settings.encoded(), [OutputFormat::M4b, OutputFormat::Opus]);
        assert!(ExportSettings::default().encoded().is_empty());
    }
}
