//! Japanese end to end with the real model: jf_alpha says a few sentences (kana, kanji, a
//! number) with every word (MeCab's, merged as misaki merges them) timed in order; a long paragraph with no ASCII stops is split at
//! 。 and never loses text. Skips, saying why, only where `mecab` or unidic-lite's dictionary is
//! absent (see the README's Languages section).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;

use assert_cmd::Command;

fn audiobook() -> Command {
    common::model_files();
    Command::cargo_bin("audiobook").unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Says `text` with jf_alpha; returns the samples and the timed words' texts, checked in order.
fn say(text: &str) -> (Vec<f32>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let (wav, json) = (dir.path().join("a.wav"), dir.path().join("a.json"));
    let out = audiobook()
        .args(["say", "--voice", "jf_alpha", text, "-o"])
        .arg(&wav)
        .arg("--timings")
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (spec, samples) = common::read_wav(&std::fs::read(&wav).unwrap());
    assert_eq!(spec.sample_rate, 24_000);
    assert!(common::rms(&samples) > 0.02, "not silence: rms {}", common::rms(&samples));
    let timing: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let timed = timing["words"].as_array().unwrap();
    let mut previous_end = 0;
    for w in timed {
        let (start, end) = (w["start_ms"].as_u64().unwrap(), w["end_ms"].as_u64().unwrap());
        assert!(start >= previous_end && end >= start, "in order, not overlapping: {w}");
        previous_end = end;
    }
    assert!(previous_end > 0);
    (samples, timed.iter().map(|w| w["text"].as_str().unwrap().to_string()).collect())
}

#[test]
fn jf_alpha_says_japanese_with_every_word_timed_in_order() {
    if !common::require(common::Tool::Mecab) {
        return;
    }
    let (samples, words) = say("電車は八時に駅を出発しました。こんにちは、お元気ですか？");
    let seconds = samples.len() as f64 / 24_000.0;
    assert!((1.5..12.0).contains(&seconds), "{seconds} s");
    assert_eq!(
        words,
        ["電車", "は", "八時", "に", "駅", "を", "出発", "し", "ました", "こんにちは", "お", "元気", "です", "か"]
    );
}

#[test]
fn a_number_is_one_word_and_a_long_paragraph_loses_nothing() {
    if !common::require(common::Tool::Mecab) {
        return;
    }
    let (_, words) = say("この本は2024年に出版されました。");
    assert!(words.contains(&"2024".to_string()), "{words:?}");
    // No ASCII stop anywhere, over 510 phonemes: upstream reads it as one chunk and cuts it.
    let sentence = "私は毎朝コーヒーを一杯飲みながら新聞を読みます。";
    let text = sentence.repeat(9);
    let (samples, words) = say(&text);
    let seconds = samples.len() as f64 / 24_000.0;
    assert!(seconds > 20.0, "all nine sentences are read: {seconds} s");
    assert_eq!(words.iter().filter(|w| *w == "新聞").count(), 9, "{words:?}");
}
