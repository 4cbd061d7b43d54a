//! The lecture's rules of thumb (`model::rules`, in English as the command line prints them)
//! in Chinese: each rule's name and the lecture's words by their English. The ratios named
//! by their symbols ("d_ff / d_model") read the same in both.

use super::i18n::Lang;

/// (English, Chinese) of every rule's name and lecture text.
pub const RULES_ZH: &[(&str, &str)] = &[
    ("embedding share of the parameters", "嵌入参数占总参数的比例"),
    ("embedding", "嵌入"),
    (
        "8/3 ≈ 2.67 for gated units (±5%), so the parameters match a plain 4x MLP \
         (Shazeer 2020; LLaMA)",
        "门控单元取 8/3 ≈ 2.67（±5%），使参数量与普通 4 倍 MLP 相当（Shazeer 2020；LLaMA）",
    ),
    (
        "4 for plain units (±5%); the loss is flat over a wide range (Kaplan et al. 2020)",
        "普通单元取 4（±5%）；在很宽的范围内损失都差不多（Kaplan et al. 2020）",
    ),
    (
        "1 in almost every model; T5 is the exception (16 in T5-11B)",
        "几乎所有模型都取 1；T5 是例外（T5-11B 中为 16）",
    ),
    (
        "100 to 200 at scale (Kaplan et al. 2020); a toy model is far below: its width is too \
         small to divide among many layers",
        "大规模时为 100 到 200（Kaplan et al. 2020）；玩具模型远低于此：它的宽度太小，无法分给很多层",
    ),
    (
        "no rule: the share falls as models grow (Kaplan et al. 2020 count only the \
         non-embedding parameters)",
        "没有法则：模型越大，这一比例越低（Kaplan et al. 2020 只统计非嵌入参数）",
    ),
];

/// A rule's name or lecture text in `lang`; a name the same in both stays.
pub fn of(lang: Lang, english: &'static str) -> &'static str {
    match lang {
        Lang::En => english,
        Lang::Zh => (RULES_ZH.iter())
            .find(|(en, _)| *en == english)
            .map_or(english, |&(_, zh)| zh),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::names_text::english_words;
    use crate::model::rules::rules;
    use crate::model::ModelConfig;

    /// Every rule's name, short name and lecture text reads in Chinese, for a plain and a
    /// gated model (their d_ff rules differ), but for ratios and the sources' names.
    #[test]
    fn every_rule_has_chinese() {
        let plain = ModelConfig {
            activation: crate::model::config::Activation::Gelu,
            ..ModelConfig::DEFAULT
        };
        for model in [ModelConfig::DEFAULT, plain] {
            for rule in rules(&model) {
                for text in [rule.name, rule.short, rule.lecture] {
                    let zh = of(Lang::Zh, text);
                    let left: Vec<&str> = english_words(zh)
                        .into_iter()
                        .filter(|w| {
                            !["Kaplan", "et", "al", "Shazeer", "C", "H", "D", "L"].contains(w)
                        })
                        .collect();
                    assert!(left.is_empty(), "{text} → {zh}: {left:?}");
                }
            }
        }
    }
}
