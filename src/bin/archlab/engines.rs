//! The engine a command runs on: the CPU reference, or the WebGPU engine on the first adapter
//! (natively through Vulkan/Metal/DX12; lavapipe counts). Either is a `Box<dyn Engine>`.

use std::rc::Rc;

use archlab::contract::Engine;
use archlab::gpu::GpuContext;
use archlab::lab::engine::open_engine;
use archlab::model::ModelConfig;
use archlab::train::run::RunConfig;

/// Which engine runs the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The GPU engine when an adapter exists, else the CPU engine.
    Auto,
    /// The reference engine: plain Rust on the CPU, one thread.
    Cpu,
    /// The WebGPU engine (WGSL kernels through wgpu).
    Gpu,
}

/// Steps the command line keeps in flight on the GPU engine, so that the device never waits
/// for a read-back to cross to the host.
pub const AHEAD: usize = 3;

/// The engine for `backend` running `model` on batches of `shape` (batch, seq), or why it
/// cannot be had: no adapter for `gpu`, or more memory than the engine may hold (the CPU
/// engine's budget, the GPU device's limits), refused before anything is allocated.
pub fn open(
    backend: Backend,
    model: &ModelConfig,
    seed: u64,
    shape: (usize, usize),
) -> Result<Box<dyn Engine>, String> {
    open_on(context(backend)?.as_ref(), model, seed, shape)
}

/// The GPU context `backend` asks for: none for `cpu`, the first adapter's for `gpu` (or why
/// there is none), the first adapter's if any for `auto`. Engines opened on one context share
/// its device and shader caches.
pub fn context(backend: Backend) -> Result<Option<Rc<GpuContext>>, String> {
    Ok(match backend {
        Backend::Cpu => None,
        Backend::Gpu => Some(pollster::block_on(GpuContext::new()).map_err(|e| {
            format!("backend: gpu: {e} (install a Vulkan driver, or use --backend cpu)")
        })?),
        Backend::Auto => pollster::block_on(GpuContext::new()).ok(),
    }
    .map(Rc::new))
}

/// An engine on `gpu` (from [`context`]), or the CPU engine without one, for batches of
/// `shape`; refused as [`open`] refuses.
pub fn open_on(
    gpu: Option<&Rc<GpuContext>>,
    model: &ModelConfig,
    seed: u64,
    shape: (usize, usize),
) -> Result<Box<dyn Engine>, String> {
    let mut run = RunConfig {
        model: model.clone(),
        ..RunConfig::default()
    };
    (run.train.batch_size, run.train.seq_len) = shape;
    run.train.seed = seed;
    open_engine(&run, gpu).map_err(|e| e.to_string())
}
