//! The names the lab composes in English, as the command line and the saved runs keep them
//! (a run's label "+QK-norm, lr 0.003 → 0.01", an experiment's variants and lanes "no final
//! norm seed 2", a claim's numbers), in the page's language: whole names by pattern first,
//! then every known phrase (the controls' labels and choices, the variants) by its Chinese.
//! Translated when shown, so a switch of language renames every run.

use super::fields::FIELDS;
use super::fields_text;
use super::i18n::{fill_holes, matches, Lang};
use crate::charts::Line;
use crate::train::experiments::EXPERIMENTS;
use crate::train::sweep::SWEEP;

/// Whole names, as (English pattern, Chinese); `{}` holds a name, itself translated, or a
/// value kept as it is. More specific patterns come first.
pub const NAMES: &[(&str, &str)] = &[
    // The charts' lines and the across-runs layer picker (`lab::views`, `lab::across_runs`);
    // a run's name before any pattern a label could hold.
    ("{} (validation)", "{}（验证）"),
    ("run {}: {}", "运行 {}：{}"),
    ("run {}", "运行 {}"),
    ("last layer (each run's)", "最后一层（各运行自己的）"),
    // The model's functions (`lab::model_views`).
    ("{}: this model's {}", "{}：本模型的 {}"),
    (
        "After layer {}: the last position sees {} of {} positions.",
        "第 {} 层之后：最后一个位置能看到 {} 个位置（共 {} 个）。",
    ),
    ("all layers of {}", "{} 的所有层"),
    ("page defaults", "页面默认设置"),
    ("rerun", "重新运行"),
    ("{}, +{} more", "{}，另有 {} 项"),
    ("your text ({} characters)", "你的文本（{} 个字符）"),
    ("opened checkpoint at step {}", "打开的检查点（第 {} 步）"),
    ("opened {}", "打开的 {}"),
    ("imported {}", "导入的 {}"),
    ("{} preset", "{} 预设"),
    ("{} seed {}", "{}，种子 {}"),
    ("{} at lr {}", "{}，学习率 {}"),
    ("{} ({} KV heads)", "{}（{} 个 KV 头）"),
    ("{} ({} KV head)", "{}（{} 个 KV 头）"),
    ("{} heads of {}", "{} 个头，每个 {} 维"),
    ("{} head of {}", "{} 个头，每个 {} 维"),
    ("no finite values to compare", "没有可比较的有限值"),
    // The sweep's table (`train::sweep::rows`).
    ("variant", "变体"),
    ("lr {}", "学习率 {}"),
    (
        "diverged at step {} ({}/{} seeds)",
        "在第 {} 步发散（{}/{} 个种子）",
    ),
    ("diverged at step {}", "在第 {} 步发散"),
    // The kernel check's rows (`lab::kernel_check`).
    (
        "{}: wrote {} floats past C",
        "{}：在 C 之后多写了 {} 个浮点数",
    ),
    ("{} (Large tile)", "{}（大分块）"),
    ("{} (Small tile)", "{}（小分块）"),
    ("matmul {} +bias{}", "矩阵乘法 {} +偏置{}"),
    ("matmul {}", "矩阵乘法 {}"),
    (
        "training, {}: {} steps, loss vs CPU",
        "训练，{}：{} 步，损失与 CPU 对比",
    ),
    ("{} toggles", "{} 的开关组合"),
    // The WebGPU adapter's table (`gpu::AdapterSummary::rows`).
    ("adapter", "适配器"),
    ("backend", "后端"),
    ("device type", "设备类型"),
    ("software / fallback adapter", "软件 / 回退适配器"),
    ("driver", "驱动"),
    ("max storage binding", "最大存储绑定"),
    ("max buffer", "最大缓冲区"),
    ("storage buffers per stage", "每个着色器阶段的存储缓冲区数"),
    ("workgroup storage", "工作组共享存储"),
    ("invocations per workgroup", "每个工作组的调用数"),
    ("workgroups per dimension", "每个维度的工作组数"),
    ("timestamp queries", "时间戳查询"),
    ("shader-f16", "着色器 f16"),
    ("yes", "是"),
    ("no", "否"),
    ("(not disclosed by the browser)", "（浏览器未公开）"),
];

/// Phrases inside names, as (English, Chinese), besides the controls' labels and choices:
/// the experiments' variants and the words of a claim's numbers.
pub const PHRASES: &[(&str, &str)] = &[
    ("pre-norm", "前置归一化"),
    ("post-norm", "后置归一化"),
    ("double (sandwich)", "双重（三明治）"),
    ("post-in-branch", "分支内后置"),
    ("no norm", "无归一化"),
    ("final norm", "最终归一化"),
    ("no final norm", "无最终归一化"),
    ("no biases", "无偏置"),
    ("biases", "有偏置"),
    ("serial", "串行"),
    ("parallel", "并行"),
    ("learned", "可学习"),
    ("sinusoidal", "正弦"),
    ("none", "无"),
    ("plain", "无稳定措施"),
    ("full", "完整注意力"),
    ("characters", "字符"),
    // The tour's block diagrams.
    ("Attention", "注意力"),
    // The page's own preset (`train::presets`).
    ("page default", "页面默认"),
    ("LLaMA-style", "LLaMA 风格"),
    ("layer", "层"),
    ("no dropout", "无 dropout"),
    ("wd", "权重衰减"),
    ("every 2nd layer global", "每 2 层一个全局层"),
    ("sparse", "稀疏"),
    ("bits per character", "比特/字符"),
    // The RMS-across-layers chart's lines (`lab::views::profile_lines`).
    ("residual stream", "残差流"),
    ("attention branch", "注意力分支"),
    ("MLP branch", "MLP 分支"),
    ("vs", "对"),
    ("difference", "差值"),
    ("largest spread", "种子间最大差异"),
    (
        "no spread (from the configuration)",
        "无种子间差异（由配置决定）",
    ),
];

/// `name` in `lang`: a whole-name pattern with its names translated, else each known phrase
/// (at word boundaries, the longest first) in Chinese; what no table knows stays.
pub fn name(lang: Lang, name: &str) -> String {
    if lang == Lang::En {
        return name.to_string();
    }
    // A list reads with the Chinese comma.
    whole_name(lang, name).unwrap_or_else(|| replace_phrases(name, &phrases()).replace(", ", "，"))
}

/// A chart's legend, its runs, variants and layers named in `lang`.
pub fn name_lines(lang: Lang, lines: &mut [Line]) {
    for line in lines {
        line.label = name(lang, &line.label);
    }
}

/// `name` in `lang` by the first whole-name pattern it matches, its names translated; None
/// where no pattern matches (a text that is no name the lab composes, such as an adapter's,
/// must not have phrases replaced inside it).
pub fn whole_name(lang: Lang, name: &str) -> Option<String> {
    if lang == Lang::En {
        return Some(name.to_string());
    }
    NAMES.iter().find_map(|&(english, chinese)| {
        let values = matches(english, name)?;
        let values: Vec<String> = values.iter().map(|v| self::name(lang, v)).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        Some(fill_holes(chinese, &values))
    })
}

/// Every phrase a name may hold, (English, Chinese), the longest English first.
fn phrases() -> Vec<(&'static str, &'static str)> {
    let labels = FIELDS
        .iter()
        .map(|field| (field.label, fields_text::label(Lang::Zh, field)));
    // A run's label names a choice by its short form, before the colon ("pre", "shared").
    let options = fields_text::OPTIONS_ZH.iter().flat_map(|&(en, zh)| {
        let short = (en.split(':').next(), zh.split('：').next());
        [Some((en, zh)), short.0.zip(short.1)]
    });
    // An experiment's name is the command line's (`archlab experiment norm-position`): kept
    // whole, not read as words ("position").
    let experiments = EXPERIMENTS.iter().chain([&SWEEP]).map(|e| (e.name, e.name));
    let mut all: Vec<(&str, &str)> = (PHRASES.iter().copied())
        .chain(labels)
        .chain(options.flatten())
        .filter(|(en, zh)| en != zh)
        .chain(experiments)
        .collect();
    all.sort_by_key(|(en, _)| std::cmp::Reverse(en.len()));
    all
}

/// `text` with each phrase that stands as whole words replaced, the first of `phrases` that
/// fits at each place.
fn replace_phrases(text: &str, phrases: &[(&str, &str)]) -> String {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut out = String::new();
    let mut at = 0;
    'scan: while at < text.len() {
        let rest = &text[at..];
        if !word(text[..at].chars().next_back()) {
            for (en, zh) in phrases {
                if rest.starts_with(en) && !word(rest[en.len()..].chars().next()) {
                    out.push_str(zh);
                    at += en.len();
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().expect("inside the text");
        out.push(c);
        at += c.len_utf8();
    }
    out
}

/// Latin words left in `text` beyond the technical names Chinese texts keep.
#[cfg(test)]
pub(crate) fn english_words(text: &str) -> Vec<&str> {
    const SAME: &[&str] = &[
        "logit",
        "FLOPs",
        "RMSNorm",
        "LayerNorm",
        "ReLU",
        "GeLU",
        "SwiGLU",
        "GeGLU",
        "RoPE",
        "ALiBi",
        "NoPE",
        "QK-norm",
        "z-loss",
        "MHA",
        "GQA",
        "MQA",
        "KV",
        "lr",
        "nats/token",
        "d_ff",
        "d_model",
        "LLaMA",
        "MLP",
        "CPU",
        "GPU",
        "WebGPU",
        "WebAssembly",
        "GiB",
        "MiB",
        "KiB",
        "tokens/s",
        "token",
        "s",
        "ms",
        "BPE",
        "dropout",
    ];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_/".contains(c)))
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        // A key or number (an underscore or a digit in it) is not a word.
        .filter(|w| !w.chars().any(|c| c.is_ascii_digit() || c == '_') && !SAME.contains(w))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::{page_defaults, run_label};

    #[test]
    fn run_labels_read_in_chinese() {
        let base = page_defaults();
        let mut qk = base.clone();
        qk.set("model.qk_norm", "true").unwrap();
        qk.set("train.lr", "0.01").unwrap();
        qk.set("model.norm_position", "post").unwrap();
        qk.set("model.n_kv_heads", "1").unwrap();
        qk.set("model.norm", "layer_norm").unwrap();
        let label = run_label(Some(&base), &qk, &base);
        assert!(label.ends_with(" more"), "{label}");
        let zh = name(Lang::Zh, &label);
        assert!(english_words(&zh).is_empty(), "{label} → {zh}");
        assert!(zh.contains("后置") && zh.contains("另有 2 项"), "{zh}");
        assert_eq!(name(Lang::Zh, "page defaults"), "页面默认设置");
        assert_eq!(
            name(Lang::Zh, "your text (120 characters)"),
            "你的文本（120 个字符）"
        );
        assert_eq!(name(Lang::En, &label), label);
        // Whole words only: "normal" is no "norm".
        assert_eq!(replace_phrases("normal norm", &[("norm", "N")]), "normal N");
    }

    /// The WebGPU adapter's table reads in Chinese: every label, and the values that are
    /// words; an adapter's own name stays as it is.
    #[test]
    fn the_adapter_table_reads_in_chinese() {
        let adapter = crate::gpu::AdapterSummary::example("", true);
        for (label, value) in adapter.rows() {
            let label = whole_name(Lang::Zh, label).unwrap_or_default();
            assert!(
                english_words(&label).is_empty() && !label.is_empty(),
                "{label}"
            );
            if let Some(value) = whole_name(Lang::Zh, &value) {
                assert!(english_words(&value).is_empty(), "{label}: {value}");
            }
        }
        let words = |value: &str| whole_name(Lang::Zh, value);
        assert_eq!(words("yes").as_deref(), Some("是"));
        assert_eq!(
            words("(not disclosed by the browser)").as_deref(),
            Some("（浏览器未公开）")
        );
        assert_eq!(
            words("llvmpipe (full parallel)"),
            None,
            "an adapter's name is kept"
        );
    }

    /// Every variant of every experiment and the sweep, and each lane's name, reads in
    /// Chinese but for the technical names.
    #[test]
    fn variants_and_lanes_read_in_chinese() {
        for experiment in EXPERIMENTS.iter().chain([&SWEEP]) {
            for (variant, _) in experiment.variants {
                for text in [
                    variant.to_string(),
                    format!("{variant} seed 2"),
                    format!("{variant} at lr 1e-3"),
                    // The across-runs layer picker's option for a lane.
                    format!("all layers of {variant} seed 2"),
                ] {
                    let zh = name(Lang::Zh, &text);
                    assert!(english_words(&zh).is_empty(), "{text} → {zh}");
                }
                // The run of one variant (`Lab::show_variant`): the experiment's name in
                // Chinese or whole ("norm-position", not "norm-" and the Chinese for
                // "position").
                let run = name(Lang::Zh, &format!("{}: {variant}", experiment.name));
                let rest = run.replacen(experiment.name, "", 1);
                assert!(english_words(&rest).is_empty(), "{run}");
            }
        }
    }
}
