//! `shaders/adamw.wgsl` and `shaders/grad_norm.wgsl` against `cpu::optim`: AdamW with
//! per-tensor weight decay over a real parameter layout, the global gradient norm and clipping,
//! the per-layer norms of one table, and the maximum the per-step attention statistics use.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use archlab::contract::AdamWSettings;
use archlab::cpu::optim::{clip_grad_norm, AdamW};
use archlab::gpu::adamw::{adamw_update, decay_mask, AdamWParams};
use archlab::gpu::grad_norm::{
    clip_gradients, max_all, sum_squares_final, sum_squares_partial, SumRange, SumTable, PARTIALS,
    SQUARES_PER_INVOCATION,
};
use archlab::model::{ModelConfig, ParamLayout};
use common::{assert_within, gamma, read, run, uniform, U};

/// The default preset at C = 60: about 100k floats, so the norm's grid-strided first pass runs
/// tens of workgroups, not its most, and an invocation sums up to `SQUARES_PER_INVOCATION`
/// elements; decaying and non-decaying tensors interleave, and the [60] norm gains leave
/// padding.
fn layout() -> ParamLayout {
    let config = ModelConfig {
        d_model: 60,
        n_heads: 6,
        n_kv_heads: 2,
        ..ModelConfig::default()
    };
    config.validate().unwrap();
    let layout = ParamLayout::new(&config);
    assert!(
        (65_536..2 * 65_536).contains(&layout.total_len),
        "{}",
        layout.total_len
    );
    layout
}

/// The relative error bound of a root sum of squares of `n` floats: an invocation of the first
/// pass sums at most `SQUARES_PER_INVOCATION` squares (more where `n` exceeds `PARTIALS`
/// workgroups' worth), then two trees of depth 8 (256 invocations, 256 partials) and the
/// rounding of the sum: gamma(m + 8 + 8 + 1), halved by the square root, plus its rounding.
fn root_sum_squares_bound(n: usize) -> f64 {
    let m = SQUARES_PER_INVOCATION.max(n.div_ceil(PARTIALS * 256));
    gamma(m + 17) / 2.0 + U
}

/// Random gradients on the tensors, zero on the padding, as a backward leaves them.
fn gradients(layout: &ParamLayout, seed: u64, scale: f32) -> Vec<f32> {
    let noise = uniform(seed, layout.total_len, scale);
    let mut grads = vec![0.0; layout.total_len];
    for t in &layout.tensors {
        grads[t.range()].copy_from_slice(&noise[t.range()]);
    }
    grads
}

#[test]
fn gradient_norm_and_clipping_match_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let layout = layout();
    let n = layout.total_len;
    for (max_norm, scale) in [(1.0, 0.01), (1.0, 1.0), (0.0, 1.0)] {
        let grads = gradients(&layout, 3, scale);
        let mut cpu = grads.clone();
        let cpu_norm = clip_grad_norm(&mut cpu, max_norm);
        let b_grads = ctx.storage_buffer("grads", &grads);
        let b_norm = ctx.zeros("norm", 4);
        let table = SumTable::new(&ctx, "norm", &[SumRange::new(0, n, 0)]);
        let kernels = [
            sum_squares_partial(&ctx, "norm.partial", &table, 0..1, (&b_grads).into()),
            sum_squares_final(&ctx, "norm.final", &table, (&b_norm).into()),
            clip_gradients(
                &ctx,
                "clip",
                n,
                max_norm,
                (&b_norm).into(),
                (&b_grads).into(),
            ),
        ];
        run(&ctx, &[&kernels[0], &kernels[1], &kernels[2]]);
        let rel = root_sum_squares_bound(n);
        let name = format!("max_norm {max_norm}, grads of {scale}");
        let gpu_norm = read(&ctx, &b_norm)[0];
        assert_within(&format!("{name} norm"), &[gpu_norm], &[cpu_norm], |_| {
            rel * f64::from(cpu_norm)
        });
        // Clipped gradients carry the scale's relative error (the norm's, plus a division)
        // and one rounding of the product.
        let bound = |i: usize| (rel + 2.0 * U) * f64::from(cpu[i].abs());
        assert_within(
            &format!("{name} clipped"),
            &read(&ctx, &b_grads),
            &cpu,
            bound,
        );
    }
}

/// One table of ranges (the whole buffer, then each layer's range, results in reverse order):
/// one partial pass over all of them and one final pass give each range's root sum of squares,
/// as the CPU sums them in f64; a second input buffer partial-summed into the table's last
/// range alone (as the view statistics do per stream) lands there and nowhere else.
#[test]
fn one_table_gives_every_ranges_norm() {
    let Some(ctx) = common::gpu() else { return };
    let layout = layout();
    let n = layout.total_len;
    let grads = gradients(&layout, 9, 1.0);
    let other = uniform(11, 3000, 2.0);
    let n_layers = layout.layers.len();
    let mut ranges = vec![(0, n)];
    ranges.extend((0..n_layers).map(|l| {
        let r = layout.layer_range(l);
        (r.start, r.len())
    }));
    let outs = ranges.len() + 1;
    let mut table: Vec<SumRange> = ranges
        .iter()
        .enumerate()
        .map(|(i, &(start, len))| SumRange::new(start, len, outs - 1 - i))
        .collect();
    table.push(SumRange::new(0, other.len(), 0));
    let table = SumTable::new(&ctx, "norms", &table);
    let b_grads = ctx.storage_buffer("grads", &grads);
    let b_other = ctx.storage_buffer("other", &other);
    let b_out = ctx.zeros("norms", outs);
    let kernels = [
        sum_squares_partial(&ctx, "grads", &table, 0..ranges.len(), (&b_grads).into()),
        sum_squares_partial(&ctx, "other", &table, ranges.len()..outs, (&b_other).into()),
        sum_squares_final(&ctx, "final", &table, (&b_out).into()),
    ];
    run(&ctx, &[&kernels[0], &kernels[1], &kernels[2]]);
    let root_sum_squares =
        |xs: &[f32]| xs.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt() as f32;
    let mut cpu = vec![root_sum_squares(&other)];
    cpu.extend(
        ranges
            .iter()
            .rev()
            .map(|&(start, len)| root_sum_squares(&grads[start..start + len])),
    );
    let rel = root_sum_squares_bound(n);
    assert_within("norms", &read(&ctx, &b_out), &cpu, |i| {
        rel * f64::from(cpu[i])
    });
}

/// The maximum is exact, so the GPU's equals the CPU's fold bit for bit, at sizes below, at
/// and above one workgroup's 256 invocations, and with every value negative.
#[test]
fn max_all_matches_the_cpu_fold() {
    let Some(ctx) = common::gpu() else { return };
    for (n, offset) in [(7, 0.0), (256, 0.0), (1000, 0.0), (4099, -50.0)] {
        let values: Vec<f32> = uniform(n as u64, n, 10.0)
            .into_iter()
            .map(|v| v + offset)
            .collect();
        let cpu = values.iter().copied().fold(f32::MIN, f32::max);
        let (b_in, b_out) = (ctx.storage_buffer("values", &values), ctx.zeros("max", 4));
        run(
            &ctx,
            &[&max_all(&ctx, "max", n, (&b_in).into(), (&b_out).into(), 1)],
        );
        assert_eq!(read(&ctx, &b_out), [0.0, cpu, 0.0, 0.0], "n {n}");
    }
}

#[test]
fn adamw_matches_cpu_over_three_steps() {
    let Some(ctx) = common::gpu() else { return };
    let layout = layout();
    let n = layout.total_len;
    for decay_embeddings in [false, true] {
        let train = AdamWSettings {
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.1,
            decay_embeddings,
        };
        let mut params = layout.init(5);
        let mut adam = AdamW::new(n);
        let b_params = ctx.storage_buffer("params", &params);
        let (b_m, b_v) = (ctx.zeros("m", n), ctx.zeros("v", n));
        let b_mask = ctx.storage_buffer("decay mask", &decay_mask(&layout, decay_embeddings));
        let b_grads = ctx.zeros("grads", n);
        let lr = 3e-3;
        let kernel = adamw_update(
            &ctx,
            "adamw",
            AdamWParams::new(n, &train, lr, 1),
            (&b_grads).into(),
            (&b_mask).into(),
            (&b_params).into(),
            (&b_m).into(),
            (&b_v).into(),
        );
        for t in 1..=3 {
            let grads = gradients(&layout, 10 + t as u64, 0.1);
            ctx.queue
                .write_buffer(&b_grads, 0, bytemuck::cast_slice(&grads));
            kernel.set_uniform(
                &ctx,
                bytemuck::bytes_of(&AdamWParams::new(n, &train, lr, t)),
            );
            run(&ctx, &[&kernel]);
            adam.step(&mut params, &grads, &layout, &train, lr);
        }
        // Per step, m and v are each a few f32 roundings off the CPU's f64 values (relative),
        // so the update m / c1 / (sqrt(v / c2) + eps), of size <= ~3 here, is within ~8u of
        // itself, and p within u |p| + lr (wd |p| + |update|) 8u; three steps add up. Bound:
        // 3 steps x 16u x (|p| + lr x 4) per element.
        let bound = |i: usize| 3.0 * 16.0 * U * (f64::from(params[i].abs()) + f64::from(lr) * 4.0);
        let name = format!("decay_embeddings {decay_embeddings}");
        assert_within(
            &format!("{name} params"),
            &read(&ctx, &b_params),
            &params,
            bound,
        );
        // Padding stays zero, as on the CPU.
        let padding = layout
            .tensors
            .iter()
            .map(|t| t.range().end)
            .find(|end| end % 64 != 0)
            .expect("the layout has padding");
        assert_eq!(read(&ctx, &b_params)[padding], 0.0);
    }
}
