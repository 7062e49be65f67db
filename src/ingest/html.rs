//! Ingest helper: a lenient (X)HTML reader that turns a content document into [`Block`]s.
//!
//! Takes the decoded text of an XHTML or HTML file (EPUB content documents, raw HTML inside
//! Markdown), gives blocks in reading order, the block index where each `id` starts (for TOC
//! `#fragment` links) and note bodies kept apart. The tokenizer never fails: it honours `/>` as
//! XHTML does, recovers from mismatched or stray end tags, decodes HTML5 entities without ever
//! expanding DTD entities (no "billion laughs"), and counts what it had to repair so the caller
//! can warn. Nesting deeper than [`MAX_DEPTH`] is flattened so hostile input cannot overflow the
//! stack.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use super::text_clean::{clean_inline, is_note_marker};
use super::{Block, BlockKind, CodeMode, IngestOptions, NotesMode, Source};

/// Elements nested deeper than this are attached to the deepest open element instead.
pub(crate) const MAX_DEPTH: usize = 256;

const VOID: &[&str] =
    &["br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "param", "source", "track", "wbr"];

/// `epub:type` / `role` values of whole sections that are front or back matter, not reading text.
const MATTER_TYPES: &[&str] = &[
    "cover",
    "titlepage",
    "halftitlepage",
    "copyright-page",
    "imprint",
    "colophon",
    "toc",
    "landmarks",
    "page-list",
    "loi",
    "lot",
    "doc-toc",
    "doc-pagelist",
    "doc-colophon",
    "doc-cover",
];

const NOTE_TYPES: &[&str] = &[
    "footnote",
    "endnote",
    "rearnote",
    "footnotes",
    "endnotes",
    "rearnotes",
    "doc-footnote",
    "doc-endnote",
    "doc-endnotes",
];

#[derive(Debug)]
pub(crate) enum NodeKind {
    Element { name: String, attrs: Vec<(String, String)> },
    Text { text: String, range: Range<usize> },
}

#[derive(Debug)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub children: Vec<usize>,
    pub parent: usize,
    /// Where it is in the input: an element from its start tag's `<` to its end tag's `>` (or to
    /// where it was implicitly closed), a text node its raw text.
    pub span: Range<usize>,
    /// Where an element's start tag ends (just after its `>`).
    pub open_end: usize,
}

/// A parsed document: node 0 is a synthetic root.
#[derive(Debug)]
pub(crate) struct Dom {
    pub nodes: Vec<Node>,
    /// How many repairs the tokenizer made (stray end tags, unterminated markup, deep nesting).
    pub repairs: usize,
}

impl Dom {
    pub fn name(&self, id: usize) -> &str {
        match &self.nodes[id].kind {
            NodeKind::Element { name, .. } => name,
            NodeKind::Text { .. } => "",
        }
    }

    pub fn attr(&self, id: usize, key: &str) -> Option<&str> {
        match &self.nodes[id].kind {
            NodeKind::Element { attrs, .. } => attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()),
            NodeKind::Text { .. } => None,
        }
    }

    /// Whitespace-separated tokens of `epub:type` and `role`.
    fn types(&self, id: usize) -> impl Iterator<Item = &str> {
        let a = self.attr(id, "epub:type").unwrap_or("");
        let b = self.attr(id, "role").unwrap_or("");
        a.split_whitespace().chain(b.split_whitespace())
    }

    fn has_type(&self, id: usize, set: &[&str]) -> bool {
        self.types(id).any(|t| set.contains(&t))
    }

    fn has_class(&self, id: usize, class: &str) -> bool {
        self.attr(id, "class").is_some_and(|c| c.split_whitespace().any(|t| t.eq_ignore_ascii_case(class)))
    }

    /// All text below `id`, raw (entities decoded, whitespace not collapsed).
    pub fn text_content(&self, id: usize) -> String {
        let mut out = String::new();
        self.collect_text(id, &mut out, 0);
        out
    }

    fn collect_text(&self, id: usize, out: &mut String, depth: usize) {
        match &self.nodes[id].kind {
            NodeKind::Text { text, .. } => out.push_str(text),
            NodeKind::Element { name, .. } => {
                if matches!(name.as_str(), "script" | "style" | "head") || depth > MAX_DEPTH {
                    return;
                }
                for &c in &self.nodes[id].children {
                    self.collect_text(c, out, depth + 1);
                }
            }
        }
    }

    /// The language of the block node `id` sits in, as the book tags it (`xml:lang` or `lang`,
    /// raw): the tag of its nearest block-level element, itself included, or of the nearest
    /// element above that. Inline elements' tags are ignored: a block is read in one language.
    /// `lang=""` says the language is unknown, and stops the search.
    pub fn block_language(&self, id: usize) -> Option<&str> {
        let mut n = id;
        while n != 0 && !is_block(self.name(n)) {
            n = self.nodes[n].parent;
        }
        loop {
            if let Some(tag) = self.attr(n, "xml:lang").or_else(|| self.attr(n, "lang")) {
                return Some(tag.trim()).filter(|t| !t.is_empty());
            }
            if n == 0 {
                return None;
            }
            n = self.nodes[n].parent;
        }
    }

    /// The first element called `name` in document order.
    pub fn find(&self, name: &str) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| self.name(i) == name)
    }
}

/// Parses (X)HTML leniently. Never fails.
pub(crate) fn parse(input: &str) -> Dom {
    let mut dom = Dom {
        nodes: vec![Node {
            kind: NodeKind::Element { name: String::new(), attrs: vec![] },
            children: vec![],
            parent: 0,
            span: 0..input.len(),
            open_end: 0,
        }],
        repairs: 0,
    };
    let bytes = input.as_bytes();
    let mut stack: Vec<usize> = vec![0];
    let mut i = 0;
    let mut text_start = 0;
    let push_text = |dom: &mut Dom, stack: &[usize], range: Range<usize>, raw: bool| {
        if range.is_empty() {
            return;
        }
        let slice = &input[range.clone()];
        let text = if raw { slice.to_string() } else { decode_entities(slice) };
        let id = dom.nodes.len();
        let parent = *stack.last().unwrap_or(&0);
        let (span, open_end) = (range.clone(), range.start);
        dom.nodes.push(Node { kind: NodeKind::Text { text, range }, children: vec![], parent, span, open_end });
        dom.nodes[parent].children.push(id);
    };
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &input[i..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            push_text(&mut dom, &stack, text_start..i, false);
            i = match comment.find("-->") {
                Some(p) => i + 4 + p + 3,
                None => {
                    dom.repairs += 1;
                    bytes.len()
                }
            };
            text_start = i;
        } else if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            push_text(&mut dom, &stack, text_start..i, false);
            let body = i + 9;
            let end = cdata.find("]]>").map(|p| body + p);
            let end = end.unwrap_or_else(|| {
                dom.repairs += 1;
                bytes.len()
            });
            push_text(&mut dom, &stack, body..end, true);
            i = (end + 3).min(bytes.len());
            text_start = i;
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            // Doctype, DTD (with any entity declarations, which are never expanded) or a
            // processing instruction. An internal DTD subset may contain '>' inside brackets.
            push_text(&mut dom, &stack, text_start..i, false);
            i = skip_declaration(bytes, i);
            text_start = i;
        } else if let Some(end_tag) = rest.strip_prefix("</") {
            push_text(&mut dom, &stack, text_start..i, false);
            let end_tag_start = i;
            let name_end = end_tag.find(|c: char| c.is_whitespace() || c == '>').map_or(rest.len(), |p| p + 2);
            let name = rest[2..name_end].to_ascii_lowercase();
            i = rest[name_end..].find('>').map_or(bytes.len(), |p| i + name_end + p + 1);
            text_start = i;
            match stack.iter().rposition(|&n| n != 0 && dom.name(n) == name) {
                Some(pos) => {
                    if pos + 1 != stack.len() {
                        dom.repairs += 1;
                    }
                    // Elements left open inside it end where its end tag starts.
                    close(&mut dom, &stack[pos + 1..], end_tag_start);
                    close(&mut dom, &stack[pos..=pos], i);
                    stack.truncate(pos);
                }
                // `<meta ...></meta>` is well-formed XHTML for a void element.
                None if VOID.contains(&name.as_str()) => {}
                None => dom.repairs += 1,
            }
        } else if rest.len() > 1 && rest.as_bytes()[1].is_ascii_alphabetic() {
            push_text(&mut dom, &stack, text_start..i, false);
            let tag_start = i;
            let (tag_end, name, attrs, self_closing) = parse_tag(input, i);
            i = tag_end;
            text_start = i;
            // HTML's implicit closes for the common cases.
            if let Some(&top) = stack.last()
                && ((name == "p" && dom.name(top) == "p") || (name == "li" && dom.name(top) == "li"))
            {
                close(&mut dom, &[top], tag_start);
                stack.pop();
            }
            let raw_text = name == "script" || name == "style";
            let id = dom.nodes.len();
            let parent = *stack.last().unwrap_or(&0);
            let kind = NodeKind::Element { name: name.clone(), attrs };
            dom.nodes.push(Node { kind, children: vec![], parent, span: tag_start..i, open_end: i });
            dom.nodes[parent].children.push(id);
            if raw_text && !self_closing {
                let end_tag = format!("</{name}");
                i = match find_ignore_case(&bytes[i..], end_tag.as_bytes()) {
                    Some(p) => {
                        let after = i + p;
                        input[after..].find('>').map_or(bytes.len(), |q| after + q + 1)
                    }
                    None => bytes.len(),
                };
                close(&mut dom, &[id], i);
                text_start = i;
            } else if !self_closing && !VOID.contains(&name.as_str()) {
                if stack.len() >= MAX_DEPTH {
                    dom.repairs += 1;
                } else {
                    stack.push(id);
                }
            }
        } else {
            // A bare '<' in text ("a < b"): keep it as text.
            dom.repairs += 1;
            i += 1;
        }
    }
    push_text(&mut dom, &stack, text_start..bytes.len(), false);
    close(&mut dom, &stack[1..], bytes.len());
    dom
}

/// Ends the spans of `elements` at `end`.
fn close(dom: &mut Dom, elements: &[usize], end: usize) {
    for &id in elements {
        dom.nodes[id].span.end = end;
    }
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

fn skip_declaration(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0i32;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b'>' if depth <= 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// Parses `<name attr="v" ...>` starting at `start`; returns the index after `>`.
fn parse_tag(input: &str, start: usize) -> (usize, String, Vec<(String, String)>, bool) {
    let bytes = input.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' && bytes[i] != b'/' {
        i += 1;
    }
    let name = input[start + 1..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut self_closing = false;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            return (bytes.len(), name, attrs, self_closing);
        }
        match bytes[i] {
            b'>' => return (i + 1, name, attrs, self_closing),
            b'/' => {
                self_closing = true;
                i += 1;
                continue;
            }
            _ => {}
        }
        self_closing = false;
        let key_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let key = input[key_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let q = bytes[i];
                let vs = i + 1;
                let ve = bytes[vs..].iter().position(|&b| b == q).map_or(bytes.len(), |p| vs + p);
                value = decode_entities(&input[vs..ve]);
                i = (ve + 1).min(bytes.len());
            } else {
                let vs = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                value = decode_entities(&input[vs..i]);
            }
        }
        // A nameless attribute (`<p ="x">`) is dropped. Its '=' was consumed above, so the loop
        // moves on; stepping one more byte could land inside a multi-byte character or skip '>'.
        if !key.is_empty() {
            attrs.push((key, value));
        }
    }
}

/// Decodes `&name;`, `&#N;` and `&#xH;`. A well-formed reference to an entity HTML does not
/// define (`&lol9;`, from a DTD we never expand) is dropped, never read aloud; a `&` that starts
/// no reference stays as written.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let semi = rest[1..].find(';').map(|q| q + 1).filter(|&q| q <= 40);
        let decoded = semi.and_then(|q| {
            let name = &rest[1..q];
            let ch = if let Some(num) = name.strip_prefix('#') {
                let n = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => num.parse::<u32>().ok(),
                };
                n.map(|n| char::from_u32(n).filter(|&c| c != '\0').unwrap_or('\u{FFFD}').to_string())
            } else {
                quick_xml::escape::resolve_html5_entity(name).map(str::to_string)
            };
            ch.map(|c| (c, q))
        });
        match decoded {
            Some((c, q)) => {
                out.push_str(&c);
                rest = &rest[q + 1..];
            }
            None => match semi.filter(|&q| is_entity_name(&rest[1..q])) {
                Some(q) => rest = &rest[q + 1..],
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            },
        }
    }
    out.push_str(rest);
    out
}

/// An XML name as entity references use it: a letter, then letters, digits, `_`, `-` or `.`.
fn is_entity_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A place in a document: the index of the next main-flow block, and a sequence number that
/// orders anchors and notes falling between the same two blocks.
pub(crate) type Mark = (usize, usize);

/// The blocks of one content document.
#[derive(Debug, Default)]
pub(crate) struct DocText {
    pub blocks: Vec<Block>,
    /// `id` attribute -> where the element starts.
    pub anchors: HashMap<String, Mark>,
    /// Note bodies with where they appeared in the main flow.
    pub notes: Vec<(Mark, Block)>,
    /// Stray control characters that were replaced or removed.
    pub control_chars: usize,
}

/// Walks a parsed document into blocks.
pub(crate) fn extract(dom: &Dom, file: &Path, opts: &IngestOptions) -> DocText {
    let mut w = Walker {
        dom,
        file,
        opts,
        out: DocText::default(),
        cur: String::new(),
        cur_range: None,
        cur_language: None,
        in_note: false,
        seq: 0,
        pending_alts: Vec::new(),
    };
    let start = dom.find("body").unwrap_or(0);
    w.walk(start, BlockKind::Paragraph, 0);
    w.flush(BlockKind::Paragraph);
    w.out
}

struct Walker<'a> {
    dom: &'a Dom,
    file: &'a Path,
    opts: &'a IngestOptions,
    out: DocText,
    cur: String,
    cur_range: Option<Range<usize>>,
    /// The language of the block being gathered in `cur` (see [`Dom::block_language`]).
    cur_language: Option<String>,
    in_note: bool,
    seq: usize,
    /// Alt texts of images in the current block, with their language, read after it.
    pending_alts: Vec<(String, Option<String>)>,
}

impl Walker<'_> {
    fn emit(&mut self, kind: BlockKind, raw: &str, range: Range<usize>, language: Option<String>) {
        let (text, controls) = clean_inline(raw);
        self.out.control_chars += controls;
        if text.is_empty() {
            return;
        }
        let kind = if self.in_note { BlockKind::Note } else { kind };
        let block = Block { kind, text, source: Source { file: self.file.to_path_buf(), range }, language };
        if self.in_note {
            let at = self.mark(self.out.blocks.len());
            self.out.notes.push((at, block));
        } else {
            self.out.blocks.push(block);
        }
    }

    fn mark(&mut self, block: usize) -> Mark {
        self.seq += 1;
        (block, self.seq)
    }

    fn flush(&mut self, kind: BlockKind) {
        let raw = std::mem::take(&mut self.cur);
        let range = self.cur_range.take().unwrap_or(0..0);
        let language = self.cur_language.take();
        if !raw.trim().is_empty() {
            self.emit(kind, &raw, range, language);
        }
        for (alt, language) in std::mem::take(&mut self.pending_alts) {
            self.emit(BlockKind::ImageAlt, &alt, 0..0, language);
        }
    }

    fn record_ids(&mut self, id: usize, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(anchor) = self.dom.attr(id, "id") {
            let at = self.mark(self.out.blocks.len());
            self.out.anchors.entry(anchor.to_string()).or_insert(at);
        }
        for &c in &self.dom.nodes[id].children {
            self.record_ids(c, depth + 1);
        }
    }

    fn add_text(&mut self, text: &str, range: &Range<usize>) {
        self.cur.push_str(text);
        self.cur_range = Some(match self.cur_range.take() {
            Some(r) => r.start..range.end,
            None => range.clone(),
        });
    }

    fn walk(&mut self, id: usize, ctx: BlockKind, depth: usize) {
        let dom = self.dom;
        let (name, _) = match &dom.nodes[id].kind {
            NodeKind::Text { text, range } => {
                if self.cur.trim().is_empty() && !text.trim().is_empty() {
                    self.cur_language = dom.block_language(id).map(str::to_string);
                }
                self.add_text(text, range);
                return;
            }
            NodeKind::Element { name, attrs } => (name.as_str(), attrs),
        };
        if depth > MAX_DEPTH {
            return;
        }
        if self.skipped(id, name) {
            self.record_ids(id, depth);
            return;
        }
        if let Some(anchor) = dom.attr(id, "id") {
            // A TOC fragment link starts at the next block; flush inline text only at block level.
            let at = self.mark(self.out.blocks.len() + usize::from(!self.cur.trim().is_empty() && is_block(name)));
            self.out.anchors.entry(anchor.to_string()).or_insert(at);
        }
        if dom.has_type(id, NOTE_TYPES) && !self.in_note {
            if self.opts.notes == NotesMode::Skip {
                self.record_ids(id, depth);
                return;
            }
            self.flush(ctx);
            self.in_note = true;
            self.children(id, BlockKind::Note, depth);
            self.flush(BlockKind::Note);
            self.in_note = false;
            return;
        }
        match name {
            "br" => self.cur.push(' '),
            "img" => {
                if self.opts.alt_text {
                    let alt = dom.attr(id, "alt").unwrap_or("").to_string();
                    if !alt.trim().is_empty() {
                        // Read after the paragraph the image sits in, not in the middle of it.
                        self.pending_alts.push((alt, dom.block_language(id).map(str::to_string)));
                    }
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush(ctx);
                let level = name.as_bytes()[1] - b'0';
                self.children(id, BlockKind::Heading { level }, depth);
                self.flush(BlockKind::Heading { level });
            }
            "hgroup" => {
                self.flush(ctx);
                let parts: Vec<String> = dom.nodes[id]
                    .children
                    .iter()
                    .filter(|&&c| !self.skipped(c, dom.name(c)))
                    .map(|&c| self.inline_text(c, depth + 1))
                    .map(|t| clean_inline(&t).0)
                    .filter(|t| !t.is_empty())
                    .collect();
                let level = dom.nodes[id]
                    .children
                    .iter()
                    .find_map(|&c| dom.name(c).strip_prefix('h').and_then(|l| l.parse::<u8>().ok()))
                    .unwrap_or(2);
                let range = self.range_of(id);
                self.record_ids(id, depth);
                let language = dom.block_language(id).map(str::to_string);
                self.emit(BlockKind::Heading { level }, &parts.join(": "), range, language);
            }
            "pre" => {
                self.flush(ctx);
                match self.opts.code {
                    CodeMode::Skip => self.record_ids(id, depth),
                    CodeMode::Announce => {
                        self.record_ids(id, depth);
                        self.emit(BlockKind::Code, CODE_ANNOUNCEMENT, self.range_of(id), None);
                    }
                    CodeMode::Read => {
                        let text = dom.text_content(id);
                        let language = dom.block_language(id).map(str::to_string);
                        self.emit(BlockKind::Code, &text, self.range_of(id), language);
                    }
                }
            }
            "table" => {
                self.flush(ctx);
                if self.opts.tables {
                    self.table(id, depth);
                } else {
                    self.record_ids(id, depth);
                }
            }
            "blockquote" => {
                self.flush(ctx);
                self.children(id, BlockKind::Quote, depth);
                self.flush(BlockKind::Quote);
            }
            "li" | "dt" | "dd" => {
                self.flush(ctx);
                let kind = if ctx == BlockKind::Quote { ctx } else { BlockKind::ListItem };
                self.children(id, kind, depth);
                self.flush(kind);
            }
            _ if is_block(name) => {
                self.flush(ctx);
                self.children(id, ctx, depth);
                self.flush(ctx);
            }
            _ => self.children(id, ctx, depth),
        }
    }

    fn children(&mut self, id: usize, ctx: BlockKind, depth: usize) {
        for &c in &self.dom.nodes[id].children {
            self.walk(c, ctx, depth + 1);
        }
    }

    /// Text of an inline subtree with the same skipping rules as the walk.
    fn inline_text(&self, id: usize, depth: usize) -> String {
        let dom = self.dom;
        match &dom.nodes[id].kind {
            NodeKind::Text { text, .. } => text.clone(),
            NodeKind::Element { name, .. } => {
                if depth > MAX_DEPTH || self.skipped(id, name) || dom.has_type(id, NOTE_TYPES) {
                    return String::new();
                }
                let mut s = String::new();
                for &c in &dom.nodes[id].children {
                    s.push_str(&self.inline_text(c, depth + 1));
                    if is_block(dom.name(c)) || dom.name(c) == "br" {
                        s.push(' ');
                    }
                }
                s
            }
        }
    }

    fn range_of(&self, id: usize) -> Range<usize> {
        let mut first: Option<usize> = None;
        let mut last = 0;
        let mut stack = vec![(id, 0usize)];
        while let Some((n, d)) = stack.pop() {
            match &self.dom.nodes[n].kind {
                NodeKind::Text { range, .. } => {
                    first = Some(first.map_or(range.start, |f| f.min(range.start)));
                    last = last.max(range.end);
                }
                NodeKind::Element { .. } if d < MAX_DEPTH => {
                    stack.extend(self.dom.nodes[n].children.iter().map(|&c| (c, d + 1)));
                }
                NodeKind::Element { .. } => {}
            }
        }
        first.map_or(0..0, |f| f..last)
    }

    fn table(&mut self, id: usize, depth: usize) {
        let dom = self.dom;
        let mut rows = Vec::new();
        collect_named(dom, id, "tr", &mut rows, 0);
        self.record_ids(id, depth);
        for row in rows {
            let mut cells = Vec::new();
            for &c in &dom.nodes[row].children {
                if matches!(dom.name(c), "td" | "th") {
                    let t = clean_inline(&self.inline_text(c, depth + 2)).0;
                    if !t.is_empty() {
                        cells.push(t);
                    }
                }
            }
            if !cells.is_empty() {
                let range = self.range_of(row);
                let language = dom.block_language(row).map(str::to_string);
                self.emit(BlockKind::Table, &cells.join("; "), range, language);
            }
        }
    }

    /// Elements never read in the running text.
    fn skipped(&self, id: usize, name: &str) -> bool {
        let dom = self.dom;
        if matches!(
            name,
            "head"
                | "script"
                | "style"
                | "template"
                | "svg"
                | "math"
                | "audio"
                | "video"
                | "object"
                | "iframe"
                | "rt"
                | "rp"
                | "noscript"
                | "button"
                | "input"
                | "select"
                | "textarea"
                | "canvas"
        ) {
            return true;
        }
        if dom.attr(id, "hidden").is_some() || dom.attr(id, "aria-hidden") == Some("true") {
            return true;
        }
        if dom.has_type(id, &["pagebreak", "doc-pagebreak", "noteref", "doc-noteref", "backlink", "doc-backlink"]) {
            return true;
        }
        if dom.has_class(id, "lnum") || dom.has_class(id, "linenum") || dom.has_class(id, "pagenum") {
            return true;
        }
        if !self.opts.keep_front_matter && dom.has_type(id, MATTER_TYPES) {
            return true;
        }
        if name == "nav" && dom.has_type(id, &["toc", "page-list", "landmarks", "lot", "loi"]) {
            return !self.opts.keep_front_matter;
        }
        match name {
            "a" => self.is_note_link(id),
            "sup" => {
                let t = dom.text_content(id);
                is_note_marker(t.trim()) && has_descendant(dom, id, "a")
            }
            _ => false,
        }
    }

    /// A link whose text is a note marker (`1`, `[12]`, `*`, `†`, `↩`) pointing inside the book.
    fn is_note_link(&self, id: usize) -> bool {
        let dom = self.dom;
        let href = dom.attr(id, "href").unwrap_or("");
        let text = dom.text_content(id);
        let t = text.trim();
        if t == "↩" || t == "↩\u{FE0E}" || t == "↩\u{FE0F}" {
            return true;
        }
        if !href.contains('#') || href.starts_with("http") || !is_note_marker(t) {
            return false;
        }
        // A bare number may be a cross-reference ("see chapter 24"): only a note when the
        // marker is bracketed or a symbol, or the target looks like a note.
        let target = href.rsplit('#').next().unwrap_or("").to_ascii_lowercase();
        !t.chars().all(|c| c.is_ascii_digit())
            || ["note", "fn", "ftn", "foot", "endn", "ref"].iter().any(|k| target.contains(k))
    }
}

/// The block written in place of a skipped code example with `CodeMode::Announce`.
pub const CODE_ANNOUNCEMENT: &str = "Code example omitted.";

fn has_descendant(dom: &Dom, id: usize, name: &str) -> bool {
    let mut v = Vec::new();
    collect_named(dom, id, name, &mut v, 0);
    !v.is_empty()
}

fn collect_named(dom: &Dom, id: usize, name: &str, out: &mut Vec<usize>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for &c in &dom.nodes[id].children {
        if dom.name(c) == name {
            out.push(c);
        } else {
            collect_named(dom, c, name, out, depth + 1);
        }
    }
}

pub(crate) fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "main"
            | "aside"
            | "nav"
            | "figure"
            | "figcaption"
            | "address"
            | "center"
            | "body"
            | "html"
            | "caption"
            | "details"
            | "summary"
            | "ul"
            | "ol"
            | "dl"
            | "li"
            | "dt"
            | "dd"
            | "blockquote"
            | "pre"
            | "table"
            | "tr"
            | "hr"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "hgroup"
    )
}

/// Text of a whole HTML fragment (raw HTML inside Markdown): tags dropped, entities decoded.
/// A fragment made mostly of links (a navigation bar, badges) gives nothing.
pub(crate) fn fragment_text(html: &str) -> String {
    let dom = parse(html);
    let mut out = String::new();
    let mut link_chars = 0;
    fragment_collect(&dom, 0, &mut out, &mut link_chars, false, 0);
    let total = out.chars().filter(|c| c.is_alphanumeric()).count();
    if total == 0 || link_chars * 10 >= total * 6 {
        return String::new();
    }
    out
}

fn fragment_collect(dom: &Dom, id: usize, out: &mut String, link_chars: &mut usize, in_link: bool, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match &dom.nodes[id].kind {
        NodeKind::Text { text, .. } => {
            if in_link {
                *link_chars += text.chars().filter(|c| c.is_alphanumeric()).count();
            }
            out.push_str(text);
        }
        NodeKind::Element { name, .. } => {
            if matches!(name.as_str(), "script" | "style" | "head" | "svg" | "math" | "pre" | "code" | "table") {
                return;
            }
            if is_block(name) || name == "br" {
                out.push(' ');
            }
            let in_link = in_link || name == "a";
            for &c in &dom.nodes[id].children {
                fragment_collect(dom, c, out, link_chars, in_link, depth + 1);
            }
            if is_block(name) {
                out.push(' ');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(html: &str, opts: &IngestOptions) -> DocText {
        let dom = parse(html);
        extract(&dom, Path::new("t.xhtml"), opts)
    }

    #[test]
    fn a_block_is_in_the_language_of_its_nearest_tagged_element() {
        let html = r#"<html xml:lang="en" lang="en"><body><p>English.</p>
            <p xml:lang="es">Hola <span lang="fr">monde</span>.</p>
            <div lang="fr"><blockquote><p>Bonjour.</p></blockquote><p lang="">Unknown.</p></div>
            <section lang="it"><h2>Titolo</h2>Testo <em lang="de">nicht</em> sciolto.
            <table><tr lang="pt-BR"><td>Olá</td></tr></table></section></body></html>"#;
        let d = blocks(html, &IngestOptions { tables: true, ..IngestOptions::default() });
        let got: Vec<(&str, Option<&str>)> =
            d.blocks.iter().map(|b| (b.text.as_str(), b.language.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("English.", Some("en")),
                ("Hola monde.", Some("es")),
                ("Bonjour.", Some("fr")),
                ("Unknown.", None),
                ("Titolo", Some("it")),
                ("Testo nicht sciolto.", Some("it")),
                ("Olá", Some("pt-BR")),
            ],
            "the block's own tag, else the nearest above it; inline tags do not count"
        );
        let untagged = blocks("<body><p>Plain.</p></body>", &IngestOptions::default());
        assert_eq!(untagged.blocks[0].language, None);
    }

    #[test]
    fn self_closing_anchor_does_not_swallow_text() {
        let d = blocks("<body><p><a id=\"p1\"/>One</p><p>Two</p></body>", &IngestOptions::default());
        let texts: Vec<_> = d.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["One", "Two"]);
        assert_eq!(d.anchors["p1"].0, 0);
    }

    #[test]
    fn noterefs_and_backlinks_are_dropped() {
        let html = r##"<body><p>Heifers,<a href="endnotes.xhtml#note-1" epub:type="noteref">1</a> but.</p>
            <p>Pound.<sup><a href="#n2">[2]</a></sup> End<a href="#x">*</a>.</p>
            <aside epub:type="footnote" id="n1"><p>Body of note.</p></aside>
            <p>Back <a href="c.xhtml#r1" epub:type="backlink">↩</a></p></body>"##;
        let d = blocks(html, &IngestOptions::default());
        let texts: Vec<_> = d.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["Heifers, but.", "Pound. End.", "Back"]);
        assert!(d.notes.is_empty());
        let opts = IngestOptions { notes: NotesMode::End, ..IngestOptions::default() };
        let d = blocks(html, &opts);
        assert_eq!(d.notes.len(), 1);
        assert_eq!(d.notes[0].1.text, "Body of note.");
        assert_eq!(d.notes[0].1.kind, BlockKind::Note);
    }

    #[test]
    fn cross_references_stay_and_hidden_things_go() {
        let html = r##"<body><p>See chapter <a href="ch24.xhtml#c24">24</a> now<a href="#fn3">3</a>.</p>
            <p>Page<span epub:type="pagebreak" id="p7">7</span> turns <span hidden="">secret</span><ruby>漢<rt>kan</rt></ruby>.</p>
            <section epub:type="titlepage"><h1>Title</h1></section><p>Line<span class="lnum">80</span></p></body>"##;
        let d = blocks(html, &IngestOptions::default());
        let texts: Vec<_> = d.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["See chapter 24 now.", "Page turns 漢.", "Line"]);
        let d = blocks(html, &IngestOptions { keep_front_matter: true, ..IngestOptions::default() });
        assert!(d.blocks.iter().any(|b| b.text == "Title"));
    }

    #[test]
    fn an_attribute_with_no_name_before_a_multibyte_character_does_not_panic() {
        // `<p ="x"é>` once stepped one byte past the value, into the middle of 'é'.
        for html in ["<body><p =\"x\"é>One</p></body>", "<body><p =é>One</p><p>Two</p></body>", "<p ='“'“=>Three"]
        {
            let d = blocks(html, &IngestOptions::default());
            assert!(d.blocks.iter().any(|b| b.text.ends_with("One") || b.text.ends_with("Three")), "{html}");
        }
        let d = blocks("<body><p =x>Text</p></body>", &IngestOptions::default());
        assert_eq!(d.blocks[0].text, "Text", "the '>' after a nameless attribute still ends the tag");
    }

    #[test]
    fn recovers_from_broken_markup_and_entities() {
        let d = blocks(
            "<body><p>Fish &amp; chips &mdash; a < b &bogus; <b>bold</p><p>x&#x2014;y</i></p>",
            &IngestOptions::default(),
        );
        let texts: Vec<_> = d.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["Fish & chips — a < b bold", "x—y"]);
    }

    #[test]
    fn dtd_entities_are_never_expanded() {
        let html = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><html><body><p>Say &lol2; twice, AT&T &amp; Q&A; &lol9;</p></body></html>"#;
        let d = blocks(html, &IngestOptions::default());
        assert_eq!(d.blocks.len(), 1);
        assert_eq!(d.blocks[0].text, "Say twice, AT&T & Q", "undefined entities are dropped, not read");
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let html = "<div>".repeat(100_000) + "deep" + &"</div>".repeat(100_000);
        let d = blocks(&html, &IngestOptions::default());
        assert_eq!(d.blocks[0].text, "deep");
    }

    #[test]
    fn code_tables_and_alt_follow_options() {
        let html = "<body><p>Intro</p><pre>fn main() {}</pre><table><tr><th>A</th><td>1</td></tr></table><img alt=\"A whale\"/></body>";
        let d = blocks(html, &IngestOptions::default());
        assert_eq!(d.blocks.len(), 1);
        let opts = IngestOptions { code: CodeMode::Announce, tables: true, alt_text: true, ..IngestOptions::default() };
        let d = blocks(html, &opts);
        let got: Vec<_> = d.blocks.iter().map(|b| (b.kind, b.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (BlockKind::Paragraph, "Intro"),
                (BlockKind::Code, CODE_ANNOUNCEMENT),
                (BlockKind::Table, "A; 1"),
                (BlockKind::ImageAlt, "A whale")
            ]
        );
    }

    #[test]
    fn elements_know_where_they_are_in_the_input() {
        let html = "<body><p>One <em>two</em><br/>three<p>four</body>";
        let dom = parse(html);
        let span = |name: &str, nth: usize| {
            let id = (0..dom.nodes.len()).filter(|&i| dom.name(i) == name).nth(nth).unwrap();
            &html[dom.nodes[id].span.clone()]
        };
        assert_eq!(span("em", 0), "<em>two</em>");
        assert_eq!(span("br", 0), "<br/>");
        assert_eq!(span("p", 0), "<p>One <em>two</em><br/>three", "closed by the next <p>");
        assert_eq!(span("p", 1), "<p>four", "closed by </body>");
        assert_eq!(span("body", 0), html);
        let em = dom.find("em").unwrap();
        assert_eq!(&html[dom.nodes[em].span.start..dom.nodes[em].open_end], "<em>");
        assert_eq!(dom.name(dom.nodes[em].parent), "p");
    }

    #[test]
    fn fragment_text_drops_tags() {
        let t = fragment_text("<p align=\"center\"><img src=\"x.png\"><br>A <i>cat(1)</i>&nbsp;clone.</p>");
        assert_eq!(clean_inline(&t).0, "A cat(1) clone.");
        let nav =
            fragment_text("<p><a href=\"#a\">Key features</a> &bull; <a href=\"#b\">How to use</a> [English]</p>");
        assert_eq!(nav, "");
    }
}
