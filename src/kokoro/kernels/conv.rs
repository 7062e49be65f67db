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
//! The first term is the heavy one; the instructions compute it without im2col, straight from the
//! input laid out time-major (one row of channels per time step, padding rows filled with
//! `x_zero`, whose terms vanish). The result equals ONNX Runtime's `ConvInteger` bit for bit.

use super::Isa;

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

/// Output channels computed together by one instruction: 16 int32 lanes in 512 bits, 8 in 256.
fn lanes(isa: Isa) -> usize {
    match isa {
        Isa::Avx512Vnni => 16,
        _ => 8,
    }
}

/// Time steps one tile computes: as many accumulators as the registers hold beside the weights.
fn tile_len(isa: Isa) -> usize {
    match isa {
        Isa::Avx512Vnni => 16,
        _ => 12,
    }
}

/// Output time steps computed per pass over the weights of one block of output channels, so a
/// block's weights stay in cache while the input rows of the span stream past.
const SPAN: usize = 192;

/// A convolution's weights packed once for one instruction set: per block of `lanes` output
/// channels, per tap, per group of 4 input channels, `lanes x 4` signed bytes, the layout one
/// `vpdpbusd` reads in a single load.
pub struct PackedConv {
    shape: ConvShape,
    isa: Isa,
    /// Input channels rounded up to a multiple of 4 (the extra ones have zero weights).
    channels: usize,
    weights: Vec<i8>,
    /// Per output channel: `x_zero`-independent part of the correction, `-sum(ws)`.
    weight_sums: Vec<i32>,
    /// `w_zero - 128`.
    shifted_zero: i32,
}

impl PackedConv {
    /// Packs `w` (`[out_channels, in_channels, kernel]`, uint8, zero point `w_zero`) for `isa`.
    pub fn new(shape: ConvShape, w: &[u8], w_zero: u8, isa: Isa) -> Self {
        let (ci, co, k) = (shape.in_channels, shape.out_channels, shape.kernel);
        let lanes = lanes(isa);
        let channels = ci.div_ceil(4) * 4;
        let blocks = co.div_ceil(lanes);
        let mut weights = vec![0i8; blocks * k * channels * lanes];
        let mut weight_sums = vec![0i32; co];
        for o in 0..co {
            let (block, lane) = (o / lanes, o % lanes);
            for c in 0..ci {
                for tap in 0..k {
                    let shifted = (i32::from(w[(o * ci + c) * k + tap]) - 128) as i8;
                    weight_sums[o] += i32::from(shifted);
                    let at = ((block * k + tap) * (channels / 4) + c / 4) * lanes * 4 + lane * 4 + c % 4;
                    weights[at] = shifted;
                }
            }
        }
        Self { shape, isa, channels, weights, weight_sums, shifted_zero: i32::from(w_zero) - 128 }
    }

    pub fn shape(&self) -> &ConvShape {
        &self.shape
    }

    /// Bytes held, for the process-wide weight cache's accounting.
    pub fn heap_bytes(&self) -> usize {
        self.weights.len() + 4 * self.weight_sums.len()
    }

    /// The convolution of `x` (`[in_channels, len]`) into `out` (`[out_channels, out_len]`).
    /// `parallel(n, f)` calls `f(0..n)`, in any order and on any threads (each call writes its
    /// own span of time steps).
    pub fn run(&self, x: &[u8], len: usize, x_zero: u8, out: &mut [i32], parallel: Parallel) {
        let s = &self.shape;
        let Some(out_len) = s.out_len(len) else { return };
        assert_eq!(x.len(), s.in_channels * len, "input size");
        assert_eq!(out.len(), s.out_channels * out_len, "output size");
        if out_len == 0 {
            return;
        }
        let tile = tile_len(self.isa);
        // Rows the last full tile reads, so every tile can run whole.
        let tiles = out_len.div_ceil(tile);
        let rows = ((tiles * tile - 1) * s.stride + (s.kernel - 1) * s.dilation + 1).max(len + s.pad_begin);
        let input = TimeMajor::new(x, s.in_channels, len, x_zero, s.pad_begin, rows, self.channels);
        // Per output time step: -zs * sum(x) over its receptive field, plus the per-call constant.
        let n = (s.in_channels * s.kernel) as i32;
        let constant = n * i32::from(x_zero) * self.shifted_zero;
        let row_terms: Vec<i32> = (0..out_len)
            .map(|t| {
                let sum: i32 = (0..s.kernel).map(|tap| input.row_sums[t * s.stride + tap * s.dilation]).sum();
                constant - self.shifted_zero * sum
            })
            .collect();
        let channel_terms: Vec<i32> = self.weight_sums.iter().map(|&ws| -i32::from(x_zero) * ws).collect();
        let spans = out_len.div_ceil(SPAN);
        let out_ptr = SharedOut(out.as_mut_ptr());
        let job = |span: usize| {
            let from = span * SPAN;
            let to = (from + SPAN).min(out_len);
            // SAFETY: each span writes only the columns from..to of every output row, and spans
            // do not overlap; `out` outlives `parallel`, which returns after every call.
            let out = unsafe { std::slice::from_raw_parts_mut(out_ptr.get(), s.out_channels * out_len) };
            self.span(&input, from, to, out_len, &row_terms, &channel_terms, out);
        };
        parallel(spans, &job);
    }

    /// Output time steps `from..to` of every output channel.
    #[allow(clippy::too_many_arguments)]
    fn span(
        &self,
        input: &TimeMajor,
        from: usize,
        to: usize,
        out_len: usize,
        row_terms: &[i32],
        channel_terms: &[i32],
        out: &mut [i32],
    ) {
        let s = &self.shape;
        let lanes = lanes(self.isa);
        let tile = tile_len(self.isa);
        let quads = self.channels / 4;
        let block_len = s.kernel * quads * lanes * 4;
        let mut acc = [[0i32; 16]; 16];
        for block in 0..s.out_channels.div_ceil(lanes) {
            let weights = &self.weights[block * block_len..(block + 1) * block_len];
            let lanes_here = lanes.min(s.out_channels - block * lanes);
            let mut t0 = from;
            while t0 < to {
                let first_row = t0 * s.stride;
                let last_row = (t0 + tile - 1) * s.stride + (s.kernel - 1) * s.dilation;
                assert!(last_row < input.rows, "tile reads past the padded input");
                let x = &input.data[first_row * self.channels..];
                let steps =
                    Steps { time: s.stride * self.channels, tap: s.dilation * self.channels, taps: s.kernel, quads };
                self.tile(x, weights, steps, &mut acc);
                #[allow(clippy::needless_range_loop)] // acc is [time][lane]: the lane picks a column
                for lane in 0..lanes_here {
                    let o = block * lanes + lane;
                    let row = &mut out[o * out_len..(o + 1) * out_len];
                    for (j, t) in (t0..(t0 + tile).min(to)).enumerate() {
                        row[t] = acc[j][lane] + row_terms[t] + channel_terms[o];
                    }
                }
                t0 += tile;
            }
        }
    }

    /// One tile: `acc[j][lane]` = sum(x * ws) at time step `j` of the tile for each lane.
    fn tile(&self, x: &[u8], w: &[i8], steps: Steps, acc: &mut [[i32; 16]; 16]) {
        #[cfg(target_arch = "x86_64")]
        match self.isa {
            // SAFETY: `Isa::detect` chose these only where the CPU has the features; `span`
            // checked that the tile's rows are inside `x`, and `w` is one whole block.
            Isa::Avx512Vnni => return unsafe { x86::tile_avx512_vnni(x, w, steps, acc) },
            Isa::AvxVnni => return unsafe { x86::tile_avx_vnni(x, w, steps, acc) },
            Isa::Scalar => {}
        }
        tile_scalar(x, w, steps, lanes(self.isa), tile_len(self.isa), acc);
    }
}

/// Runs `f(i)` for every `i` in `0..n`, in any order, on any threads: `parallel(n, f)`.
pub type Parallel<'a> = &'a dyn Fn(usize, &(dyn Fn(usize) + Sync));

/// Byte strides of one tile's reads.
#[derive(Clone, Copy)]
pub(super) struct Steps {
    /// Between consecutive output time steps (stride rows).
    time: usize,
    /// Between consecutive taps (dilation rows).
    tap: usize,
    taps: usize,
    /// Groups of 4 input channels.
    quads: usize,
}

fn tile_scalar(x: &[u8], w: &[i8], steps: Steps, lanes: usize, tile: usize, acc: &mut [[i32; 16]; 16]) {
    for (j, acc) in acc.iter_mut().enumerate().take(tile) {
        acc.fill(0);
        for tap in 0..steps.taps {
            for q in 0..steps.quads {
                let xs = &x[j * steps.time + tap * steps.tap + 4 * q..][..4];
                let ws = &w[(tap * steps.quads + q) * lanes * 4..][..lanes * 4];
                for lane in 0..lanes {
                    acc[lane] += (0..4).map(|i| i32::from(xs[i]) * i32::from(ws[lane * 4 + i])).sum::<i32>();
                }
            }
        }
    }
}

/// The input time-major and padded: row `r` holds every channel's value at padded time `r`
/// (channels rounded up to 4 with zeros; time padding and the rows past the end hold `x_zero`).
struct TimeMajor {
    data: Vec<u8>,
    rows: usize,
    /// Per row, the sum over the real channels.
    row_sums: Vec<i32>,
}

impl TimeMajor {
    fn new(x: &[u8], channels: usize, len: usize, x_zero: u8, pad_begin: usize, rows: usize, padded: usize) -> Self {
        let mut data = vec![0u8; rows * padded];
        for row in data.chunks_exact_mut(padded) {
            row[..channels].fill(x_zero);
        }
        // Blocks of time steps keep the writes of one block in cache while channels go by.
        const BLOCK: usize = 64;
        for t0 in (0..len).step_by(BLOCK) {
            let t1 = (t0 + BLOCK).min(len);
            for c in 0..channels {
                let source = &x[c * len + t0..c * len + t1];
                for (i, &v) in source.iter().enumerate() {
                    data[(pad_begin + t0 + i) * padded + c] = v;
                }
            }
        }
        let row_sums =
            data.chunks_exact(padded).map(|row| row[..channels].iter().map(|&v| i32::from(v)).sum()).collect();
        Self { data, rows, row_sums }
    }
}

/// The output pointer shared by the spans, which write disjoint parts of it.
#[derive(Clone, Copy)]
struct SharedOut(*mut i32);
// SAFETY: spans write disjoint elements (see `PackedConv::run`).
unsafe impl Sync for SharedOut {}
unsafe impl Send for SharedOut {}
impl SharedOut {
    fn get(self) -> *mut i32 {
        self.0
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Steps;
    use std::arch::x86_64::*;

    /// 16 time steps x 16 output channels, `vpdpbusd` on 512 bits.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn tile_avx512_vnni(x: &[u8], w: &[i8], steps: Steps, out: &mut [[i32; 16]; 16]) {
        let mut acc = [_mm512_setzero_si512(); 16];
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        for tap in 0..steps.taps {
            let xt = xp.wrapping_add(tap * steps.tap);
            let wt = wp.wrapping_add(tap * steps.quads * 64);
            for q in 0..steps.quads {
                // SAFETY (for the reads below): the caller checked that every row this tile reads
                // is inside `x`, and a block holds `taps * quads` vectors of 64 bytes.
                let wv = unsafe { _mm512_loadu_si512(wt.add(q * 64).cast()) };
                let xq = xt.wrapping_add(4 * q);
                for (j, a) in acc.iter_mut().enumerate() {
                    let v = unsafe { xq.add(j * steps.time).cast::<i32>().read_unaligned() };
                    *a = _mm512_dpbusd_epi32(*a, _mm512_set1_epi32(v), wv);
                }
            }
        }
        for (row, a) in out.iter_mut().zip(acc) {
            // SAFETY: `row` holds 16 int32.
            unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), a) };
        }
    }

    /// 12 time steps x 8 output channels, `vpdpbusd` on 256 bits (AVX-VNNI).
    #[target_feature(enable = "avx2,avxvnni")]
    pub(super) unsafe fn tile_avx_vnni(x: &[u8], w: &[i8], steps: Steps, out: &mut [[i32; 16]; 16]) {
        let mut acc = [_mm256_setzero_si256(); 12];
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        for tap in 0..steps.taps {
            let xt = xp.wrapping_add(tap * steps.tap);
            let wt = wp.wrapping_add(tap * steps.quads * 32);
            for q in 0..steps.quads {
                // SAFETY: as in `tile_avx512_vnni`, with 32-byte weight vectors.
                let wv = unsafe { _mm256_loadu_si256(wt.add(q * 32).cast()) };
                let xq = xt.wrapping_add(4 * q);
                for (j, a) in acc.iter_mut().enumerate() {
                    let v = unsafe { xq.add(j * steps.time).cast::<i32>().read_unaligned() };
                    *a = _mm256_dpbusd_avx_epi32(*a, _mm256_set1_epi32(v), wv);
                }
            }
        }
        for (row, a) in out.iter_mut().zip(acc) {
            // SAFETY: `row` holds 16 int32; 8 are written.
            unsafe { _mm256_storeu_si256(row.as_mut_ptr().cast(), a) };
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
                stride: 1 + rng.below(3) * usize::from(case % 3 == 0),
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
                packed.run(&x, len, x_zero, &mut out, &sequential);
                assert!(out == expected, "case {case}, {isa:?}, {shape:?}, len {len}");
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
                PackedConv::new(shape, &w, w_zero, isa).run(&x, len, x_zero, &mut out, &sequential);
                assert_eq!(out, expected, "{isa:?} {xv} {wv} {x_zero} {w_zero}");
            }
        }
    }
}
