//! The WebGPU engine: device set-up, one launcher module per WGSL kernel family (all sharing
//! `kernel::Kernel`), and the kernel check against the CPU reference.

pub mod activation;
pub mod adamw;
pub mod attention;
pub mod check;
mod context;
pub mod dropout;
pub mod embedding;
pub mod engine;
pub mod grad_norm;
pub mod kernel;
pub mod loss;
pub mod matmul;
pub mod norm;
pub mod position;
pub mod shaders;
pub mod sum;

pub use context::{AdapterSummary, Binding, GpuContext, GpuError, PendingRead};
