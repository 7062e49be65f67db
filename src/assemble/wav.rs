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
    fn wav_bytes_are_24khz_mono_16bit() {
        let bytes = to_bytes(&[0.0, 0.25, -0.25]).unwrap();
        let reader = hound::WavReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.spec(), spec());
        assert_eq!(reader.len(), 3);
        assert_eq!(bytes.len(), 44 + 6);
    }
}
