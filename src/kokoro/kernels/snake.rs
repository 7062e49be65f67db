//! Snake, the generator's activation: `y = x + sin(a x)^2 / a` per channel, which the graph
//! spells as five nodes (Mul, Sin, Pow, Mul, Add), each a pass over a tensor of up to 128
//! channels x 36,000 steps. Here it is one pass, with a sine the compiler vectorises.
//!
//! Everything but the sine is the graph's own arithmetic in the graph's order (`a * x`,
//! `s * s`, `(1/a) * s^2`, `x + ...`). The sine is SLEEF's 3.5-ulp single-precision one
//! (reduction by pi in four parts, a degree-9 odd polynomial): within a few ulps of ONNX
//! Runtime's, far below the uint8 quantization the next convolution applies.

use super::Isa;

/// sin(x) for |x| up to about 1e5 (beyond, the reduction loses precision, as every float sine
/// built this way does; the model's arguments stay within a few hundred).
#[inline(always)]
fn sin(x: f32) -> f32 {
    const PI_A: f32 = 3.140_625;
    // pi in four parts, the first three with 12 significant bits so q * part is exact.
    const PI_B: f32 = 0.0009675026;
    const PI_C: f32 = 1.5099067e-07;
    const PI_D: f32 = 5.126688e-12;
    let q = (x * std::f32::consts::FRAC_1_PI).round_ties_even();
    let mut d = x;
    d = q.mul_add(-PI_A, d);
    d = q.mul_add(-PI_B, d);
    d = q.mul_add(-PI_C, d);
    d = q.mul_add(-PI_D, d);
    let s = d * d;
    // sin(-d) for odd q: flip the sign.
    let d = f32::from_bits(d.to_bits() ^ (((q as i32) & 1) as u32) << 31);
    let mut u = 2.608316e-06_f32;
    u = u.mul_add(s, -0.0001981069);
    u = u.mul_add(s, 0.008333079);
    u = u.mul_add(s, -0.1666666);
    (s * u).mul_add(d, d)
}

#[inline(always)]
fn snake_row(x: &[f32], alpha: f32, inv_alpha: f32, out: &mut [f32]) {
    for (y, &v) in out.iter_mut().zip(x) {
        let s = sin(alpha * v);
        *y = v + inv_alpha * (s * s);
    }
}

/// Snake over one channel's steps, on `isa`'s vector width.
pub fn snake(x: &[f32], alpha: f32, inv_alpha: f32, out: &mut [f32], isa: Isa) {
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY: `Isa::available` offers these only where the CPU has AVX-512 (which implies
        // FMA) or AVX2 with FMA.
        Isa::Avx512Vnni => return unsafe { snake_avx512(x, alpha, inv_alpha, out) },
        Isa::AvxVnni | Isa::Avx2 => return unsafe { snake_avx2(x, alpha, inv_alpha, out) },
        Isa::NeonDot | Isa::Scalar => {}
    }
    let _ = isa;
    snake_row(x, alpha, inv_alpha, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,fma")]
unsafe fn snake_avx512(x: &[f32], alpha: f32, inv_alpha: f32, out: &mut [f32]) {
    snake_row(x, alpha, inv_alpha, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn snake_avx2(x: &[f32], alpha: f32, inv_alpha: f32, out: &mut [f32]) {
    snake_row(x, alpha, inv_alpha, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sine_is_within_a_few_ulps_over_the_range_the_model_uses() {
        let mut worst = 0f64;
        for i in -2_000_000i32..=2_000_000 {
            let x = i as f32 * 2.5e-4 * (1.0 + (i.rem_euclid(7)) as f32 * 37.0);
            let exact = (x as f64).sin();
            let err = (sin(x) as f64 - exact).abs();
            worst = worst.max(err);
            assert!(err <= 4.0 * f32::EPSILON as f64 * exact.abs().max(1e-3), "sin({x}) = {} vs {exact}", sin(x));
        }
        eprintln!("worst absolute error {worst:e}");
    }

    #[test]
    fn every_instruction_set_gives_the_snake_of_the_formula() {
        let x: Vec<f32> = (0..1001).map(|i| ((i * 37 % 1000) as f32 - 500.0) * 0.01).collect();
        let (alpha, inv_alpha) = (3.7f32, 1.0 / 3.7f32);
        for isa in Isa::available() {
            let mut out = vec![0.0; x.len()];
            snake(&x, alpha, inv_alpha, &mut out, isa);
            for (&v, &y) in x.iter().zip(&out) {
                let s = ((alpha * v) as f64).sin();
                let exact = v as f64 + inv_alpha as f64 * s * s;
                assert!(
                    (y as f64 - exact).abs() <= 1e-5 * exact.abs().max(1.0),
                    "{isa:?}: snake({v}) = {y} vs {exact}"
                );
            }
        }
    }
}
