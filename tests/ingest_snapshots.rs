//! Snapshots of cleaned text: each input is rendered as `# chapter` lines followed by
//! `[kind] text` lines and compared with a `.snap` file beside it in `fixtures/ingest/`.
//! Run with `UPDATE_SNAPSHOTS=1` to rewrite the snapshots after an intended change.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use audiobook::ingest::{Book, CodeMode, IngestOptions, NotesMode, read_inputs};

fn render(book: &Book) -> String {
    let mut out = String::new();
    for ch in &book.chapters {
        writeln!(out, "# {}", ch.title).unwrap();
        for b in &ch.blocks {
            writeln!(out, "[{:?}] {}", b.kind, b.text).unwrap();
        }
    }
    out
}

fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/ingest").join(format!("{name}.snap"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(expected == actual, "snapshot {name} differs; expected:\n{expected}\nactual:\n{actual}");
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/ingest").join(name)
}

#[test]
fn markdown_guide_default() {
    let book = read_inputs(&[fixture("guide.md")], &IngestOptions::default()).unwrap();
    check("guide-default", &render(&book));
}

#[test]
fn markdown_guide_everything_on() {
    let opts = IngestOptions {
        code: CodeMode::Read,
        tables: true,
        alt_text: true,
        notes: NotesMode::End,
        ..IngestOptions::default()
    };
    let book = read_inputs(&[fixture("guide.md")], &opts).unwrap();
    check("guide-all", &render(&book));
}

#[test]
fn gutenberg_style_text() {
    let book = read_inputs(&[fixture("story.txt")], &IngestOptions::default()).unwrap();
    assert_eq!(book.meta.title, "A Small Story");
    check("story", &render(&book));
}

#[test]
fn waste_land_death_by_water() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/epub/idpf-wasteland.epub");
    if !p.exists() {
        eprintln!("skipped: corpus not found at {}", p.display());
        return;
    }
    let book = read_inputs(&[p], &IngestOptions::default()).unwrap();
    let mut one = book.clone();
    one.chapters.retain(|c| c.title == "IV. DEATH BY WATER");
    check("wasteland-iv", &render(&one));
}

#[test]
#[ignore = "prints one input rendered as a snapshot: INGEST_RENDER=path"]
fn render_one() {
    let Some(p) = std::env::var_os("INGEST_RENDER") else { return };
    let opts =
        IngestOptions { keep_front_matter: std::env::var_os("INGEST_KEEP").is_some(), ..IngestOptions::default() };
    let book = read_inputs(&[PathBuf::from(p)], &opts).unwrap();
    for w in &book.warnings {
        println!("warning: {w}");
    }
    print!("{}", render(&book));
}
