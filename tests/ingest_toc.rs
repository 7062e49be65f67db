//! Issue 10: chapters as a reader sees them in the table of contents, on small EPUBs built here:
//! anchors inside one file, links written relative to the wrong folder, a lone wrapper entry,
//! nested levels and `--toc-depth`, a title page beside a lone wrapper entry, and a three-hour file
//! split under `--max-chapter-minutes`.
#![allow(clippy::unwrap_used)]

mod ingest_util;

use std::path::{Path, PathBuf};

use audiobook::ingest::{Book, IngestOptions, Section, read_inputs};
use audiobook::narrate::{self, Settings};
use ingest_util::{CONTAINER, epub_zip, write, xhtml};

/// An EPUB 3 whose package is `OEBPS/content.opf`; `files` are (path under OEBPS, content), the
/// nav document first, the rest in spine order.
fn epub(dir: &Path, name: &str, files: &[(&str, String)]) -> PathBuf {
    let mut manifest = String::new();
    let mut spine = String::new();
    for (i, (href, _)) in files.iter().enumerate() {
        let nav = if i == 0 { r#" properties="nav""# } else { "" };
        manifest.push_str(&format!(r#"<item id="i{i}" href="{href}" media-type="application/xhtml+xml"{nav}/>"#));
        if i > 0 {
            spine.push_str(&format!(r#"<itemref idref="i{i}"/>"#));
        }
    }
    let package = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">urn:uuid:toc</dc:identifier><dc:title>Toc Book</dc:title><dc:language>en</dc:language>
  </metadata>
  <manifest>{manifest}</manifest><spine>{spine}</spine>
</package>"#
    );
    let mut entries: Vec<(String, Vec<u8>)> =
        vec![("META-INF/container.xml".into(), CONTAINER.into()), ("OEBPS/content.opf".into(), package.into_bytes())];
    entries.extend(files.iter().map(|(n, c)| (format!("OEBPS/{n}"), c.clone().into_bytes())));
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
    write(dir, name, &epub_zip(&refs))
}

fn nav(items: &str) -> String {
    xhtml(&format!(r#"<nav epub:type="toc" id="toc"><h1>Contents</h1><ol>{items}</ol></nav>"#))
}

fn read(path: &Path, opts: &IngestOptions) -> Book {
    read_inputs(&[path], opts).unwrap()
}

fn titles(book: &Book) -> Vec<&str> {
    book.chapters.iter().map(|c| c.title.as_str()).collect()
}

fn section_titles(book: &Book, chapter: usize) -> Vec<(&str, u8)> {
    book.chapters[chapter].sections.iter().map(|s| (s.title.as_str(), s.depth)).collect()
}

fn words(n: usize, word: &str) -> String {
    vec![word; n].join(" ")
}

#[test]
fn issue_10_anchors_in_one_file_split_it() {
    let dir = tempfile::tempdir().unwrap();
    let long_intro = words(1200, "prelude");
    let files = [
        (
            "nav.xhtml",
            nav(r##"<li><a href="a.xhtml">Opening</a></li>
                <li><a href="b.xhtml#syntax">Syntax</a></li><li><a href="b.xhtml#details">Syntax details</a></li>
                <li><a href="c.xhtml#late">Late start</a></li>"##),
        ),
        ("a.xhtml", xhtml("<h1>Opening</h1><p>First words.</p>")),
        (
            "b.xhtml",
            xhtml(
                r#"<p>Still the opening.</p><h2 id="syntax">Syntax</h2><p>About syntax.</p>
                <h2 id="details">Syntax details</h2><p>The details.</p>"#,
            ),
        ),
        (
            "c.xhtml",
            xhtml(&format!(r#"<h1>Interlude</h1><p>{long_intro}</p><h2 id="late">Late start</h2><p>Late.</p>"#)),
        ),
    ];
    let book = read(&epub(dir.path(), "anchors.epub", &files), &IngestOptions::default());
    // Text before b.xhtml's first anchor is short and joins the chapter before; c.xhtml's is long
    // and stands as its own chapter, titled by its heading.
    assert_eq!(titles(&book), ["Opening", "Syntax", "Syntax details", "Interlude", "Late start"]);
    let opening: Vec<&str> = book.chapters[0].blocks.iter().map(|b| b.text.as_str()).collect();
    assert_eq!(opening, ["Opening", "First words.", "Still the opening."]);
    assert_eq!(book.chapters[2].blocks[1].text, "The details.");
}

#[test]
fn issue_10_links_relative_to_the_wrong_folder_are_repaired() {
    let dir = tempfile::tempdir().unwrap();
    // The nav lives in OEBPS/nav/ but its links are written from OEBPS/ (the package folder), and
    // one points at a folder that does not exist, though its file name is unique.
    let files = [
        (
            "nav/toc.xhtml",
            nav(r#"<li><a href="text/one.xhtml">One</a></li><li><a href="text/two.xhtml">Two</a></li>
                <li><a href="../../elsewhere/three.xhtml">Three</a></li>"#),
        ),
        ("text/one.xhtml", xhtml("<h1>1</h1><p>First.</p>")),
        ("text/two.xhtml", xhtml("<h1>2</h1><p>Second.</p>")),
        ("text/three.xhtml", xhtml("<h1>3</h1><p>Third.</p>")),
    ];
    let book = read(&epub(dir.path(), "relative.epub", &files), &IngestOptions::default());
    assert_eq!(titles(&book), ["One", "Two", "Three"]);
    let w: Vec<String> = book.warnings.iter().map(ToString::to_string).collect();
    assert!(w.iter().any(|w| w.contains("3 table-of-contents links repaired")), "{w:?}");
}

#[test]
fn issue_10_a_toc_that_mostly_resolves_nowhere_gives_way_to_the_spine() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "nav.xhtml",
            nav(r#"<li><a href="one.xhtml">Book</a></li><li><a href="x/gone.xhtml">Gone</a></li>
                <li><a href="y/lost.xhtml">Lost</a></li>"#),
        ),
        ("one.xhtml", xhtml("<h1>First heading</h1><p>First.</p>")),
        ("two.xhtml", xhtml("<h1>Second heading</h1><p>Second.</p>")),
        ("three.xhtml", xhtml("<h1>Third heading</h1><p>Third.</p>")),
    ];
    let book = read(&epub(dir.path(), "broken.epub", &files), &IngestOptions::default());
    assert_eq!(titles(&book), ["First heading", "Second heading", "Third heading"]);
    let w: Vec<String> = book.warnings.iter().map(ToString::to_string).collect();
    assert!(w.iter().any(|w| w.contains("(1 of 3 links resolve), chapters taken from the spine")), "{w:?}");
}

fn nested_book(dir: &Path) -> PathBuf {
    // A cover, one wrapper entry (the book), two parts, chapters, and sections in the chapters.
    let toc = nav(r##"<li><a href="cover.xhtml">Cover</a></li><li><a href="title.xhtml">Toc Book</a><ol>
        <li><a href="p1.xhtml">Part One</a><ol>
            <li><a href="c1.xhtml">Chapter 1</a><ol><li><a href="c1.xhtml#s1">Section 1.1</a><ol>
                <li><a href="c1.xhtml#s1a">Point 1.1.a</a></li></ol></li></ol></li>
            <li><a href="c2.xhtml">Chapter 2</a></li></ol></li>
        <li><a href="p2.xhtml">Part Two</a><ol><li><a href="c3.xhtml">Chapter 3</a></li></ol></li>
    </ol></li>"##);
    let files = [
        ("nav.xhtml", toc),
        ("cover.xhtml", xhtml(r#"<img src="cover.jpg" alt="Cover"/>"#)),
        ("title.xhtml", xhtml("<h1>Toc Book</h1><p>By A. Writer.</p>")),
        ("p1.xhtml", xhtml("<h1>Part One</h1>")),
        (
            "c1.xhtml",
            xhtml(
                r#"<h2>Chapter 1</h2><p>One.</p><h3 id="s1">Section 1.1</h3><p>One one.</p>
                <h4 id="s1a">Point 1.1.a</h4><p>One one a.</p>"#,
            ),
        ),
        ("c2.xhtml", xhtml("<h2>Chapter 2</h2><p>Two.</p>")),
        ("p2.xhtml", xhtml("<h1>Part Two</h1><p>An introduction to the second part.</p>")),
        // Long enough that the whole book is not mistaken for a title page at `--toc-depth 1`.
        ("c3.xhtml", xhtml(&format!("<h2>Chapter 3</h2><p>Three.</p><p>{}</p>", words(150, "three")))),
    ];
    epub(dir, "nested.epub", &files)
}

#[test]
fn issue_10_a_lone_wrapper_entry_is_the_book_and_deeper_entries_are_sections() {
    let dir = tempfile::tempdir().unwrap();
    let path = nested_book(dir.path());
    let book = read(&path, &IngestOptions::default());
    // The wrapper's title page is front matter; "Part One" is only a heading, read before
    // chapter 1; Part Two has text of its own, so it is a chapter and chapter 3 its section.
    assert_eq!(titles(&book), ["Chapter 1", "Chapter 2", "Part Two"]);
    assert_eq!(book.chapters[0].blocks[0].text, "Part One");
    assert_eq!(section_titles(&book, 0), [("Section 1.1", 1), ("Point 1.1.a", 2)]);
    let s = &book.chapters[0].sections[0];
    assert_eq!(book.chapters[0].blocks[s.block].text, "Section 1.1");
    assert_eq!(section_titles(&book, 2), [("Chapter 3", 1)]);

    // Level 1 is the wrapper: the whole book as one chapter.
    let one = read(&path, &IngestOptions { toc_depth: Some(1), ..IngestOptions::default() });
    assert_eq!(titles(&one), ["Toc Book"]);
    assert_eq!(one.chapters[0].sections.first(), Some(&Section { title: "Part One".into(), block: 2, depth: 1 }));
    // Level 3: every chapter; the parts' own text stands before them.
    let three = read(&path, &IngestOptions { toc_depth: Some(3), ..IngestOptions::default() });
    assert_eq!(titles(&three), ["Chapter 1", "Chapter 2", "Part Two", "Chapter 3"]);
    // Level 4: sections are chapters too.
    let four = read(&path, &IngestOptions { toc_depth: Some(4), ..IngestOptions::default() });
    assert_eq!(titles(&four), ["Chapter 1", "Section 1.1", "Chapter 2", "Part Two", "Chapter 3"]);
    assert_eq!(section_titles(&four, 1), [("Point 1.1.a", 1)]);
}

#[test]
fn issue_27_a_title_page_entry_beside_a_lone_wrapper_does_not_hide_it() {
    // The shape of the docutils reStructuredText spec as an EPUB: a title page entry, then one
    // entry for the whole document, its own introduction, then its three main sections under
    // it. The title page is known by its label (the book's title) or by a licence notice.
    for (label, title_page) in [
        ("Toc Book", "<h1>Toc Book</h1><p>Author: David Goodger</p>"),
        ("Front", "<h1>Toc Book</h1><p>Copyright: This document has been placed in the public domain.</p>"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let toc = nav(&format!(
            r##"<li><a href="title.xhtml">{label}</a></li><li><a href="spec.xhtml">Markup Specification</a><ol>
                <li><a href="spec.xhtml#overview">Quick Syntax Overview</a></li>
                <li><a href="spec.xhtml#details">Syntax Details</a><ol>
                    <li><a href="spec.xhtml#whitespace">Whitespace</a></li>
                    <li><a href="spec.xhtml#blocks">Blocks</a></li></ol></li>
                <li><a href="spec.xhtml#elements">Body Elements</a></li>
            </ol></li>"##
        ));
        let spec = format!(
            r#"<h1>Markup Specification</h1><p>A detailed technical specification.</p><p>{}</p>
            <h2 id="overview">Quick Syntax Overview</h2><p>{}</p>
            <h2 id="details">Syntax Details</h2><p>Details follow.</p>
            <h3 id="whitespace">Whitespace</h3><p>{}</p><h3 id="blocks">Blocks</h3><p>{}</p>
            <h2 id="elements">Body Elements</h2><p>{}</p>"#,
            words(300, "introduction"),
            words(200, "overview"),
            words(200, "spaces"),
            words(200, "blocks"),
            words(200, "elements")
        );
        let files = [("nav.xhtml", toc), ("title.xhtml", xhtml(title_page)), ("spec.xhtml", xhtml(&spec))];
        let path = epub(dir.path(), "spec.epub", &files);
        let book = read(&path, &IngestOptions::default());
        assert_eq!(titles(&book), ["Quick Syntax Overview", "Syntax Details", "Body Elements"], "{label}");
        assert_eq!(section_titles(&book, 1), [("Whitespace", 1), ("Blocks", 1)], "{label}");
        // The wrapper's own text is front matter: it does not make the title page a chapter.
        assert!(book.chapters.iter().flat_map(|c| &c.blocks).all(|b| !b.text.contains("introduction")), "{label}");
    }
}

/// A sentence of varied words, so the G2P sees ordinary text.
const SENTENCE: &str = "The river ran quietly past the old mill while the miller counted his sacks of grain.";

fn paragraphs(n: usize) -> String {
    (0..n).map(|_| format!("<p>{}</p>", [SENTENCE; 6].join(" "))).collect()
}

fn plan_titles(path: &Path, max_chapter_minutes: u32) -> Vec<(String, u64)> {
    let settings = Settings { max_chapter_minutes, ..Settings::default() };
    let read = narrate::read(&[path.to_path_buf()], &settings).unwrap();
    let plan = narrate::plan(&read.book, &settings).unwrap();
    plan.summaries(settings.speed).into_iter().map(|s| (s.title, s.estimated_ms)).collect()
}

#[test]
fn issue_10_a_three_hour_file_is_split_at_its_headings_or_between_paragraphs() {
    let dir = tempfile::tempdir().unwrap();
    // About 3 hours: 6 parts of 30 minutes under their own headings (97 words a paragraph,
    // roughly 35 s of audio).
    let body: String = (1..=6).map(|k| format!("<h2>Movement {k}</h2>{}", paragraphs(62))).collect();
    let files = [
        ("nav.xhtml", nav(r#"<li><a href="all.xhtml">Everything</a></li>"#)),
        ("all.xhtml", xhtml(&format!("<h1>Everything</h1>{body}"))),
    ];
    let path = epub(dir.path(), "long.epub", &files);
    let whole = plan_titles(&path, 0);
    assert_eq!(whole.len(), 1);
    assert!(whole[0].1 > 150 * 60_000, "{} ms", whole[0].1);
    let parts = plan_titles(&path, 60);
    assert!(parts.len() >= 3, "{parts:?}");
    assert!(parts.iter().all(|(_, ms)| *ms <= 60 * 60_000), "{parts:?}");
    assert_eq!(parts[0].0, "Everything");
    assert!(parts[1..].iter().all(|(t, _)| t.starts_with("Movement ")), "{parts:?}");

    let files =
        [("nav.xhtml", nav(r#"<li><a href="all.xhtml">Plain</a></li>"#)), ("all.xhtml", xhtml(&paragraphs(6 * 62)))];
    let path = epub(dir.path(), "plain.epub", &files);
    let parts = plan_titles(&path, 60);
    let n = parts.len();
    assert!(n >= 3, "{parts:?}");
    assert!(parts.iter().all(|(_, ms)| *ms <= 60 * 60_000), "{parts:?}");
    assert_eq!(parts[0].0, format!("Plain (1/{n})"));
    assert_eq!(parts[n - 1].0, format!("Plain ({n}/{n})"));
}
