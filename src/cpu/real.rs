//! The scalar type of the reference engine. Every op stores values as `R` and computes in
//! f64, so the engine runs in f32 storage with f64 arithmetic and accumulation, while the
//! finite-difference tests run the very same code with `R = f64`.
//!
//! The exception is the matrix products (`Real::gemm`), where nearly all the time goes: they
//! run in `R` itself, blocked, packed and SIMD (the `matrixmultiply` crate), so the engine's
//! products multiply and accumulate in f32 and the gradient checks' in f64. `linear`'s tests
//! bound the f32 products against exact f64 ones.

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
pub trait Real: Copy + Default {
    /// Rounds an f64 result into storage.
    fn from_f64(x: f64) -> Self;
    /// Widens a stored value for arithmetic.
    fn to_f64(self) -> f64;
    /// `self += x`, in f64: the parameter-gradient accumulation of the gradient convention.
    fn accumulate(&mut self, x: f64) {
        *self = Self::from_f64(self.to_f64() + x);
    }
    /// `e^x` at the precision of `Self` (f32's `exp` in the engine, f64's in gradient checks):
    /// the softmax and sigmoid results are stored in `Self` anyway.
    fn exp(x: f64) -> f64;
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
    fn exp(x: f64) -> f64 {
        f64::from((x as f32).exp())
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
    fn exp(x: f64) -> f64 {
        x.exp()
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
