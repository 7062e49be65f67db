//! Ingest, Markdown: CommonMark with GFM tables, footnotes and YAML/TOML front matter, via
//! pulldown-cmark.
//!
//! Takes the bytes of one `.md` file, gives its chapters. Chapter rule, chosen for what a listener
//! expects from a docs tree: a file is one chapter, titled by its front matter `title:`, else its
//! only H1, else its file name. A file with two or more H1s and no front matter title is split at
//! them, whatever its length.
//! A long file (at least [`SPLIT_WORDS`] words of readable text, like bat's README) is split at
//! its top heading level; when that level holds a single document-title heading, at the next
//! level down. The text before the first split heading keeps the file's title. Headings stay in
//! the blocks either way. `toc_depth` N instead splits at the Nth heading level the file uses
//! (and the levels above it), a lone top heading being the page's title. Headings below the
//! chapter level become the chapter's [`Section`]s.
//!
//! Reading: links are read as their text (a URL as text, as in autolinks, is shortened to its
//! host), images only as alt text with `alt_text`, inline code as text, code blocks by
//! [`CodeMode`], tables by `tables` (row by row), raw HTML reduced to its text (navigation bars and
//! badge rows dropped), footnote definitions by [`NotesMode`]. Front matter is never read aloud.

use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{BlockQuoteKind, Event, HeadingLevel, MetadataBlockKind, Options, Parser, Tag, TagEnd};

use super::html::{CODE_ANNOUNCEMENT, fragment_text};
use super::text::{decode_text, file_title};
use super::text_clean::clean_inline;
use super::{
    Block, BlockKind, Book, BookMeta, Chapter, CodeMode, IngestError, IngestOptions, NotesMode, Section, Source,
};

/// Files with at least this many words of readable text are split into several chapters.
pub const SPLIT_WORDS: usize = 1500;

/// Reads one Markdown file.
pub(crate) fn read(path: &Path, bytes: &[u8], opts: &IngestOptions) -> Result<Book, IngestError> {
    let mut warnings = Vec::new();
    let text = decode_text(path, bytes, &mut warnings)?;
    let parsed = blocks(&text, path, opts);
    let page_title = parsed
        .front_title
        .clone()
        .or_else(|| {
            let h1: Vec<&Block> = parsed.blocks.iter().filter(|b| b.kind == BlockKind::Heading { level: 1 }).collect();
            (h1.len() == 1).then(|| h1[0].text.clone())
        })
        .unwrap_or_else(|| file_title(path));
    let chapters = split(parsed.blocks, parsed.notes, &page_title, parsed.front_title.is_some(), opts.toc_depth);
    if chapters.is_empty() {
        return Err(IngestError::NoText { path: path.to_path_buf() });
    }
    let meta = BookMeta { title: page_title, date: parsed.front_date, ..BookMeta::default() };
    Ok(Book { meta, chapters, warnings })
}

struct Parsed {
    blocks: Vec<Block>,
    notes: Vec<Block>,
    front_title: Option<String>,
    front_date: Option<String>,
}

fn blocks(text: &str, path: &Path, opts: &IngestOptions) -> Parsed {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS
        | Options::ENABLE_GFM;
    let mut b = Builder {
        path,
        out: Vec::new(),
        notes: Vec::new(),
        cur: String::new(),
        range: None,
        pending_alts: Vec::new(),
        language: None,
    };
    let mut quote = 0usize;
    let mut items = 0usize;
    let mut skip = 0usize; // inside a table that is not read
    let mut code: Option<(String, Range<usize>)> = None;
    let mut html: Option<(String, Range<usize>)> = None;
    let mut meta: Option<String> = None;
    let mut alt: Option<String> = None;
    let mut cells: Vec<String> = Vec::new();
    let mut in_note = false;
    let mut front_title = None;
    let mut front_date = None;
    let ctx = |quote: usize, items: usize| {
        if quote > 0 {
            BlockKind::Quote
        } else if items > 0 {
            BlockKind::ListItem
        } else {
            BlockKind::Paragraph
        }
    };
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        if let Some(m) = meta.as_mut() {
            match event {
                Event::Text(t) => m.push_str(&t),
                Event::End(TagEnd::MetadataBlock(kind)) => {
                    front_title = front_matter_value(m, kind, "title");
                    front_date = front_matter_value(m, kind, "date");
                    // Front matter comes first, so every block of the file carries its language.
                    b.language =
                        front_matter_value(m, kind, "lang").or_else(|| front_matter_value(m, kind, "language"));
                    meta = None;
                }
                _ => {}
            }
            continue;
        }
        if let Some((c, _)) = code.as_mut() {
            match event {
                Event::Text(t) => c.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    if let Some((c, r)) = code.take() {
                        match opts.code {
                            CodeMode::Skip => {}
                            CodeMode::Announce => b.emit(BlockKind::Code, CODE_ANNOUNCEMENT, r, in_note),
                            CodeMode::Read => b.emit(BlockKind::Code, &c, r, in_note),
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        if let Some(a) = alt.as_mut() {
            match event {
                Event::Text(t) | Event::Code(t) => a.push_str(&t),
                Event::End(TagEnd::Image) => {
                    if let Some(a) = alt.take()
                        && opts.alt_text
                        && !a.trim().is_empty()
                    {
                        // Read after the paragraph the image sits in, not in the middle of it.
                        b.pending_alts.push((a, range));
                    }
                }
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(Tag::MetadataBlock(_)) => meta = Some(String::new()),
            Event::Start(Tag::CodeBlock(_)) => {
                b.flush(ctx(quote, items), in_note);
                code = Some((String::new(), range));
            }
            Event::Start(Tag::Image { .. }) => alt = Some(String::new()),
            Event::Start(Tag::Table(_)) => {
                b.flush(ctx(quote, items), in_note);
                if !opts.tables {
                    skip += 1;
                }
            }
            Event::End(TagEnd::Table) if !opts.tables => skip = skip.saturating_sub(1),
            Event::End(TagEnd::Table) => {}
            _ if skip > 0 => {}
            Event::Start(Tag::HtmlBlock) => {
                b.flush(ctx(quote, items), in_note);
                html = Some((String::new(), range));
            }
            Event::Html(h) => {
                if let Some((buf, _)) = html.as_mut() {
                    buf.push_str(&h);
                }
            }
            Event::End(TagEnd::HtmlBlock) => {
                if let Some((h, r)) = html.take() {
                    let t = fragment_text(&h);
                    b.emit(ctx(quote, items), &t, r, in_note);
                }
            }
            Event::Start(Tag::Heading { .. }) | Event::Start(Tag::Item) | Event::Start(Tag::BlockQuote(_)) => {
                b.flush(ctx(quote, items), in_note);
                match event {
                    Event::Start(Tag::Item) => items += 1,
                    Event::Start(Tag::BlockQuote(kind)) => {
                        quote += 1;
                        // GitHub alerts (`> [!TIP]`) are read with their label.
                        b.cur.push_str(match kind {
                            Some(BlockQuoteKind::Note) => "Note: ",
                            Some(BlockQuoteKind::Tip) => "Tip: ",
                            Some(BlockQuoteKind::Important) => "Important: ",
                            Some(BlockQuoteKind::Warning) => "Warning: ",
                            Some(BlockQuoteKind::Caution) => "Caution: ",
                            None => "",
                        });
                    }
                    _ => {}
                }
            }
            Event::End(TagEnd::Heading(level)) => b.flush(BlockKind::Heading { level: level_num(level) }, in_note),
            Event::End(TagEnd::Item) => {
                b.flush(ctx(quote, items), in_note);
                items = items.saturating_sub(1);
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                b.flush(ctx(quote, items), in_note);
                quote = quote.saturating_sub(1);
            }
            Event::End(TagEnd::Paragraph) => b.flush(ctx(quote, items), in_note),
            Event::Start(Tag::FootnoteDefinition(_)) => {
                b.flush(ctx(quote, items), in_note);
                in_note = true;
            }
            Event::End(TagEnd::FootnoteDefinition) => {
                b.flush(BlockKind::Note, in_note);
                in_note = false;
            }
            Event::End(TagEnd::TableCell) => {
                cells.push(clean_inline(&std::mem::take(&mut b.cur)).0);
                b.range = None;
            }
            Event::End(TagEnd::TableHead) | Event::End(TagEnd::TableRow) => {
                let row: Vec<String> = cells.drain(..).filter(|c| !c.is_empty()).collect();
                b.emit(BlockKind::Table, &row.join("; "), range, in_note);
            }
            Event::Text(t) => b.add(&strip_shortcodes(&t), range),
            Event::Code(t) => b.add(&t, range),
            Event::InlineHtml(h) if h.trim_start().to_ascii_lowercase().starts_with("<br") => b.cur.push(' '),
            Event::SoftBreak | Event::HardBreak => b.cur.push(' '),
            Event::Rule => b.flush(ctx(quote, items), in_note),
            _ => {}
        }
    }
    b.flush(BlockKind::Paragraph, in_note);
    let notes = if opts.notes == NotesMode::End { b.notes } else { Vec::new() };
    Parsed { blocks: b.out, notes, front_title, front_date }
}

struct Builder<'a> {
    path: &'a Path,
    out: Vec<Block>,
    notes: Vec<Block>,
    cur: String,
    range: Option<Range<usize>>,
    /// Alt texts of images in the current block, read after it.
    pending_alts: Vec<(String, Range<usize>)>,
    /// The file's language as its front matter states it (`lang:` or `language:`).
    language: Option<String>,
}

impl Builder<'_> {
    fn add(&mut self, t: &str, range: Range<usize>) {
        self.cur.push_str(t);
        self.range = Some(match self.range.take() {
            Some(r) => r.start..range.end,
            None => range,
        });
    }

    fn flush(&mut self, kind: BlockKind, note: bool) {
        let raw = std::mem::take(&mut self.cur);
        let range = self.range.take().unwrap_or(0..0);
        self.emit(kind, &raw, range, note);
        for (alt, range) in std::mem::take(&mut self.pending_alts) {
            self.emit(BlockKind::ImageAlt, &alt, range, note);
        }
    }

    fn emit(&mut self, kind: BlockKind, raw: &str, range: Range<usize>, note: bool) {
        let text = clean_inline(raw).0;
        if text.is_empty() {
            return;
        }
        let source = Source { file: self.path.to_path_buf(), range };
        let language = self.language.clone();
        if note {
            self.notes.push(Block { kind: BlockKind::Note, text, source, language });
        } else {
            self.out.push(Block { kind, text, source, language });
        }
    }
}

/// Drops GitHub emoji shortcodes (`:wink:`, `:heavy_check_mark:`), which are not read aloud.
fn strip_shortcodes(text: &str) -> String {
    if !text.contains(':') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(p) = rest.find(':') {
        let after = &rest[p + 1..];
        let len = after.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '+' | '-')));
        let before_ok = rest[..p].chars().next_back().is_none_or(|c| c.is_whitespace() || c == '(');
        let is_code = len.is_some_and(|l| {
            (2..=40).contains(&l)
                && after[l..].starts_with(':')
                && after[..l].chars().any(|c| c.is_ascii_lowercase())
                && after[l + 1..].chars().next().is_none_or(|c| !c.is_alphanumeric())
        });
        if before_ok && is_code {
            out.push_str(rest[..p].trim_end_matches(' '));
            rest = &after[len.unwrap_or(0) + 1..];
        } else {
            out.push_str(&rest[..=p]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Words for spaced scripts; two CJK characters count as one word.
fn word_estimate(text: &str) -> usize {
    let cjk = text
        .chars()
        .filter(|&c| matches!(u32::from(c), 0x3040..=0x30FF | 0x3400..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF))
        .count();
    text.split_whitespace().count() + cjk / 2
}

fn level_num(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// A value such as `title:` from YAML (`title: "Tutorial"`) or TOML (`title = "Tutorial"`) front
/// matter.
fn front_matter_value(meta: &str, kind: MetadataBlockKind, key: &str) -> Option<String> {
    let sep = match kind {
        MetadataBlockKind::YamlStyle => ':',
        MetadataBlockKind::PlusesStyle => '=',
    };
    meta.lines().find_map(|l| {
        let (k, v) = l.split_once(sep)?;
        (k.trim() == key).then(|| v.trim().trim_matches(['"', '\'']).trim().to_string()).filter(|v| !v.is_empty())
    })
}

fn split(
    blocks: Vec<Block>,
    notes: Vec<Block>,
    page_title: &str,
    is_titled_page: bool,
    toc_depth: Option<u8>,
) -> Vec<Chapter> {
    // Heading levels in use, outermost first: `--toc-depth N` names the Nth of them.
    let mut levels: Vec<u8> = blocks.iter().filter_map(heading_level).collect();
    levels.sort_unstable();
    levels.dedup();
    let rank = |level: u8| levels.iter().position(|&l| l == level).map_or(0, |r| r as u8 + 1);
    // Headings that start chapters: those of the chosen level and the levels above it (entries
    // above the level a listener navigates by are chapters too), else the default's one level.
    let split_ranks = match toc_depth {
        Some(depth) => {
            let lone_title = |l: u8| blocks.iter().filter(|b| heading_level(b) == Some(l)).count() < 2;
            // A lone top heading is the page's title, not a chapter of its own.
            let split = |r: u8| r <= depth && !(r == 1 && depth == 1 && lone_title(levels[0]));
            (1..=levels.len() as u8).filter(|&r| split(r)).collect::<Vec<u8>>()
        }
        None => default_split_level(&blocks, is_titled_page).map(rank).into_iter().collect(),
    };
    let base = split_ranks.iter().copied().max().unwrap_or(0);
    let splits = |level: Option<u8>| level.is_some_and(|l| split_ranks.contains(&rank(l)));
    let mut chapters = vec![Chapter::new(page_title, Vec::new())];
    for b in blocks {
        let level = heading_level(&b);
        if splits(level) {
            chapters.push(Chapter::new(b.text.clone(), Vec::new()));
        } else if let (Some(level), Some(c)) = (level, chapters.last_mut()) {
            // Deeper headings are the chapter's sections; the title heading that opens it is not.
            let opens_page = c.blocks.is_empty() && b.text == c.title;
            if rank(level) > base && !opens_page {
                let depth = rank(level) - base;
                c.sections.push(Section { title: b.text.clone(), block: c.blocks.len(), depth });
            }
        }
        if let Some(c) = chapters.last_mut() {
            c.blocks.push(b);
        }
    }
    if let Some(c) = chapters.last_mut() {
        c.blocks.extend(notes);
    }
    let mut chapters = super::chapters::tidy(chapters);
    // Without a split level the page title's heading is the base, so its sections start at 1.
    if split_ranks.is_empty() {
        for c in &mut chapters {
            let top = c.sections.iter().map(|s| s.depth).min().unwrap_or(1);
            for s in &mut c.sections {
                s.depth -= top - 1;
            }
        }
    }
    chapters
}

fn heading_level(b: &Block) -> Option<u8> {
    match b.kind {
        BlockKind::Heading { level } => Some(level),
        _ => None,
    }
}

/// Two or more H1s are chapters whatever the file's length (a book written as one file), unless
/// front matter titles the file as one page of a docs site. A long file splits at its top level,
/// or the next one down when the top holds a single document title.
fn default_split_level(blocks: &[Block], is_titled_page: bool) -> Option<u8> {
    let words: usize = blocks.iter().map(|b| word_estimate(&b.text)).sum();
    let count = |l: u8| blocks.iter().filter(|b| heading_level(b) == Some(l)).count();
    if !is_titled_page && count(1) >= 2 {
        return Some(1);
    }
    if words < SPLIT_WORDS {
        return None;
    }
    let top = blocks.iter().filter_map(heading_level).min()?;
    let level =
        if count(top) >= 2 { top } else { blocks.iter().filter_map(heading_level).filter(|&l| l > top).min()? };
    (count(level) >= 2).then_some(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_lang_tags_every_block_of_the_file_but_not_the_book() {
        let yaml =
            book("---\ntitle: Cuento\nlang: es\n---\n\n# Uno\n\nEl niño.\n\n- Un perro.\n", &IngestOptions::default());
        let languages: Vec<Option<&str>> =
            yaml.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.language.as_deref()).collect();
        assert_eq!(languages, [Some("es"); 3]);
        assert_eq!(yaml.meta.language, None, "a docs tree's translation check needs the book's language unstated");
        let toml = book("+++\nlanguage = \"fr\"\n+++\n\nBonjour.\n", &IngestOptions::default());
        assert_eq!(toml.chapters[0].blocks[0].language.as_deref(), Some("fr"));
        assert_eq!(book("Words.\n", &IngestOptions::default()).chapters[0].blocks[0].language, None);
    }

    fn book(md: &str, opts: &IngestOptions) -> Book {
        match read(Path::new("page.md"), md.as_bytes(), opts) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_short_file_with_two_h1s_is_two_chapters_unless_front_matter_titles_it() {
        let md = "# One\n\nFirst words.\n\n# Two\n\nSecond words.\n";
        let titles = |b: &Book| b.chapters.iter().map(|c| c.title.clone()).collect::<Vec<_>>();
        assert_eq!(titles(&book(md, &IngestOptions::default())), ["One", "Two"]);
        let page = format!("---\ntitle: Page\n---\n{md}");
        assert_eq!(titles(&book(&page, &IngestOptions::default())), ["Page"]);
    }

    #[test]
    fn front_matter_links_code_and_html() {
        let md = "---\ntitle: \"Spawning\"\n---\n\n<p align=\"center\"><a href=\"#a\">Nav</a> • <a href=\"#b\">More</a></p>\n\nSee [the docs](https://example.org/x) and <https://example.org/y> now, `cargo run`.\n\n```rust\n# fn dox() {\nlet x = 1;\n```\n\n# Section\n\n![A diagram](d.png) Text.\n";
        let b = book(md, &IngestOptions::default());
        assert_eq!(b.chapters.len(), 1);
        assert_eq!(b.chapters[0].title, "Spawning");
        let texts: Vec<_> = b.chapters[0].blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["See the docs and example.org now, cargo run.", "Section", "Text."]);
        let opts = IngestOptions { code: CodeMode::Announce, alt_text: true, ..IngestOptions::default() };
        let b = book(md, &opts);
        let kinds: Vec<_> = b.chapters[0].blocks.iter().map(|b| b.kind).collect();
        assert!(kinds.contains(&BlockKind::Code));
        assert!(kinds.contains(&BlockKind::ImageAlt));
    }

    #[test]
    fn long_file_splits_at_top_level_below_a_single_title() {
        let para = "word ".repeat(400);
        let md = format!(
            "# Title\n\nIntro {para}\n\n## One\n\n{para}\n\n## Two\n\n{para}\n\n### Sub\n\n{para}\n\n## Three\n\n{para}\n"
        );
        let b = book(&md, &IngestOptions::default());
        let titles: Vec<_> = b.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["Title", "One", "Two", "Three"]);
    }

    #[test]
    fn toc_depth_picks_the_heading_level_and_deeper_headings_are_sections() {
        let md = "# Guide\n\nIntro.\n\n## Install\n\nSteps.\n\n### Linux\n\nApt.\n\n## Use\n\nRun it.\n";
        let with = |toc_depth| book(md, &IngestOptions { toc_depth, ..IngestOptions::default() });
        let titles = |b: &Book| b.chapters.iter().map(|c| c.title.clone()).collect::<Vec<_>>();
        let sections = |c: &Chapter| c.sections.iter().map(|s| (s.title.clone(), s.block, s.depth)).collect::<Vec<_>>();
        // Short, one H1: one chapter whose headings are its sections.
        let one = with(None);
        assert_eq!(titles(&one), ["Guide"]);
        let expected = [("Install".to_string(), 2, 1), ("Linux".to_string(), 4, 2), ("Use".to_string(), 6, 1)];
        assert_eq!(sections(&one.chapters[0]), expected);
        assert_eq!(titles(&with(Some(1))), ["Guide"]);
        let two = with(Some(2));
        assert_eq!(titles(&two), ["Guide", "Install", "Use"]);
        assert_eq!(sections(&two.chapters[1]), [("Linux".to_string(), 2, 1)]);
        assert_eq!(titles(&with(Some(3))), ["Guide", "Install", "Linux", "Use"]);
    }

    #[test]
    fn alerts_and_shortcodes() {
        let b = book(
            "Concatenate files :wink:. Time 10:30:00 stays.\n\n> [!TIP]\n> Remove them later.\n",
            &IngestOptions::default(),
        );
        let texts: Vec<_> = b.chapters[0].blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["Concatenate files. Time 10:30:00 stays.", "Tip: Remove them later."]);
    }

    #[test]
    fn tables_read_row_by_row_when_asked() {
        let md = "| A | B |\n|---|---|\n| 1 | [x](http://e.org) |\n";
        let b = read(Path::new("t.md"), md.as_bytes(), &IngestOptions::default());
        assert!(matches!(b, Err(IngestError::NoText { .. })));
        let b = book(md, &IngestOptions { tables: true, ..IngestOptions::default() });
        let texts: Vec<_> = b.chapters[0].blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["A; B", "1; x"]);
    }

    #[test]
    fn front_matter_states_the_date_in_yaml_or_toml() {
        let yaml = book("---\ntitle: Page\ndate: \"2021-03-04\"\n---\nWords.\n", &IngestOptions::default());
        assert_eq!(yaml.meta.date.as_deref(), Some("2021-03-04"));
        let toml = book("+++\ndate = 1999\n+++\nWords.\n", &IngestOptions::default());
        assert_eq!(toml.meta.date.as_deref(), Some("1999"));
        assert_eq!(book("Words.\n", &IngestOptions::default()).meta.date, None);
    }
}
