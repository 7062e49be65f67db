//! The library's one error type: every stage's error, each naming its file, flag or field, sorted
//! into the user's mistakes and our failures, so the binary picks an exit status and a server a
//! 4xx or 5xx from the same place.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::chunk::ChunkError;
use crate::export::ExportError;
use crate::ingest::IngestError;
use crate::job::JobError;
use crate::kokoro::assets::{self, AssetError};
use crate::kokoro::voices::VoiceError;
use crate::kokoro::{EngineError, StartError};
use crate::language::LanguageError;
use crate::lexicon::LexiconError;
use crate::phonemize::PhonemizeError;
use crate::plan::PickError;
use crate::store::StoreError;

/// Every way the process can end, and its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: everything asked for was done.
    Success,
    /// 1: bad input or a user mistake (unknown voice, unreadable or foreign book, folder in use).
    User,
    /// 2: an internal or I/O failure (missing or corrupt model files included), or a
    /// command-line usage error (clap's own code).
    Failure,
    /// 3: a build that finished some chapters but not all.
    Partial,
    /// 130: stopped by Ctrl-C (128 + SIGINT).
    Interrupted,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::User => 1,
            ExitStatus::Failure => 2,
            ExitStatus::Partial => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// Whose move it is: the user's (fix the input or the flags; a server's 4xx) or ours (a bug, a
/// broken installation, a full disk; a server's 5xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    User,
    Internal,
}

/// Anything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Assets(#[from] AssetError),
    #[error(transparent)]
    Voice(#[from] VoiceError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Chunk(#[from] ChunkError),
    #[error(transparent)]
    Phonemize(#[from] PhonemizeError),
    #[error(transparent)]
    Lexicon(#[from] LexiconError),
    #[error(transparent)]
    Pick(#[from] PickError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Language(#[from] LanguageError),
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Inputs with nothing to read aloud.
    #[error("{}: no chapters with text to read", path.display())]
    NoChapters { path: PathBuf },
    /// A flag or a file it names whose value cannot be used (`--host`, an API key file).
    #[error("{what}: {problem}")]
    BadValue { what: String, problem: String },
    /// A config file (audiobook.toml) that cannot be used.
    #[error("{}: {problem}", path.display())]
    Config { path: PathBuf, problem: String },
    /// A text to speak with no words in it.
    #[error("{source_name}: nothing to say: the text has no words")]
    EmptyText { source_name: String },
    /// More text than `say` takes in one go.
    #[error(
        "{source_name}: more than {limit_mib} MiB of text; `say` is for passages, `audiobook build -` reads a book"
    )]
    TextTooLong { source_name: String, limit_mib: usize },
    /// Text that is not UTF-8 where only UTF-8 is taken.
    #[error("{source_name}: the text is not UTF-8")]
    NotUtf8 { source_name: String },
    /// `say` was given nowhere to write and stdout is a terminal.
    #[error("say: give -o FILE.wav, or -o - to write the WAV to stdout")]
    NoOutput,
    /// `say` was given no text and stdin is a terminal.
    #[error("say: give the text as an argument, or pipe it on stdin")]
    NoText,
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot write WAV: {source}")]
    Wav { path: PathBuf, source: hound::Error },
    #[error("{what}: cannot write JSON: {source}")]
    Json { what: String, source: serde_json::Error },
    /// A thread of ours panicked: a bug.
    #[error("internal error: {what} panicked")]
    Panicked { what: &'static str },
}

impl From<StartError> for Error {
    fn from(error: StartError) -> Self {
        match error {
            StartError::Assets(e) => Error::Assets(e),
            StartError::Engine(e) => Error::Engine(e),
            StartError::Read { path, source } => Error::Io { path, source },
        }
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        Error::Job(JobError::Store(error))
    }
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    /// A JSON serialisation error of `what`.
    pub fn json(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> Self {
        let what = what.into();
        move |source| Self::Json { what, source }
    }

    /// Whether the user can fix this by changing the input or the flags.
    pub fn kind(&self) -> ErrorKind {
        let user = matches!(
            self,
            Error::Voice(VoiceError::Unknown { .. } | VoiceError::Unsupported { .. } | VoiceError::Blend { .. })
                | Error::Engine(EngineError::Busy { .. })
                | Error::Chunk(_)
                | Error::Lexicon(_)
                | Error::Phonemize(PhonemizeError::Lexicon(_) | PhonemizeError::EspeakMissing { .. })
                | Error::Ingest(_)
                | Error::Language(_)
                | Error::BadValue { .. }
                | Error::Job(
                    JobError::Busy(_)
                        | JobError::NotAFolder(_)
                        | JobError::OtherBook { .. }
                        | JobError::WouldReplace { .. }
                        | JobError::MissingChunks { .. }
                        | JobError::Shard(_)
                        | JobError::Store(StoreError::Spec { .. })
                )
                | Error::Pick(_)
                | Error::Config { .. }
                | Error::Export(
                    ExportError::Cover { .. }
                        | ExportError::Clip { .. }
                        | ExportError::Decode { .. }
                        | ExportError::NoAudio { .. }
                )
                | Error::NoChapters { .. }
                | Error::EmptyText { .. }
                | Error::NotUtf8 { .. }
                | Error::TextTooLong { .. }
                | Error::NoOutput
                | Error::NoText
        );
        if user { ErrorKind::User } else { ErrorKind::Internal }
    }

    /// The process's exit status for this error.
    pub fn exit_status(&self) -> ExitStatus {
        match self.kind() {
            ErrorKind::User => ExitStatus::User,
            ErrorKind::Internal => ExitStatus::Failure,
        }
    }

    /// A line telling the user what to do next, where there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Assets(AssetError::Offline { .. } | AssetError::Tool { .. } | AssetError::Package { .. }) => {
                Some("see models/README.md for where to get the files and where to put them".into())
            }
            Error::Assets(AssetError::DictionaryOffline { .. }) => Some(
                "`audiobook models fetch --language ja` fetches it where fetching is allowed; the folder can be \
                 copied from another machine's cache"
                    .into(),
            ),
            Error::Assets(AssetError::Missing { what: assets::JAPANESE_DICTIONARY, .. }) => Some(
                "point AUDIOBOOK_UNIDIC_DIR at unidic-lite's unidic_lite/dicdir, or unset it to use the fetched one"
                    .into(),
            ),
            Error::Assets(AssetError::Missing { what: "ONNX Runtime library", .. }) => Some(
                "point --ort-lib (or ORT_DYLIB_PATH) at libonnxruntime, or leave both unset to use the fetched one"
                    .into(),
            ),
            Error::Assets(AssetError::Checksum { .. } | AssetError::Missing { .. } | AssetError::Unhealthy { .. }) => {
                Some("run `audiobook models fetch` to fetch the files again, or point --model-dir at good ones".into())
            }
            Error::Engine(EngineError::Gpu(_)) => Some(
                "--device cuda needs an NVIDIA driver, CUDA 13 and cuDNN 9 (libcudart.so.13, libcublas.so.13, \
                 libcudnn.so.9, ...) on the library path or in --cuda-lib-dir"
                    .into(),
            ),
            Error::Engine(EngineError::Load(_)) | Error::Voice(VoiceError::Corrupt { .. }) => {
                Some("run `audiobook models status` to check the model files".into())
            }
            Error::Voice(VoiceError::Unknown { .. } | VoiceError::Unsupported { .. }) => {
                Some("`audiobook voices` lists every voice".into())
            }
            Error::Language(_) => Some(
                "--language chooses the language; --any-language reads the book with the voice's language's phonemes"
                    .into(),
            ),
            Error::Phonemize(PhonemizeError::EspeakMissing { .. }) => {
                Some("apt install espeak-ng (Debian, Ubuntu), dnf install espeak-ng, brew install espeak-ng".into())
            }
            _ => None,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_status_has_its_documented_code() {
        let codes: Vec<u8> =
            [ExitStatus::Success, ExitStatus::User, ExitStatus::Failure, ExitStatus::Partial, ExitStatus::Interrupted]
                .map(ExitStatus::code)
                .to_vec();
        assert_eq!(codes, [0, 1, 2, 3, 130]);
    }

    #[test]
    fn a_corrupt_model_is_our_failure_and_a_bad_voice_the_users_mistake() {
        let corrupt = Error::Assets(AssetError::Checksum { path: "m".into(), expected: "a".into(), found: "b".into() });
        assert_eq!(corrupt.exit_status(), ExitStatus::Failure);
        let unhealthy = Error::Assets(AssetError::Unhealthy { path: "m".into(), problem: "missing", others: 0 });
        assert_eq!(unhealthy.exit_status(), ExitStatus::Failure);
        let voice = Error::Voice(VoiceError::Unknown { name: "x".into(), closest: vec![] });
        assert_eq!(voice.kind(), ErrorKind::User);
    }

    #[test]
    fn a_missing_ffmpeg_is_the_installations_failure_and_a_missing_cover_the_users_mistake() {
        let ffmpeg = Error::Export(ExportError::NoFfmpeg { format: crate::export::OutputFormat::M4b });
        assert_eq!(ffmpeg.exit_status(), ExitStatus::Failure);
        assert_eq!(ffmpeg.to_string(), "m4b needs ffmpeg: install it (Debian: apt install ffmpeg) or use --format wav");
        let cover =
            Error::Export(ExportError::Cover { path: "c.jpg".into(), source: std::io::ErrorKind::NotFound.into() });
        assert_eq!(cover.exit_status(), ExitStatus::User);
    }
}
