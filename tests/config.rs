//! Issue 17, point 4: audiobook.toml beside the input and in the user's config folder, with the
//! flags' names as keys; flags > environment > files (beside the input first) > defaults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;

fn audiobook(config_home: &Path, env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = Command::cargo_bin("audiobook").unwrap();
    command.env("XDG_CONFIG_HOME", config_home);
    for name in ["AUDIOBOOK_VOICE", "AUDIOBOOK_LEXICON", "AUDIOBOOK_NO_PROGRESS"] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// key -> (value, origin) from `audiobook --json config ...`.
fn settings(out: &str) -> std::collections::BTreeMap<String, (String, serde_json::Value)> {
    let json: serde_json::Value = serde_json::from_str(out).unwrap();
    json["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (s["key"].as_str().unwrap().to_string(), (s["value"].as_str().unwrap().to_string(), s["origin"].clone()))
        })
        .collect()
}

#[test]
fn flags_beat_the_environment_which_beats_files_which_beat_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let (home, book) = (dir.path().join("home"), dir.path().join("book"));
    std::fs::create_dir_all(home.join("audiobook")).unwrap();
    std::fs::create_dir_all(&book).unwrap();
    std::fs::write(book.join("b.md"), "# A\n\nHello there.\n").unwrap();
    std::fs::write(
        book.join("audiobook.toml"),
        "voice = \"af_heart\"\nspeed = 1.1\nformat = [\"wav\", \"m4b\"]\nlexicon = \"names.lexicon\"\n",
    )
    .unwrap();
    std::fs::write(home.join("audiobook/audiobook.toml"), "speed = 0.9\npause-paragraph = 900\npreview = true\n")
        .unwrap();
    let input = book.join("b.md");
    let input = input.to_str().unwrap();

    let (code, out, err) =
        audiobook(&home, &[("AUDIOBOOK_VOICE", "am_adam")], &["--json", "config", "build", input, "--pause-end", "10"]);
    assert_eq!(code, Some(0), "{err}");
    let s = settings(&out);
    let beside = book.join("audiobook.toml").display().to_string();
    let user = home.join("audiobook/audiobook.toml").display().to_string();
    assert_eq!(s["pause-end"], ("10".into(), serde_json::json!({"from": "flag"})));
    assert_eq!(s["voice"], ("am_adam".into(), serde_json::json!({"from": "env", "name": "AUDIOBOOK_VOICE"})));
    assert_eq!(s["speed"], ("1.1".into(), serde_json::json!({"from": "file", "path": beside})), "beside beats user");
    assert_eq!(s["pause-paragraph"], ("900".into(), serde_json::json!({"from": "file", "path": user})));
    assert_eq!(s["preview"].0, "true");
    assert_eq!(s["format"].0, "wav,m4b");
    assert_eq!(s["lexicon"].0, book.join("names.lexicon").display().to_string(), "paths are relative to the file");
    assert_eq!(s["pause-sentence"], ("250".into(), serde_json::json!({"from": "default"})));

    // A flag beats the file for the same key.
    let (_, out, _) = audiobook(&home, &[], &["--json", "config", "build", input, "--speed", "1.5"]);
    assert_eq!(settings(&out)["speed"], ("1.5".into(), serde_json::json!({"from": "flag"})));
}

#[test]
fn an_unknown_key_is_an_error_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.md"), "# A\n\nHello there.\n").unwrap();
    std::fs::write(dir.path().join("audiobook.toml"), "voise = \"af_heart\"\n").unwrap();
    let input = dir.path().join("b.md");
    let (code, _, err) = audiobook(dir.path(), &[], &["plan", input.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("audiobook.toml: unknown key 'voise'"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    std::fs::write(dir.path().join("audiobook.toml"), "speed = 9.0\n").unwrap();
    let (code, _, err) = audiobook(dir.path(), &[], &["plan", input.to_str().unwrap()]);
    assert_eq!(code, Some(1), "a bad value is the file's mistake: {err}");
    assert!(err.contains("audiobook.toml") && err.contains("9"), "{err}");
}
