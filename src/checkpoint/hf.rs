//! Hugging Face folders (`config.json` + `model.safetensors`, as transformers writes them)
//! mapped onto `ModelConfig` and our parameter layout, both ways.
//!
//! Every key of `config.json` is either mapped, checked to have a value we reproduce, or known to
//! play no part in the forward pass (token ids, init ranges, caching): anything else is an error
//! naming it, never silently ignored. RoPE needs no permutation: our RoPE rotates halves
//! (pairs i and i + d/2), as transformers does.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use super::tensors::{self, Tensor, Tensors};
use super::{Checkpoint, CheckpointError, WEIGHTS};
use crate::model::{
    Activation, AttentionPattern, BlockLayout, ModelConfig, NormPosition, NormType, ParamLayout,
    Position,
};
use crate::train::run::RunConfig;

/// The Hugging Face configuration file.
pub const CONFIG: &str = "config.json";

/// The model families we read (and, where a config maps onto one, write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Llama,
    Mistral,
    Qwen3,
    Olmo2,
    Gpt2,
    GptNeox,
}

impl Family {
    const ALL: [Family; 6] = [
        Family::Llama,
        Family::Mistral,
        Family::Qwen3,
        Family::Olmo2,
        Family::Gpt2,
        Family::GptNeox,
    ];

    /// The `architectures` entry transformers writes.
    pub fn architecture(self) -> &'static str {
        match self {
            Family::Llama => "LlamaForCausalLM",
            Family::Mistral => "MistralForCausalLM",
            Family::Qwen3 => "Qwen3ForCausalLM",
            Family::Olmo2 => "Olmo2ForCausalLM",
            Family::Gpt2 => "GPT2LMHeadModel",
            Family::GptNeox => "GPTNeoXForCausalLM",
        }
    }

    /// The `model_type` transformers writes.
    fn model_type(self) -> &'static str {
        match self {
            Family::Llama => "llama",
            Family::Mistral => "mistral",
            Family::Qwen3 => "qwen3",
            Family::Olmo2 => "olmo2",
            Family::Gpt2 => "gpt2",
            Family::GptNeox => "gpt_neox",
        }
    }
}

/// How one Hugging Face tensor relates to ours: it is our `parts` stacked along the first
/// dimension (GPT-2 packs q, k and v into one), transposed when `conv1d` (GPT-2's Conv1D stores
/// weights `[in, out]`; we store `[out, in]`).
#[derive(Clone, Debug, PartialEq)]
pub struct HfTensor {
    pub name: String,
    pub parts: Vec<String>,
    pub conv1d: bool,
}

/// An imported folder: the model as our checkpoint, and how its tensors map, for writing
/// gradients under the Hugging Face names.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    pub family: Family,
    pub checkpoint: Checkpoint,
    pub tensors: Vec<HfTensor>,
}

/// Reads a Hugging Face folder's `config.json` text and `model.safetensors` bytes.
pub fn import(config: &str, weights: &[u8]) -> Result<Imported, CheckpointError> {
    let json: Value = serde_json::from_str(config)
        .map_err(|e| CheckpointError::new(CONFIG, format!("not valid JSON: {e}")))?;
    let Value::Object(map) = json else {
        return Err(CheckpointError::new(CONFIG, "must be a JSON object"));
    };
    let mut keys = Keys::new(map);
    let family = keys.family()?;
    let model = match family {
        Family::Llama | Family::Mistral | Family::Qwen3 => keys.llama_like(family)?,
        Family::Gpt2 => keys.gpt2()?,
        Family::Olmo2 => {
            return Err(CheckpointError::new(
                format!("{CONFIG}: architectures"),
                "Olmo2ForCausalLM normalises q and k over the whole projection (num_heads × \
                 head_dim); archlab's QK-norm is per head, so OLMo 2 cannot be imported yet",
            ))
        }
        Family::GptNeox => {
            return Err(CheckpointError::new(
                format!("{CONFIG}: use_parallel_residual"),
                "GPT-NeoX's parallel block normalises the attention and MLP inputs with two \
                 separate norms; archlab's parallel block shares one (GPT-J, PaLM), so GPT-NeoX \
                 cannot be imported yet",
            ))
        }
    };
    keys.finish(family)?;
    model
        .validate()
        .map_err(|e| CheckpointError::new(format!("{CONFIG} (as model.{})", e.field), e.reason))?;

    let layout = ParamLayout::new(&model);
    let map = tensor_map(family, &model);
    let mut file = tensors::read(weights, WEIGHTS)?;
    let mut params = vec![0.0; layout.total_len];
    for hf in &map {
        let tensor = file
            .remove(&hf.name)
            .ok_or_else(|| CheckpointError::new(format!("{WEIGHTS}: {}", hf.name), "is missing"))?;
        let stacked = if hf.conv1d {
            transpose(&tensor)
        } else {
            tensor
        };
        unstack(&layout, hf, stacked, &mut params)?;
    }
    // A tied head may still be saved (older transformers); it must then be the embedding.
    if model.tied_embeddings {
        for name in ["lm_head.weight"] {
            if let Some(head) = file.remove(name) {
                let embedding = &params[layout.tensors[layout.tok_emb].range()];
                if head.values != embedding {
                    return Err(CheckpointError::new(
                        format!("{WEIGHTS}: {name}"),
                        "differs from the embedding, but tie_word_embeddings is true",
                    ));
                }
            }
        }
    }
    // Buffers older versions saved with the weights: the causal mask and RoPE frequencies.
    file.retain(|name, _| {
        !(name.ends_with(".attn.bias")
            || name.ends_with(".attn.masked_bias")
            || name.ends_with("rotary_emb.inv_freq"))
    });
    if let Some(name) = file.keys().next() {
        return Err(CheckpointError::new(
            format!("{WEIGHTS}: {name}"),
            format!("is not a tensor of {}", family.architecture()),
        ));
    }
    Ok(Imported {
        family,
        checkpoint: Checkpoint {
            run: RunConfig {
                model,
                ..RunConfig::default()
            },
            params,
            optimizer: None,
            step: 0,
        },
        tensors: map,
    })
}

/// The family a config maps onto for export, or why none does.
pub fn export_family(model: &ModelConfig) -> Result<Family, CheckpointError> {
    let llama_core = model.norm == NormType::RmsNorm
        && model.norm_position == NormPosition::Pre
        && model.final_norm
        && model.position == Position::Rope
        && model.activation == Activation::Swiglu
        && model.block == BlockLayout::Serial
        && model.layer_pattern.is_none();
    let full = model.attention == AttentionPattern::Full;
    let family = if llama_core && model.qk_norm && !model.bias && full {
        Some(Family::Qwen3)
    } else if llama_core && !model.qk_norm && full {
        Some(Family::Llama)
    } else if llama_core
        && !model.qk_norm
        && !model.bias
        && matches!(model.attention, AttentionPattern::SlidingWindow { .. })
    {
        Some(Family::Mistral)
    } else if model.norm == NormType::LayerNorm
        && model.norm_position == NormPosition::Pre
        && model.final_norm
        && model.position == Position::Learned
        && matches!(
            model.activation,
            Activation::GeluTanh | Activation::Gelu | Activation::Relu
        )
        && model.block == BlockLayout::Serial
        && model.bias
        && model.tied_embeddings
        && !model.qk_norm
        && full
        && model.layer_pattern.is_none()
        && model.n_kv_heads == model.n_heads
        && model.d_head() * model.n_heads == model.d_model
        && model.d_ff.is_none_or(|f| f == 4 * model.d_model)
    {
        Some(Family::Gpt2)
    } else {
        None
    };
    family.ok_or_else(|| {
        CheckpointError::new(
            "model",
            "maps onto none of the Hugging Face families we write: LLaMA (pre-RMSNorm, RoPE, \
             SwiGLU, serial, full attention), Mistral (the same with a sliding window, no \
             biases), Qwen3 (LLaMA with QK-norm, no biases) or GPT-2 (pre-LayerNorm, learned \
             positions, GeLU, biases, tied embeddings, MHA)",
        )
    })
}

/// Writes `params` (our layout of `model`) as a Hugging Face `config.json` and
/// `model.safetensors`.
pub fn export(model: &ModelConfig, params: &[f32]) -> Result<(String, Vec<u8>), CheckpointError> {
    let family = export_family(model)?;
    let config =
        serde_json::to_string_pretty(&export_config(family, model)).expect("a config serialises");
    let tensors = to_hf_tensors(family, model, params);
    Ok((
        config,
        tensors::write(
            &tensors,
            Some(HashMap::from([("format".into(), "pt".into())])),
        )?,
    ))
}

/// Our flat buffer (parameters or gradients) as Hugging Face tensors.
pub fn to_hf_tensors(family: Family, model: &ModelConfig, flat: &[f32]) -> Tensors {
    let layout = ParamLayout::new(model);
    tensor_map(family, model)
        .into_iter()
        .map(|hf| {
            let mut shape = vec![0, 0];
            let mut values = Vec::new();
            for part in &hf.parts {
                let spec = layout.find(part).expect("the map names layout tensors");
                shape = spec.shape.clone();
                values.extend_from_slice(&flat[spec.range()]);
            }
            // Stacked rows: the first dimension sums over the parts.
            shape[0] = values.len() / shape[1..].iter().product::<usize>();
            let stacked = Tensor { shape, values };
            let tensor = if hf.conv1d {
                transpose(&stacked)
            } else {
                stacked
            };
            (hf.name, tensor)
        })
        .collect()
}

/// The name map of a family for a config.
pub fn tensor_map(family: Family, model: &ModelConfig) -> Vec<HfTensor> {
    let one = |name: String, part: String| HfTensor {
        name,
        parts: vec![part],
        conv1d: false,
    };
    let mut map = Vec::new();
    let bias = model.bias;
    match family {
        // OLMo 2 and GPT-NeoX are refused on import and never chosen for export.
        Family::Llama | Family::Mistral | Family::Qwen3 | Family::Olmo2 | Family::GptNeox => {
            map.push(one("model.embed_tokens.weight".into(), "tok_emb".into()));
            for l in 0..model.n_layers {
                let (hf, ours) = (format!("model.layers.{l}"), format!("layers.{l}"));
                map.push(one(
                    format!("{hf}.input_layernorm.weight"),
                    format!("{ours}.attn_in_norm.weight"),
                ));
                for (proj, w, b) in [
                    ("q_proj", "wq", "bq"),
                    ("k_proj", "wk", "bk"),
                    ("v_proj", "wv", "bv"),
                    ("o_proj", "wo", "bo"),
                ] {
                    let (hf, ours) = (format!("{hf}.self_attn.{proj}"), format!("{ours}.attn"));
                    map.push(one(format!("{hf}.weight"), format!("{ours}.{w}")));
                    if bias {
                        map.push(one(format!("{hf}.bias"), format!("{ours}.{b}")));
                    }
                }
                if model.qk_norm {
                    for norm in ["q_norm", "k_norm"] {
                        map.push(one(
                            format!("{hf}.self_attn.{norm}.weight"),
                            format!("{ours}.attn.{norm}.weight"),
                        ));
                    }
                }
                map.push(one(
                    format!("{hf}.post_attention_layernorm.weight"),
                    format!("{ours}.mlp_in_norm.weight"),
                ));
                for (proj, w, b) in [
                    ("gate_proj", "w1", "b1"),
                    ("up_proj", "v", "bv"),
                    ("down_proj", "w2", "b2"),
                ] {
                    let (hf, ours) = (format!("{hf}.mlp.{proj}"), format!("{ours}.mlp"));
                    map.push(one(format!("{hf}.weight"), format!("{ours}.{w}")));
                    if bias {
                        map.push(one(format!("{hf}.bias"), format!("{ours}.{b}")));
                    }
                }
            }
            map.push(one("model.norm.weight".into(), "final_norm.weight".into()));
        }
        Family::Gpt2 => {
            map.push(one("transformer.wte.weight".into(), "tok_emb".into()));
            map.push(one("transformer.wpe.weight".into(), "pos_emb".into()));
            let conv = |name: String, parts: Vec<String>| HfTensor {
                name,
                parts,
                conv1d: true,
            };
            let stacked = |name: String, parts: Vec<String>| HfTensor {
                name,
                parts,
                conv1d: false,
            };
            for l in 0..model.n_layers {
                let (hf, ours) = (format!("transformer.h.{l}"), format!("layers.{l}"));
                for (norm, site) in [("ln_1", "attn_in_norm"), ("ln_2", "mlp_in_norm")] {
                    for p in ["weight", "bias"] {
                        map.push(one(
                            format!("{hf}.{norm}.{p}"),
                            format!("{ours}.{site}.{p}"),
                        ));
                    }
                }
                let a = format!("{ours}.attn");
                map.push(conv(
                    format!("{hf}.attn.c_attn.weight"),
                    vec![format!("{a}.wq"), format!("{a}.wk"), format!("{a}.wv")],
                ));
                map.push(stacked(
                    format!("{hf}.attn.c_attn.bias"),
                    vec![format!("{a}.bq"), format!("{a}.bk"), format!("{a}.bv")],
                ));
                let m = format!("{ours}.mlp");
                for (hf_name, w, b) in [
                    (
                        format!("{hf}.attn.c_proj"),
                        format!("{a}.wo"),
                        format!("{a}.bo"),
                    ),
                    (
                        format!("{hf}.mlp.c_fc"),
                        format!("{m}.w1"),
                        format!("{m}.b1"),
                    ),
                    (
                        format!("{hf}.mlp.c_proj"),
                        format!("{m}.w2"),
                        format!("{m}.b2"),
                    ),
                ] {
                    map.push(conv(format!("{hf_name}.weight"), vec![w]));
                    map.push(one(format!("{hf_name}.bias"), b));
                }
            }
            for p in ["weight", "bias"] {
                map.push(one(
                    format!("transformer.ln_f.{p}"),
                    format!("final_norm.{p}"),
                ));
            }
        }
    }
    if !model.tied_embeddings {
        map.push(one("lm_head.weight".into(), "lm_head".into()));
    }
    map
}

/// Splits a stacked tensor into our parts (checking shapes) and writes them into `params`.
fn unstack(
    layout: &ParamLayout,
    hf: &HfTensor,
    stacked: Tensor,
    params: &mut [f32],
) -> Result<(), CheckpointError> {
    let specs: Vec<_> = hf
        .parts
        .iter()
        .map(|part| layout.find(part).expect("the map names layout tensors"))
        .collect();
    let rows: usize = specs.iter().map(|s| s.shape[0]).sum();
    let mut expected = specs[0].shape.clone();
    expected[0] = rows;
    let expected = if hf.conv1d {
        expected.iter().rev().copied().collect()
    } else {
        expected
    };
    if stacked.values.len() != specs.iter().map(|s| s.len()).sum::<usize>() {
        let shown = if hf.conv1d {
            stacked.shape.iter().rev().copied().collect()
        } else {
            stacked.shape.clone()
        };
        return Err(CheckpointError::new(
            format!("{WEIGHTS}: {}", hf.name),
            format!("has shape {shown:?}, the config needs {expected:?}"),
        ));
    }
    let mut start = 0;
    for spec in specs {
        let len = spec.len();
        params[spec.range()].copy_from_slice(&stacked.values[start..start + len]);
        start += len;
    }
    Ok(())
}

/// Swaps the two dimensions of a matrix (a vector is returned as it is).
fn transpose(tensor: &Tensor) -> Tensor {
    let [rows, cols] = tensor.shape[..] else {
        return tensor.clone();
    };
    let mut values = vec![0.0; tensor.values.len()];
    for r in 0..rows {
        for c in 0..cols {
            values[c * rows + r] = tensor.values[r * cols + c];
        }
    }
    Tensor {
        shape: vec![cols, rows],
        values,
    }
}

/// `config.json` keys, consumed as they are mapped; what is left at the end must be harmless.
struct Keys {
    map: Map<String, Value>,
}

/// Keys that play no part in the forward pass: ids, initialisation, caching, bookkeeping.
const HARMLESS: [&str; 12] = [
    "architectures",
    "model_type",
    "transformers_version",
    "dtype",
    "torch_dtype",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "initializer_range",
    "use_cache",
    "is_decoder",
    "_name_or_path",
];

impl Keys {
    fn new(map: Map<String, Value>) -> Self {
        Self { map }
    }

    fn error(key: &str, reason: impl Into<String>) -> CheckpointError {
        CheckpointError::new(format!("{CONFIG}: {key}"), reason)
    }

    fn family(&mut self) -> Result<Family, CheckpointError> {
        let architecture = match self.map.get("architectures") {
            Some(Value::Array(list)) if list.len() == 1 => list[0].as_str().unwrap_or_default(),
            _ => {
                return Err(Self::error(
                    "architectures",
                    "must list exactly one architecture",
                ))
            }
        };
        Family::ALL
            .into_iter()
            .find(|f| f.architecture() == architecture)
            .ok_or_else(|| {
                let known: Vec<_> = Family::ALL.iter().map(|f| f.architecture()).collect();
                Self::error(
                    "architectures",
                    format!(
                        "{architecture:?} is not supported; archlab reads {}",
                        known.join(", ")
                    ),
                )
            })
    }

    /// Takes a key's value; `None` when absent or null.
    fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    fn usize(&mut self, key: &str) -> Result<usize, CheckpointError> {
        self.optional_usize(key)?
            .ok_or_else(|| Self::error(key, "is required"))
    }

    fn optional_usize(&mut self, key: &str) -> Result<Option<usize>, CheckpointError> {
        self.take(key)
            .map(|v| {
                v.as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| Self::error(key, format!("{v} is not a non-negative integer")))
            })
            .transpose()
    }

    fn f32(&mut self, key: &str, default: f32) -> Result<f32, CheckpointError> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .map(|x| x as f32)
                .ok_or_else(|| Self::error(key, format!("{v} is not a number"))),
        }
    }

    fn bool(&mut self, key: &str, default: bool) -> Result<bool, CheckpointError> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| Self::error(key, format!("{v} is not true or false"))),
        }
    }

    fn string(&mut self, key: &str, default: &str) -> Result<String, CheckpointError> {
        match self.take(key) {
            None => Ok(default.into()),
            Some(Value::String(s)) => Ok(s),
            Some(v) => Err(Self::error(key, format!("{v} is not a string"))),
        }
    }

    /// Requires `key`, when present, to have the only value we reproduce.
    fn expect(&mut self, key: &str, allowed: Value, why: &str) -> Result<(), CheckpointError> {
        match self.take(key) {
            Some(v) if v != allowed => {
                Err(Self::error(key, format!("{v} is not supported: {why}")))
            }
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
            return Err(Self::error("rope_parameters", "must be an object"));
        };
        let mut inner = Keys::new(parameters);
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
            return Err(Self::error(
                &format!("rope_parameters.{key}"),
                "is not supported",
            ));
        }
        Ok(theta)
    }

    /// LLaMA, Mistral and Qwen3: pre-RMSNorm, RoPE, SwiGLU, serial.
    fn llama_like(&mut self, family: Family) -> Result<ModelConfig, CheckpointError> {
        let d_model = self.usize("hidden_size")?;
        let n_heads = self.usize("num_attention_heads")?;
        let n_kv_heads = self
            .optional_usize("num_key_value_heads")?
            .unwrap_or(n_heads);
        let d_head = self.optional_usize("head_dim")?;
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
            return Err(Self::error(
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
                    return Err(Self::error("use_sliding_window", "true is not supported"));
                }
                self.take("sliding_window");
                self.take("max_window_layers");
                if let Some(Value::Array(types)) = self.take("layer_types") {
                    if types.iter().any(|t| t != "full_attention") {
                        return Err(Self::error(
                            "layer_types",
                            "only full_attention layers are supported",
                        ));
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
            norm_position: NormPosition::Pre,
            norm_eps: self.f32("rms_norm_eps", 1e-6)?,
            final_norm: true,
            bias: attention_bias,
            activation: Activation::Swiglu,
            block: BlockLayout::Serial,
            position: Position::Rope,
            rope_theta,
            attention,
            layer_pattern: None,
            qk_norm: family == Family::Qwen3,
            tied_embeddings: self.bool("tie_word_embeddings", false)?,
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
    fn gpt2(&mut self) -> Result<ModelConfig, CheckpointError> {
        let d_model = self.usize("n_embd")?;
        let activation = match self.string("activation_function", "gelu_new")?.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "gelu" => Activation::Gelu,
            "relu" => Activation::Relu,
            other => {
                return Err(Self::error(
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
        // Upcasting changes nothing in f32; the summary head is GPT2DoubleHeadsModel's.
        for key in [
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

    /// Errors on the first key nobody consumed that is not known to be harmless.
    fn finish(self, family: Family) -> Result<(), CheckpointError> {
        let left: BTreeSet<&String> = self
            .map
            .keys()
            .filter(|k| !HARMLESS.contains(&k.as_str()))
            .collect();
        match left.first() {
            None => Ok(()),
            Some(key) => Err(Self::error(
                key,
                format!("is not supported for {}", family.architecture()),
            )),
        }
    }
}

/// A `config.json` transformers loads as `family` with `model`'s shape.
fn export_config(family: Family, model: &ModelConfig) -> Value {
    let mut config = json!({
        "architectures": [family.architecture()],
        "model_type": family.model_type(),
        "vocab_size": model.vocab_size,
        "tie_word_embeddings": model.tied_embeddings,
        "torch_dtype": "float32",
    });
    let fields = match family {
        Family::Gpt2 => json!({
            "n_embd": model.d_model,
            "n_layer": model.n_layers,
            "n_head": model.n_heads,
            "n_positions": model.context_len,
            "n_inner": model.d_ff,
            "layer_norm_epsilon": model.norm_eps,
            "activation_function": match model.activation {
                Activation::Gelu => "gelu",
                Activation::Relu => "relu",
                _ => "gelu_new",
            },
            "embd_pdrop": model.dropout.embd,
            "attn_pdrop": model.dropout.attn,
            "resid_pdrop": model.dropout.resid,
        }),
        _ => {
            let mut fields = json!({
                "hidden_size": model.d_model,
                "num_hidden_layers": model.n_layers,
                "num_attention_heads": model.n_heads,
                "num_key_value_heads": model.n_kv_heads,
                "head_dim": model.d_head(),
                "intermediate_size": model.d_ff(),
                "max_position_embeddings": model.context_len,
                "rms_norm_eps": model.norm_eps,
                "rope_theta": model.rope_theta,
                "hidden_act": "silu",
                "attention_dropout": model.dropout.attn,
            });
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
