//! Launchers for `shaders/dropout.wgsl`: the CPU's counter-based dropout hash, so both engines
//! drop exactly the same elements.

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{per_element, Kernel, Launch, View};
use super::shaders::Shader;
use crate::contract::ops::threshold;
pub use crate::contract::ops::DropoutKey;

/// The shader's uniform block; rewritten every step (the key's step changes).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DropoutParams {
    n: u32,
    seed: u32,
    step: u32,
    site: u32,
    threshold: u32,
    scale: f32,
}

impl DropoutParams {
    /// Dropout with probability `p` (in (0, 1)) of `n` elements at `key`.
    pub fn new(n: usize, p: f32, key: DropoutKey) -> Self {
        Self {
            n: n as u32,
            seed: key.seed,
            step: key.step,
            site: key.site,
            threshold: threshold(p),
            scale: (1.0 / (1.0 - f64::from(p))) as f32,
        }
    }
}

const WG: u32 = 256;

fn launch(
    ctx: &GpuContext,
    label: &str,
    entry: &'static str,
    params: DropoutParams,
    storage: &[(super::Binding, View)],
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Dropout,
            entry,
            constants: &[],
            uniform: bytemuck::bytes_of(&params),
            storage,
            workgroups: per_element(params.n as usize, WG),
        },
    )
}

/// `out = mask(inp)`: kept elements scaled by 1 / (1 - p), the others 0.
pub fn dropout_forward(
    ctx: &GpuContext,
    label: &str,
    params: DropoutParams,
    inp: View,
    out: View,
) -> Kernel {
    launch(
        ctx,
        label,
        "dropout_forward",
        params,
        &[(Read, inp), (ReadWrite, out)],
    )
}

/// `grad = mask(grad)` in place: the same mask on the gradient.
pub fn dropout_backward(
    ctx: &GpuContext,
    label: &str,
    params: DropoutParams,
    grad: View,
) -> Kernel {
    launch(ctx, label, "dropout_backward", params, &[(ReadWrite, grad)])
}
