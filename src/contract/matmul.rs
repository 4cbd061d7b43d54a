//! The reference matrix product, the oracle the GPU matmul is checked against.

/// A product C[M, N] (+)= op(A)[M, K] · op(B)[K, N] (+ bias[N]), all row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulSpec {
    /// Rows of C and of op(A).
    pub m: usize,
    /// Columns of C and of op(B).
    pub n: usize,
    /// The contracted dimension.
    pub k: usize,
    /// A is stored [K, M] and used transposed.
    pub trans_a: bool,
    /// B is stored [N, K] and used transposed.
    pub trans_b: bool,
    /// C += product (gradient accumulation) instead of C = product.
    pub accumulate: bool,
}

impl MatmulSpec {
    /// Element (row, kk) of op(A).
    fn a_index(&self, row: usize, kk: usize) -> usize {
        if self.trans_a {
            kk * self.m + row
        } else {
            row * self.k + kk
        }
    }

    /// Element (kk, col) of op(B).
    fn b_index(&self, kk: usize, col: usize) -> usize {
        if self.trans_b {
            col * self.k + kk
        } else {
            kk * self.n + col
        }
    }

    /// For each element of C, the sum of |terms| that went into it: rounding errors of any
    /// summation order are bounded by a multiple of it (Higham, Accuracy and Stability, §3.1).
    pub fn magnitudes(&self, a: &[f32], b: &[f32], bias: Option<&[f32]>, c: &[f32]) -> Vec<f64> {
        self.product(a, b, bias, c, f64::abs)
    }

    /// The product in f64 accumulation, rounded to f32 once.
    pub fn compute(&self, a: &[f32], b: &[f32], bias: Option<&[f32]>, c: &mut [f32]) {
        let exact = self.product(a, b, bias, c, |x| x);
        for (out, value) in c.iter_mut().zip(exact) {
            *out = value as f32;
        }
    }

    /// Applies `f` to every term (products, bias, previous C) and sums them per element.
    fn product(
        &self,
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        c: &[f32],
        f: impl Fn(f64) -> f64,
    ) -> Vec<f64> {
        assert_eq!(a.len(), self.m * self.k, "A has M·K elements");
        assert_eq!(b.len(), self.k * self.n, "B has K·N elements");
        assert_eq!(c.len(), self.m * self.n, "C has M·N elements");
        let mut out = vec![0.0; self.m * self.n];
        for row in 0..self.m {
            for col in 0..self.n {
                let mut sum: f64 = (0..self.k)
                    .map(|kk| f(a[self.a_index(row, kk)] as f64 * b[self.b_index(kk, col)] as f64))
                    .sum();
                if let Some(bias) = bias {
                    sum += f(bias[col] as f64);
                }
                if self.accumulate {
                    sum += f(c[row * self.n + col] as f64);
                }
                out[row * self.n + col] = sum;
            }
        }
        out
    }
}
