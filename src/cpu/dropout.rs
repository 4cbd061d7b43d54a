//! Dropout on the CPU, with the mask of `contract::ops::dropout_hash` (the GPU kernel draws
//! the same one), so the backward needs no stored mask.

use super::real::Real;
use crate::contract::ops::{dropout_hash, threshold, DropoutKey};

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
