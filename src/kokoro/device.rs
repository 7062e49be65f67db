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

/// What this machine has for `--device cuda`, found cheaply: the driver's files under /proc (or
/// `nvidia-smi` where they are not visible), and each CUDA and cuDNN library looked up in
/// `--cuda-lib-dir`, LD_LIBRARY_PATH, the loader's cache and CUDA's usual folders. Nothing is
/// loaded.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GpuProbe {
    /// The NVIDIA driver's version, if a driver is loaded.
    pub driver: Option<String>,
    /// The NVIDIA GPUs' names.
    pub gpus: Vec<String>,
    /// The CUDA and cuDNN libraries the CUDA provider opens that were found nowhere (looked up
    /// only where there is a GPU).
    pub missing_libraries: Vec<&'static str>,
    /// Where `libcudart` and `libcudnn` were found.
    pub found_libraries: Vec<PathBuf>,
}

impl GpuProbe {
    /// Whether `--device cuda` has what it needs besides ONNX Runtime's CUDA build.
    pub fn ready(&self) -> bool {
        !self.gpus.is_empty() && self.missing_libraries.is_empty()
    }
}

/// Looks for an NVIDIA GPU and the CUDA and cuDNN libraries (see [`GpuProbe`]).
pub fn probe_gpu(cuda_lib_dirs: &[PathBuf]) -> GpuProbe {
    let mut probe = GpuProbe {
        driver: std::fs::read_to_string("/proc/driver/nvidia/version").ok().and_then(|text| driver_version(&text)),
        gpus: gpu_names(Path::new("/proc/driver/nvidia/gpus")),
        ..GpuProbe::default()
    };
    if probe.gpus.is_empty()
        && let Some(smi) = crate::program::find_on_path("nvidia-smi")
        && let Ok(out) = std::process::Command::new(smi)
            .args(["--query-gpu=name,driver_version", "--format=csv,noheader"])
            .stderr(std::process::Stdio::null())
            .output()
    {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut fields = line.split(',').map(str::trim);
            if let Some(name) = fields.next().filter(|n| !n.is_empty()) {
                probe.gpus.push(name.to_string());
            }
            if probe.driver.is_none() {
                probe.driver = fields.next().filter(|d| !d.is_empty()).map(str::to_string);
            }
        }
    }
    if probe.gpus.is_empty() {
        return probe;
    }
    let mut dirs: Vec<PathBuf> = cuda_lib_dirs.to_vec();
    if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
        dirs.extend(std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.extend(
        ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu"]
            .map(PathBuf::from),
    );
    let cache = loader_cache();
    for name in CUDA_LIBRARIES {
        let found = dirs.iter().map(|d| d.join(name)).find(|p| p.exists()).or_else(|| cache_lookup(&cache, name));
        match found {
            Some(path) if name.starts_with("libcudart") || name == "libcudnn.so.9" => probe.found_libraries.push(path),
            Some(_) => {}
            None => probe.missing_libraries.push(name),
        }
    }
    probe
}

/// The version in /proc/driver/nvidia/version's first line ("... Kernel Module  550.54.15 ...").
fn driver_version(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let after = line.split("Kernel Module").nth(1).unwrap_or(line);
    after
        .split_whitespace()
        .find(|w| w.contains('.') && w.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .map(str::to_string)
}

/// The "Model:" line of each GPU's information file.
fn gpu_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("information")).ok())
        .filter_map(|text| {
            text.lines().find_map(|l| l.strip_prefix("Model:").map(|m| m.trim().to_string())).filter(|m| !m.is_empty())
        })
        .collect();
    names.sort();
    names
}

/// `ldconfig -p`: the libraries the loader finds without a path.
fn loader_cache() -> String {
    ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"]
        .iter()
        .find_map(|ldconfig| {
            let out =
                std::process::Command::new(ldconfig).arg("-p").stderr(std::process::Stdio::null()).output().ok()?;
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        })
        .unwrap_or_default()
}

/// Where `ldconfig -p`'s listing puts `name` ("\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/...").
fn cache_lookup(listing: &str, name: &str) -> Option<PathBuf> {
    listing.lines().find_map(|line| {
        let (left, right) = line.split_once("=>")?;
        (left.split_whitespace().next() == Some(name)).then(|| PathBuf::from(right.trim()))
    })
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
    fn the_driver_version_gpu_names_and_loader_entries_are_read_from_their_files() {
        let proc = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version: gcc 12\n";
        assert_eq!(driver_version(proc).as_deref(), Some("550.54.15"));
        assert_eq!(driver_version("nothing here"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("0000:01:00.0")).unwrap();
        std::fs::write(dir.path().join("0000:01:00.0/information"), "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ: 1\n")
            .unwrap();
        assert_eq!(gpu_names(dir.path()), ["NVIDIA H100 80GB HBM3"]);
        assert!(gpu_names(&dir.path().join("none")).is_empty());
        let listing =
            "2 libs found in cache\n\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9\n";
        assert_eq!(
            cache_lookup(listing, "libcudnn.so.9"),
            Some(PathBuf::from("/usr/lib/x86_64-linux-gnu/libcudnn.so.9"))
        );
        assert_eq!(cache_lookup(listing, "libcudart.so.13"), None);
    }

    #[test]
    fn libraries_missing_from_the_given_folders_are_left_to_the_system() {
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(preload_cuda(&[empty.path().to_path_buf()]).unwrap(), 0);
    }
}
