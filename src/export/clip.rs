//! Intro and outro clips (`--intro`, `--outro`): WAV, FLAC, MP3, Ogg Vorbis or M4A/AAC, decoded
//! with symphonia, mixed down to mono and resampled to the book's 24 kHz with rubato, so they
//! join the narration in one AAC stream. A clip is short (music, a station ident), so it is held
//! in memory whole.

use std::fs::File;
use std::path::Path;

use rubato::{FftFixedIn, Resampler};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::ExportError;
use crate::hash;
use crate::kokoro::SAMPLE_RATE;

/// A decoded clip at 24 kHz mono, with the hash of its file (part of the M4B's key).
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub samples: Vec<f32>,
    pub sha256: String,
}

/// Decodes `path` to 24 kHz mono.
pub fn load(path: &Path) -> Result<Clip, ExportError> {
    let decode_err = |source| ExportError::Decode { path: path.into(), source };
    let sha256 = hash::file_sha256(path).map_err(|source| ExportError::Clip { path: path.into(), source })?;
    let file = File::open(path).map_err(|source| ExportError::Clip { path: path.into(), source })?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(extension);
    }
    let probed = symphonia::default::get_probe()
        // Gapless: the MP3 encoder's delay and padding are cut, so a clip lasts what it should.
        .format(
            &hint,
            stream,
            &FormatOptions { enable_gapless: true, ..Default::default() },
            &MetadataOptions::default(),
        )
        .map_err(decode_err)?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| ExportError::NoAudio { path: path.into() })?;
    let (track_id, rate) = (track.id, track.codec_params.sample_rate);
    let mut decoder =
        symphonia::default::get_codecs().make(&track.codec_params, &DecoderOptions::default()).map_err(decode_err)?;
    let mut mono = Vec::new();
    let mut rate = rate.unwrap_or(0);
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            // The end of the stream is reported as an error.
            Err(DecodeError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(decode_err(e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            // A damaged packet is skipped, as players do.
            Err(DecodeError::DecodeError(_)) => continue,
            Err(e) => return Err(decode_err(e)),
        };
        let spec = *decoded.spec();
        rate = spec.rate;
        let channels = spec.channels.count().max(1);
        let mut buffer = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        buffer.copy_interleaved_ref(decoded);
        mono.extend(buffer.samples().chunks(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32));
    }
    if mono.is_empty() || rate == 0 {
        return Err(ExportError::NoAudio { path: path.into() });
    }
    let samples = resample(&mono, rate).map_err(|source| ExportError::Resample { path: path.into(), source })?;
    Ok(Clip { samples, sha256 })
}

/// Why resampling failed.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error(transparent)]
    Construction(#[from] rubato::ResamplerConstructionError),
    #[error(transparent)]
    Process(#[from] rubato::ResampleError),
}

/// `samples` at `rate` as 24 kHz: a synchronous FFT resampler, its delay trimmed, its length
/// exactly the input's duration at the new rate.
pub fn resample(samples: &[f32], rate: u32) -> Result<Vec<f32>, ResampleError> {
    if rate == SAMPLE_RATE {
        return Ok(samples.to_vec());
    }
    let mut resampler = FftFixedIn::<f32>::new(rate as usize, SAMPLE_RATE as usize, 1024, 2, 1)?;
    let delay = resampler.output_delay();
    let wanted = (samples.len() as u64 * u64::from(SAMPLE_RATE)).div_ceil(u64::from(rate)) as usize;
    let mut out = Vec::with_capacity(wanted + delay);
    let mut rest = samples;
    while rest.len() >= resampler.input_frames_next() {
        let (chunk, tail) = rest.split_at(resampler.input_frames_next());
        out.extend_from_slice(&resampler.process(&[chunk], None)?[0]);
        rest = tail;
    }
    if !rest.is_empty() {
        out.extend_from_slice(&resampler.process_partial(Some(&[rest]), None)?[0]);
    }
    // Zeros push the resampler's delayed tail out.
    while out.len() < wanted + delay {
        out.extend_from_slice(&resampler.process_partial::<&[f32]>(None, None)?[0]);
    }
    Ok(out[delay..delay + wanted].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_the_duration_and_the_pitch() {
        // One second of 441 Hz at 44.1 kHz: 24,000 samples after, still 441 Hz (zero crossings).
        let input: Vec<f32> =
            (0..44_100).map(|i| (i as f32 * 441.0 * std::f32::consts::TAU / 44_100.0).sin() * 0.5).collect();
        let out = resample(&input, 44_100).unwrap();
        assert_eq!(out.len(), 24_000);
        let crossings = out[1000..23_000].windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        assert!((crossings as i64 - 404).abs() <= 2, "{crossings} upward crossings in 22,000 samples");
        assert_eq!(resample(&[0.1, 0.2], SAMPLE_RATE).unwrap(), [0.1, 0.2]);
    }
}
