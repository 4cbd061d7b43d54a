//! `shaders/activation.wgsl` against `cpu::activation`: all eight activations, forward and
//! backward; and the output logits' soft-cap against `cpu::softcap`.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use archlab::cpu::activation::{activation_backward, activation_forward};
use archlab::cpu::softcap::{softcap_backward, softcap_forward};
use archlab::gpu::activation as gpu;
use archlab::model::Activation;
use common::{assert_within, read, run, uniform, U};

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
fn activations_match_cpu_forward_and_backward() {
    let Some(ctx) = common::gpu() else { return };
    // 1000 elements (not a multiple of 256) over [-6, 6): both tails and the kink of ReLU.
    let n = 1000;
    let a = uniform(1, n, 6.0);
    let gate = uniform(2, n, 2.0);
    let dout = uniform(3, n, 1.0);
    for kind in ALL {
        let gated = kind.is_gated();
        let gate_arg = gated.then_some(&gate[..]);
        let mut out = vec![0.0f32; n];
        activation_forward(kind, &mut out, &a, gate_arg);
        let (mut da, mut dgate) = (vec![0.0f32; n], vec![0.0f32; n]);
        activation_backward(
            kind,
            &mut da,
            gated.then_some(&mut dgate[..]),
            &dout,
            &a,
            gate_arg,
        );

        let b_a = ctx.storage_buffer("a", &a);
        let b_gate = ctx.storage_buffer("gate", &gate);
        let b_dout = ctx.storage_buffer("dout", &dout);
        let (b_out, b_da, b_dgate) = (
            ctx.zeros("out", n),
            ctx.zeros("da", n),
            ctx.zeros("dgate", n),
        );
        let gate_view = gated.then(|| (&b_gate).into());
        let kernels = [
            gpu::activation_forward(
                &ctx,
                "act",
                kind,
                n,
                (&b_a).into(),
                gate_view,
                (&b_out).into(),
            ),
            gpu::activation_backward(
                &ctx,
                "act.back",
                kind,
                n,
                (&b_dout).into(),
                (&b_a).into(),
                gate_view,
                (&b_da).into(),
                gated.then(|| (&b_dgate).into()),
            ),
        ];
        run(&ctx, &[&kernels[0], &kernels[1]]);
        // exp and tanh in f32 are good to a few ulp of their result (WGSL allows exp
        // 3 + 2|x| ulp, 15 ulp at |x| = 6), erfc's fit to 1.2e-7 relative; the formulas then
        // add a handful of roundings. So each value is within 16 u of the magnitude of its
        // terms, |x| + 1 for act and act' (times |gate| and |dout|), plus 1.2e-7 |x| for
        // erfc. A wrong branch or a constant off in its 4th digit is outside it.
        let x = |i: usize| f64::from(a[i].abs());
        let g = |i: usize| if gated { f64::from(gate[i].abs()) } else { 1.0 };
        let rel = |i: usize| 16.0 * U * (x(i) + 1.0) + 1.2e-7 * x(i);
        let name = format!("{kind:?}");
        assert_within(&format!("{name} out"), &read(&ctx, &b_out), &out, |i| {
            rel(i) * g(i) * 2.0
        });
        let d = |i: usize| f64::from(dout[i].abs());
        // act' has terms up to |x|^2 phi(x) (GeLU) and x^2 (GeLU tanh's inner derivative times
        // 1 - t^2): one more factor |x| + 1.
        assert_within(&format!("{name} da"), &read(&ctx, &b_da), &da, |i| {
            rel(i) * (x(i) + 1.0) * g(i) * d(i) * 2.0
        });
        if gated {
            assert_within(
                &format!("{name} dgate"),
                &read(&ctx, &b_dgate),
                &dgate,
                |i| rel(i) * d(i) * 2.0,
            );
        }
    }
}

#[test]
fn softcap_matches_cpu_forward_and_backward() {
    let Some(ctx) = common::gpu() else { return };
    // 1000 logits over [-12, 12) against a cap of 3: the linear middle and both flat tails.
    let (n, cap) = (1000, 3.0f32);
    let x = uniform(4, n, 12.0);
    let grad = uniform(5, n, 1.0);
    let mut capped = x.clone();
    softcap_forward(&mut capped, f64::from(cap));
    let mut dx = grad.clone();
    softcap_backward(&mut dx, &capped, f64::from(cap));

    let b_x = ctx.storage_buffer("x", &x);
    let b_grad = ctx.storage_buffer("grad", &grad);
    let kernels = [
        gpu::softcap_forward(&ctx, "softcap", cap, n, (&b_x).into()),
        gpu::softcap_backward(
            &ctx,
            "softcap.back",
            cap,
            n,
            (&b_x).into(),
            (&b_grad).into(),
        ),
    ];
    run(&ctx, &[&kernels[0], &kernels[1]]);
    // tanh in f32 is good to exp's 3 + 2|x| ulp (|x / c| <= 4 here: 11 ulp), times c, plus the
    // division's and product's roundings: 16 u c. The slope 1 - t^2 moves by 2 |t| times t's
    // error (16 u) and the product rounds once more.
    let bound = 16.0 * U * f64::from(cap);
    assert_within("softcap", &read(&ctx, &b_x), &capped, |_| bound);
    let slope_bound = |i: usize| (2.0 * 16.0 * U + 2.0 * U) * f64::from(grad[i].abs());
    assert_within("softcap.back", &read(&ctx, &b_grad), &dx, slope_bound);
}
