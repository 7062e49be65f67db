//! The GPU path, on machines that have an NVIDIA GPU (skipped elsewhere, saying so): the CUDA
//! build of ONNX Runtime renders the reference sentence with the durations the CPU gives, give or
//! take what int8 kernels allow, and audio that matches the CPU's where the lengths agree.
//!
//! Where the CUDA libraries are not on the library path, point AUDIOBOOK_CUDA_LIB_DIR at them
//! (several folders separated by ':'), as for the binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use audiobook::kokoro::assets::{self, AssetOverrides};
use audiobook::kokoro::{Device, Engine, Rendered, SAMPLES_PER_FRAME, SessionConfig};
use common::Quiet;

fn has_gpu() -> bool {
    let found = std::process::Command::new("nvidia-smi").arg("-L").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: no NVIDIA GPU here (nvidia-smi -L found none)");
    }
    found
}

fn reference_ids() -> Vec<i64> {
    let ids: Vec<Vec<i64>> = serde_json::from_str(include_str!("data/reference_ids.json")).unwrap();
    ids[0][1..ids[0].len() - 1].to_vec()
}

fn render(engine: &Engine, ids: &[i64]) -> Rendered {
    let voice = engine.voice("bf_lily").unwrap();
    engine.pool().checkout(None).unwrap().infer(ids, voice.style_for(ids.len()), 1.0).unwrap()
}

#[test]
fn the_gpu_speaks_the_reference_sentence_as_the_cpu_does() {
    if !has_gpu() {
        return;
    }
    let env_path = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let overrides = AssetOverrides {
        model_dir: env_path("AUDIOBOOK_MODEL_DIR"),
        ort_lib: env_path("ORT_DYLIB_PATH"),
        cache_dir: env_path("AUDIOBOOK_CACHE_DIR"),
        device: Device::Cuda(0),
        cuda_lib_dirs: std::env::var("AUDIOBOOK_CUDA_LIB_DIR")
            .map(|dirs| dirs.split(':').filter(|d| !d.is_empty()).map(PathBuf::from).collect())
            .unwrap_or_default(),
        ..Default::default()
    };
    let files = assets::ensure(&overrides, &Quiet).expect("model files and the CUDA build of ONNX Runtime");
    // Both engines load the one ONNX Runtime of the process: the CUDA build, which has the CPU
    // provider too.
    // Both decode the sentence in one window, as a GPU does by default, so the waveforms compare.
    let gpu_config = SessionConfig { device: Device::Cuda(0), ..Default::default() };
    assert_eq!(gpu_config.decoder_window(), 0);
    let gpu = Engine::start(&files, gpu_config, 1).unwrap();
    let cpu =
        Engine::start(&files, SessionConfig { intra_threads: 4, decoder_window: Some(0), ..Default::default() }, 1)
            .unwrap();
    let ids = reference_ids();
    let on_gpu = render(&gpu, &ids);
    let on_cpu = render(&cpu, &ids);

    let frames = |r: &Rendered| r.frames.iter().sum::<u32>();
    let (gpu_frames, cpu_frames) = (frames(&on_gpu), frames(&on_cpu));
    eprintln!("frames: {gpu_frames} on the GPU, {cpu_frames} on the CPU");
    assert_eq!(on_gpu.frames.len(), ids.len() + 2, "one duration per token, pads included");
    assert_eq!(on_gpu.samples.len(), gpu_frames as usize * SAMPLES_PER_FRAME);
    assert!(gpu_frames.abs_diff(cpu_frames) * 100 <= cpu_frames * 3, "{gpu_frames} frames vs {cpu_frames}");
    let peak = on_gpu.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.05 && peak.is_finite(), "the GPU's audio is speech, not silence or noise (peak {peak})");
    if on_gpu.samples.len() == on_cpu.samples.len() {
        let dot: f64 = on_gpu.samples.iter().zip(&on_cpu.samples).map(|(a, b)| *a as f64 * *b as f64).sum();
        let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        let correlation = dot / (norm(&on_gpu.samples) * norm(&on_cpu.samples));
        eprintln!("correlation of the GPU's audio with the CPU's: {correlation:.4}");
        assert!(correlation > 0.9, "correlation {correlation}");
    }
    let stats = gpu.pool().stats();
    eprintln!("GPU session built in {} ms", stats.load_ms);
}
