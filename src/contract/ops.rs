//! The op specifications both engines compute alike: attention's shapes and index order,
//! dropout's counter-based mask, the sinusoidal table and ALiBi's slopes. The GPU kernels and
//! the CPU ops take them from here, so a change reaches both.

/// Sizes of one attention call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionShape {
    /// B.
    pub batch: usize,
    /// T.
    pub seq: usize,
    /// H, query heads.
    pub n_heads: usize,
    /// K, key/value heads; divides H.
    pub n_kv_heads: usize,
    /// D.
    pub d_head: usize,
}

impl AttentionShape {
    /// The KV head query head `h` reads (GQA grouping).
    pub fn kv_head(&self, h: usize) -> usize {
        h / (self.n_heads / self.n_kv_heads)
    }

    pub fn q_index(&self, b: usize, t: usize, h: usize) -> usize {
        ((b * self.seq + t) * self.n_heads + h) * self.d_head
    }

    pub fn kv_index(&self, b: usize, t: usize, kv: usize) -> usize {
        ((b * self.seq + t) * self.n_kv_heads + kv) * self.d_head
    }

    pub fn probs_row(&self, b: usize, h: usize, i: usize) -> usize {
        ((b * self.n_heads + h) * self.seq + i) * self.seq
    }
}

/// Dropout from a counter-based hash, so the CPU and GPU engines drop the same elements and
/// the backward needs no stored mask: element `index` of site `site` at step `step` is kept iff
/// `hash(seed, step, site, index) >= threshold(p)`, and kept elements are scaled by 1/(1-p).
/// The hash uses only u32 wrapping multiplies, xors and shifts, so it ports verbatim to WGSL.
/// Identifies one dropout application: the run's seed, the training step, and the site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropoutKey {
    /// Run seed (low 32 bits xor high 32 bits of the engine seed).
    pub seed: u32,
    /// Training step.
    pub step: u32,
    /// Site: 0 the embedding, then per layer l: `1 + 3l` attention probabilities,
    /// `2 + 3l` the attention branch, `3 + 3l` the MLP branch.
    pub site: u32,
}

/// lowbias32 (Chris Wellons' integer hash): a bijection of u32 with good avalanche.
pub fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// `mix(index ^ mix(site ^ mix(step ^ mix(seed))))`: chained so that every input changes
/// every output bit.
pub fn dropout_hash(key: DropoutKey, index: u32) -> u32 {
    mix(index ^ mix(key.site ^ mix(key.step ^ mix(key.seed))))
}

/// `round(p * 2^32)`, saturated: a uniform u32 is below it with probability p.
pub fn threshold(p: f32) -> u32 {
    (f64::from(p) * 4_294_967_296.0)
        .round()
        .min(f64::from(u32::MAX)) as u32
}

/// Dropout sites as both engines number them (the `site` of a `DropoutKey`): 0 the embedding;
/// per layer l, `1 + 3l` the attention probabilities, `2 + 3l` the attention branch, `3 + 3l`
/// the MLP branch.
pub const EMBEDDING_SITE: u32 = 0;

/// The dropout site of layer `layer`'s attention probabilities.
pub fn attn_probs_site(layer: usize) -> u32 {
    1 + 3 * layer as u32
}

/// The dropout site of layer `layer`'s attention branch output.
pub fn attn_branch_site(layer: usize) -> u32 {
    2 + 3 * layer as u32
}

/// The dropout site of layer `layer`'s MLP branch output.
pub fn mlp_branch_site(layer: usize) -> u32 {
    3 + 3 * layer as u32
}

/// Entry `i` of the 2017 sinusoidal table at position `t` with `c` channels:
/// `sin(t / 10000^(2i/C))` at 2i, `cos(t / 10000^(2i/C))` at 2i+1.
pub fn sinusoid(t: usize, i: usize, c: usize) -> f64 {
    let angle = t as f64 / 10_000f64.powf((i - i % 2) as f64 / c as f64);
    if i.is_multiple_of(2) {
        angle.sin()
    } else {
        angle.cos()
    }
}

/// ALiBi slope of head `h` of `n_heads`: the geometric sequence `2^(-8 (h + 1) / H)` of Press
/// et al. (used for any H, not only powers of two). The bias on logit (i, j) is
/// `-slope * (i - j)`.
pub fn alibi_slope(h: usize, n_heads: usize) -> f64 {
    2f64.powf(-8.0 * (h + 1) as f64 / n_heads as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: DropoutKey = DropoutKey {
        seed: 7,
        step: 0,
        site: 0,
    };

    #[test]
    fn hash_matches_an_independent_implementation() {
        // Values from a separate Python implementation of the same arithmetic (mod 2^32).
        assert_eq!(mix(1), 0x6889_90c0);
        assert_eq!(
            dropout_hash(
                DropoutKey {
                    seed: 1,
                    step: 2,
                    site: 3
                },
                4
            ),
            0x934a_ddd8
        );
        assert_eq!(dropout_hash(KEY, 0), 0xf17f_8722);
        assert_eq!(dropout_hash(KEY, 1), 0x3de6_653f);
    }

    #[test]
    fn alibi_slopes_of_eight_heads() {
        // Press et al.: 8 heads -> 1/2, 1/4, ..., 1/256.
        for h in 0..8 {
            assert_eq!(alibi_slope(h, 8), 1.0 / f64::from(2u32 << h));
        }
    }
}
