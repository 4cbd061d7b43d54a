//! Launcher for `shaders/adamw.wgsl`: AdamW with decoupled weight decay over the flat
//! parameter buffer, with a per-element decay bit mask built once from the layout.

use super::context::Binding::{Read, ReadWrite};
use super::context::GpuContext;
use super::kernel::{per_element, Kernel, Launch, View};
use super::shaders::Shader;
use crate::contract::AdamWSettings;
use crate::model::ParamLayout;

/// The shader's uniform block; rewritten every step (learning rate, bias corrections).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AdamWParams {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    c1: f32,
    c2: f32,
}

impl AdamWParams {
    /// Update number `t` (1-based, as `cpu::AdamW` counts) of `n` floats at learning rate `lr`.
    pub fn new(n: usize, train: &AdamWSettings, lr: f32, t: i32) -> Self {
        let (b1, b2) = (f64::from(train.beta1), f64::from(train.beta2));
        Self {
            n: n as u32,
            lr,
            beta1: train.beta1,
            beta2: train.beta2,
            eps: train.eps,
            weight_decay: train.weight_decay,
            c1: (1.0 - b1.powi(t)) as f32,
            c2: (1.0 - b2.powi(t)) as f32,
        }
    }
}

/// `[ceil(total_len / 32)]`: bit `i % 32` of word `i / 32` is set where element i belongs to a
/// tensor that decays (`TensorSpec::decays`).
pub fn decay_mask(layout: &ParamLayout, decay_embeddings: bool) -> Vec<u32> {
    let mut mask = vec![0u32; layout.total_len.div_ceil(32)];
    for tensor in layout.tensors.iter().filter(|t| t.decays(decay_embeddings)) {
        for i in tensor.range() {
            mask[i / 32] |= 1 << (i % 32);
        }
    }
    mask
}

/// One AdamW update of `params`, `m` and `v` from `grads`, all `[n]` in layout order.
#[allow(clippy::too_many_arguments)] // one per tensor the kernel binds
pub fn adamw_update(
    ctx: &GpuContext,
    label: &str,
    hyper: AdamWParams,
    grads: View,
    decay_mask: View,
    params: View,
    m: View,
    v: View,
) -> Kernel {
    Kernel::new(
        ctx,
        label,
        Launch {
            shader: Shader::AdamW,
            entry: "adamw_update",
            constants: &[],
            uniform: bytemuck::bytes_of(&hyper),
            storage: &[
                (Read, grads),
                (Read, decay_mask),
                (ReadWrite, params),
                (ReadWrite, m),
                (ReadWrite, v),
            ],
            workgroups: per_element(hyper.n as usize, 256),
        },
    )
}
