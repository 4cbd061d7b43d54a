//! `shaders/attention.wgsl` against `cpu::attention`: every mask pattern, MHA / GQA / MQA head
//! mappings, with and without ALiBi and logit soft-capping, forward (probabilities, their row maxima, values) and
//! backward (weights and values, softmax, queries and keys).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use archlab::contract::ops::AttentionShape;
use archlab::cpu::attention::{
    attention_probs_backward, attention_probs_forward, attention_values_backward,
    attention_values_forward,
};
use archlab::gpu::attention as gpu;
use archlab::model::AttentionPattern;
use common::{assert_within, gamma, read, run, uniform, U};

const PATTERNS: [AttentionPattern; 3] = [
    AttentionPattern::Full,
    AttentionPattern::SlidingWindow { window: 3 },
    AttentionPattern::Sparse {
        local: 2,
        stride: 3,
    },
];

/// (H, K): MHA, GQA and MQA.
const HEADS: [(usize, usize); 3] = [(2, 2), (4, 2), (3, 1)];

#[test]
fn attention_matches_cpu_forward_and_backward() {
    let Some(ctx) = common::gpu() else { return };
    let mut case = 0u64;
    for pattern in PATTERNS {
        for (n_heads, n_kv_heads) in HEADS {
            // A cap of 1.5 bends the logits of a few units strongly (Gemma 2 caps at 50, but
            // the kernel is the same).
            for (alibi, softcap) in [(false, None), (true, None), (true, Some(1.5f32))] {
                case += 1;
                // T = 7 and D = 5: neither a multiple of anything in the kernels; B*H*T rows and
                // B*T*H*D elements are not multiples of the 64-wide workgroups either.
                let s = AttentionShape {
                    batch: 2,
                    seq: 7,
                    n_heads,
                    n_kv_heads,
                    d_head: 5,
                };
                let name =
                    format!("{pattern:?} H{n_heads} K{n_kv_heads} alibi {alibi} cap {softcap:?}");
                let cap = softcap.map(f64::from);
                let (t, d) = (s.seq, s.d_head);
                let n_q = s.batch * t * n_heads * d;
                let n_kv = s.batch * t * n_kv_heads * d;
                let n_probs = s.batch * n_heads * t * t;
                // q, k of size 2 give logits of a few units: a softmax far from uniform.
                let q = uniform(case * 10, n_q, 2.0);
                let k = uniform(case * 10 + 1, n_kv, 2.0);
                let v = uniform(case * 10 + 2, n_kv, 1.0);
                let dout = uniform(case * 10 + 3, n_q, 1.0);

                let mut probs = vec![0.0f32; n_probs];
                let max_logit = attention_probs_forward(&mut probs, &q, &k, s, pattern, alibi, cap);
                let mut out = vec![0.0f32; n_q];
                attention_values_forward(&mut out, &probs, &v, s);
                let (mut dprobs, mut dv) = (vec![0.0f32; n_probs], vec![0.0f32; n_kv]);
                attention_values_backward(&mut dprobs, &mut dv, &dout, &probs, &v, s);
                let (mut dq, mut dk) = (vec![0.0f32; n_q], vec![0.0f32; n_kv]);
                attention_probs_backward(&mut dq, &mut dk, &dprobs, &probs, &q, &k, s, cap);

                let b = |label: &str, data: &[f32]| ctx.storage_buffer(label, data);
                let (bq, bk, bv, bdout) = (b("q", &q), b("k", &k), b("v", &v), b("dout", &dout));
                let bprobs = ctx.zeros("probs", n_probs);
                let brow_max = ctx.zeros("row_max", s.batch * n_heads * t);
                let bout = ctx.zeros("out", n_q);
                let bgrad = ctx.zeros("dprobs", n_probs);
                let (bdv, bdq, bdk) = (
                    ctx.zeros("dv", n_kv),
                    ctx.zeros("dq", n_q),
                    ctx.zeros("dk", n_kv),
                );
                let kernels = [
                    gpu::probs_forward(
                        &ctx,
                        "probs",
                        s,
                        pattern,
                        alibi,
                        softcap,
                        (&bq).into(),
                        (&bk).into(),
                        (&bprobs).into(),
                        (&brow_max).into(),
                    ),
                    gpu::values_forward(
                        &ctx,
                        "values",
                        s,
                        (&bprobs).into(),
                        (&bv).into(),
                        (&bout).into(),
                    ),
                    gpu::values_backward_weights(
                        &ctx,
                        "dweights",
                        s,
                        (&bdout).into(),
                        (&bv).into(),
                        (&bgrad).into(),
                    ),
                    gpu::values_backward_v(
                        &ctx,
                        "dv",
                        s,
                        (&bdout).into(),
                        (&bprobs).into(),
                        (&bdv).into(),
                    ),
                ];
                run(&ctx, &kernels.iter().collect::<Vec<_>>());
                // dweights is checked before the softmax backward turns it into ds in place.
                let gpu_dprobs = read(&ctx, &bgrad);
                let kernels = [
                    gpu::softmax_backward(
                        &ctx,
                        "softmax",
                        s,
                        softcap,
                        (&bprobs).into(),
                        (&bgrad).into(),
                        (&bq).into(),
                        (&bk).into(),
                    ),
                    gpu::probs_backward_q(
                        &ctx,
                        "dq",
                        s,
                        (&bgrad).into(),
                        (&bk).into(),
                        (&bdq).into(),
                    ),
                    gpu::probs_backward_k(
                        &ctx,
                        "dk",
                        s,
                        (&bgrad).into(),
                        (&bq).into(),
                        (&bdk).into(),
                    ),
                ];
                run(&ctx, &kernels.iter().collect::<Vec<_>>());

                // Logits are sums of D products of size <= 4, so they are off by gamma(D) 4 D
                // = 2.4e-6 absolute; a probability p = e^(l - max) / sum moves by p times
                // the logit errors of its row (twice: its own and the normaliser's), plus the
                // rounding of T exps and the sum: 2 (gamma(D + 2) 4 D + gamma(T + 4)) p + u.
                // The cap's slope is <= 1, so it passes that error on and adds its tanh's: WGSL
                // bounds tanh through exp's 3 + 2|x| ulp, |x| <= 15 after the clamp, times c.
                let logit_error = gamma(d + 2) * 4.0 * d as f64
                    + softcap.map_or(0.0, |c| 2.0 * 33.0 * U * f64::from(c));
                let gpu_probs = read(&ctx, &bprobs);
                let bound =
                    |i: usize| 2.0 * (logit_error + gamma(t + 4)) * f64::from(probs[i]) + common::U;
                assert_within(&format!("{name} probs"), &gpu_probs, &probs, bound);
                // The largest raw logit of each row against the CPU's largest over all rows.
                let gpu_max = read(&ctx, &brow_max).into_iter().fold(f32::MIN, f32::max);
                assert_within(
                    &format!("{name} max logit"),
                    &[gpu_max],
                    &[max_logit as f32],
                    |_| logit_error,
                );

                // Each output sums <= T terms p v with sum p = 1 and |v| <= 1: error gamma(T)
                // plus the probabilities' own relative error carried through.
                let out_bound = |_| gamma(t + 2) + 2.0 * (logit_error + gamma(t + 4)) + common::U;
                assert_within(&format!("{name} out"), &read(&ctx, &bout), &out, out_bound);
                // dweights are dot products of D terms of size <= 1.
                let dot_bound = |_| gamma(d + 1) * d as f64;
                assert_within(&format!("{name} dweights"), &gpu_dprobs, &dprobs, dot_bound);
                // dv sums over the H/K query heads and <= T queries of p dout (sum p <= 1 per
                // query row): at most H/K * T terms, with |sum| <= H/K * T.
                let group = n_heads / n_kv_heads;
                let dv_bound = |_| {
                    (gamma(group * t + 2) + 2.0 * (logit_error + gamma(t + 4))) * (group * t) as f64
                };
                assert_within(&format!("{name} dv"), &read(&ctx, &bdv), &dv, dv_bound);
                // ds = p (dp - p.dp) / sqrt(D) with |dp| <= D: |ds| <= 2 D p / sqrt(D); dq sums T
                // terms ds k (|k| <= 2), dk sums group * T terms ds q: bound each by its terms'
                // total magnitude 2 D * 2 / sqrt(D) * (terms) times the relative error of p, dp
                // and the sums.
                let rel = 4.0 * (logit_error + gamma(t + 4)) + gamma(group * t + d + 4);
                let scale = 4.0 * (d as f64).sqrt();
                assert_within(&format!("{name} dq"), &read(&ctx, &bdq), &dq, |_| {
                    rel * scale * t as f64
                });
                assert_within(&format!("{name} dk"), &read(&ctx, &bdk), &dk, |_| {
                    rel * scale * (group * t) as f64
                });
            }
        }
    }
}
