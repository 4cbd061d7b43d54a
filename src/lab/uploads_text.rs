//! The refusals of uploaded files in Chinese: a checkpoint (ours, or a Hugging Face folder's
//! `config.json`, `model.safetensors` and `tokenizer.json`) and a run JSON. The checkpoint and
//! train layers write them in English, as the command line prints them; `i18n::translate`
//! reads them through these (English pattern with `{}` holes, Chinese) pairs, the values kept.

/// Where a refusal is, ahead of its reason ("checkpoint: config.json: model_type: …"), in
/// Chinese; a place without spaces (a file, key or tensor name) stays as it is.
pub const PLACES: &[(&str, &str)] = &[
    ("checkpoint", "检查点"),
    ("the run JSON", "运行 JSON"),
    ("the session file", "会话文件"),
    ("the newest run's checkpoint", "最新运行的检查点"),
    ("the newest run's tokenizer", "最新运行的分词器"),
    ("the link's session", "链接中的会话"),
    ("run {}", "运行 {}"),
    ("experiment {}", "实验 {}"),
    ("lane {}", "通道 {}"),
    ("{} (as {})", "{}（作为 {}）"),
];

/// The reasons, as (English pattern, Chinese); more specific patterns come first.
pub const REFUSALS: &[(&str, &str)] = &[
    // Which files (`checkpoint::open`).
    (
        "missing: choose the checkpoint's .safetensors file (with its folder's archlab.json or \
         config.json)",
        "缺失：请选择检查点的 .safetensors 文件（连同其文件夹中的 archlab.json 或 config.json）",
    ),
    (
        "missing: the tensor file carries no archlab.json; choose its folder's archlab.json \
         (ours) or config.json (Hugging Face) with it",
        "缺失：张量文件中没有 archlab.json；请连同其文件夹中的 archlab.json（本工具的）或 \
         config.json（Hugging Face 的）一起选择",
    ),
    // Our checkpoint (`Checkpoint::from_bytes`, `check_fits`).
    (
        "{} is not \"archlab-checkpoint-1\"",
        "{} 不是 \"archlab-checkpoint-1\"",
    ),
    (
        "holds {} bytes, too few for the model {} describes: its weight matrices alone need at \
         least {} bytes",
        "只有 {} 字节，对 {} 描述的模型来说太少：仅其权重矩阵就至少需要 {} 字节",
    ),
    ("is not a tensor of this model", "不是此模型的张量"),
    ("is missing", "缺失"),
    ("has shape {}, the model needs {}", "形状为 {}，模型需要 {}"),
    (
        "has shape {}, the config needs {}",
        "形状为 {}，配置需要 {}",
    ),
    // The tensor file (`checkpoint::tensors`, and the safetensors crate's own words).
    (
        "dtype {} is not supported (F32, F16 and BF16 are)",
        "不支持数据类型 {}（支持 F32、F16 和 BF16）",
    ),
    (
        "not a valid safetensors file: {}",
        "不是有效的 safetensors 文件：{}",
    ),
    (
        "its header claims {} bytes, the file has {} after the length: truncated, or not a \
         safetensors file",
        "其文件头声称有 {} 字节，而长度之后文件只有 {} 字节：文件被截断，或不是 safetensors \
         文件",
    ),
    ("invalid UTF-8 in header: {}", "文件头中有无效的 UTF-8：{}"),
    ("invalid JSON in header: {}", "文件头中的 JSON 无效：{}"),
    ("JSON error: {}", "JSON 错误：{}"),
    ("header too large", "文件头过大"),
    ("header too small", "文件头过小"),
    ("invalid header length", "文件头长度无效"),
    ("tensor `{}` not found", "找不到张量 `{}`"),
    (
        "invalid shape, data type, or offset for tensor",
        "张量的形状、数据类型或偏移无效",
    ),
    ("invalid offset for tensor `{}`", "张量 `{}` 的偏移无效"),
    (
        "tensor of type {} and shape ({}) can't be created from {} bytes",
        "类型为 {}、形状为 ({}) 的张量无法由 {} 字节创建",
    ),
    (
        "incomplete metadata, file not fully covered",
        "元数据不完整，未覆盖整个文件",
    ),
    (
        "overflow computing buffer size from shape and/or element type",
        "由形状和元素类型计算缓冲区大小时溢出",
    ),
    // A Hugging Face folder (`checkpoint::hf`).
    (
        "its token ids reach {}, beyond the model's vocabulary of {} (config.json's vocab_size): \
         it is not this model's tokenizer",
        "其 token id 达到 {}，超出了模型大小为 {} 的词表（config.json 的 vocab_size）：它不是此\
         模型的分词器",
    ),
    ("not valid JSON: {}", "不是有效的 JSON：{}"),
    ("must be a JSON object", "必须是 JSON 对象"),
    (
        "differs from the embedding, but tie_word_embeddings is true",
        "与嵌入不同，但 tie_word_embeddings 为 true",
    ),
    ("is not a tensor of {}", "不是 {} 的张量"),
    // Its config.json (`checkpoint::hf::config`).
    (
        "{} is not supported; archlab reads {}",
        "{} 不受支持；archlab 读取 {}",
    ),
    ("must list exactly one architecture", "必须恰好列出一个架构"),
    ("{} is not a string", "{} 不是字符串"),
    (
        "{} is not the family of {} ({})",
        "{} 不是 {}（{}）的模型族",
    ),
    (
        "missing, and so is model_type: the file does not say which model it is",
        "缺失，model_type 也缺失：文件没有说明它是哪个模型",
    ),
    ("is required by sliding layers", "滑动窗口层需要它"),
    ("is required", "是必需的"),
    ("{} is not a non-negative integer", "{} 不是非负整数"),
    ("{} is not a number or null", "{} 不是数或 null"),
    ("{} is not true or false", "{} 不是 `true` 或 `false`"),
    ("must be an object", "必须是对象"),
    ("must be a list of strings", "必须是字符串列表"),
    (
        "differs from attention_bias; archlab has one bias switch for every linear layer",
        "与 attention_bias 不同；archlab 对所有线性层只有一个偏置开关",
    ),
    (
        "only full_attention layers are supported",
        "只支持 full_attention 层",
    ),
    ("{} entries for {} layers", "{} 个条目，但有 {} 层"),
    ("is not supported for {}", "对 {} 不受支持"),
    ("is not supported", "不受支持"),
    (
        "{} is not supported (gelu_new, gelu, relu are)",
        "{} 不受支持（支持 `gelu_new`、`gelu`、`relu`）",
    ),
    (
        "{} is not supported (gelu, gelu_new, relu are)",
        "{} 不受支持（支持 `gelu`、`gelu_new`、`relu`）",
    ),
    (
        "{} is not supported (sliding_attention, full_attention are)",
        "{} 不受支持（支持 `sliding_attention`、`full_attention`）",
    ),
    // Why a value is not supported (the second hole of the pattern above).
    ("only unscaled RoPE is supported", "只支持不缩放的 RoPE"),
    ("RoPE rotates whole heads here", "这里 RoPE 旋转整个头"),
    (
        "archlab's gated MLP here is SwiGLU",
        "archlab 在这里的门控 MLP 是 SwiGLU",
    ),
    (
        "a tensor-parallel split changes numerics",
        "张量并行切分会改变数值",
    ),
    ("attention is scaled by 1/√d", "注意力按 1/√d 缩放"),
    ("no per-layer scale", "没有逐层缩放"),
    ("decoder-only models", "只支持仅解码器模型"),
    (
        "GPT-NeoX's MLP and norms always have biases, and archlab has one bias switch",
        "GPT-NeoX 的 MLP 和归一化总有偏置，而 archlab 只有一个偏置开关",
    ),
    (
        "archlab's Gemma 2 MLP is GeGLU with the tanh GeLU",
        "archlab 的 Gemma 2 MLP 是使用 tanh GeLU 的 GeGLU",
    ),
    (
        "Gemma 2's MLP has no biases, and archlab has one bias switch",
        "Gemma 2 的 MLP 没有偏置，而 archlab 只有一个偏置开关",
    ),
    ("archlab's attention is causal", "archlab 的注意力是因果的"),
    (
        "archlab scales attention logits by 1/√head_dim ({})",
        "archlab 按 1/√head_dim（{}）缩放注意力 logit",
    ),
    // Its tokenizer.json (`train::hf_tokenizer`).
    ("has no \"type\"", "没有 \"type\""),
    ("a Sequence without its \"{}\"", "Sequence 缺少其 \"{}\""),
    (
        "archlab reads BPE tokenizers (byte-level: GPT-2, LLaMA 3, Qwen; SentencePiece-style: \
         LLaMA 2, Mistral)",
        "archlab 读取 BPE 分词器（字节级：GPT-2、LLaMA 3、Qwen；SentencePiece 风格：LLaMA 2、\
         Mistral）",
    ),
    (
        "Metaspace prepend_scheme {} is not always, first or never",
        "Metaspace 的 prepend_scheme {} 不是 \"always\"、\"first\" 或 \"never\"",
    ),
    (
        "a Replace with the regex {} is not supported (plain strings are)",
        "不支持使用正则表达式 {} 的 Replace（支持普通字符串）",
    ),
    ("a Prepend without \"prepend\"", "Prepend 缺少 \"prepend\""),
    (
        "the Split {} is not one archlab runs: it runs GPT-2's, LLaMA 3's and Qwen 2's split \
         patterns, isolated, not inverted",
        "archlab 不运行 Split {}：它只运行 GPT-2、LLaMA 3 和 Qwen 2 的切分模式（`behavior` 为 \
         \"Isolated\"，不反转）",
    ),
    (
        "{} is set: the BPE models archlab reads have none",
        "设置了 `{}`：archlab 读取的 BPE 模型没有这一项",
    ),
    (
        "merge {} uses {}, which is not in the vocabulary",
        "合并规则 {} 用到了 {}，它不在词表中",
    ),
    (
        "merge {} ({}) is not two tokens",
        "合并规则 {}（{}）不是两个 token",
    ),
    ("{} is not in the vocabulary", "{} 不在词表中"),
    (
        "{} sets {}, which archlab does not run",
        "{} 设置了 `{}`，archlab 不运行这一选项",
    ),
    ("token {} is empty", "token {} 为空"),
    // The data a run JSON names (`train::data`).
    (
        "{} must lie strictly between 0 and 1: both splits need tokens",
        "{} 必须严格介于 0 和 1 之间：两个划分都需要 token",
    ),
    // A run JSON (`Lab::import_run`, `store::check_history`).
    ("it is not text (UTF-8)", "它不是文本（UTF-8）"),
    (
        "it does not fit the format of the page's run JSON ({})",
        "它不符合页面运行 JSON 的格式（{}）",
    ),
    (
        "its history has step {} where step {} belongs",
        "它的历史中出现了第 {} 步，而那里应是第 {} 步",
    ),
    ("its data cannot be built: {}", "无法构建它的数据：{}"),
    // What the browser kept, a shared link and a session file (`lab::store`,
    // `lab::kept_experiment`, `lab::reload`, `lab::session`).
    (
        "the saved runs are not readable JSON ({})",
        "保存的运行不是可读的 JSON（{}）",
    ),
    (
        "they were saved in version {} of the format, and this page reads version {}",
        "它们以第 {} 版格式保存；本页读取第 {} 版",
    ),
    (
        "they name no version of the format",
        "它们没有注明格式的版本",
    ),
    (
        "they are not archlab's saved runs",
        "它们不是 archlab 保存的运行",
    ),
    (
        "the saved runs do not fit the format ({})",
        "保存的运行不符合格式（{}）",
    ),
    (
        "its id is not between {} and the next id {}",
        "它的 id 不在 {} 与下一个 id {} 之间",
    ),
    ("there is no run it belongs to", "没有它所属的运行"),
    (
        "it is not of run {}'s configuration",
        "它不是运行 {} 的配置",
    ),
    (
        "its step {} is outside run {}'s steps {} to {}",
        "它的第 {} 步不在运行 {} 的第 {} 到第 {} 步之间",
    ),
    (
        "its checkpoint takes {} MiB, over the {} MiB this page keeps",
        "它的检查点占 {} MiB，超过本页最多保存的 {} MiB",
    ),
    ("it has no lanes", "它没有通道"),
    (
        "{} lanes for {} learning rates of {} variants",
        "{} 个通道，对应 {} 个学习率和 {} 个变体，数目不符",
    ),
    (
        "variant {} at seed {} is not one of its {} variants at {} seeds",
        "变体 {}（种子 {}）不在它的 {} 个变体、{} 个种子之中",
    ),
    (
        "only the learning-rate sweep has learning rates",
        "只有学习率扫描才有学习率",
    ),
    ("unknown experiment {}", "未知的实验 {}"),
    ("run {} cannot be rebuilt: {}", "运行 {} 无法重建：{}"),
    (
        "the link's session is not base64url (the link was cut or changed)",
        "链接中的会话不是 base64url（链接被截断或改动过）",
    ),
    (
        "the link's session does not inflate (the link was cut or changed)",
        "链接中的会话无法解压（链接被截断或改动过）",
    ),
    ("the link's session is not text", "链接中的会话不是文本"),
    // JSON syntax (serde_json), with where it is.
    ("{} at line {} column {}", "{}（第 {} 行第 {} 列）"),
    ("EOF while parsing a list", "解析列表时文件结束"),
    ("EOF while parsing an object", "解析对象时文件结束"),
    ("EOF while parsing a string", "解析字符串时文件结束"),
    ("EOF while parsing a value", "解析值时文件结束"),
    ("expected `:`", "应为 `:`"),
    ("expected `,` or `]`", "应为 `,` 或 `]`"),
    ("expected `,` or `}`", "应为 `,` 或 `}`"),
    ("expected ident", "应为标识符"),
    ("expected value", "应为值"),
    ("expected `\"`", "应为 `\"`"),
    ("invalid escape", "转义无效"),
    ("invalid number", "数字无效"),
    ("number out of range", "数字超出范围"),
    ("invalid unicode code point", "Unicode 码位无效"),
    (
        "control character (\\u0000-\\u001F) found while parsing a string",
        "解析字符串时遇到控制字符（\\u0000-\\u001F）",
    ),
    ("key must be a string", "键必须是字符串"),
    ("trailing comma", "多余的逗号"),
    ("trailing characters", "多余的字符"),
    ("recursion limit exceeded", "超出递归深度限制"),
    // serde's words for what a value is and was expected to be.
    ("invalid length {}, expected {}", "长度无效：{}，应为 {}"),
    ("duplicate field `{}`", "字段 `{}` 重复"),
    ("integer {}", "整数 {}"),
    ("floating point {}", "浮点数 {}"),
    ("string or map", "字符串或对象"),
    ("string {}", "字符串 {}"),
    ("boolean {}", "布尔值 {}"),
    ("a string", "字符串"),
    ("a boolean", "布尔值"),
    ("a sequence", "序列"),
    ("sequence", "序列"),
    ("map", "对象"),
    ("unit value", "空值"),
    ("a map", "对象"),
    ("struct {}", "对象 `{}`"),
    ("enum {}", "枚举 `{}`"),
    ("variant identifier", "选项名"),
    ("field identifier", "字段名"),
    ("usize", "非负整数"),
    ("u32", "非负整数"),
    ("u64", "非负整数"),
    ("f32", "数"),
    ("f64", "数"),
    ("one of {}", "{} 之一"),
    ("`{}` or `{}`", "`{}` 或 `{}`"),
    ("map with a single key", "只有一个键的对象"),
    ("a character", "单个字符"),
    ("internally tagged enum {}", "带类型标记的枚举 `{}`"),
    // Last: the general refusals of a value (more specific ones above).
    ("{} is not supported ({} are)", "{} 不受支持（支持 {}）"),
    ("{} is not supported: {}", "{} 不受支持：{}"),
    ("{} is not supported", "{} 不受支持"),
];

#[cfg(test)]
mod tests {
    use super::super::i18n::{translate, Lang};
    use crate::checkpoint::hf::Family;
    use crate::lab::checkpoints::tests::{fixture, hf_folder};
    use crate::lab::checkpoints::CheckpointOf;
    use crate::lab::tests::{clock, settings};
    use crate::lab::{page_defaults, Lab};
    use serde_json::{json, Value};
    use std::collections::BTreeSet;

    /// Files of one upload: (name, bytes).
    type Files = Vec<(String, Vec<u8>)>;

    fn file(name: &str, bytes: impl Into<Vec<u8>>) -> (String, Vec<u8>) {
        (name.to_string(), bytes.into())
    }

    /// The words of `text` in Latin letters that are not names (a file, key, tensor or number:
    /// a dot, an underscore or a digit in it; a quoted or backquoted value; the families,
    /// formats and techniques that read the same in Chinese).
    fn english_left(text: &str) -> Vec<String> {
        let mut same: Vec<&str> = vec![
            "MiB",
            "archlab",
            "safetensors",
            "JSON",
            "UTF-8",
            "Hugging",
            "Face",
            "token",
            "BPE",
            "SentencePiece",
            "Metaspace",
            "Sequence",
            "Replace",
            "Prepend",
            "Split",
            "RoPE",
            "MLP",
            "GeLU",
            "GeGLU",
            "SwiGLU",
            "GPT-NeoX",
            "GPT-2",
            "LLaMA",
            "Qwen",
            "Mistral",
            "Gemma",
            "logit",
            "tanh",
            "true",
            "null",
            "Unicode",
            "AdamW",
            "CPU",
            "lr",
            "KiB",
            "GiB",
            "TiB",
            "PiB",
            "EiB",
            // The run configuration's section, named as its key.
            "model",
            "id",
        ];
        for family in Family::ALL {
            same.extend([family.architecture(), family.model_type()]);
        }
        // An experiment's name, as a place ("实验 kv-heads：…").
        same.extend(crate::train::experiments::EXPERIMENTS.map(|e| e.name));
        same.push(crate::train::sweep::SWEEP.name);
        // A place kept as it is ahead of its reason: a key or file ("decoder：…").
        let mut parts: Vec<&str> = text.split('：').collect();
        let reason = parts.pop().unwrap_or_default();
        parts.retain(|place| place.contains(|c: char| c.is_whitespace() || !c.is_ascii()));
        parts.push(reason);
        let text = parts.join("：");
        let mut unquoted = String::new();
        let mut quote = None;
        for c in text.chars() {
            match (quote, c) {
                (None, '"' | '`') => quote = Some(c),
                (Some(open), c) if c == open => quote = None,
                (None, c) => unquoted.push(c),
                _ => {}
            }
        }
        unquoted
            .split(|c: char| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
            .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
            .filter(|w| !w.chars().any(|c| c.is_ascii_digit() || "_./".contains(c)))
            .filter(|w| !same.contains(w))
            .map(String::from)
            .collect()
    }

    /// Fails, naming them, on the messages with English words left in Chinese, and when
    /// there are no more than `at_least` (the breaking that found them went wrong).
    fn assert_read_in_chinese(messages: &BTreeSet<String>, at_least: usize) {
        assert!(
            messages.len() > at_least,
            "only {} refusals",
            messages.len()
        );
        let english: Vec<String> = (messages.iter())
            .filter_map(|message| {
                let chinese = translate(Lang::Zh, message);
                let left = english_left(&chinese);
                (!left.is_empty()).then(|| format!("{message}\n  → {chinese}\n  {left:?}"))
            })
            .collect();
        assert!(
            english.is_empty(),
            "English left in {} of {}:\n{}",
            english.len(),
            messages.len(),
            english.join("\n")
        );
    }

    /// `value` with each part broken in turn, down `depth` levels of objects (and the first
    /// entry of lists), not inside long tables (a vocabulary): removed, replaced by a value of
    /// each kind, or broken inside; and with a key it does not know.
    fn broken(value: &Value, depth: usize) -> Vec<Value> {
        let kinds = [
            json!(""),
            json!("x"),
            json!(-1),
            json!(1.5),
            json!(true),
            json!([]),
            json!(["x", "y"]),
            json!({"x": 1}),
            json!(1_000_000_000),
        ];
        let mut out = Vec::new();
        match value {
            Value::Object(map) if map.len() <= 64 => {
                for (key, inner) in map {
                    let mut without = map.clone();
                    without.remove(key);
                    out.push(Value::Object(without));
                    let inside = match depth {
                        0 => Vec::new(),
                        _ => broken(inner, depth - 1),
                    };
                    for replaced in kinds.iter().cloned().chain(inside) {
                        let mut changed = map.clone();
                        changed.insert(key.clone(), replaced);
                        out.push(Value::Object(changed));
                    }
                }
                let mut unknown = map.clone();
                unknown.insert("unknown_key".into(), json!(1));
                out.push(Value::Object(unknown));
            }
            Value::Array(list) if !list.is_empty() && depth > 0 => {
                for first in broken(&list[0], depth - 1) {
                    let mut changed = list.clone();
                    changed[0] = first;
                    out.push(Value::Array(changed));
                }
            }
            _ => {}
        }
        out
    }

    /// `json` broken part by part (see `broken`), and not JSON at all.
    fn broken_json(json: &str, depth: usize) -> Vec<String> {
        let value: Value = serde_json::from_str(json).unwrap();
        let mut out: Vec<String> = broken(&value, depth).iter().map(Value::to_string).collect();
        out.extend(["".into(), "not json".into(), "{".into(), "[]".into()]);
        out
    }

    /// Every refusal of a broken upload the page can show (our checkpoint's files, a Hugging
    /// Face folder's config.json, tensors and tokenizer.json of each family, a run JSON),
    /// found by breaking each part of good files, reads in Chinese: no English word left but
    /// names. A new English refusal without a Chinese pattern fails here.
    #[test]
    fn refusals_of_uploads_read_in_chinese() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        let Some(CheckpointOf::Ready(saved)) = lab.runs[0].checkpoint() else {
            panic!("the CPU engine's checkpoint is ready at once");
        };
        let (manifest, weights) = saved.to_bytes().unwrap();
        let mut uploads: Vec<Files> = vec![
            vec![file("archlab.json", manifest.clone())],
            vec![file("run.safetensors", b"1234".to_vec())],
            vec![file(
                "run.safetensors",
                weights[..weights.len() - 100].to_vec(),
            )],
        ];
        let mut huge_header = weights.clone();
        huge_header[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        uploads.push(vec![file("run.safetensors", huge_header)]);
        let mut bad_header = 2u64.to_le_bytes().to_vec();
        bad_header.extend(b"{[");
        uploads.push(vec![file("run.safetensors", bad_header)]);
        for manifest in broken_json(&manifest, 3) {
            uploads.push(vec![
                file("archlab.json", manifest),
                file("model.safetensors", weights.clone()),
            ]);
        }
        // A tensor too many, and one of a dtype we do not read.
        let layout = crate::model::ParamLayout::new(&saved.run.model);
        let mut tensors = crate::checkpoint::named(&layout, &saved.params, "");
        let extra = tensors.values().next().unwrap().clone();
        tensors.insert("extra.weight".into(), extra);
        let metadata = [("archlab.json".to_string(), manifest.clone())].into();
        let extra = crate::checkpoint::tensors::write(&tensors, Some(metadata)).unwrap();
        uploads.push(vec![file("run.safetensors", extra)]);
        let ints = safetensors::tensor::TensorView::new(
            safetensors::tensor::Dtype::I32,
            vec![1],
            &[0, 0, 0, 0],
        )
        .unwrap();
        let ints = safetensors::tensor::serialize([("x", ints)], None).unwrap();
        uploads.push(vec![
            file("archlab.json", manifest.clone()),
            file("model.safetensors", ints),
        ]);

        // A Hugging Face folder of each family, each key of its config.json broken.
        let mut folders = vec![hf_folder(600, "")];
        for preset in &crate::train::presets::PRESETS {
            if preset.export.is_some() {
                let params = crate::model::ParamLayout::new(&preset.model).init(1);
                let (config, weights) = crate::checkpoint::hf::export(&preset.model, &params)
                    .unwrap_or_else(|e| panic!("{}: {e}", preset.name));
                folders.push(vec![
                    file("config.json", config),
                    file("model.safetensors", weights),
                ]);
            }
        }
        for folder in &folders {
            let config = String::from_utf8(folder[0].1.clone()).unwrap();
            let weights = &folder[1].1;
            for config in broken_json(&config, 2) {
                uploads.push(vec![
                    file("config.json", config),
                    file("model.safetensors", weights.clone()),
                ]);
            }
            uploads.push(vec![folder[0].clone()]);
            uploads.push(vec![
                folder[0].clone(),
                file("model.safetensors", &weights[..64]),
            ]);
        }
        // Its tokenizer.json broken part by part, and one of another model.
        let mut tokenizers = vec![
            fixture("gpt2").0,
            fixture("llama2").0.replace(
                "\"pattern\":{\"String\":\" \"}",
                "\"pattern\":{\"Regex\":\" \"}",
            ),
        ];
        for name in ["llama2", "llama3", "mistral"] {
            tokenizers.extend(broken_json(&fixture(name).0, 4));
        }
        // One model for them all: its random initial values are most of this test's time.
        let folder = hf_folder(600, "");
        for tokenizer in tokenizers {
            let mut folder = folder.clone();
            folder[2].1 = tokenizer.into_bytes();
            uploads.push(folder);
        }

        let mut messages = BTreeSet::new();
        for upload in &uploads {
            if let Err(error) = lab.open_checkpoint(upload) {
                messages.insert(error.to_string());
            }
        }
        // A run JSON, cut and broken.
        let mut trained = Lab::new(page_defaults(), &settings(&[("train.steps", "3")]), None);
        while trained.train(1.0, &clock()) > 0 {}
        let run = crate::lab::export::run_json(&trained.runs[0]);
        let mut runs = vec![b"\xff".to_vec()];
        runs.extend(
            (0..run.len())
                .step_by(97)
                .map(|cut| run.as_bytes()[..cut].to_vec()),
        );
        runs.extend(broken_json(&run, 3).into_iter().map(String::into_bytes));
        runs.push(run.replacen("\"step\": 1,", "\"step\": 7,", 1).into_bytes());
        for bytes in runs {
            if let Err(error) = lab.import_run(&bytes) {
                messages.insert(error.to_string());
            }
        }

        assert_read_in_chinese(&messages, 200);
    }

    /// Every refusal of a session the page can show, in its notice's words: what the browser
    /// kept (broken part by part, cut, of another version, with a checkpoint or tokenizer.json
    /// that does not belong), a shared link cut or changed, a session file that is not one. A
    /// new English refusal without a Chinese pattern fails here.
    #[test]
    fn refusals_of_kept_and_shared_sessions_read_in_chinese() {
        use crate::lab::{session, store};
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "3")]), None);
        while lab.train(1.0, &clock()) > 0 {}
        let Some(CheckpointOf::Ready(newest)) = lab.runs[0].checkpoint() else {
            panic!("the CPU engine's checkpoint is ready at once");
        };
        lab.start_experiment("kv-heads").unwrap();
        let saved = lab.saved_runs();
        let json = saved.to_json();

        let mut messages = BTreeSet::new();
        let kept = |runs: &str, checkpoint: Option<Vec<u8>>, tokenizer: Option<String>| {
            let kept = store::Kept {
                runs: runs.to_string(),
                checkpoint,
                tokenizer,
            };
            match store::restore_kept(&kept) {
                Err(error) => Some(format!(
                    "Saved runs could not be restored: {error}; they were cleared."
                )),
                Ok(restored) => match restored.tokenizer {
                    Some(Err(error)) => Some(error.to_string()),
                    _ => None,
                },
            }
        };
        let mut runs: Vec<String> = (0..json.len())
            .step_by(97)
            .map(|cut| json[..cut].to_string())
            .collect();
        runs.extend(broken_json(&json, 3));
        runs.push(json.replace("\"version\":1", "\"version\":9"));
        runs.push(json.replace("\"format\":\"", "\"format\":\"x"));
        let mut experiment = saved.clone();
        experiment.experiment.as_mut().unwrap().lanes[0].variant = 9;
        runs.push(experiment.to_json());
        let mut ids = saved.clone();
        ids.next_id = 1;
        runs.push(ids.to_json());
        messages.extend(runs.iter().filter_map(|runs| kept(runs, None, None)));

        let file = store::checkpoint_file(&newest).unwrap();
        let mut checkpoints: Vec<Vec<u8>> = [0, 8, 100, file.len() / 2, file.len() - 1]
            .iter()
            .map(|&cut| file[..cut].to_vec())
            .collect();
        checkpoints.push(vec![0xAB; 4096]);
        checkpoints.push(vec![0; store::CHECKPOINT_CAP + 1]);
        let mut ahead = newest.clone();
        ahead.step = 10;
        checkpoints.push(store::checkpoint_file(&ahead).unwrap());
        let mut foreign = newest.clone();
        foreign.run.train.lr *= 2.0;
        checkpoints.push(store::checkpoint_file(&foreign).unwrap());
        for checkpoint in checkpoints {
            messages.extend(kept(&json, Some(checkpoint), None));
        }
        let tokenizers = broken_json(&fixture("gpt2").0, 2);
        for tokenizer in tokenizers.into_iter().chain([fixture("llama3").0]) {
            messages.extend(kept(&json, None, Some(tokenizer)));
        }

        // A shared link cut or changed, and a session file that is not one.
        let link = session::encode(&saved);
        let mut links: Vec<String> = (0..link.len())
            .step_by(53)
            .map(|cut| link[..cut].to_string())
            .collect();
        links.push(link.replacen('A', "*", 1));
        for link in links {
            let (_, opened) = session::from_settings(&[(session::URL_KEY.into(), link)]);
            if let Some(Err(error)) = opened {
                messages.insert(format!("The shared link could not be opened: {error}."));
            }
        }
        let mut files = vec![b"\xff".to_vec()];
        files.extend(runs.iter().take(20).map(|runs| runs.clone().into_bytes()));
        for file in files {
            if let Err(error) = session::read_file(&file) {
                messages.insert(error.to_string());
            }
        }

        assert_read_in_chinese(&messages, 100);
    }

    #[test]
    fn english_left_skips_names_and_quotes() {
        assert_eq!(
            english_left("检查点：config.json：hidden_act：\"gelu x\" 不受支持 `a b` 3 GPT-2"),
            Vec::<String>::new()
        );
        assert_eq!(english_left("检查点：is missing"), ["is", "missing"]);
    }
}
