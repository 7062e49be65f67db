//! The library's front door: one [`Settings`] value and the few calls every entry point makes.
//! `audiobook build`, `plan` and `say` and the HTTP server all go through here, so the policy
//! (which languages are refused, how chunk sizes are bounded, which voice is valid, where the
//! output goes) lives in one place and the command line only turns flags into `Settings`.
//!
//! A book goes `read` -> `plan` -> `build` (with an [`Engine`] from `start_engine`); a text goes
//! `phonemizer` -> `say`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::assemble::Pauses;
use crate::chunk::ChunkConfig;
use crate::error::{Error, Result};
use crate::export::{self, ExportSettings};
use crate::ingest::{self, Book, IngestOptions};
use crate::job::shared::{self, StoreStatus};
use crate::job::{Event, Job, JobSettings, Summary, manifest, manifest::InputRecord};
use crate::kokoro::assets::ModelFiles;
use crate::kokoro::voices;
use crate::kokoro::voices::VoicePack;
use crate::kokoro::{Engine, MAX_TOKENS, SessionConfig};
use crate::language::{self, Language};
use crate::lexicon::{self, Lexicon};
use crate::phonemize::{Phonemizer, Phonemizers};
use crate::plan::{self, BookPlan, ChapterLimit, ChapterPick};
use crate::say::{self, Speaker, Speech, SpeechSettings, WordPhonemes};
pub use crate::say::{MAX_TEXT_BYTES as MAX_SAY_TEXT_BYTES, check_text};
use crate::script::ScriptOptions;
use crate::store::Chunks;

/// Everything a narration is asked to do, whoever asks.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// A voice id (`audiobook voices` lists them), or a blend of them by weight
    /// (`af_heart:0.7,bf_emma:0.3`, see [`voices::Blend`]).
    pub voice: String,
    /// Speaking rate, 0.5 to 2.0.
    pub speed: f32,
    pub pauses: Pauses,
    pub chunks: ChunkConfig,
    /// What of the inputs is read aloud.
    pub read: IngestOptions,
    /// The language the text is read in (`--language`); `None` takes the book's, else the
    /// detected one, else the voice's (see [`language`]).
    pub language: Option<Language>,
    /// Read a book in a language with no G2P anyway, with the voice's language's phonemes.
    pub any_language: bool,
    /// A chapter estimated to last longer than this is split into parts; 0 never splits.
    pub max_chapter_minutes: u32,
    /// How the text is made speakable (checksums, UUIDs and the like).
    pub script: ScriptOptions,
    /// How each model session runs.
    pub session: SessionConfig,
    /// Model sessions rendering at once.
    pub sessions: usize,
    /// What `build` writes besides the chapter WAVs (M4B, MP3, Opus; loudness; cover).
    pub export: ExportSettings,
    /// The user's pronunciations (see [`load_lexicon`]).
    pub lexicon: Lexicon,
    /// Narrate only these chapters, keeping the book's numbers and file names.
    pub chapters: Option<ChapterPick>,
    /// Narrate only the first sentences of each chapter ([`PREVIEW_SENTENCES`]).
    pub preview: bool,
    /// Keep the rendered chunks after a build, so a later change re-renders only the chunks it
    /// changes (about 96 kB a second of audio on disk).
    pub keep_chunks: bool,
    /// Where the Japanese G2P's dictionary (unidic-lite's `dicdir`) is; `None` looks in its
    /// default place (see [`crate::phonemize::japanese::dictionary_dir`]).
    pub japanese_dictionary: Option<PathBuf>,
}

/// Sentences of text a preview keeps of each chapter, besides its headings.
pub const PREVIEW_SENTENCES: usize = 2;

impl Default for Settings {
    fn default() -> Self {
        Self {
            voice: "bf_lily".into(),
            speed: 1.0,
            pauses: Pauses::default(),
            chunks: ChunkConfig::default(),
            read: IngestOptions::default(),
            language: None,
            any_language: false,
            max_chapter_minutes: 60,
            script: ScriptOptions::default(),
            session: SessionConfig::default(),
            sessions: cores(),
            export: ExportSettings::default(),
            lexicon: Lexicon::default(),
            chapters: None,
            preview: false,
            keep_chunks: false,
            japanese_dictionary: None,
        }
    }
}

/// Chunk sizes as asked, bounded by what one model call takes: the target never passes the
/// limit and the limit never passes [`MAX_TOKENS`].
pub fn chunk_config(target_tokens: usize, max_tokens: usize) -> ChunkConfig {
    let max_tokens = max_tokens.clamp(1, MAX_TOKENS);
    ChunkConfig { target_tokens: target_tokens.clamp(1, max_tokens), max_tokens }
}

/// Cores on this machine (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A book read from its inputs, with what was left out of it.
#[derive(Debug)]
pub struct ReadBook {
    pub book: Book,
    /// The language it is read in.
    pub language: Language,
    /// Files of a docs tree left out because they do not read as English.
    pub left_out: Vec<PathBuf>,
}

/// Reads the inputs into a book, chooses its language and keeps what this build can speak (see
/// [`language::choose_for_book`]); a book with nothing left to read is an error.
pub fn read(inputs: &[PathBuf], settings: &Settings) -> Result<ReadBook> {
    let mut book = ingest::read_inputs(inputs, &settings.read)?;
    let first = inputs.first().cloned().unwrap_or_else(|| PathBuf::from("-"));
    let (language, left_out) = language::choose_for_book(
        &mut book,
        &first,
        settings.language,
        voice_language(settings)?,
        settings.any_language,
    )?;
    if book.chapters.is_empty() {
        return Err(Error::NoChapters { path: first });
    }
    Ok(ReadBook { book, language, left_out })
}

/// The language of the settings' voice (of the first voice of a blend).
pub fn voice_language(settings: &Settings) -> Result<Language> {
    let info = voices::check(&settings.voice)?;
    Ok(Language::of_voice(info.name).unwrap_or_default())
}

/// The language `book` (as [`read`] gave it) is read in with `settings`.
pub fn book_language(book: &Book, settings: &Settings) -> Result<Language> {
    let first = Path::new("-");
    Ok(language::resolve_book(book, first, settings.language, voice_language(settings)?, settings.any_language)?)
}

/// The lexicon files that apply to `inputs` (see [`lexicon::files_for`]), read: `explicit` is
/// `--lexicon`, and must exist.
pub fn load_lexicon(explicit: Option<&Path>, inputs: &[PathBuf]) -> Result<Lexicon> {
    Ok(Lexicon::load(&lexicon::files_for(explicit, inputs.first().map(PathBuf::as_path)))?)
}

/// Checks the voice and builds the G2P of the settings' language, else the voice's, with the
/// settings' lexicon (about 0.3 s for English).
pub fn phonemizer(settings: &Settings) -> Result<Phonemizer> {
    let voice = voice_language(settings)?;
    phonemizer_in(language::choose_for_text("", settings.language, voice), settings)
}

/// Checks the voice and builds the G2P for `text`: the settings' language, else the text's
/// when detection is sure of it, else the voice's.
pub fn phonemizer_for_text(text: &str, settings: &Settings) -> Result<Phonemizer> {
    phonemizer_in(text_language(text, settings)?, settings)
}

/// The language [`phonemizer_for_text`] reads `text` in.
pub fn text_language(text: &str, settings: &Settings) -> Result<Language> {
    Ok(language::choose_for_text(text, settings.language, voice_language(settings)?))
}

/// Builds the G2P of `language`; one this build has none for is an error naming the ones it has.
pub fn phonemizer_in(language: Language, settings: &Settings) -> Result<Phonemizer> {
    if !language.is_speakable() {
        return Err(language::LanguageError::Unsupported {
            given: language.tag().into(),
            name: language.name().into(),
        }
        .into());
    }
    Ok(Phonemizer::for_language_in(language, &settings.lexicon, settings.japanese_dictionary.as_deref())?)
}

/// Plans the book for the settings' voice, splitting chapters longer than `max_chapter_minutes`:
/// everything short of the model. A book with no word to speak (only emoji or symbols, say) is
/// an error, not an empty audiobook.
pub fn plan(book: &Book, settings: &Settings) -> Result<BookPlan> {
    let g2p = phonemizer_in(book_language(book, settings)?, settings)?;
    // `--language` reads every block in it; else each block is read in its own (see
    // `language::of_block`), the G2Ps of other languages built as they are needed.
    let g2ps = match settings.language {
        Some(_) => Phonemizers::only(&g2p),
        None => {
            Phonemizers::new(&g2p, &settings.lexicon).with_japanese_dictionary(settings.japanese_dictionary.as_deref())
        }
    };
    let limit = ChapterLimit::minutes(settings.max_chapter_minutes, settings.speed);
    let mut plan = plan::plan_within(book, &g2ps, &settings.chunks, &settings.script, limit)?;
    if let Some(pick) = &settings.chapters {
        plan = plan.pick(pick)?;
    }
    if settings.preview {
        plan = plan.preview(PREVIEW_SENTENCES);
    }
    if plan.chapters.iter().all(|c| c.word_count() == 0) {
        let first_file = book.chapters.iter().flat_map(|c| &c.blocks).next().map(|b| b.source.path_on_disk());
        return Err(Error::NoChapters { path: first_file.unwrap_or_else(|| PathBuf::from("-")) });
    }
    Ok(plan)
}

/// Each word of `text` and its phonemes, as [`say()`] would speak it; no model needed.
pub fn phonemes(text: &str, g2p: &Phonemizer) -> Result<Vec<WordPhonemes>> {
    say::phonemes(text, g2p)
}

/// Speaks `text` in the settings' voice, speed and pauses on `engine`, in memory.
pub fn say(text: &str, engine: &Engine, g2p: &Phonemizer, settings: &Settings) -> Result<Speech> {
    let voice = engine.voice(&settings.voice)?;
    say::speak(text, engine.pool(), &voice, g2p, &speech_settings(settings))
}

/// Speaks `text` in `voice` (from [`Engine::voice`]) chunk by chunk, for callers that write or
/// stream each chunk as it comes.
pub fn speaker<'a>(
    text: &str,
    engine: &'a Engine,
    voice: &'a VoicePack,
    g2p: &'a Phonemizer,
    settings: &Settings,
) -> Result<Speaker<'a>> {
    Speaker::new(text, engine.pool(), voice, g2p, &speech_settings(settings))
}

fn speech_settings(settings: &Settings) -> SpeechSettings {
    SpeechSettings { speed: settings.speed, chunks: settings.chunks, pauses: settings.pauses }
}

/// Starts the engine the settings ask for: `settings.sessions` sessions of `settings.session`.
pub fn start_engine(files: &ModelFiles, settings: &Settings) -> Result<Engine> {
    Ok(Engine::start(files, settings.session, settings.sessions)?)
}

/// Where a build of `inputs` goes when no folder is given: the first input's name without its
/// extension, plus `-audiobook` (`-preview` for a preview), in the current folder.
pub fn default_outdir(inputs: &[PathBuf], settings: &Settings) -> PathBuf {
    let suffix = if settings.preview { "preview" } else { "audiobook" };
    let first = inputs.first().map(PathBuf::as_path).unwrap_or(Path::new("-"));
    let stem = if first == Path::new("-") {
        "audiobook".to_string()
    } else {
        first.file_stem().map_or("audiobook".into(), |s| s.to_string_lossy().into_owned())
    };
    PathBuf::from(format!("{stem}-{suffix}"))
}

/// Checks that the outputs `settings` ask for can be written (ffmpeg for m4b, mp3 and opus; a
/// readable `--cover`), so a build fails at once rather than after hours of rendering.
pub fn check_outputs(settings: &Settings) -> Result<()> {
    Ok(export::check(&settings.export)?)
}

/// The books in `inputs` for a build of each on its own (`build --each`): every EPUB, Markdown or
/// text file and every folder directly inside an input folder (hidden ones left out), in name
/// order; an input that is a file is one book itself.
pub fn books_in(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    const BOOK_EXTENSIONS: [&str; 5] = ["epub", "md", "markdown", "txt", "text"];
    let mut books = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            books.push(input.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(input)
            .map_err(Error::io(input))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .filter(|path| {
                path.is_dir()
                    || path
                        .extension()
                        .is_some_and(|e| BOOK_EXTENSIONS.contains(&e.to_string_lossy().to_lowercase().as_str()))
            })
            .collect();
        found.sort();
        if found.is_empty() {
            return Err(Error::NoChapters { path: input.clone() });
        }
        books.extend(found);
    }
    Ok(books)
}

/// Takes `outdir` for a build with `settings`: created if needed, and locked, so a second build
/// into it (or a path that is a file, or a read-only folder) is refused at once, before the book
/// is planned or any model is loaded. The outputs are checked first ([`check_outputs`]).
pub fn open_job(outdir: &Path, settings: &Settings) -> Result<Job> {
    check_outputs(settings)?;
    let job_settings = JobSettings {
        // The canonical blend: the same mix written two ways is the same chunk keys.
        voice: voices::Blend::parse(&settings.voice)?.to_string(),
        speed: settings.speed,
        pauses: settings.pauses,
        chunk_target_tokens: settings.chunks.target_tokens,
        export: settings.export.clone(),
        keep_chunks: settings.keep_chunks,
    };
    Ok(Job::open(outdir, job_settings)?)
}

/// How far the shards of a planned book have got in the chunk store `spec` names: per shard, its
/// chunks and how many are stored (`audiobook status --store`).
pub fn store_status(spec: &str, plan: &BookPlan, engine: &Engine, settings: &Settings) -> Result<StoreStatus> {
    let key_settings = manifest::Settings {
        voice: voices::Blend::parse(&settings.voice)?.to_string(),
        speed: settings.speed,
        model_sha256: engine.model_sha256().to_string(),
        pauses: settings.pauses,
        chunk_target_tokens: settings.chunks.target_tokens,
        preview: plan.preview,
    };
    let store = Chunks::new(crate::store::open(spec)?);
    Ok(shared::status(&store, spec, plan, &key_settings)?)
}

/// Refuses to narrate `book` into a job folder that holds another book's audiobook; call it
/// once the book is read, before it is planned.
pub fn check_same_book(job: &Job, book: &Book) -> Result<()> {
    let titles: Vec<&str> = book.chapters.iter().map(|c| c.title.as_str()).collect();
    Ok(job.check_same_book(&InputRecord::from_book(book), &titles)?)
}

/// Narrates a planned book into the job's folder, resumably, reporting [`Event`]s as it goes and
/// a [`Summary`] (also sent as the last event) at the end. `started` is when the caller began
/// (the summary's wall time counts from it); `stop` ends the build early when set.
pub fn build(
    job: &Job,
    book: &Book,
    plan: &BookPlan,
    engine: &Engine,
    events: &mut dyn FnMut(Event),
    stop: &AtomicBool,
    started: Instant,
) -> Result<Summary> {
    let outcome = job.run(&book.meta, InputRecord::from_book(book), plan, engine, events, stop)?;
    let summary = Summary {
        outdir: job.outdir().display().to_string(),
        outcome,
        wall_ms: started.elapsed().as_millis() as u64,
        load_ms: engine.load_ms(),
        peak_rss_bytes: peak_rss_bytes(),
        pool: engine.pool().stats(),
    };
    events(Event::Summary(summary.clone()));
    Ok(summary)
}

/// The process's peak resident memory, where the OS tells it (Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_are_bounded_by_the_model() {
        assert_eq!(chunk_config(300, 200), ChunkConfig { target_tokens: 200, max_tokens: 200 });
        assert_eq!(chunk_config(100, 9000), ChunkConfig { target_tokens: 100, max_tokens: MAX_TOKENS });
    }

    #[test]
    fn each_book_of_a_folder_is_a_file_or_folder_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.epub", "a.md", "notes.pdf", ".hidden.txt", "c.TXT"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        let books = books_in(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<String> = books.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["a.md", "b.epub", "c.TXT", "docs"]);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(books_in(&[empty.path().to_path_buf()]), Err(Error::NoChapters { .. })));
    }

    #[test]
    fn the_output_folder_is_named_after_the_first_input() {
        let settings = Settings::default();
        assert_eq!(default_outdir(&[PathBuf::from("dir/book.epub")], &settings), PathBuf::from("book-audiobook"));
        assert_eq!(default_outdir(&[PathBuf::from("-")], &settings), PathBuf::from("audiobook-audiobook"));
        let preview = Settings { preview: true, ..settings };
        assert_eq!(default_outdir(&[PathBuf::from("book.epub")], &preview), PathBuf::from("book-preview"));
    }
}
