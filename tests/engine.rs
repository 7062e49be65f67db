//! The engine against the model's known output for one sentence (../shared/kokoro/reference), and
//! the session pool's guarantees. Int8 kernels differ by instruction set (the reference sums to
//! 353 frames on an AVX-512 CPU, 350 on an AVX2-only one), so these tests check what holds on
//! every x86-64 CPU: frames near the reference, samples = frames x 600, the same audio where the
//! lengths agree, and identical output for identical calls on one machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use audiobook::kokoro::{Engine, EngineError, SAMPLES_PER_FRAME, SessionConfig};

/// Frames of the reference audio (211,800 samples / 600).
const REFERENCE_FRAMES: u32 = 353;

fn reference_ids() -> Vec<i64> {
    let ids: Vec<Vec<i64>> = serde_json::from_str(include_str!("data/reference_ids.json")).unwrap();
    ids[0][1..ids[0].len() - 1].to_vec()
}

fn engine(sessions: usize) -> Engine {
    Engine::start(&common::model_files(), SessionConfig { intra_threads: 2, ..Default::default() }, sessions).unwrap()
}

#[test]
fn engine_reproduces_the_reference_sentence_within_what_cpus_allow() {
    let engine = engine(1);
    let ids = reference_ids();
    assert_eq!(ids.len(), 146);
    let voice = engine.voice("bf_lily").unwrap();
    let render = || engine.pool().checkout(None).unwrap().infer(&ids, voice.style_for(ids.len()), 1.0).unwrap();
    let rendered = render();

    let frames: u32 = rendered.frames.iter().sum();
    eprintln!("frames: {frames} (reference {REFERENCE_FRAMES})");
    assert_eq!(rendered.frames.len(), ids.len() + 2, "one duration per token, pads included");
    assert!(frames.abs_diff(REFERENCE_FRAMES) * 100 <= REFERENCE_FRAMES * 3, "{frames} frames is not within 3%");
    assert_eq!(rendered.samples.len(), frames as usize * SAMPLES_PER_FRAME);
    assert_eq!(render(), rendered, "the same call on the same machine gives the same bytes");

    let Some(shared) = common::shared() else { return };
    let reference = std::fs::read(shared.join("kokoro/reference/raw.wav")).unwrap();
    let mut reader = hound::WavReader::new(&reference[..]).unwrap();
    let expected: Vec<f32> = reader.samples::<f32>().map(Result::unwrap).collect();
    assert_eq!(expected.len(), REFERENCE_FRAMES as usize * SAMPLES_PER_FRAME);
    if expected.len() != rendered.samples.len() {
        eprintln!("skipped the waveform comparison: this CPU times the sentence {frames} frames");
        return;
    }
    let dot: f64 = expected.iter().zip(&rendered.samples).map(|(a, b)| *a as f64 * *b as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let correlation = dot / (norm(&expected) * norm(&rendered.samples));
    eprintln!("correlation with the reference: {correlation:.6}");
    assert!(correlation > 0.99, "correlation {correlation}");
}

#[test]
fn the_pool_starts_on_demand_lends_each_session_once_waits_a_bounded_time_and_survives_a_panic() {
    let engine = engine(1);
    let pool = engine.pool();
    assert_eq!(pool.stats().load_ms, 0, "sessions are built on first use, not before");
    pool.start().unwrap();
    assert!(pool.stats().load_ms > 0);
    let first = pool.checkout(None).unwrap();
    assert_eq!((pool.stats().sessions, pool.stats().busy), (1, 1));
    let busy = pool.checkout(Some(Duration::from_millis(50)));
    assert!(matches!(busy, Err(EngineError::Busy { sessions: 1, .. })), "a second caller is told the pool is busy");
    drop(first);
    assert_eq!(pool.stats().busy, 0, "dropping the checkout returns the session");

    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _session = pool.checkout(None).unwrap();
        panic!("a caller fails while holding a session");
    }));
    assert!(panicked.is_err());
    assert_eq!(pool.stats().busy, 0, "a panicking caller still returns its session");

    // A waiting caller gets the session as soon as it comes back.
    let held = pool.checkout(None).unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| pool.checkout(Some(Duration::from_secs(30))).map(|_| ()));
        while pool.stats().waiting == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(held);
        assert!(waiter.join().unwrap().is_ok());
    });

    let ids = reference_ids();
    let voice = engine.voice("bf_lily").unwrap();
    let rendered = pool.checkout(None).unwrap().infer(&ids, voice.style_for(ids.len()), 1.0).unwrap();
    let failed = pool.checkout(None).unwrap().infer(&[], voice.style_for(1), 1.0);
    assert!(matches!(failed, Err(EngineError::TokenCount(0))));
    let stats = pool.stats();
    assert_eq!((stats.chunks, stats.errors, stats.busy, stats.waiting), (1, 1, 0, 0));
    assert_eq!(stats.audio_ms, rendered.samples.len() as u64 * 1000 / 24_000);
    assert!(stats.x_real_time > 0.0);
}
