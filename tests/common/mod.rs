//! Shared helpers of the end-to-end tests: the real model files and the built binary.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use audiobook::kokoro::assets::{self, AssetOverrides, FetchProgress, ModelFiles};

struct Quiet;

impl FetchProgress for Quiet {
    fn step(&self, message: &str) {
        eprintln!("{message}");
    }
    fn show_tool_output(&self) -> bool {
        false
    }
}

/// The real model files, fetched into the user cache on first use (as the binary does).
pub fn model_files() -> ModelFiles {
    let overrides = AssetOverrides {
        model_dir: std::env::var_os("AUDIOBOOK_MODEL_DIR").map(PathBuf::from),
        ort_lib: std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from),
        cache_dir: std::env::var_os("AUDIOBOOK_CACHE_DIR").map(PathBuf::from),
        ..Default::default()
    };
    assets::ensure(&overrides, &Quiet).expect("model files (run `audiobook models fetch`)")
}

/// `../shared` beside the repository, where CI keeps the reference data and the corpus.
pub fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared is not beside the repository");
        None
    }
}

/// Samples of a 16-bit WAV as floats, with its spec.
pub fn read_wav(bytes: &[u8]) -> (hound::WavSpec, Vec<f32>) {
    let mut reader = hound::WavReader::new(bytes).expect("a WAV file");
    let spec = reader.spec();
    let samples = reader.samples::<i16>().map(|s| s.expect("sample") as f32 / i16::MAX as f32).collect();
    (spec, samples)
}

/// Root mean square of samples.
pub fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

/// Each build event's fields as docs/events.md lists them: the first backquoted column of the
/// table under `## `kind``, and the `pool` object's under "`pool`:".
pub fn documented_events() -> std::collections::BTreeMap<String, Vec<String>> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.md")).unwrap();
    let mut events = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        if let Some(kind) = line.strip_prefix("## `").and_then(|l| l.strip_suffix('`')) {
            current = Some(kind.to_string());
        } else if line == "`pool`:" {
            current = Some("summary.pool".to_string());
        } else if let (Some(kind), Some(field)) = (&current, line.strip_prefix("| `")) {
            let field = field.split('`').next().unwrap().to_string();
            events.entry(kind.clone()).or_insert_with(Vec::new).push(field);
        }
    }
    events
}
