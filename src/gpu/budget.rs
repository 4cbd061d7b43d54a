//! How much memory the WebGPU engine may take: refused configurations never start allocating.

use crate::model::numbers::bytes;
use crate::model::{AttentionMemory, MemoryBudget};

/// All the buffers a GPU run may make together: WebGPU tells no device's memory, and 4 GiB
/// is what a browser's GPU process commonly grants a tab (and more than any run at WebGPU's
/// default buffer limits needs: four parameter buffers of at most 256 MiB and activations).
pub const GPU_TOTAL: f64 = 4.0 * 1024.0 * 1024.0 * 1024.0;

/// The budget of a device with `limits` (a parameter, so tests can give small fake limits).
pub fn gpu_budget(limits: &wgpu::Limits) -> MemoryBudget {
    let largest = limits
        .max_buffer_size
        .min(limits.max_storage_buffer_binding_size);
    MemoryBudget {
        total: GPU_TOTAL,
        largest_buffer: largest as f64,
        owner: format!(
            "the WebGPU engine ({} in all; max_buffer_size {}, max_storage_buffer_binding_size \
             {})",
            bytes(GPU_TOTAL),
            bytes(limits.max_buffer_size as f64),
            bytes(limits.max_storage_buffer_binding_size as f64),
        ),
        attention: AttentionMemory::Fused,
    }
}
