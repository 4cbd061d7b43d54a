//! One training step as an engine sees it: what goes in besides the batch (learning rate,
//! AdamW, clipping, z-loss) and what comes back (statistics and the views of its forward).

/// PyTorch's AdamW settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWSettings {
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator epsilon.
    pub eps: f32,
    /// Decoupled weight decay (`p -= lr * wd * p`) of the tensors that decay.
    pub weight_decay: f32,
    /// Whether embeddings decay too (matrices always do; norm gains and biases never).
    pub decay_embeddings: bool,
}

/// Everything a training step takes besides its batch. Evaluation and views take none of it:
/// they run the forward without dropout, z-loss or an update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInputs {
    /// Learning rate of this step's update (the caller evaluates the schedule).
    pub lr: f32,
    pub adamw: AdamWSettings,
    /// Clip the global gradient norm to this value; 0 turns clipping off.
    pub grad_clip: f32,
    /// z-loss coefficient on `logsumexp^2`; 0 turns it off (its value is still reported).
    pub z_loss: f32,
}

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

/// What one training step reports about its batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepStats {
    /// The step these numbers belong to (0-based, counted over the engine's life).
    pub step: usize,
    /// Mean cross-entropy of the batch before the update, nats (without the z-loss term).
    pub loss: f32,
    /// Mean z-loss term `coef * logsumexp^2`; the optimised objective is `loss + z_loss`.
    pub z_loss: f32,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    /// Learning rate the update used.
    pub lr: f32,
    /// Mean over counted targets of the softmax normaliser `log Z = logsumexp(logits)`, nats;
    /// reported whatever the z-loss coefficient.
    pub log_z: f32,
    /// Global L2 norm of all parameters after the update.
    pub param_norm: f32,
}

/// A step's report: its statistics, the views of its forward and its gradient per layer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepReport {
    pub stats: StepStats,
    pub views: ViewStats,
    /// L2 norm of each layer's parameter gradients before clipping (the gradient path that
    /// the norm position shapes), `[n_layers]`.
    pub layer_grad_norms: Vec<f32>,
}

/// AdamW's state in plain form, laid out like the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    /// First moments, `[total_len]`.
    pub m: Vec<f32>,
    /// Second moments, `[total_len]`.
    pub v: Vec<f32>,
    /// Updates done so far (the bias-correction count, and the next step's index).
    pub updates: usize,
}
