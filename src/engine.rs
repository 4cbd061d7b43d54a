//! The contract both engines implement, so the UI, the CLI and the tests drive either.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::model::{ConfigError, ModelConfig, ParamLayout};
use crate::train::{Batch, TrainConfig};

/// RMS of the residual stream and of the two branch outputs of one layer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LayerNorms {
    /// RMS of the layer's output residual stream.
    pub residual: f32,
    /// RMS of what the attention branch adds to the stream.
    pub attn: f32,
    /// RMS of what the MLP branch adds to the stream.
    pub mlp: f32,
}

/// The views of one forward that the charts plot per step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewStats {
    /// Largest attention logit `q.k / sqrt(D)` of each layer.
    pub max_attention_logits: Vec<f32>,
    /// RMS of the residual stream and branch outputs per layer.
    pub norms: Vec<LayerNorms>,
}

/// What one training step reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepStats {
    /// The step these numbers belong to (0-based). An engine that reads statistics back
    /// asynchronously (the GPU one) may report an earlier step than the one just submitted.
    pub step: usize,
    /// Mean cross-entropy of the batch, nats (without the z-loss term).
    pub loss: f32,
    /// Mean z-loss term `coef * logsumexp^2`; the optimised objective is `loss + z_loss`.
    pub z_loss: f32,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    /// Learning rate the update used.
    pub lr: f32,
}

/// A trainable model behind some compute backend.
///
/// The views of the last forward (`attention`, `max_attention_logits`, `activation_norms`) and
/// `StepStats` may lag behind the latest step in an engine that reads results back
/// asynchronously (the GPU one, double-buffered); `StepStats::step` says which step numbers
/// belong to. The CPU engine is always current.
pub trait Engine {
    /// The architecture.
    fn config(&self) -> &ModelConfig;

    /// The parameter layout of `params`.
    fn layout(&self) -> &ParamLayout;

    /// One optimizer step on `batch` with a validated `train`: forward (with dropout),
    /// backward, clipping, AdamW at the schedule's learning rate.
    fn step(&mut self, batch: &Batch, train: &TrainConfig) -> StepStats;

    /// Mean cross-entropy on `batch` without dropout and without an update.
    fn eval(&mut self, batch: &Batch) -> f32;

    /// Logits of `tokens` `[batch, seq]`, `[batch, seq, V]`; no dropout.
    fn logits(&mut self, tokens: &[u32], batch: usize, seq: usize) -> Vec<f32>;

    /// Attention probabilities of example 0 of the last forward in `layer`, `[H, T, T]`.
    fn attention(&self, layer: usize) -> Vec<f32>;

    /// Largest attention logit `q.k / sqrt(D)` of each layer in the last forward.
    fn max_attention_logits(&self) -> Vec<f32>;

    /// RMS of the residual stream and branch outputs per layer in the last forward.
    fn activation_norms(&self) -> Vec<LayerNorms>;

    /// The flat parameters, in `layout()` order.
    fn params(&self) -> Vec<f32>;

    /// Replaces the parameters (for import); the optimizer state is kept.
    fn set_params(&mut self, params: &[f32]) -> Result<(), ConfigError>;
}

/// Samples `n` tokens after `prompt` (which must not be empty), feeding at most the last
/// `context_len` tokens back each time. `temperature` 0 picks the most likely token; `top_k`
/// 0 keeps the whole vocabulary. Returns the new tokens only.
pub fn generate<E: Engine + ?Sized>(
    engine: &mut E,
    prompt: &[u32],
    n: usize,
    temperature: f32,
    top_k: usize,
    seed: u64,
) -> Vec<u32> {
    assert!(!prompt.is_empty(), "generation needs a prompt");
    let (context, vocab) = (engine.config().context_len, engine.config().vocab_size);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tokens = prompt.to_vec();
    for _ in 0..n {
        let window = &tokens[tokens.len().saturating_sub(context)..];
        let logits = engine.logits(window, 1, window.len());
        let last = &logits[(window.len() - 1) * vocab..];
        tokens.push(sample_token(last, temperature, top_k, &mut rng));
    }
    tokens.split_off(prompt.len())
}

/// One token from `logits` `[V]`: the most likely at `temperature` 0, else drawn from the
/// softmax at that temperature over the `top_k` most likely (0: all).
pub fn sample_token(logits: &[f32], temperature: f32, top_k: usize, rng: &mut ChaCha8Rng) -> u32 {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    // Descending by logit; ties keep the lower id first, so argmax is deterministic.
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if temperature <= 0.0 {
        return order[0] as u32;
    }
    if top_k > 0 {
        order.truncate(top_k);
    }
    let max = f64::from(logits[order[0]]);
    let weights: Vec<f64> = order
        .iter()
        .map(|&i| ((f64::from(logits[i]) - max) / f64::from(temperature)).exp())
        .collect();
    let mut target =
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * weights.iter().sum::<f64>();
    for (&i, w) in order.iter().zip(&weights) {
        if target < *w {
            return i as u32;
        }
        target -= w;
    }
    order[order.len() - 1] as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_and_top_k_sampling() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let logits = [0.0, 3.0, 1.0, 3.0];
        assert_eq!(
            sample_token(&logits, 0.0, 0, &mut rng),
            1,
            "argmax, lowest id on ties"
        );
        // top_k 2 keeps ids 1 and 3 only.
        for _ in 0..100 {
            let token = sample_token(&logits, 1.0, 2, &mut rng);
            assert!(token == 1 || token == 3);
        }
        // top_k 1 is greedy whatever the temperature.
        assert_eq!(sample_token(&logits, 5.0, 1, &mut rng), 1);
    }
}
