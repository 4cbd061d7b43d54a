//! Causal self-attention in two ops, so dropout can sit on the probabilities between them:
//! `probs = softmax(q k^T / sqrt(D) + alibi, masked)` and `out = probs v`. Query head h reads
//! KV head `h / (H / K)`: consecutive query heads share a KV head (Hugging Face `repeat_kv`).

use super::real::Real;
use crate::contract::ops::{alibi_slope, AttentionShape};
use crate::model::AttentionPattern;

fn dot<R: Real>(a: &[R], b: &[R]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x.to_f64() * y.to_f64()).sum()
}

/// Attention probabilities; invisible keys get probability 0. Returns the largest logit
/// `q.k / sqrt(D)` over visible pairs (before the ALiBi bias), the quantity QK-norm bounds.
///
/// Shapes: `probs` `[B, H, T, T]`, `q` `[B, T, H, D]`, `k` `[B, T, K, D]`.
pub fn attention_probs_forward<R: Real>(
    probs: &mut [R],
    q: &[R],
    k: &[R],
    s: AttentionShape,
    pattern: AttentionPattern,
    alibi: bool,
) -> f64 {
    let scale = 1.0 / (s.d_head as f64).sqrt();
    let mut max_logit = f64::NEG_INFINITY;
    let mut logits = vec![0.0f64; s.seq];
    for b in 0..s.batch {
        for h in 0..s.n_heads {
            let slope = if alibi {
                alibi_slope(h, s.n_heads)
            } else {
                0.0
            };
            for i in 0..s.seq {
                let qi = &q[s.q_index(b, i, h)..][..s.d_head];
                let mut row_max = f64::NEG_INFINITY;
                for (j, logit) in logits.iter_mut().enumerate() {
                    if pattern.visible(i, j) {
                        let kj = &k[s.kv_index(b, j, s.kv_head(h))..][..s.d_head];
                        let raw = dot(qi, kj) * scale;
                        max_logit = max_logit.max(raw);
                        *logit = raw - slope * (i - j) as f64;
                        row_max = row_max.max(*logit);
                    }
                }
                // The diagonal is always visible, so every row has at least one key.
                let row = &mut probs[s.probs_row(b, h, i)..][..s.seq];
                let mut sum = 0.0;
                for (j, p) in row.iter_mut().enumerate() {
                    let e = if pattern.visible(i, j) {
                        (logits[j] - row_max).exp()
                    } else {
                        0.0
                    };
                    sum += e;
                    *p = R::from_f64(e);
                }
                for p in row.iter_mut() {
                    *p = R::from_f64(p.to_f64() / sum);
                }
            }
        }
    }
    max_logit
}

/// Backward of `attention_probs_forward`: with `ds = p (dp - sum_j p dp)` (softmax; masked
/// entries have p = 0 and get nothing), `dq = ds k / sqrt(D)` and `dk = ds^T q / sqrt(D)`
/// summed over the query heads sharing a KV head (both =). ALiBi is a constant: no gradient.
pub fn attention_probs_backward<R: Real>(
    dq: &mut [R],
    dk: &mut [R],
    dprobs: &[R],
    probs: &[R],
    q: &[R],
    k: &[R],
    s: AttentionShape,
) {
    let scale = 1.0 / (s.d_head as f64).sqrt();
    let mut dq_acc = vec![0.0f64; dq.len()];
    let mut dk_acc = vec![0.0f64; dk.len()];
    for b in 0..s.batch {
        for h in 0..s.n_heads {
            let kv = s.kv_head(h);
            for i in 0..s.seq {
                let row = s.probs_row(b, h, i);
                let p = &probs[row..][..s.seq];
                let dp = &dprobs[row..][..s.seq];
                let p_dot_dp = dot(p, dp);
                for j in 0..=i {
                    let ds = p[j].to_f64() * (dp[j].to_f64() - p_dot_dp) * scale;
                    if ds == 0.0 {
                        continue;
                    }
                    let (qi, kj) = (s.q_index(b, i, h), s.kv_index(b, j, kv));
                    for d in 0..s.d_head {
                        dq_acc[qi + d] += ds * k[kj + d].to_f64();
                        dk_acc[kj + d] += ds * q[qi + d].to_f64();
                    }
                }
            }
        }
    }
    for (d, a) in dq.iter_mut().zip(dq_acc).chain(dk.iter_mut().zip(dk_acc)) {
        *d = R::from_f64(a);
    }
}

/// `out[b, i, h] = sum_j weights[b, h, i, j] v[b, j, kv(h)]`.
///
/// Shapes: `out` `[B, T, H, D]`, `weights` `[B, H, T, T]`, `v` `[B, T, K, D]`.
pub fn attention_values_forward<R: Real>(out: &mut [R], weights: &[R], v: &[R], s: AttentionShape) {
    for b in 0..s.batch {
        for h in 0..s.n_heads {
            for i in 0..s.seq {
                let w = &weights[s.probs_row(b, h, i)..][..s.seq];
                let oi = s.q_index(b, i, h);
                for d in 0..s.d_head {
                    let acc: f64 = (0..=i)
                        .map(|j| w[j].to_f64() * v[s.kv_index(b, j, s.kv_head(h)) + d].to_f64())
                        .sum();
                    out[oi + d] = R::from_f64(acc);
                }
            }
        }
    }
}

/// Backward of `attention_values_forward`: `dweights = dout v^T` (=, zero above the
/// diagonal), `dv = weights^T dout` summed over the query heads sharing a KV head (=).
pub fn attention_values_backward<R: Real>(
    dweights: &mut [R],
    dv: &mut [R],
    dout: &[R],
    weights: &[R],
    v: &[R],
    s: AttentionShape,
) {
    let mut dv_acc = vec![0.0f64; dv.len()];
    for b in 0..s.batch {
        for h in 0..s.n_heads {
            let kv = s.kv_head(h);
            for i in 0..s.seq {
                let row = s.probs_row(b, h, i);
                let doi = &dout[s.q_index(b, i, h)..][..s.d_head];
                for j in 0..s.seq {
                    let vj = s.kv_index(b, j, kv);
                    let value = if j <= i {
                        dot(doi, &v[vj..][..s.d_head])
                    } else {
                        0.0
                    };
                    dweights[row + j] = R::from_f64(value);
                    let w = weights[row + j].to_f64();
                    for (d, &g) in doi.iter().enumerate() {
                        dv_acc[vj + d] += w * g.to_f64();
                    }
                }
            }
        }
    }
    for (d, a) in dv.iter_mut().zip(dv_acc) {
        *d = R::from_f64(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::real::gradcheck::{assert_gradient, project, uniform};

    fn shape(n_heads: usize, n_kv_heads: usize) -> AttentionShape {
        AttentionShape {
            batch: 2,
            seq: 5,
            n_heads,
            n_kv_heads,
            d_head: 3,
        }
    }

    const PATTERNS: [AttentionPattern; 3] = [
        AttentionPattern::Full,
        AttentionPattern::SlidingWindow { window: 2 },
        AttentionPattern::Sparse {
            local: 1,
            stride: 2,
        },
    ];

    #[test]
    fn gqa_maps_consecutive_query_heads_to_one_kv_head() {
        let s = AttentionShape {
            batch: 1,
            seq: 1,
            n_heads: 6,
            n_kv_heads: 2,
            d_head: 1,
        };
        let heads: Vec<_> = (0..6).map(|h| s.kv_head(h)).collect();
        assert_eq!(heads, [0, 0, 0, 1, 1, 1]);
        let mqa = AttentionShape { n_kv_heads: 1, ..s };
        assert!((0..6).all(|h| mqa.kv_head(h) == 0));
    }

    #[test]
    fn gqa_equals_mha_with_repeated_kv_heads() {
        let (gqa, mha) = (shape(4, 2), shape(4, 4));
        let q = uniform(1, 2 * 5 * 4 * 3);
        let k = uniform(2, 2 * 5 * 2 * 3);
        let v = uniform(3, k.len());
        // Repeat each KV head twice: [k0, k1] -> [k0, k0, k1, k1] per token.
        let repeat = |x: &[f64]| -> Vec<f64> {
            x.chunks(3)
                .flat_map(|head| [head, head])
                .flatten()
                .copied()
                .collect()
        };
        let run = |s, k: &[f64], v: &[f64]| {
            let mut probs = vec![0.0; 2 * 4 * 5 * 5];
            let mut out = vec![0.0; q.len()];
            attention_probs_forward(&mut probs, &q, k, s, AttentionPattern::Full, false);
            attention_values_forward(&mut out, &probs, v, s);
            out
        };
        let (a, b) = (run(gqa, &k, &v), run(mha, &repeat(&k), &repeat(&v)));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-14));
    }

    #[test]
    fn probabilities_respect_the_mask_and_sum_to_one() {
        let s = shape(2, 1);
        for pattern in PATTERNS {
            let mut probs = vec![0.0; 2 * 2 * 5 * 5];
            attention_probs_forward(
                &mut probs,
                &uniform(1, 60),
                &uniform(2, 30),
                s,
                pattern,
                true,
            );
            for (r, row) in probs.chunks(5).enumerate() {
                let i = r % 5;
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-14);
                for (j, &p) in row.iter().enumerate() {
                    assert_eq!(p > 0.0, pattern.visible(i, j), "{pattern:?} ({i}, {j})");
                }
            }
        }
    }

    #[test]
    fn alibi_bias_by_hand() {
        // One head, q = k = 0, so logits are the bias only: row 1 is softmax([-1/256, 0]).
        let s = AttentionShape {
            batch: 1,
            seq: 2,
            n_heads: 1,
            n_kv_heads: 1,
            d_head: 2,
        };
        let mut probs = vec![0.0f64; 4];
        let max_logit = attention_probs_forward(
            &mut probs,
            &[0.0; 4],
            &[0.0; 4],
            s,
            AttentionPattern::Full,
            true,
        );
        // slope of head 0 of 1 = 2^-8
        let e = (-1.0f64 / 256.0).exp();
        assert_eq!(probs[..2], [1.0, 0.0]);
        assert!(
            (probs[2] - e / (e + 1.0)).abs() < 1e-15 && (probs[3] - 1.0 / (e + 1.0)).abs() < 1e-15
        );
        assert_eq!(max_logit, 0.0, "the bias is not part of the reported logit");
    }

    #[test]
    fn backward_matches_finite_differences() {
        for (pattern, (h, kv)) in PATTERNS.into_iter().zip([(2, 2), (4, 2), (2, 1)]) {
            for alibi in [false, true] {
                let s = shape(h, kv);
                let q = uniform(1, 2 * 5 * h * 3);
                let k = uniform(2, 2 * 5 * kv * 3);
                let v = uniform(3, k.len());
                let dout = uniform(4, q.len());
                let n_probs = 2 * h * 25;
                let mut probs = vec![0.0; n_probs];
                attention_probs_forward(&mut probs, &q, &k, s, pattern, alibi);
                let (mut dprobs, mut dv) = (vec![0.0; n_probs], vec![0.0; v.len()]);
                attention_values_backward(&mut dprobs, &mut dv, &dout, &probs, &v, s);
                let (mut dq, mut dk) = (vec![0.0; q.len()], vec![0.0; k.len()]);
                attention_probs_backward(&mut dq, &mut dk, &dprobs, &probs, &q, &k, s);
                let loss = |q: &[f64], k: &[f64], v: &[f64]| {
                    let mut probs = vec![0.0; n_probs];
                    let mut out = vec![0.0; q.len()];
                    attention_probs_forward(&mut probs, q, k, s, pattern, alibi);
                    attention_values_forward(&mut out, &probs, v, s);
                    project(&out, &dout)
                };
                let name = format!("{pattern:?} H{h} K{kv} alibi {alibi}");
                assert_gradient(&format!("{name} dq"), &q, &dq, |x| loss(x, &k, &v));
                assert_gradient(&format!("{name} dk"), &k, &dk, |x| loss(&q, x, &v));
                assert_gradient(&format!("{name} dv"), &v, &dv, |x| loss(&q, &k, x));
            }
        }
    }
}
