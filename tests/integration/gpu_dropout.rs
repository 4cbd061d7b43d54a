//! `shaders/dropout.wgsl` against `cpu::dropout`: the same hash, so the same elements dropped.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use archlab::cpu::dropout::dropout;
use archlab::gpu::dropout::{dropout_backward, dropout_forward, DropoutKey, DropoutParams};
use common::{read, run, uniform, U};

#[test]
fn dropout_masks_are_bit_identical_to_the_cpu() {
    let Some(ctx) = common::gpu() else { return };
    // 70_001 elements: more than one row of 65535 workgroups would need at 1 per group, and not
    // a multiple of 256.
    let n = 70_001;
    let x: Vec<f32> = uniform(1, n, 1.0).iter().map(|v| v + 2.0).collect(); // never 0
    for (p, key) in [
        (
            0.1,
            DropoutKey {
                seed: 7,
                step: 0,
                site: 0,
            },
        ),
        (
            0.5,
            DropoutKey {
                seed: 0xdead_beef,
                step: 12_345,
                site: 4,
            },
        ),
        (
            0.9,
            DropoutKey {
                seed: 1,
                step: 3,
                site: 7,
            },
        ),
    ] {
        let mut cpu = x.clone();
        dropout(&mut cpu, p, key);
        let params = DropoutParams::new(n, p, key);
        let b_x = ctx.storage_buffer("x", &x);
        let b_out = ctx.zeros("out", n);
        let b_grad = ctx.storage_buffer("grad", &x);
        let kernels = [
            dropout_forward(&ctx, "drop", params, (&b_x).into(), (&b_out).into()),
            dropout_backward(&ctx, "drop.back", params, (&b_grad).into()),
        ];
        run(&ctx, &[&kernels[0], &kernels[1]]);
        for (name, gpu) in [
            ("forward", read(&ctx, &b_out)),
            ("backward", read(&ctx, &b_grad)),
        ] {
            let mut mismatched = 0;
            for (g, c) in gpu.iter().zip(&cpu) {
                // The mask must agree exactly: same zeros. Kept values are x / (1 - p), rounded
                // once on the CPU (in f64) and twice on the GPU (the f32 scale, the product):
                // within 2u relative.
                let same_mask = (*g == 0.0) == (*c == 0.0);
                let close = (f64::from(*g) - f64::from(*c)).abs() <= 2.0 * U * f64::from(c.abs());
                mismatched += usize::from(!(same_mask && close));
            }
            let kept = gpu.iter().filter(|v| **v != 0.0).count() as f64 / n as f64;
            println!("p {p} {name}: kept {kept:.4}, {mismatched} elements differ from the CPU");
            assert_eq!(mismatched, 0, "p {p} {name}");
        }
    }
}
