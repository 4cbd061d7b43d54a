//! The kernel check: GPU kernels against the CPU reference on random inputs, and a few training
//! steps of the GPU engine against the CPU engine. The page runs it to show the visitor's GPU
//! computes correctly; `archlab info` and the tests run it natively (lavapipe without a GPU).

use std::rc::Rc;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::contract::matmul::MatmulSpec;
use crate::contract::{Batch, Engine, EngineError};
use crate::cpu::CpuEngine;
use crate::gpu::engine::GpuEngine;
use crate::gpu::matmul::{matmul_once, MatmulTile};
use crate::gpu::GpuContext;
use crate::model::{Activation, AttentionPattern, Dropout, ModelConfig, NormType, Position};
use crate::train::TrainConfig;

/// The outcome of one kernel on one shape.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelCheck {
    /// What ran, e.g. `matmul 33×65×17 Aᵀ +bias`.
    pub label: String,
    /// Largest |GPU − CPU| over the output.
    pub max_abs_error: f32,
    /// Largest error as a fraction of its rounding bound; at most 1 when correct.
    pub worst_error_to_bound: f64,
}

impl KernelCheck {
    /// Whether every element was within its rounding bound.
    pub fn passed(&self) -> bool {
        self.worst_error_to_bound <= 1.0
    }
}

/// Uniform values in [-1, 1) from `rng`.
pub fn random_values(rng: &mut ChaCha8Rng, len: usize) -> Vec<f32> {
    (0..len)
        .map(|_| (rng.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0)
        .collect()
}

/// Runs `spec` on the GPU (on the entry point `tile`; `None`: the one training would use, so
/// both tiles can be checked on every shape) and the CPU on random A, B, bias and initial C,
/// and compares them.
///
/// Tolerance: each output is a sum of K products plus bias and previous C. Summed in f32 in any
/// order (with or without fma), its error is at most γ(K+2)·Σ|terms| with γ(n) = n·u/(1 − n·u)
/// and u = 2⁻²⁴ (Higham, §3.1); the reference's own rounding to f32 adds u·Σ|terms|. So
/// element i passes when |GPU − CPU| ≤ γ(K+3)·Σ|terms|ᵢ. A wrong index or a lost tile gives
/// errors of the size of the values themselves, far above it.
pub async fn check_matmul(
    ctx: &GpuContext,
    spec: MatmulSpec,
    with_bias: bool,
    tile: Option<MatmulTile>,
    rng: &mut ChaCha8Rng,
) -> Result<KernelCheck, EngineError> {
    let a = random_values(rng, spec.m * spec.k);
    let b = random_values(rng, spec.k * spec.n);
    let bias = with_bias.then(|| random_values(rng, spec.n));
    let c_initial = random_values(rng, spec.m * spec.n);

    let (gpu, outside) = matmul_once(ctx, spec, tile, &a, &b, bias.as_deref(), &c_initial).await?;
    let mut cpu = c_initial.clone();
    spec.compute(&a, &b, bias.as_deref(), &mut cpu);
    let magnitudes = spec.magnitudes(&a, &b, bias.as_deref(), &c_initial);

    let unit = f64::from(f32::EPSILON) / 2.0;
    let n = (spec.k + 3) as f64;
    let gamma = n * unit / (1.0 - n * unit);
    let mut max_abs_error = 0.0f32;
    let mut worst_error_to_bound = 0.0f64;
    for ((g, c), magnitude) in gpu.iter().zip(&cpu).zip(magnitudes) {
        let error = (g - c).abs();
        max_abs_error = max_abs_error.max(error);
        let bound = gamma * magnitude + f64::from(f32::MIN_POSITIVE);
        // NaN compares false with everything: count it as a failure explicitly.
        let ratio = if error.is_nan() {
            f64::INFINITY
        } else {
            f64::from(error) / bound
        };
        worst_error_to_bound = worst_error_to_bound.max(ratio);
    }
    if outside > 0 {
        // A store past C would overwrite the next tensor of a shared buffer.
        worst_error_to_bound = f64::INFINITY;
    }
    let label = matmul_label(&spec, with_bias, tile, outside);
    Ok(KernelCheck {
        label,
        max_abs_error,
        worst_error_to_bound,
    })
}

/// A matmul row's name, in English (`names_text` names it in Chinese on the page):
/// "matmul 33×65×17 Aᵀ +bias (Large tile)", and how many floats it wrote past C, if any.
fn matmul_label(
    spec: &MatmulSpec,
    with_bias: bool,
    tile: Option<MatmulTile>,
    outside: usize,
) -> String {
    let mut label = format!("matmul {}×{}×{}", spec.m, spec.n, spec.k);
    for (on, tag) in [
        (spec.trans_a, " Aᵀ"),
        (spec.trans_b, " Bᵀ"),
        (with_bias, " +bias"),
        (spec.accumulate, " +=C"),
    ] {
        if on {
            label.push_str(tag);
        }
    }
    if let Some(tile) = tile {
        label.push_str(&format!(" ({tile:?} tile)"));
    }
    if outside > 0 {
        label.push_str(&format!(": wrote {outside} floats past C"));
    }
    label
}

/// A training row's name, in English (`names_text` names it in Chinese on the page).
fn training_label(name: &str) -> String {
    format!("training, {name}: {CHECK_STEPS} steps, loss vs CPU")
}

/// The shapes the page checks: tile multiples, odd sizes, and each training variant, on the
/// tile training would pick (`None`: the small one for all of these), and one on the large tile
/// so the browser compiles and checks both entry points. (spec, with bias, tile)
pub fn page_check_shapes() -> Vec<(MatmulSpec, bool, Option<MatmulTile>)> {
    let spec = |m, n, k, trans_a, trans_b, accumulate| MatmulSpec {
        m,
        n,
        k,
        trans_a,
        trans_b,
        accumulate,
    };
    vec![
        (spec(64, 64, 64, false, false, false), false, None),
        (spec(33, 65, 17, false, false, false), true, None),
        (spec(100, 7, 130, false, true, false), true, None),
        (spec(5, 129, 70, true, false, true), false, None),
        (spec(1, 1, 1, true, true, true), true, None),
        (
            spec(130, 129, 37, true, true, true),
            true,
            Some(MatmulTile::Large),
        ),
    ]
}

/// Two tiny models for the training check: GPT-2's toggles (LayerNorm with biases, GeLU-tanh,
/// learned positions, tied head, every dropout) and Qwen3's (RMSNorm, SwiGLU, RoPE, GQA,
/// QK-norm), here with a sliding window. Between them a step runs every kernel family.
pub fn page_check_models() -> Vec<(&'static str, ModelConfig)> {
    let tiny = ModelConfig {
        vocab_size: 11,
        context_len: 8,
        d_model: 16,
        n_layers: 2,
        n_heads: 2,
        n_kv_heads: 2,
        ..ModelConfig::default()
    };
    vec![
        (
            "GPT-2 toggles",
            ModelConfig {
                norm: NormType::LayerNorm,
                bias: true,
                activation: Activation::GeluTanh,
                position: Position::Learned,
                tied_embeddings: true,
                dropout: Dropout {
                    embd: 0.1,
                    attn: 0.1,
                    resid: 0.1,
                },
                ..tiny.clone()
            },
        ),
        (
            "Qwen3 toggles",
            ModelConfig {
                n_heads: 4,
                n_kv_heads: 2,
                d_head: Some(4),
                qk_norm: true,
                attention: AttentionPattern::SlidingWindow { window: 3 },
                ..tiny
            },
        ),
    ]
}

/// Training steps the check takes.
const CHECK_STEPS: usize = 3;

/// Relative loss difference the training check accepts: `tests/integration/gpu_engine.rs` derives
/// it (and measures 2e-7 on lavapipe over 20 steps).
const LOSS_TOLERANCE: f64 = 1e-5;

/// Trains `config` a few steps on the GPU engine and on the CPU engine, from the same seed and
/// batches, and compares the per-step losses: every kernel of a training step (forward,
/// backward, clipping, AdamW) runs on this GPU. The check's ratio is the worst relative loss
/// difference over `LOSS_TOLERANCE`.
pub async fn check_training(
    ctx: &Rc<GpuContext>,
    name: &str,
    config: &ModelConfig,
    rng: &mut ChaCha8Rng,
) -> Result<KernelCheck, EngineError> {
    let train = TrainConfig {
        lr: 3e-3,
        warmup_steps: 1,
        steps: CHECK_STEPS,
        z_loss: 1e-3,
        ..TrainConfig::default()
    };
    let seed = rng.next_u64();
    let (batch, seq, vocab) = (2, config.context_len, config.vocab_size as u32);
    let batches: Vec<Batch> = (0..CHECK_STEPS)
        .map(|_| {
            let tokens: Vec<u32> = (0..=batch * seq).map(|_| rng.next_u32() % vocab).collect();
            Batch {
                batch,
                seq,
                inputs: tokens[..batch * seq].to_vec(),
                targets: tokens[1..].iter().map(|&t| t as i32).collect(),
            }
        })
        .collect();
    let cpu_losses = cpu_losses(config, seed, &batches, &train);
    let mut gpu = GpuEngine::new(ctx.clone(), config, seed).expect(VALID);
    for (step, b) in batches.iter().enumerate() {
        gpu.submit_step(b, &train.step_inputs(step));
    }
    let mut gpu_losses = Vec::with_capacity(CHECK_STEPS);
    while gpu.in_flight() > 0 {
        gpu.next_report().await?;
        gpu_losses.extend(gpu.poll_reports()?.iter().map(|r| r.stats.loss));
    }
    let (max_abs_error, worst_error_to_bound) = loss_agreement(&cpu_losses, &gpu_losses);
    Ok(KernelCheck {
        label: training_label(name),
        max_abs_error,
        worst_error_to_bound,
    })
}

/// The largest |CPU − GPU| loss difference, and the largest relative one over
/// `LOSS_TOLERANCE`.
/// NaN-propagating on purpose: a NaN loss must fail the check, and `f32::max` would drop it.
/// (Written with `f32::max`/`f64::max` and an explicit NaN test, this loop crashed rustc 1.95's
/// LLVM in SelectionDAG::getNode on x86-64 at opt-level 3.)
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn loss_agreement(cpu_losses: &[f32], gpu_losses: &[f32]) -> (f32, f64) {
    if cpu_losses.len() != gpu_losses.len() {
        // A missing report is a failure, not a shorter comparison.
        return (f32::NAN, f64::INFINITY);
    }
    let mut max_abs_error = 0.0f32;
    let mut worst_error_to_bound = 0.0f64;
    for (c, g) in cpu_losses.iter().zip(gpu_losses) {
        let error = (c - g).abs();
        let ratio = f64::from(error) / f64::from(c.abs()) / LOSS_TOLERANCE;
        // Written as comparisons that keep a NaN (which then fails the check).
        if !(error <= max_abs_error) {
            max_abs_error = error;
        }
        if !(ratio <= worst_error_to_bound) {
            worst_error_to_bound = ratio;
        }
    }
    (max_abs_error, worst_error_to_bound)
}

const VALID: &str = "the check's models are valid (see the test below)";

/// The CPU engine's losses on `batches`.
fn cpu_losses(config: &ModelConfig, seed: u64, batches: &[Batch], train: &TrainConfig) -> Vec<f32> {
    let mut cpu = CpuEngine::new(config, seed).expect(VALID);
    (batches.iter().enumerate())
        .map(|(step, b)| cpu.step(b, &train.step_inputs(step)).stats.loss)
        .collect()
}

/// Runs every page check with inputs drawn from `seed`: the matmul shapes, then training
/// steps of the small models.
pub async fn run_page_checks(
    ctx: &Rc<GpuContext>,
    seed: u64,
) -> Result<Vec<KernelCheck>, EngineError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut results = Vec::new();
    for (spec, with_bias, tile) in page_check_shapes() {
        results.push(check_matmul(ctx, spec, with_bias, tile, &mut rng).await?);
    }
    for (name, config) in page_check_models() {
        results.push(check_training(ctx, name, &config, &mut rng).await?);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_loss_fails_the_training_check() {
        assert!(loss_agreement(&[1.0, 2.0], &[1.0, 2.0]).1 == 0.0);
        assert!(loss_agreement(&[1.0, 2.0], &[1.0]).1 > 1.0);
        assert!(loss_agreement(&[1.0], &[f32::NAN]).1.is_nan());
    }

    /// Every row the page's check shows reads in Chinese (`names_text` names it), on either
    /// tile, and with floats written past C.
    #[test]
    fn rows_read_in_chinese() {
        use crate::lab::i18n::Lang;
        use crate::lab::names_text::{english_words, name};
        let mut labels: Vec<String> = (page_check_shapes().iter())
            .flat_map(|(spec, bias, tile)| {
                let wrote_past = matmul_label(spec, *bias, Some(MatmulTile::Small), 3);
                [matmul_label(spec, *bias, *tile, 0), wrote_past]
            })
            .collect();
        labels.extend(
            page_check_models()
                .iter()
                .map(|(model, _)| training_label(model)),
        );
        assert!(labels.iter().any(|label| label.contains("Large tile")));
        for label in labels {
            let chinese = name(Lang::Zh, &label);
            // A single letter is a matrix's name (Aᵀ, +=C).
            let words: Vec<&str> = (english_words(&chinese).into_iter())
                .filter(|word| word.len() > 1)
                .collect();
            assert!(words.is_empty(), "{label} → {chinese}: {words:?}");
        }
    }

    #[test]
    fn page_check_models_are_valid() {
        for (name, config) in page_check_models() {
            assert_eq!(config.validate(), Ok(()), "{name}");
        }
    }
}
