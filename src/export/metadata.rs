//! Tags and chapter marks in the forms ffmpeg reads: the FFMETADATA file of an M4B (global tags
//! and `[CHAPTER]` blocks in samples), and `-metadata` arguments for per-chapter files.

use std::fmt::Write as _;

/// What a listener's player shows about the book.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Tags {
    pub title: String,
    pub authors: Vec<String>,
    /// BCP 47, as the book states it.
    pub language: Option<String>,
    /// The voice id: the narrator.
    pub voice: String,
    /// The year of publication, where the book states one.
    pub year: Option<String>,
}

/// The genre every output is tagged with.
pub const GENRE: &str = "Audiobook";

impl Tags {
    /// The authors as one tag value.
    pub fn artist(&self) -> String {
        self.authors.join(", ")
    }

    /// Tags every output carries, as (key, value) in ffmpeg's names: the book is the album, the
    /// authors its artist, the voice its composer (MP4 has no narrator atom; `©wrt` is what
    /// audiobook tools use for it).
    pub fn book_tags(&self) -> Vec<(&'static str, String)> {
        let mut tags =
            vec![("album", self.title.clone()), ("genre", GENRE.to_string()), ("composer", self.voice.clone())];
        if !self.authors.is_empty() {
            tags.push(("artist", self.artist()));
            tags.push(("album_artist", self.artist()));
        }
        if let Some(year) = &self.year {
            tags.push(("date", year.clone()));
        }
        tags
    }

    /// The ISO 639-2 code MP4 and Ogg streams carry, for the languages this build speaks.
    pub fn iso639_2(&self) -> Option<&'static str> {
        let primary = self.language.as_deref()?.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" | "eng" => Some("eng"),
            _ => None,
        }
    }
}

/// A chapter mark: title and its span in samples of the whole book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub title: String,
    pub start: u64,
    pub end: u64,
}

/// A value escaped for FFMETADATA: a backslash before `\`, `=`, `;`, `#` and newline.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '=' | ';' | '#' | '\n') {
            out.push('\\');
        }
        // A carriage return would end the line for some readers; a title never needs one.
        if c != '\r' {
            out.push(c);
        }
    }
    out
}

/// The FFMETADATA file of a book: global tags, then one `[CHAPTER]` per mark with
/// `TIMEBASE=1/rate` and START/END in samples, so marks are exact however long the book is.
pub fn ffmetadata(tags: &Tags, marks: &[Mark], sample_rate: u32) -> String {
    let mut out = String::from(";FFMETADATA1\n");
    let _ = writeln!(out, "title={}", escape(&tags.title));
    for (key, value) in tags.book_tags() {
        let _ = writeln!(out, "{key}={}", escape(&value));
    }
    for mark in marks {
        let _ = write!(
            out,
            "[CHAPTER]\nTIMEBASE=1/{sample_rate}\nSTART={}\nEND={}\ntitle={}\n",
            mark.start,
            mark.end,
            escape(&mark.title)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Tags {
        Tags {
            title: "A = B; #1".into(),
            authors: vec!["Ann".into(), "Bo".into()],
            language: Some("en-GB".into()),
            voice: "bf_lily".into(),
            year: None,
        }
    }

    #[test]
    fn ffmetadata_values_escape_the_characters_that_end_or_comment_a_line() {
        assert_eq!(escape("a\\b=c;d#e\nf\r"), "a\\\\b\\=c\\;d\\#e\\\nf");
    }

    #[test]
    fn chapters_are_written_in_samples_with_their_timebase() {
        let marks = [
            Mark { title: "One".into(), start: 0, end: 24_000 },
            Mark { title: "Two=2".into(), start: 24_000, end: 48_001 },
        ];
        let text = ffmetadata(&tags(), &marks, 24_000);
        assert!(text.starts_with(";FFMETADATA1\ntitle=A \\= B\\; \\#1\n"), "{text}");
        assert!(text.contains("artist=Ann, Bo\n") && text.contains("genre=Audiobook\n"), "{text}");
        assert!(text.contains("composer=bf_lily\n") && text.contains("album=A \\= B\\; \\#1\n"), "{text}");
        assert!(text.ends_with("[CHAPTER]\nTIMEBASE=1/24000\nSTART=24000\nEND=48001\ntitle=Two\\=2\n"), "{text}");
        assert_eq!(text.matches("[CHAPTER]").count(), 2);
    }

    #[test]
    fn only_english_gets_a_stream_language_code() {
        assert_eq!(tags().iso639_2(), Some("eng"));
        assert_eq!(Tags { language: Some("fr".into()), ..tags() }.iso639_2(), None);
        assert_eq!(Tags { language: None, ..tags() }.iso639_2(), None);
    }
}
