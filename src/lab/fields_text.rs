//! The controls' words in Chinese, as plain data beside `fields::FIELDS` (which holds the
//! English): the group names, each field's label and claim by its key, and the choices' labels
//! by their English label. The sources (paper names) are the same in both languages.

use super::fields::{Field, GROUPS};
use super::i18n::Lang;

/// [`GROUPS`] in Chinese, in the same order.
pub const GROUPS_ZH: [&str; 11] = [
    "归一化",
    "前馈网络",
    "块结构",
    "位置编码",
    "形状",
    "注意力",
    "稳定性",
    "正则化",
    "优化",
    "数据",
    "初始化",
];

const HEADS: &str = "几乎所有模型都有 d_model = n_heads × d_head；头太多会让每个头太小，\
                     难以捕捉上下文。";
const DROPOUT: &str = "预训练已不再使用 dropout：在这样的数据规模下不会过拟合，而它会减慢收敛。";
const WINDOW: &str = "每层 w 个键的滑动窗口让感受野随深度增长（约 L × w）。";
const SPARSE: &str = "局部 + 跨步模式把注意力的代价从 O(n²) 降向 O(n√n)。";
const TASK: &str =
    "合成任务的注意力模式容易看懂：复制和归纳任务需要回看固定距离或回看匹配位置的头。";

/// (key, label, claim) of every field of `FIELDS`, in Chinese.
pub const FIELDS_ZH: &[(&str, &str, &str)] = &[
    (
        "model.norm_position",
        "归一化位置",
        "前置归一化在残差流中为梯度保留了一条恒等通路；后置归一化需要预热，学习率较高时会落后\
         甚至发散。",
    ),
    (
        "model.norm",
        "归一化类型",
        "RMSNorm 训练效果与层归一化（LayerNorm）一样好，而且更快：没有均值、没有偏置、内存搬运\
         更少；归一化只占很小一部分 FLOPs，却占很大一部分运行时间。",
    ),
    (
        "model.final_norm",
        "最终归一化",
        "输出层之前的归一化让 logits 保持在合适的尺度。",
    ),
    (
        "model.norm_eps",
        "归一化 epsilon",
        "加在归一化的平方根里，使接近零的激活不会除以零；大多数模型取 1e-5 或 1e-6。",
    ),
    (
        "model.bias",
        "偏置",
        "去掉线性层和层归一化的偏置不会造成可测量的质量损失，还能减少内存操作，训练更稳定。",
    ),
    (
        "model.activation",
        "激活函数",
        "门控单元 (act(xW) · xV) W2 带来小而稳定的提升；GPT-3 表明门控并非必需。",
    ),
    (
        "model.d_ff",
        "d_ff",
        "普通 MLP 取 4 × d_model，门控 MLP 取 8/3 × 以使参数量相当；在很宽的比例范围内损失都\
         差不多。留空：自动。",
    ),
    (
        "model.block",
        "块结构",
        "并行块让注意力和 MLP 的矩阵乘法可以融合（大规模时约快 15%，这里测不出：请比较 \
         FLOPs）；串行块的表达能力略强。",
    ),
    (
        "model.parallel_norm",
        "并行块的归一化",
        "仅用于并行块：注意力和 MLP 共用一个输入归一化，或者每个分支各有一个。",
    ),
    (
        "model.position",
        "位置编码",
        "领域已收敛到 RoPE：在每一层旋转 q 和 k，使它们的内积只取决于相对位置。",
    ),
    (
        "model.rope_theta",
        "RoPE θ",
        "RoPE 的底数：一个头中的第 i 对数每个位置旋转 θ^(−2i/d_head)。",
    ),
    (
        "model.d_model",
        "d_model",
        "大多数模型的宽深比 d_model / n_layers 约为 100 到 200；在很宽的范围内损失都差不多。",
    ),
    (
        "model.n_layers",
        "层数",
        "深度与宽度之争：在很宽的宽深比范围内损失都差不多。",
    ),
    ("model.n_heads", "头数", HEADS),
    ("model.d_head", "d_head", HEADS),
    (
        "model.context_len",
        "上下文",
        "模型能看到的最长序列；完整注意力的代价随它的平方增长。",
    ),
    (
        "model.tied_embeddings",
        "共享嵌入",
        "让 token 嵌入与输出头共享，可省下 vocab × d_model 个参数，这在小模型中占很大比例。",
    ),
    (
        "model.scale_embeddings",
        "缩放嵌入",
        "查表时把 token 嵌入乘以 √d_model，使其达到残差流的尺度，而共享的输出头读取未缩放的表。",
    ),
    (
        "model.n_kv_heads",
        "KV 头数",
        "MQA（1 个 KV 头）和 GQA 把 KV 缓存缩小为 n_kv_heads / n_heads；GQA 几乎保持 MHA 的质量。",
    ),
    (
        "model.attention",
        "注意力",
        "滑动窗口和稀疏模式限制每个查询能看到的键，从而降低注意力的代价。",
    ),
    ("model.attention.sliding_window.window", "窗口", WINDOW),
    ("model.attention.sparse.local", "局部键数", SPARSE),
    ("model.attention.sparse.stride", "跨步", SPARSE),
    (
        "model.layer_pattern",
        "层模式",
        "局部注意力层常与完整注意力层交替排列。",
    ),
    (
        "model.layer_pattern.global_every",
        "全局层间隔",
        "每隔 k 层有一层关注整个上下文，其余层使用上面的模式。",
    ),
    (
        "model.qk_norm",
        "QK-norm",
        "在点积之前对 q 和 k 做归一化，可以限制注意力 logits，阻止它们在高学习率下增长。",
    ),
    (
        "model.qk_norm_scope",
        "QK-norm 范围",
        "QK-norm 作用在每个头的 d_head 个值上（各头共用一个增益），或作用在整个 q、k 投影上\
         （每个元素一个增益）。",
    ),
    (
        "train.z_loss",
        "z-loss",
        "1e-4 · log(Z)² 的 z-loss 让 softmax 的归一化因子保持在 1 附近，避免发散。",
    ),
    (
        "model.attn_logit_softcap",
        "注意力软上限",
        "对注意力 logits 施加 c · tanh(x / c)，把它们平滑地限制在 ±c 之内（Gemma 2：50），\
         这是 QK-norm 之外另一种阻止其增长的办法。留空：关闭。",
    ),
    (
        "model.final_logit_softcap",
        "最终软上限",
        "在计算损失前对输出 logits 施加 c · tanh(x / c)，把它们限制在 ±c 之内（Gemma 2：30），\
         就像 z-loss 让 log Z 保持在 0 附近。留空：关闭。",
    ),
    ("model.dropout.resid", "残差 dropout", DROPOUT),
    ("model.dropout.attn", "注意力 dropout", DROPOUT),
    ("model.dropout.embd", "嵌入 dropout", DROPOUT),
    (
        "train.weight_decay",
        "权重衰减",
        "权重衰减（约 0.1）不是为了防止过拟合：它与学习率调度相互作用，在学习率衰减时显现效果。",
    ),
    (
        "train.decay_embeddings",
        "衰减嵌入",
        "权重衰减通常只作用于矩阵；嵌入、归一化和偏置不做衰减。",
    ),
    (
        "train.lr",
        "学习率",
        "扫一遍学习率：没有 QK-norm 和 z-loss 时，即使小模型在高学习率下也会发散。",
    ),
    (
        "train.beta1",
        "AdamW β1",
        "AdamW 一阶矩（动量）的衰减：几乎都是 0.9。",
    ),
    (
        "train.beta2",
        "AdamW β2",
        "二阶矩的衰减：大语言模型用 0.95 而不是 Adam 的 0.999，使步长在梯度尖峰后更快适应。",
    ),
    (
        "train.eps",
        "AdamW ε",
        "AdamW 的 ε：梯度降到接近它时更新会变小；更小的 ε（1e-15）让更新保持完整大小。",
    ),
    (
        "train.schedule",
        "调度",
        "学习率恒定时，较大的权重衰减会减慢学习；它的好处在学习率衰减（余弦）时显现。",
    ),
    (
        "train.warmup_steps",
        "预热步数",
        "后置归一化需要学习率预热；前置归一化不需要。",
    ),
    (
        "train.min_lr",
        "最终学习率",
        "余弦、线性和 WSD 调度衰减到的学习率，通常是峰值的十分之一。",
    ),
    (
        "train.grad_clip",
        "梯度裁剪",
        "裁剪全局梯度范数（0：关闭）可以防止损失尖峰。",
    ),
    ("train.steps", "步数", "学习率调度在这么多步内衰减。"),
    (
        "train.batch_size",
        "批大小",
        "每步的序列数：取得较小，使 CPU 的一步能在一帧内完成。",
    ),
    (
        "train.seq_len",
        "序列长度",
        "每个序列的 token 数，最多为上下文长度。",
    ),
    (
        "train.seed",
        "随机种子",
        "初始化、dropout 和批次：相同的种子，相同的运行。",
    ),
    (
        "train.eval_interval",
        "评估间隔",
        "两次验证损失之间的步数；每次评估需要四次前向传播。",
    ),
    (
        "data.source",
        "数据",
        "按字符分词序列长、嵌入小，按字节则有 256 个 token：词表大小在序列长度与嵌入大小之间\
         权衡。",
    ),
    (
        "data.source.tokenizer.vocab_size",
        "BPE 词表",
        "BPE 合并高频的字节对：词表越大，序列越短，但嵌入层和输出层越大（这里为 257 到 8192）。",
    ),
    ("data.source.length", "任务长度", TASK),
    ("data.source.symbols", "符号数", TASK),
    ("data.source.segment", "重复片段", TASK),
    ("data.source.modulus", "模数", TASK),
    (
        "model.init_std",
        "初始化 σ",
        "矩阵和嵌入从 N(0, σ²) 开始；与 GPT-2 一样取 σ = 0.02。σ 越大，初始的 logits 和激活\
         越大。",
    ),
    (
        "model.residual_scaling",
        "残差缩放",
        "注意力和 MLP 的输出投影在初始化时乘以 1/√(2 × 层数)，使残差流在初始化时不随深度增长。",
    ),
];

/// The choices' labels in Chinese, by their English label (names such as "RoPE" or "SwiGLU"
/// are the same in both and need no row).
pub const OPTIONS_ZH: &[(&str, &str)] = &[
    ("pre: x + F(Norm(x))", "前置：x + F(Norm(x))"),
    ("post: Norm(x + F(x))", "后置：Norm(x + F(x))"),
    ("double: x + Norm(F(Norm(x)))", "双重：x + Norm(F(Norm(x)))"),
    (
        "post-in-branch: x + Norm(F(x))",
        "分支内后置：x + Norm(F(x))",
    ),
    ("none", "无"),
    ("serial", "串行"),
    ("parallel", "并行"),
    (
        "shared: one norm for both branches",
        "共用：两个分支一个归一化",
    ),
    ("per branch: a norm each", "分支各自：每个分支一个归一化"),
    ("per head", "每个头"),
    ("whole projection", "整个投影"),
    ("learned absolute", "可学习的绝对位置"),
    ("sinusoidal", "正弦"),
    ("none (NoPE)", "无 (NoPE)"),
    ("full (causal)", "完整（因果）"),
    ("sliding window", "滑动窗口"),
    ("sparse (local + strided)", "稀疏（局部 + 跨步）"),
    ("every layer the same", "每层相同"),
    ("local/global interleave", "局部/全局交替"),
    ("cosine", "余弦"),
    ("constant", "恒定"),
    ("linear", "线性"),
    ("warmup-stable-decay", "预热-稳定-衰减"),
    ("Shakespeare, characters", "莎士比亚，字符"),
    ("Shakespeare, bytes", "莎士比亚，字节"),
    ("Shakespeare, BPE", "莎士比亚，BPE"),
    ("your text, characters", "你的文本，字符"),
    ("your text, bytes", "你的文本，字节"),
    ("copy task", "复制任务"),
    ("reverse task", "反转任务"),
    ("sort task", "排序任务"),
    ("induction task", "归纳任务"),
    ("modular addition task", "模加法任务"),
    ("auto", "自动"),
    ("off", "关闭"),
];

/// Group `index`'s name in `lang`.
pub fn group(lang: Lang, index: usize) -> &'static str {
    lang.pick([GROUPS[index], GROUPS_ZH[index]])
}

/// `field`'s Chinese (label, claim), if the table has it.
fn chinese(field: &Field) -> Option<(&'static str, &'static str)> {
    FIELDS_ZH
        .iter()
        .find(|(key, _, _)| *key == field.key)
        .map(|&(_, label, claim)| (label, claim))
}

/// `field`'s label in `lang`.
pub fn label(lang: Lang, field: &Field) -> &'static str {
    match lang {
        Lang::En => field.label,
        Lang::Zh => chinese(field).map_or(field.label, |(label, _)| label),
    }
}

/// `field`'s claim in `lang`.
pub fn claim(lang: Lang, field: &Field) -> &'static str {
    match lang {
        Lang::En => field.claim,
        Lang::Zh => chinese(field).map_or(field.claim, |(_, claim)| claim),
    }
}

/// A choice's label (or an optional field's placeholder: "auto", "off") in `lang`; a name the
/// same in both languages stays.
pub fn option(lang: Lang, english: &'static str) -> &'static str {
    match lang {
        Lang::En => english,
        Lang::Zh => OPTIONS_ZH
            .iter()
            .find(|(en, _)| *en == english)
            .map_or(english, |&(_, zh)| zh),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fields::{Kind, FIELDS};

    /// Every control has its Chinese label and claim, and the table names no other key: a
    /// field added in English only fails here.
    #[test]
    fn every_field_has_chinese() {
        for field in FIELDS {
            let (label, claim) = chinese(field).unwrap_or_else(|| panic!("{}", field.key));
            assert!(!label.trim().is_empty(), "{}", field.key);
            assert!(!claim.trim().is_empty(), "{}", field.key);
            assert_ne!(claim, field.claim, "{} is not translated", field.key);
        }
        for (key, _, _) in FIELDS_ZH {
            assert!(FIELDS.iter().any(|f| f.key == *key), "{key} is no field");
        }
        assert!(GROUPS_ZH.iter().all(|g| !g.is_empty()));
    }

    /// Every choice whose label is words (not a name like "RoPE" or "GeLU (tanh)") has its
    /// Chinese, and every row of the table is some choice or placeholder.
    #[test]
    fn every_worded_choice_has_chinese() {
        let names = [
            "RMSNorm",
            "LayerNorm",
            "ReLU",
            "GeLU",
            "GeLU (tanh)",
            "SiLU / Swish",
            "ReGLU",
            "GeGLU",
            "GeGLU (tanh)",
            "SwiGLU",
            "RoPE",
            "ALiBi",
        ];
        let mut labels = Vec::new();
        for field in FIELDS {
            match field.kind {
                Kind::Choice(options) => labels.extend(options.iter().map(|(label, _)| *label)),
                Kind::Optional(empty) => labels.push(empty),
                Kind::Toggle | Kind::Number => {}
            }
        }
        for label in &labels {
            let translated = option(Lang::Zh, label) != *label;
            assert!(
                translated || names.contains(label),
                "no Chinese for {label:?}"
            );
        }
        for (english, _) in OPTIONS_ZH {
            assert!(labels.contains(english), "{english:?} is no choice");
        }
    }
}
