//! A true-peak limiter: the stage between the static loudness gain and ffmpeg that keeps the
//! encoded book at or under -3 dBTP once the gain has brought it to its target loudness.
//!
//! Kokoro speech has a peak-to-loudness ratio near 20 dB (about -21 LUFS with peaks near
//! -1 dBTP), so a gain that brings it to -19 LUFS pushes its rare consonant peaks well past
//! -3 dBTP; a gain capped by the peak instead leaves the book 4 dB short of the target. This
//! stage touches only those peaks.
//!
//! How it works, per sample:
//! * The peak is found on a 4x oversampled signal: the three points between two samples come from
//!   a 16-tap Hann-windowed sinc interpolator, so inter-sample peaks (which AAC decoding
//!   reconstructs) are seen, not only the samples themselves.
//! * The gain each sample needs is `ceiling / peak` (1 when under the ceiling). The gain curve is
//!   the minimum of that over the next [`LOOKAHEAD_MS`], released exponentially back toward 1
//!   ([`RELEASE_MS`]), then averaged over the look-ahead window: the average of values that are
//!   each no more than what a peak needs is no more than that either, so the ceiling holds while
//!   the attack is a straight ramp over 5 ms instead of a step (no clicks).
//! * The audio is delayed by the look-ahead, and that delay is taken back out: the first outputs
//!   are dropped and [`Limiter::finish`] flushes the tail, so exactly as many samples leave as
//!   came in and chapter marks counted in samples stay exact.
//!
//! Where every gain in the window is 1 the output is the input bit for bit; only peaks change.

use super::ExportError;
use super::sink::AudioSink;
use crate::kokoro::SAMPLE_RATE;

/// The ceiling the limiter holds, in dBTP: a dB under the -3 dBTP norm, because AAC and MP3
/// decoding overshoot the PCM they were given (by 0.7 dB on The Waste Land at 64 kb/s AAC).
pub const CEILING_DBTP: f64 = -4.0;
/// How far ahead the limiter sees, and so how long its attack ramp is.
pub const LOOKAHEAD_MS: f64 = 5.0;
/// The time constant of the return to unity gain after a peak.
pub const RELEASE_MS: f64 = 80.0;
/// What the limiter does, for output keys: a change here re-encodes.
pub const SETTINGS: &str = "true-peak limiter v1: ceiling -4 dBTP, 4x sinc peaks, look-ahead 5 ms, release 80 ms";

/// Taps on each side of an interpolated point.
const HALF_TAPS: usize = 8;
/// Interpolated points between two samples (4x oversampling).
const PHASES: usize = 3;
/// A gain this close to 1 is 1 (a release never reaches 1 exactly in floating point, and unity
/// is what makes quiet passages pass bit for bit).
const UNITY: f64 = 1.0 - 1e-6;

/// A streaming true-peak limiter for one channel at the model's sample rate.
pub struct Limiter {
    ceiling: f64,
    lookahead: usize,
    release: f64,
    /// Interpolator taps, per phase, for samples `n-7 ..= n+8` around the point `n + phase/4`.
    taps: [[f32; 2 * HALF_TAPS]; PHASES],
    /// The last inputs, a ring indexed by sample number.
    input: Vec<f32>,
    /// Samples taken in so far.
    received: u64,
    /// The previous sample's right-side peak (the interval it shares with this one).
    last_peak: f64,
    /// Sliding minimum over the look-ahead of the needed gains: (sample number, gain), increasing.
    minimum: std::collections::VecDeque<(u64, f64)>,
    /// The released gain curve over the averaging window, a ring, and its sum.
    curve: Vec<f64>,
    curve_sum: f64,
    /// How many values in `curve` are under unity (when none, the gain is exactly 1).
    curve_reduced: usize,
    released: f64,
    /// The least gain applied, for book.json.
    least_gain: f64,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new(CEILING_DBTP, LOOKAHEAD_MS, RELEASE_MS)
    }
}

impl Limiter {
    /// A limiter with its ceiling in dBTP and its look-ahead and release in milliseconds.
    pub fn new(ceiling_dbtp: f64, lookahead_ms: f64, release_ms: f64) -> Self {
        let rate = f64::from(SAMPLE_RATE);
        let lookahead = ((lookahead_ms * rate / 1000.0).round() as usize).max(1);
        let mut taps = [[0f32; 2 * HALF_TAPS]; PHASES];
        for (p, phase) in taps.iter_mut().enumerate() {
            let fraction = (p + 1) as f64 / (PHASES + 1) as f64;
            for (i, tap) in phase.iter_mut().enumerate() {
                // Tap i weighs sample n + i - 7; its distance from the point n + fraction:
                let t = i as f64 - (HALF_TAPS as f64 - 1.0) - fraction;
                let sinc = if t == 0.0 { 1.0 } else { (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t) };
                let window = 0.5 * (1.0 + (std::f64::consts::PI * t / HALF_TAPS as f64).cos());
                *tap = (sinc * window) as f32;
            }
        }
        let ring = (Self::delay_for(lookahead) + 2 * HALF_TAPS + 1).next_power_of_two();
        Self {
            ceiling: 10f64.powf(ceiling_dbtp / 20.0),
            lookahead,
            release: 1.0 - (-1000.0 / (release_ms * rate)).exp(),
            taps,
            input: vec![0.0; ring],
            received: 0,
            last_peak: 0.0,
            minimum: std::collections::VecDeque::new(),
            curve: vec![1.0; lookahead],
            curve_sum: lookahead as f64,
            curve_reduced: 0,
            released: 1.0,
            least_gain: 1.0,
        }
    }

    /// Samples between a sample going in and its limited copy coming out: the interpolator's
    /// right half and the look-ahead window.
    fn delay_for(lookahead: usize) -> usize {
        HALF_TAPS + lookahead - 1
    }

    fn delay(&self) -> usize {
        Self::delay_for(self.lookahead)
    }

    /// The most the limiter has turned the audio down so far, in dB (0 when never).
    pub fn reduction_db(&self) -> f64 {
        -20.0 * self.least_gain.log10()
    }

    fn at(&self, n: u64) -> f32 {
        self.input[(n as usize) & (self.input.len() - 1)]
    }

    /// Takes one sample in and returns the limited sample `delay` places earlier, if there is one.
    fn push(&mut self, sample: f32) -> Option<f32> {
        let n = self.received;
        let mask = self.input.len() - 1;
        self.input[(n as usize) & mask] = sample;
        self.received += 1;
        // The peak of sample c = n - 8 and the three points after it, now that n is known.
        let c = n.checked_sub(HALF_TAPS as u64)?;
        let mut right = f64::from(self.at(c).abs());
        // Tap i weighs sample c - 7 + i; samples before the stream's start are silence.
        let skip = (HALF_TAPS as u64 - 1).saturating_sub(c) as usize;
        let first = c + skip as u64 + 1 - HALF_TAPS as u64;
        for phase in &self.taps {
            let sum: f32 = phase[skip..].iter().zip(first..).map(|(tap, m)| tap * self.at(m)).sum();
            right = right.max(f64::from(sum.abs()));
        }
        // Both gains that bound an interval hold its inter-sample peak.
        let peak = right.max(self.last_peak);
        self.last_peak = right;
        let needed = if peak > self.ceiling { self.ceiling / peak } else { 1.0 };

        // The least needed gain over samples c - lookahead + 1 ..= c is the gain for the start of
        // that window, k = c - lookahead + 1.
        while self.minimum.back().is_some_and(|&(_, g)| g >= needed) {
            self.minimum.pop_back();
        }
        self.minimum.push_back((c, needed));
        let k = (c + 1).checked_sub(self.lookahead as u64)?;
        while self.minimum.front().is_some_and(|&(i, _)| i < k) {
            self.minimum.pop_front();
        }
        let window_min = self.minimum.front().map_or(1.0, |&(_, g)| g);
        let mut released = self.released + (1.0 - self.released) * self.release;
        if released >= UNITY {
            released = 1.0;
        }
        self.released = released.min(window_min);

        // Average the curve over k - lookahead + 1 ..= k: the gain for sample k.
        let slot = (k as usize) % self.lookahead;
        let old = self.curve[slot];
        if old < 1.0 {
            self.curve_reduced -= 1;
        }
        if self.released < 1.0 {
            self.curve_reduced += 1;
        }
        self.curve[slot] = self.released;
        self.curve_sum += self.released - old;
        let gain = if self.curve_reduced == 0 {
            // Exactly unity, and the running sum starts again from exact values.
            self.curve_sum = self.lookahead as f64;
            1.0
        } else {
            (self.curve_sum / self.lookahead as f64).min(1.0)
        };
        self.least_gain = self.least_gain.min(gain);
        let x = self.at(k);
        Some(if gain == 1.0 { x } else { (f64::from(x) * gain) as f32 })
    }

    /// Limits `samples`, appending to `out` what is ready (the first `delay` samples of a stream
    /// come out only as later ones go in).
    pub fn process(&mut self, samples: &[f32], out: &mut Vec<f32>) {
        out.extend(samples.iter().filter_map(|&s| self.push(s)));
    }

    /// Ends the stream: appends the samples still held back (its last `delay`), so that the output
    /// has exactly as many samples as the input.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        // Silence after the end pushes the held-back samples out; the limiter is done after this.
        for _ in 0..self.delay() {
            if let Some(s) = self.push(0.0) {
                out.push(s);
            }
        }
    }
}

/// A sink stage: limits what it is given and passes it on. Call [`Limited::finish`] at the end of
/// the stream, or its last few milliseconds are lost.
pub struct Limited<'a> {
    limiter: Limiter,
    next: &'a mut dyn AudioSink,
    buffer: Vec<f32>,
}

impl<'a> Limited<'a> {
    pub fn new(next: &'a mut dyn AudioSink) -> Self {
        Self { limiter: Limiter::default(), next, buffer: Vec::new() }
    }

    /// Flushes the held-back tail into the next sink; returns the most gain reduction, in dB.
    pub fn finish(mut self) -> Result<f64, ExportError> {
        self.buffer.clear();
        self.limiter.finish(&mut self.buffer);
        self.next.samples(&self.buffer)?;
        Ok(self.limiter.reduction_db())
    }
}

impl AudioSink for Limited<'_> {
    fn samples(&mut self, samples: &[f32]) -> Result<(), ExportError> {
        self.buffer.clear();
        self.limiter.process(samples, &mut self.buffer);
        self.next.samples(&self.buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(input: &[f32]) -> (Vec<f32>, f64) {
        let mut limiter = Limiter::default();
        let mut out = Vec::new();
        // In uneven blocks, as a stream of chapters would come.
        for block in input.chunks(1000) {
            limiter.process(block, &mut out);
        }
        limiter.finish(&mut out);
        (out, limiter.reduction_db())
    }

    fn sine(amplitude: f32, hz: f32, phase: f32, seconds: f32) -> Vec<f32> {
        let n = (seconds * SAMPLE_RATE as f32) as usize;
        (0..n).map(|i| amplitude * (i as f32 * hz * std::f32::consts::TAU / SAMPLE_RATE as f32 + phase).sin()).collect()
    }

    fn true_peak_dbtp(samples: &[f32]) -> f64 {
        let mut meter = ebur128::EbuR128::new(1, SAMPLE_RATE, ebur128::Mode::TRUE_PEAK).unwrap();
        meter.add_frames_f32(samples).unwrap();
        20.0 * meter.true_peak(0).unwrap().log10()
    }

    #[test]
    fn a_sine_above_the_ceiling_comes_out_at_the_ceiling() {
        let input = sine(1.0, 1000.0, 0.0, 2.0);
        let (out, reduction) = limit(&input);
        assert_eq!(out.len(), input.len());
        // After the first attack ramp, the sine sits at the ceiling.
        let settled = true_peak_dbtp(&out[2400..]);
        assert!((settled - CEILING_DBTP).abs() <= 0.1, "{settled} dBTP");
        assert!((reduction + CEILING_DBTP).abs() < 0.2, "{reduction} dB");
    }

    #[test]
    fn peaks_between_samples_are_limited_too() {
        // A quarter-rate sine sampled 45 degrees off its crests: the samples are at 0.85 (-1.4
        // dBFS) but the wave between them reaches 1.2 (+1.6 dBTP).
        let input = sine(1.2, 6000.0, std::f32::consts::FRAC_PI_4, 1.0);
        let (out, _) = limit(&input);
        let settled = true_peak_dbtp(&out[2400..]);
        assert!(settled <= CEILING_DBTP + 0.1, "{settled} dBTP");
        assert!(settled >= CEILING_DBTP - 0.3, "{settled} dBTP: turned down further than needed");
    }

    #[test]
    fn a_quiet_signal_passes_bit_for_bit_in_time_with_its_input() {
        let input: Vec<f32> =
            sine(0.5, 440.0, 0.3, 1.0).iter().zip(sine(0.1, 3000.0, 0.0, 1.0)).map(|(a, b)| a + b).collect();
        let (out, reduction) = limit(&input);
        assert_eq!(out, input);
        assert_eq!(reduction, 0.0);
    }

    #[test]
    fn after_a_loud_burst_the_gain_returns_to_exactly_unity() {
        let mut input = sine(0.3, 440.0, 0.0, 2.0);
        input[6000] = 1.0;
        let (out, reduction) = limit(&input);
        assert_eq!(out.len(), input.len());
        assert!(reduction > 3.0, "{reduction}");
        assert!(out[6000].abs() <= 0.67, "the click is limited: {}", out[6000]);
        // Well after the release (13 time constants), the audio is untouched again; before the
        // look-ahead window, too.
        assert_eq!(out[..5800], input[..5800]);
        assert_eq!(out[32_000..], input[32_000..]);
        // No step: the gain moves at most as fast as the 5 ms attack ramp (0.37 over 120 samples).
        let gains: Vec<(usize, f32)> =
            (5800..32_000).filter(|&i| input[i].abs() > 0.1).map(|i| (i, out[i] / input[i])).collect();
        let smooth = gains.windows(2).all(|w| (w[0].1 - w[1].1).abs() <= 0.005 * (w[1].0 - w[0].0) as f32);
        assert!(smooth, "the gain curve is smooth");
    }

    #[test]
    fn a_stream_split_across_sinks_still_keeps_every_sample() {
        struct Count(usize);
        impl AudioSink for Count {
            fn samples(&mut self, samples: &[f32]) -> Result<(), ExportError> {
                self.0 += samples.len();
                Ok(())
            }
        }
        let mut count = Count(0);
        let mut stage = Limited::new(&mut count);
        stage.samples(&[0.9; 50]).unwrap();
        stage.samples(&[0.9; 7]).unwrap();
        let reduction = stage.finish().unwrap();
        assert_eq!(count.0, 57);
        assert!(reduction > 0.0);
    }
}
