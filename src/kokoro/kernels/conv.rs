//! ONNX `ConvInteger` for 1-D convolutions (the decoder's), on the CPU's int8 dot-product
//! instructions.
//!
//! `ConvInteger` is `sum((x - x_zero) * (w - w_zero))` over channels and taps, exact in int32.
//! The model's weights are uint8 with a zero point per tensor. The dot-product instructions take
//! unsigned x signed bytes, so the weights are shifted by 128 once at load (`ws = w - 128`, exact)
//! and the sum is split into terms that are each exact:
//!
//! `sum(x * ws) - zs * sum(x) - x_zero * sum(ws) + n * x_zero * zs`, with `zs = w_zero - 128`.
//!
//! The first term is the heavy one. The instructions compute it without im2col: the input is laid
//! out as groups of 4 channels, each a run of 4-byte time steps (padding steps hold `x_zero`, whose
//! terms vanish), so one load gives 16 consecutive time steps of 4 channels, and each output
//! channel's 4 weights are broadcast against it. Output channels are rows of registers, time steps
//! their lanes, so results are stored as they lie in the output. Stride 1 only (every heavy
//! convolution of the decoder). The result equals ONNX Runtime's `ConvInteger` bit for bit.

use super::{Disjoint, Isa};

/// The shape of one convolution, from the node's attributes and its weight's dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub pad_begin: usize,
    pub pad_end: usize,
}

impl ConvShape {
    /// Output length for an input of `len` time steps; `None` when the kernel does not fit.
    pub fn out_len(&self, len: usize) -> Option<usize> {
        let span = self.dilation * (self.kernel - 1) + 1;
        let padded = len + self.pad_begin + self.pad_end;
        (padded >= span).then(|| (padded - span) / self.stride + 1)
    }
}

/// `ConvInteger` one output at a time, as ONNX defines it: the reference every fast path must
/// equal exactly. `x` is `[in_channels, len]`, `w` `[out_channels, in_channels, kernel]`, `out`
/// `[out_channels, out_len]`.
pub fn reference(shape: &ConvShape, x: &[u8], len: usize, x_zero: u8, w: &[u8], w_zero: u8, out: &mut [i32]) {
    let Some(out_len) = shape.out_len(len) else { return };
    let (ci, k) = (shape.in_channels, shape.kernel);
    for o in 0..shape.out_channels {
        for t in 0..out_len {
            let mut sum = 0i32;
            for c in 0..ci {
                for tap in 0..k {
                    let at = (t * shape.stride + tap * shape.dilation) as isize - shape.pad_begin as isize;
                    let xv = if at < 0 || at as usize >= len { x_zero } else { x[c * len + at as usize] };
                    sum += (i32::from(xv) - i32::from(x_zero))
                        * (i32::from(w[(o * ci + c) * k + tap]) - i32::from(w_zero));
                }
            }
            out[o * out_len + t] = sum;
        }
    }
}

/// How one instruction set tiles the output: `co` output channels x `vectors` vectors of
/// `lanes` time steps, all accumulators in registers.
#[derive(Clone, Copy)]
struct Tiling {
    lanes: usize,
    co: usize,
    vectors: usize,
}

impl Tiling {
    fn of(isa: Isa) -> Self {
        match isa {
            // 16 of 32 zmm registers accumulate; each weight broadcast feeds 2, each input load 8.
            Isa::Avx512Vnni => Self { lanes: 16, co: 8, vectors: 2 },
            // 10 of 16 ymm registers accumulate (12 spill one).
            Isa::AvxVnni | Isa::Scalar => Self { lanes: 8, co: 5, vectors: 2 },
            // A vector holds 4 time steps (16 bytes widened to int16); 12 of 16 ymm registers
            // accumulate, 2 hold the input and 1 the weights.
            Isa::Avx2 => Self { lanes: 4, co: 6, vectors: 2 },
            // 4 time steps a vector; 16 of 32 registers accumulate.
            Isa::NeonDot => Self { lanes: 4, co: 8, vectors: 2 },
        }
    }

    /// Time steps one tile computes.
    fn time(self) -> usize {
        self.lanes * self.vectors
    }
}

/// Tiles computed per pass over one block's weights (a span of time steps), so the block's
/// weights stay in cache while the span's input goes by.
const SPAN_TILES: usize = 8;

/// The most accumulators a tile has (`co x time`).
const MAX_TILE: usize = 8 * 32;

/// Multiply-accumulates done by every convolution of the process so far (a relaxed counter,
/// one add per call), for the benchmark's GMAC/s.
static MACS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Multiply-accumulates our convolutions have done in this process.
pub fn macs_done() -> u64 {
    MACS.load(std::sync::atomic::Ordering::Relaxed)
}

/// A convolution's weights, shifted to int8 and packed once for one instruction set: per block
/// of `co` output channels, per tap, per group of 4 input channels, `co x 4` bytes (each output
/// channel's 4 weights are broadcast to every lane of one `vpdpbusd`).
pub struct PackedConv {
    shape: ConvShape,
    isa: Isa,
    /// Groups of 4 input channels (the last padded with zero weights).
    quads: usize,
    weights: Vec<i8>,
    /// `weights` widened to int16, for `Isa::Avx2` alone (which then keeps no bytes): its
    /// broadcasts load 4 weights as one 64-bit pattern, with no widening in the tile's loop.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    wide: Vec<i16>,
    /// Per output channel, `sum(ws)` over its channels and taps.
    weight_sums: Vec<i32>,
    /// `w_zero - 128`.
    shifted_zero: i32,
}

impl PackedConv {
    /// Packs `w` (`[out_channels, in_channels, kernel]`, uint8, zero point `w_zero`) for `isa`.
    /// Stride 1 only: the lanes of one load are consecutive time steps.
    pub fn new(shape: ConvShape, w: &[u8], w_zero: u8, isa: Isa) -> Self {
        assert_eq!(shape.stride, 1, "our convolution kernels take stride 1");
        let (ci, co, k) = (shape.in_channels, shape.out_channels, shape.kernel);
        let tiling = Tiling::of(isa);
        let quads = ci.div_ceil(4);
        let blocks = co.div_ceil(tiling.co);
        let mut weights = vec![0i8; blocks * k * quads * tiling.co * 4];
        let mut weight_sums = vec![0i32; co];
        for o in 0..co {
            let (block, row) = (o / tiling.co, o % tiling.co);
            for c in 0..ci {
                for tap in 0..k {
                    let shifted = (i32::from(w[(o * ci + c) * k + tap]) - 128) as i8;
                    weight_sums[o] += i32::from(shifted);
                    let at = ((block * k + tap) * quads + c / 4) * tiling.co * 4 + row * 4 + c % 4;
                    weights[at] = shifted;
                }
            }
        }
        let wide = if isa == Isa::Avx2 {
            std::mem::take(&mut weights).into_iter().map(i16::from).collect()
        } else {
            Vec::new()
        };
        Self { shape, isa, quads, weights, wide, weight_sums, shifted_zero: i32::from(w_zero) - 128 }
    }

    pub fn shape(&self) -> &ConvShape {
        &self.shape
    }

    /// The convolution of `x` (`[in_channels, len]`) into `out` (`[out_channels, out_len]`);
    /// spans of time steps are shared out by `parallel`.
    pub fn run(&self, x: &[u8], len: usize, x_zero: u8, out: Out, parallel: Parallel) {
        let s = &self.shape;
        let Some(out_len) = s.out_len(len) else { return };
        assert_eq!(x.len(), s.in_channels * len, "input size");
        let size = s.out_channels * out_len;
        let (dest, bias) = match out {
            Out::Sums(out) => {
                assert_eq!(out.len(), size, "output size");
                (Dest::Sums(Disjoint::new(out)), None)
            }
            Out::Scaled { out, scale, bias } => {
                assert_eq!(out.len(), size, "output size");
                (Dest::Scaled(Disjoint::new(out), scale), bias)
            }
        };
        let macs = s.in_channels * s.out_channels * s.kernel * out_len;
        MACS.fetch_add(macs as u64, std::sync::atomic::Ordering::Relaxed);
        let tiling = Tiling::of(self.isa);
        let reach = (s.kernel - 1) * s.dilation;
        let rows = (out_len.div_ceil(tiling.time()) * tiling.time() + reach).max(s.pad_begin + len);
        let input = Interleaved::new(x, s.in_channels, len, x_zero, s.pad_begin, rows);
        // -zs * sum(x) over each output's receptive field, plus the per-call constant; and
        // -x_zero * sum(ws) per output channel.
        let constant = (s.in_channels * s.kernel) as i32 * i32::from(x_zero) * self.shifted_zero;
        let row_terms: Vec<i32> = (0..out_len)
            .map(|t| {
                let field: i32 = (0..s.kernel).map(|tap| input.row_sums[t + tap * s.dilation]).sum();
                constant - self.shifted_zero * field
            })
            .collect();
        // The bias, an exact integer like the rest, joins the per-channel term.
        let bias = |o: usize| bias.map_or(0, |b| b[o]);
        // sdot multiplies x - 128: its sums lack 128 * sum(ws).
        let flipped = if self.isa == Isa::NeonDot { 128 } else { 0 };
        let channel_terms: Vec<i32> =
            self.weight_sums.iter().enumerate().map(|(o, &ws)| (flipped - i32::from(x_zero)) * ws + bias(o)).collect();
        let span_len = SPAN_TILES * tiling.time();
        let job = |span: usize| {
            let from = span * span_len;
            let to = (from + span_len).min(out_len);
            self.span(&input, from..to, out_len, &row_terms, &channel_terms, dest);
        };
        parallel(out_len.div_ceil(span_len), &job);
    }

    /// Output time steps `times` of every output channel.
    fn span(
        &self,
        input: &Interleaved,
        times: std::ops::Range<usize>,
        out_len: usize,
        row_terms: &[i32],
        channel_terms: &[i32],
        dest: Dest,
    ) {
        let s = &self.shape;
        let tiling = Tiling::of(self.isa);
        let block_len = s.kernel * self.quads * tiling.co * 4;
        let geometry =
            Geometry { quad_step: input.rows * 4, tap_step: s.dilation * 4, taps: s.kernel, quads: self.quads };
        let mut acc = [0i32; MAX_TILE];
        for block in 0..s.out_channels.div_ceil(tiling.co) {
            let weights = block * block_len..(block + 1) * block_len;
            let rows_here = tiling.co.min(s.out_channels - block * tiling.co);
            for t0 in times.clone().step_by(tiling.time()) {
                let last = t0 + tiling.time() - 1 + (s.kernel - 1) * s.dilation;
                assert!(last < input.rows, "the tile reads past the padded input");
                self.tile(&input.data[t0 * 4..], weights.clone(), geometry, &mut acc);
                let t1 = (t0 + tiling.time()).min(times.end);
                for row in 0..rows_here {
                    let o = block * tiling.co + row;
                    let sums = &acc[row * tiling.time()..][..t1 - t0];
                    let terms = &row_terms[t0..t1];
                    let sums = sums.iter().zip(terms).map(|(&a, &r)| a + r + channel_terms[o]);
                    // SAFETY: spans cover disjoint time steps (see `run`), so this row's steps
                    // t0..t1 are written by this call alone; `run`'s caller holds `out` meanwhile.
                    match dest {
                        Dest::Sums(out) => {
                            let d = unsafe { out.part(o * out_len + t0, t1 - t0) };
                            d.iter_mut().zip(sums).for_each(|(d, v)| *d = v);
                        }
                        Dest::Scaled(out, scale) => {
                            let d = unsafe { out.part(o * out_len + t0, t1 - t0) };
                            d.iter_mut().zip(sums).for_each(|(d, v)| *d = v as f32 * scale);
                        }
                    }
                }
            }
        }
    }

    /// One tile: `acc[row * time + t]` = sum(x * ws) for output channel `row` of the block at
    /// time step `t` of the tile. `x` starts at the tile's first row of the first quad; `block`
    /// is the range of the block's packed weights.
    fn tile(&self, x: &[u8], block: std::ops::Range<usize>, geometry: Geometry, acc: &mut [i32; MAX_TILE]) {
        #[cfg(target_arch = "x86_64")]
        {
            let w = &self.weights;
            match self.isa {
                // SAFETY: `Isa::available` offers these only where the CPU has the features;
                // `span` checked that the tile's rows are inside the input, and `block` is one
                // whole block of the weights this instruction set packed.
                Isa::Avx512Vnni => return unsafe { x86::tile_avx512_vnni(x, &w[block], geometry, acc) },
                Isa::AvxVnni => return unsafe { x86::tile_avx_vnni(x, &w[block], geometry, acc) },
                Isa::Avx2 => return unsafe { x86::tile_avx2::<6, 2>(x, &self.wide[block], geometry, acc) },
                Isa::NeonDot | Isa::Scalar => {}
            }
        }
        #[cfg(target_arch = "aarch64")]
        if self.isa == Isa::NeonDot {
            // SAFETY: `Isa::available` offers it only where the CPU has the dot-product
            // extension; `span` checked the tile's rows, and `block` is one whole block.
            return unsafe { arm::tile_neon_dot(x, &self.weights[block], geometry, acc) };
        }
        tile_scalar(x, &self.weights[block], geometry, Tiling::of(self.isa), acc);
    }
}

/// Runs `f(i)` for every `i` in `0..n`, in any order, on any threads: `parallel(n, f)`.
pub type Parallel<'a> = &'a dyn Fn(usize, &(dyn Fn(usize) + Sync));

/// Byte strides of one tile's reads in the interleaved input.
#[derive(Clone, Copy)]
struct Geometry {
    /// Between groups of 4 input channels.
    quad_step: usize,
    /// Between taps (the dilation, in rows of 4 bytes).
    tap_step: usize,
    taps: usize,
    quads: usize,
}

fn tile_scalar(x: &[u8], w: &[i8], g: Geometry, tiling: Tiling, acc: &mut [i32; MAX_TILE]) {
    let time = tiling.time();
    acc.fill(0);
    for tap in 0..g.taps {
        for q in 0..g.quads {
            let ws = &w[(tap * g.quads + q) * tiling.co * 4..][..tiling.co * 4];
            let xs = &x[q * g.quad_step + tap * g.tap_step..][..time * 4];
            for row in 0..tiling.co {
                for t in 0..time {
                    let dot: i32 = (0..4).map(|i| i32::from(xs[t * 4 + i]) * i32::from(ws[row * 4 + i])).sum();
                    acc[row * time + t] += dot;
                }
            }
        }
    }
}

/// The input as groups of 4 channels, each `rows` time steps of 4 bytes (the layout whose 4-byte
/// lanes `vpdpbusd` multiplies), with the padding applied: padding rows and the rows past the end
/// hold `x_zero`, missing channels of the last group hold 0 (their weights are 0).
struct Interleaved {
    data: Vec<u8>,
    rows: usize,
    /// Per row, the sum over the real channels.
    row_sums: Vec<i32>,
}

impl Interleaved {
    fn new(x: &[u8], channels: usize, len: usize, x_zero: u8, pad_begin: usize, rows: usize) -> Self {
        let quads = channels.div_ceil(4);
        let mut data = vec![0u8; quads * rows * 4];
        for (q, group) in data.chunks_exact_mut(rows * 4).enumerate() {
            let real = (channels - 4 * q).min(4);
            let mut padding = [0u8; 4];
            padding[..real].fill(x_zero);
            let channel = |i: usize| if i < real { &x[(4 * q + i) * len..(4 * q + i + 1) * len] } else { &[][..] };
            let (c0, c1, c2, c3) = (channel(0), channel(1), channel(2), channel(3));
            for (r, cell) in group.chunks_exact_mut(4).enumerate() {
                let t = r.wrapping_sub(pad_begin);
                if t < len {
                    let at = |c: &[u8]| c.get(t).copied().unwrap_or(0);
                    cell.copy_from_slice(&[at(c0), at(c1), at(c2), at(c3)]);
                } else {
                    cell.copy_from_slice(&padding);
                }
            }
        }
        let mut row_sums = vec![channels as i32 * i32::from(x_zero); rows];
        let sums = &mut row_sums[pad_begin..pad_begin + len];
        sums.fill(0);
        for c in 0..channels {
            for (sum, &v) in sums.iter_mut().zip(&x[c * len..(c + 1) * len]) {
                *sum += i32::from(v);
            }
        }
        Self { data, rows, row_sums }
    }
}

/// Where a convolution's results go.
pub enum Out<'a> {
    /// `ConvInteger`'s int32 sums.
    Sums(&'a mut [i32]),
    /// `(sum + bias[channel]) as f32 * scale`: `ConvInteger` followed by the graph's bias `Add`,
    /// `Cast` and `Mul`, in their order, so the floats are the ones those nodes would give.
    Scaled { out: &'a mut [f32], scale: f32, bias: Option<&'a [i32]> },
}

/// `Out`'s buffer as the spans share it: each writes its own time steps of every row.
#[derive(Clone, Copy)]
enum Dest {
    Sums(Disjoint<i32>),
    Scaled(Disjoint<f32>, f32),
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use super::{Geometry, MAX_TILE};
    use std::arch::aarch64::*;

    /// `acc += x . w[lane]` per 32-bit lane: 4 signed bytes of `x` against the 4 of `w`'s element
    /// `lane`. `vdotq_laneq_s32` is not stable yet, so the instruction is written out.
    macro_rules! sdot {
        ($acc:expr, $x:expr, $w:expr, $lane:literal) => {{
            let mut acc: int32x4_t = $acc;
            // SAFETY: a register-only instruction; the caller's target features include dotprod.
            unsafe {
                std::arch::asm!(
                    concat!("sdot {acc:v}.4s, {x:v}.16b, {w:v}.4b[", $lane, "]"),
                    acc = inout(vreg) acc,
                    x = in(vreg) $x,
                    w = in(vreg) $w,
                    options(pure, nomem, nostack, preserves_flags)
                )
            };
            acc
        }};
    }

    /// 8 output channels x 8 time steps (2 vectors of 4), `sdot` on 128 bits. The input bytes
    /// are flipped to `x - 128` (signed); the caller adds `128 * sum(ws)` back.
    #[target_feature(enable = "neon,dotprod")]
    pub(super) unsafe fn tile_neon_dot(x: &[u8], w: &[i8], g: Geometry, out: &mut [i32; MAX_TILE]) {
        let mut acc = [[vdupq_n_s32(0); 2]; 8];
        let flip = vdupq_n_u8(0x80);
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        for tap in 0..g.taps {
            for q in 0..g.quads {
                // SAFETY (the loads): the caller checked that the tile's rows of every quad are
                // inside the input, and a block holds taps x quads x 32 weight bytes.
                let xq = unsafe { xp.add(q * g.quad_step + tap * g.tap_step) };
                let xv = unsafe {
                    [
                        vreinterpretq_s8_u8(veorq_u8(vld1q_u8(xq), flip)),
                        vreinterpretq_s8_u8(veorq_u8(vld1q_u8(xq.add(16)), flip)),
                    ]
                };
                let wq = unsafe { wp.add((tap * g.quads + q) * 32) };
                let (low, high) = unsafe { (vld1q_s8(wq), vld1q_s8(wq.add(16))) };
                for v in 0..2 {
                    acc[0][v] = sdot!(acc[0][v], xv[v], low, 0);
                    acc[1][v] = sdot!(acc[1][v], xv[v], low, 1);
                    acc[2][v] = sdot!(acc[2][v], xv[v], low, 2);
                    acc[3][v] = sdot!(acc[3][v], xv[v], low, 3);
                    acc[4][v] = sdot!(acc[4][v], xv[v], high, 0);
                    acc[5][v] = sdot!(acc[5][v], xv[v], high, 1);
                    acc[6][v] = sdot!(acc[6][v], xv[v], high, 2);
                    acc[7][v] = sdot!(acc[7][v], xv[v], high, 3);
                }
            }
        }
        for (row, acc) in acc.iter().enumerate() {
            for (v, a) in acc.iter().enumerate() {
                // SAFETY: row * 8 + v * 4 + 4 <= 64 <= MAX_TILE.
                unsafe { vst1q_s32(out.as_mut_ptr().add(row * 8 + v * 4), *a) };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Geometry, MAX_TILE};
    use std::arch::x86_64::*;

    /// 8 output channels x 32 time steps (2 vectors of 16), `vpdpbusd` on 512 bits.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn tile_avx512_vnni(x: &[u8], w: &[i8], g: Geometry, out: &mut [i32; MAX_TILE]) {
        let mut acc = [[_mm512_setzero_si512(); 2]; 8];
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        for tap in 0..g.taps {
            for q in 0..g.quads {
                // SAFETY (the reads below): the caller checked that the tile's rows of every
                // quad are inside the input, and a block holds taps x quads x 32 weight bytes.
                let xq = unsafe { xp.add(q * g.quad_step + tap * g.tap_step) };
                let xv = unsafe { [_mm512_loadu_si512(xq.cast()), _mm512_loadu_si512(xq.add(64).cast())] };
                let wq = unsafe { wp.add((tap * g.quads + q) * 32) };
                for (row, acc) in acc.iter_mut().enumerate() {
                    let wv = _mm512_set1_epi32(unsafe { wq.add(row * 4).cast::<i32>().read_unaligned() });
                    acc[0] = _mm512_dpbusd_epi32(acc[0], xv[0], wv);
                    acc[1] = _mm512_dpbusd_epi32(acc[1], xv[1], wv);
                }
            }
        }
        for (row, acc) in acc.iter().enumerate() {
            for (v, a) in acc.iter().enumerate() {
                // SAFETY: row * 32 + v * 16 + 16 <= 256 = MAX_TILE.
                unsafe { _mm512_storeu_si512(out.as_mut_ptr().add(row * 32 + v * 16).cast(), *a) };
            }
        }
    }

    /// `CO` output channels x `4 * V` time steps with AVX2 alone, exact: each vector is 16 input
    /// bytes (4 time steps x 4 channels) widened to int16, each row's 4 weights one broadcast
    /// 64-bit pattern, and `vpmaddwd` sums each channel pair of a step into a 32-bit lane, so an
    /// accumulator holds [t0 c01, t0 c23, t1 c01, t1 c23 | t2.., t3..] until the end.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn tile_avx2<const CO: usize, const V: usize>(
        x: &[u8],
        w: &[i16],
        g: Geometry,
        out: &mut [i32; MAX_TILE],
    ) {
        let mut acc = [[_mm256_setzero_si256(); V]; CO];
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        for tap in 0..g.taps {
            for q in 0..g.quads {
                // SAFETY: as in `tile_avx512_vnni`, with V vectors of 16 bytes and CO x 4 weights.
                let xq = unsafe { xp.add(q * g.quad_step + tap * g.tap_step) };
                let xv: [__m256i; V] =
                    std::array::from_fn(|v| _mm256_cvtepu8_epi16(unsafe { _mm_loadu_si128(xq.add(v * 16).cast()) }));
                let wq = unsafe { wp.add((tap * g.quads + q) * CO * 4) };
                for (row, acc) in acc.iter_mut().enumerate() {
                    let wv = _mm256_set1_epi64x(unsafe { wq.add(row * 4).cast::<i64>().read_unaligned() });
                    for (a, x) in acc.iter_mut().zip(xv) {
                        *a = _mm256_add_epi32(*a, _mm256_madd_epi16(x, wv));
                    }
                }
            }
        }
        let time = 4 * V;
        for (row, acc) in acc.iter().enumerate() {
            let dest = out[row * time..][..time].as_mut_ptr();
            for (v, pair) in acc.chunks(2).enumerate() {
                // Pairs summed: 64-bit lanes [t0 t1, t4 t5, t2 t3, t6 t7], put in order.
                let sums = _mm256_hadd_epi32(pair[0], pair[pair.len() - 1]);
                let sums = _mm256_permute4x64_epi64::<0b11_01_10_00>(sums);
                // SAFETY: 8 steps per pair of vectors, 4 for a last one alone, inside the row's
                // `time` steps; CO * time <= MAX_TILE (`Tiling`).
                unsafe {
                    if pair.len() == 2 {
                        _mm256_storeu_si256(dest.add(v * 8).cast(), sums);
                    } else {
                        _mm_storeu_si128(dest.add(v * 8).cast(), _mm256_castsi256_si128(sums));
                    }
                }
            }
        }
    }

    /// 5 output channels x 16 time steps (2 vectors of 8), `vpdpbusd` on 256 bits (AVX-VNNI).
    #[target_feature(enable = "avx2,avxvnni")]
    pub(super) unsafe fn tile_avx_vnni(x: &[u8], w: &[i8], g: Geometry, out: &mut [i32; MAX_TILE]) {
        let mut acc = [[_mm256_setzero_si256(); 2]; 5];
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        for tap in 0..g.taps {
            for q in 0..g.quads {
                // SAFETY: as in `tile_avx512_vnni`, with 2 vectors of 32 bytes and 20 weight bytes.
                let xq = unsafe { xp.add(q * g.quad_step + tap * g.tap_step) };
                let xv = unsafe { [_mm256_loadu_si256(xq.cast()), _mm256_loadu_si256(xq.add(32).cast())] };
                let wq = unsafe { wp.add((tap * g.quads + q) * 20) };
                for (row, acc) in acc.iter_mut().enumerate() {
                    let wv = _mm256_set1_epi32(unsafe { wq.add(row * 4).cast::<i32>().read_unaligned() });
                    for (a, x) in acc.iter_mut().zip(xv) {
                        *a = _mm256_dpbusd_avx_epi32(*a, x, wv);
                    }
                }
            }
        }
        for (row, acc) in acc.iter().enumerate() {
            for (v, a) in acc.iter().enumerate() {
                // SAFETY: row * 16 + v * 8 + 8 <= 80 < MAX_TILE.
                unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(row * 16 + v * 8).cast(), *a) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so a failure names its case.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn sequential(n: usize, f: &(dyn Fn(usize) + Sync)) {
        (0..n).rev().for_each(f);
    }

    #[test]
    fn every_instruction_set_equals_the_reference_exactly() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..120 {
            let kernel = 1 + rng.below(12);
            let shape = ConvShape {
                in_channels: 1 + rng.below(70),
                out_channels: 1 + rng.below(40),
                kernel,
                stride: 1,
                dilation: 1 + rng.below(5),
                pad_begin: rng.below(kernel * 3),
                pad_end: rng.below(kernel * 3),
            };
            let len = 1 + rng.below(400);
            let Some(out_len) = shape.out_len(len) else { continue };
            let x = rng.bytes(shape.in_channels * len);
            let w = rng.bytes(shape.out_channels * shape.in_channels * kernel);
            let (x_zero, w_zero) = (rng.next() as u8, rng.next() as u8);
            let mut expected = vec![0; shape.out_channels * out_len];
            reference(&shape, &x, len, x_zero, &w, w_zero, &mut expected);
            for isa in Isa::available() {
                let packed = PackedConv::new(shape, &w, w_zero, isa);
                let mut out = vec![i32::MIN; expected.len()];
                packed.run(&x, len, x_zero, Out::Sums(&mut out), &sequential);
                assert!(out == expected, "case {case}, {isa:?}, {shape:?}, len {len}");
                // The fused bias, cast and scale give the floats those nodes would.
                let bias: Vec<i32> = (0..shape.out_channels).map(|_| rng.next() as i32 >> 12).collect();
                let scale = 1.0 / (1.0 + rng.below(1000) as f32);
                let mut scaled = vec![f32::NAN; expected.len()];
                packed.run(&x, len, x_zero, Out::Scaled { out: &mut scaled, scale, bias: Some(&bias) }, &sequential);
                let want = expected.iter().enumerate().map(|(i, &v)| (v + bias[i / out_len]) as f32 * scale);
                assert!(
                    scaled.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "case {case}, {isa:?}: scaled"
                );
            }
        }
    }

    #[test]
    fn extreme_values_do_not_overflow_or_saturate() {
        // All-255 inputs against weights 0 (ws = -128) with zero points at both ends: the
        // largest magnitudes a product and a sum can take.
        let shape = ConvShape {
            in_channels: 64,
            out_channels: 20,
            kernel: 11,
            stride: 1,
            dilation: 5,
            pad_begin: 25,
            pad_end: 25,
        };
        let len = 90;
        for (xv, wv, x_zero, w_zero) in [(255, 0, 0, 255), (255, 255, 0, 0), (0, 0, 255, 255), (255, 0, 255, 0)] {
            let x = vec![xv; shape.in_channels * len];
            let w = vec![wv; shape.out_channels * shape.in_channels * shape.kernel];
            let out_len = shape.out_len(len).unwrap();
            let mut expected = vec![0; shape.out_channels * out_len];
            reference(&shape, &x, len, x_zero, &w, w_zero, &mut expected);
            for isa in Isa::available() {
                let mut out = vec![0; expected.len()];
                PackedConv::new(shape, &w, w_zero, isa).run(&x, len, x_zero, Out::Sums(&mut out), &sequential);
                assert_eq!(out, expected, "{isa:?} {xv} {wv} {x_zero} {w_zero}");
            }
        }
    }
}
