//! One Kokoro ONNX session: token ids, a style row and a speed in; audio and the exact number of
//! 25 ms frames each token lasts out.
//!
//! The duration predictor's frame counts are an internal tensor of the graph; we expose it as an
//! extra output by appending a few protobuf bytes to the model before the session is built
//! (protobuf merges a repeated field that appears again), so the file on disk stays untouched.

use std::sync::Arc;

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::value::Tensor;

use super::device::{self, Device};

/// Output samples per second.
pub const SAMPLE_RATE: u32 = 24_000;
/// Samples in one duration frame (25 ms).
pub const SAMPLES_PER_FRAME: usize = 600;
/// The most token ids (pads not counted) one call takes.
pub const MAX_TOKENS: usize = 510;
/// The internal tensor holding frames per token, pads included.
const DURATION_TENSOR: &str = "/encoder/Cast_output_0";

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
        }
    }
}

/// The model's bytes with the duration output added, shared by every session of a pool.
#[derive(Clone)]
pub(super) struct ModelBytes(pub(super) Arc<Vec<u8>>);

impl ModelBytes {
    /// Appends the duration output to the raw ONNX file contents.
    pub(super) fn with_durations(mut onnx: Vec<u8>) -> Self {
        onnx.extend_from_slice(&duration_output_patch());
        Self(Arc::new(onnx))
    }
}

/// `ModelProto.graph (7) . output (12) . name (1) = DURATION_TENSOR`, as protobuf bytes.
fn duration_output_patch() -> Vec<u8> {
    fn field(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = varint((number << 3) | 2);
        out.extend(varint(payload.len() as u64));
        out.extend_from_slice(payload);
        out
    }
    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }
    field(7, &field(12, &field(1, DURATION_TENSOR.as_bytes())))
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

/// A Kokoro session. `run` takes `&mut self`: one session serves one thread at a time.
pub struct Kokoro {
    session: Session,
}

impl Kokoro {
    /// Builds a session from the patched model bytes in the process's ONNX Runtime environment
    /// (see `runtime`, which makes it once).
    pub(super) fn load(env: &Environment, model: &ModelBytes, config: SessionConfig) -> Result<Self, EngineError> {
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
                let unavailable =
                    |e: ort::Error<SessionBuilder>| device::unavailable(&plain_ort_message(&e.to_string()));
                builder.with_execution_providers([cuda, cpu]).map_err(unavailable)?
            }
        };
        let session = builder.commit_from_memory(&model.0).map_err(load)?;
        let has = |name: &str| session.outputs().iter().any(|o| o.name() == name);
        if !has("audio") || !has(DURATION_TENSOR) {
            return Err(EngineError::Load("the file is not a Kokoro v1.0 model (no audio or duration output)".into()));
        }
        Ok(Self { session })
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
        let tokens = Tensor::from_array(([1usize, padded.len()], padded)).map_err(run)?;
        let style = Tensor::from_array(([1usize, style.len()], style.to_vec())).map_err(run)?;
        let speed = Tensor::from_array(([1usize], vec![speed])).map_err(run)?;
        let outputs =
            self.session.run(ort::inputs!["tokens" => tokens, "style" => style, "speed" => speed]).map_err(run)?;
        let (_, samples) = outputs["audio"].try_extract_tensor::<f32>().map_err(run)?;
        let (_, frames) = outputs[DURATION_TENSOR].try_extract_tensor::<i64>().map_err(run)?;
        let frames: Vec<u32> = frames.iter().map(|&f| f.clamp(0, u32::MAX as i64) as u32).collect();
        let total: usize = frames.iter().map(|&f| f as usize).sum();
        if frames.len() != ids.len() + 2 || total * SAMPLES_PER_FRAME != samples.len() {
            return Err(EngineError::Output(format!(
                "{} samples for {} frames over {} tokens",
                samples.len(),
                total,
                frames.len()
            )));
        }
        Ok(Rendered { samples: samples.to_vec(), frames })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_patch_adds_one_graph_output_in_28_bytes() {
        let patch = duration_output_patch();
        assert_eq!(patch.len(), 28);
        assert_eq!(&patch[..6], &[0x3a, 26, 0x62, 24, 0x0a, 22]);
        assert!(patch.ends_with(DURATION_TENSOR.as_bytes()));
    }

    #[test]
    fn onnx_runtime_messages_lose_their_source_location_and_signature() {
        let raw = "/onnxruntime_src/onnxruntime/core/graph/model.cc:245 onnxruntime::Model::Model(onnx::ModelProto&&, \
                   const onnxruntime::PathString&, const onnxruntime::logging::Logger&) Missing opset in the model.";
        assert_eq!(plain_ort_message(raw), "Missing opset in the model.");
        assert_eq!(plain_ort_message("Protobuf parsing failed."), "Protobuf parsing failed.");
    }
}
