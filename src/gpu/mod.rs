//! The WebGPU engine: device set-up, one launcher per WGSL kernel family, and the kernel check
//! against the CPU reference.

pub mod check;
mod context;
pub mod matmul;
pub mod shaders;

pub use context::{AdapterSummary, Binding, GpuContext, GpuError};
