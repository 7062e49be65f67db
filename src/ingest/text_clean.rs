//! Ingest helper: the last cleaning every block's text gets, whatever format it came from.
//!
//! Takes raw text with markup already removed, gives one line with whitespace collapsed,
//! invisible format characters (soft hyphen, zero-width space, word joiner, BOM) removed, stray
//! C1 control characters read as the Windows-1252 characters they almost always stand for
//! (U+0097 -> em dash), other control characters dropped, and bracketed note markers (`[12]`)
//! removed. A bare URL written in the text (`http://my.safaribooksonline.com/x`) is shortened to
//! its host, which is what a reader would say. Spelling, numbers and punctuation are left for
//! `script`.

/// Cleans one block's text; returns it with the number of control characters repaired.
pub(crate) fn clean_inline(raw: &str) -> (String, usize) {
    let shortened;
    let raw = if raw.contains("://") {
        shortened = shorten_urls(raw);
        shortened.as_str()
    } else {
        raw
    };
    let mut controls = 0;
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let c = match c {
            '\u{80}'..='\u{9F}' => {
                controls += 1;
                match cp1252(c) {
                    Some(m) => m,
                    None => continue,
                }
            }
            '\u{AD}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' => continue,
            c if c.is_whitespace() => {
                pending_space = !out.is_empty();
                continue;
            }
            c if c.is_control() => {
                controls += 1;
                continue;
            }
            '[' => {
                if let Some(len) = marker_len(&raw[i..]) {
                    for _ in 1..len {
                        chars.next();
                    }
                    // "word [1]." -> "word." but "word [1] next" -> "word next".
                    if chars.peek().is_some_and(|&(_, n)| !n.is_whitespace()) {
                        pending_space = false;
                    }
                    continue;
                }
                c
            }
            c => c,
        };
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    (out, controls)
}

/// Replaces `scheme://host/path?query` with `host`, keeping trailing sentence punctuation.
fn shorten_urls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find("://") {
        // The scheme starts after the last character that cannot be in one; that character may
        // be a curly quote or a CJK comma, so step over its full UTF-8 length, not one byte.
        let scheme_start = rest[..p]
            .char_indices()
            .rev()
            .find(|(_, c)| !c.is_ascii_alphanumeric())
            .map_or(0, |(q, c)| q + c.len_utf8());
        let scheme = &rest[scheme_start..p];
        let after = &rest[p + 3..];
        let url_len = after.find(ends_url).unwrap_or(after.len());
        let url = after[..url_len].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let host = url.split(['/', '?', '#']).next().unwrap_or("");
        if scheme.is_empty() || !is_host(host) {
            out.push_str(&rest[..p + 3]);
            rest = &rest[p + 3..];
            continue;
        }
        out.push_str(&rest[..scheme_start]);
        out.push_str(host);
        rest = &after[url.len()..];
    }
    out.push_str(rest);
    out
}

/// Whether `host` can be a URL's host (`user@example.com:8080`, `[::1]`), not stray text after
/// a `://` that is no URL.
fn is_host(host: &str) -> bool {
    host.starts_with(|c: char| c.is_alphanumeric() || c == '[')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '@' | '[' | ']' | '%' | '~' | '+'))
}

/// Whether `c` ends a URL written in text: whitespace, or a quote, bracket or CJK punctuation mark
/// that closes the sentence around it (so `“https://a.org/x”` keeps its closing quote).
fn ends_url(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\''
                | '<'
                | '>'
                | ')'
                | ']'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '«'
                | '»'
                | '「'
                | '」'
                | '『'
                | '』'
                | '（'
                | '）'
                | '【'
                | '】'
                | '〈'
                | '〉'
                | '《'
                | '》'
                | '、'
                | '。'
                | '，'
                | '；'
                | '：'
                | '！'
                | '？'
        )
}

/// Length in chars of a `[1]`..`[999]` marker at the start of `s`.
fn marker_len(s: &str) -> Option<usize> {
    // Slices only after ASCII characters, so any `s` is safe, not just one starting with '['.
    let inner = s.strip_prefix('[')?;
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    ((1..=3).contains(&digits) && inner[digits..].starts_with(']')).then_some(digits + 2)
}

/// Whether a link's text is a footnote marker: `1`, `[12]`, `(3)`, `*`, `†`.
pub(crate) fn is_note_marker(t: &str) -> bool {
    let inner = t.trim_start_matches(['[', '(']).trim_end_matches([']', ')']);
    if inner.is_empty() {
        return false;
    }
    (inner.len() <= 3 && inner.chars().all(|c| c.is_ascii_digit()))
        || inner.chars().all(|c| matches!(c, '*' | '†' | '‡' | '§' | '¶'))
}

fn cp1252(c: char) -> Option<char> {
    let b = u8::try_from(u32::from(c)).ok()?;
    let byte = [b];
    let (s, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
    s.chars().next().filter(|m| !m.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_and_repairs() {
        assert_eq!(clean_inline("  a\n\t b\u{2060}c\u{97}d  "), ("a bc—d".to_string(), 1));
        assert_eq!(clean_inline("word [1]. next [23] on").0, "word. next on");
        assert_eq!(clean_inline("arr[idx] [x]").0, "arr[idx] [x]");
        assert_eq!(
            clean_inline("sign up at http://my.example.com/a?b=1. Or (https://x.org)").0,
            "sign up at my.example.com. Or (x.org)"
        );
    }

    #[test]
    fn a_url_after_a_multibyte_character_is_shortened_without_panicking() {
        // Issue 9: the byte after '“' or '、' is not a character boundary.
        assert_eq!(clean_inline("“https://example.com/x”").0, "“example.com”");
        assert_eq!(clean_inline("、https://example.com").0, "、example.com");
        assert_eq!(clean_inline("—http://a.b/c").0, "—a.b");
        assert_eq!(clean_inline("見て「https://example.jp/a」。").0, "見て「example.jp」。");
        assert_eq!(clean_inline("e\u{301}https://x.org/p q").0, "e\u{301}x.org q");
        // A `://` with no host after it is left alone, and the real URL after it still shortened.
        assert_eq!(clean_inline("A://—http://a.org/x y").0, "A://—a.org y");
    }

    #[test]
    fn a_bracket_that_is_not_a_note_marker_stays_whatever_follows_it() {
        assert_eq!(clean_inline("[é] [1é] [12345] [“]").0, "[é] [1é] [12345] [“]");
        assert_eq!(marker_len("[7]x"), Some(3));
        assert_eq!(marker_len("é[7]"), None);
        assert_eq!(marker_len(""), None);
    }

    #[test]
    fn note_markers() {
        assert!(is_note_marker("12"));
        assert!(is_note_marker("[2]"));
        assert!(is_note_marker("*"));
        assert!(!is_note_marker("Chapter 1"));
        assert!(!is_note_marker("1234"));
    }
}

#[cfg(test)]
mod properties {
    //! Random Unicode around URLs: cleaning never panics, and a URL is always cut to its host.
    use proptest::prelude::*;

    use super::*;

    /// Text that trips byte arithmetic: multi-byte punctuation, emoji, combining marks, controls.
    fn noise() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            any::<char>().prop_map(String::from),
            prop::sample::select(vec![
                "“",
                "”",
                "‘",
                "’",
                "、",
                "。",
                "「",
                "」",
                "—",
                "–",
                "…",
                "😀",
                "👍🏽",
                "👩‍💻",
                "e\u{301}",
                "\u{97}",
                "\u{AD}",
                "\u{200B}",
                "\u{2060}",
                "\u{FEFF}",
                "[1]",
                "[",
                "]",
                " ",
                "\t",
                "\n",
                "://",
                "a",
                "Z",
                "9",
                ".",
            ])
            .prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    fn url() -> impl Strategy<Value = (String, String)> {
        (
            prop::sample::select(vec!["http", "https", "ftp", "git+ssh"]),
            "[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){1,3}",
            // Ends with a letter or digit: a final '.' or '?' is the sentence's, not the URL's.
            "([a-z0-9/?=&#._-]{0,20}[a-z0-9])?",
        )
            .prop_map(|(scheme, host, path)| (format!("{scheme}://{host}/zqx{path}"), host))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn cleaning_random_text_never_panics_and_leaves_one_clean_line(text in noise()) {
            let (out, _) = clean_inline(&text);
            prop_assert!(!out.starts_with(' ') && !out.ends_with(' ') && !out.contains("  "), "{out:?}");
            prop_assert!(!out.chars().any(|c| c.is_control() || (c.is_whitespace() && c != ' ')), "{out:?}");
        }

        #[test]
        fn a_url_among_random_text_is_cut_to_its_host(
            before in noise(),
            open in prop::sample::select(vec![" ", "“", "、", "—", "(", "\"", "「", "é ", "😀"]),
            (url, host) in url(),
            close in prop::sample::select(vec![" ", "”", "。", ")", "\"", "」", ", ", ". "]),
            after in noise(),
        ) {
            let text = format!("{before}{open}{url}{close}{after}");
            let (out, _) = clean_inline(&text);
            prop_assert!(out.contains(&host), "{text:?} -> {out:?}");
            // The path starts with "/zqx"; a random host may hold "zqx" itself.
            prop_assert!(!out.contains("/zqx"), "the path is dropped: {text:?} -> {out:?}");
            let close = close.trim();
            if !close.is_empty() {
                prop_assert!(out.contains(&format!("{host}{close}")), "{close:?} is kept: {text:?} -> {out:?}");
            }
        }
    }
}
