//! One Kokoro model instance: token ids, a style row and a speed in; audio and the exact number of
//! 25 ms frames each token lasts out.
//!
//! It is two ONNX sessions, the halves `graph` cuts the model into: the prosody half runs once
//! per call and says how many frames each token lasts; the decoder half renders those frames,
//! in windows of at most [`SessionConfig::decoder_window()`] frames cut at pauses (see `window`),
//! so a call of 510 tokens needs no more memory than one window.

use std::sync::{Arc, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::value::Tensor;

use super::device::{self, Device};
use super::graph::{self, GraphError, SplitModel};
use super::kernels::{self, Isa, Kernels};
use super::window;

/// Output samples per second.
pub const SAMPLE_RATE: u32 = 24_000;
/// Samples in one duration frame (25 ms).
pub const SAMPLES_PER_FRAME: usize = 600;
/// The model's token id for a space between words.
pub const SPACE_ID: i64 = 16;
/// The most token ids (pads not counted) one call takes.
pub const MAX_TOKENS: usize = 510;
/// Frames a decoder window keeps: long enough that each window's own normalisation sounds like
/// one call (a 200-token call is about 450 frames), short enough that two sessions stay under
/// 0.9 GB (the decoder needs about 0.5 MB per frame; README, Performance: 0.8 GB at 300).
pub const DECODER_WINDOW: usize = 300;

/// Errors from building or running a session.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot load ONNX Runtime from {path}: {detail}")]
    Runtime { path: std::path::PathBuf, detail: String },
    #[error("cannot load the Kokoro model: {0}")]
    Load(String),
    #[error("the CUDA provider did not start: {0}")]
    Gpu(String),
    #[error("inference failed: {0}")]
    Run(String),
    #[error("{0} token ids given; one call takes 1 to 510")]
    TokenCount(usize),
    #[error("model output is inconsistent: {0}")]
    Output(String),
    #[error("all {sessions} model sessions are busy (waited {waited_ms} ms)")]
    Busy { sessions: usize, waited_ms: u128 },
}

/// How a session runs; the caller decides, nothing here guesses from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Intra-op threads of this session.
    pub intra_threads: usize,
    /// Let idle ONNX Runtime threads spin (faster hand-offs, burns cores other sessions could use).
    pub spinning: bool,
    /// ONNX Runtime's memory pattern planner; it keys plans on input shapes, which change with
    /// every chunk, so it is off by default to keep memory flat over a long book.
    pub memory_pattern: bool,
    /// Graph optimization level 0-3 (disable, basic, extended, all).
    pub optimization: u8,
    /// ONNX Runtime's CPU memory arena: it keeps the largest chunk's activations reserved for
    /// good, so a session's memory is set by the longest chunk it ever ran.
    pub arena: bool,
    /// Where the session runs; on a GPU, the intra-op threads serve the nodes left on the CPU.
    pub device: Device,
    /// The most frames the decoder renders in one run (0: a whole call at once); `None`: the
    /// device's (see [`SessionConfig::decoder_window`]). Longer calls are rendered in windows
    /// cut at pauses; their frames and timings do not change.
    pub decoder_window: Option<usize>,
    /// Whose kernels run the decoder's int8 convolutions (ours where the CPU has a fast path).
    pub kernels: Kernels,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            intra_threads: 1,
            spinning: false,
            memory_pattern: false,
            optimization: 3,
            arena: true,
            device: Device::Cpu,
            decoder_window: None,
            kernels: Kernels::Native,
        }
    }
}

impl SessionConfig {
    /// The decoder window in frames: the one asked for, else [`DECODER_WINDOW`] on the CPU and
    /// whole calls (0) on a GPU, whose memory holds them and which is fastest on long runs.
    pub fn decoder_window(&self) -> usize {
        self.decoder_window.unwrap_or(if self.device.is_gpu() { 0 } else { DECODER_WINDOW })
    }

    /// The instruction set our convolution kernels run on in these sessions, or `None` where
    /// ONNX Runtime's own run: asked for, on a GPU (whose provider runs the graph), or on a CPU
    /// without a fast path.
    pub fn own_kernels(&self) -> Option<Isa> {
        match (self.kernels, self.device) {
            (Kernels::Native, Device::Cpu) => Isa::detect(),
            _ => None,
        }
    }
}

/// The model cut in two, shared by every session of a pool, and the decoder half with its
/// convolutions moved to our kernels (made once, when a session first asks).
#[derive(Clone)]
pub(super) struct ModelBytes {
    halves: Arc<SplitModel>,
    own_decoder: Arc<OnceLock<Result<Vec<u8>, String>>>,
}

impl ModelBytes {
    /// Cuts the raw ONNX file contents into the prosody and decoder halves.
    pub(super) fn split(onnx: &[u8]) -> Result<Self, EngineError> {
        let split = graph::split(onnx).map_err(|e: GraphError| EngineError::Load(e.to_string()))?;
        Ok(Self { halves: Arc::new(split), own_decoder: Arc::default() })
    }

    /// The decoder half whose convolutions and Snake activations run as our custom operators,
    /// rewritten once however many sessions are built at the same time.
    fn own_decoder(&self) -> Result<&[u8], EngineError> {
        let rewritten = self.own_decoder.get_or_init(|| {
            let (bytes, moved) =
                graph::with_own_kernels(&self.halves.decoder, kernels::DOMAIN).map_err(|e| e.to_string())?;
            if moved.convolutions == 0 {
                return Err("the decoder has no int8 convolution for our kernels".into());
            }
            Ok(bytes)
        });
        rewritten.as_deref().map_err(|e| EngineError::Load(e.clone()))
    }
}

/// What one call gives: samples and frames per token (pads included), with
/// `frames.sum() * SAMPLES_PER_FRAME == samples.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub samples: Vec<f32>,
    pub frames: Vec<u32>,
}

/// ONNX Runtime's message without the C++ source location and function signature it starts
/// with (`/onnxruntime_src/.../model.cc:245 onnxruntime::Model::Model(...) Missing opset...`).
fn plain_ort_message(message: &str) -> String {
    let located = message.starts_with('/') && message.split_whitespace().next().is_some_and(|w| w.contains(".cc:"));
    let plain = if located {
        // The signature ends at the last ") " before the prose; the prose holds no such pair.
        message.split_once(") ").map_or(message, |(_, rest)| rest)
    } else {
        message
    };
    plain.trim().to_string()
}

/// A Kokoro model instance. `infer` takes `&mut self`: one instance serves one thread at a time.
pub struct Kokoro {
    prosody: Session,
    decoder: Session,
    decoder_window: usize,
}

impl Kokoro {
    /// Builds both halves' sessions in the process's ONNX Runtime environment (see `runtime`,
    /// which makes it once).
    pub(super) fn load(env: &Environment, model: &ModelBytes, config: SessionConfig) -> Result<Self, EngineError> {
        let prosody = session(env, &model.halves.prosody, config, None, "prosody")?;
        let decoder = match config.own_kernels() {
            Some(isa) => session(env, model.own_decoder()?, config, Some(isa), "decoder")?,
            None => session(env, &model.halves.decoder, config, None, "decoder")?,
        };
        Ok(Self { prosody, decoder, decoder_window: config.decoder_window() })
    }

    /// Speaks `ids` (without pads) in the voice whose style row is `style`, at `speed`.
    pub fn infer(&mut self, ids: &[i64], style: &[f32], speed: f32) -> Result<Rendered, EngineError> {
        if ids.is_empty() || ids.len() > MAX_TOKENS {
            return Err(EngineError::TokenCount(ids.len()));
        }
        let run = |e: ort::Error| EngineError::Run(e.to_string());
        let mut padded = Vec::with_capacity(ids.len() + 2);
        padded.push(0);
        padded.extend_from_slice(ids);
        padded.push(0);
        let tokens = Tensor::from_array(([1usize, padded.len()], padded.clone())).map_err(run)?;
        let style_tensor = Tensor::from_array(([1usize, style.len()], style.to_vec())).map_err(run)?;
        let speed = Tensor::from_array(([1usize], vec![speed])).map_err(run)?;
        let prosody = self
            .prosody
            .run(ort::inputs!["tokens" => tokens, "style" => style_tensor, "speed" => speed])
            .map_err(run)?;
        let (_, frames) = prosody[graph::DURATIONS].try_extract_tensor::<i64>().map_err(run)?;
        let frames: Vec<u32> = frames.iter().map(|&f| f.clamp(0, u32::MAX as i64) as u32).collect();
        let (_, aligned) = prosody[graph::ALIGNED].try_extract_tensor::<f32>().map_err(run)?;
        let (_, pitch) = prosody[graph::PITCH].try_extract_tensor::<f32>().map_err(run)?;
        let (_, energy) = prosody[graph::ENERGY].try_extract_tensor::<f32>().map_err(run)?;
        let total: usize = frames.iter().map(|&f| f as usize).sum();
        let inconsistent =
            |what: String| EngineError::Output(format!("{what} for {total} frames over {} tokens", frames.len()));
        if frames.len() != padded.len()
            || aligned.len() != total * graph::ALIGNED_CHANNELS
            || pitch.len() != 2 * total
            || energy.len() != 2 * total
        {
            return Err(inconsistent(format!("{} aligned features, {} pitch values", aligned.len(), pitch.len())));
        }
        let mut samples = Vec::with_capacity(total * SAMPLES_PER_FRAME);
        for w in window::plan(&padded, &frames, self.decoder_window) {
            let (from, to) = (w.render.start, w.render.end);
            let len = to - from;
            let aligned: Vec<f32> =
                aligned.chunks_exact(total).flat_map(|channel| &channel[from..to]).copied().collect();
            let inputs = ort::inputs![
                graph::ALIGNED => Tensor::from_array(([1usize, graph::ALIGNED_CHANNELS, len], aligned)).map_err(run)?,
                graph::PITCH => Tensor::from_array(([1usize, 2 * len], pitch[2 * from..2 * to].to_vec())).map_err(run)?,
                graph::ENERGY => Tensor::from_array(([1usize, 2 * len], energy[2 * from..2 * to].to_vec())).map_err(run)?,
                "style" => Tensor::from_array(([1usize, style.len()], style.to_vec())).map_err(run)?,
            ];
            let outputs = self.decoder.run(inputs).map_err(run)?;
            let (_, audio) = outputs["audio"].try_extract_tensor::<f32>().map_err(run)?;
            if audio.len() != len * SAMPLES_PER_FRAME {
                return Err(inconsistent(format!("{} samples from a window of {len} frames", audio.len())));
            }
            let keep = (w.keep.start - from) * SAMPLES_PER_FRAME..(w.keep.end - from) * SAMPLES_PER_FRAME;
            samples.extend_from_slice(&audio[keep]);
        }
        if samples.len() != total * SAMPLES_PER_FRAME {
            return Err(inconsistent(format!("{} samples", samples.len())));
        }
        Ok(Rendered { samples, frames })
    }
}

/// Where ONNX Runtime writes each session's profile (the time of every node of every run), when
/// set: `PREFIX-prosody_DATE.json` and `PREFIX-decoder_DATE.json`, once the session is dropped.
/// `cargo bench --bench pipeline` reads them for each operator's share of the time.
pub const PROFILE_ENV: &str = "AUDIOBOOK_ORT_PROFILE";

/// One ONNX session of `config` over `model` (one half of the graph, `half`), with our kernels
/// registered for `isa` when given.
fn session(
    env: &Environment,
    model: &[u8],
    config: SessionConfig,
    isa: Option<Isa>,
    half: &str,
) -> Result<Session, EngineError> {
    let load = |e: ort::Error| EngineError::Load(plain_ort_message(&e.to_string()));
    let level = match config.optimization {
        0 => GraphOptimizationLevel::Disable,
        1 => GraphOptimizationLevel::Level1,
        2 => GraphOptimizationLevel::Level2,
        _ => GraphOptimizationLevel::All,
    };
    let option = |e: ort::Error<SessionBuilder>| EngineError::Load(plain_ort_message(&e.to_string()));
    let mut builder = Session::builder(env).map_err(load)?;
    builder = builder.with_intra_threads(config.intra_threads.max(1)).map_err(option)?;
    builder = builder.with_inter_threads(1).map_err(option)?;
    builder = builder.with_intra_op_spinning(config.spinning).map_err(option)?;
    builder = builder.with_memory_pattern(config.memory_pattern).map_err(option)?;
    builder = builder.with_optimization_level(level).map_err(option)?;
    let cpu = ort::ep::CPU::default().with_arena_allocator(config.arena).build();
    builder = match config.device {
        Device::Cpu => builder.with_execution_providers([cpu]).map_err(option)?,
        Device::Cuda(id) => {
            let cuda = ort::ep::CUDA::default().with_device_id(id).build().error_on_failure();
            let unavailable = |e: ort::Error<SessionBuilder>| device::unavailable(&plain_ort_message(&e.to_string()));
            builder.with_execution_providers([cuda, cpu]).map_err(unavailable)?
        }
    };
    if let Some(prefix) = std::env::var_os(PROFILE_ENV) {
        let mut path = prefix;
        path.push(format!("-{half}"));
        builder = builder.with_profiling(path).map_err(option)?;
    }
    let Some(isa) = isa else { return builder.commit_from_memory(model).map_err(load) };
    let domain = kernels::domain(isa).map_err(load)?;
    builder = builder.with_operators(domain).map_err(option)?;
    // ONNX Runtime records a custom domain in a process-wide map with a check-then-insert that
    // is not atomic: sessions built at the same time fail with "the domain is already exist".
    static REGISTERING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = REGISTERING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    builder.commit_from_memory(model).map_err(load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_window_is_the_one_asked_for_else_the_devices() {
        assert_eq!(SessionConfig::default().decoder_window(), DECODER_WINDOW);
        assert_eq!(SessionConfig { device: Device::Cuda(0), ..SessionConfig::default() }.decoder_window(), 0);
        let asked = SessionConfig { device: Device::Cuda(0), decoder_window: Some(120), ..SessionConfig::default() };
        assert_eq!(asked.decoder_window(), 120);
    }

    #[test]
    fn onnx_runtime_messages_lose_their_source_location_and_signature() {
        let raw = "/onnxruntime_src/onnxruntime/core/graph/model.cc:245 onnxruntime::Model::Model(onnx::ModelProto&&, \
                   const onnxruntime::PathString&, const onnxruntime::logging::Logger&) Missing opset in the model.";
        assert_eq!(plain_ort_message(raw), "Missing opset in the model.");
        assert_eq!(plain_ort_message("Protobuf parsing failed."), "Protobuf parsing failed.");
    }
}
