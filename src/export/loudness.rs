//! Loudness: the whole book measured once (EBU R128 integrated loudness and true peak, with the
//! `ebur128` crate) from its chapter WAVs, and one static gain that brings it to the target, so
//! chapters keep their levels relative to each other. The peaks the gain pushes past -3 dBTP are
//! held down by the true-peak limiter that follows it ([`super::limiter`]); nothing else is
//! compressed.
//!
//! The gain is applied only where m4b, mp3 and opus are encoded; the WAVs stay as the model made
//! them, so a resumed build still ends with the same bytes.

use std::path::Path;

use ebur128::{EbuR128, Mode};

use super::ExportError;
use super::limiter::Limited;
use super::sink::{AudioSink, stream_wav};
use crate::kokoro::SAMPLE_RATE;

/// The highest true peak an encoded book may have, in dBTP (the audiobook norm; the limiter's
/// own ceiling is lower, for the lossy encoders' overshoot).
pub const TRUE_PEAK_CEILING_DBTP: f64 = -3.0;

/// The loudness a book is brought to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoudnessTarget {
    /// Leave the level as the model made it (and measure nothing).
    Off,
    /// Integrated loudness in LUFS.
    Lufs(f64),
}

impl Default for LoudnessTarget {
    fn default() -> Self {
        LoudnessTarget::Lufs(-19.0)
    }
}

/// What the meter found, rounded to 0.01.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Integrated loudness; -70 (the absolute gate) for a book of silence.
    pub integrated_lufs: f64,
    /// True peak; -70 for a book of silence.
    pub true_peak_dbtp: f64,
}

struct Meter(EbuR128);

impl AudioSink for Meter {
    fn samples(&mut self, samples: &[f32]) -> Result<(), ExportError> {
        self.0.add_frames_f32(samples).map_err(|source| ExportError::Meter { source })
    }
}

impl Meter {
    fn new() -> Result<Self, ExportError> {
        let meter = EbuR128::new(1, SAMPLE_RATE, Mode::I | Mode::TRUE_PEAK);
        Ok(Self(meter.map_err(|source| ExportError::Meter { source })?))
    }

    fn result(&self) -> Result<Measurement, ExportError> {
        let meter_err = |source| ExportError::Meter { source };
        let integrated = self.0.loudness_global().map_err(meter_err)?;
        let peak = self.0.true_peak(0).map_err(meter_err)?;
        Ok(Measurement { integrated_lufs: floor(integrated), true_peak_dbtp: floor(20.0 * peak.log10()) })
    }
}

/// Measures the chapter WAVs as one programme, in order.
pub fn measure(wavs: &[impl AsRef<Path>]) -> Result<Measurement, ExportError> {
    let mut meter = Meter::new()?;
    for wav in wavs {
        stream_wav(wav.as_ref(), 1.0, &mut meter)?;
    }
    meter.result()
}

/// Measures samples in memory (an intro or outro clip).
pub fn measure_samples(samples: &[f32]) -> Result<Measurement, ExportError> {
    let mut meter = Meter::new()?;
    meter.samples(samples)?;
    meter.result()
}

/// -70 for what is silence (-inf) or not a number, else rounded to 0.01.
fn floor(db: f64) -> f64 {
    if db.is_finite() { round2(db.max(-70.0)) } else { -70.0 }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The gain in dB that brings `measured` to `target` LUFS; 0 for silence, which no gain makes
/// audible. The limiter, not a smaller gain, keeps the peaks under [`TRUE_PEAK_CEILING_DBTP`]:
/// speech peaks some 20 dB over its loudness, so a gain capped by the peak misses the target.
pub fn gain_db(measured: &Measurement, target_lufs: f64) -> f64 {
    if measured.integrated_lufs <= -70.0 {
        return 0.0;
    }
    round2(target_lufs - measured.integrated_lufs)
}

/// Runs the chapter WAVs with `gain_db` through the limiter as the M4B encode will, writing
/// nothing; returns the most gain reduction it applies, in dB rounded to 0.01 (0 when it never
/// acts), for book.json.
pub fn limiting_db(wavs: &[impl AsRef<Path>], gain_db: f64) -> Result<f64, ExportError> {
    struct Discard;
    impl AudioSink for Discard {
        fn samples(&mut self, _: &[f32]) -> Result<(), ExportError> {
            Ok(())
        }
    }
    let mut discard = Discard;
    let mut stage = Limited::new(&mut discard);
    for wav in wavs {
        stream_wav(wav.as_ref(), linear(gain_db), &mut stage)?;
    }
    Ok(round2(stage.finish()?).max(0.0))
}

/// A gain in dB as a factor on samples.
pub fn linear(gain_db: f64) -> f32 {
    10f64.powf(gain_db / 20.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gain_reaches_the_target_even_where_the_peaks_are_left_to_the_limiter() {
        let quiet = Measurement { integrated_lufs: -25.0, true_peak_dbtp: -12.0 };
        assert_eq!(gain_db(&quiet, -19.0), 6.0);
        let peaky = Measurement { integrated_lufs: -25.0, true_peak_dbtp: -5.0 };
        assert_eq!(gain_db(&peaky, -19.0), 6.0, "the limiter holds the peaks");
        let loud = Measurement { integrated_lufs: -14.0, true_peak_dbtp: -1.0 };
        assert_eq!(gain_db(&loud, -19.0), -5.0);
        let silence = Measurement { integrated_lufs: -70.0, true_peak_dbtp: -70.0 };
        assert_eq!(gain_db(&silence, -19.0), 0.0);
        assert!((linear(6.0) - 1.9953).abs() < 1e-3);
    }

    #[test]
    fn a_sine_measures_as_ebu_r128_says_and_silence_as_the_gate() {
        let dir = tempfile::tempdir().unwrap();
        // A full-scale-ish 1 kHz sine at amplitude 0.5: about -9.0 LUFS (-3.01 LUFS for a 0 dBFS
        // sine, K-weighting adds about +0.7 at 1 kHz) and a true peak of -6 dBTP.
        let sine: Vec<f32> = (0..SAMPLE_RATE as usize * 5)
            .map(|i| 0.5 * (i as f32 * 1000.0 * std::f32::consts::TAU / 24_000.0).sin())
            .collect();
        let path = dir.path().join("sine.wav");
        std::fs::write(&path, crate::assemble::wav::to_bytes(&sine).unwrap()).unwrap();
        let m = measure(&[&path]).unwrap();
        assert!((m.integrated_lufs - -9.0).abs() < 0.5, "{m:?}");
        assert!((m.true_peak_dbtp - -6.0).abs() < 0.2, "{m:?}");

        let silent = dir.path().join("silent.wav");
        std::fs::write(&silent, crate::assemble::wav::to_bytes(&vec![0.0; 24_000]).unwrap()).unwrap();
        assert_eq!(measure(&[&silent]).unwrap(), Measurement { integrated_lufs: -70.0, true_peak_dbtp: -70.0 });
    }
}
