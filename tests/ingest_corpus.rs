//! Corpus tests for the ingest stage: the chapters a person sees in each real book's contents.
//!
//! Reads `../shared/corpus` in place; when it is missing (the repo cloned alone) each test says
//! it is skipped and passes.

use std::path::PathBuf;

use audiobook::ingest::{Block, BlockKind, Book, CodeMode, IngestOptions, NotesMode, read_inputs};
use audiobook::narrate::Settings;

fn corpus(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: corpus file {} not found", p.display());
        None
    }
}

fn read(rel: &str) -> Option<Book> {
    read_with(rel, &IngestOptions::default())
}

fn read_with(rel: &str, opts: &IngestOptions) -> Option<Book> {
    let p = corpus(rel)?;
    match read_inputs(&[p], opts) {
        Ok(b) => Some(b),
        Err(e) => panic!("{rel}: {e}"),
    }
}

fn titles(book: &Book) -> Vec<&str> {
    book.chapters.iter().map(|c| c.title.as_str()).collect()
}

/// The first non-heading block of the chapter titled `title`.
fn opening(book: &Book, title: &str) -> String {
    let Some(ch) = book.chapters.iter().find(|c| c.title == title) else {
        panic!("no chapter {title:?} in {:?}", titles(book));
    };
    ch.blocks.iter().find(|b| !matches!(b.kind, BlockKind::Heading { .. })).map(|b| b.text.clone()).unwrap_or_default()
}

fn assert_opens(book: &Book, title: &str, start: &str) {
    let text = opening(book, title);
    assert!(text.starts_with(start), "chapter {title:?} opens with {text:?}, expected {start:?}");
}

/// No URLs, no markup, no code, no empty or unclean blocks anywhere in the book.
fn assert_clean(book: &Book) {
    assert_clean_except(book, &[]);
}

/// As [`assert_clean`], allowing markup in the listed block texts (escaped markup the book prints).
fn assert_clean_except(book: &Book, printed_markup: &[&str]) {
    for ch in &book.chapters {
        assert!(!ch.title.trim().is_empty(), "untitled chapter");
        assert!(!ch.blocks.is_empty(), "empty chapter {:?}", ch.title);
        for b in &ch.blocks {
            let t = &b.text;
            assert!(!t.is_empty() && t.trim() == t && !t.contains("  "), "unclean block {t:?}");
            assert!(!t.contains("http://") && !t.contains("https://"), "URL in {:?}: {t}", ch.title);
            assert!(!t.contains("```") && !t.contains("fn main() {") && !t.contains("];"), "code in {t}");
            assert!(!has_tag(t) || printed_markup.contains(&t.as_str()), "markup in {:?}: {t}", ch.title);
            assert!(!t.chars().any(|c| c.is_control()), "control character in {t:?}");
            assert!(b.kind != BlockKind::Code, "code block read by default: {t}");
        }
    }
}

/// `<p>`, `</div>`, `<a href=...>`: a tag that escaped the parser.
fn has_tag(t: &str) -> bool {
    t.match_indices('<').any(|(i, _)| {
        let rest = &t[i + 1..];
        let name: String = rest.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        !name.is_empty()
            && rest[rest.len() - rest.trim_start_matches('/').len() + name.len()..].starts_with(['>', ' '])
            && rest.contains('>')
            && ["p", "div", "a", "img", "span", "section", "br", "sub", "html", "body", "table", "td", "li"]
                .contains(&name.as_str())
    })
}

#[test]
fn moby_dick_follows_its_toc() {
    let Some(book) = read("epub/idpf-moby-dick.epub") else { return };
    assert_eq!(book.meta.title, "Moby-Dick");
    assert_eq!(book.meta.authors, ["Herman Melville"]);
    assert_eq!(book.meta.language.as_deref(), Some("en-US"));
    assert_eq!(book.meta.cover.as_ref().map(|c| c.media_type.as_str()), Some("image/jpeg"));
    // Etymology, Extracts, 135 chapters, Epilogue. Cover, title page, brief TOC and copyright page
    // are skipped; the transcriber's notes are tagged `epub:type="colophon"` and skipped too.
    assert_eq!(book.chapters.len(), 138, "{:?}", titles(&book));
    assert_eq!(book.chapters[0].title, "ETYMOLOGY.");
    assert_eq!(book.chapters[2].title, "Chapter 1. Loomings.");
    assert_eq!(book.chapters[137].title, "Epilogue");
    assert_opens(&book, "Chapter 1. Loomings.", "Call me Ishmael. Some years ago");
    assert_opens(&book, "Chapter 2. The Carpet-Bag.", "I stuffed a shirt or two");
    assert_opens(&book, "Epilogue", "“AND I ONLY AM ESCAPED ALONE TO TELL THEE”");
    assert!(!book.chapters.iter().any(|c| c.title.contains("Copyright")));
    let words: usize = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.split_whitespace().count()).sum();
    assert!((200_000..220_000).contains(&words), "{words} words");
    assert_clean(&book);
}

#[test]
fn moby_dick_keeps_front_matter_and_footnote_on_request() {
    let opts = IngestOptions { keep_front_matter: true, notes: NotesMode::End, ..IngestOptions::default() };
    let Some(book) = read_with("epub/idpf-moby-dick.epub", &opts) else { return };
    let t = titles(&book);
    assert!(t.contains(&"Original Transcriber’s Notes:"), "{t:?}");
    assert!(t.contains(&"Copyright Page"), "{t:?}");
    let notes = book.chapters.iter().find(|c| c.title == "Original Transcriber’s Notes:").map(|c| &c.blocks);
    let last = notes.and_then(|b| b.last()).map(|b| (b.kind, b.text.as_str()));
    assert_eq!(last, Some((BlockKind::Note, "These have been corrected in this EPUB3 edition.")));
    // The note marker is gone from the sentence.
    let text: Vec<&str> = notes.into_iter().flatten().map(|b| b.text.as_str()).collect();
    assert!(text.iter().any(|t| t.ends_with("a unit of currency.")), "{text:?}");
}

#[test]
fn waste_land_splits_one_file_by_fragments() {
    let Some(book) = read("epub/idpf-wasteland.epub") else { return };
    // Five parts; the "Notes" section holds only rearnotes, which are skipped by default.
    assert_eq!(
        titles(&book),
        [
            "I. THE BURIAL OF THE DEAD",
            "II. A GAME OF CHESS",
            "III. THE FIRE SERMON",
            "IV. DEATH BY WATER",
            "V. WHAT THE THUNDER SAID"
        ]
    );
    assert_opens(&book, "I. THE BURIAL OF THE DEAD", "April is the cruellest month, breeding");
    assert_opens(&book, "II. A GAME OF CHESS", "The Chair she sat in, like a burnished throne,");
    assert_opens(&book, "IV. DEATH BY WATER", "Phlebas the Phoenician, a fortnight dead,");
    // Noterefs shown as "*" and line numbers are not read.
    for b in book.chapters.iter().flat_map(|c| &c.blocks) {
        assert!(!b.text.ends_with('*') && !b.text.ends_with(char::is_numeric), "{:?}", b.text);
    }
    assert_clean(&book);
    let opts = IngestOptions { notes: NotesMode::End, ..IngestOptions::default() };
    let Some(book) = read_with("epub/idpf-wasteland.epub", &opts) else { return };
    let notes = book.chapters.iter().flat_map(|c| &c.blocks).filter(|b| b.kind == BlockKind::Note).count();
    assert!(notes >= 50, "{notes} notes");
    assert_eq!(book.chapters.len(), 6);
}

#[test]
fn childrens_literature_nested_toc() {
    let Some(book) = read("epub/idpf-childrens-literature.epub") else { return };
    let t = titles(&book);
    // Section heading joins the bibliography; author names (unlinked) are not chapters; each
    // story is one chapter (its four sub-parts stay inside it).
    assert_eq!(t.len(), 17, "{t:?}");
    assert_eq!(
        &t[..4],
        ["BIBLIOGRAPHY", "INTRODUCTORY", "190 A FOUR-LEAVED CLOVER", "191 THE LORD HELPETH MAN AND BEAST"]
    );
    assert_eq!(t[16], "204 THE KING OF THE GOLDEN RIVER OR THE BLACK BROTHERS");
    let bib = &book.chapters[0].blocks[0];
    assert_eq!(bib.text, "SECTION IV FAIRY STORIES—MODERN FANTASTIC TALES");
    assert_opens(&book, "190 A FOUR-LEAVED CLOVER", "The rabbis of old were good story-tellers.");
    assert_opens(&book, "192 THE REAL PRINCESS", "By almost common consent Hans Christian Andersen");
    // The nav document in the spine is not read: no chapter starts with a list of titles.
    assert!(
        book.chapters
            .iter()
            .all(|c| c.blocks.iter().all(|b| b.kind != BlockKind::ListItem || !b.text.starts_with("SECTION IV")))
    );
    assert_clean(&book);
}

#[test]
fn accessible_epub_3_joins_split_files() {
    let Some(book) = read("epub/idpf-accessible-epub-3.epub") else { return };
    assert_eq!(
        titles(&book),
        [
            "Preface",
            "1. Introduction",
            "2. Building a Better EPUB: Fundamental Accessibility",
            "3. It’s Alive: Rich Content Accessibility",
            "4. Conclusion"
        ]
    );
    assert_opens(&book, "Preface", "Accessibility is a difficult concept to define.");
    assert_opens(&book, "4. Conclusion", "EPUB 3 holds out much promise");
    // ch02s02 joins chapter 2 ("Getting Around: Navigating an EPUB").
    let ch2 = &book.chapters[2].blocks;
    assert!(ch2.iter().any(|b| b.text == "Getting Around: Navigating an EPUB"), "section heading missing");
    // The advert and the colophon are not read; code examples are skipped.
    let all: Vec<&str> = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str()).collect();
    assert!(!all.iter().any(|t| t.contains("Safari Books Online") && t.contains("Try it free")));
    assert!(!all.iter().any(|t| t.contains("<?xml")));
    assert!(!all.iter().any(|t| t.contains('\u{97}')));
    // One paragraph of ch03s05 prints escaped markup as text (a `<p>` where a `<pre>` was meant).
    assert_clean_except(&book, &["<div role=\"alert” id=\"results\"/>"]);
    let opts = IngestOptions { code: CodeMode::Announce, ..IngestOptions::default() };
    let Some(book) = read_with("epub/idpf-accessible-epub-3.epub", &opts) else { return };
    let code = book.chapters.iter().flat_map(|c| &c.blocks).filter(|b| b.kind == BlockKind::Code).count();
    assert!(code >= 100, "{code} announced code blocks");
}

#[test]
fn issue_10_deeper_toc_entries_are_sections_at_their_headings() {
    let Some(book) = read("epub/idpf-accessible-epub-3.epub") else { return };
    let ch2 = &book.chapters[2];
    let sections: Vec<(&str, u8)> = ch2.sections.iter().map(|s| (s.title.as_str(), s.depth)).collect();
    // As in the nav: "A Solid Foundation" with its 15 entries, then two more level-2 entries.
    assert_eq!(sections.len(), 18, "{sections:?}");
    assert_eq!(sections[0], ("A Solid Foundation: Structure and Semantics", 1));
    assert_eq!(sections[1], ("Data Integrity", 2));
    assert_eq!(sections[17], ("The Untold Story: Metadata", 1));
    for s in &ch2.sections {
        assert_eq!(ch2.blocks[s.block].text, s.title, "section not at its heading");
    }
    let Some(book) = read("epub/idpf-childrens-literature.epub") else { return };
    let clover = book.chapters.iter().find(|c| c.title == "190 A FOUR-LEAVED CLOVER").unwrap();
    let parts: Vec<&str> = clover.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(parts, ["I. The Rabbi and the Diadem", "II. Friendship", "III. True Charity", "IV. An Eastern Garden"]);
}

#[test]
fn issue_10_no_planned_chapter_runs_past_an_hour() {
    // The durations below are estimated for 200-token chunks; longer chunks have fewer edges and
    // bring chapter 2 of the accessibility book under the hour.
    let chunks = audiobook::chunk::ChunkConfig { target_tokens: 200, max_tokens: 200 };
    let settings = Settings { chunks, ..Settings::default() };
    for (rel, expected) in [
        // Economy (2 h 10 min, no headings inside) becomes three parts.
        (
            "epub/se-walden.epub",
            &["Economy (1/3)", "Economy (2/3)", "Economy (3/3)", "Where I Lived, and What I Lived For"][..],
        ),
        // Chapter 2 (1 h 02 min) is split at its TOC sub-entry "Getting Around", chapter 3 at "Tell It Like It Is".
        (
            "epub/idpf-accessible-epub-3.epub",
            &[
                "Preface",
                "1. Introduction",
                "2. Building a Better EPUB: Fundamental Accessibility",
                "Getting Around: Navigating an EPUB",
                "3. It’s Alive: Rich Content Accessibility",
                "Tell It Like It Is: Text-to-Speech (TTS)",
                "4. Conclusion",
            ][..],
        ),
    ] {
        let Some(book) = read(rel) else { return };
        let plan = audiobook::narrate::plan(&book, &settings).unwrap();
        let summaries = plan.summaries(settings.speed);
        let titles: Vec<&str> = summaries.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(&titles[..expected.len()], expected, "{rel}");
        for s in &summaries {
            assert!(s.estimated_ms <= 60 * 60_000, "{rel}: {} lasts {} ms", s.title, s.estimated_ms);
        }
    }
}

#[test]
fn arabic_keeps_language_and_text() {
    let Some(book) = read("epub/idpf-regime-anticancer-arabic.epub") else { return };
    assert_eq!(book.meta.language.as_deref(), Some("ar"));
    // Cover and title page are images only; the content is one chapter.
    assert_eq!(titles(&book), ["Commencer la lecture"]);
    let text = opening(&book, "Commencer la lecture");
    assert!(text.starts_with("حسنًا!"), "{text}");
    // Inline "[1]" markers are dropped.
    assert!(book.chapters[0].blocks.iter().all(|b| !b.text.contains("[1]")));
    assert_clean(&book);
}

#[test]
fn study_in_scarlet_parts_join_their_first_chapter() {
    let Some(book) = read("epub/se-a-study-in-scarlet.epub") else { return };
    let t = titles(&book);
    assert_eq!(t.len(), 14, "{t:?}");
    assert_eq!(t[0], "I: Mr. Sherlock Holmes");
    assert_eq!(t[7], "I: On the Great Alkali Plain");
    assert_eq!(t[13], "VII: The Conclusion");
    let first = &book.chapters[0].blocks;
    assert_eq!(first[0].kind, BlockKind::Heading { level: 2 });
    assert!(first[0].text.starts_with("Part I: Being a Reprint"), "{}", first[0].text);
    assert_opens(&book, "I: Mr. Sherlock Holmes", "In the year 1878 I took my degree");
    assert_opens(&book, "II: The Flower of Utah", "This is not the place to commemorate");
    // The noteref "1" after "heifers," is gone, and the word joiner U+2060 is not in the text.
    let all: Vec<&str> = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str()).collect();
    assert!(all.iter().any(|t| t.contains("We Elders have many heifers, but our children")));
    assert!(!all.iter().any(|t| t.contains('\u{2060}') || t.contains('↩')));
    assert!(
        !t.contains(&"Endnotes") && !t.contains(&"Colophon") && !t.contains(&"Uncopyright") && !t.contains(&"Imprint")
    );
    assert_clean(&book);
}

#[test]
fn walden_tables_only_on_request() {
    let Some(book) = read("epub/se-walden.epub") else { return };
    let t = titles(&book);
    assert_eq!(t.len(), 18, "{t:?}");
    assert_eq!(t[0], "Economy");
    assert_eq!(t[17], "Conclusion");
    assert_opens(&book, "Economy", "When I wrote the following pages, or rather the bulk of them");
    assert_opens(&book, "Spring", "The opening of large tracts by the ice-cutters");
    assert!(book.chapters.iter().flat_map(|c| &c.blocks).all(|b| b.kind != BlockKind::Table));
    assert_clean(&book);
    let opts = IngestOptions { tables: true, ..IngestOptions::default() };
    let Some(book) = read_with("epub/se-walden.epub", &opts) else { return };
    let rows: Vec<&str> = book
        .chapters
        .iter()
        .flat_map(|c| &c.blocks)
        .filter(|b| b.kind == BlockKind::Table)
        .map(|b| b.text.as_str())
        .collect();
    assert!(rows.len() > 20, "{} table rows", rows.len());
    assert!(rows.iter().any(|r| r.contains("8.03½")), "{rows:?}");
}

#[test]
fn pressbooks_metamorphosis_epub2() {
    let Some(book) = read("epub/pressbooks-metamorphosis-epub2.epub") else { return };
    // Cover, title, copyright, printed contents and the PressBooks promo are skipped.
    assert_eq!(titles(&book), ["CHAPTER I", "CHAPTER II", "CHAPTER III"]);
    assert_opens(&book, "CHAPTER I", "One morning, when Gregor Samsa woke from troubled dreams");
    assert_opens(&book, "CHAPTER III", "No one dared to remove the apple");
    assert_eq!(book.meta.authors, ["Franz Kafka"]);
    assert_clean(&book);
}

#[test]
fn malformed_utf16_opf_recovers() {
    let Some(book) = read("epub/malformed-metamorphosis-utf16-opf.epub") else { return };
    assert_eq!(book.meta.title, "Metamorphosis");
    assert_eq!(titles(&book), ["CHAPTER I", "CHAPTER II", "CHAPTER III"]);
    assert_opens(&book, "CHAPTER II", "It was not until it was getting dark that evening");
    // The unresolvable itemref and the TOC link to the dropped promo page are reported.
    assert!(!book.warnings.is_empty());
    assert!(book.warnings.iter().all(|w| w.file.ends_with("malformed-metamorphosis-utf16-opf.epub")));
    assert_clean(&book);
}

#[test]
fn todo_es_mio_spanish_with_odd_packaging() {
    let Some(book) = read("epub/todo-es-mio-epub2-es.epub") else { return };
    assert_eq!(book.meta.language.as_deref(), Some("es"));
    let t = titles(&book);
    // 16 TOC entries; the first is the title and licence page.
    assert_eq!(t.len(), 15, "{t:?}");
    assert_eq!(t[0], "Despertar");
    assert_eq!(t[14], "Por qué");
    assert_opens(&book, "Despertar", "José Luís abrió los ojos y no vio nada excepto luz.");
    assert_opens(&book, "Por qué", "El cañón de la pistola humeaba aún");
    assert_clean(&book);
}

#[test]
fn alice_plain_text() {
    let Some(book) = read("text/pg11-alice-in-wonderland-utf8-bom-crlf.txt") else { return };
    assert_eq!(book.meta.title, "Alice’s Adventures in Wonderland");
    assert_eq!(book.meta.authors, ["Lewis Carroll"]);
    assert_eq!(book.meta.language, None);
    let t = titles(&book);
    assert_eq!(t.len(), 12, "{t:?}");
    assert_eq!(t[0], "CHAPTER I. Down the Rabbit-Hole");
    assert_eq!(t[11], "CHAPTER XII. Alice’s Evidence");
    assert_opens(
        &book,
        "CHAPTER I. Down the Rabbit-Hole",
        "Alice was beginning to get very tired of sitting by her sister on the bank, and",
    );
    assert_opens(&book, "CHAPTER VII. A Mad Tea-Party", "There was a table set out under a tree");
    let all: Vec<&str> = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str()).collect();
    assert!(!all.iter().any(|t| t.contains("Gutenberg") || t.contains('\r') || t.contains('\u{feff}')));
    assert_eq!(all.last().copied(), Some("THE END"));
    assert_clean(&book);
}

#[test]
fn die_verwandlung_latin1() {
    let Some(book) = read("text/pg22367-die-verwandlung-de-latin1-crlf.txt") else { return };
    assert_eq!(titles(&book), ["I.", "II.", "III."]);
    assert_opens(&book, "I.", "Als Gregor Samsa eines Morgens aus unruhigen Träumen erwachte");
    assert_opens(&book, "III.", "Die schwere Verwundung Gregors");
    assert!(book.warnings.iter().any(|w| w.message.contains("Latin-1")));
    let all: Vec<&str> = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str()).collect();
    assert!(!all.iter().any(|t| t.contains("K U R T") || t.contains("Gutenberg")));
    assert_clean(&book);
}

#[test]
fn bat_markdown_tree() {
    let Some(book) = read("markdown/bat") else { return };
    let t = titles(&book);
    // README first (split at H2), then CHANGELOG (split at its 45 `# v…` releases),
    // CONTRIBUTING, then doc/: alternatives, README-ja, README-ru. LICENSE files are not read.
    // README 13 (lead + 12 H2), CHANGELOG 44, CONTRIBUTING 1, alternatives 1, README-ja 10,
    // README-ru 10 (the translations split at H2 too; Japanese counted by characters).
    assert_eq!(t.len(), 79, "{t:?}");
    assert_eq!(t[0], "README");
    assert_eq!(t[1], "How to use");
    assert_eq!(t[59], "README-ja");
    assert_eq!(t[69], "README-ru");
    assert_eq!(t[70], "Как использовать");
    assert!(t.contains(&"unreleased") && t.contains(&"v0.1.0") && t.contains(&"Contributing"));
    let pos = |x: &str| t.iter().position(|y| *y == x);
    let last = |x: &str| t.iter().rposition(|y| *y == x);
    assert!(pos("License") < pos("unreleased") && pos("v0.1.0") < last("Contributing"));
    assert!(last("Contributing") < pos("Alternatives") && pos("Alternatives") < pos("README-ja"));
    assert_eq!(t.iter().filter(|x| x.starts_with('v')).count(), 43);
    assert_opens(&book, "README", "A cat(1) clone with syntax highlighting and Git integration.");
    // README has a "Contributing" section too; CONTRIBUTING.md is the later chapter.
    let contributing = book.chapters.iter().rev().find(|c| c.title == "Contributing").map(|c| &c.blocks[1].text);
    assert_eq!(contributing.map(String::as_str), Some("Thank you for considering to contribute to bat!"));
    // The HTML navigation bar and badges are not read; `# ` comments in code are not headings.
    let all: Vec<&str> = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str()).collect();
    assert!(!all.iter().any(|t| t.contains("Key Features •") || t.contains("Build Status")));
    assert!(!t.iter().any(|x| x.starts_with("in your .bashrc")));
    assert!(!all.iter().any(|t| t.contains("TERMS AND CONDITIONS") || t.contains("Permission is hereby granted")));
    assert_eq!(book.meta.language, None);
    assert_clean(&book);
}

#[test]
fn tokio_tutorial_front_matter() {
    let Some(book) = read("markdown/tokio-tutorial") else { return };
    // index first, then natural order; front matter `title:` names each page.
    assert_eq!(titles(&book), ["Tutorial", "Channels", "Hello Tokio", "Setup", "Shared state", "Spawning"]);
    assert_opens(&book, "Tutorial", "Tokio is an asynchronous runtime for the Rust programming language.");
    assert_opens(&book, "Spawning", "We are going to shift gears and start working on the Redis server.");
    let spawning = book.chapters.iter().find(|c| c.title == "Spawning").map(|c| &c.blocks);
    let headings: Vec<&str> = spawning
        .into_iter()
        .flatten()
        .filter(|b| matches!(b.kind, BlockKind::Heading { .. }))
        .map(|b| b.text.as_str())
        .collect();
    assert!(headings.contains(&"Accepting sockets") && !headings.iter().any(|h| h.contains("fn dox")), "{headings:?}");
    let all: Vec<&str> = book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.as_str()).collect();
    assert!(!all.iter().any(|t| t.contains("subtitle:") || t.contains("title: ")));
    assert_clean(&book);
}

#[test]
#[ignore = "prints a summary of every corpus input"]
fn dump_corpus() {
    for rel in [
        "epub/idpf-moby-dick.epub",
        "epub/idpf-wasteland.epub",
        "epub/idpf-childrens-literature.epub",
        "epub/idpf-accessible-epub-3.epub",
        "epub/idpf-regime-anticancer-arabic.epub",
        "epub/se-a-study-in-scarlet.epub",
        "epub/se-walden.epub",
        "epub/pressbooks-metamorphosis-epub2.epub",
        "epub/todo-es-mio-epub2-es.epub",
        "epub/malformed-metamorphosis-utf16-opf.epub",
        "text/pg11-alice-in-wonderland-utf8-bom-crlf.txt",
        "text/pg22367-die-verwandlung-de-latin1-crlf.txt",
        "markdown/bat",
        "markdown/tokio-tutorial",
    ] {
        let Some(p) = corpus(rel) else { continue };
        let t = std::time::Instant::now();
        let book = read_inputs(&[p], &IngestOptions::default());
        let el = t.elapsed();
        let book = match book {
            Ok(b) => b,
            Err(e) => {
                println!("=== {rel}: ERROR {e}");
                continue;
            }
        };
        let words: usize =
            book.chapters.iter().flat_map(|c| &c.blocks).map(|b| b.text.split_whitespace().count()).sum();
        println!(
            "=== {rel}: {:?} by {:?} lang {:?} cover {:?} — {} chapters, {words} words, {el:?}",
            book.meta.title,
            book.meta.authors,
            book.meta.language,
            book.meta.cover.as_ref().map(|c| (c.media_type.clone(), c.bytes.len())),
            book.chapters.len()
        );
        for w in &book.warnings {
            println!("  warning: {w}");
        }
        for c in &book.chapters {
            let first =
                c.blocks.iter().find(|b| !matches!(b.kind, BlockKind::Heading { .. })).map_or("", |b: &Block| &b.text);
            let first: String = first.chars().take(70).collect();
            println!("  [{}] {:?} ({} blocks): {first}", c.blocks.len(), c.title, c.blocks.len());
        }
    }
}

#[test]
#[ignore = "timing: run with --release"]
fn moby_dick_timing() {
    let Some(p) = corpus("epub/idpf-moby-dick.epub") else { return };
    let mut best = std::time::Duration::MAX;
    for _ in 0..10 {
        let t = std::time::Instant::now();
        let book = read_inputs(&[&p], &IngestOptions::default()).unwrap_or_default();
        best = best.min(t.elapsed());
        assert_eq!(book.chapters.len(), 138);
    }
    println!("Moby-Dick ingest, best of 10: {best:?}");
}
