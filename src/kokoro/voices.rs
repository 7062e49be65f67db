//! Voices: the catalogue of Kokoro's 54 voice packs and loading one as 510 style rows.
//!
//! A voice id encodes its language (first letter) and gender (second letter): `bf_lily` is a
//! British English female voice. A pack holds one 256-float style vector per input length.
//! A [`Blend`] (`af_heart:0.7,bf_emma:0.3`) mixes packs row by row, by normalised weight; its
//! first voice sets the accent.

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
    #[error(
        "voice '{name}' speaks {language}, which this build cannot phonemize yet; it speaks {}",
        crate::language::Language::available()
    )]
    Unsupported { name: String, language: &'static str },
    #[error("voice blend '{spec}': {problem}")]
    Blend { spec: String, problem: String },
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
    match crate::language::Language::ALL.into_iter().find(|l| l.code() == code) {
        Some(language) => (language.name(), language.is_speakable()),
        None => ("unknown", false),
    }
}

/// Checks that `spec`, a voice or a [`Blend`], is one this build can speak: every voice known,
/// the first (which sets the accent) one whose language it phonemizes. Gives the first voice.
pub fn check(spec: &str) -> Result<VoiceInfo, VoiceError> {
    let blend = Blend::parse(spec)?;
    let first = check_one(&blend.parts[0].0)?;
    for (name, _) in &blend.parts[1..] {
        known(name)?;
    }
    Ok(first)
}

/// A voice or a mix of voices: `NAME` or `NAME:WEIGHT,NAME:WEIGHT,...` (a missing weight is 1).
/// Weights are normalised to sum to 1; its text form ([`Blend`]'s `Display`) is canonical, so
/// `af_heart:7,bf_emma:3` and `af_heart:0.7,bf_emma:0.3` are the same blend and the same chunk
/// keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Blend {
    parts: Vec<(String, f32)>,
}

impl Blend {
    /// Parses a voice or blend; each voice must be known.
    pub fn parse(spec: &str) -> Result<Self, VoiceError> {
        let problem = |problem: String| VoiceError::Blend { spec: spec.into(), problem };
        let mut parts: Vec<(String, f32)> = Vec::new();
        for part in spec.split(',').map(str::trim) {
            let (name, weight) = match part.split_once(':') {
                Some((name, weight)) => {
                    let weight: f32 =
                        weight.trim().parse().map_err(|_| problem(format!("'{weight}' is not a weight")))?;
                    (name.trim(), weight)
                }
                None => (part, 1.0),
            };
            if !(weight.is_finite() && weight > 0.0) {
                return Err(problem(format!("the weight of '{name}' must be a number above 0")));
            }
            if parts.iter().any(|(n, _)| n == name) {
                return Err(problem(format!("'{name}' is named twice")));
            }
            known(name)?;
            parts.push((name.to_string(), weight));
        }
        let total: f32 = parts.iter().map(|(_, w)| w).sum();
        for (_, weight) in &mut parts {
            *weight /= total;
        }
        Ok(Self { parts })
    }

    /// Each voice with its normalised weight, the accent's first.
    pub fn parts(&self) -> &[(String, f32)] {
        &self.parts
    }
}

impl std::fmt::Display for Blend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let [(name, _)] = self.parts.as_slice() {
            return f.write_str(name);
        }
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|(name, w)| format!("{name}:{}", (f64::from(*w) * 1000.0).round() / 1000.0))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// The catalogue's entry for `name`; names the closest ones when it is not known.
fn known(name: &str) -> Result<VoiceInfo, VoiceError> {
    catalogue().into_iter().find(|v| v.name == name).ok_or_else(|| {
        let mut scored: Vec<(f64, &str)> =
            VOICE_SHA256.iter().map(|(n, _)| (strsim::jaro_winkler(name, n), *n)).filter(|(s, _)| *s > 0.7).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let closest = scored.iter().take(3).map(|(_, n)| n.to_string()).collect();
        VoiceError::Unknown { name: name.into(), closest }
    })
}

/// Checks that `name` is one voice this build can speak.
fn check_one(name: &str) -> Result<VoiceInfo, VoiceError> {
    let voice = known(name)?;
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

    /// Loads a voice or blend (see [`Blend`]) from a folder of `.bin` packs or an `.npz` archive.
    pub fn load(store: &VoiceStore, spec: &str) -> Result<Self, VoiceError> {
        let blend = Blend::parse(spec)?;
        let packs: Vec<(Self, f32)> = blend
            .parts
            .iter()
            .map(|(name, w)| Self::load_one(store, name).map(|p| (p, *w)))
            .collect::<Result<_, _>>()?;
        Ok(Self::mix(&packs))
    }

    /// The weighted sum of packs, row by row (the weights already normalised).
    pub fn mix(packs: &[(Self, f32)]) -> Self {
        if let [(pack, _)] = packs {
            return pack.clone();
        }
        let mut rows = vec![0.0f32; STYLE_ROWS * STYLE_DIM];
        for (pack, weight) in packs {
            for (out, value) in rows.iter_mut().zip(&pack.rows) {
                *out += weight * value;
            }
        }
        Self { rows }
    }

    fn load_one(store: &VoiceStore, name: &str) -> Result<Self, VoiceError> {
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
    fn catalogue_has_54_voices_and_all_but_japanese_are_supported() {
        let all = catalogue();
        assert_eq!(all.len(), 54);
        let lily = all.iter().find(|v| v.name == "bf_lily").unwrap();
        assert_eq!((lily.language, lily.gender, lily.supported), ("British English", "female", true));
        assert!(all.iter().find(|v| v.name == "jf_alpha").unwrap().supported);
        assert!(all.iter().find(|v| v.name == "zf_xiaobei").unwrap().supported);
        assert_eq!(all.iter().filter(|v| v.supported).count(), 54);
        assert!(all.iter().find(|v| v.name == "ef_dora").unwrap().supported);
        assert!(all.iter().find(|v| v.name == "zf_xiaobei").unwrap().supported);
    }

    #[test]
    fn a_blend_is_normalised_and_its_style_is_the_weighted_sum() {
        let blend = Blend::parse("af_heart:7, bf_emma:3").unwrap();
        assert_eq!(blend.to_string(), "af_heart:0.7,bf_emma:0.3");
        assert_eq!(Blend::parse("af_heart:0.7,bf_emma:0.3").unwrap().to_string(), blend.to_string());
        assert_eq!(Blend::parse("bf_lily").unwrap().to_string(), "bf_lily");
        assert_eq!(check("bf_emma:1,af_heart:1").unwrap().name, "bf_emma", "the first voice sets the accent");
        assert!(check("af_heart:0.5,zf_xiaobei:0.5").is_ok(), "a foreign voice may colour an English one");
        assert_eq!(check("zf_xiaobei:0.5,af_heart:0.5").unwrap().name, "zf_xiaobei", "its language is Mandarin");
        for bad in ["af_heart:0,bf_emma:1", "af_heart:x", "af_heart,af_heart", "af_heart:-1"] {
            assert!(matches!(Blend::parse(bad), Err(VoiceError::Blend { .. })), "{bad}");
        }
        assert!(matches!(Blend::parse("af_heart,bf_emmma"), Err(VoiceError::Unknown { .. })));

        let pack = |seed: f32| {
            VoicePack::from_rows((0..STYLE_ROWS * STYLE_DIM).map(|i| seed * (i % 97) as f32 - 1.0).collect()).unwrap()
        };
        let (a, b) = (pack(0.5), pack(-0.25));
        let mixed = VoicePack::mix(&[(a.clone(), 0.7), (b.clone(), 0.3)]);
        for tokens in [1, 200, 510] {
            let expected: Vec<f32> =
                a.style_for(tokens).iter().zip(b.style_for(tokens)).map(|(x, y)| 0.7 * x + 0.3 * y).collect();
            for (got, want) in mixed.style_for(tokens).iter().zip(&expected) {
                assert!((got - want).abs() < 1e-6, "{got} != {want}");
            }
        }
        assert_ne!(mixed, a);
    }

    #[test]
    fn a_blend_loads_as_the_weighted_sum_of_its_packs() {
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in [("af_heart", 1.0f32), ("bf_emma", -2.0)] {
            let bytes: Vec<u8> = (0..STYLE_ROWS * STYLE_DIM).flat_map(|_| value.to_le_bytes()).collect();
            std::fs::write(dir.path().join(format!("{name}.bin")), bytes).unwrap();
        }
        let store = VoiceStore::Dir(dir.path().to_path_buf());
        let mixed = VoicePack::load(&store, "af_heart:3,bf_emma:1").unwrap();
        assert!(mixed.style_for(5).iter().all(|v| (v - (0.75 - 0.5)).abs() < 1e-6));
        assert_eq!(VoicePack::load(&store, "af_heart").unwrap().style_for(1)[0], 1.0);
    }

    #[test]
    fn unknown_voice_names_the_closest() {
        let err = check("bf_lilly").unwrap_err().to_string();
        assert!(err.starts_with("unknown voice 'bf_lilly'; did you mean bf_lily"), "{err}");
        assert!(check("zf_xiaobei").is_ok());
        assert!(check("jf_alpha").is_ok());
        assert!(check("ff_siwis").is_ok());
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
