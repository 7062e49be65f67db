//! Script helper: tokens nobody reads aloud as written. Checksums, UUIDs, encoded blobs, giant
//! numbers, 200-character identifiers and URLs without a scheme fill technical books, and read as
//! written they are minutes of noise, or one "word" too long for a model call.
//!
//! Takes the NFC source text, gives each such token's replacement as pieces mapped to the source
//! bytes they stand for, so that timing sidecars still point at the book's own token. An opaque
//! token (hex, UUID, number, encoded data, a boundless word) is read as [`LongTokens`] says. A long
//! identifier or path is split at its natural boundaries (`/`, `.`, `_`, `-`, camelCase humps) and
//! read as words, each a verbatim copy of its source. A URL without a scheme
//! (`example.com/a/b?x=1`) is read as its host, as one with a scheme is.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

/// How an opaque token (a checksum, UUID, encoded blob, giant number or boundless word) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LongTokens {
    /// Say what it is: "a 64-character hex string", "a UUID", "a 120-character encoded string".
    #[default]
    Announce,
    /// Spell it, four characters at a time: "5 9 4 6, F 7 'A' 3".
    Spell,
    /// Leave it out; the words around it are still read.
    Skip,
}

/// What kind of opaque token the script found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongTokenKind {
    /// 16 or more hexadecimal digits: a checksum, hash or key.
    Hex,
    /// `550e8400-e29b-41d4-a716-446655440000`.
    Uuid,
    /// 13 or more digits, more than a listener takes in as a number.
    Number,
    /// 16 or more letters and digits in no pattern words have: base64 and the like.
    Encoded,
    /// 48 or more letters with no boundary to split them at.
    Word,
}

/// An opaque token of the source, and what is said in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongToken {
    /// Its byte range in the NFC source text ([`super::Spoken::source`]).
    pub source: Range<usize>,
    pub kind: LongTokenKind,
    /// The announcement or spelling; empty when skipped.
    pub spoken: String,
}

/// Hex strings and encoded data are this long at least.
const MIN_OPAQUE: usize = 16;
/// Digit runs are this long at least: from here loqui reads trillions, or nothing at all.
const MIN_NUMBER: usize = 13;
/// Identifiers and paths this long are read as their words, so that no model call has to take
/// them whole; shorter ones the G2P reads well as they are.
const MIN_IDENTIFIER: usize = 32;
/// Boundless words are this long at least; the longest English words are 45 letters.
const MIN_WORD: usize = 48;

/// A piece of a replacement: spoken text for a source range, verbatim when it is a copy of it.
#[derive(Debug)]
pub(super) struct Segment {
    pub source: Range<usize>,
    pub spoken: String,
    pub verbatim: bool,
}

/// A token found in the source: its range, the pieces that replace it, and its opaque parts.
#[derive(Debug)]
pub(super) struct Found {
    pub range: Range<usize>,
    pub segments: Vec<Segment>,
    pub opaque: Vec<LongToken>,
}

/// The tokens of `source` to read other than as written, in order, never overlapping.
pub(super) fn find(source: &str, mode: LongTokens) -> Vec<Found> {
    runs()
        .captures_iter(source)
        .filter_map(|caps| caps.name("run"))
        .flat_map(|m| dash_free(source, m.range()))
        .filter_map(|range| classify(source, range, mode))
        .collect()
}

/// A run cut at its double hyphens: "means--to--make" is prose with dashes, which the script reads
/// as pauses, and "--flag" an option whose dashes are not part of its name.
fn dash_free(source: &str, run: Range<usize>) -> Vec<Range<usize>> {
    let text = &source[run.clone()];
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(at) = text[start..].find("--").map(|p| start + p) {
        out.push(run.start + start..run.start + at);
        start = at + text[at..].bytes().take_while(|&b| b == b'-').count();
    }
    out.push(run.start + start..run.end);
    out.retain(|r| !r.is_empty());
    out
}

/// Runs of the characters identifiers, paths and encodings are made of. URLs with a scheme and
/// e-mail addresses are matched first only to be passed over: the script reads those itself.
fn runs() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let pattern = r"(?x)
            (?P<skip>\b(?:https?://|ftp://|www\.)\S* | \b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b)
            | (?P<run>(?:\.\.?/|[A-Za-z0-9_/])[A-Za-z0-9_./+=@\#%&?~:-]{14,}[A-Za-z0-9_/=])";
        Regex::new(pattern).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
    })
}

/// `example.com/path`: a host with a common top-level domain, then a path.
fn schemeless_url() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let pattern = r"^((?:[A-Za-z0-9-]+\.)+(?:com|org|net|edu|gov|mil|int|io|dev|app|ai|co|me|info|biz|xyz|tech|cloud|site|uk|us|ca|au|de|fr|nl|eu|ch|se|no|it|es|jp|cn|ru|in|br))(?::\d+)?/";
        Regex::new(pattern).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
    })
}

/// A part of a run: a word read as written, or an opaque token.
struct Item {
    range: Range<usize>,
    opaque: Option<LongTokenKind>,
}

fn classify(source: &str, range: Range<usize>, mode: LongTokens) -> Option<Found> {
    let run = &source[range.clone()];
    // Part of a longer word in another script ("é5946…"), or something the script reads itself.
    let glued = source[..range.start].chars().next_back().is_some_and(char::is_alphanumeric)
        || source[range.end..].chars().next().is_some_and(char::is_alphanumeric);
    if glued || run.contains("://") {
        return None;
    }
    if let Some(host) = schemeless_url().captures(run).and_then(|c| c.get(1)) {
        let host = host.as_str();
        let spoken = super::dotted(host.strip_prefix("www.").unwrap_or(host));
        return Some(Found {
            segments: vec![Segment { source: range.clone(), spoken, verbatim: false }],
            range,
            opaque: vec![],
        });
    }
    let items = split(run, range.start);
    if items.iter().all(|i| i.opaque.is_none()) && (run.len() < MIN_IDENTIFIER || items.len() < 2) {
        return None;
    }
    let mut segments = Vec::with_capacity(items.len() * 2 + 1);
    let mut opaque = Vec::new();
    let mut at = range.start;
    let mut previous_announced = false;
    for (i, item) in items.iter().enumerate() {
        let announced = item.opaque.is_some() && mode != LongTokens::Skip;
        // Separators between words become spaces; an announcement gets commas around it.
        let gap = match (i, previous_announced || announced) {
            (0, _) => "",
            (_, true) => ", ",
            (_, false) => " ",
        };
        if at < item.range.start || !gap.is_empty() {
            segments.push(Segment { source: at..item.range.start, spoken: gap.into(), verbatim: false });
        }
        let text = &source[item.range.clone()];
        match item.opaque {
            None => segments.push(Segment { source: item.range.clone(), spoken: text.into(), verbatim: true }),
            Some(kind) => {
                let spoken = read_opaque(kind, text, mode);
                segments.push(Segment { source: item.range.clone(), spoken: spoken.clone(), verbatim: false });
                opaque.push(LongToken { source: item.range.clone(), kind, spoken });
            }
        }
        at = item.range.end;
        previous_announced = announced;
    }
    if at < range.end {
        segments.push(Segment { source: at..range.end, spoken: String::new(), verbatim: false });
    }
    Some(Found { range, segments, opaque })
}

/// Separators in the order a run is split at them: a path's slashes before a file name's dots,
/// dots before underscores, hyphens last (a UUID is found before its hyphens split it).
const SEPARATORS: [&[char]; 4] = [&['/', ':', '@', '?', '&', '=', '#', '%', '~', '+'], &['.'], &['_'], &['-']];

/// Splits `text` (at byte `base` of the source) into words and opaque tokens.
fn split(text: &str, base: usize) -> Vec<Item> {
    let whole = |kind| vec![Item { range: base..base + text.len(), opaque: Some(kind) }];
    if let Some(kind) = shape_kind(text) {
        return whole(kind);
    }
    let Some(separators) = SEPARATORS.into_iter().find(|s| text.contains(*s)) else {
        return split_word(text, base);
    };
    let mut items = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices().filter(|(_, c)| separators.contains(c)) {
        if start < at {
            items.extend(split(&text[start..at], base + start));
        }
        start = at + c.len_utf8();
    }
    if start < text.len() {
        items.extend(split(&text[start..], base + start));
    }
    // Base64 has '+', '/' and '=' in it: whole, it is one blob, unless a part of it has a shape
    // of its own ("sha256-5946f7…" is a name and a checksum).
    let shaped = items
        .iter()
        .any(|i| matches!(i.opaque, Some(LongTokenKind::Hex | LongTokenKind::Uuid | LongTokenKind::Number)));
    let alphabet = text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-'));
    if !shaped && alphabet && text.len() >= MIN_OPAQUE && looks_random(text) {
        return whole(LongTokenKind::Encoded);
    }
    items
}

/// Splits a run of letters and digits: encoded data and boundless words are opaque, anything
/// else is cut into words at its humps.
fn split_word(text: &str, base: usize) -> Vec<Item> {
    let kind = if text.len() >= MIN_WORD && text.bytes().all(|b| b.is_ascii_alphabetic()) {
        Some(LongTokenKind::Word)
    } else if text.len() >= MIN_OPAQUE && looks_random(text) {
        Some(LongTokenKind::Encoded)
    } else {
        None
    };
    match kind {
        Some(kind) => vec![Item { range: base..base + text.len(), opaque: Some(kind) }],
        None => humps(text).into_iter().map(|r| Item { range: base + r.start..base + r.end, opaque: None }).collect(),
    }
}

/// Opaque tokens known by their shape alone: UUIDs, hex strings, long numbers.
fn shape_kind(text: &str) -> Option<LongTokenKind> {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    if is_uuid(text) {
        Some(LongTokenKind::Uuid)
    } else if text.len() >= MIN_NUMBER && digits == text.len() {
        Some(LongTokenKind::Number)
    } else if text.len() >= MIN_OPAQUE
        && text.bytes().all(|b| b.is_ascii_hexdigit())
        && digits > 0
        && digits < text.len()
    {
        Some(LongTokenKind::Hex)
    } else {
        None
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether letters and digits fall in no pattern words have. Cut at case humps and between
/// letters and digits, an identifier gives words ("some", "Very", "Long", "2024"); encoded data
/// gives one- and two-character scraps and clusters with no vowel ("Vsb", "G", "8", "gd").
fn looks_random(text: &str) -> bool {
    let mut total = 0;
    let mut wordlike = 0;
    for piece in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        for r in humps(piece) {
            let part = &piece[r];
            total += part.len();
            let letters = part.bytes().all(|b| b.is_ascii_alphabetic());
            let has_vowel = part.bytes().any(|b| b"aeiouAEIOU".contains(&b));
            if part.len() >= 2 && ((letters && has_vowel) || (!letters && part.len() <= 4)) {
                wordlike += part.len();
            }
        }
    }
    wordlike * 2 < total
}

/// Byte ranges of the words in a run of letters and digits: cut where a lowercase letter meets
/// a capital ("get|Element"), before the last capital of a run of them followed by a lowercase
/// letter ("HTTP|Server"), and between letters and digits ("utf|8").
fn humps(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..chars.len() {
        let (at, c) = chars[i];
        let prev = chars[i - 1].1;
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let cut = (prev.is_lowercase() && c.is_uppercase())
            || (prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase))
            || (prev.is_ascii_digit() != c.is_ascii_digit());
        if cut {
            out.push(start..at);
            start = at;
        }
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

/// What is said for an opaque token.
fn read_opaque(kind: LongTokenKind, text: &str, mode: LongTokens) -> String {
    match mode {
        LongTokens::Skip => String::new(),
        LongTokens::Spell => spell(text),
        LongTokens::Announce => {
            let n = text.chars().count();
            let a = article(n);
            match kind {
                LongTokenKind::Hex => format!("{a} {n}-character hex string"),
                LongTokenKind::Uuid => "a UUID".into(),
                LongTokenKind::Number => format!("{a} {n}-digit number"),
                LongTokenKind::Encoded => format!("{a} {n}-character encoded string"),
                LongTokenKind::Word => format!("{a} {n}-letter word"),
            }
        }
    }
}

/// "a" or "an" before a number as it is read: "an 8-", "an 11-", "an 18,000-", "a 64-".
fn article(n: usize) -> &'static str {
    let digits = n.to_string();
    let eleven_or_eighteen = digits.len() % 3 == 2 && (digits.starts_with("11") || digits.starts_with("18"));
    if digits.starts_with('8') || eleven_or_eighteen { "an" } else { "a" }
}

/// Letters and digits one by one, four to a group: "5 9 4 6, F 7 'A' 3". Capitals are read as
/// letter names; "A" alone is taken for the article, so it is quoted, which the lexicon reads as
/// the letter.
fn spell(text: &str) -> String {
    let symbols: Vec<String> = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| match c.to_ascii_uppercase() {
            'A' => "'A'".to_string(),
            c => c.to_string(),
        })
        .collect();
    symbols.chunks(4).map(|group| group.join(" ")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a run is read as, announced.
    fn read(text: &str) -> Option<String> {
        read_as(text, LongTokens::Announce)
    }

    fn read_as(text: &str, mode: LongTokens) -> Option<String> {
        let found = find(text, mode);
        let f = found.first()?;
        assert_eq!(f.range, 0..text.len(), "{text}");
        Some(f.segments.iter().map(|s| s.spoken.as_str()).collect())
    }

    const HEX64: &str = "5946f7a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5";

    #[test]
    fn opaque_tokens_are_announced_by_kind_and_length() {
        assert_eq!(read(HEX64).as_deref(), Some("a 64-character hex string"));
        assert_eq!(read(&HEX64[..32]).as_deref(), Some("a 32-character hex string"));
        assert_eq!(read("550e8400-e29b-41d4-a716-446655440000").as_deref(), Some("a UUID"));
        assert_eq!(read("12345678901234567890").as_deref(), Some("a 20-digit number"));
        assert_eq!(read("123456789012345678").as_deref(), Some("an 18-digit number"));
        let base64 = "aGVsbG8gd29ybGQgdGhpcyBpcyBhIGxvbmcgc3RyaW5nIG9mIGJhc2U2NA==";
        assert_eq!(read(base64).as_deref(), Some("a 60-character encoded string"));
        assert_eq!(read(&"x".repeat(200)).as_deref(), Some("a 200-letter word"));
    }

    #[test]
    fn identifiers_and_paths_are_read_as_their_words() {
        assert_eq!(
            read("some_very_long_snake_case_identifier_name").as_deref(),
            Some("some very long snake case identifier name")
        );
        assert_eq!(
            read("aVeryLongCamelCaseIdentifierNameForHTTPServer").as_deref(),
            Some("a Very Long Camel Case Identifier Name For HTTP Server")
        );
        assert_eq!(
            read("/usr/local/share/audiobook/voices/bf_lily.bin").as_deref(),
            Some("usr local share audiobook voices bf lily bin")
        );
        assert_eq!(
            read("./tests/syntax-tests/regression_test.sh").as_deref(),
            Some("tests syntax tests regression test sh")
        );
        assert_eq!(
            read(&format!("sha256-{HEX64}")).as_deref(),
            Some("sha 256, a 64-character hex string"),
            "an opaque part of a longer token"
        );
        assert_eq!(
            read("/api/v1/users/550e8400-e29b-41d4-a716-446655440000/profile").as_deref(),
            Some("api v 1 users, a UUID, profile")
        );
    }

    #[test]
    fn urls_without_a_scheme_are_read_as_their_host() {
        assert_eq!(read("example.com/a/b/c?x=1").as_deref(), Some("example dot com"));
        assert_eq!(read("www.example.org/very/long/path").map(|_| ()), None, "the script reads www. URLs");
        assert_eq!(read("docs.example.io:8080/guide/").as_deref(), Some("docs dot example dot io"));
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "extraordinarily incomprehensibilities",
            "x86_64-unknown-linux-gnu",
            "2024-01-01T12:00:00.000Z",
            "std::collections::HashMap",
            "jane.doe.with.a.long.name@example.com",
            "https://example.com/5946f7a3b2c1d0e9f8a7b6c5d4e3f2a1",
            "pneumonoultramicroscopicsilicovolcanoconiosis",
            "Donaudampfschifffahrtsgesellschaftskapitän",
            "5946f7a3b2c1",
            "it means--to--make--anything--prettier",
            "--fallback-syntax/--fallback-language",
        ] {
            assert!(find(text, LongTokens::Announce).is_empty(), "{text}");
        }
        // Glued to a letter of another script: not a token of its own.
        assert!(find(&format!("é{HEX64}"), LongTokens::Announce).is_empty());
    }

    #[test]
    fn spell_and_skip_read_opaque_parts_only() {
        assert_eq!(read_as(&HEX64[..16], LongTokens::Spell).as_deref(), Some("5 9 4 6, F 7 'A' 3, B 2 C 1, D 0 E 9"));
        assert_eq!(read_as(HEX64, LongTokens::Skip).as_deref(), Some(""));
        assert_eq!(read_as(&format!("build_{HEX64}_done"), LongTokens::Skip).as_deref(), Some("build  done"));
        let found = find(&format!("id {HEX64}"), LongTokens::Skip);
        assert_eq!(found[0].opaque[0].source, 3..67);
        assert_eq!(found[0].opaque[0].kind, LongTokenKind::Hex);
    }

    #[test]
    fn segments_cover_the_token_and_words_are_verbatim() {
        let text = "see /api/v1/users/550e8400-e29b-41d4-a716-446655440000/profile now";
        let found = find(text, LongTokens::Announce);
        let f = &found[0];
        let mut at = f.range.start;
        for s in &f.segments {
            assert_eq!(s.source.start, at, "{:?}", f.segments);
            if s.verbatim {
                assert_eq!(text[s.source.clone()], s.spoken);
            }
            at = s.source.end;
        }
        assert_eq!(at, f.range.end);
    }

    #[test]
    fn articles_follow_the_number_as_read() {
        assert_eq!(article(8), "an");
        assert_eq!(article(11), "an");
        assert_eq!(article(18), "an");
        assert_eq!(article(80), "an");
        assert_eq!(article(64), "a");
        assert_eq!(article(110), "a");
        assert_eq!(article(18_000), "an");
        assert_eq!(article(1_800), "a");
    }

    #[test]
    fn encoded_data_and_identifiers_are_told_apart() {
        assert!(looks_random("aGVsbG8gd29ybGQgdGhpcyBpcyBh"));
        assert!(looks_random("k2j4h5g6f7d8s9a0z1x2c3v4"));
        assert!(looks_random("A1B2C3D4E5F6G7H8"));
        assert!(!looks_random("someVeryLongIdentifierName_with_parts2"));
        assert!(!looks_random("x86_64-unknown-linux-gnu"));
        assert!(!looks_random("/usr/local/share/audiobook/voices"));
    }
}
