//! `audiobook voices` and `audiobook models`: what voices there are, and the state of the model files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::printer::Printer;
use crate::error::{Error, ExitStatus, Result};
use crate::kokoro::assets::{self, AssetError, ModelFiles};
use crate::kokoro::voices;

pub fn list_voices(printer: &Printer) -> Result<ExitCode> {
    let all = voices::catalogue();
    if printer.json {
        let json = serde_json::to_string_pretty(&all).map_err(Error::json("the voice list"))?;
        printer.data(&json).map_err(Error::io("<stdout>"))?;
        return Ok(ExitStatus::Success.into());
    }
    let mut table = format!("{:<14} {:<22} {:<7} {}\n", "VOICE", "LANGUAGE", "GENDER", "SPEAKS");
    for v in all {
        let speaks = if v.supported { "yes" } else { "no" };
        table += &format!("{:<14} {:<22} {:<7} {speaks}\n", v.name, v.language, v.gender);
    }
    table += "\nTry one: audiobook say -o hello.wav --voice af_heart \"Hello there.\"\n\
              Blend by weight (the first sets the accent): --voice af_heart:0.7,bf_emma:0.3\n";
    printer.data(&table).map_err(Error::io("<stdout>"))?;
    Ok(ExitStatus::Success.into())
}

/// One model file's state, as `models status` reports it.
#[derive(Debug, serde::Serialize)]
struct FileStatus {
    role: &'static str,
    path: PathBuf,
    bytes: Option<u64>,
    /// "ok", "mismatch", "missing" or "unknown" (no checksum known for this file).
    checksum: &'static str,
}

fn file_status(role: &'static str, path: &Path) -> FileStatus {
    let bytes = std::fs::metadata(path).ok().map(|m| m.len());
    let checksum = match (bytes, assets::expected_sha256(path)) {
        (None, _) => "missing",
        (Some(_), None) => "unknown",
        (Some(_), Some(_)) => {
            if assets::verify(path).is_ok() {
                "ok"
            } else {
                "mismatch"
            }
        }
    };
    FileStatus { role, path: path.to_path_buf(), bytes, checksum }
}

pub fn status(files: &ModelFiles, printer: &Printer) -> Result<ExitCode> {
    let mut rows = vec![file_status("model", &files.model)];
    rows.extend(files.runtime_libraries().iter().map(|lib| file_status("onnxruntime", lib)));
    match &files.voices {
        assets::VoiceStore::Dir(dir) => {
            rows.extend(voices::catalogue().iter().map(|v| file_status("voice", &dir.join(format!("{}.bin", v.name)))))
        }
        assets::VoiceStore::Npz(path) => rows.push(file_status("voices", path)),
    }
    let healthy = rows.iter().all(|r| matches!(r.checksum, "ok" | "unknown"));
    if printer.json {
        let json = serde_json::json!({ "ok": healthy, "files": rows });
        printer.data(&json.to_string()).map_err(Error::io("<stdout>"))?;
    } else {
        let mut out = String::new();
        for r in &rows {
            let size = r.bytes.map_or("-".to_string(), |b| format!("{:.1} MB", b as f64 / 1e6));
            out += &format!("{:<12} {:<9} {:>9}  {}\n", r.role, r.checksum, size, r.path.display());
        }
        printer.data(&out).map_err(Error::io("<stdout>"))?;
    }
    let mut bad = rows.iter().filter(|r| matches!(r.checksum, "missing" | "mismatch"));
    match bad.next() {
        None => Ok(ExitStatus::Success.into()),
        Some(first) => {
            let problem = if first.checksum == "missing" { "missing" } else { "checksum mismatch" };
            Err(AssetError::Unhealthy { path: first.path.clone(), problem, others: bad.count() }.into())
        }
    }
}
