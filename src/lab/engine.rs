//! The engine a run trains on: the WebGPU engine on `gpu` where there is one, else the CPU
//! engine, each opened only once the run's memory fits that engine's budget (a huge d_model is
//! refused, naming the numbers, before anything is allocated). The page and the command line
//! both open engines here.

use std::rc::Rc;

use crate::contract::Engine;
use crate::cpu::CpuEngine;
use crate::gpu::engine::GpuEngine;
use crate::gpu::GpuContext;
use crate::model::{ConfigError, MemoryBudget};
use crate::train::run::{RunConfig, RunError};

/// What the engine opened on `gpu` (None: the CPU engine) may hold.
pub fn memory_budget(gpu: Option<&Rc<GpuContext>>) -> MemoryBudget {
    gpu.map_or_else(crate::cpu::memory_budget, |ctx| ctx.memory_budget())
}

/// The engine for `run`'s model (seeded by `run.train.seed`, sized for its batch shape).
pub fn open_engine(
    run: &RunConfig,
    gpu: Option<&Rc<GpuContext>>,
) -> Result<Box<dyn Engine>, RunError> {
    run.check_memory(&memory_budget(gpu))?;
    let invalid = |e: ConfigError| RunError {
        field: format!("model.{}", e.field),
        reason: e.reason,
    };
    let (model, seed) = (&run.model, run.train.seed);
    Ok(match gpu {
        Some(ctx) => Box::new(GpuEngine::new(Rc::clone(ctx), model, seed).map_err(invalid)?),
        None => Box::new(CpuEngine::new(model, seed).map_err(invalid)?),
    })
}
