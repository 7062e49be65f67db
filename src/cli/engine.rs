//! Setting up the engine for a command: model files, the process's one ONNX Runtime
//! environment, sessions, voice and G2P.

use std::sync::OnceLock;
use std::time::Instant;

use ort::environment::Environment;

use super::args::ModelArgs;
use super::printer::Printer;
use crate::error::{Error, Result};
use crate::kokoro::assets::{self, AssetOverrides, ModelFiles};
use crate::kokoro::voices;
use crate::kokoro::{EngineError, Kokoro, ModelBytes, SessionConfig};
use crate::phonemize::Phonemizer;

/// The flags, as the asset lookup wants them.
pub fn overrides(args: &ModelArgs) -> AssetOverrides {
    AssetOverrides {
        model: args.model.clone(),
        voices: args.voices.clone(),
        model_dir: args.model_dir.clone(),
        ort_lib: args.ort_lib.clone(),
        cache_dir: args.cache_dir.clone(),
        offline: args.offline,
    }
}

/// The process's ONNX Runtime environment, created on first use from `ort_lib`.
pub fn environment(ort_lib: &std::path::Path) -> Result<Environment> {
    static ENV: OnceLock<Environment> = OnceLock::new();
    if let Some(env) = ENV.get() {
        return Ok(env.clone());
    }
    let runtime = |detail: String| EngineError::Runtime { path: ort_lib.to_path_buf(), detail };
    let env = ort::init_from(ort_lib)
        .map_err(|e| runtime(e.to_string()))?
        .with_name("audiobook")
        .with_telemetry(false)
        .build()
        .map_err(|e| runtime(e.to_string()))?;
    Ok(ENV.get_or_init(|| env).clone())
}

/// Reads the model file once, checks it against the checksum its name implies, and returns it
/// with its sha256 (which keys every rendered chunk).
pub fn model_bytes(files: &ModelFiles) -> Result<(ModelBytes, String)> {
    let bytes = std::fs::read(&files.model).map_err(Error::io(&files.model))?;
    if let Some(sha256) = assets::stamped_sha256(&files.cache, &files.model) {
        return Ok((ModelBytes::with_durations(bytes), sha256));
    }
    let sha256 = assets::sha256_bytes(&bytes);
    if let Some(expected) = assets::expected_sha256(&files.model)
        && expected != sha256
    {
        let path = files.model.clone();
        return Err(assets::AssetError::Checksum { path, expected: expected.into(), found: sha256 }.into());
    }
    assets::stamp(&files.cache, &files.model, &sha256);
    Ok((ModelBytes::with_durations(bytes), sha256))
}

/// Checks the voice name and builds the G2P of its dialect (about 0.3 s).
pub fn phonemizer(voice: &str) -> Result<Phonemizer> {
    voices::check(voice)?;
    let dialect = Phonemizer::dialect_for_voice(voice)
        .ok_or_else(|| Error::Usage(format!("voice '{voice}' has no English dialect")))?;
    Ok(Phonemizer::new(dialect)?)
}

/// Model files ready (fetched if needed), the environment up, and one session built.
pub fn session(args: &ModelArgs, printer: &Printer, config: SessionConfig) -> Result<(ModelFiles, Kokoro)> {
    let files = assets::ensure(&overrides(args), printer)?;
    let started = Instant::now();
    let env = environment(&files.ort_lib)?;
    let (model, _) = model_bytes(&files)?;
    let session = Kokoro::load(&env, &model, config)?;
    printer.detail(&format!("model loaded in {:.2} s", started.elapsed().as_secs_f64()));
    Ok((files, session))
}

/// Cores on this machine (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
