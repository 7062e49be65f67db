//! The package side of the read-along book: reading the input's container and package
//! document, adding the overlays to it, or writing a whole plain EPUB 3 of the spoken text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{
    ACTIVE_CLASS, BookAudio, ChapterTimings, Content, Epub, Overlay, ReadAlongProblem, clock, escape, join, parent,
    pars, record_ids, relative, sentence_id, smil,
};
use crate::ingest::html;

/// The style sheet that makes the sentence being read visible.
const CSS: &str = ".-epub-media-overlay-active { background-color: #fff1a8; color: inherit; }\n";

/// The package document container.xml names.
pub(super) fn rootfile(container: &str) -> Option<String> {
    let dom = html::parse(container);
    let id = (0..dom.nodes.len()).find(|&i| dom.name(i) == "rootfile")?;
    dom.attr(id, "full-path").map(|p| html::decode_entities(p).trim_start_matches('/').to_string())
}

/// The package's `version`.
pub(super) fn version(opf: &str) -> Option<String> {
    let dom = html::parse(opf);
    let id = dom.find("package")?;
    dom.attr(id, "version").map(str::to_string)
}

/// Adds `overlays` to the input book in `epub`: the marked documents (with the style sheet
/// linked), their SMIL files, the style sheet, and the package document with the new items,
/// `media-overlay` on each marked document and the durations.
pub(super) fn augment(
    book: &BookAudio,
    epub: &mut Epub,
    opf: &str,
    overlays: Vec<Overlay>,
) -> Result<(), ReadAlongProblem> {
    let folder = epub.folder();
    let css_path = join(&folder, "readalong.css");
    let opf_dir = parent(&epub.opf_path);
    let mut overlay_of_doc = BTreeMap::new();
    let mut items = String::new();
    let mut metas = String::new();
    let mut total_ms = 0;
    for (i, overlay) in overlays.iter().enumerate() {
        let smil_path = join(&folder, &format!("overlay-{:03}.smil", i + 1));
        let id = format!("ab-mo-{}", i + 1);
        let audio_of = |c: usize| epub.audio_path(&book.chapters[c].sibling("mp3"));
        let text = smil(overlay, &smil_path, audio_of);
        let duration_ms: u64 = overlay.pars.iter().map(|p| p.end_ms - p.begin_ms).sum();
        total_ms += duration_ms;
        let _ = writeln!(
            items,
            "<item id=\"{id}\" href=\"{}\" media-type=\"application/smil+xml\"/>",
            escape(&relative(&opf_dir, &smil_path))
        );
        let _ = writeln!(metas, "<meta property=\"media:duration\" refines=\"#{id}\">{}</meta>", clock(duration_ms));
        overlay_of_doc.insert(overlay.doc.clone(), id);
        let linked = link_style_sheet(&overlay.xhtml, &relative(&parent(&overlay.doc), &css_path));
        epub.files.push((overlay.doc.clone(), Content::Text(linked)));
        epub.files.push((smil_path, Content::Text(text)));
    }
    for (c, chapter) in book.chapters.iter().enumerate() {
        let href = relative(&opf_dir, &epub.audio_path(&chapter.sibling("mp3")));
        let _ =
            writeln!(items, "<item id=\"ab-audio-{}\" href=\"{}\" media-type=\"audio/mpeg\"/>", c + 1, escape(&href));
    }
    let _ = writeln!(
        items,
        "<item id=\"ab-css\" href=\"{}\" media-type=\"text/css\"/>",
        escape(&relative(&opf_dir, &css_path))
    );
    let _ = writeln!(metas, "<meta property=\"media:duration\">{}</meta>", clock(total_ms));
    let _ = writeln!(metas, "<meta property=\"media:active-class\">{ACTIVE_CLASS}</meta>");
    let _ = writeln!(metas, "<meta property=\"media:narrator\">{}</meta>", escape(&narrator(book)));
    epub.files.push((css_path, Content::Text(CSS.to_string())));

    let dom = html::parse(opf);
    let mut inserts: Vec<(usize, String)> = Vec::new();
    for i in (0..dom.nodes.len()).filter(|&i| dom.name(i) == "item") {
        let Some(href) = dom.attr(i, "href") else { continue };
        let Some(id) = overlay_of_doc.get(&resolve(&opf_dir, &html::decode_entities(href))) else { continue };
        if dom.attr(i, "media-overlay").is_some() {
            return Err(ReadAlongProblem::HasOverlays);
        }
        let tag_end = dom.nodes[i].open_end;
        let at = if opf[..tag_end].ends_with("/>") { tag_end - 2 } else { tag_end - 1 };
        inserts.push((at, format!(" media-overlay=\"{id}\"")));
    }
    for (name, text) in [("manifest", items), ("metadata", metas)] {
        let element = dom.find(name).ok_or(ReadAlongProblem::NoElement(name))?;
        let span = dom.nodes[element].span.clone();
        let end_tag = opf[span.clone()].rfind("</").map(|p| span.start + p).ok_or(ReadAlongProblem::Unclosed(name))?;
        inserts.push((end_tag, text));
    }
    inserts.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let mut opf = opf.to_string();
    for (at, text) in inserts {
        opf.insert_str(at, &text);
    }
    epub.files.push((epub.opf_path.clone(), Content::Text(opf)));
    Ok(())
}

fn narrator(book: &BookAudio) -> String {
    format!("Kokoro-82M, voice {}", book.tags.voice)
}

/// The document with a `<link>` to the highlight's style sheet at the end of its head.
fn link_style_sheet(xhtml: &str, href: &str) -> String {
    let link = format!("<link rel=\"stylesheet\" type=\"text/css\" href=\"{}\"/>\n", escape(href));
    match xhtml.find("</head>") {
        Some(at) => format!("{}{link}{}", &xhtml[..at], &xhtml[at..]),
        None => xhtml.to_string(),
    }
}

/// The zip path an href in a file in `dir` points at (percent-decoded, `..` resolved).
fn resolve(dir: &str, href: &str) -> String {
    let href = percent_decode(href.split(['#', '?']).next().unwrap_or(""));
    let mut parts: Vec<String> = dir.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect();
    for part in href.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p.to_string()),
        }
    }
    parts.join("/")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%').then(|| text.get(i + 1..i + 3)).flatten();
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A plain EPUB 3 of the spoken text: a document per chapter, a paragraph per block, a span per
/// sentence in the book's own words, with the overlays.
pub(super) fn plain(book: &BookAudio, timings: &mut [ChapterTimings]) -> Result<Epub, ReadAlongProblem> {
    let language = book.tags.language.clone().unwrap_or_else(|| "en".to_string());
    let mut epub = Epub { source: None, opf_path: "EPUB/package.opf".to_string(), files: Vec::new() };
    let doc_of = |c: usize| format!("EPUB/text/chapter-{:03}.xhtml", c + 1);
    let mut ids = BTreeMap::new();
    let mut overlays = Vec::new();
    for (c, t) in timings.iter().enumerate() {
        let mut body = String::new();
        let mut block = None;
        for (s, sentence) in t.sentences.iter().enumerate() {
            if block != Some(sentence.block) {
                if block.is_some() {
                    body.push_str("</p>\n");
                }
                body.push_str("<p>");
                block = Some(sentence.block);
            } else {
                body.push(' ');
            }
            let id = sentence_id(c, sentence.index);
            let _ = write!(body, "<span id=\"{id}\">{}</span>", escape(&sentence.original));
            ids.insert((c, s), id);
        }
        if block.is_some() {
            body.push_str("</p>\n");
        }
        let title = escape(&book.chapters[c].title);
        let xhtml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" \
             xmlns:epub=\"http://www.idpf.org/2007/ops\" xml:lang=\"{lang}\" lang=\"{lang}\">\n<head>\n<meta \
             charset=\"utf-8\"/>\n<title>{title}</title>\n</head>\n<body>\n<section epub:type=\"chapter\">\n{body}</section>\n</body>\n</html>\n",
            lang = escape(&language),
        );
        overlays.push(Overlay { doc: doc_of(c), xhtml, pars: Vec::new() });
    }
    let pars = pars(timings, &ids, |c, _| doc_of(c));
    for overlay in &mut overlays {
        overlay.pars = pars.iter().filter(|p| p.doc == overlay.doc).cloned().collect();
    }
    record_ids(timings, &ids, &pars);

    let mut nav = String::new();
    for (c, chapter) in book.chapters.iter().enumerate() {
        let _ = writeln!(nav, "<li><a href=\"text/chapter-{:03}.xhtml\">{}</a></li>", c + 1, escape(&chapter.title));
    }
    let title = escape(&book.tags.title);
    let nav = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" \
         xmlns:epub=\"http://www.idpf.org/2007/ops\" xml:lang=\"{lang}\" lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <title>{title}</title>\n</head>\n<body>\n<nav epub:type=\"toc\" id=\"toc\">\n<h1>{title}</h1>\n<ol>\n{nav}</ol>\n</nav>\n</body>\n</html>\n",
        lang = escape(&language),
    );
    let mut items =
        String::from("<item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" properties=\"nav\"/>\n");
    let mut spine = String::new();
    for c in 0..book.chapters.len() {
        let n = c + 1;
        let _ = writeln!(
            items,
            "<item id=\"chapter-{n}\" href=\"text/chapter-{n:03}.xhtml\" media-type=\"application/xhtml+xml\"/>"
        );
        let _ = writeln!(spine, "<itemref idref=\"chapter-{n}\"/>");
    }
    let identifier = crate::hash::json_sha256(&(
        &book.tags.title,
        &book.chapters,
        timings.iter().map(|t| t.duration_ms).collect::<Vec<_>>(),
    ));
    let mut authors = String::new();
    for author in &book.tags.authors {
        let _ = writeln!(authors, "<dc:creator>{}</dc:creator>", escape(author));
    }
    let opf = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" \
         unique-identifier=\"bookid\" xml:lang=\"{lang}\">\n<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n\
         <dc:identifier id=\"bookid\">urn:sha256:{identifier}</dc:identifier>\n<dc:title>{title}</dc:title>\n\
         <dc:language>{lang}</dc:language>\n{authors}<meta property=\"dcterms:modified\">{modified}</meta>\n</metadata>\n\
         <manifest>\n{items}</manifest>\n<spine>\n{spine}</spine>\n</package>\n",
        lang = escape(&language),
        modified = utc_now(),
    );
    epub.files.push(("META-INF/container.xml".to_string(), Content::Text(CONTAINER.to_string())));
    epub.files.push(("EPUB/nav.xhtml".to_string(), Content::Text(nav)));
    augment(book, &mut epub, &opf, overlays)?;
    Ok(epub)
}

const CONTAINER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<container version=\"1.0\" \
    xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">\n<rootfiles>\n<rootfile full-path=\"EPUB/package.opf\" \
    media-type=\"application/oebps-package+xml\"/>\n</rootfiles>\n</container>\n";

/// Now, as `dcterms:modified` wants it (`2026-11-28T10:00:00Z`).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest / 60 % 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_resolve_against_the_package_folder() {
        assert_eq!(resolve("OEBPS", "text/ch%201.xhtml#x"), "OEBPS/text/ch 1.xhtml");
        assert_eq!(resolve("OEBPS/a", "../b.xhtml"), "OEBPS/b.xhtml");
        assert_eq!(resolve("", "b.xhtml"), "b.xhtml");
        assert_eq!(utc_now().len(), 20);
    }
}
