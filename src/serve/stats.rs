//! What `/stats` reports: requests served, rejected, cancelled and failed, and how long speaking
//! took (percentiles over the last 1,000 requests) against the audio made.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

const KEPT: usize = 1000;

#[derive(Default)]
pub struct Stats {
    served: AtomicU64,
    rejected: AtomicU64,
    cancelled: AtomicU64,
    errors: AtomicU64,
    audio_ms: AtomicU64,
    busy_ms: AtomicU64,
    /// Seconds each of the last requests took to speak.
    recent: Mutex<VecDeque<f64>>,
}

/// A snapshot, as `/stats` shows it.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub served: u64,
    pub rejected: u64,
    pub cancelled: u64,
    pub errors: u64,
    pub audio_s: f64,
    pub synthesis_s: Percentiles,
    /// Seconds of audio per second of speaking, over every request served.
    pub x_real_time: f64,
}

#[derive(Debug, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Stats {
    pub fn served(&self, seconds: f64, audio_ms: u64) {
        self.served.fetch_add(1, Ordering::Relaxed);
        self.audio_ms.fetch_add(audio_ms, Ordering::Relaxed);
        self.busy_ms.fetch_add((seconds * 1000.0) as u64, Ordering::Relaxed);
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == KEPT {
            recent.pop_front();
        }
        recent.push_back(seconds);
    }

    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub fn cancelled(&self) {
        self.cancelled.fetch_add(1, Ordering::Relaxed);
    }

    pub fn failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The median request's speaking time (one second before any).
    pub fn typical(&self) -> Duration {
        Duration::from_secs_f64(self.snapshot().synthesis_s.p50.max(1.0))
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut times: Vec<f64> = self.recent.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect();
        times.sort_by(f64::total_cmp);
        let at = |q: f64| if times.is_empty() { 0.0 } else { times[((times.len() - 1) as f64 * q).round() as usize] };
        let (audio, busy) = (self.audio_ms.load(Ordering::Relaxed), self.busy_ms.load(Ordering::Relaxed));
        Snapshot {
            served: self.served.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            audio_s: audio as f64 / 1000.0,
            synthesis_s: Percentiles { p50: at(0.5), p95: at(0.95), p99: at(0.99) },
            x_real_time: if busy == 0 { 0.0 } else { audio as f64 / busy as f64 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recent_requests() {
        let stats = Stats::default();
        for i in 1..=100 {
            stats.served(f64::from(i) / 10.0, 1000);
        }
        stats.rejected();
        let s = stats.snapshot();
        assert_eq!((s.served, s.rejected), (100, 1));
        assert!((s.synthesis_s.p50 - 5.0).abs() <= 0.11 && (s.synthesis_s.p99 - 9.9).abs() <= 0.11, "{s:?}");
        assert!(s.x_real_time > 0.0);
    }
}
