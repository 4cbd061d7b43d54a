//! Dropout from a counter-based hash, so the CPU and GPU engines drop the same elements and
//! the backward needs no stored mask: element `index` of site `site` at step `step` is kept iff
//! `hash(seed, step, site, index) >= threshold(p)`, and kept elements are scaled by 1/(1-p).
//! The hash uses only u32 wrapping multiplies, xors and shifts, so it ports verbatim to WGSL.

use super::real::Real;

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

/// `x[i] *= keep(i) / (1 - p)` in place. Dropout is linear with a fixed mask, so the same call
/// on the gradient is its backward (=). Indices are positions in `x`, which has < 2^32 elements.
pub fn dropout<R: Real>(x: &mut [R], p: f32, key: DropoutKey) {
    if p == 0.0 {
        return;
    }
    let cut = threshold(p);
    let scale = 1.0 / (1.0 - f64::from(p));
    for (i, value) in x.iter_mut().enumerate() {
        let keep = dropout_hash(key, i as u32) >= cut;
        *value = R::from_f64(if keep { value.to_f64() * scale } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::real::gradcheck::{assert_gradient, project, uniform};

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
    fn keeps_about_one_minus_p_and_rescales() {
        // 100k Bernoulli(0.7) draws: std of the kept fraction is sqrt(0.21/1e5) = 0.0014, so
        // 0.01 is 7 standard deviations.
        let mut x = vec![1.0f64; 100_000];
        dropout(&mut x, 0.3, KEY);
        let kept = x.iter().filter(|&&v| v != 0.0).count() as f64 / 1e5;
        assert!((kept - 0.7).abs() < 0.01, "kept {kept}");
        // p is an f32, so the scale is 1 / (1 - f64(0.3f32)), not exactly 1 / 0.7.
        let scale = 1.0 / (1.0 - f64::from(0.3f32));
        assert!(x.iter().all(|&v| v == 0.0 || v == scale));
        let mut other_site = vec![1.0f64; 100_000];
        dropout(&mut other_site, 0.3, DropoutKey { site: 1, ..KEY });
        assert_ne!(x, other_site, "sites draw different masks");
    }

    #[test]
    fn threshold_by_hand() {
        assert_eq!(threshold(0.0), 0);
        assert_eq!(threshold(0.5), 1 << 31);
        assert_eq!(threshold(0.25), 1 << 30);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let x = uniform(1, 50);
        let dout = uniform(2, 50);
        let mut dx = dout.clone();
        dropout(&mut dx, 0.4, KEY);
        assert_gradient("dropout", &x, &dx, |x| {
            let mut y = x.to_vec();
            dropout(&mut y, 0.4, KEY);
            project(&y, &dout)
        });
    }
}
