//! The `archlab` command-line tool: the page's engine, headless.

#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod calc;
#[cfg(not(target_arch = "wasm32"))]
mod compare;
#[cfg(not(target_arch = "wasm32"))]
mod engines;
#[cfg(not(target_arch = "wasm32"))]
mod eval;
#[cfg(not(target_arch = "wasm32"))]
mod evidence;
#[cfg(not(target_arch = "wasm32"))]
mod experiment;
#[cfg(not(target_arch = "wasm32"))]
mod experiments_doc;
#[cfg(not(target_arch = "wasm32"))]
mod export;
#[cfg(not(target_arch = "wasm32"))]
mod info;
#[cfg(not(target_arch = "wasm32"))]
mod init;
#[cfg(not(target_arch = "wasm32"))]
mod report;
#[cfg(not(target_arch = "wasm32"))]
mod sweep;
#[cfg(not(target_arch = "wasm32"))]
mod train;

/// The command-line tool is native only; in a browser the page is the entry point.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    keep_freed_memory();
    match Cli::parse().command {
        Command::Info => info::run(),
        Command::Train(args) => train::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Export(args) => export::run(args),
        Command::Experiment(args) => experiment::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Calc(args) => calc::run(args),
    }
}

/// The CPU engine allocates its activations afresh each step, megabytes at a time. glibc
/// serves such blocks with mmap and returns them on free, so every step paid for page faults
/// on zeroed pages (a fifth of a step at the default size). A fixed mmap threshold at
/// glibc's 64-bit maximum (32 MiB) and no trimming keep freed blocks in the heap for reuse.
#[cfg(not(target_arch = "wasm32"))]
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// Train a small decoder-only transformer and flip the architecture choices of a lecture.
#[cfg(not(target_arch = "wasm32"))]
#[derive(clap::Parser)]
#[command(name = "archlab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(clap::Subcommand)]
enum Command {
    /// Show the GPU adapter and its limits, and check the matmul kernel against the CPU.
    Info,
    /// Train a model; write metrics (JSONL, CSV) and charts (PNG).
    Train(train::TrainArgs),
    /// Time full training steps (forward, backward, AdamW) at three LLaMA-style sizes.
    Bench(bench::BenchArgs),
    /// Loss, logits and gradients of a model (ours or a Hugging Face folder) on given tokens.
    Eval(eval::EvalArgs),
    /// Write a model as a Hugging Face folder (LLaMA, Mistral, Qwen3, OLMo 2, GPT-2, GPT-NeoX).
    Export(export::ExportArgs),
    /// Train a lecture claim's variants side by side; report with an overlaid loss chart.
    Experiment(experiment::ExperimentArgs),
    /// Train run configurations (--config FILE, two or more) side by side in lockstep; report
    /// with the results table and overlaid charts.
    Compare(compare::CompareArgs),
    /// Final loss against learning rate for pre/post-norm, QK-norm and z-loss (Wortsman et al.
    /// 2023); divergence marked.
    Sweep(sweep::SweepArgs),
    /// The presets at their published sizes: parameters, weight and KV-cache bytes at a
    /// context, batch and number format.
    Calc(calc::CalcArgs),
}
