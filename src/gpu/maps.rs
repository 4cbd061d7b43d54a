//! Attention maps on request. The fused forward keeps no probabilities, so a read of the maps
//! runs the probabilities kernel after the forward, into buffers made for that read; layers in
//! two products (dropout on the probabilities) already hold them.

use super::attention as attn;
use super::graph::{attention_shape, logits, LayerActs, Softmax};
use super::kernel::Kernel;
use super::GpuContext;
use crate::model::ModelConfig;

/// The attention maps of one forward's layers.
pub(super) struct AttentionMaps {
    /// Launches to run after the forward (none when every layer keeps its probabilities).
    pub(super) kernels: Vec<Kernel>,
    /// Per layer, `[B, H, T, T]`.
    pub(super) probs: Vec<wgpu::Buffer>,
}

/// The maps of `layers`, the activations of a forward of `batch` sequences of `seq` tokens.
pub(super) fn attention_maps(
    ctx: &GpuContext,
    config: &ModelConfig,
    layers: &[LayerActs],
    batch: usize,
    seq: usize,
) -> AttentionMaps {
    let s = attention_shape(config, batch, seq);
    let mut kernels = Vec::new();
    let probs = layers
        .iter()
        .enumerate()
        .map(|(l, layer)| match &layer.attn.softmax {
            Softmax::Materialised { probs, .. } => probs.clone(),
            Softmax::Fused { .. } => {
                let label = format!("L{l}.attn.map");
                let probs = ctx.zeros(&label, s.batch * s.n_heads * s.seq * s.seq);
                let logits = logits(config, l);
                // row_max is rewritten with the values the forward gave it.
                kernels.push(attn::probs_forward(
                    ctx,
                    &label,
                    s,
                    logits,
                    (&layer.attn.q).into(),
                    (&layer.attn.k).into(),
                    (&probs).into(),
                    (&layer.attn.row_max).into(),
                ));
                probs
            }
        })
        .collect();
    AttentionMaps { kernels, probs }
}
