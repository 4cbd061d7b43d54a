//! Launchers for `shaders/grad_norm.wgsl`: the global gradient norm in two passes (partial
//! sums, then their sum), and clipping against it without a read-back; the same passes and a
//! maximum give the per-step activation statistics.

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
    out_index: u32,
    _pad: u32,
}

impl Dims {
    fn new(n: usize, max_norm: f32, out_index: usize) -> Self {
        Self {
            n: n as u32,
            max_norm,
            out_index: out_index as u32,
            _pad: 0,
        }
    }
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
    let dims = Dims::new(n, 0.0, 0);
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

/// Second pass: `out[index]` = sqrt of the sum of `partials`.
pub fn grad_norm_final(
    ctx: &GpuContext,
    label: &str,
    partials: View,
    out: View,
    index: usize,
) -> Kernel {
    let dims = Dims::new(PARTIALS, 0.0, index);
    let storage = [(Read, partials), (ReadWrite, out)];
    launch(ctx, label, "grad_norm_final", dims, &storage, [1, 1, 1])
}

/// `out[index]` = the maximum of `input` `[n]` (at least `f32::MIN`).
pub fn max_all(
    ctx: &GpuContext,
    label: &str,
    n: usize,
    input: View,
    out: View,
    index: usize,
) -> Kernel {
    let dims = Dims::new(n, 0.0, index);
    let storage = [(Read, input), (ReadWrite, out)];
    launch(ctx, label, "max_all", dims, &storage, [1, 1, 1])
}

/// Rewrites the clipping norm of a `clip_gradients` kernel over `n` floats (a per-step input).
pub fn set_max_norm(ctx: &GpuContext, kernel: &Kernel, n: usize, max_norm: f32) {
    kernel.set_uniform(ctx, bytemuck::bytes_of(&Dims::new(n, max_norm, 0)));
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
    let dims = Dims::new(n, max_norm, 0);
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
