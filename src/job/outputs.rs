//! The job's last step, once every chapter is done: the book's loudness (measured from the
//! chapter WAVs, or taken from the manifest while the chapters are unchanged) for `book.json`,
//! then each asked-for encoded format, skipped when the manifest records the same key and its
//! files are there. Everything here reads the chapter WAVs, never the chunk store, so adding a
//! format to a finished build renders nothing.

use super::chapters::ChapterState;
use super::dir::{JobDir, STATE_DIR};
use super::events::Event;
use super::manifest::{InputRecord, LimitingRecord, LoudnessRecord, Manifest, OutputRecord};
use crate::assemble::sidecar::{BookIndex, BookLoudness};
use crate::error::Result;
use std::sync::atomic::AtomicBool;

use crate::export::readalong::SourceEpub;
use crate::export::{
    self, BookAudio, ChapterAudio, ExportError, ExportSettings, Extras, LoudnessTarget, Measurement, Tags,
};
use crate::hash;
use crate::ingest::BookMeta;

/// The book's loudness, the gain toward `target` and how much the limiter then turns the peaks
/// down; `None` when loudness is off. Reads the WAVs (once to measure, once through the limiter)
/// only when the manifest has no record of these chapters at this gain.
pub fn loudness(
    dir: &JobDir,
    states: &[ChapterState],
    target: LoudnessTarget,
    manifest: &mut Manifest,
) -> Result<Option<BookLoudness>> {
    let LoudnessTarget::Lufs(target_lufs) = target else { return Ok(None) };
    let key = hash::json_sha256(&states.iter().map(|s| &s.key).collect::<Vec<_>>());
    let measured = match &manifest.loudness {
        Some(r) if r.key == key => Measurement { integrated_lufs: r.measured_lufs, true_peak_dbtp: r.true_peak_dbtp },
        _ => {
            let wavs: Vec<_> = states.iter().map(|s| dir.root().join(&s.files.audio)).collect();
            let m = export::loudness::measure(&wavs)?;
            manifest.loudness = Some(LoudnessRecord {
                key,
                measured_lufs: m.integrated_lufs,
                true_peak_dbtp: m.true_peak_dbtp,
                limiting: None,
            });
            m
        }
    };
    let gain_db = export::loudness::gain_db(&measured, target_lufs);
    let limiter = export::limiter::SETTINGS;
    let record = manifest.loudness.as_ref().and_then(|r| r.limiting.as_ref());
    let record = record.filter(|l| l.gain_db == gain_db && l.limiter == limiter);
    let limited_db = match record {
        Some(l) => l.limited_db,
        None => {
            let wavs: Vec<_> = states.iter().map(|s| dir.root().join(&s.files.audio)).collect();
            let limited_db = export::loudness::limiting_db(&wavs, gain_db)?;
            if let Some(r) = manifest.loudness.as_mut() {
                r.limiting = Some(LimitingRecord { gain_db, limiter: limiter.to_string(), limited_db });
            }
            limited_db
        }
    };
    Ok(Some(BookLoudness {
        measured_lufs: measured.integrated_lufs,
        true_peak_dbtp: measured.true_peak_dbtp,
        gain_db,
        target_lufs,
        limiter_ceiling_dbtp: export::limiter::CEILING_DBTP,
        limited: limited_db > 0.0,
        limited_db,
    }))
}

/// Encodes every asked-for format that is not already there, recording each in the manifest;
/// returns whether `stop` (Ctrl-C) ended it early (the unfinished output is left for a rerun).
#[allow(clippy::too_many_arguments)]
pub fn encode(
    dir: &JobDir,
    meta: &BookMeta,
    index: &BookIndex,
    states: &[ChapterState],
    settings: &ExportSettings,
    manifest: &mut Manifest,
    events: &mut dyn FnMut(Event),
    stop: &AtomicBool,
) -> Result<bool> {
    let formats = settings.encoded();
    if formats.is_empty() {
        return Ok(false);
    }
    let book = BookAudio {
        dir: dir.root().to_path_buf(),
        tags: Tags {
            title: index.title.clone(),
            authors: index.authors.clone(),
            language: index.language.clone(),
            voice: index.voice.clone(),
            year: meta.date.as_deref().and_then(year),
        },
        chapters: index
            .chapters
            .iter()
            .map(|c| ChapterAudio { title: c.title.clone(), wav: c.audio.clone(), timings: c.timings.clone() })
            .collect(),
        source_epub: source_epub(&manifest.inputs),
    };
    let scratch = dir.root().join(STATE_DIR);
    let extras = Extras::prepare(settings, meta.cover.as_ref(), &scratch)?;
    let gain_db = index.loudness.map_or(0.0, |l| l.gain_db);
    let chapter_keys: Vec<String> = states.iter().map(|s| s.key.clone()).collect();
    for format in formats {
        let key = export::output_key(format, &book, &chapter_keys, &extras, gain_db);
        let files = export::output_files(format, &book, &extras);
        let recorded = manifest.outputs.iter().find(|o| o.format == format);
        if recorded.is_some_and(|o| o.key == key && o.files == files) && files.iter().all(|f| dir.has_output(f)) {
            continue;
        }
        // The old record goes before encoding starts, so a run killed half-way leaves no record
        // claiming files that no longer match it; files of chapters the book no longer has go too.
        if let Some(old) = recorded {
            for file in old.files.iter().filter(|f| !files.contains(f)) {
                dir.remove_output(file);
            }
        }
        manifest.outputs.retain(|o| o.format != format);
        dir.save_manifest(manifest)?;
        let encoded = export::encode(format, &book, &extras, gain_db, &scratch, stop, &mut |written| {
            events(Event::OutputWritten {
                format: written.format,
                path: written.file,
                duration_ms: written.duration_ms,
            })
        });
        match encoded {
            Err(ExportError::Interrupted) => return Ok(true),
            other => other?,
        }
        manifest.outputs.push(OutputRecord { format, key, files });
        dir.save_manifest(manifest)?;
    }
    Ok(false)
}

/// The book's one input when it is an EPUB (a folder of books or several inputs is not).
fn source_epub(inputs: &[InputRecord]) -> Option<SourceEpub> {
    let [input] = inputs else { return None };
    let path = std::path::PathBuf::from(&input.path);
    let is_epub = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("epub"));
    is_epub.then(|| SourceEpub { path, sha256: input.sha256.clone() })
}

/// The year of a stated date: its first four characters when they are digits (`2023-01-25`,
/// `2023`), else none (a date such as `Spring 1923` is not guessed at).
fn year(date: &str) -> Option<String> {
    let year = date.trim().get(..4)?;
    year.bytes().all(|b| b.is_ascii_digit()).then(|| year.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_is_the_four_digits_a_date_starts_with() {
        assert_eq!(year("2023-01-25").as_deref(), Some("2023"));
        assert_eq!(year(" 1923 ").as_deref(), Some("1923"));
        assert_eq!(year("2023-01-25T10:00:00Z").as_deref(), Some("2023"));
        assert_eq!(year("Spring 1923"), None);
        assert_eq!(year("99"), None);
    }
}
