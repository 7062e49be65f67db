//! Stage 5, assemble: rendered chunks in order to one timeline of audio and exact timings.
//!
//! `timeline` places chunks with pauses and reads word, sentence and chunk times off the model's
//! frame counts; `wav` writes 16-bit PCM.

pub mod sidecar;
pub mod timeline;
pub mod wav;

pub use timeline::{Pauses, Timeline, Timing};
