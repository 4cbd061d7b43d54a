//! The parameter layout: an ordered table of named tensors carved out of ONE flat `Vec<f32>`
//! (llm.c style), computed once from a `ModelConfig`. Gradients and AdamW moments use the same
//! table. Offsets are aligned to `ALIGN` floats so a GPU engine can bind each tensor as a
//! storage-buffer range (256-byte offset alignment); the padding stays zero forever (its
//! gradient is zero, so AdamW leaves it at zero).
//!
//! Matrices follow PyTorch's `nn.Linear` convention, weight `[out, in]`, so checkpoints import
//! without transposes; names follow the pattern `layers.{l}.attn.wq`.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::config::{BlockLayout, ModelConfig, NormType, ParallelNorm, Position, QkNormScope};

/// Tensor offsets are multiples of this many floats (256 bytes).
pub const ALIGN: usize = 64;

/// What a tensor is, which decides its initialisation and weight-decay group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A linear layer's weight, normal(0, std): decays.
    Matrix,
    /// Token or learned position table, normal(0, init_std): decays only when the training
    /// config asks (`decay_embeddings`), as most recipes leave embeddings out of decay.
    Embedding,
    /// A norm's gain, ones: never decays (decay would pull it toward 0, not toward identity).
    NormGain,
    /// A bias (linear or LayerNorm), zeros: never decays.
    Bias,
}

/// One named tensor of the flat parameter buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    /// Dotted name, e.g. `layers.0.attn.wq`.
    pub name: String,
    /// Shape, row-major; matrices are `[out, in]`.
    pub shape: Vec<usize>,
    /// First element in the flat buffer, a multiple of `ALIGN`.
    pub offset: usize,
    /// Role, for initialisation and decay.
    pub kind: ParamKind,
    /// Standard deviation of the normal initialisation (Matrix and Embedding only).
    pub init_std: f32,
}

impl TensorSpec {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements (never true for a validated config).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Range in the flat buffer.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }

    /// Whether AdamW applies weight decay to it: matrices always, embeddings when asked.
    pub fn decays(&self, decay_embeddings: bool) -> bool {
        match self.kind {
            ParamKind::Matrix => true,
            ParamKind::Embedding => decay_embeddings,
            ParamKind::NormGain | ParamKind::Bias => false,
        }
    }
}

/// Tensor indices (into `ParamLayout::tensors`) of one norm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormParams {
    /// Gain, `[dim]`.
    pub weight: usize,
    /// Bias, `[dim]`; LayerNorm with `bias` only.
    pub bias: Option<usize>,
}

/// Tensor indices of one linear layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearParams {
    /// Weight, `[out, in]`.
    pub weight: usize,
    /// Bias, `[out]`, when `bias` is on.
    pub bias: Option<usize>,
}

/// Tensor indices of one attention sub-layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionParams {
    /// Query projection, `[H*D, C]`.
    pub wq: LinearParams,
    /// Key projection, `[K*D, C]`.
    pub wk: LinearParams,
    /// Value projection, `[K*D, C]`.
    pub wv: LinearParams,
    /// Output projection, `[C, H*D]`.
    pub wo: LinearParams,
    /// QK-norm of queries, `[D]`.
    pub q_norm: Option<NormParams>,
    /// QK-norm of keys, `[D]`.
    pub k_norm: Option<NormParams>,
}

/// Tensor indices of one MLP sub-layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MlpParams {
    /// Input projection through the activation, `[F, C]`.
    pub w1: LinearParams,
    /// Gate projection `V`, `[F, C]`; gated activations only.
    pub v: Option<LinearParams>,
    /// Output projection, `[C, F]`.
    pub w2: LinearParams,
}

/// Tensor indices of one block. Which norms exist follows `ModelConfig::norm_sites` and the
/// block layout (see `BlockLayout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerParams {
    /// Norm on the attention input; in a parallel block the one input norm both branches share.
    pub attn_in_norm: Option<NormParams>,
    /// Norm on the attention branch output.
    pub attn_out_norm: Option<NormParams>,
    /// Norm after the attention residual add; in a parallel block the one post norm.
    pub attn_post_norm: Option<NormParams>,
    /// Attention weights.
    pub attn: AttentionParams,
    /// Norm on the MLP input (serial only).
    pub mlp_in_norm: Option<NormParams>,
    /// Norm on the MLP branch output.
    pub mlp_out_norm: Option<NormParams>,
    /// Norm after the MLP residual add (serial only).
    pub mlp_post_norm: Option<NormParams>,
    /// MLP weights.
    pub mlp: MlpParams,
}

/// The table of every parameter tensor, with typed indices into it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamLayout {
    /// Every tensor, in buffer order.
    pub tensors: Vec<TensorSpec>,
    /// Length of the flat buffer, padding included.
    pub total_len: usize,
    /// Token embedding, `[V, C]`; also the output head when tied.
    pub tok_emb: usize,
    /// Learned position table, `[context_len, C]`.
    pub pos_emb: Option<usize>,
    /// One entry per block.
    pub layers: Vec<LayerParams>,
    /// Norm before the output head, `[C]`.
    pub final_norm: Option<NormParams>,
    /// Untied output head, `[V, C]` (never biased).
    pub lm_head: Option<usize>,
}

/// Accumulates tensors at aligned offsets.
struct Builder {
    tensors: Vec<TensorSpec>,
    next_offset: usize,
}

impl Builder {
    fn push(&mut self, name: String, shape: Vec<usize>, kind: ParamKind, init_std: f32) -> usize {
        let spec = TensorSpec {
            name,
            shape,
            offset: self.next_offset,
            kind,
            init_std,
        };
        self.next_offset = (spec.offset + spec.len()).div_ceil(ALIGN) * ALIGN;
        self.tensors.push(spec);
        self.tensors.len() - 1
    }

    fn norm(
        &mut self,
        prefix: &str,
        kind: NormType,
        dim: usize,
        config: &ModelConfig,
    ) -> NormParams {
        let weight = self.push(
            format!("{prefix}.weight"),
            vec![dim],
            ParamKind::NormGain,
            0.0,
        );
        let bias = config
            .norm_has_bias(kind)
            .then(|| self.push(format!("{prefix}.bias"), vec![dim], ParamKind::Bias, 0.0));
        NormParams { weight, bias }
    }

    /// A `[out, in]` weight named `{prefix}.{w}` and, when `b` is given, its `[out]` bias.
    fn linear(
        &mut self,
        prefix: &str,
        w: &str,
        b: Option<&str>,
        [out, inp]: [usize; 2],
        std: f32,
    ) -> LinearParams {
        let weight = self.push(
            format!("{prefix}.{w}"),
            vec![out, inp],
            ParamKind::Matrix,
            std,
        );
        let bias = b.map(|b| self.push(format!("{prefix}.{b}"), vec![out], ParamKind::Bias, 0.0));
        LinearParams { weight, bias }
    }
}

impl ParamLayout {
    /// The layout of a validated config.
    pub fn new(config: &ModelConfig) -> Self {
        let (c, v, d, f) = (
            config.d_model,
            config.vocab_size,
            config.d_head(),
            config.d_ff(),
        );
        let (q_width, kv_width) = (config.n_heads * d, config.n_kv_heads * d);
        let std = config.init_std;
        // GPT-2: each block adds two branch outputs to the residual stream, so their
        // projections start smaller to keep the stream's variance flat with depth.
        let out_std = if config.residual_scaling {
            std / (2.0 * config.n_layers as f32).sqrt()
        } else {
            std
        };
        let mut b = Builder {
            tensors: Vec::new(),
            next_offset: 0,
        };
        let tok_emb = b.push("tok_emb".into(), vec![v, c], ParamKind::Embedding, std);
        let pos_emb = (config.position == Position::Learned).then(|| {
            b.push(
                "pos_emb".into(),
                vec![config.context_len, c],
                ParamKind::Embedding,
                std,
            )
        });
        let sites = config.norm_sites();
        let serial = config.block == BlockLayout::Serial;
        // The MLP has an input norm of its own unless a parallel block shares the attention's.
        let mlp_input_norm = serial || config.parallel_norm == ParallelNorm::PerBranch;
        // QK-norm's width: one head's D, or the whole q and k projections.
        let qk_dims = match config.qk_norm_scope {
            QkNormScope::Head => (d, d),
            QkNormScope::Projection => (q_width, kv_width),
        };
        let bias = config.bias;
        let layers = (0..config.n_layers)
            .map(|l| {
                let p = format!("layers.{l}");
                let norm = |b: &mut Builder, name: &str, on: bool| {
                    on.then(|| b.norm(&format!("{p}.{name}"), config.norm, c, config))
                };
                let attn_in_norm = norm(&mut b, "attn_in_norm", sites.input);
                let a = format!("{p}.attn");
                let qk = config.qk_norm_type();
                let attn = AttentionParams {
                    wq: b.linear(&a, "wq", bias.then_some("bq"), [q_width, c], std),
                    wk: b.linear(&a, "wk", bias.then_some("bk"), [kv_width, c], std),
                    wv: b.linear(&a, "wv", bias.then_some("bv"), [kv_width, c], std),
                    wo: b.linear(&a, "wo", bias.then_some("bo"), [c, q_width], out_std),
                    q_norm: config
                        .qk_norm
                        .then(|| b.norm(&format!("{a}.q_norm"), qk, qk_dims.0, config)),
                    k_norm: config
                        .qk_norm
                        .then(|| b.norm(&format!("{a}.k_norm"), qk, qk_dims.1, config)),
                };
                let attn_out_norm = norm(&mut b, "attn_out_norm", sites.output);
                let attn_post_norm = norm(&mut b, "attn_post_norm", sites.post);
                let mlp_in_norm = norm(&mut b, "mlp_in_norm", sites.input && mlp_input_norm);
                let m = format!("{p}.mlp");
                let mlp = MlpParams {
                    w1: b.linear(&m, "w1", bias.then_some("b1"), [f, c], std),
                    v: config
                        .activation
                        .is_gated()
                        .then(|| b.linear(&m, "v", bias.then_some("bv"), [f, c], std)),
                    w2: b.linear(&m, "w2", bias.then_some("b2"), [c, f], out_std),
                };
                let mlp_out_norm = norm(&mut b, "mlp_out_norm", sites.output);
                let mlp_post_norm = norm(&mut b, "mlp_post_norm", sites.post && serial);
                LayerParams {
                    attn_in_norm,
                    attn_out_norm,
                    attn_post_norm,
                    attn,
                    mlp_in_norm,
                    mlp_out_norm,
                    mlp_post_norm,
                    mlp,
                }
            })
            .collect();
        let final_norm = config
            .has_final_norm()
            .then(|| b.norm("final_norm", config.norm, c, config));
        let lm_head = (!config.tied_embeddings)
            .then(|| b.push("lm_head".into(), vec![v, c], ParamKind::Matrix, std));
        ParamLayout {
            total_len: b.next_offset,
            tensors: b.tensors,
            tok_emb,
            pos_emb,
            layers,
            final_norm,
            lm_head,
        }
    }

    /// The output head's weight, `[V, C]`: the untied head or the token table.
    pub fn head(&self) -> usize {
        self.lm_head.unwrap_or(self.tok_emb)
    }

    /// Looks a tensor up by name.
    pub fn find(&self, name: &str) -> Option<&TensorSpec> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The floats of layer `l`'s tensors, which the layout keeps together (padding between
    /// them included: it holds zeros, so norms over the range are the layer's norms).
    pub fn layer_range(&self, l: usize) -> std::ops::Range<usize> {
        let prefix = format!("layers.{l}.");
        let mine = self.tensors.iter().filter(|t| t.name.starts_with(&prefix));
        let (start, end) = mine.fold((usize::MAX, 0), |(start, end), t| {
            (start.min(t.offset), end.max(t.range().end))
        });
        start..end
    }

    /// Number of real (non-padding) parameters.
    pub fn param_count(&self) -> usize {
        self.tensors.iter().map(TensorSpec::len).sum()
    }

    /// Deterministic initial parameters: normal(0, std) matrices and embeddings (ChaCha8 +
    /// Box-Muller, one normal per pair of uniforms), norm gains 1, biases and padding 0. Each
    /// tensor draws from its own stream, keyed by the seed and the tensor's name, so two models
    /// that share a tensor (same name, shape and std) start with equal values for it whatever
    /// else differs: lockstep variants differ only where their settings make them differ.
    pub fn init(&self, seed: u64) -> Vec<f32> {
        let mut params = vec![0.0f32; self.total_len];
        for spec in &self.tensors {
            let values = &mut params[spec.range()];
            match spec.kind {
                ParamKind::Matrix | ParamKind::Embedding => {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream(name_key(&spec.name));
                    for value in values {
                        *value = (standard_normal(&mut rng) * f64::from(spec.init_std)) as f32;
                    }
                }
                ParamKind::NormGain => values.fill(1.0),
                ParamKind::Bias => values.fill(0.0),
            }
        }
        params
    }
}

/// A tensor name's stream number: 64-bit FNV-1a of its bytes.
fn name_key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A uniform in the open interval (0, 1) from 53 random bits.
fn open_uniform(rng: &mut ChaCha8Rng) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Box-Muller: `sqrt(-2 ln u1) cos(2 pi u2)` is standard normal for independent uniforms.
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u1, u2) = (open_uniform(rng), open_uniform(rng));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::presets::PRESETS;

    #[test]
    fn offsets_are_aligned_and_disjoint() {
        for preset in &PRESETS {
            let (name, layout) = (preset.name, ParamLayout::new(&preset.model));
            let mut end = 0;
            for t in &layout.tensors {
                assert_eq!(t.offset % ALIGN, 0, "{name} {}", t.name);
                assert!(t.offset >= end, "{name} {} overlaps", t.name);
                end = t.offset + t.len();
            }
            assert!(layout.total_len >= end && layout.total_len.is_multiple_of(ALIGN));
        }
    }

    #[test]
    fn a_layer_range_holds_exactly_that_layers_tensors() {
        for preset in &PRESETS {
            let layout = ParamLayout::new(&preset.model);
            for l in 0..preset.model.n_layers {
                let range = layout.layer_range(l);
                for t in &layout.tensors {
                    let inside = range.contains(&t.offset);
                    let named = t.name.split('.').take(2).eq(["layers", &l.to_string()]);
                    assert_eq!(inside, named, "{} layer {l}: {}", preset.name, t.name);
                    assert!(!inside || t.range().end <= range.end, "{}", t.name);
                }
            }
        }
    }

    #[test]
    fn names_shapes_and_decay_groups() {
        let gpt2 = PRESETS.iter().find(|p| p.name == "gpt2").unwrap();
        let layout = ParamLayout::new(&gpt2.model);
        let wq = layout.find("layers.1.attn.wq").unwrap();
        assert_eq!(wq.shape, [64, 64]);
        assert!(wq.decays(false));
        let bias = layout.find("layers.0.mlp.b1").unwrap();
        assert_eq!(bias.shape, [256]);
        assert!(!bias.decays(true));
        let gain = layout.find("layers.0.attn_in_norm.weight").unwrap();
        assert!(!gain.decays(true));
        let emb = layout.find("tok_emb").unwrap();
        assert!(!emb.decays(false) && emb.decays(true));
        assert!(layout.find("pos_emb").is_some());
        assert!(layout.lm_head.is_none(), "gpt2 ties the head to tok_emb");
        // 0.02 / sqrt(2 * 2 layers) = 0.01
        let wo = layout.find("layers.0.attn.wo").unwrap();
        assert!((wo.init_std - 0.01).abs() < 1e-9);
    }

    /// Lockstep: variants that share a tensor (name and shape) start with equal values for it,
    /// however their other tensors differ; different names draw different values.
    #[test]
    fn shared_tensors_start_equal_across_configurations() {
        let mha = ModelConfig::default();
        let mut variant = mha.clone();
        variant.n_kv_heads = 1; // wk and wv shrink
        variant.norm = NormType::LayerNorm;
        variant.bias = true; // biases and LayerNorm biases appear
        let (a, b) = (ParamLayout::new(&mha), ParamLayout::new(&variant));
        let (pa, pb) = (a.init(3), b.init(3));
        let (mut shared, mut differ) = (0, 0);
        for spec in &a.tensors {
            match b.find(&spec.name) {
                Some(other) if other.shape == spec.shape => {
                    assert_eq!(pa[spec.range()], pb[other.range()], "{}", spec.name);
                    shared += 1;
                }
                _ => differ += 1,
            }
        }
        assert!(
            shared > 10 && differ >= 4,
            "{shared} shared, {differ} differ"
        );
        let (wq0, wq1) = (
            a.find("layers.0.attn.wq").unwrap(),
            a.find("layers.1.attn.wq").unwrap(),
        );
        assert_ne!(pa[wq0.range()], pa[wq1.range()], "each name its own stream");
    }

    #[test]
    fn init_is_deterministic_with_the_right_statistics() {
        let layout = ParamLayout::new(&ModelConfig::default());
        let params = layout.init(7);
        assert_eq!(params, layout.init(7));
        assert_ne!(params, layout.init(8));
        let gain = layout.find("final_norm.weight").unwrap();
        assert!(params[gain.range()].iter().all(|&g| g == 1.0));
        // 176 * 64 = 11264 normal(0, 0.02) draws: the standard error of the mean is
        // 0.02 / sqrt(11264) = 1.9e-4 and of the std 0.02 / sqrt(2 * 11264) = 1.3e-4, so 0.001
        // is 5 to 7 standard errors.
        let w1 = layout.find("layers.0.mlp.w1").unwrap();
        let values = &params[w1.range()];
        let mean = values.iter().map(|&x| f64::from(x)).sum::<f64>() / values.len() as f64;
        let var = values
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / values.len() as f64;
        assert!(mean.abs() < 0.001, "mean {mean}");
        assert!((var.sqrt() - 0.02).abs() < 0.001, "std {}", var.sqrt());
    }
}
