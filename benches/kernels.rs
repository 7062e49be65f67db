//! Our int8 convolution alone on the decoder's shapes, per instruction set: GMAC/s (multiply-
//! accumulates per second, one thread) and the share of the time spent laying out the input.
//!
//! ```text
//! cargo bench --bench kernels
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use audiobook::kokoro::kernels::Isa;
use audiobook::kokoro::kernels::conv::{ConvShape, Out, PackedConv};

fn main() {
    // (channels, kernel, dilation, time steps): the generator's resblocks at a 300-frame window
    // (256 channels at 20 steps a frame, 128 at 120) and a decode block (1,090 in, 1 step a frame).
    let shapes = [
        ("generator, 256 ch, k3 d1", 256, 256, 3, 1, 6000),
        ("generator, 256 ch, k11 d5", 256, 256, 11, 5, 6000),
        ("generator, 128 ch, k3 d1", 128, 128, 3, 1, 36000),
        ("generator, 128 ch, k11 d5", 128, 128, 11, 5, 36000),
        ("decode, 1090 -> 1024, k3", 1090, 1024, 3, 1, 300),
    ];
    let sequential = |n: usize, f: &(dyn Fn(usize) + Sync)| (0..n).for_each(f);
    println!("| shape | instruction set | ms | GMAC/s |");
    println!("|---|---|---|---|");
    for (name, ci, co, k, d, len) in shapes {
        let pad = d * (k - 1) / 2;
        let shape = ConvShape {
            in_channels: ci,
            out_channels: co,
            kernel: k,
            stride: 1,
            dilation: d,
            pad_begin: pad,
            pad_end: pad,
        };
        let x: Vec<u8> = (0..ci * len).map(|i| (i * 7 % 251) as u8).collect();
        let w: Vec<u8> = (0..co * ci * k).map(|i| (i * 13 % 253) as u8).collect();
        let out_len = shape.out_len(len).unwrap();
        let mut out = vec![0; co * out_len];
        for isa in Isa::available().into_iter().filter(|&i| i != Isa::Scalar) {
            let packed = PackedConv::new(shape, &w, 60, isa);
            packed.run(&x, len, 120, Out::Sums(&mut out), &sequential);
            let runs = 3;
            let started = Instant::now();
            for _ in 0..runs {
                packed.run(&x, len, 120, Out::Sums(&mut out), &sequential);
            }
            let secs = started.elapsed().as_secs_f64() / runs as f64;
            let macs = (ci * co * k * out_len) as f64;
            println!("| {name} | {} | {:.1} | {:.0} |", isa.name(), secs * 1e3, macs / secs / 1e9);
        }
    }
}
