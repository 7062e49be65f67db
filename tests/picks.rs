//! Issue 17, point 6: `--chapters` keeps the book's numbers, `--preview` keeps each chapter's
//! headings and first sentences, spoken exactly as in the full plan.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use audiobook::narrate::{self, PREVIEW_SENTENCES, Settings};
use audiobook::plan::{BookPlan, ChapterPick};

const BOOK: &str = "# Arrival\n\nThe train came in late. Nobody was waiting. The rain had stopped.\n\n\
                    A porter took her bag.\n\n\
                    # The Inn\n\nThe inn was warm. A fire burned in the hearth. She slept.\n\n\
                    # Departure\n\nMorning came. She left before the others woke.\n";

fn plan(settings: Settings) -> BookPlan {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book.md");
    std::fs::write(&book, BOOK).unwrap();
    let settings = Settings { voice: "af_heart".into(), ..settings };
    let read = narrate::read(&[book], &settings).unwrap();
    narrate::plan(&read.book, &settings).unwrap()
}

#[test]
fn picked_chapters_keep_the_books_numbers() {
    let picked = plan(Settings { chapters: Some(ChapterPick::parse("1, 3").unwrap()), ..Settings::default() });
    let numbers: Vec<(usize, &str)> = picked.chapters.iter().map(|c| (c.number, c.title.as_str())).collect();
    assert_eq!(numbers, [(1, "Arrival"), (3, "Departure")]);
    assert_eq!(picked.book_chapters, 3);
    assert!(picked.is_partial());

    let by_title = plan(Settings { chapters: Some(ChapterPick::parse("inn").unwrap()), ..Settings::default() });
    assert_eq!(by_title.chapters.iter().map(|c| c.number).collect::<Vec<_>>(), [2]);
    let range = plan(Settings { chapters: Some(ChapterPick::parse("2-3").unwrap()), ..Settings::default() });
    assert_eq!(range.chapters.iter().map(|c| c.number).collect::<Vec<_>>(), [2, 3]);

    let whole = plan(Settings::default());
    assert!(!whole.is_partial());
    assert_eq!(whole.chapters[2].chunks, picked.chapters[1].chunks, "a picked chapter is planned as in the book");
}

#[test]
fn a_pick_that_matches_nothing_or_makes_no_sense_is_an_error() {
    for bad in ["3-1", "0", "1-", ""] {
        assert!(ChapterPick::parse(bad).is_err(), "{bad}");
    }
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book.md");
    std::fs::write(&book, BOOK).unwrap();
    let settings = Settings { chapters: Some(ChapterPick::parse("9,epilogue").unwrap()), ..Settings::default() };
    let read = narrate::read(&[book], &settings).unwrap();
    let err = narrate::plan(&read.book, &settings).unwrap_err().to_string();
    assert_eq!(err, "--chapters '9,epilogue' picks none of the book's 3 chapters (`audiobook plan` lists them)");
}

#[test]
fn a_preview_is_each_chapters_heading_and_first_sentences_exactly_as_in_the_book() {
    let whole = plan(Settings::default());
    let preview = plan(Settings { preview: true, ..Settings::default() });
    assert!(preview.preview && preview.is_partial());
    assert_eq!(preview.chapters.len(), whole.chapters.len());
    for (p, w) in preview.chapters.iter().zip(&whole.chapters) {
        let texts: Vec<&str> = p.sentences.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts.len(), (1 + PREVIEW_SENTENCES).min(w.sentences.len()), "{texts:?}");
        assert_eq!(texts[..], w.sentences.iter().map(|s| s.text.as_str()).collect::<Vec<_>>()[..texts.len()]);
        // The kept chunks are the book's, cut between tokens: their ids are a prefix of the book's.
        for (pc, wc) in p.chunks.iter().zip(&w.chunks) {
            assert!(wc.ids.starts_with(&pc.ids), "{:?}", pc.tokens);
            assert!(pc.tokens.iter().all(|t| t.sentence < texts.len()));
        }
        assert!(p.word_count() < w.word_count() || w.sentences.len() <= 1 + PREVIEW_SENTENCES);
    }
    let first: Vec<&str> = preview.chapters[0].sentences.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(first, ["Arrival.", "The train came in late.", "Nobody was waiting."]);
}
