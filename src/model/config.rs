//! `ModelConfig`: every architecture toggle of the lecture in one serialisable struct and its
//! validation. Accounting (parameters, FLOPs, KV cache) is in `accounting.rs`; the named presets
//! (model and training settings together) are `train::presets`.
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
    /// GeGLU with GeLU's tanh approximation (Gemma's `gelu_pytorch_tanh`).
    GegluTanh,
    /// `(silu(x W1) * x V) W2`.
    Swiglu,
}

impl Activation {
    /// Gated variants multiply `act(x W1)` by a second projection `x V`.
    pub fn is_gated(self) -> bool {
        matches!(
            self,
            Self::Reglu | Self::Geglu | Self::GegluTanh | Self::Swiglu
        )
    }

    /// The pointwise function applied to `x W1`: a gated variant maps to its plain one.
    pub fn pointwise(self) -> Self {
        match self {
            Self::Reglu => Self::Relu,
            Self::Geglu => Self::Gelu,
            Self::GegluTanh => Self::GeluTanh,
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
    /// Token embeddings multiplied by √d_model on lookup (the tied head reads the unscaled
    /// table), as the Transformer (2017) and Gemma do.
    pub scale_embeddings: bool,
    /// A token whose embedding row gets no gradient from the lookup, as PyTorch's
    /// `padding_idx` (imported LLaMA-family models with a `pad_token_id`); None here otherwise.
    pub padding_token: Option<u32>,
    /// Dropout probabilities.
    pub dropout: Dropout,
    /// Standard deviation of the normal initialisation of matrices and embeddings.
    pub init_std: f32,
    /// Scale output projections' init (attention `wo`, MLP `w2`) by 1/sqrt(2 L), as GPT-2.
    pub residual_scaling: bool,
    /// Soft-cap `c tanh(x / c)` of the attention logits `q.k / sqrt(D)`, before the mask and
    /// softmax (Gemma 2: 50); None leaves them unbounded.
    pub attn_logit_softcap: Option<f32>,
    /// Soft-cap `c tanh(x / c)` of the output logits, before the loss (Gemma 2: 30); None
    /// leaves them unbounded.
    pub final_logit_softcap: Option<f32>,
}

impl ModelConfig {
    /// The `default` preset: a small LLaMA-style model (pre-RMSNorm, SwiGLU, RoPE, MHA), as a
    /// constant so preset tables can be built on it.
    pub const DEFAULT: Self = Self {
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
        scale_embeddings: false,
        padding_token: None,
        dropout: Dropout {
            embd: 0.0,
            attn: 0.0,
            resid: 0.0,
        },
        init_std: 0.02,
        residual_scaling: false,
        attn_logit_softcap: None,
        final_logit_softcap: None,
    };
}

impl Default for ModelConfig {
    /// [`ModelConfig::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl ModelConfig {
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

    /// The factor token embeddings are multiplied by on lookup: √d_model or 1.
    pub fn embedding_scale(&self) -> f64 {
        match self.scale_embeddings {
            true => (self.d_model as f64).sqrt(),
            false => 1.0,
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
        let softcaps = [
            ("attn_logit_softcap", self.attn_logit_softcap),
            ("final_logit_softcap", self.final_logit_softcap),
        ];
        for (field, cap) in softcaps {
            match cap {
                Some(c) if !(is_positive(c) && c.is_finite()) => {
                    return Err(ConfigError::new(
                        field,
                        format!("{c} is not a finite number > 0 (leave it unset for no cap)"),
                    ))
                }
                Some(_) | None => {}
            }
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
        for cap in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert_rejects(
                ModelConfig {
                    attn_logit_softcap: Some(cap),
                    ..d()
                },
                "attn_logit_softcap",
            );
            assert_rejects(
                ModelConfig {
                    final_logit_softcap: Some(cap),
                    ..d()
                },
                "final_logit_softcap",
            );
        }
        let capped = ModelConfig {
            attn_logit_softcap: Some(50.0),
            final_logit_softcap: Some(30.0),
            ..d()
        };
        assert!(capped.validate().is_ok());
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
            attention: AttentionPattern::SlidingWindow { window: 16 },
            layer_pattern: Some(LayerPattern::GlobalEvery(2)),
            ..ModelConfig::default()
        };
        let local = AttentionPattern::SlidingWindow { window: 16 };
        let patterns: Vec<_> = (0..4).map(|l| config.pattern_for_layer(l)).collect();
        let full = AttentionPattern::Full;
        assert_eq!(patterns, [local, full, local, full]);
    }

    #[test]
    fn serde_round_trip_and_unknown_fields() {
        let config = ModelConfig {
            norm_position: NormPosition::Double,
            activation: Activation::GegluTanh,
            layer_pattern: Some(LayerPattern::GlobalEvery(2)),
            ..ModelConfig::default()
        };
        let json = serde_json::to_string(&config).unwrap();
        assert!(
            json.contains("\"rms_norm\"") && json.contains("\"geglu_tanh\""),
            "{json}"
        );
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
