//! Launchers for `shaders/grad_norm.wgsl`: the global gradient norm in two passes (partial
//! sums, then their sum), and clipping against it without a read-back.

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{per_element, Kernel, Launch, View};
use super::shaders::Shader;

/// Workgroups of the first pass, and floats of the partial-sums buffer.
pub const PARTIALS: usize = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    n: u32,
    max_norm: f32,
}

fn launch(
    ctx: &GpuContext,
    label: &str,
    entry: &'static str,
    dims: Dims,
    storage: &[(super::Binding, View)],
    workgroups: [u32; 3],
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::GradNorm,
            entry,
            constants: &[],
            uniform: bytemuck::bytes_of(&dims),
            storage,
            workgroups,
        },
    )
}

/// First pass: `partials` `[PARTIALS]` of the sum of squares of `grads` `[n]`.
pub fn grad_norm_partial(
    ctx: &GpuContext,
    label: &str,
    n: usize,
    grads: View,
    partials: View,
) -> Kernel {
    let dims = Dims {
        n: n as u32,
        max_norm: 0.0,
    };
    let storage = [(Read, grads), (ReadWrite, partials)];
    launch(
        ctx,
        label,
        "grad_norm_partial",
        dims,
        &storage,
        [PARTIALS as u32, 1, 1],
    )
}

/// Second pass: `norm[0]` = sqrt of the sum of `partials`.
pub fn grad_norm_final(ctx: &GpuContext, label: &str, partials: View, norm: View) -> Kernel {
    let dims = Dims {
        n: PARTIALS as u32,
        max_norm: 0.0,
    };
    let storage = [(Read, partials), (ReadWrite, norm)];
    launch(ctx, label, "grad_norm_final", dims, &storage, [1, 1, 1])
}

/// `grads *= max_norm / norm[0]` when `0 < max_norm < norm[0]` (0 turns clipping off).
pub fn clip_gradients(
    ctx: &GpuContext,
    label: &str,
    n: usize,
    max_norm: f32,
    norm: View,
    grads: View,
) -> Kernel {
    let dims = Dims {
        n: n as u32,
        max_norm,
    };
    let storage = [(Read, norm), (ReadWrite, grads)];
    launch(
        ctx,
        label,
        "clip_gradients",
        dims,
        &storage,
        per_element(n, 256),
    )
}
