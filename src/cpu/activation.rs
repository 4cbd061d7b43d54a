//! MLP non-linearities, plain `h = act(a)` and gated `h = act(a) * b`.

use super::parallel::join;
use super::real::Real;
use crate::model::Activation;

/// `act(x)` of a pointwise activation (a gated one maps to its plain function), computed as
/// the engine computes it in `R`.
pub fn activate<R: Real>(kind: Activation, x: f64) -> f64 {
    let x = R::from_f64(x);
    let (act, _) = match kind.pointwise() {
        Activation::Relu => relu(x),
        Activation::Gelu => gelu(x),
        Activation::GeluTanh => gelu_tanh(x),
        Activation::Silu => silu(x),
        gated => unreachable!("{gated:?} maps to a pointwise function"),
    };
    act.to_f64()
}

// Each pointwise function returns `(act(x), act'(x))`, sharing the work both need (SiLU's
// sigmoid, GeLU-tanh's tanh). The loops below take one as a type (a fn item), so each loop is
// compiled for its function and a caller's unused half is dropped.

fn relu<R: Real>(x: R) -> (R, R) {
    if x > R::default() {
        (x, R::from_f64(1.0))
    } else {
        (R::default(), R::default())
    }
}

/// In f64 (erf has no vectorised form here).
fn gelu<R: Real>(x: R) -> (R, R) {
    let x = x.to_f64();
    let cdf = normal_cdf(x);
    let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    (R::from_f64(x * cdf), R::from_f64(cdf + x * pdf))
}

/// In f64 (tanh is a libm call either way).
fn gelu_tanh<R: Real>(x: R) -> (R, R) {
    let x = x.to_f64();
    let t = gelu_tanh_inner(x).tanh();
    let inner_grad = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_CUBIC * x * x);
    (
        R::from_f64(0.5 * x * (1.0 + t)),
        R::from_f64(0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_grad),
    )
}

/// In `R`, with `R::exp` inline: SwiGLU's loops vectorise.
fn silu<R: Real>(x: R) -> (R, R) {
    let one = R::from_f64(1.0);
    let s = one / (one + (-x).exp());
    (x * s, s * (one + x * (one - s)))
}

/// Elements below which an activation runs on one thread: a thread costs tens of microseconds
/// to start, an element a nanosecond or two.
const PARALLEL_ELEMENTS: usize = 1 << 16;

/// `x`, and `x` split at `mid` when present (a gate and its gradient are optional).
fn split_at<T>(x: Option<&[T]>, mid: usize) -> (Option<&[T]>, Option<&[T]>) {
    x.map(|x| x.split_at(mid)).unzip()
}

/// `out = act(a)`, or `act(a) * gate` for gated activations. Shapes: all `[N, F]`. Elementwise,
/// so large inputs run in two halves at once (`parallel::join`).
pub fn activation_forward<R: Real>(kind: Activation, out: &mut [R], a: &[R], gate: Option<&[R]>) {
    if out.len() < PARALLEL_ELEMENTS {
        return forward_serial(kind, out, a, gate);
    }
    let mid = out.len() / 2;
    let (out1, out2) = out.split_at_mut(mid);
    let (a1, a2) = a.split_at(mid);
    let (gate1, gate2) = split_at(gate, mid);
    join(
        || forward_serial(kind, out1, a1, gate1),
        || forward_serial(kind, out2, a2, gate2),
    );
}

/// `activation_forward` on one thread.
fn forward_serial<R: Real>(kind: Activation, out: &mut [R], a: &[R], gate: Option<&[R]>) {
    match kind.pointwise() {
        Activation::Relu => forward_with(relu, out, a, gate),
        Activation::Gelu => forward_with(gelu, out, a, gate),
        Activation::GeluTanh => forward_with(gelu_tanh, out, a, gate),
        Activation::Silu => forward_with(silu, out, a, gate),
        gated => unreachable!("{gated:?} maps to a pointwise function"),
    }
}

fn forward_with<R: Real>(f: impl Fn(R) -> (R, R), out: &mut [R], a: &[R], gate: Option<&[R]>) {
    match gate {
        None => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x).0;
            }
        }
        Some(gate) => {
            for ((o, &x), &g) in out.iter_mut().zip(a).zip(gate) {
                *o = f(x).0 * g;
            }
        }
    }
}

/// Backward of `activation_forward`: `da = dout * gate * act'(a)` (=), and for gated ones
/// `dgate = dout * act(a)` (=), in one pass; large inputs in two halves at once.
pub fn activation_backward<R: Real>(
    kind: Activation,
    da: &mut [R],
    dgate: Option<&mut [R]>,
    dout: &[R],
    a: &[R],
    gate: Option<&[R]>,
) {
    if da.len() < PARALLEL_ELEMENTS {
        return backward_serial(kind, da, dgate, dout, a, gate);
    }
    let mid = da.len() / 2;
    let (da1, da2) = da.split_at_mut(mid);
    let (dgate1, dgate2) = dgate.map(|d| d.split_at_mut(mid)).unzip();
    let (dout1, dout2) = dout.split_at(mid);
    let (a1, a2) = a.split_at(mid);
    let (gate1, gate2) = split_at(gate, mid);
    join(
        || backward_serial(kind, da1, dgate1, dout1, a1, gate1),
        || backward_serial(kind, da2, dgate2, dout2, a2, gate2),
    );
}

/// `activation_backward` on one thread.
fn backward_serial<R: Real>(
    kind: Activation,
    da: &mut [R],
    dgate: Option<&mut [R]>,
    dout: &[R],
    a: &[R],
    gate: Option<&[R]>,
) {
    match kind.pointwise() {
        Activation::Relu => backward_with(relu, da, dgate, dout, a, gate),
        Activation::Gelu => backward_with(gelu, da, dgate, dout, a, gate),
        Activation::GeluTanh => backward_with(gelu_tanh, da, dgate, dout, a, gate),
        Activation::Silu => backward_with(silu, da, dgate, dout, a, gate),
        gated => unreachable!("{gated:?} maps to a pointwise function"),
    }
}

fn backward_with<R: Real>(
    f: impl Fn(R) -> (R, R),
    da: &mut [R],
    dgate: Option<&mut [R]>,
    dout: &[R],
    a: &[R],
    gate: Option<&[R]>,
) {
    match (dgate, gate) {
        (Some(dgate), Some(gate)) => {
            let rows = da.iter_mut().zip(dgate.iter_mut()).zip(dout).zip(a);
            for ((((d, dg), &dy), &x), &g) in rows.zip(gate) {
                let (act, grad) = f(x);
                *d = dy * g * grad;
                *dg = dy * act;
            }
        }
        (None, None) => {
            for ((d, &dy), &x) in da.iter_mut().zip(dout).zip(a) {
                *d = dy * f(x).1;
            }
        }
        _ => unreachable!("a gate and its gradient come together"),
    }
}

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const GELU_TANH_CUBIC: f64 = 0.044_715;

fn gelu_tanh_inner(x: f64) -> f64 {
    SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x * x * x)
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

    /// Above `PARALLEL_ELEMENTS` the two halves run on two threads: the results are exactly
    /// those of two calls on pieces small enough for one thread each.
    #[test]
    fn halves_on_two_threads_equal_pieces_on_one() {
        let n = PARALLEL_ELEMENTS + 3;
        let (a, gate, dout) = (uniform(5, n), uniform(6, n), uniform(7, n));
        for kind in [Activation::Swiglu, Activation::Gelu] {
            let run = |range: std::ops::Range<usize>| {
                let len = range.len();
                let (mut out, mut da, mut dgate) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
                let gate = kind.is_gated().then_some(&gate[range.clone()]);
                activation_forward(kind, &mut out, &a[range.clone()], gate);
                let dgate_arg = kind.is_gated().then_some(&mut dgate[..]);
                activation_backward(
                    kind,
                    &mut da,
                    dgate_arg,
                    &dout[range.clone()],
                    &a[range],
                    gate,
                );
                [out, da, dgate]
            };
            let whole = run(0..n);
            let (first, rest) = (run(0..1000), run(1000..n));
            for (w, (f, r)) in whole.iter().zip(first.iter().zip(&rest)) {
                assert_eq!(w[..1000], f[..], "{kind:?}");
                assert_eq!(w[1000..], r[..], "{kind:?}");
            }
        }
    }

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
