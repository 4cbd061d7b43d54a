//! Launchers for `shaders/loss.wgsl`: softmax cross-entropy with z-loss, reduced to its means
//! on the GPU so the backward reads the target count without a round trip.

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{grid, per_element, Kernel, Launch, View};
use super::shaders::Shader;

/// Sizes of a loss call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossShape {
    /// N = B*T rows of logits and targets.
    pub rows: usize,
    /// V.
    pub vocab: usize,
    /// z-loss coefficient.
    pub z_coef: f32,
}

/// Rewrites the z-loss coefficient of a kernel built by this file with shape `s` (it is a
/// per-step input, so one plan serves steps, evaluation and gradients alike).
pub fn set_z_coef(ctx: &GpuContext, kernel: &Kernel, s: LossShape, z_coef: f32) {
    let dims = Dims {
        rows: s.rows as u32,
        vocab: s.vocab as u32,
        z_coef,
    };
    kernel.set_uniform(ctx, bytemuck::bytes_of(&dims));
}

/// Floats of the statistics buffer: mean cross-entropy, mean z-loss, count, mean log Z.
pub const STATS_LEN: usize = 4;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    rows: u32,
    vocab: u32,
    z_coef: f32,
}

fn launch(
    ctx: &GpuContext,
    label: &str,
    entry: &'static str,
    s: LossShape,
    storage: &[(super::Binding, View)],
    workgroups: [u32; 3],
) -> Kernel {
    let dims = Dims {
        rows: s.rows as u32,
        vocab: s.vocab as u32,
        z_coef: s.z_coef,
    };
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Loss,
            entry,
            constants: &[],
            uniform: bytemuck::bytes_of(&dims),
            storage,
            workgroups,
        },
    )
}

/// Per row: `lse` `[N]` and `row_loss` `[N, 2]` (cross-entropy, z-loss term; 0 if ignored).
pub fn cross_entropy_forward(
    ctx: &GpuContext,
    label: &str,
    s: LossShape,
    logits: View,
    targets: View,
    lse: View,
    row_loss: View,
) -> Kernel {
    let storage = [
        (Read, logits),
        (Read, targets),
        (ReadWrite, lse),
        (ReadWrite, row_loss),
    ];
    launch(
        ctx,
        label,
        "cross_entropy_forward",
        s,
        &storage,
        grid(s.rows as u32),
    )
}

/// `stats` `[4]` = (mean cross-entropy, mean z-loss, count, mean `lse`) over the counted
/// targets.
pub fn cross_entropy_reduce(
    ctx: &GpuContext,
    label: &str,
    s: LossShape,
    targets: View,
    row_loss: View,
    lse: View,
    stats: View,
) -> Kernel {
    let storage = [
        (Read, targets),
        (Read, row_loss),
        (Read, lse),
        (ReadWrite, stats),
    ];
    launch(ctx, label, "cross_entropy_reduce", s, &storage, [1, 1, 1])
}

/// `dlogits` `[N, V]` of the total loss (=).
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds
pub fn cross_entropy_backward(
    ctx: &GpuContext,
    label: &str,
    s: LossShape,
    logits: View,
    targets: View,
    lse: View,
    stats: View,
    dlogits: View,
) -> Kernel {
    let storage = [
        (Read, logits),
        (Read, targets),
        (Read, lse),
        (Read, stats),
        (ReadWrite, dlogits),
    ];
    let workgroups = per_element(s.rows * s.vocab, 256);
    launch(
        ctx,
        label,
        "cross_entropy_backward",
        s,
        &storage,
        workgroups,
    )
}
