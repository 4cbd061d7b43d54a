//! What a configuration costs: parameters, training FLOPs per token and KV-cache bytes per
//! token, computed from the shapes alone (the parameter count independently of `ParamLayout`,
//! which a test compares it with for every toggle).

use super::config::{BlockLayout, ModelConfig, ParallelNorm, Position, QkNormScope};

/// Parameter counts; embeddings are the token table, a learned position table and an untied
/// output head (Kaplan et al. leave them out of "non-embedding" parameters). In u64: a model at
/// its published size (billions) overflows wasm32's usize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamCount {
    /// Token table, learned position table, untied output head.
    pub embedding: u64,
    /// Everything else: attention, MLP, norms, biases.
    pub non_embedding: u64,
}

impl ParamCount {
    /// All parameters.
    pub fn total(&self) -> u64 {
        self.embedding + self.non_embedding
    }
}

impl ModelConfig {
    /// Parameter counts, computed from the shapes (independently of `ParamLayout`).
    pub fn param_count(&self) -> ParamCount {
        let n = |size: usize| size as u64;
        let (c, v, l, d) = (
            n(self.d_model),
            n(self.vocab_size),
            n(self.n_layers),
            n(self.d_head()),
        );
        let (q_width, kv_width) = (n(self.n_heads) * d, n(self.n_kv_heads) * d);
        let f = n(self.d_ff());
        let bias = u64::from(self.bias);
        // A norm of width `dim`: a gain, and a bias for LayerNorm with biases.
        let norm_of = |kind, dim: u64| dim * (1 + u64::from(self.norm_has_bias(kind)));
        let norm = norm_of(self.norm, c);
        // QK-norm: one head's D for q and for k (shared by the heads), or one gain per element
        // of each whole projection (H·D for q, K·D for k).
        let qk_norm = match (self.qk_norm, self.qk_norm_scope) {
            (false, _) => 0,
            (true, QkNormScope::Head) => 2 * norm_of(self.qk_norm_type(), d),
            (true, QkNormScope::Projection) => {
                norm_of(self.qk_norm_type(), q_width) + norm_of(self.qk_norm_type(), kv_width)
            }
        };

        let attention = c * q_width
            + 2 * c * kv_width
            + q_width * c
            + bias * (q_width + 2 * kv_width + c)
            + qk_norm;
        let n_up = if self.activation.is_gated() { 2 } else { 1 };
        let mlp = n_up * (c * f + bias * f) + f * c + bias * c;
        let sites = self.norm_sites();
        // Per branch: input and output norms; serial has two post norms, parallel one (after
        // its single residual add), and a parallel block's branches share one input norm unless
        // `parallel_norm` gives each its own.
        let (n_input, n_post) = match (self.block, self.parallel_norm) {
            (BlockLayout::Serial, _) => (2, 2),
            (BlockLayout::Parallel, ParallelNorm::PerBranch) => (2, 1),
            (BlockLayout::Parallel, ParallelNorm::Shared) => (1, 1),
        };
        let norms_per_layer = u64::from(sites.input) * n_input
            + u64::from(sites.output) * 2
            + u64::from(sites.post) * n_post;
        let per_layer = attention + mlp + norms_per_layer * norm;
        let final_norm = if self.has_final_norm() { norm } else { 0 };

        let position = if self.position == Position::Learned {
            n(self.context_len) * c
        } else {
            0
        };
        let head = if self.tied_embeddings { 0 } else { v * c };
        ParamCount {
            embedding: v * c + position + head,
            non_embedding: l * per_layer + final_norm,
        }
    }

    /// The values of the tensors every model of this shape has (token table, learned
    /// positions, each layer's attention and feed-forward matrices), in f64 so that nothing
    /// overflows: a lower bound on the parameters, which a checkpoint's tensor file must hold
    /// before its layout is built (a file claiming a huge model is refused without allocating).
    pub fn matrix_values(&self) -> f64 {
        let f = |n: usize| n as f64;
        let (c, d) = (f(self.d_model), f(self.d_head()));
        let (q, kv) = (f(self.n_heads) * d, f(self.n_kv_heads) * d);
        let n_up = if self.activation.is_gated() { 2.0 } else { 1.0 };
        let per_layer = 2.0 * c * q + 2.0 * c * kv + (n_up + 1.0) * c * f(self.d_ff());
        let position = match self.position {
            Position::Learned => f(self.context_len) * c,
            _ => 0.0,
        };
        f(self.vocab_size) * c + position + f(self.n_layers) * per_layer
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
    pub(crate) fn mean_visible_keys(&self, layer: usize) -> f64 {
        let pattern = self.pattern_for_layer(layer);
        let t = self.context_len;
        let visible = (0..t)
            .map(|i| (0..=i).filter(|&j| pattern.visible(i, j)).count())
            .sum::<usize>();
        visible as f64 / t as f64
    }

    /// KV-cache values per generated token: K and V of every layer and KV head.
    pub fn kv_cache_values_per_token(&self) -> usize {
        2 * self.n_layers * self.n_kv_heads * self.d_head()
    }

    /// KV-cache bytes per generated token in f32.
    pub fn kv_cache_bytes_per_token(&self) -> usize {
        self.kv_cache_values_per_token() * std::mem::size_of::<f32>()
    }

    /// KV-cache bytes of `batch` sequences of `context` tokens stored in `format`, in f64 (a
    /// published model's cache passes 4 GiB, wasm32's usize). Every layer keeps every token:
    /// a sliding-window layer could keep only its window, which this does not count.
    pub fn kv_cache_bytes(&self, context: usize, batch: usize, format: NumberFormat) -> f64 {
        self.kv_cache_values_per_token() as f64 * context as f64 * batch as f64 * format.bytes()
    }
}

/// How many bytes a stored number takes: the formats weights and KV caches are kept in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberFormat {
    Fp32,
    Bf16,
    Fp8,
    Int4,
}

impl NumberFormat {
    /// Every format, by name.
    pub const ALL: [(&'static str, Self); 4] = [
        ("fp32", Self::Fp32),
        ("bf16", Self::Bf16),
        ("fp8", Self::Fp8),
        ("int4", Self::Int4),
    ];

    /// Bytes per value (int4 packs two values in a byte; its scales are left out).
    pub fn bytes(self) -> f64 {
        match self {
            Self::Fp32 => 4.0,
            Self::Bf16 => 2.0,
            Self::Fp8 => 1.0,
            Self::Int4 => 0.5,
        }
    }

    /// The format's name, as `parse` reads it.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, format)| *format == self)
            .map_or("", |(name, _)| name)
    }
}

impl std::str::FromStr for NumberFormat {
    type Err = String;

    /// A name of [`NumberFormat::ALL`], or why not.
    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, format)| *format)
            .ok_or_else(|| {
                format!("unknown number format {name:?}; the formats are fp32, bf16, fp8, int4")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::{
        Activation, NormPosition, NormType, ParallelNorm, Position, QkNormScope,
    };
    use crate::model::ParamLayout;

    /// The matrices' values are a lower bound on the parameters, and no overflow for huge
    /// shapes (d_model 4e9 would overflow a usize product).
    #[test]
    fn matrix_values_bound_the_parameters_from_below() {
        for config in [
            ModelConfig::default(),
            ModelConfig {
                position: Position::Learned,
                activation: Activation::Gelu,
                bias: true,
                tied_embeddings: true,
                ..ModelConfig::default()
            },
            ModelConfig {
                qk_norm: true,
                qk_norm_scope: QkNormScope::Projection,
                n_kv_heads: 1,
                ..ModelConfig::default()
            },
        ] {
            let params = config.param_count().total() as f64;
            let matrices = config.matrix_values();
            assert!(
                matrices <= params && matrices > 0.9 * params,
                "{matrices} {params}"
            );
        }
        let huge = ModelConfig {
            d_model: 4_000_000_000,
            n_heads: 1,
            n_kv_heads: 1,
            ..ModelConfig::default()
        };
        assert!(huge.matrix_values() > 1e19);
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

    /// The count from the formula equals the sum of `ParamLayout`'s tensor sizes for every value
    /// of every toggle that changes a shape, in every combination (61,440 per shape, three
    /// shapes): MHA with the default widths, GQA with d_head set apart from C / H, MQA with
    /// d_ff set. Sizes are distinct (V 11, T 7, C 16) so a table counted for the wrong one shows.
    #[test]
    fn the_count_equals_the_layout_for_every_toggle() {
        use Activation as A;
        let norms = [NormType::LayerNorm, NormType::RmsNorm, NormType::None];
        let positions = [
            NormPosition::Post,
            NormPosition::Pre,
            NormPosition::Double,
            NormPosition::PostInBranch,
        ];
        let activations = [
            A::Relu,
            A::Gelu,
            A::GeluTanh,
            A::Silu,
            A::Reglu,
            A::Geglu,
            A::GegluTanh,
            A::Swiglu,
        ];
        let blocks = [BlockLayout::Serial, BlockLayout::Parallel];
        let parallel_norms = [ParallelNorm::Shared, ParallelNorm::PerBranch];
        let encodings = [
            Position::Learned,
            Position::Sinusoidal,
            Position::Rope,
            Position::Alibi,
            Position::None,
        ];
        let scopes = [QkNormScope::Head, QkNormScope::Projection];
        let base = ModelConfig {
            vocab_size: 11,
            context_len: 7,
            d_model: 16,
            n_layers: 2,
            n_heads: 4,
            ..ModelConfig::default()
        };
        let shapes = [(4, None, None), (2, Some(6), None), (1, None, Some(10))];
        let mut configs = vary(vec![base], &shapes, |c, (k, d, f)| {
            (c.n_kv_heads, c.d_head, c.d_ff) = (k, d, f);
        });
        configs = vary(configs, &norms, |c, v| c.norm = v);
        configs = vary(configs, &positions, |c, v| c.norm_position = v);
        configs = vary(configs, &activations, |c, v| c.activation = v);
        configs = vary(configs, &blocks, |c, v| c.block = v);
        configs = vary(configs, &parallel_norms, |c, v| c.parallel_norm = v);
        configs = vary(configs, &encodings, |c, v| c.position = v);
        configs = vary(configs, &scopes, |c, v| c.qk_norm_scope = v);
        configs = vary(configs, &[false, true], |c, v| c.qk_norm = v);
        configs = vary(configs, &[false, true], |c, v| c.final_norm = v);
        configs = vary(configs, &[false, true], |c, v| c.bias = v);
        configs = vary(configs, &[false, true], |c, v| c.tied_embeddings = v);
        assert_eq!(configs.len(), 3 * 3 * 4 * 8 * 2 * 2 * 5 * 2 * 16);
        for config in &configs {
            let layout = ParamLayout::new(config);
            assert_eq!(
                config.param_count().total(),
                layout.param_count() as u64,
                "{config:?}"
            );
        }
    }

    /// Every config of `configs` once with each of `values` (set by `set`).
    fn vary<T: Copy>(
        configs: Vec<ModelConfig>,
        values: &[T],
        set: impl Fn(&mut ModelConfig, T),
    ) -> Vec<ModelConfig> {
        configs
            .into_iter()
            .flat_map(|config| {
                let set = &set;
                values.iter().map(move |&value| {
                    let mut config = config.clone();
                    set(&mut config, value);
                    config
                })
            })
            .collect()
    }

    /// The embedding share: the token table, a learned position table, an untied head.
    #[test]
    fn embedding_parameters_are_the_tables_and_the_untied_head() {
        let config = ModelConfig {
            position: Position::Learned,
            ..ModelConfig::default()
        };
        let layout = ParamLayout::new(&config);
        let embedding: u64 = ["tok_emb", "pos_emb", "lm_head"]
            .iter()
            .map(|name| layout.find(name).unwrap().len() as u64)
            .sum();
        assert_eq!(config.param_count().embedding, embedding);
    }
}
