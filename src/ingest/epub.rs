//! Ingest, EPUB 2 and 3: reads the package with `rbook`, the content documents with [`super::html`].
//!
//! Takes the bytes of an `.epub`, gives a [`Book`] whose chapters follow the table of contents.
//! Before `rbook` sees the archive every zip entry is inflated once through a size cap
//! ([`super::Limits`]), so a zip bomb fails fast with a clear error instead of eating memory;
//! the text entries are kept from that pass and parsed by our lenient reader.
//!
//! Chapter rules:
//! * Chapters start at the TOC entries (EPUB 3 nav, else the NCX), with the titles the TOC shows.
//!   An entry pointing at `file#fragment` starts where that `id` is, so one file can hold several.
//!   Text before a document's first anchor joins the chapter before, or stands as its own chapter
//!   (titled by its first heading) when it runs to 1,000 words or more.
//! * Links that do not resolve from the TOC's folder are tried from the package folder, then by
//!   a file name only one spine document has (with a warning). When fewer links resolve than not,
//!   or none do, each spine document is a chapter titled by its first heading (with a warning).
//! * Nesting: chapters are at the first level with more than one entry: a lone wrapper entry is
//!   the book (cover, title page and other matter entries beside it do not count, nor a short
//!   page with the book's title or a licence notice), its own text front matter (a heading-only
//!   page of it is read before the first chapter). There an entry
//!   is a chapter and its sub-entries are its [`Section`]s, except when the entry has no link or
//!   its own text up to its first sub-entry is only headings (a "Part" page, a section title):
//!   then its sub-entries are chapters too. `toc_depth` N instead makes
//!   the entries of level N chapters (and those above it, for their own text). A chapter left with
//!   nothing but headings is joined to the start of the next one, so "Part I" is read before
//!   chapter I.
//! * Spine items without a TOC entry join the chapter before them; text before the first entry
//!   is front matter (title pages, dedications), read only with `keep_front_matter` or when it
//!   runs to 1,000 words or more (text the TOC forgot).
//! * Skipped by default (`keep_front_matter` keeps them): cover, title page, copyright page,
//!   imprint, colophon, uncopyright, printed contents (including the nav document when it is in
//!   the spine) and publisher adverts, found by `epub:type`/`role`, the landmarks or guide, file
//!   names and TOC labels; also a chapter under 150 words that carries the book's title or a
//!   licence notice (`Todo es mío`'s title page). `linear="no"` items are skipped unless `read_nonlinear`; a file the
//!   spine lists twice is read once.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rbook::prelude::*;

use super::chapters::tidy;
use super::html;
use super::text::decode_document;
use super::{
    Block, BlockKind, Book, BookMeta, Chapter, Cover, IngestError, IngestOptions, NotesMode, Section, Warning,
};

/// File-name tokens of documents that are front or back matter rather than reading text.
const MATTER_NAME_TOKENS: &[&str] = &[
    "cover",
    "frontcover",
    "titlepage",
    "halftitle",
    "halftitlepage",
    "copyright",
    "uncopyright",
    "imprint",
    "colophon",
    "toc",
    "contents",
    "promo",
    "ad",
    "advert",
    "advertisement",
];

const MATTER_LANDMARKS: &[&str] = &[
    "cover",
    "toc",
    "copyright-page",
    "titlepage",
    "title-page",
    "colophon",
    "imprint",
    "halftitlepage",
    "loi",
    "lot",
];

const MATTER_LABELS: &[&str] = &[
    "cover",
    "title page",
    "titlepage",
    "half title",
    "copyright",
    "copyright page",
    "imprint",
    "colophon",
    "uncopyright",
    "table of contents",
    "contents",
    "toc",
    "couverture",
    "page de titre",
];

struct Doc {
    /// Path inside the zip, without a leading slash.
    path: String,
    blocks: Vec<Block>,
    anchors: HashMap<String, html::Mark>,
    notes: Vec<(html::Mark, Block)>,
    /// Front or back matter to leave out.
    matter: bool,
}

/// A position in the reading order: (document, block, sequence; see [`html::Mark`]).
type Pos = (usize, usize, usize);

struct TocNode {
    label: String,
    target: Option<Pos>,
    children: Vec<TocNode>,
}

/// Where a chapter starts.
struct Boundary {
    pos: Pos,
    title: String,
    matter: bool,
}

/// Where a section (a TOC entry below the chapter level) starts.
struct Mark {
    pos: Pos,
    title: String,
    depth: u8,
}

/// The chapter starts and section starts chosen from the TOC.
#[derive(Default)]
struct Selection {
    bounds: Vec<Boundary>,
    marks: Vec<Mark>,
}

/// How the TOC's links resolved.
#[derive(Default)]
struct LinkStats {
    resolved: usize,
    /// Resolved only by [`Links::repair`].
    repaired: usize,
    broken: usize,
}

/// Reads one EPUB held in memory.
pub(crate) fn read(path: &Path, bytes: Vec<u8>, opts: &IngestOptions) -> Result<Book, IngestError> {
    let mut warnings = Vec::new();
    let entries = scan_zip(path, &bytes, opts, &mut warnings)?;
    if !entries.contains_key("META-INF/container.xml") {
        return Err(IngestError::Epub { path: path.to_path_buf(), reason: "missing META-INF/container.xml".into() });
    }
    let warn = |w: &mut Vec<Warning>, msg: String| w.push(Warning { file: path.to_path_buf(), message: msg });
    let shared: Arc<[u8]> = bytes.into();
    let open =
        |skip_toc: bool| rbook::Epub::options().strict(false).skip_toc(skip_toc).read(Cursor::new(shared.clone()));
    let epub = match open(false) {
        Ok(epub) => epub,
        // A broken NCX or nav must not cost the whole book: read it again without its TOC.
        Err(first) => match open(true) {
            Ok(epub) => {
                warn(&mut warnings, format!("table of contents unreadable ({})", rbook_reason(&first.to_string())));
                epub
            }
            Err(_) => {
                return Err(IngestError::Epub { path: path.to_path_buf(), reason: rbook_reason(&first.to_string()) });
            }
        },
    };

    let mut meta = read_meta(&epub, &entries);
    if meta.title.is_empty() {
        meta.title = super::text::file_title(path);
    }
    let spine = load_spine(&epub, &entries, path, opts, &mut warnings);
    if spine.docs.is_empty() {
        let reason = match package_in_utf16_without_bom(&entries) {
            Some(opf) => format!("{opf} is UTF-16 without the byte-order mark XML requires; save it as UTF-8"),
            None => "the spine lists no readable documents".into(),
        };
        return Err(IngestError::Epub { path: path.to_path_buf(), reason });
    }

    let chapters = chapters_by_toc(&epub, &spine, opts, &meta.title, &mut warnings, path);
    let chapters = tidy(chapters);
    if chapters.is_empty() {
        return Err(IngestError::NoText { path: path.to_path_buf() });
    }
    Ok(Book { meta, chapters, warnings })
}

/// The chapters the table of contents gives, resolved against the spine; the spine's own when the
/// TOC is missing or mostly broken.
fn chapters_by_toc(
    epub: &rbook::Epub,
    spine: &SpineDocs,
    opts: &IngestOptions,
    book_title: &str,
    warnings: &mut Vec<Warning>,
    path: &Path,
) -> Vec<Chapter> {
    let warn = |w: &mut Vec<Warning>, message: String| w.push(Warning { file: path.to_path_buf(), message });
    let docs = &spine.docs;
    let links = Links::new(epub, spine);
    let mut stats = LinkStats::default();
    let toc = match epub.toc().contents() {
        Some(root) => toc_nodes(&root, docs, &links, &mut stats, 0),
        None => Vec::new(),
    };
    if stats.repaired > 0 {
        let n = stats.repaired;
        warn(warnings, format!("{n} table-of-contents links repaired (found from the package folder or by file name)"));
    }
    if stats.broken > 0 {
        warn(warnings, format!("{} table-of-contents links point to files not in the spine", stats.broken));
    }
    // Title pages count as matter beside a wrapper where toc_chapters skips them.
    let title_pages = (!opts.keep_front_matter).then_some(book_title);
    let Selection { bounds, marks } = select(&toc, docs, opts.toc_depth, title_pages);
    // Most links broken: the TOC no longer says where chapters are, the spine still does.
    let usable = !bounds.is_empty() && stats.resolved >= stats.broken;
    if usable {
        toc_chapters(bounds, &marks, docs, opts, book_title)
    } else {
        if !toc.is_empty() || stats.broken > 0 {
            let (ok, all) = (stats.resolved, stats.resolved + stats.broken);
            warn(
                warnings,
                format!("table of contents unusable ({ok} of {all} links resolve), chapters taken from the spine"),
            );
        }
        spine_chapters(docs, opts, book_title)
    }
}

/// The readable spine documents, in order, read once each.
struct SpineDocs {
    docs: Vec<Doc>,
    /// Zip key -> index in `docs`.
    by_path: HashMap<String, usize>,
    /// Every zip key the spine lists, read or not (non-linear, not XHTML).
    in_spine: HashSet<String>,
}

fn load_spine(
    epub: &rbook::Epub,
    entries: &HashMap<String, Vec<u8>>,
    path: &Path,
    opts: &IngestOptions,
    warnings: &mut Vec<Warning>,
) -> SpineDocs {
    let mut warn = |msg: String| warnings.push(Warning { file: path.to_path_buf(), message: msg });
    let matter_paths = matter_landmarks(epub);
    let mut spine = SpineDocs { docs: Vec::new(), by_path: HashMap::new(), in_spine: HashSet::new() };
    for item in epub.spine().entries() {
        let Some(entry) = item.manifest_entry() else {
            warn(format!("spine item `{}` is not in the manifest, skipped", item.idref()));
            continue;
        };
        let key = zip_key(&entry.href().decode());
        if !spine.in_spine.insert(key.clone()) {
            continue;
        }
        if !item.is_linear() && !opts.read_nonlinear {
            continue;
        }
        let media = entry.media_type();
        if !(media.contains("html") || key.ends_with("html") || key.ends_with(".htm")) {
            warn(format!("spine item {key} is {media}, not a content document, skipped"));
            continue;
        }
        let Some(raw) = entries.get(&key) else {
            warn(format!("spine item {key} is missing from the archive, skipped"));
            continue;
        };
        let is_nav = entry.properties().has_property("nav");
        let matter = !opts.keep_front_matter
            && (is_nav || matter_paths.contains(&key) || name_is_matter(&key) || name_is_matter(entry.id()));
        let text = decode_document(raw);
        let dom = html::parse(&text);
        let file = PathBuf::from(format!("{}#{}", path.display(), key));
        let extracted = html::extract(&dom, &file, opts);
        if dom.repairs > 0 {
            warn(format!("{key}: repaired {} markup errors", dom.repairs));
        }
        if extracted.control_chars > 0 {
            warn(format!("{key}: replaced {} stray control characters", extracted.control_chars));
        }
        spine.by_path.insert(key.clone(), spine.docs.len());
        spine.docs.push(Doc {
            path: key,
            blocks: extracted.blocks,
            anchors: extracted.anchors,
            notes: extracted.notes,
            matter,
        });
    }
    spine
}

/// Whole documents the landmarks (EPUB 3) or guide (EPUB 2) call cover, title page, contents...
fn matter_landmarks(epub: &rbook::Epub) -> HashSet<String> {
    let mut paths = HashSet::new();
    if let Some(landmarks) = epub.toc().landmarks() {
        for lm in landmarks.children().iter() {
            if MATTER_LANDMARKS.contains(&lm.kind().as_str())
                && let Some(href) = lm.href()
            {
                let h = href.decode();
                if !h.contains('#') {
                    paths.insert(zip_key(&h));
                }
            }
        }
    }
    paths
}

/// Inflates every entry once under the caps; keeps the text entries.
fn scan_zip(
    path: &Path,
    bytes: &[u8],
    opts: &IngestOptions,
    warnings: &mut Vec<Warning>,
) -> Result<HashMap<String, Vec<u8>>, IngestError> {
    let corrupt = |reason: String| IngestError::Epub { path: path.to_path_buf(), reason };
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| corrupt(format!("not a readable zip archive ({e})")))?;
    if zip.len() > opts.limits.max_entries {
        return Err(corrupt(format!("too many zip entries ({}, limit {})", zip.len(), opts.limits.max_entries)));
    }
    let mut kept = HashMap::new();
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut file = match zip.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                warnings.push(Warning { file: path.to_path_buf(), message: format!("zip entry {i} unreadable ({e})") });
                continue;
            }
        };
        if file.is_dir() {
            continue;
        }
        let name = file.name().to_string();
        // Only the package and its documents are read: images, fonts and audio are never
        // inflated, so they cost neither time nor memory (the cover is read on its own).
        let lower = name.to_ascii_lowercase();
        if ![".xml", ".opf", ".ncx", "html", ".htm"].iter().any(|s| lower.ends_with(s)) {
            continue;
        }
        let cap = opts.limits.max_entry_bytes;
        let mut buf = Vec::new();
        let read = (&mut file).take(cap + 1).read_to_end(&mut buf);
        if let Err(e) = read {
            warnings.push(Warning { file: path.to_path_buf(), message: format!("zip entry {name} unreadable ({e})") });
            continue;
        }
        let len = buf.len() as u64;
        if len > cap {
            return Err(IngestError::TooLarge { path: path.to_path_buf(), what: name, limit_mib: cap >> 20 });
        }
        total += len;
        if total > opts.limits.max_total_bytes {
            return Err(IngestError::TooLarge {
                path: path.to_path_buf(),
                what: "the archive in total".into(),
                limit_mib: opts.limits.max_total_bytes >> 20,
            });
        }
        kept.insert(name, buf);
    }
    Ok(kept)
}

fn read_meta(epub: &rbook::Epub, entries: &HashMap<String, Vec<u8>>) -> BookMeta {
    let md = epub.metadata();
    let title = md.title().map(|t| squash(t.value())).unwrap_or_default();
    let authors = md.creators().map(|c| squash(c.value())).filter(|s| !s.is_empty()).collect();
    let language = md.language().map(|l| l.value().trim().to_string()).filter(|s| !s.is_empty());
    let date = md.publication_date().map(|d| d.as_str().trim().to_string()).filter(|s| !s.is_empty());
    let cover = epub.manifest().cover_image().and_then(|c| {
        let key = zip_key(&c.href().decode());
        // The zip was already scanned under the caps, so this read is bounded.
        let bytes = match entries.get(&key) {
            Some(b) => b.clone(),
            None => epub.read_resource_bytes(c.href().decode().as_ref()).ok()?,
        };
        Some(Cover { media_type: c.media_type().to_string(), bytes })
    });
    BookMeta { title, authors, language, cover, date }
}

fn toc_nodes(
    entry: &rbook::ebook::epub::toc::EpubTocEntry<'_>,
    docs: &[Doc],
    links: &Links<'_>,
    stats: &mut LinkStats,
    depth: usize,
) -> Vec<TocNode> {
    if depth > html::MAX_DEPTH {
        return Vec::new();
    }
    let mut out = Vec::new();
    for child in entry.children().iter() {
        let href = child.href().map(|h| h.decode().into_owned());
        let raw = child.href_raw().map(|h| h.decode().into_owned());
        let target = href.and_then(|href| {
            let (doc, frag) = match links.resolve(&href, raw.as_deref()) {
                Link::Doc { doc, repaired, frag } => {
                    stats.resolved += 1;
                    stats.repaired += usize::from(repaired);
                    (doc, frag)
                }
                // Links to skipped non-linear items are expected; others resolve nowhere.
                Link::Skipped => return None,
                Link::Broken => {
                    stats.broken += 1;
                    return None;
                }
            };
            let (block, seq) = frag.and_then(|f| docs[doc].anchors.get(&f).copied()).unwrap_or((0, 0));
            Some((doc, block, seq))
        });
        out.push(TocNode {
            label: squash(child.label()),
            target,
            children: toc_nodes(&child, docs, links, stats, depth + 1),
        });
    }
    out
}

/// Resolves TOC links against the spine, repairing those written relative to the wrong folder.
struct Links<'a> {
    by_path: &'a HashMap<String, usize>,
    in_spine: &'a HashSet<String>,
    /// The package document's folder (`OEBPS`), without slashes at its ends.
    package_dir: String,
    /// File name -> document, for names only one spine document has.
    by_name: HashMap<String, usize>,
}

enum Link {
    Doc {
        doc: usize,
        frag: Option<String>,
        repaired: bool,
    },
    /// A spine item that is not read (non-linear, not XHTML).
    Skipped,
    Broken,
}

impl<'a> Links<'a> {
    fn new(epub: &rbook::Epub, spine: &'a SpineDocs) -> Self {
        let mut names: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, d) in spine.docs.iter().enumerate() {
            names.entry(file_name(&d.path).to_string()).or_default().push(i);
        }
        let by_name = names.into_iter().filter(|(_, v)| v.len() == 1).map(|(k, v)| (k, v[0])).collect();
        let package_dir = epub.package_directory().decode().trim_matches('/').to_string();
        Links { by_path: &spine.by_path, in_spine: &spine.in_spine, package_dir, by_name }
    }

    /// `href` as rbook resolved it (from the TOC's own folder); `raw` as the TOC wrote it.
    fn resolve(&self, href: &str, raw: Option<&str>) -> Link {
        let (file, frag) = split_fragment(href);
        let key = zip_key(file);
        if let Some(&doc) = self.by_path.get(&key) {
            return Link::Doc { doc, frag, repaired: false };
        }
        if self.in_spine.contains(&key) {
            return Link::Skipped;
        }
        match raw.and_then(|raw| self.repair(raw)) {
            Some(doc) => Link::Doc { doc, frag, repaired: true },
            None => Link::Broken,
        }
    }

    /// A link written relative to the package folder, or naming a file only one spine document has.
    fn repair(&self, raw: &str) -> Option<usize> {
        let (file, _) = split_fragment(raw);
        let from_package = join_path(&self.package_dir, file);
        self.by_path.get(&from_package).or_else(|| self.by_name.get(file_name(file))).copied()
    }
}

fn split_fragment(href: &str) -> (&str, Option<String>) {
    match href.split_once('#') {
        Some((f, frag)) => (f, Some(frag.to_string())),
        None => (href, None),
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `dir/rel` with `.` and `..` folded, as a zip key.
fn join_path(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if rel.starts_with('/') { Vec::new() } else { dir.split('/').collect() };
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.retain(|p| !p.is_empty());
    parts.join("/")
}

/// Chooses chapter starts from the TOC tree. `depth` (1 = outermost) makes the entries of that
/// level chapters; by default chapters start at the first level with more than one entry and
/// follow the nesting rule of the module doc. Entries below a chapter become its sections.
/// `title_pages` is the book's title where short title and licence pages are skipped.
fn select(toc: &[TocNode], docs: &[Doc], depth: Option<u8>, title_pages: Option<&str>) -> Selection {
    let mut chosen = Selection::default();
    match depth {
        Some(depth) => select_at(toc, 1, depth.max(1), &mut chosen),
        None => {
            let mut level = toc;
            // A lone wrapper entry is the book, not a chapter: its own text is front matter,
            // except a heading ("Section IV"), which is read before the first chapter.
            while let Some(wrapper) = lone_wrapper(level, docs, title_pages) {
                for n in level.iter().filter(|n| !std::ptr::eq(*n, wrapper)) {
                    // Cover and title page entries beside it keep their places (and are skipped).
                    push_bound(n, &mut chosen);
                }
                match (wrapper.target, first_target(&wrapper.children)) {
                    (Some(from), Some(to)) if only_headings(docs, from, to) => push_bound(wrapper, &mut chosen),
                    // Its own text is front matter: marked so, it ends the title page before it
                    // rather than joining it.
                    (Some(pos), _) => chosen.bounds.push(Boundary { pos, title: wrapper.label.clone(), matter: true }),
                    (None, _) => {}
                }
                level = &wrapper.children;
            }
            select_default(level, docs, &mut chosen);
        }
    }
    chosen
}

/// The one entry of a level that is not front or back matter, when it has entries below it.
/// Matter is what the chapter rules skip: by label, by document, and (given the book's title)
/// a short title or licence page, so a title page beside the wrapper does not hide it.
fn lone_wrapper<'t>(level: &'t [TocNode], docs: &[Doc], title_pages: Option<&str>) -> Option<&'t TocNode> {
    let starts: Vec<Pos> = level.iter().filter_map(|n| n.target.or_else(|| first_target(&n.children))).collect();
    let is_title_page = |n: &TocNode| {
        let (Some(book_title), Some(from), true) = (title_pages, n.target, n.children.is_empty()) else {
            return false;
        };
        let to = starts.iter().copied().filter(|p| *p > from).min().unwrap_or((docs.len(), 0, 0));
        let Some(blocks) = short_page(docs, from, to) else { return false };
        let title = if n.label.is_empty() { first_heading(&blocks).unwrap_or_default() } else { n.label.clone() };
        looks_like_title_page(&title, &blocks, book_title)
    };
    let is_matter =
        |n: &TocNode| label_is_matter(&n.label) || n.target.is_some_and(|(d, _, _)| docs[d].matter) || is_title_page(n);
    let mut reading = level.iter().filter(|n| !is_matter(n));
    match (reading.next(), reading.next()) {
        (Some(only), None) if !only.children.is_empty() => Some(only),
        _ => None,
    }
}

/// The blocks in `[from, to)` when they are under [`SHORT_PAGE_WORDS`] words (a chapter's worth
/// is not copied to find that out).
fn short_page(docs: &[Doc], from: Pos, to: Pos) -> Option<Vec<Block>> {
    let mut words = 0;
    let mut blocks = Vec::new();
    for block in blocks_between(docs, from, to) {
        words += block.text.split_whitespace().count();
        if words >= SHORT_PAGE_WORDS {
            return None;
        }
        blocks.push(block.clone());
    }
    Some(blocks)
}

fn select_default(nodes: &[TocNode], docs: &[Doc], out: &mut Selection) {
    for n in nodes {
        push_bound(n, out);
        if n.children.is_empty() {
            continue;
        }
        let descend = match (n.target, first_target(&n.children)) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(from), Some(to)) => only_headings(docs, from, to),
        };
        if descend {
            select_default(&n.children, docs, out);
        } else {
            push_marks(&n.children, 1, &mut out.marks);
        }
    }
}

fn select_at(nodes: &[TocNode], level: u8, depth: u8, out: &mut Selection) {
    for n in nodes {
        // Above the chosen level an entry's own text (before its first child) is a chapter too.
        push_bound(n, out);
        if level < depth {
            select_at(&n.children, level + 1, depth, out);
        } else {
            push_marks(&n.children, 1, &mut out.marks);
        }
    }
}

fn push_bound(n: &TocNode, out: &mut Selection) {
    if let Some(pos) = n.target {
        out.bounds.push(Boundary { pos, title: n.label.clone(), matter: label_is_matter(&n.label) });
    }
}

fn push_marks(nodes: &[TocNode], depth: u8, out: &mut Vec<Mark>) {
    for n in nodes {
        if let Some(pos) = n.target
            && !n.label.is_empty()
        {
            out.push(Mark { pos, title: n.label.clone(), depth });
        }
        push_marks(&n.children, depth.saturating_add(1), out);
    }
}

fn first_target(nodes: &[TocNode]) -> Option<Pos> {
    nodes.iter().find_map(|n| n.target.or_else(|| first_target(&n.children)))
}

fn only_headings(docs: &[Doc], from: Pos, to: Pos) -> bool {
    if (to.0, to.1) <= (from.0, from.1) {
        return true;
    }
    blocks_between(docs, from, to).all(|b| matches!(b.kind, BlockKind::Heading { .. }))
}

/// Blocks of the non-matter documents in `[from, to)`.
fn blocks_between(docs: &[Doc], from: Pos, to: Pos) -> impl Iterator<Item = &Block> {
    (from.0..=to.0.min(docs.len().saturating_sub(1))).filter(|&d| !docs[d].matter).flat_map(move |d| {
        let start = if d == from.0 { from.1 } else { 0 };
        let end = if d == to.0 { to.1 } else { docs[d].blocks.len() };
        docs[d].blocks.get(start..end.max(start)).unwrap_or(&[]).iter()
    })
}

fn notes_between(docs: &[Doc], from: Pos, to: Pos) -> impl Iterator<Item = &Block> {
    (from.0..=to.0.min(docs.len().saturating_sub(1))).filter(|&d| !docs[d].matter).flat_map(move |d| {
        docs[d].notes.iter().filter(move |((at, seq), _)| (d, *at, *seq) >= from && (d, *at, *seq) < to).map(|(_, b)| b)
    })
}

fn toc_chapters(
    mut bounds: Vec<Boundary>,
    marks: &[Mark],
    docs: &[Doc],
    opts: &IngestOptions,
    book_title: &str,
) -> Vec<Chapter> {
    bounds.sort_by_key(|b| b.pos);
    let unlisted = long_unlisted_starts(&bounds, docs);
    bounds.extend(unlisted);
    bounds.sort_by_key(|b| b.pos);
    let end: Pos = (docs.len(), 0, 0);
    let mut chapters = Vec::new();
    let first = bounds.first().map_or(end, |b| b.pos);
    if first > (0, 0, 0) {
        // Text before the first TOC entry: title pages and dedications, read only on request,
        // unless it is long enough to be real text the TOC forgot.
        let blocks = gather(docs, (0, 0, 0), first, opts);
        if opts.keep_front_matter || word_count(&blocks) >= UNLISTED_TEXT_WORDS {
            let title = first_heading(&blocks).unwrap_or_else(|| book_title.to_string());
            chapters.push(Chapter::new(title, blocks));
        }
    }
    for (k, b) in bounds.iter().enumerate() {
        let to = bounds.get(k + 1).map_or(end, |n| n.pos);
        if b.matter && !opts.keep_front_matter {
            continue;
        }
        let blocks = gather(docs, b.pos, to, opts);
        let title = if b.title.is_empty() { first_heading(&blocks).unwrap_or_default() } else { b.title.clone() };
        if !opts.keep_front_matter && looks_like_title_page(&title, &blocks, book_title) {
            continue;
        }
        let sections = sections_in(marks, docs, b.pos, to, &title);
        chapters.push(Chapter { title, blocks, sections });
    }
    chapters
}

/// A document whose first TOC entry points into its middle: the text before that anchor joins
/// the chapter before, unless it is long enough to stand as a chapter of its own (titled by its
/// first heading).
fn long_unlisted_starts(bounds: &[Boundary], docs: &[Doc]) -> Vec<Boundary> {
    let mut starts = Vec::new();
    for pair in bounds.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        let doc_start = (next.pos.0, 0, 0);
        if prev.pos.0 == next.pos.0 || next.pos == doc_start || docs[next.pos.0].matter {
            continue;
        }
        let words: usize = blocks_between(docs, doc_start, next.pos).map(|b| b.text.split_whitespace().count()).sum();
        if words >= UNLISTED_TEXT_WORDS {
            starts.push(Boundary { pos: doc_start, title: String::new(), matter: false });
        }
    }
    starts
}

/// The sections of the chapter `[from, to)` titled `title`, at their block in the chapter.
fn sections_in(marks: &[Mark], docs: &[Doc], from: Pos, to: Pos, title: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = marks
        .iter()
        .filter(|m| m.pos >= from && m.pos < to)
        .map(|m| Section { title: m.title.clone(), block: blocks_between(docs, from, m.pos).count(), depth: m.depth })
        .filter(|s| s.block > 0 || s.title != title)
        .collect();
    sections.sort_by_key(|s| s.block);
    sections.dedup_by(|a, b| a.block == b.block && a.title == b.title);
    sections
}

fn word_count(blocks: &[Block]) -> usize {
    blocks.iter().map(|b| b.text.split_whitespace().count()).sum()
}

fn gather(docs: &[Doc], from: Pos, to: Pos, opts: &IngestOptions) -> Vec<Block> {
    let mut blocks: Vec<Block> = blocks_between(docs, from, to).cloned().collect();
    if opts.notes == NotesMode::End {
        blocks.extend(notes_between(docs, from, to).cloned());
    }
    blocks
}

fn spine_chapters(docs: &[Doc], opts: &IngestOptions, book_title: &str) -> Vec<Chapter> {
    (0..docs.len())
        .filter(|&d| !docs[d].matter)
        .map(|d| {
            let blocks = gather(docs, (d, 0, 0), (d + 1, 0, 0), opts);
            let title = first_heading(&blocks).unwrap_or_else(|| file_stem(&docs[d].path));
            Chapter::new(title, blocks)
        })
        .filter(|c| opts.keep_front_matter || !looks_like_title_page(&c.title, &c.blocks, book_title))
        .collect()
}

/// A short chapter that is the book's title page or a licence notice.
fn looks_like_title_page(title: &str, blocks: &[Block], book_title: &str) -> bool {
    if word_count(blocks) >= SHORT_PAGE_WORDS {
        return false;
    }
    let same_title = !book_title.is_empty() && title.trim().eq_ignore_ascii_case(book_title.trim());
    let licence = blocks.iter().any(|b| {
        let t = b.text.to_lowercase();
        ["copyright", "©", "creative commons", "all rights reserved", "isbn", "licen", "public domain"]
            .iter()
            .any(|k| t.contains(k))
    });
    same_title || licence
}

/// Text before the first TOC entry is read when it has at least this many words.
const UNLISTED_TEXT_WORDS: usize = 1000;

/// Pages shorter than this may be title or licence pages (see `looks_like_title_page`).
const SHORT_PAGE_WORDS: usize = 150;

fn first_heading(blocks: &[Block]) -> Option<String> {
    blocks.iter().find(|b| matches!(b.kind, BlockKind::Heading { .. })).map(|b| b.text.clone())
}

fn file_stem(path: &str) -> String {
    Path::new(path).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn name_is_matter(name: &str) -> bool {
    let stem = file_stem(name).to_ascii_lowercase();
    let tokens: Vec<&str> = stem.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()).collect();
    tokens.iter().any(|t| MATTER_NAME_TOKENS.contains(t))
        || tokens.windows(2).any(|w| w == ["title", "page"])
        || tokens.windows(2).any(|w| w == ["of", "contents"])
}

fn label_is_matter(label: &str) -> bool {
    let l = label.trim().trim_end_matches(['.', ':']).to_lowercase();
    MATTER_LABELS.contains(&l.as_str())
}

/// The zip key of an absolute, percent-decoded href.
fn zip_key(href: &str) -> String {
    href.trim_start_matches('/').to_string()
}

/// Metadata text on one line, with any entity the package left undecoded resolved or, when
/// undefined (`&lol9;`), dropped.
fn squash(s: &str) -> String {
    super::html::decode_entities(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The package file, when container.xml names one that is UTF-16 without a byte-order mark: a
/// parser then reads nothing from it, and the reason would otherwise stay hidden.
fn package_in_utf16_without_bom(entries: &HashMap<String, Vec<u8>>) -> Option<String> {
    let container = String::from_utf8_lossy(entries.get("META-INF/container.xml")?).into_owned();
    let opf = container.split("full-path=\"").nth(1)?.split('"').next()?.to_string();
    super::text::utf16_without_bom(entries.get(&opf)?).map(|_| opf)
}

/// rbook's messages as one lowercase clause.
fn rbook_reason(msg: &str) -> String {
    // "[InvalidResource - `ResourceKind("")@Value("/OEBPS/x.opf")`]: specified file not found in
    // archive": the file is what a reader needs, not rbook's debug form.
    if msg.contains("not found in archive")
        && let Some(file) = msg.split("Value(\"").nth(1).and_then(|rest| rest.split('"').next())
    {
        return format!("{} is named in the EPUB but missing from its archive", file.trim_start_matches('/'));
    }
    let msg = msg.trim().trim_end_matches('.');
    let mut c = msg.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => "unreadable package".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_package_file_is_named_plainly() {
        let raw = "[InvalidResource - `ResourceKind(\"\")@Value(\"/OEBPS/missing.opf\")`]: specified file not found in archive";
        assert_eq!(rbook_reason(raw), "OEBPS/missing.opf is named in the EPUB but missing from its archive");
    }

    #[test]
    fn matter_names() {
        for n in ["OPS/titlepage.xhtml", "EPUB/spi-ad.xhtml", "toc-short.xhtml", "front-cover.html", "title-page.html"]
        {
            assert!(name_is_matter(n), "{n}");
        }
        for n in ["chapter_001.xhtml", "economy.xhtml", "advent.xhtml", "discovery.xhtml"] {
            assert!(!name_is_matter(n), "{n}");
        }
    }
}
