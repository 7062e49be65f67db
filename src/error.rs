//! The library's one error type: every stage's error, each naming its file or flag, sorted into
//! user mistakes and failures so the binary can pick an exit code and a hint.

use std::path::PathBuf;

use crate::build::BuildError;
use crate::chunk::ChunkError;
use crate::ingest::IngestError;
use crate::kokoro::EngineError;
use crate::kokoro::assets::AssetError;
use crate::kokoro::voices::VoiceError;
use crate::manifest::JobError;
use crate::phonemize::PhonemizeError;

/// Exit code of a bad input or a user mistake.
pub const EXIT_USER: u8 = 1;
/// Exit code of an internal or I/O failure, and of command-line usage errors.
pub const EXIT_FAILURE: u8 = 2;
/// Exit code of a build that finished some chapters but not all.
pub const EXIT_PARTIAL: u8 = 3;

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
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A mistake in what the user asked for: empty text, a speed out of range.
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot write WAV: {source}")]
    Wav { path: PathBuf, source: hound::Error },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    /// Whether the user can fix this by changing the input or the flags.
    pub fn is_user_mistake(&self) -> bool {
        matches!(self, Error::Voice(VoiceError::Unknown { .. } | VoiceError::Unsupported { .. }) | Error::Usage(_))
            || matches!(self, Error::Chunk(_) | Error::Ingest(_) | Error::Build(BuildError::Job(JobError::Busy(_))))
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        if self.is_user_mistake() { EXIT_USER } else { EXIT_FAILURE }
    }

    /// A line telling the user what to do next, where there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Assets(AssetError::Offline { .. } | AssetError::Tool { .. } | AssetError::Package { .. }) => {
                Some("see models/README.md for where to get the files and where to put them".into())
            }
            Error::Assets(AssetError::Checksum { .. } | AssetError::Missing { .. }) => {
                Some("run `audiobook models fetch` to fetch the files again, or point --model-dir at good ones".into())
            }
            Error::Engine(EngineError::Load(_)) | Error::Voice(VoiceError::Corrupt { .. }) => {
                Some("run `audiobook models status` to check the model files".into())
            }
            Error::Voice(VoiceError::Unknown { .. } | VoiceError::Unsupported { .. }) => {
                Some("`audiobook voices` lists every voice".into())
            }
            _ => None,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
