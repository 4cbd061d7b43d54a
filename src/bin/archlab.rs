//! The `archlab` command-line tool: the page's engine, headless.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

/// The command-line tool is native only; in a browser the page is the entry point.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::process::ExitCode;

    use archlab::gpu::{check::run_page_checks, GpuContext};
    use clap::{Parser, Subcommand};

    /// Train a small decoder-only transformer and flip the architecture choices of a lecture.
    #[derive(Parser)]
    #[command(name = "archlab", version, about, long_about = None)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Show the GPU adapter and its limits, and check the matmul kernel against the CPU.
        Info,
    }

    pub fn main() -> ExitCode {
        match Cli::parse().command {
            Command::Info => info(),
        }
    }

    fn info() -> ExitCode {
        let ctx = match pollster::block_on(GpuContext::new()) {
            Ok(ctx) => std::rc::Rc::new(ctx),
            Err(error) => {
                println!("GPU: none ({error})");
                println!("Install a Vulkan driver (on Debian: apt-get install mesa-vulkan-drivers libvulkan1) for GPU training.");
                return ExitCode::FAILURE;
            }
        };
        for (label, value) in ctx.adapter.rows() {
            println!("{label:>28}: {value}");
        }
        match pollster::block_on(run_page_checks(&ctx, 1)) {
            Ok(checks) => {
                let mut all_passed = true;
                for check in &checks {
                    all_passed &= check.passed();
                    println!(
                        "{:>28}: max |GPU-CPU| {:.2e} ({:.2} of its bound) {}",
                        check.label,
                        check.max_abs_error,
                        check.worst_error_to_bound,
                        if check.passed() { "ok" } else { "FAILED" }
                    );
                }
                if all_passed {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(error) => {
                println!("kernel check: {error}");
                ExitCode::FAILURE
            }
        }
    }
}
