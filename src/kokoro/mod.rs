//! Stage 4, the engine: the only code that touches ONNX Runtime.
//!
//! Every entry point (`build`, `say`, a server) starts one [`Engine`] and shares it: a
//! [`SessionPool`] of Kokoro sessions built from one model, and the voice packs. Inside:
//! `assets` finds and fetches the model files, `runtime` loads ONNX Runtime and the model bytes,
//! `session` runs one model instance (on the CPU or, through `device`, a GPU) and returns audio with
//! exact frames per token, its two halves cut apart by `graph` and its frames decoded in the
//! windows `window` plans, `pool` lends sessions out, `voices` loads voice packs.

pub mod assets;
mod device;
mod graph;
pub mod kernels;
pub mod pool;
mod runtime;
mod session;
mod voice_hashes;
pub mod voices;
mod window;

use std::time::Instant;

pub use device::{Device, GpuProbe, probe_gpu};
pub use kernels::Kernels;
pub use pool::{Checkout, PoolStats, SessionPool};
pub use session::{
    DECODER_WINDOW, EngineError, MAX_TOKENS, PROFILE_ENV, Rendered, SAMPLE_RATE, SAMPLES_PER_FRAME, SPACE_ID,
    SessionConfig,
};

use self::assets::{AssetError, ModelFiles, VoiceStore};
use self::runtime::Runtime;
use self::voices::{VoiceError, VoicePack};

/// Why an engine could not start. The engine keeps its own error types, as every stage does;
/// `crate::error` gathers them.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Assets(#[from] AssetError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{}: {source}", path.display())]
    Read { path: std::path::PathBuf, source: std::io::Error },
}

/// The model running: a pool of sessions, the model's checksum, and where the voices are.
pub struct Engine {
    pool: SessionPool,
    model_sha256: String,
    voices: VoiceStore,
    /// Reading the model file and loading ONNX Runtime, in ms (session builds are in the pool's
    /// stats).
    read_ms: u64,
}

impl Engine {
    /// Loads ONNX Runtime and the model from `files` (checked by sha256) for a pool of
    /// `sessions` sessions of `config`. The sessions are built on first use or
    /// [`SessionPool::start`]; the model bytes are freed once they hold their own copies.
    pub fn start(files: &ModelFiles, config: SessionConfig, sessions: usize) -> Result<Self, StartError> {
        let started = Instant::now();
        let runtime = Runtime::load(files)?;
        let read_ms = started.elapsed().as_millis() as u64;
        let model_sha256 = runtime.model_sha256.clone();
        let pool = SessionPool::new(runtime, config, sessions);
        Ok(Self { pool, model_sha256, voices: files.voices.clone(), read_ms })
    }

    /// The sessions.
    pub fn pool(&self) -> &SessionPool {
        &self.pool
    }

    /// sha256 of the model file.
    pub fn model_sha256(&self) -> &str {
        &self.model_sha256
    }

    /// Loads voice `name` (checked against the catalogue first).
    pub fn voice(&self, name: &str) -> Result<VoicePack, VoiceError> {
        voices::check(name)?;
        VoicePack::load(&self.voices, name)
    }

    /// Time to start: reading the model and building the slowest session (once built), in ms.
    pub fn load_ms(&self) -> u64 {
        self.read_ms + self.pool.stats().load_ms
    }
}
