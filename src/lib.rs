//! audiobook: documents in, narrated chapters out, with the Kokoro-82M model.
//!
//! The data flows one way, one module per stage:
//! `ingest` -> `script` -> `chunk` -> `kokoro` (the engine) -> `assemble`.

pub mod ingest;
