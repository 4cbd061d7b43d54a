//! The presets: the lecture's summary table of real architectures as one table of model and
//! training settings, read by the command line (`archlab train --preset`) and by the page's
//! preset buttons (which keep the page's scale, see `lab::with_preset`).
//!
//! Each row is a toy-scale model with the real model's choices (lecture.md's summary table, checked
//! against transformers' implementations): norm type and place, position encoding, activation,
//! block layout, biases, KV heads, attention pattern, QK-norm and its scope, tied embeddings, and
//! on the training side the z-loss. `export` names the Hugging Face architecture the preset's
//! checkpoints export as (`archlab export`; tests/integration/checkpoint.rs loads each fixture that
//! transformers computed); `None` where transformers has no class that computes the same function.

use super::run::{RunConfig, RunError};
use crate::model::{
    Activation, AttentionPattern, BlockLayout, Dropout, LayerPattern, ModelConfig, NormPosition,
    NormType, ParallelNorm, Position, QkNormScope,
};

/// One row of the summary table.
#[derive(Debug)]
pub struct Preset {
    /// The name `--preset` takes (`gpt2`).
    pub name: &'static str,
    /// The page's button (`GPT-2`).
    pub label: &'static str,
    /// The architecture, at the toy scale of `ModelConfig::DEFAULT` (d_model 64, 2 layers, 4
    /// heads, context 64).
    pub model: ModelConfig,
    /// `train.z_loss`: PaLM's and OLMo 2's auxiliary loss on the softmax normaliser, 0 for the
    /// rest.
    pub z_loss: f32,
    /// The transformers class an export of this preset loads as, if any.
    pub export: Option<&'static str>,
}

impl Preset {
    /// Sets `run`'s model and the row's training settings; everything else stays.
    pub fn apply(&self, run: &mut RunConfig) {
        run.model = self.model.clone();
        run.train.z_loss = self.z_loss;
    }
}

const BASE: ModelConfig = ModelConfig::DEFAULT;

/// The summary table, in the lecture's order.
pub static PRESETS: [Preset; 10] = [
    Preset {
        name: "default",
        label: "page default (LLaMA-style)",
        model: BASE,
        z_loss: 0.0,
        export: Some("LlamaForCausalLM"),
    },
    Preset {
        name: "transformer2017",
        label: "Transformer (2017)",
        model: ModelConfig {
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
            ..BASE
        },
        z_loss: 0.0,
        // Post-LayerNorm with sinusoidal positions: no decoder-only class in transformers.
        export: None,
    },
    Preset {
        name: "gpt2",
        label: "GPT-2",
        model: ModelConfig {
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
            ..BASE
        },
        z_loss: 0.0,
        export: Some("GPT2LMHeadModel"),
    },
    // GPT-NeoX's parallel block: attention and MLP read the same input through a LayerNorm
    // each (GPT-J shares one, see `ParallelNorm`), biases everywhere, tanh GeLU (GPT-J's
    // gelu_new, NeoX-20B's gelu_fast). Both rotate a quarter of each head; RoPE here rotates
    // whole heads, which transformers' GPT-NeoX computes with rotary_pct 1.
    Preset {
        name: "gptj",
        label: "GPT-J / NeoX",
        model: ModelConfig {
            norm: NormType::LayerNorm,
            bias: true,
            activation: Activation::GeluTanh,
            block: BlockLayout::Parallel,
            parallel_norm: ParallelNorm::PerBranch,
            ..BASE
        },
        z_loss: 0.0,
        export: Some("GPTNeoXForCausalLM"),
    },
    Preset {
        name: "palm",
        label: "PaLM",
        model: ModelConfig {
            block: BlockLayout::Parallel,
            n_kv_heads: 1,
            tied_embeddings: true,
            ..BASE
        },
        z_loss: 1e-4,
        // transformers has no PaLM class (a parallel RMSNorm block with MQA).
        export: None,
    },
    Preset {
        name: "llama",
        label: "LLaMA 2/3",
        model: ModelConfig {
            n_kv_heads: 2,
            ..BASE
        },
        z_loss: 0.0,
        export: Some("LlamaForCausalLM"),
    },
    Preset {
        name: "mistral",
        label: "Mistral 7B",
        model: ModelConfig {
            n_kv_heads: 2,
            attention: AttentionPattern::SlidingWindow { window: 16 },
            ..BASE
        },
        z_loss: 0.0,
        export: Some("MistralForCausalLM"),
    },
    // OLMo 2 norms each branch's output (inside the residual branch) and q and k over the
    // whole projection before splitting heads (Olmo2Attention's q_norm has H·D gains).
    Preset {
        name: "olmo2",
        label: "OLMo 2",
        model: ModelConfig {
            norm_position: NormPosition::PostInBranch,
            qk_norm: true,
            qk_norm_scope: QkNormScope::Projection,
            ..BASE
        },
        z_loss: 1e-4,
        export: Some("Olmo2ForCausalLM"),
    },
    // Gemma 2's MLP is GeGLU with the tanh GeLU (hidden_activation gelu_pytorch_tanh); its
    // embedding is scaled by √d_model (the tied head reads the unscaled table).
    Preset {
        name: "gemma2",
        label: "Gemma 2",
        model: ModelConfig {
            norm_position: NormPosition::Double,
            activation: Activation::GegluTanh,
            n_kv_heads: 2,
            attention: AttentionPattern::SlidingWindow { window: 16 },
            layer_pattern: Some(LayerPattern::GlobalEvery(2)),
            tied_embeddings: true,
            scale_embeddings: true,
            attn_logit_softcap: Some(50.0),
            final_logit_softcap: Some(30.0),
            ..BASE
        },
        z_loss: 0.0,
        export: Some("Gemma2ForCausalLM"),
    },
    // Qwen3 norms q and k per head, one gain of D shared by the heads.
    Preset {
        name: "qwen3",
        label: "Qwen3",
        model: ModelConfig {
            n_kv_heads: 2,
            qk_norm: true,
            qk_norm_scope: QkNormScope::Head,
            ..BASE
        },
        z_loss: 0.0,
        export: Some("Qwen3ForCausalLM"),
    },
];

/// The row named `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|preset| preset.name == name)
}

/// The row named `name`, or an error listing the names (field `preset`).
pub fn get(name: &str) -> Result<&'static Preset, RunError> {
    find(name).ok_or_else(|| RunError {
        field: "preset".into(),
        reason: format!(
            "unknown preset {name:?}; the presets are {}",
            PRESETS
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_validates_and_names_are_unique() {
        for (i, preset) in PRESETS.iter().enumerate() {
            let mut run = RunConfig::default();
            preset.apply(&mut run);
            run.validate()
                .unwrap_or_else(|e| panic!("{}: {e}", preset.name));
            assert!(
                PRESETS[..i].iter().all(|p| p.name != preset.name),
                "{} twice",
                preset.name
            );
        }
        assert!(find("nonsense").is_none());
        let error = get("gpt5").unwrap_err();
        assert_eq!(error.field, "preset");
        assert!(
            error.reason.contains("default, transformer2017, gpt2"),
            "{error}"
        );
    }

    #[test]
    fn presets_follow_the_lecture_table() {
        use Activation as A;
        use BlockLayout::{Parallel, Serial};
        use NormPosition as P;
        use NormType::{LayerNorm, RmsNorm};
        use Position as Pos;
        // (name, norm, place, position encoding, activation, layout, bias, kv heads of 4,
        // tied, QK-norm, z-loss), transcribed from lecture.md's summary table, with QK-norm's
        // scope and the GeLU form from the real models.
        let head = Some(QkNormScope::Head);
        let projection = Some(QkNormScope::Projection);
        #[rustfmt::skip]
        let table = [
            ("default", RmsNorm, P::Pre, Pos::Rope, A::Swiglu, Serial, false, 4, false, None, 0.0),
            ("transformer2017", LayerNorm, P::Post, Pos::Sinusoidal, A::Relu, Serial, true, 4, true, None, 0.0),
            ("gpt2", LayerNorm, P::Pre, Pos::Learned, A::GeluTanh, Serial, true, 4, true, None, 0.0),
            ("gptj", LayerNorm, P::Pre, Pos::Rope, A::GeluTanh, Parallel, true, 4, false, None, 0.0),
            ("palm", RmsNorm, P::Pre, Pos::Rope, A::Swiglu, Parallel, false, 1, true, None, 1e-4),
            ("llama", RmsNorm, P::Pre, Pos::Rope, A::Swiglu, Serial, false, 2, false, None, 0.0),
            ("mistral", RmsNorm, P::Pre, Pos::Rope, A::Swiglu, Serial, false, 2, false, None, 0.0),
            ("olmo2", RmsNorm, P::PostInBranch, Pos::Rope, A::Swiglu, Serial, false, 4, false, projection, 1e-4),
            ("gemma2", RmsNorm, P::Double, Pos::Rope, A::GegluTanh, Serial, false, 2, true, None, 0.0),
            ("qwen3", RmsNorm, P::Pre, Pos::Rope, A::Swiglu, Serial, false, 2, false, head, 0.0),
        ];
        assert_eq!(table.len(), PRESETS.len());
        for (row, preset) in table.into_iter().zip(&PRESETS) {
            let (name, norm, at, position, activation, block, bias, kv, tied, qk, z_loss) = row;
            assert_eq!(preset.name, name);
            let c = &preset.model;
            let shape = (c.norm, c.norm_position, c.position, c.activation, c.block);
            assert_eq!(shape, (norm, at, position, activation, block), "{name}");
            assert_eq!(
                (c.bias, c.n_kv_heads, c.tied_embeddings),
                (bias, kv, tied),
                "{name}"
            );
            assert_eq!(c.qk_norm.then_some(c.qk_norm_scope), qk, "{name} QK-norm");
            assert_eq!(preset.z_loss, z_loss, "{name} z-loss");
        }
        let window = AttentionPattern::SlidingWindow { window: 16 };
        assert_eq!(find("mistral").unwrap().model.attention, window);
        let gemma2 = &find("gemma2").unwrap().model;
        assert_eq!(
            (0..4)
                .map(|l| gemma2.pattern_for_layer(l))
                .collect::<Vec<_>>(),
            [
                window,
                AttentionPattern::Full,
                window,
                AttentionPattern::Full
            ]
        );
        // Gemma 2 soft-caps the attention logits at 50 and the output logits at 30, and scales
        // its embeddings.
        assert_eq!(
            (gemma2.attn_logit_softcap, gemma2.final_logit_softcap),
            (Some(50.0), Some(30.0))
        );
        assert!(gemma2.scale_embeddings);
        // GPT-NeoX gives each branch its own input norm.
        assert_eq!(
            find("gptj").unwrap().model.parallel_norm,
            ParallelNorm::PerBranch
        );
    }

    #[test]
    fn the_command_line_and_the_page_get_the_same_rows() {
        for preset in &PRESETS {
            let cli = RunConfig::with_preset(preset.name).unwrap();
            let page = crate::lab::with_preset(&RunConfig::default(), preset.name).unwrap();
            assert_eq!(cli, page, "{}", preset.name);
            assert_eq!(cli.train.z_loss, preset.z_loss, "{}", preset.name);
        }
    }
}
