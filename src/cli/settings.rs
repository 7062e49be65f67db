//! Flags to the library's values: the only place that knows both clap's types and the
//! library's, and that decides nothing itself.

use super::args::{
    BuildArgs, ChunkArgs, CodeArg, ExportArgs, FormatArg, LongTokensArg, LoudnessArg, ModelArgs, NotesArg,
    OutputFormatArg, PauseArgs, PickArgs, ReadArgs, SayArgs, SubtitleArg, VoiceArgs,
};
use std::path::PathBuf;

use crate::assemble::Pauses;
use crate::error::Result;
use crate::export::{ExportSettings, LoudnessTarget, OutputFormat};
use crate::ingest::{CodeMode, Format, IngestOptions, NotesMode};
use crate::kokoro::assets::AssetOverrides;
use crate::kokoro::{Device, SessionConfig};
use crate::language::{self, Language, LanguageError};
use crate::narrate::{self, Settings};
use crate::plan::ChapterPick;
use crate::script::{LongTokens, ScriptOptions};

/// The model-file flags, as the asset lookup wants them.
pub fn asset_overrides(args: &ModelArgs) -> AssetOverrides {
    let given = |path: &Option<PathBuf>| path.clone().filter(|p| !p.as_os_str().is_empty());
    AssetOverrides {
        model: given(&args.model),
        voices: given(&args.voices),
        model_dir: given(&args.model_dir),
        ort_lib: given(&args.ort_lib),
        cache_dir: given(&args.cache_dir),
        offline: args.offline,
        device: args.device,
        cuda_lib_dirs: args.cuda_lib_dir.iter().filter(|p| !p.as_os_str().is_empty()).cloned().collect(),
    }
}

/// `--language`, parsed.
pub fn language(voice: &VoiceArgs) -> Result<Option<Language>> {
    let Some(given) = voice.language.as_deref().filter(|l| !l.trim().is_empty()) else { return Ok(None) };
    match Language::parse(given) {
        Ok(language) if language.is_speakable() => Ok(Some(language)),
        Ok(language) => {
            Err(LanguageError::Unsupported { given: given.to_string(), name: language.name().to_string() }.into())
        }
        Err(language::NoVoices { name }) => Err(LanguageError::Unsupported { given: given.to_string(), name }.into()),
    }
}

/// The settings of `plan` (and the reading and voice part of `build`).
pub fn plan_settings(voice: &VoiceArgs, read: &ReadArgs, chunks: &ChunkArgs, pick: &PickArgs) -> Result<Settings> {
    Ok(Settings {
        language: language(voice)?,
        chunks: narrate::chunk_config(usize::from(chunks.chunk_target), usize::from(chunks.chunk_max)),
        chapters: pick.chapters.as_deref().map(ChapterPick::parse).transpose()?,
        preview: pick.preview,
        ..reading_settings(voice, read)
    })
}

/// The settings of `lexicon scan`: how the book is read, and the voice's dialect.
pub fn reading_settings(voice: &VoiceArgs, read: &ReadArgs) -> Settings {
    Settings {
        voice: voice.voice.clone(),
        speed: voice.speed,
        read: ingest_options(read),
        any_language: read.any_language,
        max_chapter_minutes: read.max_chapter_minutes,
        script: ScriptOptions {
            long_tokens: match read.long_tokens {
                LongTokensArg::Announce => LongTokens::Announce,
                LongTokensArg::Spell => LongTokens::Spell,
                LongTokensArg::Skip => LongTokens::Skip,
            },
            ..ScriptOptions::default()
        },
        ..Settings::default()
    }
}

/// The settings of `build`. On the CPU each core runs its own session; a GPU runs two sessions,
/// so that one's CPU work overlaps the other's GPU work, and they share the cores.
pub fn build_settings(args: &BuildArgs, device: Device) -> Result<Settings> {
    let sessions = match (args.jobs, device) {
        (Some(jobs), _) => usize::from(jobs),
        (None, Device::Cpu) => narrate::cores(),
        (None, Device::Cuda(_)) => 2,
    };
    let threads = match (args.threads, device) {
        (Some(threads), _) => usize::from(threads),
        (None, Device::Cpu) => 1,
        (None, Device::Cuda(_)) => (narrate::cores() / sessions).max(1),
    };
    Ok(Settings {
        pauses: pauses(&args.pauses),
        session: SessionConfig {
            intra_threads: threads,
            spinning: args.tuning.spin,
            memory_pattern: args.tuning.memory_pattern,
            optimization: args.tuning.graph_optimization,
            arena: !args.tuning.no_arena,
            device,
            decoder_window: args.tuning.decoder_window,
            kernels: args.tuning.kernels,
        },
        sessions,
        export: export_settings(&args.export),
        keep_chunks: args.keep_chunks,
        ..plan_settings(&args.voice, &args.read, &args.chunks, &args.pick)?
    })
}

/// The settings of `say`: one session using every core, since one text is spoken in order.
pub fn say_settings(args: &SayArgs, device: Device) -> Result<Settings> {
    Ok(Settings {
        voice: args.voice.voice.clone(),
        language: language(&args.voice)?,
        speed: args.voice.speed,
        session: SessionConfig {
            intra_threads: args.threads.map_or_else(narrate::cores, usize::from),
            device,
            ..SessionConfig::default()
        },
        sessions: 1,
        ..Settings::default()
    })
}

fn export_settings(args: &ExportArgs) -> ExportSettings {
    ExportSettings {
        formats: args
            .format
            .iter()
            .map(|f| match f {
                OutputFormatArg::Wav => OutputFormat::Wav,
                OutputFormatArg::M4b => OutputFormat::M4b,
                OutputFormatArg::Mp3 => OutputFormat::Mp3,
                OutputFormatArg::Opus => OutputFormat::Opus,
                OutputFormatArg::Epub => OutputFormat::Epub,
            })
            .chain(args.subtitles.iter().map(|s| match s {
                SubtitleArg::Srt => OutputFormat::Srt,
                SubtitleArg::Vtt => OutputFormat::Vtt,
            }))
            .collect(),
        cover: args.cover.clone(),
        intro: args.intro.clone(),
        outro: args.outro.clone(),
        loudness: match args.loudness {
            LoudnessArg::Off => LoudnessTarget::Off,
            LoudnessArg::Lufs(lufs) => LoudnessTarget::Lufs(lufs),
        },
    }
}

fn ingest_options(read: &ReadArgs) -> IngestOptions {
    IngestOptions {
        keep_front_matter: read.keep_front_matter,
        read_nonlinear: read.read_nonlinear,
        notes: match read.notes {
            NotesArg::Skip => NotesMode::Skip,
            NotesArg::End => NotesMode::End,
        },
        alt_text: read.alt_text,
        tables: read.tables,
        code: match read.code {
            CodeArg::Skip => CodeMode::Skip,
            CodeArg::Read => CodeMode::Read,
            CodeArg::Announce => CodeMode::Announce,
        },
        toc_depth: read.toc_depth,
        stdin_format: read.input_format.map(|f| match f {
            FormatArg::Epub => Format::Epub,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Text => Format::Text,
        }),
        ..IngestOptions::default()
    }
}

fn pauses(args: &PauseArgs) -> Pauses {
    Pauses {
        lead_in_ms: args.pause_chapter,
        paragraph_ms: args.pause_paragraph,
        sentence_ms: args.pause_sentence,
        tail_ms: args.pause_end,
        ..Pauses::default()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::chunk::ChunkConfig;
    use crate::cli::args::{Cli, Command};

    #[test]
    fn command_line_defaults_are_the_library_defaults() {
        let cli = Cli::parse_from(["audiobook", "build", "book.epub", "--jobs", "3"]);
        let Command::Build(args) = cli.command else { panic!("not a build") };
        let settings = build_settings(&args, Device::Cpu).unwrap();
        let defaults = Settings::default();
        assert_eq!(settings.pauses, Pauses::default());
        assert_eq!(settings.chunks, ChunkConfig::default());
        assert_eq!(settings.session, SessionConfig::default());
        assert_eq!(settings.read, IngestOptions::default());
        assert_eq!(settings.max_chapter_minutes, defaults.max_chapter_minutes);
        assert_eq!(settings.export, ExportSettings::default());
        assert_eq!((settings.voice, settings.speed, settings.sessions), (defaults.voice, defaults.speed, 3));
    }
}
