//! `audiobook doctor`: a missing optional program is named with what it blocks and how to
//! install it, and the exit stays 0; a missing model file fails it, naming the file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use assert_cmd::Command;

/// `audiobook doctor` with the real model files named by flag (`model` instead of the model, if
/// given), a cache of its own and `path` as PATH.
fn doctor(cache: &Path, path: &Path, model: Option<&Path>, extra: &[&str]) -> std::process::Output {
    let files = common::model_files();
    Command::cargo_bin("audiobook")
        .unwrap()
        .arg("doctor")
        .args(extra)
        .arg("--model")
        .arg(model.unwrap_or(&files.model))
        .arg("--voices")
        .arg(files.voices.path())
        .arg("--ort-lib")
        .arg(&files.ort_lib)
        .arg("--cache-dir")
        .arg(cache)
        .env("PATH", path)
        .env_remove("AUDIOBOOK_UNIDIC_DIR")
        .env_remove("AUDIOBOOK_DEVICE")
        .output()
        .unwrap()
}

#[test]
fn without_ffmpeg_on_path_doctor_names_it_and_its_install_command_and_still_succeeds() {
    let (cache, empty_path) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = doctor(cache.path(), empty_path.path(), None, &[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "only optional pieces are missing\n{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("missing") && l.contains("ffmpeg")).expect(&stdout);
    assert!(lines[at + 1].contains("blocks:") && lines[at + 1].contains("m4b"), "{stdout}");
    assert!(lines[at + 2].contains("install: apt install ffmpeg"), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("ok") && l.contains("model") && l.contains("checksum ok")), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("missing") && l.contains("Japanese dictionary")), "{stdout}");
    assert!(stdout.contains("audiobook models fetch --language ja"), "{stdout}");

    let out = doctor(cache.path(), empty_path.path(), None, &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    let checks = report["checks"].as_array().unwrap();
    let ffmpeg = checks.iter().find(|c| c["name"] == "ffmpeg").unwrap();
    assert_eq!(ffmpeg["state"], "missing");
    assert_eq!(ffmpeg["required"], false);
    assert_eq!(ffmpeg["install"], "apt install ffmpeg");
    let runtime = checks.iter().find(|c| c["name"] == "ONNX Runtime").unwrap();
    assert_eq!(runtime["state"], "ok", "{runtime}");
    assert!(runtime["version"].is_string(), "{runtime}");
    assert!(checks.iter().any(|c| c["name"] == "cache"));
}

#[test]
fn a_missing_model_file_fails_doctor_and_is_named() {
    let (cache, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let missing = dir.path().join("kokoro-v1.0.int8.onnx");
    let path = std::env::var_os("PATH").unwrap();
    let out = doctor(cache.path(), Path::new(&path), Some(&missing), &[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "the model is needed to narrate\n{stdout}\n{stderr}");
    let shown = missing.display().to_string();
    assert!(stderr.contains(&shown) && stderr.contains("missing"), "{stderr}");
    let line = stdout.lines().find(|l| l.starts_with("missing") && l.contains("model")).expect(&stdout);
    assert!(line.contains(&shown), "{line}");
    assert!(stdout.contains("cannot narrate here"), "{stdout}");

    // An empty cache and no flags: everything is to fetch, and doctor says how.
    let out = Command::cargo_bin("audiobook")
        .unwrap()
        .args(["doctor", "--cache-dir"])
        .arg(cache.path())
        .env_remove("AUDIOBOOK_MODEL_DIR")
        .env_remove("AUDIOBOOK_MODEL")
        .env_remove("AUDIOBOOK_VOICES")
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("AUDIOBOOK_DEVICE")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("kokoro-v1.0.int8.onnx") && stderr.contains("more model files"), "{stderr}");
    assert!(stdout.contains("install: audiobook models fetch\n"), "{stdout}");
}
