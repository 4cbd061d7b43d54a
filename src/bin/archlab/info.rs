//! `archlab info`: the GPU adapter, its limits, and the kernel check.

use std::process::ExitCode;

use archlab::gpu::GpuContext;
use archlab::lab::kernel_check::run_page_checks;

pub fn run() -> ExitCode {
    let ctx = match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => std::rc::Rc::new(ctx),
        Err(error) => {
            println!("GPU: none ({error})");
            println!("Engine: cpu (the reference engine)");
            println!(
                "Install a Vulkan driver (on Debian: apt-get install mesa-vulkan-drivers \
                 libvulkan1) for GPU training."
            );
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{:>28}: gpu (the default of train, eval, bench and experiment; --backend cpu for the reference)",
        "engine"
    );
    for (label, value) in ctx.adapter.rows() {
        println!("{label:>28}: {value}");
    }
    match pollster::block_on(run_page_checks(&ctx, 1)) {
        Ok(checks) => {
            for check in &checks {
                println!(
                    "{:>28}: max |GPU-CPU| {:.2e} ({:.2} of its bound) {}",
                    check.label,
                    check.max_abs_error,
                    check.worst_error_to_bound,
                    if check.passed() { "ok" } else { "FAILED" }
                );
            }
            if checks.iter().all(|check| check.passed()) {
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
