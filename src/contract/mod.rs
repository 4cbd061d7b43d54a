//! The engine contract, beneath both engines: what an engine takes (batches, per-step inputs),
//! what it gives back (step reports, reads that arrive later), the learning-rate schedule its
//! caller evaluates, how validation logits are scored, and the op specifications the CPU ops
//! and GPU kernels share. It imports only `model`; `cpu` and `gpu` import nothing above it.

pub mod batch;
pub mod decode;
pub mod engine;
pub mod matmul;
pub mod ops;
pub mod schedule;
pub mod score;
pub mod step;

pub use batch::{Batch, IGNORE};
pub use decode::{Decoding, KvDecode};
pub use engine::{Engine, EngineError, EngineState, FamilyTime, ForwardViews, Pending};
pub use schedule::{LrSchedule, Schedule};
pub use step::{
    AdamWSettings, LayerNorms, OptimizerState, StepInputs, StepReport, StepStats, ViewStats,
};
