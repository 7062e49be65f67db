//! Stage 1, ingest: reads EPUB, Markdown, plain text, directories and stdin into a [`Book`].
//!
//! Takes input paths (or `-`), gives chapters made of [`Block`]s of plain text with markup removed.
//! Nothing here knows about phonemes or audio; `script` decides how the blocks are spoken.

use std::path::PathBuf;

/// A whole input: its metadata and its chapters in reading order.
#[derive(Debug, Clone, Default)]
pub struct Book {
    pub meta: BookMeta,
    pub chapters: Vec<Chapter>,
}

/// What the book says about itself.
#[derive(Debug, Clone, Default)]
pub struct BookMeta {
    pub title: String,
    pub authors: Vec<String>,
    /// BCP 47 tag as the book states it (`en-GB`), when it states one.
    pub language: Option<String>,
    /// The cover image, kept for output formats that embed one (M4B, EPUB 3).
    pub cover: Option<Cover>,
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
}

/// A paragraph-like piece of text with its markup removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// The text as the book shows it, whitespace collapsed, no markup.
    pub text: String,
    /// Where the text came from.
    pub source: Source,
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
