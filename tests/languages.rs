//! Languages end to end with the real model: each espeak-ng language's voice, and a Mandarin
//! voice, says a sentence of its language with every word timed in order; the corpus Spanish EPUB
//! builds with ef_dora; a German book is refused by name; `voices` marks e/f/h/i/p/z voices
//! speakable; an English book's Spanish and French passages (`xml:lang`, `lang`) and a Markdown
//! file with `lang: es` front matter are read with those languages' G2P. Tests that need
//! espeak-ng skip, saying why, only where it is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod ingest_util;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use audiobook::language::Language;
use audiobook::lexicon::Lexicon;
use audiobook::narrate::{self, Settings};
use audiobook::phonemize::Phonemizer;
use audiobook::plan::BookPlan;
use ingest_util::{CONTAINER, epub_zip, simple_opf, write, xhtml};

fn audiobook() -> Command {
    common::model_files();
    Command::cargo_bin("audiobook").unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Says `text` with `voice` and checks real audio came out with `words` timed in order.
fn says(voice: &str, text: &str, words: &[&str]) {
    // Mandarin needs no espeak-ng.
    if !voice.starts_with('z') && !common::require(common::Tool::EspeakNg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (wav, json) = (dir.path().join("a.wav"), dir.path().join("a.json"));
    let out =
        audiobook().args(["say", "--voice", voice, text, "-o"]).arg(&wav).arg("--timings").arg(&json).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let (spec, samples) = common::read_wav(&std::fs::read(&wav).unwrap());
    assert_eq!(spec.sample_rate, 24_000);
    let seconds = samples.len() as f64 / 24_000.0;
    assert!((0.3 * words.len() as f64..10.0).contains(&seconds), "{seconds} s for {} words", words.len());
    assert!(common::rms(&samples) > 0.02, "not silence: rms {}", common::rms(&samples));

    let timing: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let timed = timing["words"].as_array().unwrap();
    let texts: Vec<&str> = timed.iter().map(|w| w["text"].as_str().unwrap()).collect();
    assert_eq!(texts, words);
    let mut previous_end = 0;
    for w in timed {
        let (start, end) = (w["start_ms"].as_u64().unwrap(), w["end_ms"].as_u64().unwrap());
        assert!(start >= previous_end && end > start, "in order, not overlapping, not empty: {w}");
        previous_end = end;
    }
    let at = |ms: u64| (ms * 24) as usize;
    let first = timed[0]["start_ms"].as_u64().unwrap();
    assert!(common::rms(&samples[at(first)..at(previous_end).min(samples.len())]) > 0.03, "speech during the words");
}

#[test]
fn spanish_with_ef_dora() {
    says(
        "ef_dora",
        "¡Hola! ¿Cómo estás? El Sr. García compró 25 manzanas.",
        &["Hola", "Cómo", "estás", "El", "Sr", "García", "compró", "25", "manzanas"],
    );
}

#[test]
fn french_with_ff_siwis() {
    says("ff_siwis", "Bonjour, comment allez-vous aujourd'hui ?", &["Bonjour", "comment", "allez-vous", "aujourd'hui"]);
}

#[test]
fn hindi_with_hf_alpha() {
    says("hf_alpha", "नमस्ते, आप कैसे हैं?", &["नमस्ते", "आप", "कैसे", "हैं"]);
}

#[test]
fn italian_with_if_sara() {
    says("if_sara", "Buongiorno, come stai oggi?", &["Buongiorno", "come", "stai", "oggi"]);
}

#[test]
fn brazilian_portuguese_with_pf_dora() {
    says("pf_dora", "Olá, tudo bem com você?", &["Olá", "tudo", "bem", "com", "você"]);
}

#[test]
fn mandarin_with_zf_xiaobei() {
    says(
        "zf_xiaobei",
        "你好，世界。我们明天去北京，好吗？",
        &["你好", "世界", "我们", "明天", "去", "北京", "好", "吗"],
    );
}

#[test]
fn language_flag_picks_the_phonemes_and_the_voice_only_the_timbre() {
    if !common::require(common::Tool::EspeakNg) {
        return;
    }
    let phonemes = |args: &[&str]| {
        let out = audiobook().args(["say", "--phonemes", "--json"]).args(args).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let spanish = phonemes(&["--voice", "af_heart", "--language", "es", "Hola mundo"]);
    assert!(spanish.contains("ˈola"), "{spanish}");
    let english = phonemes(&["--voice", "ef_dora", "--language", "en-us", "Hello world"]);
    assert!(english.contains("həlˈO"), "{english}");
}

#[test]
fn the_spanish_corpus_epub_builds_with_ef_dora() {
    if !common::require(common::Tool::EspeakNg) {
        return;
    }
    let Some(shared) = common::shared() else { return };
    let book = shared.join("corpus/epub/todo-es-mio-epub2-es.epub");
    let dir = tempfile::tempdir().unwrap();
    let out = audiobook()
        .args(["build", "--voice", "ef_dora", "--preview", "--chapters", "1", "-o"])
        .arg(dir.path())
        .arg(&book)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("stay silent"), "{}", stderr(&out));
    let wav = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wav"))
        .expect("a chapter WAV");
    let (_, samples) = common::read_wav(&std::fs::read(&wav).unwrap());
    assert!(samples.len() > 24_000 * 3, "{} samples", samples.len());
    assert!(common::rms(&samples) > 0.02);
}

#[test]
fn a_german_book_is_refused_by_name_with_the_languages_there_are() {
    let Some(shared) = common::shared() else { return };
    let book = shared.join("corpus/text/pg22367-die-verwandlung-de-latin1-crlf.txt");
    let out = audiobook().args(["plan", "--voice", "ef_dora"]).arg(&book).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("German") && err.contains("Spanish") && err.contains("Italian"), "{err}");
    let out = audiobook().args(["say", "--language", "de", "Hallo"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("German"), "{}", stderr(&out));
}

#[test]
fn voices_lists_all_54_voices_as_speakable() {
    let out = audiobook().args(["voices", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let voices: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let speakable = |name: &str| {
        voices.as_array().unwrap().iter().find(|v| v["name"] == name).map(|v| v["supported"].as_bool().unwrap())
    };
    for name in ["ef_dora", "ff_siwis", "hf_alpha", "if_sara", "pf_dora", "af_heart", "zf_xiaobei", "zm_yunjian"] {
        assert_eq!(speakable(name), Some(true), "{name}");
    }
    assert_eq!(speakable("jf_alpha"), Some(true), "Japanese, through mecab (tests/japanese.rs)");
    let all = voices.as_array().unwrap();
    assert_eq!(all.len(), 54);
    assert!(all.iter().all(|v| v["supported"] == true), "every voice speaks its language");
}

const SPANISH: &str = "El niño juega en el jardín con su perro.";
const FRENCH: &str = "Les enfants jouent dans le jardin avec leur chien.";
const GERMAN: &str = "Die Kinder spielen im Garten.";

/// An English EPUB with a Spanish paragraph, a French quotation and a German paragraph.
fn mixed_epub(dir: &Path) -> PathBuf {
    let body = format!(
        r#"<h1>The Garden</h1><p>The children played in the garden all afternoon.</p>
        <p xml:lang="es">{SPANISH}</p><blockquote lang="fr"><p>{FRENCH}</p></blockquote>
        <p lang="de">{GERMAN}</p><p>Then everyone went home for dinner.</p>"#
    );
    let opf = simple_opf(&["ch1.xhtml"]);
    let page = xhtml(&body);
    let files: [(&str, &[u8]); 3] = [
        ("META-INF/container.xml", CONTAINER.as_bytes()),
        ("OEBPS/content.opf", opf.as_bytes()),
        ("OEBPS/ch1.xhtml", page.as_bytes()),
    ];
    write(dir, "mixed.epub", &epub_zip(&files))
}

fn plan_of(input: &Path, settings: &Settings) -> BookPlan {
    let read = narrate::read(&[input.to_path_buf()], settings).unwrap();
    narrate::plan(&read.book, settings).unwrap()
}

/// Tokens of a sentence: each one's text and ids.
type Tokens = Vec<(String, Vec<i64>)>;

/// The sentence of the plan's first chapter whose text starts with `start`: its language, and
/// its tokens' texts and ids as the plan has them and as `language`'s own G2P gives them.
fn sentence_phonemes(plan: &BookPlan, start: &str) -> (Language, Tokens, Tokens) {
    let chapter = &plan.chapters[0];
    let index = chapter.sentences.iter().position(|s| s.text.starts_with(start)).expect(start);
    let language = chapter.blocks[chapter.sentences[index].block].language;
    let planned = chapter
        .chunks
        .iter()
        .flat_map(|c| c.tokens.iter().map(move |t| (t, &c.ids)))
        .filter(|(t, _)| t.sentence == index)
        .map(|(t, ids)| (t.text.clone(), ids[t.ids.clone()].to_vec()))
        .collect();
    let own = Phonemizer::for_language(language, &Lexicon::default()).unwrap();
    let expected = own.words(&chapter.sentences[index].text).unwrap().into_iter().map(|w| (w.text, w.ids)).collect();
    (language, planned, expected)
}

#[test]
fn an_english_books_tagged_passages_are_read_in_their_languages() {
    if !common::require(common::Tool::EspeakNg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let epub = mixed_epub(dir.path());
    let settings = Settings { voice: "af_heart".into(), ..Settings::default() };
    let plan = plan_of(&epub, &settings);
    for (start, language) in [("El niño", Language::Spanish), ("Les enfants", Language::French)] {
        let (got, planned, espeak) = sentence_phonemes(&plan, start);
        assert_eq!(got, language);
        assert_eq!(planned, espeak, "{start}: the phonemes are {language}'s");
    }
    let (english, ..) = sentence_phonemes(&plan, "The children");
    assert_eq!(english, Language::AmericanEnglish);
    let (german, ..) = sentence_phonemes(&plan, "Die Kinder");
    assert_eq!(german, Language::AmericanEnglish, "no German G2P: read in the book's language");
    assert_eq!(plan.language_warnings.len(), 1, "{:?}", plan.language_warnings);
    assert!(plan.language_warnings[0].contains("German"), "{:?}", plan.language_warnings);

    // `--language` reads every block in it.
    let forced = plan_of(&epub, &Settings { language: Some(Language::AmericanEnglish), ..settings.clone() });
    let (language, planned, _) = sentence_phonemes(&forced, "El niño");
    assert_eq!(language, Language::AmericanEnglish);
    let (_, spanish, _) = sentence_phonemes(&plan, "El niño");
    assert_ne!(planned, spanish);
    assert!(forced.language_warnings.is_empty());
}

#[test]
fn a_mixed_language_book_builds_with_every_word_timed_in_order() {
    if !common::require(common::Tool::EspeakNg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let epub = mixed_epub(dir.path());
    let out_dir = dir.path().join("out");
    let out = audiobook().args(["build", "--voice", "af_heart", "-o"]).arg(&out_dir).arg(&epub).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let warnings = stderr(&out);
    let german = warnings.lines().filter(|l| l.contains("warning") && l.contains("German")).count();
    assert_eq!(german, 1, "one warning naming German: {warnings}");

    let book: serde_json::Value = serde_json::from_slice(&std::fs::read(out_dir.join("book.json")).unwrap()).unwrap();
    let chapter = &book["chapters"][0];
    let (_, samples) = common::read_wav(&std::fs::read(out_dir.join(chapter["audio"].as_str().unwrap())).unwrap());
    assert!(common::rms(&samples) > 0.02, "speech, not silence");
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join(chapter["timings"].as_str().unwrap())).unwrap()).unwrap();
    let duration = sidecar["duration_ms"].as_u64().unwrap();
    let words = sidecar["words"].as_array().unwrap();
    common::assert_words_in_order(words, duration);
    let text = format!(
        "The Garden The children played in the garden all afternoon {SPANISH} {FRENCH} {GERMAN} Then everyone \
         went home for dinner"
    );
    let expected: Vec<&str> = text.split(|c: char| c.is_whitespace() || c == '.').filter(|w| !w.is_empty()).collect();
    let timed: Vec<&str> = words.iter().map(|w| w["text"].as_str().unwrap()).collect();
    assert_eq!(timed, expected);
    let seconds = samples.len() as f64 / 24_000.0;
    assert!((0.2 * expected.len() as f64..1.0 * expected.len() as f64).contains(&seconds), "{seconds} s");
}

#[test]
fn a_markdown_file_with_lang_es_front_matter_reads_in_spanish() {
    if !common::require(common::Tool::EspeakNg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cuento.md");
    std::fs::write(&file, format!("---\nlang: es\n---\n\n{SPANISH}\n")).unwrap();
    let settings = Settings { voice: "af_heart".into(), ..Settings::default() };
    let read = narrate::read(std::slice::from_ref(&file), &settings).unwrap();
    assert_eq!(read.language, Language::Spanish, "front matter states the book's language, as dc:language does");
    let plan = plan_of(&file, &settings);
    let (language, planned, espeak) = sentence_phonemes(&plan, "El niño");
    assert_eq!(language, Language::Spanish);
    assert_eq!(planned, espeak);
}

#[test]
fn untagged_paragraphs_in_a_script_of_their_own_are_read_in_its_language() {
    if !common::require(common::Tool::EspeakNg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("greetings.md");
    let japanese = if common::require_for(common::Tool::Mecab, "its Japanese paragraph") {
        "こんにちは、元気ですか？\n\n"
    } else {
        ""
    };
    let text = format!(
        "# Greetings\n\nThe traveller wrote down a greeting in each language she heard.\n\n{japanese}\
         你好，我们明天去北京。\n\nनमस्ते, आप कैसे हैं?\n"
    );
    std::fs::write(&file, text).unwrap();
    let plan = plan_of(&file, &Settings { voice: "af_heart".into(), ..Settings::default() });
    let mut expected = vec![("The traveller", Language::AmericanEnglish), ("你好", Language::Mandarin)];
    expected.push(("नमस्ते", Language::Hindi));
    if !japanese.is_empty() {
        expected.push(("こんにちは", Language::Japanese));
    }
    for (start, language) in expected {
        let (got, planned, own) = sentence_phonemes(&plan, start);
        assert_eq!(got, language, "{start}");
        assert_eq!(planned, own, "{start}: the phonemes are {language}'s");
    }
    assert!(plan.chapters[0].unspoken_words().next().is_none(), "every word is spoken");
}
