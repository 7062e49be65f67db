//! `audiobook doctor`: what this machine has for audiobook, and for each missing piece what it
//! blocks and the command that installs it. Each component says what it needs (`kokoro::assets`
//! the model files, the free space and the Japanese dictionary, `kokoro::probe_gpu` the GPU, the
//! phonemizers and the exporter their programs); this only gathers and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use super::args::ModelArgs;
use super::printer::{Printer, terminal_safe};
use super::settings;
use crate::error::{Error, ExitStatus, Result};
use crate::export::FFMPEG;
use crate::kokoro::assets::{self, AssetError, AssetOverrides, FileStatus};
use crate::kokoro::{EngineError, probe_gpu};
use crate::phonemize::{espeak, japanese};
use crate::program::Program;

/// Free space in the cache below which doctor warns: the model files and the Japanese
/// dictionary take about 400 MB, a book's rendered chunks a few hundred more.
const LOW_SPACE: u64 = 1_000_000_000;

/// What every missing piece needed to narrate blocks.
const EVERYTHING: &str = "everything that speaks: build, say and serve";

/// One piece of the machine, as doctor reports it.
#[derive(Debug, Serialize)]
struct Check {
    /// What it is: "ONNX Runtime", "model", "ffmpeg"...
    name: String,
    /// "ok", "missing", "broken" (there but not right), "low" (free space) or "none" (no GPU).
    state: &'static str,
    /// Whether narrating needs it: a required piece not "ok" makes doctor fail.
    required: bool,
    /// What was found, in words.
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    /// What cannot run without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    blocks: Option<String>,
    /// The command that installs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    install: Option<String>,
}

impl Check {
    fn ok(name: &str, detail: String) -> Self {
        Self {
            name: name.to_string(),
            state: "ok",
            required: false,
            detail,
            path: None,
            version: None,
            blocks: None,
            install: None,
        }
    }

    fn is_problem(&self) -> bool {
        self.state != "ok"
    }

    fn fails(&self) -> bool {
        self.required && self.is_problem()
    }
}

pub fn run(models: &ModelArgs, printer: &Printer) -> Result<ExitCode> {
    let overrides = settings::asset_overrides(models);
    let mut checks = Vec::new();
    let mut first_failure: Option<Error> = None;
    match assets::locate(&overrides) {
        Ok(files) => {
            let cache = files.cache.clone();
            let rows = assets::check_files(&files);
            let fetch = match overrides.device.is_gpu() {
                true => format!("audiobook models fetch --device {}", overrides.device),
                false => "audiobook models fetch".to_string(),
            };
            checks.extend(model_checks(&rows, &cache, &fetch));
            if let Some(bad) = rows.iter().find(|r| r.is_bad()) {
                let problem = if bad.checksum == "missing" { "missing" } else { "checksum mismatch" };
                let others = rows.iter().filter(|r| r.is_bad()).count() - 1;
                first_failure = Some(AssetError::Unhealthy { path: bad.path.clone(), problem, others }.into());
            }
        }
        Err(e) => {
            checks.push(Check {
                state: "missing",
                required: true,
                blocks: Some(EVERYTHING.into()),
                install: Some("fix the path given, or leave it unset and run `audiobook models fetch`".into()),
                ..Check::ok("model files", e.to_string())
            });
            first_failure = Some(e.into());
        }
    }
    checks.push(program_check(&FFMPEG));
    checks.push(program_check(&espeak::PROGRAM));
    checks.push(program_check(&japanese::PROGRAM));
    checks.push(dictionary_check(&overrides));
    let gpu = gpu_check(&overrides);
    if gpu.fails() && first_failure.is_none() {
        first_failure = Some(EngineError::Gpu(format!("--device {}: {}", overrides.device, gpu.detail)).into());
    }
    checks.push(gpu);
    checks.push(space_check(&overrides));

    let ok = !checks.iter().any(Check::fails);
    let out = if printer.json {
        serde_json::json!({ "ok": ok, "device": overrides.device.to_string(), "checks": checks }).to_string()
    } else {
        render(&checks, ok)
    };
    printer.data(&terminal_safe(&out)).map_err(Error::io("<stdout>"))?;
    match first_failure {
        Some(error) => Err(error),
        None => Ok(ExitStatus::Success.into()),
    }
}

/// The text report: one line per piece, and under each missing one what it blocks and how to
/// install it.
fn render(checks: &[Check], ok: bool) -> String {
    let mut out = String::new();
    for check in checks {
        out += &format!("{:<8} {:<20} {}\n", check.state, check.name, check.detail);
        if check.is_problem() {
            if let Some(blocks) = &check.blocks {
                out += &format!("{:<29}blocks:  {blocks}\n", "");
            }
            if let Some(install) = &check.install {
                out += &format!("{:<29}install: {install}\n", "");
            }
        }
    }
    let optional = checks.iter().filter(|c| !c.required && c.is_problem() && c.state != "none").count();
    out += "\n";
    out += &match (ok, optional) {
        (false, _) => "audiobook cannot narrate here until the required pieces above are fixed.\n".to_string(),
        (true, 0) => "audiobook has everything it can use here.\n".to_string(),
        (true, n) => format!("audiobook can narrate here; {n} optional pieces are missing (see above).\n"),
    };
    out
}

/// The model, ONNX Runtime's libraries and the voices, from [`assets::check_files`].
fn model_checks(rows: &[FileStatus], cache: &Path, fetch: &str) -> Vec<Check> {
    let install = |path: &Path| {
        if path.starts_with(cache) {
            fetch.to_string()
        } else {
            format!(
                "{} is a path you gave (--model, --model-dir, --voices or --ort-lib): fix it, or leave it unset \
                 and run `{fetch}`",
                path.display()
            )
        }
    };
    let state = |row: &FileStatus| match row.checksum {
        "missing" => "missing",
        "mismatch" => "broken",
        _ => "ok",
    };
    let described = |row: &FileStatus| {
        let size = row.bytes.map_or(String::new(), |b| format!("{:.1} MB, ", b as f64 / 1e6));
        let checksum = match row.checksum {
            "ok" => "checksum ok",
            "unknown" => "no checksum known for it",
            "mismatch" => "checksum mismatch: corrupt or not the file expected",
            _ => "not found",
        };
        format!("{size}{checksum}: {}", row.path.display())
    };
    let mut checks = Vec::new();
    for row in rows.iter().filter(|r| r.role != "voice") {
        let (name, version) = match row.role {
            "onnxruntime" if checks.iter().any(|c: &Check| c.name == "ONNX Runtime") => ("ONNX Runtime part", None),
            "onnxruntime" => ("ONNX Runtime", assets::ort_version(row)),
            "voices" => ("voices", None),
            _ => ("model", None),
        };
        let detail = match &version {
            Some(v) => format!("{v}, {}", described(row)),
            None => described(row),
        };
        checks.push(Check {
            state: state(row),
            required: true,
            path: Some(row.path.clone()),
            version,
            blocks: Some(EVERYTHING.into()),
            install: Some(install(&row.path)),
            ..Check::ok(name, detail)
        });
    }
    let voices: Vec<&FileStatus> = rows.iter().filter(|r| r.role == "voice").collect();
    if let Some(first) = voices.first() {
        let dir = first.path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let bad: Vec<String> = voices
            .iter()
            .filter(|r| r.is_bad())
            .filter_map(|r| r.path.file_name().map(|n| format!("{} {}", n.to_string_lossy(), r.checksum)))
            .collect();
        let detail = if bad.is_empty() {
            format!("{} voice packs, checksums ok: {}", voices.len(), dir.display())
        } else {
            let shown = bad.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
            let more = if bad.len() > 3 { format!(" and {} more", bad.len() - 3) } else { String::new() };
            format!(
                "{} of {} voice packs missing or corrupt ({shown}{more}): {}",
                bad.len(),
                voices.len(),
                dir.display()
            )
        };
        let broken = voices.iter().any(|r| r.checksum == "mismatch");
        checks.push(Check {
            state: if bad.is_empty() {
                "ok"
            } else if broken {
                "broken"
            } else {
                "missing"
            },
            required: true,
            path: Some(dir.clone()),
            blocks: Some(EVERYTHING.into()),
            install: Some(install(&dir)),
            ..Check::ok("voices", detail)
        });
    }
    checks
}

/// A program on PATH: where, and its version.
fn program_check(program: &Program) -> Check {
    match program.find() {
        Some(path) => {
            let version = program.version(&path);
            let detail = match &version {
                Some(v) => format!("{v}: {}", path.display()),
                None => path.display().to_string(),
            };
            Check { path: Some(path), version, ..Check::ok(program.name, detail) }
        }
        None => Check {
            state: "missing",
            blocks: Some(program.needed_for.into()),
            install: Some(program.install.into()),
            ..Check::ok(program.name, "not found on PATH".into())
        },
    }
}

/// The Japanese dictionary, from [`assets::japanese_dictionary_status`].
fn dictionary_check(overrides: &AssetOverrides) -> Check {
    const NAME: &str = "Japanese dictionary";
    let install = "audiobook models fetch --language ja (a j voice's first use fetches it too)".to_string();
    let blocks = Some(japanese::PROGRAM.needed_for.to_string());
    match assets::japanese_dictionary_status(overrides) {
        Ok(row) if row.checksum == "ok" => Check {
            path: Some(row.path.clone()),
            ..Check::ok(NAME, format!("{}, checksum ok: {}", japanese::UNIDIC_LITE, row.path.display()))
        },
        Ok(row) => Check {
            state: if row.checksum == "missing" { "missing" } else { "broken" },
            path: Some(row.path.clone()),
            blocks,
            install: Some(install),
            ..Check::ok(
                NAME,
                if row.checksum == "missing" {
                    format!("not found: {}", row.path.display())
                } else {
                    format!("checksum mismatch: {}", row.path.display())
                },
            )
        },
        Err(e) => Check { state: "missing", blocks, install: Some(install), ..Check::ok(NAME, e.to_string()) },
    }
}

/// An NVIDIA GPU with CUDA and cuDNN; required only with `--device cuda`.
fn gpu_check(overrides: &AssetOverrides) -> Check {
    let probe = probe_gpu(&overrides.cuda_lib_dirs);
    let required = overrides.device.is_gpu();
    let blocks = Some("--device cuda (the CPU needs none of it)".to_string());
    if probe.gpus.is_empty() {
        return Check {
            state: if required { "missing" } else { "none" },
            required,
            blocks,
            install: required.then(|| "an NVIDIA GPU and its driver, or --device cpu".into()),
            ..Check::ok("GPU", "no NVIDIA GPU found".into())
        };
    }
    let driver = probe.driver.as_deref().map_or(String::new(), |d| format!(", driver {d}"));
    let gpus = format!("{}{driver}", probe.gpus.join(", "));
    if probe.ready() {
        let found = probe.found_libraries.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        return Check { required, ..Check::ok("GPU", format!("{gpus}; CUDA and cuDNN found: {found}")) };
    }
    let missing = probe.missing_libraries.join(", ");
    Check {
        state: "missing",
        required,
        blocks,
        install: Some(
            "CUDA 13 and cuDNN 9 from NVIDIA, on the library path or named with --cuda-lib-dir (pip's nvidia-* \
             packages put them in site-packages/nvidia/cu13/lib and nvidia/cudnn/lib)"
                .into(),
        ),
        ..Check::ok("GPU", format!("{gpus}; missing {missing}"))
    }
}

/// Free space where the model files and the dictionary are kept.
fn space_check(overrides: &AssetOverrides) -> Check {
    let Ok(cache) = assets::cache_dir(overrides) else {
        return Check {
            state: "missing",
            blocks: Some("fetching the model files and the Japanese dictionary".into()),
            install: Some("set AUDIOBOOK_CACHE_DIR or HOME".into()),
            ..Check::ok("cache", "no cache folder".into())
        };
    };
    match assets::free_space(&cache) {
        Some(free) => Check {
            state: if free < LOW_SPACE { "low" } else { "ok" },
            path: Some(cache.clone()),
            blocks: (free < LOW_SPACE).then(|| "fetching the Japanese dictionary (250 MB); books' chunks".into()),
            install: (free < LOW_SPACE).then(|| "free some space, or point --cache-dir elsewhere".into()),
            ..Check::ok("cache", format!("{:.1} GB free: {}", free as f64 / 1e9, cache.display()))
        },
        None => Check {
            path: Some(cache.clone()),
            ..Check::ok("cache", format!("free space unknown: {}", cache.display()))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_optional_piece_says_what_it_blocks_and_how_to_install_it() {
        let missing = program_check(&Program {
            name: "no-such-program-here",
            needed_for: "nothing much",
            install: "apt install nothing",
            version_arg: "--version",
        });
        assert_eq!(missing.state, "missing");
        assert!(!missing.fails());
        let text = render(&[missing], true);
        assert!(text.contains("missing  no-such-program-here"), "{text}");
        assert!(text.contains("blocks:  nothing much") && text.contains("install: apt install nothing"), "{text}");
        assert!(text.contains("1 optional pieces are missing"), "{text}");
    }

    #[test]
    fn a_missing_model_file_in_the_cache_is_fetched_and_one_given_by_hand_is_fixed() {
        let cache = Path::new("/cache");
        let row = |path: &str, checksum| FileStatus {
            role: "model",
            path: path.into(),
            bytes: None,
            checksum,
            optional: false,
        };
        let checks = model_checks(&[row("/cache/kokoro-v1.0.int8.onnx", "missing")], cache, "audiobook models fetch");
        assert!(checks[0].fails());
        assert_eq!(checks[0].install.as_deref(), Some("audiobook models fetch"));
        let checks = model_checks(&[row("/mine/model.onnx", "mismatch")], cache, "audiobook models fetch");
        assert_eq!(checks[0].state, "broken");
        assert!(checks[0].install.as_deref().is_some_and(|i| i.contains("/mine/model.onnx is a path you gave")));
    }
}
