//! The lecture experiments' words in Chinese, as plain data beside `train::experiments` (which
//! holds the English the command line prints): each experiment's section, claim and what to
//! watch, by its name; the verdict words; the loss units.

use super::i18n::Lang;
use super::names_text;
use crate::train::experiments::{Experiment, LossUnit};
use crate::train::verdict::{Claim, Metric, Verdict};

/// An experiment's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExperimentText {
    pub section: &'static str,
    pub claim: &'static str,
    pub watch: &'static str,
}

/// (experiment name, its Chinese) for every experiment and the sweep.
pub const EXPERIMENTS_ZH: &[(&str, ExperimentText)] = &[
    (
        "norm-position",
        ExperimentText {
            section: "归一化",
            claim: "前置归一化在残差流中为梯度保留了一条恒等通路；后置归一化需要预热，学习率较高时\
                    会落后甚至发散。",
            watch: "没有预热、学习率较高时的损失，各层残差流的 RMS 和各层的梯度范数（页面上的\
                    “跨运行”图表；命令行中的 norms.png 和 gradients.png）。",
        },
    ),
    (
        "norm-type",
        ExperimentText {
            section: "归一化",
            claim: "RMSNorm 训练效果与层归一化一样好，运算更少：没有均值，没有偏置。",
            watch: "损失曲线重合；tokens/秒略有不同（归一化只占 FLOPs 的一小部分，但在真实 GPU \
                    上占内存流量的很大一部分）。",
        },
    ),
    (
        "final-norm",
        ExperimentText {
            section: "归一化",
            claim: "输出层之前的归一化让 logits 保持在合适的尺度。",
            watch: "损失，以及最后一层残差流的大小。",
        },
    ),
    (
        "bias",
        ExperimentText {
            section: "前馈网络",
            claim: "去掉线性层和归一化中的偏置不会造成可测量的质量损失。",
            watch: "参数更少而损失曲线重合。在这个规模下，偏置只占参数的一小部分，300 步后各种子\
                    的损失相差几个百分点，所以“差不多”是相对于同样大的种子间差异来判断的：论断\
                    说的是没有可测量的代价，而玩具模型无法精细地测量它。",
        },
    ),
    (
        "activation",
        ExperimentText {
            section: "前馈网络",
            claim: "门控单元（SwiGLU、GeGLU）带来小而稳定的提升；它们的 d_ff 取 d_model 的 8/3，\
                    使参数量与 4 倍的普通 MLP 相当。",
            watch: "参数量大致相等时各激活函数的最终验证损失。在这个规模下，两种门控单元都以超出\
                    种子间差异的幅度低于 GeLU；ReLU 落在 GeLU 和 SwiGLU 之间，在 300 步和 600 步\
                    时都在 SwiGLU 的种子差异之内（在 CPU 引擎上用 2 个种子测得：SwiGLU 1.921，\
                    ReLU 1.951，差异 0.044；在页面的 CPU 规模下，d_model 32：SwiGLU 2.346，\
                    ReLU 2.368，差异 0.032），所以“优于所有普通单元”在这里没有显现：按论断自己\
                    的说法，提升本来就小。",
        },
    ),
    (
        "block",
        ExperimentText {
            section: "块结构",
            claim: "并行的注意力和 MLP 让它们的矩阵乘法可以融合（大规模时约快 15%）；串行的表达\
                    能力略强。",
            watch: "每步的损失，以及表中的 tokens/秒。提速需要在大型加速器上把两个分支的矩阵乘法\
                    融合成一次：两个引擎都不做这种融合，所以 FLOPs 相同，tokens/秒也大致相同，\
                    这 15% 在这个规模下按设计就不会显现。",
        },
    ),
    (
        "position",
        ExperimentText {
            section: "位置编码",
            claim: "领域已收敛到 RoPE：旋转 q 和 k 使它们的点积只取决于相对位置。",
            watch: "各种位置编码的损失；NoPE 仍能从因果掩码中学到一些顺序信息。",
        },
    ),
    (
        "heads",
        ExperimentText {
            section: "形状",
            claim: "几乎所有模型都有 d_head × n_heads = d_model；头太多会让每个头太小。",
            watch: "在 d_model 固定时，随着头变小损失的变化。标签中的大小按 d_model 64 计；在页面\
                    的 CPU 规模下（d_model 32）每个头都只有一半宽（最小是 16 个宽 2 的头），论断\
                    在那里同样成立。",
        },
    ),
    (
        "vocabulary",
        ExperimentText {
            section: "形状",
            claim: "更大的词表让序列更短，但嵌入层和输出层更大。",
            watch: "参数量，以及以每字符比特数计的验证损失：每 token 的损失在不同分词器之间无法\
                    比较（一个含多个字符的 token 比一个字符花费更多 nats）。在每步 token 数相同\
                    时，大词表的短序列承载了更多文本。",
        },
    ),
    (
        "dropout",
        ExperimentText {
            section: "正则化",
            claim: "预训练已不再使用 dropout：在这样的数据规模下不会过拟合，而它会减慢收敛。",
            watch: "相同步数下，使用 dropout 的验证损失更高。",
        },
    ),
    (
        "weight-decay",
        ExperimentText {
            section: "正则化",
            claim: "权重衰减不是为了防止过拟合：它与学习率调度相互作用，其效果在学习率衰减时显现。",
            watch: "使用余弦衰减时，带权重衰减的运行在后期追上或反超；学习率恒定时，较大的衰减只\
                    会减慢学习。这两点在这个规模下都不显现：效果需要接近收敛的长调度（论文训练了\
                    数万步），而在 300 步（或 600 步，在 CPU 引擎上用 2 个种子测得）内，余弦调度\
                    下 权重衰减 0.1 与 权重衰减 0 的结果相差约 0.001-0.003，学习率恒定时 权重衰减 1 比 权重衰减 0 高约 \
                    0.03-0.04，都在种子间差异之内。在页面的 CPU 规模下（d_model 32），学习率恒定\
                    的一面刚好超出种子间差异（权重衰减 1 比 权重衰减 0 高 0.035，差异 0.035），余弦的一面\
                    仍不显现（相差 0.003）。",
        },
    ),
    (
        "stability",
        ExperimentText {
            section: "稳定性",
            claim: "QK-norm 限制注意力 logits，z-loss 让 softmax 归一化因子保持在 1 附近；两者一起\
                    能在高学习率下阻止发散。",
            watch:
                "表中每层的最大注意力 logit 和 log Z，以及在普通模型吃力的学习率下的损失。在这个\
                    规模下，普通模型在 0.03 的学习率下 300 步内不会发散：它增长的 logits 正是 \
                    QK-norm 所限制的，而发散本身要在 `archlab sweep` 中更高的学习率下才显现。",
        },
    ),
    (
        "kv-heads",
        ExperimentText {
            section: "注意力",
            claim: "MQA 和 GQA 把 KV 缓存缩小为 n_kv_heads / n_heads，质量几乎与 MHA 相同。",
            watch: "每 token 的 KV 缓存字节数（汇总）与损失的对比。",
        },
    ),
    (
        "attention-pattern",
        ExperimentText {
            section: "注意力",
            claim: "滑动窗口和稀疏模式降低注意力的代价；感受野仍随深度增长（约为层数 × 窗口）。",
            watch: "注意力图（页面上的图；命令行中的 attention.png）显示带状或跨步模式；损失显示\
                    丢失的上下文代价多少。在这些规模下没有代价：在 32 或 64 个字符的文本中，下一\
                    个字符主要取决于最后几个字符，窗口 8 是一个先验，能帮助小模型在 300 步内学\
                    习，所以窗口 8 的最终损失低于完整注意力（命令行 1.989 对 2.078，页面的 CPU \
                    规模 2.295 对 2.346：损失方面的论断在这里被推翻；它需要远处 token 有意义的\
                    长上下文）。代价方面的论断成立。",
        },
    ),
    (
        "lr-sweep",
        ExperimentText {
            section: "稳定性",
            claim: "QK-norm 和 z-loss 拓宽了能良好训练的学习率范围；后置归一化对大学习率最敏感。",
            watch: "最终损失与学习率的关系：每条曲线在哪里上翘或发散。",
        },
    ),
];

/// `experiment`'s words in `lang`.
pub fn of(lang: Lang, experiment: &Experiment) -> ExperimentText {
    let english = ExperimentText {
        section: experiment.section,
        claim: experiment.claim,
        watch: experiment.watch,
    };
    match lang {
        Lang::En => english,
        Lang::Zh => EXPERIMENTS_ZH
            .iter()
            .find(|(name, _)| *name == experiment.name)
            .map_or(english, |&(_, text)| text),
    }
}

/// A verdict's word in `lang` (`Verdict::word` is the English).
pub fn verdict(lang: Lang, verdict: Verdict) -> &'static str {
    match lang {
        Lang::En => verdict.word(),
        Lang::Zh => match verdict {
            Verdict::Held => "成立",
            Verdict::NotShown => "在这个规模下未显现",
            Verdict::Contradicted => "被推翻",
            Verdict::Diverged => "发散",
        },
    }
}

/// `claim` in `lang`, its variants named as `names_text` names them (`Claim`'s `Display` is
/// the English).
pub fn claim(lang: Lang, claim: &Claim) -> String {
    let name = |variant: &str| names_text::name(lang, variant);
    match lang {
        Lang::En => claim.to_string(),
        Lang::Zh => match *claim {
            Claim::Lower {
                metric,
                better,
                worse,
            } => {
                let less = match metric.from_configuration() {
                    true => "更少",
                    false => "更低",
                };
                format!(
                    "{} 的{}比 {} {less}",
                    name(better),
                    metric_zh(metric),
                    name(worse)
                )
            }
            Claim::Similar { metric, a, b } => {
                format!("{} 和 {} 的{}大致相同", name(a), name(b), metric_zh(metric))
            }
        },
    }
}

/// A claim's metric in Chinese (`Metric::name` is the English).
fn metric_zh(metric: Metric) -> &'static str {
    match metric {
        Metric::ValLoss => "最终验证损失",
        Metric::MaxAttentionLogit => "最大注意力 logit",
        Metric::Parameters => "参数量",
        Metric::FlopsPerToken => "每 token 的 FLOPs",
        Metric::KvBytes => "每 token 的 KV 缓存字节数",
    }
}

/// A loss unit's name in `lang` (`LossUnit::name` is the English).
pub fn unit(lang: Lang, unit: LossUnit) -> &'static str {
    match lang {
        Lang::En => unit.name(),
        Lang::Zh => match unit {
            LossUnit::NatsPerToken => "nats/token",
            LossUnit::BitsPerCharacter => "比特/字符",
        },
    }
}

/// The verdict rule (`train::verdict::RULE`) in `lang`.
pub fn rule(lang: Lang) -> &'static str {
    lang.pick([crate::train::verdict::RULE, RULE_ZH])
}

const RULE_ZH: &str = "若某个变体在多数种子上发散，结论为“发散”。否则，设 d 为未发散种子上均值之差\
    （较差者减较好者），s 为两个变体中较大的种子间差异（最大值减最小值）：对“越低越好”的论断，\
    d > s 时为“成立”，0 <= d <= s 时为“在这个规模下未显现”，d < -s 时为“被推翻”；对“数值相同”\
    的论断，|d| <= s 时为“成立”，否则为“被推翻”。测量得到的数（损失、注意力 logit）需要两个种子\
    才有差异可言：只有一个种子时，除“发散”外的结论都是“在这个规模下未显现”。";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::experiments::EXPERIMENTS;
    use crate::train::sweep::SWEEP;

    /// Every experiment (and the sweep) has its Chinese section, claim and watch text, and
    /// the table names no other experiment.
    #[test]
    fn every_experiment_has_chinese() {
        for experiment in EXPERIMENTS.iter().chain([&SWEEP]) {
            let zh = of(Lang::Zh, experiment);
            for (english, chinese) in [
                (experiment.section, zh.section),
                (experiment.claim, zh.claim),
                (experiment.watch, zh.watch),
            ] {
                assert!(!chinese.trim().is_empty(), "{}", experiment.name);
                assert_ne!(english, chinese, "{} is not translated", experiment.name);
            }
        }
        for (name, _) in EXPERIMENTS_ZH {
            assert!(
                EXPERIMENTS.iter().chain([&SWEEP]).any(|e| e.name == *name),
                "{name} is no experiment"
            );
        }
    }

    #[test]
    fn every_verdict_has_chinese() {
        for v in [
            Verdict::Held,
            Verdict::NotShown,
            Verdict::Contradicted,
            Verdict::Diverged,
        ] {
            assert_ne!(verdict(Lang::Zh, v), verdict(Lang::En, v));
        }
        assert_ne!(rule(Lang::Zh), rule(Lang::En));
    }

    /// Every claim of every experiment reads in Chinese but for the technical names.
    #[test]
    fn every_claim_has_chinese() {
        for experiment in EXPERIMENTS {
            for c in experiment.claims {
                let zh = claim(Lang::Zh, c);
                let english = crate::lab::names_text::english_words(&zh);
                assert!(english.is_empty(), "{c} → {zh}: {english:?}");
                assert_eq!(claim(Lang::En, c), c.to_string());
            }
        }
    }
}
