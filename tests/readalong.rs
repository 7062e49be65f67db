//! Read along, end to end with the real model: subtitles parsed by ffmpeg (cues in order, inside
//! the audio, in the book's own words), and read-along EPUBs checked with epubcheck and against
//! the sidecars (every SMIL clip points at an element that exists, at the sidecar's times).
//! epubcheck is the Debian package's jar (`AUDIOBOOK_EPUBCHECK`, else its usual path). Without
//! ffmpeg a test skips, and without epubcheck its epubcheck step does, saying so (they fail where
//! `AUDIOBOOK_REQUIRE_TOOLS=1`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command as Process, Output};

use assert_cmd::Command;
use serde_json::Value;

fn build(input: &Path, out: &Path, extra: &[&str]) -> Output {
    common::model_files();
    Command::cargo_bin("audiobook")
        .unwrap()
        .arg("build")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["--jobs", "2", "--no-progress"])
        .args(extra)
        .output()
        .unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The chapters' sidecars, in order.
fn sidecars(out: &Path) -> Vec<Value> {
    let book = json(&out.join("book.json"));
    book["chapters"].as_array().unwrap().iter().map(|c| json(&out.join(c["timings"].as_str().unwrap()))).collect()
}

/// Cue start and end times (seconds) as ffprobe reads the subtitle file.
fn ffprobe_cues(path: &Path) -> Vec<(f64, f64)> {
    let out = Process::new("ffprobe")
        .args(["-v", "error", "-show_entries", "packet=pts_time,duration_time", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe on PATH (Debian: apt install ffmpeg)");
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let probe: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secs = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
    probe["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (secs(&p["pts_time"]), secs(&p["pts_time"]) + secs(&p["duration_time"])))
        .collect()
}

/// The cue texts of a subtitle file as ffmpeg converts it to SRT (tags such as VTT's word
/// timestamps gone), lines joined.
fn ffmpeg_texts(path: &Path) -> Vec<String> {
    let out = Process::new("ffmpeg").args(["-v", "error", "-i"]).arg(path).args(["-f", "srt", "-"]).output().unwrap();
    assert!(out.status.success(), "ffmpeg {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let srt = String::from_utf8(out.stdout).unwrap().replace('\r', "");
    srt.split("\n\n")
        .filter(|cue| !cue.trim().is_empty())
        .map(|cue| {
            let text: Vec<&str> = cue.lines().skip(2).collect();
            let text = text.join(" ");
            // ffmpeg keeps WebVTT's inline timestamps as text tags; a reader shows none of them.
            let mut plain = String::new();
            let mut in_tag = false;
            for c in text.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => in_tag = false,
                    c if !in_tag => plain.push(c),
                    _ => {}
                }
            }
            words(&plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
        })
        .collect()
}

/// A chapter's subtitles: ffmpeg reads them, the cues are in order and inside the chapter's
/// audio, and together they are the chapter's sentences in the book's own words.
fn check_subtitles(path: &Path, timings: &Value) {
    let cues = ffprobe_cues(path);
    let duration = timings["duration_ms"].as_f64().unwrap() / 1000.0;
    assert!(!cues.is_empty(), "{}", path.display());
    for pair in cues.windows(2) {
        assert!(pair[0].1 <= pair[1].0 + 0.001, "{}: cues overlap or are out of order: {pair:?}", path.display());
    }
    assert!(cues.iter().all(|&(start, end)| start >= 0.0 && start < end && end <= duration + 0.001), "{cues:?}");
    let texts = ffmpeg_texts(path);
    assert_eq!(texts.len(), cues.len());
    let book_text: Vec<&str> =
        timings["sentences"].as_array().unwrap().iter().map(|s| s["original"].as_str().unwrap()).collect();
    assert_eq!(texts.join(" "), words(&book_text.join(" ")), "{}: the cues are the book's text", path.display());
}

/// What a read-along EPUB holds, by zip path.
fn unzip(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    assert_eq!(zip.by_index(0).unwrap().name(), "mimetype", "mimetype comes first");
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().to_string(), bytes)
        })
        .collect()
}

/// An attribute's value in a tag's text.
fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let start = tag.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("{name} in {tag}")) + name.len() + 3;
    &tag[start..start + tag[start..].find('"').unwrap()]
}

/// Resolves an href relative to the zip folder `dir`.
fn resolve(dir: &str, href: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in href.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/").replace("%20", " ")
}

/// Every SMIL clip points at an element of its document and at an MP3 in the book, each
/// sentence's `epub_id` in the sidecar is a clip's element, and a clip starts when its first
/// sentence does (the chapter's first at 0). Returns the share of sentences with their own element.
fn check_overlays(epub: &Path, chapters: &[Value]) -> f64 {
    let files = unzip(epub);
    let text = |name: &str| String::from_utf8_lossy(&files[name]).into_owned();
    let mut clips: BTreeMap<String, (String, f64, f64)> = BTreeMap::new(); // id -> audio, begin, end
    let smils: Vec<&String> = files.keys().filter(|k| k.ends_with(".smil")).collect();
    assert!(!smils.is_empty(), "overlays in {}", epub.display());
    for smil in smils {
        let dir = smil.rsplit_once('/').map_or("", |(d, _)| d);
        let body = text(smil);
        assert!(body.contains("version=\"3.0\""));
        for par in body.split("<par>").skip(1) {
            let (doc, id) = attr(par, "src").split_once('#').unwrap();
            let doc = resolve(dir, doc);
            assert!(text(&doc).contains(&format!("id=\"{id}\"")), "{id} is an element of {doc}");
            let audio_tag = &par[par.find("<audio").unwrap()..];
            let audio = resolve(dir, attr(audio_tag, "src"));
            assert!(files.contains_key(&audio), "{audio} is in the book");
            let secs = |v: &str| v.trim_end_matches('s').parse::<f64>().unwrap();
            let (begin, end) = (secs(attr(audio_tag, "clipBegin")), secs(attr(audio_tag, "clipEnd")));
            assert!(begin < end, "{par}");
            clips.insert(id.to_string(), (audio, begin, end));
        }
    }
    let (mut own, mut all) = (0, 0);
    for chapter in chapters {
        let mut previous: Option<&str> = None;
        for (i, sentence) in chapter["sentences"].as_array().unwrap().iter().enumerate() {
            let id = sentence["epub_id"].as_str().expect("every sentence has its element's id");
            let clip = clips.get(id).unwrap_or_else(|| panic!("{id} has a clip"));
            all += 1;
            if previous != Some(id) {
                own += 1;
                let start = if i == 0 { 0.0 } else { sentence["start_ms"].as_f64().unwrap() / 1000.0 };
                // The first sentences of a chapter may share its first element, which starts at 0.
                assert!(clip.1 == 0.0 || (clip.1 - start).abs() < 0.0011, "{id}: clip {clip:?}, sentence at {start}");
            }
            previous = Some(id);
        }
    }
    f64::from(own) / f64::from(all)
}

/// epubcheck's error count, or `None` where epubcheck is not installed (and not required).
fn epubcheck_errors(epub: &Path) -> Option<usize> {
    if !common::require_for(common::Tool::Epubcheck, "the epubcheck step") {
        return None;
    }
    let jar = common::epubcheck_jar();
    let out = Process::new("java").arg("-jar").arg(&jar).arg(epub).output().expect("java for epubcheck");
    let report = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let errors = report.lines().filter(|l| l.starts_with("ERROR") || l.starts_with("FATAL")).count();
    if errors > 0 {
        eprintln!("{report}");
    }
    Some(errors)
}

#[test]
fn markdown_gets_subtitles_per_chapter_and_for_the_m4b_and_a_plain_read_along_epub() {
    if !common::require(common::Tool::Ffmpeg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample.md");
    let run = build(&sample, &out, &["--format", "m4b,epub", "--subtitles", "srt,vtt"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let chapters = sidecars(&out);
    let book = json(&out.join("book.json"));
    let mut cue_count = 0;
    for (chapter, timings) in book["chapters"].as_array().unwrap().iter().zip(&chapters) {
        let stem = chapter["audio"].as_str().unwrap().trim_end_matches(".wav");
        check_subtitles(&out.join(format!("{stem}.srt")), timings);
        check_subtitles(&out.join(format!("{stem}.vtt")), timings);
        assert_eq!(ffprobe_cues(&out.join(format!("{stem}.srt"))), ffprobe_cues(&out.join(format!("{stem}.vtt"))));
        let vtt = std::fs::read_to_string(out.join(format!("{stem}.vtt"))).unwrap();
        assert!(vtt.contains("<00:"), "word timestamps inside the cues");
        cue_count += ffprobe_cues(&out.join(format!("{stem}.srt"))).len();
    }
    // The whole book's cues sit where the M4B has its chapters.
    let whole = ffprobe_cues(&out.join("book.srt"));
    assert_eq!(whole.len(), cue_count);
    let last_chapter = &book["chapters"].as_array().unwrap()[1];
    let second_start = last_chapter["start_ms"].as_f64().unwrap() / 1000.0;
    let first_of_second = ffprobe_cues(&out.join(last_chapter["audio"].as_str().unwrap().replace(".wav", ".srt")))[0].0;
    assert!(whole.iter().any(|c| (c.0 - (second_start + first_of_second)).abs() < 0.002), "{whole:?}");
    assert!(whole.last().unwrap().1 <= book["duration_ms"].as_f64().unwrap() / 1000.0 + 0.002);

    let epub = out.join("book.epub");
    let own = check_overlays(&epub, &chapters);
    assert_eq!(own, 1.0, "a plain book has an element per sentence");
    if let Some(errors) = epubcheck_errors(&epub) {
        assert_eq!(errors, 0, "epubcheck accepts the plain read-along book");
    }
}

#[test]
fn a_corpus_epub_becomes_a_read_along_copy_of_itself_that_epubcheck_accepts() {
    if !common::require(common::Tool::Ffmpeg) {
        return;
    }
    let Some(shared) = common::shared() else { return };
    let input = shared.join("corpus/epub/idpf-wasteland.epub");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // --preview: two sentences of each of the poem's five parts.
    let run = build(&input, &out, &["--preview", "--format", "epub", "--subtitles", "vtt"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let chapters = sidecars(&out);
    for (i, timings) in chapters.iter().enumerate() {
        let audio = timings["audio"].as_str().unwrap();
        check_subtitles(&out.join(audio.replace(".wav", ".vtt")), timings);
        assert!(i < 5);
    }
    let epub = out.join("book.epub");
    let own = check_overlays(&epub, &chapters);
    assert!(own >= 0.9, "{own}: nearly every sentence has its own element in the book's markup");
    // Everything of the input is still there, unchanged but for the narrated documents and the package.
    let (before, after) = (unzip(&input), unzip(&epub));
    for (name, bytes) in &before {
        let changed = name.ends_with(".opf") || name.ends_with("content.xhtml");
        assert!(changed || after.get(name) == Some(bytes), "{name} is copied as it was");
    }
    let opf = String::from_utf8_lossy(&after["EPUB/wasteland.opf"]).into_owned();
    for needed in ["media-overlay=\"ab-mo-1\"", "property=\"media:duration\"", "media:active-class", "audio/mpeg"] {
        assert!(opf.contains(needed), "{needed} in the package");
    }
    if let Some(errors) = epubcheck_errors(&epub) {
        assert_eq!(errors, 0, "epubcheck accepts the read-along copy (it accepts the input with none)");
    }
}
