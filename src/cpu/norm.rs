//! LayerNorm and RMSNorm over the last dimension of `[rows, dim]`.

use super::real::Real;
use crate::model::NormType;

/// What a norm's backward needs besides its input: per-row statistics.
#[derive(Clone, Debug, Default)]
pub struct NormStats<R> {
    /// Row means, `[rows]`; LayerNorm only (empty for RMSNorm).
    pub mean: Vec<R>,
    /// Row reciprocal standard deviations `1 / sqrt(var + eps)` (RMSNorm: of the raw second
    /// moment), `[rows]`.
    pub rstd: Vec<R>,
}

/// `out = (inp - mean) * rstd * weight + bias`; RMSNorm has no mean and no bias.
///
/// Shapes: `out`, `inp` `[rows, dim]`; `weight`, `bias` `[dim]`. `kind` is LayerNorm or RmsNorm.
pub fn norm_forward<R: Real>(
    kind: NormType,
    out: &mut [R],
    stats: &mut NormStats<R>,
    inp: &[R],
    weight: &[R],
    bias: Option<&[R]>,
    eps: f64,
) {
    let dim = weight.len();
    let centred = is_centred(kind);
    stats.rstd.clear();
    stats.mean.clear();
    for (row_out, row) in out.chunks_exact_mut(dim).zip(inp.chunks_exact(dim)) {
        let mean = if centred {
            row.iter().map(|x| x.to_f64()).sum::<f64>() / dim as f64
        } else {
            0.0
        };
        let var = row.iter().map(|x| (x.to_f64() - mean).powi(2)).sum::<f64>() / dim as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        for (i, o) in row_out.iter_mut().enumerate() {
            let shift = bias.map_or(0.0, |b| b[i].to_f64());
            *o = R::from_f64((row[i].to_f64() - mean) * rstd * weight[i].to_f64() + shift);
        }
        if centred {
            stats.mean.push(R::from_f64(mean));
        }
        stats.rstd.push(R::from_f64(rstd));
    }
}

/// Backward of `norm_forward`. With `xhat = (x - mean) rstd` and `g = dout * weight`:
/// LayerNorm `dinp = rstd (g - mean(g) - xhat mean(g xhat))`, RMSNorm
/// `dinp = rstd (g - xhat mean(g xhat))` (=); `dweight += sum dout xhat`, `dbias += sum dout`.
#[allow(clippy::too_many_arguments)] // one per tensor the math needs, as in llm.c
pub fn norm_backward<R: Real>(
    kind: NormType,
    dinp: &mut [R],
    dweight: &mut [R],
    mut dbias: Option<&mut [R]>,
    dout: &[R],
    inp: &[R],
    weight: &[R],
    stats: &NormStats<R>,
) {
    let dim = weight.len();
    let centred = is_centred(kind);
    let rows = dinp
        .chunks_exact_mut(dim)
        .zip(dout.chunks_exact(dim))
        .zip(inp.chunks_exact(dim));
    for (r, ((row_dinp, row_dout), row)) in rows.enumerate() {
        let mean = if centred { stats.mean[r].to_f64() } else { 0.0 };
        let rstd = stats.rstd[r].to_f64();
        let xhat = |i: usize| (row[i].to_f64() - mean) * rstd;
        let g = |i: usize| row_dout[i].to_f64() * weight[i].to_f64();
        let mean_g = if centred {
            (0..dim).map(g).sum::<f64>() / dim as f64
        } else {
            0.0
        };
        let mean_g_xhat = (0..dim).map(|i| g(i) * xhat(i)).sum::<f64>() / dim as f64;
        for (i, d) in row_dinp.iter_mut().enumerate() {
            *d = R::from_f64(rstd * (g(i) - mean_g - xhat(i) * mean_g_xhat));
            dweight[i].accumulate(row_dout[i].to_f64() * xhat(i));
        }
        if let Some(dbias) = dbias.as_deref_mut() {
            for (db, &d) in dbias.iter_mut().zip(row_dout) {
                db.accumulate(d.to_f64());
            }
        }
    }
}

fn is_centred(kind: NormType) -> bool {
    match kind {
        NormType::LayerNorm => true,
        NormType::RmsNorm => false,
        NormType::None => unreachable!("a norm op is only called for LayerNorm or RMSNorm"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::real::gradcheck::{assert_gradient, project, uniform};

    #[test]
    fn forward_matches_hand_computed_rows() {
        // Row [1, 3]: mean 2, var 1 -> LayerNorm [-1, 1] (eps 0).
        // RMSNorm: mean square (1 + 9) / 2 = 5 -> [1, 3] / sqrt(5).
        let mut out = [0.0f64; 2];
        let mut stats = NormStats::default();
        norm_forward(
            NormType::LayerNorm,
            &mut out,
            &mut stats,
            &[1.0, 3.0],
            &[1.0, 1.0],
            None,
            0.0,
        );
        assert_eq!(out, [-1.0, 1.0]);
        norm_forward(
            NormType::RmsNorm,
            &mut out,
            &mut stats,
            &[1.0, 3.0],
            &[1.0, 2.0],
            None,
            0.0,
        );
        let s5 = 5.0f64.sqrt();
        assert!((out[0] - 1.0 / s5).abs() < 1e-15 && (out[1] - 6.0 / s5).abs() < 1e-15);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let (rows, dim) = (3, 5);
        for (kind, with_bias) in [
            (NormType::LayerNorm, true),
            (NormType::LayerNorm, false),
            (NormType::RmsNorm, false),
        ] {
            let inp = uniform(1, rows * dim);
            let weight: Vec<f64> = uniform(2, dim).iter().map(|w| 1.0 + w).collect();
            let bias = uniform(3, dim);
            let bias = with_bias.then_some(&bias[..]);
            let dout = uniform(4, rows * dim);
            let loss = |inp: &[f64], weight: &[f64], bias: Option<&[f64]>| {
                let mut out = vec![0.0; rows * dim];
                norm_forward(
                    kind,
                    &mut out,
                    &mut NormStats::default(),
                    inp,
                    weight,
                    bias,
                    1e-5,
                );
                project(&out, &dout)
            };
            let mut stats = NormStats::default();
            norm_forward(
                kind,
                &mut vec![0.0; rows * dim],
                &mut stats,
                &inp,
                &weight,
                bias,
                1e-5,
            );
            let mut dinp = vec![0.0; rows * dim];
            let mut dweight = vec![0.0; dim];
            let mut dbias = vec![0.0; dim];
            let dbias_arg = with_bias.then_some(&mut dbias[..]);
            norm_backward(
                kind,
                &mut dinp,
                &mut dweight,
                dbias_arg,
                &dout,
                &inp,
                &weight,
                &stats,
            );
            let name = format!("{kind:?} bias {with_bias}");
            assert_gradient(&format!("{name} dinp"), &inp, &dinp, |x| {
                loss(x, &weight, bias)
            });
            assert_gradient(&format!("{name} dweight"), &weight, &dweight, |w| {
                loss(&inp, w, bias)
            });
            if let Some(bias) = bias {
                assert_gradient(&format!("{name} dbias"), bias, &dbias, |b| {
                    loss(&inp, &weight, Some(b))
                });
            }
        }
    }
}
