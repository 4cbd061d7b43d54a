//! The scalar type of the reference engine. Every op stores values as `R` and computes in
//! f64, so the engine runs in f32 storage with f64 arithmetic and accumulation, while the
//! finite-difference tests run the very same code with `R = f64`.
//!
//! The exceptions run in `R` itself, so the engine's run in f32 and the gradient checks' in f64:
//! the matrix products (`Real::gemm`), where nearly all the time goes, blocked, packed and SIMD
//! (the `matrixmultiply` crate; `linear`'s tests bound the f32 products against exact f64 ones),
//! and the elementwise loops with an exponential (the attention softmax, SiLU), whose f32 `exp`
//! is inline arithmetic so those loops vectorise (`exp_f32`, tested against f64's `exp`).

use std::ops::{Add, Div, Mul, Neg, Sub};

/// Where element `(i, j)` of a matrix view lies: `i * row + j * col`.
#[derive(Clone, Copy, Debug)]
pub struct Strides {
    pub row: usize,
    pub col: usize,
}

impl Strides {
    /// A row-major `[_, cols]` matrix.
    pub fn rows(cols: usize) -> Self {
        Self { row: cols, col: 1 }
    }

    /// The transpose of a row-major `[_, cols]` matrix (read column by column).
    pub fn transposed(cols: usize) -> Self {
        Self { row: 1, col: cols }
    }

    /// Panics unless a `rows x cols` view fits in `len` elements.
    fn check(self, rows: usize, cols: usize, len: usize, name: &str) {
        let last = (rows - 1) * self.row + (cols - 1) * self.col;
        assert!(
            last < len,
            "gemm: {name} view {rows}x{cols} {self:?} over {len} elements"
        );
    }
}

/// A stored scalar: f32 in the engine, f64 in gradient checks.
pub trait Real:
    Copy
    + Default
    + Send
    + Sync
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Rounds an f64 result into storage.
    fn from_f64(x: f64) -> Self;
    /// Widens a stored value for arithmetic.
    fn to_f64(self) -> f64;
    /// `self += x`, in f64: the parameter-gradient accumulation of the gradient convention.
    fn accumulate(&mut self, x: f64) {
        *self = Self::from_f64(self.to_f64() + x);
    }
    /// `e^x` in `Self`: `exp_f32` in the engine, f64's `exp` in gradient checks.
    fn exp(self) -> Self;
    /// `c = a b` (or `c += a b` when `accumulate`) for `a` `[m, k]`, `b` `[k, n]`, `c`
    /// `[m, n]`, each read through its strides; multiplied and summed in `Self`.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], Strides),
        b: (&[Self], Strides),
        c: (&mut [Self], Strides),
        accumulate: bool,
    );
}

/// `Real::gemm` through one of `matrixmultiply`'s kernels, after checking every view.
macro_rules! gemm_with {
    ($kernel:path, $m:ident, $k:ident, $n:ident, $a:ident, $b:ident, $c:ident, $acc:ident) => {{
        if $m == 0 || $n == 0 {
            return;
        }
        let ((a, sa), (b, sb), (c, sc)) = ($a, $b, $c);
        sc.check($m, $n, c.len(), "c");
        if $k == 0 {
            if !$acc {
                for i in 0..$m {
                    for j in 0..$n {
                        c[i * sc.row + j * sc.col] = 0.0;
                    }
                }
            }
            return;
        }
        sa.check($m, $k, a.len(), "a");
        sb.check($k, $n, b.len(), "b");
        let s = |x: usize| x as isize;
        // SAFETY: the three views were checked to lie inside their slices; `c` is borrowed
        // mutably, so it aliases neither `a` nor `b`.
        unsafe {
            $kernel(
                $m,
                $k,
                $n,
                1.0,
                a.as_ptr(),
                s(sa.row),
                s(sa.col),
                b.as_ptr(),
                s(sb.row),
                s(sb.col),
                if $acc { 1.0 } else { 0.0 },
                c.as_mut_ptr(),
                s(sc.row),
                s(sc.col),
            )
        }
    }};
}

impl Real for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn exp(self) -> Self {
        exp_f32(self)
    }
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], Strides),
        b: (&[Self], Strides),
        c: (&mut [Self], Strides),
        accumulate: bool,
    ) {
        gemm_with!(matrixmultiply::sgemm, m, k, n, a, b, c, accumulate)
    }
}

impl Real for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: (&[Self], Strides),
        b: (&[Self], Strides),
        c: (&mut [Self], Strides),
        accumulate: bool,
    ) {
        gemm_with!(matrixmultiply::dgemm, m, k, n, a, b, c, accumulate)
    }
}

/// `e^x` in f32 arithmetic, inline: glibc's `expf` is a call per element, which keeps the loops
/// around it scalar. Cephes' `expf`: `x = n ln 2 + r` with |r| <= ln 2 / 2 (ln 2 in two parts, so
/// `r` is exact), a degree-7 polynomial for `e^r`, and `2^n` put into the exponent bits; within
/// 2 ulp of `e^x`. Below ln(f32::MIN_POSITIVE) it gives 0 (so masked logits, -inf, vanish),
/// above 88.37 (where `2^n` would leave the exponent's range) infinity; NaN stays NaN.
pub fn exp_f32(x: f32) -> f32 {
    const LOWEST: f32 = -87.33;
    const HIGHEST: f32 = 88.37;
    // Adding 1.5 * 2^23 rounds to an integer, which lands in the low bits of the mantissa.
    const ROUND: f32 = 12_582_912.0;
    // 0.693359375 exactly: few bits, so n * LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let clamped = x.clamp(LOWEST, HIGHEST);
    let shifted = clamped * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_2e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // n (in -126..=127) from the low bits, biased by 127 into the exponent field.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let two_n = f32::from_bits(n_bits.wrapping_add(127) << 23);
    if x < LOWEST {
        0.0
    } else if x > HIGHEST {
        f32::INFINITY
    } else {
        e_r * two_n
    }
}

/// `sum_i x[i]` in eight interleaved partial sums, so the loop vectorises (a single running sum
/// in floating point must stay in order, one element at a time).
pub fn sum<R: Real>(x: &[R]) -> R {
    let mut partial = [R::default(); 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(R::default(), |s, &v| s + v);
    for chunk in chunks {
        for (p, &v) in partial.iter_mut().zip(chunk) {
            *p = *p + v;
        }
    }
    let [a, b, c, d, e, f, g, h] = partial;
    ((a + b) + (c + d)) + ((e + f) + (g + h)) + tail
}

/// The largest of `floor` and the elements of `x`.
pub fn max_of<R: Real>(x: &[R], floor: R) -> R {
    x.iter().fold(floor, |m, &v| if v > m { v } else { m })
}

/// `dst[i] += src[i]`: sums gradient contributions when one activation feeds several ops.
pub fn add_into<R: Real>(dst: &mut [R], src: &[R]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        d.accumulate(s.to_f64());
    }
}

/// `out = a + b`, elementwise (a residual add).
pub fn add<R: Real>(out: &mut [R], a: &[R], b: &[R]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = R::from_f64(x.to_f64() + y.to_f64());
    }
}

/// A zeroed buffer.
pub fn zeros<R: Real>(len: usize) -> Vec<R> {
    vec![R::default(); len]
}

/// Central finite differences, the tests' oracle for every backward.
#[cfg(test)]
pub mod gradcheck {
    use rand_chacha::ChaCha8Rng;
    use rand_core::{RngCore, SeedableRng};

    /// Uniform values in [-1, 1) from a seed.
    pub fn uniform(seed: u64, len: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..len)
            .map(|_| (rng.next_u32() as f64 / 4_294_967_296.0) * 2.0 - 1.0)
            .collect()
    }

    /// Step of the central difference. The fourth-order stencil's truncation error is
    /// O(H^4 f^(5)) ~ 1e-16 f^(5) and its rounding error O(eps |f| / H) ~ 1e-12 |f|, so it stays
    /// accurate even where the loss curves sharply (a norm over two elements).
    pub const H: f64 = 1e-4;

    /// Fourth-order central difference for one coordinate:
    /// `(8 (f(x + h) - f(x - h)) - (f(x + 2h) - f(x - 2h))) / 12h`.
    pub fn central_difference(x: &mut [f64], i: usize, f: &mut dyn FnMut(&[f64]) -> f64) -> f64 {
        let keep = x[i];
        let mut at = |offset: f64| {
            x[i] = keep + offset;
            f(x)
        };
        let near = at(H) - at(-H);
        let far = at(2.0 * H) - at(-2.0 * H);
        x[i] = keep;
        (8.0 * near - far) / (12.0 * H)
    }

    /// Compares `analytic` with central differences of `f` at `x`, coordinate by coordinate.
    /// Tolerance 1e-6 of max(1, |gradient|): the differences are accurate to ~1e-11 (see `H`),
    /// so a wrong backward (off by a term, a factor or an index) shows orders of magnitude
    /// above it.
    pub fn assert_gradient(
        name: &str,
        x: &[f64],
        analytic: &[f64],
        mut f: impl FnMut(&[f64]) -> f64,
    ) {
        assert_eq!(x.len(), analytic.len(), "{name}: gradient length");
        let mut x = x.to_vec();
        for (i, &expected) in analytic.iter().enumerate() {
            let numeric = central_difference(&mut x, i, &mut f);
            let scale = numeric.abs().max(expected.abs()).max(1.0);
            assert!(
                (numeric - expected).abs() <= 1e-6 * scale,
                "{name}[{i}]: analytic {expected} vs numeric {numeric}"
            );
        }
    }

    /// `sum(out * weights)`: a scalar loss whose gradient w.r.t. `out` is `weights`, so one
    /// backward call with `dout = weights` is checked against differences of this sum.
    pub fn project(out: &[f64], weights: &[f64]) -> f64 {
        out.iter().zip(weights).map(|(o, w)| o * w).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest error of `exp_f32` over every 1/1024 of its finite range, in units in the
    /// last place of the f32 result, against f64's `exp` of the same f32 input.
    fn worst_exp_error_ulp() -> f64 {
        let steps = ((88.37 + 87.33) * 1024.0) as usize;
        (0..=steps)
            .map(|i| {
                let x = (-87.33 + i as f64 / 1024.0) as f32;
                let exact = f64::from(x).exp();
                let ulp = 2f64.powi(exact.log2().floor() as i32 - 23);
                (f64::from(exp_f32(x)) - exact).abs() / ulp
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn exp_f32_is_within_two_ulp_of_exp_and_handles_the_edges() {
        let worst = worst_exp_error_ulp();
        assert!(worst <= 2.0, "exp_f32 is off by {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0, "masked logits vanish");
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn sum_and_max_of_cover_every_element() {
        // 1..=19: the eight partial sums and a tail of three.
        let x: Vec<f64> = (1..=19).map(f64::from).collect();
        assert_eq!(sum(&x), 190.0);
        assert_eq!(max_of(&x, f64::NEG_INFINITY), 19.0);
        assert_eq!(max_of(&x[..0], -1.0), -1.0);
    }
}
