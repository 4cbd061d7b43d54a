//! The roofline of a training step: FLOPs and bytes each kernel family must at least do and
//! move, from the model's shape, so that a measured kernel time can be set against the floor
//! `max(FLOPs / peak FLOP/s, bytes / peak bandwidth)` the device allows.
//!
//! Ideal traffic: every kernel reads each input and writes each output once, in f32; caches and
//! re-reads are not counted, so a kernel's floor is a lower bound. The count follows the
//! LLaMA-style step `archlab bench` times (serial pre-norm blocks, RoPE, no biases, no dropout,
//! no gradient clipping); other toggles change the real cost by a few elementwise passes.

use super::shaders::Shader;
use crate::model::ModelConfig;

/// Work of one kernel family over one training step (forward, backward, AdamW).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    pub flops: f64,
    pub bytes: f64,
}

impl Cost {
    /// Seconds at the given peaks: the larger of compute time and memory time.
    pub fn floor_seconds(&self, flops_per_s: f64, bytes_per_s: f64) -> f64 {
        (self.flops / flops_per_s).max(self.bytes / bytes_per_s)
    }
}

const F32: f64 = 4.0;

/// FLOPs and bytes per kernel family of one step on `batch` sequences of `seq` tokens.
pub fn step_costs(model: &ModelConfig, batch: usize, seq: usize) -> Vec<(Shader, Cost)> {
    let n = (batch * seq) as f64;
    let (c, layers, vocab) = (
        model.d_model as f64,
        model.n_layers as f64,
        model.vocab_size as f64,
    );
    let d = model.d_head() as f64;
    let (q_width, kv_width) = (model.n_heads as f64 * d, model.n_kv_heads as f64 * d);
    let f = model.d_ff() as f64;
    let gated = model.activation.is_gated();
    let n_up = if gated { 2.0 } else { 1.0 };

    // Linear layers as (inputs, outputs): each is a forward product and two backward products
    // (dX = dY W^T, dW = dY^T X), 2 n in out FLOPs each, and each reads its two operands and
    // writes its result once: X, W, Y; dY, W, dX; dY, X, dW.
    let mut linears = vec![(c, vocab)];
    for _ in 0..model.n_layers {
        linears.extend([(c, q_width), (c, kv_width), (c, kv_width), (q_width, c)]);
        linears.extend(std::iter::repeat_n((c, f), n_up as usize));
        linears.push((f, c));
    }
    let matmul = linears.iter().fold(Cost::default(), |sum, &(i, o)| Cost {
        flops: sum.flops + 3.0 * 2.0 * n * i * o,
        bytes: sum.bytes + 3.0 * F32 * (n * i + i * o + n * o),
    });

    // Attention per layer and head: the visible (query, key) pairs; q k^T and p v forward
    // (2 D FLOPs a pair each), four products backward (dP, dV, dQ, dK), about 5 FLOPs a pair
    // for the softmax and 3 for its backward. Forward reads q, k, v and writes the output and
    // the probabilities; backward reads q, k, v, dO and the probabilities and writes dQ, dK,
    // dV: five n x H D passes, six n x K D passes and two of the probabilities.
    let mut pairs = 0.0;
    for layer in 0..model.n_layers {
        let keys = model.mean_visible_keys(layer).min(seq as f64);
        pairs += batch as f64 * model.n_heads as f64 * seq as f64 * keys;
    }
    let attention = Cost {
        flops: pairs * (6.0 * 2.0 * d + 5.0 + 3.0),
        bytes: F32 * (2.0 * pairs + layers * n * (5.0 * q_width + 6.0 * kv_width)),
    };

    // RMSNorm over n x C at 2 L + 1 sites: forward about 4 FLOPs an element (square, sum,
    // scale, gain), reads x and writes y; backward about 8, reads x and dy, writes dx, and
    // sums the gain's gradient.
    let sites = 2.0 * layers + 1.0;
    let norm = Cost {
        flops: sites * 12.0 * n * c,
        bytes: sites * F32 * (2.0 * n * c + c + 3.0 * n * c + c),
    };

    // The MLP activation over n x F: SwiGLU silu(g) u, about 6 FLOPs an element forward
    // (reads g, u, writes h) and 10 backward (reads g, u, dh, writes dg, du); plain, half the
    // operands.
    let activation = Cost {
        flops: layers * 16.0 * n * f,
        bytes: layers * F32 * n * f * if gated { 3.0 + 5.0 } else { 2.0 + 3.0 },
    };

    // RoPE rotates q and k: 3 FLOPs an element each way, reading the element and writing it.
    let rotated = n * (q_width + kv_width);
    let position = Cost {
        flops: layers * 2.0 * 3.0 * rotated,
        bytes: layers * 2.0 * F32 * 2.0 * rotated,
    };

    // Softmax cross-entropy over n x V: about 5 FLOPs a logit (max, exp, sum, gradient),
    // reading the logits and writing their gradient.
    let loss = Cost {
        flops: 5.0 * n * vocab,
        bytes: F32 * 2.0 * n * vocab,
    };

    // Token rows gathered (read n C, write n C) and their gradient summed into the table
    // (read n C, write V C, one add an element).
    let embedding = Cost {
        flops: n * c,
        bytes: F32 * (3.0 * n * c + vocab * c),
    };

    // Two residual adds a layer each way: read two n x C, write one, one FLOP an element.
    let sum = Cost {
        flops: layers * 4.0 * n * c,
        bytes: layers * 4.0 * F32 * 3.0 * n * c,
    };

    // AdamW reads parameters, gradients and both moments and writes three of them back, about
    // 14 FLOPs a parameter; the global gradient norm reads the gradients once (2 FLOPs each).
    let params = model.param_count().total() as f64;
    let adamw = Cost {
        flops: 14.0 * params,
        bytes: F32 * 7.0 * params,
    };
    let grad_norm = Cost {
        flops: 2.0 * params,
        bytes: F32 * params,
    };

    vec![
        (Shader::Matmul, matmul),
        (Shader::Attention, attention),
        (Shader::Norm, norm),
        (Shader::Activation, activation),
        (Shader::Position, position),
        (Shader::Loss, loss),
        (Shader::Embedding, embedding),
        (Shader::Sum, sum),
        (Shader::AdamW, adamw),
        (Shader::GradNorm, grad_norm),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Position};

    fn cost_of(costs: &[(Shader, Cost)], family: Shader) -> Cost {
        costs.iter().find(|(f, _)| *f == family).unwrap().1
    }

    /// V 5, C 4, one layer of 2 heads of D 2, F 6 (SwiGLU), one sequence of 2 tokens (n = 2),
    /// counted by hand.
    #[test]
    fn a_tiny_step_costs_its_hand_count() {
        let model = ModelConfig {
            vocab_size: 5,
            context_len: 2,
            d_model: 4,
            n_layers: 1,
            n_heads: 2,
            n_kv_heads: 2,
            d_ff: Some(6),
            activation: Activation::Swiglu,
            position: Position::Rope,
            ..ModelConfig::default()
        };
        let costs = step_costs(&model, 1, 2);
        // Linears (in, out): head (4, 5); q, k, v, o (4, 4); gate, up (4, 6); down (6, 4).
        // Sum of in out = 20 + 4 * 16 + 2 * 24 + 24 = 156; 3 products of 2 n in out each:
        // 6 * 2 * 156 = 1872. Floats moved per product n in + in out + n out: 38, 4 * 32,
        // 2 * 44, 44, total 298; three products, 4 bytes: 3576.
        let matmul = cost_of(&costs, Shader::Matmul);
        assert_eq!((matmul.flops, matmul.bytes), (1872.0, 3576.0));
        // Causal pairs of one sequence of 2: 1 + 2 = 3, times 2 heads = 6; 12 D + 8 = 32
        // FLOPs each: 192. Floats: 2 * 6 probabilities + 5 * (n H D = 8) + 6 * (n K D = 8)
        // = 100, 400 bytes.
        let attention = cost_of(&costs, Shader::Attention);
        assert_eq!((attention.flops, attention.bytes), (192.0, 400.0));
        // Parameters: token table 20, output head 20, q k v o 64, MLP 72, two norms 8, final
        // norm 4: 188. AdamW 14 FLOPs and 7 floats each.
        let adamw = cost_of(&costs, Shader::AdamW);
        assert_eq!((adamw.flops, adamw.bytes), (14.0 * 188.0, 28.0 * 188.0));
        // n V = 10 logits: 5 FLOPs each, read and written once.
        let loss = cost_of(&costs, Shader::Loss);
        assert_eq!((loss.flops, loss.bytes), (50.0, 80.0));
    }

    #[test]
    fn the_floor_is_the_slower_of_compute_and_memory() {
        let cost = Cost {
            flops: 100.0,
            bytes: 10.0,
        };
        assert_eq!(cost.floor_seconds(10.0, 100.0), 10.0);
        assert_eq!(cost.floor_seconds(1000.0, 2.0), 5.0);
    }
}
