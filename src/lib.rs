//! audiobook: documents in, narrated chapters out, with the Kokoro-82M model.
//!
//! The data flows one way, one module per stage:
//! `ingest` -> `script` -> `chunk` (with `phonemize`) -> `kokoro` (the engine) -> `assemble`.
//! `narrate` is the front door every entry point calls; `job` narrates a book into a folder,
//! resumably; `say` speaks one text in memory; `cli` is the command line.
//!
//! The modules below are listed in the order the data flows (each one separated so rustfmt
//! keeps that order).

// Stage 1: EPUB, Markdown, text, folders and stdin to a `Book` of chapters and blocks.
pub mod ingest;

// Whether a book is in a language this build speaks, and what to leave out of a docs tree.
pub mod language;

// Stage 2: a block's text as it is spoken, with the map back to the book's words.
pub mod script;

// The user's pronunciations, applied before the G2P.
pub mod lexicon;

// Words to phonemes to Kokoro token ids.
pub mod phonemize;

// Stage 3: sentences packed into model calls of at most 510 tokens.
pub mod chunk;

// A whole book through stages 1-3: what `audiobook plan` prints.
pub mod plan;

// Stage 4, the engine: the model files, ONNX Runtime, a pool of sessions, voices.
pub mod kokoro;

// Stage 5: chunks to a timeline with pauses, exact timings, WAV and sidecars.
pub mod assemble;

// What listeners play: M4B, MP3 and Opus from the chapter WAVs, through ffmpeg, with loudness.
pub mod export;

// Rendered chunks shared between machines: a folder or object storage, compressed and checked.
pub mod store;

// A planned book narrated into a folder, resumably: tasks, rendering, chapters, manifest.
pub mod job;

// One text spoken chunk by chunk.
pub mod say;

// The front door: one settings value and the calls every entry point makes.
pub mod narrate;

// The engine over HTTP: `audiobook serve`.
pub mod serve;

// The command line.
pub mod cli;

// The one error type and the exit statuses.
pub mod error;

// Files that appear whole or not at all.
pub mod atomic;

// sha256 as hex.
pub mod hash;

// The programs run rather than linked (ffmpeg, espeak-ng, mecab): found on PATH, each saying
// what it is for and how to install it.
pub mod program;

pub use error::{Error, ErrorKind, ExitStatus, Result};
