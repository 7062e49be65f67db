//! A chunk as stored: its bytes split into four byte planes (the float samples' signs and
//! exponents compress well apart from their noisy low bytes), deflated, behind a header with the
//! raw length and a sha256 over the key and the raw bytes. Lossless; a read checks the hash, so a
//! damaged blob, or one stored under another key, is refused rather than assembled.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"ABSTORE1";
const HEADER: usize = 8 + 32 + 8;
/// No chunk is near this (510 tokens of audio are a few MB); a larger length is damage.
const MAX_RAW: u64 = 256 << 20;
const PLANES: usize = 4;

/// What is wrong with a stored blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    #[error("not a chunk blob")]
    NotABlob,
    #[error("its data does not inflate")]
    Inflate,
    #[error("{got} bytes where the header says {expected}")]
    Length { expected: u64, got: u64 },
    #[error("its hash does not match its key and content")]
    Hash,
}

fn digest(key: &str, raw: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update([0]);
    hasher.update(raw);
    hasher.finalize().into()
}

/// Byte `i` of the input goes to plane `i % 4`; the planes follow each other.
fn split_planes(raw: &[u8]) -> Vec<u8> {
    (0..PLANES).flat_map(|p| raw.iter().skip(p).step_by(PLANES).copied()).collect()
}

fn join_planes(planes: &[u8]) -> Vec<u8> {
    let n = planes.len();
    let mut raw = vec![0; n];
    let mut at = 0;
    for p in 0..PLANES {
        for i in (p..n).step_by(PLANES) {
            raw[i] = planes[at];
            at += 1;
        }
    }
    raw
}

/// The blob for a chunk's bytes.
pub fn encode(key: &str, raw: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(HEADER + raw.len() / 2);
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&digest(key, raw));
    blob.extend_from_slice(&(raw.len() as u64).to_le_bytes());
    let mut encoder = DeflateEncoder::new(blob, Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(&split_planes(raw));
    encoder.finish().unwrap_or_default()
}

/// A chunk's bytes from its blob, checked.
pub fn decode(key: &str, blob: &[u8]) -> Result<Vec<u8>, BlobError> {
    let rest = blob.strip_prefix(MAGIC).ok_or(BlobError::NotABlob)?;
    let (hash, rest) = rest.split_at_checked(32).ok_or(BlobError::NotABlob)?;
    let (len, data) = rest.split_at_checked(8).ok_or(BlobError::NotABlob)?;
    let expected = u64::from_le_bytes(len.try_into().map_err(|_| BlobError::NotABlob)?);
    if expected > MAX_RAW {
        return Err(BlobError::Length { expected, got: 0 });
    }
    let mut planes = Vec::with_capacity(expected as usize);
    // One byte more than the header says, so a longer stream is caught without inflating it all.
    DeflateDecoder::new(data).take(expected + 1).read_to_end(&mut planes).map_err(|_| BlobError::Inflate)?;
    if planes.len() as u64 != expected {
        return Err(BlobError::Length { expected, got: planes.len() as u64 });
    }
    let raw = join_planes(&planes);
    if digest(key, &raw)[..] != *hash {
        return Err(BlobError::Hash);
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_are_bound_to_their_key() {
        for len in [0, 1, 3, 4, 5, 4099] {
            let raw: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let blob = encode("key", &raw);
            assert_eq!(decode("key", &blob).unwrap(), raw);
            assert_eq!(decode("other", &blob), Err(BlobError::Hash));
        }
    }

    #[test]
    fn damaged_blobs_are_refused() {
        let raw: Vec<u8> = (0..2000u32).flat_map(|i| (i as f32 * 0.01).sin().to_le_bytes()).collect();
        let blob = encode("k", &raw);
        assert_eq!(decode("k", &blob[..20]), Err(BlobError::NotABlob));
        assert_eq!(decode("k", b"something else entirely"), Err(BlobError::NotABlob));
        assert!(decode("k", &blob[..blob.len() - 10]).is_err());
        let mut flipped = blob.clone();
        flipped[HEADER + 40] ^= 1;
        assert!(decode("k", &flipped).is_err());
        let mut longer = blob.clone();
        longer[HEADER - 8] = longer[HEADER - 8].wrapping_sub(1); // header says one byte less
        assert!(matches!(decode("k", &longer), Err(BlobError::Length { .. })));
    }
}
