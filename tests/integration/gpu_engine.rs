//! The GPU engine against the CPU engine: 20 training steps on configs that together cover
//! the toggles, comparing per-step statistics and the parameters after the last step.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::rc::Rc;

use archlab::contract::engine::{generate, wait};
use archlab::contract::score::log_sum_exp;
use archlab::contract::{Batch, Engine, Schedule, IGNORE};
use archlab::cpu::CpuEngine;
use archlab::gpu::engine::GpuEngine;
use archlab::model::{
    Activation, AttentionPattern, BlockLayout, Dropout, LayerPattern, ModelConfig, NormPosition,
    NormType, ParallelNorm, Position, QkNormScope,
};
use archlab::train::TrainConfig;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

const STEPS: usize = 20;
const BATCH: usize = 2;
const SEQ: usize = 8;

/// Tiny shapes (lavapipe is slow) with the toggles of five presets spread over them.
fn configs() -> Vec<(&'static str, ModelConfig)> {
    let tiny = ModelConfig {
        vocab_size: 11,
        context_len: 8,
        d_model: 16,
        n_layers: 2,
        n_heads: 2,
        n_kv_heads: 2,
        ..ModelConfig::default()
    };
    let drop = Dropout {
        embd: 0.1,
        attn: 0.1,
        resid: 0.1,
    };
    vec![
        // Pre-LayerNorm with biases, GeLU-tanh, learned positions, tied head, all dropouts.
        (
            "gpt2",
            ModelConfig {
                norm: NormType::LayerNorm,
                bias: true,
                activation: Activation::GeluTanh,
                position: Position::Learned,
                tied_embeddings: true,
                dropout: drop,
                residual_scaling: true,
                ..tiny.clone()
            },
        ),
        // Post-LayerNorm, ReLU, sinusoidal table, no final norm, T5-like d_head.
        (
            "transformer2017",
            ModelConfig {
                norm: NormType::LayerNorm,
                norm_position: NormPosition::Post,
                final_norm: false,
                bias: true,
                activation: Activation::Relu,
                position: Position::Sinusoidal,
                d_head: Some(6),
                dropout: drop,
                ..tiny.clone()
            },
        ),
        // Sandwich RMSNorm, GeGLU, GQA, RoPE with QK-norm, local/global sliding windows, both
        // soft-caps (near the sizes of this init's logits, so tanh bends them), scaled embeddings.
        (
            "gemma2-qwen3",
            ModelConfig {
                attn_logit_softcap: Some(1.0),
                scale_embeddings: true,
                final_logit_softcap: Some(0.1),
                norm_position: NormPosition::Double,
                activation: Activation::Geglu,
                n_heads: 4,
                n_kv_heads: 2,
                d_head: Some(4),
                qk_norm: true,
                attention: AttentionPattern::SlidingWindow { window: 3 },
                layer_pattern: Some(LayerPattern::GlobalEvery(2)),
                ..tiny.clone()
            },
        ),
        // Parallel block, MQA, SwiGLU, ALiBi, sparse attention, OLMo 2's in-branch norms.
        (
            "palm-alibi",
            ModelConfig {
                block: BlockLayout::Parallel,
                norm_position: NormPosition::PostInBranch,
                n_heads: 4,
                n_kv_heads: 1,
                position: Position::Alibi,
                attention: AttentionPattern::Sparse {
                    local: 2,
                    stride: 3,
                },
                tied_embeddings: true,
                ..tiny.clone()
            },
        ),
        // No norms (QK-norm falls back to RMSNorm), ReGLU, NoPE, parallel with branch dropout.
        (
            "no-norm",
            ModelConfig {
                norm: NormType::None,
                qk_norm: true,
                block: BlockLayout::Parallel,
                activation: Activation::Reglu,
                position: Position::None,
                bias: true,
                dropout: Dropout {
                    embd: 0.0,
                    attn: 0.2,
                    resid: 0.1,
                },
                ..tiny.clone()
            },
        ),
        // GPT-NeoX's parallel block (a norm per branch) with OLMo 2's QK-norm over the whole
        // projections (GQA, so q and k widths differ), and a padding token as PyTorch's
        // padding_idx (the batches use every token id).
        (
            "neox-olmo2",
            ModelConfig {
                norm: NormType::LayerNorm,
                bias: true,
                block: BlockLayout::Parallel,
                parallel_norm: ParallelNorm::PerBranch,
                activation: Activation::Gelu,
                n_heads: 4,
                n_kv_heads: 2,
                qk_norm: true,
                qk_norm_scope: QkNormScope::Projection,
                padding_token: Some(3),
                ..tiny
            },
        ),
    ]
}

/// Random tokens of step `step`; every 7th target is IGNORE.
fn batch(step: usize, vocab: u32) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(1000 + step as u64);
    let inputs = (0..BATCH * SEQ).map(|_| rng.next_u32() % vocab).collect();
    let targets = (0..BATCH * SEQ)
        .map(|i| {
            if i % 7 == 3 {
                IGNORE
            } else {
                (rng.next_u32() % vocab) as i32
            }
        })
        .collect();
    Batch {
        batch: BATCH,
        seq: SEQ,
        inputs,
        targets,
    }
}

#[test]
fn twenty_steps_agree_with_the_cpu_engine() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let train = TrainConfig {
        lr: 3e-3,
        min_lr: 3e-4,
        warmup_steps: 3,
        steps: STEPS,
        schedule: Schedule::Cosine,
        grad_clip: 1.0,
        z_loss: 1e-3,
        weight_decay: 0.1,
        ..TrainConfig::default()
    };
    for (name, config) in configs() {
        config.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut cpu = CpuEngine::new(&config, 7).unwrap();
        let mut gpu = GpuEngine::new(ctx.clone(), &config, 7).unwrap();
        let mut cpu_stats = Vec::new();
        let mut cpu_views = Vec::new();
        let mut reports = Vec::new();
        for step in 0..STEPS {
            let b = batch(step, config.vocab_size as u32);
            let inputs = train.step_inputs(step);
            gpu.submit_step(&b, &inputs);
            let report = cpu.step(&b, &inputs);
            cpu_stats.push(report.stats);
            cpu_views.push((report.views, report.layer_grad_norms));
            reports.extend(gpu.poll_reports().unwrap());
        }
        let arrived_early = reports.len();
        reports.extend(common::all_reports(&mut gpu));
        let gpu_stats: Vec<_> = reports.iter().map(|r| r.stats).collect();
        // How many arrived while stepping depends on the machine's load: printed, not asserted.
        println!(
            "{name}: {arrived_early} of {STEPS} statistics arrived while stepping; {} read-back buffers",
            gpu.staging_buffers()
        );
        // The staging buffers are reused (2 when the GPU keeps up, as on lavapipe here; up to
        // 4 leaves room for a loaded machine; one per step would mean no reuse at all).
        assert!(
            gpu.staging_buffers() <= 4,
            "{name}: {} read-back buffers",
            gpu.staging_buffers()
        );
        assert_eq!(gpu_stats.len(), STEPS);

        // Tolerance on the statistics: every kernel agrees with its CPU op to a few units of f32
        // rounding of its terms (tests/integration/gpu_<family>.rs), i.e. ~1e-6 relative through
        // the ~10 kernels between parameters and loss; AdamW then moves each parameter by at most
        // ~lr a step whatever the gradient's size, so 20 steps cannot amplify those differences.
        // Measured on lavapipe: losses within 2e-7 relative, gradient norms (with more
        // cancellation, e.g. through QK-norm) within 1e-5. Bounds: 1e-5 and 1e-4, 50x and 10x
        // the measurement, for other GPUs' exp and sqrt.
        let rel =
            |a: f32, b: f32| (f64::from(a) - f64::from(b)).abs() / f64::from(a.abs()).max(1e-6);
        // Each step's views, reduced on the GPU and read back with its statistics: the same
        // bounds as the views of a forward below.
        assert_eq!(cpu_views.len(), reports.len());
        for ((views, layer_grad_norms), report) in cpu_views.iter().zip(&reports) {
            let (max_logits, norms) = (&views.max_attention_logits, &views.norms);
            let step = report.stats.step;
            // Per-layer gradient norms: the global norm's bound, on parts of it.
            assert_eq!(layer_grad_norms.len(), report.layer_grad_norms.len());
            for (c, g) in layer_grad_norms.iter().zip(&report.layer_grad_norms) {
                assert!(
                    rel(*c, *g) <= 1e-4,
                    "{name} step {step}: layer gradient norms {layer_grad_norms:?} vs {:?}",
                    report.layer_grad_norms
                );
            }
            assert_eq!(max_logits.len(), report.views.max_attention_logits.len());
            // The largest logit is the one statistic here with the gradient norms' cancellation:
            // in no-norm the QK-norm divides un-normalised projections by their RMS, which
            // turns the parameters' ~5e-7 differences into up to 2.9e-5 relative after a few
            // steps (measured on lavapipe; under 1e-6 absolute in every other configuration).
            // So the gradient norms' bound, 1e-4 relative.
            for (c, g) in max_logits.iter().zip(&report.views.max_attention_logits) {
                assert!(
                    rel(*c, *g) <= 1e-4,
                    "{name} step {step}: max logit {c} vs {g}"
                );
            }
            assert_eq!(norms.len(), report.views.norms.len());
            for (c, g) in norms.iter().zip(&report.views.norms) {
                for (a, b) in [(c.residual, g.residual), (c.attn, g.attn), (c.mlp, g.mlp)] {
                    assert!(
                        rel(a, b) <= 1e-5,
                        "{name} step {step}: norms {c:?} vs {g:?}"
                    );
                }
            }
        }
        let mut worst = [0.0f64; 3];
        for (c, g) in cpu_stats.iter().zip(&gpu_stats) {
            assert_eq!(c.step, g.step, "{name}: statistics arrive in order");
            assert_eq!(c.lr, g.lr, "{name}: the same schedule");
            let diffs = [
                rel(c.loss, g.loss),
                rel(c.z_loss, g.z_loss),
                rel(c.grad_norm, g.grad_norm),
            ];
            // log Z is a mean of logsumexps as the loss is; the parameter norm sums squares of
            // parameters that agree to the bound below.
            assert!(
                rel(c.log_z, g.log_z) <= 1e-5 && rel(c.param_norm, g.param_norm) <= 1e-5,
                "{name} step {}: cpu {c:?} gpu {g:?}",
                c.step
            );
            for (w, d) in worst.iter_mut().zip(diffs) {
                *w = w.max(d);
            }
            assert!(
                diffs[0] <= 1e-5 && diffs[1] <= 1e-5,
                "{name} step {}: cpu {c:?} gpu {g:?}",
                c.step
            );
            assert!(
                diffs[2] <= 1e-4,
                "{name} step {}: cpu {c:?} gpu {g:?}",
                c.step
            );
        }
        println!(
            "{name}: worst relative differences: loss {:.2e}, z-loss {:.2e}, grad norm {:.2e}",
            worst[0], worst[1], worst[2]
        );

        // Parameters after 20 steps: within 1e-3 of the furthest AdamW can move one in 20 steps
        // (lr each), 6e-5. Measured: <= 3e-6, the largest in key biases, whose gradient is
        // exactly zero in exact arithmetic (softmax ignores a constant shift), so AdamW
        // normalises rounding noise there; a wrong gradient anywhere moves parameters by ~lr.
        let bound = 1e-3 * f64::from(train.lr) * STEPS as f64;
        let (cp, gp) = (cpu.params(), wait(gpu.start_state()).unwrap().params);
        let mut worst_param = (0.0f64, String::new());
        for t in &gpu.layout().tensors {
            for i in t.range() {
                let d = (f64::from(cp[i]) - f64::from(gp[i])).abs();
                if d > worst_param.0 {
                    worst_param = (d, format!("{}[{}]", t.name, i - t.offset));
                }
            }
        }
        println!(
            "{name}: worst parameter difference {:.2e} at {}",
            worst_param.0, worst_param.1
        );
        assert!(
            worst_param.0 <= bound,
            "{name}: parameters differ by {:.2e} at {}",
            worst_param.0,
            worst_param.1
        );

        // The reads after training: loss and gradients, logits, attention maps, norms.
        let held_out = batch(999, config.vocab_size as u32);
        let (ce, cg) = (cpu.loss_and_gradients(&held_out), cpu.grads().to_vec());
        let (ge, gg) = wait(gpu.start_gradients(&held_out)).unwrap();
        assert!(rel(ce, ge) <= 1e-5, "{name}: loss {ce} vs {ge}");
        // Gradients without clipping or z-loss: within 1e-4 of the largest, as the norms above.
        let largest = cg.iter().fold(0.0f32, |m, g| m.max(g.abs()));
        let worst_grad = cg
            .iter()
            .zip(&gg)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            worst_grad <= 1e-4 * largest,
            "{name}: gradients differ by {worst_grad:e} (largest {largest:e})"
        );
        let tokens = &held_out.inputs[..5];
        let cl = cpu.logits(tokens, 1, 5);
        let gl = wait(gpu.start_logits(tokens, 1, 5, 0..5)).unwrap();
        // Logits are O(1) here: the same 1e-5 as the loss, absolute.
        let worst_logit = cl
            .iter()
            .zip(&gl)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            worst_logit <= 1e-5,
            "{name}: logits differ by {worst_logit:e}"
        );
        // Greedy generation (a new plan per length) continues the same way.
        let prompt = &held_out.inputs[..3];
        assert_eq!(
            generate(&mut cpu, prompt, 4, 0.0, 0, 0).unwrap(),
            generate(&mut gpu, prompt, 4, 0.0, 0, 0).unwrap(),
            "{name}: greedy generation"
        );
        // One forward's views, of 5 tokens.
        let cv = wait(cpu.start_views(tokens)).unwrap();
        let gv = wait(gpu.start_views(tokens)).unwrap();
        assert_eq!(cv.attention.len(), config.n_layers);
        assert_eq!(gv.attention.len(), config.n_layers);
        for layer in 0..config.n_layers {
            let (ca, ga) = (&cv.attention[layer], &gv.attention[layer]);
            assert_eq!(ca.len(), ga.len());
            let worst_p = ca
                .iter()
                .zip(ga)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                worst_p <= 1e-5,
                "{name}: layer {layer} attention differs by {worst_p:e}"
            );
        }
        let (cv, gv) = (cv.views, gv.views);
        assert_eq!(cv.max_attention_logits.len(), gv.max_attention_logits.len());
        for (c, g) in cv.max_attention_logits.iter().zip(&gv.max_attention_logits) {
            // q.k / sqrt(D) cancels (it is ~0.01 here from O(1) vectors): absolute, as the logits.
            assert!((c - g).abs() <= 1e-5, "{name}: max logit {c} vs {g}");
        }
        assert_eq!(cv.norms.len(), gv.norms.len());
        for (c, g) in cv.norms.iter().zip(&gv.norms) {
            for (a, b) in [(c.residual, g.residual), (c.attn, g.attn), (c.mlp, g.mlp)] {
                assert!(rel(a, b) <= 1e-5, "{name}: norms {c:?} vs {g:?}");
            }
        }
    }
}

/// The profiled step is a real training step, split into one timed pass per kernel: the next
/// step continues exactly as after an ordinary step, and every kernel family of a training
/// step is timed.
#[test]
fn profiled_step_times_every_family_and_trains_like_a_step() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let (_, config) = configs().remove(0);
    let train = TrainConfig::default();
    let vocab = config.vocab_size as u32;
    let mut plain = GpuEngine::new(ctx.clone(), &config, 3).unwrap();
    let mut profiled = GpuEngine::new(ctx.clone(), &config, 3).unwrap();
    plain.submit_step(&batch(0, vocab), &train.step_inputs(0));
    let Some(families) =
        wait(profiled.start_profile(&batch(0, vocab), &train.step_inputs(0))).unwrap()
    else {
        eprintln!("skipping: no timestamp queries on this device");
        return;
    };
    plain.submit_step(&batch(1, vocab), &train.step_inputs(1));
    profiled.submit_step(&batch(1, vocab), &train.step_inputs(1));
    let plain_stats = common::all_reports(&mut plain);
    let profiled_stats = common::all_reports(&mut profiled);
    assert_eq!(profiled_stats.len(), 1, "the profiled step reports nothing");
    assert_eq!(
        profiled_stats[0].stats.step, 1,
        "the profiled step counts as a step"
    );
    // Same kernels in the same order, so bit-identical, not just close.
    assert_eq!(plain_stats.last(), profiled_stats.last());
    let names: Vec<&str> = families.iter().map(|f| f.family).collect();
    for family in [
        "matmul.wgsl",
        "attention.wgsl",
        "norm.wgsl",
        "loss.wgsl",
        "adamw.wgsl",
    ] {
        assert!(names.contains(&family), "{family} in {names:?}");
    }
    // A training step takes time: all-zero timestamps would mean they were never written.
    let total: f64 = families.iter().map(|f| f.ms).sum();
    assert!(total > 0.0, "{families:?}");
    assert!(
        families.windows(2).all(|w| w[0].ms >= w[1].ms),
        "largest first"
    );
}

/// Dispatches per training step of the default (LLaMA-style, serial pre-norm) block at three
/// layers, counted by hand from the graph: each norm site (two per layer and the final one) is
/// one dispatch forward and two backward, the residual adds ride in the norms but the MLP's
/// (the next layer's norm is in another call), and the statistics are one partial pass per
/// range of a table and one final pass per table (gradient, layers' and parameter norms, the
/// views' three streams per layer) with a maximum per layer and the clipping. Before the
/// fusions: sum.wgsl 4L (an add and an add_into per residual), grad_norm.wgsl 9L + 5.
#[test]
fn a_step_dispatches_what_the_fusions_leave() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let layers = 3;
    let config = ModelConfig {
        vocab_size: 11,
        context_len: SEQ,
        d_model: 16,
        n_layers: layers,
        n_heads: 2,
        n_kv_heads: 2,
        ..ModelConfig::default()
    };
    let mut engine = GpuEngine::new(ctx, &config, 3).unwrap();
    let inputs = TrainConfig::default().step_inputs(0);
    let Some(families) = wait(engine.start_profile(&batch(0, 11), &inputs)).unwrap() else {
        eprintln!("skipping: no timestamp queries on this device");
        return;
    };
    let dispatches = |family: &str| {
        families
            .iter()
            .find(|f| f.family == family)
            .map_or(0, |f| f.dispatches)
    };
    let norm_sites = 2 * layers + 1;
    assert_eq!(dispatches("norm.wgsl"), 3 * norm_sites, "{families:?}");
    assert_eq!(dispatches("sum.wgsl"), layers, "{families:?}");
    let statistics = 2 + (3 * layers + 1 + layers) + 2 + 1;
    assert_eq!(dispatches("grad_norm.wgsl"), statistics, "{families:?}");
}

/// Every named preset (the lecture's summary table at toy scale) trains on the GPU engine as
/// on the CPU engine: three steps, losses within the relative 1e-5 derived above.
#[test]
fn every_preset_trains_on_the_gpu_as_on_the_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let train = TrainConfig {
        warmup_steps: 1,
        z_loss: 1e-4,
        ..TrainConfig::default()
    };
    for preset in &archlab::train::presets::PRESETS {
        let (name, config) = (preset.name, &preset.model);
        let mut cpu = CpuEngine::new(config, 5).unwrap();
        let mut gpu = GpuEngine::new(ctx.clone(), config, 5).unwrap();
        let mut cpu_losses = Vec::new();
        for step in 0..3 {
            let b = batch(step, config.vocab_size as u32);
            gpu.submit_step(&b, &train.step_inputs(step));
            cpu_losses.push(cpu.step(&b, &train.step_inputs(step)).stats.loss);
        }
        let reports = common::all_reports(&mut gpu);
        assert_eq!(
            reports.len(),
            cpu_losses.len(),
            "{name}: one report per step"
        );
        for (c, g) in cpu_losses.iter().zip(&reports) {
            assert!(
                (c - g.stats.loss).abs() <= 1e-5 * c.abs(),
                "{name}: cpu {c}, gpu {}",
                g.stats.loss
            );
        }
    }
}

/// A step's log Z, per-layer gradient norms and parameter norm against the same quantities
/// computed here from what the engine reads back: the logits of the batch (log Z of its counted
/// rows), its gradients (summed by tensor name) and the parameters after the update.
fn step_statistics_match_their_definitions(name: &str, engine: &mut dyn Engine) {
    let config = engine.config().clone();
    let b = batch(0, config.vocab_size as u32);
    // No z-loss, so the step's gradients are those of `start_gradients`: log Z is recorded
    // all the same.
    let inputs = TrainConfig::default().step_inputs(0);
    let rows = BATCH * SEQ;
    let logits = wait(engine.start_logits(&b.inputs, BATCH, SEQ, 0..rows)).unwrap();
    let counted: Vec<f64> = logits
        .chunks_exact(config.vocab_size)
        .zip(&b.targets)
        .filter(|(_, &t)| t != IGNORE)
        .map(|(row, _)| log_sum_exp(row.iter().map(|&x| f64::from(x))))
        .collect();
    let log_z = counted.iter().sum::<f64>() / counted.len() as f64;
    let (_, grads) = wait(engine.start_gradients(&b)).unwrap();
    let layout = engine.layout().clone();
    let norm_of = |values: &[f32], prefix: &str| {
        let tensors = layout.tensors.iter();
        let mine = tensors.filter(|t| t.name.starts_with(prefix));
        mine.flat_map(|t| &values[t.range()])
            .map(|&x| f64::from(x).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let layer_norms: Vec<f64> = (0..config.n_layers)
        .map(|l| norm_of(&grads, &format!("layers.{l}.")))
        .collect();
    engine.submit_step(&b, &inputs);
    let report = common::all_reports(engine).remove(0);
    let params = wait(engine.start_state()).unwrap().params;
    let param_norm = norm_of(&params, "");
    let close = |a: f64, b: f32| (a - f64::from(b)).abs() <= 1e-5 * a.abs();
    let stats = report.stats;
    assert!(
        close(log_z, stats.log_z),
        "{name}: log Z {log_z} vs {stats:?}"
    );
    assert!(
        close(param_norm, stats.param_norm),
        "{name}: {param_norm} vs {stats:?}"
    );
    assert_eq!(report.layer_grad_norms.len(), config.n_layers, "{name}");
    for (want, got) in layer_norms.iter().zip(&report.layer_grad_norms) {
        assert!(
            close(*want, *got),
            "{name}: {layer_norms:?} vs {:?}",
            report.layer_grad_norms
        );
    }
    // A layer's share is a part of the whole.
    assert!(layer_norms
        .iter()
        .all(|&n| n > 0.0 && n < f64::from(stats.grad_norm)));
}

#[test]
fn step_statistics_are_what_they_say_on_both_engines() {
    // Three layers, padding token, GQA: layer ranges that are not the whole model.
    let (_, config) = configs().pop().unwrap();
    let config = ModelConfig {
        n_layers: 3,
        ..config
    };
    step_statistics_match_their_definitions("cpu", &mut CpuEngine::new(&config, 5).unwrap());
    let Some(ctx) = common::gpu() else { return };
    let mut gpu = GpuEngine::new(Rc::new(ctx), &config, 5).unwrap();
    step_statistics_match_their_definitions("gpu", &mut gpu);
}
