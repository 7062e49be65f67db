//! `book.epub`: a read-along EPUB 3, the book's text highlighted sentence by sentence as the
//! narration plays (EPUB 3 Media Overlays), from the exact timings of the sidecars.
//!
//! For an EPUB 3 input it is a copy of that book: each narrated XHTML file gets a `<span id>`
//! per sentence (`markup.rs`) and a link to a small style sheet for the highlight, each gets a
//! SMIL overlay pointing at those ids with clip times into the chapter MP3s, and the package
//! gains the overlays, the audio, their durations and `media:active-class`. Everything else
//! (styles, images, navigation, other files) is copied as it was. For Markdown, text and EPUB 2
//! inputs (whose XHTML 1.1 an EPUB 3 package may not carry) it is a plain EPUB 3 of the spoken
//! text with the same overlays. Each sentence's id is written back into its chapter's sidecar.

mod markup;
mod package;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{BookAudio, ExportError, Written, subtitles::read_timings};
use crate::assemble::sidecar::ChapterTimings;
use crate::ingest::text::decode_document;
use markup::Target;

/// The file's name in the output folder.
pub const FILE: &str = "book.epub";
/// What the read-along book is made with (part of the output key).
pub const SETTINGS: &str = "epub3 media overlays v1: sentence spans, mp3 audio";
/// The class reading systems put on the sentence being read.
const ACTIVE_CLASS: &str = "-epub-media-overlay-active";
/// Where the added files go, beside the package document.
const FOLDER: &str = "readalong";

/// The EPUB a book was read from: the read-along book is a copy of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceEpub {
    #[serde(skip)]
    pub path: PathBuf,
    pub sha256: String,
}

/// One `<par>`: an element of a content document and the stretch of a chapter's audio that
/// reads it.
#[derive(Debug, Clone, PartialEq)]
struct Par {
    /// Zip path of the content document, and the element's id.
    doc: String,
    id: String,
    chapter: usize,
    begin_ms: u64,
    end_ms: u64,
}

/// A content document with its spans and its overlay.
struct Overlay {
    doc: String,
    xhtml: String,
    pars: Vec<Par>,
}

/// Why the read-along book could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReadAlongProblem {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: not a zip archive ({source})", path.display())]
    NotZip { path: PathBuf, source: zip::result::ZipError },
    #[error("{entry}: {source}")]
    Entry { entry: String, source: zip::result::ZipError },
    #[error("META-INF/container.xml names no package document")]
    NoPackage,
    #[error("the book has media overlays already")]
    HasOverlays,
    #[error("the package document has no <{0}>")]
    NoElement(&'static str),
    #[error("<{0}> is not closed")]
    Unclosed(&'static str),
    #[error("{0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("{0}")]
    Write(#[from] std::io::Error),
    #[error("a timing sidecar: {0}")]
    Sidecar(serde_json::Error),
}

/// Writes `book.epub` (the chapter MP3s must be there already).
pub fn write(book: &BookAudio, written: &mut dyn FnMut(Written)) -> Result<(), ExportError> {
    let mut timings = Vec::with_capacity(book.chapters.len());
    for chapter in &book.chapters {
        timings.push(read_timings(&book.dir.join(&chapter.timings))?);
    }
    let target = book.dir.join(FILE);
    let fail = |problem: ReadAlongProblem| ExportError::ReadAlong { path: target.clone(), problem };
    let source = match &book.source_epub {
        Some(source) => Some(Source::open(&source.path).map_err(fail)?),
        None => None,
    };
    let mut epub = match source {
        Some(source) if source.is_epub3() => augment(book, source, &mut timings).map_err(fail)?,
        _ => package::plain(book, &mut timings).map_err(fail)?,
    };
    for chapter in &book.chapters {
        epub.files
            .push((epub.audio_path(&chapter.sibling("mp3")), Content::File(book.dir.join(chapter.sibling("mp3")))));
    }
    epub.write_zip(&target).map_err(fail)?;
    // Only once the book is there do the sidecars name its ids.
    for (chapter, t) in book.chapters.iter().zip(&timings) {
        let path = book.dir.join(&chapter.timings);
        let json = serde_json::to_vec_pretty(t).map_err(|e| fail(ReadAlongProblem::Sidecar(e)))?;
        crate::atomic::write(&path, &json).map_err(|source| ExportError::Io { path, source })?;
    }
    let duration_ms = timings.iter().map(|t| t.duration_ms).sum();
    written(Written { format: super::OutputFormat::Epub, file: FILE.to_string(), duration_ms });
    Ok(())
}

/// The input EPUB, open.
struct Source {
    zip: zip::ZipArchive<std::fs::File>,
    /// Zip path of the package document, and its text.
    opf_path: String,
    opf: String,
}

impl Source {
    fn open(path: &Path) -> Result<Self, ReadAlongProblem> {
        let file =
            std::fs::File::open(path).map_err(|source| ReadAlongProblem::Read { path: path.to_path_buf(), source })?;
        let mut zip = zip::ZipArchive::new(file)
            .map_err(|source| ReadAlongProblem::NotZip { path: path.to_path_buf(), source })?;
        let container = read_entry(&mut zip, "META-INF/container.xml")?;
        let opf_path = package::rootfile(&container).ok_or(ReadAlongProblem::NoPackage)?;
        let opf = read_entry(&mut zip, &opf_path)?;
        Ok(Self { zip, opf_path, opf })
    }

    fn is_epub3(&self) -> bool {
        package::version(&self.opf).is_some_and(|v| v.starts_with('3'))
    }
}

fn read_entry<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>, name: &str) -> Result<String, ReadAlongProblem> {
    let entry = |source| ReadAlongProblem::Entry { entry: name.to_string(), source };
    let mut file = zip.by_name(name).map_err(entry)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| entry(e.into()))?;
    Ok(decode_document(&bytes))
}

/// What goes into the zip under a name.
enum Content {
    Text(String),
    File(PathBuf),
}

/// A read-along EPUB before it is zipped.
struct Epub {
    /// The input, whose other entries are copied as they are.
    source: Option<Source>,
    /// The package document's zip path.
    opf_path: String,
    /// New or changed entries, by zip path.
    files: Vec<(String, Content)>,
}

impl Epub {
    fn folder(&self) -> String {
        join(&parent(&self.opf_path), FOLDER)
    }

    fn audio_path(&self, name: &str) -> String {
        join(&self.folder(), name)
    }

    /// `mimetype` first and stored, then the input's entries (changed ones replaced), then the
    /// new ones; written to a temporary file and renamed, so a reader never sees half a book.
    fn write_zip(mut self, target: &Path) -> Result<(), ReadAlongProblem> {
        use zip::write::SimpleFileOptions;
        let file = crate::atomic::AtomicFile::create(target)?;
        let mut out = zip::ZipWriter::new(file);
        let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let deflated = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        out.start_file("mimetype", stored)?;
        out.write_all(b"application/epub+zip")?;
        let replaced: BTreeMap<&str, ()> = self.files.iter().map(|(name, _)| (name.as_str(), ())).collect();
        if let Some(source) = &mut self.source {
            for i in 0..source.zip.len() {
                let entry = source.zip.by_index_raw(i)?;
                let name = entry.name().to_string();
                if entry.is_dir() || name == "mimetype" || replaced.contains_key(name.as_str()) {
                    continue;
                }
                out.raw_copy_file(entry)?;
            }
        }
        for (name, content) in &self.files {
            // Audio is compressed already.
            let options = if name.ends_with(".mp3") { stored } else { deflated };
            out.start_file(name.as_str(), options)?;
            match content {
                Content::Text(text) => out.write_all(text.as_bytes())?,
                Content::File(path) => {
                    let mut file = std::fs::File::open(path)
                        .map_err(|source| ReadAlongProblem::Read { path: path.clone(), source })?;
                    std::io::copy(&mut file, &mut out)?;
                }
            }
        }
        let file = out.finish()?;
        Ok(file.commit()?)
    }
}

/// The input book with sentence spans, overlays and audio added.
fn augment(book: &BookAudio, mut source: Source, timings: &mut [ChapterTimings]) -> Result<Epub, ReadAlongProblem> {
    // Sentences by content document, in reading order.
    let mut by_doc: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (c, t) in timings.iter().enumerate() {
        for s in 0..t.sentences.len() {
            let Some(doc) = doc_of(t, s) else { continue };
            if !by_doc.contains_key(doc) {
                order.push(doc.to_string());
            }
            by_doc.entry(doc.to_string()).or_default().push((c, s));
        }
    }
    let mut ids: BTreeMap<(usize, usize), String> = BTreeMap::new();
    let mut overlays = Vec::new();
    for doc in &order {
        let xhtml = read_entry(&mut source.zip, doc)?;
        let sentences = &by_doc[doc];
        let targets: Vec<Target> = sentences
            .iter()
            .map(|&(c, s)| {
                let sentence = &timings[c].sentences[s];
                let block = &timings[c].blocks[sentence.block];
                Target {
                    block: block.bytes[0]..block.bytes[1],
                    original: &sentence.original,
                    id: sentence_id(c, sentence.index),
                }
            })
            .collect();
        let marked = markup::mark(&xhtml, &targets);
        for (target, (&key, found)) in targets.iter().zip(sentences.iter().zip(&marked.found)) {
            if *found {
                ids.insert(key, target.id.clone());
            }
        }
        if marked.found.iter().any(|&f| f) {
            overlays.push(Overlay { doc: doc.clone(), xhtml: marked.xhtml, pars: Vec::new() });
        }
    }
    let pars = pars(timings, &ids, |c, s| doc_of(&timings[c], s).unwrap_or_default().to_string());
    for overlay in &mut overlays {
        overlay.pars = pars.iter().filter(|p| p.doc == overlay.doc).cloned().collect();
    }
    record_ids(timings, &ids, &pars);
    let opf_path = source.opf_path.clone();
    let opf = source.opf.clone();
    let mut epub = Epub { source: Some(source), opf_path, files: Vec::new() };
    package::augment(book, &mut epub, &opf, overlays)?;
    Ok(epub)
}

/// The zip path of the content document sentence `s` of a chapter comes from (its block's file
/// is `book.epub#path`).
fn doc_of(timings: &ChapterTimings, s: usize) -> Option<&str> {
    let block = timings.blocks.get(timings.sentences[s].block)?;
    block.file.rsplit_once('#').map(|(_, doc)| doc)
}

/// The id of chapter `c`'s sentence `index`: unique in the book, never like the book's own.
fn sentence_id(c: usize, index: usize) -> String {
    format!("ab-c{}-s{index}", c + 1)
}

/// One par per sentence that has an element: from its start (the chapter's start for the first)
/// to the next such sentence's start (the chapter's end for the last), so every moment of the
/// chapter's audio plays, sentences without an element with the one before them.
fn pars(
    timings: &[ChapterTimings],
    ids: &BTreeMap<(usize, usize), String>,
    doc_for: impl Fn(usize, usize) -> String,
) -> Vec<Par> {
    let mut pars: Vec<Par> = Vec::new();
    for (c, t) in timings.iter().enumerate() {
        let first = pars.len();
        for (s, sentence) in t.sentences.iter().enumerate() {
            let Some(id) = ids.get(&(c, s)) else { continue };
            let begin_ms = if pars.len() == first { 0 } else { sentence.start_ms };
            if pars.len() > first
                && let Some(previous) = pars.last_mut()
            {
                previous.end_ms = begin_ms;
            }
            pars.push(Par { doc: doc_for(c, s), id: id.clone(), chapter: c, begin_ms, end_ms: t.duration_ms });
        }
    }
    pars.retain(|p| p.end_ms > p.begin_ms);
    pars
}

/// Writes each sentence's element id into its sidecar: its own, or the one its audio plays with.
fn record_ids(timings: &mut [ChapterTimings], ids: &BTreeMap<(usize, usize), String>, pars: &[Par]) {
    for (c, t) in timings.iter_mut().enumerate() {
        let mut current: Option<String> = pars.iter().find(|p| p.chapter == c).map(|p| p.id.clone());
        for (s, sentence) in t.sentences.iter_mut().enumerate() {
            if let Some(id) = ids.get(&(c, s)) {
                current = Some(id.clone());
            }
            sentence.epub_id = current.clone();
        }
    }
}

/// The SMIL 3.0 overlay of one content document, at `smil_path`.
fn smil(overlay: &Overlay, smil_path: &str, audio_of: impl Fn(usize) -> String) -> String {
    let folder = parent(smil_path);
    let text_src = relative(&folder, &overlay.doc);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<smil xmlns=\"http://www.w3.org/ns/SMIL\" \
         xmlns:epub=\"http://www.idpf.org/2007/ops\" version=\"3.0\">\n<body>\n",
    );
    for par in &overlay.pars {
        let audio = relative(&folder, &audio_of(par.chapter));
        out.push_str(&format!(
            "<par><text src=\"{}#{}\"/><audio src=\"{}\" clipBegin=\"{}\" clipEnd=\"{}\"/></par>\n",
            escape(&text_src),
            par.id,
            escape(&audio),
            seconds(par.begin_ms),
            seconds(par.end_ms)
        ));
    }
    out.push_str("</body>\n</smil>\n");
    out
}

/// A SMIL clock value in seconds (`12.345s`).
fn seconds(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// `h:mm:ss.fff`, as `media:duration` takes it.
fn clock(ms: u64) -> String {
    format!("{}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

/// Text for an XML attribute or element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The folder of a zip path ("" at the top).
fn parent(path: &str) -> String {
    path.rsplit_once('/').map_or(String::new(), |(dir, _)| dir.to_string())
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// `to` (a zip path) as an href from a file in `from_dir`, percent-encoded where a URL needs it.
fn relative(from_dir: &str, to: &str) -> String {
    let from: Vec<&str> = from_dir.split('/').filter(|p| !p.is_empty()).collect();
    let to_parts: Vec<&str> = to.split('/').collect();
    let common = from.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(to_parts[common..].iter().map(|p| percent_encode(p)));
    parts.join("/")
}

fn percent_encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_are_relative_and_encoded() {
        assert_eq!(relative("OEBPS/readalong", "OEBPS/text/ch 1.xhtml"), "../text/ch%201.xhtml");
        assert_eq!(relative("", "a/b.xhtml"), "a/b.xhtml");
        assert_eq!(relative("a", "a/b.mp3"), "b.mp3");
        assert_eq!(clock(3_723_004), "1:02:03.004");
        assert_eq!(seconds(12_345), "12.345s");
    }
}
