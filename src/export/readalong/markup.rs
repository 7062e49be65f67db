//! Gives each spoken sentence an element in the book's own XHTML: a `<span id>` around the
//! sentence's text, the file otherwise byte for byte as it was.
//!
//! A sentence is found by its letters and digits, in order, inside its block's byte range (what
//! ingest recorded): punctuation, spacing, entities, note markers and shortened URLs may differ
//! between the spoken script and the markup, letters do not. The span then grows to whole
//! inline elements where the sentence starts or ends inside one (a drop cap, an `<em>` across
//! the sentence's end), so the markup stays well formed. A sentence that cannot be held this
//! way (its text is an image's alt, or it would cross a block element or the span before it)
//! gets no element: its audio plays with the sentence before it.

use std::ops::Range;

use crate::ingest::html::{self, Dom, NodeKind};

/// A sentence to find: where its block is in the file, and its text as the book has it.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub block: Range<usize>,
    pub original: &'a str,
    /// The id its element gets.
    pub id: String,
}

/// The file with its spans, and for each target whether it got its element.
#[derive(Debug)]
pub struct Marked {
    pub xhtml: String,
    pub found: Vec<bool>,
}

/// A letter or digit of the markup's text, lowercased, and the bytes it came from.
#[derive(Debug, Clone, Copy)]
struct Letter {
    c: char,
    bytes: (usize, usize),
}

/// Elements a `<span>` may not sit directly inside.
const NO_SPAN_INSIDE: &[&str] =
    &["", "html", "head", "table", "thead", "tbody", "tfoot", "tr", "ul", "ol", "dl", "select", "colgroup"];

/// Wraps each target's sentence (targets in document order) in `<span id>`. A file whose markup
/// is not well formed (the parser had to repair it) is left as it is: its element spans could
/// not be trusted.
pub fn mark(xhtml: &str, targets: &[Target]) -> Marked {
    let dom = html::parse(xhtml);
    if dom.repairs > 0 {
        return Marked { xhtml: xhtml.to_string(), found: vec![false; targets.len()] };
    }
    let texts: Vec<usize> =
        (0..dom.nodes.len()).filter(|&i| matches!(dom.nodes[i].kind, NodeKind::Text { .. })).collect();
    let letters = letters(xhtml, &dom, &texts);
    let mut spans: Vec<(Range<usize>, &str)> = Vec::new();
    let mut found = Vec::with_capacity(targets.len());
    let mut done_to = 0; // bytes before this belong to earlier spans
    for target in targets {
        let span = locate(xhtml, &letters, target, done_to)
            .and_then(|range| balance(&dom, &texts, range))
            // Punctuation just outside an element the span grew to ("<em>late</em>.") is its too.
            .map(|range| widen_back(xhtml, range.start, done_to)..widen_forward(xhtml, range.end))
            .filter(|range| range.start >= done_to);
        if let Some(range) = &span {
            done_to = range.end;
            spans.push((range.clone(), &target.id));
        }
        found.push(span.is_some());
    }
    let mut out = String::with_capacity(xhtml.len() + spans.len() * 40);
    let mut at = 0;
    for (range, id) in spans {
        out.push_str(&xhtml[at..range.start]);
        out.push_str(&format!("<span id=\"{id}\">"));
        out.push_str(&xhtml[range.clone()]);
        out.push_str("</span>");
        at = range.end;
    }
    out.push_str(&xhtml[at..]);
    Marked { xhtml: out, found }
}

/// Every letter and digit of the text nodes, in document order; a character entity counts as
/// the characters it stands for, at the entity's bytes.
fn letters(xhtml: &str, dom: &Dom, texts: &[usize]) -> Vec<Letter> {
    let mut out = Vec::new();
    for &t in texts {
        let range = dom.nodes[t].span.clone();
        let raw = &xhtml[range.clone()];
        let mut i = 0;
        while i < raw.len() {
            let (decoded, len) = match entity_at(raw, i) {
                Some(len) => (html::decode_entities(&raw[i..i + len]), len),
                None => {
                    let c = raw[i..].chars().next().unwrap_or(' ');
                    (c.to_string(), c.len_utf8())
                }
            };
            let bytes = (range.start + i, range.start + i + len);
            for c in decoded.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase) {
                out.push(Letter { c, bytes });
            }
            i += len;
        }
    }
    out
}

/// The length of a character reference (`&amp;`, `&#8217;`) starting at `i`, if one does.
fn entity_at(raw: &str, i: usize) -> Option<usize> {
    let rest = raw[i..].strip_prefix('&')?;
    let end = rest.bytes().take(32).position(|b| b == b';')?;
    let name = &rest[..end];
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#');
    valid.then_some(end + 2)
}

/// The bytes from the target's first letter to its last, found in order inside its block after
/// `from`, widened to the punctuation stuck to either end ("“Well,” he said." keeps its quotes).
fn locate(xhtml: &str, letters: &[Letter], target: &Target, from: usize) -> Option<Range<usize>> {
    let wanted: Vec<char> =
        target.original.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    let start_at = from.max(target.block.start);
    let mut i = letters.partition_point(|l| l.bytes.0 < start_at);
    let mut first = None;
    let mut last = None;
    for &c in &wanted {
        let offset = letters[i..].iter().take_while(|l| l.bytes.1 <= target.block.end).position(|l| l.c == c)?;
        first.get_or_insert(i + offset);
        last = Some(i + offset);
        i += offset + 1;
    }
    let (first, last) = (letters[first?].bytes.0, letters[last?].bytes.1);
    Some(widen_back(xhtml, first, from)..widen_forward(xhtml, last))
}

fn is_stuck_punctuation(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && c != '<' && c != '>'
}

fn widen_back(xhtml: &str, mut at: usize, floor: usize) -> usize {
    while at > floor {
        let before = &xhtml[..at];
        // A whole entity (`&ldquo;`), or one punctuation character.
        if before.ends_with(';')
            && let Some(amp) = before.rfind('&')
            && entity_at(xhtml, amp) == Some(at - amp)
        {
            at = amp;
            continue;
        }
        match before.chars().next_back() {
            Some(c) if is_stuck_punctuation(c) && c != ';' && c != '&' => at -= c.len_utf8(),
            _ => break,
        }
    }
    at
}

fn widen_forward(xhtml: &str, mut at: usize) -> usize {
    while at < xhtml.len() {
        if let Some(len) = entity_at(xhtml, at) {
            at += len;
            continue;
        }
        match xhtml[at..].chars().next() {
            Some(c) if is_stuck_punctuation(c) && c != '&' => at += c.len_utf8(),
            _ => break,
        }
    }
    at
}

/// The range grown to whole children of the deepest element holding both ends, or `None` where
/// that would put a span around a block element or somewhere a span may not be.
fn balance(dom: &Dom, texts: &[usize], range: Range<usize>) -> Option<Range<usize>> {
    let node_at = |byte: usize| -> Option<usize> {
        let i = texts.partition_point(|&t| dom.nodes[t].span.end <= byte);
        texts.get(i).copied().filter(|&t| dom.nodes[t].span.contains(&byte))
    };
    let (start_node, end_node) = (node_at(range.start)?, node_at(range.end.checked_sub(1)?)?);
    let ancestors = |mut n: usize| {
        let mut chain = vec![n];
        while n != 0 {
            n = dom.nodes[n].parent;
            chain.push(n);
        }
        chain.reverse(); // root first
        chain
    };
    let (a, b) = (ancestors(start_node), ancestors(end_node));
    // Text nodes are leaves, so the deepest shared node is an element even for one text node.
    let depth = a.iter().zip(&b).take_while(|(x, y)| x == y).count().min(a.len() - 1).min(b.len() - 1);
    let common = a[depth - 1];
    if NO_SPAN_INSIDE.contains(&dom.name(common)) {
        return None;
    }
    let (first_child, last_child) = (a[depth], b[depth]);
    let children = &dom.nodes[common].children;
    let from = children.iter().position(|&c| c == first_child)?;
    let to = children.iter().position(|&c| c == last_child)?;
    let inline = children[from..=to].iter().all(|&c| {
        let name = dom.name(c);
        !html::is_block(name) && !matches!(name, "li" | "td" | "th" | "tr" | "table" | "ul" | "ol" | "dl" | "dt" | "dd")
    });
    if !inline {
        return None;
    }
    let start = if first_child == start_node { range.start } else { dom.nodes[first_child].span.start };
    let end = if last_child == end_node { range.end } else { dom.nodes[last_child].span.end };
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(xhtml: &str, sentences: &[&str]) -> Marked {
        let targets: Vec<Target> = sentences
            .iter()
            .enumerate()
            .map(|(i, s)| Target { block: 0..xhtml.len(), original: s, id: format!("s{i}") })
            .collect();
        mark(xhtml, &targets)
    }

    #[test]
    fn sentences_get_spans_and_nothing_else_changes() {
        let xhtml = "<p>“Well,” he said. It&#8217;s <em>late</em>.</p>";
        let m = marked(xhtml, &["“Well,” he said.", "It’s late."]);
        assert_eq!(m.found, [true, true]);
        assert_eq!(
            m.xhtml,
            "<p><span id=\"s0\">“Well,” he said.</span> <span id=\"s1\">It&#8217;s <em>late</em>.</span></p>"
        );
    }

    #[test]
    fn spans_grow_to_whole_inline_elements() {
        let xhtml = "<p><span class=\"dropcap\">T</span>he end. <em>Really.</em></p>";
        let m = marked(xhtml, &["The end.", "Really."]);
        assert_eq!(m.found, [true, true]);
        assert_eq!(
            m.xhtml,
            "<p><span id=\"s0\"><span class=\"dropcap\">T</span>he end.</span> <em><span id=\"s1\">Really.</span></em></p>"
        );
    }

    #[test]
    fn what_the_markup_cannot_hold_gets_no_span() {
        // Across two paragraphs, and text that is not in the markup at all (an image's alt).
        let xhtml = "<div><p>One two</p><p>three.</p><img alt=\"A whale\"/></div>";
        let m = marked(xhtml, &["One two three.", "A whale"]);
        assert_eq!(m.found, [false, false]);
        assert_eq!(m.xhtml, xhtml);
    }

    #[test]
    fn note_markers_and_shortened_urls_in_the_markup_are_skipped() {
        let xhtml = "<p>See <a href=\"#n1\">1</a>https://example.com/a/b for more. Next one.</p>";
        let m = marked(xhtml, &["See example.com for more.", "Next one."]);
        assert_eq!(m.found, [true, true]);
        assert!(m.xhtml.contains("<span id=\"s1\">Next one.</span>"), "{}", m.xhtml);
    }
}
