//! The engine a command runs on: the CPU reference, or the WebGPU engine on the first adapter
//! (natively through Vulkan/Metal/DX12; lavapipe counts).

use std::rc::Rc;

use archlab::cpu::CpuEngine;
use archlab::engine::{Engine, LayerNorms, StepStats};
use archlab::gpu::engine::GpuEngine;
use archlab::gpu::GpuContext;
use archlab::model::{ConfigError, ModelConfig, ParamLayout};
use archlab::train::optim::OptimizerState;
use archlab::train::{Batch, TrainConfig};

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

/// One of the two engines, behind the `Engine` contract.
pub enum AnyEngine {
    Cpu(Box<CpuEngine>),
    Gpu(Box<GpuEngine>),
}

fn wait<T>(future: impl std::future::Future<Output = Result<T, archlab::gpu::GpuError>>) -> T {
    pollster::block_on(future).unwrap_or_else(|e| panic!("GPU engine: {e}"))
}

impl AnyEngine {
    /// The engine for `backend`, or why it cannot be had (no adapter for `gpu`).
    pub fn new(backend: Backend, model: &ModelConfig, seed: u64) -> Result<Self, String> {
        let gpu = match backend {
            Backend::Cpu => None,
            Backend::Gpu => Some(pollster::block_on(GpuContext::new()).map_err(|e| {
                format!("backend: gpu: {e} (install a Vulkan driver, or use --backend cpu)")
            })?),
            Backend::Auto => pollster::block_on(GpuContext::new()).ok(),
        };
        let invalid = |e: ConfigError| format!("model.{e}");
        Ok(match gpu {
            None => AnyEngine::Cpu(Box::new(CpuEngine::new(model, seed).map_err(invalid)?)),
            Some(ctx) => AnyEngine::Gpu(Box::new(
                GpuEngine::new(Rc::new(ctx), model, seed).map_err(invalid)?,
            )),
        })
    }

    /// Which engine and device, for headers and summaries.
    pub fn describe(&self) -> String {
        match self {
            AnyEngine::Cpu(_) => "cpu engine".into(),
            AnyEngine::Gpu(engine) => format!("gpu engine on {}", engine.adapter_name()),
        }
    }

    /// AdamW's state, for a checkpoint.
    pub fn optimizer_state(&self) -> OptimizerState {
        match self {
            AnyEngine::Cpu(e) => e.optimizer_state(),
            AnyEngine::Gpu(e) => wait(e.optimizer_state_async()),
        }
    }

    pub fn set_optimizer_state(&mut self, state: OptimizerState) -> Result<(), ConfigError> {
        match self {
            AnyEngine::Cpu(e) => e.set_optimizer_state(state),
            AnyEngine::Gpu(e) => e.set_optimizer_state(state),
        }
    }

    /// `steps` training steps on the same batch, for timing: the GPU engine submits them all
    /// and waits once at the end, as a training loop that never blocks would.
    pub fn train_steps(&mut self, batch: &Batch, train: &TrainConfig, steps: usize) {
        match self {
            AnyEngine::Cpu(e) => {
                for _ in 0..steps {
                    e.step(batch, train);
                }
            }
            AnyEngine::Gpu(e) => {
                for _ in 0..steps {
                    e.submit_step(batch, train);
                }
                wait(e.finish());
            }
        }
    }

    /// GPU time per kernel family of one (real) training step, where the device has
    /// timestamp queries; `None` on the CPU engine or without them.
    pub fn kernel_profile(
        &mut self,
        batch: &Batch,
        train: &TrainConfig,
    ) -> Option<Vec<(&'static str, f64)>> {
        match self {
            AnyEngine::Cpu(_) => None,
            AnyEngine::Gpu(e) => wait(e.profile_step_async(batch, train)),
        }
    }

    /// Loss and every parameter's gradient of `batch`, no update.
    pub fn loss_and_gradients(&mut self, batch: &Batch) -> (f32, Vec<f32>) {
        match self {
            AnyEngine::Cpu(e) => (e.loss_and_gradients(batch), e.grads().to_vec()),
            AnyEngine::Gpu(e) => wait(e.loss_and_gradients_async(batch)),
        }
    }

    fn engine(&self) -> &dyn Engine {
        match self {
            AnyEngine::Cpu(e) => e.as_ref(),
            AnyEngine::Gpu(e) => e.as_ref(),
        }
    }

    fn engine_mut(&mut self) -> &mut dyn Engine {
        match self {
            AnyEngine::Cpu(e) => e.as_mut(),
            AnyEngine::Gpu(e) => e.as_mut(),
        }
    }
}

impl Engine for AnyEngine {
    fn config(&self) -> &ModelConfig {
        self.engine().config()
    }
    fn layout(&self) -> &ParamLayout {
        self.engine().layout()
    }
    fn step(&mut self, batch: &Batch, train: &TrainConfig) -> StepStats {
        self.engine_mut().step(batch, train)
    }
    fn eval(&mut self, batch: &Batch) -> f32 {
        self.engine_mut().eval(batch)
    }
    fn logits(&mut self, tokens: &[u32], batch: usize, seq: usize) -> Vec<f32> {
        self.engine_mut().logits(tokens, batch, seq)
    }
    fn attention(&self, layer: usize) -> Vec<f32> {
        self.engine().attention(layer)
    }
    fn max_attention_logits(&self) -> Vec<f32> {
        self.engine().max_attention_logits()
    }
    fn activation_norms(&self) -> Vec<LayerNorms> {
        self.engine().activation_norms()
    }
    fn params(&self) -> Vec<f32> {
        self.engine().params()
    }
    fn set_params(&mut self, params: &[f32]) -> Result<(), ConfigError> {
        self.engine_mut().set_params(params)
    }
}
