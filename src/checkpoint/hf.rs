//! Hugging Face folders (`config.json` + `model.safetensors`, as transformers writes them)
//! mapped onto `ModelConfig` and our parameter layout, both ways.
//!
//! Every key of `config.json` is either mapped, checked to have a value we reproduce, or known to
//! play no part in the forward pass (token ids, init ranges, caching): anything else is an error
//! naming it, never silently ignored. RoPE needs no permutation: our RoPE rotates halves
//! (pairs i and i + d/2), as transformers does.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use serde_json::{json, Map, Value};

use super::tensors::{self, Tensor, Tensors};
use super::{Checkpoint, CheckpointError, WEIGHTS};
use crate::model::{
    Activation, AttentionPattern, BlockLayout, ModelConfig, NormPosition, NormType, ParallelNorm,
    ParamLayout, Position, QkNormScope, TensorSpec,
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
/// weights `[in, out]`; we store `[out, in]`). With `chunk`, the parts are interleaved `chunk`
/// rows at a time instead (GPT-NeoX packs `[q_h, k_h, v_h]` head by head).
#[derive(Clone, Debug, PartialEq)]
pub struct HfTensor {
    pub name: String,
    pub parts: Vec<String>,
    pub conv1d: bool,
    pub chunk: Option<usize>,
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
        Family::Llama | Family::Mistral | Family::Qwen3 | Family::Olmo2 => {
            keys.llama_like(family)?
        }
        Family::Gpt2 => keys.gpt2()?,
        Family::GptNeox => keys.gpt_neox()?,
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
    let m = model;
    let full = m.attention == AttentionPattern::Full && m.layer_pattern.is_none();
    let serial = m.block == BlockLayout::Serial;
    let rms = |position| m.norm == NormType::RmsNorm && m.norm_position == position;
    let llama_core = m.final_norm
        && m.position == Position::Rope
        && m.activation == Activation::Swiglu
        && serial;
    let qk = |scope| m.qk_norm && m.qk_norm_scope == scope;
    let gelu = matches!(
        m.activation,
        Activation::GeluTanh | Activation::Gelu | Activation::Relu
    );
    let mha = m.n_kv_heads == m.n_heads && m.d_head() * m.n_heads == m.d_model;
    let layer_norm_pre =
        m.norm == NormType::LayerNorm && m.norm_position == NormPosition::Pre && m.final_norm;
    let candidates = [
        (
            Family::Llama,
            llama_core && rms(NormPosition::Pre) && !m.qk_norm && full,
        ),
        (
            Family::Mistral,
            llama_core
                && rms(NormPosition::Pre)
                && !m.qk_norm
                && !m.bias
                && m.layer_pattern.is_none()
                && matches!(m.attention, AttentionPattern::SlidingWindow { .. }),
        ),
        (
            Family::Qwen3,
            llama_core && rms(NormPosition::Pre) && qk(QkNormScope::Head) && !m.bias && full,
        ),
        (
            Family::Olmo2,
            llama_core
                && rms(NormPosition::PostInBranch)
                && qk(QkNormScope::Projection)
                && !m.bias
                && full,
        ),
        (
            Family::Gpt2,
            layer_norm_pre
                && m.position == Position::Learned
                && gelu
                && serial
                && m.bias
                && m.tied_embeddings
                && !m.qk_norm
                && full
                && mha
                && m.d_ff.is_none_or(|f| f == 4 * m.d_model),
        ),
        (
            Family::GptNeox,
            layer_norm_pre
                && m.position == Position::Rope
                && gelu
                && (serial || m.parallel_norm == ParallelNorm::PerBranch)
                && m.bias
                && !m.qk_norm
                && full
                && mha,
        ),
    ];
    candidates
        .into_iter()
        .find_map(|(family, fits)| fits.then_some(family))
        .ok_or_else(|| {
            CheckpointError::new(
                "model",
                "maps onto none of the Hugging Face families we write: LLaMA (pre-RMSNorm, RoPE, \
                 SwiGLU, serial, full attention), Mistral (the same with a sliding window, no \
                 biases), Qwen3 (LLaMA with per-head QK-norm, no biases), OLMo 2 \
                 (post-in-branch RMSNorm, QK-norm over the projections), GPT-2 (pre-LayerNorm, \
                 learned positions, GeLU, biases, tied embeddings, MHA) or GPT-NeoX \
                 (pre-LayerNorm, RoPE, GeLU, biases, MHA, parallel with a norm per branch)",
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
            let parts: Vec<_> = hf
                .parts
                .iter()
                .map(|part| part_spec(&layout, part))
                .collect();
            let mut values = Vec::new();
            for range in flat_ranges(&hf, &parts) {
                values.extend_from_slice(&flat[range]);
            }
            let mut shape = parts[0].shape.clone();
            shape[0] = parts.iter().map(|spec| spec.shape[0]).sum();
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

fn part_spec<'a>(layout: &'a ParamLayout, part: &str) -> &'a TensorSpec {
    layout.find(part).expect("the map names layout tensors")
}

/// The stacked tensor's values in order, as ranges of the flat buffer: whole parts one after
/// another, or `chunk` rows of each part in turn.
fn flat_ranges(hf: &HfTensor, parts: &[&TensorSpec]) -> Vec<Range<usize>> {
    match hf.chunk {
        None => parts.iter().map(|spec| spec.range()).collect(),
        Some(chunk) => {
            let width: usize = parts[0].shape[1..].iter().product();
            let len = chunk * width;
            (0..parts[0].shape[0] / chunk)
                .flat_map(|c| {
                    parts.iter().map(move |spec| {
                        let start = spec.offset + c * len;
                        start..start + len
                    })
                })
                .collect()
        }
    }
}

/// The name map of a family for a config.
pub fn tensor_map(family: Family, model: &ModelConfig) -> Vec<HfTensor> {
    let tensor = |name: String, parts: Vec<String>, conv1d: bool, chunk: Option<usize>| HfTensor {
        name,
        parts,
        conv1d,
        chunk,
    };
    let one = |name: String, part: String| tensor(name, vec![part], false, None);
    // A linear layer: weight, and bias when the model has biases.
    let linear = |map: &mut Vec<HfTensor>, hf: String, w: String, b: String| {
        map.push(one(format!("{hf}.weight"), w));
        if model.bias {
            map.push(one(format!("{hf}.bias"), b));
        }
    };
    // A norm: weight, and bias for LayerNorm with biases.
    let norm = |map: &mut Vec<HfTensor>, hf: String, ours: String| {
        map.push(one(format!("{hf}.weight"), format!("{ours}.weight")));
        if model.norm_has_bias(model.norm) {
            map.push(one(format!("{hf}.bias"), format!("{ours}.bias")));
        }
    };
    let mut map = Vec::new();
    for l in 0..model.n_layers {
        let ours = format!("layers.{l}");
        let (a, m) = (format!("{ours}.attn"), format!("{ours}.mlp"));
        match family {
            Family::Llama | Family::Mistral | Family::Qwen3 | Family::Olmo2 => {
                let hf = format!("model.layers.{l}");
                let attn_norms = match family {
                    // OLMo 2 norms the branch outputs: its "post" norms are our out-norms.
                    Family::Olmo2 => [
                        ("post_attention_layernorm", "attn_out_norm"),
                        ("post_feedforward_layernorm", "mlp_out_norm"),
                    ],
                    _ => [
                        ("input_layernorm", "attn_in_norm"),
                        ("post_attention_layernorm", "mlp_in_norm"),
                    ],
                };
                for (hf_norm, site) in attn_norms {
                    norm(
                        &mut map,
                        format!("{hf}.{hf_norm}"),
                        format!("{ours}.{site}"),
                    );
                }
                for (proj, w, b) in [
                    ("q_proj", "wq", "bq"),
                    ("k_proj", "wk", "bk"),
                    ("v_proj", "wv", "bv"),
                    ("o_proj", "wo", "bo"),
                ] {
                    let hf = format!("{hf}.self_attn.{proj}");
                    linear(&mut map, hf, format!("{a}.{w}"), format!("{a}.{b}"));
                }
                if model.qk_norm {
                    for qk in ["q_norm", "k_norm"] {
                        norm(
                            &mut map,
                            format!("{hf}.self_attn.{qk}"),
                            format!("{a}.{qk}"),
                        );
                    }
                }
                for (proj, w, b) in [
                    ("gate_proj", "w1", "b1"),
                    ("up_proj", "v", "bv"),
                    ("down_proj", "w2", "b2"),
                ] {
                    let hf = format!("{hf}.mlp.{proj}");
                    linear(&mut map, hf, format!("{m}.{w}"), format!("{m}.{b}"));
                }
            }
            Family::Gpt2 => {
                let hf = format!("transformer.h.{l}");
                norm(
                    &mut map,
                    format!("{hf}.ln_1"),
                    format!("{ours}.attn_in_norm"),
                );
                norm(
                    &mut map,
                    format!("{hf}.ln_2"),
                    format!("{ours}.mlp_in_norm"),
                );
                let qkv = |p: &str| ["q", "k", "v"].map(|x| format!("{a}.{p}{x}")).to_vec();
                let c_attn = format!("{hf}.attn.c_attn");
                map.push(tensor(format!("{c_attn}.weight"), qkv("w"), true, None));
                map.push(tensor(format!("{c_attn}.bias"), qkv("b"), false, None));
                for (hf, w, b) in [
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
                    map.push(tensor(format!("{hf}.weight"), vec![w], true, None));
                    map.push(one(format!("{hf}.bias"), b));
                }
            }
            Family::GptNeox => {
                let hf = format!("gpt_neox.layers.{l}");
                norm(
                    &mut map,
                    format!("{hf}.input_layernorm"),
                    format!("{ours}.attn_in_norm"),
                );
                let site = format!("{ours}.mlp_in_norm");
                norm(&mut map, format!("{hf}.post_attention_layernorm"), site);
                // query_key_value is [q_h, k_h, v_h] head after head: chunks of d_head rows.
                let qkv = |p: &str| ["q", "k", "v"].map(|x| format!("{a}.{p}{x}")).to_vec();
                let d = Some(model.d_head());
                let packed = format!("{hf}.attention.query_key_value");
                map.push(tensor(format!("{packed}.weight"), qkv("w"), false, d));
                map.push(tensor(format!("{packed}.bias"), qkv("b"), false, d));
                for (hf, w, b) in [
                    (
                        format!("{hf}.attention.dense"),
                        format!("{a}.wo"),
                        format!("{a}.bo"),
                    ),
                    (
                        format!("{hf}.mlp.dense_h_to_4h"),
                        format!("{m}.w1"),
                        format!("{m}.b1"),
                    ),
                    (
                        format!("{hf}.mlp.dense_4h_to_h"),
                        format!("{m}.w2"),
                        format!("{m}.b2"),
                    ),
                ] {
                    linear(&mut map, hf, w, b);
                }
            }
        }
    }
    let (embedding, final_norm, head) = match family {
        Family::Gpt2 => (
            "transformer.wte.weight",
            "transformer.ln_f",
            "lm_head.weight",
        ),
        Family::GptNeox => (
            "gpt_neox.embed_in.weight",
            "gpt_neox.final_layer_norm",
            "embed_out.weight",
        ),
        _ => ("model.embed_tokens.weight", "model.norm", "lm_head.weight"),
    };
    map.insert(0, one(embedding.into(), "tok_emb".into()));
    if family == Family::Gpt2 {
        map.insert(1, one("transformer.wpe.weight".into(), "pos_emb".into()));
    }
    norm(&mut map, final_norm.into(), "final_norm".into());
    if !model.tied_embeddings {
        map.push(one(head.into(), "lm_head".into()));
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
    let parts: Vec<_> = hf
        .parts
        .iter()
        .map(|part| part_spec(layout, part))
        .collect();
    let mut needed = parts[0].shape.clone();
    needed[0] = parts.iter().map(|spec| spec.shape[0]).sum();
    if stacked.shape != needed {
        // Shapes as the file spells them: Conv1D weights are stored transposed.
        let as_stored = |shape: &[usize]| -> Vec<usize> {
            if hf.conv1d {
                shape.iter().rev().copied().collect()
            } else {
                shape.to_vec()
            }
        };
        return Err(CheckpointError::new(
            format!("{WEIGHTS}: {}", hf.name),
            format!(
                "has shape {:?}, the config needs {:?}",
                as_stored(&stacked.shape),
                as_stored(&needed)
            ),
        ));
    }
    let mut source = stacked.values.iter();
    for range in flat_ranges(hf, &parts) {
        for (param, &value) in params[range].iter_mut().zip(source.by_ref()) {
            *param = value;
        }
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
    fn new(map: Map<String, Value>) -> Self {
        Self { map, prefix: "" }
    }

    fn error(&self, key: &str, reason: impl Into<String>) -> CheckpointError {
        CheckpointError::new(format!("{CONFIG}: {}{key}", self.prefix), reason)
    }

    fn family(&mut self) -> Result<Family, CheckpointError> {
        let architecture = match self.map.get("architectures") {
            Some(Value::Array(list)) if list.len() == 1 => list[0].as_str().unwrap_or_default(),
            _ => return Err(self.error("architectures", "must list exactly one architecture")),
        };
        Family::ALL
            .into_iter()
            .find(|f| f.architecture() == architecture)
            .ok_or_else(|| {
                let known: Vec<_> = Family::ALL.iter().map(|f| f.architecture()).collect();
                self.error(
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
            .ok_or_else(|| self.error(key, "is required"))
    }

    fn optional_usize(&mut self, key: &str) -> Result<Option<usize>, CheckpointError> {
        self.take(key)
            .map(|v| {
                v.as_u64()
                    .map(|n| n as usize)
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
            padding_token: self.optional_usize("pad_token_id")?.map(|t| t as u32),
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
    fn gpt_neox(&mut self) -> Result<ModelConfig, CheckpointError> {
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

    /// Errors on the first key nobody consumed that is not known to be harmless.
    fn finish(self, family: Family) -> Result<(), CheckpointError> {
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
fn export_config(family: Family, model: &ModelConfig) -> Value {
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
            // Omitted rather than null when unset: some families read a null head_dim as set.
            if let Some(d_head) = model.d_head {
                fields["head_dim"] = json!(d_head);
            }
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
