//! Causal self-attention in two ops, so dropout can sit on the probabilities between them:
//! `probs = softmax(cap(q k^T / sqrt(D)) + alibi, masked)` and `out = probs v`, where `cap` is
//! the optional soft-cap `c tanh(x / c)` (Gemma 2). Query head h reads
//! KV head `h / (H / K)`: consecutive query heads share a KV head (Hugging Face `repeat_kv`).
//!
//! Every product runs over causal row blocks (`causal_blocks`): query rows `[r0, r1)` see keys
//! `[0, r1)` only, so the blocks above the diagonal, all zero, are never computed.

use std::ops::Range;

use super::kv_cache::KvCache;
use super::linear::dot;
use super::parallel::join;
use super::real::{max_of, sum, zeros, Real, Strides};
use super::softcap::{softcap, softcap_slope};
use crate::contract::ops::{alibi_slope, AttentionShape};
use crate::model::AttentionPattern;

/// The matrix views of one (batch, head) pair: its offsets into `q`/`out` `[B, T, H, D]`,
/// `k`/`v` `[B, T, K, D]` and `probs` `[B, H, T, T]`, and the strides of their `[T, D]` and
/// `[T, T]` blocks. Every product below is one `Real::gemm` over such blocks.
struct Head {
    d_head: usize,
    q: usize,
    kv: usize,
    probs: usize,
    q_rows: Strides,
    kv_rows: Strides,
    kv_cols: Strides,
    square: Strides,
    square_t: Strides,
}

impl Head {
    fn new(s: AttentionShape, b: usize, h: usize) -> Self {
        let kv_stride = s.n_kv_heads * s.d_head;
        Self {
            d_head: s.d_head,
            q: s.q_index(b, 0, h),
            kv: s.kv_index(b, 0, s.kv_head(h)),
            probs: s.probs_row(b, h, 0),
            q_rows: Strides::rows(s.n_heads * s.d_head),
            kv_rows: Strides::rows(kv_stride),
            kv_cols: Strides::transposed(kv_stride),
            square: Strides::rows(s.seq),
            square_t: Strides::transposed(s.seq),
        }
    }

    /// Offset of query (or output) row `i` of this head.
    fn q_row(&self, i: usize) -> usize {
        self.q + i * self.q_rows.row
    }

    /// This head's raw products `q.k` into `raw` (`[T, T]`), causal blocks only: entries
    /// above the diagonal are left as they were.
    fn raw_logits<R: Real>(&self, raw: &mut [R], q: &[R], k: &[R], s: AttentionShape) {
        for rows in causal_blocks(s.seq) {
            let at = rows.start * s.seq;
            self.row_products(rows, q, k, &mut raw[at..]);
        }
    }

    /// Query rows `rows` of `a` (`[T, D]` rows of this head, as q) times the rows of `b` (as
    /// k) transposed, into `out` from its start (those rows of a `[T, T]` block, keys
    /// `0..rows.end`): `q k^T`, and `dout v^T`.
    fn row_products<R: Real>(&self, rows: Range<usize>, a: &[R], b: &[R], out: &mut [R]) {
        R::gemm(
            rows.len(),
            self.d_head,
            rows.end,
            (&a[self.q_row(rows.start)..], self.q_rows),
            (&b[self.kv..], self.kv_cols),
            (out, self.square),
            false,
        );
    }

    /// Query rows `rows` of `out` (as q) = `w` (those rows of a `[T, T]` block, from its
    /// start) times `x` (as k): the values `probs v`, and `dq = ds k`.
    fn weighted_sum<R: Real>(&self, rows: Range<usize>, w: &[R], x: &[R], out: &mut [R]) {
        R::gemm(
            rows.len(),
            rows.end,
            self.d_head,
            (w, self.square),
            (&x[self.kv..], self.kv_rows),
            (&mut out[self.q_row(rows.start)..], self.q_rows),
            false,
        );
    }

    /// `out` (as k) += `w^T` (rows `rows` of a `[T, T]` block, from its start) times query
    /// rows `rows` of `y` (as q): `dv = probs^T dout` and `dk = ds^T q`, summed over the query
    /// heads of a KV head as each head adds its own.
    fn weighted_sum_transposed<R: Real>(
        &self,
        rows: Range<usize>,
        w: &[R],
        y: &[R],
        out: &mut [R],
    ) {
        R::gemm(
            rows.end,
            rows.len(),
            self.d_head,
            (w, self.square_t),
            (&y[self.q_row(rows.start)..], self.q_rows),
            (&mut out[self.kv..], self.kv_rows),
            true,
        );
    }

    /// Offset of row `i` of this head's `[T, T]` block.
    fn probs_row(&self, i: usize, t: usize) -> usize {
        self.probs + i * t
    }
}

/// Query rows in this many blocks: at 4, the products do 5/8 of the full square's work.
const CAUSAL_BLOCKS: usize = 4;

/// The query rows `0..t` in up to `CAUSAL_BLOCKS` consecutive blocks; rows `[r0, r1)` see
/// keys `[0, r1)` only.
fn causal_blocks(t: usize) -> impl Iterator<Item = Range<usize>> {
    let size = t.div_ceil(CAUSAL_BLOCKS).max(1);
    (0..t).step_by(size).map(move |r0| r0..(r0 + size).min(t))
}

/// Work (multiply-adds of one full `q k^T`) below which a batch runs on one thread: a thread
/// costs tens of microseconds to start.
const PARALLEL_WORK: usize = 1 << 18;

/// The batch's two halves, which run at once (`parallel::join`; every op here is independent
/// per example), or None for one example or too little work.
fn halves(s: AttentionShape) -> Option<(AttentionShape, AttentionShape)> {
    let work = s.batch * s.n_heads * s.seq * s.seq * s.d_head;
    (s.batch >= 2 && work >= PARALLEL_WORK).then(|| {
        let first = s.batch / 2;
        let half = |batch| AttentionShape { batch, ..s };
        (half(first), half(s.batch - first))
    })
}

/// Elements per example of the `[B, T, H, D]`, `[B, T, K, D]` and `[B, H, T, T]` tensors.
fn per_example(s: AttentionShape) -> (usize, usize, usize) {
    let t = s.seq;
    (
        t * s.n_heads * s.d_head,
        t * s.n_kv_heads * s.d_head,
        s.n_heads * t * t,
    )
}

/// Head `h`'s ALiBi slope (0 without ALiBi): its logits lose `slope * (i - j)`.
fn head_slope(alibi: bool, h: usize, n_heads: usize) -> f64 {
    if alibi {
        alibi_slope(h, n_heads)
    } else {
        0.0
    }
}

/// The attention logit of a raw product `q.k`: scaled by `1 / sqrt(D)`, then soft-capped.
fn capped_logit(raw: f64, scale: f64, cap: Option<f64>) -> f64 {
    match cap {
        None => raw * scale,
        Some(c) => softcap(raw * scale, c),
    }
}

/// Attention probabilities; invisible keys get probability 0. Returns the largest logit
/// `cap(q.k / sqrt(D))` over visible pairs (after the soft-cap `cap`, if any; before the ALiBi
/// bias), the quantity QK-norm and soft-capping bound.
///
/// Shapes: `probs` `[B, H, T, T]`, `q` `[B, T, H, D]`, `k` `[B, T, K, D]`. The logits are one
/// product `q k^T` per head and causal block in `R`, and so is the softmax (soft-cap aside).
pub fn attention_probs_forward<R: Real>(
    probs: &mut [R],
    q: &[R],
    k: &[R],
    s: AttentionShape,
    pattern: AttentionPattern,
    alibi: bool,
    cap: Option<f64>,
) -> f64 {
    let Some((s1, s2)) = halves(s) else {
        return probs_forward(probs, q, k, s, pattern, alibi, cap);
    };
    let (n_q, n_kv, n_probs) = per_example(s);
    let (probs1, probs2) = probs.split_at_mut(s1.batch * n_probs);
    let (q1, q2) = q.split_at(s1.batch * n_q);
    let (k1, k2) = k.split_at(s1.batch * n_kv);
    let (max1, max2) = join(
        || probs_forward(probs1, q1, k1, s1, pattern, alibi, cap),
        || probs_forward(probs2, q2, k2, s2, pattern, alibi, cap),
    );
    max1.max(max2)
}

/// `attention_probs_forward` on one thread.
fn probs_forward<R: Real>(
    probs: &mut [R],
    q: &[R],
    k: &[R],
    s: AttentionShape,
    pattern: AttentionPattern,
    alibi: bool,
    cap: Option<f64>,
) -> f64 {
    let (t, scale) = (s.seq, 1.0 / (s.d_head as f64).sqrt());
    let (scale_r, masked) = (R::from_f64(scale), R::from_f64(f64::NEG_INFINITY));
    let mut max_logit = masked;
    let mut raw = zeros::<R>(t * t);
    for b in 0..s.batch {
        for h in 0..s.n_heads {
            let slope = head_slope(alibi, h, s.n_heads);
            let at = Head::new(s, b, h);
            at.raw_logits(&mut raw, q, k, s);
            for i in 0..t {
                let row = &mut probs[at.probs_row(i, t)..][..t];
                // Keys after i are invisible: their logits were never computed.
                let (keys, after) = row.split_at_mut(i + 1);
                for (logit, &r) in keys.iter_mut().zip(&raw[i * t..]) {
                    *logit = r * scale_r;
                }
                match cap {
                    None => {}
                    Some(c) => {
                        for logit in keys.iter_mut() {
                            *logit = R::from_f64(softcap(logit.to_f64(), c));
                        }
                    }
                }
                match pattern {
                    AttentionPattern::Full => {}
                    AttentionPattern::SlidingWindow { .. } | AttentionPattern::Sparse { .. } => {
                        for (j, logit) in keys.iter_mut().enumerate() {
                            if !pattern.visible(i, j) {
                                *logit = masked;
                            }
                        }
                    }
                }
                max_logit = max_of(keys, max_logit);
                if alibi {
                    for (j, logit) in keys.iter_mut().enumerate() {
                        *logit = *logit - R::from_f64(slope * (i - j) as f64);
                    }
                }
                // The diagonal is always visible, so row_max is finite and e^-inf = 0 masks.
                let row_max = max_of(keys, masked);
                for logit in keys.iter_mut() {
                    *logit = (*logit - row_max).exp();
                }
                let total = sum(keys);
                for p in keys.iter_mut() {
                    *p = *p / total;
                }
                after.fill(R::default());
            }
        }
    }
    max_logit.to_f64()
}

/// Backward of `attention_probs_forward`: with `ds = p (dp - sum_j p dp)` (softmax; masked
/// entries have p = 0 and get nothing) times the soft-cap's slope `1 - tanh^2` at the logit
/// (recomputed from q and k: the forward keeps only the probabilities), `dq = ds k / sqrt(D)`
/// and `dk = ds^T q / sqrt(D)` summed over the query heads sharing a KV head (both =). ALiBi
/// is a constant: no gradient. `ds` and the products run in `R` (`sum_j p dp` in f64).
#[allow(clippy::too_many_arguments)] // one per tensor, the shape and the cap
pub fn attention_probs_backward<R: Real>(
    dq: &mut [R],
    dk: &mut [R],
    dprobs: &[R],
    probs: &[R],
    q: &[R],
    k: &[R],
    s: AttentionShape,
    cap: Option<f64>,
) {
    let Some((s1, s2)) = halves(s) else {
        return probs_backward(dq, dk, dprobs, probs, q, k, s, cap);
    };
    let (n_q, n_kv, n_probs) = per_example(s);
    let (dq1, dq2) = dq.split_at_mut(s1.batch * n_q);
    let (dk1, dk2) = dk.split_at_mut(s1.batch * n_kv);
    let (dprobs1, dprobs2) = dprobs.split_at(s1.batch * n_probs);
    let (probs1, probs2) = probs.split_at(s1.batch * n_probs);
    let (q1, q2) = q.split_at(s1.batch * n_q);
    let (k1, k2) = k.split_at(s1.batch * n_kv);
    join(
        || probs_backward(dq1, dk1, dprobs1, probs1, q1, k1, s1, cap),
        || probs_backward(dq2, dk2, dprobs2, probs2, q2, k2, s2, cap),
    );
}

/// `attention_probs_backward` on one thread.
#[allow(clippy::too_many_arguments)] // as attention_probs_backward
fn probs_backward<R: Real>(
    dq: &mut [R],
    dk: &mut [R],
    dprobs: &[R],
    probs: &[R],
    q: &[R],
    k: &[R],
    s: AttentionShape,
    cap: Option<f64>,
) {
    let (t, scale) = (s.seq, 1.0 / (s.d_head as f64).sqrt());
    let scale_r = R::from_f64(scale);
    let mut ds = zeros::<R>(t * t);
    let mut raw = zeros::<R>(if cap.is_some() { t * t } else { 0 });
    dk.fill(R::default());
    for b in 0..s.batch {
        for h in 0..s.n_heads {
            let at = Head::new(s, b, h);
            if cap.is_some() {
                at.raw_logits(&mut raw, q, k, s);
            }
            for i in 0..t {
                // p is zero after the diagonal: those entries of ds stay zero.
                let p = &probs[at.probs_row(i, t)..][..=i];
                let dp = &dprobs[at.probs_row(i, t)..][..=i];
                let p_dot_dp = R::from_f64(dot(p, dp));
                let (keys, after) = ds[i * t..][..t].split_at_mut(i + 1);
                for ((d, &p), &dp) in keys.iter_mut().zip(p).zip(dp) {
                    *d = p * (dp - p_dot_dp) * scale_r;
                }
                match cap {
                    None => {}
                    Some(c) => {
                        for (d, &r) in keys.iter_mut().zip(&raw[i * t..]) {
                            let logit = capped_logit(r.to_f64(), scale, cap);
                            *d = *d * R::from_f64(softcap_slope(logit, c));
                        }
                    }
                }
                after.fill(R::default());
            }
            for rows in causal_blocks(t) {
                let block = &ds[rows.start * t..];
                at.weighted_sum(rows.clone(), block, k, dq);
                at.weighted_sum_transposed(rows, block, q, dk);
            }
        }
    }
}

/// `out[b, i, h] = sum_j weights[b, h, i, j] v[b, j, kv(h)]`: one product per head and causal
/// block (the weights are zero above the diagonal).
///
/// Shapes: `out` `[B, T, H, D]`, `weights` `[B, H, T, T]`, `v` `[B, T, K, D]`.
pub fn attention_values_forward<R: Real>(out: &mut [R], weights: &[R], v: &[R], s: AttentionShape) {
    let Some((s1, s2)) = halves(s) else {
        return values_forward(out, weights, v, s);
    };
    let (n_q, n_kv, n_probs) = per_example(s);
    let (out1, out2) = out.split_at_mut(s1.batch * n_q);
    let (weights1, weights2) = weights.split_at(s1.batch * n_probs);
    let (v1, v2) = v.split_at(s1.batch * n_kv);
    join(
        || values_forward(out1, weights1, v1, s1),
        || values_forward(out2, weights2, v2, s2),
    );
}

/// `attention_values_forward` on one thread.
fn values_forward<R: Real>(out: &mut [R], weights: &[R], v: &[R], s: AttentionShape) {
    let t = s.seq;
    for b in 0..s.batch {
        for h in 0..s.n_heads {
            let at = Head::new(s, b, h);
            for rows in causal_blocks(t) {
                let block = &weights[at.probs_row(rows.start, t)..];
                at.weighted_sum(rows, block, v, out);
            }
        }
    }
}

/// Attention of `n` new queries at positions `start..start + n` over the keys and values the
/// cache holds for `layer` at positions `0..start + n` (the new ones already appended): what
/// `attention_probs_forward` then `attention_values_forward` give those rows, with the same
/// mask, ALiBi bias and soft-cap, one query at a time. Returns the largest visible logit.
///
/// Shapes: `out` and `q` `[n, H, D]`; `s.seq` is `n`.
#[allow(clippy::too_many_arguments)] // the tensors, where they sit, and the toggles
pub fn attention_cached_forward<R: Real>(
    out: &mut [R],
    q: &[R],
    cache: &KvCache<R>,
    layer: usize,
    start: usize,
    s: AttentionShape,
    pattern: AttentionPattern,
    alibi: bool,
    cap: Option<f64>,
) -> f64 {
    let (d, scale) = (s.d_head, 1.0 / (s.d_head as f64).sqrt());
    let mut max_logit = f64::NEG_INFINITY;
    let mut weights = Vec::with_capacity(start + s.seq);
    for i in 0..s.seq {
        let pos = start + i;
        for h in 0..s.n_heads {
            let slope = head_slope(alibi, h, s.n_heads);
            let (keys, values) = cache.head(layer, s.kv_head(h), pos + 1);
            let query = &q[(i * s.n_heads + h) * d..][..d];
            weights.clear();
            let mut row_max = f64::NEG_INFINITY;
            for (j, key) in keys.chunks_exact(d).enumerate() {
                let logit = if pattern.visible(pos, j) {
                    let raw: f64 = query
                        .iter()
                        .zip(key)
                        .map(|(a, b)| a.to_f64() * b.to_f64())
                        .sum();
                    let r = capped_logit(raw, scale, cap);
                    max_logit = max_logit.max(r);
                    r - slope * (pos - j) as f64
                } else {
                    f64::NEG_INFINITY
                };
                row_max = row_max.max(logit);
                weights.push(logit);
            }
            // The diagonal is always visible, so row_max is finite and the sum positive.
            let mut sum = 0.0;
            for w in weights.iter_mut() {
                *w = (*w - row_max).exp();
                sum += *w;
            }
            let row = &mut out[(i * s.n_heads + h) * d..][..d];
            for (c, o) in row.iter_mut().enumerate() {
                let mixed: f64 = weights
                    .iter()
                    .zip(values.chunks_exact(d))
                    .map(|(w, value)| w * value[c].to_f64())
                    .sum();
                *o = R::from_f64(mixed / sum);
            }
        }
    }
    max_logit
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
    let Some((s1, s2)) = halves(s) else {
        return values_backward(dweights, dv, dout, weights, v, s);
    };
    let (n_q, n_kv, n_probs) = per_example(s);
    let (dweights1, dweights2) = dweights.split_at_mut(s1.batch * n_probs);
    let (dv1, dv2) = dv.split_at_mut(s1.batch * n_kv);
    let (dout1, dout2) = dout.split_at(s1.batch * n_q);
    let (weights1, weights2) = weights.split_at(s1.batch * n_probs);
    let (v1, v2) = v.split_at(s1.batch * n_kv);
    join(
        || values_backward(dweights1, dv1, dout1, weights1, v1, s1),
        || values_backward(dweights2, dv2, dout2, weights2, v2, s2),
    );
}

/// `attention_values_backward` on one thread.
fn values_backward<R: Real>(
    dweights: &mut [R],
    dv: &mut [R],
    dout: &[R],
    weights: &[R],
    v: &[R],
    s: AttentionShape,
) {
    let t = s.seq;
    dv.fill(R::default());
    for b in 0..s.batch {
        for h in 0..s.n_heads {
            let at = Head::new(s, b, h);
            for rows in causal_blocks(t) {
                let at_row = at.probs_row(rows.start, t);
                let block = &mut dweights[at_row..][..rows.len() * t];
                at.row_products(rows.clone(), dout, v, block);
                // Columns after the diagonal (some never computed) are zero.
                for (i, row) in rows.clone().zip(block.chunks_exact_mut(t)) {
                    row[i + 1..].fill(R::default());
                }
                at.weighted_sum_transposed(rows, &weights[at_row..], dout, dv);
            }
        }
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

    /// Forward and backward of every op on `q`, `k`, `v` and an output gradient `dout`:
    /// probabilities, outputs, their gradients, dv, dq, dk.
    fn all_ops(s: AttentionShape, q: &[f64], k: &[f64], v: &[f64], dout: &[f64]) -> [Vec<f64>; 6] {
        let (n_q, n_kv, n_probs) = per_example(s);
        let (mut probs, mut out) = (vec![0.0; s.batch * n_probs], vec![0.0; s.batch * n_q]);
        let cap = Some(3.0);
        attention_probs_forward(&mut probs, q, k, s, AttentionPattern::Full, true, cap);
        attention_values_forward(&mut out, &probs, v, s);
        let (mut dprobs, mut dv) = (vec![0.0; probs.len()], vec![0.0; s.batch * n_kv]);
        attention_values_backward(&mut dprobs, &mut dv, dout, &probs, v, s);
        let (mut dq, mut dk) = (vec![0.0; out.len()], vec![0.0; dv.len()]);
        attention_probs_backward(&mut dq, &mut dk, &dprobs, &probs, q, k, s, cap);
        [probs, out, dprobs, dv, dq, dk]
    }

    /// Above `PARALLEL_WORK` a batch's halves run on two threads: each example's results are
    /// exactly those of the example run alone, on one thread.
    #[test]
    fn batch_halves_on_two_threads_equal_each_example_alone() {
        let s = AttentionShape {
            batch: 3,
            seq: 64,
            n_heads: 2,
            n_kv_heads: 1,
            d_head: 32,
        };
        let one = AttentionShape { batch: 1, ..s };
        assert!(halves(s).is_some() && halves(one).is_none());
        let (n_q, n_kv, _) = per_example(s);
        let (q, k) = (uniform(1, 3 * n_q), uniform(2, 3 * n_kv));
        let (v, dout) = (uniform(3, 3 * n_kv), uniform(4, 3 * n_q));
        let whole = all_ops(s, &q, &k, &v, &dout);
        for b in 0..3 {
            let (qb, doutb) = (&q[b * n_q..][..n_q], &dout[b * n_q..][..n_q]);
            let (kb, vb) = (&k[b * n_kv..][..n_kv], &v[b * n_kv..][..n_kv]);
            let alone = all_ops(one, qb, kb, vb, doutb);
            for (i, (whole, alone)) in whole.iter().zip(&alone).enumerate() {
                assert_eq!(
                    &whole[b * alone.len()..][..alone.len()],
                    &alone[..],
                    "op {i}, example {b}"
                );
            }
        }
    }

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
            attention_probs_forward(&mut probs, &q, k, s, AttentionPattern::Full, false, None);
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
                Some(0.5),
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
            None,
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
    fn softcap_bounds_the_logits_by_hand() {
        // One head, two positions, d_head 1: q = [0, 4], k = [1, 3]. Row 1's logits
        // 4 * 1 = 4 and 4 * 3 = 12 cap to 2 tanh(2) = 1.9281 and 2 tanh(6) = 1.99998.
        let s = AttentionShape {
            batch: 1,
            seq: 2,
            n_heads: 1,
            n_kv_heads: 1,
            d_head: 1,
        };
        let mut probs = vec![0.0f64; 4];
        let (q, k) = ([0.0, 4.0], [1.0, 3.0]);
        let pattern = AttentionPattern::Full;
        let max_logit = attention_probs_forward(&mut probs, &q, &k, s, pattern, false, Some(2.0));
        let (a, b) = (2.0 * 2f64.tanh(), 2.0 * 6f64.tanh());
        assert!(
            (max_logit - b).abs() < 1e-15,
            "the reported logit is capped"
        );
        let p0 = (a - b).exp() / ((a - b).exp() + 1.0);
        assert!((probs[2] - p0).abs() < 1e-15 && (probs[3] - (1.0 - p0)).abs() < 1e-15);
    }

    #[test]
    fn backward_matches_finite_differences() {
        for (pattern, (h, kv)) in PATTERNS.into_iter().zip([(2, 2), (4, 2), (2, 1)]) {
            // A cap of 0.7 bends logits of up to sqrt(3) strongly: the slope term matters.
            for (alibi, cap) in [
                (false, None),
                (true, None),
                (false, Some(0.7)),
                (true, Some(0.7)),
            ] {
                let s = shape(h, kv);
                let q = uniform(1, 2 * 5 * h * 3);
                let k = uniform(2, 2 * 5 * kv * 3);
                let v = uniform(3, k.len());
                let dout = uniform(4, q.len());
                let n_probs = 2 * h * 25;
                let mut probs = vec![0.0; n_probs];
                attention_probs_forward(&mut probs, &q, &k, s, pattern, alibi, cap);
                let (mut dprobs, mut dv) = (vec![0.0; n_probs], vec![0.0; v.len()]);
                attention_values_backward(&mut dprobs, &mut dv, &dout, &probs, &v, s);
                let (mut dq, mut dk) = (vec![0.0; q.len()], vec![0.0; k.len()]);
                attention_probs_backward(&mut dq, &mut dk, &dprobs, &probs, &q, &k, s, cap);
                let loss = |q: &[f64], k: &[f64], v: &[f64]| {
                    let mut probs = vec![0.0; n_probs];
                    let mut out = vec![0.0; q.len()];
                    attention_probs_forward(&mut probs, q, k, s, pattern, alibi, cap);
                    attention_values_forward(&mut out, &probs, v, s);
                    project(&out, &dout)
                };
                let name = format!("{pattern:?} H{h} K{kv} alibi {alibi} cap {cap:?}");
                assert_gradient(&format!("{name} dq"), &q, &dq, |x| loss(x, &k, &v));
                assert_gradient(&format!("{name} dk"), &k, &dk, |x| loss(&q, x, &v));
                assert_gradient(&format!("{name} dv"), &v, &dv, |x| loss(&q, &k, x));
            }
        }
    }
}
