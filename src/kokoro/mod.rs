//! Stage 4, the engine: the only code that touches ONNX Runtime.
//!
//! `assets` finds and fetches the model files, `voices` loads voice packs, `model` runs one
//! session and returns audio with exact frames per token.

pub mod assets;
pub mod model;
mod voice_hashes;
pub mod voices;

pub use model::{EngineError, Kokoro, MAX_TOKENS, ModelBytes, Rendered, SAMPLE_RATE, SAMPLES_PER_FRAME, SessionConfig};
