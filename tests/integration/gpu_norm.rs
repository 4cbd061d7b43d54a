//! `shaders/norm.wgsl` against `cpu::norm`: LayerNorm (with and without bias) and RMSNorm,
//! forward and backward, at block-like shapes and QK-norm-like ones (many short rows); and the
//! same with the residual add fused in (forward: the norm of `inp + residual`, which it also
//! writes; backward: the residual stream's gradient added to `dinp`).
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use archlab::cpu::norm::{norm_backward, norm_forward, NormStats};
use archlab::gpu::norm::{
    norm_backward_input, norm_backward_params, norm_forward as gpu_forward, NormShape,
};
use archlab::model::NormType;
use common::{assert_within, gamma, read, run, uniform};

/// (rows, dim): a row shorter than the 64-wide workgroup, one longer (130 = 2 × 64 + 2), and
/// many short rows as QK-norm has (rows = B*T*H, dim = D).
const SHAPES: [(usize, usize); 3] = [(37, 20), (5, 130), (300, 8)];
const EPS: f32 = 1e-5;

#[test]
fn norms_match_cpu_forward_and_backward() {
    let Some(ctx) = common::gpu() else { return };
    for (kind, with_bias) in [
        (NormType::LayerNorm, true),
        (NormType::LayerNorm, false),
        (NormType::RmsNorm, false),
    ] {
        for (seed, (rows, dim)) in SHAPES.into_iter().enumerate() {
            let seed = seed as u64 * 10;
            let name = format!("{kind:?} bias {with_bias} {rows}x{dim}");
            // Rows with a non-zero mean, so LayerNorm's centring matters.
            let inp: Vec<f32> = uniform(seed, rows * dim, 1.0)
                .iter()
                .map(|x| x + 0.5)
                .collect();
            let weight: Vec<f32> = uniform(seed + 1, dim, 0.5)
                .iter()
                .map(|w| 1.0 + w)
                .collect();
            let bias = with_bias.then(|| uniform(seed + 2, dim, 1.0));
            let dout = uniform(seed + 3, rows * dim, 1.0);
            // Parameter gradients accumulate (+=) onto what is there.
            let dweight0 = uniform(seed + 4, dim, 1.0);
            let dbias0 = uniform(seed + 5, dim, 1.0);
            // The fused residual add: the forward's input is split as inp = first + residual
            // (in f32, so first + residual rounds back to inp exactly only where it does; the
            // CPU reference below normalises the sum the GPU kernel forms, first + residual).
            let residual = uniform(seed + 6, rows * dim, 1.0);
            let first: Vec<f32> = inp.iter().zip(&residual).map(|(x, r)| x - r).collect();
            let summed: Vec<f32> = first.iter().zip(&residual).map(|(a, r)| a + r).collect();
            let dresidual = uniform(seed + 7, rows * dim, 1.0);

            let mut cpu_out = vec![0.0f32; rows * dim];
            let mut stats = NormStats::default();
            norm_forward(
                kind,
                &mut cpu_out,
                &mut stats,
                &inp,
                &weight,
                bias.as_deref(),
                f64::from(EPS),
            );
            let mut cpu_summed_out = vec![0.0f32; rows * dim];
            norm_forward(
                kind,
                &mut cpu_summed_out,
                &mut NormStats::default(),
                &summed,
                &weight,
                bias.as_deref(),
                f64::from(EPS),
            );
            let mut cpu_dinp = vec![0.0f32; rows * dim];
            let (mut cpu_dweight, mut cpu_dbias) = (dweight0.clone(), dbias0.clone());
            norm_backward(
                kind,
                &mut cpu_dinp,
                &mut cpu_dweight,
                with_bias.then_some(&mut cpu_dbias[..]),
                &dout,
                &inp,
                &weight,
                &stats,
            );

            let s = NormShape {
                rows,
                dim,
                eps: EPS,
            };
            let b_inp = ctx.storage_buffer("inp", &inp);
            let b_weight = ctx.storage_buffer("weight", &weight);
            let b_bias = bias.as_ref().map(|b| ctx.storage_buffer("bias", b));
            let b_out = ctx.zeros("out", rows * dim);
            let b_stats = ctx.zeros("stats", rows * 2);
            let b_dout = ctx.storage_buffer("dout", &dout);
            let b_dinp = ctx.zeros("dinp", rows * dim);
            let b_dweight = ctx.storage_buffer("dweight", &dweight0);
            let b_dbias = ctx.storage_buffer("dbias", &dbias0);
            let b_first = ctx.storage_buffer("first", &first);
            let b_residual = ctx.storage_buffer("residual", &residual);
            let b_sum = ctx.zeros("sum", rows * dim);
            let b_summed_out = ctx.zeros("summed out", rows * dim);
            let b_summed_stats = ctx.zeros("summed stats", rows * 2);
            let b_dresidual = ctx.storage_buffer("dresidual", &dresidual);
            let b_dinp_residual = ctx.zeros("dinp with residual", rows * dim);
            let forward = gpu_forward(
                &ctx,
                "norm",
                kind,
                s,
                (&b_inp).into(),
                None,
                (&b_weight).into(),
                b_bias.as_ref().map(Into::into),
                (&b_out).into(),
                (&b_stats).into(),
            );
            let input = norm_backward_input(
                &ctx,
                "norm.dinp",
                kind,
                s,
                (&b_dout).into(),
                (&b_inp).into(),
                (&b_weight).into(),
                (&b_stats).into(),
                None,
                (&b_dinp).into(),
            );
            let add_forward = gpu_forward(
                &ctx,
                "add norm",
                kind,
                s,
                (&b_first).into(),
                Some(((&b_residual).into(), (&b_sum).into())),
                (&b_weight).into(),
                b_bias.as_ref().map(Into::into),
                (&b_summed_out).into(),
                (&b_summed_stats).into(),
            );
            let input_residual = norm_backward_input(
                &ctx,
                "norm.dinp + residual",
                kind,
                s,
                (&b_dout).into(),
                (&b_inp).into(),
                (&b_weight).into(),
                (&b_stats).into(),
                Some((&b_dresidual).into()),
                (&b_dinp_residual).into(),
            );
            let params = norm_backward_params(
                &ctx,
                "norm.dparams",
                kind,
                s,
                (&b_dout).into(),
                (&b_inp).into(),
                (&b_stats).into(),
                (&b_dweight).into(),
                with_bias.then(|| (&b_dbias).into()),
            );
            run(
                &ctx,
                &[&forward, &input, &params, &add_forward, &input_residual],
            );

            // Forward: mean and variance are f32 sums of `dim` terms, each off by at most
            // gamma(dim) of the sum of |terms|; rstd inherits half the variance's relative error
            // plus a few roundings, and xhat = (x - mean) rstd is bounded by sqrt(dim). So each
            // output is within gamma(dim + 8) * (sqrt(dim) |w| + |b|) up to a factor 2 for the
            // sqrt and the reference's own rounding: the bound used is 4 gamma(dim + 8) (|out| + sqrt(dim) |w| + 1).
            let out = read(&ctx, &b_out);
            let bound = |i: usize| {
                4.0 * gamma(dim + 8)
                    * (f64::from(cpu_out[i].abs())
                        + (dim as f64).sqrt() * f64::from(weight[i % dim].abs())
                        + 1.0)
            };
            assert_within(&format!("{name} out"), &out, &cpu_out, bound);
            // Fused add: the sum is one f32 addition, as the CPU's, so exact; the norm of it
            // within the same bound.
            assert_eq!(read(&ctx, &b_sum), summed, "{name} sum");
            let bound = |i: usize| {
                4.0 * gamma(dim + 8)
                    * (f64::from(cpu_summed_out[i].abs())
                        + (dim as f64).sqrt() * f64::from(weight[i % dim].abs())
                        + 1.0)
            };
            let summed_out = read(&ctx, &b_summed_out);
            assert_within(
                &format!("{name} add+norm out"),
                &summed_out,
                &cpu_summed_out,
                bound,
            );

            // dinp = rstd (g - mean g - xhat mean(g xhat)): two row sums of `dim` terms of size
            // |g| |xhat| <= |w| sqrt(dim), times rstd. Bound: 4 gamma(dim + 8) rstd
            // (|g| + sqrt(dim) * max|g| * 2), i.e. the rounding of each term of the formula.
            let dinp = read(&ctx, &b_dinp);
            let max_g = |r: usize| {
                (0..dim)
                    .map(|j| f64::from((dout[r * dim + j] * weight[j]).abs()))
                    .fold(0.0, f64::max)
            };
            let bound = |i: usize| {
                let r = i / dim;
                4.0 * gamma(dim + 8)
                    * f64::from(stats.rstd[r])
                    * (1.0 + 2.0 * (dim as f64).sqrt())
                    * max_g(r)
                    * 2.0
            };
            assert_within(&format!("{name} dinp"), &dinp, &cpu_dinp, bound);
            // With the residual's gradient added: one more f32 addition on each side (half an
            // ulp of the result each, 2^-24 relative) on top of the same bound.
            let cpu_dinp_residual: Vec<f32> = cpu_dinp
                .iter()
                .zip(&dresidual)
                .map(|(d, r)| d + r)
                .collect();
            let dinp_residual = read(&ctx, &b_dinp_residual);
            assert_within(
                &format!("{name} dinp + residual"),
                &dinp_residual,
                &cpu_dinp_residual,
                |i| bound(i) + f64::from(cpu_dinp_residual[i].abs()) * 2f64.powi(-23),
            );

            // dweight[i] += sum over `rows` of dout xhat (|xhat| <= sqrt(dim)); dbias sums dout:
            // gamma(rows + 4) of the sum of |terms| plus the initial value, twice for xhat's own
            // rounding.
            let dweight = read(&ctx, &b_dweight);
            let bound = |i: usize| {
                let terms: f64 = (0..rows)
                    .map(|r| f64::from(dout[r * dim + i].abs()) * (dim as f64).sqrt())
                    .sum();
                2.0 * gamma(rows + dim + 8) * (terms + f64::from(dweight0[i].abs()))
            };
            assert_within(&format!("{name} dweight"), &dweight, &cpu_dweight, bound);
            if with_bias {
                let dbias = read(&ctx, &b_dbias);
                let bound = |i: usize| {
                    let terms: f64 = (0..rows).map(|r| f64::from(dout[r * dim + i].abs())).sum();
                    gamma(rows + 2) * (terms + f64::from(dbias0[i].abs()))
                };
                assert_within(&format!("{name} dbias"), &dbias, &cpu_dbias, bound);
            }
        }
    }
}
