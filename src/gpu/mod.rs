//! The WebGPU engine: device set-up, one launcher module per WGSL kernel family (all sharing
//! `kernel::Kernel`), the model as a list of launches (`graph`), plans per batch shape
//! (`plan`), KV-cached generation (`decode`), attention maps on request (`maps`), step reports read back asynchronously (`readback`), kernel timing (`profile`),
//! and the engine behind the contract (`engine`).

pub mod activation;
pub mod adamw;
pub mod attention;
mod budget;
mod context;
mod decode;
pub mod dropout;
pub mod embedding;
pub mod engine;
pub mod grad_norm;
mod graph;
pub mod kernel;
pub mod loss;
mod maps;
pub mod matmul;
pub mod norm;
mod plan;
pub mod position;
mod profile;
mod readback;
pub mod roofline;
pub mod shaders;
pub mod sum;

pub use budget::{gpu_budget, GPU_TOTAL};
pub use context::{AdapterSummary, Binding, GpuContext, GpuError, PendingRead};
