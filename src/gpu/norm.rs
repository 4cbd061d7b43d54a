//! Launchers for `shaders/norm.wgsl`: LayerNorm and RMSNorm over `[rows, dim]`, at the block's
//! norm sites and for QK-norm over each head; the residual stream's add fused into the norm
//! that reads it, forward and backward.

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{grid, Kernel, Launch, View};
use super::shaders::Shader;
use crate::model::NormType;

/// Sizes of a norm call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormShape {
    /// Rows normalised independently.
    pub rows: usize,
    /// Length of each row (C, or D for QK-norm).
    pub dim: usize,
    /// Epsilon inside the square root.
    pub eps: f32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    rows: u32,
    dim: u32,
    eps: f32,
}

fn dims(s: NormShape) -> Dims {
    Dims {
        rows: s.rows as u32,
        dim: s.dim as u32,
        eps: s.eps,
    }
}

fn constants(kind: NormType, has_bias: bool, add_residual: bool) -> [(&'static str, f64); 3] {
    let centred = match kind {
        NormType::LayerNorm => true,
        NormType::RmsNorm => false,
        NormType::None => unreachable!("a norm kernel is only built for LayerNorm or RMSNorm"),
    };
    [
        ("CENTRED", f64::from(u8::from(centred))),
        ("HAS_BIAS", f64::from(u8::from(has_bias))),
        ("ADD_RESIDUAL", f64::from(u8::from(add_residual))),
    ]
}

/// `out = norm(inp) * weight (+ bias)`, keeping `stats` `[rows, 2]` (mean, rstd). With
/// `residual` given as `(residual, sum)`, the residual add fused in: `sum = inp + residual`
/// and `out = norm(sum) * weight (+ bias)` in one launch.
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds
pub fn norm_forward(
    ctx: &GpuContext,
    label: &str,
    kind: NormType,
    s: NormShape,
    inp: View,
    residual: Option<(View, View)>,
    weight: View,
    bias: Option<View>,
    out: View,
    stats: View,
) -> Kernel {
    let (residual, sum) = residual.unzip();
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Norm,
            entry: "norm_forward",
            constants: &constants(kind, bias.is_some(), residual.is_some()),
            uniform: bytemuck::bytes_of(&dims(s)),
            storage: &[
                (Read, inp),
                (Read, weight),
                (Read, bias.unwrap_or(ctx.placeholder(Read))),
                (ReadWrite, out),
                (ReadWrite, stats),
                (Read, residual.unwrap_or(ctx.placeholder(Read))),
                (ReadWrite, sum.unwrap_or(ctx.placeholder(ReadWrite))),
            ],
            workgroups: grid(s.rows as u32),
        },
    )
}

/// `dinp` (=) of the norm, from `dout`, its input, weight and `stats`, plus `residual` where
/// given (the gradient the norm's input also gets along the residual stream).
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds
pub fn norm_backward_input(
    ctx: &GpuContext,
    label: &str,
    kind: NormType,
    s: NormShape,
    dout: View,
    inp: View,
    weight: View,
    stats: View,
    residual: Option<View>,
    dinp: View,
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Norm,
            entry: "norm_backward_input",
            constants: &constants(kind, false, residual.is_some()),
            uniform: bytemuck::bytes_of(&dims(s)),
            storage: &[
                (Read, dout),
                (Read, inp),
                (Read, weight),
                (Read, stats),
                (ReadWrite, dinp),
                (Read, residual.unwrap_or(ctx.placeholder(Read))),
            ],
            workgroups: grid(s.rows as u32),
        },
    )
}

/// `dweight += sum_r dout xhat`, `dbias += sum_r dout` (parameter gradients, +=).
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds
pub fn norm_backward_params(
    ctx: &GpuContext,
    label: &str,
    kind: NormType,
    s: NormShape,
    dout: View,
    inp: View,
    stats: View,
    dweight: View,
    dbias: Option<View>,
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Norm,
            entry: "norm_backward_params",
            constants: &constants(kind, dbias.is_some(), false),
            uniform: bytemuck::bytes_of(&dims(s)),
            storage: &[
                (Read, dout),
                (Read, inp),
                (Read, stats),
                (ReadWrite, dweight),
                (ReadWrite, dbias.unwrap_or(ctx.placeholder(ReadWrite))),
            ],
            workgroups: grid(s.dim as u32),
        },
    )
}
