//! `archlab bench`: full training steps (forward, backward, AdamW) at the three LLaMA-style
//! sizes the project is compared at. A benchmark prints figures; it asserts nothing.

use std::process::ExitCode;
use std::time::Instant;

use archlab::cpu::CpuEngine;
use archlab::engine::Engine;
use archlab::model::{Activation, ModelConfig, NormPosition, NormType, Position};
use archlab::train::batch::Batch;
use archlab::train::TrainConfig;

use crate::Backend;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The engine to time.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: Backend,
    /// Timed steps per size, after one untimed warm-up step.
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// Only the sizes whose name contains this (small, default, large).
    #[arg(long)]
    only: Option<String>,
}

/// (name, d_model, layers, heads, context, batch)
const SIZES: [(&str, usize, usize, usize, usize, usize); 3] = [
    ("small", 64, 2, 4, 64, 16),
    ("default", 128, 4, 4, 128, 32),
    ("large", 256, 6, 8, 128, 32),
];

/// Pre-RMSNorm, SwiGLU, RoPE, no biases, vocabulary 65: LLaMA's choices at toy scale.
fn llama_style(d_model: usize, n_layers: usize, n_heads: usize, context_len: usize) -> ModelConfig {
    ModelConfig {
        vocab_size: 65,
        context_len,
        d_model,
        n_layers,
        n_heads,
        n_kv_heads: n_heads,
        norm: NormType::RmsNorm,
        norm_position: NormPosition::Pre,
        activation: Activation::Swiglu,
        position: Position::Rope,
        bias: false,
        ..ModelConfig::default()
    }
}

pub fn run(args: BenchArgs) -> ExitCode {
    println!(
        "engine: {:?} ({} threads: 1)",
        args.backend,
        std::env::consts::ARCH
    );
    println!(
        "{:<8} {:>7} {:>6} {:>5} {:>7} {:>5} {:>10} {:>10} {:>12} {:>10}",
        "size",
        "d_model",
        "layers",
        "heads",
        "context",
        "batch",
        "params",
        "ms/step",
        "tokens/s",
        "GFLOP/s"
    );
    for (name, d_model, layers, heads, context, batch) in SIZES {
        if args
            .only
            .as_deref()
            .is_some_and(|only| !name.contains(only))
        {
            continue;
        }
        let model = llama_style(d_model, layers, heads, context);
        let train = TrainConfig {
            batch_size: batch,
            seq_len: context,
            ..TrainConfig::default()
        };
        let mut engine = match args.backend {
            Backend::Cpu => CpuEngine::new(&model, 0).expect("the bench sizes are valid"),
        };
        let tokens = batch * context;
        let data = Batch {
            batch,
            seq: context,
            inputs: (0..tokens).map(|i| (i * 7 % 65) as u32).collect(),
            targets: (0..tokens).map(|i| ((i * 7 + 1) % 65) as i32).collect(),
        };
        engine.step(&data, &train);
        let started = Instant::now();
        for _ in 0..args.steps {
            engine.step(&data, &train);
        }
        let seconds = started.elapsed().as_secs_f64() / args.steps.max(1) as f64;
        let flops = model.flops_per_token() * tokens as f64;
        println!(
            "{:<8} {:>7} {:>6} {:>5} {:>7} {:>5} {:>10} {:>10.1} {:>12.0} {:>10.2}",
            name,
            d_model,
            layers,
            heads,
            context,
            batch,
            model.param_count().total(),
            seconds * 1e3,
            tokens as f64 / seconds,
            flops / seconds / 1e9
        );
    }
    ExitCode::SUCCESS
}
