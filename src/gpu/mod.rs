//! The WebGPU engine: device set-up, one launcher module per WGSL kernel family (all sharing
//! `kernel::Kernel`), and the kernel check against the CPU reference.

pub mod check;
mod context;
pub mod kernel;
pub mod matmul;
pub mod shaders;

pub use context::{AdapterSummary, Binding, GpuContext, GpuError};
