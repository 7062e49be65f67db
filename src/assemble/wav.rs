//! WAV output: 24 kHz mono 16-bit PCM, written with hound.

use std::io::{Seek, Write};

use crate::kokoro::SAMPLE_RATE;

/// The WAV format every output uses.
pub fn spec() -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

/// A model sample in [-1, 1] as 16-bit PCM (clipped, rounded to nearest).
pub fn pcm16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16
}

/// Writes a whole WAV file of `samples` to `out`.
pub fn write<W: Write + Seek>(samples: &[f32], out: W) -> Result<(), hound::Error> {
    let mut writer = hound::WavWriter::new(out, spec())?;
    let mut pcm = writer.get_i16_writer(samples.len() as u32);
    for &s in samples {
        pcm.write_sample(pcm16(s));
    }
    pcm.flush()?;
    writer.finalize()
}

/// The 44-byte header of a WAV whose length is not known when it starts (a stream): the RIFF and
/// data sizes are 0xFFFFFFFF, the convention streaming servers and ffmpeg use and players accept.
pub fn streaming_header() -> [u8; 44] {
    header(None)
}

/// The 44-byte header of a WAV with `data_bytes` of samples, or of unknown length (also past
/// what the format's 32-bit sizes can say).
pub fn header(data_bytes: Option<u64>) -> [u8; 44] {
    let (riff, data) = match data_bytes.and_then(|d| u32::try_from(d).ok()).filter(|d| *d <= u32::MAX - 36) {
        Some(d) => (d + 36, d),
        None => (u32::MAX, u32::MAX),
    };
    let spec = spec();
    let block_align = spec.channels * spec.bits_per_sample / 8;
    let mut header = [0u8; 44];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        header[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(b"RIFF");
    put(&riff.to_le_bytes());
    put(b"WAVEfmt ");
    put(&16u32.to_le_bytes());
    put(&1u16.to_le_bytes()); // PCM
    put(&spec.channels.to_le_bytes());
    put(&spec.sample_rate.to_le_bytes());
    put(&(spec.sample_rate * u32::from(block_align)).to_le_bytes());
    put(&block_align.to_le_bytes());
    put(&spec.bits_per_sample.to_le_bytes());
    put(b"data");
    put(&data.to_le_bytes());
    header
}

/// Samples as 16-bit little-endian PCM bytes, to follow a [`streaming_header`].
pub fn pcm16_bytes(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|&s| pcm16(s).to_le_bytes()).collect()
}

/// A whole WAV file in memory.
pub fn to_bytes(samples: &[f32]) -> Result<Vec<u8>, hound::Error> {
    let mut cursor = std::io::Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    write(samples, &mut cursor)?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm16_rounds_and_clips() {
        assert_eq!(pcm16(0.0), 0);
        assert_eq!(pcm16(1.5), i16::MAX);
        assert_eq!(pcm16(-2.0), -i16::MAX);
        assert_eq!(pcm16(0.5), 16384);
    }

    #[test]
    fn a_streamed_wav_differs_from_a_whole_one_only_in_its_sizes() {
        let samples = [0.0, 0.25, -0.25];
        let whole = to_bytes(&samples).unwrap();
        let mut streamed = streaming_header().to_vec();
        streamed.extend(pcm16_bytes(&samples));
        assert_eq!(streamed.len(), whole.len());
        let differing: Vec<usize> = (0..whole.len()).filter(|&i| whole[i] != streamed[i]).collect();
        assert!(differing.iter().all(|i| (4..8).contains(i) || (40..44).contains(i)), "{differing:?}");
        assert_eq!(&streamed[40..44], &[0xff; 4]);
        assert_eq!(header(Some(6)), whole[..44], "a known length gives hound's header");
    }

    #[test]
    fn wav_bytes_are_24khz_mono_16bit() {
        let bytes = to_bytes(&[0.0, 0.25, -0.25]).unwrap();
        let reader = hound::WavReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.spec(), spec());
        assert_eq!(reader.len(), 3);
        assert_eq!(bytes.len(), 44 + 6);
    }
}
