//! The README and the user guide (the mdBook in docs/): every relative link and image points to a
//! file that exists, every `#anchor` into a Markdown file names one of its headings (by mdBook's
//! rule for heading ids), every page of the guide is listed in SUMMARY.md, links inside the guide
//! stay inside it (the built book holds only docs/src), and the README stays short. No network:
//! links with a scheme (`https:`, `mailto:`) are not followed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

const README_MAX_LINES: usize = 200;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn book_src() -> PathBuf {
    root().join("docs/src")
}

/// The options mdBook renders with, so that tables, footnotes and the like parse as they will there.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// mdBook's id for a heading: lowercase; whitespace becomes `-`; letters, digits, `-` and `_` stay;
/// everything else (punctuation, backquotes) is dropped.
fn slug(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".to_string())
            } else {
                None
            }
        })
        .collect()
}

/// A link or image found in a Markdown file: its destination and the line it is on.
struct Link {
    line: usize,
    dest: String,
    image: bool,
}

/// The links and images of a Markdown text, and the ids of its headings (a repeated heading gets
/// `-1`, `-2`, ... as mdBook does; an explicit `{#id}` is taken as written).
fn scan(text: &str) -> (Vec<Link>, BTreeSet<String>) {
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut links = Vec::new();
    let mut ids = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut heading: Option<(Option<String>, String)> = None;
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push(Link { line: line_of(range.start), dest: dest_url.to_string(), image: false })
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                links.push(Link { line: line_of(range.start), dest: dest_url.to_string(), image: true })
            }
            Event::Start(Tag::Heading { id, .. }) => heading = Some((id.map(|i| i.to_string()), String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, words)) = heading.as_mut() {
                    words.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((explicit, words)) = heading.take() {
                    let id = match explicit {
                        Some(id) => id,
                        None => {
                            let base = slug(&words);
                            let n = seen.entry(base.clone()).or_insert(0);
                            let id = if *n == 0 { base.clone() } else { format!("{base}-{n}") };
                            *n += 1;
                            id
                        }
                    };
                    ids.insert(id);
                }
            }
            _ => {}
        }
    }
    (links, ids)
}

/// `path` with `.` and `..` resolved lexically (the files may not exist, so no canonicalize).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn has_scheme(dest: &str) -> bool {
    dest.contains("://") || dest.starts_with("mailto:") || dest.starts_with("tel:")
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// The Markdown files checked: the README and every page under docs/src.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    for entry in walkdir::WalkDir::new(book_src()).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "md") {
            files.push(entry.path().to_path_buf());
        }
    }
    files
}

/// Every broken link or image in `files`, one line each: `file:line: what is wrong`.
fn broken_links(files: &[PathBuf]) -> Vec<String> {
    let mut ids_of: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut links_of = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let (links, ids) = scan(&text);
        ids_of.insert(normalize(file), ids);
        links_of.push((file.clone(), links));
    }
    let mut problems = Vec::new();
    for (file, links) in links_of {
        let in_book = file.starts_with(book_src());
        for link in links {
            if link.dest.is_empty() || has_scheme(&link.dest) {
                continue;
            }
            let at = format!("{}:{}", relative(&file), link.line);
            let kind = if link.image { "image" } else { "link" };
            let (path_part, anchor) = match link.dest.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (link.dest.as_str(), None),
            };
            let target = if path_part.is_empty() {
                normalize(&file)
            } else if path_part.starts_with('/') {
                problems.push(format!("{at}: {kind} `{}` is absolute; make it relative to the file", link.dest));
                continue;
            } else {
                normalize(&file.parent().unwrap().join(path_part))
            };
            if !target.exists() {
                problems.push(format!(
                    "{at}: {kind} `{}` points to {}, which does not exist",
                    link.dest,
                    relative(&target)
                ));
                continue;
            }
            if in_book && !target.starts_with(book_src()) {
                problems.push(format!(
                    "{at}: {kind} `{}` leaves docs/src: the built book does not hold {}; name the file in backquotes instead",
                    link.dest,
                    relative(&target)
                ));
                continue;
            }
            if in_book && target.is_dir() {
                problems
                    .push(format!("{at}: {kind} `{}` points to a folder, which the built book cannot show", link.dest));
                continue;
            }
            if let Some(anchor) = anchor.filter(|a| !a.is_empty())
                && target.extension().is_some_and(|e| e == "md")
            {
                let ids = match ids_of.get(&target) {
                    Some(ids) => ids.clone(),
                    None => scan(&std::fs::read_to_string(&target).unwrap()).1,
                };
                if !ids.contains(anchor) {
                    let near: Vec<&String> =
                        ids.iter().filter(|id| id.contains(anchor) || anchor.contains(id.as_str())).collect();
                    problems.push(format!(
                        "{at}: {kind} `{}`: {} has no heading with the id `{anchor}`{}",
                        link.dest,
                        relative(&target),
                        if near.is_empty() { String::new() } else { format!(" (close: {near:?})") }
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn slugs_follow_mdbook() {
    assert_eq!(slug("Limits and safety"), "limits-and-safety");
    assert_eq!(slug("shard_done"), "shard_done");
    assert_eq!(slug("Build events (audiobook build --json)"), "build-events-audiobook-build---json");
    assert_eq!(slug("OpenAI's speech API"), "openais-speech-api");
    assert_eq!(slug("Scaling out: one book across many machines"), "scaling-out-one-book-across-many-machines");
}

#[test]
fn every_relative_link_and_image_resolves() {
    let problems = broken_links(&markdown_files());
    assert!(
        problems.is_empty(),
        "{} broken link(s) in the README or the guide:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_broken_link_is_reported() {
    // The checker itself: a missing file, a missing anchor and a link out of the book are found.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.md");
    std::fs::write(
        &page,
        "# Title\n\n[ok](#title) [gone](missing.md) [bad](#no-such-heading)\n\n```\n[in code](x.md)\n```\n",
    )
    .unwrap();
    let problems = broken_links(&[page]);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains(":3: link `missing.md` points to") && problems[0].ends_with("which does not exist"));
    assert!(problems[1].contains("has no heading with the id `no-such-heading`"), "{problems:?}");
}

#[test]
fn every_page_of_the_guide_is_in_the_summary() {
    let summary_path = book_src().join("SUMMARY.md");
    let (links, _) = scan(&std::fs::read_to_string(&summary_path).unwrap());
    let listed: BTreeSet<PathBuf> =
        links.iter().map(|l| normalize(&book_src().join(l.dest.split('#').next().unwrap_or_default()))).collect();
    let missing: Vec<String> = markdown_files()
        .into_iter()
        .filter(|f| f.starts_with(book_src()) && *f != summary_path && !listed.contains(&normalize(f)))
        .map(|f| relative(&f))
        .collect();
    assert!(
        missing.is_empty(),
        "pages under docs/src not listed in docs/src/SUMMARY.md (mdBook would skip them): {missing:?}"
    );
}

#[test]
fn the_readme_is_short_and_starts_with_the_two_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move the detail into a page of docs/src/"
    );
    let mut first_block = String::new();
    let mut in_block = false;
    for event in Parser::new_ext(&readme, options()) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_block = true,
            Event::Text(t) if in_block => first_block.push_str(&t),
            Event::End(TagEnd::CodeBlock) => break,
            _ => {}
        }
    }
    let commands: Vec<&str> = first_block.lines().map(|l| l.split('#').next().unwrap_or_default().trim()).collect();
    assert_eq!(
        commands,
        ["cargo run --release -- build fixtures/two-chapters -o two-chapters-audiobook", "cargo test --release"],
        "the README's first code block is the two commands a newcomer runs"
    );
}

#[test]
fn the_books_screenshot_is_the_readmes() {
    // The README shows docs/serve-page.png; the book needs its own copy under docs/src.
    let readme_copy = std::fs::read(root().join("docs/serve-page.png")).unwrap();
    let book_copy = std::fs::read(book_src().join("images/serve-page.png")).unwrap();
    assert!(
        readme_copy == book_copy,
        "docs/serve-page.png and docs/src/images/serve-page.png differ: copy one over the other"
    );
}
