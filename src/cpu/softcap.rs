//! Logit soft-capping `c tanh(x / c)` (Gemma 2): close to the identity for `|x| << c`, bounded
//! by `±c`, smooth everywhere. Attention caps each logit with `softcap`; the output logits are
//! capped in place by `softcap_forward`.

use super::real::Real;

/// `c tanh(x / c)`.
pub fn softcap(x: f64, cap: f64) -> f64 {
    cap * (x / cap).tanh()
}

/// The derivative of `softcap` at the point whose capped value is `y`:
/// `1 - tanh^2(x / c) = 1 - (y / c)^2`, so the backward needs only the capped values.
pub fn softcap_slope(y: f64, cap: f64) -> f64 {
    1.0 - (y / cap).powi(2)
}

/// `x = c tanh(x / c)` in place.
pub fn softcap_forward<R: Real>(x: &mut [R], cap: f64) {
    for v in x.iter_mut() {
        *v = R::from_f64(softcap(v.to_f64(), cap));
    }
}

/// Backward of `softcap_forward` in place: `grad *= 1 - (capped / c)^2`.
pub fn softcap_backward<R: Real>(grad: &mut [R], capped: &[R], cap: f64) {
    for (g, y) in grad.iter_mut().zip(capped) {
        *g = R::from_f64(g.to_f64() * softcap_slope(y.to_f64(), cap));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::real::gradcheck::{assert_gradient, project, uniform};

    #[test]
    fn caps_by_hand() {
        // tanh(1) = 0.7615941559557649; small inputs pass almost unchanged; +-c bounds.
        assert!((softcap(2.0, 2.0) - 2.0 * 0.761_594_155_955_764_9).abs() < 1e-15);
        assert!((softcap(1e-3, 30.0) - 1e-3).abs() < 1e-9);
        assert_eq!(softcap(1e6, 30.0), 30.0);
        assert_eq!(softcap(-1e6, 30.0), -30.0);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let n = 10;
        // Inputs up to 4 c: the flat tails and the linear middle both checked.
        let cap = 1.5;
        let x: Vec<f64> = uniform(1, n).iter().map(|v| 6.0 * v).collect();
        let dout = uniform(2, n);
        let mut capped = x.clone();
        softcap_forward(&mut capped, cap);
        let mut grad = dout.clone();
        softcap_backward(&mut grad, &capped, cap);
        assert_gradient("softcap", &x, &grad, |x| {
            let mut y = x.to_vec();
            softcap_forward(&mut y, cap);
            project(&y, &dout)
        });
    }
}
