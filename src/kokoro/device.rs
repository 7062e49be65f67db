//! Where sessions run: the CPU, or an NVIDIA GPU through ONNX Runtime's CUDA execution provider.
//!
//! The CUDA provider comes with the `onnxruntime-gpu` build of ONNX Runtime (see `assets`) and
//! needs CUDA 13 and cuDNN 9 beside it. Those are large and the user's to install; they are found
//! on the system's library path or preloaded from the folders given with `--cuda-lib-dir`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::session::EngineError;

/// The device a session runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// ONNX Runtime's CPU provider (the default; needs nothing else).
    #[default]
    Cpu,
    /// The CUDA provider on GPU number N (nodes it lacks kernels for stay on the CPU).
    Cuda(i32),
}

impl Device {
    pub fn is_gpu(self) -> bool {
        matches!(self, Device::Cuda(_))
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(0) => f.write_str("cuda"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl FromStr for Device {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a device: use cpu, cuda or cuda:N (N the GPU's number)");
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(n) => n.parse::<u16>().map(|n| Device::Cuda(i32::from(n))).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

/// The libraries the CUDA provider opens, dependencies first (ONNX Runtime 1.31's CUDA 13 build).
const CUDA_LIBRARIES: [&str; 14] = [
    "libcudart.so.13",
    "libcublasLt.so.13",
    "libcublas.so.13",
    "libnvrtc.so.13",
    "libcurand.so.10",
    "libcufft.so.12",
    "libcudnn.so.9",
    "libcudnn_graph.so.9",
    "libcudnn_ops.so.9",
    "libcudnn_heuristic.so.9",
    "libcudnn_adv.so.9",
    "libcudnn_cnn.so.9",
    "libcudnn_engines_precompiled.so.9",
    "libcudnn_engines_runtime_compiled.so.9",
];

/// Loads each CUDA and cuDNN library found in `dirs` (the first folder holding it wins), so that
/// the CUDA provider finds them without LD_LIBRARY_PATH; those found in none are left to the
/// system's search. Returns how many were loaded.
pub(super) fn preload_cuda(dirs: &[PathBuf]) -> Result<usize, EngineError> {
    let mut loaded = 0;
    for name in CUDA_LIBRARIES {
        let Some(path) = dirs.iter().map(|d| d.join(name)).find(|p| p.exists()) else { continue };
        ort::util::preload_dylib(&path).map_err(|e| cuda_error(&path, &e.to_string()))?;
        loaded += 1;
    }
    Ok(loaded)
}

fn cuda_error(path: &Path, detail: &str) -> EngineError {
    EngineError::Gpu(format!("cannot load {}: {detail}", path.display()))
}

/// ONNX Runtime's reason the CUDA provider would not start.
pub(super) fn unavailable(detail: &str) -> EngineError {
    EngineError::Gpu(detail.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_from_what_users_type_and_print_back_the_same() {
        assert_eq!("cpu".parse::<Device>(), Ok(Device::Cpu));
        assert_eq!("CUDA".parse::<Device>(), Ok(Device::Cuda(0)));
        assert_eq!("cuda:1".parse::<Device>(), Ok(Device::Cuda(1)));
        assert!("cuda:x".parse::<Device>().unwrap_err().contains("'cuda:x' is not a device"));
        assert!("tpu".parse::<Device>().is_err());
        for device in [Device::Cpu, Device::Cuda(0), Device::Cuda(3)] {
            assert_eq!(device.to_string().parse::<Device>(), Ok(device));
        }
    }

    #[test]
    fn libraries_missing_from_the_given_folders_are_left_to_the_system() {
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(preload_cuda(&[empty.path().to_path_buf()]).unwrap(), 0);
    }
}
