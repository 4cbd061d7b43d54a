//! The memory estimate (`model::memory`) against what the GPU engine allocates, by wgpu's own
//! count of live buffer bytes (lavapipe): a training step, then a read of the attention maps
//! of one sequence at full context, held while the read is in flight (its buffers and their
//! read-back copies alive). The estimate must cover that and stay within 2x of it.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::rc::Rc;

use archlab::contract::engine::wait;
use archlab::contract::{Batch, Engine};
use archlab::gpu::engine::GpuEngine;
use archlab::model::{AttentionMemory, Dropout, ModelConfig};
use archlab::train::TrainConfig;

/// Attention-heavy on purpose: a layer's probabilities `[B, H, T, T]` are 4 * 4 * 128 * 128 =
/// 262,144 floats against 512 * 16 = 8,192 for a `[B*T, C]` stream, so an estimate that
/// counts them where the fused engine keeps none is off many times over.
fn config(attn_dropout: f32) -> ModelConfig {
    ModelConfig {
        d_model: 16,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 4,
        context_len: 128,
        dropout: Dropout {
            attn: attn_dropout,
            ..Dropout::default()
        },
        ..ModelConfig::default()
    }
}

const BATCH: usize = 4;
const SEQ: usize = 128;

#[test]
fn the_estimate_matches_what_the_gpu_engine_allocates() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    assert_eq!(ctx.memory_budget().attention, AttentionMemory::Fused);
    // Fused attention, and with dropout on the probabilities (kept [B, H, T, T]).
    for attn_dropout in [0.0, 0.1] {
        let config = config(attn_dropout);
        config.validate().unwrap();
        let before = common::gpu_live(&ctx);
        let mut engine = GpuEngine::new(ctx.clone(), &config, 1).unwrap();
        let vocab = config.vocab_size as u32;
        let tokens: Vec<u32> = (0..BATCH * SEQ).map(|i| i as u32 * 7 % vocab).collect();
        let batch = Batch {
            batch: BATCH,
            seq: SEQ,
            targets: tokens.iter().map(|&t| ((t + 1) % vocab) as i32).collect(),
            inputs: tokens.clone(),
        };
        let train = TrainConfig {
            batch_size: BATCH,
            seq_len: SEQ,
            ..TrainConfig::default()
        };
        engine.submit_step(&batch, &train.step_inputs(0));
        common::all_reports(&mut engine);
        let views = engine.start_views(&tokens[..config.context_len]);
        let used = common::gpu_live(&ctx) - before;
        wait(views).unwrap();
        let need = config.memory_need(BATCH, SEQ, AttentionMemory::Fused);
        let kept = config.memory_need(BATCH, SEQ, AttentionMemory::Kept);
        println!(
            "attention dropout {attn_dropout}: the GPU engine holds {:.3} MB, the estimate \
             {:.3} MB (state {:.3}, activations {:.3}); as if it kept the probabilities: \
             {:.3} MB",
            used / 1e6,
            need.total() / 1e6,
            need.state / 1e6,
            need.activations / 1e6,
            kept.total() / 1e6,
        );
        assert!(need.total() >= used, "{} < {used}", need.total());
        assert!(need.total() <= 2.0 * used, "{} vs {used}", need.total());
    }
}
