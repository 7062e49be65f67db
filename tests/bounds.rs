//! Bounded resources (docs/src/inputs.md, "Limits"): each cap holds and keeps the process's peak memory
//! under a bound. One test, its cases in order of growing bound, because peak memory is the
//! whole process's and only ever grows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use audiobook::ingest::{IngestError, read_inputs};
use audiobook::narrate::{self, Settings};

const MIB: u64 = 1 << 20;

fn peak_mib() -> u64 {
    narrate::peak_rss_bytes().expect("Linux reports peak memory") / MIB
}

/// `words` words of ordinary English on one line, with no sentence end anywhere.
fn one_line(words: usize) -> String {
    let vocabulary =
        ["the", "sea", "and", "a", "ship", "on", "water", "with", "white", "sails", "under", "grey", "sky"];
    (0..words).map(|i| vocabulary[(i * 7 + i / 13) % vocabulary.len()]).collect::<Vec<_>>().join(" ")
}

#[test]
fn each_cap_bounds_peak_memory() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::default();

    // A book over the text cap (16 MiB) is refused after reading it, not planned.
    let huge = dir.path().join("huge.txt");
    std::fs::write(&huge, one_line(4_000_000)).unwrap();
    assert!(std::fs::metadata(&huge).unwrap().len() > 16 * MIB);
    let err = read_inputs(&[&huge], &settings.read).unwrap_err();
    assert!(matches!(err, IngestError::BookTooLong { .. }), "{err}");
    assert!(err.to_string().contains("huge.txt"), "{err}");
    let peak = peak_mib();
    eprintln!("refusing 17 MiB of text: peak {peak} MiB");
    assert!(peak < 300, "peak {peak} MiB refusing a 17 MiB book");

    // One line of 1 MiB (170,000 words, no sentence end) plans in memory linear in its words.
    let line = dir.path().join("line.txt");
    std::fs::write(&line, one_line(200_000)).unwrap();
    let read = narrate::read(&[line], &settings).unwrap();
    let plan = narrate::plan(&read.book, &settings).unwrap();
    assert_eq!(plan.chapters.iter().map(|c| c.word_count()).sum::<usize>(), 200_000, "no word dropped");
    let peak = peak_mib();
    eprintln!("planning a 1 MiB line: peak {peak} MiB");
    assert!(peak < 800, "peak {peak} MiB planning a 1 MiB line");
}
