//! audiobook: documents in, narrated chapters out, with the Kokoro-82M model.
//!
//! The data flows one way, one module per stage:
//! `ingest` -> `script` -> `chunk` (with `phonemize`) -> `kokoro` (the engine) -> `assemble`.
//! `say` runs the stages on one text; `cli` is the command line.

pub mod assemble;
pub mod atomic;
pub mod build;
pub mod chunk;
pub mod cli;
pub mod error;
pub mod ingest;
pub mod kokoro;
pub mod language;
pub mod manifest;
pub mod phonemize;
pub mod plan;
pub mod say;
pub mod script;

pub use error::{Error, Result};
