//! Voices: the catalogue of Kokoro's 54 voice packs and loading one as 510 style rows.
//!
//! A voice id encodes its language (first letter) and gender (second letter): `bf_lily` is a
//! British English female voice. A pack holds one 256-float style vector per input length.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::assets::VoiceStore;
use super::voice_hashes::VOICE_SHA256;

/// Style rows in a pack: one per possible token count (1..=510).
pub const STYLE_ROWS: usize = 510;
/// Floats in one style row.
pub const STYLE_DIM: usize = 256;

/// Errors while choosing or loading a voice.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("unknown voice '{name}'{}", did_you_mean(.closest))]
    Unknown { name: String, closest: Vec<String> },
    #[error("voice '{name}' speaks {language}, but this build phonemizes English only: choose an a* or b* voice")]
    Unsupported { name: String, language: &'static str },
    #[error("{path}: {problem}")]
    Corrupt { path: PathBuf, problem: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

fn did_you_mean(closest: &[String]) -> String {
    if closest.is_empty() { String::new() } else { format!("; did you mean {}?", closest.join(", ")) }
}

/// What the catalogue says about a voice.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VoiceInfo {
    pub name: &'static str,
    pub language: &'static str,
    pub gender: &'static str,
    /// Whether this build can phonemize the voice's language.
    pub supported: bool,
}

/// Every known voice, sorted by name.
pub fn catalogue() -> Vec<VoiceInfo> {
    VOICE_SHA256.iter().map(|(name, _)| info(name)).collect()
}

fn info(name: &'static str) -> VoiceInfo {
    let mut letters = name.chars();
    let (language, supported) = language_of(letters.next().unwrap_or('?'));
    let gender = match letters.next() {
        Some('f') => "female",
        Some('m') => "male",
        _ => "unknown",
    };
    VoiceInfo { name, language, gender, supported }
}

fn language_of(code: char) -> (&'static str, bool) {
    match code {
        'a' => ("American English", true),
        'b' => ("British English", true),
        'e' => ("Spanish", false),
        'f' => ("French", false),
        'h' => ("Hindi", false),
        'i' => ("Italian", false),
        'j' => ("Japanese", false),
        'p' => ("Brazilian Portuguese", false),
        'z' => ("Mandarin Chinese", false),
        _ => ("unknown", false),
    }
}

/// Checks that `name` is a voice this build can speak; names the closest ones when it is not known.
pub fn check(name: &str) -> Result<VoiceInfo, VoiceError> {
    let Some(voice) = catalogue().into_iter().find(|v| v.name == name) else {
        let mut scored: Vec<(f64, &str)> =
            VOICE_SHA256.iter().map(|(n, _)| (strsim::jaro_winkler(name, n), *n)).filter(|(s, _)| *s > 0.7).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let closest = scored.iter().take(3).map(|(_, n)| n.to_string()).collect();
        return Err(VoiceError::Unknown { name: name.into(), closest });
    };
    if !voice.supported {
        return Err(VoiceError::Unsupported { name: name.into(), language: voice.language });
    }
    Ok(voice)
}

/// A loaded voice pack: [`STYLE_ROWS`] rows of [`STYLE_DIM`] floats.
#[derive(Debug, Clone, PartialEq)]
pub struct VoicePack {
    rows: Vec<f32>,
}

impl VoicePack {
    /// Wraps raw rows; `rows.len()` must be `STYLE_ROWS * STYLE_DIM`.
    pub fn from_rows(rows: Vec<f32>) -> Option<Self> {
        (rows.len() == STYLE_ROWS * STYLE_DIM).then_some(Self { rows })
    }

    /// The style row for an input of `token_count` ids (pads not counted): row `token_count - 1`,
    /// as upstream Kokoro's pipeline indexes it. Counts past the table use its last row.
    pub fn style_for(&self, token_count: usize) -> &[f32] {
        let row = token_count.clamp(1, STYLE_ROWS) - 1;
        &self.rows[row * STYLE_DIM..(row + 1) * STYLE_DIM]
    }

    /// Loads voice `name` from a folder of `.bin` packs or an `.npz` archive.
    pub fn load(store: &VoiceStore, name: &str) -> Result<Self, VoiceError> {
        match store {
            VoiceStore::Dir(dir) => {
                let path = dir.join(format!("{name}.bin"));
                let bytes = std::fs::read(&path).map_err(|source| VoiceError::Io { path: path.clone(), source })?;
                Self::from_le_bytes(&bytes).ok_or_else(|| VoiceError::Corrupt {
                    path,
                    problem: format!("expected {} bytes of float32, found {}", STYLE_ROWS * STYLE_DIM * 4, bytes.len()),
                })
            }
            VoiceStore::Npz(path) => load_npz(path, name),
        }
    }

    fn from_le_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != STYLE_ROWS * STYLE_DIM * 4 {
            return None;
        }
        let rows = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Self::from_rows(rows)
    }
}

/// Reads `NAME.npy` from kokoro-onnx's voices archive: float32 little-endian, shape (510, 1, 256).
fn load_npz(path: &Path, name: &str) -> Result<VoicePack, VoiceError> {
    let corrupt = |problem: String| VoiceError::Corrupt { path: path.to_path_buf(), problem };
    let file = File::open(path).map_err(|source| VoiceError::Io { path: path.to_path_buf(), source })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| corrupt(format!("not a voices .npz archive: {e}")))?;
    let mut entry = archive.by_name(&format!("{name}.npy")).map_err(|_| corrupt(format!("has no voice '{name}'")))?;
    let mut npy = Vec::new();
    entry.by_ref().take(4 << 20).read_to_end(&mut npy).map_err(|e| corrupt(e.to_string()))?;
    let data = npy_f32_payload(&npy).map_err(|p| corrupt(format!("{name}.npy: {p}")))?;
    VoicePack::from_le_bytes(data).ok_or_else(|| corrupt(format!("{name}.npy: expected 510 x 256 floats")))
}

/// Why a .npy entry cannot be read.
#[derive(Debug, thiserror::Error)]
enum NpyError {
    #[error("not a .npy file")]
    NotNpy,
    #[error("unsupported .npy version {0}")]
    Version(u8),
    #[error("truncated header")]
    Truncated,
    #[error("not little-endian float32 in C order: {0}")]
    Layout(String),
}

/// The data bytes of a version 1-3 .npy file holding little-endian float32 in C order.
fn npy_f32_payload(npy: &[u8]) -> Result<&[u8], NpyError> {
    if npy.len() < 10 || &npy[..6] != b"\x93NUMPY" {
        return Err(NpyError::NotNpy);
    }
    let (header_len, start) = match npy[6] {
        1 => (u16::from_le_bytes([npy[8], npy[9]]) as usize, 10),
        2 | 3 if npy.len() >= 12 => (u32::from_le_bytes([npy[8], npy[9], npy[10], npy[11]]) as usize, 12),
        v => return Err(NpyError::Version(v)),
    };
    let header = npy.get(start..start + header_len).ok_or(NpyError::Truncated)?;
    let header = String::from_utf8_lossy(header);
    if !header.contains("'descr': '<f4'") || header.contains("'fortran_order': True") {
        return Err(NpyError::Layout(header.trim().to_string()));
    }
    Ok(&npy[start + header_len..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_54_voices_and_english_ones_are_supported() {
        let all = catalogue();
        assert_eq!(all.len(), 54);
        let lily = all.iter().find(|v| v.name == "bf_lily").unwrap();
        assert_eq!((lily.language, lily.gender, lily.supported), ("British English", "female", true));
        assert!(!all.iter().find(|v| v.name == "jf_alpha").unwrap().supported);
        assert_eq!(all.iter().filter(|v| v.supported).count(), 28);
    }

    #[test]
    fn unknown_voice_names_the_closest() {
        let err = check("bf_lilly").unwrap_err().to_string();
        assert!(err.starts_with("unknown voice 'bf_lilly'; did you mean bf_lily"), "{err}");
        assert!(check("ff_siwis").unwrap_err().to_string().contains("French"));
    }

    #[test]
    fn style_row_is_token_count_minus_one() {
        let rows: Vec<f32> = (0..STYLE_ROWS * STYLE_DIM).map(|i| (i / STYLE_DIM) as f32).collect();
        let pack = VoicePack::from_rows(rows).unwrap();
        assert_eq!(pack.style_for(146)[0], 145.0);
        assert_eq!(pack.style_for(1)[0], 0.0);
        assert_eq!(pack.style_for(510)[255], 509.0);
        assert_eq!(pack.style_for(0)[0], 0.0);
    }

    #[test]
    fn a_voice_loads_from_a_kokoro_onnx_npz_archive() {
        use std::io::Write;
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (510, 1, 256), }";
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
        npy.extend_from_slice(header.as_bytes());
        npy.extend((0..STYLE_ROWS * STYLE_DIM).flat_map(|i| ((i / STYLE_DIM) as f32).to_le_bytes()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("voices-v1.0.bin");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        zip.start_file("bf_lily.npy", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&npy).unwrap();
        zip.finish().unwrap();

        let pack = VoicePack::load(&VoiceStore::Npz(path.clone()), "bf_lily").unwrap();
        assert_eq!(pack.style_for(146)[0], 145.0);
        let missing = VoicePack::load(&VoiceStore::Npz(path), "af_heart").unwrap_err();
        assert!(missing.to_string().contains("has no voice 'af_heart'"), "{missing}");
    }

    #[test]
    fn npy_payload_is_found_after_its_header() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
        npy.extend_from_slice(header.as_bytes());
        npy.extend_from_slice(&1.5f32.to_le_bytes());
        assert_eq!(npy_f32_payload(&npy).unwrap(), 1.5f32.to_le_bytes());
        assert!(npy_f32_payload(b"garbage!!!!!").is_err());
    }
}
