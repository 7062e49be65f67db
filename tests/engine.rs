//! The engine against the model's known output for one sentence (../shared/kokoro/reference).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use audiobook::cli::engine;
use audiobook::kokoro::voices::VoicePack;
use audiobook::kokoro::{Kokoro, SAMPLES_PER_FRAME, SessionConfig};

#[test]
fn engine_reproduces_the_reference_sentence() {
    let files = common::model_files();
    let env = engine::environment(&files.ort_lib).unwrap();
    let (model, _) = engine::model_bytes(&files).unwrap();
    let mut kokoro = Kokoro::load(&env, &model, SessionConfig { intra_threads: 2, ..Default::default() }).unwrap();
    let ids: Vec<Vec<i64>> = serde_json::from_str(include_str!("data/reference_ids.json")).unwrap();
    let ids = &ids[0][1..ids[0].len() - 1];
    assert_eq!(ids.len(), 146);
    let voice = VoicePack::load(&files.voices, "bf_lily").unwrap();
    let rendered = kokoro.infer(ids, voice.style_for(ids.len()), 1.0).unwrap();

    let frames: u32 = rendered.frames.iter().sum();
    eprintln!("pad frames: start {} end {}", rendered.frames[0], rendered.frames[rendered.frames.len() - 1]);
    assert_eq!(frames, 353, "the duration output sums to the reference's frames");
    assert_eq!(rendered.samples.len(), frames as usize * SAMPLES_PER_FRAME);

    let Some(shared) = common::shared() else { return };
    let reference = std::fs::read(shared.join("kokoro/reference/raw.wav")).unwrap();
    let mut reader = hound::WavReader::new(&reference[..]).unwrap();
    let expected: Vec<f32> = reader.samples::<f32>().map(Result::unwrap).collect();
    assert_eq!(expected.len(), rendered.samples.len());
    let dot: f64 = expected.iter().zip(&rendered.samples).map(|(a, b)| *a as f64 * *b as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let correlation = dot / (norm(&expected) * norm(&rendered.samples));
    eprintln!("correlation with the reference: {correlation:.6}");
    assert!(correlation > 0.999, "correlation {correlation}");
}
