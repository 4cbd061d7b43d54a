//! `shaders/sum.wgsl` against `cpu::real` and a plain column sum: residual add, gradient
//! accumulation and bias-gradient column sums.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use archlab::cpu::real::{add, add_into};
use archlab::gpu::sum;
use common::{assert_within, gamma, read, run, uniform, U};

#[test]
fn sums_match_cpu() {
    let Some(ctx) = common::gpu() else { return };
    // 300 rows x 37 columns: more rows than the 64-wide column workgroup, 11_100 elements.
    let (rows, cols) = (300, 37);
    let n = rows * cols;
    let (a, b) = (uniform(1, n, 1.0), uniform(2, n, 1.0));
    let dst0 = uniform(3, cols, 1.0);
    let mut cpu_add = vec![0.0f32; n];
    add(&mut cpu_add, &a, &b);
    let mut cpu_into = a.clone();
    add_into(&mut cpu_into, &b);
    let cpu_cols: Vec<f32> = (0..cols)
        .map(|c| {
            (f64::from(dst0[c]) + (0..rows).map(|r| f64::from(b[r * cols + c])).sum::<f64>()) as f32
        })
        .collect();

    let (b_a, b_b) = (ctx.storage_buffer("a", &a), ctx.storage_buffer("b", &b));
    let b_out = ctx.zeros("out", n);
    let b_into = ctx.storage_buffer("into", &a);
    let b_cols = ctx.storage_buffer("cols", &dst0);
    let kernels = [
        sum::add(
            &ctx,
            "add",
            n,
            (&b_a).into(),
            (&b_b).into(),
            (&b_out).into(),
        ),
        sum::add_into(&ctx, "add_into", n, (&b_b).into(), (&b_into).into()),
        sum::column_sum(
            &ctx,
            "column_sum",
            rows,
            cols,
            (&b_b).into(),
            (&b_cols).into(),
        ),
    ];
    run(&ctx, &[&kernels[0], &kernels[1], &kernels[2]]);
    // One f32 addition, correctly rounded in both engines: equal, within u of the result.
    let bound = |i: usize| U * f64::from(cpu_add[i].abs());
    assert_within("add", &read(&ctx, &b_out), &cpu_add, bound);
    assert_within("add_into", &read(&ctx, &b_into), &cpu_into, bound);
    // rows + 1 terms of size <= 1 summed in f32 in some order, the reference rounded once.
    let bound = |_| gamma(rows + 2) * (rows + 1) as f64;
    assert_within("column_sum", &read(&ctx, &b_cols), &cpu_cols, bound);
}

/// More workgroups than one dimension holds: `grid` spreads them over two, and the shader's
/// flattened id must reach every element exactly once.
#[test]
fn dispatches_past_65535_workgroups_cover_every_element() {
    let Some(ctx) = common::gpu() else { return };
    // 65535 workgroups of 256, plus 300 elements: a second row of workgroups is needed.
    let n = 256 * 65_535 + 300;
    let src: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let b_src = ctx.storage_buffer("src", &src);
    let b_dst = ctx.storage_buffer("dst", &vec![1.0f32; n]);
    let kernel = sum::add_into(&ctx, "add_into", n, (&b_src).into(), (&b_dst).into());
    run(&ctx, &[&kernel]);
    let dst = read(&ctx, &b_dst);
    // Small integers add exactly: every element must be src + 1, once.
    let wrong = dst
        .iter()
        .zip(&src)
        .filter(|(d, s)| **d != **s + 1.0)
        .count();
    assert_eq!(wrong, 0, "{wrong} of {n} elements missed or added twice");
}
