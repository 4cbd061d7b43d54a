//! `config.json`: reading a family's keys into a `ModelConfig` (every key mapped, checked or
//! known to be harmless) and writing one that transformers loads.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::super::CheckpointError;
use super::{Family, CONFIG};
use crate::model::{
    Activation, AttentionPattern, BlockLayout, LayerPattern, ModelConfig, NormPosition, NormType,
    ParallelNorm, Position, QkNormScope,
};

/// `config.json` keys, consumed as they are mapped; what is left at the end must be harmless.
pub(super) struct Keys {
    map: Map<String, Value>,
    /// Path of this object in the file (`rope_parameters.`), for error messages.
    prefix: &'static str,
}

/// Keys that play no part in the forward pass: ids, initialisation, caching, bookkeeping.
const HARMLESS: [&str; 11] = [
    "architectures",
    "model_type",
    "transformers_version",
    "dtype",
    "torch_dtype",
    "bos_token_id",
    "eos_token_id",
    "initializer_range",
    "use_cache",
    "is_decoder",
    "_name_or_path",
];

impl Keys {
    pub(super) fn new(map: Map<String, Value>) -> Self {
        Self { map, prefix: "" }
    }

    fn error(&self, key: &str, reason: impl Into<String>) -> CheckpointError {
        CheckpointError::new(format!("{CONFIG}: {}{key}", self.prefix), reason)
    }

    /// The family, from `architectures` (the class transformers instantiates) and
    /// `model_type`: either may be missing from a hand-written config; when both are there
    /// they must agree.
    pub(super) fn family(&mut self) -> Result<Family, CheckpointError> {
        let listed = |name: &dyn Fn(Family) -> &'static str| {
            let names: Vec<_> = Family::ALL.into_iter().map(name).collect();
            names.join(", ")
        };
        let by_architecture = match self.map.get("architectures") {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) if list.len() == 1 => {
                let architecture = list[0].as_str().unwrap_or_default();
                let family = Family::ALL
                    .into_iter()
                    .find(|f| f.architecture() == architecture);
                Some(family.ok_or_else(|| {
                    self.error(
                        "architectures",
                        format!(
                            "{architecture:?} is not supported; archlab reads {}",
                            listed(&Family::architecture)
                        ),
                    )
                })?)
            }
            _ => return Err(self.error("architectures", "must list exactly one architecture")),
        };
        let by_type = match self.map.get("model_type") {
            None | Some(Value::Null) => None,
            Some(Value::String(model_type)) => {
                let family = Family::ALL
                    .into_iter()
                    .find(|f| f.model_type() == model_type);
                Some(family.ok_or_else(|| {
                    self.error(
                        "model_type",
                        format!(
                            "{model_type:?} is not supported; archlab reads {}",
                            listed(&Family::model_type)
                        ),
                    )
                })?)
            }
            Some(other) => return Err(self.error("model_type", format!("{other} is not a string"))),
        };
        match (by_architecture, by_type) {
            (Some(class), Some(family)) if class != family => Err(self.error(
                "model_type",
                format!(
                    "{:?} is not the family of {} ({:?})",
                    family.model_type(),
                    class.architecture(),
                    class.model_type()
                ),
            )),
            (Some(family), _) | (None, Some(family)) => Ok(family),
            (None, None) => Err(self.error(
                "architectures",
                "missing, and so is model_type: the file does not say which model it is",
            )),
        }
    }

    /// Takes a key's value; `None` when absent or null.
    fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    fn usize(&mut self, key: &str) -> Result<usize, CheckpointError> {
        self.optional_usize(key)?
            .ok_or_else(|| self.error(key, "is required"))
    }

    fn optional_usize(&mut self, key: &str) -> Result<Option<usize>, CheckpointError> {
        self.take(key)
            .map(|v| {
                // try_from: a usize has 32 bits in WebAssembly.
                v.as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| self.error(key, format!("{v} is not a non-negative integer")))
            })
            .transpose()
    }

    fn f32(&mut self, key: &str, default: f32) -> Result<f32, CheckpointError> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .map(|x| x as f32)
                .ok_or_else(|| self.error(key, format!("{v} is not a number"))),
        }
    }

    fn bool(&mut self, key: &str, default: bool) -> Result<bool, CheckpointError> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.error(key, format!("{v} is not true or false"))),
        }
    }

    fn string(&mut self, key: &str, default: &str) -> Result<String, CheckpointError> {
        match self.take(key) {
            None => Ok(default.into()),
            Some(Value::String(s)) => Ok(s),
            Some(v) => Err(self.error(key, format!("{v} is not a string"))),
        }
    }

    /// Requires `key`, when present, to have the only value we reproduce.
    fn expect(&mut self, key: &str, allowed: Value, why: &str) -> Result<(), CheckpointError> {
        match self.take(key) {
            Some(v) if v != allowed => Err(self.error(key, format!("{v} is not supported: {why}"))),
            _ => Ok(()),
        }
    }

    /// RoPE's base, from transformers 5's `rope_parameters` or the older top-level keys.
    fn rope_theta(&mut self) -> Result<f32, CheckpointError> {
        self.expect(
            "rope_scaling",
            Value::Null,
            "only unscaled RoPE is supported",
        )?;
        let top_level = self.f32("rope_theta", 10_000.0)?;
        let Some(parameters) = self.take("rope_parameters") else {
            return Ok(top_level);
        };
        let Value::Object(parameters) = parameters else {
            return Err(self.error("rope_parameters", "must be an object"));
        };
        let mut inner = Keys {
            map: parameters,
            prefix: "rope_parameters.",
        };
        inner.expect(
            "rope_type",
            json!("default"),
            "only unscaled RoPE is supported",
        )?;
        inner.expect(
            "partial_rotary_factor",
            json!(1.0),
            "RoPE rotates whole heads here",
        )?;
        let theta = inner.f32("rope_theta", top_level)?;
        if let Some(key) = inner.map.keys().next() {
            return Err(self.error(&format!("rope_parameters.{key}"), "is not supported"));
        }
        Ok(theta)
    }

    /// LLaMA, Mistral, Qwen3 and OLMo 2: RMSNorm, RoPE, SwiGLU, serial.
    pub(super) fn llama_like(&mut self, family: Family) -> Result<ModelConfig, CheckpointError> {
        let d_model = self.usize("hidden_size")?;
        let n_heads = self.usize("num_attention_heads")?;
        let n_kv_heads = self
            .optional_usize("num_key_value_heads")?
            .unwrap_or(n_heads);
        // A head_dim of hidden_size / num_attention_heads is our default (None), so an export
        // of a model that leaves it unset reads back the same.
        let d_head = self
            .optional_usize("head_dim")?
            .filter(|&d| d.checked_mul(n_heads) != Some(d_model));
        self.expect(
            "hidden_act",
            json!("silu"),
            "archlab's gated MLP here is SwiGLU",
        )?;
        self.expect(
            "pretraining_tp",
            json!(1),
            "a tensor-parallel split changes numerics",
        )?;
        let attention_bias = self.bool("attention_bias", false)?;
        let mlp_bias = self.bool("mlp_bias", false)?;
        if attention_bias != mlp_bias {
            return Err(self.error(
                "mlp_bias",
                "differs from attention_bias; archlab has one bias switch for every linear layer",
            ));
        }
        let attention = match family {
            Family::Mistral => match self.optional_usize("sliding_window")? {
                Some(window) => AttentionPattern::SlidingWindow { window },
                None => AttentionPattern::Full,
            },
            _ => {
                let sliding = self.bool("use_sliding_window", false)?;
                if sliding {
                    return Err(self.error("use_sliding_window", "true is not supported"));
                }
                self.take("sliding_window");
                self.take("max_window_layers");
                if let Some(Value::Array(types)) = self.take("layer_types") {
                    if types.iter().any(|t| t != "full_attention") {
                        return Err(
                            self.error("layer_types", "only full_attention layers are supported")
                        );
                    }
                }
                AttentionPattern::Full
            }
        };
        let attention_dropout = self.f32("attention_dropout", 0.0)?;
        let rope_theta = self.rope_theta()?;
        let model = ModelConfig {
            vocab_size: self.usize("vocab_size")?,
            context_len: self.usize("max_position_embeddings")?,
            d_model,
            n_layers: self.usize("num_hidden_layers")?,
            n_heads,
            n_kv_heads,
            d_head,
            d_ff: Some(self.usize("intermediate_size")?),
            norm: NormType::RmsNorm,
            norm_eps: self.f32("rms_norm_eps", 1e-6)?,
            final_norm: true,
            bias: attention_bias,
            activation: Activation::Swiglu,
            block: BlockLayout::Serial,
            position: Position::Rope,
            rope_theta,
            attention,
            layer_pattern: None,
            qk_norm: matches!(family, Family::Qwen3 | Family::Olmo2),
            qk_norm_scope: match family {
                Family::Olmo2 => QkNormScope::Projection,
                _ => QkNormScope::Head,
            },
            norm_position: match family {
                Family::Olmo2 => NormPosition::PostInBranch,
                _ => NormPosition::Pre,
            },
            tied_embeddings: self.bool("tie_word_embeddings", false)?,
            // nn.Embedding(padding_idx=pad_token_id): that row gets no gradient from lookups.
            padding_token: self
                .optional_usize("pad_token_id")?
                .map(|t| {
                    u32::try_from(t)
                        .map_err(|_| self.error("pad_token_id", format!("{t} is not a token id")))
                })
                .transpose()?,
            ..ModelConfig::default()
        };
        Ok(ModelConfig {
            dropout: crate::model::Dropout {
                attn: attention_dropout,
                ..model.dropout
            },
            ..model
        })
    }

    /// GPT-2: pre-LayerNorm with biases, learned positions, GeLU, tied embeddings.
    pub(super) fn gpt2(&mut self) -> Result<ModelConfig, CheckpointError> {
        let d_model = self.usize("n_embd")?;
        let activation = match self.string("activation_function", "gelu_new")?.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "gelu" => Activation::Gelu,
            "relu" => Activation::Relu,
            other => {
                return Err(self.error(
                    "activation_function",
                    format!("{other:?} is not supported (gelu_new, gelu, relu are)"),
                ))
            }
        };
        self.expect(
            "scale_attn_weights",
            json!(true),
            "attention is scaled by 1/√d",
        )?;
        self.expect(
            "scale_attn_by_inverse_layer_idx",
            json!(false),
            "no per-layer scale",
        )?;
        self.expect("add_cross_attention", json!(false), "decoder-only models")?;
        // Upcasting changes nothing in f32; the summary head is GPT2DoubleHeadsModel's; GPT-2's
        // embedding has no padding_idx.
        for key in [
            "pad_token_id",
            "reorder_and_upcast_attn",
            "summary_activation",
            "summary_first_dropout",
            "summary_proj_to_labels",
            "summary_type",
            "summary_use_proj",
        ] {
            self.take(key);
        }
        let d_ff = self.optional_usize("n_inner")?;
        let n_heads = self.usize("n_head")?;
        Ok(ModelConfig {
            vocab_size: self.usize("vocab_size")?,
            context_len: self.usize("n_positions")?,
            d_model,
            n_layers: self.usize("n_layer")?,
            n_heads,
            n_kv_heads: n_heads,
            d_head: None,
            d_ff,
            norm: NormType::LayerNorm,
            norm_position: NormPosition::Pre,
            norm_eps: self.f32("layer_norm_epsilon", 1e-5)?,
            final_norm: true,
            bias: true,
            activation,
            block: BlockLayout::Serial,
            position: Position::Learned,
            attention: AttentionPattern::Full,
            layer_pattern: None,
            qk_norm: false,
            tied_embeddings: self.bool("tie_word_embeddings", true)?,
            dropout: crate::model::Dropout {
                embd: self.f32("embd_pdrop", 0.0)?,
                attn: self.f32("attn_pdrop", 0.0)?,
                resid: self.f32("resid_pdrop", 0.0)?,
            },
            ..ModelConfig::default()
        })
    }

    /// GPT-NeoX: pre-LayerNorm with biases, RoPE, GeLU, parallel (two norms) or serial.
    pub(super) fn gpt_neox(&mut self) -> Result<ModelConfig, CheckpointError> {
        let activation = match self.string("hidden_act", "gelu")?.as_str() {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => {
                return Err(self.error(
                    "hidden_act",
                    format!("{other:?} is not supported (gelu, gelu_new, relu are)"),
                ))
            }
        };
        self.expect(
            "attention_bias",
            json!(true),
            "GPT-NeoX's MLP and norms always have biases, and archlab has one bias switch",
        )?;
        self.expect("rotary_pct", json!(1.0), "RoPE rotates whole heads here")?;
        let theta = self.f32("rotary_emb_base", 10_000.0)?;
        self.map.entry("rope_theta").or_insert(json!(theta));
        let rope_theta = self.rope_theta()?;
        let block = if self.bool("use_parallel_residual", true)? {
            BlockLayout::Parallel
        } else {
            BlockLayout::Serial
        };
        // A classification head's dropout; GPT-NeoX's embedding has no padding_idx.
        self.take("classifier_dropout");
        self.take("pad_token_id");
        let n_heads = self.usize("num_attention_heads")?;
        Ok(ModelConfig {
            vocab_size: self.usize("vocab_size")?,
            context_len: self.usize("max_position_embeddings")?,
            d_model: self.usize("hidden_size")?,
            n_layers: self.usize("num_hidden_layers")?,
            n_heads,
            n_kv_heads: n_heads,
            d_head: None,
            d_ff: Some(self.usize("intermediate_size")?),
            norm: NormType::LayerNorm,
            norm_position: NormPosition::Pre,
            norm_eps: self.f32("layer_norm_eps", 1e-5)?,
            final_norm: true,
            bias: true,
            activation,
            block,
            parallel_norm: ParallelNorm::PerBranch,
            position: Position::Rope,
            rope_theta,
            attention: AttentionPattern::Full,
            layer_pattern: None,
            qk_norm: false,
            tied_embeddings: self.bool("tie_word_embeddings", false)?,
            dropout: crate::model::Dropout {
                embd: 0.0,
                attn: self.f32("attention_dropout", 0.0)?,
                resid: self.f32("hidden_dropout", 0.0)?,
            },
            ..ModelConfig::default()
        })
    }

    /// A soft-cap: transformers' `default` when the key is absent, none when it is null.
    fn softcap(&mut self, key: &str, default: f32) -> Result<Option<f32>, CheckpointError> {
        match self.map.remove(key) {
            None => Ok(Some(default)),
            Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(|x| Some(x as f32))
                .ok_or_else(|| self.error(key, format!("{v} is not a number or null"))),
        }
    }

    /// Gemma 2's layers: `layer_types` (by default layer i is sliding when i is even) with
    /// `sliding_window`, as `attention` and `layer_pattern`. The alternation from a sliding
    /// layer 0 is `global_every: 2`, so an export of the Gemma 2 preset reads back the same.
    fn gemma2_layers(
        &mut self,
        n_layers: usize,
    ) -> Result<(AttentionPattern, Option<LayerPattern>), CheckpointError> {
        let types: Vec<String> = match self.take("layer_types") {
            None => (0..n_layers)
                .map(|l| match l % 2 {
                    0 => "sliding_attention".to_string(),
                    _ => "full_attention".to_string(),
                })
                .collect(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|t| t.as_str().map(String::from))
                .collect::<Option<_>>()
                .ok_or_else(|| self.error("layer_types", "must be a list of strings"))?,
            Some(_) => return Err(self.error("layer_types", "must be a list of strings")),
        };
        if types.len() != n_layers {
            return Err(self.error(
                "layer_types",
                format!("{} entries for {n_layers} layers", types.len()),
            ));
        }
        let window = self.optional_usize("sliding_window")?;
        let mut patterns = Vec::with_capacity(n_layers);
        for t in &types {
            patterns.push(match (t.as_str(), window) {
                ("full_attention", _) => AttentionPattern::Full,
                ("sliding_attention", Some(window)) => AttentionPattern::SlidingWindow { window },
                ("sliding_attention", None) => {
                    return Err(self.error("sliding_window", "is required by sliding layers"))
                }
                (other, _) => {
                    return Err(self.error(
                        "layer_types",
                        format!(
                            "{other:?} is not supported (sliding_attention, full_attention are)"
                        ),
                    ))
                }
            });
        }
        let alternating = |l: usize| match l % 2 {
            0 => patterns[0],
            _ => AttentionPattern::Full,
        };
        Ok(if patterns.iter().all(|&p| p == patterns[0]) {
            (patterns[0], None)
        } else if patterns[0] != AttentionPattern::Full
            && (0..n_layers).all(|l| patterns[l] == alternating(l))
        {
            (patterns[0], Some(LayerPattern::GlobalEvery(2)))
        } else {
            (
                AttentionPattern::Full,
                Some(LayerPattern::PerLayer(patterns)),
            )
        })
    }

    /// Gemma 2: RMSNorm before and after each sub-layer, tanh GeGLU, RoPE, embeddings scaled by
    /// √hidden_size, local/global layers, soft-capped attention and output logits.
    pub(super) fn gemma2(&mut self) -> Result<ModelConfig, CheckpointError> {
        let d_model = self.usize("hidden_size")?;
        let n_heads = self.usize("num_attention_heads")?;
        let n_kv_heads = self
            .optional_usize("num_key_value_heads")?
            .unwrap_or(n_heads);
        let n_layers = self.usize("num_hidden_layers")?;
        // transformers' defaults where a key is absent: head_dim 256, query_pre_attn_scalar 256.
        let head_dim = self.optional_usize("head_dim")?.unwrap_or(256);
        let scalar = self.f32("query_pre_attn_scalar", 256.0)?;
        if scalar != head_dim as f32 {
            return Err(self.error(
                "query_pre_attn_scalar",
                format!(
                    "{scalar} is not supported: archlab scales attention logits by 1/√head_dim ({head_dim})"
                ),
            ));
        }
        for key in ["hidden_activation", "hidden_act"] {
            self.expect(
                key,
                json!("gelu_pytorch_tanh"),
                "archlab's Gemma 2 MLP is GeGLU with the tanh GeLU",
            )?;
        }
        self.expect(
            "attention_bias",
            json!(false),
            "Gemma 2's MLP has no biases, and archlab has one bias switch",
        )?;
        self.expect(
            "use_bidirectional_attention",
            json!(false),
            "archlab's attention is causal",
        )?;
        let attention_dropout = self.f32("attention_dropout", 0.0)?;
        let rope_theta = self.rope_theta()?;
        let (attention, layer_pattern) = self.gemma2_layers(n_layers)?;
        // nn.Embedding(padding_idx=pad_token_id), whose default is 0 when the key is absent.
        let padding_token = match self.map.remove("pad_token_id") {
            None => Some(0),
            Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().map(|t| t as u32).ok_or_else(|| {
                self.error("pad_token_id", format!("{v} is not a non-negative integer"))
            })?),
        };
        Ok(ModelConfig {
            vocab_size: self.usize("vocab_size")?,
            context_len: self
                .optional_usize("max_position_embeddings")?
                .unwrap_or(8192),
            d_model,
            n_layers,
            n_heads,
            n_kv_heads,
            d_head: Some(head_dim).filter(|&d| d * n_heads != d_model),
            d_ff: Some(self.usize("intermediate_size")?),
            norm: NormType::RmsNorm,
            norm_position: NormPosition::Double,
            norm_eps: self.f32("rms_norm_eps", 1e-6)?,
            final_norm: true,
            bias: false,
            activation: Activation::GegluTanh,
            block: BlockLayout::Serial,
            position: Position::Rope,
            rope_theta,
            attention,
            layer_pattern,
            qk_norm: false,
            tied_embeddings: self.bool("tie_word_embeddings", true)?,
            scale_embeddings: true,
            padding_token,
            attn_logit_softcap: self.softcap("attn_logit_softcapping", 50.0)?,
            final_logit_softcap: self.softcap("final_logit_softcapping", 30.0)?,
            dropout: crate::model::Dropout {
                attn: attention_dropout,
                ..crate::model::Dropout::default()
            },
            ..ModelConfig::default()
        })
    }

    /// Errors on the first key nobody consumed that is not known to be harmless.
    pub(super) fn finish(self, family: Family) -> Result<(), CheckpointError> {
        let left: BTreeSet<&String> = self
            .map
            .keys()
            .filter(|k| !HARMLESS.contains(&k.as_str()))
            .collect();
        match left.first() {
            None => Ok(()),
            Some(key) => Err(self.error(
                key,
                format!("is not supported for {}", family.architecture()),
            )),
        }
    }
}

/// An f32 as the decimal that reads back as the same f32 (1e-5, not 9.999999747378752e-6).
fn decimal(value: f32) -> Value {
    json!(value
        .to_string()
        .parse::<f64>()
        .expect("an f32 prints as a number"))
}

/// A `config.json` transformers loads as `family` with `model`'s shape.
pub(super) fn export_config(family: Family, model: &ModelConfig) -> Value {
    let mut config = json!({
        "architectures": [family.architecture()],
        "model_type": family.model_type(),
        "vocab_size": model.vocab_size,
        "tie_word_embeddings": model.tied_embeddings,
        "torch_dtype": "float32",
    });
    let fields = match family {
        Family::GptNeox => json!({
            "hidden_size": model.d_model,
            "num_hidden_layers": model.n_layers,
            "num_attention_heads": model.n_heads,
            "intermediate_size": model.d_ff(),
            "max_position_embeddings": model.context_len,
            "layer_norm_eps": decimal(model.norm_eps),
            "rotary_pct": 1.0,
            "rotary_emb_base": decimal(model.rope_theta),
            "use_parallel_residual": model.block == BlockLayout::Parallel,
            "hidden_act": match model.activation {
                Activation::GeluTanh => "gelu_new",
                Activation::Relu => "relu",
                _ => "gelu",
            },
            "attention_bias": true,
            "attention_dropout": decimal(model.dropout.attn),
            "hidden_dropout": decimal(model.dropout.resid),
        }),
        Family::Gpt2 => json!({
            "n_embd": model.d_model,
            "n_layer": model.n_layers,
            "n_head": model.n_heads,
            "n_positions": model.context_len,
            "n_inner": model.d_ff,
            "layer_norm_epsilon": decimal(model.norm_eps),
            "activation_function": match model.activation {
                Activation::Gelu => "gelu",
                Activation::Relu => "relu",
                _ => "gelu_new",
            },
            "embd_pdrop": decimal(model.dropout.embd),
            "attn_pdrop": decimal(model.dropout.attn),
            "resid_pdrop": decimal(model.dropout.resid),
        }),
        Family::Gemma2 => {
            // export_family admits only full and sliding layers of one window.
            let layer_types: Vec<_> = (0..model.n_layers)
                .map(|l| match model.pattern_for_layer(l) {
                    AttentionPattern::Full => "full_attention",
                    _ => "sliding_attention",
                })
                .collect();
            let window = (0..model.n_layers).find_map(|l| match model.pattern_for_layer(l) {
                AttentionPattern::SlidingWindow { window } => Some(window),
                _ => None,
            });
            json!({
                "hidden_size": model.d_model,
                "num_hidden_layers": model.n_layers,
                "num_attention_heads": model.n_heads,
                "num_key_value_heads": model.n_kv_heads,
                "head_dim": model.d_head(),
                "query_pre_attn_scalar": model.d_head(),
                "intermediate_size": model.d_ff(),
                "max_position_embeddings": model.context_len,
                "rms_norm_eps": decimal(model.norm_eps),
                "rope_theta": decimal(model.rope_theta),
                "hidden_activation": "gelu_pytorch_tanh",
                "attention_bias": false,
                "attention_dropout": decimal(model.dropout.attn),
                "pad_token_id": model.padding_token,
                "layer_types": layer_types,
                "sliding_window": window,
                "attn_logit_softcapping": model.attn_logit_softcap.map(decimal),
                "final_logit_softcapping": model.final_logit_softcap.map(decimal),
            })
        }
        _ => {
            let mut fields = json!({
                "hidden_size": model.d_model,
                "num_hidden_layers": model.n_layers,
                "num_attention_heads": model.n_heads,
                "num_key_value_heads": model.n_kv_heads,
                "intermediate_size": model.d_ff(),
                "max_position_embeddings": model.context_len,
                "rms_norm_eps": decimal(model.norm_eps),
                "rope_theta": decimal(model.rope_theta),
                "hidden_act": "silu",
                "attention_dropout": decimal(model.dropout.attn),
                "pad_token_id": model.padding_token,
            });
            // Always written: Qwen3's default is 128, not hidden_size / num_attention_heads.
            fields["head_dim"] = json!(model.d_head());
            match (family, model.attention) {
                (Family::Mistral, AttentionPattern::SlidingWindow { window }) => {
                    fields["sliding_window"] = json!(window);
                }
                (Family::Llama, _) => {
                    fields["attention_bias"] = json!(model.bias);
                    fields["mlp_bias"] = json!(model.bias);
                }
                _ => {}
            }
            fields
        }
    };
    let object = config.as_object_mut().expect("built as an object");
    object.extend(fields.as_object().expect("built as an object").clone());
    config
}
