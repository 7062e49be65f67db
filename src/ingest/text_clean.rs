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
        let scheme_start = rest[..p].rfind(|c: char| !c.is_ascii_alphanumeric()).map_or(0, |q| q + 1);
        let scheme = &rest[scheme_start..p];
        let after = &rest[p + 3..];
        let url_len = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ']'))
            .unwrap_or(after.len());
        let url = after[..url_len].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let host = url.split(['/', '?', '#']).next().unwrap_or("");
        if scheme.is_empty() || host.is_empty() {
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

/// Length in chars of a `[1]`..`[999]` marker at the start of `s`.
fn marker_len(s: &str) -> Option<usize> {
    let digits = s[1..].chars().take_while(|c| c.is_ascii_digit()).count();
    ((1..=3).contains(&digits) && s[1 + digits..].starts_with(']')).then_some(digits + 2)
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
    fn note_markers() {
        assert!(is_note_marker("12"));
        assert!(is_note_marker("[2]"));
        assert!(is_note_marker("*"));
        assert!(!is_note_marker("Chapter 1"));
        assert!(!is_note_marker("1234"));
    }
}
