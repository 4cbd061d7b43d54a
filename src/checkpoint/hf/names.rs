//! The tensor name map of each family: which of our tensors a Hugging Face tensor holds,
//! stacked or interleaved, transposed or not; and moving values between the two layouts.

use std::ops::Range;

use super::super::tensors::Tensor;
use super::super::{CheckpointError, WEIGHTS};
use super::{Family, HfTensor};
use crate::model::{ModelConfig, ParamLayout, TensorSpec};

pub(super) fn part_spec<'a>(layout: &'a ParamLayout, part: &str) -> &'a TensorSpec {
    layout.find(part).expect("the map names layout tensors")
}

/// The stacked tensor's values in order, as ranges of the flat buffer: whole parts one after
/// another, or `chunk` rows of each part in turn.
pub(super) fn flat_ranges(hf: &HfTensor, parts: &[&TensorSpec]) -> Vec<Range<usize>> {
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
        gain_minus_one: false,
    };
    let one = |name: String, part: String| tensor(name, vec![part], false, None);
    // A linear layer: weight, and bias when the model has biases.
    let linear = |map: &mut Vec<HfTensor>, hf: String, w: String, b: String| {
        map.push(one(format!("{hf}.weight"), w));
        if model.bias {
            map.push(one(format!("{hf}.bias"), b));
        }
    };
    // A norm: weight (Gemma 2 stores gain - 1), and bias for LayerNorm with biases.
    let norm = |map: &mut Vec<HfTensor>, hf: String, ours: String| {
        map.push(HfTensor {
            gain_minus_one: family == Family::Gemma2,
            ..one(format!("{hf}.weight"), format!("{ours}.weight"))
        });
        if model.norm_has_bias(model.norm) {
            map.push(one(format!("{hf}.bias"), format!("{ours}.bias")));
        }
    };
    let mut map = Vec::new();
    for l in 0..model.n_layers {
        let ours = format!("layers.{l}");
        let (a, m) = (format!("{ours}.attn"), format!("{ours}.mlp"));
        match family {
            Family::Llama | Family::Mistral | Family::Qwen3 | Family::Olmo2 | Family::Gemma2 => {
                let hf = format!("model.layers.{l}");
                let norms: &[_] = match family {
                    // OLMo 2 norms the branch outputs: its "post" norms are our out-norms.
                    Family::Olmo2 => &[
                        ("post_attention_layernorm", "attn_out_norm"),
                        ("post_feedforward_layernorm", "mlp_out_norm"),
                    ],
                    // Gemma 2 norms both the input and the output of each branch.
                    Family::Gemma2 => &[
                        ("input_layernorm", "attn_in_norm"),
                        ("post_attention_layernorm", "attn_out_norm"),
                        ("pre_feedforward_layernorm", "mlp_in_norm"),
                        ("post_feedforward_layernorm", "mlp_out_norm"),
                    ],
                    _ => &[
                        ("input_layernorm", "attn_in_norm"),
                        ("post_attention_layernorm", "mlp_in_norm"),
                    ],
                };
                for (hf_norm, site) in norms {
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
pub(super) fn unstack(
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
pub(super) fn transpose(tensor: &Tensor) -> Tensor {
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
