//! `audiobook say` end to end with the real model: audio, timings, determinism, pipes, errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;

use assert_cmd::Command;

const FOX: &str = "The quick brown fox jumps over the lazy dog.";

fn audiobook() -> Command {
    common::model_files();
    Command::cargo_bin("audiobook").unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_sentence_gives_speech_and_exact_word_times() {
    let dir = tempfile::tempdir().unwrap();
    let (wav, json) = (dir.path().join("fox.wav"), dir.path().join("fox.json"));
    audiobook().args(["say", FOX, "-o"]).arg(&wav).arg("--timings").arg(&json).assert().success();

    let (spec, samples) = common::read_wav(&std::fs::read(&wav).unwrap());
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (24_000, 1, 16));
    let seconds = samples.len() as f64 / 24_000.0;
    assert!((2.0..8.0).contains(&seconds), "{seconds} s for nine words");
    assert!(common::rms(&samples) > 0.02, "not silence: rms {}", common::rms(&samples));

    let timing: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let words = timing["words"].as_array().unwrap();
    let texts: Vec<&str> = words.iter().map(|w| w["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]);
    let mut previous_end = 0;
    for w in words {
        let (start, end) = (w["start_ms"].as_u64().unwrap(), w["end_ms"].as_u64().unwrap());
        assert!(start >= previous_end && end > start, "in order, not overlapping: {w}");
        assert_eq!(start % 25, 0, "frame-exact times");
        previous_end = end;
    }
    let duration = timing["duration_ms"].as_u64().unwrap();
    assert_eq!(duration, samples.len() as u64 / 24, "duration is the WAV's length");
    assert!(previous_end <= duration);

    // Speech is where the words are (the model's audio may lead its durations by a frame or two).
    let at = |ms: u64| (ms * 24) as usize;
    let first = words[0]["start_ms"].as_u64().unwrap();
    assert!(common::rms(&samples[..at(first - 100)]) < 0.002, "silence before the first word");
    assert!(common::rms(&samples[at(first)..at(previous_end)]) > 0.05, "speech during the words");
}

#[test]
fn same_input_gives_identical_bytes_and_stdout_matches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.wav");
    audiobook().args(["say", "Hello there. How are you today?", "-o"]).arg(&file).assert().success();
    let piped = audiobook().args(["say", "-o", "-"]).write_stdin("Hello there. How are you today?").output().unwrap();
    assert!(piped.status.success(), "{}", stderr(&piped));
    let whole = std::fs::read(&file).unwrap();
    assert_eq!(whole[44..], piped.stdout[44..], "stdin + stdout give the file's samples");
    assert_eq!(&piped.stdout[..4], b"RIFF");
    assert_eq!(piped.stdout[40..44], [0xff; 4], "a stream's header says its length is unknown");
    let (spec, _) = common::read_wav(&whole);
    assert_eq!(spec.sample_rate, 24_000, "the file's header is whole");
    let again = audiobook().args(["say", "Hello there. How are you today?", "-o", "-"]).output().unwrap();
    assert_eq!(again.stdout, piped.stdout, "deterministic");
}

/// `say -o -` with stdout the given file.
fn say_hello_into(file: std::fs::File) -> Output {
    common::model_files();
    std::process::Command::new(assert_cmd::cargo::cargo_bin("audiobook"))
        .args(["say", "Hello there.", "-o", "-"])
        .stdout(file)
        .output()
        .unwrap()
}

#[test]
fn stdout_that_is_a_regular_file_gets_the_real_lengths_and_a_pipe_keeps_the_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    // As the shell's `> out.wav` does: a file opened for writing and truncated.
    let run = say_hello_into(std::fs::File::create(&path).unwrap());
    assert!(run.status.success(), "{}", stderr(&run));
    let bytes = std::fs::read(&path).unwrap();
    let length = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()));
    assert_eq!(length(4), bytes.len() as u64 - 8, "RIFF size");
    assert_eq!(length(40), bytes.len() as u64 - 44, "data size");
    let (spec, samples) = common::read_wav(&bytes);
    assert_eq!(spec.sample_rate, 24_000);
    assert!(samples.len() > 12_000, "{} samples", samples.len());

    // The same words through a pipe: the same samples, the length left unknown.
    let piped = audiobook().args(["say", "-o", "-"]).write_stdin("Hello there.").output().unwrap();
    assert_eq!(piped.stdout[44..], bytes[44..]);
    assert_eq!(piped.stdout[4..8], [0xff; 4]);
    assert_eq!(piped.stdout[40..44], [0xff; 4]);

    // After something else in the file, the WAV's own header is the one rewritten.
    let mut file = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut file, b"before").unwrap();
    let run = say_hello_into(file);
    assert!(run.status.success(), "{}", stderr(&run));
    let after = std::fs::read(&path).unwrap();
    assert_eq!((&after[..6], &after[6..]), (&b"before"[..], &bytes[..]));
}

#[test]
fn stdout_gets_the_first_chunk_while_the_rest_is_still_being_spoken() {
    use std::io::Read;
    common::model_files();
    let paragraph = "The lighthouse keeper climbed the stairs at dusk and lit the great lamp once more. ";
    let text = [paragraph; 6].join("\n\n");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("audiobook"))
        .args(["say", &text, "-o", "-", "--threads", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = vec![0u8; 44 + 24_000];
    stdout.read_exact(&mut first).unwrap();
    let still_running = child.try_wait().unwrap().is_none();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(still_running, "a second of audio arrived before the process ended");
    assert!(rest.len() > 5 * 48_000, "six paragraphs of speech follow");
}

#[test]
fn long_text_is_split_at_sentences_and_nothing_is_dropped() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sample.md")).unwrap();
    let text: String = text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
    let text = format!("{text}\n\n{text}");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("t.json");
    audiobook()
        .args(["say", "-o"])
        .arg(dir.path().join("t.wav"))
        .arg("--timings")
        .arg(&json)
        .write_stdin(text.clone())
        .assert()
        .success();
    let timing: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let spoken: Vec<String> =
        timing["words"].as_array().unwrap().iter().map(|w| w["text"].as_str().unwrap().to_lowercase()).collect();
    let written: Vec<String> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '.' | ','))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    assert_eq!(spoken, written, "every word spoken, in order");
    assert!(timing["sentences"].as_array().unwrap().len() >= 10);
}

#[test]
fn bad_requests_fail_with_one_clear_line() {
    let cases: &[(&[&str], &str, i32)] = &[
        (&["say", "Hi", "-o", "-", "--voice", "bf_lilly"], "unknown voice 'bf_lilly'; did you mean bf_lily", 1),
        (&["say", "Hi", "-o", "-", "--language", "de"], "German, which this build cannot phonemize", 1),
        (&["say", "Hi", "-o", "-", "--speed", "9"], "9 is outside 0.5..=2", 2),
        (&["say", "  ...  ", "-o", "-"], "nothing to say", 1),
        (
            &["say", "Hi", "-o", "-", "--model", "/nonexistent/kokoro.onnx"],
            "model file not found at /nonexistent/kokoro.onnx",
            2,
        ),
    ];
    for (args, message, code) in cases {
        let out = audiobook().args(*args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_corrupt_model_file_is_reported_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("kokoro-v1.0.int8.onnx");
    std::fs::write(&fake, b"not a model").unwrap();
    let out = audiobook().args(["say", "Hi", "-o", "-", "--model"]).arg(&fake).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("checksum mismatch") && err.contains("kokoro-v1.0.int8.onnx"), "{err}");
    assert_eq!(err.lines().count(), 2, "one error line and one hint: {err}");

    let other = dir.path().join("mine.onnx");
    std::fs::write(&other, b"not a model").unwrap();
    let out = audiobook().args(["say", "Hi", "-o", "-", "--model"]).arg(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot load the Kokoro model"), "{}", stderr(&out));
}

#[test]
fn voices_lists_all_54_with_json() {
    let out = Command::cargo_bin("audiobook").unwrap().args(["voices", "--json"]).output().unwrap();
    let voices: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let voices = voices.as_array().unwrap();
    assert_eq!(voices.len(), 54);
    assert!(voices.iter().any(|v| v["name"] == "bf_lily" && v["supported"] == true && v["gender"] == "female"));
    assert!(voices.iter().any(|v| v["name"] == "zf_xiaobei" && v["supported"] == true));
    assert!(voices.iter().any(|v| v["name"] == "jf_alpha" && v["supported"] == true));
}

#[test]
fn speaking_writes_nothing_outside_the_output_and_the_cache_not_even_onnx_runtime_telemetry() {
    let files = common::model_files();
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    let out = Command::cargo_bin("audiobook")
        .unwrap()
        .env_remove("ORT_DISABLE_TELEMETRY")
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", &cache)
        .env("AUDIOBOOK_CACHE_DIR", cache.join("audiobook"))
        .args(["say", FOX, "-o", "-", "--offline", "--model"])
        .arg(&files.model)
        .arg("--voices")
        .arg(files.voices.path())
        .arg("--ort-lib")
        .arg(&files.ort_lib)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let written: Vec<_> = walkdir::WalkDir::new(home.path())
        .into_iter()
        .map(|e| e.unwrap().path().strip_prefix(home.path()).unwrap().to_path_buf())
        .filter(|p| !p.starts_with("cache/audiobook/stamps"))
        .collect();
    let expected = ["", "cache", "cache/audiobook"].map(std::path::PathBuf::from);
    assert_eq!(written, expected, "only the checksum stamps; no ~/.cache/Microsoft");
}

#[test]
fn endless_stdin_is_cut_off_at_the_cap_with_a_message() {
    let zeros = vec![0u8; audiobook::narrate::MAX_SAY_TEXT_BYTES + 1024];
    let out = Command::cargo_bin("audiobook").unwrap().args(["say", "-o", "-"]).write_stdin(zeros).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("<stdin>: more than 16 MiB of text"), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "no audio for a refused text");
}

#[test]
fn a_blend_speaks_and_sounds_like_neither_of_its_voices() {
    let dir = tempfile::tempdir().unwrap();
    let say = |voice: &str| {
        let wav = dir.path().join(format!("{voice}.wav"));
        audiobook().args(["say", FOX, "--voice", voice, "-o"]).arg(&wav).assert().success();
        common::read_wav(&std::fs::read(&wav).unwrap()).1
    };
    let (heart, emma) = (say("af_heart"), say("bf_emma"));
    let blend = say("af_heart:0.7,bf_emma:0.3");
    assert!(common::rms(&blend) > 0.02, "not silence: rms {}", common::rms(&blend));
    assert_ne!(blend, heart);
    assert_ne!(blend, emma);
    // The same mix written another way is the same voice, to the sample.
    assert_eq!(say("af_heart:7,bf_emma:3"), blend);
}
