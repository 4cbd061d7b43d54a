//! Token embedding and the position encodings: learned and sinusoidal tables added to the
//! embedding, RoPE rotating q and k, and ALiBi slopes for the attention bias.

use std::ops::Range;

use super::real::Real;
use crate::contract::ops::sinusoid;

/// `out[b, t] = scale * tok_emb[tokens[b, t]] + pos_emb[t]`.
///
/// Shapes: `out` `[B, T, C]`, `tokens` `[B, T]`, `tok_emb` `[V, C]`, `pos_emb` `[context_len, C]`.
pub fn embedding_forward<R: Real>(
    out: &mut [R],
    tokens: &[u32],
    tok_emb: &[R],
    pos_emb: Option<&[R]>,
    seq: usize,
    scale: f64,
) {
    let c = out.len() / tokens.len();
    for (n, (row, &token)) in out.chunks_exact_mut(c).zip(tokens).enumerate() {
        let emb = &tok_emb[token as usize * c..][..c];
        for (i, o) in row.iter_mut().enumerate() {
            let pos = pos_emb.map_or(0.0, |p| p[(n % seq) * c + i].to_f64());
            *o = R::from_f64(scale * emb[i].to_f64() + pos);
        }
    }
}

/// Backward of `embedding_forward`: `dtok_emb[token] += scale * dout`, `dpos_emb[t] += dout`.
pub fn embedding_backward<R: Real>(
    dtok_emb: &mut [R],
    mut dpos_emb: Option<&mut [R]>,
    dout: &[R],
    tokens: &[u32],
    seq: usize,
    padding: Option<u32>,
    scale: f64,
) {
    let c = dout.len() / tokens.len();
    for (n, (row, &token)) in dout.chunks_exact(c).zip(tokens).enumerate() {
        for (i, &d) in row.iter().enumerate() {
            // PyTorch's padding_idx: the padding token's row learns nothing from the lookup.
            if Some(token) != padding {
                dtok_emb[token as usize * c + i].accumulate(scale * d.to_f64());
            }
            if let Some(dpos) = dpos_emb.as_deref_mut() {
                dpos[(n % seq) * c + i].accumulate(d.to_f64());
            }
        }
    }
}

/// Adds the 2017 table in place at positions `start..start + seq` (0 in training; later
/// after a cache): `x[t, 2i] += sin(p / 10000^(2i/C))`, `x[t, 2i+1] += cos(p / 10000^(2i/C))`
/// with p = start + t. A constant, so its backward is the identity. Shapes: `x` `[B, seq, C]`.
pub fn add_sinusoidal<R: Real>(x: &mut [R], start: usize, seq: usize, c: usize) {
    for (n, row) in x.chunks_exact_mut(c).enumerate() {
        let t = start + n % seq;
        for (i, value) in row.iter_mut().enumerate() {
            value.accumulate(sinusoid(t, i, c));
        }
    }
}

/// RoPE in place, Hugging Face "rotate halves" layout: the pair `(x[i], x[i + D/2])` of each
/// head at position t is rotated by `t * theta^(-2i/D)`.
/// Shapes: `x` `[B, T, n_heads, D]`.
pub fn rope_forward<R: Real>(x: &mut [R], seq: usize, n_heads: usize, d_head: usize, theta: f64) {
    rotate(x, 0..seq, n_heads, d_head, theta, 1.0);
}

/// `rope_forward` for rows at positions `start..start + seq` (decoding after a cache).
/// Shapes: `x` `[seq, n_heads, D]`.
pub fn rope_forward_at<R: Real>(
    x: &mut [R],
    start: usize,
    seq: usize,
    n_heads: usize,
    d_head: usize,
    theta: f64,
) {
    rotate(x, start..start + seq, n_heads, d_head, theta, 1.0);
}

/// Backward of `rope_forward`, in place on the gradient: a rotation's transpose is the
/// rotation by the opposite angle.
pub fn rope_backward<R: Real>(dx: &mut [R], seq: usize, n_heads: usize, d_head: usize, theta: f64) {
    rotate(dx, 0..seq, n_heads, d_head, theta, -1.0);
}

/// Rotates the rows of `x` `[B, positions, n_heads, D]` by their positions' angles.
fn rotate<R: Real>(
    x: &mut [R],
    positions: Range<usize>,
    n_heads: usize,
    d_head: usize,
    theta: f64,
    direction: f64,
) {
    let half = d_head / 2;
    // (sin, cos) per (position, pair), computed once rather than per token and head.
    let freqs: Vec<f64> = (0..half)
        .map(|i| theta.powf(-2.0 * i as f64 / d_head as f64))
        .collect();
    let seq = positions.len();
    let table: Vec<(f64, f64)> = positions
        .flat_map(|t| {
            freqs
                .iter()
                .map(move |f| (direction * t as f64 * f).sin_cos())
        })
        .collect();
    for (n, token) in x.chunks_exact_mut(n_heads * d_head).enumerate() {
        let angles = &table[(n % seq) * half..][..half];
        for head in token.chunks_exact_mut(d_head) {
            for (i, &(sin, cos)) in angles.iter().enumerate() {
                let (a, b) = (head[i].to_f64(), head[i + half].to_f64());
                head[i] = R::from_f64(a * cos - b * sin);
                head[i + half] = R::from_f64(a * sin + b * cos);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::real::gradcheck::{assert_gradient, project, uniform};

    #[test]
    fn embedding_backward_matches_finite_differences() {
        let (batch, seq, c, vocab) = (2, 3, 4, 5);
        // Token 1 repeats so that its gradient rows sum.
        let tokens = [1, 4, 1, 0, 1, 2];
        let tok_emb = uniform(1, vocab * c);
        let pos_emb = uniform(2, seq * c);
        let dout = uniform(3, batch * seq * c);
        // Unscaled, and scaled by √C = 2 (Gemma's √d_model).
        for scale in [1.0, 2.0] {
            let loss = |tok: &[f64], pos: &[f64]| {
                let mut out = vec![0.0; batch * seq * c];
                embedding_forward(&mut out, &tokens, tok, Some(pos), seq, scale);
                project(&out, &dout)
            };
            let (mut dtok, mut dpos) = (vec![0.0; vocab * c], vec![0.0; seq * c]);
            embedding_backward(&mut dtok, Some(&mut dpos), &dout, &tokens, seq, None, scale);
            assert_gradient("dtok_emb", &tok_emb, &dtok, |t| loss(t, &pos_emb));
            assert_gradient("dpos_emb", &pos_emb, &dpos, |p| loss(&tok_emb, p));
        }
    }

    /// PyTorch's `padding_idx`: the padding token's row gets nothing, every other row and the
    /// position table get exactly what they get without padding.
    #[test]
    fn padding_token_row_gets_no_gradient() {
        let (seq, c, vocab) = (3, 2, 4);
        let tokens = [1, 3, 1, 0, 1, 2];
        let dout = uniform(3, tokens.len() * c);
        let backward = |padding| {
            let (mut dtok, mut dpos) = (vec![0.0; vocab * c], vec![0.0; seq * c]);
            embedding_backward(
                &mut dtok,
                Some(&mut dpos),
                &dout,
                &tokens,
                seq,
                padding,
                1.0,
            );
            (dtok, dpos)
        };
        let (plain, plain_pos) = backward(None);
        let (padded, padded_pos) = backward(Some(1));
        assert_eq!(padded_pos, plain_pos);
        assert_eq!(&padded[2..4], &[0.0, 0.0], "row of token 1");
        assert_ne!(&plain[2..4], &[0.0, 0.0]);
        assert_eq!(padded[..2], plain[..2]);
        assert_eq!(padded[4..], plain[4..]);
    }

    #[test]
    fn sinusoidal_table_by_hand() {
        // C = 4, t = 1: dims 0,1 use 1/10000^0 = 1 -> sin 1, cos 1;
        // dims 2,3 use 1/10000^(2/4) = 0.01 -> sin 0.01, cos 0.01. t = 0 gives [0, 1, 0, 1].
        let mut x = vec![0.0f64; 8];
        add_sinusoidal(&mut x, 0, 2, 4);
        let expected = [
            0.0,
            1.0,
            0.0,
            1.0,
            1f64.sin(),
            1f64.cos(),
            0.01f64.sin(),
            0.01f64.cos(),
        ];
        for (a, b) in x.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{x:?}");
        }
    }

    #[test]
    fn rope_rotates_halves_by_hand() {
        // D = 4, theta 100: pair (0, 2) turns by t * 1, pair (1, 3) by t * 100^(-1/2) = t/10.
        // At t = 1, x = [1, 1, 0, 0] -> [cos 1, cos 0.1, sin 1, sin 0.1].
        let mut x = vec![9.0, 9.0, 9.0, 9.0, 1.0, 1.0, 0.0, 0.0];
        rope_forward(&mut x, 2, 1, 4, 100.0);
        assert_eq!(&x[..4], [9.0; 4], "t = 0 is not rotated");
        let expected = [1f64.cos(), 0.1f64.cos(), 1f64.sin(), 0.1f64.sin()];
        for (a, b) in x[4..].iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{x:?}");
        }
    }

    #[test]
    fn rope_dot_products_depend_only_on_offset() {
        // q at position 3 with k at 1 equals q at 4 with k at 2: rotations compose.
        let (q, k) = (uniform(1, 4), uniform(2, 4));
        let dot_at = |tq: usize, tk: usize| {
            let mut qs = vec![0.0; 5 * 4];
            let mut ks = vec![0.0; 5 * 4];
            qs[tq * 4..][..4].copy_from_slice(&q);
            ks[tk * 4..][..4].copy_from_slice(&k);
            rope_forward(&mut qs, 5, 1, 4, 10_000.0);
            rope_forward(&mut ks, 5, 1, 4, 10_000.0);
            project(&qs[tq * 4..][..4], &ks[tk * 4..][..4])
        };
        assert!((dot_at(3, 1) - dot_at(4, 2)).abs() < 1e-12);
    }

    #[test]
    fn rope_backward_matches_finite_differences() {
        let (seq, heads, d) = (3, 2, 4);
        let x = uniform(1, 2 * seq * heads * d);
        let dout = uniform(2, x.len());
        let mut dx = dout.clone();
        rope_backward(&mut dx, seq, heads, d, 10.0);
        assert_gradient("rope", &x, &dx, |x| {
            let mut y = x.to_vec();
            rope_forward(&mut y, seq, heads, d, 10.0);
            project(&y, &dout)
        });
    }
}
