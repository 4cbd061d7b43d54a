//! `shaders/loss.wgsl` against `cpu::loss`: cross-entropy with z-loss and ignored targets,
//! forward (per-row logsumexp, reduced means and count) and backward.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use archlab::contract::IGNORE;
use archlab::cpu::loss::{cross_entropy_backward, cross_entropy_forward};
use archlab::gpu::loss::{
    cross_entropy_backward as gpu_backward, cross_entropy_forward as gpu_forward,
    cross_entropy_reduce, LossShape, STATS_LEN,
};
use common::{assert_within, gamma, read, run, uniform, U};

#[test]
fn cross_entropy_matches_cpu_forward_and_backward() {
    let Some(ctx) = common::gpu() else { return };
    // V = 70 (just over the 64-wide workgroup) and 300; 37 and 300 rows (more than the
    // reduction's 256 invocations); z-loss off and on.
    for (rows, vocab, z_coef) in [(37, 70, 0.0), (300, 65, 1e-2), (37, 300, 0.1)] {
        let name = format!("{rows}x{vocab} z {z_coef}");
        let logits = uniform(rows as u64, rows * vocab, 4.0);
        let targets: Vec<i32> = (0..rows)
            .map(|r| {
                if r % 5 == 3 {
                    IGNORE
                } else {
                    ((r * 31 + 7) % vocab) as i32
                }
            })
            .collect();
        let mut lse = vec![0.0f32; rows];
        let terms = cross_entropy_forward(&mut lse, &logits, &targets, f64::from(z_coef));
        let mut dlogits = vec![0.0f32; rows * vocab];
        cross_entropy_backward(
            &mut dlogits,
            &logits,
            &lse,
            &targets,
            f64::from(z_coef),
            terms.count,
        );

        let s = LossShape {
            rows,
            vocab,
            z_coef,
        };
        let b_logits = ctx.storage_buffer("logits", &logits);
        let b_targets = ctx.storage_buffer("targets", &targets);
        let (b_lse, b_rows) = (ctx.zeros("lse", rows), ctx.zeros("row_loss", 2 * rows));
        let (b_stats, b_dlogits) = (
            ctx.zeros("stats", STATS_LEN),
            ctx.zeros("dlogits", rows * vocab),
        );
        let kernels = [
            gpu_forward(
                &ctx,
                "ce",
                s,
                (&b_logits).into(),
                (&b_targets).into(),
                (&b_lse).into(),
                (&b_rows).into(),
            ),
            cross_entropy_reduce(
                &ctx,
                "ce.reduce",
                s,
                (&b_targets).into(),
                (&b_rows).into(),
                (&b_lse).into(),
                (&b_stats).into(),
            ),
            gpu_backward(
                &ctx,
                "ce.back",
                s,
                (&b_logits).into(),
                (&b_targets).into(),
                (&b_lse).into(),
                (&b_stats).into(),
                (&b_dlogits).into(),
            ),
        ];
        run(&ctx, &[&kernels[0], &kernels[1], &kernels[2]]);

        // lse = max + log(sum of V exps, each within a few ulp): |lse| <= 4 + ln V, error
        // about (gamma(V) + 4u) relative to the sum, which log turns into absolute error, plus
        // the rounding of max + log: 4 (gamma(V + 4) + u |lse|).
        let lse_bound = |i: usize| 4.0 * (gamma(vocab + 4) + U * f64::from(lse[i].abs()));
        assert_within(&format!("{name} lse"), &read(&ctx, &b_lse), &lse, lse_bound);
        // Means of `rows` per-row terms each within lse's error (times 2 coef |lse| for z):
        // the same bound, plus the sum's gamma(rows) of the mean of |terms|.
        let stats = read(&ctx, &b_stats);
        let max_lse = lse.iter().fold(0.0f32, |m, x| m.max(x.abs())) as f64;
        let row_error = 4.0 * (gamma(vocab + 4) + U * max_lse);
        let ce_bound = row_error + gamma(rows + 2) * (max_lse + 4.0);
        let z_bound =
            f64::from(z_coef) * (2.0 * max_lse * row_error + gamma(rows + 4) * max_lse * max_lse);
        assert_within(
            &format!("{name} cross-entropy"),
            &stats[..1],
            &[terms.cross_entropy as f32],
            |_| ce_bound,
        );
        assert_within(
            &format!("{name} z-loss"),
            &stats[1..2],
            &[terms.z_loss as f32],
            |_| z_bound,
        );
        assert_eq!(stats[2], terms.count as f32, "{name} count");
        // The mean log Z of the counted rows: a mean of terms within row_error, as above.
        assert_within(
            &format!("{name} log Z"),
            &stats[3..4],
            &[terms.log_z as f32],
            |_| row_error + gamma(rows + 2) * max_lse,
        );
        // dlogits = p (1 + 2 coef lse) - onehot, over count: p = exp(x - lse) carries lse's
        // absolute error as relative error (exp adds a few ulp).
        let count = terms.count as f64;
        let bound = |i: usize| {
            let p = (f64::from(logits[i]) - f64::from(lse[i / vocab])).exp();
            (p * (row_error + 8.0 * U) * (1.0 + 2.0 * f64::from(z_coef) * max_lse) + 4.0 * U)
                / count
        };
        assert_within(
            &format!("{name} dlogits"),
            &read(&ctx, &b_dlogits),
            &dlogits,
            bound,
        );
    }
}
