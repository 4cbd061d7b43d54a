//! Launchers for `shaders/activation.wgsl`: the eight MLP activations, plain and gated, and
//! the output logits' soft-cap.

use super::context::Binding::{self, Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{per_element, Kernel, Launch, View};
use super::shaders::Shader;
use crate::model::Activation;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    n: u32,
}

const WG: u32 = 256;

/// KIND and GATED of the shader for `kind`.
fn constants(kind: Activation) -> [(&'static str, f64); 2] {
    let code = match kind.pointwise() {
        Activation::Relu => 0.0,
        Activation::Gelu => 1.0,
        Activation::GeluTanh => 2.0,
        Activation::Silu => 3.0,
        gated => unreachable!("{gated:?} maps to a pointwise function"),
    };
    [
        ("KIND", code),
        ("GATED", f64::from(u8::from(kind.is_gated()))),
    ]
}

/// Binds one entry point of the shader over `n` elements.
fn launch(
    ctx: &GpuContext,
    label: &str,
    entry: &'static str,
    constants: &[(&'static str, f64)],
    n: usize,
    storage: &[(Binding, View)],
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::Activation,
            entry,
            constants,
            uniform: bytemuck::bytes_of(&Dims { n: n as u32 }),
            storage,
            workgroups: per_element(n, WG),
        },
    )
}

/// `out = act(a) (* gate)` over `n` elements; `gate` is given exactly for gated kinds.
pub fn activation_forward(
    ctx: &GpuContext,
    label: &str,
    kind: Activation,
    n: usize,
    a: View,
    gate: Option<View>,
    out: View,
) -> Kernel {
    assert_eq!(gate.is_some(), kind.is_gated(), "{label}: a gate iff gated");
    launch(
        ctx,
        label,
        "activation_forward",
        &constants(kind),
        n,
        &[
            (Read, a),
            (Read, gate.unwrap_or(ctx.placeholder(Read))),
            (ReadWrite, out),
        ],
    )
}

/// `da = dout (* gate) act'(a)` and, gated, `dgate = dout act(a)` (both =).
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds
pub fn activation_backward(
    ctx: &GpuContext,
    label: &str,
    kind: Activation,
    n: usize,
    dout: View,
    a: View,
    gate: Option<View>,
    da: View,
    dgate: Option<View>,
) -> Kernel {
    assert_eq!(gate.is_some(), kind.is_gated(), "{label}: a gate iff gated");
    assert_eq!(
        dgate.is_some(),
        kind.is_gated(),
        "{label}: a dgate iff gated"
    );
    launch(
        ctx,
        label,
        "activation_backward",
        &constants(kind),
        n,
        &[
            (Read, dout),
            (Read, a),
            (Read, gate.unwrap_or(ctx.placeholder(Read))),
            (ReadWrite, da),
            (ReadWrite, dgate.unwrap_or(ctx.placeholder(ReadWrite))),
        ],
    )
}

/// `x = cap tanh(x / cap)` in place over `n` elements (the output logits' soft-cap).
pub fn softcap_forward(ctx: &GpuContext, label: &str, cap: f32, n: usize, x: View) -> Kernel {
    launch(
        ctx,
        label,
        "softcap_forward",
        &[("SOFTCAP", f64::from(cap))],
        n,
        &[(ReadWrite, x)],
    )
}

/// Backward of `softcap_forward` in place on `grad`: `grad *= 1 - (capped / cap)^2`.
pub fn softcap_backward(
    ctx: &GpuContext,
    label: &str,
    cap: f32,
    n: usize,
    capped: View,
    grad: View,
) -> Kernel {
    launch(
        ctx,
        label,
        "softcap_backward",
        &[("SOFTCAP", f64::from(cap))],
        n,
        &[(Read, capped), (ReadWrite, grad)],
    )
}
