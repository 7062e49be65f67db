//! Kernels of our own for the decoder's hot operators, registered with ONNX Runtime as custom
//! operators, because its own miss the CPU's int8 dot-product instructions (see `conv`); on AVX2
//! without them, ours widen to int16 (exact, about half the speed of AVX-VNNI).
//!
//! `conv` is the int8 convolution with its scalar reference, `snake` the generator's activation in
//! one pass; `op` wraps them as ONNX Runtime operators and shares packed weights across sessions. The instruction set is picked once from the
//! CPU's features; where no fast path exists the graph keeps ONNX Runtime's own operators.
#![allow(unsafe_code)] // SIMD intrinsics and the custom operator's shared output; each use says why it holds.

pub mod conv;
mod op;
pub mod snake;

pub use op::{DOMAIN, domain};

/// A buffer that parallel jobs write in disjoint parts (ONNX Runtime's thread pool takes one
/// shared closure, so the jobs cannot each hold a `&mut` piece).
pub(crate) struct Disjoint<T>(*mut T);

impl<T> Clone for Disjoint<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Disjoint<T> {}
// SAFETY: jobs write disjoint elements (each caller of `part` says why), and the buffer outlives
// them: it is borrowed for as long as the jobs run.
unsafe impl<T: Send> Sync for Disjoint<T> {}
unsafe impl<T: Send> Send for Disjoint<T> {}

impl<T> Disjoint<T> {
    pub(crate) fn new(buffer: &mut [T]) -> Self {
        Self(buffer.as_mut_ptr())
    }

    /// Elements `at..at + len`.
    ///
    /// # Safety
    /// They are inside the buffer, no other job touches them while the slice lives, and the
    /// buffer outlives it.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn part<'a>(self, at: usize, len: usize) -> &'a mut [T] {
        // SAFETY: the caller's promise above.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(at), len) }
    }
}

/// Which kernels the decoder runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// Ours where the CPU has a fast path (else ONNX Runtime's).
    #[default]
    Native,
    /// ONNX Runtime's own operators throughout, for comparison.
    Ort,
}

impl std::str::FromStr for Kernels {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(Self::Native),
            "ort" => Ok(Self::Ort),
            other => Err(format!("unknown kernels '{other}' (native or ort)")),
        }
    }
}

/// The instruction set a kernel runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// `vpdpbusd` on 512 bits (AVX-512 VNNI).
    Avx512Vnni,
    /// `vpdpbusd` on 256 bits (AVX-VNNI).
    AvxVnni,
    /// Bytes widened to int16 and `vpmaddwd` on 256 bits (AVX2 without VNNI): exact, unlike
    /// `vpmaddubsw`, whose int16 sums saturate.
    Avx2,
    /// `sdot` (Arm's dot-product extension) on 128 bits: signed x signed, so the input bytes
    /// are flipped to `x - 128` in the tile and the sum gets `128 * sum(ws)` back.
    NeonDot,
    /// Plain Rust: the reference layout, slow; never chosen for a session.
    Scalar,
}

impl Isa {
    /// The fastest instruction set this CPU has, or `None` where only the scalar path would run
    /// (slower than ONNX Runtime's own kernels, so not worth a custom operator).
    /// `AUDIOBOOK_ISA` (hidden, for running a slower path end to end) picks another of them by
    /// its `name`; a name this CPU lacks is ignored.
    pub fn detect() -> Option<Self> {
        let fast: Vec<Self> = Self::available().into_iter().filter(|&isa| isa != Isa::Scalar).collect();
        let wanted = std::env::var("AUDIOBOOK_ISA").ok();
        fast.iter().copied().find(|isa| wanted.as_deref() == Some(isa.name())).or(fast.first().copied())
    }

    /// Every instruction set this CPU can run, fastest first, `Scalar` last.
    pub fn available() -> Vec<Self> {
        let mut found = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512vnni") && std::arch::is_x86_feature_detected!("avx512bw") {
                found.push(Isa::Avx512Vnni);
            }
            if std::arch::is_x86_feature_detected!("avxvnni") {
                found.push(Isa::AvxVnni);
            }
            // FMA for Snake's sine; every AVX2 CPU has it.
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                found.push(Isa::Avx2);
            }
        }
        #[cfg(target_arch = "aarch64")]
        if std::arch::is_aarch64_feature_detected!("dotprod") {
            found.push(Isa::NeonDot);
        }
        found.push(Isa::Scalar);
        found
    }

    /// A name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512Vnni => "avx512-vnni",
            Isa::AvxVnni => "avx-vnni",
            Isa::Avx2 => "avx2",
            Isa::NeonDot => "neon-dotprod",
            Isa::Scalar => "scalar",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names what this CPU runs (under `qemu-x86_64 -cpu Haswell`, `Avx2`), asserting only what
    /// holds everywhere.
    #[test]
    fn detect_picks_the_fastest_available_and_never_scalar() {
        if std::env::var_os("AUDIOBOOK_ISA").is_some() {
            return;
        }
        let (detected, available) = (Isa::detect(), Isa::available());
        eprintln!("detected {detected:?} of {available:?}");
        assert_eq!(available.last(), Some(&Isa::Scalar));
        assert_eq!(detected, available.first().copied().filter(|&isa| isa != Isa::Scalar));
    }
}
