//! Ingest, directories: finds the readable files under a folder, in the order a reader expects.
//!
//! Takes a folder, gives the chapters of every `.epub`, `.md`/`.markdown` and `.txt` file below
//! it. Order within a folder: `README`/`index` first, then files, then subfolders, each in natural
//! order (`2-intro.md` before `10-end.md`, case ignored). Hidden entries and build folders
//! (`target`, `node_modules`, `_build`, `build`, `dist`) are skipped, as are files without a
//! supported extension (`LICENSE`). Symlinks are followed only while they stay inside the folder
//! (a link to `/etc` is skipped, never narrated), and a file reached by two paths is read once;
//! a loop, a link out or an unreadable file becomes a warning, and a folder with nothing
//! readable is an error.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::path::Path;

use walkdir::{DirEntry, WalkDir};

use super::{Book, Format, IngestError, IngestOptions, TextBudget, Warning, read_file_as};

const BUILD_DIRS: &[&str] = &["target", "node_modules", "_build", "build", "dist", "__pycache__"];

/// Reads every supported file under `root`.
pub(crate) fn read(root: &Path, opts: &IngestOptions) -> Result<Book, IngestError> {
    let mut book = Book::default();
    book.meta.title = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| root.display().to_string());
    let top = root.canonicalize().map_err(|source| IngestError::Io { path: root.to_path_buf(), source })?;
    let mut walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by(order)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !ignored(e));
    let mut files = 0;
    let mut seen = HashSet::new();
    let mut budget = TextBudget::default();
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let file = e.path().unwrap_or(root).to_path_buf();
                book.warnings.push(Warning { file, message: format!("skipped: {e}") });
                continue;
            }
        };
        let Ok(real) = entry.path().canonicalize() else { continue };
        if !real.starts_with(&top) {
            let message = format!("skipped: a link to {}, outside {}", real.display(), root.display());
            book.warnings.push(Warning { file: entry.path().to_path_buf(), message });
            if entry.file_type().is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(format) = format_of(entry.path()) else { continue };
        if !seen.insert(real) {
            let message = "skipped: the same file was already read by another path".to_string();
            book.warnings.push(Warning { file: entry.path().to_path_buf(), message });
            continue;
        }
        files += 1;
        match read_file_as(entry.path(), format, opts) {
            Ok(part) => {
                budget.take(&part, entry.path(), opts)?;
                book.append(part);
            }
            Err(e) => {
                book.warnings.push(Warning { file: entry.path().to_path_buf(), message: format!("skipped: {e}") })
            }
        }
    }
    if book.chapters.is_empty() {
        return Err(IngestError::NothingReadable { path: root.to_path_buf(), files });
    }
    Ok(book)
}

/// The format a file's extension names, if it is one we read.
pub(crate) fn format_of(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "epub" => Some(Format::Epub),
        "md" | "markdown" => Some(Format::Markdown),
        "txt" => Some(Format::Text),
        _ => None,
    }
}

fn ignored(e: &DirEntry) -> bool {
    let name = e.file_name().to_string_lossy();
    name.starts_with('.') || (e.file_type().is_dir() && BUILD_DIRS.contains(&name.as_ref()))
}

fn order(a: &DirEntry, b: &DirEntry) -> Ordering {
    let rank = |e: &DirEntry| {
        let stem = Path::new(e.file_name()).file_stem().map(|s| s.to_string_lossy().to_ascii_lowercase());
        let lead = matches!(stem.as_deref(), Some("readme" | "index")) && !e.file_type().is_dir();
        (!lead, e.file_type().is_dir())
    };
    rank(a).cmp(&rank(b)).then_with(|| natural_cmp(&a.file_name().to_string_lossy(), &b.file_name().to_string_lossy()))
}

/// Compares names with runs of digits as numbers and letters case-insensitively.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let n = take_number(&mut x);
                let m = take_number(&mut y);
                let ord = n
                    .trim_start_matches('0')
                    .len()
                    .cmp(&m.trim_start_matches('0').len())
                    .then_with(|| n.trim_start_matches('0').cmp(m.trim_start_matches('0')));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (Some(c), Some(d)) => {
                let ord = c.to_lowercase().cmp(d.to_lowercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                x.next();
                y.next();
            }
        }
    }
}

fn take_number(it: &mut std::iter::Peekable<std::str::Chars>) -> String {
    let mut s = String::new();
    while let Some(&c) = it.peek() {
        if !c.is_ascii_digit() {
            break;
        }
        s.push(c);
        it.next();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["10-end.md", "2-intro.md", "Alpha.md", "beta.md", "1-a.md"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["1-a.md", "2-intro.md", "10-end.md", "Alpha.md", "beta.md"]);
    }
}
