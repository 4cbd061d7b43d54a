//! The page's controls as one table: every configuration field a visitor can flip, grouped as
//! the lecture is, each with one sentence of the lecture's claim and its source (lecture.md).
//! The page renders every row with one generic control; nothing here knows the UI.

use serde_json::Value;

use crate::train::run::{value_text, RunConfig};

/// The lecture's sections, in the order the page shows them.
pub const GROUPS: [&str; 11] = [
    "Normalization",
    "Feed-forward",
    "Block layout",
    "Position",
    "Shape",
    "Attention",
    "Stability",
    "Regularization",
    "Optimization",
    "Data",
    "Initialization",
];

/// How a field is edited.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// One of a few values: (label, value as `RunConfig::set` reads it). An option whose value
    /// is an object (an enum variant with data) matches any current value of the same variant.
    Choice(&'static [(&'static str, &'static str)]),
    /// On or off.
    Toggle,
    /// A number.
    Number,
    /// A number, or empty for `null`; the text says what empty means ("auto", "off") and is
    /// the control's placeholder.
    Optional(&'static str),
}

/// One control of the page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    /// Dotted configuration key (`model.norm`). A field whose key the configuration lacks
    /// (`model.attention.sliding_window.window` under full attention) is not shown.
    pub key: &'static str,
    /// Index into [`GROUPS`].
    pub group: usize,
    /// Short name, also used in run labels ("QK-norm").
    pub label: &'static str,
    pub kind: Kind,
    /// One sentence of the lecture's claim.
    pub claim: &'static str,
    /// Where the claim comes from.
    pub source: &'static str,
}

const NORM_POSITION: &[(&str, &str)] = &[
    ("pre: x + F(Norm(x))", "pre"),
    ("post: Norm(x + F(x))", "post"),
    ("double: x + Norm(F(Norm(x)))", "double"),
    ("post-in-branch: x + Norm(F(x))", "post_in_branch"),
];
const NORM: &[(&str, &str)] = &[
    ("RMSNorm", "rms_norm"),
    ("LayerNorm", "layer_norm"),
    ("none", "none"),
];
const ACTIVATION: &[(&str, &str)] = &[
    ("ReLU", "relu"),
    ("GeLU", "gelu"),
    ("GeLU (tanh)", "gelu_tanh"),
    ("SiLU / Swish", "silu"),
    ("ReGLU", "reglu"),
    ("GeGLU", "geglu"),
    ("GeGLU (tanh)", "geglu_tanh"),
    ("SwiGLU", "swiglu"),
];
const BLOCK: &[(&str, &str)] = &[("serial", "serial"), ("parallel", "parallel")];
const PARALLEL_NORM: &[(&str, &str)] = &[
    ("shared: one norm for both branches", "shared"),
    ("per branch: a norm each", "per_branch"),
];
const QK_NORM_SCOPE: &[(&str, &str)] = &[("per head", "head"), ("whole projection", "projection")];
const POSITION: &[(&str, &str)] = &[
    ("RoPE", "rope"),
    ("learned absolute", "learned"),
    ("sinusoidal", "sinusoidal"),
    ("ALiBi", "alibi"),
    ("none (NoPE)", "none"),
];
const ATTENTION: &[(&str, &str)] = &[
    ("full (causal)", "full"),
    ("sliding window", r#"{"sliding_window":{"window":4}}"#),
    (
        "sparse (local + strided)",
        r#"{"sparse":{"local":4,"stride":4}}"#,
    ),
];
const LAYER_PATTERN: &[(&str, &str)] = &[
    ("every layer the same", "null"),
    ("local/global interleave", r#"{"global_every":2}"#),
];
const SCHEDULE: &[(&str, &str)] = &[
    ("cosine", "cosine"),
    ("constant", "constant"),
    ("linear", "linear"),
    ("warmup-stable-decay", r#"{"wsd":{"decay_fraction":0.2}}"#),
];
const SOURCE: &[(&str, &str)] = &[
    (
        "Shakespeare, characters",
        r#"{"type":"corpus","tokenizer":{"kind":"char"}}"#,
    ),
    (
        "Shakespeare, bytes",
        r#"{"type":"corpus","tokenizer":{"kind":"byte"}}"#,
    ),
    (
        "Shakespeare, BPE",
        r#"{"type":"corpus","tokenizer":{"kind":"bpe","vocab_size":512}}"#,
    ),
    (
        "your text, characters",
        r#"{"type":"text","tokenizer":{"kind":"char"}}"#,
    ),
    (
        "your text, bytes",
        r#"{"type":"text","tokenizer":{"kind":"byte"}}"#,
    ),
    (
        "copy task",
        r#"{"type":"task","task":"copy","length":8,"symbols":10}"#,
    ),
    (
        "reverse task",
        r#"{"type":"task","task":"reverse","length":8,"symbols":10}"#,
    ),
    (
        "sort task",
        r#"{"type":"task","task":"sort","length":8,"symbols":10}"#,
    ),
    (
        "induction task",
        r#"{"type":"task","task":"induction","length":24,"segment":4,"symbols":16}"#,
    ),
    (
        "modular addition task",
        r#"{"type":"task","task":"modular_addition","modulus":37}"#,
    ),
];

const PRE_NORM: &str = "Xiong et al. 2020; Salazar & Nguyen 2019; double: Gemma 2, Grok; \
                        post-in-branch: OLMo 2";
const KAPLAN: &str = "Kaplan et al. 2020";
const HEADS: &str = "d_model = n_heads × d_head in almost every model; too many heads make \
                     each head too small to capture context.";
const DROPOUT: &str = "Dropout is no longer used in pre-training: there is no over-fitting at \
                       this data scale, and it slows convergence.";
const WINDOW: &str = "A sliding window of w keys per layer grows the receptive field with \
                      depth (about L × w).";
const SPARSE: &str = "Local + strided patterns cut attention cost from O(n²) towards O(n√n).";
const ADAMW: &str = "Kingma & Ba 2015 (Adam); Loshchilov & Hutter 2019 (AdamW)";
const GPT2_INIT: &str = "GPT-2 (Radford et al. 2019)";
const TASK: &str = "Synthetic tasks have readable attention patterns: copying and induction need \
                    heads that look back a fixed distance or at a match.";

/// Every control, in page order.
pub const FIELDS: &[Field] = &[
    Field {
        key: "model.norm_position",
        group: 0,
        label: "norm position",
        kind: Kind::Choice(NORM_POSITION),
        claim: "Pre-norm keeps an identity path for the gradient through the residual stream; \
                post-norm needs warm-up and lags or diverges at higher learning rates.",
        source: PRE_NORM,
    },
    Field {
        key: "model.norm",
        group: 0,
        label: "norm type",
        kind: Kind::Choice(NORM),
        claim: "RMSNorm trains as well as LayerNorm and runs faster: no mean, no bias, less \
                memory movement; norms are a tiny share of FLOPs but a large share of runtime.",
        source: "Zhang & Sennrich 2019; Narang et al. 2021; Ivanov et al. 2021",
    },
    Field {
        key: "model.final_norm",
        group: 0,
        label: "final norm",
        kind: Kind::Toggle,
        claim: "A norm before the output layer keeps the logits in scale.",
        source: "GPT-2 onwards",
    },
    Field {
        key: "model.norm_eps",
        group: 0,
        label: "norm epsilon",
        kind: Kind::Number,
        claim: "Added inside the norm's square root so that a near-zero activation does not \
                divide by zero; 1e-5 or 1e-6 in most models.",
        source: "Zhang & Sennrich 2019 (RMSNorm); LLaMA",
    },
    Field {
        key: "model.bias",
        group: 1,
        label: "biases",
        kind: Kind::Toggle,
        claim: "Dropping the biases of linear layers and LayerNorm costs no measurable quality, \
                saves memory operations and trains more stably.",
        source: "PaLM, LLaMA and most models since",
    },
    Field {
        key: "model.activation",
        group: 1,
        label: "activation",
        kind: Kind::Choice(ACTIVATION),
        claim: "Gated units (act(xW) · xV) W2 give small but consistent gains; GPT-3 shows gates \
                are not necessary.",
        source: "Shazeer 2020 (GLU Variants); Narang et al. 2021",
    },
    Field {
        key: "model.d_ff",
        group: 1,
        label: "d_ff",
        kind: Kind::Optional("auto"),
        claim: "4 × d_model for plain MLPs, 8/3 × for gated ones so the parameter count matches; \
                the loss is flat over a wide range of ratios. Empty: automatic.",
        source: "Kaplan et al. 2020; LLaMA",
    },
    Field {
        key: "model.block",
        group: 2,
        label: "block layout",
        kind: Kind::Choice(BLOCK),
        claim: "Parallel blocks let the attention and MLP matmuls fuse (about 15% faster at \
                scale, not measurable here: compare FLOPs); serial is slightly more expressive.",
        source: "GPT-J, PaLM, GPT-NeoX; Cohere Command",
    },
    Field {
        key: "model.parallel_norm",
        group: 2,
        label: "parallel norms",
        kind: Kind::Choice(PARALLEL_NORM),
        claim: "Parallel blocks only: attention and MLP read one shared input norm, or each \
                branch has its own.",
        source: "GPT-J, PaLM (shared); GPT-NeoX (per branch)",
    },
    Field {
        key: "model.position",
        group: 3,
        label: "position",
        kind: Kind::Choice(POSITION),
        claim: "The field converged to RoPE: rotating q and k in every layer makes their inner \
                product depend only on the relative position.",
        source: "Su et al. 2021 (RoFormer); Press et al. 2021 (ALiBi)",
    },
    Field {
        key: "model.rope_theta",
        group: 3,
        label: "RoPE θ",
        kind: Kind::Number,
        claim: "RoPE's base: pair i of a head rotates at θ^(−2i/d_head) per position.",
        source: "Su et al. 2021 (RoFormer)",
    },
    Field {
        key: "model.d_model",
        group: 4,
        label: "d_model",
        kind: Kind::Number,
        claim: "The aspect ratio d_model / n_layers is about 100 to 200 in most models; the loss \
                is flat over a wide range.",
        source: KAPLAN,
    },
    Field {
        key: "model.n_layers",
        group: 4,
        label: "layers",
        kind: Kind::Number,
        claim: "Depth against width: the loss is flat over a wide range of aspect ratios.",
        source: KAPLAN,
    },
    Field {
        key: "model.n_heads",
        group: 4,
        label: "heads",
        kind: Kind::Number,
        claim: HEADS,
        source: "T5 is the exception (ratio 16 in T5-11B)",
    },
    Field {
        key: "model.d_head",
        group: 4,
        label: "d_head",
        kind: Kind::Optional("auto"),
        claim: HEADS,
        source: "Empty: d_model / n_heads. T5-11B uses 16 × that.",
    },
    Field {
        key: "model.context_len",
        group: 4,
        label: "context",
        kind: Kind::Number,
        claim: "The longest sequence the model sees; full attention costs grow with its square.",
        source: "Vaswani et al. 2017",
    },
    Field {
        key: "model.tied_embeddings",
        group: 4,
        label: "tied embeddings",
        kind: Kind::Toggle,
        claim: "Sharing the token embedding with the output head saves vocab × d_model \
                parameters, a large share of a small model.",
        source: "Press & Wolf 2017; GPT-2, PaLM, Gemma",
    },
    Field {
        key: "model.scale_embeddings",
        group: 4,
        label: "scaled embeddings",
        kind: Kind::Toggle,
        claim: "Token embeddings times √d_model on lookup bring them to the residual stream's \
                scale while a tied head reads the unscaled table.",
        source: "Vaswani et al. 2017; Gemma",
    },
    Field {
        key: "model.n_kv_heads",
        group: 5,
        label: "KV heads",
        kind: Kind::Number,
        claim: "MQA (1 KV head) and GQA shrink the KV cache by n_heads / n_kv_heads; GQA keeps \
                nearly MHA quality.",
        source: "Shazeer 2019 (MQA); Ainslie et al. 2023 (GQA)",
    },
    Field {
        key: "model.attention",
        group: 5,
        label: "attention",
        kind: Kind::Choice(ATTENTION),
        claim: "Sliding windows and sparse patterns limit which keys each query sees, and so the \
                attention cost.",
        source: "Longformer; Mistral 7B; Child et al. 2019 (Sparse Transformers)",
    },
    Field {
        key: "model.attention.sliding_window.window",
        group: 5,
        label: "window",
        kind: Kind::Number,
        claim: WINDOW,
        source: "Longformer; Mistral 7B",
    },
    Field {
        key: "model.attention.sparse.local",
        group: 5,
        label: "local keys",
        kind: Kind::Number,
        claim: SPARSE,
        source: "Child et al. 2019",
    },
    Field {
        key: "model.attention.sparse.stride",
        group: 5,
        label: "stride",
        kind: Kind::Number,
        claim: SPARSE,
        source: "Child et al. 2019",
    },
    Field {
        key: "model.layer_pattern",
        group: 5,
        label: "layer pattern",
        kind: Kind::Choice(LAYER_PATTERN),
        claim: "Local layers are often interleaved with full-attention ones.",
        source: "Gemma 2/3, Llama 4, Command A",
    },
    Field {
        key: "model.layer_pattern.global_every",
        group: 5,
        label: "global every",
        kind: Kind::Number,
        claim: "Every k-th layer attends to the whole context, the others use the pattern above.",
        source: "Gemma 2 (k = 2)",
    },
    Field {
        key: "model.qk_norm",
        group: 6,
        label: "QK-norm",
        kind: Kind::Toggle,
        claim: "A norm on q and k before their dot product bounds the attention logits and stops \
                their growth at high learning rates.",
        source: "Dehghani et al. 2023; Wortsman et al. 2023; OLMo 2, Gemma 3, Qwen3",
    },
    Field {
        key: "model.qk_norm_scope",
        group: 6,
        label: "QK-norm scope",
        kind: Kind::Choice(QK_NORM_SCOPE),
        claim: "QK-norm over each head's d_head values (one gain shared by the heads) or over the \
                whole q and k projections (one gain per element).",
        source: "Qwen3, Gemma 3 (per head); OLMo 2 (projection)",
    },
    Field {
        key: "train.z_loss",
        group: 6,
        label: "z-loss",
        kind: Kind::Number,
        claim: "A z-loss of 1e-4 · log(Z)² keeps the softmax normaliser near 1 and avoids \
                divergence.",
        source: "PaLM (Chowdhery et al. 2022)",
    },
    Field {
        key: "model.attn_logit_softcap",
        group: 6,
        label: "attention soft-cap",
        kind: Kind::Optional("off"),
        claim: "c · tanh(x / c) on the attention logits bounds them smoothly by ±c (Gemma 2: \
                50), another way than QK-norm to keep them from growing. Empty: off.",
        source: "Gemma 2 (Gemma Team 2024); Grok-1",
    },
    Field {
        key: "model.final_logit_softcap",
        group: 6,
        label: "final soft-cap",
        kind: Kind::Optional("off"),
        claim: "c · tanh(x / c) on the output logits before the loss bounds them by ±c (Gemma 2: \
                30), as z-loss keeps log Z near 0. Empty: off.",
        source: "Gemma 2 (Gemma Team 2024)",
    },
    Field {
        key: "model.dropout.resid",
        group: 7,
        label: "residual dropout",
        kind: Kind::Number,
        claim: DROPOUT,
        source: "Lecture 3",
    },
    Field {
        key: "model.dropout.attn",
        group: 7,
        label: "attention dropout",
        kind: Kind::Number,
        claim: DROPOUT,
        source: "Lecture 3",
    },
    Field {
        key: "model.dropout.embd",
        group: 7,
        label: "embedding dropout",
        kind: Kind::Number,
        claim: DROPOUT,
        source: "Lecture 3",
    },
    Field {
        key: "train.weight_decay",
        group: 7,
        label: "weight decay",
        kind: Kind::Number,
        claim: "Weight decay (about 0.1) is not there against over-fitting: it interacts with the \
                schedule and shows its effect as the learning rate decays.",
        source: "Andriushchenko et al. 2023",
    },
    Field {
        key: "train.decay_embeddings",
        group: 7,
        label: "decay embeddings",
        kind: Kind::Toggle,
        claim: "Weight decay usually applies to the matrices only; embeddings, norms and biases \
                are left undecayed.",
        source: "OLMo 2 (no decay on embeddings); GPT-2 / nanoGPT practice",
    },
    Field {
        key: "train.lr",
        group: 8,
        label: "lr",
        kind: Kind::Number,
        claim: "Sweep it: without QK-norm and z-loss, even small models diverge at high learning \
                rates.",
        source: "Wortsman et al. 2023 (Small-scale proxies)",
    },
    Field {
        key: "train.beta1",
        group: 8,
        label: "AdamW β1",
        kind: Kind::Number,
        claim: "The decay of AdamW's first moment (momentum): 0.9 almost everywhere.",
        source: ADAMW,
    },
    Field {
        key: "train.beta2",
        group: 8,
        label: "AdamW β2",
        kind: Kind::Number,
        claim: "The decay of the second moment: LLMs use 0.95 rather than Adam's 0.999, so the \
                step size adapts faster after a gradient spike.",
        source: "GPT-3; LLaMA; Wortsman et al. 2023",
    },
    Field {
        key: "train.eps",
        group: 8,
        label: "AdamW ε",
        kind: Kind::Number,
        claim: "AdamW's ε: once gradients fall towards it, updates shrink; a smaller ε (1e-15) \
                keeps them at full size.",
        source: "Wortsman et al. 2023 (Small-scale proxies)",
    },
    Field {
        key: "train.schedule",
        group: 8,
        label: "schedule",
        kind: Kind::Choice(SCHEDULE),
        claim: "With a constant learning rate a large weight decay slows learning; its benefit \
                shows as the rate decays (cosine).",
        source: "Andriushchenko et al. 2023",
    },
    Field {
        key: "train.warmup_steps",
        group: 8,
        label: "warm-up steps",
        kind: Kind::Number,
        claim: "Post-norm needs learning-rate warm-up; pre-norm trains without it.",
        source: "Xiong et al. 2020",
    },
    Field {
        key: "train.min_lr",
        group: 8,
        label: "final lr",
        kind: Kind::Number,
        claim: "The learning rate cosine, linear and WSD decay to, often a tenth of the peak.",
        source: "Hoffmann et al. 2022 (Chinchilla)",
    },
    Field {
        key: "train.grad_clip",
        group: 8,
        label: "gradient clip",
        kind: Kind::Number,
        claim: "Clipping the global gradient norm (0: off) guards against loss spikes.",
        source: "GPT-2, LLaMA",
    },
    Field {
        key: "train.steps",
        group: 8,
        label: "steps",
        kind: Kind::Number,
        claim: "The schedules decay over this many steps.",
        source: "",
    },
    Field {
        key: "train.batch_size",
        group: 8,
        label: "batch",
        kind: Kind::Number,
        claim: "Sequences per step: small, so that a CPU step fits in a frame.",
        source: "",
    },
    Field {
        key: "train.seq_len",
        group: 8,
        label: "sequence length",
        kind: Kind::Number,
        claim: "Tokens per sequence, at most the context.",
        source: "",
    },
    Field {
        key: "train.seed",
        group: 8,
        label: "seed",
        kind: Kind::Number,
        claim: "Initialisation, dropout and batches: same seed, same run.",
        source: "",
    },
    Field {
        key: "train.eval_interval",
        group: 8,
        label: "evaluate every",
        kind: Kind::Number,
        claim: "Steps between validation losses; each evaluation costs four forward passes.",
        source: "",
    },
    Field {
        key: "data.source",
        group: 9,
        label: "data",
        kind: Kind::Choice(SOURCE),
        claim: "Characters give long sequences and a small embedding, bytes 256 tokens: the \
                vocabulary trades sequence length against embedding size.",
        source: "Lecture 3 (vocabulary size)",
    },
    Field {
        key: "data.source.tokenizer.vocab_size",
        group: 9,
        label: "BPE vocabulary",
        kind: Kind::Number,
        claim: "BPE merges frequent byte pairs: a larger vocabulary makes sequences shorter but \
                the embedding and output layer larger (257 to 8192 here).",
        source: "Sennrich et al. 2016 (BPE); Lecture 3 (vocabulary size)",
    },
    Field {
        key: "data.source.length",
        group: 9,
        label: "task length",
        kind: Kind::Number,
        claim: TASK,
        source: "",
    },
    Field {
        key: "data.source.symbols",
        group: 9,
        label: "symbols",
        kind: Kind::Number,
        claim: TASK,
        source: "",
    },
    Field {
        key: "data.source.segment",
        group: 9,
        label: "repeated segment",
        kind: Kind::Number,
        claim: TASK,
        source: "Olsson et al. 2022 (induction heads)",
    },
    Field {
        key: "data.source.modulus",
        group: 9,
        label: "modulus",
        kind: Kind::Number,
        claim: TASK,
        source: "",
    },
    Field {
        key: "model.init_std",
        group: 10,
        label: "init σ",
        kind: Kind::Number,
        claim:
            "Matrices and embeddings start as N(0, σ²); σ = 0.02 as in GPT-2. A larger σ starts \
                with larger logits and activations.",
        source: GPT2_INIT,
    },
    Field {
        key: "model.residual_scaling",
        group: 10,
        label: "residual scaling",
        kind: Kind::Toggle,
        claim: "Output projections of attention and MLP start scaled by 1/√(2 × layers), so that \
                the residual stream does not grow with depth at initialisation.",
        source: GPT2_INIT,
    },
];

/// The field with this key.
pub fn field(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == key)
}

/// The control a dotted key belongs to: its own, or the nearest one above it
/// (`data.source.tokenizer.kind` belongs to `data.source`).
pub fn owner(key: &str) -> Option<&'static Field> {
    FIELDS
        .iter()
        .filter(|f| key == f.key || key.starts_with(&format!("{}.", f.key)))
        .max_by_key(|f| f.key.len())
}

/// What a control shows for `field` in `run`: the option index of a choice, "true"/"false",
/// the number, "" for an unset optional value; None when the configuration has no such key.
pub fn shown_value(field: &Field, run: &RunConfig) -> Option<String> {
    let value = run.get(field.key)?;
    Some(match field.kind {
        Kind::Choice(options) => options
            .iter()
            .position(|(_, option)| same_variant(&parse(option), &value))
            .map_or_else(String::new, |i| i.to_string()),
        Kind::Optional(_) if value.is_null() => String::new(),
        _ => value_text(&value),
    })
}

/// The name of the option a choice `field` shows for `run`, up to any colon ("pre" of "pre:
/// x + F(Norm(x))", "sliding window"); None for other kinds.
pub fn option_label(field: &Field, run: &RunConfig) -> Option<&'static str> {
    let Kind::Choice(options) = field.kind else {
        return None;
    };
    let index: usize = shown_value(field, run)?.parse().ok()?;
    options[index].0.split(':').next()
}

/// What `RunConfig::set` is given when a control changes to `shown` (see [`shown_value`]).
pub fn set_value(field: &Field, shown: &str) -> String {
    match field.kind {
        Kind::Choice(options) => shown
            .parse::<usize>()
            .ok()
            .and_then(|i| options.get(i))
            .map_or_else(|| shown.to_string(), |(_, v)| v.to_string()),
        Kind::Optional(_) if shown.trim().is_empty() => "null".into(),
        _ => shown.trim().to_string(),
    }
}

/// The control an error about the dotted `field` belongs next to: the field itself, else the
/// control of the same section with the same last name (`data.task.symbols` is
/// `data.source.symbols`), else the first control under it.
pub fn control_for_error(field: &str) -> Option<&'static Field> {
    let section = field.split('.').next()?;
    let last = field.rsplit('.').next()?;
    self::field(field)
        .or_else(|| {
            FIELDS.iter().find(|f| {
                f.key.starts_with(section)
                    && f.key.rsplit('.').next() == Some(last)
                    && f.key != section
            })
        })
        .or_else(|| {
            FIELDS
                .iter()
                .find(|f| f.key.starts_with(&format!("{field}.")))
        })
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Whether two values are the same enum variant: equal strings, or objects with the same keys
/// whose string and object values are again the same variant (numbers may differ).
fn same_variant(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.keys().eq(b.keys())
                && a.iter().zip(b.values()).all(|((_, x), y)| match x {
                    Value::Number(_) => y.is_number(),
                    _ => same_variant(x, y),
                })
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_group_a_claim_and_a_unique_key() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert!(f.group < GROUPS.len(), "{}", f.key);
            assert!(!f.claim.is_empty(), "{}", f.key);
            assert!(
                FIELDS[..i].iter().all(|g| g.key != f.key),
                "{} twice",
                f.key
            );
        }
    }

    #[test]
    fn every_choice_option_is_accepted_by_the_page_defaults() {
        for f in FIELDS {
            if let Kind::Choice(options) = f.kind {
                for (i, (label, value)) in options.iter().enumerate() {
                    let mut run = crate::lab::page_defaults();
                    run.set(f.key, value)
                        .unwrap_or_else(|e| panic!("{label}: {e}"));
                    run.validate().unwrap_or_else(|e| panic!("{label}: {e}"));
                    assert_eq!(shown_value(f, &run), Some(i.to_string()), "{label}");
                }
            }
        }
    }

    #[test]
    fn every_key_exists_in_some_variant() {
        let run = crate::lab::page_defaults();
        for f in FIELDS {
            let shown = shown_value(f, &run).is_some();
            let parent = f.key.rsplit_once('.').map(|(p, _)| p).unwrap_or(f.key);
            let conditional = FIELDS
                .iter()
                .any(|g| parent.starts_with(g.key) && matches!(g.kind, Kind::Choice(_)));
            assert!(shown || conditional, "{} is never shown", f.key);
        }
    }

    #[test]
    fn shown_and_set_values_round_trip() {
        let mut run = crate::lab::page_defaults();
        let attention = field("model.attention").unwrap();
        assert_eq!(shown_value(attention, &run).unwrap(), "0");
        run.set(attention.key, &set_value(attention, "1")).unwrap();
        run.set("model.attention.sliding_window.window", "2")
            .unwrap();
        assert_eq!(
            shown_value(attention, &run).unwrap(),
            "1",
            "a window of 2 is still the sliding-window option"
        );
        let window = field("model.attention.sliding_window.window").unwrap();
        assert_eq!(shown_value(window, &run).unwrap(), "2");
        assert_eq!(
            shown_value(field("model.attention.sparse.local").unwrap(), &run),
            None
        );
        let d_ff = field("model.d_ff").unwrap();
        assert_eq!(shown_value(d_ff, &run).unwrap(), "");
        assert_eq!(set_value(d_ff, " "), "null");
        // A soft-cap is off when empty, and a number sets it.
        let cap = field("model.final_logit_softcap").unwrap();
        assert_eq!(shown_value(cap, &run).unwrap(), "");
        assert_eq!(set_value(cap, ""), "null");
        let mut capped = run.clone();
        capped.set(cap.key, &set_value(cap, "30")).unwrap();
        assert_eq!(capped.model.final_logit_softcap, Some(30.0));
        assert_eq!(shown_value(cap, &capped).unwrap(), "30");
        assert_eq!(
            shown_value(field("train.lr").unwrap(), &run).unwrap(),
            "0.003"
        );
        assert_eq!(
            shown_value(field("model.qk_norm").unwrap(), &run).unwrap(),
            "false"
        );
    }

    /// Every field of the model and training configurations has a control, but the two the
    /// page cannot set: the vocabulary (the data decides it) and the padding token (imported
    /// models only).
    #[test]
    fn every_model_and_training_field_is_a_control() {
        let run = crate::lab::page_defaults();
        let not_controls = ["model.vocab_size", "model.padding_token"];
        for section in ["model", "train"] {
            let tree = run.get(section).unwrap();
            for name in tree.as_object().unwrap().keys() {
                let key = format!("{section}.{name}");
                let controlled = FIELDS
                    .iter()
                    .any(|f| f.key == key || f.key.starts_with(&format!("{key}.")));
                assert_eq!(
                    controlled,
                    !not_controls.contains(&key.as_str()),
                    "{key} is not a control"
                );
            }
        }
    }

    #[test]
    fn the_bpe_option_shows_its_vocabulary_control() {
        let mut run = crate::lab::page_defaults();
        let vocab = field("data.source.tokenizer.vocab_size").unwrap();
        assert_eq!(
            shown_value(vocab, &run),
            None,
            "characters have no vocabulary size"
        );
        let data = field("data.source").unwrap();
        let bpe = match data.kind {
            Kind::Choice(options) => options.iter().position(|(l, _)| *l == "Shakespeare, BPE"),
            _ => None,
        }
        .unwrap();
        run.set(data.key, &set_value(data, &bpe.to_string()))
            .unwrap();
        run.set(vocab.key, "1024").unwrap();
        assert_eq!(shown_value(vocab, &run).as_deref(), Some("1024"));
        assert_eq!(
            shown_value(data, &run),
            Some(bpe.to_string()),
            "any vocabulary size is still the BPE option"
        );
        run.set(vocab.key, "100").unwrap();
        let error = run.validate().unwrap_err();
        assert_eq!(
            control_for_error(&error.field).map(|f| f.key),
            Some(vocab.key),
            "{error}"
        );
    }

    #[test]
    fn keys_find_their_owner() {
        let key = |k: &str| owner(k).map(|f| f.key);
        assert_eq!(key("data.source.tokenizer.kind"), Some("data.source"));
        assert_eq!(
            key("model.attention.sliding_window.window"),
            Some("model.attention.sliding_window.window")
        );
        assert_eq!(key("model.padding_token"), None);
    }

    #[test]
    fn errors_find_their_control() {
        let key = |field: &str| control_for_error(field).map(|f| f.key);
        assert_eq!(key("model.n_kv_heads"), Some("model.n_kv_heads"));
        assert_eq!(key("data.task.symbols"), Some("data.source.symbols"));
        assert_eq!(key("model.dropout.embd"), Some("model.dropout.embd"));
        assert_eq!(key("model.padding_token"), None);
        assert_eq!(key("model.dropout"), Some("model.dropout.resid"));
        assert_eq!(key("train.seq_len"), Some("train.seq_len"));
    }
}
