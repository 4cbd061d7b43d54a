//! The presets at their published sizes: ONE table of the real models' shapes, and what each
//! costs (parameters, weight and KV-cache bytes) for a context, batch and number format, counted
//! by `model::accounting` (the calculator of `archlab calc` and the page's panel).

use super::presets::{self, Preset, PRESETS};
use super::run::RunError;
use crate::model::{ModelConfig, NumberFormat};

/// A real model's shape; everything else (norms, activation, biases, tied embeddings, ...) is
/// its preset's. A preset's toy attention window stays: it changes neither the parameters nor
/// the cache counted here.
#[derive(Debug)]
pub struct Published {
    /// The preset whose choices the model makes (`presets::PRESETS`).
    pub preset: &'static str,
    /// The published model ("LLaMA 2 7B").
    pub name: &'static str,
    pub d_model: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub d_head: usize,
    pub d_ff: usize,
    pub vocab_size: usize,
    /// The context the model was trained at (GPT-2's learned position table has this many rows).
    pub context_len: usize,
}

/// The published shapes, in the presets' order. No row for `default` (the page's own model) or
/// `transformer2017` (an encoder-decoder: a decoder-only count of it means nothing).
#[rustfmt::skip]
pub static PUBLISHED: [Published; 10] = [
    // Radford et al. 2019; Hugging Face openai-community/gpt2 config.json.
    Published { preset: "gpt2", name: "GPT-2 124M", d_model: 768, n_layers: 12, n_heads: 12, n_kv_heads: 12, d_head: 64, d_ff: 3072, vocab_size: 50257, context_len: 1024 },
    // Radford et al. 2019; openai-community/gpt2-xl config.json.
    Published { preset: "gpt2", name: "GPT-2 1.5B", d_model: 1600, n_layers: 48, n_heads: 25, n_kv_heads: 25, d_head: 64, d_ff: 6400, vocab_size: 50257, context_len: 1024 },
    // Black et al. 2022 (GPT-NeoX-20B); EleutherAI/gpt-neox-20b config.json.
    Published { preset: "gptj", name: "GPT-NeoX 20B", d_model: 6144, n_layers: 44, n_heads: 64, n_kv_heads: 64, d_head: 96, d_ff: 24576, vocab_size: 50432, context_len: 2048 },
    // Chowdhery et al. 2022 (PaLM), Table 1: 48 heads of 256, one KV head, d_ff 4 x d_model.
    Published { preset: "palm", name: "PaLM 540B", d_model: 18432, n_layers: 118, n_heads: 48, n_kv_heads: 1, d_head: 256, d_ff: 73728, vocab_size: 256000, context_len: 2048 },
    // Touvron et al. 2023 (Llama 2); meta-llama/Llama-2-7b-hf config.json.
    Published { preset: "llama", name: "LLaMA 2 7B", d_model: 4096, n_layers: 32, n_heads: 32, n_kv_heads: 32, d_head: 128, d_ff: 11008, vocab_size: 32000, context_len: 4096 },
    // Grattafiori et al. 2024 (The Llama 3 Herd of Models); meta-llama/Meta-Llama-3-8B.
    Published { preset: "llama", name: "LLaMA 3 8B", d_model: 4096, n_layers: 32, n_heads: 32, n_kv_heads: 8, d_head: 128, d_ff: 14336, vocab_size: 128256, context_len: 8192 },
    // Jiang et al. 2023 (Mistral 7B); mistralai/Mistral-7B-v0.1 config.json.
    Published { preset: "mistral", name: "Mistral 7B", d_model: 4096, n_layers: 32, n_heads: 32, n_kv_heads: 8, d_head: 128, d_ff: 14336, vocab_size: 32000, context_len: 32768 },
    // OLMo et al. 2024 (2 OLMo 2 Furious); allenai/OLMo-2-1124-7B config.json.
    Published { preset: "olmo2", name: "OLMo 2 7B", d_model: 4096, n_layers: 32, n_heads: 32, n_kv_heads: 32, d_head: 128, d_ff: 11008, vocab_size: 100352, context_len: 4096 },
    // Gemma Team 2024 (Gemma 2); google/gemma-2-9b config.json.
    Published { preset: "gemma2", name: "Gemma 2 9B", d_model: 3584, n_layers: 42, n_heads: 16, n_kv_heads: 8, d_head: 256, d_ff: 14336, vocab_size: 256000, context_len: 8192 },
    // Qwen Team 2025 (Qwen3 Technical Report); Qwen/Qwen3-8B config.json (untied).
    Published { preset: "qwen3", name: "Qwen3 8B", d_model: 4096, n_layers: 36, n_heads: 32, n_kv_heads: 8, d_head: 128, d_ff: 12288, vocab_size: 151936, context_len: 32768 },
];

impl Published {
    /// The row's preset.
    pub fn preset(&self) -> &'static Preset {
        presets::find(self.preset).expect("every published row names a preset")
    }

    /// The preset's model at this size.
    pub fn model(&self) -> ModelConfig {
        ModelConfig {
            vocab_size: self.vocab_size,
            context_len: self.context_len,
            d_model: self.d_model,
            n_layers: self.n_layers,
            n_heads: self.n_heads,
            n_kv_heads: self.n_kv_heads,
            d_head: Some(self.d_head),
            d_ff: Some(self.d_ff),
            ..self.preset().model.clone()
        }
    }
}

/// The rows of `preset` (all rows for None); an unknown preset, or one without a published
/// size, is an error naming field `preset`.
pub fn rows(preset: Option<&str>) -> Result<Vec<&'static Published>, RunError> {
    let Some(name) = preset else {
        return Ok(PUBLISHED.iter().collect());
    };
    presets::get(name)?;
    let rows: Vec<_> = PUBLISHED.iter().filter(|r| r.preset == name).collect();
    if rows.is_empty() {
        return Err(RunError {
            field: "preset".into(),
            reason: format!(
                "{name:?} has no published size; the presets with one are {}",
                presets_with_rows().join(", ")
            ),
        });
    }
    Ok(rows)
}

/// The presets that have published rows, in the presets' order.
pub fn presets_with_rows() -> Vec<&'static str> {
    PRESETS
        .iter()
        .map(|p| p.name)
        .filter(|name| PUBLISHED.iter().any(|r| r.preset == *name))
        .collect()
}

/// What a published model costs at a context, batch and number format.
#[derive(Clone, Debug, PartialEq)]
pub struct Sizing {
    pub name: &'static str,
    pub parameters: u64,
    /// The parameters stored in the format.
    pub weight_bytes: f64,
    /// KV cache of `batch` sequences of `context` tokens in the format.
    pub kv_bytes: f64,
}

/// The calculator's question and what it needs to answer it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sizes {
    pub context: usize,
    pub batch: usize,
    pub format: NumberFormat,
}

impl Sizes {
    /// The costs of `row`, from `model::accounting`.
    pub fn of(&self, row: &Published) -> Sizing {
        let model = row.model();
        let parameters = model.param_count().total();
        Sizing {
            name: row.name,
            parameters,
            weight_bytes: parameters as f64 * self.format.bytes(),
            kv_bytes: model.kv_cache_bytes(self.context, self.batch, self.format),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counts of the published shapes against the totals the papers and model cards state
    /// (numbers from outside this code), within 1% (some publish only three digits).
    #[test]
    fn published_shapes_count_the_published_totals() {
        #[rustfmt::skip]
        let published = [
            // Hugging Face's count of openai-community/gpt2 (tied embeddings).
            ("GPT-2 124M", 124_439_808.0),
            // Hugging Face's count of gpt2-xl.
            ("GPT-2 1.5B", 1_557_611_200.0),
            // Black et al. 2022 (GPT-NeoX-20B): 20.55 B.
            ("GPT-NeoX 20B", 20.55e9),
            // Chowdhery et al. 2022, Table 1: 540.35 B.
            ("PaLM 540B", 540.35e9),
            // Llama-2-7b-hf's model card: 6.74 B (6,738,415,616 counted by transformers).
            ("LLaMA 2 7B", 6_738_415_616.0),
            // Meta-Llama-3-8B: 8.03 B.
            ("LLaMA 3 8B", 8.03e9),
            // Mistral-7B-v0.1: 7.24 B.
            ("Mistral 7B", 7.24e9),
            // OLMo-2-1124-7B's model card: 7.30 B.
            ("OLMo 2 7B", 7.30e9),
            // The Gemma 2 report's parameter counts: 917,504,000 embedding + 8,324,201,984 non-embedding.
            ("Gemma 2 9B", 9_241_705_984.0),
            // Qwen3-8B's model card: 8.2 B.
            ("Qwen3 8B", 8.2e9),
        ];
        assert_eq!(published.len(), PUBLISHED.len());
        for ((name, total), row) in published.into_iter().zip(&PUBLISHED) {
            assert_eq!(row.name, name);
            let model = row.model();
            model.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            let counted = model.param_count().total() as f64;
            assert!(
                (counted / total - 1.0).abs() < 0.01,
                "{name}: counted {counted}, published {total}"
            );
        }
        // Where the exact count is published, it is exact.
        let exact = |name| {
            let row = PUBLISHED.iter().find(|r| r.name == name).unwrap();
            row.model().param_count()
        };
        assert_eq!(exact("GPT-2 124M").total(), 124_439_808);
        assert_eq!(exact("LLaMA 2 7B").total(), 6_738_415_616);
        let gemma = exact("Gemma 2 9B");
        assert_eq!(
            (gemma.embedding, gemma.non_embedding),
            (917_504_000, 8_324_201_984)
        );
    }

    /// LLaMA 2 7B at 4096 tokens, batch 1, bf16: K and V of 32 layers x 32 heads x 128 values,
    /// 2 bytes each, 2 x 32 x 32 x 128 x 2 = 512 KiB a token, 2 GiB for 4096 tokens; Mistral's
    /// 8 KV heads a quarter of that; int4 halves fp8.
    #[test]
    fn kv_cache_of_published_models() {
        let at = |name, format| {
            let row = PUBLISHED.iter().find(|r| r.name == name).unwrap();
            let sizes = Sizes {
                context: 4096,
                batch: 1,
                format,
            };
            sizes.of(row)
        };
        let llama = at("LLaMA 2 7B", NumberFormat::Bf16);
        assert_eq!(llama.kv_bytes, 2.0 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(llama.weight_bytes, 2.0 * 6_738_415_616.0);
        let mistral = at("Mistral 7B", NumberFormat::Bf16);
        assert_eq!(mistral.kv_bytes, llama.kv_bytes / 4.0);
        assert_eq!(
            at("LLaMA 2 7B", NumberFormat::Int4).kv_bytes,
            at("LLaMA 2 7B", NumberFormat::Fp8).kv_bytes / 2.0
        );
    }

    #[test]
    fn rows_by_preset_and_refusals() {
        let names: Vec<_> = rows(Some("gpt2")).unwrap().iter().map(|r| r.name).collect();
        assert_eq!(names, ["GPT-2 124M", "GPT-2 1.5B"]);
        assert_eq!(rows(None).unwrap().len(), PUBLISHED.len());
        let unknown = rows(Some("gpt5")).unwrap_err();
        assert!(unknown.reason.contains("unknown preset"), "{unknown}");
        let none = rows(Some("default")).unwrap_err();
        assert_eq!(none.field, "preset");
        assert!(none.reason.contains("no published size") && none.reason.contains("gpt2, gptj"));
    }
}
