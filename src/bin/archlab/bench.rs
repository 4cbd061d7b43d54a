//! `archlab bench`: full training steps (forward, backward, AdamW) at the three LLaMA-style
//! sizes the project is compared at. A benchmark prints figures; it asserts nothing.

use std::process::ExitCode;
use std::time::Instant;

use archlab::contract::engine::wait;
use archlab::contract::matmul::MatmulSpec;
use archlab::contract::{Batch, Engine, FamilyTime, StepInputs};
use archlab::gpu::matmul::matmul;
use archlab::gpu::roofline::step_costs;
use archlab::gpu::GpuContext;
use archlab::model::{Activation, ModelConfig, NormPosition, NormType, Position};
use archlab::train::TrainConfig;

use crate::engines::{self, Backend};
use crate::train::refuse;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The engine to time.
    #[arg(long, value_enum, default_value = "auto")]
    backend: Backend,
    /// Timed steps per size, after one untimed warm-up step.
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// Only the sizes whose name contains this (small, default, large).
    #[arg(long)]
    only: Option<String>,
    /// Largest square matmul timed on the GPU (256, 512, 1024, 2048); lavapipe runs at a few
    /// GFLOP/s (docs/performance.md), so keep it small there.
    #[arg(long, default_value_t = 2048)]
    max_matmul: u32,
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

/// The device's measured peaks, for the roofline: the best GFLOP/s of the matmul sweep and the
/// bandwidth of a buffer copy.
struct Peaks {
    flops_per_s: f64,
    bytes_per_s: f64,
}

pub fn run(args: BenchArgs) -> ExitCode {
    let peaks = match args.backend {
        Backend::Gpu | Backend::Auto => {
            pollster::block_on(GpuContext::new()).ok().map(|ctx| Peaks {
                flops_per_s: matmul_table(&ctx, args.max_matmul),
                bytes_per_s: copy_bandwidth(&ctx),
            })
        }
        Backend::Cpu => None,
    };
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
        let mut engine = match engines::open(args.backend, &model, 0, (batch, context)) {
            Ok(engine) => engine,
            Err(error) => return refuse(error),
        };
        if name == SIZES[0].0 || args.only.is_some() {
            println!("engine: {}", engine.describe());
        }
        let tokens = batch * context;
        let data = Batch {
            batch,
            seq: context,
            inputs: (0..tokens).map(|i| (i * 7 % 65) as u32).collect(),
            targets: (0..tokens).map(|i| ((i * 7 + 1) % 65) as i32).collect(),
        };
        let inputs = train.step_inputs(0);
        if let Err(error) = train_steps(engine.as_mut(), &data, &inputs, 1) {
            return refuse(error);
        }
        let started = Instant::now();
        if let Err(error) = train_steps(engine.as_mut(), &data, &inputs, args.steps) {
            return refuse(error);
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
        if let Ok(Some(families)) = wait(engine.start_profile(&data, &inputs)) {
            let total: f64 = families.iter().map(|f| f.ms).sum();
            let shares: Vec<String> = families
                .iter()
                .map(|f| format!("{} {:.2} ms ({:.0}%)", f.family, f.ms, 100.0 * f.ms / total))
                .collect();
            println!("         kernel time (timestamps): {}", shares.join(", "));
            let dispatches: Vec<String> = families
                .iter()
                .map(|f| format!("{} {}", f.family, f.dispatches))
                .collect();
            println!(
                "         dispatches per step: {} ({})",
                families.iter().map(|f| f.dispatches).sum::<usize>(),
                dispatches.join(", ")
            );
            if let Some(peaks) = &peaks {
                roofline(&model, batch, context, peaks, &families);
            }
        }
    }
    ExitCode::SUCCESS
}

/// Each kernel family's FLOPs and bytes per step, the floor time they give at the measured
/// peaks, and the measured time (timestamps).
fn roofline(model: &ModelConfig, batch: usize, seq: usize, peaks: &Peaks, measured: &[FamilyTime]) {
    println!(
        "         roofline at {:.1} GFLOP/s and {:.1} GB/s:",
        peaks.flops_per_s / 1e9,
        peaks.bytes_per_s / 1e9
    );
    println!(
        "         {:<16} {:>9} {:>9} {:>10} {:>12} {:>12}",
        "family", "GFLOP", "MB", "FLOP/byte", "floor ms", "measured ms"
    );
    for (family, cost) in step_costs(model, batch, seq) {
        let measured = measured
            .iter()
            .find(|f| f.family == family.name())
            .map_or_else(|| "-".to_string(), |f| format!("{:.2}", f.ms));
        println!(
            "         {:<16} {:>9.3} {:>9.1} {:>10.1} {:>12.2} {:>12}",
            family.name(),
            cost.flops / 1e9,
            cost.bytes / 1e6,
            cost.flops / cost.bytes,
            cost.floor_seconds(peaks.flops_per_s, peaks.bytes_per_s) * 1e3,
            measured
        );
    }
}

/// Bytes per second of a 64 MiB buffer-to-buffer copy (each byte read once and written once),
/// the device's memory bandwidth as a kernel sees it.
fn copy_bandwidth(ctx: &GpuContext) -> f64 {
    let len = 16 << 20;
    let from = ctx.zeros("bench.copy.from", len);
    let to = ctx.zeros("bench.copy.to", len);
    let size = (len * 4) as u64;
    let run = |reps: u32| {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        for _ in 0..reps {
            encoder.copy_buffer_to_buffer(&from, 0, &to, 0, size);
        }
        ctx.queue.submit([encoder.finish()]);
        let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
    };
    run(1);
    let reps = 8;
    let started = Instant::now();
    run(reps);
    let bytes_per_s = 2.0 * size as f64 * f64::from(reps) / started.elapsed().as_secs_f64();
    println!(
        "buffer copy on {}: {:.1} GB/s (read + write)",
        ctx.adapter.name,
        bytes_per_s / 1e9
    );
    bytes_per_s
}

/// GFLOP/s of the training matmul kernel on square products, timed over repeated dispatches in
/// one submit (the first, untimed, compiles the pipeline); returns the best, in FLOP/s.
fn matmul_table(ctx: &GpuContext, max_size: u32) -> f64 {
    println!("matmul kernel on {} (C = A·B, f32):", ctx.adapter.name);
    println!("{:>6} {:>10} {:>10}", "n", "ms", "GFLOP/s");
    let mut best: f64 = 0.0;
    for n in [256u32, 512, 1024, 2048] {
        if n > max_size {
            break;
        }
        let size = (n * n) as usize;
        let a = ctx.storage_buffer("bench.a", &vec![1.0; size]);
        let b = ctx.storage_buffer("bench.b", &vec![1.0; size]);
        let c = ctx.storage_buffer("bench.c", &vec![0.0; size]);
        let spec = MatmulSpec {
            m: n as usize,
            n: n as usize,
            k: n as usize,
            trans_a: false,
            trans_b: false,
            accumulate: false,
        };
        let kernel = matmul(
            ctx,
            "bench.matmul",
            spec,
            (&a).into(),
            (&b).into(),
            None,
            (&c).into(),
        );
        let run = |reps: u32| {
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                for _ in 0..reps {
                    kernel.encode(&mut pass);
                }
            }
            ctx.queue.submit([encoder.finish()]);
            let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
        };
        run(1);
        // Enough repetitions for about a GFLOP of work, at least one.
        let reps = (1e9 / (2.0 * f64::from(n).powi(3))).ceil().max(1.0) as u32;
        let started = Instant::now();
        run(reps);
        let seconds = started.elapsed().as_secs_f64() / f64::from(reps);
        let gflops = 2.0 * f64::from(n).powi(3) / seconds / 1e9;
        println!("{n:>6} {:>10.2} {gflops:>10.1}", seconds * 1e3);
        best = best.max(gflops * 1e9);
    }
    best
}

/// `steps` training steps on the same batch, for timing: all submitted, then every report
/// collected, as a training loop that never blocks would (the CPU engine works inside each
/// submit).
fn train_steps(
    engine: &mut dyn Engine,
    batch: &Batch,
    inputs: &StepInputs,
    steps: usize,
) -> Result<(), String> {
    for _ in 0..steps {
        engine.submit_step(batch, inputs);
    }
    while engine.in_flight() > 0 {
        wait(engine.next_report()).map_err(|e| format!("engine: {e}"))?;
        engine.poll_reports().map_err(|e| format!("engine: {e}"))?;
    }
    Ok(())
}
