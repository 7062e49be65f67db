//! Hostile and broken inputs (issue 4, item 9): each is built in a temp dir at test time and must
//! give a one-line error naming the file, or a book with warnings, quickly and without panicking.
#![allow(clippy::unwrap_used)]

mod ingest_util;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use audiobook::ingest::{Format, IngestError, IngestOptions, Limits, read_bytes, read_inputs};
use ingest_util::{CONTAINER, epub_zip, simple_opf, write};

fn read_err(path: &Path, opts: &IngestOptions) -> IngestError {
    match read_inputs(&[path], opts) {
        Ok(b) => panic!("{} read as {} chapters", path.display(), b.chapters.len()),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error: {msg}");
            assert!(
                msg.contains(&path.display().to_string()) || path == Path::new("-"),
                "error does not name the file: {msg}"
            );
            e
        }
    }
}

#[test]
fn corrupt_and_truncated_zip() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "junk.epub", b"PK\x03\x04 this is not really a zip archive at all");
    let e = read_err(&junk, &IngestOptions::default());
    assert!(e.to_string().contains("not a readable zip archive"), "{e}");

    let good = epub_zip(&[
        ("META-INF/container.xml", CONTAINER.as_bytes()),
        ("OEBPS/content.opf", simple_opf(&["c1.xhtml"]).as_bytes()),
        ("OEBPS/c1.xhtml", b"<html><body><p>Hello there.</p></body></html>"),
    ]);
    let cut = write(dir.path(), "cut.epub", &good[..good.len() / 2]);
    read_err(&cut, &IngestOptions::default());
}

#[test]
fn epub_without_container_or_spine() {
    let dir = tempfile::tempdir().unwrap();
    let no_container = write(dir.path(), "nocontainer.epub", &epub_zip(&[("OEBPS/content.opf", b"<package/>")]));
    let e = read_err(&no_container, &IngestOptions::default());
    assert!(e.to_string().ends_with("missing META-INF/container.xml"), "{e}");

    let opf = r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title></metadata><manifest><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/></manifest></package>"#;
    let no_spine = write(
        dir.path(),
        "nospine.epub",
        &epub_zip(&[("META-INF/container.xml", CONTAINER.as_bytes()), ("OEBPS/content.opf", opf.as_bytes())]),
    );
    let e = read_err(&no_spine, &IngestOptions::default());
    assert!(e.to_string().contains("spine"), "{e}");

    let empty_spine = opf.replace("</manifest>", "</manifest><spine></spine>");
    let empty = write(
        dir.path(),
        "emptyspine.epub",
        &epub_zip(&[("META-INF/container.xml", CONTAINER.as_bytes()), ("OEBPS/content.opf", empty_spine.as_bytes())]),
    );
    let e = read_err(&empty, &IngestOptions::default());
    assert!(e.to_string().contains("spine"), "{e}");
}

const LAUGHS: &str = r#"<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"#;

#[test]
fn billion_laughs_is_never_expanded() {
    let dir = tempfile::tempdir().unwrap();
    let xhtml = format!("<?xml version=\"1.0\"?>{LAUGHS}<html><body><p>Start &lol9; end.</p></body></html>");
    let opf = simple_opf(&["c1.xhtml"])
        .replacen("?>", &format!("?>{LAUGHS}"), 1)
        .replace("<dc:title>Test Book", "<dc:title>&lol9;");
    let path = write(
        dir.path(),
        "laughs.epub",
        &epub_zip(&[
            ("META-INF/container.xml", CONTAINER.as_bytes()),
            ("OEBPS/content.opf", opf.as_bytes()),
            ("OEBPS/c1.xhtml", xhtml.as_bytes()),
        ]),
    );
    let t = Instant::now();
    let book = read_inputs(&[&path], &IngestOptions::default()).unwrap();
    // Never expanded, and never read aloud or made the title as written either.
    assert_eq!(book.meta.title, "laughs", "the file's name stands in for an undefined title");
    let text: Vec<&str> = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str()).collect();
    assert_eq!(text, ["Start end."]);
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn zip_bomb_entries_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let opts = IngestOptions {
        limits: Limits { max_entry_bytes: 1 << 20, max_total_bytes: 3 << 20, ..Limits::default() },
        ..IngestOptions::default()
    };
    let zeros = vec![0u8; 2 << 20];
    let bomb = write(
        dir.path(),
        "bomb.epub",
        &epub_zip(&[
            ("META-INF/container.xml", CONTAINER.as_bytes()),
            ("OEBPS/content.opf", simple_opf(&["c1.xhtml"]).as_bytes()),
            ("OEBPS/c1.xhtml", &zeros),
        ]),
    );
    assert!(std::fs::metadata(&bomb).unwrap().len() < 64 << 10, "the test bomb should be small on disk");
    let e = read_err(&bomb, &opts);
    assert!(matches!(e, IngestError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("OEBPS/c1.xhtml"), "{e}");

    // Many documents, each under the cap, together over the total.
    let chunk = vec![b' '; 900 << 10];
    let names: Vec<String> = (0..5).map(|i| format!("OEBPS/pad{i}.xhtml")).collect();
    let mut files: Vec<(&str, &[u8])> = vec![
        ("META-INF/container.xml", CONTAINER.as_bytes()),
        ("OEBPS/c1.xhtml", b"<html><body><p>Hi.</p></body></html>"),
    ];
    files.extend(names.iter().map(|n| (n.as_str(), chunk.as_slice())));
    let total = write(dir.path(), "total.epub", &epub_zip(&files));
    let e = read_err(&total, &opts);
    assert!(e.to_string().contains("in total"), "{e}");

    // Images and fonts are never inflated: a bomb among them costs nothing.
    let images: Vec<String> = (0..5).map(|i| format!("OEBPS/pad{i}.png")).collect();
    let opf = simple_opf(&["c1.xhtml"]);
    let mut files: Vec<(&str, &[u8])> = vec![
        ("META-INF/container.xml", CONTAINER.as_bytes()),
        ("OEBPS/content.opf", opf.as_bytes()),
        ("OEBPS/c1.xhtml", b"<html><body><p>Hi.</p></body></html>"),
    ];
    files.extend(images.iter().map(|n| (n.as_str(), zeros.as_slice())));
    let book = read_inputs(&[write(dir.path(), "images.epub", &epub_zip(&files))], &opts).unwrap();
    assert_eq!(book.chapters.len(), 1);
}

#[test]
fn default_limits_stop_a_large_bomb_quickly() {
    // 80 MiB of zeros deflate to about 80 KiB: over the default 64 MiB per-entry cap.
    let dir = tempfile::tempdir().unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(b"application/epub+zip").unwrap();
    zip.start_file("META-INF/container.xml", deflated).unwrap();
    zip.write_all(CONTAINER.as_bytes()).unwrap();
    zip.start_file("OEBPS/c1.xhtml", deflated).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..80 {
        zip.write_all(&block).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    let path = write(dir.path(), "big-bomb.epub", &bytes);
    let t = Instant::now();
    let e = read_err(&path, &IngestOptions::default());
    assert!(matches!(e, IngestError::TooLarge { limit_mib: 64, .. }), "{e}");
    assert!(t.elapsed() < Duration::from_secs(20));
}

#[test]
fn binary_empty_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00".to_vec();
    elf.extend((0..4096u32).map(|i| (i % 251) as u8));
    let bin = write(dir.path(), "program.txt", &elf);
    assert!(matches!(read_err(&bin, &IngestOptions::default()), IngestError::Binary { .. }));
    let md_bin = write(dir.path(), "image.md", &[0x89, b'P', b'N', b'G', 0, 0, 0, 13, 1, 2, 3]);
    assert!(matches!(read_err(&md_bin, &IngestOptions::default()), IngestError::Binary { .. }));

    let empty = write(dir.path(), "empty.txt", b"");
    assert!(matches!(read_err(&empty, &IngestOptions::default()), IngestError::Empty { .. }));
    let blank = write(dir.path(), "blank.md", b"  \r\n\n\t\n");
    assert!(matches!(read_err(&blank, &IngestOptions::default()), IngestError::Empty { .. }));
    let empty_epub = write(dir.path(), "empty.epub", b"");
    assert!(matches!(read_err(&empty_epub, &IngestOptions::default()), IngestError::Empty { .. }));

    let missing = dir.path().join("nope.txt");
    let e = read_err(&missing, &IngestOptions::default());
    assert!(e.to_string().starts_with("cannot read"), "{e}");

    let unknown = write(dir.path(), "data.bin", &[0u8, 1, 2, 3, 0, 0]);
    read_err(&unknown, &IngestOptions::default());
}

#[test]
fn folder_with_nothing_readable() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "LICENSE", b"MIT License\n\nPermission is hereby granted...");
    write(dir.path(), "logo.png", &[0x89, b'P', b'N', b'G']);
    write(dir.path(), "empty.md", b"");
    std::fs::create_dir_all(dir.path().join("target")).unwrap();
    write(&dir.path().join("target"), "build.md", b"# Built\n\nGenerated text.");
    let e = read_err(dir.path(), &IngestOptions::default());
    assert!(matches!(e, IngestError::NothingReadable { files: 1, .. }), "{e}");
}

#[test]
fn bad_file_in_a_folder_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.md", b"Some prose here.");
    write(dir.path(), "bad.txt", b"\x00\x01\x02binary");
    let book = read_inputs(&[dir.path()], &IngestOptions::default()).unwrap();
    assert_eq!(book.chapters.len(), 1);
    assert!(
        book.warnings.iter().any(|w| w.file.ends_with("bad.txt") && w.message.contains("binary")),
        "{:?}",
        book.warnings
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_terminate() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    write(&sub, "a.md", b"Text in a.");
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
    let t = Instant::now();
    let book = read_inputs(&[dir.path()], &IngestOptions::default()).unwrap();
    assert_eq!(book.chapters.len(), 1);
    assert!(book.warnings.iter().any(|w| w.message.contains("loop")), "{:?}", book.warnings);
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn links_out_of_a_folder_are_skipped_and_a_file_reached_twice_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", b"Private words that must never be narrated.");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    write(&tree, "a.md", b"# A\n\nThe only chapter.");
    std::os::unix::fs::symlink(outside.path(), tree.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), tree.join("secret.txt")).unwrap();
    std::os::unix::fs::symlink(tree.join("a.md"), tree.join("b.md")).unwrap();
    let book = read_inputs(&[&tree], &IngestOptions::default()).unwrap();
    assert_eq!(book.chapters.len(), 1, "{:?}", book.chapters);
    let outside_links = book.warnings.iter().filter(|w| w.message.contains("outside")).count();
    assert_eq!(outside_links, 2, "{:?}", book.warnings);
    assert!(book.warnings.iter().any(|w| w.file.ends_with("b.md") && w.message.contains("already read")));
}

#[test]
fn a_fifo_is_read_as_written_and_one_nobody_writes_to_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("book.txt");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let t = Instant::now();
    let e = read_err(&fifo, &IngestOptions::default());
    assert!(matches!(e, IngestError::IdleFifo { .. }), "{e}");
    assert!(t.elapsed() < Duration::from_secs(5));

    // A writer that is there first (as with a shell's `<(cat book.txt)`) is read until it closes.
    // Opened read-write, Linux's FIFO open never waits, so the test has no race.
    let mut writer = std::fs::OpenOptions::new().read(true).write(true).open(&fifo).unwrap();
    writer.write_all("A line of the book. ".repeat(100).as_bytes()).unwrap();
    let closer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        drop(writer);
    });
    let book = read_inputs(&[&fifo], &IngestOptions::default()).unwrap();
    closer.join().unwrap();
    let words: usize = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.split_whitespace().count()).sum();
    assert_eq!(words, 500);
}

#[test]
fn a_device_is_refused_at_once() {
    let e = read_err(Path::new("/dev/zero"), &IngestOptions::default());
    assert!(matches!(e, IngestError::NotAFile { .. }), "{e}");
}

#[test]
fn malformed_markup_and_control_characters_recover_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let xhtml = "<html><body><h1>One</h1><p>Fish &amp; chips \u{97} with <b>bold</i> text &nbsp;and &bogus; stuff.</p><p>Unclosed<p>Next\u{1} one</div></body>";
    let path = write(
        dir.path(),
        "broken.epub",
        &epub_zip(&[
            ("META-INF/container.xml", CONTAINER.as_bytes()),
            ("OEBPS/content.opf", simple_opf(&["c1.xhtml"]).as_bytes()),
            ("OEBPS/c1.xhtml", xhtml.as_bytes()),
        ]),
    );
    let book = read_inputs(&[&path], &IngestOptions::default()).unwrap();
    let texts: Vec<&str> = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str()).collect();
    assert_eq!(texts[0], "One");
    assert_eq!(texts[1], "Fish & chips — with bold text and stuff.", "an undefined entity is not read");
    assert_eq!(&texts[2..], ["Unclosed", "Next one"]);
    let warnings: Vec<String> = book.warnings.iter().map(ToString::to_string).collect();
    assert!(warnings.iter().any(|w| w.contains("broken.epub") && w.contains("markup")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("control characters")), "{warnings:?}");
}

#[test]
fn deep_nesting_in_an_epub_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let xhtml =
        format!("<html><body>{}<p>Deep.</p>{}</body></html>", "<div>".repeat(200_000), "</div>".repeat(200_000));
    let path = write(
        dir.path(),
        "deep.epub",
        &epub_zip(&[
            ("META-INF/container.xml", CONTAINER.as_bytes()),
            ("OEBPS/content.opf", simple_opf(&["c1.xhtml"]).as_bytes()),
            ("OEBPS/c1.xhtml", xhtml.as_bytes()),
        ]),
    );
    let book = read_inputs(&[&path], &IngestOptions::default()).unwrap();
    assert_eq!(book.chapters[0].blocks[0].text, "Deep.");
}

#[test]
fn stdin_style_bytes_are_sniffed() {
    let epub = epub_zip(&[
        ("META-INF/container.xml", CONTAINER.as_bytes()),
        ("OEBPS/content.opf", simple_opf(&["c1.xhtml"]).as_bytes()),
        ("OEBPS/c1.xhtml", b"<html><body><h1>Only</h1><p>From a pipe.</p></body></html>"),
    ]);
    let book = read_bytes(Path::new("-"), epub, None, &IngestOptions::default()).unwrap();
    assert_eq!(book.chapters[0].blocks[1].text, "From a pipe.");
    let md =
        read_bytes(Path::new("-"), b"# Title\n\nSee [docs](https://x.org).".to_vec(), None, &IngestOptions::default())
            .unwrap();
    assert_eq!(md.chapters[0].title, "Title");
    assert_eq!(md.chapters[0].blocks[1].text, "See docs.");
    let txt =
        read_bytes(Path::new("-"), b"plain words\nwrapped".to_vec(), Some(Format::Text), &IngestOptions::default())
            .unwrap();
    assert_eq!(txt.chapters[0].blocks[0].text, "plain words wrapped");
    assert!(read_bytes(Path::new("-"), Vec::new(), None, &IngestOptions::default()).is_err());
}

#[test]
fn a_package_in_utf16_without_a_byte_order_mark_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let opf: Vec<u8> = simple_opf(&["c1.xhtml"]).encode_utf16().flat_map(u16::to_le_bytes).collect();
    let path = write(
        dir.path(),
        "sixteen.epub",
        &epub_zip(&[
            ("META-INF/container.xml", CONTAINER.as_bytes()),
            ("OEBPS/content.opf", &opf),
            ("OEBPS/c1.xhtml", b"<html><body><p>Hello there.</p></body></html>"),
        ]),
    );
    let e = read_err(&path, &IngestOptions::default());
    assert!(e.to_string().contains("OEBPS/content.opf is UTF-16 without the byte-order mark"), "{e}");
}
