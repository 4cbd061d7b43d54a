//! What a configuration needs in memory before an engine exists: parameters, gradients and AdamW
//! moments, and a conservative upper bound on the activations of one training step (or of one
//! sequence at full context, what generation runs), all in f32, for the way the engine keeps
//! attention ([`AttentionMemory`]); checked against a
//! [`MemoryBudget`] so that an engine too big for its machine is refused before anything is
//! allocated. Pure arithmetic in f64, so that no size overflows (a `usize` has 32 bits in
//! WebAssembly).

use super::config::ModelConfig;
use super::numbers::bytes;

/// Bytes of one f32.
const F32: f64 = 4.0;

/// Floats a tensor's offset may be padded by in `ParamLayout` (64 floats = 256 bytes).
const ALIGN: f64 = 64.0;

/// Upper bound on the tensors one layer has in `ParamLayout` (weights, biases, norm gains and
/// biases, QK-norm), and those outside the layers (embeddings, head, final norm).
const TENSORS_PER_LAYER: f64 = 24.0;
const TENSORS_OUTSIDE: f64 = 8.0;

/// What a configuration needs, in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemoryNeed {
    /// Parameters, gradients and the two AdamW moments: 4 x the (padded) parameter bytes.
    pub state: f64,
    /// Activations of a forward and backward at the larger of the training batch and one
    /// sequence of `context_len` (what the forward's layout keeps, bounded from above).
    pub activations: f64,
    /// The largest single buffer an engine makes: the flat parameters, the logits, the
    /// attention probabilities of one layer or the feed-forward hidden layer.
    pub largest_buffer: f64,
}

impl MemoryNeed {
    /// Everything together.
    pub fn total(&self) -> f64 {
        self.state + self.activations
    }
}

/// How an engine keeps attention's probabilities, which decides most of a long context's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttentionMemory {
    /// Every layer's `[B, H, T, T]` probabilities, kept for the backward (the CPU engine).
    Kept,
    /// Fused attention (the GPU engine): one logsumexp, maximum and backward delta per row;
    /// `[B, H, T, T]` buffers only with dropout on the probabilities, and the maps of one
    /// sequence when they are read (`gpu::maps`).
    Fused,
}

/// What an engine may hold, in bytes, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryBudget {
    /// All buffers together.
    pub total: f64,
    /// Any one buffer (a GPU device's `max_buffer_size` and `max_storage_buffer_binding_size`;
    /// in WebAssembly one allocation's 2 GiB).
    pub largest_buffer: f64,
    /// Whose budget, in words: "the CPU engine's budget (half of this machine's memory, at most
    /// 16 GiB)".
    pub owner: String,
    /// How this engine keeps attention (what [`ModelConfig::memory_need`] counts for it).
    pub attention: AttentionMemory,
}

impl ModelConfig {
    /// Bytes a run of batches of `batch` x `seq` needs on an engine that keeps attention as
    /// `attention` says (see [`MemoryNeed`]).
    pub fn memory_need(&self, batch: usize, seq: usize, attention: AttentionMemory) -> MemoryNeed {
        let f = |n: usize| n as f64;
        let (c, v, l) = (f(self.d_model), f(self.vocab_size), f(self.n_layers));
        let (h, d) = (f(self.n_heads), f(self.d_head()));
        let (q, kv) = (h * d, f(self.n_kv_heads) * d);
        let ff = f(self.d_ff());
        let n_up = if self.activation.is_gated() { 2.0 } else { 1.0 };
        // Parameters from the shapes, in f64 (generously: every norm with a bias, learned
        // positions whatever the position, an untied head), padded as ParamLayout pads.
        let per_layer = c * q + 2.0 * c * kv + q * c + (q + 2.0 * kv + c) // attention
            + 2.0 * (q + kv) // QK-norm
            + n_up * (c * ff + ff) + ff * c + c // feed-forward
            + 8.0 * c; // norms
        let params = l * per_layer
            + 2.0 * v * c
            + f(self.context_len) * c
            + 2.0 * c
            + ALIGN * (TENSORS_PER_LAYER * l + TENSORS_OUTSIDE);
        let keeps_probs = match attention {
            AttentionMemory::Kept => true,
            AttentionMemory::Fused => self.dropout.attn > 0.0,
        };
        // Activations of a forward (per layer: the stream and its norms, q/k/v before and
        // after QK-norm and RoPE, the attention probabilities and their dropout, or fused a
        // few floats per attention row, the heads' output, the feed-forward's up, gate and
        // activation), the backward as many again.
        let activations = |b: f64, t: f64| {
            let rows = b * t;
            let attention = if keeps_probs {
                2.0 * b * h * t * t
            } else {
                2.0 * b * h * t
            };
            let layer = 10.0 * rows * c
                + 3.0 * rows * (q + 2.0 * kv)
                + attention
                + 2.0 * rows * q
                + (n_up + 2.0) * rows * ff;
            let outside = 6.0 * rows * c + 2.0 * rows * v + 8.0 * rows;
            2.0 * (l * layer + outside)
        };
        let (b, t) = (f(batch), f(seq));
        let context = f(self.context_len);
        let activations = match attention {
            // Made afresh by each step, of one shape at a time.
            AttentionMemory::Kept => activations(b, t).max(activations(1.0, context)),
            // A plan per shape, kept: the training shape's and one other (a read of one
            // sequence), and a read of the maps adds every layer's [H, T, T] and its read-back
            // copy.
            AttentionMemory::Fused => {
                activations(b, t) + activations(1.0, context) + 2.0 * l * h * context * context
            }
        };
        let largest = |b: f64, t: f64, probs: bool| {
            let rows = b * t;
            [
                rows * v,
                if probs { b * h * t * t } else { 0.0 },
                rows * ff * n_up,
                rows * (q + 2.0 * kv),
            ]
            .into_iter()
            .fold(0.0, f64::max)
        };
        MemoryNeed {
            state: 4.0 * params * F32,
            activations: activations * F32,
            // One sequence's probabilities: kept, or a layer's map when read.
            largest_buffer: params
                .max(largest(b, t, keeps_probs))
                .max(largest(1.0, context, true))
                * F32,
        }
    }
}

impl MemoryBudget {
    /// Why `need` does not fit, naming the numbers needed and available; None when it fits.
    pub fn refusal(&self, need: &MemoryNeed) -> Option<String> {
        if need.total() > self.total {
            return Some(format!(
                "needs {} (parameters, gradients and AdamW moments {}, activations {}), more \
                 than {} has ({}): make the model or the batch smaller",
                bytes(need.total()),
                bytes(need.state),
                bytes(need.activations),
                self.owner,
                bytes(self.total),
            ));
        }
        if need.largest_buffer > self.largest_buffer {
            return Some(format!(
                "its largest buffer needs {}, more than {} allows for one buffer ({}): make \
                 the model or the batch smaller",
                bytes(need.largest_buffer),
                self.owner,
                bytes(self.largest_buffer),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::{Activation, Position, QkNormScope};
    use crate::model::ParamLayout;

    /// The bound covers the real parameter buffer (ParamLayout, padding included) for the
    /// default and a few toggles, and is within 2x of it (not absurdly loose).
    #[test]
    fn the_state_bound_covers_the_layout() {
        let configs = [
            ModelConfig::default(),
            ModelConfig {
                activation: Activation::Swiglu,
                qk_norm: true,
                qk_norm_scope: QkNormScope::Projection,
                bias: true,
                position: Position::Learned,
                tied_embeddings: false,
                ..ModelConfig::default()
            },
        ];
        for config in configs {
            let real = ParamLayout::new(&config).total_len as f64 * 4.0 * 4.0;
            let need = config.memory_need(16, 64, AttentionMemory::Kept);
            assert!(need.state >= real, "{} < {real}", need.state);
            assert!(need.state < 2.0 * real, "{} vs {real}", need.state);
            assert!(need.largest_buffer >= real / 4.0);
        }
    }

    #[test]
    fn huge_shapes_are_refused_naming_the_numbers() {
        let budget = MemoryBudget {
            total: 16.0 * 1024f64.powi(3),
            largest_buffer: 16.0 * 1024f64.powi(3),
            owner: "the test".into(),
            attention: AttentionMemory::Kept,
        };
        let wide = ModelConfig {
            d_model: 100_000,
            ..ModelConfig::default()
        };
        let reason = budget
            .refusal(&wide.memory_need(16, 64, AttentionMemory::Kept))
            .expect("refused");
        assert!(
            reason.contains("TiB") && reason.contains("16.0 GiB"),
            "{reason}"
        );
        assert!(budget
            .refusal(&ModelConfig::default().memory_need(16, 64, AttentionMemory::Kept))
            .is_none());
        // A long context: one sequence's attention probabilities at full context.
        let long = ModelConfig {
            context_len: 1_000_000,
            ..ModelConfig::default()
        };
        for attention in [AttentionMemory::Kept, AttentionMemory::Fused] {
            assert!(long.memory_need(16, 64, attention).activations > 4.0 * 1e12 * 4.0);
        }
    }

    #[test]
    fn a_small_buffer_limit_refuses_the_logits() {
        let config = ModelConfig {
            vocab_size: 50_000,
            ..ModelConfig::default()
        };
        let need = config.memory_need(16, 64, AttentionMemory::Kept);
        // The logits: 16 x 64 rows of 50,000 floats = 195 MiB.
        assert!(need.largest_buffer >= 16.0 * 64.0 * 50_000.0 * 4.0);
        let budget = MemoryBudget {
            total: 1e12,
            largest_buffer: 128.0 * 1024.0 * 1024.0,
            owner: "this device".into(),
            attention: AttentionMemory::Fused,
        };
        let reason = budget.refusal(&need).expect("refused");
        assert!(reason.contains("128 MiB"), "{reason}");
    }
}
