//! The page's languages: `Lang` (English, Chinese), its place in the URL (`lang=zh`), the
//! browser's default, and the refusals of the model and train layers (written in English, as
//! the command line prints them) in the page's language. The words themselves are plain data
//! in the `*_text` modules, one constant per language.

use super::{names_text, uploads_text};

/// The URL's key for the language (not a setting of the run).
pub const URL_KEY: &str = "lang";

/// A language of the page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The URL's value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The switch's label, in the language itself.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "中文",
        }
    }

    /// The language a URL value names, or why it names none.
    pub fn parse(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|lang| lang.code() == value)
            .ok_or_else(|| "the language is en or zh".to_string())
    }

    /// The page's language for a browser's `navigator.language` ("zh-CN", "en-US"): Chinese
    /// for any Chinese, else English.
    pub fn of_browser(language: &str) -> Self {
        if language.to_ascii_lowercase().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// `text` in this language: `[english, chinese]`.
    pub fn pick<T: Copy>(self, text: [T; 2]) -> T {
        match self {
            Lang::En => text[0],
            Lang::Zh => text[1],
        }
    }
}

/// A sentence of the lower layers (`RunError`'s or `ConfigError`'s reason, a memory or URL
/// refusal, an upload's refusal, the engine's reason and notices) in `lang`: the first pattern
/// of `REFUSALS`, `uploads_text::REFUSALS` or `NOTES` it matches, filled with the values it
/// named, after the places it names; a sentence no pattern knows stays in English.
pub fn translate(lang: Lang, text: &str) -> String {
    if lang == Lang::En {
        return text.to_string();
    }
    sentence(lang, text).unwrap_or_else(|| by_sentence(lang, text))
}

/// `text` as one sentence: a refusal after its places, else by the pattern it matches whole
/// (places first: "{} is not supported: {}" would take "checkpoint: config.json: …" whole).
fn sentence(lang: Lang, text: &str) -> Option<String> {
    at_place(lang, text).or_else(|| whole(lang, text))
}

/// A refusal that names where it is ahead of its reason ("checkpoint: config.json: model_type:
/// {reason}"): each place by `uploads_text::PLACES` or kept (a file, key or tensor: no
/// spaces), the reason by its pattern. The longest run of places first, so that a reason
/// with a colon of its own ("{} is not supported: {why}") is found whole.
fn at_place(lang: Lang, text: &str) -> Option<String> {
    let colons: Vec<usize> = text.match_indices(": ").map(|(at, _)| at).collect();
    colons.into_iter().rev().find_map(|at| {
        let places: Option<Vec<String>> = text[..at].split(": ").map(place).collect();
        let mut parts = places?;
        parts.push(whole(lang, &text[at + 2..])?);
        Some(parts.join("："))
    })
}

/// A place a refusal names, in Chinese: by its pattern, or as it is when it has no spaces.
fn place(text: &str) -> Option<String> {
    let known = uploads_text::PLACES.iter().find_map(|&(english, chinese)| {
        matches(english, text).map(|values| fill_holes(chinese, &values))
    });
    let name = !text.is_empty() && !text.contains(char::is_whitespace);
    known.or_else(|| name.then(|| text.to_string()))
}

/// `text` by the first pattern that matches it whole, if any: the controls' refusals (with
/// no value that ends a sentence), the notices, then the uploads' refusals (whose general
/// patterns, "{} at line {} column {}", must not take a notice that quotes one, and whose
/// values may be lists: "(byte-level: GPT-2; SentencePiece-style: …)").
fn whole(lang: Lang, text: &str) -> Option<String> {
    (refusal(lang, text, REFUSALS, ends_a_sentence))
        .or_else(|| notice(lang, text))
        .or_else(|| refusal(lang, text, uploads_text::REFUSALS, |_| false))
}

/// Whether a pattern's value would hold a sentence's end: no value does, so that a pattern
/// does not take the notice around the text it knows ("{} exceeds the model's context_len {}"
/// in "Saved runs could not be restored: … 32; they were cleared."), nor "Resumed run {} from
/// step {}" take "50." of "… from step 50.", nor a notice its next sentences.
fn ends_a_sentence(value: &&str) -> bool {
    value.contains(". ") || value.ends_with('.')
}

/// `text` by the first refusal of `table` it matches with no value `refused`, its values
/// translated.
fn refusal(
    lang: Lang,
    text: &str,
    table: &[(&str, &str)],
    refused: fn(&&str) -> bool,
) -> Option<String> {
    table.iter().find_map(|&(english, chinese)| {
        let values = matches(english, text).filter(|values| !values.iter().any(refused))?;
        // A value may be words itself (the engine a memory refusal names).
        let values: Vec<String> = (values.iter()).map(|v| translate(lang, v)).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        Some(fill_holes(chinese, &values))
    })
}

/// `text` by the first notice of `NOTES` it matches.
fn notice(lang: Lang, text: &str) -> Option<String> {
    NOTES.iter().find_map(|&(english, chinese)| {
        // Nor its next clauses.
        let refused = |v: &&str| ends_a_sentence(v) || v.contains("; ");
        let values = matches(english, text).filter(|values| !values.iter().any(refused))?;
        // A notice's value may be a sentence of its own (a refusal after its places), or a
        // run's name.
        let values: Vec<String> = (values.iter())
            .map(|v| sentence(lang, v).unwrap_or_else(|| names_text::name(lang, v)))
            .collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        Some(fill_holes(chinese, &values))
    })
}

/// A notice of several sentences ("Switched to the CPU engine. Resumed run 3 from step 50.
/// The lanes resumed …."), each by its pattern (with or without its full stop); a sentence no
/// pattern knows stays in English.
fn by_sentence(lang: Lang, text: &str) -> String {
    let mut out = String::new();
    let sentences: Vec<&str> = text.split_inclusive(". ").map(str::trim_end).collect();
    for sentence in &sentences {
        let chinese = match sentence.strip_suffix('.') {
            Some(bare) => (whole(lang, bare).map(|s| s + "。"))
                .or_else(|| whole(lang, sentence))
                .or_else(|| by_clause(lang, bare).map(|s| s + "。")),
            None => whole(lang, sentence).or_else(|| by_clause(lang, sentence)),
        };
        match chinese {
            Some(chinese) => out.push_str(&chinese),
            None => {
                if !out.is_empty() && !out.ends_with('。') {
                    out.push(' ');
                }
                out.push_str(sentence);
            }
        }
    }
    out
}

/// Whether `text` is `pattern` with each `{}` standing for some text (non-greedy, the last
/// hole takes the rest); the texts in the holes, in order.
pub(super) fn matches<'a>(pattern: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let mut parts = pattern.split("{}");
    let first = parts.next()?;
    let mut rest = text.strip_prefix(first)?;
    let mut values = Vec::new();
    let literals: Vec<&str> = parts.collect();
    for (i, literal) in literals.iter().enumerate() {
        let last = i + 1 == literals.len();
        let at = if last && literal.is_empty() {
            rest.len()
        } else if last {
            rest.strip_suffix(literal).map(str::len)?
        } else {
            rest.find(literal)?
        };
        values.push(&rest[..at]);
        rest = &rest[at + literal.len()..];
    }
    rest.is_empty().then_some(values)
}

/// A sentence of clauses ("Restored 3 runs from the shared link; run 3: … continues from step
/// 12 when you press play"), each by its pattern; None unless every clause has one.
fn by_clause(lang: Lang, sentence: &str) -> Option<String> {
    let clauses: Option<Vec<String>> = (sentence.split("; ")).map(|c| whole(lang, c)).collect();
    clauses.filter(|c| c.len() > 1).map(|c| c.join("；"))
}

/// `template` with its `{}` holes filled by `values` in order.
pub fn fill_holes(template: &str, values: &[&str]) -> String {
    let mut out = String::new();
    let mut parts = template.split("{}");
    out.push_str(parts.next().unwrap_or_default());
    for (part, value) in parts.zip(values.iter().chain(std::iter::repeat(&""))) {
        out.push_str(value);
        out.push_str(part);
    }
    out
}

/// A refused value with the reason: `"abc" refused: why`.
pub const REFUSED: [&str; 2] = ["{} refused: {}", "{} 被拒绝：{}"];

/// The refusals a visitor meets from the controls, as (English pattern, Chinese); `{}` holds
/// a value named in the message, kept as it is. More specific patterns come first.
pub const REFUSALS: &[(&str, &str)] = &[
    ("must be > 0", "必须大于 0"),
    ("must be > 0 when set", "设置时必须大于 0"),
    ("must be finite and >= 0", "必须是有限数且 >= 0"),
    ("sliding window must be >= 1", "滑动窗口必须 >= 1"),
    ("sparse local must be >= 1", "稀疏模式的局部键数必须 >= 1"),
    ("sparse stride must be >= 1", "稀疏模式的跨步必须 >= 1"),
    ("global_every must be >= 1", "global_every 必须 >= 1"),
    ("{} is not in [0, lr]", "{} 不在 [0, lr] 范围内"),
    (
        "{} exceeds the model's context_len {}",
        "{} 超过了模型的上下文长度 context_len {}",
    ),
    (
        "{} does not divide n_heads {}",
        "{} 不能整除注意力头数 n_heads {}",
    ),
    (
        "unset, but n_heads {} does not divide d_model {}: set it",
        "未设置，但 n_heads {} 不能整除 d_model {}：请设置它",
    ),
    (
        "RoPE rotates pairs, so d_head {} must be even",
        "RoPE 成对旋转，所以 d_head {} 必须是偶数",
    ),
    (
        "needs {} (parameters, gradients and AdamW moments {}, activations {}), more than {} has \
         ({}): make the model or the batch smaller",
        "需要 {}（参数、梯度和 AdamW 矩 {}，激活 {}），超过了{}的容量（{}）：请把模型或批次调小",
    ),
    (
        "its largest buffer needs {}, more than {} allows for one buffer ({}): make the model or \
         the batch smaller",
        "其最大的缓冲区需要 {}，超过了{}允许的单个缓冲区大小（{}）：请把模型或批次调小",
    ),
    (
        "the CPU engine (half of this machine's memory)",
        "CPU 引擎（本机内存的一半）",
    ),
    (
        "the page's CPU engine (WebAssembly's 4 GiB, less 512 MiB for the page)",
        "页面的 CPU 引擎（WebAssembly 的 4 GiB，减去留给页面的 512 MiB）",
    ),
    (
        "the WebGPU engine ({} in all; max_buffer_size {}, max_storage_buffer_binding_size {})",
        "WebGPU 引擎（总共 {}；max_buffer_size {}，max_storage_buffer_binding_size {}）",
    ),
    ("missing field `{}`", "缺少字段 `{}`"),
    ("must be at least 1", "至少为 1"),
    ("must be positive", "必须为正数"),
    ("must be finite", "必须是有限数"),
    ("{} is not in [0, 1)", "{} 不在 [0, 1) 范围内"),
    (
        "{} is not a finite number > 0 (leave it unset for no cap)",
        "{} 不是大于 0 的有限数（留空表示不设上限）",
    ),
    ("{} exceeds n_heads {}", "{} 超过了注意力头数 n_heads {}"),
    (
        "{} is outside the vocabulary of {}",
        "{} 超出了大小为 {} 的词表",
    ),
    (
        "{} is beyond the range of a 32-bit float (±3.4e38)",
        "{} 超出了 32 位浮点数的范围（±3.4e38）",
    ),
    ("invalid type: {}, expected {}", "类型无效：{}，应为 {}"),
    ("invalid value: {}, expected {}", "取值无效：{}，应为 {}"),
    (
        "unknown variant `{}`, expected {}",
        "未知选项 `{}`，应为 {}",
    ),
    ("unknown field `{}`, expected {}", "未知字段 `{}`，应为 {}"),
    ("not a JSON value: {}", "不是 JSON 值：{}"),
    (
        "the engine is auto, gpu or cpu",
        "引擎只能是 auto、gpu 或 cpu",
    ),
    ("the language is en or zh", "语言只能是 en 或 zh"),
    // The lab's own (`lab`, `lab::compare`, `lab::lockstep`, `train::sweep`).
    ("the page's state is gone", "页面的状态已丢失"),
    (
        "needs two configurations or more; got none",
        "需要两个或更多配置；一个也没有",
    ),
    (
        "needs two configurations or more; got only {}",
        "需要两个或更多配置；只有 {}",
    ),
    (
        "{} and {} are the same configuration at one seed",
        "{} 和 {} 在一个种子下是相同的配置",
    ),
    ("the engine stopped this run: {}", "引擎停止了此运行：{}"),
    // The GPU engine's (`gpu::GpuError`), around the browser's or driver's own words.
    ("no WebGPU adapter found: {}", "找不到 WebGPU 适配器：{}"),
    ("the adapter refused a device: {}", "适配器拒绝提供设备：{}"),
    (
        "reading a GPU buffer back failed: {}",
        "读回 GPU 缓冲区失败：{}",
    ),
    (
        "the GPU device reported an error: {}",
        "GPU 设备报告了错误：{}",
    ),
    (
        "its {} token ids do not fit the opened model's vocabulary of {}: choose data with \
         fewer (a task with fewer symbols)",
        "它的 {} 个 token id 超出了打开的模型大小为 {} 的词表：请选择 token 更少的数据（符号更少的\
         任务）",
    ),
    (
        "its {} variants need {} together, more than half of {} ({})",
        "它的 {} 个变体总共需要 {}，超过了 {} 的一半（{}）",
    ),
    ("{} is not a number", "{} 不是数"),
    (
        "{} is not a learning rate above 0",
        "{} 不是大于 0 的学习率",
    ),
    ("{} is given twice", "{} 出现了两次"),
    // Generate's and Look at's (`lab::generate`, `Lab::look_at`).
    ("{} is not a number >= 0", "{} 不是 >= 0 的数"),
    ("there is no run to generate from", "没有可以用来生成的运行"),
    (
        "{} is not a whole number from 0 (all) to the vocabulary's {}",
        "{} 不是 0（全部）到词表大小 {} 之间的整数",
    ),
    (
        "this run has no tokenizer (task data, or a model opened without its tokenizer.json): \
         nothing to decode",
        "此运行没有分词器（任务数据，或打开模型时没有带 tokenizer.json）：无法解码",
    ),
    (
        "type a few characters to start from",
        "请输入几个字符作为开头",
    ),
    ("this run has stopped: no engine", "此运行已停止：没有引擎"),
    (
        "this run's engine has no KV-cached decode",
        "此运行的引擎不支持带 KV 缓存的解码",
    ),
    ("the page is closing", "页面正在关闭"),
    ("there is no run to look with", "没有可以查看的运行"),
    (
        "token id {} is not below the vocabulary's {}",
        "token id {} 不小于词表大小 {}",
    ),
    ("{} is not a token id", "{} 不是 token id"),
    ("no tokens", "没有 token"),
    (
        "text: character {} at position {} is not in the character tokenizer's vocabulary",
        "文本：字符 {}（位置 {}）不在字符分词器的词表中",
    ),
];

/// The engine's reason (`engine_choice::decide`) and the notices after a switch or a lost
/// device (`lab::resume`), as (English pattern, Chinese).
pub const NOTES: &[(&str, &str)] = &[
    (
        "Training on the CPU engine: this browser gave no WebGPU adapter.",
        "在 CPU 引擎上训练：此浏览器没有提供 WebGPU 适配器。",
    ),
    (
        "Training on the CPU engine, as chosen.",
        "按你的选择在 CPU 引擎上训练。",
    ),
    (
        "Training on the WebGPU engine, as chosen: this browser's WebGPU is a software renderer \
         ({}), slower than the CPU engine here.",
        "按你的选择在 WebGPU 引擎上训练：此浏览器的 WebGPU 是软件渲染器（{}），在这里比 CPU \
         引擎慢。",
    ),
    (
        "Training on the WebGPU engine, as chosen.",
        "按你的选择在 WebGPU 引擎上训练。",
    ),
    (
        "Training on the CPU engine: this browser's WebGPU is a software renderer ({}), slower \
         than the CPU engine here.",
        "在 CPU 引擎上训练：此浏览器的 WebGPU 是软件渲染器（{}），在这里比 CPU 引擎慢。",
    ),
    (
        "Training on the WebGPU engine, on your GPU.",
        "在 WebGPU 引擎上训练，使用你的 GPU。",
    ),
    (
        "Switched to the {} engine. Resumed run {} from step {}.",
        "已切换到 {} 引擎。运行 {} 从第 {} 步继续。",
    ),
    ("Switched to the {} engine.", "已切换到 {} 引擎。"),
    (
        "The GPU was reset ({}); training goes on with {}. Resumed run {} from step {}.",
        "GPU 被重置（{}）；训练改用{}继续。运行 {} 从第 {} 步继续。",
    ),
    (
        "The GPU was reset ({}); training goes on with {}.",
        "GPU 被重置（{}）；训练改用{}继续。",
    ),
    ("a new WebGPU device", "新的 WebGPU 设备"),
    // The engines as they describe themselves (`Engine::describe`).
    ("CPU engine", "CPU 引擎"),
    (
        "WebGPU engine on an adapter whose browser keeps its name private",
        "WebGPU 引擎（浏览器未公开适配器的名称）",
    ),
    ("WebGPU engine on {}", "WebGPU 引擎（{}）"),
    (
        "the CPU engine (no new GPU device could be had)",
        "CPU 引擎（无法获得新的 GPU 设备）",
    ),
    (
        "Restored {} runs kept in this browser; {} continues from step {} when you press \
         play.",
        "已恢复此浏览器中保存的 {} 个运行；{} 会在你按下播放后从第 {} 步继续。",
    ),
    (
        "Restored {} runs kept in this browser; {}'s parameters were not kept (they are kept \
         up to {} MiB, on WebGPU from step {} on): Reset trains it again.",
        "已恢复此浏览器中保存的 {} 个运行；{} 的参数没有保存（最多保存 {} MiB，在 WebGPU 上\
         从第 {} 步起保存）：按“重置”重新训练它。",
    ),
    (
        "Restored {} runs kept in this browser.",
        "已恢复此浏览器中保存的 {} 个运行。",
    ),
    (
        "Restored {} run kept in this browser; {} continues from step {} when you press \
         play.",
        "已恢复此浏览器中保存的 {} 个运行；{} 会在你按下播放后从第 {} 步继续。",
    ),
    (
        "Restored {} run kept in this browser; {}'s parameters were not kept (they are kept \
         up to {} MiB, on WebGPU from step {} on): Reset trains it again.",
        "已恢复此浏览器中保存的 {} 个运行；{} 的参数没有保存（最多保存 {} MiB，在 WebGPU 上\
         从第 {} 步起保存）：按“重置”重新训练它。",
    ),
    (
        "Restored {} run kept in this browser.",
        "已恢复此浏览器中保存的 {} 个运行。",
    ),
    (
        "Saved runs could not be restored: {}; they were cleared.",
        "保存的运行无法恢复：{}；已将其清除。",
    ),
    (
        "Saved runs could not be read: {}.",
        "无法读取保存的运行：{}。",
    ),
    (
        "Saved runs forgotten: a reload starts afresh (this page keeps no runs until then).",
        "已清除保存的运行：重新加载后将从头开始（在此之前本页不再保存运行）。",
    ),
    (
        "Saved runs could not be forgotten: {}.",
        "无法清除保存的运行：{}。",
    ),
    (
        "Opened as {}. A run JSON holds no parameters, so it trains no further: open its \
         checkpoint (Checkpoints, below) to continue it.",
        "已打开为 {}。运行 JSON 不含参数，所以它不能继续训练：打开它的检查点（见下方“检查点”）\
         才能继续。",
    ),
    ("Opened as {}.", "已打开为 {}。"),
    ("{}: could not be read ({})", "{}：无法读取（{}）"),
    (
        "The shared link could not be opened: {}",
        "无法打开分享的链接：{}",
    ),
    (
        "Runs could not be kept in this browser: {}; the saved runs were cleared, and this \
         page keeps none until it is reloaded.",
        "无法在此浏览器中保存运行：{}；已清除保存的运行，在重新加载之前本页不再保存运行。",
    ),
    // The clauses of what a reload, a link or a session file brought back (`lab::reload`).
    ("Restored {} runs {}", "已恢复 {} 个运行，{}"),
    ("Restored {} run {}", "已恢复 {} 个运行，{}"),
    ("kept in this browser", "保存在此浏览器中"),
    ("from the shared link", "来自分享的链接"),
    ("from the session file", "来自会话文件"),
    (
        "{}'s tokenizer.json was not restored ({}): its text goes through its data's tokenizer",
        "{} 的 tokenizer.json 未能恢复（{}）：它的文本改由其数据的分词器处理",
    ),
    (
        "{} continues from step {} when you press play",
        "{} 会在你按下播放后从第 {} 步继续",
    ),
    (
        "{}'s parameters {}: Reset trains it again",
        "{} 的参数{}：按“重置”重新训练它",
    ),
    (
        "were not kept (they are kept up to {} MiB, on WebGPU from step {} on)",
        "没有保存（最多保存 {} MiB，在 WebGPU 上从第 {} 步起保存）",
    ),
    ("do not travel in a shared session", "不随分享的会话传递"),
    (
        "experiment {} comes back at step {}",
        "实验 {} 在第 {} 步恢复",
    ),
    (
        "its lanes' parameters were not kept, so play restarts it from step 0",
        "它各通道的参数没有保存，所以按播放会从第 0 步重新开始",
    ),
    (
        "experiment {} comes back as it ended",
        "实验 {} 按结束时的样子恢复",
    ),
    // The sentences after a switch of engine or a lost device (`lab::resume`).
    ("Resumed run {} from step {}", "运行 {} 从第 {} 步继续"),
    ("The lanes could not go on", "各通道无法继续"),
    (
        "The lanes started again from step 0 on {}: none had kept a state yet",
        "各通道从第 0 步重新开始，使用{}：之前没有保存任何状态",
    ),
    (
        "The lanes resumed from step {} on {}",
        "各通道从第 {} 步继续，使用{}",
    ),
    (
        "The lanes resumed from steps {} on {}",
        "各通道分别从第 {} 步继续，使用{}",
    ),
    ("{} (stopped: {})", "{}（已停止：{}）"),
    ("the WebGPU engine", "WebGPU 引擎"),
    ("the CPU engine", "CPU 引擎"),
    ("Saved {}.", "已保存 {}。"),
    ("There is no run to save.", "没有可保存的运行。"),
    (
        "{}: {} is not a whole number above 0",
        "{}：{} 不是大于 0 的整数",
    ),
];

/// Test helper: the paths in `chinese` that are empty where `english` has text, or whose shape
/// differs (a list of another length, a missing key), so a text added in English only fails.
#[cfg(test)]
pub fn missing(english: &serde_json::Value, chinese: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    fn walk(path: String, en: &Value, zh: &Value, out: &mut Vec<String>) {
        match (en, zh) {
            (Value::String(en), Value::String(zh)) => {
                if !en.is_empty() && zh.trim().is_empty() {
                    out.push(path);
                }
            }
            (Value::Array(en), Value::Array(zh)) if en.len() == zh.len() => {
                for (i, (en, zh)) in en.iter().zip(zh).enumerate() {
                    walk(format!("{path}[{i}]"), en, zh, out);
                }
            }
            (Value::Object(en), Value::Object(zh)) => {
                for (key, en) in en {
                    match zh.get(key) {
                        Some(zh) => walk(format!("{path}.{key}"), en, zh, out),
                        None => out.push(format!("{path}.{key}")),
                    }
                }
            }
            (en, zh) if en == zh => {}
            _ => out.push(path),
        }
    }
    let mut out = Vec::new();
    walk(String::new(), english, chinese, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_languages() {
        assert_eq!(Lang::of_browser("zh-CN"), Lang::Zh);
        assert_eq!(Lang::of_browser("zh-Hant-TW"), Lang::Zh);
        assert_eq!(Lang::of_browser("ZH"), Lang::Zh);
        assert_eq!(Lang::of_browser("en-US"), Lang::En);
        assert_eq!(Lang::of_browser("de"), Lang::En);
        assert_eq!(Lang::of_browser(""), Lang::En);
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()), Ok(lang));
        }
        assert!(Lang::parse("fr").unwrap_err().contains("en or zh"));
    }

    #[test]
    fn refusals_keep_their_values() {
        assert_eq!(
            translate(Lang::Zh, "6 exceeds n_heads 4"),
            "6 超过了注意力头数 n_heads 4"
        );
        assert_eq!(
            translate(Lang::En, "6 exceeds n_heads 4"),
            "6 exceeds n_heads 4"
        );
        // The page's memory refusals name their engine, translated too, numbers kept.
        let need = crate::model::MemoryNeed {
            state: 3e9,
            activations: 2e9,
            largest_buffer: 4e9,
        };
        let page = crate::cpu::wasm_budget().refusal(&need).expect("too big");
        assert_eq!(
            translate(Lang::Zh, &page),
            "需要 4.66 GiB（参数、梯度和 AdamW 矩 2.79 GiB，激活 1.86 GiB），超过了页面的 CPU \
             引擎（WebAssembly 的 4 GiB，减去留给页面的 512 MiB）的容量（3.50 GiB）：请把模型\
             或批次调小"
        );
        let gpu = crate::gpu::gpu_budget(&wgpu::Limits::default());
        let one = crate::model::MemoryNeed { state: 1e6, ..need };
        let gpu = translate(Lang::Zh, &gpu.refusal(&one).expect("a buffer too big"));
        assert!(
            gpu.starts_with("其最大的缓冲区需要 3.73 GiB，超过了WebGPU 引擎（总共"),
            "{gpu}"
        );
        // The engine's reason, and a notice naming the run and step.
        let why =
            crate::lab::engine_choice::decide(crate::lab::engine_choice::EngineChoice::Cpu, None);
        assert_eq!(
            translate(Lang::Zh, &why.why),
            "在 CPU 引擎上训练：此浏览器没有提供 WebGPU 适配器。"
        );
        assert_eq!(
            translate(
                Lang::Zh,
                "Switched to the CPU engine. Resumed run 3 from step 50."
            ),
            "已切换到 CPU 引擎。运行 3 从第 50 步继续。"
        );
        assert_eq!(
            translate(Lang::Zh, "Restored 3 runs kept in this browser."),
            "已恢复此浏览器中保存的 3 个运行。"
        );
        assert_eq!(
            translate(Lang::Zh, "Restored 1 run kept in this browser."),
            "已恢复此浏览器中保存的 1 个运行。"
        );
        // Unknown: left in English rather than guessed.
        assert_eq!(translate(Lang::Zh, "something new"), "something new");
    }

    /// Every refusal a visitor can trigger from a control, by typing a value of the wrong
    /// kind, a zero, a negative, a huge or a fractional number, reads in Chinese (only the
    /// values it names stay as typed).
    #[test]
    fn refusals_from_the_controls_read_in_chinese() {
        use crate::lab::fields::{Kind, FIELDS};
        use crate::lab::{page_defaults, Lab};
        let chinese = |text: &str| text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let mut english = std::collections::BTreeSet::new();
        let mut refusals = 0;
        for field in FIELDS {
            if matches!(field.kind, Kind::Choice(_) | Kind::Toggle) {
                continue;
            }
            for value in ["abc", "0", "-1", "1e40", "0.5", "100000", "3"] {
                let settings = [
                    (field.key.to_string(), value.to_string()),
                    (URL_KEY.to_string(), "zh".to_string()),
                ];
                let lab = Lab::new(page_defaults(), &settings, None);
                for (_, message) in lab.problems() {
                    refusals += 1;
                    // The reason after "refused" or after the field's name.
                    let reason = (message.rsplit_once("被拒绝："))
                        .or_else(|| message.split_once(": "))
                        .map_or(&*message, |(_, reason)| reason);
                    if !chinese(reason) {
                        english.insert(message);
                    }
                }
            }
        }
        assert!(refusals > 50, "only {refusals} refusals tried");
        assert!(english.is_empty(), "English only: {english:#?}");
    }

    /// Every (English, Chinese) pair of the tables has a Chinese text, with as many `{}` holes
    /// as its English where it is a template, so no value is lost.
    #[test]
    fn pairs_have_chinese_with_the_same_holes() {
        use crate::lab::{fields_text, names_text, rules_text};
        let tables: [(&str, &[(&str, &str)]); 8] = [
            ("uploads_text::REFUSALS", uploads_text::REFUSALS),
            ("uploads_text::PLACES", uploads_text::PLACES),
            ("REFUSALS", REFUSALS),
            ("NOTES", NOTES),
            ("names_text::NAMES", names_text::NAMES),
            ("names_text::PHRASES", names_text::PHRASES),
            ("rules_text::RULES_ZH", rules_text::RULES_ZH),
            ("fields_text::OPTIONS_ZH", fields_text::OPTIONS_ZH),
        ];
        let chinese = |text: &str| text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        for (table, pairs) in tables {
            for (en, zh) in pairs {
                assert!(chinese(zh), "{table}: {en:?} has no Chinese: {zh:?}");
                assert_eq!(
                    en.matches("{}").count(),
                    zh.matches("{}").count(),
                    "{table}: {en:?} / {zh:?}"
                );
            }
        }
        assert_eq!(
            REFUSED[0].matches("{}").count(),
            REFUSED[1].matches("{}").count()
        );
    }

    /// A notice of several sentences reads sentence by sentence; the run it names by its label.
    #[test]
    fn notices_read_by_sentence() {
        assert_eq!(
            translate(
                Lang::Zh,
                "Switched to the CPU engine. Resumed run 3 from step 50. The lanes resumed from \
                 step 40 on the CPU engine."
            ),
            "已切换到 CPU 引擎。运行 3 从第 50 步继续。各通道从第 40 步继续，使用CPU 引擎。"
        );
        assert_eq!(
            translate(
                Lang::Zh,
                "Restored 2 runs kept in this browser; run 2: +QK-norm continues from step 9 \
                 when you press play."
            ),
            "已恢复此浏览器中保存的 2 个运行；运行 2：+QK-norm 会在你按下播放后从第 9 步继续。"
        );
        assert_eq!(
            translate(
                Lang::Zh,
                "Restored 1 run from the shared link; run 1: page defaults's parameters do not \
                 travel in a shared session: Reset trains it again; experiment norm-type comes \
                 back as it ended."
            ),
            "已恢复 1 个运行，来自分享的链接；运行 1：页面默认设置 的参数不随分享的会话传递：按“重置”\
             重新训练它；实验 norm-type 按结束时的样子恢复。"
        );
        assert_eq!(translate(Lang::Zh, "One. Two."), "One. Two.");
    }

    /// A refusal after the places it names: the files and keys kept, the others named, the
    /// reason by its pattern (found whole where it has a colon of its own); in a notice too.
    #[test]
    fn refusals_read_after_their_places() {
        assert_eq!(
            translate(
                Lang::Zh,
                "checkpoint: config.json: hidden_act: \"relu\" is not supported: archlab's gated \
                 MLP here is SwiGLU"
            ),
            "检查点：config.json：hidden_act：\"relu\" 不受支持：archlab 在这里的门控 MLP 是 SwiGLU"
        );
        assert_eq!(
            translate(
                Lang::Zh,
                "checkpoint: config.json (as model.n_heads): must be > 0"
            ),
            "检查点：config.json（作为 model.n_heads）：必须大于 0"
        );
        assert_eq!(
            translate(
                Lang::Zh,
                "Saved runs could not be restored: the newest run's checkpoint: \
                 model.safetensors: x.weight: is missing; they were cleared."
            ),
            "保存的运行无法恢复：最新运行的检查点：model.safetensors：x.weight：缺失；已将其清除。"
        );
        // A place with spaces that no table names is no place: the text stays.
        assert_eq!(
            translate(Lang::Zh, "some place: must be > 0"),
            "some place: must be > 0"
        );
    }

    /// The GPU engine's errors read in Chinese around the browser's or driver's own words,
    /// which stay as they came.
    #[test]
    fn gpu_errors_read_in_chinese_around_the_drivers_words() {
        use crate::gpu::GpuError;
        let detail = "Validation Error";
        for error in [
            GpuError::NoAdapter(detail.into()),
            GpuError::NoDevice(detail.into()),
            GpuError::ReadBack(detail.into()),
            GpuError::Device(detail.into()),
        ] {
            let chinese = translate(Lang::Zh, &format!("the engine stopped this run: {error}"));
            assert!(chinese.starts_with("引擎停止了此运行："), "{chinese}");
            assert!(chinese.ends_with(&format!("：{detail}")), "{chinese}");
            let ours = chinese.replace(detail, "");
            assert_eq!(
                crate::lab::names_text::english_words(&ours),
                Vec::<&str>::new(),
                "{chinese}"
            );
        }
    }

    #[test]
    fn patterns_match_whole_texts_only() {
        assert_eq!(
            matches("{} is not in [0, 1)", "1.5 is not in [0, 1)"),
            Some(vec!["1.5"])
        );
        assert_eq!(
            matches("{} is not in [0, 1)", "1.5 is not in [0, 1) !"),
            None
        );
        assert_eq!(matches("must be > 0", "must be > 0"), Some(vec![]));
        assert_eq!(matches("a{}b{}", "axbyz"), Some(vec!["x", "yz"]));
        assert_eq!(fill_holes("{}：{}", &["a", "b"]), "a：b");
    }

    #[test]
    fn missing_finds_empty_and_misshapen_translations() {
        let en = serde_json::json!({"a": "x", "b": ["y", "z"], "n": 3});
        let good = serde_json::json!({"a": "甲", "b": ["乙", "丙"], "n": 3});
        assert!(missing(&en, &good).is_empty());
        let bad = serde_json::json!({"a": " ", "b": ["乙"], "n": 3});
        assert_eq!(missing(&en, &bad), vec![".a", ".b"]);
    }
}
