//! Shared by the integration tests: the GPU context, or a skip that CI turns into a failure.

use archlab::gpu::GpuContext;

/// The GPU context for a test, or `None` to skip it when this machine has no adapter. With
/// `REQUIRE_GPU=1` (set by `cargo xtask test`) a missing adapter fails the test instead, so that
/// CI cannot pass by skipping every GPU test.
pub fn gpu() -> Option<GpuContext> {
    match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => Some(ctx),
        Err(error) if std::env::var("REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("REQUIRE_GPU=1 but {error}; install mesa-vulkan-drivers for lavapipe")
        }
        Err(error) => {
            eprintln!("skipping: {error}");
            None
        }
    }
}

/// Bytes of GPU buffers alive on `ctx`'s device (wgpu's own counter: the `counters` feature,
/// tests only), once the device has freed what was dropped.
pub fn gpu_live(ctx: &GpuContext) -> f64 {
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    ctx.device.get_internal_counters().hal.buffer_memory.read() as f64
}

use archlab::gpu::kernel::{submit, Kernel};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Unit roundoff of f32, 2^-24.
pub const U: f64 = f32::EPSILON as f64 / 2.0;

/// Higham's gamma(n) = n u / (1 - n u): the relative bound on a sum or product of n terms
/// rounded in f32 in any order (Accuracy and Stability of Numerical Algorithms, section 3.1).
pub fn gamma(n: usize) -> f64 {
    let nu = n as f64 * U;
    nu / (1.0 - nu)
}

/// Uniform values in [-scale, scale) from `seed`.
pub fn uniform(seed: u64, len: usize, scale: f32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| scale * ((rng.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0))
        .collect()
}

/// Runs `kernels` in order in one submit.
pub fn run(ctx: &GpuContext, kernels: &[&Kernel]) {
    submit(ctx, "test", kernels);
}

/// Reads a whole buffer back.
pub fn read(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Vec<f32> {
    pollster::block_on(ctx.read_f32(buffer)).unwrap()
}

/// Asserts `|gpu[i] - cpu[i]| <= bound(i)` for every element (NaN fails) and prints the largest
/// error and the largest error-to-bound ratio (`cargo test -- --nocapture` shows them).
pub fn assert_within(name: &str, gpu: &[f32], cpu: &[f32], bound: impl Fn(usize) -> f64) {
    assert_eq!(gpu.len(), cpu.len(), "{name}: lengths");
    let (mut max_error, mut worst, mut worst_at) = (0.0f64, 0.0f64, 0);
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let error = (f64::from(g) - f64::from(c)).abs();
        let ratio = if error.is_nan() {
            f64::INFINITY
        } else {
            error / bound(i).max(f64::from(f32::MIN_POSITIVE))
        };
        max_error = max_error.max(error);
        if ratio > worst {
            (worst, worst_at) = (ratio, i);
        }
    }
    println!("{name}: max |gpu - cpu| = {max_error:.3e}, worst error / bound = {worst:.3}");
    assert!(
        worst <= 1.0,
        "{name}[{worst_at}]: gpu {} vs cpu {}, error {:.3e} is {worst:.2} times its bound {:.3e}",
        gpu[worst_at],
        cpu[worst_at],
        (gpu[worst_at] - cpu[worst_at]).abs(),
        bound(worst_at)
    );
}

use archlab::contract::engine::wait;
use archlab::contract::{Engine, StepReport};
use archlab::lab::Lab;

/// Waits for the report of every step in flight on `engine`, oldest first.
pub fn all_reports(engine: &mut dyn Engine) -> Vec<StepReport> {
    let mut reports = Vec::new();
    while engine.in_flight() > 0 {
        wait(engine.next_report()).expect("the engine works");
        reports.extend(engine.poll_reports().expect("the engine works"));
    }
    reports
}

/// Runs the `archlab` binary with `args`.
pub fn archlab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_archlab"))
        .args(args)
        .output()
        .expect("the archlab binary runs")
}

/// A fresh, empty folder under the target directory for one test.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A clock that advances a millisecond per reading.
pub fn clock() -> impl Fn() -> f64 {
    let time = std::cell::Cell::new(0.0);
    move || {
        time.set(time.get() + 0.001);
        time.get()
    }
}

/// Drives the newest run of a GPU lab to its end as the page's loop does, one step submitted
/// per turn so that reports and validations arrive interleaved with submissions.
pub fn drive(lab: &mut Lab) -> usize {
    let mut turns = 0;
    let now = clock();
    while lab.gpu_active() {
        turns += 1;
        assert!(turns < 1000, "the run never ends");
        let id = lab.newest_id().unwrap();
        for read in lab.gpu_pump(&now, 1) {
            let result = pollster::block_on(read.wait());
            lab.read_done(id, result);
        }
        if let Some(arrival) = lab.gpu_next_report() {
            wait(arrival).unwrap();
        }
    }
    turns
}
