//! Chapter rules on small inputs built at test time (no corpus needed): EPUB TOC handling,
//! front matter, spine oddities, notes, directory order and text encodings.
#![allow(clippy::unwrap_used)]

mod ingest_util;

use std::path::Path;

use audiobook::ingest::{BlockKind, Book, IngestOptions, NotesMode, read_inputs};
use ingest_util::{CONTAINER, epub_zip, opf, write, xhtml};

fn titles(book: &Book) -> Vec<&str> {
    book.chapters.iter().map(|c| c.title.as_str()).collect()
}

fn texts(book: &Book, chapter: usize) -> Vec<&str> {
    book.chapters[chapter].blocks.iter().map(|b| b.text.as_str()).collect()
}

fn nav(items: &str) -> String {
    xhtml(&format!(r#"<nav epub:type="toc" id="toc"><h1>Contents</h1><ol>{items}</ol></nav>"#))
}

fn build(
    dir: &Path,
    name: &str,
    files: &[(&str, String)],
    spine: &[&str],
    attrs: &[(&str, &str)],
) -> std::path::PathBuf {
    let package = opf(spine, Some("nav.xhtml"), attrs);
    let mut entries: Vec<(String, Vec<u8>)> =
        vec![("META-INF/container.xml".into(), CONTAINER.into()), ("OEBPS/content.opf".into(), package.into_bytes())];
    entries.extend(files.iter().map(|(n, c)| (format!("OEBPS/{n}"), c.clone().into_bytes())));
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
    write(dir, name, &epub_zip(&refs))
}

#[test]
fn toc_fragments_parts_front_matter_and_notes() {
    let dir = tempfile::tempdir().unwrap();
    let toc = nav(r##"
        <li><a href="cover.xhtml">Cover</a></li>
        <li><a href="title.xhtml">Title Page</a></li>
        <li><a href="part1.xhtml">Part One</a><ol>
            <li><a href="body.xhtml#c1">The First</a></li>
            <li><a href="body.xhtml#c2">The Second</a><ol><li><a href="body.xhtml#c2s">A section</a></li></ol></li>
        </ol></li>
        <li><span>Appendices</span><ol><li><a href="body.xhtml#c3">The Third</a></li></ol></li>
        <li><a href="copyright.xhtml">Copyright</a></li>"##);
    let files = [
        ("nav.xhtml", toc),
        ("cover.xhtml", xhtml(r#"<img src="c.jpg" alt="Cover"/>"#)),
        ("title.xhtml", xhtml(r#"<section epub:type="titlepage"><h1>Test Book</h1><p>A. Writer</p></section>"#)),
        ("part1.xhtml", xhtml("<h1>Part One</h1>")),
        (
            "body.xhtml",
            xhtml(
                r##"<section id="c1"><h2>The First</h2><p>One begins<a epub:type="noteref" href="#n1">1</a>.</p>
                <aside epub:type="footnote" id="n1"><p>The note.</p></aside></section>
                <section id="c2"><h2>The Second</h2><p>Two begins.</p><section id="c2s"><h3>A section</h3><p>Still two.</p></section></section>
                <section id="c3"><h2>The Third</h2><p>Three begins.</p></section>"##,
            ),
        ),
        ("extra.xhtml", xhtml("<p>Unlisted file joins the third.</p>")),
        ("copyright.xhtml", xhtml("<p>Copyright 2024. All rights reserved.</p>")),
    ];
    let spine =
        ["cover.xhtml", "title.xhtml", "nav.xhtml", "part1.xhtml", "body.xhtml", "extra.xhtml", "copyright.xhtml"];
    let path = build(dir.path(), "book.epub", &files, &spine, &[]);

    let book = read_inputs(&[&path], &IngestOptions::default()).unwrap();
    assert_eq!(titles(&book), ["The First", "The Second", "The Third"]);
    assert_eq!(texts(&book, 0), ["Part One", "The First", "One begins."]);
    assert_eq!(texts(&book, 1), ["The Second", "Two begins.", "A section", "Still two."]);
    assert_eq!(texts(&book, 2), ["The Third", "Three begins.", "Unlisted file joins the third."]);
    assert_eq!(book.meta.title, "Test Book");
    assert_eq!(book.meta.language.as_deref(), Some("en"));

    let opts = IngestOptions { notes: NotesMode::End, keep_front_matter: true, ..IngestOptions::default() };
    let book = read_inputs(&[&path], &opts).unwrap();
    let t = titles(&book);
    assert!(t.contains(&"Title Page") && t.contains(&"Copyright"), "{t:?}");
    let first = book.chapters.iter().find(|c| c.title == "The First").unwrap();
    let last = first.blocks.last().unwrap();
    assert_eq!((last.kind, last.text.as_str()), (BlockKind::Note, "The note."));
}

#[test]
fn nonlinear_duplicates_and_broken_toc() {
    let dir = tempfile::tempdir().unwrap();
    let toc = nav(r#"<li><a href="missing1.xhtml">Gone</a></li><li><a href="missing2.xhtml#x">Also gone</a></li>"#);
    let files = [
        ("nav.xhtml", toc),
        ("a.xhtml", xhtml("<h1>Alpha</h1><p>First text.</p>")),
        ("b.xhtml", xhtml("<h1>Beta</h1><p>Second text.</p>")),
        ("aside.xhtml", xhtml("<h1>Aside</h1><p>Non-linear.</p>")),
    ];
    let spine = ["a.xhtml", "aside.xhtml", "b.xhtml", "a.xhtml"];
    let attrs = [("aside.xhtml", r#"linear="no""#)];
    let path = build(dir.path(), "broken-toc.epub", &files, &spine, &attrs);

    let book = read_inputs(&[&path], &IngestOptions::default()).unwrap();
    // The TOC resolves nowhere: chapters come from the spine and their headings; a.xhtml is read once.
    assert_eq!(titles(&book), ["Alpha", "Beta"]);
    let w: Vec<String> = book.warnings.iter().map(ToString::to_string).collect();
    assert!(w.iter().any(|w| w.contains("broken-toc.epub") && w.contains("2 table-of-contents links")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("chapters taken from the spine")), "{w:?}");

    let opts = IngestOptions { read_nonlinear: true, ..IngestOptions::default() };
    let book = read_inputs(&[&path], &opts).unwrap();
    assert_eq!(titles(&book), ["Alpha", "Aside", "Beta"]);
}

#[test]
fn malformed_nav_falls_back_to_the_spine() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("nav.xhtml", "<html><body><nav epub:type=\"toc\"><ol><li><a href=\"a.xhtml\">A<li>oops</nav".to_string()),
        ("a.xhtml", xhtml("<h1>Alpha</h1><p>First text.</p>")),
    ];
    let path = build(dir.path(), "badnav.epub", &files, &["a.xhtml"], &[]);
    match read_inputs(&[&path], &IngestOptions::default()) {
        Ok(book) => assert_eq!(book.chapters[0].blocks.last().unwrap().text, "First text."),
        Err(e) => assert!(e.to_string().contains("badnav.epub"), "{e}"),
    }
}

#[test]
fn directory_order_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "10-end.md", b"# End\n\nLast.");
    write(d, "2-intro.md", b"# Intro\n\nSecond.");
    write(d, "README.md", b"# Readme\n\nFirst.");
    write(d, "notes.txt", b"Plain notes.");
    write(d, "LICENSE", b"MIT License");
    for skipped in [".git", "node_modules", "target", ".hidden"] {
        std::fs::create_dir_all(d.join(skipped)).unwrap();
        write(&d.join(skipped), "x.md", b"# Skipped\n\nNo.");
    }
    std::fs::create_dir_all(d.join("sub")).unwrap();
    write(&d.join("sub"), "index.md", b"# Sub index\n\nSub first.");
    write(&d.join("sub"), "a.md", b"# Sub a\n\nSub second.");
    let book = read_inputs(&[d], &IngestOptions::default()).unwrap();
    assert_eq!(titles(&book), ["Readme", "Intro", "End", "notes", "Sub index", "Sub a"]);
    assert_eq!(book.meta.language, None);
}

#[test]
fn text_encodings_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = "CHAPTER I.\r\nThe Start\r\n\r\nCafé au lait,\r\nnaïve.\r\n";
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend(text.as_bytes());
    let latin1: Vec<u8> = text.chars().map(|c| c as u8).collect();
    for (name, bytes) in [("be.txt", be), ("le.txt", le), ("bom.txt", bom8), ("latin1.txt", latin1)] {
        let p = write(dir.path(), name, &bytes);
        let book = read_inputs(&[&p], &IngestOptions::default()).unwrap();
        assert_eq!(titles(&book), ["CHAPTER I. The Start"], "{name}");
        assert_eq!(texts(&book, 0)[1], "Café au lait, naïve.", "{name}");
        assert_eq!(book.warnings.len(), usize::from(name == "latin1.txt"), "{name}: {:?}", book.warnings);
    }
}

#[test]
fn malformed_ncx_falls_back_to_the_spine() {
    let dir = tempfile::tempdir().unwrap();
    let package = r#"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="uid">x</dc:identifier><dc:title>Old</dc:title><dc:language>en</dc:language></metadata>
  <manifest>
    <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
    <item id="a" href="a.xhtml" media-type="application/xhtml+xml"/>
    <item id="b" href="b.xhtml" media-type="application/xhtml+xml"/>
  </manifest>
  <spine toc="ncx"><itemref idref="a"/><itemref idref="b"/></spine>
</package>"#;
    let ncx = r#"<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap><navPoint id="p1" playOrder="1"><navLabel><text>A</text></navLabel><content src="a.xhtml"/></navPoint><navPoint <<< broken"#;
    let a = xhtml("<h1>Alpha</h1><p>First text.</p>");
    let b = xhtml("<h1>Beta</h1><p>Second text.</p>");
    let path = write(
        dir.path(),
        "badncx.epub",
        &epub_zip(&[
            ("META-INF/container.xml", CONTAINER.as_bytes()),
            ("OEBPS/content.opf", package.as_bytes()),
            ("OEBPS/toc.ncx", ncx.as_bytes()),
            ("OEBPS/a.xhtml", a.as_bytes()),
            ("OEBPS/b.xhtml", b.as_bytes()),
        ]),
    );
    let book = read_inputs(&[&path], &IngestOptions::default()).unwrap();
    assert_eq!(book.chapters.last().unwrap().blocks.last().unwrap().text, "Second text.");
    assert!(book.chapters.iter().any(|c| c.title == "Beta"), "{:?}", titles(&book));
    assert!(book.warnings.iter().any(|w| w.message.starts_with("table of contents unreadable")), "{:?}", book.warnings);
}
