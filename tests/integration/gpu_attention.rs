//! `shaders/attention.wgsl` against `cpu::attention`: every mask pattern, MHA / GQA / MQA head
//! mappings, with and without ALiBi and logit soft-capping, forward (probabilities, their row maxima, values) and
//! backward (weights and values, softmax, queries and keys); and the fused kernels (one pass per
//! row, no probability matrix) against the same results; and the fused forward over a KV
//! cache at a position offset (decoding) against `cpu::attention::attention_cached_forward`.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use archlab::contract::ops::AttentionShape;
use archlab::cpu::attention::{
    attention_cached_forward, attention_probs_backward, attention_probs_forward,
    attention_values_backward, attention_values_forward,
};
use archlab::cpu::kv_cache::KvCache;
use archlab::gpu::attention as gpu;
use archlab::model::{AttentionPattern, ModelConfig};
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

/// One shape and logit setting with random inputs and the CPU's results.
struct Case {
    name: String,
    s: AttentionShape,
    pattern: AttentionPattern,
    alibi: bool,
    softcap: Option<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    dout: Vec<f32>,
    /// The CPU's probabilities, largest raw logit, output, dprobs and the input gradients.
    probs: Vec<f32>,
    max_logit: f64,
    out: Vec<f32>,
    dprobs: Vec<f32>,
    dq: Vec<f32>,
    dk: Vec<f32>,
    dv: Vec<f32>,
}

/// Every mask pattern, head mapping and (ALiBi, soft-cap) setting, on random inputs.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
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
                cases.push(Case {
                    name,
                    s,
                    pattern,
                    alibi,
                    softcap,
                    q,
                    k,
                    v,
                    dout,
                    probs,
                    max_logit,
                    out,
                    dprobs,
                    dq,
                    dk,
                    dv,
                });
            }
        }
    }
    cases
}

/// Bounds on the GPU's errors against the CPU's (which computes in f64 and rounds once).
struct Bounds {
    /// Of a logit: sums of D products of size <= 4, off by gamma(D) 4 D = 2.4e-6 absolute;
    /// the cap's slope is <= 1, so it passes that error on and adds its tanh's: WGSL bounds
    /// tanh through exp's 3 + 2|x| ulp, |x| <= 15 after the clamp, times c.
    logit: f64,
    /// Relative, of a probability p = e^(l - max) / sum: p times the logit errors of its row
    /// (twice: its own and the normaliser's), plus the rounding of T exps and the sum.
    prob: f64,
}

/// The bounds of a row over `t` keys of `d` values each, capped at `softcap`.
fn bounds(t: usize, d: usize, softcap: Option<f32>) -> Bounds {
    let logit =
        gamma(d + 2) * 4.0 * d as f64 + softcap.map_or(0.0, |c| 2.0 * 33.0 * U * f64::from(c));
    Bounds {
        logit,
        prob: 2.0 * (logit + gamma(t + 4)),
    }
}

impl Case {
    fn bounds(&self) -> Bounds {
        bounds(self.s.seq, self.s.d_head, self.softcap)
    }

    /// The GPU's output, dq, dk and dv against the CPU's, `prob` the relative error of the
    /// GPU's probabilities (Bounds::prob, or more where the kernel rounds more).
    fn check_outputs(&self, prob: f64, out: &[f32], [dq, dk, dv]: [&[f32]; 3]) {
        let (name, s) = (&self.name, self.s);
        let (t, d) = (s.seq, s.d_head);
        // Each output sums <= T terms p v with sum p = 1 and |v| <= 1: error gamma(T)
        // plus the probabilities' own relative error carried through.
        let out_bound = |_| gamma(t + 2) + prob + U;
        assert_within(&format!("{name} out"), out, &self.out, out_bound);
        // dv sums over the H/K query heads and <= T queries of p dout (sum p <= 1 per
        // query row): at most H/K * T terms, with |sum| <= H/K * T.
        let group = s.n_heads / s.n_kv_heads;
        let dv_bound = |_| (gamma(group * t + 2) + prob) * (group * t) as f64;
        assert_within(&format!("{name} dv"), dv, &self.dv, dv_bound);
        // ds = p (dp - p.dp) / sqrt(D) with |dp| <= D: |ds| <= 2 D p / sqrt(D); dq sums T
        // terms ds k (|k| <= 2), dk sums group * T terms ds q: bound each by its terms'
        // total magnitude 2 D * 2 / sqrt(D) * (terms) times the relative error of p, dp
        // and the sums.
        let rel = 2.0 * prob + gamma(group * t + d + 4);
        let scale = 4.0 * (d as f64).sqrt();
        assert_within(&format!("{name} dq"), dq, &self.dq, |_| {
            rel * scale * t as f64
        });
        assert_within(&format!("{name} dk"), dk, &self.dk, |_| {
            rel * scale * (group * t) as f64
        });
    }

    /// The GPU's rows' largest raw logits against the CPU's largest over all rows.
    fn check_max_logit(&self, row_max: &[f32]) {
        let gpu_max = row_max.iter().copied().fold(f32::MIN, f32::max);
        let bound = self.bounds().logit;
        let name = &self.name;
        assert_within(
            &format!("{name} max logit"),
            &[gpu_max],
            &[self.max_logit as f32],
            |_| bound,
        );
    }
}

#[test]
fn attention_matches_cpu_forward_and_backward() {
    let Some(ctx) = common::gpu() else { return };
    for c in cases() {
        let Case {
            ref name,
            s,
            pattern,
            alibi,
            softcap,
            ..
        } = c;
        let (t, d) = (s.seq, s.d_head);
        let n_q = s.batch * t * s.n_heads * d;
        let n_kv = s.batch * t * s.n_kv_heads * d;
        let n_probs = s.batch * s.n_heads * t * t;
        let (q, k, v, dout) = (&c.q, &c.k, &c.v, &c.dout);
        let b = |label: &str, data: &[f32]| ctx.storage_buffer(label, data);
        let (bq, bk, bv, bdout) = (b("q", q), b("k", k), b("v", v), b("dout", dout));
        let bprobs = ctx.zeros("probs", n_probs);
        let brow_max = ctx.zeros("row_max", s.batch * s.n_heads * t);
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
                gpu::Logits {
                    pattern,
                    alibi,
                    softcap,
                },
                (&bq).into(),
                (&bk).into(),
                (&bprobs).into(),
                (&brow_max).into(),
            ),
            gpu::weighted_sum(
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
            gpu::weighted_sum_transposed(
                &ctx,
                "dv",
                s,
                (&bprobs).into(),
                (&bdout).into(),
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
            gpu::weighted_sum(&ctx, "dq", s, (&bgrad).into(), (&bk).into(), (&bdq).into()),
            gpu::weighted_sum_transposed(
                &ctx,
                "dk",
                s,
                (&bgrad).into(),
                (&bq).into(),
                (&bdk).into(),
            ),
        ];
        run(&ctx, &kernels.iter().collect::<Vec<_>>());

        let bounds = c.bounds();
        let gpu_probs = read(&ctx, &bprobs);
        let bound = |i: usize| bounds.prob * f64::from(c.probs[i]) + U;
        assert_within(&format!("{name} probs"), &gpu_probs, &c.probs, bound);
        c.check_max_logit(&read(&ctx, &brow_max));
        // dweights are dot products of D terms of size <= 1.
        let dot_bound = |_| gamma(d + 1) * d as f64;
        assert_within(
            &format!("{name} dweights"),
            &gpu_dprobs,
            &c.dprobs,
            dot_bound,
        );
        let [dq, dk, dv] = [&bdq, &bdk, &bdv].map(|b| read(&ctx, b));
        c.check_outputs(bounds.prob, &read(&ctx, &bout), [&dq, &dk, &dv]);
    }
}

#[test]
fn fused_attention_matches_cpu_forward_and_backward() {
    let Some(ctx) = common::gpu() else { return };
    for c in cases() {
        let s = c.s;
        let rows = s.batch * s.n_heads * s.seq;
        let b = |label: &str, data: &[f32]| ctx.storage_buffer(label, data);
        let (bq, bk, bv, bdout) = (b("q", &c.q), b("k", &c.k), b("v", &c.v), b("dout", &c.dout));
        let (bout, blse, brow_max, bdelta) = (
            ctx.zeros("out", c.q.len()),
            ctx.zeros("lse", rows),
            ctx.zeros("row_max", rows),
            ctx.zeros("delta", rows),
        );
        let (bdq, bdk, bdv) = (
            ctx.zeros("dq", c.q.len()),
            ctx.zeros("dk", c.k.len()),
            ctx.zeros("dv", c.v.len()),
        );
        let logits = gpu::Logits {
            pattern: c.pattern,
            alibi: c.alibi,
            softcap: c.softcap,
        };
        let forward = gpu::fused_forward(
            &ctx,
            "fused",
            s,
            logits,
            (&bq).into(),
            (&bk).into(),
            (&bv).into(),
            (&bout).into(),
            (&blse).into(),
            (&brow_max).into(),
        );
        let saved = gpu::FusedSaved {
            q: (&bq).into(),
            k: (&bk).into(),
            v: (&bv).into(),
            out: (&bout).into(),
            lse: (&blse).into(),
            dout: (&bdout).into(),
        };
        let [back_q, back_kv] = gpu::fused_backward(
            &ctx,
            "fused.back",
            s,
            logits,
            saved,
            (&bdelta).into(),
            [(&bdq).into(), (&bdk).into(), (&bdv).into()],
        );
        run(&ctx, &[&forward, &back_q, &back_kv]);

        // The online softmax rescales its running sum and output up to T times, and the
        // backward recomputes p = exp(s - lse) with lse's own rounding: gamma(2 T) more on
        // each probability than the two-product kernels.
        let prob = c.bounds().prob + gamma(2 * s.seq);
        let [dq, dk, dv] = [&bdq, &bdk, &bdv].map(|b| read(&ctx, b));
        c.check_outputs(prob, &read(&ctx, &bout), [&dq, &dk, &dv]);
        c.check_max_logit(&read(&ctx, &brow_max));
    }
}

/// Decoding: T new queries at positions start.. attend over a layer's cache `[P, K, D]` after
/// `cache_append` wrote their keys and values at rows start..; against the CPU's one-query
/// attention over its own cache, for every pattern, head mapping, ALiBi and soft-cap.
#[test]
fn cached_attention_matches_cpu() {
    let Some(ctx) = common::gpu() else { return };
    // P = 9 positions of room, 5 cached, 3 new: rows 8.. stay unwritten and unread.
    let (context, start, new, d) = (9, 5, 3, 5);
    let positions = start + new;
    let mut case = 1000u64;
    for pattern in PATTERNS {
        for (n_heads, n_kv_heads) in HEADS {
            for (alibi, softcap) in [(false, None), (true, None), (true, Some(1.5f32))] {
                case += 1;
                let name = format!(
                    "cached {pattern:?} H{n_heads} K{n_kv_heads} alibi {alibi} cap {softcap:?}"
                );
                let s = AttentionShape {
                    batch: 1,
                    seq: new,
                    n_heads,
                    n_kv_heads,
                    d_head: d,
                };
                let row = n_kv_heads * d;
                let q = uniform(case * 10, new * n_heads * d, 2.0);
                let keys = uniform(case * 10 + 1, positions * row, 2.0);
                let values = uniform(case * 10 + 2, positions * row, 1.0);

                let config = ModelConfig {
                    n_layers: 1,
                    n_heads,
                    n_kv_heads,
                    d_model: n_heads * d,
                    context_len: context,
                    ..ModelConfig::DEFAULT
                };
                let mut cache = KvCache::new(&config);
                cache.append(0, &keys, &values);
                let mut out = vec![0.0f32; q.len()];
                let cap = softcap.map(f64::from);
                let max_logit = attention_cached_forward(
                    &mut out, &q, &cache, 0, start, s, pattern, alibi, cap,
                );

                // The cached rows below start, garbage above them (rows the append must
                // overwrite, and the row past the last position the queries must not read).
                let mut cached_keys = vec![1e3f32; context * row];
                let mut cached_values = vec![1e3f32; context * row];
                cached_keys[..start * row].copy_from_slice(&keys[..start * row]);
                cached_values[..start * row].copy_from_slice(&values[..start * row]);
                let b = |label: &str, data: &[f32]| ctx.storage_buffer(label, data);
                let (bq, bk_cache, bv_cache) = (
                    b("q", &q),
                    b("k cache", &cached_keys),
                    b("v cache", &cached_values),
                );
                let (bk, bv) = (b("k", &keys[start * row..]), b("v", &values[start * row..]));
                let rows = n_heads * new;
                let (bout, blse, brow_max) = (
                    ctx.zeros("out", q.len()),
                    ctx.zeros("lse", rows),
                    ctx.zeros("row_max", rows),
                );
                let append = gpu::cache_append(
                    &ctx,
                    "append",
                    s,
                    (&bk).into(),
                    (&bv).into(),
                    (&bk_cache).into(),
                    (&bv_cache).into(),
                );
                let logits = gpu::Logits {
                    pattern,
                    alibi,
                    softcap,
                };
                let attend = gpu::fused_forward(
                    &ctx,
                    "cached",
                    s,
                    logits,
                    (&bq).into(),
                    (&bk_cache).into(),
                    (&bv_cache).into(),
                    (&bout).into(),
                    (&blse).into(),
                    (&brow_max).into(),
                );
                gpu::set_start(&ctx, &append, s, start);
                gpu::set_start(&ctx, &attend, s, start);
                run(&ctx, &[&append, &attend]);

                // The append copies: exact.
                let appended = read(&ctx, &bk_cache);
                assert_eq!(appended[..positions * row], keys[..], "{name} keys");
                assert_eq!(
                    appended[positions * row..],
                    vec![1e3f32; row],
                    "{name} row 8"
                );
                let appended = read(&ctx, &bv_cache);
                assert_eq!(appended[..positions * row], values[..], "{name} values");
                // The online softmax over up to P keys, as the fused test bounds it.
                let bounds = bounds(positions, d, softcap);
                let prob = bounds.prob + gamma(2 * positions);
                let out_bound = |_| gamma(positions + 2) + prob + U;
                assert_within(&format!("{name} out"), &read(&ctx, &bout), &out, out_bound);
                let gpu_max = read(&ctx, &brow_max).into_iter().fold(f32::MIN, f32::max);
                assert_within(
                    &format!("{name} max logit"),
                    &[gpu_max],
                    &[max_logit as f32],
                    |_| bounds.logit,
                );
            }
        }
    }
}
