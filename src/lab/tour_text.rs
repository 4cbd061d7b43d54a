//! Every word of the guided tour and of presenter mode, as plain data: one `TourText` per
//! language (`ENGLISH`, `CHINESE`), so a translation is a constant of the same shape and touches
//! no logic.
//! The stops' order, experiments and diagrams are in `super::tour`.

use super::i18n::Lang;

/// One stop's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StopText {
    pub title: &'static str,
    /// A few short paragraphs explaining the idea.
    pub body: &'static [&'static str],
    /// The diagram's panel titles, in the order the diagram draws its panels (none without a
    /// diagram).
    pub panels: &'static [&'static str],
    /// One sentence under the diagram saying what it shows (its accessible name too).
    pub caption: &'static str,
}

/// The words around the stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TourText {
    pub heading: &'static str,
    pub intro: &'static str,
    /// "Stop {n} of {total}".
    pub counter: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    /// "Set up and run the {experiment} experiment".
    pub run: &'static str,
    pub present: &'static str,
    pub stops: [StopText; 8],
    pub presenter: PresenterText,
}

/// Presenter mode's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PresenterText {
    /// The region's accessible name.
    pub label: &'static str,
    pub view: &'static str,
    /// The choices of views, in `ui::presenter::PresenterView::ALL`'s order.
    pub views: [&'static str; 4],
    pub keys: &'static str,
    pub play: &'static str,
    pub pause: &'static str,
    pub step: &'static str,
    pub next_variant: &'static str,
    pub leave: &'static str,
    /// "Variant {label} ({n} of {total}) of {experiment}".
    pub variant: &'static str,
    /// "Now running: {banner}".
    pub running: &'static str,
}

/// Fills `{name}` placeholders of `template` with their values.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

pub const ENGLISH: TourText = TourText {
    heading: "Guided tour",
    intro: "Eight stops through the lecture, in its order. Each says what the choice is about, \
            draws it where a picture helps, and sets up its experiment with one button.",
    counter: "Stop {n} of {total}",
    previous: "Previous",
    next: "Next",
    run: "Set up and run the {experiment} experiment",
    present: "Present (p)",
    stops: [
        StopText {
            title: "Normalization: where the norm sits",
            body: &[
                "Every block adds its result to a running sum, the residual stream. A norm \
                 rescales a vector to a steady size so that no layer's output drifts too large \
                 or too small.",
                "Pre-norm rescales only what goes into each branch and leaves the sum itself \
                 alone, so a gradient has a clean path from the loss to the first layer. \
                 Post-norm rescales the sum after every block; with no warm-up and a high \
                 learning rate it trains worse or blows up.",
                "The experiment trains four placements side by side at a learning rate high \
                 enough to tell them apart.",
            ],
            panels: &["pre-norm", "post-norm"],
            caption: "One block drawn both ways: the norm (shaded) before each branch, or \
                      after each sum.",
        },
        StopText {
            title: "Activations: the MLP's bend",
            body: &[
                "Between its two matrix products the MLP bends each number with a fixed \
                 function. ReLU cuts negatives to zero; GeLU and SiLU are smooth versions that \
                 let a little through.",
                "A gated MLP multiplies that bent value by a second projection of the same \
                 input, so the layer chooses per feature how much passes. The gated versions \
                 (SwiGLU, GeGLU) usually win by a small margin, and take a narrower hidden \
                 layer so the parameter count stays the same.",
            ],
            panels: &["the pointwise functions, x from -4 to 4"],
            caption: "The curves as the CPU engine computes them.",
        },
        StopText {
            title: "Block layout: serial or parallel",
            body: &[
                "A serial block runs attention first and feeds its result to the MLP. A \
                 parallel block gives both branches the same normalized input and adds both \
                 results at once.",
                "Parallel blocks save time on large accelerators because the two branches' \
                 first matrix products can be merged into one. The arithmetic is the same, so \
                 at this size the curves should almost coincide.",
            ],
            panels: &["serial", "parallel"],
            caption: "Serial: attention, then the MLP. Parallel: both read the same input.",
        },
        StopText {
            title: "Position: RoPE turns vectors",
            body: &[
                "Attention on its own cannot tell which token came first. RoPE rotates each \
                 pair of numbers in a query or key by an angle proportional to the token's \
                 position.",
                "Rotating both by their own positions leaves their dot product depending only \
                 on how far apart they are, so what a head learns at one distance works \
                 everywhere. Learned, sinusoidal, ALiBi and no encoding at all are the other \
                 variants.",
            ],
            panels: &["one pair at positions 0 to 4"],
            caption: "The pair (1, 0) after the engine's rotation at each position.",
        },
        StopText {
            title: "Shape: heads, width and depth",
            body: &[
                "A model's size can be spent on width, on depth, or on more heads. Most models \
                 keep the heads' combined width equal to the model's width, and between about \
                 100 and 200 units of width per layer.",
                "Splitting the same width into many heads makes each head small. The \
                 experiment keeps the width and changes the number of heads; the rules of \
                 thumb under the Shape controls show where a model stands.",
            ],
            panels: &[],
            caption: "",
        },
        StopText {
            title: "Regularization: weight decay",
            body: &[
                "Large models are trained on so much data that they rarely see a text twice, \
                 so over-fitting is not the worry, and dropout has mostly gone.",
                "Weight decay stays, for a different reason: it shrinks the weights a little \
                 each step, and that works together with the learning-rate schedule. Its \
                 effect shows as the learning rate decays at the end of training.",
            ],
            panels: &[],
            caption: "",
        },
        StopText {
            title: "Stability: keeping logits in bounds",
            body: &[
                "At high learning rates attention logits can grow until the softmax picks one \
                 key with certainty and training breaks down.",
                "QK-norm normalizes queries and keys before their dot product, which caps \
                 those logits. The z-loss adds a small penalty that keeps the output softmax's \
                 normalizer near one. Watch the largest attention logit chart.",
            ],
            panels: &[],
            caption: "",
        },
        StopText {
            title: "Attention: which keys a query sees",
            body: &[
                "Full causal attention lets every token look at all earlier ones, so its cost \
                 grows with the square of the context.",
                "A sliding window keeps only the last few keys; a sparse pattern keeps a few \
                 recent ones plus every k-th further back. Stacked layers still reach far: \
                 each layer extends what the next one can see.",
            ],
            panels: &["causal", "window of 4", "3 local + every 4th"],
            caption: "Query rows down, key columns across: a filled cell is a key the query \
                      sees.",
        },
    ],
    presenter: PresenterText {
        label: "Presenter view",
        view: "View",
        views: [
            "loss",
            "largest attention logit",
            "loss and largest attention logit",
            "the experiment's validation loss",
        ],
        keys: "Keys: space play/pause · s step · n next variant · ← → tour stop · Esc leave",
        play: "Play",
        pause: "Pause",
        step: "Step",
        next_variant: "Next variant (n)",
        leave: "Leave (Esc)",
        variant: "Variant {label} ({n} of {total}) of {experiment}",
        running: "Now running: {banner}",
    },
};

pub const CHINESE: TourText = TourText {
    heading: "导览",
    intro: "按讲义的顺序走八站。每一站说明这个选择关乎什么，在图能帮上忙的地方画出来，\
            并用一个按钮配置好它的实验。",
    counter: "第 {n} 站，共 {total} 站",
    previous: "上一站",
    next: "下一站",
    run: "配置并运行 {experiment} 实验",
    present: "演示 (p)",
    stops: [
        StopText {
            title: "归一化：放在哪里",
            body: &[
                "每个块都把自己的结果加到一条不断累加的和上，这就是残差流。归一化把向量缩放到\
                 稳定的大小，让任何一层的输出都不会漂得过大或过小。",
                "前置归一化（Pre-norm）只缩放进入各分支的输入，不碰残差和本身，所以梯度从损失\
                 到第一层有一条干净的通路。后置归一化（Post-norm）在每个块之后缩放残差和；\
                 没有预热、学习率又高时，它训练得更差，甚至发散。",
                "实验在一个足以区分它们的高学习率下，并排训练四种放置方式。",
            ],
            panels: &["前置归一化", "后置归一化"],
            caption: "同一个块的两种画法：归一化（阴影）在每个分支之前，或在每次相加之后。",
        },
        StopText {
            title: "激活函数：MLP 里的弯折",
            body: &[
                "MLP 在两次矩阵乘法之间，用一个固定的函数把每个数弯折一下。ReLU 把负数截为零；\
                 GeLU 和 SiLU 是平滑的版本，会让一点负值通过。",
                "门控 MLP 把弯折后的值再乘以同一输入的另一个投影，于是这一层可以逐个特征决定\
                 放行多少。门控版本（SwiGLU、GeGLU）通常小幅胜出，并用更窄的隐藏层让参数量\
                 保持不变。",
            ],
            panels: &["逐点函数，x 从 -4 到 4"],
            caption: "CPU 引擎计算出的曲线。",
        },
        StopText {
            title: "块结构：串行还是并行",
            body: &[
                "串行块先做注意力，再把结果送进 MLP。并行块让两个分支读同一个归一化后的输入，\
                 并把两个结果一起加回去。",
                "在大型加速器上，并行块更省时间，因为两个分支的第一次矩阵乘法可以合并成一次。\
                 计算量相同，所以在这个规模下两条曲线应该几乎重合。",
            ],
            panels: &["串行", "并行"],
            caption: "串行：先注意力，后 MLP。并行：两者读同一个输入。",
        },
        StopText {
            title: "位置：RoPE 旋转向量",
            body: &[
                "注意力本身分不出哪个 token 在前。RoPE 把查询或键中的每一对数旋转一个与 token \
                 位置成正比的角度。",
                "两者各按自己的位置旋转后，它们的点积只取决于彼此相距多远，所以一个头在某个\
                 距离上学到的东西在任何位置都适用。其他变体是可学习位置编码、正弦位置编码、\
                 ALiBi 以及完全不编码。",
            ],
            panels: &["一对数在位置 0 到 4"],
            caption: "数对 (1, 0) 在每个位置经引擎旋转后的样子。",
        },
        StopText {
            title: "形状：头数、宽度与深度",
            body: &[
                "模型的规模可以花在宽度、深度或更多的头上。大多数模型让所有头的总宽度等于模型\
                 宽度，并且每层大约有 100 到 200 个单位的宽度。",
                "把同样的宽度分给很多头，每个头就很小。实验保持宽度不变而改变头数；形状控件\
                 下方的经验法则显示模型处在什么位置。",
            ],
            panels: &[],
            caption: "",
        },
        StopText {
            title: "正则化：权重衰减",
            body: &[
                "大模型训练用的数据多到几乎不会把同一段文字看两遍，所以过拟合不是问题，\
                 dropout 也基本不用了。",
                "权重衰减留了下来，但原因不同：它每步把权重缩小一点，并与学习率调度共同起作用。\
                 它的效果在训练末期学习率衰减时显现。",
            ],
            panels: &[],
            caption: "",
        },
        StopText {
            title: "稳定性：把 logits 控制在范围内",
            body: &[
                "学习率高时，注意力 logits 可能一直增长，直到 softmax 确定地只选一个键，\
                 训练随之崩溃。",
                "QK-norm 在点积之前对查询和键做归一化，从而限制这些 logits。z-loss 加一个小\
                 惩罚，让输出 softmax 的归一化因子保持在 1 附近。请看“最大注意力 logit”图。",
            ],
            panels: &[],
            caption: "",
        },
        StopText {
            title: "注意力：查询能看到哪些键",
            body: &[
                "完整的因果注意力让每个 token 看到之前所有的 token，所以代价随上下文长度的平方\
                 增长。",
                "滑动窗口只保留最近的几个键；稀疏模式保留几个最近的键，再加上更早处每隔 k 个\
                 取一个。层层堆叠后仍能看得很远：每一层都扩展了下一层能看到的范围。",
            ],
            panels: &["因果", "窗口为 4", "3 个局部 + 每隔 4 个"],
            caption: "行是查询（向下），列是键（向右）：填色的格子是查询能看到的键。",
        },
    ],
    presenter: PresenterText {
        label: "演示视图",
        view: "视图",
        views: [
            "损失",
            "最大注意力 logit",
            "损失与最大注意力 logit",
            "实验的验证损失",
        ],
        keys: "按键：空格 播放/暂停 · s 单步 · n 下一个变体 · ← → 导览站 · Esc 退出",
        play: "播放",
        pause: "暂停",
        step: "单步",
        next_variant: "下一个变体 (n)",
        leave: "退出 (Esc)",
        variant: "{experiment} 的变体 {label}（第 {n} 个，共 {total} 个）",
        running: "正在运行：{banner}",
    },
};

/// The tour's words in `lang`.
pub fn of(lang: Lang) -> &'static TourText {
    match lang {
        Lang::En => &ENGLISH,
        Lang::Zh => &CHINESE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_every_placeholder() {
        let text = fill("Stop {n} of {total}", &[("n", "2"), ("total", "8")]);
        assert_eq!(text, "Stop 2 of 8");
    }

    /// Every English word of the tour has its Chinese, and the two have the same shape.
    #[test]
    fn chinese_is_complete() {
        let json = |text: &TourText| serde_json::to_value(text).expect("plain data");
        let missing = crate::lab::i18n::missing(&json(&ENGLISH), &json(&CHINESE));
        assert!(missing.is_empty(), "no Chinese for {missing:?}");
    }
}
