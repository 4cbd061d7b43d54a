//! Linear layers: `out = inp W^T + b` with `W` stored `[out, in]` (PyTorch's layout).

use super::real::Real;

/// `out[n, o] = sum_i inp[n, i] * weight[o, i] + bias[o]`.
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
    for (row_out, row_in) in out.chunks_exact_mut(n_out).zip(inp.chunks_exact(n_in)) {
        for ((o, value), w) in row_out
            .iter_mut()
            .enumerate()
            .zip(weight.chunks_exact(n_in))
        {
            let bias = bias.map_or(0.0, |b| b[o].to_f64());
            *value = R::from_f64(bias + dot(row_in, w));
        }
    }
}

/// Backward of `linear_forward`: `dinp = dout W` (=), `dweight += dout^T inp`,
/// `dbias += sum_n dout`. Shapes as in the forward. Loops run along rows of `weight` and
/// `inp`, which are contiguous, with f64 accumulators.
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
    let mut row_acc = vec![0.0f64; n_in];
    let mut dweight_acc = vec![0.0f64; n_out * n_in];
    for ((row_dinp, row_dout), row_in) in dinp
        .chunks_exact_mut(n_in)
        .zip(dout.chunks_exact(n_out))
        .zip(inp.chunks_exact(n_in))
    {
        row_acc.fill(0.0);
        for ((&g, w), dw) in row_dout
            .iter()
            .zip(weight.chunks_exact(n_in))
            .zip(dweight_acc.chunks_exact_mut(n_in))
        {
            let g = g.to_f64();
            for (((acc, &wi), dwi), &x) in row_acc.iter_mut().zip(w).zip(dw).zip(row_in) {
                *acc += g * wi.to_f64();
                *dwi += g * x.to_f64();
            }
        }
        for (value, &acc) in row_dinp.iter_mut().zip(&row_acc) {
            *value = R::from_f64(acc);
        }
    }
    for (dw, acc) in dweight.iter_mut().zip(dweight_acc) {
        dw.accumulate(acc);
    }
    if let Some(dbias) = dbias {
        for (o, db) in dbias.iter_mut().enumerate() {
            db.accumulate(dout.chunks_exact(n_out).map(|row| row[o].to_f64()).sum());
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
}
