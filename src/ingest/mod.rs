//! Stage 1, ingest: reads EPUB, Markdown, plain text, directories and stdin into a [`Book`].
//!
//! Takes input paths (or `-`), gives chapters made of [`Block`]s of plain text with markup removed.
//! Nothing here knows about phonemes or audio; `script` decides how the blocks are spoken.
//! [`read_inputs`] is the entry point; each format's chapter rules are in its module's doc
//! (`epub`, `markdown`, `text`, `dir`). Input is untrusted: sizes are capped by [`Limits`],
//! problems the reader can get past become [`Warning`]s, the rest one-line [`IngestError`]s.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

mod chapters;
mod dir;
mod epub;
pub(crate) mod html;
mod markdown;
pub(crate) mod text;
mod text_clean;

pub use chapters::split_long;
pub use html::CODE_ANNOUNCEMENT;
pub use markdown::SPLIT_WORDS;

/// A whole input: its metadata and its chapters in reading order.
#[derive(Debug, Clone, Default)]
pub struct Book {
    pub meta: BookMeta,
    pub chapters: Vec<Chapter>,
    /// Problems read past (repaired markup, odd encodings, broken TOC links), each naming its file.
    pub warnings: Vec<Warning>,
}

impl Book {
    /// Adds the chapters and warnings of `part`, a later input of the same book; its language
    /// stands in only where this book states none.
    fn append(&mut self, part: Book) {
        if self.meta.language.is_none() {
            self.meta.language = part.meta.language;
        }
        self.chapters.extend(part.chapters);
        self.warnings.extend(part.warnings);
    }
}

/// What the book says about itself.
#[derive(Debug, Clone, Default)]
pub struct BookMeta {
    pub title: String,
    pub authors: Vec<String>,
    /// BCP 47 tag as the book states it (`en-GB`), when it states one. Only EPUB states one;
    /// Markdown and text leave `None` (the language is unknown, not assumed English).
    pub language: Option<String>,
    /// The cover image, kept for output formats that embed one (M4B, EPUB 3).
    pub cover: Option<Cover>,
    /// The publication date as the book states it (EPUB `dc:date`, Markdown front matter
    /// `date:`), often `2023-01-25` or just a year; outputs tag its year.
    pub date: Option<String>,
}

/// A cover image as stored in the book.
#[derive(Debug, Clone)]
pub struct Cover {
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// One chapter as a listener would recognise it.
#[derive(Debug, Clone)]
pub struct Chapter {
    pub title: String,
    pub blocks: Vec<Block>,
    /// Entries of the table of contents (or headings) below the chapter's level, in order: read
    /// as part of the chapter, kept so that players can show them.
    pub sections: Vec<Section>,
}

impl Chapter {
    /// A chapter with no sections.
    pub fn new(title: impl Into<String>, blocks: Vec<Block>) -> Self {
        Chapter { title: title.into(), blocks, sections: Vec::new() }
    }
}

/// A titled place inside a chapter: a deeper TOC entry or heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    /// Index of its first block in the chapter's blocks.
    pub block: usize,
    /// 1 for an entry directly below the chapter, 2 below that, and so on.
    pub depth: u8,
}

/// A paragraph-like piece of text with its markup removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// The text as the book shows it, whitespace collapsed, no markup.
    pub text: String,
    /// Where the text came from.
    pub source: Source,
    /// The language the book tags the block with, as written (`es`, `fr-CA`): EPUB `xml:lang` or
    /// `lang` on the block or an element around it, Markdown front matter `lang:`. `None` when
    /// untagged; the book's language then applies (see `language::of_block`).
    pub language: Option<String>,
}

/// What kind of block a piece of text is; `script` chooses pauses and wording from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Heading {
        level: u8,
    },
    Paragraph,
    ListItem,
    Quote,
    /// Code kept on purpose (`--code read`), or an announcement that code was skipped.
    Code,
    /// Table cells read row by row (`--tables read`).
    Table,
    /// A footnote or endnote body, read at the chapter's end (`--notes end`).
    Note,
    /// Image alt text (`--alt-text read`).
    ImageAlt,
}

/// The file a block came from and the byte range of the block in that file, where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Filesystem path, or `book.epub#OEBPS/ch01.xhtml` for a file inside an EPUB.
    pub file: PathBuf,
    /// Byte offset range of the block in the decoded source file.
    pub range: std::ops::Range<usize>,
}

impl Source {
    /// The file on disk: the EPUB itself for a document inside one. A `#` may also be part of
    /// a file's name, so the longest prefix that is a file wins.
    pub fn path_on_disk(&self) -> PathBuf {
        if self.file.is_file() {
            return self.file.clone();
        }
        let file = self.file.to_string_lossy();
        file.rmatch_indices('#')
            .map(|(i, _)| PathBuf::from(&file[..i]))
            .find(|prefix| prefix.is_file())
            .unwrap_or_else(|| self.file.clone())
    }
}

/// A problem the reader got past, with the file it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: PathBuf,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

/// What to do with footnote and endnote bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotesMode {
    /// Leave them out.
    #[default]
    Skip,
    /// Read them as [`BlockKind::Note`] blocks at the end of the chapter they belong to.
    End,
}

/// What to do with code blocks (`<pre>`, fenced code). Inline code is always read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeMode {
    /// Leave them out.
    #[default]
    Skip,
    /// Read them as [`BlockKind::Code`] blocks.
    Read,
    /// Replace each by a short [`BlockKind::Code`] block, [`CODE_ANNOUNCEMENT`].
    Announce,
}

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Epub,
    Markdown,
    Text,
}

/// Caps that keep hostile input within bounded time and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input file (or stdin) read, in bytes.
    pub max_file_bytes: u64,
    /// Largest size one zip entry may inflate to.
    pub max_entry_bytes: u64,
    /// Largest size an EPUB's package and content documents together may inflate to.
    pub max_total_bytes: u64,
    /// Most entries a zip may have.
    pub max_entries: usize,
    /// Most text a book may have to read, all inputs together: planning holds about 600 bytes
    /// per word, so this caps memory as well as hours.
    pub max_book_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 << 20,
            max_entry_bytes: 64 << 20,
            max_total_bytes: 128 << 20,
            max_entries: 20_000,
            max_book_text_bytes: 16 << 20,
        }
    }
}

/// How to read the inputs. The defaults are what a listener wants from a book.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOptions {
    /// Keep cover, title, copyright, imprint, colophon, printed contents and advert pages.
    pub keep_front_matter: bool,
    /// Read EPUB spine items marked `linear="no"`.
    pub read_nonlinear: bool,
    pub notes: NotesMode,
    /// Read image alt text as [`BlockKind::ImageAlt`] blocks.
    pub alt_text: bool,
    /// Read tables row by row as [`BlockKind::Table`] blocks.
    pub tables: bool,
    pub code: CodeMode,
    /// Format of `-` (stdin); `None` sniffs it: zip magic is EPUB, Markdown-looking is Markdown.
    pub stdin_format: Option<Format>,
    pub limits: Limits,
    /// The TOC level (EPUB) or heading level (Markdown, text) whose entries are chapters, 1 the
    /// outermost; deeper entries become [`Section`]s. `None` picks the level a listener navigates
    /// by (see each format's module doc).
    pub toc_depth: Option<u8>,
}

/// Why an input could not be read. Each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: not a readable EPUB: {reason}", path.display())]
    Epub { path: PathBuf, reason: String },
    #[error("{}: {what} is larger than {limit_mib} MiB, refusing to read it", path.display())]
    TooLarge { path: PathBuf, what: String, limit_mib: u64 },
    #[error("{}: looks like a binary file, not text", path.display())]
    Binary { path: PathBuf },
    #[error("{}: the file is empty", path.display())]
    Empty { path: PathBuf },
    #[error("{}: no readable text found", path.display())]
    NoText { path: PathBuf },
    #[error("{}: unsupported file type (expected .epub, .md, .markdown or .txt)", path.display())]
    Unsupported { path: PathBuf },
    #[error("{}: nothing readable in this folder ({files} supported files found)", path.display())]
    NothingReadable { path: PathBuf, files: usize },
    #[error("{}: more than {limit_mib} MiB of text to read (about 2.7 million words); split it into several books", path.display())]
    BookTooLong { path: PathBuf, limit_mib: usize },
    #[error("{}: a FIFO with nothing writing to it; start the writer first, or pipe the text to stdin as `-`", path.display())]
    IdleFifo { path: PathBuf },
    #[error("{}: not a regular file (a device or socket); give a file, a folder or `-` for stdin", path.display())]
    NotAFile { path: PathBuf },
    #[error("no input given")]
    NoInput,
}

/// Reads every input in order into one book: files, folders, or `-` for stdin.
///
/// The book's metadata comes from the first input; chapters and warnings from all of them.
pub fn read_inputs<P: AsRef<Path>>(paths: &[P], opts: &IngestOptions) -> Result<Book, IngestError> {
    let mut book: Option<Book> = None;
    let mut budget = TextBudget::default();
    for p in paths {
        let path = p.as_ref();
        let part = if path == Path::new("-") {
            let mut bytes = Vec::new();
            std::io::stdin()
                .take(opts.limits.max_file_bytes + 1)
                .read_to_end(&mut bytes)
                .map_err(|source| IngestError::Io { path: path.to_path_buf(), source })?;
            if bytes.len() as u64 > opts.limits.max_file_bytes {
                return Err(too_large(path, opts));
            }
            read_bytes(Path::new("-"), bytes, opts.stdin_format, opts)?
        } else if path.is_dir() {
            dir::read(path, opts)?
        } else {
            // Read once: a FIFO cannot be read again after sniffing.
            let bytes = read_limited(path, opts)?;
            let format = dir::format_of(path).or_else(|| sniff(&bytes));
            read_bytes(path, bytes, format, opts)?
        };
        budget.take(&part, path, opts)?;
        match book.as_mut() {
            None => book = Some(part),
            Some(b) => b.append(part),
        }
    }
    book.ok_or(IngestError::NoInput)
}

/// The text a book has taken so far, against [`Limits::max_book_text_bytes`]; counted part by
/// part as inputs are read, so a folder of many files is summed once.
#[derive(Default)]
struct TextBudget(usize);

impl TextBudget {
    /// Counts `part`'s text, refusing it when the book goes over the cap (`path` took it over).
    fn take(&mut self, part: &Book, path: &Path, opts: &IngestOptions) -> Result<(), IngestError> {
        let limit = opts.limits.max_book_text_bytes;
        self.0 += part.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.len()).sum::<usize>();
        if self.0 > limit {
            return Err(IngestError::BookTooLong { path: path.to_path_buf(), limit_mib: limit >> 20 });
        }
        Ok(())
    }
}

/// Parses one XHTML content document into its spoken blocks and returns how many it found: the
/// HTML reader on its own, for the fuzzer (`fuzz/`), which cannot reach private modules.
#[doc(hidden)]
pub fn html_blocks_for_fuzzing(html: &str) -> usize {
    let doc = html::extract(&html::parse(html), Path::new("fuzz.xhtml"), &IngestOptions::default());
    doc.blocks.len() + doc.notes.len()
}

/// Reads one input held in memory; `name` is used in sources, warnings and errors.
/// `format: None` sniffs it as for stdin.
pub fn read_bytes(
    name: &Path,
    bytes: Vec<u8>,
    format: Option<Format>,
    opts: &IngestOptions,
) -> Result<Book, IngestError> {
    if bytes.is_empty() {
        return Err(IngestError::Empty { path: name.to_path_buf() });
    }
    let format = format.or_else(|| sniff(&bytes)).unwrap_or(Format::Text);
    match format {
        Format::Epub => epub::read(name, bytes, opts),
        Format::Markdown => markdown::read(name, &bytes, opts),
        Format::Text => text::read(name, &bytes, opts),
    }
}

fn read_file_as(path: &Path, format: Format, opts: &IngestOptions) -> Result<Book, IngestError> {
    read_bytes(path, read_limited(path, opts)?, Some(format), opts)
}

/// Reads a file up to the size cap. A FIFO is read as it is written; a device or socket is
/// refused (`/dev/zero` would only end at the cap, a socket never).
fn read_limited(path: &Path, opts: &IngestOptions) -> Result<Vec<u8>, IngestError> {
    let io = |source| IngestError::Io { path: path.to_path_buf(), source };
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = std::fs::metadata(path).map_err(io)?.file_type();
        if kind.is_fifo() {
            return read_fifo(path, opts);
        }
        if kind.is_block_device() || kind.is_char_device() || kind.is_socket() {
            return Err(IngestError::NotAFile { path: path.to_path_buf() });
        }
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(opts.limits.max_file_bytes + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > opts.limits.max_file_bytes {
        return Err(too_large(path, opts));
    }
    Ok(bytes)
}

/// Reads a FIFO (or a shell's `<(command)`) without ever blocking on the open: opened
/// non-blocking, it reads end-of-file at once when nothing writes to it, which is an error
/// rather than a silent wait, and otherwise polls until the writer closes it.
#[cfg(unix)]
fn read_fifo(path: &Path, opts: &IngestOptions) -> Result<Vec<u8>, IngestError> {
    use std::io::ErrorKind;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| IngestError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(io)?;
    let mut bytes = Vec::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                bytes.extend_from_slice(&buffer[..n]);
                if bytes.len() as u64 > opts.limits.max_file_bytes {
                    return Err(too_large(path, opts));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    if bytes.is_empty() {
        return Err(IngestError::IdleFifo { path: path.to_path_buf() });
    }
    Ok(bytes)
}

fn too_large(path: &Path, opts: &IngestOptions) -> IngestError {
    IngestError::TooLarge {
        path: path.to_path_buf(),
        what: "the input".into(),
        limit_mib: opts.limits.max_file_bytes >> 20,
    }
}

/// Guesses a format from content: zip magic is EPUB, Markdown syntax is Markdown, else text.
fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Some(Format::Epub);
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(16 * 1024)]);
    let markdownish = head.starts_with("---\n")
        || head.lines().any(|l| {
            l.starts_with("# ") || l.starts_with("## ") || l.starts_with("```") || (l.contains("](") && l.contains('['))
        });
    Some(if markdownish { Format::Markdown } else { Format::Text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Format::Epub));
        assert_eq!(sniff(b"# Title\n\nText"), Some(Format::Markdown));
        assert_eq!(sniff(b"Just text.\n"), Some(Format::Text));
    }
}
