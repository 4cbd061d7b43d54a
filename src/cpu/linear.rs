//! Linear layers: `out = inp W^T + b` with `W` stored `[out, in]` (PyTorch's layout).

use super::real::{Real, Strides};

/// `out[n, o] = sum_i inp[n, i] * weight[o, i] + bias[o]`, one matrix product in `R`.
///
/// Shapes: `out` `[N, O]`, `inp` `[N, I]`, `weight` `[O, I]`, `bias` `[O]`; `n_in` is I.
pub fn linear_forward<R: Real>(
    out: &mut [R],
    inp: &[R],
    weight: &[R],
    bias: Option<&[R]>,
    n_in: usize,
) {
    let n_out = weight.len() / n_in;
    let rows = inp.len() / n_in;
    assert_eq!(out.len(), rows * n_out, "linear_forward: out");
    if let Some(bias) = bias {
        for row in out.chunks_exact_mut(n_out) {
            row.copy_from_slice(bias);
        }
    }
    R::gemm(
        rows,
        n_in,
        n_out,
        (inp, Strides::rows(n_in)),
        (weight, Strides::transposed(n_in)),
        (out, Strides::rows(n_out)),
        bias.is_some(),
    );
}

/// Backward of `linear_forward`: `dinp = dout W` (=), `dweight += dout^T inp`,
/// `dbias += sum_n dout`. Shapes as in the forward. The two products run in `R`; the bias
/// sums in f64.
pub fn linear_backward<R: Real>(
    dinp: &mut [R],
    dweight: &mut [R],
    dbias: Option<&mut [R]>,
    dout: &[R],
    inp: &[R],
    weight: &[R],
    n_in: usize,
) {
    let n_out = weight.len() / n_in;
    let rows = inp.len() / n_in;
    assert_eq!(dout.len(), rows * n_out, "linear_backward: dout");
    R::gemm(
        rows,
        n_out,
        n_in,
        (dout, Strides::rows(n_out)),
        (weight, Strides::rows(n_in)),
        (dinp, Strides::rows(n_in)),
        false,
    );
    R::gemm(
        n_out,
        rows,
        n_in,
        (dout, Strides::transposed(n_out)),
        (inp, Strides::rows(n_in)),
        (dweight, Strides::rows(n_in)),
        true,
    );
    if let Some(dbias) = dbias {
        let mut sums = vec![0.0f64; n_out];
        for row in dout.chunks_exact(n_out) {
            for (s, &g) in sums.iter_mut().zip(row) {
                *s += g.to_f64();
            }
        }
        for (db, s) in dbias.iter_mut().zip(sums) {
            db.accumulate(s);
        }
    }
}

/// `sum_i a[i] * b[i]` in f64, in four interleaved partial sums so the loop can vectorise.
pub fn dot<R: Real>(a: &[R], b: &[R]) -> f64 {
    let mut partial = [0.0f64; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(&x, &y)| x.to_f64() * y.to_f64())
        .sum();
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            partial[k] += x[k].to_f64() * y[k].to_f64();
        }
    }
    (partial[0] + partial[1]) + (partial[2] + partial[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::real::gradcheck::{assert_gradient, project, uniform};

    #[test]
    fn forward_matches_a_hand_computed_product() {
        // inp [1, 2] = [1, 2]; W [3, 2] rows [1, 0], [0, 1], [1, 1]; b = [0.5, 0, -1]
        // out = [1 + 0.5, 2, 3 - 1] = [1.5, 2, 2]
        let mut out = [0.0f64; 3];
        let weight = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        linear_forward(&mut out, &[1.0, 2.0], &weight, Some(&[0.5, 0.0, -1.0]), 2);
        assert_eq!(out, [1.5, 2.0, 2.0]);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let (n, n_in, n_out) = (3, 4, 5);
        let inp = uniform(1, n * n_in);
        let weight = uniform(2, n_out * n_in);
        let bias = uniform(3, n_out);
        let dout = uniform(4, n * n_out);
        let mut dinp = vec![0.0; n * n_in];
        let mut dweight = vec![0.0; n_out * n_in];
        let mut dbias = vec![0.0; n_out];
        linear_backward(
            &mut dinp,
            &mut dweight,
            Some(&mut dbias),
            &dout,
            &inp,
            &weight,
            n_in,
        );
        let loss = |inp: &[f64], weight: &[f64], bias: &[f64]| {
            let mut out = vec![0.0; n * n_out];
            linear_forward(&mut out, inp, weight, Some(bias), n_in);
            project(&out, &dout)
        };
        assert_gradient("dinp", &inp, &dinp, |x| loss(x, &weight, &bias));
        assert_gradient("dweight", &weight, &dweight, |w| loss(&inp, w, &bias));
        assert_gradient("dbias", &bias, &dbias, |b| loss(&inp, &weight, b));
    }

    /// Higham's gamma(n) = n u / (1 - n u) for unit roundoff `u`: the relative bound on a sum of
    /// n rounded terms in any order (Accuracy and Stability of Numerical Algorithms, 3.1).
    fn gamma(n: usize, u: f64) -> f64 {
        n as f64 * u / (1.0 - n as f64 * u)
    }

    /// `|fast - exact| <= bound(terms) * magnitude + f32::MIN_POSITIVE` elementwise, where
    /// `exact` was computed in f64 from the same f32 inputs. A sum of `terms` rounded terms
    /// in f32 is off by at most gamma(terms) times the sum of their magnitudes, and the f64
    /// oracle by gamma(terms) in f64's roundoff; the last term covers underflow.
    fn assert_within(name: &str, fast: &[f32], exact: &[f64], magnitude: &[f64], terms: usize) {
        let bound = gamma(terms, f64::from(f32::EPSILON) / 2.0) + gamma(terms, f64::EPSILON / 2.0);
        for (i, ((&f, &e), &m)) in fast.iter().zip(exact).zip(magnitude).enumerate() {
            let err = (f64::from(f) - e).abs();
            let limit = bound * m + f64::from(f32::MIN_POSITIVE);
            assert!(
                err <= limit,
                "{name}[{i}]: {f} vs {e}, error {err} > {limit}"
            );
        }
    }

    /// The f32 products (the engine's fast path) against the products summed exactly enough
    /// in f64 from the same f32 inputs, within the derived bound of `assert_within`. Odd
    /// sizes cover the kernels' edge tiles; 300 rows make the weight gradient a long sum.
    #[test]
    fn f32_products_match_f64_within_the_rounding_bound() {
        let (n, n_in, n_out) = (300, 70, 53);
        let f32s =
            |seed, len| -> Vec<f32> { uniform(seed, len).iter().map(|&x| x as f32).collect() };
        let (inp, weight, bias, dout) = (
            f32s(11, n * n_in),
            f32s(12, n_out * n_in),
            f32s(13, n_out),
            f32s(14, n * n_out),
        );
        // Gradients already hold something: the products accumulate into them.
        let (dweight0, dbias0) = (f32s(15, n_out * n_in), f32s(16, n_out));
        let wide = |x: &[f32]| -> Vec<f64> { x.iter().map(|&v| f64::from(v)).collect() };
        let (inp64, weight64, dout64) = (wide(&inp), wide(&weight), wide(&dout));

        let mut out = vec![0.0f32; n * n_out];
        linear_forward(&mut out, &inp, &weight, Some(&bias), n_in);
        let (mut exact, mut magnitude) = (vec![0.0; n * n_out], vec![0.0; n * n_out]);
        for r in 0..n {
            for o in 0..n_out {
                let terms = (0..n_in).map(|i| inp64[r * n_in + i] * weight64[o * n_in + i]);
                let b = f64::from(bias[o]);
                exact[r * n_out + o] = b + terms.clone().sum::<f64>();
                magnitude[r * n_out + o] = b.abs() + terms.map(f64::abs).sum::<f64>();
            }
        }
        assert_within("out", &out, &exact, &magnitude, n_in + 1);

        let mut dinp = vec![f32::NAN; n * n_in];
        let (mut dweight, mut dbias) = (dweight0.clone(), dbias0.clone());
        linear_backward(
            &mut dinp,
            &mut dweight,
            Some(&mut dbias),
            &dout,
            &inp,
            &weight,
            n_in,
        );
        let (mut exact, mut magnitude) = (vec![0.0; n * n_in], vec![0.0; n * n_in]);
        for r in 0..n {
            for i in 0..n_in {
                let terms = (0..n_out).map(|o| dout64[r * n_out + o] * weight64[o * n_in + i]);
                exact[r * n_in + i] = terms.clone().sum::<f64>();
                magnitude[r * n_in + i] = terms.map(f64::abs).sum::<f64>();
            }
        }
        assert_within("dinp", &dinp, &exact, &magnitude, n_out);

        let (mut exact, mut magnitude) = (vec![0.0; n_out * n_in], vec![0.0; n_out * n_in]);
        for o in 0..n_out {
            for i in 0..n_in {
                let terms = (0..n).map(|r| dout64[r * n_out + o] * inp64[r * n_in + i]);
                let prior = f64::from(dweight0[o * n_in + i]);
                exact[o * n_in + i] = prior + terms.clone().sum::<f64>();
                magnitude[o * n_in + i] = prior.abs() + terms.map(f64::abs).sum::<f64>();
            }
        }
        assert_within("dweight", &dweight, &exact, &magnitude, n + 1);

        // The bias gradient sums in f64 and rounds once into f32 (n + 1 terms covers it).
        let (mut exact, mut magnitude) = (vec![0.0; n_out], vec![0.0; n_out]);
        for o in 0..n_out {
            let terms = (0..n).map(|r| dout64[r * n_out + o]);
            let prior = f64::from(dbias0[o]);
            exact[o] = prior + terms.clone().sum::<f64>();
            magnitude[o] = prior.abs() + terms.map(f64::abs).sum::<f64>();
        }
        assert_within("dbias", &dbias, &exact, &magnitude, n + 1);
    }
}
