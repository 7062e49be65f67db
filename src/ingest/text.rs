//! Ingest, plain text: decoding any text file, and chapters from `.txt` books.
//!
//! Takes raw bytes, gives a [`Book`]. Decoding (shared with Markdown): a BOM picks UTF-8 or
//! UTF-16 LE/BE, and so does, without a BOM, a NUL in every other byte of mostly ASCII text;
//! otherwise valid UTF-8 is UTF-8. Bytes that are not UTF-8 are read as Windows-1252 (Latin-1)
//! with a warning: the whole file when it has no UTF-8 at all, else just those bytes, so one
//! stray byte does not garble every accented letter around it. NUL bytes or mostly control bytes
//! mean a binary file, an error. CRLF and lone CR become LF.
//!
//! Structure: the Project Gutenberg header (up to `*** START OF ...`) and licence (from
//! `*** END OF ...`) are removed, and `Title:`/`Author:` from the header become the metadata.
//! A chapter starts at a short paragraph whose first line is a heading: `CHAPTER I.`,
//! `Chapter 12`, `PART TWO`, `BOOK III`, or a bare Roman numeral (`II.`). The heading
//! paragraph's lines make the title (`CHAPTER I.` + `Down the Rabbit-Hole` -> one title); a
//! bare label followed by one short title line after a blank line takes that line too. Three or
//! more headings in a row with no text between them are a printed contents list and are dropped;
//! one or two (a part title) join the next chapter; with `toc_depth` 1 the parts are the
//! chapters instead, and their chapters [`super::Section`]s. Text before the first heading is a title
//! page and is dropped unless `keep_front_matter` or it is long (>= 200 words). A file with no
//! headings is one chapter. Hard-wrapped lines are joined (a blank line ends a paragraph);
//! paragraphs whose lines are mostly indented are verse, one [`BlockKind::Quote`] per line.

use std::path::Path;

use super::text_clean::clean_inline;
use super::{Block, BlockKind, Book, BookMeta, Chapter, IngestError, IngestOptions, Section, Source, Warning};

/// Decodes a text file (Markdown or plain text), refusing binary data.
pub(crate) fn decode_text(path: &Path, bytes: &[u8], warnings: &mut Vec<Warning>) -> Result<String, IngestError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    let text = if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (s, had_errors) = enc.decode_without_bom_handling(&bytes[bom..]);
        if had_errors {
            warnings.push(Warning {
                file: path.to_path_buf(),
                message: format!("invalid {} sequences replaced", enc.name()),
            });
        }
        s.into_owned()
    } else if let Some(enc) = utf16_without_bom(bytes) {
        warnings
            .push(Warning { file: path.to_path_buf(), message: format!("no byte-order mark, read as {}", enc.name()) });
        enc.decode_without_bom_handling(bytes).0.into_owned()
    } else {
        if looks_binary(bytes) {
            return Err(IngestError::Binary { path: path.to_path_buf() });
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => {
                let (text, stray) = utf8_with_latin1_strays(bytes);
                let message = match stray {
                    None => "not UTF-8, read as Latin-1 (Windows-1252)".to_string(),
                    Some(n) => format!("{n} bytes are not UTF-8, read those as Latin-1 (Windows-1252)"),
                };
                warnings.push(Warning { file: path.to_path_buf(), message });
                text
            }
        }
    };
    let text = normalize_newlines(&text);
    if text.trim().is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    Ok(text)
}

/// Decodes an EPUB content document: BOM, then UTF-8, then the declared or Windows-1252.
pub(crate) fn decode_document(bytes: &[u8]) -> String {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom..]).0.into_owned();
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).to_ascii_lowercase();
    let declared = head
        .split_once("encoding=")
        .and_then(|(_, r)| r.trim_start_matches(['"', '\'']).split(['"', '\'']).next())
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()));
    declared.unwrap_or(encoding_rs::WINDOWS_1252).decode_without_bom_handling(bytes).0.into_owned()
}

/// UTF-16 without a byte-order mark: in its first 8 KiB, at least a third of the code units
/// have a NUL high byte (ASCII letters, spaces, newlines) on one side and almost none on the other.
pub(crate) fn utf16_without_bom(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(8192) & !1];
    let units = head.len() / 2;
    if units < 2 {
        return None;
    }
    let zeros_at = |parity: usize| head.iter().skip(parity).step_by(2).filter(|&&b| b == 0).count();
    let (even, odd) = (zeros_at(0), zeros_at(1));
    let mostly = |n: usize| n * 3 >= units;
    let hardly = |n: usize| n * 50 <= units;
    if mostly(odd) && hardly(even) {
        Some(encoding_rs::UTF_16LE)
    } else if mostly(even) && hardly(odd) {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Decodes UTF-8 reading each byte that is not UTF-8 as Windows-1252, with how many there were;
/// text with no multi-byte UTF-8 at all is Windows-1252 throughout (count `None`), since a pair
/// of Latin-1 letters can happen to form a UTF-8 sequence.
fn utf8_with_latin1_strays(bytes: &[u8]) -> (String, Option<usize>) {
    let latin1 = |b: &[u8]| encoding_rs::WINDOWS_1252.decode_without_bom_handling(b).0.into_owned();
    let has_utf8 = bytes.utf8_chunks().any(|chunk| !chunk.valid().is_ascii());
    if !has_utf8 {
        return (latin1(bytes), None);
    }
    let mut text = String::with_capacity(bytes.len());
    let mut stray = 0;
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        text.push_str(&latin1(chunk.invalid()));
        stray += chunk.invalid().len();
    }
    (text, Some(stray))
}

fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let controls = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)).count();
    controls * 20 > head.len()
}

fn normalize_newlines(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_string();
    }
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Reads a plain-text book.
pub(crate) fn read(path: &Path, bytes: &[u8], opts: &IngestOptions) -> Result<Book, IngestError> {
    let mut warnings = Vec::new();
    let text = decode_text(path, bytes, &mut warnings)?;
    let (body_start, body_end, meta) = gutenberg_bounds(&text);
    let mut meta = meta;
    if meta.title.is_empty() {
        meta.title = file_title(path);
    }
    let paras = paragraphs(&text, body_start, body_end);
    let chapters = chapters_from(paras, path, opts, &meta.title);
    if chapters.iter().all(|c| c.blocks.is_empty()) {
        return Err(IngestError::NoText { path: path.to_path_buf() });
    }
    Ok(Book { meta, chapters, warnings })
}

pub(crate) fn file_title(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Byte range of the book proper and what the PG header says about it.
fn gutenberg_bounds(text: &str) -> (usize, usize, BookMeta) {
    let mut meta = BookMeta::default();
    let mut start = 0;
    let mut end = text.len();
    let mut offset = 0;
    let mut in_header = true;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        let upper = t.trim_start_matches('*').trim_start().to_ascii_uppercase();
        if in_header {
            if let Some(v) = t.strip_prefix("Title:") {
                meta.title = v.trim().to_string();
            } else if let Some(v) = t.strip_prefix("Author:") {
                meta.authors = vec![v.trim().to_string()];
            }
        }
        if t.starts_with("***") && upper.starts_with("START OF") && in_header {
            start = offset + line.len();
            in_header = false;
        } else if (t.starts_with("***") && upper.starts_with("END OF"))
            || (!in_header
                && (t.starts_with("End of the Project Gutenberg") || t.starts_with("End of Project Gutenberg")))
        {
            end = offset;
            break;
        }
        offset += line.len();
    }
    if in_header {
        // Not a Gutenberg file: the whole text is the book, and header-like lines mean nothing.
        return (0, text.len(), BookMeta::default());
    }
    (start, end.max(start), meta)
}

struct Para<'a> {
    lines: Vec<&'a str>,
    start: usize,
    end: usize,
}

fn paragraphs(text: &str, from: usize, to: usize) -> Vec<Para<'_>> {
    let mut out = Vec::new();
    let mut cur: Option<Para> = None;
    let mut offset = from;
    for line in text[from..to].split_inclusive('\n') {
        let content = line.trim_end_matches('\n');
        if content.trim().is_empty() {
            if let Some(p) = cur.take() {
                out.push(p);
            }
        } else {
            let p = cur.get_or_insert(Para { lines: Vec::new(), start: offset, end: offset });
            p.lines.push(content);
            p.end = offset + content.len();
        }
        offset += line.len();
    }
    out.extend(cur);
    out
}

const NUMBER_WORDS: &[&str] = &[
    "ONE",
    "TWO",
    "THREE",
    "FOUR",
    "FIVE",
    "SIX",
    "SEVEN",
    "EIGHT",
    "NINE",
    "TEN",
    "ELEVEN",
    "TWELVE",
    "THIRTEEN",
    "FOURTEEN",
    "FIFTEEN",
    "SIXTEEN",
    "SEVENTEEN",
    "EIGHTEEN",
    "NINETEEN",
    "TWENTY",
    "FIRST",
    "SECOND",
    "THIRD",
    "FOURTH",
    "FIFTH",
    "SIXTH",
    "SEVENTH",
    "EIGHTH",
    "NINTH",
    "TENTH",
    "LAST",
];

const LABELS: &[&str] =
    &["CHAPTER", "PART", "BOOK", "VOLUME", "STAVE", "ACT", "KAPITEL", "TEIL", "CHAPITRE", "CAPÍTULO"];

fn is_roman(s: &str) -> bool {
    !s.is_empty() && s.len() <= 8 && s.chars().all(|c| matches!(c, 'I' | 'V' | 'X' | 'L' | 'C' | 'D' | 'M'))
}

/// Whether a line is a chapter heading; returns whether it carries a title after the number.
fn heading_line(line: &str) -> Option<bool> {
    let t = line.trim();
    if t.is_empty() || t.chars().count() > 80 {
        return None;
    }
    let bare = t.trim_end_matches(['.', ':']);
    // A lone "I" is a word unless written "I."; "II", "IV." and longer are numerals.
    if is_roman(bare) && (bare.len() > 1 || bare.len() < t.len()) {
        return Some(false);
    }
    let mut words = t.split_whitespace();
    let label_word = words.next()?;
    let label = label_word.to_uppercase();
    if !LABELS.contains(&label.as_str()) {
        return None;
    }
    let num_word = words.next()?;
    let num = num_word.trim_end_matches(['.', ':', ',']).to_uppercase();
    let digits = !num.is_empty() && num.chars().all(|c| c.is_ascii_digit());
    if !(digits || is_roman(&num) || NUMBER_WORDS.contains(&num.as_str())) {
        return None;
    }
    let has_title = words.next().is_some();
    // "Part one of the plan failed." is prose: a spelled-out number in a mixed-case line needs
    // punctuation after it or nothing else on the line.
    let marked = label_word == label || digits || is_roman(&num) || num_word.len() > num.len() || !has_title;
    marked.then_some(has_title)
}

/// Drops the underscores of `_emphasis_` (Project Gutenberg's italics), but keeps those inside
/// a word, so that `snake_case_names` still split into their words when read.
fn strip_emphasis(text: &str) -> String {
    if !text.contains('_') {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let inside_word =
        |i: usize| i > 0 && chars[i - 1].is_alphanumeric() && chars.get(i + 1).is_some_and(|c| c.is_alphanumeric());
    chars.iter().enumerate().filter(|&(i, &c)| c != '_' || inside_word(i)).map(|(_, &c)| c).collect()
}

fn joined(p: &Para) -> String {
    p.lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
}

fn chapters_from(paras: Vec<Para>, path: &Path, opts: &IngestOptions, book_title: &str) -> Vec<Chapter> {
    struct Draft {
        title: Option<String>,
        blocks: Vec<Block>,
        words: usize,
    }
    let block = |kind, text: &str, start: usize, end: usize| {
        let t = clean_inline(&strip_emphasis(text)).0;
        (!t.is_empty()).then(|| Block {
            kind,
            text: t,
            source: Source { file: path.to_path_buf(), range: start..end },
            language: None,
        })
    };
    let mut drafts = vec![Draft { title: None, blocks: Vec::new(), words: 0 }];
    let mut i = 0;
    while i < paras.len() {
        let p = &paras[i];
        let head = (p.lines.len() <= 3 && p.lines.iter().all(|l| l.trim().chars().count() <= 80))
            .then(|| heading_line(p.lines[0]))
            .flatten();
        if head.is_some() && p.lines.len() > 1 && heading_line(p.lines[1]).is_some() {
            // Several heading lines in one paragraph: a printed contents list.
            i += 1;
            continue;
        }
        if let Some(has_title) = head {
            let mut title = joined(p);
            let mut end = p.end;
            if !has_title
                && p.lines.len() == 1
                && let Some(next) = paras.get(i + 1)
                && next.lines.len() == 1
                && is_title_line(next.lines[0])
            {
                title = format!("{} {}", title, next.lines[0].trim());
                end = next.end;
                i += 1;
            }
            let title = clean_inline(&title).0;
            let heading = block(BlockKind::Heading { level: 1 }, &title, p.start, end);
            drafts.push(Draft { title: Some(title), blocks: heading.into_iter().collect(), words: 0 });
            i += 1;
            continue;
        }
        let Some(d) = drafts.last_mut() else { break };
        let indented = p.lines.iter().filter(|l| l.starts_with("  ") || l.starts_with('\t')).count();
        if p.lines.len() > 1 && indented * 2 >= p.lines.len() {
            let mut offset = p.start;
            for l in &p.lines {
                if let Some(b) = block(BlockKind::Quote, l, offset, offset + l.len()) {
                    d.words += b.text.split_whitespace().count();
                    d.blocks.push(b);
                }
                offset += l.len() + 1;
            }
        } else {
            let text = joined(p);
            if text.starts_with("[Illustration") {
                i += 1;
                continue;
            }
            if let Some(b) = block(BlockKind::Paragraph, &text, p.start, p.end) {
                d.words += b.text.split_whitespace().count();
                d.blocks.push(b);
            }
        }
        i += 1;
    }
    let mut chapters = Vec::new();
    let mut run: Vec<Draft> = Vec::new();
    // For each chapter pushed after the front matter: the part title it opens, if any.
    let mut parts: Vec<Option<(String, usize)>> = Vec::new();
    let has_headings = drafts.len() > 1;
    for (k, d) in drafts.into_iter().enumerate() {
        if k == 0 {
            let keep = !has_headings || opts.keep_front_matter || d.words >= 200;
            if keep && d.words > 0 {
                let title = if has_headings {
                    d.blocks.first().map(|b| b.text.chars().take(60).collect()).unwrap_or_default()
                } else {
                    book_title.to_string()
                };
                chapters.push(Chapter::new(title, d.blocks));
                parts.push(None);
            }
            continue;
        }
        if d.words == 0 {
            run.push(d);
            continue;
        }
        let mut blocks = Vec::new();
        let mut part = None;
        if run.len() < 3 {
            part = run.first().and_then(|r| r.title.clone());
            for r in run.drain(..) {
                blocks.extend(r.blocks);
            }
        }
        run.clear();
        let chapter_heading = blocks.len();
        blocks.extend(d.blocks);
        chapters.push(Chapter::new(d.title.unwrap_or_default(), blocks));
        parts.push(part.map(|title| (title, chapter_heading)));
    }
    if opts.toc_depth == Some(1) && parts.iter().any(Option::is_some) {
        return chapters_by_part(chapters, parts);
    }
    chapters
}

/// `--toc-depth 1` in a book of parts: each part is a chapter, its chapters are sections.
/// `parts[i]` is the part that chapter `i` opens, with the index of the chapter's own heading.
fn chapters_by_part(chapters: Vec<Chapter>, parts: Vec<Option<(String, usize)>>) -> Vec<Chapter> {
    let mut out: Vec<Chapter> = Vec::new();
    let mut in_part = false;
    for (ch, part) in chapters.into_iter().zip(parts) {
        match (part, out.last_mut()) {
            // The part's heading lines open its first chapter's blocks.
            (Some((title, heading)), _) => {
                let section = Section { title: ch.title, block: heading, depth: 1 };
                out.push(Chapter { title, blocks: ch.blocks, sections: vec![section] });
                in_part = true;
            }
            (None, Some(whole)) if in_part => {
                whole.sections.push(Section { title: ch.title, block: whole.blocks.len(), depth: 1 });
                whole.blocks.extend(ch.blocks);
            }
            // Chapters before the first part stay chapters.
            (None, _) => out.push(ch),
        }
    }
    out
}

/// A short line that reads like a title: no sentence punctuation at its end.
fn is_title_line(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty()
        && t.chars().count() <= 60
        && heading_line(t).is_none()
        && !t.ends_with(['.', ',', ';', ':', '!', '?', '"', '\'', '’', '”', '«', '»'])
        && t.chars().next().is_some_and(char::is_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toc_depth_1_makes_parts_the_chapters_and_their_chapters_sections() {
        let text = "PART ONE\n\nCHAPTER I\n\nThe first chapter begins here and goes on.\n\nCHAPTER II\n\nThe second chapter.\n\nPART TWO\n\nCHAPTER III\n\nThe third chapter.\n";
        let read_with = |toc_depth| {
            read(Path::new("b.txt"), text.as_bytes(), &IngestOptions { toc_depth, ..IngestOptions::default() }).unwrap()
        };
        let titles = |b: &Book| b.chapters.iter().map(|c| c.title.clone()).collect::<Vec<_>>();
        assert_eq!(titles(&read_with(None)), ["CHAPTER I", "CHAPTER II", "CHAPTER III"]);
        let parts = read_with(Some(1));
        assert_eq!(titles(&parts), ["PART ONE", "PART TWO"]);
        let sections: Vec<_> = parts.chapters[0].sections.iter().map(|s| (s.title.as_str(), s.block)).collect();
        assert_eq!(sections, [("CHAPTER I", 1), ("CHAPTER II", 3)]);
        assert_eq!(parts.chapters[0].blocks[3].text, "CHAPTER II");
    }

    fn book(s: &str) -> Book {
        match read(Path::new("t.txt"), s.as_bytes(), &IngestOptions::default()) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn headings_and_wrapped_paragraphs() {
        let b = book(
            "Contents\n\nCHAPTER I.\nCHAPTER II.\nCHAPTER III.\n\nCHAPTER I.\nDown the Hole\n\nAlice was\nbeginning to get.\n\nCHAPTER II.\n\nThe Pool\n\nCurious\r\nand curiouser.\n",
        );
        let titles: Vec<_> = b.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["CHAPTER I. Down the Hole", "CHAPTER II. The Pool"]);
        assert_eq!(b.chapters[0].blocks[1].text, "Alice was beginning to get.");
        assert_eq!(b.chapters[1].blocks[1].text, "Curious and curiouser.");
    }

    #[test]
    fn emphasis_underscores_go_and_those_inside_identifiers_stay() {
        assert_eq!(
            strip_emphasis("It was a _dark_ and _stormy night_, _Pequod_'s"),
            "It was a dark and stormy night, Pequod's"
        );
        assert_eq!(
            strip_emphasis("call read_to_end or __init__ (snake_case)"),
            "call read_to_end or init (snake_case)"
        );
        assert_eq!(strip_emphasis("é_ü _日本_"), "é_ü 日本");
    }

    #[test]
    fn heading_lines() {
        assert_eq!(heading_line("CHAPTER I."), Some(false));
        assert_eq!(heading_line("Chapter 12. The Storm"), Some(true));
        assert_eq!(heading_line("PART TWO"), Some(false));
        assert_eq!(heading_line("Chapter One: The Start"), Some(true));
        assert_eq!(heading_line("II."), Some(false));
        assert_eq!(heading_line("I."), Some(false));
        assert_eq!(heading_line("I"), None);
        assert_eq!(heading_line("Part one of the plan failed."), None);
        assert_eq!(heading_line("Chapter and verse."), None);
    }

    #[test]
    fn contents_list_is_dropped() {
        let b = book("CHAPTER I\n\nCHAPTER II\n\nCHAPTER III\n\nCHAPTER I\n\nText one.\n\nCHAPTER II\n\nText two.\n");
        assert_eq!(b.chapters.len(), 2);
        assert_eq!(b.chapters[0].blocks.len(), 2);
    }

    #[test]
    fn part_heading_joins_next_chapter() {
        let b = book("PART ONE\n\nCHAPTER 1\n\nText one.\n\nCHAPTER 2\n\nText two.\n");
        let titles: Vec<_> = b.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["CHAPTER 1", "CHAPTER 2"]);
        assert_eq!(b.chapters[0].blocks[0].text, "PART ONE");
    }

    #[test]
    fn no_headings_is_one_chapter_and_binary_is_refused() {
        let b = book("Just some\ntext.\n\nMore.");
        assert_eq!(b.chapters.len(), 1);
        assert_eq!(b.chapters[0].blocks.len(), 2);
        let err = read(Path::new("x.txt"), b"\x7fELF\x02\x01\x01\0\0\0", &IngestOptions::default());
        assert!(matches!(err, Err(IngestError::Binary { .. })));
    }

    #[test]
    fn utf16_and_latin1() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "Gr\u{fc}\u{df}e\n".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        let mut w = Vec::new();
        assert_eq!(decode_text(Path::new("a"), &bytes, &mut w).ok().as_deref(), Some("Grüße\n"));
        assert!(w.is_empty());
        assert_eq!(decode_text(Path::new("a"), b"Gr\xfc\xdfe", &mut w).ok().as_deref(), Some("Grüße"));
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn one_stray_byte_in_utf8_is_read_alone_as_latin1() {
        let mut w = Vec::new();
        let text = decode_text(Path::new("a"), b"Caf\xe9 na\xefve, r\xc3\xa9sum\xc3\xa9 \xe2\x80\x94 fine.", &mut w);
        assert_eq!(text.ok().as_deref(), Some("Café naïve, résumé — fine."));
        assert_eq!(w.len(), 1);
        assert!(w[0].message.starts_with("2 bytes are not UTF-8"), "{}", w[0].message);
    }

    #[test]
    fn utf16_without_a_bom_is_recognised_in_both_byte_orders() {
        let text = "Chapter 1\nGrüße aus Köln, said the letter.\n";
        for (enc, name) in [(encoding_rs::UTF_16LE, "UTF-16LE"), (encoding_rs::UTF_16BE, "UTF-16BE")] {
            let bytes: Vec<u8> = text
                .encode_utf16()
                .flat_map(|u| if enc == encoding_rs::UTF_16LE { u.to_le_bytes() } else { u.to_be_bytes() })
                .collect();
            let mut w = Vec::new();
            assert_eq!(decode_text(Path::new("a"), &bytes, &mut w).ok().as_deref(), Some(text), "{name}");
            assert!(w[0].message.contains(name), "{:?}", w);
        }
    }
}
