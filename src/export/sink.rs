//! Where PCM goes once a chapter is written: an [`AudioSink`] takes the book's samples in order,
//! whether it is an encoder fed on a pipe or a loudness meter, and [`stream_wav`] reads a chapter
//! WAV into one in blocks, so no chapter is ever held in memory whole.

use std::path::Path;

use super::ExportError;

/// Samples of one channel at 24 kHz, in [-1, 1] (a gain may push them past it; sinks take f32).
pub trait AudioSink {
    fn samples(&mut self, samples: &[f32]) -> Result<(), ExportError>;
}

/// Samples read per block: 1/3 s, small enough to stream, large enough to keep pipes busy.
const BLOCK: usize = 8192;

/// The number of samples in a chapter WAV, from its header: the exact count the job wrote, never
/// re-measured from a decoded stream.
pub fn wav_samples(path: &Path) -> Result<u64, ExportError> {
    let reader = hound::WavReader::open(path).map_err(|source| ExportError::Wav { path: path.into(), source })?;
    Ok(u64::from(reader.duration()))
}

/// Streams a chapter WAV (16-bit mono, as the job writes it) into `sink`, each sample scaled by
/// `gain` (linear); returns the number of samples.
pub fn stream_wav(path: &Path, gain: f32, sink: &mut dyn AudioSink) -> Result<u64, ExportError> {
    let wav_err = |source| ExportError::Wav { path: path.into(), source };
    let mut reader = hound::WavReader::open(path).map_err(wav_err)?;
    // The inverse of `assemble::wav::pcm16`, so gain 1 gives back the model's samples.
    let scale = gain / f32::from(i16::MAX);
    let mut block = Vec::with_capacity(BLOCK);
    let mut count = 0u64;
    for sample in reader.samples::<i16>() {
        block.push(f32::from(sample.map_err(wav_err)?) * scale);
        if block.len() == BLOCK {
            sink.samples(&block)?;
            count += block.len() as u64;
            block.clear();
        }
    }
    if !block.is_empty() {
        sink.samples(&block)?;
        count += block.len() as u64;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<f32>);

    impl AudioSink for Collect {
        fn samples(&mut self, samples: &[f32]) -> Result<(), ExportError> {
            self.0.extend_from_slice(samples);
            Ok(())
        }
    }

    #[test]
    fn a_wav_streams_whole_with_its_gain_and_its_header_count_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.wav");
        let samples: Vec<f32> = (0..20_000).map(|i| ((i % 200) as f32 / 200.0) - 0.5).collect();
        std::fs::write(&path, crate::assemble::wav::to_bytes(&samples).unwrap()).unwrap();
        let mut sink = Collect(Vec::new());
        assert_eq!(stream_wav(&path, 2.0, &mut sink).unwrap(), 20_000);
        assert_eq!(wav_samples(&path).unwrap(), 20_000);
        assert_eq!(sink.0.len(), 20_000);
        for (got, want) in sink.0.iter().zip(&samples) {
            assert!((got - 2.0 * want).abs() < 1e-4, "{got} vs {want}");
        }
    }
}
