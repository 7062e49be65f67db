//! The process's ONNX Runtime and the model's bytes: what every session of every pool is built
//! from. Entry points never see either; they ask [`super::Engine::start`] for a ready engine.

use std::sync::OnceLock;

use ort::environment::Environment;

use super::StartError;
use super::assets::{self, AssetError, ModelFiles};
use super::session::{EngineError, ModelBytes};

/// ONNX Runtime loaded from its shared library, and the model read and checked, ready to build
/// sessions. Dropping it frees the model bytes (sessions keep their own copy of the halves).
pub struct Runtime {
    pub(super) env: Environment,
    pub(super) model: ModelBytes,
    /// sha256 of the model file, which keys every rendered chunk.
    pub(super) model_sha256: String,
}

impl Runtime {
    /// Loads ONNX Runtime (once per process) and the model file, checking the model against the
    /// checksum its name implies unless an earlier run stamped it unchanged.
    pub fn load(files: &ModelFiles) -> Result<Self, StartError> {
        if files.device.is_gpu() {
            super::device::preload_cuda(&files.cuda_lib_dirs)?;
        }
        let env = environment(&files.ort_lib)?;
        let bytes =
            std::fs::read(&files.model).map_err(|source| StartError::Read { path: files.model.clone(), source })?;
        if bytes.is_empty() {
            return Err(EngineError::Load(format!("{}: the file is empty", files.model.display())).into());
        }
        let model_sha256 = match assets::stamped_sha256(&files.cache, &files.model) {
            Some(sha256) => sha256,
            None => {
                let sha256 = crate::hash::sha256_hex(&bytes);
                if let Some(expected) = assets::expected_sha256(&files.model)
                    && expected != sha256
                {
                    let path = files.model.clone();
                    return Err(AssetError::Checksum { path, expected: expected.into(), found: sha256 }.into());
                }
                assets::stamp(&files.cache, &files.model, &sha256);
                sha256
            }
        };
        let model = ModelBytes::split(&bytes)?;
        Ok(Self { env, model, model_sha256 })
    }
}

/// The process's one ONNX Runtime environment, created on first use from `ort_lib` (ort's rule:
/// one environment per process, made by whoever starts the engine).
fn environment(ort_lib: &std::path::Path) -> Result<Environment, EngineError> {
    static ENV: OnceLock<Environment> = OnceLock::new();
    if let Some(env) = ENV.get() {
        return Ok(env.clone());
    }
    let runtime = |detail: String| EngineError::Runtime { path: ort_lib.to_path_buf(), detail };
    // dlopen's own reason is lost on the way up ("dlopen failed"): say the likely one first.
    if let Some(problem) = not_a_library(ort_lib) {
        return Err(runtime(problem));
    }
    let env = ort::init_from(ort_lib)
        .map_err(|e| runtime(e.to_string()))?
        .with_name("audiobook")
        .with_telemetry(false)
        .build()
        .map_err(|e| runtime(e.to_string()))?;
    Ok(ENV.get_or_init(|| env).clone())
}

/// Why `path` cannot be a shared library, when that shows without loading it: missing, a folder,
/// or without the ELF, Mach-O or PE signature every library starts with.
fn not_a_library(path: &std::path::Path) -> Option<String> {
    let mut head = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head));
    if let Err(e) = read {
        return Some(match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "not a shared library (too short)".into(),
            _ if path.is_dir() => "a folder, not the library file".into(),
            _ => e.to_string(),
        });
    }
    let signatures: [&[u8]; 5] =
        [b"\x7fELF", &[0xcf, 0xfa, 0xed, 0xfe], &[0xce, 0xfa, 0xed, 0xfe], &[0xca, 0xfe, 0xba, 0xbe], b"MZ"];
    (!signatures.iter().any(|s| head.starts_with(s))).then(|| "not a shared library".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_a_library_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("passwd");
        std::fs::write(&text, "root:x:0:0").unwrap();
        assert_eq!(not_a_library(&text).as_deref(), Some("not a shared library"));
        assert_eq!(not_a_library(dir.path()).as_deref(), Some("a folder, not the library file"));
        assert!(not_a_library(&dir.path().join("none.so")).unwrap().contains("No such file"));
        std::fs::write(&text, b"\x7fELF\x02\x01").unwrap();
        assert_eq!(not_a_library(&text), None);
    }
}
