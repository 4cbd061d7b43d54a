//! `ModelConfig`: every architecture toggle of the lecture in one serialisable struct, its
//! validation, named presets and FLOP / parameter / KV-cache accounting.
//!
//! Shape letters used in comments across the crate: B batch, T sequence, C `d_model`,
//! H `n_heads`, K `n_kv_heads`, D `d_head`, F `d_ff`, V `vocab_size`, L `n_layers`.

use serde::{Deserialize, Serialize};

/// A rule of a configuration that a value breaks; displayed as "field: reason".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// The offending field, as spelled in the serialised config.
    pub field: &'static str,
    /// Why the value is rejected.
    pub reason: String,
}

impl ConfigError {
    /// Shorthand used by the `validate` functions.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Which normalisation every norm site uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormType {
    /// `(x - mean) / sqrt(var + eps) * g (+ b)`.
    LayerNorm,
    /// `x / sqrt(mean(x^2) + eps) * g`: no mean, no bias.
    RmsNorm,
    /// No normalisation anywhere (QK-norm then falls back to RMSNorm).
    None,
}

/// Where the norms sit around each sub-layer `F` (attention or MLP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormPosition {
    /// `Norm(x + F(x))` (Transformer 2017).
    Post,
    /// `x + F(Norm(x))` (GPT-2 onwards).
    Pre,
    /// Sandwich: `x + Norm(F(Norm(x)))` (Gemma 2, Grok).
    Double,
    /// `x + Norm(F(x))` (OLMo 2).
    PostInBranch,
}

/// The norm sites a block has, derived from `NormPosition` (all off when the norm type is None).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormSites {
    /// A norm on the branch input: `F(Norm(x))`.
    pub input: bool,
    /// A norm on the branch output, inside the residual branch: `Norm(F(.))`.
    pub output: bool,
    /// A norm after the residual add: `Norm(x + ...)`.
    pub post: bool,
}

/// The pointwise non-linearity of the MLP, plain or gated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x * Phi(x)` with the exact (erf) normal CDF.
    Gelu,
    /// GeLU's tanh approximation (GPT-2's `gelu_new`).
    GeluTanh,
    /// `x * sigmoid(x)` (Swish).
    Silu,
    /// `(relu(x W1) * x V) W2`.
    Reglu,
    /// `(gelu(x W1) * x V) W2`, erf GeLU.
    Geglu,
    /// `(silu(x W1) * x V) W2`.
    Swiglu,
}

impl Activation {
    /// Gated variants multiply `act(x W1)` by a second projection `x V`.
    pub fn is_gated(self) -> bool {
        matches!(self, Self::Reglu | Self::Geglu | Self::Swiglu)
    }

    /// The pointwise function applied to `x W1`: a gated variant maps to its plain one.
    pub fn pointwise(self) -> Self {
        match self {
            Self::Reglu => Self::Relu,
            Self::Geglu => Self::Gelu,
            Self::Swiglu => Self::Silu,
            plain => plain,
        }
    }
}

/// How attention and MLP are arranged in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockLayout {
    /// `x1 = x + Attn(.)`, then `x2 = x1 + MLP(.)`, norms placed by `norm_position`.
    Serial,
    /// GPT-J: both branches read the same input and are added together:
    /// `y = Post(x + Out_a(Attn(In(x))) + Out_m(MLP(In(x))))`. `In` is ONE norm shared by both
    /// branches (pre, double), `Out_a`/`Out_m` are one norm per branch (double,
    /// post-in-branch), `Post` is one norm after the single residual add (post).
    Parallel,
}

/// Which norms feed a parallel block's two branches (with an input norm: pre or double).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParallelNorm {
    /// One input norm read by both attention and MLP (GPT-J, PaLM).
    #[default]
    Shared,
    /// A norm of its own for each branch, both on the same input (GPT-NeoX).
    PerBranch,
}

/// What QK-norm normalises over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QkNormScope {
    /// Each head's D values, one gain of D shared by the heads (Qwen3, Gemma 3).
    #[default]
    Head,
    /// The whole projection (H·D for q, K·D for k), one gain per element (OLMo 2).
    Projection,
}

/// How tokens learn where they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// A learned `[context_len, C]` table added to the token embedding (GPT-2).
    Learned,
    /// Fixed sin/cos table added to the token embedding (Transformer 2017).
    Sinusoidal,
    /// Rotary embedding of q and k in every layer, Hugging Face "rotate halves" layout.
    Rope,
    /// A per-head linear bias `-slope_h * (i - j)` on the attention logits (Press et al.).
    Alibi,
    /// No position information besides the causal mask (NoPE).
    None,
}

/// Which keys a query may attend to, on top of causality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionPattern {
    /// Every earlier key: `j <= i`.
    Full,
    /// The last `window` keys, the query's own included: `j <= i && i - j < window`.
    SlidingWindow {
        /// Number of visible keys, >= 1.
        window: usize,
    },
    /// Child et al. 2019 local + strided, in relative form: `j <= i && (i - j < local ||
    /// (i - j) % stride == 0)`. Relative strides keep every query's pattern the same shape.
    Sparse {
        /// Number of most recent keys always visible, >= 1.
        local: usize,
        /// Every `stride`-th earlier key is also visible, >= 1.
        stride: usize,
    },
}

impl AttentionPattern {
    /// Whether query position `i` sees key position `j`.
    pub fn visible(self, i: usize, j: usize) -> bool {
        if j > i {
            return false;
        }
        let distance = i - j;
        match self {
            Self::Full => true,
            Self::SlidingWindow { window } => distance < window,
            Self::Sparse { local, stride } => distance < local || distance.is_multiple_of(stride),
        }
    }
}

/// Per-layer override of `attention`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerPattern {
    /// Every k-th layer (layers k-1, 2k-1, ...) uses full attention, the others `attention`:
    /// Gemma 2's local/global interleave is `global_every: 2`.
    GlobalEvery(usize),
    /// One pattern per layer, `n_layers` entries.
    PerLayer(Vec<AttentionPattern>),
}

/// Dropout probabilities, each in [0, 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dropout {
    /// On the embedding sum, before the first layer.
    pub embd: f32,
    /// On the attention probabilities.
    pub attn: f32,
    /// On each branch output before it is added to the residual stream.
    pub resid: f32,
}

/// The whole architecture: shape and every toggle of the lecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Number of token ids, V.
    pub vocab_size: usize,
    /// Longest sequence the model accepts (learned position table rows, FLOP accounting).
    pub context_len: usize,
    /// Residual stream width, C.
    pub d_model: usize,
    /// Number of blocks, L.
    pub n_layers: usize,
    /// Query heads, H.
    pub n_heads: usize,
    /// Key/value heads, K: MHA when K == H, MQA at 1, GQA between; H % K == 0.
    pub n_kv_heads: usize,
    /// Per-head width D; None means C / H. May make H * D != C, as T5 does.
    pub d_head: Option<usize>,
    /// MLP hidden width F; None means 4 C, or 8/3 C for gated activations, rounded up to 8.
    pub d_ff: Option<usize>,
    /// Normalisation type used at every norm site (and by QK-norm).
    pub norm: NormType,
    /// Where norms sit relative to each branch.
    pub norm_position: NormPosition,
    /// Epsilon inside every norm's square root.
    pub norm_eps: f32,
    /// A norm before the output projection (no-op when `norm` is None).
    pub final_norm: bool,
    /// Biases in every linear layer (attention, MLP) and in LayerNorm; never on the output head.
    pub bias: bool,
    /// MLP non-linearity, plain or gated.
    pub activation: Activation,
    /// Serial or parallel attention/MLP.
    pub block: BlockLayout,
    /// Parallel blocks: one input norm for both branches, or one each.
    pub parallel_norm: ParallelNorm,
    /// Position encoding.
    pub position: Position,
    /// RoPE base: frequency of pair i is `rope_theta^(-2i/D)`.
    pub rope_theta: f32,
    /// Attention visibility of every layer not overridden by `layer_pattern`.
    pub attention: AttentionPattern,
    /// Per-layer attention patterns, e.g. local/global interleave.
    pub layer_pattern: Option<LayerPattern>,
    /// Norm q and k (type `norm`, RMSNorm if none) before RoPE, as Qwen3 and OLMo 2.
    pub qk_norm: bool,
    /// Per head (Qwen3) or over the whole projection (OLMo 2).
    pub qk_norm_scope: QkNormScope,
    /// Output head reuses the token embedding matrix.
    pub tied_embeddings: bool,
    /// A token whose embedding row gets no gradient from the lookup, as PyTorch's
    /// `padding_idx` (imported LLaMA-family models with a `pad_token_id`); None here otherwise.
    pub padding_token: Option<u32>,
    /// Dropout probabilities.
    pub dropout: Dropout,
    /// Standard deviation of the normal initialisation of matrices and embeddings.
    pub init_std: f32,
    /// Scale output projections' init (attention `wo`, MLP `w2`) by 1/sqrt(2 L), as GPT-2.
    pub residual_scaling: bool,
}

impl Default for ModelConfig {
    /// The `default` preset: a small LLaMA-style model.
    fn default() -> Self {
        Self {
            vocab_size: 65,
            context_len: 64,
            d_model: 64,
            n_layers: 2,
            n_heads: 4,
            n_kv_heads: 4,
            d_head: None,
            d_ff: None,
            norm: NormType::RmsNorm,
            norm_position: NormPosition::Pre,
            norm_eps: 1e-5,
            final_norm: true,
            bias: false,
            activation: Activation::Swiglu,
            block: BlockLayout::Serial,
            parallel_norm: ParallelNorm::Shared,
            position: Position::Rope,
            rope_theta: 10_000.0,
            attention: AttentionPattern::Full,
            layer_pattern: None,
            qk_norm: false,
            qk_norm_scope: QkNormScope::Head,
            tied_embeddings: false,
            padding_token: None,
            dropout: Dropout::default(),
            init_std: 0.02,
            residual_scaling: false,
        }
    }
}

/// Parameter counts; embeddings are the token table, a learned position table and an untied
/// output head (Kaplan et al. leave them out of "non-embedding" parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamCount {
    /// Token table, learned position table, untied output head.
    pub embedding: usize,
    /// Everything else: attention, MLP, norms, biases.
    pub non_embedding: usize,
}

impl ParamCount {
    /// All parameters.
    pub fn total(&self) -> usize {
        self.embedding + self.non_embedding
    }
}

/// Names accepted by `ModelConfig::preset`, in the lecture's order.
pub const PRESET_NAMES: [&str; 10] = [
    "default",
    "transformer2017",
    "gpt2",
    "gptj",
    "palm",
    "llama",
    "mistral",
    "olmo2",
    "gemma2",
    "qwen3",
];

impl ModelConfig {
    /// A named preset at toy scale (the summary table of lecture.md). Training-side choices of
    /// a row (PaLM's and OLMo 2's z-loss) belong to `TrainConfig` and are not set here.
    pub fn preset(name: &str) -> Option<Self> {
        let base = Self::default();
        let config = match name {
            "default" => base,
            "transformer2017" => Self {
                norm: NormType::LayerNorm,
                norm_position: NormPosition::Post,
                final_norm: false,
                bias: true,
                activation: Activation::Relu,
                position: Position::Sinusoidal,
                tied_embeddings: true,
                dropout: Dropout {
                    embd: 0.1,
                    attn: 0.0,
                    resid: 0.1,
                },
                ..base
            },
            "gpt2" => Self {
                norm: NormType::LayerNorm,
                bias: true,
                activation: Activation::GeluTanh,
                position: Position::Learned,
                tied_embeddings: true,
                dropout: Dropout {
                    embd: 0.1,
                    attn: 0.1,
                    resid: 0.1,
                },
                residual_scaling: true,
                ..base
            },
            "gptj" => Self {
                norm: NormType::LayerNorm,
                bias: true,
                activation: Activation::GeluTanh,
                block: BlockLayout::Parallel,
                ..base
            },
            "palm" => Self {
                block: BlockLayout::Parallel,
                n_kv_heads: 1,
                tied_embeddings: true,
                ..base
            },
            "llama" => Self {
                n_kv_heads: 2,
                ..base
            },
            "mistral" => Self {
                n_kv_heads: 2,
                attention: AttentionPattern::SlidingWindow { window: 16 },
                ..base
            },
            "olmo2" => Self {
                norm_position: NormPosition::PostInBranch,
                qk_norm: true,
                ..base
            },
            "gemma2" => Self {
                norm_position: NormPosition::Double,
                activation: Activation::Geglu,
                n_kv_heads: 2,
                attention: AttentionPattern::SlidingWindow { window: 16 },
                layer_pattern: Some(LayerPattern::GlobalEvery(2)),
                tied_embeddings: true,
                ..base
            },
            "qwen3" => Self {
                n_kv_heads: 2,
                qk_norm: true,
                ..base
            },
            _ => return None,
        };
        Some(config)
    }

    /// Per-head width D.
    pub fn d_head(&self) -> usize {
        self.d_head.unwrap_or(self.d_model / self.n_heads.max(1))
    }

    /// MLP hidden width F.
    pub fn d_ff(&self) -> usize {
        self.d_ff.unwrap_or_else(|| {
            if self.activation.is_gated() {
                // 8/3 C keeps a gated MLP's three matrices at the parameter count of a plain 4 C
                // MLP's two; rounded up to a multiple of 8 as LLaMA does.
                (8 * self.d_model).div_ceil(3).div_ceil(8) * 8
            } else {
                4 * self.d_model
            }
        })
    }

    /// Norm sites of every block.
    pub fn norm_sites(&self) -> NormSites {
        let on = self.norm != NormType::None;
        let p = self.norm_position;
        NormSites {
            input: on && matches!(p, NormPosition::Pre | NormPosition::Double),
            output: on && matches!(p, NormPosition::Double | NormPosition::PostInBranch),
            post: on && p == NormPosition::Post,
        }
    }

    /// Whether the output head is preceded by a norm.
    pub fn has_final_norm(&self) -> bool {
        self.final_norm && self.norm != NormType::None
    }

    /// The norm QK-norm uses: the model's, or RMSNorm when the model has none.
    pub fn qk_norm_type(&self) -> NormType {
        match self.norm {
            NormType::None => NormType::RmsNorm,
            other => other,
        }
    }

    /// Whether norms of type `kind` carry a bias: LayerNorm when `bias` is on.
    pub fn norm_has_bias(&self, kind: NormType) -> bool {
        kind == NormType::LayerNorm && self.bias
    }

    /// Attention visibility of layer `layer`.
    pub fn pattern_for_layer(&self, layer: usize) -> AttentionPattern {
        match &self.layer_pattern {
            None => self.attention,
            Some(LayerPattern::GlobalEvery(k)) if (layer + 1).is_multiple_of(*k) => {
                AttentionPattern::Full
            }
            Some(LayerPattern::GlobalEvery(_)) => self.attention,
            Some(LayerPattern::PerLayer(patterns)) => patterns[layer],
        }
    }

    /// Checks every rule; only a validated config reaches an engine.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("context_len", self.context_len),
            ("d_model", self.d_model),
            ("n_layers", self.n_layers),
            ("n_heads", self.n_heads),
            ("n_kv_heads", self.n_kv_heads),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(ConfigError::new(field, "must be > 0"));
            }
        }
        if self.n_kv_heads > self.n_heads {
            return Err(ConfigError::new(
                "n_kv_heads",
                format!("{} exceeds n_heads {}", self.n_kv_heads, self.n_heads),
            ));
        }
        if !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return Err(ConfigError::new(
                "n_kv_heads",
                format!(
                    "{} does not divide n_heads {}",
                    self.n_kv_heads, self.n_heads
                ),
            ));
        }
        if self.d_head == Some(0) {
            return Err(ConfigError::new("d_head", "must be > 0 when set"));
        }
        if self.d_head.is_none() && !self.d_model.is_multiple_of(self.n_heads) {
            return Err(ConfigError::new(
                "d_head",
                format!(
                    "unset, but n_heads {} does not divide d_model {}: set it",
                    self.n_heads, self.d_model
                ),
            ));
        }
        if self.d_ff == Some(0) {
            return Err(ConfigError::new("d_ff", "must be > 0 when set"));
        }
        if let Some(token) = self
            .padding_token
            .filter(|&t| t as usize >= self.vocab_size)
        {
            return Err(ConfigError::new(
                "padding_token",
                format!("{token} is outside the vocabulary of {}", self.vocab_size),
            ));
        }
        if self.position == Position::Rope && !self.d_head().is_multiple_of(2) {
            return Err(ConfigError::new(
                "d_head",
                format!(
                    "RoPE rotates pairs, so d_head {} must be even",
                    self.d_head()
                ),
            ));
        }
        if !is_positive(self.rope_theta) {
            return Err(ConfigError::new("rope_theta", "must be > 0"));
        }
        if !is_positive(self.norm_eps) {
            return Err(ConfigError::new("norm_eps", "must be > 0"));
        }
        if !is_positive(self.init_std) {
            return Err(ConfigError::new("init_std", "must be > 0"));
        }
        let dropouts = [
            ("dropout.embd", self.dropout.embd),
            ("dropout.attn", self.dropout.attn),
            ("dropout.resid", self.dropout.resid),
        ];
        for (field, p) in dropouts {
            if !(0.0..1.0).contains(&p) {
                return Err(ConfigError::new(field, format!("{p} is not in [0, 1)")));
            }
        }
        validate_pattern("attention", self.attention)?;
        match &self.layer_pattern {
            None => {}
            Some(LayerPattern::GlobalEvery(0)) => {
                return Err(ConfigError::new(
                    "layer_pattern",
                    "global_every must be >= 1",
                ))
            }
            Some(LayerPattern::GlobalEvery(_)) => {}
            Some(LayerPattern::PerLayer(patterns)) => {
                if patterns.len() != self.n_layers {
                    return Err(ConfigError::new(
                        "layer_pattern",
                        format!("{} patterns for {} layers", patterns.len(), self.n_layers),
                    ));
                }
                for &pattern in patterns {
                    validate_pattern("layer_pattern", pattern)?;
                }
            }
        }
        Ok(())
    }

    /// Parameter counts, computed from the shapes (independently of `ParamLayout`).
    pub fn param_count(&self) -> ParamCount {
        let (c, v, l) = (self.d_model, self.vocab_size, self.n_layers);
        let (q_width, kv_width) = (
            self.n_heads * self.d_head(),
            self.n_kv_heads * self.d_head(),
        );
        let f = self.d_ff();
        let bias = usize::from(self.bias);
        let norm = c * (1 + usize::from(self.norm_has_bias(self.norm)));
        let qk_type = self.qk_norm_type();
        let qk_norm = self.d_head() * (1 + usize::from(self.norm_has_bias(qk_type)));

        let attention = c * q_width
            + 2 * c * kv_width
            + q_width * c
            + bias * (q_width + 2 * kv_width + c)
            + if self.qk_norm { 2 * qk_norm } else { 0 };
        let n_up = if self.activation.is_gated() { 2 } else { 1 };
        let mlp = n_up * (c * f + bias * f) + f * c + bias * c;
        let sites = self.norm_sites();
        // Per branch: input and output norms; serial has two post norms, parallel one, and
        // parallel shares one input norm.
        let (n_input, n_post) = match self.block {
            BlockLayout::Serial => (2, 2),
            BlockLayout::Parallel => (1, 1),
        };
        let norms_per_layer = usize::from(sites.input) * n_input
            + usize::from(sites.output) * 2
            + usize::from(sites.post) * n_post;
        let per_layer = attention + mlp + norms_per_layer * norm;
        let final_norm = if self.has_final_norm() { norm } else { 0 };

        let position = if self.position == Position::Learned {
            self.context_len * c
        } else {
            0
        };
        let head = if self.tied_embeddings { 0 } else { v * c };
        ParamCount {
            embedding: v * c + position + head,
            non_embedding: l * per_layer + final_norm,
        }
    }

    /// Training FLOPs per token at full context, forward + backward = 3 x forward, where
    /// forward = 2 * (every matmul weight, the output head included) + per layer
    /// `2 * 2 * H * D * avg_visible` for the score and value products, `avg_visible` being the
    /// mean number of keys a query sees over `context_len` under that layer's mask. Norms,
    /// activations, softmax and the embedding lookup are left out (a small share of FLOPs).
    pub fn flops_per_token(&self) -> f64 {
        let (c, d) = (self.d_model, self.d_head());
        let (q_width, kv_width) = (self.n_heads * d, self.n_kv_heads * d);
        let n_up = if self.activation.is_gated() { 2 } else { 1 };
        let per_layer_matmul = 2 * c * q_width + 2 * c * kv_width + (n_up + 1) * c * self.d_ff();
        let matmul = self.n_layers * per_layer_matmul + self.vocab_size * c;
        let attention: f64 = (0..self.n_layers)
            .map(|layer| 4.0 * q_width as f64 * self.mean_visible_keys(layer))
            .sum();
        3.0 * (2.0 * matmul as f64 + attention)
    }

    /// Mean number of keys a query sees over a full context in `layer`.
    fn mean_visible_keys(&self, layer: usize) -> f64 {
        let pattern = self.pattern_for_layer(layer);
        let t = self.context_len;
        let visible = (0..t)
            .map(|i| (0..=i).filter(|&j| pattern.visible(i, j)).count())
            .sum::<usize>();
        visible as f64 / t as f64
    }

    /// KV-cache bytes per generated token in f32: K and V of every layer and KV head.
    pub fn kv_cache_bytes_per_token(&self) -> usize {
        2 * self.n_layers * self.n_kv_heads * self.d_head() * std::mem::size_of::<f32>()
    }
}

/// `x > 0`, false for NaN.
pub fn is_positive(x: f32) -> bool {
    x > 0.0
}

fn validate_pattern(field: &'static str, pattern: AttentionPattern) -> Result<(), ConfigError> {
    match pattern {
        AttentionPattern::SlidingWindow { window: 0 } => {
            Err(ConfigError::new(field, "sliding window must be >= 1"))
        }
        AttentionPattern::Sparse { local: 0, .. } => {
            Err(ConfigError::new(field, "sparse local must be >= 1"))
        }
        AttentionPattern::Sparse { stride: 0, .. } => {
            Err(ConfigError::new(field, "sparse stride must be >= 1"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `config` is rejected and the error names `field`.
    fn assert_rejects(config: ModelConfig, field: &str) {
        let error = config.validate().expect_err("config should be rejected");
        assert_eq!(error.field, field, "{error}");
        assert!(error.to_string().starts_with(&format!("{field}: ")));
    }

    #[test]
    fn every_preset_validates() {
        for name in PRESET_NAMES {
            let config = ModelConfig::preset(name).unwrap();
            config.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(ModelConfig::preset("nonsense").is_none());
    }

    #[test]
    fn presets_follow_the_lecture_table() {
        use Activation as A;
        use BlockLayout::{Parallel, Serial};
        use NormPosition as P;
        use NormType::{LayerNorm, RmsNorm};
        use Position as Pos;
        // (name, norm, position of norm, position encoding, activation, layout, bias,
        //  kv heads of 4, tied), transcribed from lecture.md's summary table.
        let table = [
            (
                "transformer2017",
                LayerNorm,
                P::Post,
                Pos::Sinusoidal,
                A::Relu,
                Serial,
                true,
                4,
                true,
            ),
            (
                "gpt2",
                LayerNorm,
                P::Pre,
                Pos::Learned,
                A::GeluTanh,
                Serial,
                true,
                4,
                true,
            ),
            (
                "gptj",
                LayerNorm,
                P::Pre,
                Pos::Rope,
                A::GeluTanh,
                Parallel,
                true,
                4,
                false,
            ),
            (
                "palm",
                RmsNorm,
                P::Pre,
                Pos::Rope,
                A::Swiglu,
                Parallel,
                false,
                1,
                true,
            ),
            (
                "llama",
                RmsNorm,
                P::Pre,
                Pos::Rope,
                A::Swiglu,
                Serial,
                false,
                2,
                false,
            ),
            (
                "mistral",
                RmsNorm,
                P::Pre,
                Pos::Rope,
                A::Swiglu,
                Serial,
                false,
                2,
                false,
            ),
            (
                "olmo2",
                RmsNorm,
                P::PostInBranch,
                Pos::Rope,
                A::Swiglu,
                Serial,
                false,
                4,
                false,
            ),
            (
                "gemma2",
                RmsNorm,
                P::Double,
                Pos::Rope,
                A::Geglu,
                Serial,
                false,
                2,
                true,
            ),
            (
                "qwen3",
                RmsNorm,
                P::Pre,
                Pos::Rope,
                A::Swiglu,
                Serial,
                false,
                2,
                false,
            ),
        ];
        for (name, norm, at, position, activation, block, bias, kv, tied) in table {
            let c = ModelConfig::preset(name).unwrap();
            let row = (c.norm, c.norm_position, c.position, c.activation, c.block);
            assert_eq!(row, (norm, at, position, activation, block), "{name}");
            assert_eq!(
                (c.bias, c.n_kv_heads, c.tied_embeddings),
                (bias, kv, tied),
                "{name}"
            );
            assert_eq!(
                c.qk_norm,
                name == "olmo2" || name == "qwen3",
                "{name} qk_norm"
            );
        }
        let window = AttentionPattern::SlidingWindow { window: 16 };
        assert_eq!(ModelConfig::preset("mistral").unwrap().attention, window);
        assert_eq!(
            ModelConfig::preset("gemma2").unwrap().pattern_for_layer(0),
            window
        );
    }

    #[test]
    fn zero_sizes_are_rejected() {
        let d = ModelConfig::default;
        assert_rejects(
            ModelConfig {
                vocab_size: 0,
                ..d()
            },
            "vocab_size",
        );
        assert_rejects(
            ModelConfig {
                context_len: 0,
                ..d()
            },
            "context_len",
        );
        assert_rejects(ModelConfig { d_model: 0, ..d() }, "d_model");
        assert_rejects(ModelConfig { n_layers: 0, ..d() }, "n_layers");
        assert_rejects(ModelConfig { n_heads: 0, ..d() }, "n_heads");
        assert_rejects(
            ModelConfig {
                n_kv_heads: 0,
                ..d()
            },
            "n_kv_heads",
        );
        assert_rejects(
            ModelConfig {
                d_head: Some(0),
                ..d()
            },
            "d_head",
        );
        assert_rejects(
            ModelConfig {
                d_ff: Some(0),
                ..d()
            },
            "d_ff",
        );
    }

    #[test]
    fn kv_heads_must_divide_and_not_exceed_heads() {
        let d = ModelConfig::default;
        assert_rejects(
            ModelConfig {
                n_kv_heads: 3,
                ..d()
            },
            "n_kv_heads",
        );
        assert_rejects(
            ModelConfig {
                n_kv_heads: 8,
                ..d()
            },
            "n_kv_heads",
        );
        assert!(ModelConfig {
            n_kv_heads: 1,
            ..d()
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn d_head_rules() {
        let d = ModelConfig::default;
        // 64 / 5 heads is not whole: d_head must then be given.
        assert_rejects(
            ModelConfig {
                n_heads: 5,
                n_kv_heads: 5,
                ..d()
            },
            "d_head",
        );
        let t5_like = ModelConfig {
            n_heads: 5,
            n_kv_heads: 5,
            d_head: Some(8),
            ..d()
        };
        assert!(t5_like.validate().is_ok());
        assert_rejects(
            ModelConfig {
                d_head: Some(7),
                ..d()
            },
            "d_head",
        );
        let odd_without_rope = ModelConfig {
            d_head: Some(7),
            position: Position::Alibi,
            ..d()
        };
        assert!(odd_without_rope.validate().is_ok());
    }

    #[test]
    fn scalar_rules() {
        let d = ModelConfig::default;
        assert_rejects(
            ModelConfig {
                rope_theta: 0.0,
                ..d()
            },
            "rope_theta",
        );
        assert_rejects(
            ModelConfig {
                norm_eps: 0.0,
                ..d()
            },
            "norm_eps",
        );
        assert_rejects(
            ModelConfig {
                norm_eps: f32::NAN,
                ..d()
            },
            "norm_eps",
        );
        assert_rejects(
            ModelConfig {
                init_std: -1.0,
                ..d()
            },
            "init_std",
        );
        let drop = |embd, attn, resid| ModelConfig {
            dropout: Dropout { embd, attn, resid },
            ..d()
        };
        assert_rejects(drop(1.0, 0.0, 0.0), "dropout.embd");
        assert_rejects(drop(0.0, -0.1, 0.0), "dropout.attn");
        assert_rejects(drop(0.0, 0.0, 1.5), "dropout.resid");
        assert!(drop(0.5, 0.5, 0.0).validate().is_ok());
    }

    #[test]
    fn pattern_rules() {
        let d = ModelConfig::default;
        let window = |window| AttentionPattern::SlidingWindow { window };
        let sparse = |local, stride| AttentionPattern::Sparse { local, stride };
        assert_rejects(
            ModelConfig {
                attention: window(0),
                ..d()
            },
            "attention",
        );
        assert_rejects(
            ModelConfig {
                attention: sparse(0, 2),
                ..d()
            },
            "attention",
        );
        assert_rejects(
            ModelConfig {
                attention: sparse(2, 0),
                ..d()
            },
            "attention",
        );
        let every = |k| Some(LayerPattern::GlobalEvery(k));
        assert_rejects(
            ModelConfig {
                layer_pattern: every(0),
                ..d()
            },
            "layer_pattern",
        );
        let per_layer = |p: Vec<_>| Some(LayerPattern::PerLayer(p));
        let one = per_layer(vec![AttentionPattern::Full]);
        assert_rejects(
            ModelConfig {
                layer_pattern: one,
                ..d()
            },
            "layer_pattern",
        );
        let bad = per_layer(vec![AttentionPattern::Full, window(0)]);
        assert_rejects(
            ModelConfig {
                layer_pattern: bad,
                ..d()
            },
            "layer_pattern",
        );
    }

    #[test]
    fn d_ff_defaults() {
        let plain = ModelConfig {
            activation: Activation::Gelu,
            ..ModelConfig::default()
        };
        assert_eq!(plain.d_ff(), 256); // 4 * 64
                                       // 8/3 * 64 = 170.67 -> 171 -> next multiple of 8 = 176.
        assert_eq!(ModelConfig::default().d_ff(), 176);
        assert_eq!(
            ModelConfig {
                d_ff: Some(10),
                ..plain
            }
            .d_ff(),
            10
        );
    }

    #[test]
    fn masks_match_hand_written_tables() {
        // Rows are queries i = 0..6, columns keys j = 0..6; 1 = visible.
        let table = |p: AttentionPattern| -> Vec<String> {
            (0..6)
                .map(|i| {
                    (0..6)
                        .map(|j| if p.visible(i, j) { '1' } else { '0' })
                        .collect()
                })
                .collect()
        };
        let causal = ["100000", "110000", "111000", "111100", "111110", "111111"];
        assert_eq!(table(AttentionPattern::Full), causal);
        let window2 = ["100000", "110000", "011000", "001100", "000110", "000011"];
        assert_eq!(
            table(AttentionPattern::SlidingWindow { window: 2 }),
            window2
        );
        // local 2 plus every key at distance 0, 3, 6, ...
        let sparse = ["100000", "110000", "011000", "101100", "010110", "001011"];
        assert_eq!(
            table(AttentionPattern::Sparse {
                local: 2,
                stride: 3
            }),
            sparse
        );
    }

    #[test]
    fn global_every_interleaves_like_gemma2() {
        let config = ModelConfig {
            n_layers: 4,
            ..ModelConfig::preset("gemma2").unwrap()
        };
        let local = AttentionPattern::SlidingWindow { window: 16 };
        let patterns: Vec<_> = (0..4).map(|l| config.pattern_for_layer(l)).collect();
        let full = AttentionPattern::Full;
        assert_eq!(patterns, [local, full, local, full]);
    }

    #[test]
    fn accounting_of_the_default_preset() {
        let config = ModelConfig::default();
        // C 64, H 4, D 16, K 4, F 176, L 2, V 65, T 64, no bias, RMSNorm pre, untied.
        // Attention 4 * 64*64 = 16384; MLP 3 * 64*176 = 33792; two norms 2*64 = 128.
        // Per layer 50304; two layers 100608; final norm 64 -> 100672 non-embedding.
        // Embedding: token 65*64 = 4160 + untied head 4160 = 8320.
        let count = config.param_count();
        assert_eq!(count.non_embedding, 100_672);
        assert_eq!(count.embedding, 8_320);
        assert_eq!(count.total(), 108_992);
        // Matmul weights: 2 * (16384 + 33792) + 4160 = 104512; forward 2x = 209024.
        // Causal keys per query, mean over 64 queries: 65/2 = 32.5; per layer
        // 4 * (H*D = 64) * 32.5 = 8320, two layers 16640. Forward 225664, training x3 = 676992.
        assert_eq!(config.flops_per_token(), 676_992.0);
        // 2 (K and V) * 2 layers * 4 KV heads * 16 * 4 bytes = 1024.
        assert_eq!(config.kv_cache_bytes_per_token(), 1024);
    }

    #[test]
    fn mqa_shrinks_the_kv_cache_by_the_head_ratio() {
        let mha = ModelConfig::default();
        let mqa = ModelConfig {
            n_kv_heads: 1,
            ..mha.clone()
        };
        assert_eq!(
            mha.kv_cache_bytes_per_token(),
            4 * mqa.kv_cache_bytes_per_token()
        );
    }

    #[test]
    fn serde_round_trip_and_unknown_fields() {
        let config = ModelConfig::preset("gemma2").unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains("\"rms_norm\""), "{json}");
        assert_eq!(serde_json::from_str::<ModelConfig>(&json).unwrap(), config);
        let partial: ModelConfig = serde_json::from_str(r#"{"n_layers": 3}"#).unwrap();
        assert_eq!(
            partial,
            ModelConfig {
                n_layers: 3,
                ..ModelConfig::default()
            }
        );
        assert!(serde_json::from_str::<ModelConfig>(r#"{"n_layer": 3}"#).is_err());
    }
}
