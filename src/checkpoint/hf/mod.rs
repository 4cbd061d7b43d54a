//! Hugging Face folders (`config.json` + `model.safetensors`, as transformers writes them)
//! mapped onto `ModelConfig` and our parameter layout, both ways.
//!
//! Every key of `config.json` is either mapped, checked to have a value we reproduce, or known to
//! play no part in the forward pass (token ids, init ranges, caching): anything else is an error
//! naming it, never silently ignored. RoPE needs no permutation: our RoPE rotates halves
//! (pairs i and i + d/2), as transformers does. Gemma 2 stores RMSNorm gains as `g - 1` (its
//! norm multiplies by `1 + w`): converted on import and export of parameters, while gradients
//! are the same either way.
//!
//! `config.rs` maps `config.json` (both ways), `names.rs` the tensors (names, packing,
//! transposes); this file picks the family and moves the values.

mod config;
mod names;

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::tensors::{self, Tensor, Tensors};
use super::{Checkpoint, CheckpointError, WEIGHTS};
use crate::model::{
    Activation, AttentionPattern, BlockLayout, ModelConfig, NormPosition, NormType, ParallelNorm,
    ParamLayout, Position, QkNormScope,
};
use crate::train::hf_tokenizer::HfTokenizer;
use crate::train::run::RunConfig;
use config::{export_config, Keys};
pub use names::tensor_map;
use names::{flat_ranges, part_spec, transpose, unstack};

/// The Hugging Face configuration file.
pub const CONFIG: &str = "config.json";
/// The Hugging Face tokenizer file.
pub const TOKENIZER: &str = "tokenizer.json";

/// A folder's `tokenizer.json`, read; refused when it is not one archlab runs or its ids do not
/// fit `model`'s vocabulary.
pub fn tokenizer(json: &str, model: &ModelConfig) -> Result<HfTokenizer, CheckpointError> {
    let tokenizer =
        HfTokenizer::from_json(json).map_err(|e| CheckpointError::new(TOKENIZER, e.to_string()))?;
    if tokenizer.vocab_size() > model.vocab_size {
        return Err(CheckpointError::new(
            TOKENIZER,
            format!(
                "its token ids reach {}, beyond the model's vocabulary of {} ({CONFIG}'s \
                 vocab_size): it is not this model's tokenizer",
                tokenizer.vocab_size() - 1,
                model.vocab_size
            ),
        ));
    }
    Ok(tokenizer)
}

/// The model families we read (and, where a config maps onto one, write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Llama,
    Mistral,
    Qwen3,
    Olmo2,
    Gpt2,
    GptNeox,
    Gemma2,
}

impl Family {
    pub(crate) const ALL: [Family; 7] = [
        Family::Llama,
        Family::Mistral,
        Family::Qwen3,
        Family::Olmo2,
        Family::Gpt2,
        Family::GptNeox,
        Family::Gemma2,
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
            Family::Gemma2 => "Gemma2ForCausalLM",
        }
    }

    /// The `model_type` transformers writes.
    pub(crate) fn model_type(self) -> &'static str {
        match self {
            Family::Llama => "llama",
            Family::Mistral => "mistral",
            Family::Qwen3 => "qwen3",
            Family::Olmo2 => "olmo2",
            Family::Gpt2 => "gpt2",
            Family::GptNeox => "gpt_neox",
            Family::Gemma2 => "gemma2",
        }
    }
}

/// How one Hugging Face tensor relates to ours: it is our `parts` stacked along the first
/// dimension (GPT-2 packs q, k and v into one), transposed when `conv1d` (GPT-2's Conv1D stores
/// weights `[in, out]`; we store `[out, in]`). With `chunk`, the parts are interleaved `chunk`
/// rows at a time instead (GPT-NeoX packs `[q_h, k_h, v_h]` head by head). With `gain_minus_one`
/// the file holds our values less 1 (Gemma 2's RMSNorm gains `1 + w`).
#[derive(Clone, Debug, PartialEq)]
pub struct HfTensor {
    pub name: String,
    pub parts: Vec<String>,
    pub conv1d: bool,
    pub chunk: Option<usize>,
    pub gain_minus_one: bool,
}

/// Our value of a parameter the file stores as `stored`, and back.
fn from_stored(hf: &HfTensor, stored: f32) -> f32 {
    match hf.gain_minus_one {
        true => stored + 1.0,
        false => stored,
    }
}

fn to_stored(hf: &HfTensor, ours: f32) -> f32 {
    match hf.gain_minus_one {
        true => ours - 1.0,
        false => ours,
    }
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
        Family::Gemma2 => keys.gemma2()?,
    };
    keys.finish(family)?;
    model
        .validate()
        .map_err(|e| CheckpointError::new(format!("{CONFIG} (as model.{})", e.field), e.reason))?;
    super::check_fits(&model, weights, CONFIG)?;

    let layout = ParamLayout::new(&model);
    let map = tensor_map(family, &model);
    let mut file = tensors::read(weights, WEIGHTS)?;
    let mut params = vec![0.0; layout.total_len];
    for hf in &map {
        let tensor = file
            .remove(&hf.name)
            .ok_or_else(|| CheckpointError::new(format!("{WEIGHTS}: {}", hf.name), "is missing"))?;
        let mut stacked = if hf.conv1d {
            transpose(&tensor)
        } else {
            tensor
        };
        for value in &mut stacked.values {
            *value = from_stored(hf, *value);
        }
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
    // Only Gemma 2 caps logits and scales embeddings.
    let gemma_only =
        m.scale_embeddings || m.attn_logit_softcap.is_some() || m.final_logit_softcap.is_some();
    // Full attention everywhere and nothing only Gemma 2 has: the other families' common core.
    let full = m.attention == AttentionPattern::Full && m.layer_pattern.is_none() && !gemma_only;
    // Gemma 2's layers are full or sliding, with one window for all sliding layers.
    let window = |l| match m.pattern_for_layer(l) {
        AttentionPattern::SlidingWindow { window } => Some(Some(window)),
        AttentionPattern::Full => Some(None),
        AttentionPattern::Sparse { .. } => None,
    };
    let windows: Option<BTreeSet<_>> = (0..m.n_layers).map(window).collect();
    let one_window = windows.is_some_and(|w| w.iter().flatten().count() <= 1);
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
                && !gemma_only
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
        (
            Family::Gemma2,
            rms(NormPosition::Double)
                && m.final_norm
                && m.position == Position::Rope
                && m.activation == Activation::GegluTanh
                && serial
                && !m.bias
                && !m.qk_norm
                && m.scale_embeddings
                && one_window
                // transformers' Gemma2Config requires it, whatever head_dim is.
                && m.d_model.is_multiple_of(m.n_heads),
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
                 learned positions, GeLU, biases, tied embeddings, MHA), GPT-NeoX \
                 (pre-LayerNorm, RoPE, GeLU, biases, MHA, parallel with a norm per branch) or \
                 Gemma 2 (RMSNorm before and after each sub-layer, RoPE, tanh GeGLU, scaled \
                 embeddings, full or sliding layers of one window); only Gemma 2 has \
                 soft-caps and scaled embeddings",
            )
        })
}

/// Writes `params` (our layout of `model`) as a Hugging Face `config.json` and
/// `model.safetensors`.
pub fn export(model: &ModelConfig, params: &[f32]) -> Result<(String, Vec<u8>), CheckpointError> {
    let family = export_family(model)?;
    let config =
        serde_json::to_string_pretty(&export_config(family, model)).expect("a config serialises");
    let mut tensors = to_hf_tensors(family, model, params);
    for hf in tensor_map(family, model) {
        let tensor = tensors
            .get_mut(&hf.name)
            .expect("the map's tensors were written");
        for value in &mut tensor.values {
            *value = to_stored(&hf, *value);
        }
    }
    Ok((
        config,
        tensors::write(
            &tensors,
            Some(HashMap::from([("format".into(), "pt".into())])),
        )?,
    ))
}

/// Our flat buffer as Hugging Face tensors, values as they are (gradients; `export` converts
/// parameters the file stores differently).
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
