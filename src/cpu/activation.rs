//! MLP non-linearities, plain `h = act(a)` and gated `h = act(a) * b`.

use super::real::Real;
use crate::model::Activation;

/// `act(x)` of a pointwise activation (a gated one maps to its plain function).
pub fn activate<R: Real>(kind: Activation, x: f64) -> f64 {
    activate_and_grad::<R>(kind, x).0
}

/// `(act(x), act'(x))`, sharing the work both need (SiLU's sigmoid, GeLU-tanh's tanh).
fn activate_and_grad<R: Real>(kind: Activation, x: f64) -> (f64, f64) {
    match kind.pointwise() {
        Activation::Relu => (x.max(0.0), f64::from(u8::from(x > 0.0))),
        Activation::Gelu => {
            let cdf = normal_cdf(x);
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            (x * cdf, cdf + x * pdf)
        }
        Activation::GeluTanh => {
            let t = gelu_tanh_inner(x).tanh();
            let inner_grad = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_CUBIC * x * x);
            (
                0.5 * x * (1.0 + t),
                0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_grad,
            )
        }
        Activation::Silu => {
            let s = sigmoid::<R>(x);
            (x * s, s * (1.0 + x * (1.0 - s)))
        }
        gated => unreachable!("{gated:?} maps to a pointwise function"),
    }
}

/// `out = act(a)`, or `act(a) * gate` for gated activations. Shapes: all `[N, F]`.
pub fn activation_forward<R: Real>(kind: Activation, out: &mut [R], a: &[R], gate: Option<&[R]>) {
    for (i, o) in out.iter_mut().enumerate() {
        let g = gate.map_or(1.0, |g| g[i].to_f64());
        *o = R::from_f64(activate::<R>(kind, a[i].to_f64()) * g);
    }
}

/// Backward of `activation_forward`: `da = dout * gate * act'(a)` (=), and for gated ones
/// `dgate = dout * act(a)` (=), in one pass.
pub fn activation_backward<R: Real>(
    kind: Activation,
    da: &mut [R],
    mut dgate: Option<&mut [R]>,
    dout: &[R],
    a: &[R],
    gate: Option<&[R]>,
) {
    for (i, d) in da.iter_mut().enumerate() {
        let (act, grad) = activate_and_grad::<R>(kind, a[i].to_f64());
        let g = gate.map_or(1.0, |g| g[i].to_f64());
        let dy = dout[i].to_f64();
        *d = R::from_f64(dy * g * grad);
        if let Some(dgate) = dgate.as_deref_mut() {
            dgate[i] = R::from_f64(dy * act);
        }
    }
}

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const GELU_TANH_CUBIC: f64 = 0.044_715;

fn gelu_tanh_inner(x: f64) -> f64 {
    SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x * x * x)
}

/// `1 / (1 + e^-x)`, with `e^x` at the precision of `R`.
fn sigmoid<R: Real>(x: f64) -> f64 {
    1.0 / (1.0 + R::exp(-x))
}

/// Standard normal CDF `Phi(x) = (1 + erf(x / sqrt 2)) / 2`.
fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x * std::f64::consts::FRAC_1_SQRT_2))
}

/// The error function to ~1e-15 (std has none): Maclaurin series below 2.5, where its terms
/// stay small enough not to cancel, and the continued fraction of erfc above.
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    let value = if a < 2.5 {
        // erf x = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let (mut term, mut sum, mut n) = (a, a, 0.0);
        while term.abs() > 1e-17 * sum {
            n += 1.0;
            term *= -a * a / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        // erfc x = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), from the tail.
        let mut fraction = a;
        for k in (1..=60).rev() {
            fraction = a + (k as f64 / 2.0) / fraction;
        }
        1.0 - (-a * a).exp() / (std::f64::consts::PI.sqrt() * fraction)
    };
    value.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::real::gradcheck::{assert_gradient, project, uniform};

    const ALL: [Activation; 8] = [
        Activation::Relu,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Reglu,
        Activation::Geglu,
        Activation::GegluTanh,
        Activation::Swiglu,
    ];

    #[test]
    fn erf_matches_tabulated_values() {
        // Abramowitz & Stegun table 7.1 / high-precision references.
        let table = [
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
            (-1.0, -0.842_700_792_949_714_9),
        ];
        for (x, expected) in table {
            assert!((erf(x) - expected).abs() < 1e-14, "erf({x}) = {}", erf(x));
        }
        // Both branches agree where they meet.
        assert!((erf(2.5 - 1e-12) - erf(2.5)).abs() < 1e-13);
    }

    #[test]
    fn activations_match_hand_computed_values() {
        // relu(-1) = 0; gelu(1) = Phi(1) = 0.8413447460685429;
        // silu(1) = 1/(1+e^-1) = 0.7310585786300049;
        // gelu_tanh(1) = 0.5 (1 + tanh(0.7978845608 * 1.044715)) = 0.8411919906082768.
        assert_eq!(activate::<f64>(Activation::Relu, -1.0), 0.0);
        assert!((activate::<f64>(Activation::Gelu, 1.0) - 0.841_344_746_068_542_9).abs() < 1e-14);
        assert!((activate::<f64>(Activation::Silu, 1.0) - 0.731_058_578_630_004_9).abs() < 1e-14);
        assert!(
            (activate::<f64>(Activation::GeluTanh, 1.0) - 0.841_191_990_608_276_8).abs() < 1e-12
        );
    }

    #[test]
    fn backward_matches_finite_differences() {
        let n = 12;
        // Inputs kept away from ReLU's kink at 0, where the central difference is meaningless.
        let a: Vec<f64> = uniform(1, n)
            .iter()
            .map(|x| 3.0 * x + 0.1f64.copysign(*x))
            .collect();
        let gate = uniform(2, n);
        let dout = uniform(3, n);
        for kind in ALL {
            let gate = kind.is_gated().then_some(&gate[..]);
            let loss = |a: &[f64], gate: Option<&[f64]>| {
                let mut out = vec![0.0; n];
                activation_forward(kind, &mut out, a, gate);
                project(&out, &dout)
            };
            let (mut da, mut dgate) = (vec![0.0; n], vec![0.0; n]);
            let dgate_arg = kind.is_gated().then_some(&mut dgate[..]);
            activation_backward(kind, &mut da, dgate_arg, &dout, &a, gate);
            assert_gradient(&format!("{kind:?} da"), &a, &da, |x| loss(x, gate));
            if let Some(gate) = gate {
                assert_gradient(&format!("{kind:?} dgate"), gate, &dgate, |g| {
                    loss(&a, Some(g))
                });
            }
        }
    }
}
