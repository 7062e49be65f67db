//! The command line's errors without the model: one line naming the file or flag, a hint where
//! there is one, and the exit status `ExitStatus` assigns.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;

fn plan(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("audiobook").unwrap().arg("plan").args(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_book_in_another_language_is_refused_naming_the_file_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("verwandlung.txt");
    let german = "Als Gregor Samsa eines Morgens aus unruhigen Träumen erwachte, fand er sich in seinem Bett. ";
    std::fs::write(&file, german.repeat(30)).unwrap();
    let (code, err) = plan(&[file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("audiobook: error: ") && lines[0].contains("verwandlung.txt"), "{err}");
    assert!(lines[0].contains("reads as German") && lines[0].contains("Spanish (es, e)"), "{err}");
    assert!(lines[1].starts_with("hint: --language") && lines[1].contains("--any-language"), "{err}");

    let (code, err) = plan(&[file.to_str().unwrap(), "--any-language"]);
    assert_eq!(code, Some(0), "{err}");

    // A file of several chapters is judged whole, not left out chapter by chapter.
    let chapters = dir.path().join("kapitel.txt");
    std::fs::write(&chapters, format!("CHAPTER I\n\n{}\n\nCHAPTER II\n\n{}\n", german.repeat(20), german.repeat(20)))
        .unwrap();
    let (code, err) = plan(&[chapters.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("kapitel.txt") && err.contains("reads as German"), "{err}");
}

#[test]
fn an_unknown_voice_and_an_empty_book_are_the_users_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.md");
    std::fs::write(&file, "# Title\n\nA short note to read.\n").unwrap();
    let (code, err) = plan(&[file.to_str().unwrap(), "--voice", "bf_lilly"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("unknown voice 'bf_lilly'; did you mean bf_lily"), "{err}");

    let empty = dir.path().join("empty.md");
    std::fs::write(&empty, "---\ntitle: Front matter only\n---\n").unwrap();
    let (code, err) = plan(&[empty.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("empty.md"), "{err}");

    let emoji = dir.path().join("emoji.txt");
    std::fs::write(&emoji, "😀😀 🎉\n\n🚀\n").unwrap();
    let (code, err) = plan(&[emoji.to_str().unwrap()]);
    assert_eq!(code, Some(1), "nothing to speak is not an empty success: {err}");
    assert!(err.contains("emoji.txt") && err.contains("no chapters with text to read"), "{err}");
}

#[test]
fn a_bad_flag_is_a_usage_error_with_status_2() {
    let (code, err) = plan(&["book.epub", "--speed", "fast"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("'fast' is not a number"), "{err}");
}

#[test]
fn titles_with_terminal_escapes_are_printed_defused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.md");
    std::fs::write(&file, "# Chapter \u{1b}[2J\u{7}One \u{202e}txt.exe\n\nThe keeper lit the lamp at dusk.\n").unwrap();
    let out = Command::cargo_bin("audiobook").unwrap().arg("plan").arg(&file).output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("One \u{fffd}txt.exe"), "the override is shown as a replacement mark: {table}");
    assert!(!table.contains(['\u{1b}', '\u{7}', '\u{202e}']), "{table}");
}

#[test]
fn command_line_mistakes_are_one_line_with_a_hint_and_exit_2() {
    for (args, says, hint) in [
        (&["build", "--bogus"][..], "unexpected argument '--bogus'", "hint: to pass '--bogus'"),
        (&["build"][..], "required arguments were not provided", "hint: usage: audiobook build"),
        (&["say", "--speed", "fast", "Hi"][..], "invalid value 'fast' for '--speed", ""),
    ] {
        let out = Command::cargo_bin("audiobook").unwrap().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(first.starts_with("audiobook: error: ") && first.contains(says), "{args:?}: {err}");
        assert!(err.lines().count() <= 2 && err.lines().nth(1).unwrap_or_default().starts_with(hint), "{err}");
    }
    let help = Command::cargo_bin("audiobook").unwrap().arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: audiobook"));
}

#[test]
fn an_empty_path_variable_counts_as_unset() {
    let fox = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/fox.txt");
    let out = Command::cargo_bin("audiobook").unwrap().env("ORT_DYLIB_PATH", "").args(["plan", fox]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn switches_take_the_values_people_set_in_the_environment() {
    let fox = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/fox.txt");
    for value in ["1", "yes", "true", "0", ""] {
        let out = Command::cargo_bin("audiobook")
            .unwrap()
            .env("AUDIOBOOK_OFFLINE", value)
            .env("AUDIOBOOK_NO_PROGRESS", value)
            .args(["plan", fox])
            .output()
            .unwrap();
        assert!(out.status.success(), "AUDIOBOOK_OFFLINE={value}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn a_device_that_does_not_exist_is_a_usage_error() {
    let out =
        Command::cargo_bin("audiobook").unwrap().args(["say", "Hi", "-o", "-", "--device", "tpu"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("'tpu' is not a device: use cpu, cuda or cuda:N"), "{err}");
}

#[test]
fn a_file_that_is_not_onnx_runtime_is_named_as_not_a_library() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libonnxruntime.so");
    std::fs::write(&fake, "#!/bin/sh\n").unwrap();
    let out = Command::cargo_bin("audiobook")
        .unwrap()
        .args(["say", "Hi", "-o", "-", "--ort-lib"])
        .arg(&fake)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("libonnxruntime.so: not a shared library"), "{err}");
}

#[test]
fn a_missing_runtime_library_is_named_with_the_flag_that_chose_it() {
    let out = Command::cargo_bin("audiobook")
        .unwrap()
        .args(["say", "Hi", "-o", "-", "--ort-lib", "/no/such/libonnxruntime.so"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ONNX Runtime library not found at /no/such/libonnxruntime.so"), "{err}");
    assert!(err.lines().nth(1).is_some_and(|hint| hint.contains("--ort-lib")), "{err}");
}

/// The words of an example line as a shell would pass them to audiobook: after a pipe, before a
/// redirection, without the description two spaces after it, double quotes removed.
fn example_words(line: &str) -> Vec<String> {
    let command = line.rsplit("| ").next().unwrap_or(line);
    let command = command.split(" > ").next().unwrap().split(" < ").next().unwrap();
    let command = command.split("   ").next().unwrap().trim();
    let mut words = Vec::new();
    for (i, part) in command.split('"').enumerate() {
        if i % 2 == 1 {
            words.push(part.to_string());
        } else {
            words.extend(part.split_whitespace().map(str::to_string));
        }
    }
    words
}

#[test]
fn every_command_has_a_summary_of_its_own_and_build_say_and_serve_show_examples_that_parse() {
    use audiobook::cli::args::Cli;
    use clap::{CommandFactory, Parser};

    let cli = Cli::command();
    let mut seen = std::collections::HashMap::new();
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        assert!(!about.is_empty(), "{} has no summary", sub.get_name());
        if let Some(other) = seen.insert(about.clone(), sub.get_name()) {
            panic!("{} and {other} share the summary {about:?}", sub.get_name());
        }
    }
    assert!(seen.iter().any(|(about, name)| *name == "say" && about.starts_with("Speak a text")));
    assert!(seen.iter().any(|(about, name)| *name == "serve" && about.starts_with("Serve ")));

    for name in ["build", "say", "serve"] {
        let help = Command::cargo_bin("audiobook").unwrap().args([name, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        let examples: Vec<&str> = help.split("Examples:\n").nth(1).unwrap_or_default().lines().collect();
        let ours: Vec<&&str> = examples.iter().filter(|l| l.contains(&format!("audiobook {name}"))).collect();
        assert!(ours.len() >= 2, "{name} --help shows examples: {help}");
        for line in ours {
            let words = example_words(line);
            assert!(Cli::try_parse_from(&words).is_ok(), "{line:?} parses as {words:?}");
        }
    }
}
