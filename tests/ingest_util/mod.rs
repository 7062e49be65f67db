//! Builders for the EPUBs and files the ingest tests make at test time.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

pub const CONTAINER: &str = r#"<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"#;

/// An EPUB 3 package listing `files` (under OEBPS/) in its spine, with an optional nav document.
pub fn opf(files: &[&str], nav: Option<&str>, extra_spine_attrs: &[(&str, &str)]) -> String {
    let mut manifest = String::new();
    let mut spine = String::new();
    if let Some(nav) = nav {
        manifest
            .push_str(&format!(r#"<item id="nav" href="{nav}" media-type="application/xhtml+xml" properties="nav"/>"#));
    }
    for (i, f) in files.iter().enumerate() {
        let id = format!("item{i}");
        if !manifest.contains(&format!("href=\"{f}\"")) {
            manifest.push_str(&format!(r#"<item id="{id}" href="{f}" media-type="application/xhtml+xml"/>"#));
        }
        let idref = if Some(*f) == nav {
            "nav".to_string()
        } else {
            let n = files.iter().position(|g| g == f).unwrap();
            format!("item{n}")
        };
        let attrs = extra_spine_attrs.iter().find(|(name, _)| name == f).map_or("", |(_, a)| a);
        spine.push_str(&format!(r#"<itemref idref="{idref}" {attrs}/>"#));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">urn:uuid:test</dc:identifier><dc:title>Test Book</dc:title>
    <dc:creator>A. Writer</dc:creator><dc:language>en</dc:language>
  </metadata>
  <manifest>{manifest}</manifest>
  <spine>{spine}</spine>
</package>"#
    )
}

pub fn simple_opf(files: &[&str]) -> String {
    opf(files, None, &[])
}

/// A zip laid out per OCF: `mimetype` first and stored, the rest deflated.
pub fn epub_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/epub+zip").unwrap();
    for (name, bytes) in files {
        zip.start_file(*name, deflated).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub fn xhtml(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>x</title></head><body>{body}</body></html>"#
    )
}
