//! What listeners play, end to end with the real model and the system ffmpeg: an M4B checked
//! with ffprobe (chapters against book.json, tags, cover, both chapter forms, loudness), MP3 and
//! Opus per chapter, adding a format to a finished build without rendering, an intro and outro,
//! and the error when ffmpeg is missing. Without ffmpeg and ffprobe on PATH the others skip,
//! saying so (they fail where `AUDIOBOOK_REQUIRE_TOOLS=1`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod ingest_util;

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

use assert_cmd::Command;
use serde_json::Value;

/// One AAC frame at the M4B's 24 kHz: how far a chapter mark may move in the encoder's hands.
const AAC_FRAME_S: f64 = 1024.0 / 24_000.0;

/// An image made by ffmpeg at test time (no binary files in the repository): `name`'s extension
/// picks PNG or JPEG.
fn image(dir: &Path, name: &str, colour: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Process::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", &format!("color=c={colour}:s=32x32"), "-frames:v", "1"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

/// A two-chapter EPUB 3 with a title, an author, a language, a table of contents and a cover.
fn epub(dir: &Path) -> PathBuf {
    let cover = std::fs::read(image(dir, "epub-cover.png", "green")).unwrap();
    let package = r#"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">urn:uuid:export-test</dc:identifier><dc:title>The Test; Book = 1</dc:title>
    <dc:creator>A. Writer</dc:creator><dc:language>en</dc:language><dc:date>2019-06-01</dc:date>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="cover" href="cover.png" media-type="image/png" properties="cover-image"/>
    <item id="c1" href="one.xhtml" media-type="application/xhtml+xml"/>
    <item id="c2" href="two.xhtml" media-type="application/xhtml+xml"/>
  </manifest>
  <spine><itemref idref="c1"/><itemref idref="c2"/></spine>
</package>"#;
    let nav = ingest_util::xhtml(
        r#"<nav epub:type="toc"><ol><li><a href="one.xhtml">Arrival</a></li><li><a href="two.xhtml">Departure</a></li></ol></nav>"#,
    );
    let one = ingest_util::xhtml("<h1>Arrival</h1><p>The train came in at noon. Nobody was waiting.</p>");
    let two = ingest_util::xhtml("<h1>Departure</h1><p>She left the next morning, and the town was quiet.</p>");
    let bytes = ingest_util::epub_zip(&[
        ("META-INF/container.xml", ingest_util::CONTAINER.as_bytes()),
        ("OEBPS/content.opf", package.as_bytes()),
        ("OEBPS/nav.xhtml", nav.as_bytes()),
        ("OEBPS/cover.png", &cover),
        ("OEBPS/one.xhtml", one.as_bytes()),
        ("OEBPS/two.xhtml", two.as_bytes()),
    ]);
    ingest_util::write(dir, "book.epub", &bytes)
}

fn build(input: &Path, out: &Path, extra: &[&str]) -> Output {
    common::model_files();
    Command::cargo_bin("audiobook")
        .unwrap()
        .arg("build")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["--chunk-target", "60", "--jobs", "2", "--json"])
        .args(extra)
        .output()
        .unwrap()
}

fn events(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn ffprobe(path: &Path) -> Value {
    let out = Process::new("ffprobe")
        .args(["-v", "error", "-show_chapters", "-show_format", "-show_streams", "-of", "json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn seconds(v: &Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

fn streams<'a>(probe: &'a Value, kind: &str) -> Vec<&'a Value> {
    probe["streams"].as_array().unwrap().iter().filter(|s| s["codec_type"] == kind).collect()
}

/// Integrated loudness (LUFS) and true peak (dBTP) of a file, as ffmpeg's own EBU R128 meter
/// (`ebur128=peak=true`) reports them in its summary: the measure the issue names, taken on the
/// decoded output, so the encoder's overshoot counts.
fn ffmpeg_loudness(path: &Path) -> (f64, f64) {
    let out = Process::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let summary = &log[log.rfind("Summary:").expect("an ebur128 summary")..];
    let value = |label: &str| -> f64 {
        let line = summary.lines().map(str::trim).find(|l| l.starts_with(label)).expect(label);
        line[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
    };
    (value("I:"), value("Peak:"))
}

#[test]
fn an_epub_becomes_an_m4b_with_its_chapters_tags_cover_and_loudness_and_mp3_and_opus_per_chapter() {
    if !common::require(common::Tool::Ffmpeg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = build(&epub(dir.path()), &out, &["--format", "m4b,mp3,opus"]);
    let events = events(&run);
    let book = json(&out.join("book.json"));
    let chapters = book["chapters"].as_array().unwrap();
    assert_eq!(chapters.len(), 2);

    // The M4B: one chapter per book.json chapter, same titles, starts within one AAC frame.
    let m4b = out.join("book.m4b");
    let probe = ffprobe(&m4b);
    let marks = probe["chapters"].as_array().unwrap();
    assert_eq!(marks.len(), chapters.len(), "{probe}");
    for (mark, chapter) in marks.iter().zip(chapters) {
        assert_eq!(mark["tags"]["title"], chapter["title"]);
        let start = chapter["start_ms"].as_f64().unwrap() / 1000.0;
        let end = start + chapter["duration_ms"].as_f64().unwrap() / 1000.0;
        assert!((seconds(&mark["start_time"]) - start).abs() <= AAC_FRAME_S, "{mark} vs {chapter}");
        assert!((seconds(&mark["end_time"]) - end).abs() <= AAC_FRAME_S, "{mark} vs {chapter}");
    }
    let duration = book["duration_ms"].as_f64().unwrap() / 1000.0;
    assert!((seconds(&probe["format"]["duration"]) - duration).abs() <= AAC_FRAME_S, "{}", probe["format"]);

    // Tags in the iTunes list, and the audiobook brand and media kind.
    let tags = &probe["format"]["tags"];
    assert_eq!(tags["title"], "The Test; Book = 1", "escaped in FFMETADATA, whole in the file");
    assert_eq!(tags["album"], "The Test; Book = 1");
    assert_eq!(tags["artist"], "A. Writer");
    assert_eq!(tags["album_artist"], "A. Writer");
    assert_eq!(tags["genre"], "Audiobook");
    assert_eq!(tags["date"], "2019", "the year of dc:date");
    assert_eq!(tags["composer"], "bf_lily", "the voice is the narrator");
    assert_eq!(tags["media_type"], "2", "stik = Audiobook");
    assert_eq!(tags["major_brand"], "M4B ");
    let audio = streams(&probe, "audio");
    assert_eq!((audio[0]["codec_name"].as_str(), audio[0]["sample_rate"].as_str()), (Some("aac"), Some("24000")));
    assert_eq!(audio[0]["tags"]["language"], "eng");

    // Both chapter forms: the QuickTime chapter track (a text track ffprobe lists as data) and
    // the Nero chpl atom.
    assert_eq!(streams(&probe, "data").len(), 1, "the QuickTime chapter track: {probe}");
    let bytes = std::fs::read(&m4b).unwrap();
    for atom in [&b"chpl"[..], b"tref", b"chap", b"covr", b"stik"] {
        assert!(bytes.windows(4).any(|w| w == atom), "no {} atom", String::from_utf8_lossy(atom));
    }
    // The EPUB's cover, as an attached picture.
    let video = streams(&probe, "video");
    assert_eq!(video.len(), 1, "{probe}");
    assert_eq!(
        (video[0]["codec_name"].as_str(), video[0]["disposition"]["attached_pic"].as_u64()),
        (Some("png"), Some(1))
    );

    // Loudness: one gain to -19 LUFS, then the limiter holds the true peak under -3 dBTP; the
    // M4B, as ffmpeg measures it, is within 1 LU of the target and at or under -3 dBTP.
    let loudness = &book["loudness"];
    let (measured, peak, gain) = (
        loudness["measured_lufs"].as_f64().unwrap(),
        loudness["true_peak_dbtp"].as_f64().unwrap(),
        loudness["gain_db"].as_f64().unwrap(),
    );
    assert_eq!(loudness["target_lufs"], -19.0);
    assert!((gain - (-19.0 - measured)).abs() < 0.011, "{loudness}");
    assert_eq!(loudness["limiter_ceiling_dbtp"], -4.0);
    let limited_db = loudness["limited_db"].as_f64().unwrap();
    // Kokoro's peaks sit some 20 dB over its loudness, so at -19 LUFS the limiter has work.
    assert!(peak + gain > -4.0, "the fixture does not exercise the limiter: {loudness}");
    assert!(limited_db > 0.0 && loudness["limited"] == true, "{loudness}");
    let (lufs, true_peak) = ffmpeg_loudness(&m4b);
    eprintln!("m4b: {lufs} LUFS, {true_peak} dBTP; book.json: {loudness}");
    assert!((lufs - -19.0).abs() <= 1.0, "m4b at {lufs} LUFS, book.json says {loudness}");
    assert!(true_peak <= -3.0, "m4b true peak {true_peak} dBTP, book.json says {loudness}");
    let (wav_lufs, _) = ffmpeg_loudness(&out.join(chapters[0]["audio"].as_str().unwrap()));
    assert!(wav_lufs < measured + 3.0, "the WAVs stay raw");

    // MP3 and Opus: one file per chapter beside its WAV, tagged.
    for extension in ["mp3", "opus"] {
        for (i, chapter) in chapters.iter().enumerate() {
            let file = chapter["audio"].as_str().unwrap().replace(".wav", &format!(".{extension}"));
            let probe = ffprobe(&out.join(&file));
            let audio = streams(&probe, "audio");
            // MP3 tags are the file's; Ogg's are the stream's.
            let tags = if extension == "mp3" { &probe["format"]["tags"] } else { &audio[0]["tags"] };
            assert_eq!(tags["title"], chapter["title"], "{file}: {probe}");
            assert_eq!(tags["album"], "The Test; Book = 1", "{file}");
            assert_eq!(tags["artist"], "A. Writer", "{file}");
            assert_eq!(tags["track"].as_str(), Some(format!("{}/2", i + 1).as_str()), "{file}");
            assert_eq!(tags["genre"], "Audiobook", "{file}");
            assert_eq!(tags["date"], "2019", "{file}");
            let pictures = streams(&probe, "video");
            assert_eq!(pictures.len(), 1, "{file}: the EPUB's cover");
            assert_eq!(pictures[0]["codec_name"], "png", "{file}");
            assert_eq!(pictures[0]["disposition"]["attached_pic"], 1, "{file}");
            let length = seconds(&probe["format"]["duration"]);
            assert!((length - chapter["duration_ms"].as_f64().unwrap() / 1000.0).abs() < 0.1, "{file}: {length}");
        }
    }

    // One output_written event per file, with the fields docs/src/events.md lists.
    let documented = &common::documented_events()["output_written"];
    let written: Vec<&Value> = events.iter().filter(|e| e["event"] == "output_written").collect();
    assert_eq!(written.len(), 5, "book.m4b, two MP3s, two Opus files");
    for event in &written {
        let mut fields: Vec<&String> = event.as_object().unwrap().keys().filter(|k| *k != "event").collect();
        fields.sort();
        let mut expected: Vec<&String> = documented.iter().collect();
        expected.sort();
        assert_eq!(fields, expected);
        assert!(out.join(event["path"].as_str().unwrap()).is_file(), "{event}");
    }
    assert_eq!(written[0]["path"], "book.m4b");
    assert_eq!(written[0]["duration_ms"], book["duration_ms"]);
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".part")));
}

#[test]
fn adding_m4b_to_a_finished_wav_build_renders_nothing_a_rerun_encodes_nothing_and_clips_are_chapters() {
    if !common::require(common::Tool::Ffmpeg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = epub(dir.path());
    let first = events(&build(&input, &out, &[]));
    assert!(first.iter().all(|e| e["event"] != "output_written"), "wav only");
    assert!(!out.join("book.m4b").exists());
    let wavs: Vec<Vec<u8>> =
        ["01-arrival.wav", "02-departure.wav"].map(|f| std::fs::read(out.join(f)).unwrap()).to_vec();

    let cover = image(dir.path(), "cover.jpg", "blue");
    let args = ["--format", "m4b", "--cover", cover.to_str().unwrap(), "--loudness", "off"];
    let second = events(&build(&input, &out, &args));
    let summary = second.last().unwrap();
    assert_eq!(summary["chunks_rendered"], 0, "{summary}");
    assert_eq!(second.iter().filter(|e| e["event"] == "output_written").count(), 1);
    let probe = ffprobe(&out.join("book.m4b"));
    assert_eq!(streams(&probe, "video")[0]["codec_name"], "mjpeg", "--cover wins over the EPUB's cover");
    assert_eq!(probe["chapters"].as_array().unwrap().len(), 2);
    assert!(json(&out.join("book.json")).get("loudness").is_none(), "--loudness off measures nothing");
    for (name, bytes) in ["01-arrival.wav", "02-departure.wav"].iter().zip(&wavs) {
        assert!(std::fs::read(out.join(name)).unwrap() == *bytes, "{name} is kept as it was");
    }

    let third = events(&build(&input, &out, &args));
    assert_eq!(third.last().unwrap()["chunks_rendered"], 0);
    assert!(third.iter().all(|e| e["event"] != "output_written"), "the same settings encode nothing again");

    // An intro (MP3, 44.1 kHz stereo) and an outro (FLAC, 48 kHz) become chapters of their own,
    // resampled to 24 kHz, and every chapter mark moves by the intro's length.
    let clip = |name: &str, seconds: &str, rate: &str| {
        let path = dir.path().join(name);
        let tone = format!("sine=f=440:d={seconds}:sample_rate={rate}");
        let status = Process::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", &tone, "-ac", "2"])
            .arg(&path)
            .status();
        assert!(status.unwrap().success());
        path
    };
    let (intro, outro) = (clip("intro.mp3", "1.5", "44100"), clip("outro.flac", "1", "48000"));
    let clips = [&args[..], &["--intro", intro.to_str().unwrap(), "--outro", outro.to_str().unwrap()]].concat();
    let fourth = events(&build(&input, &out, &clips));
    assert_eq!(fourth.last().unwrap()["chunks_rendered"], 0);
    let probe = ffprobe(&out.join("book.m4b"));
    let marks = probe["chapters"].as_array().unwrap();
    let titles: Vec<&str> = marks.iter().map(|m| m["tags"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Intro", "Arrival", "Departure", "Outro"]);
    let intro_end = seconds(&marks[0]["end_time"]);
    assert!((intro_end - 1.5).abs() < 0.01, "the intro lasts 1.5 s at 24 kHz: {intro_end}");
    let book = json(&out.join("book.json"));
    for (mark, chapter) in marks[1..3].iter().zip(book["chapters"].as_array().unwrap()) {
        let start = intro_end + chapter["start_ms"].as_f64().unwrap() / 1000.0;
        assert!((seconds(&mark["start_time"]) - start).abs() <= AAC_FRAME_S, "{mark} vs {chapter}");
    }
    let outro_length = seconds(&marks[3]["end_time"]) - seconds(&marks[3]["start_time"]);
    assert!((outro_length - 1.0).abs() < 0.01, "{outro_length}");
    let total = intro_end + book["duration_ms"].as_f64().unwrap() / 1000.0 + outro_length;
    assert!((seconds(&probe["format"]["duration"]) - total).abs() <= AAC_FRAME_S, "{}", probe["format"]);

    // A cover that is neither JPEG nor PNG goes into Opus converted to PNG, at its own size.
    let gif = image(dir.path(), "cover.gif", "red");
    let fifth = events(&build(&input, &out, &["--format", "opus", "--cover", gif.to_str().unwrap()]));
    assert_eq!(fifth.last().unwrap()["chunks_rendered"], 0);
    let probe = ffprobe(&out.join("01-arrival.opus"));
    let picture = &streams(&probe, "video")[0];
    assert_eq!((picture["codec_name"].as_str(), picture["width"].as_u64()), (Some("png"), Some(32)), "{picture}");
}

#[test]
fn without_ffmpeg_an_m4b_build_fails_at_once_naming_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let files = common::model_files();
    let run = Command::cargo_bin("audiobook")
        .unwrap()
        .arg("build")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/two-chapters"))
        .arg("-o")
        .arg(&out)
        .args(["--format", "wav,m4b", "--offline"])
        .arg("--model")
        .arg(&files.model)
        .arg("--voices")
        .arg(files.voices.path())
        .arg("--ort-lib")
        .arg(&files.ort_lib)
        .env("PATH", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "a missing tool is the installation's failure: {stderr}");
    assert_eq!(
        stderr.trim(),
        "audiobook: error: m4b needs ffmpeg: install it (Debian: apt install ffmpeg) or use --format wav"
    );
    assert!(!out.exists(), "nothing was started");
}

#[test]
fn each_book_of_a_folder_gets_its_own_folder_on_one_engine_and_a_bad_one_does_not_stop_the_rest() {
    if !common::require(common::Tool::Ffmpeg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shelf = dir.path().join("shelf");
    std::fs::create_dir(&shelf).unwrap();
    std::fs::write(shelf.join("one.txt"), "The ship sailed at dawn. Nobody saw it go.").unwrap();
    std::fs::write(shelf.join("two.md"), "# Home\n\nShe came back in the spring.\n").unwrap();
    std::fs::write(shelf.join("empty.txt"), "").unwrap();
    let root = dir.path().join("out");
    common::model_files();
    let run = Command::cargo_bin("audiobook")
        .unwrap()
        .args(["build", "--each", "--format", "m4b", "--chunk-target", "60", "--jobs", "2", "--json"])
        .arg(&shelf)
        .arg("-o")
        .arg(&root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "the empty book is the user's mistake: {stderr}");
    assert!(stderr.contains("empty.txt"), "the failing book is named: {stderr}");
    for name in ["one-audiobook", "two-audiobook"] {
        let book = json(&root.join(name).join("book.json"));
        assert_eq!(book["chapters"].as_array().unwrap().len(), 1, "{name}");
        assert_eq!(ffprobe(&root.join(name).join("book.m4b"))["chapters"].as_array().unwrap().len(), 1, "{name}");
    }
    let summaries: Vec<Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "summary")
        .collect();
    assert_eq!(summaries.len(), 2, "one summary per book built");
    assert_eq!(summaries[0]["load_ms"], summaries[1]["load_ms"], "the model is loaded once");
}

#[test]
fn an_intro_or_outro_in_each_supported_format_decodes_to_24_khz_mono_of_its_length() {
    if !common::require(common::Tool::Ffmpeg) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // (file, codec options): WAV, FLAC, MP3, Ogg Vorbis and M4A/AAC, at rates other than ours.
    let formats: [(&str, &[&str]); 5] = [
        ("clip.wav", &[]),
        ("clip.flac", &[]),
        ("clip.mp3", &[]),
        ("clip.ogg", &["-c:a", "libvorbis"]),
        ("clip.m4a", &["-c:a", "aac"]),
    ];
    for (name, codec) in formats {
        let path = dir.path().join(name);
        let status = Process::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=330:d=1.2:sample_rate=44100", "-ac", "2"])
            .args(codec)
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "ffmpeg made {name}");
        let clip = audiobook::export::clip::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let seconds = clip.samples.len() as f64 / 24_000.0;
        // AAC keeps its encoder priming (about 0.05 s); the others are exact to a few ms.
        assert!((1.19..1.3).contains(&seconds), "{name} lasts {seconds} s");
        let rms = (clip.samples.iter().map(|s| s * s).sum::<f32>() / clip.samples.len() as f32).sqrt();
        assert!(rms > 0.03, "{name} is the tone, not silence: {rms}");
    }
}

#[test]
fn a_corpus_epub_previewed_into_an_m4b_has_the_tables_chapters_at_book_json_times_with_cover_and_loudness() {
    if !common::require(common::Tool::Ffmpeg) {
        return;
    }
    let Some(shared) = common::shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // --preview: two sentences of each chapter, so the whole book's structure in seconds.
    let run = build(&shared.join("corpus/epub/idpf-wasteland.epub"), &out, &["--format", "m4b", "--preview"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let book = json(&out.join("book.json"));
    let chapters = book["chapters"].as_array().unwrap();
    let titles: Vec<&str> = chapters.iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 5, "the poem's five parts, as its table of contents lists them: {titles:?}");
    assert!(titles[0].contains("BURIAL OF THE DEAD") && titles[4].contains("THUNDER"), "{titles:?}");

    let probe = ffprobe(&out.join("book.m4b"));
    let marks = probe["chapters"].as_array().unwrap();
    assert_eq!(marks.len(), chapters.len());
    for (mark, chapter) in marks.iter().zip(chapters) {
        assert_eq!(mark["tags"]["title"], chapter["title"]);
        let start = chapter["start_ms"].as_f64().unwrap() / 1000.0;
        assert!((seconds(&mark["start_time"]) - start).abs() <= AAC_FRAME_S, "{mark} vs {chapter}");
    }
    let total = book["duration_ms"].as_f64().unwrap() / 1000.0;
    assert!((seconds(&probe["format"]["duration"]) - total).abs() <= AAC_FRAME_S, "{}", probe["format"]);
    assert_eq!(probe["format"]["tags"]["title"], book["title"]);
    assert_eq!(streams(&probe, "video").len(), 1, "the EPUB's cover");
    let (lufs, true_peak) = ffmpeg_loudness(&out.join("book.m4b"));
    assert!((lufs - -19.0).abs() <= 1.0 && true_peak <= -3.0, "{lufs} LUFS, {true_peak} dBTP");
}
