//! The lecture's rules of thumb for a model's shape, read off a configuration: each ratio's
//! value, the lecture's range and whether the value is within it (lecture.md, "Feed-forward"
//! and "Shape hyperparameters").

use super::config::ModelConfig;

/// One rule of thumb as it stands for a configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The ratio, as the page and the command line label it ("d_ff / d_model").
    pub name: &'static str,
    /// A short label for narrow tables ("d_ff / C"; C is d_model, as across the crate).
    pub short: &'static str,
    /// The configuration's value of the ratio, in `unit`.
    pub value: f64,
    /// "%" for a share, "" for a ratio.
    pub unit: &'static str,
    /// The lecture's range, both ends included; None where the lecture gives none.
    pub range: Option<(f64, f64)>,
    /// The lecture's rule in words, with its source.
    pub lecture: &'static str,
}

impl Rule {
    /// Whether the value is within the lecture's range (None: the lecture gives no range).
    pub fn within(&self) -> Option<bool> {
        self.range
            .map(|(low, high)| (low..=high).contains(&self.value))
    }
}

/// The band around a point rule (4, 8/3) that counts as following it: LLaMA's 11008 / 4096 =
/// 2.69 rounds 8/3 up to a multiple of 256, Qwen3-8B's 3.0 is a choice of its own.
const POINT_TOLERANCE: f64 = 0.05;

/// The rules for `config`, in a fixed order: feed-forward ratio, head width ratio, aspect
/// ratio, embedding share.
pub fn rules(config: &ModelConfig) -> Vec<Rule> {
    let c = config.d_model as f64;
    let (d_ff_rule, d_ff_lecture) = match config.activation.is_gated() {
        true => (
            8.0 / 3.0,
            "8/3 ≈ 2.67 for gated units (±5%), so the parameters match a plain 4x MLP \
             (Shazeer 2020; LLaMA)",
        ),
        false => (
            4.0,
            "4 for plain units (±5%); the loss is flat over a wide range (Kaplan et al. 2020)",
        ),
    };
    let params = config.param_count();
    vec![
        Rule {
            name: "d_ff / d_model",
            short: "d_ff / C",
            value: config.d_ff() as f64 / c,
            unit: "",
            range: Some((
                d_ff_rule * (1.0 - POINT_TOLERANCE),
                d_ff_rule * (1.0 + POINT_TOLERANCE),
            )),
            lecture: d_ff_lecture,
        },
        Rule {
            name: "d_model / (n_heads · d_head)",
            short: "C / (H·D)",
            value: c / (config.n_heads * config.d_head()) as f64,
            unit: "",
            range: Some((1.0, 1.0)),
            lecture: "1 in almost every model; T5 is the exception (16 in T5-11B)",
        },
        Rule {
            name: "d_model / n_layers",
            short: "C / L",
            value: c / config.n_layers as f64,
            unit: "",
            range: Some((100.0, 200.0)),
            lecture: "100 to 200 at scale (Kaplan et al. 2020); a toy model is far below: \
                      its width is too small to divide among many layers",
        },
        Rule {
            name: "embedding share of the parameters",
            short: "embedding",
            value: 100.0 * params.embedding as f64 / params.total() as f64,
            unit: "%",
            range: None,
            lecture: "no rule: the share falls as models grow (Kaplan et al. 2020 count only \
                      the non-embedding parameters)",
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::{Activation, NormType, Position};

    /// GPT-2 small's shape (plain GeLU MLP at 4x, 12 heads of 64, tied embeddings, learned
    /// positions, LayerNorm with biases): values derived by hand.
    #[test]
    fn a_plain_4x_model() {
        let config = ModelConfig {
            vocab_size: 50257,
            context_len: 1024,
            d_model: 768,
            n_layers: 12,
            n_heads: 12,
            n_kv_heads: 12,
            norm: NormType::LayerNorm,
            bias: true,
            activation: Activation::Gelu,
            position: Position::Learned,
            tied_embeddings: true,
            ..ModelConfig::DEFAULT
        };
        let rules = rules(&config);
        let values: Vec<f64> = rules.iter().map(|r| r.value).collect();
        let within: Vec<Option<bool>> = rules.iter().map(Rule::within).collect();
        // d_ff 3072 / 768 = 4; 768 / (12 · 64) = 1; 768 / 12 = 64.
        assert_eq!(values[..3], [4.0, 1.0, 64.0]);
        assert_eq!(within, [Some(true), Some(true), Some(false), None]);
        // Embedding: 50257 · 768 + 1024 · 768 = 39,383,808 of GPT-2 small's published
        // 124,439,808 parameters.
        assert!((values[3] - 100.0 * 39_383_808.0 / 124_439_808.0).abs() < 1e-10);
    }

    /// LLaMA 2 7B's shape with d_ff 11008 (SwiGLU, 32 heads of 128): 11008 / 4096 = 2.6875
    /// is within 5% of 8/3; a d_ff of 4 x would not be.
    #[test]
    fn a_swiglu_8_3_model() {
        let config = ModelConfig {
            vocab_size: 32000,
            d_model: 4096,
            n_layers: 32,
            n_heads: 32,
            n_kv_heads: 32,
            d_ff: Some(11008),
            ..ModelConfig::DEFAULT
        };
        let llama = rules(&config);
        assert_eq!(llama[0].value, 2.6875);
        assert_eq!(llama[0].within(), Some(true));
        assert_eq!((llama[1].value, llama[1].within()), (1.0, Some(true)));
        assert_eq!((llama[2].value, llama[2].within()), (128.0, Some(true)));
        // Embedding: token table and untied head, 2 · 32000 · 4096 = 262,144,000 of
        // 6,738,415,616.
        assert!((llama[3].value - 100.0 * 262_144_000.0 / 6_738_415_616.0).abs() < 1e-10);

        let wide = rules(&ModelConfig {
            d_ff: Some(4 * 4096),
            ..config.clone()
        });
        assert_eq!((wide[0].value, wide[0].within()), (4.0, Some(false)));
        // T5-style heads: 8 heads of 1024 = 8192 against d_model 4096.
        let t5 = rules(&ModelConfig {
            n_heads: 8,
            n_kv_heads: 8,
            d_head: Some(1024),
            ..config
        });
        assert_eq!((t5[1].value, t5[1].within()), (0.5, Some(false)));
    }
}
