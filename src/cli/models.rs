//! `audiobook voices` and `audiobook models`: what voices there are, and the state of the model files.

use std::path::PathBuf;
use std::process::ExitCode;

use super::args::{FetchArgs, ModelArgs};
use super::printer::Printer;
use super::settings;
use crate::error::{Error, ExitStatus, Result};
use crate::kokoro::assets::{self, AssetError, AssetOverrides, ModelFiles};
use crate::kokoro::voices;
use crate::language::{self, Language, LanguageError};
use crate::phonemize::{PhonemizeError, japanese};

pub fn list_voices(printer: &Printer) -> Result<ExitCode> {
    let all = voices::catalogue();
    if printer.json {
        let json = serde_json::to_string_pretty(&all).map_err(Error::json("the voice list"))?;
        printer.data(&json).map_err(Error::io("<stdout>"))?;
        return Ok(ExitStatus::Success.into());
    }
    let mut table = format!("{:<14} {:<22} {:<7} {}\n", "VOICE", "LANGUAGE", "GENDER", "SPEAKS");
    for v in all {
        let speaks = if v.supported { "yes" } else { "no" };
        table += &format!("{:<14} {:<22} {:<7} {speaks}\n", v.name, v.language, v.gender);
    }
    table += "\nTry one: audiobook say -o hello.wav --voice af_heart \"Hello there.\"\n\
              Blend by weight (the first sets the accent): --voice af_heart:0.7,bf_emma:0.3\n";
    printer.data(&table).map_err(Error::io("<stdout>"))?;
    Ok(ExitStatus::Success.into())
}

/// `models status` (and the end of `models fetch`): every model file with its size and whether
/// its checksum is right, and the Japanese dictionary. A missing or corrupt model file fails;
/// a missing dictionary does not (only the j voices need it).
pub fn status(files: &ModelFiles, overrides: &AssetOverrides, printer: &Printer) -> Result<ExitCode> {
    let mut rows = assets::check_files(files);
    rows.extend(assets::japanese_dictionary_status(overrides).ok());
    let healthy = rows.iter().all(|r| r.optional || !r.is_bad());
    if printer.json {
        let json = serde_json::json!({ "ok": healthy, "files": rows });
        printer.data(&json.to_string()).map_err(Error::io("<stdout>"))?;
    } else {
        let mut out = String::new();
        for r in &rows {
            let size = r.bytes.map_or("-".to_string(), |b| format!("{:.1} MB", b as f64 / 1e6));
            let note = if r.optional && r.is_bad() { "  (optional: `models fetch --language ja`)" } else { "" };
            out += &format!("{:<12} {:<9} {:>9}  {}{note}\n", r.role, r.checksum, size, r.path.display());
        }
        printer.data(&out).map_err(Error::io("<stdout>"))?;
    }
    let mut bad = rows.iter().filter(|r| !r.optional && r.is_bad());
    match bad.next() {
        None => Ok(ExitStatus::Success.into()),
        Some(first) => {
            let problem = if first.checksum == "missing" { "missing" } else { "checksum mismatch" };
            Err(AssetError::Unhealthy { path: first.path.clone(), problem, others: bad.count() }.into())
        }
    }
}

/// `models fetch`: the model files, then what the languages asked for need, then their status.
pub fn fetch(args: &FetchArgs, overrides: &AssetOverrides, printer: &Printer) -> Result<ExitCode> {
    let languages = args
        .language
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|given| {
            Language::parse(given).map_err(|language::NoVoices { name }| {
                Error::from(LanguageError::Unsupported { given: given.clone(), name })
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let files = assets::ensure(overrides, printer)?;
    if languages.contains(&Language::Japanese) {
        assets::ensure_japanese_dictionary(overrides, printer)?;
    }
    status(&files, overrides, printer)
}

/// Where the Japanese dictionary is for these flags, fetched first (unless --offline) when
/// `language` is Japanese and it is missing: the first use of a j voice fetches it, as the first
/// use of any voice fetches the model. `None` where there is no cache folder and no need of one.
pub fn japanese_dictionary(language: Language, models: &ModelArgs, printer: &Printer) -> Result<Option<PathBuf>> {
    let overrides = settings::asset_overrides(models);
    if language != Language::Japanese {
        return Ok(assets::japanese_dictionary_dir(&overrides).ok());
    }
    // Without mecab the dictionary is of no use yet: say so before fetching 48 MB.
    if japanese::PROGRAM.find().is_none() {
        return Err(PhonemizeError::MecabMissing.into());
    }
    Ok(Some(assets::ensure_japanese_dictionary(&overrides, printer)?))
}
